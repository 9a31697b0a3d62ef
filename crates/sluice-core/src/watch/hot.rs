//! The hot set: the source files behind what the browser loaded in this `sluice dev` session
//! (a stylesheet's source, a bundle's members, a compiled file's imports), on polled roots.
//! They are the files a developer is editing, so they are polled far more often than the
//! background sweep goes round, and the sweep skips them.
//!
//! Shared between the watch (which adds files as requests name them, with the fingerprint it
//! just saw), the hot poller's thread and the sweep's (which asks what to skip).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::poll::{Kind, Skip, stat};
use crate::sources::FileMeta;

/// The most files kept hot: a session that loads more pages than this keeps the first ones.
pub const MAX_HOT: usize = 4096;

#[derive(Debug, Default)]
struct Hot {
    /// Each hot file: its fingerprint as last seen (`None`: not there), and whether its root's
    /// changes are made elsewhere.
    files: HashMap<PathBuf, (Option<FileMeta>, bool)>,
    /// Bumped on every addition, so the sweep rebuilds its skip list only then.
    generation: u64,
}

#[derive(Debug, Clone, Default)]
pub struct HotSet(Arc<Mutex<Hot>>);

impl HotSet {
    fn lock(&self) -> MutexGuard<'_, Hot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `path` hot, as it is now (`meta`); returns whether it was not hot yet.
    pub fn add(&self, path: PathBuf, meta: Option<FileMeta>, remote: bool) -> bool {
        let mut hot = self.lock();
        if hot.files.len() >= MAX_HOT && !hot.files.contains_key(&path) {
            return false;
        }
        let new = hot.files.insert(path, (meta, remote)).is_none();
        if new {
            hot.generation += 1;
        }
        new
    }

    pub fn len(&self) -> usize {
        self.lock().files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The hot files by folder, for a sweep to skip.
    pub fn skip(&self) -> Skip {
        let hot = self.lock();
        let mut skip: Skip = HashMap::new();
        for path in hot.files.keys() {
            if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
                skip.entry(dir.to_path_buf())
                    .or_default()
                    .insert(OsString::from(name));
            }
        }
        skip
    }

    /// Stats every hot file (outside the lock) and returns those that changed since they
    /// were last seen.
    pub fn poll(&self) -> Vec<PathBuf> {
        let list: Vec<(PathBuf, bool)> = self
            .lock()
            .files
            .iter()
            .map(|(p, (_, remote))| (p.clone(), *remote))
            .collect();
        let now: Vec<(PathBuf, Option<FileMeta>)> = list
            .into_iter()
            .map(|(path, remote)| {
                let meta = stat(None, path.as_os_str(), remote)
                    .filter(|(_, kind)| *kind == Kind::File)
                    .map(|(m, _)| m);
                (path, meta)
            })
            .collect();
        let mut hot = self.lock();
        let mut changed = Vec::new();
        for (path, meta) in now {
            if let Some(entry) = hot.files.get_mut(&path)
                && entry.0 != meta
            {
                entry.0 = meta;
                changed.push(path);
            }
        }
        changed.sort();
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_files_report_edits_creations_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.css"), dir.path().join("b.css"));
        std::fs::write(&a, "a").unwrap();
        let hot = HotSet::default();
        let seen = stat(None, a.as_os_str(), false).map(|(m, _)| m);
        assert!(hot.add(a.clone(), seen, false));
        assert!(!hot.add(a.clone(), seen, false), "already hot");
        assert!(hot.add(b.clone(), None, true));
        assert!(hot.poll().is_empty());
        std::fs::write(&a, "a, edited").unwrap();
        std::fs::write(&b, "b appears").unwrap();
        assert_eq!(hot.poll(), [a.clone(), b.clone()]);
        assert!(hot.poll().is_empty());
        std::fs::remove_file(&b).unwrap();
        assert_eq!(hot.poll(), std::slice::from_ref(&b));
        let skip = hot.skip();
        assert_eq!(skip[dir.path()].len(), 2);
    }
}
