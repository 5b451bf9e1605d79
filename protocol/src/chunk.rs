//! The media-transfer plan for `FILE_UPLOAD`: how a video of `video_size` bytes is cut into the
//! chunks TikTok accepts, and the strict check of a plan someone else made.
//!
//! TikTok's rules (media transfer guide): `total_chunk_count = floor(video_size / chunk_size)`;
//! every chunk is 5 MB to 64 MB, except that the final chunk absorbs the remainder and may reach
//! 128 MB; videos under 5 MB go up whole; videos over 64 MB must be chunked; 1 to 1000 chunks;
//! at most 4 GB. "MB" is read both ways at once (binary for the floor, decimal for the ceilings),
//! so every plan made here is valid under either reading.

use std::fmt;

/// The smallest chunk TikTok accepts: 5 MiB, the binary reading of "5 MB" (the stricter one).
pub const MIN_CHUNK_SIZE: u64 = 5 * 1024 * 1024;
/// The largest regular chunk: 64 MB, the decimal reading (the stricter one).
pub const MAX_CHUNK_SIZE: u64 = 64_000_000;
/// The final chunk may grow to 128 MB (decimal) to absorb the remainder.
pub const MAX_FINAL_CHUNK_SIZE: u64 = 128_000_000;
/// Our default chunk for videos over 64 MB: 10 MiB keeps a retry cheap and progress smooth.
pub const DEFAULT_CHUNK_SIZE: u64 = 10 * 1024 * 1024;
/// TikTok's cap on `total_chunk_count`.
pub const MAX_CHUNK_COUNT: u64 = 1000;
/// The largest video we send: 4 GiB.
pub const MAX_VIDEO_SIZE: u64 = 4 * 1024 * 1024 * 1024;

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
    #[error(
        "The total_chunk_count is invalid: expected {expected} (floor of video_size / chunk_size), got {got}."
    )]
    WrongChunkCount { expected: u64, got: u64 },
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

/// How one video goes up: the three numbers TikTok's init takes, and the byte ranges they imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkPlan {
    /// The whole file's size in bytes.
    pub video_size: u64,
    /// The size of every chunk but the last.
    pub chunk_size: u64,
    /// `floor(video_size / chunk_size)`; the last chunk takes the remainder.
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
    /// The plan we use: whole up to 64 MB, otherwise 10 MiB chunks.
    pub fn new(video_size: u64) -> Result<Self, PlanError> {
        Self::with_chunk_size(video_size, DEFAULT_CHUNK_SIZE)
    }

    /// The plan with a preferred chunk size for videos over 64 MB.
    ///
    /// `preferred` must lie in TikTok's band. It is lowered, if needed, so that a video over
    /// 64 MB always goes up in at least two chunks, as TikTok requires.
    pub fn with_chunk_size(video_size: u64, preferred: u64) -> Result<Self, PlanError> {
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
        let chunk_size = preferred.min(video_size / 2);
        let plan = Self {
            video_size,
            chunk_size,
            total_chunk_count: video_size / chunk_size,
        };
        plan.check_counts()?;
        Ok(plan)
    }

    /// Checks a plan made by someone else exactly as TikTok's init does.
    pub fn validate(
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
        let expected = video_size / chunk_size;
        if total_chunk_count != expected {
            return Err(PlanError::WrongChunkCount {
                expected,
                got: total_chunk_count,
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

    /// The size of the final chunk, which absorbs the remainder.
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
        check(
            MAX_VIDEO_SIZE,
            Ok((10 * MIB, 409, MAX_VIDEO_SIZE - 408 * 10 * MIB)),
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
                got: 6
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
}
