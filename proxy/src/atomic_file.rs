//! Replacing a small file so that a crash at any moment leaves either the old contents or the
//! new ones, never a mix: write a temporary file in the same directory (mode 0600), fsync it,
//! rename it over the target, fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One step of [`write_atomic`], named so tests can make any of them fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creating the temporary file.
    Create,
    /// Writing the bytes into it.
    Write,
    /// `fsync` of the temporary file.
    Sync,
    /// Renaming it over the target: the moment the new contents become the file.
    Rename,
    /// `fsync` of the directory, so the rename survives a power cut.
    SyncDir,
}

/// Replaces `path` with `bytes` atomically; the file is readable by its owner only.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, &mut |_| Ok(()))
}

/// Deletes `path` (gone already is fine) and makes the deletion durable.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// [`write_atomic`], calling `before` ahead of every step; an error from it stops the write
/// there, as a crash would (except that the temporary file is cleaned up).
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    before: &mut dyn FnMut(Step) -> io::Result<()>,
) -> io::Result<()> {
    let temporary = temporary_path(path);
    before(Step::Create)?;
    let mut file = create_private(&temporary)?;
    let written = (|| {
        before(Step::Write)?;
        file.write_all(bytes)?;
        before(Step::Sync)?;
        file.sync_all()?;
        before(Step::Rename)?;
        fs::rename(&temporary, path)
    })();
    if let Err(error) = written {
        // Best effort: a leftover temporary file is harmless, just untidy.
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    before(Step::SyncDir)?;
    sync_dir(path)
}

/// `.{name}.tmp-{random}` beside `path`: the same directory, so the rename cannot cross
/// file systems.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    let nonce: u64 = rand::random();
    path.with_file_name(format!(".{name}.tmp-{nonce:016x}"))
}

/// A new file only its owner may read or write.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// `fsync` of the directory holding `path` (where the platform allows opening one).
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &[u8] = br#"{"refresh_token":"rft.old"}"#;
    const NEW: &[u8] = br#"{"refresh_token":"rft.new-and-longer"}"#;

    /// Fails the write at `kill` and returns what the file holds afterwards.
    fn killed_at(kill: Step) -> (Vec<u8>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        write_atomic(&path, OLD).unwrap();
        let result = write_atomic_with(&path, NEW, &mut |step| {
            if step == kill {
                Err(io::Error::other(format!("killed before {step:?}")))
            } else {
                Ok(())
            }
        });
        assert!(result.is_err(), "{kill:?}");
        let names = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        (fs::read(&path).unwrap(), names)
    }

    #[test]
    fn a_failure_at_any_step_leaves_the_old_or_the_new_file_never_a_mix() {
        for (kill, expected) in [
            (Step::Create, OLD),
            (Step::Write, OLD),
            (Step::Sync, OLD),
            (Step::Rename, OLD),
            (Step::SyncDir, NEW),
        ] {
            let (contents, names) = killed_at(kill);
            assert_eq!(contents, expected, "killed before {kill:?}");
            assert_eq!(names, ["tokens.json"], "no temporary file left: {kill:?}");
        }
    }

    #[test]
    fn files_are_private_and_removal_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        write_atomic(&path, NEW).unwrap();
        assert_eq!(fs::read(&path).unwrap(), NEW);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        remove(&path).unwrap();
        assert!(!path.exists());
        remove(&path).unwrap();
    }
}
