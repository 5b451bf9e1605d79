//! The media-transfer plan for `FILE_UPLOAD`: how a video of `video_size` bytes is cut into the
//! chunks TikTok accepts, and the strict check of a plan someone else made.
//!
//! TikTok's rules (media transfer guide): `total_chunk_count = floor(video_size / chunk_size)`;
//! every chunk is 5 MB to 64 MB, except that the final chunk absorbs the remainder and may reach
//! 128 MB; videos under 5 MB go up whole; videos over 64 MB must be chunked; 1 to 1000 chunks;
//! at most 4 GB. "MB" is read both ways at once (binary for the floor, decimal for the ceilings),
//! so every plan made here is valid under either reading.
//!
//! TikTok has refused documented multi-chunk plans with `400 invalid_params` "The chunk size is
//! invalid" (DayMoonDevelopment/post-for-me#327), and nobody knows the rule it applies instead.
//! So a plan follows one of two named [`PlanReading`]s: the documented one first, and a second
//! one (a smaller last chunk, as most chunked-upload APIs have it) to try once on exactly that
//! refusal ([`refuses_plan`]). Both readings cut the file the same way — chunk `i` starts at
//! `i * chunk_size`, the last one ends at `video_size` — so the three numbers of a plan are all a
//! slicer needs, whichever reading made them.

use crate::codes::ErrorCode;
use std::fmt;

/// The smallest chunk TikTok accepts: 5 MiB, the binary reading of "5 MB" (the stricter one).
pub const MIN_CHUNK_SIZE: u64 = 5 * 1024 * 1024;
/// The largest regular chunk: 64 MB, the decimal reading (the stricter one).
pub const MAX_CHUNK_SIZE: u64 = 64_000_000;
/// The final chunk may grow to 128 MB (decimal) to absorb the remainder.
pub const MAX_FINAL_CHUNK_SIZE: u64 = 128_000_000;
/// Our smallest chunk for videos over 64 MB: 10 MiB keeps a retry cheap and progress smooth.
pub const DEFAULT_CHUNK_SIZE: u64 = 10 * 1024 * 1024;
/// The most chunks our default plan cuts a video into, while chunks may still grow (up to
/// [`MAX_CHUNK_SIZE`]): every chunk costs a round trip (TikTok takes one at a time), and a
/// failed chunk is sent again whole. With at most 32 chunks, both costs stay bounded as a share
/// of the upload — at most 32 round trips, at most 1/32 of the video resent per failure — on
/// any link. Measured on a shaped link in BENCHMARKS.md (figure 7).
pub const TARGET_CHUNK_COUNT: u64 = 32;
/// TikTok's cap on `total_chunk_count`.
pub const MAX_CHUNK_COUNT: u64 = 1000;
/// The largest video we send: 4 GiB.
pub const MAX_VIDEO_SIZE: u64 = 4 * 1024 * 1024 * 1024;

/// The chunk our default plan prefers for a video of `video_size` bytes over 64 MB: 10 MiB, or
/// larger (up to 64 MB) so that a large video needs no more than [`TARGET_CHUNK_COUNT`] chunks.
/// 10 MiB up to 320 MiB; 1 GiB goes in 32 chunks of 33.5 MB; 4 GiB in 67 of 64 MB (the last larger).
pub fn preferred_chunk_size(video_size: u64) -> u64 {
    video_size
        .div_ceil(TARGET_CHUNK_COUNT)
        .clamp(DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE)
}

/// Why a video cannot be planned, or why a plan breaks TikTok's rules. The text is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("The video is empty (0 bytes).")]
    Empty,
    #[error("The video is {size} bytes; TikTok accepts at most 4 GB ({MAX_VIDEO_SIZE} bytes).")]
    TooLarge { size: u64 },
    #[error(
        "A chunk size of {chunk_size} bytes is outside TikTok's band of {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE} bytes."
    )]
    ChunkSizeOutOfBand { chunk_size: u64 },
    #[error("The total_chunk_count is invalid: expected {expected} ({reading}), got {got}.")]
    WrongChunkCount {
        expected: u64,
        got: u64,
        /// The reading the count was checked against, which says how it is computed.
        reading: PlanReading,
    },
    #[error("The total_chunk_count is invalid: {count} is outside 1 to {MAX_CHUNK_COUNT}.")]
    ChunkCountOutOfRange { count: u64 },
    #[error(
        "The final chunk would be {size} bytes; TikTok accepts at most {MAX_FINAL_CHUNK_SIZE}."
    )]
    FinalChunkTooLarge { size: u64 },
    #[error(
        "A video under {MIN_CHUNK_SIZE} bytes must be uploaded whole (chunk_size = video_size)."
    )]
    SmallVideoMustBeWhole,
    #[error("A video over {MAX_CHUNK_SIZE} bytes must be uploaded in at least two chunks.")]
    LargeVideoMustBeChunked,
}

