//! Faults sluice must survive, each on real files: the output's file system filling up during
//! `sync` and `build` (a small tmpfs), a read-only output (the tmpfs remounted `ro`), sources
//! deleted or truncated while a pass reads them, a source folder that becomes unreadable
//! mid-watch (sluice run as `nobody` when the tests run as root), a backend crashing in a loop
//! under `sluice dev`, and `sluice build` stopped by SIGTERM or SIGKILL.
//!
//! The tmpfs tests need root (`mount`); elsewhere they say why they are skipped and pass.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{noise, tree_files, write_file};

/// A tmpfs of a given size mounted at a folder, unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`) at `at`, or says why it cannot.
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        if !rustix_is_root() {
            return Err("not root: cannot mount a tmpfs".into());
        }
        fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("mount cannot run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            at: at.to_path_buf(),
        })
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.at)
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn rustix_is_root() -> bool {
    // `id -u` keeps the test free of a libc dependency.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A project whose output is `out/static`, `out` being where a test mounts its file system.
fn project(files: &[(&str, Vec<u8>)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"out/static\"\n[build]\ncompress = [\"gzip\"]\n",
    )
    .unwrap();
    for (path, bytes) in files {
        write_file(&root.join("media").join(path), bytes);
    }
    (dir, root)
}

fn sluice(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Temp files and staging folders sluice may leave on the way (none may stay).
fn leftovers(root: &Path) -> Vec<String> {
    support::sluice_leftovers(root, &root.join("out/static"))
}

fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

/// Big incompressible files: three of 600 KB do not fit in 1 MiB.
fn big_sources() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("css/a.css", b"body { color: red }\n".to_vec()),
        ("img/one.png", noise(600_000, 1)),
        ("img/two.png", noise(600_000, 2)),
        ("img/three.png", noise(600_000, 3)),
    ]
}

