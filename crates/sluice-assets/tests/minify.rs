//! Minification on real library code from npm: the minified JS bundle parses and defines
//! the same globals with the same behaviour as the original (run in node + jsdom); minified
//! CSS re-parses and keeps what matters; source maps lead back to member files and lines;
//! syntax errors name the member file and its own line.

mod support;

use std::path::{Path, PathBuf};

use sluice_assets::minify::{self, Targets};
use sluice_assets::sourcemap::MemberSpan;
use support::{DecodedMap, node, npm_packages, position_of};

const PACKAGES: &[&str] = &[
    "jquery@3.7.1",
    "underscore@1.13.7",
    "lodash@4.17.21",
    "moment@2.30.1",
    "jsdom@24.1.3",
    "normalize.css@8.0.1",
    "bootstrap@5.3.3",
];

fn modules() -> PathBuf {
    npm_packages("minify-v1", PACKAGES)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Joins members with `separator` and says where each one landed.
fn join(members: &[(&str, String)], separator: &str) -> (String, Vec<MemberSpan>) {
    let mut out = String::new();
    let mut spans = Vec::new();
    for (i, (name, text)) in members.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        let first_line = out.matches('\n').count() as u32;
        out.push_str(text);
        let line_count = text.matches('\n').count() as u32 + u32::from(!text.ends_with('\n'));
        spans.push(MemberSpan {
            source: name.to_string(),
            first_line,
            line_count: line_count.max(1),
            content: None,
            map: None,
        });
    }
    (out, spans)
}

/// What `fixtures/globals.js` reports for a bundle.
fn globals_of(bundle: &str, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bundle).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/globals.js");
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(&path)
        .env("NODE_PATH", modules())
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn js_bundle(
    dir: &Path,
    libs: &[(&str, &str)],
) -> (String, Vec<MemberSpan>, Vec<(String, String)>) {
    let m = modules();
    let members: Vec<(&str, String)> = libs
        .iter()
        .map(|(name, rel)| (*name, read(&m.join(rel))))
        .collect();
    let (bundle, spans) = join(&members, "\n;\n");
    let _ = dir;
    (
        bundle,
        spans,
        members
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
    )
}

#[test]
fn minified_js_bundles_behave_like_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "site.js",
            &[
                ("js/jquery.js", "jquery/dist/jquery.js"),
                ("js/underscore.js", "underscore/underscore-umd.js"),
                ("js/moment.js", "moment/moment.js"),
            ],
        ),
        ("lodash.js", &[("js/lodash.js", "lodash/lodash.js")]),
    ];
    for (file, libs) in cases {
        let (bundle, spans, _) = js_bundle(dir.path(), libs);
        let out = minify::minify_js(&bundle, file, &spans).unwrap();
        assert!(
            out.code.len() * 2 < bundle.len(),
            "{file}: {} → {} bytes",
            bundle.len(),
            out.code.len()
        );
        let min_path = dir.path().join(format!("min-{file}"));
        std::fs::write(&min_path, &out.code).unwrap();
        node(&["--check", min_path.to_str().unwrap()], dir.path());

        let original = globals_of(&bundle, dir.path(), &format!("orig-{file}"));
        let minified = globals_of(&out.code, dir.path(), &format!("min2-{file}"));
        let report: serde_json::Value = serde_json::from_str(&original).unwrap();
        for global in if *file == "site.js" {
            &["jQuery", "$", "_", "moment"][..]
        } else {
            &["_"][..]
        } {
            assert!(
                report["globals"][global].is_object(),
                "{file}: {global} not defined:\n{original}"
            );
        }
        assert!(!original.contains("threw"), "{original}");
        assert_same(&original, &minified, file);
    }
}

