//! Property tests of the chunk plan over the whole size range TikTok accepts.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use protocol::chunk::{
    ChunkPlan, MAX_CHUNK_COUNT, MAX_CHUNK_SIZE, MAX_FINAL_CHUNK_SIZE, MAX_VIDEO_SIZE,
    MIN_CHUNK_SIZE, PlanReading,
};

fn sizes() -> impl Strategy<Value = u64> {
    prop_oneof![
        1..=MAX_CHUNK_SIZE,
        MAX_CHUNK_SIZE - 1000..=MAX_CHUNK_SIZE + 1000,
        MAX_CHUNK_SIZE + 1..=MAX_VIDEO_SIZE,
        MAX_VIDEO_SIZE - 1000..=MAX_VIDEO_SIZE,
    ]
}

fn readings() -> impl Strategy<Value = PlanReading> {
    prop::sample::select(PlanReading::ALL.to_vec())
}

fn assert_plan_holds(plan: &ChunkPlan) -> Result<(), TestCaseError> {
    assert_plan_holds_as(plan, PlanReading::Documented)
}

/// Every rule of `reading` holds for `plan`, its chunks cover every byte exactly once, and
/// rebuilding it from the three numbers (as the page does from `CreatedPost`) slices alike.
fn assert_plan_holds_as(plan: &ChunkPlan, reading: PlanReading) -> Result<(), TestCaseError> {
    let chunks: Vec<_> = plan.chunks().collect();
    prop_assert_eq!(chunks.len() as u64, plan.total_chunk_count);
    prop_assert!((1..=MAX_CHUNK_COUNT).contains(&plan.total_chunk_count));
    let expected_count = match reading {
        PlanReading::Documented => plan.video_size / plan.chunk_size,
        PlanReading::SmallerLastChunk => plan.video_size.div_ceil(plan.chunk_size),
    };
    prop_assert_eq!(plan.total_chunk_count, expected_count);
    // Contiguous, in order, covering every byte exactly once.
    let mut next = 0;
    for chunk in &chunks {
        prop_assert_eq!(chunk.start, next);
        prop_assert!(chunk.end > chunk.start);
        prop_assert_eq!(chunk.total, plan.video_size);
        // Resuming at a chunk's first byte finds that very chunk.
        prop_assert_eq!(plan.chunk_starting_at(chunk.start), Some(*chunk));
        next = chunk.end;
    }
    prop_assert_eq!(next, plan.video_size);
    prop_assert_eq!(plan.chunk_starting_at(plan.video_size), None);
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
        prop_assert_eq!(last.len(), plan.final_chunk_size());
        match reading {
            PlanReading::Documented => {
                prop_assert!(last.len() >= plan.chunk_size && last.len() < 2 * plan.chunk_size);
                prop_assert!(last.len() <= MAX_FINAL_CHUNK_SIZE);
            }
            PlanReading::SmallerLastChunk => {
                // Strictly smaller, but by at most as many bytes as there are chunks: an even spread.
                prop_assert!(last.len() < plan.chunk_size);
                prop_assert!(last.len() + plan.total_chunk_count >= plan.chunk_size);
            }
        }
    }
    prop_assert_eq!(plan.reading(), reading);
    // TikTok's own check agrees with every plan we make, under the plan's reading.
    prop_assert_eq!(
        ChunkPlan::validate_as(
            reading,
            plan.video_size,
            plan.chunk_size,
            plan.total_chunk_count
        ),
        Ok(*plan)
    );
    // The page's rebuild from the three numbers slices the same bytes.
    let rebuilt = ChunkPlan {
        video_size: plan.video_size,
        chunk_size: plan.chunk_size,
        total_chunk_count: plan.total_chunk_count,
    };
    prop_assert!(rebuilt.chunks().eq(plan.chunks()));
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
    fn every_reading_covers_every_byte_once(
        size in sizes(),
        preferred in MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE,
        reading in readings(),
    ) {
        let plan = ChunkPlan::with_reading(size, preferred, reading).unwrap();
        let expected = if plan.total_chunk_count == 1 { PlanReading::Documented } else { reading };
        assert_plan_holds_as(&plan, expected)?;
    }

    #[test]
    fn the_other_reading_is_always_another_plan(size in MAX_CHUNK_SIZE + 1..=MAX_VIDEO_SIZE) {
        let documented = ChunkPlan::new(size).unwrap();
        let other = documented.alternative().expect("a multi-chunk plan has another reading");
        assert_plan_holds_as(&other, PlanReading::SmallerLastChunk)?;
        // With our default chunk size even the last chunk stays inside TikTok's band.
        prop_assert!(other.final_chunk_size() >= MIN_CHUNK_SIZE);
        // Never valid the documented way, so trying it tells TikTok something new.
        prop_assert!(ChunkPlan::validate(size, other.chunk_size, other.total_chunk_count).is_err());
        prop_assert_eq!(other.alternative(), Some(documented));
    }

    #[test]
    fn validate_as_smaller_last_accepts_exactly_ceil(size in MAX_CHUNK_SIZE + 1..=MAX_VIDEO_SIZE, chunk in MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE) {
        let ceil = size.div_ceil(chunk);
        prop_assume!(ceil <= MAX_CHUNK_COUNT);
        let check = |count| ChunkPlan::validate_as(PlanReading::SmallerLastChunk, size, chunk, count);
        let plan = check(ceil).unwrap();
        prop_assert!(plan.final_chunk_size() <= chunk);
        prop_assert!(check(ceil + 1).is_err());
        prop_assert!(check(ceil - 1).is_err());
    }

    #[test]
    fn out_of_range_sizes_are_refused(size in MAX_VIDEO_SIZE + 1..=u64::MAX / 2) {
        prop_assert!(ChunkPlan::new(size).is_err());
    }
}
