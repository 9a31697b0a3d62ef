//! Output roots as they are found in the wild: spelled in several ways (`static`, `static/`,
//! `./static`, `sub/../static`: one record and one lock), a STATIC_ROOT that is a symlink to a
//! folder on another filesystem (a mounted volume: the build stages beside the real folder),
//! and a build whose commit fails part-way (a subfolder on another filesystem, which renames
//! cannot reach): the files it could not replace stay sluice's, so the next run does not call
//! them foreign.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{noise, tree_files, write_file};

const CONFIG: &str = r#"sources = ["media"]
output = "static"

[bundles.css.site]
files = ["css/*.css"]
output = "bundles/site.css"

[build]
compress = ["gzip"]
"#;

fn sources() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for i in 0..6 {
        files.insert(
            format!("css/c{i}.css"),
            format!(".c{i} {{ background: url(../img/i{i}.png); }}\n")
                .repeat(20)
                .into_bytes(),
        );
        files.insert(format!("img/i{i}.png"), noise(500, i));
        files.insert(
            format!("js/j{i}.js"),
            format!("var j{i} = {i};\n").repeat(30).into_bytes(),
        );
    }
    files
}

/// A project with [`sources`] in `media/` and [`CONFIG`].
fn project(root: &Path) {
    fs::write(root.join("sluice.toml"), CONFIG).unwrap();
    for (logical, bytes) in sources() {
        write_file(&root.join("media").join(logical), bytes);
    }
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .env_remove("SLUICE_POLL");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap()
}

fn run_ok(dir: &Path, args: &[&str]) {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "sluice {args:?} exited with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `args` writes into the empty output of a fresh copy of the project.
fn fresh(args: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    run_ok(dir.path(), args);
    tree_files(&dir.path().join("static"))
}

/// The `.rec` files in `.sluice/`: one per output root.
fn records(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join(".sluice"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rec"))
        .collect();
    names.sort();
    names
}

/// A folder on another filesystem than the temp folder: `/dev/shm` (a tmpfs on Linux).
fn elsewhere() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in("/dev/shm").expect("/dev/shm (a tmpfs) is writable");
    let here = tempfile::tempdir().unwrap();
    let dev = |p: &Path| fs::metadata(p).unwrap().dev();
    assert_ne!(
        dev(dir.path()),
        dev(here.path()),
        "this test needs /dev/shm on another filesystem than {} (set TMPDIR elsewhere)",
        here.path().display()
    );
    dir
}

/// One output root however the configuration or `--output` spells it: one record, one lock.
/// (A second record took the first's files for someone else's — a build after a sync failed
/// with "not written by sluice" — and a second lock let two processes write there at once.)
#[test]
fn one_output_root_spelled_differently_is_one_record_and_one_lock() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    fs::create_dir_all(root.join("sub")).unwrap();
    run_ok(root, &["sync", "-q"]);
    for (i, output) in ["static/", "./static", "sub/../static", "static//"]
        .iter()
        .enumerate()
    {
        let command = if i % 2 == 0 { "build" } else { "sync" };
        run_ok(root, &[command, "-q", "--output", output]);
        assert_eq!(records(root).len(), 1, "{output}: {:?}", records(root));
    }
    // From a subfolder, with a path that climbs out of it.
    run_ok(&root.join("sub"), &["build", "-q", "--output", "../static"]);
    assert_eq!(records(root).len(), 1, "{:?}", records(root));
    support::assert_same_tree(
        "a fresh build",
        &fresh(&["build"]),
        "builds and syncs under every spelling",
        &tree_files(&root.join("static")),
    );

    // A watch on `static` holds it for `static/` too.
    let mut watch = command(root, &["watch", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let events = support::json_lines(watch.stdout.take().unwrap());
    while events
        .recv_timeout(Duration::from_secs(20))
        .expect("sluice watch becomes ready")["event"]
        != "ready"
    {}
    let out = run(root, &["sync", "--no-wait", "--output", "static/"]);
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// STATIC_ROOT is a symlink to a folder on another filesystem (a mounted volume): every
/// profile works in it, the build too (its staging folder must be beside the real folder:
/// a rename cannot cross filesystems).
#[test]
fn a_static_root_symlinked_to_another_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    let volume = elsewhere();
    let real = volume.path().join("static");
    fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, root.join("static")).unwrap();
    for args in [
        &["sync"][..],
        &["build"],
        &["sync"],
        &["build", "--no-minify"],
    ] {
        run_ok(root, args);
        support::assert_same_tree(
            &format!("a fresh {args:?}"),
            &fresh(args),
            &format!("{args:?} through the symlink"),
            &tree_files(&real),
        );
    }
    assert!(
        fs::symlink_metadata(root.join("static"))
            .unwrap()
            .is_symlink()
    );
    let staging: Vec<String> = [root, volume.path()]
        .iter()
        .flat_map(|d| fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sluice-staging"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
}

/// A build whose commit fails part-way — here because one output subfolder is a symlink onto
/// another filesystem, where the staged files cannot be renamed — exits 1 naming the files;
/// what it could not replace is still sluice's: the next build fails the same way (never
/// "not written by sluice"); once the obstruction is gone a build completes what the failed
/// ones left unfinished, and a sync puts the dev profile's output back.
#[test]
fn a_commit_that_fails_part_way_keeps_what_sluice_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    let volume = elsewhere();
    run_ok(root, &["sync", "-q"]);
    // static/bundles holds the dev bundle; move it onto the other filesystem, in place.
    let moved = volume.path().join("bundles");
    fs::create_dir(&moved).unwrap();
    for entry in fs::read_dir(root.join("static/bundles")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), moved.join(entry.file_name())).unwrap();
    }
    fs::remove_dir_all(root.join("static/bundles")).unwrap();
    std::os::unix::fs::symlink(&moved, root.join("static/bundles")).unwrap();
    run_ok(root, &["sync", "-q", "--force"]);

    for attempt in 0..2 {
        let out = run(root, &["build"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "attempt {attempt}: {stderr}");
        assert!(
            stderr.contains("static/bundles/site.css: could not move into place"),
            "attempt {attempt}: {stderr}"
        );
        assert!(
            !stderr.contains("not written by sluice"),
            "attempt {attempt}: sluice calls its own files foreign: {stderr}"
        );
    }
    // The obstruction goes (with the files in it): the next build looks at every file again
    // and leaves what a fresh build leaves, although no source changed.
    fs::remove_file(root.join("static/bundles")).unwrap();
    run_ok(root, &["build"]);
    support::assert_same_tree(
        "a fresh build",
        &fresh(&["build"]),
        "a build after the failed builds",
        &tree_files(&root.join("static")),
    );
    run_ok(root, &["sync"]);
    support::assert_same_tree(
        "a fresh sync",
        &fresh(&["sync"]),
        "a sync after the failed builds",
        &tree_files(&root.join("static")),
    );
}
