//! `sluice dev`: the backend process, its output, and the browser, next to the watcher.
//!
//! Teams used to glue a file watcher, Django's `runserver` and browser-sync together; this
//! crate is the part of that glue that is not about files:
//!
//! - [`supervisor`]: the backend in its own process group, its output as whole lines, restarts
//!   with backoff, and a stop that leaves no process behind;
//! - [`proxy`]: the public server in front of the backend, serving the output under
//!   `STATIC_URL` itself ([`statics`]: streamed, `Range`, no symlink out of the output) and
//!   injecting the live-reload client into HTML as it streams ([`inject`]), for requests whose
//!   `Host` is loopback or allowed ([`hosts`]: no DNS rebinding);
//! - [`reload`]: the [`reload::Hub`] that turns change sets into server-sent events.
//!
//! It prints nothing: everything worth showing is an [`Event`] given to the caller's
//! [`Reporter`]. It knows nothing of files either: the caller feeds the hub.

pub mod address;
pub mod error;
pub mod hosts;
pub mod inject;
pub mod proxy;
pub mod reload;
pub mod statics;
pub mod supervisor;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub use error::{Error, Result};
pub use reload::{BuildError, Hub, ReloadEvent, SourceLine};
pub use supervisor::{BackendCommand, BackendSpec, Ending};

