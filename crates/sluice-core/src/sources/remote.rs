//! Source roots whose changes are made elsewhere (a Docker Desktop share, NFS, FUSE: see
//! `watch::mounts`), and the one way to stat a source file that is right there too.
//!
//! The kernel keeps what FUSE and NFS said of a file for a while (a second, by default) and
//! answers stats from that: a file edited on the other side looks unchanged, a deleted one
//! still there, and a read stops at the old length. On such roots a stat asks the other side
//! (`AT_STATX_FORCE_SYNC`), which also refreshes what the kernel knows, so the read that follows
//! gets every byte. Elsewhere it is a plain stat. The roots are registered once per process, by
//! the command that learned which they are (`watch`, `dev`).

use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use rustix::fs::{AtFlags, CWD, StatxFlags};

use super::FileMeta;

static REMOTE: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());

/// Registers the roots whose changes are made elsewhere (replacing any before).
pub fn set_remote_roots(roots: Vec<PathBuf>) {
    *REMOTE.write().unwrap_or_else(|e| e.into_inner()) = roots;
}

/// Whether `path` is under a registered remote root.
pub fn is_remote(path: &Path) -> bool {
    let roots = REMOTE.read().unwrap_or_else(|e| e.into_inner());
    !roots.is_empty() && roots.iter().any(|r| path.starts_with(r))
}

/// What a stat says a path is (symlinks followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Other,
}

/// `statx` of `name` relative to the open folder `dir` (a full path with `None`; `dir`
/// itself with an empty name): fingerprint and kind, symlinks followed; past the kernel's
/// attribute cache when `remote`.
pub fn stat_at(dir: Option<&OwnedFd>, name: &OsStr, remote: bool) -> io::Result<(FileMeta, Kind)> {
    let mut flags = if remote {
        AtFlags::STATX_FORCE_SYNC
    } else {
        AtFlags::empty()
    };
    if name.is_empty() {
        flags |= AtFlags::EMPTY_PATH;
    }
    let mask = StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::MTIME | StatxFlags::INO;
    let st = match dir {
        Some(fd) => rustix::fs::statx(fd, name, flags, mask),
        None => rustix::fs::statx(CWD, name, flags, mask),
    }
    .map_err(io::Error::from)?;
    let kind = match u32::from(st.stx_mode) & 0o170000 {
        0o100000 => Kind::File,
        0o040000 => Kind::Dir,
        _ => Kind::Other,
    };
    let meta = FileMeta {
        len: st.stx_size,
        mtime_ns: st
            .stx_mtime
            .tv_sec
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(st.stx_mtime.tv_nsec)),
        ino: st.stx_ino,
    };
    Ok((meta, kind))
}

/// A source path's fingerprint and kind, past the attribute cache on remote roots.
pub fn stat(path: &Path) -> io::Result<(FileMeta, Kind)> {
    stat_at(None, path.as_os_str(), is_remote(path))
}

/// A file's fingerprint, as [`stat`] gives it (`None` when it cannot be stat'ed).
pub fn fingerprint(path: &Path) -> Option<FileMeta> {
    stat(path).ok().map(|(meta, _)| meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_is_the_same_fingerprint_as_the_walk_takes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.css");
        std::fs::write(&file, "body {}").unwrap();
        let meta = FileMeta::of(&std::fs::metadata(&file).unwrap());
        assert_eq!(stat(&file).unwrap(), (meta, Kind::File));
        assert_eq!(stat_at(None, file.as_os_str(), true).unwrap().0, meta);
        assert_eq!(stat(dir.path()).unwrap().1, Kind::Dir);
        let gone = stat(&dir.path().join("gone")).unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound);
        assert!(!is_remote(&file));
    }
}
