//! A stat-only poller, for where file events never arrive: Docker Desktop bind mounts, network
//! filesystems, emulated containers, or when the kernel's watch budget is spent.
//!
//! Each round stats every known folder and reads only those whose mtime changed (a folder's
//! mtime moves when an entry is added, removed or renamed), then stats every known file. It never
//! reads file contents. It reports paths, exactly like native events, and the engine diffs them.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::sources::{FileMeta, IgnoreRules, SourceRoot, relative, scan_subtree};

#[derive(Debug)]
struct DirSnap {
    root: usize,
    mtime_ns: i64,
    names: HashSet<OsString>,
}

#[derive(Debug)]
pub struct Poller {
    roots: Vec<SourceRoot>,
    /// The ignore rules of each root (everyone's plus its own).
    rules: Vec<IgnoreRules>,
    dirs: HashMap<PathBuf, DirSnap>,
    files: HashMap<PathBuf, FileMeta>,
    racy_ns: i64,
}

/// An mtime younger than this may be shared by a later change in the same clock tick (the
/// kernel stamps with a coarse clock), so it is not trusted yet.
const RACY: std::time::Duration = std::time::Duration::from_millis(100);

/// Stands for an mtime too recent to trust: no stat returns it, so the entry is looked at
/// again every round until it settles ("racy" entries, as git calls them).
const UNSETTLED: i64 = i64::MIN;

fn settle(mtime_ns: i64, racy_ns: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(i64::MAX, |d| d.as_nanos() as i64);
    if now.saturating_sub(mtime_ns) < racy_ns {
        UNSETTLED
    } else {
        mtime_ns
    }
}

impl Poller {
    /// Takes a first snapshot of every root (one walk).
    pub fn new(roots: &[SourceRoot], ignore: &IgnoreRules) -> Poller {
        let mut poller = Poller {
            roots: roots.to_vec(),
            rules: roots.iter().map(|r| r.rules(ignore)).collect(),
            dirs: HashMap::new(),
            files: HashMap::new(),
            racy_ns: RACY.as_nanos() as i64,
        };
        for (i, root) in roots.iter().enumerate() {
            poller.take_in(i, &root.path);
        }
        poller
    }

    /// Trusts mtimes younger than [`RACY`] (tests that control every write use zero).
    pub fn with_racy_window(mut self, window: std::time::Duration) -> Poller {
        self.racy_ns = window.as_nanos() as i64;
        self
    }

