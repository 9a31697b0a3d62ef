//! `sluice watch`: keep the output in step with the sources.
//!
//! File events are hints, never facts: each names a path, the [`coalesce::Coalescer`] turns them
//! into change sets, and the [`Target`] (the engine, behind the binary) stats what they name
//! and diffs it against its index. So a lost, duplicated or reordered event costs nothing but
//! a stat. The watch knows nothing of outputs: it hands plain change sets over and hears back
//! which folders appeared (to watch them) and which roots are missing.
//!
//! Events come from the kernel (`notify`, one non-recursive watch per kept folder, with a
//! kernel-side mask so sluice's own reads raise nothing) or from the stat-only [`poll::Poller`].
//! When the kernel runs out of watches, its queue overflows, or it has no inotify at all, the
//! watch falls back to polling with one warning (and a rescan, since events were lost).

pub mod coalesce;
pub mod poll;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, RenameMode};
use notify::{EventKindMask, RecursiveMode, Watcher};

use crate::error::Result;
use crate::sources::{IgnoreRules, SourceRoot};
use coalesce::{Coalescer, Timing};
use poll::Poller;

/// The default poll interval; rounds that take longer stretch it (see [`adapt_interval`]).
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Poll instead of using native events, with this base interval.
    pub poll: Option<Duration>,
    pub timing: Timing,
    /// How long a change set waits before the state file is saved (state is also saved on stop).
    pub save_after: Duration,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            poll: None,
            timing: Timing::default(),
            save_after: Duration::from_secs(2),
        }
    }
}

/// How a watch learns about changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Native,
    Poll(Duration),
}

/// What a watch drives: it applies change sets and says what the watch needs to know of them.
pub trait Target {
    /// What applying a change set did (the target's own report).
    type Report;
    fn roots(&self) -> &[SourceRoot];
    fn ignore(&self) -> &IgnoreRules;
    /// Everything again: the catch-up right after the watches are in place, a rescan after
    /// events were lost.
    fn rescan(&mut self) -> Result<Self::Report>;
    /// One change set: absolute paths that may have been created, modified, deleted or
    /// renamed (files or folders).
    fn apply(&mut self, changed: &[PathBuf]) -> Self::Report;
    /// A follow-up's results added to a change set's.
    fn merge(&self, into: &mut Self::Report, more: Self::Report);
    fn feedback(&self, report: &Self::Report) -> Feedback;
    /// Keeps the state (after a quiet moment, and when the watch stops).
    fn save(&mut self) -> Result<()>;
}

/// What the watch needs to know of an applied change set.
#[derive(Debug, Clone, Default)]
pub struct Feedback {
    /// Folders that appeared (and were scanned): they must be watched.
    pub new_dirs: Vec<PathBuf>,
    /// Source roots that are missing right now.
    pub missing_roots: Vec<PathBuf>,
    /// Whether anything happened worth telling (outputs changed, errors).
    pub eventful: bool,
}

