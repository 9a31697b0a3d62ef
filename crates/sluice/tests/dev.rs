//! `sluice dev` with real backends: Django's `runserver` on the example site (proxying,
//! static files, live-reload events, a killed backend, Ctrl-C), and small Python backends for
//! websockets, the page shown while the backend is down, prefixed output with pdb, and exit
//! codes. Every process test ends by looking in /proc for anything left behind.

mod support;

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::dev::{DevRun, EventStream, PATIENCE, http, leftovers};
use support::{Project, copy_example_site, example_venv, venv_env};

const SCRIPT_TAG: &str = "<script src=\"/__sluice/client.js\"></script>";

/// The example site in a temp folder, with its virtualenv active for sluice (which then runs
/// `<venv>/bin/python manage.py runserver`).
fn example() -> (tempfile::TempDir, Vec<(&'static str, OsString)>) {
    let python = example_venv();
    let dir = tempfile::tempdir().unwrap();
    copy_example_site(dir.path());
    let mut env = venv_env(&python);
    env.push(("PYTHONDONTWRITEBYTECODE", "1".into()));
    (dir, env)
}

fn assert_nothing_left(run: &DevRun) {
    let left = leftovers(&run.marker);
    assert!(left.is_empty(), "processes left behind: {left:#?}");
}

#[test]
fn runserver_behind_the_proxy_with_live_reload_events() {
    let (site, env) = example();
    let root = site.path();
    let mut run = DevRun::start(root, &[], &env);
    let started = run.wait_event("backend_started");
    let argv: Vec<String> = serde_json::from_value(started["argv"].clone()).unwrap();
    assert_eq!(
        &argv[1..4],
        [
            "manage.py",
            "runserver",
            &format!("127.0.0.1:{}", started["port"])
        ]
    );
    assert!(
        argv[0].contains("venvs"),
        "the project's Python runs it: {argv:?}"
    );
    run.wait_event("ready");
    run.wait_event("backend_up");

    // A page from Django, with the client script injected and the length fixed.
    let page = run.get("/");
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("/static/css/home/hero.css"), "{html}");
    let script = html.find(SCRIPT_TAG).expect("client script injected");
    assert!(script < html.rfind("</body>").unwrap());
    assert_eq!(
        page.header("content-length"),
        Some(page.body.len().to_string().as_str())
    );
    assert_eq!(page.header("content-encoding"), None);

    // Static files straight from the output.
    let css = run.get("/static/css/home/hero.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("no-cache"));
    assert_eq!(
        css.body,
        fs::read(root.join("media/css/home/hero.css")).unwrap()
    );
    let etag = css.header("etag").expect("an ETag").to_owned();
    let again = http(
        run.port,
        "GET",
        "/static/css/home/hero.css",
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let png = run.get("/static/img/logo.png");
    assert_eq!(png.header("content-type"), Some("image/png"));
    // Nothing outside the output: the request goes to Django, which has no such page.
    let escape = run.get("/static/%2e%2e/manage.py");
    assert_ne!(escape.status, 200);
    assert!(!escape.text().contains("DJANGO_SETTINGS_MODULE"));
    let js = run.get("/__sluice/client.js");
    assert_eq!(js.status, 200);
    assert!(js.text().contains("EventSource"));

    // A stylesheet edit: a `css` event with its URL and that of the dev bundle it is a member
    // of (rebuilt by the dev profile); a script edit: `reload`.
    let events = EventStream::open(run.port);
    fs::write(
        root.join("media/css/home/hero.css"),
        "h1 { color: rgb(1, 2, 3); }\n",
    )
    .unwrap();
    assert_eq!(
        events.next(),
        (
            "css".into(),
            "[\"/static/css/home-bundle.css\",\"/static/css/home/hero.css\"]".into()
        )
    );
    assert_eq!(
        run.get("/static/css/home/hero.css").text(),
        "h1 { color: rgb(1, 2, 3); }\n"
    );
    fs::write(root.join("media/js/home/init.js"), "window.edited = 1;\n").unwrap();
    assert_eq!(events.next().0, "reload");

    run.signal("-INT");
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(0), "{:#?}", run.seen);
    assert!(run.seen.iter().any(|e| e["event"] == "backend_stopped"));
    assert!(
        run.seen.iter().any(|e| e["event"] == "stopped"),
        "state saved"
    );
    assert_nothing_left(&run);
}

/// Once the backend is up, a page comes through the proxy with the client injected; Ctrl-C
/// stops everything.
fn serves_a_page_then_stops(mut run: DevRun) {
    run.wait_event("backend_up");
    let page = run.get("/");
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains(SCRIPT_TAG));
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0));
    assert_nothing_left(&run);
}