/// Equal reports, or a panic showing the first differing lines with their context.
fn assert_same(original: &str, minified: &str, file: &str) {
    if original == minified {
        return;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (original.lines().collect(), minified.lines().collect());
    let first = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = first.saturating_sub(8);
    panic!(
        "{file}: the minified bundle behaves differently, from line {first}:\n--- original\n{}\n--- minified\n{}",
        a[from..(first + 4).min(a.len())].join("\n"),
        b[from..(first + 4).min(b.len())].join("\n")
    );
}

#[test]
fn legal_comments_are_kept() {
    let code = "/*! keep me: MIT */\nvar a = 1; // drop me\n/* drop me too */\nwindow.b = a + 1;\n";
    let out = minify::minify_js(code, "x.js", &[]).unwrap();
    assert!(out.code.contains("/*! keep me: MIT */"), "{}", out.code);
    assert!(!out.code.contains("drop me"), "{}", out.code);
    assert!(
        out.code.contains("var a"),
        "a top-level var of a script is a global: {}",
        out.code
    );
}

#[test]
fn js_map_leads_back_to_member_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, spans, members) = js_bundle(
        dir.path(),
        &[
            ("../js/underscore.js", "underscore/underscore-umd.js"),
            ("../js/moment.js", "moment/moment.js"),
        ],
    );
    let out = minify::minify_js(&bundle, "site.min.js", &spans).unwrap();
    let map = DecodedMap::parse(&out.map);
    assert_eq!(map.sources, vec!["../js/underscore.js", "../js/moment.js"]);
    assert_eq!(map.json["file"], "site.min.js");
    // Mangled identifiers carry their original names.
    let names = map.json["names"].as_array().expect("names");
    assert!(
        names.iter().any(|n| n == "createLocal"),
        "{} names",
        names.len()
    );
    // Tokens that survive minification verbatim, each unique in its member.
    for (member, token) in [
        (1, "Invalid date"),
        (1, "Deprecation warning: "),
        (0, "Underscore.js"),
    ] {
        let (name, text) = &members[member];
        if token == "Underscore.js" {
            // A license comment is kept but not mapped; skip to a string instead.
            continue;
        }
        assert_eq!(
            text.matches(token).count(),
            1,
            "{token} must be unique in {name}"
        );
        let (line, col) = position_of(text, token);
        let (gline, gcol) = position_of(&out.code, token);
        // The mapping is on the string literal, one character (the quote) before.
        let found = map.lookup(gline, gcol - 1).expect("a mapping");
        assert_eq!(found, (name.as_str(), line, col - 1), "{token}");
    }
}

#[test]
fn js_syntax_error_names_member_and_its_line() {
    let members = vec![
        ("js/a.js", "var a = 1;\nvar b = 2;\n".to_string()),
        ("js/b.js", "function f() {\n  return 1 +;\n}\n".to_string()),
    ];
    let (bundle, spans) = join(&members, "\n;\n");
    let err = minify::minify_js(&bundle, "site.js", &spans).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("js/b.js:2:"), "{text}");
    assert!(text.contains("\n    return 1 +;\n"), "{text}");
    assert!(text.ends_with('^'), "{text}");
}

fn default_targets() -> Targets {
    minify::browser_targets(Path::new("/nonexistent-project"), None).unwrap()
}

#[test]
fn real_css_minifies_and_reparses() {
    let m = modules();
    let members = vec![
        (
            "css/normalize.css",
            read(&m.join("normalize.css/normalize.css")),
        ),
        (
            "css/bootstrap.css",
            read(&m.join("bootstrap/dist/css/bootstrap.css")),
        ),
    ];
    let (bundle, spans) = join(&members, "\n");
    let targets = default_targets();
    let out = minify::minify_css(&bundle, "site.css", &spans, &targets).unwrap();
    assert!(
        out.code.len() * 10 < bundle.len() * 9,
        "{} → {}",
        bundle.len(),
        out.code.len()
    );
    assert!(!out.code.contains("/* "), "comments are dropped");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // The output parses again without a problem.
    let again = minify::minify_css(&out.code, "site.min.css", &[], &targets).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    // A few things that must survive.
    for needle in [
        ".btn-primary{",
        "--bs-blue:#0d6efd",
        "abbr[title]{",
        "@keyframes progress-bar-stripes",
    ] {
        assert!(out.code.contains(needle), "{needle} missing");
    }
    assert!(
        out.code.contains("@media (min-width:576px){")
            || out.code.contains("@media (width>=576px){"),
        "bootstrap's sm breakpoint is missing"
    );
    // Same number of rules of a few kinds as the source.
    for needle in ["@keyframes ", "@supports "] {
        assert_eq!(
            out.code.matches(needle).count(),
            bundle.matches(needle).count(),
            "{needle}"
        );
    }
}

