//! ES-module bundles on a bedrock-shaped project: `static-bundles.json` bundles of `.es6.js`
//! entries importing `@mozilla-protocol/core`'s scripts and `lodash-es` (real packages from
//! npm, installed once into the test cache), a relative TypeScript module, and a
//! `[bundles.js.NAME] entry` written as an ES module. The bundles sluice builds must behave in
//! node + jsdom as esbuild's bundles of the same entries do (the same DOM effects, the same
//! exported values); dev rebuilds after a module edit; a syntax error names the module.
//!
//! Cost: one `npm install` of four pinned packages (~15 s, once per machine), then about a
//! second per test (sluice, esbuild and node each run a few times).

mod support;

#[path = "../../sluice-assets/tests/support/mod.rs"]
mod asset_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::Project;

/// The npm packages the tests use, pinned.
const PACKAGES: &[&str] = &[
    "@mozilla-protocol/core@22.0.0",
    "lodash-es@4.17.21",
    "esbuild@0.28.2",
    "jsdom@26.1.0",
];

fn node_modules() -> PathBuf {
    asset_support::npm_packages("esm-v1", PACKAGES)
}

const STATIC_BUNDLES: &str = r#"{
  "css": [],
  "js": [
    {"name": "site", "files": ["js/base/site.es6.js", "js/base/init-details.es6.js"]},
    {"name": "footer", "files": ["js/base/init-footer.es6.js"]}
  ]
}
"#;

const SLUICE_TOML: &str = r#"sources = ["media"]
output = "static"
static_bundles = "media/static-bundles.json"

[bundles.js.api]
entry = "js/lib/api.es6.js"
format = "esm"
output = "js/api.js"
"#;

/// bedrock's pattern: protocol's UMD scripts imported by name, set on `window`, initialised.
const SITE: &str = "import MzpSupports from '@mozilla-protocol/core/protocol/js/supports';
import MzpDetails from '@mozilla-protocol/core/protocol/js/details';
import MzpUtils from '@mozilla-protocol/core/protocol/js/utils';
import { label } from './label';

window.MzpSupports = MzpSupports;
window.MzpUtils = MzpUtils;
window.MzpDetails = MzpDetails;
document.documentElement.classList.add(label('js'));
";

const INIT_DETAILS: &str = "import { chunk, kebabCase } from 'lodash-es';

window.MzpDetails.init('.mzp-c-details-heading');
document.body.dataset.chunks = JSON.stringify(chunk([1, 2, 3, 4, 5], 2));
document.body.dataset.kebab = kebabCase('Firefox Browser Download');
";

const INIT_FOOTER: &str = "import MzpFooter from '@mozilla-protocol/core/protocol/js/footer';

window.MzpFooter = MzpFooter;
document.body.dataset.footer = typeof MzpFooter.init;
";

const LABEL_TS: &str = "export function label(name: string): string {
    const prefix: string = 'has-';
    return prefix + name;
}

export function unused(): string {
    return 'label-unused-marker';
}
";

const API: &str = "import { chunk, sum } from 'lodash-es';
import { label } from '../base/label';

export const chunks = chunk(['a', 'b', 'c'], 2);
export const total = sum([1, 2, 3]);
export function named(x) {
    return label(x);
}
";

const PAGE: &str = r#"<!doctype html>
<html><body>
<section class="mzp-c-details">
  <h2 class="mzp-c-details-heading">What is Firefox?</h2>
  <div><p>A browser.</p></div>
  <h2 class="mzp-c-details-heading">Who makes it?</h2>
  <div><p>Mozilla.</p></div>
</section>
</body></html>
"#;

/// Runs each script in a fresh jsdom window of [`PAGE`]; prints, per script, the page's
/// markup afterwards and whether it threw.
const RUN_IN_JSDOM: &str = r#"
const fs = require('fs');
const { JSDOM } = require(process.argv[2]);
const page = fs.readFileSync(process.argv[3], 'utf8');
const out = [];
for (const file of process.argv.slice(4)) {
  const dom = new JSDOM(page, { runScripts: 'outside-only' });
  dom.window.matchMedia = () => ({ matches: false, addListener() {}, addEventListener() {} });
  let error = null;
  try { dom.window.eval(fs.readFileSync(file, 'utf8')); } catch (e) { error = String(e); }
  out.push({ html: dom.window.document.documentElement.outerHTML, error });
}
console.log(JSON.stringify(out));
"#;

