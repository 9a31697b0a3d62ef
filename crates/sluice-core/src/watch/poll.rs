//! A stat-only poller, for where file events never arrive: Docker Desktop bind mounts, network
//! file systems, WSL2's `/mnt/c` (see [`super::mounts`]), or when the kernel's watch budget is
//! spent.
//!
//! A [`Poller`] keeps a snapshot of its roots: each kept folder's mtime and entries, each kept
//! file's fingerprint. It starts from the full pass's walk ([`Seed`]), so a start walks the
//! tree once. A sweep goes through the folders in path order, a slice at a time
//! ([`Poller::sweep`]), so the caller can rest between slices as its budget says and a long
//! sweep over a slow mount reports what it found as it goes. Per folder it stats the folder and
//! lists it only when its mtime moved (an entry added, removed or renamed moves it; the
//! listing's file types spare a stat per name), then stats each file relative to the open
//! folder (no path walk per file); files the caller polls more often itself (the hot set of
//! `sluice dev`) are skipped. It never reads file contents, and reports paths like native
//! events: the engine diffs them.
//!
//! On roots whose changes are made elsewhere, every stat goes past the kernel's attribute
//! cache (`AT_STATX_FORCE_SYNC`): FUSE and NFS otherwise answer from it for a second or more,
//! and a file edited on the other side would look unchanged (and read short) until then.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};

use crate::sources::remote;
pub(crate) use crate::sources::remote::Kind;
use crate::sources::{FileMeta, IgnoreRules, SourceIndex, SourceRoot, relative, scan_subtree};

/// What the full pass saw, for a poller to start from instead of walking again.
#[derive(Debug, Default, Clone)]
pub struct Seed {
    /// Every kept file (shadowed ones too) with its fingerprint; `None`: not known.
    pub files: Vec<(PathBuf, Option<FileMeta>)>,
    /// Every kept folder with its mtime.
    pub dirs: Vec<(PathBuf, i64)>,
}

impl Seed {
    /// From a full pass: its walk's findings and the index it built.
    pub fn new(found: &SourceIndex, index: &crate::sources::Index) -> Seed {
        let mut files: Vec<(PathBuf, Option<FileMeta>)> = index
            .files
            .values()
            .map(|f| (f.path.clone(), Some(f.meta)))
            .collect();
        files.extend(found.shadowed.iter().map(|s| (s.ignored.clone(), None)));
        Seed {
            files,
            dirs: found
                .dirs
                .iter()
                .cloned()
                .zip(found.dir_mtimes.iter().copied())
                .collect(),
        }
    }
}

/// Files not to stat in a sweep, by folder: the ones polled elsewhere.
pub type Skip = HashMap<PathBuf, HashSet<OsString>>;

#[derive(Debug, Default)]
struct DirSnap {
    root: usize,
    mtime_ns: i64,
    files: BTreeMap<OsString, FileMeta>,
    subdirs: BTreeSet<OsString>,
}

/// What the engine saw of a change set on polled roots: the paths it looked at and the
/// folders it found under them (see [`Poller::reconcile`]).
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub looked: Vec<PathBuf>,
    pub found: Vec<PathBuf>,
    /// Looking at them changed outputs: they are reported once more, so the engine looks
    /// again after whatever else happened while it looked (a folder made and removed again
    /// between two sweeps leaves outputs only the engine saw), until a look changes nothing.
    pub wrote: bool,
}

/// What one slice of a sweep found.
#[derive(Debug, Default)]
pub struct Slice {
    /// Paths that changed (files or folders, created, modified, deleted or renamed).
    pub changed: Vec<PathBuf>,
    /// The slice ended a sweep of every folder.
    pub round_done: bool,
}

#[derive(Debug)]
pub struct Poller {
    roots: Vec<SourceRoot>,
    /// The ignore rules of each root (everyone's plus its own).
    rules: Vec<IgnoreRules>,
    /// Per root: its changes are made elsewhere, so stats go past the attribute cache.
    remote: Vec<bool>,
    /// Per root: only its own files are kept, not the folders below it (a folder outside the
    /// source roots a watch follows, [`Poller::adopt`]).
    shallow: Vec<bool>,
    /// Everyone's ignore rules, for the folders adopted later.
    ignore: IgnoreRules,
    dirs: BTreeMap<PathBuf, DirSnap>,
    racy_ns: i64,
    /// The last folder swept in this round (`None`: a round starts).
    cursor: Option<PathBuf>,
}

