//! The backend supervisor: runs the backend in its own process group, turns its output into
//! whole lines, restarts it with backoff when it exits, and stops the whole group (SIGINT,
//! then SIGTERM, then SIGKILL) so nothing is left behind.
//!
//! A process group of its own means the terminal's Ctrl-C reaches sluice only; sluice then
//! decides how the backend stops. The backend's stdin is a pipe fed from sluice's stdin, so a
//! `breakpoint()` in a view reads the lines typed into sluice's terminal (it cannot read the
//! terminal itself: it is not in the foreground group).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, watch};

use crate::error::{Error, Result};
use crate::{Event, Reporter, Stream};

/// How the backend is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendCommand {
    /// Program and arguments, run directly (no shell).
    Argv(Vec<String>),
    /// A command line for `/bin/sh -c`, only when configured with `shell = true`.
    Shell(String),
}

impl BackendCommand {
    /// The argv to execute, with `{port}` replaced by the backend's port.
    pub fn argv(&self, port: u16) -> Vec<String> {
        let fill = |s: &str| s.replace("{port}", &port.to_string());
        match self {
            BackendCommand::Argv(args) => args.iter().map(|a| fill(a)).collect(),
            BackendCommand::Shell(line) => vec!["/bin/sh".into(), "-c".into(), fill(line)],
        }
    }
}

/// Everything the supervisor needs to run the backend.
#[derive(Debug, Clone)]
pub struct BackendSpec {
    pub command: BackendCommand,
    pub cwd: PathBuf,
    /// Extra environment (on top of sluice's own, `PORT` and `PYTHONUNBUFFERED=1`).
    pub env: Vec<(String, String)>,
    /// Where the backend listens (see [`crate::address`]); the proxy forwards there. The port
    /// is also given to the backend as `$PORT` and `{port}`.
    pub host: std::net::IpAddr,
    pub port: u16,
    /// Restart the backend when it exits (else sluice stops with its exit code).
    pub restart: bool,
    /// Ask tools to colour their output although it goes to a pipe.
    pub color: bool,
}

/// How long each stop signal is given before the next, harder one.
const GRACE_INT: Duration = Duration::from_secs(5);
const GRACE_TERM: Duration = Duration::from_secs(3);
const GRACE_KILL: Duration = Duration::from_secs(2);
/// A partial line (a prompt such as `(Pdb) `) is shown after this much silence.
const PARTIAL_LINE_WAIT: Duration = Duration::from_millis(50);
/// Restart delays double from the first to the last; a backend that ran this long starts over.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// The next restart delay after a run of `ran`, given the previous delay.
pub fn next_backoff(previous: Option<Duration>, ran: Duration) -> Duration {
    match previous {
        _ if ran >= BACKOFF_RESET_AFTER => BACKOFF_FIRST,
        None => BACKOFF_FIRST,
        Some(d) => (d * 2).min(BACKOFF_MAX),
    }
}

/// The exit code a shell would report: the code, or 128 + the signal.
pub fn exit_code(status: &ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Why the supervisor returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Stopped on request (a signal to sluice); the backend is down.
    Stopped,
    /// The backend exited and restarting is off; its exit code.
    Exited(i32),
}

/// A free loopback port for the backend (the OS picks; released right away for the backend).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::io("cannot find a free port for the backend", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("cannot find a free port for the backend", e))
}

fn spawn(spec: &BackendSpec, stdin: bool) -> Result<(Child, Vec<String>)> {
    let argv = spec.command.argv(spec.port);
    let shown = argv.join(" ");
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Spawn {
            command: shown,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the command is empty"),
        });
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&spec.cwd)
        .env("PORT", spec.port.to_string())
        .env("PYTHONUNBUFFERED", "1")
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if spec.color {
        cmd.env("FORCE_COLOR", "1").env("CLICOLOR_FORCE", "1");
    }
    let child = cmd.spawn().map_err(|source| Error::Spawn {
        command: shown,
        source,
    })?;
    Ok((child, argv))
}

