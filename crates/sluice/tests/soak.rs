//! A soak of `sluice dev`: a tree of sources (plain files, a Sass entry, a CSS bundle) in a git
//! repository with two branches, a small backend, and for a while, at once: random creates,
//! edits, deletes and renames, `git checkout`s between the branches, and page and static
//! requests through the proxy. At the end the output equals a fresh `sluice sync`'s of the
//! same sources, no request failed, and sluice holds no more file descriptors or threads than
//! after warm-up, its memory within a bound.
//!
//! CI runs the short version (`SLUICE_SOAK_SECS`, default 15 s, on 1 500 files, 400 of them
//! differing between the branches). `bench/run --only soak` runs the long one (10 minutes on
//! 20 000 files, 5 000 differing) and prints the figures this test prints.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::dev::{DevRun, http};
use support::{tree_files, write_file};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=soak",
            "-c",
            "user.email=soak@example.invalid",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The project: `media/` holds `stable/` (never touched: what the static requests ask for),
/// `work/` (`files` files in folders of 100), a Sass entry and a bundle. Branch `a` is that;
/// branch `b` edits, deletes and adds `differ` files of `work/`.
fn project(files: u64, differ: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("sluice.toml"),
        r#"sources = ["media"]
output = "static"

[compile]
entries = ["scss/*.scss"]

[bundles.css.site]
files = ["work/d000/*.css"]
output = "css/site.css"
"#,
    )
    .unwrap();
    fs::write(root.join(".gitignore"), "static/\n.sluice/\n").unwrap();
    let media = root.join("media");
    for i in 0..50 {
        write_file(
            &media.join(format!("stable/s{i:02}.css")),
            format!(".s{i}{{}}"),
        );
    }
    write_file(&media.join("scss/_vars.scss"), "$c: #123456;\n");
    write_file(
        &media.join("scss/site.scss"),
        "@use 'vars';\n.a { color: vars.$c; .b { color: red; } }\n",
    );
    for i in 0..files {
        let ext = ["css", "js", "txt"][(i % 3) as usize];
        write_file(
            &media.join(format!("work/d{:03}/f{i:05}.{ext}", i / 100)),
            format!("/* {i} */\n"),
        );
    }
    git(root, &["init", "-q", "-b", "a"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "a"]);
    git(root, &["checkout", "-q", "-b", "b"]);
    for i in 0..differ {
        // Spread over the tree: every k-th file.
        let n = i * files / differ.max(1);
        let ext = ["css", "js", "txt"][(n % 3) as usize];
        let path = media.join(format!("work/d{:03}/f{n:05}.{ext}", n / 100));
        match i % 4 {
            0 => {
                let _ = fs::remove_file(&path);
            }
            1 => write_file(&media.join(format!("work/new/n{i:05}.css")), ".n{}"),
            _ => write_file(&path, format!("/* {n} on b */\n")),
        }
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "b"]);
    git(root, &["checkout", "-q", "a"]);
    dir
}

/// sluice's own resources: open descriptors, threads, resident memory (kB).
#[derive(Debug, Clone, Copy)]
struct Usage {
    fds: usize,
    threads: usize,
    rss_kb: u64,
}

fn usage(pid: u32) -> Usage {
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    Usage {
        fds,
        threads: field("Threads:") as usize,
        rss_kb: field("VmRSS:"),
    }
}

/// One random change in `work/`.
fn random_change(media: &Path, rng: &mut u64, made: &mut Vec<PathBuf>) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let r = *rng;
    let folder = media.join(format!("work/d{:03}", r % 8));
    match r % 5 {
        0 | 1 => {
            let path = folder.join(format!("r{}.css", r % 997));
            write_file(&path, format!(".r{{x:{r}}}"));
            made.push(path);
        }
        2 => {
            if let Some(path) = made.pop() {
                let _ = fs::remove_file(path);
            }
        }
        3 => {
            if let Some(path) = made.pop() {
                let to = folder.join(format!("m{}.js", r % 991));
                if fs::rename(&path, &to).is_ok() {
                    made.push(to);
                }
            }
        }
        _ => {
            // An edit of a file git tracks (the checkouts then carry it along or refuse).
            let path = media.join(format!("work/d000/f{:05}.css", (r % 33) * 3));
            if path.exists() {
                write_file(&path, format!("/* edited {r} */\n"));
            }
        }
    }
}

/// `sluice sync` of a copy of `root`'s sources and configuration, into a folder of its own.
fn fresh_sync(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let copy = tempfile::tempdir().unwrap();
    support::copy_tree(&root.join("media"), &copy.path().join("media"));
    fs::copy(root.join("sluice.toml"), copy.path().join("sluice.toml")).unwrap();
    support::run_or_panic(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["sync", "--quiet"])
            .current_dir(copy.path())
            .env_remove("DJANGO_SETTINGS_MODULE"),
        "a fresh sync",
    );
    tree_files(&copy.path().join("static"))
}