    /// `mtime_ns`, or [`UNSETTLED`] when it is too recent to be trusted.
    fn settled(&self, mtime_ns: i64) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i64::MAX, |d| d.as_nanos() as i64);
        if now.saturating_sub(mtime_ns) < self.racy_ns {
            UNSETTLED
        } else {
            mtime_ns
        }
    }

    fn dir_mtime(&self, path: &Path) -> Option<i64> {
        fs::metadata(path)
            .ok()
            .filter(|m| m.is_dir())
            .map(|m| self.settled(FileMeta::of(&m).mtime_ns))
    }

    /// A file's fingerprint as the snapshot keeps it.
    fn file_meta(&self, meta: &fs::Metadata) -> FileMeta {
        let meta = FileMeta::of(meta);
        FileMeta {
            mtime_ns: self.settled(meta.mtime_ns),
            ..meta
        }
    }

    /// How many paths each round stats.
    pub fn size(&self) -> usize {
        self.dirs.len() + self.files.len()
    }

    /// Adds the folder `start` of root `i` and everything kept below it to the snapshot.
    fn take_in(&mut self, i: usize, start: &Path) {
        if self.dir_mtime(start).is_none() {
            return;
        }
        let found = scan_subtree(&self.roots[i], start, &self.rules[i]);
        for dir in found.dirs {
            let mtime_ns = self.dir_mtime(&dir).unwrap_or_default();
            self.dirs.insert(
                dir,
                DirSnap {
                    root: i,
                    mtime_ns,
                    names: HashSet::new(),
                },
            );
        }
        for (_, path, meta) in found.files {
            let meta = FileMeta {
                mtime_ns: self.settled(meta.mtime_ns),
                ..meta
            };
            self.files.insert(path, meta);
        }
        // Each folder's kept names, as a later `read_dir` will see them.
        let children: Vec<PathBuf> = self
            .files
            .keys()
            .chain(self.dirs.keys())
            .filter(|p| p.starts_with(start) && p.as_path() != start)
            .cloned()
            .collect();
        for child in children {
            if let (Some(parent), Some(name)) = (child.parent(), child.file_name())
                && let Some(snap) = self.dirs.get_mut(parent)
            {
                snap.names.insert(name.to_owned());
            }
        }
    }

    /// The root `path` is in (the first, as the walk would have it).
    fn root_of(&self, path: &Path) -> Option<usize> {
        self.roots.iter().position(|r| path.starts_with(&r.path))
    }

    /// Whether the walk would keep the file `path` of root `root`.
    fn kept_file(&self, root: usize, path: &Path) -> bool {
        let name = path.file_name().and_then(|n| n.to_str());
        match (name, relative(path, &self.roots[root].path)) {
            (Some(name), Some(rel)) => !self.rules[root].ignores_file(name, &rel),
            _ => true,
        }
    }

    /// Drops `path` and everything below it from the snapshot.
    fn forget(&mut self, path: &Path) {
        self.dirs.retain(|p, _| !p.starts_with(path));
        self.files.retain(|p, _| !p.starts_with(path));
    }

    /// The names in `dir` that the walk would keep.
    fn kept_names(&self, root: usize, dir: &Path) -> HashSet<OsString> {
        let Ok(entries) = fs::read_dir(dir) else {
            return HashSet::new();
        };
        let root_path = &self.roots[root].path;
        entries
            .flatten()
            .filter(|entry| {
                let path = entry.path();
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    return true;
                };
                if fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                    !self.rules[root].ignores_dir(&name)
                } else {
                    relative(&path, root_path)
                        .is_none_or(|rel| !self.rules[root].ignores_file(&name, &rel))
                }
            })
            .map(|entry| entry.file_name())
            .collect()
    }

    /// Roots that were missing and are back are taken in again.
    fn revisit_roots(&mut self, changed: &mut Vec<PathBuf>) {
        for i in 0..self.roots.len() {
            let root = self.roots[i].path.clone();
            if !self.dirs.contains_key(&root) && self.dir_mtime(&root).is_some() {
                self.take_in(i, &root);
                changed.push(root);
            }
        }
    }

    /// One round: the paths that changed since the last one.
    pub fn poll_once(&mut self) -> Vec<PathBuf> {
        let mut changed = Vec::new();
        self.revisit_roots(&mut changed);
        let mut dirs: Vec<PathBuf> = self.dirs.keys().cloned().collect();
        dirs.sort();
        for dir in dirs {
            let Some(snap) = self.dirs.get(&dir) else {
                continue; // under a folder that went away this round
            };
            let (root, old_mtime) = (snap.root, snap.mtime_ns);
            match self.dir_mtime(&dir) {
                None => {
                    self.forget(&dir);
                    // A folder replaced by a file of the same name: its parent's names did not
                    // change, so the file is taken in here.
                    if let Ok(meta) = fs::metadata(&dir)
                        && meta.is_file()
                        && self.kept_file(root, &dir)
                    {
                        let meta = self.file_meta(&meta);
                        self.files.insert(dir.clone(), meta);
                    }
                    changed.push(dir);
                }
                Some(mtime) if mtime != old_mtime || old_mtime == UNSETTLED => {
                    let now = self.kept_names(root, &dir);
                    let before = self
                        .dirs
                        .get_mut(&dir)
                        .map(|s| std::mem::take(&mut s.names))
                        .unwrap_or_default();
                    for gone in before.difference(&now) {
                        let path = dir.join(gone);
                        self.forget(&path);
                        changed.push(path);
                    }
                    for new in now.difference(&before) {
                        let path = dir.join(new);
                        match fs::metadata(&path) {
                            Ok(m) if m.is_dir() => self.take_in(root, &path),
                            Ok(m) => {
                                self.files.insert(path.clone(), self.file_meta(&m));
                            }
                            Err(_) => {}
                        }
                        changed.push(path);
                    }
                    if let Some(snap) = self.dirs.get_mut(&dir) {
                        snap.mtime_ns = mtime;
                        snap.names = now;
                    }
                }
                Some(_) => {}
            }
        }
        // Each file is stat'ed relative to its folder's descriptor: a full-path stat walks
        // the path again for every file, which is most of a round's cost in a deep tree.
        let mut gone = Vec::new();
        let racy_ns = self.racy_ns;
        let mut seen = 0;
        for (dir, snap) in &self.dirs {
            let folder = DirFd::open(dir);
            for name in &snap.names {
                let path = dir.join(name);
                let Some(meta) = self.files.get_mut(&path) else {
                    continue;
                };
                seen += 1;
                let stat = match &folder {
                    Some(folder) => folder.stat(name),
                    None => stat_path(&path),
                };
                compare(path, meta, stat, racy_ns, &mut changed, &mut gone);
            }
        }
        if seen != self.files.len() {
            // A file not listed under a known folder (the snapshot keeps every file's name in
            // its folder, so this is a safety net): stat every file by its path instead.
            let listed: HashSet<PathBuf> = self
                .dirs
                .iter()
                .flat_map(|(dir, snap)| snap.names.iter().map(|n| dir.join(n)))
                .collect();
            for (path, meta) in self.files.iter_mut() {
                if !listed.contains(path) {
                    let stat = stat_path(path);
                    compare(path.clone(), meta, stat, racy_ns, &mut changed, &mut gone);
                }
            }
        }
        for path in gone {
            self.files.remove(&path);
            // A file replaced by a folder of the same name: take the folder in, or whatever is
            // written into it later goes unseen.
            if let Some(root) = self.root_of(&path)
                && self.dir_mtime(&path).is_some()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !self.rules[root].ignores_dir(n))
            {
                self.take_in(root, &path);
            }
        }
        changed.sort();
        changed.dedup();
        changed
    }
}