/// Imports each ES module and prints its exports (functions called with "x").
const IMPORT_ESM: &str = r#"
const { pathToFileURL } = require('url');
(async () => {
  const out = [];
  for (const file of process.argv.slice(2)) {
    const m = await import(pathToFileURL(file).href);
    const shown = {};
    for (const [k, v] of Object.entries(m)) shown[k] = typeof v === 'function' ? v('x') : v;
    out.push(shown);
  }
  console.log(JSON.stringify(out));
})();
"#;

fn project() -> Project {
    let project = Project::new(&[
        ("static-bundles.json", STATIC_BUNDLES),
        ("js/base/site.es6.js", SITE),
        ("js/base/init-details.es6.js", INIT_DETAILS),
        ("js/base/init-footer.es6.js", INIT_FOOTER),
        ("js/base/label.ts", LABEL_TS),
        ("js/lib/api.es6.js", API),
        ("js/plain.js", "var plain = 1;\n"),
    ]);
    project.write("sluice.toml", SLUICE_TOML);
    std::os::unix::fs::symlink(node_modules(), project.path("node_modules")).unwrap();
    project
}

/// esbuild's bundle of `entries` (logical paths under `media/`) run in order, as `format`.
fn esbuild(project: &Project, name: &str, entries: &[&str], format: &str) -> PathBuf {
    let dir = project.path("esbuild");
    fs::create_dir_all(&dir).unwrap();
    let entry = dir.join(format!("{name}.entry.js"));
    let imports: String = entries
        .iter()
        .map(|e| format!("import '../media/{e}';\n"))
        .collect();
    let source = if format == "esm" {
        format!("export * from '../media/{}';\n", entries[0])
    } else {
        imports
    };
    fs::write(&entry, source).unwrap();
    let out = dir.join(format!(
        "{name}.{}",
        if format == "esm" { "mjs" } else { "js" }
    ));
    let bin = node_modules().join(".bin/esbuild");
    let status = Command::new(bin)
        .arg(&entry)
        .args(["--bundle", "--minify", "--log-level=error"])
        .arg(format!("--format={format}"))
        .arg(format!("--outfile={}", out.display()))
        .current_dir(&project.root)
        .status()
        .unwrap();
    assert!(status.success(), "esbuild failed");
    out
}

