//! The build report (`sluice build --report`) in a real browser (Debian's chromium, headless,
//! over DevTools), for the example site and for a django-pipeline project with SCSS and
//! TypeScript members and a member shared by two bundles:
//! - the treemap has one element per bundle and per member (as many as the report's data
//!   lists, bundle by bundle), a bundle zooms in when clicked, and switching the size measure
//!   changes the layout, and "everything that ships" adds every other file;
//! - the page makes no request but its own (DevTools' network log sees the page load itself,
//!   and nothing else);
//! - the second report of the pipeline project shows the bundle that grew since the first,
//!   and `sluice report` names the page;
//! - screenshots kept in `~/.cache/sluice-tests/artefacts/` (report-example.png,
//!   report-pipeline.png).
//!
//! Cost: one build of each project and one chromium per test, a few seconds each once the
//! cached virtualenvs exist.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::browser::{Browser, png_size};
use support::{
    DJANGO_PIPELINE, PROJ_MANAGE_PY, cache_dir, copy_example_site, example_venv, put,
    python_for_django, sluice, venv, venv_env,
};

/// `sluice <args>` in `dir` with the virtualenv of `python` active; must succeed.
fn run_sluice(dir: &Path, python: &Path, args: &[&str]) -> std::process::Output {
    let out = sluice()
        .args(args)
        .current_dir(dir)
        .envs(venv_env(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sluice {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The report's data, as the build kept it.
fn report_data(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(".sluice/report.json")).unwrap()).unwrap()
}

/// Every treemap element's kind, bundle, path and rectangle.
const RECTS: &str = "JSON.stringify(Array.from(document.querySelectorAll('#treemap .tm-node')).map(e => { \
     var r = e.getBoundingClientRect(); return [e.dataset.kind, e.dataset.bundle || '', e.dataset.path, \
     Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)]; }))";

fn rects(browser: &mut Browser) -> Vec<(String, String, String, [i64; 4])> {
    let text = browser.eval(RECTS).unwrap();
    let list: Vec<Value> = serde_json::from_str(text.as_str().unwrap()).unwrap();
    list.iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_str().unwrap().to_string(),
                [3, 4, 5, 6].map(|i| r[i].as_i64().unwrap()),
            )
        })
        .collect()
}

