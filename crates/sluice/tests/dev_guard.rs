//! The dev server lets no one in and hides nothing it streams: `Host` checks against DNS
//! rebinding (loopback names, `[dev] allowed_hosts`, Django's `ALLOWED_HOSTS`), the warning
//! when it listens beyond loopback, no symlink out of STATIC_ROOT that sluice did not make,
//! `Range`/`HEAD` on static files, and a backend's server-sent events and chunked HTML passed
//! on as they arrive. Real `sluice dev`, a small Python `http.server` backend, raw TCP.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::dev::{DevRun, PATIENCE, http};
use support::{Project, noise};

const SCRIPT_TAG: &str = "<script src=\"/__sluice/client.js\"></script>";

/// A threaded `http.server` on `$PORT` that logs each request's Host to `hosts.log` and
/// answers `/page` (HTML), `/sse` (an event stream: one event, then a second once the file
/// `release-sse` exists, then the end) and `/chunked` (chunked HTML: a first part, the rest
/// once `release-html` exists).
const BACKEND: &str = r#"
import os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def wait_for(name):
    deadline = time.time() + 60
    while not os.path.exists(name) and time.time() < deadline:
        time.sleep(0.01)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        with open("hosts.log", "a") as log:
            log.write("%s %s\n" % (self.headers.get("Host"), self.path))
        if self.path == "/sse":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"event: tick\ndata: one\n\n")
            self.wfile.flush()
            wait_for("release-sse")
            self.wfile.write(b"event: tick\ndata: two\n\n")
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            def chunk(data):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            chunk(b"<html><body><p>first part</p><!-- the rest is coming -->")
            wait_for("release-html")
            chunk(b"<p>second part</p></body></html>")
            chunk(b"")
        else:
            body = b"<html><body><p>page</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

/// One request with the given raw `Host` line (`None`: none) over HTTP/1.1 (HTTP/1.0 without
/// a Host), read to the end.
fn request_with_host(port: u16, path: &str, host: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let request = match host {
        Some(host) => format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        None => format!("GET {path} HTTP/1.0\r\n\r\n"),
    };
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text)
}

