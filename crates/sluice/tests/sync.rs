//! `sluice sync` on real trees: mirror equality, incremental behaviour, deletes, foreign files,
//! conflicts, links, and each bad-input case.

mod support;

use std::fs;
use std::path::Path;

use serde_json::Value;
use support::{Project, tree_files};

/// `sluice sync --format json <args>`: the exit code and the sync event.
impl Project {
    fn sync(&self, args: &[&str]) -> (i32, Value) {
        let (code, event, out) = self.event("sync", args);
        assert!(
            !event.is_null(),
            "no sync event in {:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (code, event)
    }
}

fn mtime(path: &Path) -> std::time::SystemTime {
    fs::symlink_metadata(path).unwrap().modified().unwrap()
}

#[test]
fn mirrors_the_sources_and_skips_default_ignores() {
    let p = Project::new(&[
        ("css/site.css", "body{}"),
        ("css/deep/er/x.css", "a{}"),
        ("img/logo.png", "png"),
        (".hidden", "x"),
        ("css/site.css~", "backup"),
        ("CVS/Entries", "x"),
        ("js/.cache/x.js", "x"),
    ]);
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 0, "{event}");
    assert_eq!(event["copied"], 3);
    let out = tree_files(&p.path("static"));
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(names, ["css/deep/er/x.css", "css/site.css", "img/logo.png"]);
    assert_eq!(out["css/site.css"], b"body{}");
    assert!(
        !p.path("static/.sluice").exists(),
        "state stays out of the output"
    );
    assert!(p.path(".sluice").is_dir());
}

#[test]
fn second_run_reads_and_writes_nothing() {
    let p = Project::new(&[("css/a.css", "a"), ("img/b.png", "b")]);
    assert_eq!(p.sync(&[]).0, 0);
    let state = p.record_file().expect("the output root's record");
    let before = (mtime(&p.path("static/css/a.css")), mtime(&state));

    // Trace the no-op run: no source or output file may be opened.
    let opened = support::files_opened(&p.root, &["sync", "-q"], &["/media/", "/static/"]);
    assert!(opened.is_empty(), "a no-op sync opened files: {opened:#?}");
    assert_eq!(before, (mtime(&p.path("static/css/a.css")), mtime(&state)));

    let (_, event) = p.sync(&[]);
    assert_eq!(
        (event["copied"].as_u64(), event["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
}

#[test]
fn changes_and_deletes_reach_the_output() {
    let p = Project::new(&[("css/a.css", "a"), ("css/b.css", "b"), ("gone/c.txt", "c")]);
    p.sync(&[]);
    p.write("media/css/a.css", "changed");
    fs::remove_dir_all(p.path("media/gone")).unwrap();
    p.write("media/new.txt", "new");
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        (event["copied"].as_u64(), event["removed"].as_u64()),
        (Some(2), Some(1))
    );
    let out = tree_files(&p.path("static"));
    assert_eq!(out["css/a.css"], b"changed");
    assert!(!out.contains_key("gone/c.txt"));
    assert!(
        !p.path("static/gone").exists(),
        "emptied folders are pruned"
    );
}

#[test]
fn touched_but_identical_source_is_not_rewritten() {
    let p = Project::new(&[("css/a.css", "same")]);
    p.sync(&[]);
    let before = mtime(&p.path("static/css/a.css"));
    let later = filetime::FileTime::from_unix_time(2_000_000_000, 0);
    filetime::set_file_mtime(p.path("media/css/a.css"), later).unwrap();
    let (_, event) = p.sync(&[]);
    assert_eq!(event["copied"], 0);
    assert_eq!(mtime(&p.path("static/css/a.css")), before);
    // …and the refreshed record makes the next run a plain no-op.
    assert_eq!(p.sync(&[]).1["unchanged"], 1);
}

#[test]
fn foreign_files_are_kept_and_reported() {
    let p = Project::new(&[("css/a.css", "ours"), ("css/same.css", "same")]);
    p.write("static/css/a.css", "theirs");
    p.write("static/css/same.css", "same");
    p.write("static/robots.txt", "keep me");
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 1, "a conflict is a build error");
    assert_eq!(event["conflicts"], serde_json::json!(["css/a.css"]));
    assert_eq!(
        event["adopted"], 1,
        "identical files are adopted, not conflicts"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/css/a.css")).unwrap(),
        "theirs"
    );

    // A removed source never takes a foreign file with it.
    fs::remove_file(p.path("media/css/a.css")).unwrap();
    assert_eq!(p.sync(&[]).0, 0);
    assert_eq!(
        fs::read_to_string(p.path("static/css/a.css")).unwrap(),
        "theirs"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/robots.txt")).unwrap(),
        "keep me"
    );

    p.write("media/css/a.css", "ours");
    let (code, _) = p.sync(&["--force"]);
    assert_eq!(code, 0);
    assert_eq!(
        fs::read_to_string(p.path("static/css/a.css")).unwrap(),
        "ours"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/robots.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn an_output_edited_in_place_in_a_trusted_folder_is_not_overwritten() {
    // The folder's mtime older than the record's (as on a slow machine, where the record is
    // saved a clock tick after the last write): the pass trusts the folder's listing; a hand
    // edit in place does not move the folder's mtime; the source then changes.
    let p = Project::new(&[("a.txt", "a"), ("b.txt", "b")]);
    p.sync(&[]);
    let record = p.record_file().expect("a record");
    let later = filetime::FileTime::from_system_time(
        std::time::SystemTime::now() + std::time::Duration::from_secs(5),
    );
    filetime::set_file_mtime(&record, later).unwrap();
    p.write("static/a.txt", "edited by hand");
    p.write("media/a.txt", "new source");
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 1, "{event}");
    assert_eq!(event["conflicts"], serde_json::json!(["a.txt"]));
    assert_eq!(
        fs::read_to_string(p.path("static/a.txt")).unwrap(),
        "edited by hand"
    );
}

#[test]
fn output_edited_after_sync_is_never_overwritten_and_kept_when_its_source_goes() {
    let p = Project::new(&[("a.txt", "a"), ("b.txt", "b")]);
    p.sync(&[]);
    p.write("static/a.txt", "edited by hand");
    // Whether this pass notices the edit depends on the clock tick (outputs in folders nobody
    // touched are not stat'ed); either way the edit stays.
    p.sync(&[]);
    assert_eq!(
        fs::read_to_string(p.path("static/a.txt")).unwrap(),
        "edited by hand"
    );
    // Once its source changes, the edited output is a conflict, still untouched.
    p.write("media/a.txt", "new source");
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 1, "{event}");
    assert_eq!(event["conflicts"], serde_json::json!(["a.txt"]));
    assert_eq!(
        fs::read_to_string(p.path("static/a.txt")).unwrap(),
        "edited by hand"
    );
    fs::remove_file(p.path("media/a.txt")).unwrap();
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 0);
    assert_eq!(event["kept_modified"].as_array().unwrap().len(), 1);
    assert_eq!(
        fs::read_to_string(p.path("static/a.txt")).unwrap(),
        "edited by hand"
    );
}