/// Opens the report in a fresh browser with the network log on, and checks its treemap:
/// one element per bundle and per member, bundle by bundle; another measure, another
/// layout; a click on a bundle zooms into it; no request but the page's own.
fn check_in_browser(page: &Path, data: &Value, screenshot: &str) -> Browser {
    let mut browser = Browser::launch();
    browser.viewport(1280, 900);
    let enabled = browser.call("Network.enable", json!({}));
    assert!(enabled["error"].is_null(), "{enabled}");
    let url = format!("file://{}", page.display());
    browser.navigate(&url);
    browser.wait_until(
        "the report draws itself",
        "document.readyState === 'complete' && !!window.__sluiceReport && \
         document.querySelectorAll('#treemap .tm-node').length > 0",
    );

    let bundles = data["bundles"].as_array().unwrap();
    assert!(!bundles.is_empty());
    let drawn = rects(&mut browser);
    let count = |kind: &str, bundle: Option<&str>| {
        drawn
            .iter()
            .filter(|(k, b, _, _)| k == kind && bundle.is_none_or(|o| o == b))
            .count()
    };
    assert_eq!(count("bundle", None), bundles.len(), "{drawn:?}");
    let mut members = 0;
    for b in bundles {
        let output = b["output"].as_str().unwrap();
        let listed: Vec<&str> = b["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["path"].as_str().unwrap())
            .collect();
        members += listed.len();
        assert_eq!(
            count("member", Some(output)),
            listed.len(),
            "{output}: {listed:?}"
        );
        for path in &listed {
            assert!(
                drawn
                    .iter()
                    .any(|(k, o, p, _)| k == "member" && o == output && p == path),
                "{output} has no element for {path}"
            );
        }
        let own = drawn
            .iter()
            .find(|(k, _, p, _)| k == "bundle" && p == output)
            .unwrap_or_else(|| panic!("no element for the bundle {output}"));
        assert!(own.3[2] > 0 && own.3[3] > 0, "{output} is drawn: {own:?}");
    }
    assert_eq!(count("member", None), members);

    // Another measure, another layout (members' raw bytes are not their minified ones).
    let pressed = "document.querySelector('[data-measure=min]').getAttribute('aria-pressed')";
    assert_eq!(browser.eval(pressed).unwrap(), "true");
    browser.eval("document.querySelector('[data-measure=raw]').click(); true");
    assert_eq!(browser.eval(pressed).unwrap(), "false");
    let raw = rects(&mut browser);
    assert_eq!(raw.len(), drawn.len(), "the same elements");
    let moved = drawn
        .iter()
        .zip(&raw)
        .filter(|(a, b)| a.3 != b.3 || a.2 != b.2)
        .count();
    assert!(moved > 0, "switching to raw bytes changed nothing");
    browser.eval("document.querySelector('[data-measure=br]').click(); true");
    let br = rects(&mut browser);
    assert!(
        raw.iter().zip(&br).any(|(a, b)| a.3 != b.3 || a.2 != b.2),
        "switching to Brotli bytes changed nothing"
    );

    // Zoom: a click on the largest bundle makes it the whole treemap, its members inside.
    let largest = bundles
        .iter()
        .max_by_key(|b| b["members"].as_array().unwrap().len())
        .unwrap();
    let output = largest["output"].as_str().unwrap();
    browser.eval(&format!(
        "Array.from(document.querySelectorAll('#treemap [data-kind=bundle]')).find(e => e.dataset.path === {}).click(); true",
        json!(output)
    ));
    let zoomed = rects(&mut browser);
    assert!(zoomed.iter().all(|(_, b, _, _)| b == output), "{zoomed:?}");
    assert_eq!(
        zoomed.iter().filter(|(k, _, _, _)| k == "member").count(),
        largest["members"].as_array().unwrap().len()
    );
    let crumb = browser
        .eval("document.querySelector('#crumbs button:disabled').textContent")
        .unwrap();
    assert_eq!(crumb, output.rsplit('/').next().unwrap());
    browser.eval("document.querySelector('#crumbs button').click(); true");
    assert_eq!(rects(&mut browser).len(), drawn.len(), "zoomed out again");
    browser.eval("document.querySelector('[data-measure=min]').click(); true");

    // Everything that ships: the other files too, the bundles still with their members.
    browser.eval("document.querySelector('[data-scope=all]').click(); true");
    let everything = rects(&mut browser);
    let files = data["files"].as_array().unwrap();
    let plain = files.iter().filter(|f| f["kind"] != "bundle").count();
    assert!(plain > 0);
    assert_eq!(
        everything.iter().filter(|(k, _, _, _)| k == "file").count(),
        plain
    );
    assert_eq!(
        everything
            .iter()
            .filter(|(k, _, _, _)| k == "member")
            .count(),
        members
    );
    browser.eval("document.querySelector('[data-scope=bundles]').click(); true");

    // The network log saw the page load itself, and nothing else.
    let requests: Vec<String> = browser
        .events("Network.requestWillBeSent")
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        requests.contains(&url),
        "the log sees the page's own request: {requests:?}"
    );
    let others: Vec<&String> = requests
        .iter()
        .filter(|u| **u != url && !u.starts_with("data:"))
        .collect();
    assert!(others.is_empty(), "requests left the page: {others:?}");

    let shot = cache_dir().join("artefacts").join(screenshot);
    let height = browser.screenshot_page(1280, &shot);
    assert_eq!(png_size(&std::fs::read(&shot).unwrap()), (1280, height));
    eprintln!("screenshot of the report: {}", shot.display());
    browser
}

#[test]
fn the_example_sites_report_in_a_browser() {
    let python = example_venv();
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    copy_example_site(root);
    let out = run_sluice(
        root,
        &python,
        &["build", "--report", "--compress", "gzip,br"],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("report: .sluice/report.html"), "{text}");
    let page = root.join(".sluice/report.html");
    let data = report_data(root);
    assert_eq!(data["html"], page.display().to_string());
    assert_eq!(data["encodings"], json!(["gzip", "br"]));
    // django-pipeline's seven bundles, from its PIPELINE setting.
    assert_eq!(
        data["bundles"].as_array().unwrap().len(),
        7,
        "{}",
        data["bundles"]
    );
    let mut browser = check_in_browser(&page, &data, "report-example.png");
    // The compiled SCSS shows where it goes.
    let compiled = browser
        .eval("document.getElementById('compiled').textContent")
        .unwrap();
    assert!(
        compiled.as_str().unwrap().contains("css/sass/site.scss"),
        "{compiled}"
    );
}