fn node(args: &[&str], cwd: &Path) -> Value {
    let out = asset_support::node(args, cwd);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn in_jsdom(project: &Project, scripts: &[&Path]) -> Vec<Value> {
    let runner = project.path("run-in-jsdom.js");
    fs::write(&runner, RUN_IN_JSDOM).unwrap();
    let page = project.path("page.html");
    fs::write(&page, PAGE).unwrap();
    let jsdom = node_modules().join("jsdom");
    let mut args: Vec<String> = vec![
        runner.display().to_string(),
        jsdom.display().to_string(),
        page.display().to_string(),
    ];
    args.extend(scripts.iter().map(|s| s.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match node(&args, &project.root) {
        Value::Array(results) => results,
        other => panic!("{other}"),
    }
}

#[test]
fn bedrock_shaped_bundles_behave_as_esbuilds_in_jsdom() {
    let project = project();
    project.run_ok(&["build", "--no-compress"]);
    let site = project.path("static/js/BUNDLES/site.js");
    let footer = project.path("static/js/BUNDLES/footer.js");
    let ours = fs::read_to_string(&site).unwrap();
    // Minified, tree-shaken (the TypeScript module's unused export is gone), with a map.
    assert!(!ours.contains("label-unused-marker"), "{ours}");
    assert!(!ours.contains("import "), "{ours}");
    assert!(ours.lines().count() < 10, "not minified:\n{ours}");
    let map: Value =
        serde_json::from_slice(&fs::read(project.path("static/js/BUNDLES/site.js.map")).unwrap())
            .unwrap();
    let sources: Vec<&str> = map["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for wanted in [
        "../base/site.es6.js",
        "../base/init-details.es6.js",
        "../base/label.ts",
    ] {
        assert!(sources.contains(&wanted), "{wanted} not in {sources:?}");
    }
    assert!(
        sources
            .iter()
            .any(|s| s.ends_with("@mozilla-protocol/core/protocol/js/details.js")),
        "{sources:?}"
    );
    assert!(
        sources.iter().any(|s| s.ends_with("lodash-es/chunk.js")),
        "{sources:?}"
    );
    // A plain script is still copied as it is.
    assert_eq!(
        fs::read_to_string(project.path("static/js/plain.js")).unwrap(),
        "var plain = 1;\n"
    );

    let theirs_site = esbuild(
        &project,
        "site",
        &["js/base/site.es6.js", "js/base/init-details.es6.js"],
        "iife",
    );
    let theirs_footer = esbuild(&project, "footer", &["js/base/init-footer.es6.js"], "iife");
    // Each page runs the site bundle, then the footer bundle's alone.
    let results = in_jsdom(&project, &[&site, &theirs_site, &footer, &theirs_footer]);
    for r in &results {
        assert_eq!(r["error"], Value::Null, "{r}");
    }
    assert_eq!(
        results[0], results[1],
        "site: sluice's and esbuild's pages differ"
    );
    assert_eq!(
        results[2], results[3],
        "footer: sluice's and esbuild's pages differ"
    );
    let html = results[0]["html"].as_str().unwrap();
    // What the scripts did, so that two pages that did nothing cannot pass.
    assert!(html.contains(r#"<html class="has-js">"#), "{html}");
    assert!(
        html.contains("is-summary") && html.contains("aria-expanded=\"false\""),
        "{html}"
    );
    assert!(
        html.contains(r#"data-chunks="[[1,2],[3,4],[5]]""#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-kebab="firefox-browser-download""#),
        "{html}"
    );
    assert!(
        results[2]["html"]
            .as_str()
            .unwrap()
            .contains(r#"data-footer="function""#)
    );

    // The ES-module bundle: the same exports as esbuild's.
    let api = project.path("static/js/api.js");
    let ours_mjs = project.path("esbuild/ours-api.mjs");
    fs::copy(&api, &ours_mjs).unwrap();
    let theirs_api = esbuild(&project, "api", &["js/lib/api.es6.js"], "esm");
    let exports = node(
        &[
            &project.path("esbuild/import.js").display().to_string(),
            &ours_mjs.display().to_string(),
            &theirs_api.display().to_string(),
        ],
        &{
            fs::write(project.path("esbuild/import.js"), IMPORT_ESM).unwrap();
            project.root.clone()
        },
    );
    assert_eq!(exports[0], exports[1], "api: exports differ");
    assert_eq!(exports[0]["total"], 6, "{exports}");
    assert_eq!(exports[0]["named"], "has-x", "{exports}");
}

#[test]
fn dev_bundles_are_unminified_with_a_map_and_rebuilt_after_a_module_edit() {
    let project = project();
    project.run_ok(&["sync"]);
    let site = project.path("static/js/BUNDLES/site.js");
    let first = fs::read_to_string(&site).unwrap();
    assert!(first.contains("function label(name)"), "{first}");
    assert!(
        first.ends_with("//# sourceMappingURL=site.js.map\n"),
        "{first}"
    );
    let map: Value =
        serde_json::from_slice(&fs::read(project.path("static/js/BUNDLES/site.js.map")).unwrap())
            .unwrap();
    let i = map["sources"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s == "../base/label.ts")
        .unwrap();
    // The original module's text, TypeScript types and all.
    assert_eq!(map["sourcesContent"][i], LABEL_TS);

    // A module no member names, only imports: editing it rebuilds the bundle.
    project.write(
        "media/js/base/label.ts",
        LABEL_TS.replace("'has-'", "'with-'"),
    );
    project.run_ok(&["sync"]);
    let second = fs::read_to_string(&site).unwrap();
    assert!(
        second.contains("\"with-\"") || second.contains("'with-'"),
        "{second}"
    );
    assert_eq!(first.replace("has-", "with-"), second);
    let footer_before = fs::metadata(project.path("static/js/BUNDLES/footer.js"))
        .unwrap()
        .modified()
        .unwrap();
    // Nothing changed: nothing rebuilt, nothing rewritten.
    project.run_ok(&["sync"]);
    assert_eq!(fs::read_to_string(&site).unwrap(), second);
    assert_eq!(
        fs::metadata(project.path("static/js/BUNDLES/footer.js"))
            .unwrap()
            .modified()
            .unwrap(),
        footer_before
    );
}

#[test]
fn a_syntax_error_in_an_imported_module_names_its_file_line_and_column() {
    let project = project();
    project.write(
        "media/js/base/label.ts",
        "export function label(name: string): string {\n    return 'has-' + ;\n}\n",
    );
    let out = project.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Once, though it fails its own compile (label.js) and two bundles that import it.
    assert_eq!(
        stderr.matches("media/js/base/label.ts:2:21").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("return 'has-' + ;"), "{stderr}");
}

#[test]
fn watch_rebuilds_only_the_bundles_that_read_an_edited_module() {
    let project = project();
    let watching = Watching::start(&project);
    let wait_for = |what: &str, test: &dyn Fn(&Value) -> bool| watching.wait_for(what, test);
    wait_for("ready", &|e| e["event"] == "ready");
    let site = project.path("static/js/BUNDLES/site.js");
    let footer = project.path("static/js/BUNDLES/footer.js");
    let footer_mtime = fs::metadata(&footer).unwrap().modified().unwrap();
    let before = fs::read_to_string(&site).unwrap();
    assert!(before.contains("has-"), "{before}");

    project.write(
        "media/js/base/label.ts",
        LABEL_TS.replace("'has-'", "'with-'"),
    );
    let event = wait_for("a derived event with the site bundle", &|e| {
        e["event"] == "derived" && e.to_string().contains("js/BUNDLES/site.js")
    });
    let after = fs::read_to_string(&site).unwrap();
    assert_eq!(before.replace("has-", "with-"), after, "{event}");
    assert!(
        !event.to_string().contains("js/BUNDLES/footer.js"),
        "the footer bundle does not read label.ts: {event}"
    );
    assert_eq!(
        fs::metadata(&footer).unwrap().modified().unwrap(),
        footer_mtime
    );
}

#[test]
fn a_build_with_a_broken_module_fails_naming_it_and_leaves_the_output_alone() {
    let project = project();
    project.run_ok(&["build", "--no-compress"]);
    let before = support::tree_files(&project.path("static"));
    project.write(
        "media/js/base/init-footer.es6.js",
        "import MzpFooter from '@mozilla-protocol/core/protocol/js/footer';\nwindow.x = {;\n",
    );
    let out = project.run(&["build", "--no-compress"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("media/js/base/init-footer.es6.js:2:13"),
        "{stderr}"
    );
    assert_eq!(support::tree_files(&project.path("static")), before);
    // An import of a package that is not installed names the importer.
    project.write(
        "media/js/base/init-footer.es6.js",
        "import x from 'not-installed-anywhere';\nx();\n",
    );
    let out = project.run(&["build", "--no-compress"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-installed-anywhere"), "{stderr}");
    assert!(
        stderr.contains("media/js/base/init-footer.es6.js:1:"),
        "{stderr}"
    );
}

#[test]
fn a_bundle_is_a_module_bundle_when_a_member_imports_and_plain_ones_stay_joined() {
    let project = Project::new(&[
        (
            "js/auto/a.js",
            "import { chunk } from 'lodash-es';\nwindow.order = [JSON.stringify(chunk([1, 2, 3], 2))];\n",
        ),
        ("js/auto/b.js", "window.order.push('b after a');\n"),
        ("js/old/a.js", "var a = 1"),
        ("js/old/b.js", "var b = 'import x from y'"),
    ]);
    project.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n\
         [bundles.js.auto]\nfiles = [\"js/auto/*.js\"]\noutput = \"js/auto.js\"\n\n\
         [bundles.js.old]\nfiles = [\"js/old/*.js\"]\noutput = \"js/old.js\"\n\n\
         [bundles.js.home]\nentry = \"js/old/a.js\"\nformat = \"esm\"\noutput = \"js/home.js\"\n",
    );
    std::os::unix::fs::symlink(node_modules(), project.path("node_modules")).unwrap();
    project.run_ok(&["build", "--no-minify", "--no-compress"]);
    let read = |rel: &str| fs::read_to_string(project.path("static").join(rel)).unwrap();
    // Joined as django-pipeline joins scripts, byte for byte.
    assert_eq!(
        read("js/old.js"),
        "(function() {\nvar a = 1\n;var b = 'import x from y'\n}).call(this);"
    );
    // Bundled: lodash's chunk is in, the import is gone, the members run in order.
    let auto = read("js/auto.js");
    assert!(!auto.contains("import {"), "{auto}");
    let script = project.path("auto.js");
    fs::write(
        &script,
        format!("var window = globalThis;\n{auto}\nconsole.log(JSON.stringify(window.order));\n"),
    )
    .unwrap();
    let order = node(&[&script.display().to_string()], &project.root);
    assert_eq!(order, serde_json::json!(["[[1,2],[3]]", "b after a"]));
    // `entry` with no import: a module bundle all the same (its table says so): not wrapped,
    // and its unused top-level `var` is dropped as an ES module's would be.
    let home = read("js/home.js");
    assert!(
        !home.contains("var a") && !home.contains(".call(this)"),
        "{home}"
    );

    let out = project.run(&["config", "--format", "json"]);
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| {
        config["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("home")["modules"]["always"], true);
    assert_eq!(by_name("home")["modules"]["format"], "esm");
    assert_eq!(by_name("home")["files"], serde_json::json!(["js/old/a.js"]));
    assert_eq!(by_name("auto")["modules"]["always"], false);
}

/// A project whose one bundle, `main` (`js/BUNDLES/main.js`), is `js/main.es6.js` in a
/// `static-bundles.json`, with `files` in `media/`.
fn main_bundle_project(files: &[(&str, &str)]) -> Project {
    let project = Project::new(files);
    project.write(
        "media/static-bundles.json",
        r#"{"js": [{"name": "main", "files": ["js/main.es6.js"]}]}"#,
    );
    project.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\nstatic_bundles = \"media/static-bundles.json\"\n",
    );
    project
}

/// The bundle's member importing the package `greeter`.
const GREETER_MAIN: (&str, &str) = (
    "js/main.es6.js",
    "import { greeting } from 'greeter';\nwindow.greeting = greeting;\n",
);

#[test]
fn a_package_file_read_from_node_modules_is_an_input_of_the_bundle() {
    let project = main_bundle_project(&[GREETER_MAIN]);
    // `module` (ESM) is preferred to `main` (CommonJS), as bundlers do for the browser.
    project.write(
        "node_modules/greeter/package.json",
        r#"{"name": "greeter", "main": "index.cjs", "module": "index.mjs"}"#,
    );
    project.write(
        "node_modules/greeter/index.cjs",
        "exports.greeting = 'from-main';\n",
    );
    project.write(
        "node_modules/greeter/index.mjs",
        "export const greeting = 'hello-one';\n",
    );
    project.run_ok(&["sync"]);
    let out = project.path("static/js/BUNDLES/main.js");
    let first = fs::read_to_string(&out).unwrap();
    assert!(
        first.contains("hello-one") && !first.contains("from-main"),
        "{first}"
    );
    // node_modules is not mirrored into the output.
    assert!(!project.path("static/node_modules").exists());

    // Same length, so only the content (and mtime) tells the change.
    project.write(
        "node_modules/greeter/index.mjs",
        "export const greeting = 'hello-two';\n",
    );
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    filetime::set_file_mtime(
        project.path("node_modules/greeter/index.mjs"),
        filetime::FileTime::from_system_time(later),
    )
    .unwrap();
    project.run_ok(&["sync"]);
    let second = fs::read_to_string(&out).unwrap();
    assert_eq!(first.replace("hello-one", "hello-two"), second);
}

/// `sluice watch` follows a package's module an ES-module bundle read: editing it in
/// `node_modules` rebuilds the bundle (node_modules is watched only where bundles read).
#[test]
fn watch_rebuilds_a_module_bundle_when_a_package_module_is_edited() {
    package_module_edit(&[]);
}

/// The same under `--poll` (everything polled): the package's folder is polled like the
/// source folders.
#[test]
fn under_poll_a_package_module_edit_rebuilds_its_module_bundle() {
    package_module_edit(&["--poll=20"]);
}

fn package_module_edit(args: &[&str]) {
    let project = main_bundle_project(&[GREETER_MAIN]);
    project.write(
        "node_modules/greeter/package.json",
        r#"{"name": "greeter", "module": "index.mjs"}"#,
    );
    project.write(
        "node_modules/greeter/index.mjs",
        "export const greeting = 'hello-one';\n",
    );
    // Written a while ago: the poller looks again at files younger than its clock window,
    // which would rebuild the bundle whatever it watches.
    let past = filetime::FileTime::from_unix_time(1_700_000_000, 0);
    for file in [
        "media/js/main.es6.js",
        "media/static-bundles.json",
        "sluice.toml",
    ] {
        filetime::set_file_mtime(project.path(file), past).unwrap();
    }
    let watching = Watching::start_with(&project, args);
    let wait_for = |what: &str, test: &dyn Fn(&Value) -> bool| watching.wait_for(what, test);
    wait_for("ready", &|e| e["event"] == "ready");
    let out = project.path("static/js/BUNDLES/main.js");
    let first = fs::read_to_string(&out).unwrap();
    assert!(first.contains("hello-one"), "{first}");

    project.write(
        "node_modules/greeter/index.mjs",
        "export const greeting = 'hello-two';\n",
    );
    wait_for("a derived event with the bundle", &|e| {
        e["event"] == "derived" && e.to_string().contains("js/BUNDLES/main.js")
    });
    let second = fs::read_to_string(&out).unwrap();
    assert_eq!(first.replace("hello-one", "hello-two"), second);
    assert!(!project.path("static/node_modules").exists());
}

/// `sluice watch --format json` in a project; stopped when dropped (a failed test must not
/// leave a watcher running).
struct Watching {
    child: std::process::Child,
    events: std::sync::mpsc::Receiver<Value>,
}

impl Watching {
    fn start(project: &Project) -> Watching {
        Watching::start_with(project, &[])
    }

    fn start_with(project: &Project, args: &[&str]) -> Watching {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["watch", "--format", "json"])
            .args(args)
            .current_dir(&project.root)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("SLUICE_POLL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let events = support::json_lines(child.stdout.take().unwrap());
        Watching { child, events }
    }

    /// The next event `test` accepts (a bound on waiting for sluice, not a timed assertion).
    fn wait_for(&self, what: &str, test: &dyn Fn(&Value) -> bool) -> Value {
        let patience = std::time::Duration::from_secs(60);
        let deadline = std::time::Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if test(&event) => return event,
                Ok(_) => {}
                Err(_) => panic!("no {what} within {patience:?}"),
            }
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new script can change what an import resolves to: `./util` was `util/index.js`, then
/// `util.js` appears (and wins, as in every bundler); when it goes, the folder's index is
/// back.
#[test]
fn watch_follows_an_import_whose_resolution_a_new_file_changes() {
    let project = main_bundle_project(&[
        (
            "js/main.es6.js",
            "import { name } from './util';\nwindow.name1 = name;\n",
        ),
        ("js/util/index.js", "export const name = 'from-index';\n"),
    ]);
    let watching = Watching::start(&project);
    watching.wait_for("ready", &|e| e["event"] == "ready");
    let out = project.path("static/js/BUNDLES/main.js");
    assert!(fs::read_to_string(&out).unwrap().contains("from-index"));

    project.write("media/js/util.js", "export const name = 'from-file';\n");
    watching.wait_for("a derived event with the bundle", &|e| {
        e["event"] == "derived" && e.to_string().contains("js/BUNDLES/main.js")
    });
    let text = fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("from-file") && !text.contains("from-index"),
        "{text}"
    );

    fs::remove_file(project.path("media/js/util.js")).unwrap();
    watching.wait_for("a derived event with the bundle", &|e| {
        e["event"] == "derived" && e.to_string().contains("js/BUNDLES/main.js")
    });
    assert!(fs::read_to_string(&out).unwrap().contains("from-index"));
    drop(watching);

    // The same between two runs: the record's bundle is not taken as fresh.
    project.write("media/js/util.js", "export const name = 'from-file';\n");
    project.run_ok(&["sync"]);
    assert!(fs::read_to_string(&out).unwrap().contains("from-file"));
    project.run_ok(&["build", "--no-hash"]);
    assert!(fs::read_to_string(&out).unwrap().contains("from-file"));
    fs::remove_file(project.path("media/js/util.js")).unwrap();
    project.run_ok(&["build", "--no-hash"]);
    assert!(fs::read_to_string(&out).unwrap().contains("from-index"));
}

/// A module bundle made once comes from the content cache whenever its inputs are what they
/// were, across profiles (each keeps its own variant) and edits that are undone: `build`,
/// a package module edited, `sync`, `build`, the edit undone, `sync`, `build` — the last
/// build runs neither rolldown nor the minifier (`bundles_built` 0) and writes the first
/// build's bytes. A setting that changes the bytes (the browsers) is in the key: bundled again.
#[test]
fn a_minified_module_bundle_comes_from_the_cache_when_its_inputs_are_back() {
    let project = main_bundle_project(&[GREETER_MAIN]);
    project.write(
        "node_modules/greeter/package.json",
        r#"{"name": "greeter", "module": "index.mjs"}"#,
    );
    let module = project.path("node_modules/greeter/index.mjs");
    let set = |text: &str, seconds: u64| {
        fs::write(&module, text).unwrap();
        // Each version with an mtime of its own (same-length edits in one clock tick).
        let at = std::time::SystemTime::now() + std::time::Duration::from_secs(seconds);
        filetime::set_file_mtime(&module, filetime::FileTime::from_system_time(at)).unwrap();
        // A file changed within a clock tick (20 ms) of a bundling is not kept with its
        // result (it may have been read half-way): the edits here are older than that.
        std::thread::sleep(std::time::Duration::from_millis(30));
    };
    let build = || -> (u64, String) {
        let out = project.run_ok(&["build", "--no-compress", "--format", "json"]);
        let event = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["event"] == "build")
            .expect("a build event");
        let bundle = fs::read_dir(project.path("static/js/BUNDLES"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("main.") && name.ends_with(".js") && name != "main.js"
            })
            .expect("the hashed bundle");
        (
            event["bundles_built"].as_u64().expect("bundles_built"),
            fs::read_to_string(bundle).unwrap(),
        )
    };
    set("export const greeting = 'hello-one';\n", 5);
    let (built, first) = build();
    assert_eq!(built, 1);
    assert!(first.contains("hello-one"), "{first}");

    set("export const greeting = 'hello-two';\n", 10);
    project.run_ok(&["sync"]);
    let (built, second) = build();
    assert_eq!(built, 1);
    assert!(second.contains("hello-two"), "{second}");

    set("export const greeting = 'hello-one';\n", 15);
    project.run_ok(&["sync"]);
    let (built, third) = build();
    assert_eq!(built, 0, "the module bundle was made again");
    assert_eq!(third, first);

    // Other browsers: other bytes may come out, so it is bundled again.
    let toml = fs::read_to_string(project.path("sluice.toml")).unwrap();
    project.write(
        "sluice.toml",
        format!("{toml}[build]\nbrowserslist = [\"chrome 60\"]\n"),
    );
    let (built, _) = build();
    assert_eq!(built, 1, "a change of browsers took a cached bundle");
}

/// A minified module bundle is written for the project's browsers: for chrome 60, `??` and
/// `?.` (chrome 80) are lowered; without `browserslist` they stay. Dev bundles keep them.
/// Needs no package: two modules of the project's own.
#[test]
fn a_minified_module_bundle_is_lowered_for_the_projects_browsers() {
    let project = Project::new(&[
        (
            "js/a.js",
            "import { f } from './b.js';\nexport const out = f(globalThis.x ?? 3);\n",
        ),
        ("js/b.js", "export const f = (v) => v?.y ?? v;\n"),
    ]);
    let toml = "sources = [\"media\"]\noutput = \"static\"\n\n\
                [bundles.js.home]\nentry = \"js/a.js\"\nformat = \"esm\"\noutput = \"js/home.js\"\n";
    project.write("sluice.toml", toml);
    let built = || {
        project.run_ok(&["build", "--no-hash", "--no-compress"]);
        fs::read_to_string(project.path("static/js/home.js")).unwrap()
    };
    let current = built();
    assert!(current.contains("??"), "{current}");
    project.write(
        "sluice.toml",
        format!("{toml}\n[build]\nbrowserslist = [\"chrome 60\"]\n"),
    );
    let lowered = built();
    assert!(
        !lowered.contains("??") && !lowered.contains("?."),
        "{lowered}"
    );
    project.run_ok(&["sync"]);
    let dev = fs::read_to_string(project.path("static/js/home.js")).unwrap();
    assert!(dev.contains("??"), "a dev bundle was lowered: {dev}");
}