/// What the watch tells its caller.
#[derive(Debug)]
pub enum Notice<'a, R> {
    /// The initial pass is done and every folder is watched.
    Ready {
        backend: BackendKind,
        watched_dirs: usize,
        elapsed: Duration,
    },
    /// A change set was applied (also for the catch-up pass right after start or fallback).
    Changed(&'a R),
    /// Something went wrong with the watching itself; the watch goes on.
    Warning(String),
    /// Switched from native events to polling.
    FellBack {
        reason: String,
        interval: Duration,
    },
    RootMissing(&'a Path),
    RootBack(&'a Path),
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Polled(Vec<PathBuf>),
    Stop,
}

/// Stops a running watch from another thread, e.g. a signal handler.
#[derive(Clone)]
pub struct Stopper(Sender<Msg>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.send(Msg::Stop);
    }
}

/// Poll rounds should take at most a tenth of the time: slow disks poll less often.
pub fn adapt_interval(base: Duration, last_round: Duration) -> Duration {
    base.max(last_round * 10)
}

/// Names editors write and delete again while saving: held for the quiet period, not acted on
/// at once (vim's `4913` probe, JetBrains' safe-write temporaries, swap files), and Python's
/// `tempfile` names (`tmpk3j_x9a1`), which django-pipeline's compilers create beside the
/// source for a moment on every page render in development.
fn is_scratch(name: &str) -> bool {
    name == "4913"
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name.strip_prefix("tmp").is_some_and(|rest| {
            rest.len() == 8
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Whether an event says its path's writer is done with it.
fn settles(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(notify::event::ModifyKind::Name(_))
            | EventKind::Remove(_)
            | EventKind::Create(CreateKind::Folder)
    )
}

enum Source {
    Native(notify::RecommendedWatcher),
    Poll {
        stop: Arc<AtomicBool>,
        interval: Duration,
    },
}

pub struct Watch {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
}

impl Default for Watch {
    fn default() -> Watch {
        Watch::new()
    }
}

impl Watch {
    pub fn new() -> Watch {
        let (tx, rx) = mpsc::channel();
        Watch { tx, rx }
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.tx.clone())
    }

    /// Watches until stopped. `dirs` are the folders of the full pass the caller just ran:
    /// the ones to watch. State is saved when the watch stops.
    pub fn run<T: Target>(
        self,
        target: &mut T,
        dirs: &[PathBuf],
        options: &WatchOptions,
        notice: &mut dyn FnMut(Notice<T::Report>),
    ) -> Result<()> {
        let started = Instant::now();
        let mut watched: HashMap<PathBuf, u64> = HashMap::new();
        let mut source = match options.poll {
            Some(interval) => self.start_polling(target.roots(), target.ignore(), interval),
            None => match self.start_native(dirs, &mut watched) {
                Ok(watcher) => Source::Native(watcher),
                Err(reason) => {
                    let interval = DEFAULT_POLL;
                    notice(Notice::FellBack { reason, interval });
                    self.start_polling(target.roots(), target.ignore(), interval)
                }
            },
        };
        // Catch up with whatever changed between the initial walk and the watches being in place.
        let report = target.rescan()?;
        if target.feedback(&report).eventful {
            notice(Notice::Changed(&report));
        }
        notice(Notice::Ready {
            backend: self.kind(&source),
            watched_dirs: watched.len(),
            elapsed: started.elapsed(),
        });

        let mut coalescer = Coalescer::new(options.timing);
        let mut missing: HashSet<PathBuf> = HashSet::new();
        let mut save_at: Option<Instant> = None;
        let mut forgotten: HashSet<PathBuf> = HashSet::new();
        let ignore = target.ignore().clone();
        loop {
            let now = Instant::now();
            let mut deadline = coalescer.next_deadline();
            if !missing.is_empty() {
                let check = now + Duration::from_millis(250);
                deadline = Some(deadline.map_or(check, |d| d.min(check)));
            }
            if let Some(save) = save_at {
                deadline = Some(deadline.map_or(save, |d| d.min(save)));
            }
            let first = match deadline {
                Some(d) => self.rx.recv_timeout(d.saturating_duration_since(now)),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut messages: Vec<Msg> = match first {
                Ok(msg) => vec![msg],
                Err(RecvTimeoutError::Timeout) => Vec::new(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            messages.extend(self.rx.try_iter());
            let now = Instant::now();
            let mut stop = false;
            let mut fall_back: Option<String> = None;
            for msg in messages {
                match msg {
                    Msg::Stop => stop = true,
                    Msg::Polled(paths) => {
                        for path in paths {
                            coalescer.add(path, true, now);
                        }
                    }
                    Msg::Fs(Ok(event)) => {
                        if event.need_rescan() {
                            fall_back = Some("the kernel's event queue overflowed".into());
                            continue;
                        }
                        let settled = settles(&event.kind);
                        // Whatever watch this path had is dead or about to be, even if a new
                        // folder appears there with the same inode number (ext4 reuses them).
                        let from = match event.kind {
                            EventKind::Remove(_) => event.paths.len(),
                            EventKind::Modify(notify::event::ModifyKind::Name(
                                RenameMode::From | RenameMode::Both | RenameMode::Any,
                            )) => 1,
                            _ => 0,
                        };
                        forgotten.extend(event.paths.iter().take(from).cloned());
                        for path in event.paths {
                            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                            if ignore.ignores_dir(name) {
                                continue; // the name alone rules it out (`.*`, `*~`, …)
                            }
                            let settled = settled && !is_scratch(name);
                            coalescer.add(path, settled, now);
                        }
                    }
                    Msg::Fs(Err(error)) => match error.kind {
                        notify::ErrorKind::MaxFilesWatch => {
                            fall_back = Some(watch_limit_reason());
                        }
                        _ => notice(Notice::Warning(format!("file events: {error}"))),
                    },
                }
            }
            if stop {
                break;
            }
            if let (Some(reason), Source::Native(_)) = (fall_back, &source) {
                let interval = DEFAULT_POLL;
                notice(Notice::FellBack { reason, interval });
                source = self.start_polling(target.roots(), target.ignore(), interval);
                watched.clear();
                let rescan = target.rescan()?;
                notice(Notice::Changed(&rescan));
                save_at = Some(Instant::now() + options.save_after);
            }

            let mut changed = coalescer.take_due(Instant::now());
            // Roots that went away and came back.
            let back: Vec<PathBuf> = missing.iter().filter(|r| r.is_dir()).cloned().collect();
            for root in back {
                missing.remove(&root);
                notice(Notice::RootBack(&root));
                changed.push(root);
            }
            if changed.is_empty() {
                if save_at.is_some_and(|at| at <= Instant::now()) {
                    target.save()?;
                    save_at = None;
                }
                continue;
            }
            let report = self.apply(
                target,
                &mut source,
                &mut watched,
                &changed,
                &forgotten,
                notice,
            );
            forgotten.clear();
            let feedback = target.feedback(&report);
            for root in feedback.missing_roots {
                if missing.insert(root.clone()) {
                    notice(Notice::RootMissing(&root));
                }
            }
            if feedback.eventful {
                notice(Notice::Changed(&report));
                save_at = Some(Instant::now() + options.save_after);
            }
        }
        if let Source::Poll { stop, .. } = &source {
            stop.store(true, Ordering::Relaxed);
        }
        target.save()
    }

    fn kind(&self, source: &Source) -> BackendKind {
        match source {
            Source::Native(_) => BackendKind::Native,
            Source::Poll { interval, .. } => BackendKind::Poll(*interval),
        }
    }

    /// Applies one change set; with native events, first watches folders that appeared, and
    /// re-scans the folders found meanwhile until every new folder is watched.
    fn apply<T: Target>(
        &self,
        target: &mut T,
        source: &mut Source,
        watched: &mut HashMap<PathBuf, u64>,
        changed: &[PathBuf],
        forgotten: &HashSet<PathBuf>,
        notice: &mut dyn FnMut(Notice<T::Report>),
    ) -> T::Report {
        if let Source::Native(watcher) = source {
            // Unwatch what is gone first: a folder renamed away shares its kernel watch with
            // its new path, and removing it afterwards would silence the new one.
            for path in changed {
                if watched.contains_key(path) && (forgotten.contains(path) || !path.is_dir()) {
                    let gone: Vec<PathBuf> = watched
                        .keys()
                        .filter(|w| w.starts_with(path))
                        .cloned()
                        .collect();
                    for dir in gone {
                        watched.remove(&dir);
                        let _ = watcher.unwatch(&dir);
                    }
                }
            }
            for path in changed {
                self.ensure_watched(watcher, watched, path, notice);
            }
        }
        let mut report = target.apply(changed);
        if let Source::Native(watcher) = source {
            let mut fresh: Vec<PathBuf> = target
                .feedback(&report)
                .new_dirs
                .iter()
                .filter(|dir| self.ensure_watched(watcher, watched, dir, notice))
                .cloned()
                .collect();
            while !fresh.is_empty() {
                // Files created in those folders before their watch existed.
                let again = target.apply(&fresh);
                fresh = target
                    .feedback(&again)
                    .new_dirs
                    .iter()
                    .filter(|dir| self.ensure_watched(watcher, watched, dir, notice))
                    .cloned()
                    .collect();
                target.merge(&mut report, again);
            }
        }
        report
    }

    /// Watches the folder `path` unless it is watched already (the same folder: a folder
    /// deleted or renamed away and recreated under the same name is a new one). Returns whether
    /// a watch was added.
    fn ensure_watched<R>(
        &self,
        watcher: &mut notify::RecommendedWatcher,
        watched: &mut HashMap<PathBuf, u64>,
        path: &Path,
        notice: &mut dyn FnMut(Notice<R>),
    ) -> bool {
        let Some(id) = folder_id(path) else {
            return false;
        };
        if watched.get(path) == Some(&id) {
            return false;
        }
        watched.insert(path.to_path_buf(), id);
        match watcher.watch(path, RecursiveMode::NonRecursive) {
            Ok(()) => true,
            Err(error) if matches!(error.kind, notify::ErrorKind::MaxFilesWatch) => {
                let _ = self.tx.send(Msg::Fs(Err(error)));
                false
            }
            Err(error) => {
                if path.is_dir() {
                    notice(Notice::Warning(format!(
                        "cannot watch {}: {error}",
                        path.display()
                    )));
                }
                false
            }
        }
    }

    fn start_native(
        &self,
        dirs: &[PathBuf],
        watched: &mut HashMap<PathBuf, u64>,
    ) -> std::result::Result<notify::RecommendedWatcher, String> {
        let tx = self.tx.clone();
        let config = notify::Config::default()
            .with_follow_symlinks(true)
            .with_event_kinds(
                EventKindMask::CREATE
                    | EventKindMask::REMOVE
                    | EventKindMask::MODIFY_NAME
                    | EventKindMask::ACCESS_CLOSE,
            );
        let mut watcher = notify::RecommendedWatcher::new(
            move |event: notify::Result<notify::Event>| {
                let _ = tx.send(Msg::Fs(event));
            },
            config,
        )
        .map_err(|e| format!("native file events are not available ({e})"))?;
        let ops: Vec<notify::PathOp> = dirs
            .iter()
            .map(|d| notify::PathOp::watch_non_recursive(d.clone()))
            .collect();
        match watcher.update_paths(ops) {
            Ok(()) => {
                watched.extend(dirs.iter().filter_map(|d| Some((d.clone(), folder_id(d)?))));
                Ok(watcher)
            }
            Err(error) if matches!(error.source.kind, notify::ErrorKind::MaxFilesWatch) => {
                Err(watch_limit_reason())
            }
            Err(error) => {
                // A folder that vanished since the walk is no reason to give up: watch the rest
                // one by one, and fall back only when the kernel says no more.
                let _ = error;
                for dir in dirs {
                    match watcher.watch(dir, RecursiveMode::NonRecursive) {
                        Ok(()) => {
                            if let Some(id) = folder_id(dir) {
                                watched.insert(dir.clone(), id);
                            }
                        }
                        Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                            return Err(watch_limit_reason());
                        }
                        Err(_) => {}
                    }
                }
                Ok(watcher)
            }
        }
    }

    fn start_polling(&self, roots: &[SourceRoot], ignore: &IgnoreRules, base: Duration) -> Source {
        let stop = Arc::new(AtomicBool::new(false));
        let mut poller = Poller::new(roots, ignore);
        let (tx, flag) = (self.tx.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut interval = base;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                let round = Instant::now();
                let changed = poller.poll_once();
                interval = adapt_interval(base, round.elapsed());
                if !changed.is_empty() && tx.send(Msg::Polled(changed)).is_err() {
                    break;
                }
            }
        });
        Source::Poll {
            stop,
            interval: base,
        }
    }
}

/// A folder's inode, or `None` when `path` is not a folder (any more).
fn folder_id(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_dir())?;
    Some(crate::sources::FileMeta::of(&meta).ino)
}

fn watch_limit_reason() -> String {
    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|s| format!(" ({})", s.trim()))
        .unwrap_or_default();
    format!(
        "the kernel's limit on watched folders{limit} is reached (raise fs.inotify.max_user_watches to get native events back)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names() {
        for name in [
            "4913",
            "site.css___jb_tmp___",
            "site.css___jb_old___",
            ".site.css.swp",
            "tmpbbjz4ccn",
            "tmp_8k2q0zz",
        ] {
            assert!(is_scratch(name), "{name}");
        }
        for name in [
            "site.css",
            "tmp",
            "tmpfile.css",
            "tmpABCDEFGH",
            "tmpabcdefghi",
        ] {
            assert!(!is_scratch(name), "{name}");
        }
    }

    #[test]
    fn poll_interval_adapts_to_round_cost() {
        let base = Duration::from_millis(500);
        assert_eq!(adapt_interval(base, Duration::from_millis(5)), base);
        assert_eq!(
            adapt_interval(base, Duration::from_millis(200)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn close_write_and_moves_settle_creates_do_not() {
        use notify::event::{ModifyKind, RemoveKind, RenameMode};
        assert!(settles(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(settles(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(settles(&EventKind::Remove(RemoveKind::File)));
        assert!(!settles(&EventKind::Create(CreateKind::File)));
    }
}