#[test]
fn clean_starts_from_scratch_and_link_symlinks() {
    let p = Project::new(&[("a.txt", "a"), ("d/b.txt", "b")]);
    p.sync(&[]);
    let (code, event) = p.sync(&["--link"]);
    assert_eq!(code, 0, "{event}");
    assert_eq!(event["copied"], 2, "own copies become links");
    let link = fs::read_link(p.path("static/d/b.txt")).unwrap();
    assert_eq!(link, p.path("media/d/b.txt"));
    p.write("media/d/b.txt", "changed");
    assert_eq!(
        p.sync(&["--link"]).1["copied"],
        0,
        "a link follows its source"
    );
    let (code, event) = p.sync(&["--clean"]);
    assert_eq!(code, 0);
    assert_eq!(event["copied"], 2);
    assert!(
        !fs::symlink_metadata(p.path("static/d/b.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(p.path("static/d/b.txt")).unwrap(),
        "changed"
    );
}

#[test]
fn source_flags_with_prefixes_and_first_found_wins() {
    let p = Project::new(&[("css/a.css", "media")]);
    p.write("vendor/css/a.css", "vendor");
    p.write("vendor/lib.js", "lib");
    let (code, event) = p.sync(&[
        "--source",
        "media",
        "--source",
        "vendor",
        "--source",
        "vendor=vendor",
    ]);
    assert_eq!(code, 0, "{event}");
    assert_eq!(event["shadowed"].as_array().unwrap().len(), 1);
    let out = tree_files(&p.path("static"));
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["css/a.css", "lib.js", "vendor/css/a.css", "vendor/lib.js"]
    );
    assert_eq!(out["css/a.css"], b"media");
}

#[test]
fn ignore_flags() {
    let p = Project::new(&[("a.psd", "x"), ("b.css", "x"), (".keep", "x")]);
    let (code, _) = p.sync(&["-i", "*.psd", "--no-default-ignore"]);
    assert_eq!(code, 0);
    let names: Vec<String> = tree_files(&p.path("static")).into_keys().collect();
    assert_eq!(names, [".keep", "b.css"]);
}

#[test]
fn missing_source_and_nested_output_are_config_errors() {
    let p = Project::new(&[("a.txt", "a")]);
    let out = p.run(&["sync", "--source", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("does not exist"),
        "{stderr}"
    );

    let out = p.run(&["sync", "--output", "media/static"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is inside the source folder"));
    let out = p.run(&["sync", "--output", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("contains the source folder"));
    assert!(
        !p.path("static").exists(),
        "nothing written on a config error"
    );
}

#[test]
fn config_errors_name_file_line_and_column() {
    let p = Project::new(&[]);
    fs::write(
        p.path("sluice.toml"),
        "sources = [\"media\"]\noutptu = \"static\"\n",
    )
    .unwrap();
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sluice.toml:2:1"), "{stderr}");
    assert!(stderr.contains("outptu"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn unreadable_and_non_utf8_files_are_errors_that_lose_nothing() {
    use std::os::unix::ffi::OsStrExt;
    let p = Project::new(&[("ok.txt", "ok"), ("old.txt", "old")]);
    p.sync(&[]);
    fs::remove_file(p.path("media/old.txt")).unwrap();
    let odd = p
        .path("media")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    fs::write(&odd, "x").unwrap();
    std::os::unix::fs::symlink(p.path("media/missing"), p.path("media/broken.css")).unwrap();
    let (code, event) = p.sync(&[]);
    assert_eq!(code, 1, "{event}");
    let errors = event["errors"].to_string();
    assert!(errors.contains("not valid UTF-8"), "{errors}");
    assert!(errors.contains("broken.css"), "{errors}");
    assert_eq!(fs::read_to_string(p.path("static/ok.txt")).unwrap(), "ok");
    assert!(
        p.path("static/old.txt").exists(),
        "no removals while the walk had read errors"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn permission_denied_is_reported_per_file() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new(&[("ok.txt", "ok"), ("secret.txt", "s")]);
    fs::set_permissions(
        p.path("media/secret.txt"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    for dir in [p.root.clone(), p.path("media")] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    // Root reads anything: run as `nobody` when we are root.
    let mut cmd = std::process::Command::new("setpriv");
    let root = unsafe_is_root();
    if root {
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    } else {
        cmd.arg("--");
    }
    let out = cmd
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .args(["sync", "--format", "json"])
        .current_dir(&p.root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("secret.txt") && stdout.contains("permission denied"),
        "{stdout}"
    );
    assert_eq!(fs::read_to_string(p.path("static/ok.txt")).unwrap(), "ok");
}

#[cfg(target_os = "linux")]
fn unsafe_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
}

#[test]
fn case_collisions_and_symlink_loops_warn() {
    let p = Project::new(&[("img/Logo.png", "a"), ("img/logo.png", "b")]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(p.path("media"), p.path("media/img/loop")).unwrap();
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("case-insensitive"), "{stderr}");
    #[cfg(unix)]
    assert!(stderr.contains("symlink loop"), "{stderr}");
}

#[test]
fn summary_line_and_quiet() {
    let p = Project::new(&[("a.txt", "a"), ("b.txt", "b")]);
    let out = p.run(&["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 files: 2 copied, 0 unchanged, 0 removed in"),
        "{stderr}"
    );
    let out = p.run(&["sync", "-q"]);
    assert!(out.stderr.is_empty() && out.stdout.is_empty());
}

#[test]
fn config_shows_where_values_come_from() {
    let p = Project::new(&[]);
    let out = p.run(&["config", "--format", "json", "--output", "elsewhere"]);
    assert!(out.status.success());
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["output"]["origin"], "flag --output");
    assert!(
        config["sources"]["origin"]
            .as_str()
            .unwrap()
            .ends_with("sluice.toml:1")
    );
    assert_eq!(
        config["ignore"]["value"],
        serde_json::json!(["CVS", ".*", "*~"])
    );
}