/// `sluice dev -- python manage.py runserver [ADDRESS]`, the command as a Django developer
/// types it: without an address runserver would take 8000, sluice's own port, so sluice adds
/// one; with one, sluice proxies to it; with sluice's own, it says so before starting.
#[test]
fn the_runserver_command_as_typed_with_or_without_an_address() {
    let (site, env) = example();
    let root = site.path();
    let python = example_venv();
    let python = python.to_str().unwrap();
    let free = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };

    // No address: one is added, said in a note, and the page comes through the proxy.
    let public = free();
    let mut run = DevRun::start_on(
        public,
        root,
        &["--", python, "manage.py", "runserver"],
        &env,
    );
    let note = run.wait_event("note");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:{port}"),
        "{note}"
    );
    let started = run.wait_event("backend_started");
    let argv: Vec<String> = serde_json::from_value(started["argv"].clone()).unwrap();
    assert_eq!(
        argv[3],
        format!("127.0.0.1:{}", started["port"]),
        "{argv:?}"
    );
    assert_ne!(started["port"].as_u64(), Some(public as u64));
    serves_a_page_then_stops(run);

    // Its own address: kept as typed, and proxied to.
    let own = free();
    let mut run = DevRun::start_on(
        free(),
        root,
        &["--", python, "manage.py", "runserver", &own.to_string()],
        &env,
    );
    let started = run.wait_event("backend_started");
    assert_eq!(started["port"].as_u64(), Some(own as u64));
    let argv: Vec<String> = serde_json::from_value(started["argv"].clone()).unwrap();
    assert_eq!(argv[3], own.to_string());
    serves_a_page_then_stops(run);

    // sluice's own port: a configuration error naming it, before anything starts.
    let public = free().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["dev", "--port", &public, "--"])
        .args([
            python,
            "manage.py",
            "runserver",
            &format!("0.0.0.0:{public}"),
        ])
        .current_dir(root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "listens on port {public}, which is sluice's own address"
        )),
        "{stderr}"
    );
}

#[test]
fn a_killed_backend_is_restarted_and_nothing_is_left_behind() {
    let (site, env) = example();
    let mut run = DevRun::start(site.path(), &[], &env);
    let started = run.wait_event("backend_started");
    run.wait_event("backend_up");
    let leader = started["pid"].as_u64().unwrap() as u32;
    // runserver's autoreloader runs the server in a child process: two processes at least.
    let before = leftovers(&run.marker);
    let backend: Vec<u32> = before
        .iter()
        .map(|(pid, _)| *pid)
        .filter(|pid| *pid != run_pid(&run, &before))
        .collect();
    assert!(backend.contains(&leader), "{before:#?}");
    assert!(
        backend.len() >= 2,
        "runserver and its reloaded child: {before:#?}"
    );

    // SIGKILL the leader: its child is orphaned but still in the group; sluice must end it.
    Command::new("kill")
        .args(["-KILL", &leader.to_string()])
        .status()
        .unwrap();
    let exited = run.wait_event("backend_exited");
    assert_eq!(exited["code"], 128 + 9);
    assert!(exited["restart_in_ms"].as_u64().is_some());
    let now: Vec<u32> = leftovers(&run.marker).iter().map(|(p, _)| *p).collect();
    for pid in &backend {
        assert!(
            !now.contains(pid),
            "pid {pid} of the killed backend is still alive"
        );
    }
    let restarted = run.wait_event("backend_started");
    assert_ne!(restarted["pid"], started["pid"]);
    run.wait_event("backend_up");
    assert_eq!(run.get("/about/").status, 200);

    run.signal("-TERM");
    assert_eq!(run.wait_exit().code(), Some(0), "{:#?}", run.seen);
    assert_nothing_left(&run);
}