const BACKEND: &str = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><html><body><p>page</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn dev_under_changes_checkouts_and_requests_converges_without_leaks() {
    let secs = setting("SLUICE_SOAK_SECS", 15);
    let files = setting("SLUICE_SOAK_FILES", 1500);
    let differ = setting("SLUICE_SOAK_DIFFER", 400);
    let dir = project(files, differ);
    let root = dir.path();
    fs::write(root.join("backend.py"), BACKEND).unwrap();
    let mut run = DevRun::start(root, &["--", "python3", "backend.py", "{port}"], &[]);
    run.wait_event("ready");
    run.wait_event("backend_up");
    let pid = run.pid();
    let port = run.port;

    // Requests all along: pages, and static files that never change.
    let stop = Arc::new(AtomicBool::new(false));
    let (requests, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stable: Vec<(String, Vec<u8>)> = (0..50)
        .map(|i| {
            let name = format!("stable/s{i:02}.css");
            let bytes = fs::read(root.join("media").join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    let load = {
        let (stop, requests, failures) = (stop.clone(), requests.clone(), failures.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            let mut failed = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let ok = if i.is_multiple_of(4) {
                    let page = http(port, "GET", "/", &[]);
                    page.status == 200 && page.text().contains("/__sluice/client.js")
                } else {
                    let (name, bytes) = &stable[i % stable.len()];
                    let file = http(port, "GET", &format!("/static/{name}"), &[]);
                    file.status == 200 && &file.body == bytes
                };
                requests.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                    failed.push(i);
                }
            }
            failed
        })
    };

    // Changes and checkouts; the usage after a quarter of the time is the baseline.
    let media = root.join("media");
    let start = Instant::now();
    let total = Duration::from_secs(secs);
    let checkout_every = (total / 6).max(Duration::from_secs(2));
    let (mut rng, mut made, mut branch) = (0x9e37_79b9_7f4a_7c15u64, Vec::new(), "a");
    let (mut last_checkout, mut checkouts, mut changes) = (Instant::now(), 0, 0u64);
    let mut baseline = None;
    while start.elapsed() < total {
        if last_checkout.elapsed() >= checkout_every {
            // Files made here would block or ride along a checkout: clear them first.
            for path in made.drain(..) {
                let _ = fs::remove_file(path);
            }
            git(root, &["checkout", "-q", "-f", "."]);
            git(root, &["clean", "-q", "-f", "--", "media"]);
            branch = if branch == "a" { "b" } else { "a" };
            git(root, &["checkout", "-q", branch]);
            checkouts += 1;
            last_checkout = Instant::now();
        }
        random_change(&media, &mut rng, &mut made);
        changes += 1;
        if baseline.is_none() && start.elapsed() >= total / 4 {
            baseline = Some(usage(pid));
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    stop.store(true, Ordering::Relaxed);
    let failed = load.join().unwrap();

    // Converged: the output equals a fresh sync's of what the sources are now.
    let want = fresh_sync(root);
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = Instant::now();
    loop {
        let have = tree_files(&root.join("static"));
        if have == want {
            break;
        }
        if Instant::now() > deadline {
            support::assert_same_tree("fresh sync", &want, "sluice dev", &have);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let settled = settled.elapsed();
    let baseline = baseline.expect("a baseline");
    // Static files are read on the dev server's blocking pool, whose idle threads stay 2 s
    // after a burst of requests: a thread still there well after that is a leak.
    let mut end = usage(pid);
    let deadline = Instant::now() + Duration::from_secs(6);
    while end.threads > baseline.threads + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        end = usage(pid);
    }
    let requests = requests.load(Ordering::Relaxed);
    eprintln!(
        "soak: {secs} s, {files} files ({differ} differing between branches): {changes} changes, \
         {checkouts} checkouts, {requests} requests ({} failed); settled {settled:.1?} after; \
         fds {} → {}, threads {} → {}, RSS {} → {} kB ({:+} kB)",
        failed.len(),
        baseline.fds,
        end.fds,
        baseline.threads,
        end.threads,
        baseline.rss_kb,
        end.rss_kb,
        end.rss_kb as i64 - baseline.rss_kb as i64
    );
    assert_eq!(failed.len(), 0, "failed requests (by number): {failed:?}");
    assert!(requests > 0);
    assert!(
        end.fds <= baseline.fds + 4,
        "file descriptors: {} after warm-up, {} at the end",
        baseline.fds,
        end.fds
    );
    assert!(
        end.threads <= baseline.threads + 2,
        "threads: {} after warm-up, {} at the end",
        baseline.threads,
        end.threads
    );
    let bound_kb = setting("SLUICE_SOAK_RSS_KB", 48 * 1024);
    assert!(
        end.rss_kb <= baseline.rss_kb + bound_kb,
        "memory grew by {} kB after warm-up (bound {bound_kb} kB)",
        end.rss_kb - baseline.rss_kb
    );
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0));
}