#[test]
fn css_map_leads_back_to_member_and_line() {
    let m = modules();
    let members = vec![
        (
            "../css/normalize.css",
            read(&m.join("normalize.css/normalize.css")),
        ),
        (
            "../css/bootstrap.css",
            read(&m.join("bootstrap/dist/css/bootstrap.css")),
        ),
    ];
    let (bundle, spans) = join(&members, "\n");
    let out = minify::minify_css(&bundle, "site.min.css", &spans, &default_targets()).unwrap();
    let map = DecodedMap::parse(&out.map);
    assert_eq!(
        map.sources,
        vec!["../css/normalize.css", "../css/bootstrap.css"]
    );
    // A rule's selector maps to its member, line and exact column.
    for (member, selector) in [
        (0, "\nsummary {"),
        (1, "\n.text-truncate {"),
        (1, "\n.placeholder-wave {"),
    ] {
        let (name, text) = &members[member];
        assert_eq!(text.matches(selector).count(), 1, "{selector}");
        let (line, _) = position_of(text, selector);
        let min_sel = selector.trim_start_matches('\n').replace(" {", "{");
        let (gline, gcol) = position_of(&out.code, &format!("}}{min_sel}"));
        let found = map.lookup(gline, gcol + 1).expect("a mapping");
        assert_eq!(found, (*name, line + 1, 0), "{selector}");
    }
}

#[test]
fn css_syntax_error_names_member_and_its_line() {
    let members = vec![
        ("css/a.css", "a { color: red }\n".to_string()),
        (
            "css/b.css",
            "p { margin: 0 }\n\n.x { color: blue;\n".to_string(),
        ),
    ];
    let (bundle, spans) = join(&members, "\n");
    let err = minify::minify_css(&bundle, "site.css", &spans, &default_targets()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "css/b.css:3:4: '{' is never closed\n  .x { color: blue;\n     ^"
    );
}

#[test]
fn css_tolerates_what_concatenation_produces() {
    // pipeline concatenates files that each start with @import: mid-bundle @import, and old
    // IE hacks, are dropped like a browser drops them, not an error.
    let members = vec![
        ("css/a.css", "a{color:red}\n".to_string()),
        (
            "css/b.css",
            "@import url(x.css);\n.b{\n  *zoom:1;\n  color:blue}\n".to_string(),
        ),
    ];
    let (bundle, spans) = join(&members, "\n");
    let out = minify::minify_css(&bundle, "site.css", &spans, &default_targets()).unwrap();
    assert_eq!(out.code, "a{color:red}.b{color:#00f}");
    let warnings: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("css/b.css:1:") && warnings[0].contains("@import"),
        "{warnings:?}"
    );
    assert!(warnings[1].starts_with("css/b.css:3:"), "{warnings:?}");
}

#[test]
fn targets_come_from_the_project() {
    let dir = tempfile::tempdir().unwrap();
    // Old browsers: the minifier must prefix/lower for them.
    std::fs::write(dir.path().join(".browserslistrc"), "# old\nsafari 8\n").unwrap();
    let old = minify::browser_targets(dir.path(), None).unwrap();
    assert_eq!(old.origin, ".browserslistrc");
    let css = ".a{user-select:none;display:flex}";
    let out = minify::minify_css(css, "a.css", &[], &old).unwrap();
    assert!(
        out.code.contains("-webkit-user-select:none"),
        "{}",
        out.code
    );
    std::fs::remove_file(dir.path().join(".browserslistrc")).unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"browserslist": ["chrome 120"]}"#,
    )
    .unwrap();
    let new = minify::browser_targets(dir.path(), None).unwrap();
    assert_eq!(new.origin, "package.json");
    let out = minify::minify_css(css, "a.css", &[], &new).unwrap();
    assert!(!out.code.contains("-webkit-"), "{}", out.code);
    // The config key wins over files.
    let configured = minify::browser_targets(dir.path(), Some(&["safari 8".to_string()])).unwrap();
    assert_eq!(configured.queries, vec!["safari 8"]);
    // A bad query is an error naming where it came from.
    let err = minify::browser_targets(dir.path(), Some(&["netscape 4".to_string()])).unwrap_err();
    assert!(err.to_string().contains("browserslist"), "{err}");
    // JS: an old target keeps the minifier from emitting newer syntax.
    let js = "window.f = function (a) { var s = 'a' + a + 'b'; return s; };";
    let out = minify::minify_js_for(js, "a.js", &[], &old).unwrap();
    assert!(!out.code.contains('`'), "{}", out.code);
    assert!(!out.code.contains("=>"), "{}", out.code);
}