/// sluice's own pid among the marked processes (the one whose parent is not marked).
fn run_pid(run: &DevRun, marked: &[(u32, String)]) -> u32 {
    let pids: Vec<u32> = marked.iter().map(|(p, _)| *p).collect();
    *pids
        .iter()
        .find(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid: u32 = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            !pids.contains(&ppid)
        })
        .unwrap_or_else(|| panic!("no sluice among {marked:?} (marker {})", run.marker))
}

/// A backend that waits for `go` to exist, then serves HTML (showing what it got in its
/// environment) and echoes whatever follows a websocket upgrade.
const TOY_BACKEND: &str = r#"
import os, socket, sys, time
while not os.path.exists("go"):
    time.sleep(0.02)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(os.environ["PORT"])))
server.listen(16)
print("toy backend listening", flush=True)
while True:
    conn, _ = server.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    if not data:  # a connection test (sluice's probe): nothing to answer
        conn.close()
        continue
    head = data.decode("latin-1").lower()
    if "upgrade: websocket" in head:
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            conn.sendall(chunk)
    else:
        lines = head.split("\r\n")
        encoding = [l for l in lines if l.startswith("accept-encoding:")]
        length = [int(l.split(":")[1]) for l in lines if l.startswith("content-length:")]
        received = len(data.split(b"\r\n\r\n", 1)[1])
        while length and received < length[0]:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += len(chunk)
        posted = "post %d" % received if lines[0].startswith("post ") else "no body"
        body = ("<html><body><p>unbuffered=%s</p><p>%s</p><p>%s</p></body></html>"
                % (os.environ.get("PYTHONUNBUFFERED"), encoding, posted)).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                     + (b"" if lines[0].startswith("head ") else body))
    conn.close()
"#;

/// POSTs `body` and returns the answer's text.
fn post(port: u16, path: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn down_page_then_proxying_and_websocket_tunnel() {
    let project = Project::new(&[("css/a.css", "p { color: red }")]);
    project.write("toy.py", TOY_BACKEND);
    let mut run = DevRun::start(&project.root, &["--", "python3", "toy.py"], &[]);
    run.wait_event("backend_started");
    run.wait_event("ready");

    // The backend is not listening yet: a page that waits for it.
    let down = run.get("/some/page");
    assert_eq!(down.status, 502);
    assert!(down.text().contains("/__sluice/status"), "{}", down.text());
    assert!(run.get("/__sluice/status").text().contains("\"down\""));
    // Static files don't need the backend.
    assert_eq!(run.get("/static/css/a.css").text(), "p { color: red }");

    project.write("go", "");
    run.wait_event("backend_up");
    assert!(run.get("/__sluice/status").text().contains("\"up\""));
    let page = run.get("/some/page");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("unbuffered=1"), "{html}");
    assert!(html.contains("accept-encoding: identity"), "{html}");
    assert!(
        html.ends_with(&format!("{SCRIPT_TAG}</body></html>")),
        "{html}"
    );
    assert_eq!(
        page.header("content-length"),
        Some(page.body.len().to_string().as_str())
    );
    // HEAD announces the length GET will have, script included.
    let head = http(run.port, "HEAD", "/some/page", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), page.header("content-length"));
    // A request body goes through whole.
    let posted = post(run.port, "/form", &vec![b'x'; 300_000]);
    assert!(posted.contains("post 300000"), "{posted}");

    // A websocket upgrade is tunnelled both ways.
    let mut ws = TcpStream::connect(("127.0.0.1", run.port)).unwrap();
    ws.set_read_timeout(Some(PATIENCE)).unwrap();
    ws.write_all(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        ws.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    for message in [&b"hello"[..], b"\x81\x85 binary-ish \xff"] {
        ws.write_all(message).unwrap();
        let mut echo = vec![0u8; message.len()];
        ws.read_exact(&mut echo).unwrap();
        assert_eq!(echo, message);
    }
    drop(ws);

    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0));
    assert_nothing_left(&run);
}

