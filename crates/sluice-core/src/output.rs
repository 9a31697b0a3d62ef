//! Writing files: every write is atomic (a temp file in the destination's own folder, then a
//! rename), so a reader — Django's runserver, a browser, whitenoise — never sees a
//! half-written file, and a failure leaves the previous file in place. Temp files are named
//! `.<name>.<pid>-<n>.sluice-tmp` ([`is_temp_name`]), so what a killed process left behind is
//! recognisable and [`sweep_temps`] removes it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

const TEMP_SUFFIX: &str = ".sluice-tmp";

/// A temp path beside `dest`, hidden (Django's default ignores skip `.*`) and unique per process.
fn temp_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.{}-{n}{TEMP_SUFFIX}", std::process::id()))
}

/// Whether a file name is one of sluice's temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Removes sluice's temp files from `dir` (not below it): only call this while no sluice
/// process can be writing there (the output root's lock is held). Returns how many went.
pub fn sweep_temps(dir: &Path) -> usize {
    let mut removed = 0;
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let temp = entry.file_name().to_str().is_some_and(is_temp_name);
        if temp
            && entry.file_type().is_ok_and(|t| !t.is_dir())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Where a logical path (`/`-separated) lies under `root`.
pub fn output_path(root: &Path, logical: &str) -> PathBuf {
    logical
        .split('/')
        .fold(root.to_path_buf(), |p, part| p.join(part))
}

/// Creates sluice's state folder (`.sluice/`) with a `.gitignore` that ignores it whole, so a
/// project adds nothing to its own.
pub fn ensure_state_dir(state_dir: &Path) -> crate::Result<()> {
    let gitignore = state_dir.join(".gitignore");
    if !gitignore.exists() {
        write_atomic(&gitignore, b"# Created by sluice: caches and state.\n*\n")
            .map_err(|e| crate::Error::io("write", &gitignore, e))?;
    }
    Ok(())
}

fn create_parent(dest: &Path) -> io::Result<()> {
    match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fs::create_dir_all(parent),
        _ => Ok(()),
    }
}

/// Runs `fill` on a fresh temp path beside `dest`, then renames it over `dest`.
fn replace_with(dest: &Path, fill: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    create_parent(dest)?;
    let tmp = temp_path(dest);
    let result = fill(&tmp).and_then(|()| fs::rename(&tmp, dest));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `dest` atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_with(dest, |tmp| {
        let mut file = fs::File::create(tmp)?;
        file.write_all(bytes)?;
        file.flush()
    })
}

/// Copies `src` to `dest` atomically. `std::fs::copy` uses `copy_file_range` on Linux, which
/// reflinks on filesystems that can (btrfs, XFS) and copies in the kernel elsewhere.
pub fn copy_atomic(src: &Path, dest: &Path) -> io::Result<()> {
    replace_with(dest, |tmp| fs::copy(src, tmp).map(drop))
}

/// Points `dest` at `target` with a symlink, atomically replacing whatever was there.
pub fn symlink_atomic(target: &Path, dest: &Path) -> io::Result<()> {
    replace_with(dest, |tmp| symlink(target, tmp))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

/// Removes `path` and then every folder above it that became empty, up to (not including) `root`.
pub fn remove_and_prune(path: &Path, root: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a/b/c.txt");
        write_atomic(&dest, b"one").unwrap();
        write_atomic(&dest, b"two").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.txt"]);
    }

    #[test]
    fn failed_copy_keeps_previous_output() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("c.txt");
        write_atomic(&dest, b"good").unwrap();
        assert!(copy_atomic(&dir.path().join("missing"), &dest).is_err());
        assert_eq!(fs::read(&dest).unwrap(), b"good");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temp_files_are_recognised_and_swept() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = temp_path(&dir.path().join("site.css"));
        let name = tmp.file_name().unwrap().to_str().unwrap().to_string();
        assert!(is_temp_name(&name), "{name}");
        assert!(!is_temp_name("site.css") && !is_temp_name(".site.css"));
        fs::write(&tmp, b"half").unwrap();
        fs::write(dir.path().join("site.css"), b"whole").unwrap();
        assert_eq!(sweep_temps(dir.path()), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn prune_stops_at_root_and_at_non_empty_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_atomic(&root.join("x/y/z.txt"), b"1").unwrap();
        write_atomic(&root.join("x/keep.txt"), b"1").unwrap();
        remove_and_prune(&root.join("x/y/z.txt"), root).unwrap();
        assert!(!root.join("x/y").exists());
        assert!(root.join("x/keep.txt").exists());
    }
}
