//! `sluice watch` on real trees: the output converges to an exact mirror after edits, editor
//! save patterns, checkouts, folder renames, a vanished source folder, in native and poll mode,
//! when the kernel's watch limit forces polling, and on an event-less FUSE mount (`bindfs`)
//! whose changes are made underneath it. Synchronisation is by readiness events and
//! by waiting for a condition on disk, never by sleeping a guessed time.

#[path = "../../sluice-assets/tests/support/mod.rs"]
mod asset_support;
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::Value;
use support::{tree_files, write_file};

const PATIENCE: Duration = Duration::from_secs(20);

struct Watching {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

/// A project with `media/` (source) and `static/` (output), configured by sluice.toml.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"static\"\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("media")).unwrap();
    (dir, root)
}

impl Watching {
    fn start(root: &Path, args: &[&str]) -> Watching {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.args(["watch", "--format", "json"])
            .args(args)
            .env_remove("SLUICE_POLL");
        Watching::spawn(cmd, root)
    }

    fn spawn(mut cmd: Command, root: &Path) -> Watching {
        let mut child = cmd
            .current_dir(root)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let events = support::json_lines(stdout);
        let mut watching = Watching {
            child,
            events,
            seen: Vec::new(),
        };
        watching.wait_event("ready");
        watching
    }