/// Sends `bytes` as whole lines (without their `\n`/`\r\n`); a partial line is sent after
/// [`PARTIAL_LINE_WAIT`] of silence, or when it grows past 64 KiB.
async fn pump(mut reader: impl AsyncRead + Unpin, stream: Stream, report: Reporter) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let emit = |line: &[u8]| {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        report(Event::Line {
            stream,
            text: line.to_vec(),
        });
    };
    loop {
        let read = if buf.is_empty() {
            reader.read(&mut chunk).await
        } else {
            match tokio::time::timeout(PARTIAL_LINE_WAIT, reader.read(&mut chunk)).await {
                Ok(read) => read,
                Err(_) => {
                    emit(&buf);
                    buf.clear();
                    continue;
                }
            }
        };
        let n = match read {
            Ok(0) | Err(_) => {
                if !buf.is_empty() {
                    emit(&buf);
                }
                return;
            }
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
            emit(&buf[start..start + i + 1]);
            start += i + 1;
        }
        buf.drain(..start);
        if buf.len() > 64 * 1024 {
            emit(&buf);
            buf.clear();
        }
    }
}

/// Whether a process of group `pgid` is still alive (zombies don't count: they are dead and
/// only wait for their parent to reap them).
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No /proc: ask the kernel (zombies count here, hence /proc first).
        let Some(pid) = rustix::process::Pid::from_raw(pgid) else {
            return false;
        };
        return rustix::process::test_kill_process_group(pid).is_ok();
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            return true;
        }
    }
    false
}

