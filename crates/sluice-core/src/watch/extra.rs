//! The folders a watch follows besides the source roots: the template folders (a new
//! `{% static %}` reference asks for a compile) and the folders of the packages' files that
//! compiles and ES-module bundles read (a `node_modules` of the project's own). Each is
//! watched by the roots' rule ([`super::decide`]): polled with `--poll`, or when its file
//! system's changes are made elsewhere; with kernel events otherwise. A polled one is polled
//! shallowly, its own files and not the folders below it ([`super::poll::Poller::adopt`]): a
//! package folder can hold thousands of files nobody reads, and every template folder is a
//! folder of the list itself.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{PollMode, RootWatch, decide, mounts};

/// How the folders outside the roots are watched, decided once each.
#[derive(Debug, Default)]
pub(super) struct ExtraFolders {
    mode: PollMode,
    /// Every source root (a folder under one is the roots' business).
    roots: Vec<PathBuf>,
    decided: HashMap<PathBuf, RootWatch>,
    /// What each file system (by device) is: probed once.
    slow_by_device: HashMap<u64, Option<mounts::Slow>>,
}

impl ExtraFolders {
    pub(super) fn new(plan: &[RootWatch], mode: PollMode) -> ExtraFolders {
        ExtraFolders {
            mode,
            roots: plan.iter().map(|r| r.path.clone()).collect(),
            ..ExtraFolders::default()
        }
    }

    /// Whether `path` is outside every source root.
    pub(super) fn outside_roots(&self, path: &Path) -> bool {
        !self.roots.iter().any(|r| path.starts_with(r))
    }

    /// The folders of `dirs` outside the roots that were not decided yet, decided.
    pub(super) fn decide_new(&mut self, dirs: &[PathBuf]) -> Vec<RootWatch> {
        let mut out = Vec::new();
        for dir in dirs {
            if !self.outside_roots(dir) || self.decided.contains_key(dir) {
                continue;
            }
            let slow = self.slow(dir);
            let watch = decide(dir, self.mode, slow);
            self.decided.insert(dir.clone(), watch.clone());
            out.push(watch);
        }
        out
    }

    /// Every folder decided is polled from now on (the kernel's events are lost): those that
    /// were not.
    pub(super) fn poll_all(&mut self) -> Vec<RootWatch> {
        let mut out = Vec::new();
        for watch in self.decided.values_mut() {
            if !watch.polled {
                watch.polled = true;
                out.push(watch.clone());
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Every polled folder (for a new poller).
    pub(super) fn polled(&self) -> Vec<RootWatch> {
        let mut out: Vec<RootWatch> = self
            .decided
            .values()
            .filter(|w| w.polled)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// Whether the file system of `dir` has its changes made elsewhere (probed once per
    /// device; a folder that cannot be looked at is taken as local).
    fn slow(&mut self, dir: &Path) -> Option<mounts::Slow> {
        let Ok(meta) = std::fs::metadata(dir) else {
            return None;
        };
        self.slow_by_device
            .entry(meta.dev())
            .or_insert_with(|| mounts::probe(dir).as_ref().and_then(mounts::slow_kind))
            .clone()
    }
}
