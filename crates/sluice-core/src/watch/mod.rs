//! `sluice watch`: keep the output in step with the sources.
//!
//! File events are hints, never facts: each names a path, the [`coalesce::Coalescer`] turns them
//! into change sets, and the [`Target`] (the engine, behind the binary) stats what they name
//! and diffs it against its index. So a lost, duplicated or reordered event costs nothing but
//! a stat. The watch knows nothing of outputs: it hands plain change sets over and hears back
//! which folders appeared (to watch them) and which roots are missing.
//!
//! Events come from the kernel (`notify`, one non-recursive watch per kept folder, with a
//! kernel-side mask so sluice's own reads raise nothing) or from the stat-only [`poll::Poller`],
//! chosen per root ([`plan`]): roots on file systems whose changes are made elsewhere
//! ([`mounts`]: Docker Desktop's shares, NFS, SMB, 9p, FUSE, …) are polled, the others watched
//! natively, in one watch. Polling sweeps in slices within a CPU and I/O [`budget`]; in
//! `sluice dev` the files behind what the browser loaded are polled far more often ([`hot`]),
//! and a request for a static file is answered only after that file's inputs on polled roots
//! were checked ([`Freshness`]) and what changed was applied. When the kernel runs out of
//! watches, its queue overflows, or it has no inotify at all, the watch falls back to polling
//! with one warning (and a rescan, since events were lost).

mod backends;
pub mod budget;
pub mod coalesce;
mod extra;
pub mod hot;
pub mod mounts;
pub mod poll;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, RenameMode};
use notify::{EventKindMask, RecursiveMode, Watcher};

use rayon::prelude::*;

use crate::error::Result;
use crate::sources::{FileMeta, IgnoreRules, SourceRoot};
use backends::watch_limit_reason;
use budget::{Budget, Meter};
use coalesce::{Coalescer, Timing};
use extra::ExtraFolders;
use hot::HotSet;
use poll::{Kind, Poller, Seed};

/// The default shortest time between two sweeps of the polled roots (`--poll=MS` sets it).
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// The share of a core and of the file system's time the background sweep may take. The
/// file system's share sets how long a sweep of a slow mount takes: 20 000 files behind a
/// Docker-Desktop-like mount (0.25 ms per stat) are ~11 s of stats, so a sweep ends in ~15 s
/// (within the 30 s a change nobody loaded may take, also with the machine busy: at 40 % it
/// took 42 s) and a quarter of the mount's time stays with others.
pub const SWEEP_BUDGET: Budget = Budget {
    cpu: 0.05,
    io: 0.75,
};

/// The same for the hot set, which is small and polled often.
pub const HOT_BUDGET: Budget = Budget {
    cpu: 0.03,
    io: 0.25,
};

/// The shortest time between two polls of the hot set.
pub const HOT_INTERVAL: Duration = Duration::from_millis(100);

/// How much wall time one slice of a sweep runs before resting.
const SLICE: Duration = Duration::from_millis(20);

/// How the watch chooses between kernel events and polling, root by root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PollMode {
    /// Kernel events, except on roots whose changes are made elsewhere ([`mounts`]): those
    /// are polled.
    #[default]
    Auto,
    /// Poll every root (`--poll`, `SLUICE_POLL`, `poll = true`).
    Always,
    /// Kernel events on every root (`--no-poll`, `poll = false`); the kernel's own limits
    /// still fall back to polling.
    Never,
}

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// The shortest time between two sweeps of the polled roots (the budget may make it
    /// longer, never a multiple of the last round).
    pub interval: Duration,
    pub timing: Timing,
    /// How long a change set waits before the state file is saved (state is also saved on stop).
    pub save_after: Duration,
    /// How the folders outside the roots (template folders, packages' folders) are watched:
    /// by the rule the roots were planned with ([`plan`]).
    pub mode: PollMode,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            interval: DEFAULT_POLL,
            timing: Timing::default(),
            save_after: Duration::from_secs(2),
            mode: PollMode::Auto,
        }
    }
}

/// How a watch learns about changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Native,
    Poll(Duration),
    /// Some roots polled (at this interval at most often), the others native.
    Mixed(Duration),
}

/// How one source root is watched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootWatch {
    pub path: PathBuf,
    pub polled: bool,
    /// Its changes are made elsewhere: stats go past the kernel's attribute cache.
    pub remote: bool,
    /// What its file system is and why its events will not come (only for such roots).
    pub why: Option<String>,
}