const PIPELINE_SETTINGS: &str = r#"from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = False
INSTALLED_APPS = ["django.contrib.staticfiles", "pipeline"]
DATABASES = {}
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATIC_ROOT = BASE_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "pipeline.storage.PipelineManifestStorage"},
}
PIPELINE = {
    "PIPELINE_ENABLED": True,
    "CSS_COMPRESSOR": None,
    "JS_COMPRESSOR": None,
    "COMPILERS": [
        "pipeline.compilers.sass.SASSCompiler",
        "pipeline.compilers.typescript.TypeScriptCompiler",
    ],
    "STYLESHEETS": {
        "site": {
            "source_filenames": ["css/reset.css", "css/site.scss"],
            "output_filename": "css/site.css",
        },
        "print": {
            "source_filenames": ["css/reset.css", "css/print.css"],
            "output_filename": "css/print.css",
        },
    },
    "JAVASCRIPT": {
        "app": {
            "source_filenames": ["js/lib/*.js", "js/app.ts"],
            "output_filename": "js/app.js",
        },
    },
}
"#;

#[test]
fn a_django_pipeline_projects_report_shows_what_changed() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), DJANGO_PIPELINE]);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "manage.py", PROJ_MANAGE_PY);
    put(root, "proj/__init__.py", "");
    put(root, "proj/settings.py", PIPELINE_SETTINGS);
    let rules = |n: usize, name: &str| -> String {
        (0..n)
            .map(|i| format!(".{name}-{i} {{\n  margin: {i}px 0px;\n  color: #ffffff;\n}}\n"))
            .collect()
    };
    put(root, "assets/css/reset.css", rules(20, "reset"));
    put(root, "assets/css/print.css", rules(5, "print"));
    put(
        root,
        "assets/css/_vars.scss",
        "$ink: #20123a;\n$gap: 12px;\n",
    );
    put(
        root,
        "assets/css/site.scss",
        "@import 'vars';\n.site {\n  color: $ink;\n  .inner { padding: $gap $gap; }\n}\n",
    );
    put(
        root,
        "assets/js/lib/util.js",
        "window.util = function (a, b) {\n  return a + b;\n};\n",
    );
    put(
        root,
        "assets/js/app.ts",
        "interface Answer { value: number }\nconst answer: Answer = { value: (window as any).util(40, 2) };\n(window as any).answer = answer;\n",
    );

    run_sluice(root, &python, &["build", "--report"]);
    let first = report_data(root);
    assert!(first["changes"].is_null(), "nothing to compare with yet");
    // The shared member, the compiled sources and where their bytes go.
    assert_eq!(
        first["shared"][0]["path"], "css/reset.css",
        "{}",
        first["shared"]
    );
    let compiled: Vec<&str> = first["compiled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(compiled, ["css/site.scss", "js/app.ts"]);
    let app_ts = &first["compiled"][1]["bundles"][0];
    assert_eq!(app_ts["bundle"], "js/app.js");
    assert!(app_ts["sizes"]["min"].as_u64().unwrap() > 0, "{app_ts}");

    // The SCSS grows: the next report says by how much.
    put(
        root,
        "assets/css/site.scss",
        format!(
            "@import 'vars';\n.site {{\n  color: $ink;\n  .inner {{ padding: $gap $gap; }}\n}}\n{}",
            rules(30, "added")
        ),
    );
    run_sluice(root, &python, &["build", "--report"]);
    let second = report_data(root);
    let grew = &second["changes"]["bundles"];
    assert_eq!(grew.as_array().unwrap().len(), 1, "{grew}");
    assert_eq!(grew[0]["path"], "css/site.css");
    let (before, after) = (
        grew[0]["before"]["min"].as_u64().unwrap(),
        grew[0]["after"]["min"].as_u64().unwrap(),
    );
    assert!(after > before, "{grew}");

    let page = root.join(".sluice/report.html");
    let mut browser = check_in_browser(&page, &second, "report-pipeline.png");
    let changes = browser
        .eval("document.getElementById('changes').textContent")
        .unwrap();
    let changes = changes.as_str().unwrap();
    assert!(changes.contains("css/site.css"), "{changes}");
    assert!(changes.contains('+'), "the delta is shown: {changes}");
    let shared = browser
        .eval("document.getElementById('shared').textContent")
        .unwrap();
    assert!(shared.as_str().unwrap().contains("css/reset.css"));

    // `sluice report` names the page (no browser in the test's environment).
    let out = run_sluice(root, &python, &["report", "--format", "json"]);
    let event: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["path"], page.display().to_string());
    assert_eq!(event["opened_with"], Value::Null);
}
