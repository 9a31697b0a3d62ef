//! `sluice init` outside Django (the Django cases, with real Django, are in `wheel.rs`):
//! never over existing configuration without `--force`, `--dry-run` writes nothing, and a
//! forced init names what the old configuration had that the new one lacks.

mod support;

use std::fs;

use support::Project;

#[test]
fn init_refuses_existing_configuration_and_forced_names_what_it_drops() {
    let p = Project::new(&[("css/a.css", "a {}\n")]);
    let before = fs::read_to_string(p.path("sluice.toml")).unwrap();
    let out = p.run(&["init"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has sluice configuration already"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");

    let out = p.run_ok(&["init", "--force", "--dry-run"]);
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.starts_with("--- a/sluice.toml\n+++ b/sluice.toml\n"),
        "{diff}"
    );
    assert!(diff.contains("-sources = [\"media\"]\n"), "{diff}");
    assert!(
        diff.contains("+# Written by `sluice init`: no Django settings found"),
        "{diff}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("would replace: the new configuration no longer has output, sources"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(p.path("sluice.toml")).unwrap(), before);

    // Where there is nothing, init writes a commented sluice.toml under which sluice runs.
    let empty = tempfile::tempdir().unwrap();
    support::put(empty.path(), "media/css/a.css", "a {}\n");
    let out = support::sluice()
        .args(["init", "--format", "json"])
        .current_dir(empty.path())
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["event"], "init");
    assert_eq!(event["written"], true);
    assert_eq!(event["keys"], serde_json::json!([]));
    let text = fs::read_to_string(empty.path().join("sluice.toml")).unwrap();
    assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
    let sync = support::sluice()
        .args(["sync", "-q"])
        .current_dir(empty.path())
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert!(sync.status.success());
    assert!(empty.path().join("static/css/a.css").is_file());
}