    /// Waits for the next event named `name` (collecting everything before it).
    fn wait_event(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if event["event"] == name {
                        return event;
                    }
                }
                Err(_) => panic!(
                    "no `{name}` event within {PATIENCE:?}; saw {:#?}",
                    self.seen
                ),
            }
        }
    }

    fn drain(&mut self) {
        self.seen.extend(self.events.try_iter());
    }

    /// Stops with SIGINT like Ctrl-C: exit 0, a `stopped` event, state saved.
    fn stop(mut self) -> Vec<Value> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        self.drain();
        while let Ok(event) = self.events.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(event);
        }
        assert_eq!(status.code(), Some(0), "events: {:#?}", self.seen);
        assert!(
            self.seen.iter().any(|e| e["event"] == "stopped"),
            "{:#?}",
            self.seen
        );
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Watching {
    /// A failed test must not leave a watcher running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Like `tree_files`, but `None` when the tree changes under the reader (sluice is still busy).
fn try_tree(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Option<()> {
        for entry in fs::read_dir(dir).ok()? {
            let entry = entry.ok()?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let meta = fs::metadata(&path).ok()?;
            if meta.is_dir() {
                walk(&path, &key, out)?;
            } else {
                out.insert(key, fs::read(&path).ok()?);
            }
        }
        Some(())
    }
    let mut out = BTreeMap::new();
    if dir.is_dir() {
        walk(dir, "", &mut out)?;
    }
    Some(out)
}

/// The files sluice must mirror: everything under media/ that Django's default ignores keep.
fn expected(root: &Path) -> BTreeMap<String, Vec<u8>> {
    tree_files(&root.join("media"))
        .into_iter()
        .filter(|(path, _)| {
            path.split('/')
                .all(|part| !part.starts_with('.') && !part.ends_with('~') && part != "CVS")
        })
        .collect()
}

fn output(root: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    try_tree(&root.join("static"))
}

/// Waits until the output mirrors the sources exactly; panics with the difference otherwise.
fn converges(root: &Path) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (want, have) = (expected(root), output(root));
        if have.as_ref() == Some(&want) {
            return;
        }
        if Instant::now() > deadline {
            let have = have.unwrap_or_else(|| tree_files(&root.join("static")));
            support::assert_same_tree("media", &want, "static", &have);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn edits(root: &Path) {
    edits_in(&root.join("media"), root);
}

/// Creates, edits, renames and deletes files and folders in `media` (the source folder, or
/// the folder underneath its mount), waiting for `root`'s output to converge half-way.
fn edits_in(media: &Path, root: &Path) {
    let media = media.to_path_buf();
    write_file(&media.join("css/site.css"), "body{}");
    write_file(&media.join("css/site.css"), "body{color:red}");
    write_file(&media.join("js/app.js"), "var a;");
    fs::rename(media.join("js/app.js"), media.join("js/main.js")).unwrap();
    // A folder created with content (before its watch can exist), then renamed, then edited.
    fs::create_dir_all(media.join("img/icons/small")).unwrap();
    write_file(&media.join("img/icons/small/a.svg"), "<svg/>");
    fs::rename(media.join("img"), media.join("images")).unwrap();
    write_file(&media.join("images/icons/small/b.svg"), "<svg></svg>");
    write_file(&media.join("tmp/x.txt"), "x");
    fs::remove_dir_all(media.join("tmp")).unwrap();
    // A file replaced by a folder of the same name.
    write_file(&media.join("swap"), "file");
    converges(root);
    fs::remove_file(media.join("swap")).unwrap();
    write_file(&media.join("swap/inner.txt"), "now a folder");
}

#[test]
fn native_events_keep_an_exact_mirror() {
    let (_dir, root) = project();
    write_file(&root.join("media/css/old.css"), "old");
    let watching = Watching::start(&root, &[]);
    assert_eq!(watching.seen.last().unwrap()["backend"], "native");
    converges(&root);
    edits(&root);
    fs::remove_file(root.join("media/css/old.css")).unwrap();
    converges(&root);
    let events = watching.stop();
    assert!(events.iter().any(|e| e["event"] == "change"));
    assert!(
        fs::read_dir(root.join(".sluice")).unwrap().count() >= 1,
        "state saved"
    );
}

#[test]
fn polling_keeps_an_exact_mirror() {
    let (_dir, root) = project();
    let watching = Watching::start(&root, &["--poll=20"]);
    assert_eq!(watching.seen.last().unwrap()["backend"], "poll");
    edits(&root);
    converges(&root);
    watching.stop();
}

#[test]
fn sluice_poll_environment_variable_forces_polling() {
    let (_dir, root) = project();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["watch", "--format", "json"])
        .env("SLUICE_POLL", "30");
    let watching = Watching::spawn(cmd, &root);
    let ready = watching.seen.last().unwrap().clone();
    assert_eq!(
        (ready["backend"].as_str(), ready["poll_ms"].as_u64()),
        (Some("poll"), Some(30))
    );
    write_file(&root.join("media/a.txt"), "a");
    converges(&root);
    watching.stop();
}

#[test]
fn editor_save_patterns_leave_no_scratch_files() {
    let (_dir, root) = project();
    let media = root.join("media");
    write_file(&media.join("css/site.css"), "v1");
    write_file(&media.join("js/app.js"), "v1");
    let watching = Watching::start(&root, &[]);
    // vim: probe file 4913, swap file, backup by rename, write new, remove backup.
    write_file(&media.join("css/4913"), "");
    fs::remove_file(media.join("css/4913")).unwrap();
    write_file(&media.join("css/.site.css.swp"), "swap");
    fs::rename(media.join("css/site.css"), media.join("css/site.css~")).unwrap();
    write_file(&media.join("css/site.css"), "v2 from vim");
    fs::remove_file(media.join("css/site.css~")).unwrap();
    fs::remove_file(media.join("css/.site.css.swp")).unwrap();
    // JetBrains safe write: temp, old, swap in, delete old.
    write_file(&media.join("js/app.js___jb_tmp___"), "v2 from pycharm");
    fs::rename(media.join("js/app.js"), media.join("js/app.js___jb_old___")).unwrap();
    fs::rename(media.join("js/app.js___jb_tmp___"), media.join("js/app.js")).unwrap();
    fs::remove_file(media.join("js/app.js___jb_old___")).unwrap();
    // An atomic-rename save (most other editors).
    write_file(&media.join("css/.site.css.tmp123"), "v3 atomic");
    fs::rename(
        media.join("css/.site.css.tmp123"),
        media.join("css/site.css"),
    )
    .unwrap();
    converges(&root);
    assert_eq!(
        fs::read_to_string(root.join("static/css/site.css")).unwrap(),
        "v3 atomic"
    );
    watching.stop();
}

#[test]
fn a_checkout_of_thousands_of_files_is_batched() {
    let (_dir, root) = project();
    let mut watching = Watching::start(&root, &[]);
    for i in 0..3000 {
        write_file(
            &root.join(format!("media/pkg{:02}/file{i:04}.js", i % 30)),
            format!("// {i}"),
        );
    }
    converges(&root);
    watching.drain();
    let sets = watching
        .seen
        .iter()
        .filter(|e| e["event"] == "change")
        .count();
    assert!(sets < 100, "3 000 files arrived in {sets} change sets");
    watching.stop();
}

#[test]
fn a_vanished_source_folder_is_reported_kept_and_resumed() {
    let (_dir, root) = project();
    write_file(&root.join("media/css/a.css"), "a");
    let mut watching = Watching::start(&root, &[]);
    converges(&root);
    fs::rename(root.join("media"), root.join("media.away")).unwrap();
    let warning = watching.wait_event("warning");
    assert!(
        warning["message"].as_str().unwrap().contains("disappeared"),
        "{warning}"
    );
    assert_eq!(
        fs::read_to_string(root.join("static/css/a.css")).unwrap(),
        "a",
        "outputs kept"
    );
    write_file(&root.join("media.away/css/b.css"), "b");
    fs::rename(root.join("media.away"), root.join("media")).unwrap();
    watching.wait_event("root_back");
    converges(&root);
    // Deleted and recreated with other content.
    fs::remove_dir_all(root.join("media")).unwrap();
    write_file(&root.join("media/js/new.js"), "new");
    converges(&root);
    watching.stop();
}

/// Runs sluice in a user namespace whose inotify watch limit is 3: native watching of the
/// tree's folders must fail and fall back to polling, with a warning, and still mirror.
#[cfg(target_os = "linux")]
#[test]
fn the_watch_limit_falls_back_to_polling() {
    let (_dir, root) = project();
    for d in ["a", "b", "c", "d", "e/f"] {
        write_file(&root.join(format!("media/{d}/x.txt")), d);
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "sh", "-c"])
        .arg("echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" watch --format json")
        .arg(env!("CARGO_BIN_EXE_sluice"));
    let mut watching = Watching::spawn(cmd, &root);
    assert_eq!(
        watching.seen.last().unwrap()["backend"],
        "poll",
        "{:#?}",
        watching.seen
    );
    let warning = watching
        .seen
        .iter()
        .find(|e| e["event"] == "warning")
        .expect("one warning");
    assert!(
        warning["message"].as_str().unwrap().contains("limit"),
        "{warning}"
    );
    write_file(&root.join("media/e/f/y.txt"), "new");
    converges(&root);
    watching.drain();
    assert_eq!(
        watching
            .seen
            .iter()
            .filter(|e| e["event"] == "warning")
            .count(),
        1
    );
    watching.stop();
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, usize, u8),
    Delete(usize, usize),
    Rename(usize, usize, usize, usize),
    RenameDir(usize, usize),
    RemoveDir(usize),
}