/// Takes one file's new `stat` into the snapshot, noting the path as changed or gone.
fn compare(
    path: PathBuf,
    meta: &mut FileMeta,
    stat: Option<(FileMeta, bool)>,
    racy_ns: i64,
    changed: &mut Vec<PathBuf>,
    gone: &mut Vec<PathBuf>,
) {
    match stat {
        Some((now, true)) => {
            let now = FileMeta {
                mtime_ns: settle(now.mtime_ns, racy_ns),
                ..now
            };
            if now != *meta {
                // An unsettled entry is reported once more when it settles: a spurious change
                // costs a comparison, a missed one a stale output.
                *meta = now;
                changed.push(path);
            }
        }
        _ => {
            gone.push(path.clone());
            changed.push(path);
        }
    }
}

/// A file's fingerprint and whether it is a regular file (symlinks followed), by path.
fn stat_path(path: &Path) -> Option<(FileMeta, bool)> {
    fs::metadata(path)
        .ok()
        .map(|m| (FileMeta::of(&m), m.is_file()))
}

/// An open folder, to stat its entries with `fstatat` (no path walk per file).
struct DirFd(std::os::fd::OwnedFd);

impl DirFd {
    fn open(dir: &Path) -> Option<DirFd> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(dir)
            .ok()?;
        Some(DirFd(file.into()))
    }

    /// Like [`stat_path`] for the entry `name` of this folder.
    fn stat(&self, name: &std::ffi::OsStr) -> Option<(FileMeta, bool)> {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(name.as_bytes()).ok()?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: a valid descriptor, a NUL-terminated name and room for one `stat`.
        let rc = unsafe { libc::fstatat(self.0.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), 0) };
        if rc != 0 {
            return None;
        }
        // SAFETY: fstatat succeeded, so it filled `st`.
        let st = unsafe { st.assume_init() };
        let meta = FileMeta {
            len: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ino: st.st_ino,
        };
        Some((meta, st.st_mode & libc::S_IFMT == libc::S_IFREG))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::DEFAULT_IGNORE;

    #[test]
    fn recent_entries_are_looked_at_again_until_they_settle() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(root.join("new")).unwrap();
        let rules = IgnoreRules::new(&DEFAULT_IGNORE.map(String::from));
        // Everything here is younger than an hour: all of it is unsettled.
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules)
            .with_racy_window(std::time::Duration::from_secs(3600));
        // A file created in the same clock tick as the folder's snapshot leaves the folder's
        // mtime unchanged; an unsettled folder is read again anyway.
        fs::write(root.join("new/a.txt"), "a").unwrap();
        assert_eq!(poller.poll_once(), [root.join("new/a.txt")]);
        assert!(
            poller.poll_once().is_empty(),
            "reported once, not every round"
        );
    }

    #[test]
    fn a_file_replaced_by_a_folder_and_back_stays_watched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("swap"), "file").unwrap();
        let rules = IgnoreRules::new(&DEFAULT_IGNORE.map(String::from));
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules)
            .with_racy_window(std::time::Duration::ZERO);
        fs::remove_file(root.join("swap")).unwrap();
        fs::create_dir(root.join("swap")).unwrap();
        assert_eq!(poller.poll_once(), [root.join("swap")]);
        // Written after the round that saw the folder appear.
        fs::write(root.join("swap/inner.txt"), "inner").unwrap();
        assert_eq!(poller.poll_once(), [root.join("swap/inner.txt")]);
        fs::remove_dir_all(root.join("swap")).unwrap();
        fs::write(root.join("swap"), "file again").unwrap();
        assert!(poller.poll_once().contains(&root.join("swap")));
        fs::write(root.join("swap"), "edited later").unwrap();
        assert_eq!(poller.poll_once(), [root.join("swap")]);
    }

    #[test]
    fn sees_creates_modifies_deletes_and_new_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(root.join("css")).unwrap();
        fs::write(root.join("css/a.css"), "a").unwrap();
        let rules = IgnoreRules::new(&DEFAULT_IGNORE.map(String::from));
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules);
        assert!(poller.poll_once().is_empty());

        fs::write(root.join("css/a.css"), "changed!").unwrap();
        fs::write(root.join("css/.a.css.swp"), "ignored").unwrap();
        fs::create_dir_all(root.join("js/lib")).unwrap();
        fs::write(root.join("js/lib/x.js"), "x").unwrap();
        let changed = poller.poll_once();
        assert!(changed.contains(&root.join("css/a.css")), "{changed:?}");
        assert!(changed.contains(&root.join("js")), "{changed:?}");
        assert!(!changed.iter().any(|p| p.ends_with(".a.css.swp")));
        assert!(poller.poll_once().is_empty());

        fs::write(root.join("js/lib/x.js"), "xx").unwrap();
        assert_eq!(
            poller.poll_once(),
            [root.join("js/lib/x.js")],
            "new folders are polled too"
        );
        fs::remove_dir_all(root.join("js")).unwrap();
        assert_eq!(poller.poll_once(), [root.join("js")]);
        assert!(poller.poll_once().is_empty());
    }
}