/// One reading of TikTok's rule for `total_chunk_count` and the last chunk.
///
/// The two agree on whole uploads and on plans whose chunk size divides the video exactly; a
/// multi-chunk plan made by [`ChunkPlan::with_reading`] is valid under its own reading only, so
/// trying the other reading always sends TikTok something different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanReading {
    /// The media transfer guide's: `total_chunk_count = floor(video_size / chunk_size)`, and the
    /// last chunk absorbs the remainder (at least `chunk_size`, at most 128 MB).
    Documented,
    /// `total_chunk_count = ceil(video_size / chunk_size)`, and the last chunk is what is left
    /// (1 to `chunk_size` bytes). The plans made for it spread the video evenly over the chunks,
    /// so the last chunk is smaller than the others by at most as many bytes as there are
    /// chunks (and, with the default chunk size, stays above 5 MB) — the shape that fits the
    /// most guesses at the undocumented rule.
    SmallerLastChunk,
}

impl PlanReading {
    /// Both readings, the documented one first.
    pub const ALL: [Self; 2] = [Self::Documented, Self::SmallerLastChunk];

    /// The reading to try when TikTok refuses this one.
    pub fn other(self) -> Self {
        match self {
            Self::Documented => Self::SmallerLastChunk,
            Self::SmallerLastChunk => Self::Documented,
        }
    }

    /// The name used in logs and JSON: `documented` or `smaller_last_chunk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Documented => "documented",
            Self::SmallerLastChunk => "smaller_last_chunk",
        }
    }

    /// What the reading means, for people: how the last chunk compares with the others.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Documented => "the last chunk larger, as TikTok documents",
            Self::SmallerLastChunk => "a smaller last chunk",
        }
    }

    /// The count this reading expects for a multi-chunk plan.
    fn chunk_count(self, video_size: u64, chunk_size: u64) -> u64 {
        match self {
            Self::Documented => video_size / chunk_size,
            Self::SmallerLastChunk => video_size.div_ceil(chunk_size),
        }
    }
}

impl fmt::Display for PlanReading {
    /// How the count is computed, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Documented => "floor of video_size / chunk_size",
            Self::SmallerLastChunk => "ceil of video_size / chunk_size",
        })
    }
}

/// Whether TikTok's answer to an init is its refusal of the chunk plan itself: HTTP 400,
/// `invalid_params` (either spelling), and a message about the chunk size or the chunk count —
/// "The chunk size is invalid" from the field report, or the documented "The total_chunk_count
/// is invalid." Case, underscores and trailing text do not matter; any other `invalid_params`
/// (a caption, a privacy level) is not a refusal of the plan.
pub fn refuses_plan(http_status: u16, code: &ErrorCode, message: &str) -> bool {
    if http_status != 400 || *code != ErrorCode::InvalidParams {
        return false;
    }
    let message = message.to_ascii_lowercase().replace('_', " ");
    ["chunk size is invalid", "total chunk count is invalid"]
        .iter()
        .any(|phrase| message.contains(phrase))
}

/// How one video goes up: the three numbers TikTok's init takes, and the byte ranges they imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkPlan {
    /// The whole file's size in bytes.
    pub video_size: u64,
    /// The size of every chunk but the last.
    pub chunk_size: u64,
    /// `floor(video_size / chunk_size)` under the documented reading, `ceil` under the other
    /// ([`ChunkPlan::reading`] tells which); the last chunk takes what is left either way.
    pub total_chunk_count: u64,
}