/// Reads from `stream` until `needle` shows in what was read (or panics after PATIENCE).
fn read_until(stream: &mut TcpStream, seen: &mut Vec<u8>, needle: &str) {
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(seen).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {:?}",
            String::from_utf8_lossy(seen)
        );
        let n = stream.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before {needle:?}: {:?}",
            String::from_utf8_lossy(seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

fn project() -> Project {
    let video = noise(100_000, 7);
    let project =
        Project::with_bytes(&[("css/a.css", b"p { color: red }"), ("v/clip.mp4", &video)]);
    project.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n[dev]\nallowed_hosts = [\".dev.example.test\"]\n",
    );
    project.write("backend.py", BACKEND);
    project
}

#[test]
fn hosts_ranges_symlinks_and_streams_through_the_dev_server() {
    let project = project();
    let root = &project.root;
    // A symlink someone put in STATIC_ROOT, out of it, and one that stays inside.
    fs::create_dir_all(root.join("static")).unwrap();
    project.write("outside/secret.txt", "do not serve");
    std::os::unix::fs::symlink(
        root.join("outside/secret.txt"),
        root.join("static/secret.txt"),
    )
    .unwrap();
    project.write("static/notes/own.txt", "a file of the output's own");
    std::os::unix::fs::symlink("notes/own.txt", root.join("static/alias.txt")).unwrap();
    // `--link`: sluice's own outputs are symlinks to the sources, and are served.
    let mut run = DevRun::start(root, &["--link", "--", "python3", "backend.py"], &[]);
    run.wait_event("ready");
    run.wait_event("backend_up");
    let port = run.port;
    assert!(
        fs::symlink_metadata(root.join("static/css/a.css"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // DNS rebinding: a name the project did not allow is refused before anything is served
    // or forwarded; loopback names and allowed ones pass.
    for path in [
        "/page",
        "/static/css/a.css",
        "/__sluice/events",
        "/__sluice/client.js",
    ] {
        for host in [
            "evil.example:8000",
            "127.0.0.1.nip.io",
            "dev.example.test.evil.example",
        ] {
            let (status, text) = request_with_host(port, path, Some(host));
            assert_eq!(status, 403, "{host} {path}: {text}");
            assert!(text.contains("is not allowed"), "{text}");
        }
    }
    let (status, text) = request_with_host(port, "/page", None);
    assert_eq!(status, 400, "{text}");
    for host in [
        "localhost",
        &format!("localhost:{port}"),
        "app.localhost",
        "127.0.0.2",
        &format!("[::1]:{port}"),
        "dev.example.test",
        &format!("www.dev.example.test:{port}"),
    ] {
        let (status, text) = request_with_host(port, "/page", Some(host));
        assert_eq!(status, 200, "{host}: {text}");
        assert!(text.contains("<p>page</p>"), "{text}");
    }
    let log = fs::read_to_string(root.join("hosts.log")).unwrap();
    assert!(
        !log.contains("evil"),
        "a refused request reached the backend: {log}"
    );
    assert!(log.contains("www.dev.example.test"), "{log}");

    // Symlinks: sluice's own (`--link`) and one inside the output are followed, one out of it
    // that sluice did not make is not.
    assert_eq!(run.get("/static/css/a.css").text(), "p { color: red }");
    assert_eq!(
        run.get("/static/alias.txt").text(),
        "a file of the output's own"
    );
    let secret = run.get("/static/secret.txt");
    assert_eq!(secret.status, 404, "{}", secret.text());
    assert!(!secret.text().contains("do not serve"));

    // Range and HEAD on a static file.
    let video = fs::read(root.join("media/v/clip.mp4")).unwrap();
    let whole = run.get("/static/v/clip.mp4");
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, video);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    let etag = whole.header("etag").unwrap().to_owned();
    let part = http(
        port,
        "GET",
        "/static/v/clip.mp4",
        &[("Range", "bytes=1000-1999")],
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/100000"));
    assert_eq!(part.header("content-length"), Some("1000"));
    assert_eq!(part.header("content-type"), Some("video/mp4"));
    assert_eq!(part.body, &video[1000..2000]);
    let tail = http(
        port,
        "GET",
        "/static/v/clip.mp4",
        &[("Range", "bytes=-100")],
    );
    assert_eq!(tail.status, 206);
    assert_eq!(
        tail.header("content-range"),
        Some("bytes 99900-99999/100000")
    );
    assert_eq!(tail.body, &video[99_900..]);
    let open = http(
        port,
        "GET",
        "/static/v/clip.mp4",
        &[("Range", "bytes=99990-")],
    );
    assert_eq!(open.body, &video[99_990..]);
    let beyond = http(
        port,
        "GET",
        "/static/v/clip.mp4",
        &[("Range", "bytes=100000-")],
    );
    assert_eq!(beyond.status, 416);
    assert_eq!(beyond.header("content-range"), Some("bytes */100000"));
    assert!(beyond.body.is_empty());
    // If-Range naming the file as it is: the range; a stale one: the whole file.
    let same = http(
        port,
        "GET",
        "/static/v/clip.mp4",
        &[("Range", "bytes=0-9"), ("If-Range", &etag)],
    );
    assert_eq!((same.status, same.body.as_slice()), (206, &video[..10]));
    let stale = http(
        port,
        "GET",
        "/static/v/clip.mp4",
        &[("Range", "bytes=0-9"), ("If-Range", "\"stale\"")],
    );
    assert_eq!((stale.status, stale.body.len()), (200, video.len()));
    let head = http(port, "HEAD", "/static/v/clip.mp4", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("100000"));
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert_eq!(head.header("content-type"), Some("video/mp4"));
    assert!(head.body.is_empty());

    // Streamed, not read whole: half a gigabyte (sparse) served from the output, the answer
    // read for its first megabyte, leaves sluice's peak memory where it was.
    let big = fs::File::create(root.join("static/big.bin")).unwrap();
    big.set_len(512 << 20).unwrap();
    let sluice_pid = support::dev::leftovers(&run.marker)
        .into_iter()
        .find(|(_, cmd)| cmd.contains(" dev "))
        .map(|(pid, _)| pid)
        .expect("sluice's pid");
    let peak_before = peak_rss_kib(sluice_pid);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    read_until(&mut stream, &mut seen, "content-length: 536870912");
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < 1 << 20 {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        got += n;
    }
    drop(stream);
    let part = http(port, "GET", "/static/big.bin", &[("Range", "bytes=-10")]);
    assert_eq!((part.status, part.body.len()), (206, 10));
    let grown = peak_rss_kib(sluice_pid) - peak_before;
    assert!(
        grown < 64 * 1024,
        "sluice's peak memory grew by {grown} KiB"
    );

    // Server-sent events from the backend: the first event comes through while the backend
    // still holds the stream open (it waits for `release-sse`, which comes only after).
    let mut sse = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sse.set_read_timeout(Some(PATIENCE)).unwrap();
    sse.write_all(b"GET /sse HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    read_until(&mut sse, &mut seen, "data: one\n\n");
    let text = String::from_utf8_lossy(&seen).to_lowercase();
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    assert!(!text.contains("data: two"));
    assert!(!text.contains(&SCRIPT_TAG.to_lowercase()));
    project.write("release-sse", "");
    read_until(&mut sse, &mut seen, "data: two\n\n");
    drop(sse);

    // Chunked HTML: the first part (before any `</body>`; the proxy holds back only its last
    // few bytes, which could begin one) comes through before the backend has sent the rest;
    // the whole gets the script before its `</body>`.
    let mut page = TcpStream::connect(("127.0.0.1", port)).unwrap();
    page.set_read_timeout(Some(PATIENCE)).unwrap();
    page.write_all(b"GET /chunked HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    read_until(&mut page, &mut seen, "<p>first part</p>");
    assert!(!String::from_utf8_lossy(&seen).contains("second part"));
    project.write("release-html", "");
    page.read_to_end(&mut seen).unwrap();
    let text = String::from_utf8_lossy(&seen).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_lowercase().contains("transfer-encoding: chunked"),
        "{head}"
    );
    let body = dechunk(body);
    assert_eq!(
        body,
        format!(
            "<html><body><p>first part</p><!-- the rest is coming --><p>second part</p>{SCRIPT_TAG}</body></html>"
        )
    );

    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0), "{:#?}", run.seen);
}

/// The peak resident memory of process `pid` (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> i64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

fn dechunk(mut data: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = data.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        data = &rest[size + 2..];
    }
    out
}

#[test]
fn listening_beyond_loopback_warns_once_and_still_checks_hosts() {
    let project = project();
    let mut run = DevRun::start(
        &project.root,
        &["--host", "0.0.0.0", "--", "python3", "backend.py"],
        &[],
    );
    let warning = run.wait_event("warning");
    let message = warning["message"].as_str().unwrap();
    assert!(message.contains("0.0.0.0"), "{message}");
    assert!(message.contains("other machines"), "{message}");
    run.wait_event("backend_up");
    // Only loopback names and allowed hosts, wherever the request comes from.
    let (status, _) = request_with_host(run.port, "/page", Some("192.0.2.1"));
    assert_eq!(status, 403);
    let (status, _) = request_with_host(run.port, "/page", Some("localhost"));
    assert_eq!(status, 200);
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0));
    let warnings = run.seen.iter().filter(|e| e["event"] == "warning").count();
    assert_eq!(warnings, 1, "{:#?}", run.seen);

    // On loopback: no warning.
    let mut run = DevRun::start(&project.root, &["--", "python3", "backend.py"], &[]);
    run.wait_event("backend_up");
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0));
    assert!(
        !run.seen.iter().any(|e| e["event"] == "warning"),
        "{:#?}",
        run.seen
    );
    let _ = Duration::ZERO;
}