/// An mtime younger than this may be shared by a later change in the same clock tick (the
/// kernel stamps with a coarse clock), so it is not trusted yet.
const RACY: Duration = Duration::from_millis(100);

/// Stands for an mtime too recent to trust: no stat returns it, so the entry is looked at
/// again every round until it settles ("racy" entries, as git calls them).
pub(crate) const UNSETTLED: i64 = i64::MIN;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(i64::MAX, |d| d.as_nanos() as i64)
}

/// [`remote::stat_at`], `None` on any error.
pub(crate) fn stat(dir: Option<&OwnedFd>, name: &OsStr, remote: bool) -> Option<(FileMeta, Kind)> {
    remote::stat_at(dir, name, remote).ok()
}

fn open_dir(dir: &Path) -> Option<OwnedFd> {
    rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// A folder with this many files is opened to stat them relative to it; fewer are stat'ed
/// by path (an open and a close cost more than the path walks they save).
const OPEN_FROM: usize = 3;

impl Poller {
    fn empty(roots: &[SourceRoot], ignore: &IgnoreRules, remote: &[bool]) -> Poller {
        Poller {
            roots: roots.to_vec(),
            rules: roots.iter().map(|r| r.rules(ignore)).collect(),
            remote: (0..roots.len())
                .map(|i| remote.get(i).copied().unwrap_or(false))
                .collect(),
            shallow: vec![false; roots.len()],
            ignore: ignore.clone(),
            dirs: BTreeMap::new(),
            racy_ns: RACY.as_nanos() as i64,
            cursor: None,
        }
    }

    /// Takes a first snapshot of every root (one walk). `remote`: per root, whether its
    /// changes are made elsewhere.
    pub fn new(roots: &[SourceRoot], ignore: &IgnoreRules, remote: &[bool]) -> Poller {
        let mut poller = Poller::empty(roots, ignore, remote);
        for (i, root) in roots.iter().enumerate() {
            let path = root.path.clone();
            poller.take_in(i, &path);
        }
        poller
    }

    /// Starts from what the full pass saw (no walk). Roots the seed does not have (missing at
    /// the time) are taken in when they appear.
    pub fn seeded(
        roots: &[SourceRoot],
        ignore: &IgnoreRules,
        remote: &[bool],
        seed: &Seed,
    ) -> Poller {
        let mut poller = Poller::empty(roots, ignore, remote);
        for (dir, mtime_ns) in &seed.dirs {
            if let Some(root) = poller.root_of(dir) {
                let mtime_ns = poller.settled(*mtime_ns);
                poller.dirs.insert(
                    dir.clone(),
                    DirSnap {
                        root,
                        mtime_ns,
                        ..DirSnap::default()
                    },
                );
            }
        }
        for (path, meta) in &seed.files {
            let meta = match meta {
                Some(m) => FileMeta {
                    mtime_ns: poller.settled(m.mtime_ns),
                    ..*m
                },
                None => FileMeta {
                    len: u64::MAX,
                    mtime_ns: UNSETTLED,
                    ino: 0,
                },
            };
            if let (Some(parent), Some(name)) = (path.parent(), path.file_name())
                && let Some(snap) = poller.dirs.get_mut(parent)
            {
                snap.files.insert(name.to_owned(), meta);
            }
        }
        let dirs: Vec<PathBuf> = poller.dirs.keys().cloned().collect();
        for dir in dirs {
            if let (Some(parent), Some(name)) = (dir.parent(), dir.file_name())
                && let Some(snap) = poller.dirs.get_mut(parent)
            {
                snap.subdirs.insert(name.to_owned());
            }
        }
        poller
    }

    /// Trusts mtimes younger than [`RACY`] (tests that control every write use zero).
    pub fn with_racy_window(mut self, window: Duration) -> Poller {
        self.racy_ns = window.as_nanos() as i64;
        self
    }

    /// `mtime_ns`, or [`UNSETTLED`] when it is too recent to be trusted.
    fn settled(&self, mtime_ns: i64) -> i64 {
        if now_ns().saturating_sub(mtime_ns) < self.racy_ns {
            UNSETTLED
        } else {
            mtime_ns
        }
    }

    fn settled_meta(&self, meta: FileMeta) -> FileMeta {
        FileMeta {
            mtime_ns: self.settled(meta.mtime_ns),
            ..meta
        }
    }

    /// How many paths a sweep stats.
    pub fn size(&self) -> usize {
        self.dirs.len() + self.dirs.values().map(|d| d.files.len()).sum::<usize>()
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
            _ => false,
        }
    }

    /// Follows the folder `folder` outside the source roots (a template folder, a package's
    /// folder a compile read): its own files, not the folders below it, which are followed
    /// when adopted themselves. Unless it is kept already, it is taken in as it is now and
    /// reported in `changed`, so that whoever reads the report compares what it knows of its
    /// files with what they are (they may have changed before this snapshot); when it is
    /// missing, it is taken in when it appears.
    pub fn adopt(&mut self, folder: &Path, remote: bool, changed: &mut Vec<PathBuf>) {
        if self.dirs.contains_key(folder) || self.roots.iter().any(|r| r.path == folder) {
            return;
        }
        let root = SourceRoot::new(folder, None);
        self.rules.push(root.rules(&self.ignore));
        self.roots.push(root);
        self.remote.push(remote);
        self.shallow.push(true);
        self.take_in(self.roots.len() - 1, folder);
        changed.push(folder.to_path_buf());
    }

    /// Adds the folder `start` of root `i` and everything kept below it to the snapshot
    /// (`start`'s own entry in its parent is the caller's); of a shallow root, the folder and
    /// its files.
    fn take_in(&mut self, i: usize, start: &Path) {
        let Some((meta, Kind::Dir)) = stat(None, start.as_os_str(), self.remote[i]) else {
            return;
        };
        if self.shallow[i] {
            self.dirs.insert(
                start.to_path_buf(),
                DirSnap {
                    root: i,
                    mtime_ns: UNSETTLED,
                    ..DirSnap::default()
                },
            );
            let mtime = self.settled(meta.mtime_ns);
            self.relist(start, i, mtime, &mut Vec::new());
            return;
        }
        let found = scan_subtree(&self.roots[i], start, &self.rules[i]);
        for (dir, mtime_ns) in found.dirs.iter().zip(&found.dir_mtimes) {
            let mtime_ns = self.settled(*mtime_ns);
            self.dirs.insert(
                dir.clone(),
                DirSnap {
                    root: i,
                    mtime_ns,
                    ..DirSnap::default()
                },
            );
        }
        for (_, path, meta) in found.files {
            let meta = self.settled_meta(meta);
            if let (Some(parent), Some(name)) = (path.parent(), path.file_name())
                && let Some(snap) = self.dirs.get_mut(parent)
            {
                snap.files.insert(name.to_owned(), meta);
            }
        }
        for dir in found.dirs {
            if dir.as_path() != start
                && let (Some(parent), Some(name)) = (dir.parent(), dir.file_name())
                && let Some(snap) = self.dirs.get_mut(parent)
            {
                snap.subdirs.insert(name.to_owned());
            }
        }
    }

    /// Meets what the engine saw when it looked at paths this poller reported. It looked
    /// later than this poller listed them, so it may have found a folder this snapshot lacks
    /// (made, then renamed away between two sweeps) or missed one this snapshot has (gone when
    /// it looked, back since); either way a later change there would go unreported, since
    /// this poller reports changes against its snapshot. A folder it found that is not kept
    /// here is taken in as it is now and reported; a folder kept here that it did not find is
    /// forgotten and its parent listed again next round (reported when it is there).
    pub fn reconcile(&mut self, seen: &Seen, changed: &mut Vec<PathBuf>) {
        if seen.wrote {
            changed.extend(seen.looked.iter().cloned());
        }
        let found: HashSet<&PathBuf> = seen.found.iter().collect();
        for path in &seen.looked {
            if found.contains(path) {
                continue;
            }
            let kept = self.dirs.contains_key(path);
            self.forget(path);
            if let (Some(parent), Some(name)) = (path.parent(), path.file_name())
                && let Some(snap) = self.dirs.get_mut(parent)
                && (kept || snap.subdirs.contains(name))
            {
                snap.subdirs.remove(name);
                snap.mtime_ns = UNSETTLED;
            }
        }
        for dir in &seen.found {
            if self.dirs.contains_key(dir) {
                continue;
            }
            let Some(root) = self.root_of(dir) else {
                continue;
            };
            self.take_in_subfolder(root, dir);
            if let Some(snap) = dir.parent().and_then(|p| self.dirs.get_mut(p)) {
                snap.mtime_ns = UNSETTLED;
            }
            changed.push(dir.clone());
        }
    }

    /// [`Self::take_in`] of a folder below a kept one, entered in its parent's listing only
    /// when it is still there: one gone since the parent's listing must appear again when it
    /// is back.
    fn take_in_subfolder(&mut self, root: usize, path: &Path) {
        self.take_in(root, path);
        if self.dirs.contains_key(path)
            && let (Some(parent), Some(name)) = (path.parent(), path.file_name())
            && let Some(snap) = self.dirs.get_mut(parent)
        {
            snap.subdirs.insert(name.to_owned());
        }
    }

    /// Drops the folder `path` and everything below it from the snapshot.
    fn forget(&mut self, path: &Path) {
        let below: Vec<PathBuf> = self
            .dirs
            .range(path.to_path_buf()..)
            .take_while(|(p, _)| p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect();
        for dir in below {
            self.dirs.remove(&dir);
        }
    }

    /// Roots that were missing and are back are taken in again.
    fn revisit_roots(&mut self, changed: &mut Vec<PathBuf>) {
        for i in 0..self.roots.len() {
            let root = self.roots[i].path.clone();
            if !self.dirs.contains_key(&root)
                && stat(None, root.as_os_str(), self.remote[i]).is_some_and(|(_, k)| k == Kind::Dir)
            {
                self.take_in(i, &root);
                changed.push(root);
            }
        }
    }

    /// Sweeps folders, in path order from where the last slice stopped, until `slice` has
    /// passed (at least one folder), skipping the files in `skip`.
    pub fn sweep(&mut self, slice: Duration, skip: &Skip) -> Slice {
        let started = Instant::now();
        let mut out = Slice::default();
        if self.cursor.is_none() {
            self.revisit_roots(&mut out.changed);
        }
        loop {
            let next = match &self.cursor {
                None => self.dirs.keys().next().cloned(),
                Some(last) => self
                    .dirs
                    .range::<PathBuf, _>((
                        std::ops::Bound::Excluded(last.clone()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .map(|(p, _)| p.clone()),
            };
            let Some(dir) = next else {
                self.cursor = None;
                out.round_done = true;
                break;
            };
            self.sweep_dir(&dir, skip.get(&dir), &mut out.changed);
            self.cursor = Some(dir);
            if started.elapsed() >= slice {
                break;
            }
        }
        out.changed.sort();
        out.changed.dedup();
        out
    }

    /// One whole round (every folder), without rest: the paths that changed since the last.
    pub fn poll_once(&mut self) -> Vec<PathBuf> {
        let mut changed = Vec::new();
        self.cursor = None;
        loop {
            let slice = self.sweep(Duration::MAX, &Skip::new());
            changed.extend(slice.changed);
            if slice.round_done {
                break;
            }
        }
        changed.sort();
        changed.dedup();
        changed
    }

    /// Looks at one folder: itself, its listing when its mtime moved, its files.
    fn sweep_dir(
        &mut self,
        dir: &Path,
        skip: Option<&HashSet<OsString>>,
        changed: &mut Vec<PathBuf>,
    ) {
        let Some(snap) = self.dirs.get(dir) else {
            return; // under a folder that went away this round
        };
        let (root, old_mtime) = (snap.root, snap.mtime_ns);
        let remote = self.remote[root];
        let folder = (snap.files.len() >= OPEN_FROM)
            .then(|| open_dir(dir))
            .flatten();
        let now = match &folder {
            Some(fd) => stat(Some(fd), OsStr::new(""), remote),
            None => stat(None, dir.as_os_str(), remote),
        };
        // Files the listing just stat'ed (new ones) are not stat'ed again below.
        let mut fresh = BTreeSet::new();
        match now {
            Some((meta, Kind::Dir)) => {
                let mtime = self.settled(meta.mtime_ns);
                if mtime != old_mtime || old_mtime == UNSETTLED {
                    fresh = self.relist(dir, root, mtime, changed);
                }
            }
            other => {
                // Gone, or no longer a folder.
                self.forget(dir);
                if let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) {
                    let kept = matches!(other, Some((_, Kind::File))) && self.kept_file(root, dir);
                    let meta = other.map(|(m, _)| self.settled_meta(m));
                    if let Some(snap) = self.dirs.get_mut(parent) {
                        snap.subdirs.remove(name);
                        // A folder replaced by a file of the same name: its parent's listing
                        // may not have changed, so the file is taken in here.
                        if let (true, Some(meta)) = (kept, meta) {
                            snap.files.insert(name.to_owned(), meta);
                        }
                    }
                }
                changed.push(dir.to_path_buf());
                return;
            }
        }
        let racy_ns = self.racy_ns;
        let Some(snap) = self.dirs.get_mut(dir) else {
            return;
        };
        let mut became_dirs = Vec::new();
        let mut gone = Vec::new();
        let mut unreadable = false;
        for (name, meta) in snap.files.iter_mut() {
            if skip.is_some_and(|s| s.contains(name)) || fresh.contains(name) {
                continue;
            }
            let now = match &folder {
                Some(fd) => stat(Some(fd), name, remote),
                None => stat(None, dir.join(name).as_os_str(), remote),
            };
            match now {
                Some((now, Kind::File)) => {
                    let now = FileMeta {
                        mtime_ns: if now_ns().saturating_sub(now.mtime_ns) < racy_ns {
                            UNSETTLED
                        } else {
                            now.mtime_ns
                        },
                        ..now
                    };
                    if now != *meta {
                        // An unsettled entry is reported once more when it settles: a
                        // spurious change costs a comparison, a missed one a stale output.
                        *meta = now;
                        changed.push(dir.join(name));
                    }
                }
                None if denied(&dir.join(name)) => {
                    // Kept as it was: sluice may not look, which is not a deletion; the
                    // folder is listed again next round (see `relist`).
                    unreadable = true;
                }
                other => {
                    gone.push(name.clone());
                    changed.push(dir.join(name));
                    if matches!(other, Some((_, Kind::Dir))) {
                        became_dirs.push(name.clone());
                    }
                }
            }
        }
        for name in &gone {
            snap.files.remove(name);
        }
        if unreadable {
            snap.mtime_ns = UNSETTLED;
        }
        // A file replaced by a folder of the same name: take the folder in, or whatever is
        // written into it later goes unseen.
        for name in became_dirs {
            let Some(text) = name.to_str() else { continue };
            if self.rules[root].ignores_dir(text) || self.shallow[root] {
                continue;
            }
            self.take_in_subfolder(root, &dir.join(&name));
        }
    }

    /// Lists a folder whose mtime moved and takes in what appeared, forgets what went.
    /// Returns the names of the files it stat'ed (the new ones).
    fn relist(
        &mut self,
        dir: &Path,
        root: usize,
        mtime: i64,
        changed: &mut Vec<PathBuf>,
    ) -> BTreeSet<OsString> {
        let mut stated = BTreeSet::new();
        let remote = self.remote[root];
        let mut now: BTreeMap<OsString, Kind> = BTreeMap::new();
        let listing = std::fs::read_dir(dir);
        if listing
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        {
            // Not readable for now: nothing in it is taken for gone, and it is listed again
            // next round (making it readable again does not move its mtime).
            if let Some(snap) = self.dirs.get_mut(dir) {
                snap.mtime_ns = UNSETTLED;
            }
            return stated;
        }
        if let Ok(entries) = listing {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(text) = name.to_str() else {
                    continue; // no URL can name it: the walk skips it too
                };
                let Ok(file_type) = entry.file_type() else {
                    continue;
                };
                let kind = if file_type.is_dir() {
                    Kind::Dir
                } else if file_type.is_file() {
                    Kind::File
                } else if file_type.is_symlink() {
                    // Followed, as the walk does: only a link needs a stat to tell its kind.
                    match stat(None, entry.path().as_os_str(), remote) {
                        Some((_, kind)) => kind,
                        None => continue,
                    }
                } else {
                    Kind::Other
                };
                let kept = match kind {
                    Kind::Dir => !self.rules[root].ignores_dir(text),
                    Kind::File => self.kept_file(root, &entry.path()),
                    Kind::Other => false,
                };
                if kept {
                    now.insert(name, kind);
                }
            }
        }
        let Some(snap) = self.dirs.get_mut(dir) else {
            return stated;
        };
        snap.mtime_ns = mtime;
        let before: BTreeMap<OsString, Kind> = snap
            .files
            .keys()
            .map(|n| (n.clone(), Kind::File))
            .chain(snap.subdirs.iter().map(|n| (n.clone(), Kind::Dir)))
            .collect();
        let mut appeared: Vec<(OsString, Kind)> = Vec::new();
        let mut went: Vec<(OsString, Kind)> = Vec::new();
        for (name, kind) in &before {
            if now.get(name) != Some(kind) {
                went.push((name.clone(), *kind));
            }
        }
        for (name, kind) in &now {
            if before.get(name) != Some(kind) {
                appeared.push((name.clone(), *kind));
            }
        }
        for (name, kind) in went {
            let path = dir.join(&name);
            if let Some(snap) = self.dirs.get_mut(dir) {
                snap.files.remove(&name);
                snap.subdirs.remove(&name);
            }
            if kind == Kind::Dir {
                self.forget(&path);
            }
            changed.push(path);
        }
        for (name, kind) in appeared {
            let path = dir.join(&name);
            match kind {
                Kind::Dir if self.shallow[root] => {
                    if let Some(snap) = self.dirs.get_mut(dir) {
                        snap.subdirs.insert(name);
                    }
                }
                Kind::Dir => self.take_in_subfolder(root, &path),
                _ => {
                    if let Some((meta, Kind::File)) = stat(None, path.as_os_str(), remote) {
                        let meta = self.settled_meta(meta);
                        if let Some(snap) = self.dirs.get_mut(dir) {
                            snap.files.insert(name.clone(), meta);
                        }
                        stated.insert(name);
                    }
                }
            }
            changed.push(path);
        }
        stated
    }
}

/// Whether looking at `path` fails for lack of permission (its folder's or its own).
fn denied(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::DEFAULT_IGNORE;
    use std::fs;

    fn rules() -> IgnoreRules {
        IgnoreRules::new(&DEFAULT_IGNORE.map(String::from))
    }

    #[test]
    fn the_poller_meets_what_the_engine_saw() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(root.join("a")).unwrap();
        fs::write(root.join("a/x.css"), "x").unwrap();
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules(), &[false])
            .with_racy_window(Duration::ZERO);
        poller.poll_once();
        assert!(poller.poll_once().is_empty());

        // The engine found a folder the poller never listed (made and, by the next sweep,
        // renamed away): it is taken in and reported, so its going is reported later.
        fs::create_dir_all(root.join("b")).unwrap();
        fs::write(root.join("b/y.js"), "y").unwrap();
        let mut changed = Vec::new();
        let seen = Seen {
            looked: vec![root.join("b")],
            found: vec![root.join("b")],
            wrote: false,
        };
        poller.reconcile(&seen, &mut changed);
        assert_eq!(changed, [root.join("b")]);
        let again = poller.poll_once();
        assert!(again.is_empty(), "b is known as it is now: {again:?}");
        fs::rename(root.join("b"), root.join("c")).unwrap();
        let moved = poller.poll_once();
        assert!(moved.contains(&root.join("b")), "{moved:?}");

        // The poller reported a folder the engine did not find (gone when it looked, back
        // since with the same listing in its parent): forgotten, its parent listed again,
        // so it is reported when it is there.
        let mut changed = Vec::new();
        let seen = Seen {
            looked: vec![root.join("c")],
            found: vec![],
            wrote: false,
        };
        poller.reconcile(&seen, &mut changed);
        assert!(changed.is_empty());
        assert_eq!(poller.poll_once(), [root.join("c")]);

        // A look that changed outputs is asked for once more.
        let mut changed = Vec::new();
        let seen = Seen {
            looked: vec![root.join("a/x.css")],
            found: vec![],
            wrote: true,
        };
        poller.reconcile(&seen, &mut changed);
        assert_eq!(changed, [root.join("a/x.css")]);
    }

    #[test]
    fn recent_entries_are_looked_at_again_until_they_settle() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(root.join("new")).unwrap();
        // Everything here is younger than an hour: all of it is unsettled.
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules(), &[false])
            .with_racy_window(Duration::from_secs(3600));
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
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules(), &[false])
            .with_racy_window(Duration::ZERO);
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
    fn an_adopted_folder_is_polled_for_its_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("node_modules/pkg");
        fs::create_dir_all(pkg.join("sub")).unwrap();
        fs::write(pkg.join("_colors.scss"), "$main: red;").unwrap();
        fs::write(pkg.join("sub/_deep.scss"), "$x: 1;").unwrap();
        let mut poller = Poller::new(&[], &rules(), &[]).with_racy_window(Duration::ZERO);
        let mut changed = Vec::new();
        poller.adopt(&pkg, false, &mut changed);
        assert_eq!(
            changed,
            std::slice::from_ref(&pkg),
            "the folder is reported once"
        );
        poller.adopt(&pkg, false, &mut changed);
        assert_eq!(changed.len(), 1, "adopting again does nothing");
        assert!(poller.poll_once().is_empty());
        assert_eq!(poller.size(), 2, "the folder and its one file, not sub/");

        fs::write(pkg.join("_colors.scss"), "$main: blue;").unwrap();
        fs::write(pkg.join("sub/_deep.scss"), "$x: 22;").unwrap();
        assert_eq!(poller.poll_once(), [pkg.join("_colors.scss")]);
        fs::write(pkg.join("_new.scss"), "").unwrap();
        fs::create_dir(pkg.join("other")).unwrap();
        assert_eq!(
            poller.poll_once(),
            [pkg.join("_new.scss"), pkg.join("other")]
        );
        assert!(poller.poll_once().is_empty(), "a subfolder is not followed");
        fs::remove_dir_all(&pkg).unwrap();
        assert_eq!(poller.poll_once(), std::slice::from_ref(&pkg));
        fs::create_dir_all(&pkg).unwrap();
        fs::write(pkg.join("_colors.scss"), "$main: green;").unwrap();
        assert_eq!(
            poller.poll_once(),
            std::slice::from_ref(&pkg),
            "taken in again when back"
        );
        fs::write(pkg.join("_colors.scss"), "$main: purple;").unwrap();
        assert_eq!(poller.poll_once(), [pkg.join("_colors.scss")]);
    }

    #[test]
    fn sees_creates_modifies_deletes_and_new_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(root.join("css")).unwrap();
        fs::write(root.join("css/a.css"), "a").unwrap();
        let mut poller = Poller::new(&[SourceRoot::new(root.clone(), None)], &rules(), &[false]);
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

    /// A snapshot taken from the full pass's walk (no second walk) sees what changed after
    /// the walk, including under a shadowed file's folder; and skipped files are not stat'ed.
    #[test]
    fn a_seeded_poller_sees_changes_since_the_walk_and_skips_hot_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (path, text) in [
            (a.join("css/site.css"), "a"),
            (a.join("css/x.css"), "x"),
            (b.join("css/site.css"), "shadowed"),
            (b.join("img/logo.png"), "png"),
        ] {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let roots = [
            SourceRoot::new(a.clone(), None),
            SourceRoot::new(b.clone(), None),
        ];
        // Older than the racy window, as a tree edited a while ago is.
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for path in [
            "a/css/site.css",
            "a/css/x.css",
            "b/css/site.css",
            "b/img/logo.png",
            "a/css",
            "b/css",
            "b/img",
            "a",
            "b",
        ] {
            let file = fs::File::open(dir.path().join(path)).unwrap();
            file.set_modified(hour_ago).unwrap();
        }
        let mut index = crate::sources::Index::new(&roots, &rules());
        let found = index.scan();
        let seed = Seed::new(&found, &index);
        assert_eq!(seed.dirs.len(), 5, "{:?}", seed.dirs);
        assert_eq!(seed.files.len(), 4, "{:?}", seed.files);
        let mut poller = Poller::seeded(&roots, &rules(), &[false, true], &seed);
        // The shadowed file's fingerprint was not known: it is reported once.
        assert_eq!(poller.poll_once(), [b.join("css/site.css")]);
        assert!(poller.poll_once().is_empty());
        assert_eq!(poller.size(), 9);

        let mut poller = poller.with_racy_window(Duration::ZERO);
        fs::write(a.join("css/x.css"), "x changed").unwrap();
        fs::write(b.join("css/site.css"), "shadowed, edited").unwrap();
        fs::write(b.join("img/new.png"), "new").unwrap();
        let mut skip = Skip::new();
        skip.entry(a.join("css"))
            .or_default()
            .insert(OsString::from("x.css"));
        let mut changed = Vec::new();
        loop {
            let slice = poller.sweep(Duration::ZERO, &skip);
            changed.extend(slice.changed);
            if slice.round_done {
                break;
            }
        }
        assert_eq!(changed, [b.join("css/site.css"), b.join("img/new.png")]);
        assert_eq!(poller.poll_once(), [a.join("css/x.css")]);
    }
}