/// One chunk: which bytes of the file it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    /// 0-based position in the plan.
    pub index: u64,
    /// Offset of the first byte.
    pub start: u64,
    /// Offset one past the last byte (exclusive, like `Blob.slice`).
    pub end: u64,
    /// The whole file's size, for the `Content-Range` header.
    pub total: u64,
    /// Whether TikTok answers this chunk with 201 (all received) rather than 206.
    pub is_last: bool,
}

impl ChunkPlan {
    /// The plan we use: whole up to 64 MB, otherwise 10 MiB chunks, as documented.
    pub fn new(video_size: u64) -> Result<Self, PlanError> {
        Self::with_chunk_size(video_size, preferred_chunk_size(video_size))
    }

    /// The plan with a preferred chunk size for videos over 64 MB, as documented.
    ///
    /// `preferred` must lie in TikTok's band. It is lowered, if needed, so that a video over
    /// 64 MB always goes up in at least two chunks, as TikTok requires.
    pub fn with_chunk_size(video_size: u64, preferred: u64) -> Result<Self, PlanError> {
        Self::with_reading(video_size, preferred, PlanReading::Documented)
    }

    /// Our default plan under `reading`: whole up to 64 MB (the same under both readings),
    /// otherwise about 10 MiB chunks.
    pub fn for_reading(video_size: u64, reading: PlanReading) -> Result<Self, PlanError> {
        Self::with_reading(video_size, preferred_chunk_size(video_size), reading)
    }