#[test]
fn a_full_output_disk_during_sync_names_the_file_and_the_next_sync_converges() {
    let (_dir, root) = project(&big_sources());
    let disk = match Tmpfs::mount(&root.join("out"), "1m") {
        Ok(disk) => disk,
        Err(reason) => return skip(&reason),
    };
    let out = sluice(&root, &["sync"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
    assert!(
        text.contains("cannot write ") && text.contains("out/static/img/"),
        "the output file is named: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    // What was written is whole: every output file equals its source.
    for (rel, bytes) in tree_files(&root.join("out/static")) {
        if rel.ends_with(".sluice-tmp") {
            continue;
        }
        assert_eq!(
            bytes,
            fs::read(root.join("media").join(&rel)).unwrap(),
            "{rel}"
        );
    }

    // Room again: the next sync writes what is missing, and nothing of sluice's is left over.
    disk.remount("size=8m");
    let out = sluice(&root, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = tree_files(&root.join("out/static"));
    assert_eq!(written, tree_files(&root.join("media")));
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
}

#[test]
fn a_full_output_disk_during_build_leaves_the_previous_output_as_it_was() {
    let (_dir, root) = project(&[
        ("css/a.css", b"body { color: red }\n".to_vec()),
        ("img/small.png", noise(10_000, 9)),
    ]);
    let disk = match Tmpfs::mount(&root.join("out"), "1m") {
        Ok(disk) => disk,
        Err(reason) => return skip(&reason),
    };
    let out = sluice(&root, &["build", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = tree_files(&root.join("out/static"));
    assert!(
        before.contains_key("staticfiles.json"),
        "{:?}",
        before.keys()
    );

    for (rel, bytes) in big_sources() {
        write_file(&root.join("media").join(rel), bytes);
    }
    write_file(&root.join("media/css/a.css"), "body { color: blue }\n");
    let out = sluice(&root, &["build", "-q"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
    assert!(text.contains(".png"), "the file is named: {text}");
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(
        tree_files(&root.join("out/static")),
        before,
        "the previous build is untouched"
    );
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));

    // Room again: the build goes through, equal to a fresh build elsewhere.
    disk.remount("size=16m");
    let out = sluice(&root, &["build", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fresh = fresh_build(&root);
    assert_eq!(tree_files(&root.join("out/static")), fresh);
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
}

/// What `sluice build` writes from `root`'s sources into an empty output of a fresh project.
fn fresh_build(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(root.join("sluice.toml"), dir.path().join("sluice.toml")).unwrap();
    for (rel, bytes) in tree_files(&root.join("media")) {
        write_file(&dir.path().join("media").join(rel), bytes);
    }
    let out = sluice(dir.path(), &["build", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    tree_files(&dir.path().join("out/static"))
}

#[test]
fn a_read_only_output_is_a_clear_error_and_writes_nothing() {
    let (_dir, root) = project(&[("css/a.css", b"p { color: red }".to_vec())]);
    let disk = match Tmpfs::mount(&root.join("out"), "4m") {
        Ok(disk) => disk,
        Err(reason) => return skip(&reason),
    };
    let out = sluice(&root, &["sync", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    write_file(&root.join("media/css/a.css"), "p { color: blue }");
    write_file(&root.join("media/css/b.css"), "b { }");
    for i in 0..30 {
        write_file(&root.join(format!("media/css/c{i:02}.css")), "c { }");
    }
    disk.remount("ro");
    for args in [&["sync"][..], &["build"][..]] {
        let out = sluice(&root, args);
        let text = stderr(&out);
        assert!(
            matches!(out.status.code(), Some(1) | Some(2)),
            "{args:?}: {text}"
        );
        assert!(text.contains("Read-only file system"), "{args:?}: {text}");
        assert!(
            text.contains("css/b.css"),
            "{args:?} names the file: {text}"
        );
        assert!(!text.contains("panicked"), "{text}");
        // Said once after a few files, not once per file.
        let errors = text.lines().filter(|l| l.starts_with("error:")).count();
        assert!(errors <= 8, "{args:?}: {errors} error lines: {text}");
    }
    let text = stderr(&sluice(&root, &["sync"]));
    assert!(
        text.contains("more files failed the same way: Read-only file system"),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(root.join("out/static/css/a.css")).unwrap(),
        "p { color: red }"
    );
    disk.remount("rw");
    let out = sluice(&root, &["sync", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(root.join("out/static/css/a.css")).unwrap(),
        "p { color: blue }"
    );
    assert!(root.join("out/static/css/b.css").is_file());
}

/// How long any awaited event may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// The next JSON event `test` accepts (others are kept in `seen`).
fn wait_json(
    events: &std::sync::mpsc::Receiver<serde_json::Value>,
    seen: &mut Vec<serde_json::Value>,
    what: &str,
    test: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) => {
                seen.push(event.clone());
                if test(&event) {
                    return event;
                }
            }
            Err(_) => panic!("no {what} within {PATIENCE:?}; saw {seen:#?}"),
        }
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A sluice that runs on (watch, dev): asked to stop, then killed, when dropped, so a failed
/// assertion leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_source_folder_unreadable_mid_watch_keeps_its_outputs_and_is_caught_up_when_readable() {
    // Root reads anything: sluice runs as `nobody` (setpriv), the test edits as root.
    if !rustix_is_root() {
        return skip("not root: cannot run sluice as another user to be denied a folder");
    }
    // With file events, and with the poller (which must not take the folder for emptied).
    unreadable_mid_watch(&[]);
    unreadable_mid_watch(&["--poll=50"]);
}

fn unreadable_mid_watch(flags: &[&str]) {
    let polled = !flags.is_empty();
    let (_dir, root) = project(&[
        ("locked/a.css", b"a { v: 1 }".to_vec()),
        ("open/b.css", b"b { v: 1 }".to_vec()),
    ]);
    fs::create_dir_all(root.join("out")).unwrap();
    let chown = Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(chown.success());
    let mut child = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .args(["watch", "--format", "json"])
        .args(flags)
        .current_dir(&root)
        .env("HOME", &root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("SLUICE_POLL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("setpriv runs");
    let events = support::json_lines(child.stdout.take().unwrap());
    let mut run = Running(child);
    let mut seen = Vec::new();
    wait_json(&events, &mut seen, "ready", |e| e["event"] == "ready");

    // The folder goes unreadable and, meanwhile, a file in it changes and one appears.
    let locked = root.join("media/locked");
    let mode = |m: u32| {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&locked, fs::Permissions::from_mode(m)).unwrap();
    };
    mode(0o000);
    fs::write(locked.join("a.css"), "a { v: 2 }").unwrap();
    fs::write(locked.join("new.css"), "new { }").unwrap();
    // File events name the file sluice may not read (the poller sees no change it can read).
    if !polled {
        wait_json(&events, &mut seen, "an error for the folder", |e| {
            e["event"] == "change"
                && e["errors"].as_array().is_some_and(|errors| {
                    errors.iter().any(|x| {
                        x["path"].as_str().is_some_and(|p| p.contains("locked/"))
                            && x["message"]
                                .as_str()
                                .is_some_and(|m| m.contains("permission denied"))
                    })
                })
        });
    }
    // Not taken for a deletion: the output of the unreadable folder is kept.
    assert_eq!(
        fs::read_to_string(root.join("out/static/locked/a.css")).unwrap(),
        "a { v: 1 }",
        "{seen:#?}"
    );
    // An edit elsewhere goes on as usual.
    fs::write(root.join("media/open/b.css"), "b { v: 2 }").unwrap();
    wait_json(&events, &mut seen, "the edit elsewhere", |e| {
        e["changed"]
            .as_array()
            .is_some_and(|c| c.iter().any(|p| p == "open/b.css"))
    });
    assert!(
        root.join("out/static/locked/a.css").is_file(),
        "{flags:?}: the unreadable folder's output was removed: {seen:#?}"
    );

    // Readable again: no event of its own, yet sluice catches up.
    mode(0o755);
    let deadline = Instant::now() + PATIENCE;
    while !(fs::read_to_string(root.join("out/static/locked/a.css"))
        .is_ok_and(|t| t == "a { v: 2 }")
        && root.join("out/static/locked/new.css").is_file())
    {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(event) = events.recv_timeout(left.min(Duration::from_millis(200))) {
            seen.push(event);
        }
        assert!(
            Instant::now() < deadline,
            "the folder readable again was not caught up: {seen:#?}"
        );
    }
    interrupt(&run.0);
    let status = run.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    assert_eq!(
        tree_files(&root.join("out/static")),
        tree_files(&root.join("media"))
    );
}

#[test]
fn sources_truncated_and_deleted_while_a_pass_reads_them_converge_on_the_next_pass() {
    let files: Vec<(String, Vec<u8>)> = (0..120)
        .map(|i| (format!("img/f{i:03}.png"), noise(150_000, i)))
        .collect();
    let listed: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    for profile in ["sync", "build"] {
        let (_dir, root) = project(&listed);
        // A writer truncates, rewrites, deletes and recreates sources for as long as the pass
        // runs; it stops with every file whole (some new versions).
        let media = root.join("media");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (stop, media, files) = (stop.clone(), media.clone(), files.clone());
            std::thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for (i, (rel, bytes)) in files.iter().enumerate() {
                        let path = media.join(rel);
                        match (i as u64 + round) % 3 {
                            0 => {
                                let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                                f.set_len(bytes.len() as u64 / 3).unwrap();
                                fs::write(&path, noise(bytes.len(), round * 1000 + i as u64))
                                    .unwrap();
                            }
                            1 => {
                                fs::remove_file(&path).unwrap();
                                fs::write(&path, bytes).unwrap();
                            }
                            _ => {}
                        }
                    }
                    round += 1;
                }
            })
        };
        let out = sluice(&root, &[profile, "-q"]);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        let text = stderr(&out);
        assert!(matches!(out.status.code(), Some(0) | Some(1)), "{text}");
        assert!(!text.contains("panicked"), "{text}");
        // The next pass, on sources at rest, gives what a fresh one does.
        let out = sluice(&root, &[profile, "-q"]);
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        let written = tree_files(&root.join("out/static"));
        if profile == "sync" {
            assert_eq!(written, tree_files(&media), "sync converged");
        } else {
            assert_eq!(written, fresh_build(&root), "build converged");
        }
        assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
    }
}

#[test]
fn a_backend_crashing_in_a_loop_is_restarted_with_backoff_one_line_per_crash() {
    let (_dir, root) = project(&[("a.css", b"a".to_vec())]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "dev",
            "--port",
            "0",
            "--",
            "python3",
            "-c",
            "import sys; sys.exit(3)",
        ])
        .current_dir(&root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap());
    let mut run = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Four crashes: restarted after 0.5 s, 1 s, 2 s, 4 s (doubling), each told in one line.
    let mut seen: Vec<String> = Vec::new();
    let mut crashes: Vec<String> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while crashes.len() < 4 {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no 4 crashes within {PATIENCE:?}: {seen:#?}"));
        if line.contains("exited") {
            crashes.push(line.clone());
        }
        seen.push(line);
    }
    let cpu = cpu_seconds(run.0.id());
    interrupt(&run.0);
    let status = run.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    let delays: Vec<&str> = crashes
        .iter()
        .map(|l| l.rsplit_once("restarting in ").map_or("", |(_, d)| d))
        .collect();
    assert_eq!(delays, ["500 ms", "1.0 s", "2.0 s", "4.0 s"], "{seen:#?}");
    for crash in &crashes {
        assert!(crash.contains("the backend exited with code 3"), "{crash}");
    }
    // Nothing else about a crash: the start lines and the crash lines, nothing repeated.
    let started = seen
        .iter()
        .filter(|l| l.contains("started python3"))
        .count();
    assert_eq!(started, 4, "{seen:#?}");
    // No busy loop: 7.5 s of waiting cost sluice well under a second of CPU time.
    assert!(cpu < 1.0, "sluice used {cpu} s of CPU: {seen:#?}");
}

/// User plus system CPU seconds of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    ticks / hz
}

#[test]
fn sigterm_and_sigkill_during_a_build_leave_nothing_and_the_next_build_is_right() {
    for signal in ["-TERM", "-KILL"] {
        let files: Vec<(String, Vec<u8>)> = (0..300)
            .map(|i| {
                let css = format!(".c{i} {{ color: #{i:06x} }}\n").repeat(400);
                (format!("css/f{i:03}.css"), css.into_bytes())
            })
            .collect();
        let listed: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        let (_dir, root) = project(&listed);
        let out = sluice(&root, &["build", "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut landed = false;
        for attempt in 0..20u64 {
            // New bytes in every file: the build has work to be caught in.
            for (rel, bytes) in &files {
                let mut bytes = bytes.clone();
                bytes.extend(format!("/* {attempt} */\n").bytes());
                write_file(&root.join("media").join(rel), bytes);
            }
            let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
                .args(["build", "-q"])
                .current_dir(&root)
                .env_remove("DJANGO_SETTINGS_MODULE")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Kill it once it has begun staging (or, on later attempts, a little earlier).
            let deadline = Instant::now() + PATIENCE;
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                let staging = fs::read_dir(root.join("out"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("sluice-staging"));
                if staging || attempt >= 10 {
                    let _ = Command::new("kill")
                        .args([signal, &child.id().to_string()])
                        .status();
                    break child.wait().unwrap();
                }
                assert!(
                    Instant::now() < deadline,
                    "the build neither staged nor ended"
                );
                std::thread::sleep(Duration::from_millis(1));
            };
            use std::os::unix::process::ExitStatusExt;
            if status.signal().is_some() {
                landed = true;
                break;
            }
        }
        assert!(
            landed,
            "{signal}: no build was caught by the signal in 20 attempts"
        );
        let out = sluice(&root, &["build", "-q"]);
        assert!(out.status.success(), "{signal}: {}", stderr(&out));
        assert_eq!(
            tree_files(&root.join("out/static")),
            fresh_build(&root),
            "{signal}"
        );
        assert!(
            leftovers(&root).is_empty(),
            "{signal}: {:?}",
            leftovers(&root)
        );
    }
}