/// How `path` is watched in `mode` given what its file system is (`slow`: changes are made
/// elsewhere).
pub fn decide(path: &Path, mode: PollMode, slow: Option<mounts::Slow>) -> RootWatch {
    let remote = slow.is_some();
    RootWatch {
        path: path.to_path_buf(),
        polled: match mode {
            PollMode::Always => true,
            PollMode::Never => false,
            PollMode::Auto => remote,
        },
        remote,
        why: slow.map(|s| s.reason),
    }
}

/// How each root is watched in `mode`: the file system of each is looked at once.
pub fn plan(roots: &[SourceRoot], mode: PollMode) -> Vec<RootWatch> {
    roots
        .iter()
        .map(|root| {
            let slow = mounts::probe(&root.path)
                .as_ref()
                .and_then(mounts::slow_kind);
            decide(&root.path, mode, slow)
        })
        .collect()
}

/// The polled roots of a plan and the polled folders outside them, to tell which paths a
/// poller answers for.
#[derive(Debug, Clone, Default)]
struct Polled {
    roots: Vec<(PathBuf, bool)>,
    /// Folders outside the roots polled shallowly (their own files): whether remote.
    folders: HashMap<PathBuf, bool>,
}

impl Polled {
    /// The polled roots of `plan` from now on (the folders stay).
    fn set_roots(&mut self, plan: &[RootWatch]) {
        self.roots = plan
            .iter()
            .filter(|r| r.polled)
            .map(|r| (r.path.clone(), r.remote))
            .collect();
    }

    /// `Some(remote)` when `path` is under a polled root, or is a polled folder or a file of
    /// one.
    fn get(&self, path: &Path) -> Option<bool> {
        self.in_root(path).or_else(|| {
            self.folders
                .get(path)
                .or_else(|| path.parent().and_then(|p| self.folders.get(p)))
                .copied()
        })
    }

    /// `Some(remote)` when `path` is under a polled root.
    fn in_root(&self, path: &Path) -> Option<bool> {
        self.roots
            .iter()
            .find(|(root, _)| path.starts_with(root))
            .map(|(_, remote)| *remote)
    }
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
    /// The source files the output `logical` (a path in the output) is made from, each with
    /// the fingerprint the target knows it by (`None`: not there) — its source, a bundle's
    /// members, a compiled file's imports; for an output not made yet, where its source
    /// would be. Before such an output is served, the ones on polled roots are stat'ed.
    fn inputs(&self, _logical: &str) -> Vec<(PathBuf, Option<FileMeta>)> {
        Vec::new()
    }
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
    /// Whether outputs were written or removed (errors alone do not count).
    pub wrote: bool,
    /// Paths the change set failed on: those sluice may not read are tried again until it
    /// may (a folder made unreadable and readable again raises no event of its own).
    pub failed: Vec<PathBuf>,
}

/// How often paths sluice was denied are tried again.
const DENIED_RETRY: Duration = Duration::from_millis(500);

/// Whether `path` (a file or a folder) cannot be read for lack of permission.
fn denied(path: &Path) -> bool {
    let is_denied = |e: &std::io::Error| e.kind() == std::io::ErrorKind::PermissionDenied;
    match std::fs::metadata(path) {
        Err(e) => is_denied(&e),
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path).is_err_and(|e| is_denied(&e)),
        Ok(_) => std::fs::File::open(path).is_err_and(|e| is_denied(&e)),
    }
}