/// Which output stream of the backend a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What the dev server tells its caller.
#[derive(Debug, Clone)]
pub enum Event {
    /// The public server is listening.
    Listening { addr: SocketAddr },
    /// It listens on more than loopback: other machines can reach it (those whose `Host` is
    /// allowed are answered).
    Exposed { addr: SocketAddr },
    BackendStarted {
        pid: u32,
        port: u16,
        argv: Vec<String>,
    },
    /// The backend accepts connections (and its start-up banner is over): the site can be
    /// opened at `public`.
    BackendUp {
        port: u16,
        public: SocketAddr,
        after: Duration,
    },
    /// One line of the backend's output, without its line end; any bytes.
    Line { stream: Stream, text: Vec<u8> },
    /// The backend exited on its own; restarted after `restart_in` when given.
    BackendExited {
        code: i32,
        restart_in: Option<Duration>,
    },
    /// A restart could not even start the program.
    SpawnFailed { message: String },
    /// sluice got a signal and is stopping the backend.
    Stopping { signal: &'static str },
    /// The backend did not stop in time: a harder signal went to its group.
    Escalated { signal: &'static str },
    /// The backend was stopped on request.
    BackendStopped { code: Option<i32> },
}

/// Receives [`Event`]s, from any thread.
pub type Reporter = Arc<dyn Fn(Event) + Send + Sync>;

/// Called (on a blocking thread) with the logical path of a static file before it is served:
/// returns once the file is up to date with its inputs (the caller knows what they are).
pub type Freshen = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct DevOptions {
    /// `None`: no backend (the proxy serves static files and the events only).
    pub backend: Option<BackendSpec>,
    pub host: String,
    pub port: u16,
    pub static_url: String,
    pub output: PathBuf,
    /// Folders the output's own symlinks lead into (the source roots with `--link`): such a
    /// link is served; any other symlink leading out of `output` is not.
    pub link_roots: Vec<PathBuf>,
    /// Hosts answered besides loopback ones (Django `ALLOWED_HOSTS` patterns).
    pub allowed_hosts: Vec<String>,
    /// Pass sluice's stdin to the backend (for `breakpoint()`/pdb).
    pub stdin: bool,
    /// Brings a static file up to date before it is served (`None`: served as it is).
    pub fresh: Option<Freshen>,
}

/// A running dev server: the proxy and the supervised backend, on their own threads.
pub struct DevServer {
    runtime: tokio::runtime::Runtime,
    hub: Hub,
    stop: watch::Sender<u32>,
    ending: Option<tokio::task::JoinHandle<Result<Ending>>>,
    pub addr: SocketAddr,
}

impl DevServer {
    /// Binds the public address, starts the backend and handles SIGINT/SIGTERM/SIGHUP.
    /// `on_stop` runs (on another thread) once sluice should wind down: after a signal, or when
    /// the backend exited and restarting is off.
    pub fn start(
        options: DevOptions,
        report: Reporter,
        on_stop: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<DevServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-dev")
            // Static files are read on the blocking pool, a thread per file in flight: a page
            // load is a burst of them, and the threads it left idle go 2 s after (not 10).
            .thread_keep_alive(std::time::Duration::from_secs(2))
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the dev server's threads", e))?;
        let hub = Hub::new(&options.static_url);
        let shown = format!("{}:{}", options.host, options.port);
        let listener = std::net::TcpListener::bind((options.host.as_str(), options.port)).map_err(
            |source| Error::Listen {
                addr: shown.clone(),
                source,
            },
        )?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: shown.clone(),
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| Error::Listen {
                addr: shown,
                source,
            })?;
        let (stop, stop_rx) = watch::channel(0u32);

        let proxy = Arc::new(proxy::Proxy {
            hub: hub.clone(),
            static_prefix: options
                .static_url
                .starts_with('/')
                .then(|| format!("{}/", options.static_url.trim_end_matches('/'))),
            output: options.output.clone(),
            link_roots: options.link_roots.clone(),
            fresh: options.fresh.clone(),
            hosts: hosts::AllowedHosts::new(&options.allowed_hosts, &options.host),
            backend: options
                .backend
                .as_ref()
                .map(|b| SocketAddr::new(b.host, b.port)),
        });
        let _guard = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Error::io("cannot listen", e))?;
        runtime.spawn(proxy::serve(listener, proxy));
        report(Event::Listening { addr });
        if !addr.ip().is_loopback() {
            report(Event::Exposed { addr });
        }

        // Signals: the first asks for a graceful stop, a second one hurries it.
        {
            let (stop, report, on_stop) = (stop.clone(), report.clone(), on_stop.clone());
            runtime.spawn(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let kinds = [
                    (SignalKind::interrupt(), "SIGINT"),
                    (SignalKind::terminate(), "SIGTERM"),
                    (SignalKind::hangup(), "SIGHUP"),
                ];
                let (tx, mut rx) = mpsc::channel::<&'static str>(4);
                for (kind, name) in kinds {
                    let Ok(mut signals) = signal(kind) else {
                        continue;
                    };
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while signals.recv().await.is_some() {
                            if tx.send(name).await.is_err() {
                                return;
                            }
                        }
                    });
                }
                drop(tx);
                // One request can arrive twice at once (`timeout` signals its child and then
                // the child's whole group): a repeat within this window is the same request.
                const SAME_REQUEST: std::time::Duration = std::time::Duration::from_millis(300);
                let mut last: Option<tokio::time::Instant> = None;
                while let Some(name) = rx.recv().await {
                    let now = tokio::time::Instant::now();
                    if last.is_some_and(|t| now - t < SAME_REQUEST) {
                        continue;
                    }
                    last = Some(now);
                    report(Event::Stopping { signal: name });
                    stop.send_modify(|n| *n += 1);
                    on_stop();
                }
            });
        }

        let input = (options.stdin && stdin_is_ours()).then(stdin_forwarder);
        let ending = options.backend.map(|spec| {
            let (report, on_stop) = (report.clone(), on_stop.clone());
            runtime.spawn(async move {
                let ending = supervisor::supervise(spec, addr, report, stop_rx, input).await;
                // The backend is gone for good (stopped, or exited without restart).
                on_stop();
                ending
            })
        });
        drop(_guard);
        Ok(DevServer {
            runtime,
            hub,
            stop,
            ending,
            addr,
        })
    }

    /// The live-reload hub to feed change sets into.
    pub fn hub(&self) -> Hub {
        self.hub.clone()
    }

    /// Asks the backend to stop (as a signal to sluice would).
    pub fn stop(&self) {
        self.stop.send_modify(|n| *n += 1);
    }

    /// Stops the backend if it still runs, waits until its whole group is gone, and says why
    /// it ended.
    pub fn finish(mut self) -> Result<Ending> {
        // A stop already asked for (a signal) is not asked again: that would hurry it.
        self.stop.send_if_modified(|n| {
            let first = *n == 0;
            if first {
                *n = 1;
            }
            first
        });
        let ending = match self.ending.take() {
            Some(task) => match self.runtime.block_on(task) {
                Ok(ending) => ending,
                Err(e) => Err(Error::io(
                    "the backend supervisor failed",
                    std::io::Error::other(e.to_string()),
                )),
            },
            None => Ok(Ending::Stopped),
        };
        // Open event streams would keep the runtime busy: don't wait for them.
        self.runtime.shutdown_timeout(Duration::from_millis(100));
        ending
    }
}

/// Whether reading stdin is safe: not a terminal, or a terminal whose foreground is sluice
/// (reading it from the background, `sluice dev &`, would stop sluice with SIGTTIN).
fn stdin_is_ours() -> bool {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return true;
    }
    rustix::termios::tcgetpgrp(&stdin).is_ok_and(|pgrp| pgrp == rustix::process::getpgrp())
}

/// sluice's stdin, chunk by chunk, on a channel (a plain thread: a blocking read must not hold
/// up the runtime's shutdown).
fn stdin_forwarder() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}
