//! Running `sluice dev` in tests: start it with `--format json`, wait for its events, talk
//! HTTP and server-sent events to it, and list every process it (or its backend) left behind.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any awaited thing may take (a cold Django start on a loaded 2-core machine).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A `sluice dev --format json --port 0` run. Every process it starts inherits
/// `SLUICE_TEST_MARKER=<marker>`, which is how [`leftovers`] finds them.
pub struct DevRun {
    child: Child,
    events: Receiver<Value>,
    /// Every event so far.
    pub seen: Vec<Value>,
    /// Events not yet taken by a wait (they may arrive in any order across threads).
    pending: Vec<Value>,
    pub marker: String,
    pub port: u16,
    pub stdin: Option<ChildStdin>,
}

fn unique_marker() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl DevRun {
    /// Starts `sluice dev --format json --port 0 <args>` in `dir` with `env` added, and waits
    /// until it listens.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, OsString)]) -> DevRun {
        DevRun::start_on(0, dir, args, env)
    }

    /// [`DevRun::start`] on a given public port.
    pub fn start_on(port: u16, dir: &Path, args: &[&str], env: &[(&str, OsString)]) -> DevRun {
        let marker = unique_marker();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.args(["dev", "--format", "json", "--port", &port.to_string()])
            .args(args)
            .current_dir(dir)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("SLUICE_POLL")
            .env_remove("PORT")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("SLUICE_TEST_MARKER", &marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("sluice starts");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let events = super::json_lines(stdout);
        let mut run = DevRun {
            child,
            events,
            seen: Vec::new(),
            pending: Vec::new(),
            marker,
            port: 0,
            stdin,
        };
        let listening = run.wait_event("listening");
        run.port = listening["port"].as_u64().unwrap() as u16;
        run
    }

    /// The first event named `name` not taken yet.
    pub fn wait_event(&mut self, name: &str) -> Value {
        self.wait_for(&format!("a `{name}` event"), |e| e["event"] == name)
    }

    /// The first event not taken yet that `test` accepts (waiting for it if need be).
    pub fn wait_for(&mut self, what: &str, test: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&test) {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if test(&event) {
                        return event;
                    }
                    self.pending.push(event);
                }
                Err(_) => panic!("no {what} within {PATIENCE:?}; saw {:#?}", self.seen),
            }
        }
    }

    /// sluice's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`-INT`, `-TERM`, …) to sluice.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for sluice to exit (at most [`PATIENCE`]) and collects its last events.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "sluice did not exit within {PATIENCE:?}; saw {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(event) = self.events.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(event);
        }
        status
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        http(self.port, "GET", path, &[])
    }
}

impl Drop for DevRun {
    /// A failed test must not leave sluice or its backend running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every live process whose environment holds `SLUICE_TEST_MARKER=<marker>`: pid and command
/// line.
pub fn leftovers(marker: &str) -> Vec<(u32, String)> {
    let needle = format!("SLUICE_TEST_MARKER={marker}");
    let mut found = Vec::new();
    for pid in super::pids() {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue; // gone meanwhile, or a zombie (whose environment is empty anyway)
        };
        if environ
            .split(|&b| b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            if !zombie {
                found.push((pid, cmdline));
            }
        }
    }
    found
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (`Connection: close`), read to the end.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // Read to the end, or to Content-Length when the server keeps the connection open anyway
    // (DevTools does).
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| raw.len() >= end + 4 + len) || method == "HEAD" {
                break;
            }
        }
    }
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head: bool) -> HttpResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head_text = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked && !head {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// A live `/__sluice/events` stream: (event name, data) pairs as they arrive.
pub struct EventStream {
    rx: Receiver<(String, String)>,
    _stream: TcpStream,
}

impl EventStream {
    /// Connects (HTTP/1.0, so the stream is not chunked) and waits for the `hello` event.
    pub fn open(port: u16) -> EventStream {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"GET /__sluice/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut name = String::from("message");
            let mut in_body = false;
            for line in reader.lines().map_while(Result::ok) {
                if !in_body {
                    in_body = line.is_empty();
                    continue;
                }
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    if tx.send((name.clone(), d.to_owned())).is_err() {
                        return;
                    }
                } else if line.is_empty() {
                    name = "message".into();
                }
            }
        });
        let events = EventStream {
            rx,
            _stream: stream,
        };
        let (name, _) = events.next();
        assert_eq!(name, "hello");
        events
    }

    /// The next event, or a panic after [`PATIENCE`].
    pub fn next(&self) -> (String, String) {
        self.rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no server-sent event within {PATIENCE:?}"))
    }
}
