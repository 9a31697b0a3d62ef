//! Source folders on an event-less mount (`bindfs`, written underneath as a Docker Desktop
//! host writes): `sluice dev` serves a static file only after checking its inputs there (its
//! source, a bundle's members, a compiled file's imports), so a request right after an edit
//! underneath gets the new bytes; the files the page loaded are polled often, so the browser
//! hears of an edit; a second start over the mount opens no unchanged file and lists each
//! folder once (strace). The watch itself on the mount is in `tests/watch.rs`.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use support::dev::{DevRun, EventStream};
use support::fuse::Mount;
use support::write_file;

/// A project whose `media/` is a bindfs mount of `under/`, with a bundle of a plain member and
/// an SCSS member importing a partial; the backend is Python's `http.server`. The mount is
/// dropped (unmounted) first.
fn project_on_a_mount() -> (tempfile::TempDir, PathBuf, Mount) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"static\"\nstatic_url = \"/static/\"\n\
         [bundles.css.one]\nfiles = [\"css/a.css\", \"css/site.scss\"]\noutput = \"css/one.css\"\n\
         [dev]\ncommand = [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n",
    )
    .unwrap();
    let under = root.join("under");
    write_file(&under.join("css/a.css"), "a { v: 1 }\n");
    write_file(&under.join("css/_vars.scss"), "$c: red;\n");
    write_file(
        &under.join("css/site.scss"),
        "@import \"vars\";\nbody { color: $c; }\n",
    );
    write_file(&under.join("img/logo.svg"), "<svg/>");
    let mount = Mount::bindfs(&under, &root.join("media"));
    (dir, root, mount)
}

#[test]
fn a_request_right_after_an_edit_underneath_gets_the_new_bytes() {
    let (_dir, root, mount) = project_on_a_mount();
    let under = mount.under.clone();
    let mut run = DevRun::start(&root, &[], &[]);
    let slow = run.wait_event("slow_root");
    assert!(slow["path"].as_str().unwrap().ends_with("media"), "{slow}");
    let ready = run.wait_event("ready");
    assert_eq!(ready["backend"], "poll", "{ready}");

    // A copy: each request right after the write underneath, no waiting in between.
    assert_eq!(run.get("/static/css/a.css").text(), "a { v: 1 }\n");
    for v in 2..6 {
        let text = format!("a {{ v: {v} }} /* {} */\n", "x".repeat(v));
        fs::write(under.join("css/a.css"), &text).unwrap();
        let got = run.get("/static/css/a.css");
        assert_eq!((got.status, got.text()), (200, text));
    }
    // A bundle: its member edited underneath.
    fs::write(under.join("css/a.css"), "a { v: bundled }\n").unwrap();
    let bundle = run.get("/static/css/one.css").text();
    assert!(bundle.contains("v: bundled"), "{bundle}");
    // A compiled file: its partial edited underneath.
    assert!(run.get("/static/css/site.css").text().contains("red"));
    fs::write(under.join("css/_vars.scss"), "$c: blue;\n").unwrap();
    let compiled = run.get("/static/css/site.css").text();
    assert!(compiled.contains("blue"), "{compiled}");
    let bundle = run.get("/static/css/one.css").text();
    assert!(bundle.contains("blue"), "{bundle}");
    // A file created underneath, asked for before any sweep could have seen it.
    write_file(&under.join("img/new.svg"), "<svg>new</svg>");
    let new = run.get("/static/img/new.svg");
    assert_eq!((new.status, new.text().as_str()), (200, "<svg>new</svg>"));

    // Live reload: an edit underneath to a file this page loaded reaches the browser.
    let events = EventStream::open(run.port);
    fs::write(under.join("css/a.css"), "a { v: live }\n").unwrap();
    let (name, data) = loop {
        let (name, data) = events.next();
        if name != "hello" {
            break (name, data);
        }
    };
    assert_eq!(name, "css", "{data}");
    assert!(data.contains("/static/css/a.css"), "{data}");
    assert_eq!(
        fs::read_to_string(root.join("static/css/a.css")).unwrap(),
        "a { v: live }\n"
    );
    run.signal("-INT");
    assert!(run.wait_exit().success());
}

/// Sets the mtime of every file and folder under `dir` an hour back: a tree edited a while
/// ago, whose folders no poller needs to list again as "too recent to trust".
fn age(dir: &Path) {
    let hour_ago =
        filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(3600));
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            age(&path);
        }
        filetime::set_file_mtime(&path, hour_ago).unwrap();
    }
    filetime::set_file_mtime(dir, hour_ago).unwrap();
}

#[test]
fn a_second_start_over_the_mount_opens_no_unchanged_file_and_lists_each_folder_once() {
    let (_dir, root, mount) = project_on_a_mount();
    for i in 0..40 {
        write_file(
            &mount.under.join(format!("img/set{}/{i}.png", i % 4)),
            format!("png {i}"),
        );
    }
    age(&mount.under);
    support::sluice()
        .args(["sync", "-q"])
        .current_dir(&root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .assert()
        .success();

    let trace = root.join("trace.txt");
    let mut child = Command::new("strace")
        // `-ff`: one file per thread, so no call is split into `<unfinished ...>` and
        // `<... resumed>` lines by another thread's (a split listing went uncounted).
        .args(["-ff", "-y", "-e", "trace=openat,getdents64", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .args(["watch", "--format", "json"])
        .current_dir(&root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("SLUICE_POLL")
        .stdout(Stdio::piped())
        .spawn()
        .expect("strace runs (Debian package strace)");
    let events = support::json_lines(child.stdout.take().unwrap());
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(30))
            .expect("a ready event");
        if event["event"] == "ready" {
            assert_eq!(event["backend"], "poll", "{event}");
            break;
        }
    }
    // A few sweeps of the (unchanged) tree after the start.
    std::thread::sleep(Duration::from_millis(1500));
    // Ctrl-C to sluice (strace's child); strace ends with it.
    let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let sluice = children
        .split_whitespace()
        .next()
        .expect("sluice runs under strace");
    assert!(
        Command::new("kill")
            .args(["-INT", sluice])
            .status()
            .unwrap()
            .success()
    );
    child.wait().unwrap();
    let mut text = String::new();
    for entry in fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("trace.txt."))
        {
            text.push_str(&fs::read_to_string(&path).unwrap());
        }
    }
    assert!(!text.is_empty(), "no strace output");

    let media = root.join("media").display().to_string();
    let opened: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("openat(") && l.contains(&media))
        .filter(|l| !l.contains("O_DIRECTORY") && !l.contains("ENOENT"))
        .collect();
    assert!(opened.is_empty(), "opened sources: {opened:#?}");
    // One listing ends with a getdents64 that returns 0: count them per folder.
    let mut listings: std::collections::BTreeMap<String, usize> = Default::default();
    for line in text
        .lines()
        .filter(|l| l.contains("getdents64(") && l.ends_with("= 0"))
    {
        if let Some(dir) = line
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(dir, _)| dir.to_string())
            .filter(|d| d.starts_with(&media))
        {
            *listings.entry(dir).or_default() += 1;
        }
    }
    let folders = [
        "",
        "/css",
        "/img",
        "/img/set0",
        "/img/set1",
        "/img/set2",
        "/img/set3",
    ];
    for folder in folders {
        let dir = format!("{media}{folder}");
        assert_eq!(listings.get(&dir), Some(&1), "{dir} listed: {listings:#?}");
    }
    assert_eq!(listings.len(), folders.len(), "{listings:#?}");
}