const DIRS: [&str; 4] = ["", "a", "a/b", "c"];
const NAMES: [&str; 3] = ["x.css", "y.js", "z.png"];

fn op() -> impl Strategy<Value = Op> {
    let d = 0..DIRS.len();
    let n = 0..NAMES.len();
    prop_oneof![
        4 => (d.clone(), n.clone(), any::<u8>()).prop_map(|(d, n, c)| Op::Write(d, n, c)),
        2 => (d.clone(), n.clone()).prop_map(|(d, n)| Op::Delete(d, n)),
        2 => (d.clone(), n.clone(), d.clone(), n.clone()).prop_map(|(a, b, c, e)| Op::Rename(a, b, c, e)),
        1 => (1..DIRS.len(), 1..DIRS.len()).prop_map(|(a, b)| Op::RenameDir(a, b)),
        1 => (1..DIRS.len()).prop_map(Op::RemoveDir),
    ]
}

fn file(media: &Path, d: usize, n: usize) -> PathBuf {
    media.join(DIRS[d]).join(NAMES[n])
}

/// Applies one operation; operations that make no sense in the current tree simply fail.
fn apply(media: &Path, op: &Op) {
    let _ = match op {
        Op::Write(d, n, c) => {
            let path = file(media, *d, *n);
            fs::create_dir_all(path.parent().unwrap())
                .and_then(|()| fs::write(&path, vec![b'a' + c % 26; 1 + *c as usize]))
        }
        Op::Delete(d, n) => fs::remove_file(file(media, *d, *n)),
        Op::Rename(a, b, c, e) => {
            let to = file(media, *c, *e);
            fs::create_dir_all(to.parent().unwrap())
                .and_then(|()| fs::rename(file(media, *a, *b), to))
        }
        Op::RenameDir(a, b) => fs::rename(
            media.join(DIRS[*a]),
            media.join(format!("{}-moved", DIRS[*b])),
        ),
        Op::RemoveDir(d) => fs::remove_dir_all(media.join(DIRS[*d])),
    };
}