/// What the watch tells its caller.
#[derive(Debug)]
pub enum Notice<'a, R> {
    /// A root is on a file system whose changes are made elsewhere: why, and whether it is
    /// polled (not with `--no-poll`).
    SlowRoot {
        root: &'a Path,
        why: &'a str,
        polled: bool,
    },
    /// The initial pass is done and every folder is watched.
    Ready {
        backend: BackendKind,
        watched_dirs: usize,
        elapsed: Duration,
        roots: &'a [RootWatch],
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
    /// Outputs about to be served: check their inputs, apply what changed, then answer.
    Fresh(Vec<String>, Sender<()>),
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

/// Asks a running watch, from another thread (the dev server's), to bring an output up to
/// date with its inputs on polled roots before it is served.
#[derive(Clone)]
pub struct Freshness {
    tx: Sender<Msg>,
    active: Arc<AtomicBool>,
}

impl Freshness {
    /// Whether any root is polled (else there is nothing to check).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Blocks until the watch has checked the inputs of `logical` on polled roots and applied
    /// what changed (at most `wait`: then the caller serves what is there). Returns whether
    /// the check was done.
    pub fn check(&self, logical: &str, wait: Duration) -> bool {
        if !self.active() {
            return true;
        }
        let (done, answer) = mpsc::channel();
        if self
            .tx
            .send(Msg::Fresh(vec![logical.to_string()], done))
            .is_err()
        {
            return false;
        }
        answer.recv_timeout(wait).is_ok()
    }
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

/// Where events come from: the kernel for native roots, poller threads for the others.
struct Source {
    native: Option<notify::RecommendedWatcher>,
    /// Stops the poller threads.
    polling: Option<Arc<AtomicBool>>,
}

impl Source {
    fn stop_polling(&mut self) {
        if let Some(stop) = self.polling.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

pub struct Watch {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    active: Arc<AtomicBool>,
    hot: HotSet,
    /// What the engine saw of the polled roots' change sets (the paths it looked at, the
    /// folders it found), for the poller to meet it ([`Poller::reconcile`]).
    seen: Arc<Mutex<Vec<poll::Seen>>>,
    /// Folders outside the roots for the poller to follow ([`Poller::adopt`]), with whether
    /// they are remote.
    adopt: Arc<Mutex<Vec<(PathBuf, bool)>>>,
    /// The shortest time between two sweeps (set when the watch runs).
    interval: Duration,
}

impl Default for Watch {
    fn default() -> Watch {
        Watch::new()
    }
}

impl Watch {
    pub fn new() -> Watch {
        let (tx, rx) = mpsc::channel();
        Watch {
            tx,
            rx,
            active: Arc::new(AtomicBool::new(false)),
            hot: HotSet::default(),
            seen: Arc::default(),
            adopt: Arc::default(),
            interval: DEFAULT_POLL,
        }
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.tx.clone())
    }

    /// The handle a server uses to have outputs checked before serving them. Checks wait for
    /// the watch's loop once some root is polled (requests made during the first pass wait
    /// for it).
    pub fn freshness(&self, plan: &[RootWatch]) -> Freshness {
        if plan.iter().any(|r| r.polled) {
            self.active.store(true, Ordering::Relaxed);
        }
        Freshness {
            tx: self.tx.clone(),
            active: self.active.clone(),
        }
    }

    /// Watches until stopped, from where the full pass the caller just ran left off
    /// ([`Start`]). State is saved when the watch stops.
    pub fn run<T: Target>(
        mut self,
        target: &mut T,
        start: Start,
        options: &WatchOptions,
        notice: &mut dyn FnMut(Notice<T::Report>),
    ) -> Result<()> {
        let started = Instant::now();
        self.interval = options.interval;
        let Start {
            mut plan,
            dirs,
            seed,
        } = start;
        // The folders outside the roots (template folders, packages' folders) follow the
        // roots' rule, each on its own file system.
        let mut extras = ExtraFolders::new(&plan, options.mode);
        let extra = extras.decide_new(&dirs);
        for root in &plan {
            if let Some(why) = &root.why {
                notice(Notice::SlowRoot {
                    root: &root.path,
                    why,
                    polled: root.polled,
                });
            }
        }
        let mut polled = Polled::default();
        polled.set_roots(&plan);
        self.follow(&mut polled, extra.iter().filter(|w| w.polled));
        let mut watched: HashMap<PathBuf, u64> = HashMap::new();
        let mut source = Source {
            native: None,
            polling: None,
        };
        let mut catch_up = false;
        if plan.iter().any(|r| !r.polled) || extra.iter().any(|w| !w.polled) {
            let native_dirs: Vec<PathBuf> = dirs
                .iter()
                .filter(|d| polled.get(d).is_none())
                .cloned()
                .collect();
            match self.start_native(&native_dirs, &mut watched) {
                Ok(watcher) => {
                    source.native = Some(watcher);
                    catch_up = true;
                }
                Err(reason) => {
                    notice(Notice::FellBack {
                        reason,
                        interval: options.interval,
                    });
                    for root in &mut plan {
                        root.polled = true;
                    }
                    polled.set_roots(&plan);
                    self.follow(&mut polled, extras.poll_all().iter());
                }
            }
        }
        // The poller starts from the walk of the full pass: its first round sees whatever
        // changed since, so the tree is not walked twice.
        let native_only = plan.iter().all(|r| !r.polled) && polled.folders.is_empty();
        if !native_only {
            self.active.store(true, Ordering::Relaxed);
            let poller = self.poller(target, &plan, Some(&seed));
            source.polling = Some(self.start_polling(poller, options.interval));
        }
        if catch_up && native_only {
            // Catch up with whatever changed between the walk and the watches being in place.
            let report = target.rescan()?;
            if target.feedback(&report).eventful {
                notice(Notice::Changed(&report));
            }
        } else if catch_up {
            // The same for the native roots only, by one stat round over them against the
            // walk: a rescan would walk the polled (slow) roots again.
            let natives: Vec<RootWatch> = plan
                .iter()
                .map(|r| RootWatch {
                    polled: !r.polled,
                    ..r.clone()
                })
                .collect();
            let changed = self.poller(target, &natives, Some(&seed)).poll_once();
            if !changed.is_empty() {
                let report = self.apply(
                    target,
                    &mut source,
                    &mut watched,
                    &mut polled,
                    &mut extras,
                    &changed,
                    &HashSet::new(),
                    notice,
                );
                if target.feedback(&report).eventful {
                    notice(Notice::Changed(&report));
                }
            }
        }
        drop(seed);
        notice(Notice::Ready {
            backend: kind(&plan, options.interval),
            watched_dirs: watched.len(),
            elapsed: started.elapsed(),
            roots: &plan,
        });

        let mut coalescer = Coalescer::new(options.timing);
        let mut missing: HashSet<PathBuf> = HashSet::new();
        let mut save_at: Option<Instant> = None;
        let mut forgotten: HashSet<PathBuf> = HashSet::new();
        // Paths sluice was not allowed to read: tried again every DENIED_RETRY.
        let mut unreadable: HashSet<PathBuf> = HashSet::new();
        let mut retry_at = Instant::now();
        let ignore = target.ignore().clone();
        loop {
            let now = Instant::now();
            let mut deadline = coalescer.next_deadline();
            if !missing.is_empty() {
                let check = now + Duration::from_millis(250);
                deadline = Some(deadline.map_or(check, |d| d.min(check)));
            }
            if !unreadable.is_empty() {
                deadline = Some(deadline.map_or(retry_at, |d| d.min(retry_at)));
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
            let mut fresh: Vec<(Vec<String>, Sender<()>)> = Vec::new();
            for msg in messages {
                match msg {
                    Msg::Stop => stop = true,
                    Msg::Fresh(outputs, done) => fresh.push((outputs, done)),
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
            if let (Some(reason), Some(_)) = (fall_back, &source.native) {
                notice(Notice::FellBack {
                    reason,
                    interval: options.interval,
                });
                source.native = None;
                source.stop_polling();
                for root in &mut plan {
                    root.polled = true;
                }
                polled.set_roots(&plan);
                extras.poll_all();
                // The new poller follows every folder outside the roots.
                self.follow(&mut polled, extras.polled().iter());
                // Events were lost: a walk of its own, and a rescan.
                let poller = self.poller(target, &plan, None);
                source.polling = Some(self.start_polling(poller, options.interval));
                self.active.store(true, Ordering::Relaxed);
                watched.clear();
                let rescan = target.rescan()?;
                notice(Notice::Changed(&rescan));
                save_at = Some(Instant::now() + options.save_after);
            }
            if !fresh.is_empty() {
                // Requests wait for this: what their outputs are made of, checked on the polled
                // roots, and what changed applied before they are answered.
                let outputs: Vec<String> = fresh.iter().flat_map(|(o, _)| o.clone()).collect();
                let stale = self.stale_inputs(target, &polled, &outputs);
                if !stale.is_empty() {
                    let report = self.apply(
                        target,
                        &mut source,
                        &mut watched,
                        &mut polled,
                        &mut extras,
                        &stale,
                        &forgotten,
                        notice,
                    );
                    let feedback = target.feedback(&report);
                    for root in feedback.missing_roots {
                        if missing.insert(root.clone()) {
                            notice(Notice::RootMissing(&root));
                        }
                    }
                    if unreadable.is_empty() {
                        retry_at = Instant::now() + DENIED_RETRY;
                    }
                    unreadable.extend(feedback.failed.into_iter().filter(|p| denied(p)));
                    if feedback.eventful {
                        notice(Notice::Changed(&report));
                        save_at = Some(Instant::now() + options.save_after);
                    }
                }
                for (_, done) in fresh {
                    let _ = done.send(());
                }
            }

            let mut changed = coalescer.take_due(Instant::now());
            // Roots that went away and came back.
            let back: Vec<PathBuf> = missing.iter().filter(|r| r.is_dir()).cloned().collect();
            for root in back {
                missing.remove(&root);
                notice(Notice::RootBack(&root));
                changed.push(root);
            }
            if !unreadable.is_empty() && retry_at <= Instant::now() {
                let readable: Vec<PathBuf> =
                    unreadable.iter().filter(|p| !denied(p)).cloned().collect();
                for path in readable {
                    unreadable.remove(&path);
                    changed.push(path);
                }
                retry_at = Instant::now() + DENIED_RETRY;
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
                &mut polled,
                &mut extras,
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
            if unreadable.is_empty() {
                retry_at = Instant::now() + DENIED_RETRY;
            }
            unreadable.extend(feedback.failed.into_iter().filter(|p| denied(p)));
            if feedback.eventful {
                notice(Notice::Changed(&report));
                save_at = Some(Instant::now() + options.save_after);
            }
        }
        source.stop_polling();
        self.active.store(false, Ordering::Relaxed);
        target.save()
    }

    /// A poller over the polled roots of `plan`: from the full pass's walk (`seed`), else
    /// from a walk of its own.
    fn poller<T: Target>(&self, target: &T, plan: &[RootWatch], seed: Option<&Seed>) -> Poller {
        let (roots, remote): (Vec<SourceRoot>, Vec<bool>) = target
            .roots()
            .iter()
            .zip(plan)
            .filter(|(_, p)| p.polled)
            .map(|(r, p)| (r.clone(), p.remote))
            .unzip();
        match seed {
            Some(seed) => Poller::seeded(&roots, target.ignore(), &remote, seed),
            None => Poller::new(&roots, target.ignore(), &remote),
        }
    }

    /// Decides how the new folders outside the roots a change set reported are watched (a
    /// template folder made, a package's folder a compile read for the first time) and has
    /// the poller follow the polled ones; the others are watched natively, as new folders of
    /// native roots are (polled when there are no kernel events at all: `native`).
    fn follow_new<T: Target>(
        &self,
        target: &T,
        native: bool,
        polled: &mut Polled,
        extras: &mut ExtraFolders,
        report: &T::Report,
    ) {
        let new = extras.decide_new(&target.feedback(report).new_dirs);
        self.follow(polled, new.iter().filter(|w| w.polled || !native));
    }

    /// Has the poller follow `folders` (outside the roots), from its next slice on.
    fn follow<'a>(&self, polled: &mut Polled, folders: impl Iterator<Item = &'a RootWatch>) {
        let mut adopt = self.adopt.lock().unwrap_or_else(|e| e.into_inner());
        for watch in folders {
            polled.folders.insert(watch.path.clone(), watch.remote);
            adopt.push((watch.path.clone(), watch.remote));
        }
    }

    /// The inputs of `outputs` on polled roots whose fingerprint is not what the target
    /// knows (stat'ed in parallel); all of them become hot.
    fn stale_inputs<T: Target>(
        &self,
        target: &T,
        polled: &Polled,
        outputs: &[String],
    ) -> Vec<PathBuf> {
        let mut inputs: Vec<(PathBuf, Option<FileMeta>, bool)> = outputs
            .iter()
            .flat_map(|o| target.inputs(o))
            .filter_map(|(path, known)| polled.get(&path).map(|remote| (path, known, remote)))
            .collect();
        inputs.sort_by(|a, b| a.0.cmp(&b.0));
        inputs.dedup_by(|a, b| a.0 == b.0);
        let now: Vec<Option<FileMeta>> = inputs
            .par_iter()
            .map(|(path, _, remote)| {
                poll::stat(None, path.as_os_str(), *remote)
                    .filter(|(_, kind)| *kind == Kind::File)
                    .map(|(meta, _)| meta)
            })
            .collect();
        let mut stale = Vec::new();
        for ((path, known, remote), now) in inputs.into_iter().zip(now) {
            if now != known {
                stale.push(path.clone());
            }
            self.hot.add(path, now, remote);
        }
        stale
    }

    /// Applies one change set; with native events, first watches folders that appeared, and
    /// re-scans the folders found meanwhile until every new folder is watched.
    #[allow(clippy::too_many_arguments)] // the watch loop's state, borrowed apart
    fn apply<T: Target>(
        &self,
        target: &mut T,
        source: &mut Source,
        watched: &mut HashMap<PathBuf, u64>,
        polled: &mut Polled,
        extras: &mut ExtraFolders,
        changed: &[PathBuf],
        forgotten: &HashSet<PathBuf>,
        notice: &mut dyn FnMut(Notice<T::Report>),
    ) -> T::Report {
        // Folders of polled roots are the poller's, never watched natively.
        let native = |polled: &Polled, path: &PathBuf| polled.get(path).is_none();
        if let Some(watcher) = &mut source.native {
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
            for path in changed.iter().filter(|p| native(polled, p)) {
                self.ensure_watched(watcher, watched, path, notice);
            }
        }
        let mut report = target.apply(changed);
        self.follow_new(target, source.native.is_some(), polled, extras, &report);
        // The engine looked at the polled paths later than the poller listed them, so it may
        // have seen other folders than the poller did: the poller meets what it saw, else what
        // happens in those folders later would go unseen. (The folders outside the roots are
        // followed by name, [`Poller::adopt`].)
        let on_polled = |p: &&PathBuf| polled.in_root(p).is_some();
        let seen = poll::Seen {
            looked: changed.iter().filter(on_polled).cloned().collect(),
            wrote: target.feedback(&report).wrote,
            found: target
                .feedback(&report)
                .new_dirs
                .iter()
                .filter(on_polled)
                .cloned()
                .collect(),
        };
        if !seen.looked.is_empty() || !seen.found.is_empty() {
            self.seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(seen);
        }
        if let Some(watcher) = &mut source.native {
            let mut fresh: Vec<PathBuf> = target
                .feedback(&report)
                .new_dirs
                .iter()
                .filter(|p| native(polled, p))
                .filter(|dir| self.ensure_watched(watcher, watched, dir, notice))
                .cloned()
                .collect();
            while !fresh.is_empty() {
                // Files created (or changed) in those folders before their watch existed.
                let again = target.apply(&fresh);
                self.follow_new(target, true, polled, extras, &again);
                fresh = target
                    .feedback(&again)
                    .new_dirs
                    .iter()
                    .filter(|p| native(polled, p))
                    .filter(|dir| self.ensure_watched(watcher, watched, dir, notice))
                    .cloned()
                    .collect();
                target.merge(&mut report, again);
            }
        }
        if !polled.folders.is_empty() && source.polling.is_none() {
            // The first polled folder while every root is watched natively.
            self.active.store(true, Ordering::Relaxed);
            let poller = Poller::new(&[], target.ignore(), &[]);
            source.polling = Some(self.start_polling(poller, self.interval));
        }
        report
    }
}

/// Where a watch starts from: how each root is watched and what the full pass saw.
pub struct Start {
    pub plan: Vec<RootWatch>,
    /// Every folder of the full pass (those of native roots are watched).
    pub dirs: Vec<PathBuf>,
    /// What the pollers start from (empty when no root is polled).
    pub seed: Seed,
}

impl Start {
    /// After a full pass: its walk's findings (`found`) and the index it left.
    pub fn new(
        plan: Vec<RootWatch>,
        found: &crate::sources::SourceIndex,
        index: &crate::sources::Index,
    ) -> Start {
        // Seeded for every root: a native root may fall back to polling.
        let seed = Seed::new(found, index);
        Start {
            plan,
            dirs: found.dirs.clone(),
            seed,
        }
    }
}

/// The backend a plan amounts to.
fn kind(plan: &[RootWatch], interval: Duration) -> BackendKind {
    if plan.iter().all(|r| r.polled) {
        BackendKind::Poll(interval)
    } else if plan.iter().any(|r| r.polled) {
        BackendKind::Mixed(interval)
    } else {
        BackendKind::Native
    }
}

#[cfg(test)]
mod tests;
