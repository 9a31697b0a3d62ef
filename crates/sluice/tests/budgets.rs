//! Size budgets in `sluice build` (`[build.budgets]`): under, exactly at and one byte over
//! the limit in each measure (raw, gzip, br — the sizes of the `.gz`/`.br` files the build
//! wrote, read from disk here); globs per file and in total; a budget that matches nothing;
//! a budget in an encoding the build makes no copies in; the table and the JSON of what is
//! over; and an over-budget build that leaves the previous output as it was, byte for byte
//! and mtime for mtime. Each build is the real binary on a small real project (about a
//! second for the whole file in a debug build).

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;
use support::{Project, noise};

const BUNDLES: &str = r#"sources = ["media"]
output = "static"

[bundles.css.site]
files = ["css/base.css", "css/theme.css"]
output = "css/site.min.css"

[bundles.js.app]
files = ["js/lib/*.js"]
output = "js/app.min.js"
"#;

fn css(rules: usize) -> String {
    (0..rules)
        .map(|i| format!(".rule-{i} {{\n  margin: {i}px 0px;\n  color: #ffffff;\n}}\n"))
        .collect()
}

fn js(name: &str, lines: usize) -> String {
    (0..lines)
        .map(|i| format!("window.{name}{i} = function (value) {{ return value + {i}; }};\n"))
        .collect()
}

fn project() -> Project {
    let p = Project::new(&[
        ("css/base.css", &css(40)),
        ("css/theme.css", &css(12)),
        ("js/lib/a.js", &js("alpha", 30)),
        ("js/lib/b.js", &js("beta", 10)),
        ("js/pages/deep/c.js", &js("gamma", 5)),
    ]);
    p.write("media/img/photo.png", noise(2000, 7));
    p.write("sluice.toml", BUNDLES);
    p
}

/// `sluice.toml` with these budgets.
fn with_budgets(p: &Project, budgets: &[(&str, String)]) {
    let mut text = format!("{BUNDLES}\n[build.budgets]\n");
    for (pattern, limit) in budgets {
        text.push_str(&format!("\"{pattern}\" = \"{limit}\"\n"));
    }
    p.write("sluice.toml", text);
}

/// The served (hashed) name of `logical`, from `staticfiles.json`.
fn served(p: &Project, logical: &str) -> String {
    let manifest: Value =
        serde_json::from_slice(&fs::read(p.path("static/staticfiles.json")).unwrap()).unwrap();
    manifest["paths"][logical].as_str().unwrap().to_string()
}

/// The bytes a browser receives for `logical` in `measure`: its hashed copy's `.gz`/`.br`
/// when the build wrote one, else the copy itself.
fn on_disk(p: &Project, logical: &str, measure: &str) -> u64 {
    let copy = p.path(&format!("static/{}", served(p, logical)));
    let compressed = match measure {
        "gzip" => Some(format!("{}.gz", copy.display())),
        "br" => Some(format!("{}.br", copy.display())),
        _ => None,
    };
    compressed
        .and_then(|c| fs::metadata(c).ok())
        .unwrap_or_else(|| fs::metadata(&copy).unwrap())
        .len()
}

/// Runs `sluice build --format json`: exit code, the build event (null on failure), the error
/// event listing budgets (null on success).
fn build(p: &Project, args: &[&str]) -> (i32, Value, Value) {
    let out = p.run(&[&["build", "--format", "json"], args].concat());
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |test: &dyn Fn(&Value) -> bool| {
        events
            .iter()
            .find(|e| test(e))
            .cloned()
            .unwrap_or(Value::Null)
    };
    (
        out.status.code().unwrap(),
        find(&|e| e["event"] == "build"),
        find(&|e| e["event"] == "error" && e.get("budgets").is_some()),
    )
}

/// Every file under `root` with its bytes and mtime.
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    support::tree_files(root)
        .into_iter()
        .map(|(rel, bytes)| {
            let mtime = fs::metadata(root.join(&rel)).unwrap().modified().unwrap();
            (rel, (bytes, mtime))
        })
        .collect()
}