fn converge_after(ops: &[Op], args: &[&str]) {
    let (_dir, root) = project();
    let media = root.join("media");
    write_file(&media.join("a/b/x.css"), "seed");
    let watching = Watching::start(&root, args);
    for op in ops {
        apply(&media, op);
    }
    converges(&root);
    watching.stop();
}

proptest! {
    // 12 cases per mode in CI; PROPTEST_CASES=200 for a deeper local run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(12),
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_edits_converge_natively(ops in proptest::collection::vec(op(), 1..40)) {
        converge_after(&ops, &[]);
    }

    #[test]
    fn random_edits_converge_when_polling(ops in proptest::collection::vec(op(), 1..40)) {
        converge_after(&ops, &["--poll=20"]);
    }
}

/// Waits until `path` exists and `test` holds on its text.
fn waits_for(path: &Path, what: &str, test: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = fs::read_to_string(path)
            && test(&text)
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{}: not {what} within {PATIENCE:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn mtime(path: &Path) -> std::time::SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn dev_profile_follows_partials_and_bundle_members_and_survives_an_error() {
    let (_dir, root) = project();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"static\"\n\
         [bundles.css.one]\nfiles = [\"css/site.scss\", \"css/a.css\"]\noutput = \"css/one.min.css\"\n\
         [bundles.css.two]\nfiles = [\"css/b.css\"]\noutput = \"css/two.min.css\"\n",
    )
    .unwrap();
    let media = root.join("media");
    write_file(&media.join("css/_vars.scss"), "$c: red;\n");
    write_file(
        &media.join("css/site.scss"),
        "@import \"vars\";\nbody { color: $c; }\n",
    );
    write_file(&media.join("css/a.css"), "a { x: 1; }");
    write_file(&media.join("css/b.css"), "b { x: 2; }");
    let mut w = Watching::start(&root, &[]);
    let out = root.join("static");
    assert!(
        fs::read_to_string(out.join("css/site.css"))
            .unwrap()
            .contains("red")
    );
    let two = mtime(&out.join("css/two.min.css"));

    // A partial: its importer and the bundle the importer is in.
    write_file(&media.join("css/_vars.scss"), "$c: blue;\n");
    waits_for(&out.join("css/site.css"), "recompiled", |t| {
        t.contains("blue")
    });
    waits_for(&out.join("css/one.min.css"), "rebuilt", |t| {
        t.contains("blue")
    });
    // A plain member: only its bundle.
    write_file(&media.join("css/a.css"), "a { x: 10; }");
    waits_for(&out.join("css/one.min.css"), "rebuilt", |t| {
        t.contains("x: 10")
    });
    assert_eq!(
        two,
        mtime(&out.join("css/two.min.css")),
        "an unaffected bundle is not rewritten"
    );

    // An error: reported with its place, the last good output stays; then fixed.
    write_file(
        &media.join("css/site.scss"),
        "@import \"vars\";\nbody { color: $c;\n",
    );
    let event = loop {
        let event = w.wait_event("derived");
        if event["errors"].as_array().is_some_and(|e| !e.is_empty()) {
            break event;
        }
    };
    let error = &event["errors"][0];
    assert!(
        error["file"]
            .as_str()
            .unwrap()
            .ends_with("media/css/site.scss"),
        "{event}"
    );
    assert!(error["line"].as_u64().is_some(), "{event}");
    assert!(
        fs::read_to_string(out.join("css/site.css"))
            .unwrap()
            .contains("blue")
    );
    write_file(
        &media.join("css/site.scss"),
        "@import \"vars\";\nbody { color: $c; margin: 0; }\n",
    );
    waits_for(&out.join("css/site.css"), "fixed", |t| {
        t.contains("margin: 0")
    });
    waits_for(&out.join("css/one.min.css"), "rebuilt", |t| {
        t.contains("margin: 0")
    });
    w.stop();
}

/// A project whose source folder `media/` is a `bindfs` mount of `under/`: what is written in
/// `under/` raises no file event on `media/`, as on a Docker Desktop bind mount written by the
/// host. The mount goes last, so it is dropped (unmounted) first.
fn mounted_project() -> (tempfile::TempDir, PathBuf, support::fuse::Mount) {
    let (dir, root) = project();
    let mount = support::fuse::Mount::bindfs(&root.join("under"), &root.join("media"));
    (dir, root, mount)
}

#[test]
fn a_root_on_an_event_less_mount_is_detected_and_polled() {
    let (_dir, root, mount) = mounted_project();
    write_file(&mount.under.join("css/old.css"), "old");
    let watching = Watching::start(&root, &[]);
    let slow = watching
        .seen
        .iter()
        .find(|e| e["event"] == "slow_root")
        .unwrap_or_else(|| panic!("no slow_root event: {:#?}", watching.seen));
    assert!(slow["path"].as_str().unwrap().ends_with("media"), "{slow}");
    assert!(
        slow["reason"].as_str().unwrap().contains("fuse mount"),
        "{slow}"
    );
    let ready = watching.seen.last().unwrap();
    assert_eq!(ready["backend"], "poll", "{ready}");
    assert_eq!(ready["roots"][0]["backend"], "poll", "{ready}");
    assert_eq!(ready["roots"][0]["remote"], true, "{ready}");
    converges(&root);
    // Everything happens underneath, where no event reaches the mount.
    edits_in(&mount.under, &root);
    fs::remove_file(mount.under.join("css/old.css")).unwrap();
    converges(&root);
    watching.stop();
}

#[test]
fn a_mounted_root_and_a_local_one_are_watched_in_one_watch() {
    let (_dir, root, mount) = mounted_project();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\", { path = \"vendor\", prefix = \"vendor\" }]\noutput = \"static\"\n",
    )
    .unwrap();
    write_file(&root.join("vendor/v.js"), "v1");
    write_file(&mount.under.join("a.css"), "a1");
    let watching = Watching::start(&root, &[]);
    let ready = watching.seen.last().unwrap().clone();
    assert_eq!(ready["backend"], "mixed", "{ready}");
    assert_eq!(ready["roots"][1]["backend"], "native", "{ready}");
    write_file(&root.join("vendor/v.js"), "v2");
    write_file(&mount.under.join("a.css"), "a2");
    waits_for(&root.join("static/vendor/v.js"), "updated", |t| t == "v2");
    waits_for(&root.join("static/a.css"), "updated", |t| t == "a2");
    watching.stop();

    // `--no-poll` forbids the choice: the mounted root is watched natively, with a warning
    // that says what will be missed.
    let watching = Watching::start(&root, &["--no-poll"]);
    let warning = watching
        .seen
        .iter()
        .find(|e| e["event"] == "warning")
        .unwrap_or_else(|| panic!("no warning: {:#?}", watching.seen));
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("will be missed"),
        "{warning}"
    );
    assert_eq!(watching.seen.last().unwrap()["backend"], "native");
    watching.stop();

    // So does `poll = false` in the configuration, which `sluice config` shows with its line.
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"static\"\npoll = false\n",
    )
    .unwrap();
    let shown = support::sluice()
        .arg("config")
        .current_dir(&root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains("never by file system") && shown.contains("sluice.toml:3"),
        "{shown}"
    );
    let watching = Watching::start(&root, &[]);
    assert_eq!(watching.seen.last().unwrap()["backend"], "native");
    assert!(watching.seen.iter().any(|e| e["event"] == "warning"));
    watching.stop();
}

