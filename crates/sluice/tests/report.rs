//! `sluice build --report [FILE]` and `sluice report` without a browser: where the page goes,
//! that it is self-contained (no URL to fetch in it), that a failed budget still writes it
//! (saying nothing shipped) without replacing the data the next report compares with, and
//! that `sluice report` names the page, or opens it with `$BROWSER` (an argv, the page as
//! its argument). Real binary, small project, well under a second.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Project;

fn project() -> Project {
    let p = Project::new(&[
        ("css/a.css", ".a {\n  color: #ffffff;\n}\n"),
        ("css/b.css", ".b {\n  margin: 0px 0px;\n}\n"),
        ("img/x.txt", "not compressible enough? it is text"),
    ]);
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\n\
         files = [\"css/*.css\"]\noutput = \"css/site.min.css\"\n",
    );
    p
}

fn data(p: &Project) -> Value {
    serde_json::from_slice(&fs::read(p.path(".sluice/report.json")).unwrap()).unwrap()
}

/// `sluice report --format json` with `BROWSER` set (or not), no display.
fn report(p: &Project, browser: Option<&str>) -> (i32, Value, String) {
    let mut cmd = support::sluice();
    cmd.args(["report", "--format", "json"])
        .current_dir(&p.root)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("BROWSER");
    if let Some(b) = browser {
        cmd.env("BROWSER", b);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let event = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or(Value::Null);
    (out.status.code().unwrap(), event, stdout.into_owned())
}

#[test]
fn the_page_where_asked_and_sluice_report_names_or_opens_it() {
    let p = project();
    // No report yet: a usage error saying what to run.
    let (code, event, _) = report(&p, None);
    assert_eq!(code, 2);
    assert!(
        event["hint"]
            .as_str()
            .unwrap()
            .contains("sluice build --report"),
        "{event}"
    );

    let (code, event, _) = p.event("build", &["--report"]);
    assert_eq!(code, 0);
    let page = p.path(".sluice/report.html");
    assert_eq!(event["report"], page.display().to_string());
    let html = fs::read_to_string(&page).unwrap();
    // Self-contained: no URL to fetch anywhere in it.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<link rel=\"stylesheet\"") && !html.contains("<script src"));
    assert_eq!(
        data(&p)["bundles"][0]["members"].as_array().unwrap().len(),
        2
    );

    let (code, event, _) = report(&p, None);
    assert_eq!(code, 0);
    assert_eq!(event["path"], page.display().to_string());
    assert_eq!(event["opened_with"], Value::Null);

    // Another file: written there, and `sluice report` follows it.
    let (code, _, out) = p.event("build", &["--report", "reports/today.html"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    let elsewhere = p.path("reports/today.html");
    assert!(elsewhere.is_file());
    // The second report compares with the first (nothing changed).
    assert!(data(&p)["changes"]["files"].as_array().unwrap().is_empty());

    // $BROWSER gets the page as its argument (a script that writes down its argv).
    let seen = p.path("seen.txt");
    let script = p.path("browser.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}.tmp && mv {0}.tmp {0}\n",
            seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let (code, event, _) = report(&p, Some(&format!("{} --new-tab", script.display())));
    assert_eq!(code, 0);
    assert_eq!(event["opened_with"], script.display().to_string());
    assert_eq!(event["path"], elsewhere.display().to_string());
    // The browser runs on after sluice exits: wait for what it wrote down.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.exists() {
        assert!(Instant::now() < deadline, "the browser script never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        fs::read_to_string(&seen).unwrap(),
        format!("--new-tab\n{}\n", elsewhere.display())
    );
}

#[test]
fn a_failed_budget_still_writes_the_page_and_keeps_the_last_data() {
    let p = project();
    assert_eq!(p.event("build", &["--report"]).0, 0);
    let kept = fs::read(p.path(".sluice/report.json")).unwrap();
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\n\
         files = [\"css/*.css\"]\noutput = \"css/site.min.css\"\n\n\
         [build.budgets]\n\"css/site.min.css\" = \"10 B\"\n",
    );
    let out = p.run(&["build", "--report"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("report: .sluice/report.html (what would have shipped)"),
        "{text}"
    );
    let html = fs::read_to_string(p.path(".sluice/report.html")).unwrap();
    assert!(
        html.contains("\"shipped\":false"),
        "the page says nothing shipped"
    );
    assert!(html.contains("\"failed\":true"));
    assert_eq!(fs::read(p.path(".sluice/report.json")).unwrap(), kept);
}
