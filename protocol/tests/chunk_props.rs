//! Property tests of the chunk plan over the whole size range TikTok accepts.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use protocol::chunk::{
    ChunkPlan, MAX_CHUNK_COUNT, MAX_CHUNK_SIZE, MAX_FINAL_CHUNK_SIZE, MAX_VIDEO_SIZE,
    MIN_CHUNK_SIZE,
};

fn sizes() -> impl Strategy<Value = u64> {
    prop_oneof![
        1..=MAX_CHUNK_SIZE,
        MAX_CHUNK_SIZE - 1000..=MAX_CHUNK_SIZE + 1000,
        MAX_CHUNK_SIZE + 1..=MAX_VIDEO_SIZE,
        MAX_VIDEO_SIZE - 1000..=MAX_VIDEO_SIZE,
    ]
}

fn assert_plan_holds(plan: &ChunkPlan) -> Result<(), TestCaseError> {
    let chunks: Vec<_> = plan.chunks().collect();
    prop_assert_eq!(chunks.len() as u64, plan.total_chunk_count);
    prop_assert!((1..=MAX_CHUNK_COUNT).contains(&plan.total_chunk_count));
    prop_assert_eq!(plan.total_chunk_count, plan.video_size / plan.chunk_size);
    // Contiguous, in order, covering every byte exactly once.
    let mut next = 0;
    for chunk in &chunks {
        prop_assert_eq!(chunk.start, next);
        prop_assert!(chunk.end > chunk.start);
        prop_assert_eq!(chunk.total, plan.video_size);
        next = chunk.end;
    }
    prop_assert_eq!(next, plan.video_size);
    // Every bound held.
    let (last, rest) = chunks.split_last().expect("a plan has at least one chunk");
    prop_assert!(last.is_last && rest.iter().all(|c| !c.is_last));
    if plan.total_chunk_count == 1 {
        prop_assert_eq!(plan.chunk_size, plan.video_size);
        prop_assert!(plan.video_size <= MAX_CHUNK_SIZE);
    } else {
        prop_assert!((MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&plan.chunk_size));
        for chunk in rest {
            prop_assert_eq!(chunk.len(), plan.chunk_size);
        }
        prop_assert!(last.len() >= plan.chunk_size && last.len() < 2 * plan.chunk_size);
        prop_assert!(last.len() <= MAX_FINAL_CHUNK_SIZE);
    }
    // TikTok's own check agrees with every plan we make.
    prop_assert_eq!(
        ChunkPlan::validate(plan.video_size, plan.chunk_size, plan.total_chunk_count),
        Ok(*plan)
    );
    Ok(())
}

proptest! {
    #[test]
    fn default_plan_holds_every_rule(size in sizes()) {
        assert_plan_holds(&ChunkPlan::new(size).unwrap())?;
    }

    #[test]
    fn any_preferred_chunk_in_band_holds_every_rule(
        size in sizes(),
        preferred in MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE,
    ) {
        assert_plan_holds(&ChunkPlan::with_chunk_size(size, preferred).unwrap())?;
    }

    #[test]
    fn validate_accepts_exactly_floor(size in MAX_CHUNK_SIZE + 1..=MAX_VIDEO_SIZE, chunk in MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE) {
        let floor = size / chunk;
        prop_assume!(floor >= 2 && size - (floor - 1) * chunk <= MAX_FINAL_CHUNK_SIZE && floor <= MAX_CHUNK_COUNT);
        prop_assert!(ChunkPlan::validate(size, chunk, floor).is_ok());
        prop_assert!(ChunkPlan::validate(size, chunk, floor + 1).is_err());
        prop_assert!(ChunkPlan::validate(size, chunk, floor - 1).is_err());
    }

    #[test]
    fn out_of_range_sizes_are_refused(size in MAX_VIDEO_SIZE + 1..=u64::MAX / 2) {
        prop_assert!(ChunkPlan::new(size).is_err());
    }
}