#[test]
fn allowed_hosts_come_from_the_dev_table_and_show_in_sluice_config() {
    let project = project();
    let out = project.run_ok(&["config", "--format", "json"]);
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = &config["dev"]["allowed_hosts"];
    assert_eq!(hosts["value"], serde_json::json!([".dev.example.test"]));
    assert!(
        hosts["origin"].as_str().unwrap().ends_with("sluice.toml:4"),
        "{hosts}"
    );
    let text = String::from_utf8(project.run_ok(&["config"]).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("dev.hosts") && l.contains("loopback, .dev.example.test")),
        "{text}"
    );
    // Without the key (and no Django settings): loopback only.
    project.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n",
    );
    let out = project.run_ok(&["config", "--format", "json"]);
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        config["dev"]["allowed_hosts"]["value"],
        serde_json::json!([])
    );
    assert_eq!(config["dev"]["allowed_hosts"]["origin"], "default");
}

#[test]
fn allowed_hosts_default_to_djangos() {
    // The example site's settings say ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]",
    // "testserver"]: with no [dev] allowed_hosts, that is the list.
    let python = support::example_venv();
    let dir = tempfile::tempdir().unwrap();
    support::copy_example_site(dir.path());
    let out = support::sluice()
        .args(["config", "--format", "json"])
        .current_dir(dir.path())
        .envs(support::venv_env(&python))
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = &config["dev"]["allowed_hosts"];
    assert_eq!(
        hosts["value"],
        serde_json::json!(["localhost", "127.0.0.1", "[::1]", "testserver"]),
        "{hosts}"
    );
    assert!(
        hosts["origin"]
            .as_str()
            .unwrap()
            .starts_with("Django settings"),
        "{hosts}"
    );
}
