//! An S3 server for the publish tests: `moto_server` (PyPI `moto[server]`, pinned) in a
//! cached venv, on a free loopback port, one per test binary, checking SigV4 signatures
//! against an IAM user the harness makes first (`INITIAL_NO_AUTH_ACTION_COUNT`: the first
//! requests — making that user — go unchecked, every later one is checked, so a wrong secret
//! fails as it would on AWS). The server's request log is kept: tests count the requests a
//! command made from the server's side. It exits with the test binary (it watches its
//! stdin, which closes when the test process ends).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{run_or_panic, venv};

pub const MOTO: &str = "moto[server]==5.2.5";

/// The IAM requests `s3.py setup` makes before signatures are checked.
const SETUP_ACTIONS: &str = "3";

pub struct Moto {
    _child: Mutex<Child>,
    pub endpoint: String,
    python: PathBuf,
    pub key: String,
    pub secret: String,
    /// The server's request lines (`"PUT /bucket/key HTTP/1.1" 200`), in order.
    log: Arc<Mutex<Vec<String>>>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/s3.py")
}

/// The one server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO_SERVER: OnceLock<Moto> = OnceLock::new();
    MOTO_SERVER.get_or_init(start)
}

fn start() -> Moto {
    let python = venv(&[MOTO]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // The server runs in-process under a watchdog thread: when our end of its stdin closes
    // (this test binary exited, however), it exits too.
    let program = format!(
        "import os, sys, threading\n\
         threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n\
         from moto.server import main\n\
         main(['-H', '127.0.0.1', '-p', '{port}'])\n"
    );
    let mut child = Command::new(&python)
        .args(["-c", &program])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", SETUP_ACTIONS)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("moto_server starts");
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped");
    let lines = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let line = plain(&line);
            if line.contains(" HTTP/1.1\"") {
                lines.lock().unwrap().push(line);
            }
        }
    });
    // Ready when it accepts a connection (werkzeug binds before serving).
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run_or_panic(
        Command::new(&python)
            .arg(script())
            .args(["setup", &endpoint]),
        "s3.py setup",
    );
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Moto {
        _child: Mutex::new(child),
        endpoint,
        python,
        key: creds["key"].as_str().unwrap().to_string(),
        secret: creds["secret"].as_str().unwrap().to_string(),
        log,
    }
}

/// `line` without the terminal colours werkzeug puts around a request line.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Moto {
    /// What sluice needs to reach the server as the test user.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_as(&self.key, &self.secret)
    }

    pub fn env_as(&self, key: &str, secret: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", key.to_string()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_string()),
        ]
    }

    fn s3py(&self, args: &[&str]) -> std::process::Output {
        run_or_panic(
            Command::new(&self.python)
                .arg(script())
                .arg(args[0])
                .arg(&self.endpoint)
                .args(&args[1..])
                .envs(self.env()),
            "s3.py",
        )
    }

    pub fn bucket(&self, name: &str) {
        self.s3py(&["mkbucket", name]);
    }

    /// Stores `text` as `bucket/key` (as another client would: no sluice metadata).
    pub fn put(&self, bucket: &str, key: &str, text: &str) {
        self.s3py(&["put", bucket, key, text]);
    }

    /// Every object of `bucket`: key → md5, size, headers, metadata.
    pub fn dump(&self, bucket: &str) -> serde_json::Map<String, serde_json::Value> {
        let out = self.s3py(&["dump", bucket]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Credentials of a user that may do everything but put objects matching
    /// `bucket/key-pattern` (an IAM resource pattern).
    pub fn denied_put(&self, resource: &str) -> (String, String) {
        let out = self.s3py(&["deny-put", resource]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["key"].as_str().unwrap().to_string(),
            v["secret"].as_str().unwrap().to_string(),
        )
    }

    /// How many request lines the server has logged so far.
    pub fn mark(&self) -> usize {
        self.sync_log();
        self.log.lock().unwrap().len()
    }

    /// Waits until every request made so far is in the log: sends one of its own and waits
    /// for its line (the server logs requests in the order it answers them).
    fn sync_log(&self) {
        use std::io::{Read, Write};
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let probe = format!("/sluice-log-sync-{n}");
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("moto is up");
        let request =
            format!("GET {probe} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log.lock().unwrap().iter().any(|l| l.contains(&probe)) {
            assert!(Instant::now() < deadline, "moto never logged {probe}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The request lines logged since `mark` that are about `bucket`, as (method, path).
    pub fn requests_since(&self, mark: usize, bucket: &str) -> Vec<(String, String)> {
        self.sync_log();
        let log = self.log.lock().unwrap();
        log[mark.min(log.len())..]
            .iter()
            .filter_map(|line| {
                let quoted = line.split('"').nth(1)?;
                let mut parts = quoted.split(' ');
                let (method, path) = (parts.next()?, parts.next()?);
                let in_bucket = path.starts_with(&format!("/{bucket}/"))
                    || path.starts_with(&format!("/{bucket}?"))
                    || path == format!("/{bucket}");
                in_bucket.then(|| (method.to_string(), path.to_string()))
            })
            .collect()
    }
}
