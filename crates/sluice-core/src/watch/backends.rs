//! The watch's event sources: kernel watches for native roots (added folder by folder, with
//! the fall-back to polling when the kernel's limit is reached) and the poller's threads for
//! the polled ones (the background sweep within its budget, and the hot set).

use super::*;

impl Watch {
    /// Watches the folder `path` unless it is watched already (the same folder: a folder
    /// deleted or renamed away and recreated under the same name is a new one). Returns whether
    /// a watch was added.
    pub(super) fn ensure_watched<R>(
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

    pub(super) fn start_native(
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

    /// Starts the poller's threads: the sweep (slices within [`SWEEP_BUDGET`], a round at
    /// most every `interval`) and the hot set's (within [`HOT_BUDGET`], at most every
    /// [`HOT_INTERVAL`]). The returned flag stops both.
    pub(super) fn start_polling(&self, mut poller: Poller, interval: Duration) -> Arc<AtomicBool> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, flag, hot) = (self.tx.clone(), stop.clone(), self.hot.clone());
        let (seen, adopt) = (self.seen.clone(), self.adopt.clone());
        std::thread::spawn(move || {
            let (mut skip, mut generation) = (poll::Skip::new(), u64::MAX);
            let mut round = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                if hot.generation() != generation {
                    generation = hot.generation();
                    skip = hot.skip();
                }
                let meter = Meter::start();
                let seen: Vec<poll::Seen> =
                    std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
                let adopted: Vec<(PathBuf, bool)> = {
                    let mut queue = adopt.lock().unwrap_or_else(|e| e.into_inner());
                    if flag.load(Ordering::Relaxed) {
                        break; // a poller that replaces this one follows them
                    }
                    std::mem::take(&mut *queue)
                };
                let mut followed = Vec::new();
                for (folder, remote) in adopted {
                    poller.adopt(&folder, remote, &mut followed);
                }
                let mut slice = poller.sweep(SLICE, &skip);
                for seen in &seen {
                    poller.reconcile(seen, &mut slice.changed);
                }
                slice.changed.extend(followed);
                let cost = meter.cost();
                if !slice.changed.is_empty() && tx.send(Msg::Polled(slice.changed)).is_err() {
                    break;
                }
                let mut rest = SWEEP_BUDGET.rest(&cost);
                if slice.round_done {
                    rest = rest.max(interval.saturating_sub(round.elapsed()));
                }
                rest_unless_stopped(&flag, rest);
                if slice.round_done {
                    round = Instant::now();
                }
            }
        });
        let (tx, flag, hot) = (self.tx.clone(), stop.clone(), self.hot.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if hot.is_empty() {
                    rest_unless_stopped(&flag, HOT_INTERVAL);
                    continue;
                }
                let meter = Meter::start();
                let changed = hot.poll();
                let cost = meter.cost();
                if !changed.is_empty() && tx.send(Msg::Polled(changed)).is_err() {
                    break;
                }
                let rest = HOT_BUDGET
                    .rest(&cost)
                    .max(HOT_INTERVAL.saturating_sub(cost.wall));
                rest_unless_stopped(&flag, rest);
            }
        });
        stop
    }
}

/// Sleeps `rest`, waking early when `flag` is set.
pub(super) fn rest_unless_stopped(flag: &AtomicBool, rest: Duration) {
    let until = Instant::now() + rest;
    while !flag.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// A folder's inode, or `None` when `path` is not a folder (any more).
pub(super) fn folder_id(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_dir())?;
    Some(crate::sources::FileMeta::of(&meta).ino)
}

pub(super) fn watch_limit_reason() -> String {
    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|s| format!(" ({})", s.trim()))
        .unwrap_or_default();
    format!(
        "the kernel's limit on watched folders{limit} is reached (raise fs.inotify.max_user_watches to get native events back)"
    )
}