    /// The plan under `reading` with a preferred chunk size (see [`Self::with_chunk_size`]).
    ///
    /// Under [`PlanReading::SmallerLastChunk`] the video is spread evenly over about as many
    /// chunks as `preferred` gives (never so many that a chunk falls under 5 MiB), and when that
    /// would divide the video exactly — the last chunk as large as the others, a plan valid
    /// under both readings — each chunk gets one byte more, so the last one is smaller. That
    /// keeps the two readings' multi-chunk plans apart even when the documented plan has no
    /// remainder: a plan with all chunks equal is the documented shape, and trying it twice
    /// would teach nothing.
    pub fn with_reading(
        video_size: u64,
        preferred: u64,
        reading: PlanReading,
    ) -> Result<Self, PlanError> {
        check_size(video_size)?;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&preferred) {
            return Err(PlanError::ChunkSizeOutOfBand {
                chunk_size: preferred,
            });
        }
        if video_size <= MAX_CHUNK_SIZE {
            return Ok(Self {
                video_size,
                chunk_size: video_size,
                total_chunk_count: 1,
            });
        }
        // video_size > 64 MB, so video_size / 2 > 32 MB stays inside the band.
        let preferred = preferred.min(video_size / 2);
        let chunk_size = match reading {
            PlanReading::Documented => preferred,
            PlanReading::SmallerLastChunk => smaller_last_chunk_size(video_size, preferred),
        };
        let plan = Self {
            video_size,
            chunk_size,
            total_chunk_count: reading.chunk_count(video_size, chunk_size),
        };
        plan.check_counts()?;
        Ok(plan)
    }

    /// The reading this plan follows: documented whenever it is valid that way (so whole
    /// uploads and exact divisions are documented), else the smaller last chunk.
    pub fn reading(&self) -> PlanReading {
        if self.total_chunk_count == self.video_size / self.chunk_size.max(1) {
            PlanReading::Documented
        } else {
            PlanReading::SmallerLastChunk
        }
    }

    /// The plan to try when TikTok refuses this one for its chunk size: our default plan under
    /// the other reading. `None` for a whole upload, which has no other reading (and which
    /// TikTok was not seen to refuse).
    pub fn alternative(&self) -> Option<Self> {
        if self.total_chunk_count < 2 {
            return None;
        }
        Self::for_reading(self.video_size, self.reading().other()).ok()
    }

    /// Checks a plan made by someone else exactly as TikTok's init documents it.
    pub fn validate(
        video_size: u64,
        chunk_size: u64,
        total_chunk_count: u64,
    ) -> Result<Self, PlanError> {
        Self::validate_as(
            PlanReading::Documented,
            video_size,
            chunk_size,
            total_chunk_count,
        )
    }

    /// Checks a plan under `reading`: the same rules as [`Self::validate`], except how
    /// `total_chunk_count` follows from the sizes (and so how large the last chunk may be).
    pub fn validate_as(
        reading: PlanReading,
        video_size: u64,
        chunk_size: u64,
        total_chunk_count: u64,
    ) -> Result<Self, PlanError> {
        check_size(video_size)?;
        let plan = Self {
            video_size,
            chunk_size,
            total_chunk_count,
        };
        let whole = chunk_size == video_size && total_chunk_count == 1;
        if whole {
            return if video_size > MAX_CHUNK_SIZE {
                Err(PlanError::LargeVideoMustBeChunked)
            } else {
                Ok(plan)
            };
        }
        if video_size < MIN_CHUNK_SIZE {
            return Err(PlanError::SmallVideoMustBeWhole);
        }
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(PlanError::ChunkSizeOutOfBand { chunk_size });
        }
        let expected = reading.chunk_count(video_size, chunk_size);
        if total_chunk_count != expected {
            return Err(PlanError::WrongChunkCount {
                expected,
                got: total_chunk_count,
                reading,
            });
        }
        if video_size > MAX_CHUNK_SIZE && total_chunk_count < 2 {
            return Err(PlanError::LargeVideoMustBeChunked);
        }
        plan.check_counts()?;
        Ok(plan)
    }

    /// The chunk at `index`, if the plan has one.
    pub fn chunk(&self, index: u64) -> Option<ChunkRange> {
        if index >= self.total_chunk_count {
            return None;
        }
        let start = index * self.chunk_size;
        let is_last = index + 1 == self.total_chunk_count;
        let end = if is_last {
            self.video_size
        } else {
            start + self.chunk_size
        };
        Some(ChunkRange {
            index,
            start,
            end,
            total: self.video_size,
            is_last,
        })
    }

    /// Every chunk, in the order TikTok requires.
    pub fn chunks(&self) -> impl Iterator<Item = ChunkRange> + '_ {
        (0..self.total_chunk_count).filter_map(|index| self.chunk(index))
    }

    /// The chunk that starts at byte `offset`, for resuming after TikTok reports how much it
    /// holds. `None` if no chunk starts there (the upload is complete, or the offset is foreign
    /// to this plan).
    pub fn chunk_starting_at(&self, offset: u64) -> Option<ChunkRange> {
        if !offset.is_multiple_of(self.chunk_size) {
            return None;
        }
        self.chunk(offset / self.chunk_size)
    }

    /// The size of the final chunk: what is left after the others (larger than `chunk_size`
    /// under the documented reading, smaller under the other).
    pub fn final_chunk_size(&self) -> u64 {
        self.video_size - (self.total_chunk_count - 1) * self.chunk_size
    }

    fn check_counts(&self) -> Result<(), PlanError> {
        if !(1..=MAX_CHUNK_COUNT).contains(&self.total_chunk_count) {
            return Err(PlanError::ChunkCountOutOfRange {
                count: self.total_chunk_count,
            });
        }
        let last = self.final_chunk_size();
        if last > MAX_FINAL_CHUNK_SIZE {
            return Err(PlanError::FinalChunkTooLarge { size: last });
        }
        Ok(())
    }
}

/// The chunk size of a [`PlanReading::SmallerLastChunk`] plan for a video over 64 MB, with
/// `preferred` already at most half the video: the video spread evenly over
/// `ceil(video_size / preferred)` chunks (fewer if chunks would fall under 5 MiB), rounded up so
/// that the last chunk is the smaller one, never as large as the others.
fn smaller_last_chunk_size(video_size: u64, preferred: u64) -> u64 {
    // video_size > 64 MB > 2 x 5 MiB, so there are at least two chunks of at least 5 MiB, and at
    // most 819 of them (4 GiB / 5 MiB): the count stays inside TikTok's 1000.
    let mut count = video_size
        .div_ceil(preferred)
        .min(video_size / MIN_CHUNK_SIZE);
    loop {
        let chunk_size = video_size.div_ceil(count);
        if !video_size.is_multiple_of(chunk_size) {
            // (count - 1) x chunk_size < video_size <= count x chunk_size: ceil gives `count`.
            return chunk_size;
        }
        // An exact division (video_size = count x chunk_size). One byte more per chunk keeps
        // `count` chunks and leaves `chunk_size - count + 1` bytes for the last one.
        if chunk_size < MAX_CHUNK_SIZE {
            return chunk_size + 1;
        }
        // Exactly `count` chunks of 64 MB: one chunk more makes them smaller, then try again.
        count += 1;
    }
}