fn converge_on_the_mount_after(ops: &[Op]) {
    let (_dir, root, mount) = mounted_project();
    write_file(&mount.under.join("a/b/x.css"), "seed");
    let watching = Watching::start(&root, &[]);
    for op in ops {
        apply(&mount.under, op);
    }
    converges(&root);
    watching.stop();
}

proptest! {
    // The same random sequences, made underneath the event-less mount; 12 cases in CI.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(12),
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_edits_underneath_a_mount_converge(ops in proptest::collection::vec(op(), 1..40)) {
        converge_on_the_mount_after(&ops);
    }
}

/// The compile rule in a watch: a template edit that adds a `static` reference compiles the
/// source behind it; one that drops it removes the compiled file; a package file in the
/// project's `node_modules` that a compile read is watched (editing it recompiles).
#[test]
fn a_template_edit_asks_for_a_compile_and_a_package_edit_recompiles() {
    template_and_package_edits(&[]);
}

/// The same when everything is polled (`--poll`: slow mounts, Docker on macOS): the template
/// folders and the package folders a compile read are polled like the roots.
#[test]
fn under_poll_a_template_edit_asks_for_a_compile_and_a_package_edit_recompiles() {
    template_and_package_edits(&["--poll=20"]);
}

fn template_and_package_edits(args: &[&str]) {
    let (_dir, root) = project();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"static\"\n[compile]\ntemplates = [\"templates\"]\n",
    )
    .unwrap();
    let media = root.join("media");
    write_file(
        &media.join("css/site.scss"),
        "@use 'pkg/colors' as c;\nbody { color: c.$main; }\n",
    );
    write_file(&root.join("node_modules/pkg/_colors.scss"), "$main: red;\n");
    write_file(&root.join("templates/base.html"), "<p>nothing yet</p>\n");
    let _w = Watching::start(&root, args);
    let out = root.join("static");
    assert!(out.join("css/site.scss").is_file());
    assert!(
        !out.join("css/site.css").exists(),
        "nothing asks for it yet"
    );

    write_file(
        &root.join("templates/base.html"),
        "{% load static %}<link href=\"{% static 'css/site.css' %}\">\n",
    );
    waits_for(&out.join("css/site.css"), "compiled", |t| t.contains("red"));
    write_file(
        &root.join("node_modules/pkg/_colors.scss"),
        "$main: blue;\n",
    );
    waits_for(&out.join("css/site.css"), "recompiled", |t| {
        t.contains("blue")
    });
    assert!(!out.join("node_modules").exists());

    write_file(&root.join("templates/base.html"), "<p>gone</p>\n");
    let deadline = Instant::now() + PATIENCE;
    while out.join("css/site.css").exists() {
        assert!(Instant::now() < deadline, "css/site.css not removed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// LESS under `--poll`: a package file a `~pkg/…` import read (the real `lessc`, the
/// project's `node_modules`) is polled, and editing it recompiles the importer.
#[test]
fn under_poll_a_less_package_import_edit_recompiles() {
    let modules = asset_support::npm_packages("less-v1", &["less@4.2.0"]);
    let (_dir, root) = project();
    fs::write(
        root.join("sluice.toml"),
        "sources = [\"media\"]\noutput = \"static\"\n[compile]\nentries = [\"css/*.less\"]\n",
    )
    .unwrap();
    let bin = root.join("node_modules/.bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(modules.join("less/bin/lessc"), bin.join("lessc")).unwrap();
    write_file(&root.join("node_modules/pkg/less/vars.less"), "@c: red;\n");
    write_file(
        &root.join("media/css/site.less"),
        "@import \"~pkg/less/vars\";\n.a { color: @c; }\n",
    );
    // Written a while ago: the poller looks again at files younger than its clock window,
    // which would recompile site.less whatever it watches.
    let past = filetime::FileTime::from_unix_time(1_700_000_000, 0);
    for file in ["media/css/site.less", "sluice.toml"] {
        filetime::set_file_mtime(root.join(file), past).unwrap();
    }
    let _w = Watching::start(&root, &["--poll=20"]);
    let out = root.join("static/css/site.css");
    waits_for(&out, "compiled", |t| t.contains("red"));
    write_file(&root.join("node_modules/pkg/less/vars.less"), "@c: blue;\n");
    waits_for(&out, "recompiled", |t| t.contains("blue"));
}