fn signal_group(pgid: i32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Stops the group led by `child`: SIGINT, SIGTERM, SIGKILL, each after the previous one's
/// grace period (or at once when `hurry` says another stop request came). Returns the leader's
/// exit status when it was seen.
async fn stop_group(
    child: &mut Child,
    pgid: i32,
    start_with_int: bool,
    hurry: &mut watch::Receiver<u32>,
    report: &Reporter,
) -> Option<ExitStatus> {
    use rustix::process::Signal;
    let mut status = None;
    let steps = [
        (Signal::INT, "SIGINT", GRACE_INT),
        (Signal::TERM, "SIGTERM", GRACE_TERM),
        (Signal::KILL, "SIGKILL", GRACE_KILL),
    ];
    let first = if start_with_int { 0 } else { 1 };
    for (i, (signal, name, grace)) in steps.into_iter().enumerate().skip(first) {
        let leader_gone = status.is_some() || matches!(child.try_wait(), Ok(Some(_)));
        if leader_gone && !group_alive(pgid) {
            break;
        }
        if i > 0 {
            report(Event::Escalated { signal: name });
        }
        signal_group(pgid, signal);
        let deadline = Instant::now() + grace;
        let requests = *hurry.borrow();
        loop {
            if status.is_none()
                && let Ok(Some(s)) = child.try_wait()
            {
                status = Some(s);
            }
            if status.is_some() && !group_alive(pgid) {
                return status;
            }
            if Instant::now() >= deadline || *hurry.borrow() > requests {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if status.is_none() {
        status = child.wait().await.ok();
    }
    status
}

/// Lets the output readers pass on what is left in the pipes. A process that left the group
/// (`setsid`) may still hold them open: it gets a second, then its output is not followed.
async fn drain(pumps: Vec<tokio::task::JoinHandle<()>>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    for mut pump in pumps {
        if tokio::time::timeout_at(deadline, &mut pump).await.is_err() {
            pump.abort();
        }
    }
}

/// A backend line that names the backend's own address (runserver's `Starting development
/// server at http://127.0.0.1:40565/`), pointed at sluice's: each loopback URL with the
/// backend's port becomes `http://{public}`, and a note says where the backend itself listens.
/// `None` for every other line. Whoever opens the backend's own address gets no live reload.
pub fn point_at_proxy(line: &[u8], backend_port: u16, public: &str) -> Option<Vec<u8>> {
    const HOSTS: [&str; 5] = ["127.0.0.1", "localhost", "0.0.0.0", "[::1]", "[::]"];
    let port = backend_port.to_string();
    // The length of a `http://HOST:PORT` at the start of `rest`, PORT being the backend's.
    let url_len = |rest: &[u8]| {
        let after = rest.strip_prefix(b"http://")?;
        HOSTS.iter().find_map(|host| {
            let tail = after
                .strip_prefix(host.as_bytes())?
                .strip_prefix(b":")?
                .strip_prefix(port.as_bytes())?;
            (!tail.first().is_some_and(u8::is_ascii_digit)).then(|| rest.len() - tail.len())
        })
    };
    let mut out = Vec::with_capacity(line.len() + 64);
    let mut found = false;
    let mut i = 0;
    while i < line.len() {
        match url_len(&line[i..]) {
            Some(n) => {
                out.extend_from_slice(b"http://");
                out.extend_from_slice(public.as_bytes());
                i += n;
                found = true;
            }
            None => {
                out.push(line[i]);
                i += 1;
            }
        }
    }
    found.then(|| {
        out.extend_from_slice(
            format!(" (sluice's address; the backend itself listens on port {port})").as_bytes(),
        );
        out
    })
}

/// The reporter the output readers use: lines naming the backend's address point at sluice's
/// ([`point_at_proxy`]), and the time of the last line is kept for [`wait_until_up`].
fn line_reporter(
    report: Reporter,
    backend_port: u16,
    public: SocketAddr,
    last_line: Arc<Mutex<Instant>>,
) -> Reporter {
    let public = public.to_string();
    Arc::new(move |event| {
        *last_line.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        match event {
            Event::Line { stream, text } => {
                let text = point_at_proxy(&text, backend_port, &public).unwrap_or(text);
                report(Event::Line { stream, text })
            }
            other => report(other),
        }
    })
}

/// How long the backend's output must have been quiet before "backend up" is reported (so
/// sluice's line with the address to open comes after runserver's banner), and the longest
/// wait for that.
const QUIET_BEFORE_UP: Duration = Duration::from_millis(150);
const QUIET_WAIT_MAX: Duration = Duration::from_secs(1);

/// Waits until the backend accepts connections on its port and its output is quiet, then
/// reports it up (with the address to open).
async fn wait_until_up(
    addr: SocketAddr,
    public: SocketAddr,
    started: Instant,
    last_line: Arc<Mutex<Instant>>,
    report: Reporter,
) {
    let port = addr.port();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answered = Instant::now();
    loop {
        let quiet = last_line
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed();
        if quiet >= QUIET_BEFORE_UP || answered.elapsed() >= QUIET_WAIT_MAX {
            break;
        }
        tokio::time::sleep(QUIET_BEFORE_UP - quiet).await;
    }
    report(Event::BackendUp {
        port,
        public,
        after: started.elapsed(),
    });
}

/// Runs the backend until a stop request (the value of `stop` goes up) or, without restart,
/// until it exits. `input` carries sluice's stdin to the backend.
pub(crate) async fn supervise(
    spec: BackendSpec,
    public: SocketAddr,
    report: Reporter,
    mut stop: watch::Receiver<u32>,
    mut input: Option<mpsc::Receiver<Vec<u8>>>,
) -> Result<Ending> {
    let mut backoff: Option<Duration> = None;
    let mut first = true;
    loop {
        if *stop.borrow() > 0 {
            return Ok(Ending::Stopped);
        }
        let (mut child, argv) = match spawn(&spec, input.is_some()) {
            Ok(spawned) => spawned,
            Err(error) if first => return Err(error),
            Err(error) => {
                report(Event::SpawnFailed {
                    message: error.to_string(),
                });
                let delay = next_backoff(backoff, Duration::ZERO);
                backoff = Some(delay);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = stop.changed() => return Ok(Ending::Stopped),
                }
            }
        };
        first = false;
        let started = Instant::now();
        let pid = child.id().unwrap_or(0);
        let pgid = pid as i32;
        report(Event::BackendStarted {
            pid,
            port: spec.port,
            argv,
        });
        let last_line = Arc::new(Mutex::new(started));
        let lines = line_reporter(report.clone(), spec.port, public, last_line.clone());
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(out, Stream::Stdout, lines.clone())));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(err, Stream::Stderr, lines)));
        }
        let mut stdin: Option<ChildStdin> = child.stdin.take();
        let up = tokio::spawn(wait_until_up(
            SocketAddr::new(spec.host, spec.port),
            public,
            started,
            last_line,
            report.clone(),
        ));

        let outcome = loop {
            tokio::select! {
                status = child.wait() => break Ok(status),
                _ = stop.changed() => break Err(()),
                bytes = async {
                    match input.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => match bytes {
                    Some(bytes) => {
                        if let Some(pipe) = stdin.as_mut()
                            && pipe.write_all(&bytes).await.is_err()
                        {
                            stdin = None;
                        }
                    }
                    None => {
                        // sluice's stdin is closed: so is the backend's, from now on.
                        input = None;
                        stdin = None;
                    }
                },
            }
        };
        drop(stdin);
        up.abort();
        match outcome {
            Err(()) => {
                let status = stop_group(&mut child, pgid, true, &mut stop, &report).await;
                drain(pumps).await;
                report(Event::BackendStopped {
                    code: status.as_ref().map(exit_code),
                });
                return Ok(Ending::Stopped);
            }
            Ok(status) => {
                // The leader is gone; whatever it started in its group goes too.
                let _ = stop_group(&mut child, pgid, false, &mut stop, &report).await;
                drain(pumps).await;
                let code = status.as_ref().map_or(1, exit_code);
                if !spec.restart || *stop.borrow() > 0 {
                    report(Event::BackendExited {
                        code,
                        restart_in: None,
                    });
                    return Ok(if *stop.borrow() > 0 {
                        Ending::Stopped
                    } else {
                        Ending::Exited(code)
                    });
                }
                let delay = next_backoff(backoff, started.elapsed());
                backoff = Some(delay);
                report(Event::BackendExited {
                    code,
                    restart_in: Some(delay),
                });
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return Ok(Ending::Stopped),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_substituted_and_strings_go_through_sh() {
        let argv = BackendCommand::Argv(vec![
            "python".into(),
            "manage.py".into(),
            "runserver".into(),
            "127.0.0.1:{port}".into(),
        ]);
        assert_eq!(argv.argv(8123)[3], "127.0.0.1:8123");
        let shell = BackendCommand::Shell("gunicorn -b :{port} app".into());
        assert_eq!(shell.argv(9000), ["/bin/sh", "-c", "gunicorn -b :9000 app"]);
    }

    #[test]
    fn the_backends_own_address_points_at_sluice() {
        let shown = |line: &str| {
            point_at_proxy(line.as_bytes(), 40565, "127.0.0.1:8000")
                .map(|l| String::from_utf8(l).unwrap())
        };
        assert_eq!(
            shown("Starting development server at http://127.0.0.1:40565/").as_deref(),
            Some(
                "Starting development server at http://127.0.0.1:8000/ \
                 (sluice's address; the backend itself listens on port 40565)"
            )
        );
        // gunicorn's, and colours around the URL.
        assert_eq!(
            shown("[INFO] Listening at: \x1b[1mhttp://0.0.0.0:40565\x1b[0m (12)").as_deref(),
            Some(
                "[INFO] Listening at: \x1b[1mhttp://127.0.0.1:8000\x1b[0m (12) \
                 (sluice's address; the backend itself listens on port 40565)"
            )
        );
        // Another port, another host, or no URL: the line stays as it is.
        assert_eq!(shown("at http://127.0.0.1:405650/"), None);
        assert_eq!(shown("at http://127.0.0.1:4056/"), None);
        assert_eq!(shown("at http://example.com:40565/"), None);
        assert_eq!(shown("Quit the server with CONTROL-C."), None);
    }

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets_after_a_long_run() {
        let short = Duration::from_millis(100);
        let mut d = next_backoff(None, short);
        assert_eq!(d, BACKOFF_FIRST);
        for _ in 0..10 {
            d = next_backoff(Some(d), short);
        }
        assert_eq!(d, BACKOFF_MAX);
        assert_eq!(next_backoff(Some(d), BACKOFF_RESET_AFTER), BACKOFF_FIRST);
    }

    #[test]
    fn lines_partial_lines_and_invalid_utf8() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let report: Reporter = std::sync::Arc::new(move |e| {
            if let Event::Line { text, .. } = e {
                let _ = tx.send(text);
            }
        });
        rt.block_on(async {
            let (mut w, r) = tokio::io::duplex(64);
            let task = tokio::spawn(pump(r, Stream::Stdout, report));
            w.write_all(b"one\r\ntw").await.unwrap();
            w.write_all(b"o\n\xff\xfe bad\n(Pdb) ").await.unwrap();
            // The prompt has no newline: it comes out after the partial-line wait.
            tokio::time::sleep(PARTIAL_LINE_WAIT * 4).await;
            w.write_all(b"tail").await.unwrap();
            drop(w);
            task.await.unwrap();
        });
        let lines: Vec<Vec<u8>> = rx.try_iter().collect();
        assert_eq!(
            lines,
            vec![
                b"one".to_vec(),
                b"two".to_vec(),
                b"\xff\xfe bad".to_vec(),
                b"(Pdb) ".to_vec(),
                b"tail".to_vec()
            ]
        );
    }
}