#[test]
fn a_backend_that_exits_without_restart_gives_its_code_to_sluice() {
    // Configured as a shell string (shell = true): the shell's exit code comes through.
    let project = Project::new(&[("a.txt", "a")]);
    project.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n[dev]\ncommand = \"echo from-shell; exit 3\"\nshell = true\n",
    );
    let mut run = DevRun::start(&project.root, &["--no-restart"], &[]);
    let started = run.wait_event("backend_started");
    assert_eq!(started["argv"][0], "/bin/sh");
    run.wait_for("the shell's line", |e| e["line"] == "from-shell");
    let exited = run.wait_event("backend_exited");
    assert_eq!(exited["code"], 3);
    assert!(exited["restart_in_ms"].is_null());
    assert_eq!(run.wait_exit().code(), Some(3));
    assert_nothing_left(&run);

    // Restarting is the default.
    let mut run = DevRun::start(&project.root, &[], &[]);
    let exited = run.wait_event("backend_exited");
    assert!(exited["restart_in_ms"].as_u64().unwrap() > 0);
    run.wait_event("backend_started");
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0));
    assert_nothing_left(&run);
}

#[test]
fn one_terminal_prefixed_lines_and_pdb_through_stdin() {
    let project = Project::new(&[("a.txt", "a")]);
    project.write(
        "backend.py",
        "import sys\n\
         sys.stdout.buffer.write(b'bytes \\xff\\xfe here\\n')\n\
         sys.stdout.write('no newline yet')\n\
         sys.stdout.flush()\n\
         import time; time.sleep(0.5)\n\
         print(' ...', file=sys.stderr)\n\
         x = 41\n\
         breakpoint()\n\
         print('after the debugger', x)\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "dev",
            "--port",
            "0",
            "--no-restart",
            "--",
            "python3",
            "backend.py",
        ])
        .current_dir(&project.root)
        .env_remove("PYTHONBREAKPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    for line in lines.lines().map_while(Result::ok) {
        assert!(Instant::now() < deadline, "{seen:#?}");
        if line.contains("(Pdb)") && !seen.iter().any(|l: &String| l.contains("(Pdb)")) {
            // pdb reads sluice's stdin.
            stdin.write_all(b"p x + 1\nx = 99\nc\n").unwrap();
        }
        seen.push(line);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    let has = |text: &str| seen.iter().any(|l| l == text);
    assert!(has("   web │ bytes \u{fffd}\u{fffd} here"), "{seen:#?}");
    assert!(
        has("   web │ no newline yet"),
        "a partial line is flushed: {seen:#?}"
    );
    assert!(has("   web │  ..."), "{seen:#?}");
    assert!(has("   web │ 42"), "pdb answered: {seen:#?}");
    assert!(
        seen.iter()
            .any(|l| l.starts_with("   web │ ") && l.ends_with("after the debugger 99")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("sluice │ ") && l.contains("watching")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .all(|l| l.starts_with("sluice │ ") || l.starts_with("   web │ ")),
        "{seen:#?}"
    );
}

#[test]
fn sluice_config_shows_the_dev_keys_and_where_they_come_from() {
    let project = Project::new(&[("a.txt", "a")]);
    project.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[dev]\nport = 8111\ncommand = [\"gunicorn\", \"-b\", \"127.0.0.1:{port}\", \"app\"]\neditor_url = \"vscode://file/{path}:{line}\"\n",
    );
    let out = project.run(&["config", "--format", "json"]);
    assert!(out.status.success());
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dev = &config["dev"];
    assert_eq!(dev["command"]["value"][0], "gunicorn");
    assert_eq!(dev["command"]["shell"], false);
    assert!(
        dev["command"]["origin"]
            .as_str()
            .unwrap()
            .ends_with("sluice.toml:6"),
        "{dev}"
    );
    assert_eq!(dev["port"]["value"], 8111);
    assert!(
        dev["port"]["origin"]
            .as_str()
            .unwrap()
            .ends_with("sluice.toml:5"),
        "{dev}"
    );
    assert_eq!(dev["host"]["value"], "127.0.0.1");
    assert_eq!(dev["host"]["origin"], "default");
    assert_eq!(dev["editor_url"]["value"], "vscode://file/{path}:{line}");
    assert!(
        dev["editor_url"]["origin"]
            .as_str()
            .unwrap()
            .ends_with("sluice.toml:7"),
        "{dev}"
    );
    let text = String::from_utf8(project.run(&["config"]).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("dev.editor") && l.contains("vscode://file/{path}:{line}")),
        "{text}"
    );
}