fn check_size(video_size: u64) -> Result<(), PlanError> {
    match video_size {
        0 => Err(PlanError::Empty),
        size if size > MAX_VIDEO_SIZE => Err(PlanError::TooLarge { size }),
        _ => Ok(()),
    }
}

impl ChunkRange {
    /// The number of bytes in this chunk.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Never true: a plan has no empty chunk.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The `Content-Range` header value TikTok expects for this chunk.
    pub fn content_range(&self) -> String {
        format!("bytes {}-{}/{}", self.start, self.end - 1, self.total)
    }
}

/// A parsed `Content-Range: bytes FIRST-LAST/TOTAL` header (request or response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The first byte's offset.
    pub first: u64,
    /// The last byte's offset (inclusive, as in the header).
    pub last: u64,
    /// The whole file's size.
    pub total: u64,
}

impl ContentRange {
    /// Parses `bytes FIRST-LAST/TOTAL`; `None` for anything else (including `*` forms).
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.trim().strip_prefix("bytes ")?;
        let (range, total) = rest.split_once('/')?;
        let (first, last) = range.split_once('-')?;
        let parsed = Self {
            first: parse_digits(first)?,
            last: parse_digits(last)?,
            total: parse_digits(total)?,
        };
        (parsed.first <= parsed.last && parsed.last < parsed.total).then_some(parsed)
    }

    /// The number of bytes the range covers.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a range covers at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/{}", self.first, self.last, self.total)
    }
}

fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const MIB: u64 = 1024 * 1024;

    fn check(video_size: u64, expected: Result<(u64, u64, u64), PlanError>) {
        let got = ChunkPlan::new(video_size).map(|plan| {
            (
                plan.chunk_size,
                plan.total_chunk_count,
                plan.final_chunk_size(),
            )
        });
        assert_eq!(got, expected, "video_size = {video_size}");
    }

    #[test]
    fn plans() {
        check(0, Err(PlanError::Empty));
        check(1, Ok((1, 1, 1)));
        check(4 * MIB, Ok((4 * MIB, 1, 4 * MIB)));
        check(30_567_100, Ok((30_567_100, 1, 30_567_100)));
        check(64_000_000, Ok((64_000_000, 1, 64_000_000)));
        // Just over the whole-upload ceiling: six 10 MiB chunks, the last one larger.
        check(64_000_001, Ok((10 * MIB, 6, 64_000_001 - 5 * 10 * MIB)));
        check(100 * MIB + 7, Ok((10 * MIB, 10, 10 * MIB + 7)));
        // Up to 320 MiB, 10 MiB chunks; beyond, at most 32 chunks while a chunk may grow.
        check(320 * MIB, Ok((10 * MIB, 32, 10 * MIB)));
        check(1 << 30, Ok(((1 << 30) / 32, 32, (1 << 30) / 32)));
        check(
            MAX_VIDEO_SIZE,
            Ok((MAX_CHUNK_SIZE, 67, MAX_VIDEO_SIZE - 66 * MAX_CHUNK_SIZE)),
        );
        check(
            MAX_VIDEO_SIZE + 1,
            Err(PlanError::TooLarge {
                size: MAX_VIDEO_SIZE + 1,
            }),
        );
    }

    #[test]
    fn doc_example_is_valid() {
        // The media transfer guide's 50,000,123-byte file in 10,000,000-byte chunks.
        let plan = ChunkPlan::validate(50_000_123, 10_000_000, 5).unwrap();
        let ranges: Vec<String> = plan.chunks().map(|c| c.content_range()).collect();
        assert_eq!(
            ranges,
            [
                "bytes 0-9999999/50000123",
                "bytes 10000000-19999999/50000123",
                "bytes 20000000-29999999/50000123",
                "bytes 30000000-39999999/50000123",
                "bytes 40000000-50000122/50000123",
            ]
        );
        assert!(plan.chunk(4).unwrap().is_last);
        assert!(!plan.chunk(3).unwrap().is_last);
    }

    #[test]
    fn validate_refuses_what_tiktok_refuses() {
        // ceil instead of floor.
        assert_eq!(
            ChunkPlan::validate(50_000_123, 10_000_000, 6),
            Err(PlanError::WrongChunkCount {
                expected: 5,
                got: 6,
                reading: PlanReading::Documented,
            })
        );
        // 4 MiB chunks are under the floor.
        assert_eq!(
            ChunkPlan::validate(100 * MIB, 4 * MIB, 25),
            Err(PlanError::ChunkSizeOutOfBand {
                chunk_size: 4 * MIB
            })
        );
        assert_eq!(
            ChunkPlan::validate(4 * MIB, 2 * MIB, 2),
            Err(PlanError::SmallVideoMustBeWhole)
        );
        assert_eq!(
            ChunkPlan::validate(65 * MIB, 65 * MIB, 1),
            Err(PlanError::LargeVideoMustBeChunked)
        );
        // With the floor rule the final chunk stays under 2 x 64 MB, so 128 MB always holds.
        assert_eq!(
            ChunkPlan::validate(200_000_000, 64_000_000, 3)
                .unwrap()
                .final_chunk_size(),
            72_000_000
        );
        assert_eq!(
            ChunkPlan::validate(6_000 * MIB, 6 * MIB, 1000),
            Err(PlanError::TooLarge { size: 6_000 * MIB })
        );
        assert!(ChunkPlan::validate(30 * MIB, 10 * MIB, 3).is_ok());
    }

    #[test]
    fn preferred_chunk_size_must_be_in_band() {
        assert_eq!(
            ChunkPlan::with_chunk_size(100 * MIB, 4 * MIB),
            Err(PlanError::ChunkSizeOutOfBand {
                chunk_size: 4 * MIB
            })
        );
        assert_eq!(
            ChunkPlan::with_chunk_size(100 * MIB, 64_000_001),
            Err(PlanError::ChunkSizeOutOfBand {
                chunk_size: 64_000_001
            })
        );
        // A large preferred chunk is lowered so a video over 64 MB still goes in two pieces.
        let plan = ChunkPlan::with_chunk_size(64_000_001, 64_000_000).unwrap();
        assert_eq!(plan.total_chunk_count, 2);
        assert_eq!(plan.chunk_size, 32_000_000);
    }

    #[test]
    fn content_range_round_trips() {
        let range = ContentRange::parse("bytes 0-30567099/30567100").unwrap();
        assert_eq!(
            range,
            ContentRange {
                first: 0,
                last: 30_567_099,
                total: 30_567_100
            }
        );
        assert_eq!(range.len(), 30_567_100);
        assert_eq!(range.to_string(), "bytes 0-30567099/30567100");
        for bad in [
            "",
            "bytes */100",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "items 0-1/2",
            "bytes -1-2/3",
            "bytes 0-1/+3",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn chunk_starting_at() {
        let plan = ChunkPlan::new(100 * MIB + 7).unwrap();
        assert_eq!(plan.chunk_starting_at(0).unwrap().index, 0);
        assert_eq!(plan.chunk_starting_at(30 * MIB).unwrap().index, 3);
        assert_eq!(plan.chunk_starting_at(30 * MIB + 1), None);
        assert_eq!(plan.chunk_starting_at(100 * MIB + 7), None);
    }

    fn check_reading(video_size: u64, expected: (u64, u64, u64)) {
        let plan = ChunkPlan::for_reading(video_size, PlanReading::SmallerLastChunk).unwrap();
        let got = (
            plan.chunk_size,
            plan.total_chunk_count,
            plan.final_chunk_size(),
        );
        assert_eq!(got, expected, "video_size = {video_size}");
        assert_eq!(plan.reading(), PlanReading::SmallerLastChunk);
    }

    #[test]
    fn smaller_last_chunk_plans() {
        // Whole uploads are the same under both readings.
        assert_eq!(
            ChunkPlan::for_reading(64_000_000, PlanReading::SmallerLastChunk),
            ChunkPlan::new(64_000_000)
        );
        // Just over 64 MB: seven even chunks instead of six with a large last one.
        check_reading(64_000_001, (9_142_858, 7, 9_142_853));
        // The doc-style remainder: 100 MiB + 7 spread over 11 chunks.
        check_reading(100 * MIB + 7, (9_532_510, 11, 9_532_507));
        // Documented plan without remainder (ten 10 MiB chunks): an even split would be the
        // same plan, so each chunk takes one byte more and the last one is ten bytes shorter.
        assert_eq!(
            ChunkPlan::new(100 * MIB).unwrap().final_chunk_size(),
            10 * MIB
        );
        check_reading(100 * MIB, (10 * MIB + 1, 10, 10 * MIB - 9));
        // 64 MB chunks that divide the video exactly cannot grow: one chunk more instead.
        let plan =
            ChunkPlan::with_reading(192_000_000, MAX_CHUNK_SIZE, PlanReading::SmallerLastChunk)
                .unwrap();
        assert_eq!(
            (
                plan.chunk_size,
                plan.total_chunk_count,
                plan.final_chunk_size()
            ),
            (48_000_001, 4, 47_999_997)
        );
        // 4 GiB: 64 MB chunks and a larger last one under the documented reading; 68 even ones here.
        check_reading(MAX_VIDEO_SIZE, (63_161_284, 68, 63_161_268));
    }

    #[test]
    fn the_readings_never_agree_on_a_plan_of_ours() {
        for size in [
            64_000_001,
            70_000_000,
            100 * MIB,
            100 * MIB + 7,
            MAX_VIDEO_SIZE,
        ] {
            let documented = ChunkPlan::new(size).unwrap();
            let other = documented.alternative().unwrap();
            assert_eq!(other.reading(), PlanReading::SmallerLastChunk, "{size}");
            assert_ne!(documented, other, "{size}");
            assert!(ChunkPlan::validate(size, other.chunk_size, other.total_chunk_count).is_err());
            assert_eq!(other.alternative(), Some(documented), "{size}");
        }
        assert_eq!(ChunkPlan::new(64_000_000).unwrap().alternative(), None);
    }

    #[test]
    fn validate_as_smaller_last_chunk() {
        let check = |size, chunk, count| {
            ChunkPlan::validate_as(PlanReading::SmallerLastChunk, size, chunk, count)
        };
        // The doc example, counted with ceil: the last chunk is 123 bytes.
        assert_eq!(
            check(50_000_123, 10_000_000, 6).unwrap().final_chunk_size(),
            123
        );
        assert_eq!(
            check(50_000_123, 10_000_000, 5),
            Err(PlanError::WrongChunkCount {
                expected: 6,
                got: 5,
                reading: PlanReading::SmallerLastChunk,
            })
        );
        // An exact division is valid under both readings.
        assert!(check(30 * MIB, 10 * MIB, 3).is_ok());
        assert_eq!(
            check(30 * MIB, 10 * MIB, 3),
            ChunkPlan::validate(30 * MIB, 10 * MIB, 3)
        );
        // The band and the whole-upload rules are the same.
        assert_eq!(
            check(100 * MIB, 4 * MIB, 25),
            Err(PlanError::ChunkSizeOutOfBand {
                chunk_size: 4 * MIB
            })
        );
        assert_eq!(
            check(65 * MIB, 65 * MIB, 1),
            Err(PlanError::LargeVideoMustBeChunked)
        );
        let error = check(50_000_123, 10_000_000, 5).unwrap_err().to_string();
        assert!(error.contains("ceil of video_size / chunk_size"), "{error}");
    }

    #[test]
    fn which_refusals_are_of_the_plan() {
        let invalid = ErrorCode::InvalidParams;
        for (status, code, message, expected) in [
            (400, &invalid, "The chunk size is invalid", true),
            (400, &invalid, "The chunk size is invalid.", true),
            (400, &invalid, "the chunk_size is INVALID (min 5MB)", true),
            (400, &invalid, "The total_chunk_count is invalid.", true),
            (400, &invalid, "The title is invalid.", false),
            (400, &invalid, "", false),
            (500, &invalid, "The chunk size is invalid", false),
            (
                400,
                &ErrorCode::InvalidFileUpload,
                "The chunk size is invalid",
                false,
            ),
        ] {
            assert_eq!(
                refuses_plan(status, code, message),
                expected,
                "{status} {code} {message:?}"
            );
        }
        // TikTok's two spellings are one code.
        assert!(refuses_plan(
            400,
            &ErrorCode::parse("invalid_params"),
            "The chunk size is invalid"
        ));
    }
}
