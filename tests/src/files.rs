//! The videos tests upload: real clips made with ffmpeg (committed under `fixtures/`), and large
//! MP4s grown from a real clip with an ISO-BMFF `free` box of pseudo-random bytes — still a
//! valid MP4 that Chromium reads, large enough for the multi-chunk path.

use anyhow::Result;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A real 5-second 640×360 H.264/AAC MP4 (about 80 KB).
pub fn clip_mp4() -> PathBuf {
    fixture("clip.mp4")
}

/// A real 5-second 640×360 VP8 WebM.
pub fn clip_webm() -> PathBuf {
    fixture("clip.webm")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Writes `clip.mp4` followed by a `free` box to `dir/name`, `size` bytes in all.
pub fn large_mp4(dir: &Path, name: &str, size: u64) -> Result<PathBuf> {
    let clip = std::fs::read(clip_mp4())?;
    let padding = size - clip.len() as u64;
    anyhow::ensure!(
        padding >= 8 && padding <= u64::from(u32::MAX),
        "size out of range for one free box"
    );
    let path = dir.join(name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    out.write_all(&clip)?;
    out.write_all(&(padding as u32).to_be_bytes())?;
    out.write_all(b"free")?;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 16];
    let mut left = padding - 8;
    while left > 0 {
        for byte in block.iter_mut() {
            // xorshift64: cheap bytes that no two chunks share.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(path)
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