#[test]
fn no_backend_and_a_taken_port_are_configuration_errors() {
    let project = Project::new(&[("a.txt", "a")]);
    let out = project.run(&["dev", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no backend to run"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = project.run(&["dev", "--port", &port, "--", "python3", "-c", "pass"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on 127.0.0.1:"), "{stderr}");

    let out = project.run(&["dev", "--port", "0", "--", "/nonexistent/backend"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot start the backend"));
    let _ = Duration::ZERO;
}

#[test]
fn a_backend_deaf_to_sigint_and_sigterm_is_killed_and_ctrl_c_again_hurries() {
    // The backend and a child of its own both ignore SIGINT and SIGTERM.
    let project = Project::new(&[("a.txt", "a")]);
    project.write(
        "deaf.py",
        "import signal, subprocess, sys, time\n\
         signal.signal(signal.SIGINT, signal.SIG_IGN)\n\
         signal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
         if len(sys.argv) == 1:\n\
         \x20   subprocess.Popen([sys.executable, 'deaf.py', 'child'])\n\
         \x20   time.sleep(0.3)\n\
         \x20   print('deaf and ready', flush=True)\n\
         time.sleep(600)\n",
    );
    let mut run = DevRun::start(&project.root, &["--", "python3", "deaf.py"], &[]);
    run.wait_for("the backend's ready line", |e| {
        e["line"] == "deaf and ready"
    });
    assert!(
        leftovers(&run.marker).len() >= 3,
        "sluice, the backend and its child"
    );
    run.signal("-INT");
    run.wait_event("stopping");
    // Ctrl-C again: no 5 s wait for SIGTERM, then again: SIGKILL.
    run.signal("-INT");
    assert_eq!(run.wait_event("escalated")["signal"], "SIGTERM");
    run.signal("-INT");
    assert_eq!(run.wait_event("escalated")["signal"], "SIGKILL");
    assert_eq!(run.wait_exit().code(), Some(0), "{:#?}", run.seen);
    assert_nothing_left(&run);
}

#[test]
fn a_process_that_left_the_group_does_not_hold_sluice_up() {
    // `setsid` takes the sleeper out of the backend's group (and out of sluice's reach), with
    // the backend's stdout still open: sluice must not wait for that pipe forever.
    let project = Project::new(&[("a.txt", "a")]);
    let mut run = DevRun::start(
        &project.root,
        &[
            "--",
            "sh",
            "-c",
            "setsid sleep 600 & echo escaped; exec sleep 600",
        ],
        &[],
    );
    run.wait_for("the backend's line", |e| e["line"] == "escaped");
    run.signal("-INT");
    let status = run.wait_exit();
    let left = leftovers(&run.marker);
    for (pid, _) in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert_eq!(status.code(), Some(0), "{:#?}", run.seen);
    // Only the process that left the group is left: it is documented as out of reach.
    assert_eq!(left.len(), 1, "{left:#?}");
    assert!(left[0].1.starts_with("sleep 600"), "{left:#?}");
}