#[test]
fn under_exactly_at_and_over_in_each_measure() {
    let p = project();
    let (code, _, _) = build(&p, &[]);
    assert_eq!(code, 0);
    for measure in ["raw", "gzip", "br"] {
        for logical in ["css/site.min.css", "img/photo.png"] {
            let size = on_disk(&p, logical, measure);
            for (limit, over) in [(size + 1, None), (size, None), (size - 1, Some(1))] {
                with_budgets(&p, &[(logical, format!("{limit} B {measure}"))]);
                let (code, event, error) = build(&p, &[]);
                let verdict = match over {
                    None => {
                        assert_eq!(code, 0, "{logical} {measure} at {limit}: {error}");
                        event["budgets"][0].clone()
                    }
                    Some(_) => {
                        assert_eq!(code, 1, "{logical} {measure} at {limit}: {event}");
                        assert_eq!(error["budgets"].as_array().unwrap().len(), 1, "{error}");
                        error["budgets"][0].clone()
                    }
                };
                assert_eq!(verdict["file"], logical, "{verdict}");
                assert_eq!(verdict["served"], served(&p, logical), "{verdict}");
                assert_eq!(verdict["measure"], measure, "{verdict}");
                assert_eq!(verdict["size"], size, "{logical} {measure}: {verdict}");
                assert_eq!(verdict["limit_bytes"], limit, "{verdict}");
                assert_eq!(verdict["over"], serde_json::json!(over), "{verdict}");
            }
        }
    }
    // The PNG has no compressed copies (whitenoise never compresses PNGs): every measure is
    // the file itself.
    assert_eq!(
        on_disk(&p, "img/photo.png", "br"),
        on_disk(&p, "img/photo.png", "raw")
    );
    assert!(on_disk(&p, "css/site.min.css", "br") < on_disk(&p, "css/site.min.css", "raw"));
}

