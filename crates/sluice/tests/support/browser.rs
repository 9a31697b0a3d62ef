//! A real browser for tests: Debian's `chromium`, headless, driven over the DevTools protocol
//! with a minimal websocket client (text frames only, as DevTools speaks). Installs chromium
//! with apt-get when it is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::dev::{PATIENCE, http};

/// The chromium binary, installed through apt-get if need be (the tests run as root on the
/// project's machines; elsewhere install the `chromium` package first).
pub fn chromium() -> &'static str {
    static FOUND: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        let present = |_: ()| {
            Command::new("chromium")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if present(()) {
            return;
        }
        let install = Command::new("sh")
            .args([
                "-c",
                "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
            ])
            .output()
            .expect("sh runs");
        assert!(
            install.status.success() && present(()),
            "chromium is missing and apt-get could not install it:\n{}",
            String::from_utf8_lossy(&install.stderr)
        );
    });
    "chromium"
}

/// chromium and every process it started: its own process group, killed as a whole on drop
/// (also when a test panics half-way through the launch).
struct Chromium(Child);

impl Drop for Chromium {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless chromium with one page, and a DevTools session on that page.
pub struct Browser {
    _chromium: Chromium,
    _profile: tempfile::TempDir,
    socket: TcpStream,
    next_id: u64,
    /// DevTools events seen while waiting for replies (`Network.*` once enabled), in order.
    events: Vec<Value>,
}

impl Browser {
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-crash-reporter",
                "--disable-breakpad",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let mut chromium = Chromium(child);
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
        let stderr = chromium.0.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(PATIENCE)
            .expect("chromium prints its DevTools address");
        let port: u16 = url
            .trim_start_matches("ws://")
            .split(['/', ':'])
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url}"));
        let targets: Value = serde_json::from_slice(&http(port, "GET", "/json/list", &[]).body)
            .expect("DevTools lists its targets");
        let page = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .unwrap_or_else(|| panic!("no page target in {targets}"));
        let ws = page["webSocketDebuggerUrl"].as_str().unwrap();
        let path = ws.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        socket
            .write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                     Sec-WebSocket-Version: 13\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        Browser {
            _chromium: chromium,
            _profile: profile,
            socket,
            next_id: 0,
            events: Vec::new(),
        }
    }

    fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.socket.write_all(&frame).unwrap();
    }

    fn read_message(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.socket.read_exact(&mut head).unwrap();
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
            let len = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.socket.read_exact(&mut b).unwrap();
                    u16::from_be_bytes(b) as usize
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.socket.read_exact(&mut b).unwrap();
                    u64::from_be_bytes(b) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            self.socket.read_exact(&mut payload).unwrap();
            assert_ne!(opcode, 0x8, "DevTools closed the connection");
            message.extend_from_slice(&payload);
            if fin {
                return String::from_utf8(message).unwrap();
            }
        }
    }

    /// Calls a DevTools method and returns its `result` (events in between are kept for
    /// [`Browser::events`]).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send_text(&json!({"id": id, "method": method, "params": params}).to_string());
        loop {
            let reply: Value = serde_json::from_str(&self.read_message()).unwrap();
            if reply.get("method").is_some() {
                self.events.push(reply);
                continue;
            }
            if reply["id"] == id {
                if !reply["error"].is_null() {
                    return json!({"error": reply["error"]});
                }
                return reply["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page, or `None` when it threw (e.g. while a
    /// navigation replaces the page).
    pub fn eval(&mut self, expression: &str) -> Option<Value> {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if !result["error"].is_null() || !result["exceptionDetails"].is_null() {
            return None;
        }
        Some(result["result"]["value"].clone())
    }

    /// Waits until `expression` is `true` in the page.
    pub fn wait_until(&mut self, what: &str, expression: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.eval(expression) != Some(Value::Bool(true)) {
            assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn navigate(&mut self, url: &str) {
        let result = self.call("Page.navigate", json!({"url": url}));
        assert!(result["errorText"].is_null(), "{result}");
    }
}

/// The processes whose command line mentions `needle` (e.g. a browser's profile folder).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    super::pids()
        .into_iter()
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

impl Browser {
    /// The events named `method` seen so far (their `params`), in order.
    pub fn events(&self, method: &str) -> Vec<Value> {
        self.events
            .iter()
            .filter(|e| e["method"] == method)
            .map(|e| e["params"].clone())
            .collect()
    }

    /// The profile folder, which every chromium process names on its command line.
    pub fn profile(&self) -> String {
        self._profile.path().display().to_string()
    }
}

impl Browser {
    /// Sets the page's viewport (CSS pixels, scale 1, not mobile).
    pub fn viewport(&mut self, width: u32, height: u32) {
        let result = self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        assert!(result["error"].is_null(), "{result}");
    }

    /// A PNG of the whole page at `width` CSS pixels (the viewport is made as tall as the
    /// page), written to `path`; returns its height.
    pub fn screenshot_page(&mut self, width: u32, path: &std::path::Path) -> u32 {
        self.viewport(width, 800);
        let height = self
            .eval("document.documentElement.scrollHeight")
            .and_then(|v| v.as_u64())
            .expect("the page has a height") as u32;
        self.viewport(width, height);
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = shot["data"]
            .as_str()
            .unwrap_or_else(|| panic!("no screenshot: {shot}"));
        let png = base64_decode(data);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).unwrap();
        }
        std::fs::write(path, &png).unwrap();
        height
    }
}

/// Standard base64 (DevTools' encoding of binary results).
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c:?}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= u32::from(value(c)) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// The width and height in a PNG's header.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}
