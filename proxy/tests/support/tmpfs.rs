//! A small tmpfs mounted for one test, for a disk that fills up: `mount -t tmpfs -o size=…` on
//! a fresh directory, unmounted when dropped, also when the test panics. Mounting needs root;
//! without it [`Tmpfs::mount`] fails the test saying so, rather than letting it pass untried.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs; its mount point is [`Tmpfs::path`].
pub struct Tmpfs {
    /// The mount point, removed (once unmounted) when dropped.
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` bytes (rounded up to whole pages by the kernel), readable by
    /// root only.
    pub fn mount(size: u64) -> Self {
        let uid = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned());
        assert!(
            uid == "0",
            "this test needs root: it mounts a {size}-byte tmpfs to play a full disk, and this \
             process runs as uid {uid}. Run it as root (CI does)."
        );
        let dir = tempfile::tempdir().expect("a directory to mount on");
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("`mount` runs (Debian package mount)");
        assert!(
            mounted.status.success(),
            "mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The bytes still free, as the proxy's own check reads them.
    pub fn free(&self) -> u64 {
        fs4::available_space(self.path()).expect("statvfs of a tmpfs")
    }

    /// Writes a file that leaves `free` bytes free (another writer filling the disk); returns
    /// its path. `free` should be a multiple of the page size for an exact fit.
    pub fn fill_leaving(&self, free: u64) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("the filler file");
        let mut left = self.free().saturating_sub(free);
        let block = vec![0xF1u8; 1 << 20];
        while left > 0 {
            let take = left.min(block.len() as u64) as usize;
            file.write_all(&block[..take]).expect("room for the filler");
            left -= take as u64;
        }
        file.sync_all().expect("the filler on the tmpfs");
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily when still busy (a proxy of a failed test holding a file open): it goes once
        // the last file closes, and the mount point is not left behind.
        let unmounted = Command::new("umount")
            .arg(self.path())
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}