#[test]
fn globs_cover_each_file_or_all_together() {
    let p = project();
    assert_eq!(build(&p, &[]).0, 0);
    let scripts = [
        "js/app.min.js",
        "js/lib/a.js",
        "js/lib/b.js",
        "js/pages/deep/c.js",
    ];
    let sizes: Vec<u64> = scripts.iter().map(|s| on_disk(&p, s, "gzip")).collect();
    let largest = *sizes.iter().max().unwrap();
    let total: u64 = sizes.iter().sum();

    // Each script on its own: `**` reaches js/pages/deep/, the maps are not scripts.
    with_budgets(&p, &[("js/**/*.js", format!("{largest} B gzip"))]);
    let (code, event, error) = build(&p, &[]);
    assert_eq!(code, 0, "{error}");
    let files: Vec<&str> = event["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, scripts);
    with_budgets(&p, &[("js/**/*.js", format!("{} B gzip", largest - 1))]);
    let (code, _, error) = build(&p, &[]);
    assert_eq!(code, 1);
    let over: Vec<&Value> = error["budgets"].as_array().unwrap().iter().collect();
    assert_eq!(over.len(), 1, "only the largest is over: {error}");
    assert_eq!(over[0]["over"], 1);

    // All of them together.
    with_budgets(&p, &[("js/**/*.js", format!("{total} B gzip total"))]);
    let (code, event, _) = build(&p, &[]);
    assert_eq!(code, 0);
    assert_eq!(event["budgets"][0]["files"], 4);
    assert_eq!(event["budgets"][0]["file"], Value::Null);
    with_budgets(&p, &[("js/**/*.js", format!("{} B gzip total", total - 1))]);
    let (code, _, error) = build(&p, &[]);
    assert_eq!(code, 1);
    assert_eq!(error["budgets"][0]["size"], total);

    // `*` stays in its folder: js/*.js is the bundle alone.
    with_budgets(&p, &[("js/*.js", "1 MB".into())]);
    let (_, event, _) = build(&p, &[]);
    assert_eq!(event["budgets"].as_array().unwrap().len(), 1);
    assert_eq!(event["budgets"][0]["file"], "js/app.min.js");

    // A budget that matches nothing fails, naming itself.
    with_budgets(&p, &[("css/typo.min.css", "1 MB".into())]);
    let (code, _, error) = build(&p, &[]);
    assert_eq!(code, 1);
    assert_eq!(error["budgets"][0]["unmatched"], true, "{error}");
    let out = p.run(&["build"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("1 budget matches no output"), "{text}");
    assert!(text.contains("css/typo.min.css"), "{text}");
}

#[test]
fn an_encoding_the_build_does_not_make_is_measured_anyway() {
    let p = project();
    assert_eq!(build(&p, &[]).0, 0);
    let br = on_disk(&p, "css/site.min.css", "br");
    let gzip = on_disk(&p, "css/site.min.css", "gzip");
    // Only .gz copies: the br budget compresses what it covers, and writes no .br.
    with_budgets(&p, &[("css/site.min.css", format!("{br} B br"))]);
    let (code, event, error) = build(&p, &["--compress", "gzip", "--output", "gz-only"]);
    assert_eq!(code, 0, "{error}");
    assert_eq!(event["budgets"][0]["size"], br);
    let tree = support::tree_paths(&p.path("gz-only"));
    assert!(!tree.iter().any(|f| f.ends_with(".br")), "{tree:?}");
    assert!(tree.iter().any(|f| f.ends_with(".gz")));
    with_budgets(&p, &[("css/site.min.css", format!("{} B gzip", gzip - 1))]);
    let (code, _, error) = build(&p, &["--no-compress", "--output", "plain"]);
    assert_eq!(code, 1);
    assert_eq!(error["budgets"][0]["size"], gzip, "{error}");
    // Nothing was written for the failed build.
    assert!(!p.path("plain").exists());
}

#[test]
fn an_over_budget_build_leaves_the_previous_output_as_it_was() {
    let p = project();
    with_budgets(&p, &[("css/site.min.css", "2 kB br".into())]);
    let (code, _, error) = build(&p, &[]);
    assert_eq!(code, 0, "{error}");
    let before = snapshot(&p.path("static"));
    let record = fs::read(p.record_file().unwrap()).unwrap();

    // The bundle grows past its budget: the build stops before anything moves in.
    // (Incompressible text: 300 rules of 16 random bytes each, in hex.)
    let hex = |i: u64| -> String { noise(16, i).iter().map(|b| format!("{b:02x}")).collect() };
    p.write(
        "media/css/theme.css",
        (0..300)
            .map(|i| format!(".grown-{i} {{ content: \"{}\"; }}\n", hex(i + 1)))
            .collect::<String>(),
    );
    let out = p.run(&["build"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("error: 1 output over its size budget"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("css/site.min.css"))
        .unwrap_or_else(|| panic!("no row for the bundle: {text}"));
    assert!(
        row.contains(" br ") && row.contains("2.0 kB") && row.contains("over by"),
        "{row}"
    );
    assert!(row.trim_end().ends_with("sluice.toml:13"), "{row}");
    assert!(text.contains("nothing in the output was changed"), "{text}");
    assert_eq!(snapshot(&p.path("static")), before, "the output changed");
    assert_eq!(fs::read(p.record_file().unwrap()).unwrap(), record);
    let leftovers: Vec<String> = fs::read_dir(&p.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sluice-staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A raised limit: the same build goes through.
    with_budgets(&p, &[("css/site.min.css", "20 kB br".into())]);
    let (code, event, error) = build(&p, &[]);
    assert_eq!(code, 0, "{error}");
    assert!(event["written"].as_u64().unwrap() > 0);
    let grown = fs::read_to_string(p.path(&format!("static/{}", served(&p, "css/site.min.css"))));
    assert!(grown.unwrap().contains(".grown-299"));
}

#[test]
fn a_bad_budget_is_a_configuration_error_at_its_line() {
    let p = project();
    with_budgets(&p, &[("css/site.min.css", "40 kB brr".into())]);
    let out = p.run(&["build"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("budget \"css/site.min.css\""), "{text}");
    assert!(text.contains("sluice.toml:13"), "{text}");
    assert!(!p.path("static").exists());
}
