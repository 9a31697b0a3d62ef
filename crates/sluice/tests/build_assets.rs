//! Minification and compilers in `sluice build`: a project with SCSS (and a partial),
//! TypeScript, plain CSS/JS members and a `.browserslistrc`. Minified bundles with maps that
//! lead back to the member and line, JS that node accepts and that behaves as the unminified
//! bundle, compiled files in the manifest, no-op and partial-change builds that do only what
//! is needed, and syntax errors that name file:line:col and leave the output untouched.

mod support;

#[path = "../../sluice-assets/tests/support/mod.rs"]
mod asset_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use asset_support::{DecodedMap, position_of};
use support::{Project, tree_files};

const CONFIG: &str = r#"sources = ["media"]
output = "static"

[bundles.css.site]
files = ["css/base.css", "css/theme.scss"]
output = "css/site.min.css"

[bundles.css.other]
files = ["css/base.css"]
output = "css/other.min.css"

[bundles.js.app]
files = ["js/lib.js", "js/app.ts"]
output = "js/app.min.js"
"#;

const LIB_JS: &str = "var libValue = 40;\nfunction libAdd(first, second) {\n  \
    return first + second;\n}\nwindow.libName = \"lib-marker\";\n";

const APP_TS: &str = "interface Result { answer: number; message: string }\n\
    const answer: number = libAdd(libValue, 2);\n\
    const result: Result = { answer, message: \"answer is \" + answer };\n\
    (window as any).result = result;\n";

fn project() -> Project {
    let p = Project::new(&[
        ("css/_vars.scss", "$main: #123456;\n"),
        (
            "css/theme.scss",
            "@import \"vars\";\n.theme {\n  color: $main;\n  .inner { margin: 0px 0px; }\n}\n",
        ),
        (
            "css/base.css",
            ".base {\n  margin: 0px 0px;\n  color: #ffffff;\n}\n",
        ),
        ("js/lib.js", LIB_JS),
        ("js/app.ts", APP_TS),
    ]);
    p.write("sluice.toml", CONFIG);
    p.write(".browserslistrc", "chrome 100\n");
    p
}

/// What a JS bundle leaves on `window` when node runs it.
fn run_in_node(bundle: &Path) -> String {
    let script = "const vm = require('vm'); const fs = require('fs');\n\
        const ctx = {}; ctx.window = ctx; vm.createContext(ctx);\n\
        vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), ctx);\n\
        console.log(JSON.stringify({result: ctx.result, libName: ctx.libName}));\n";
    let out = Command::new("node")
        .args(["-e", script])
        .arg(bundle)
        .output()
        .expect("node runs (Debian package nodejs)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn minified_bundles_and_compiled_sources() {
    let p = project();
    let read = |rel: &str| fs::read_to_string(p.path(rel)).unwrap();

    // Unminified first, for comparison.
    let (code, event, out) = p.event(
        "build",
        &["--no-minify", "--no-compress", "--output", "plain"],
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(event["minified"], false, "{event}");
    assert_eq!(event["compiled"], 2, "{event}");
    assert!(!p.path("plain/js/app.min.js.map").exists());

    let (code, event, out) = p.event("build", &["--no-compress"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(event["minified"], true, "{event}");
    // Compiled outputs do not depend on the output root: compiled once, reused.
    assert_eq!(event["compiled"], 0, "{event}");
    assert_eq!(event["bundles_built"], 3, "{event}");
    assert_eq!(
        event["compiled_outputs"],
        serde_json::json!(["css/theme.css", "js/app.js"])
    );

    // CSS: minified, the partial's variable compiled in, a map beside it.
    let css = read("static/css/site.min.css");
    assert!(
        css.starts_with(".base{color:#fff;margin:0}.theme{color:#123456}.theme .inner{margin:0}"),
        "{css}"
    );
    assert!(
        css.ends_with("\n/*# sourceMappingURL=site.min.css.map */"),
        "{css}"
    );
    let css_map: serde_json::Value =
        serde_json::from_str(&read("static/css/site.min.css.map")).unwrap();
    assert_eq!(
        css_map["sources"],
        serde_json::json!(["base.css", "theme.css"])
    );
    assert_eq!(css_map["file"], "site.min.css");

    // JS: node accepts it, and it does what the unminified bundle does.
    let js = read("static/js/app.min.js");
    assert!(
        js.ends_with("\n//# sourceMappingURL=app.min.js.map"),
        "{js}"
    );
    assert!(
        !js.contains("interface") && !js.contains("first + second"),
        "{js}"
    );
    let check = Command::new("node")
        .arg("--check")
        .arg(p.path("static/js/app.min.js"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let minified = run_in_node(&p.path("static/js/app.min.js"));
    assert_eq!(minified, run_in_node(&p.path("plain/js/app.min.js")));
    assert_eq!(
        minified.trim(),
        r#"{"result":{"answer":42,"message":"answer is 42"},"libName":"lib-marker"}"#
    );

    // The map leads a token back to its member and line: a plain member, and a compiled
    // one through the compiler's map, to the TypeScript source (named, with its text).
    let map = DecodedMap::parse(&read("static/js/app.min.js.map"));
    assert_eq!(map.sources, vec!["lib.js", "app.ts"]);
    assert_eq!(
        map.json["sourcesContent"],
        serde_json::json!([LIB_JS, APP_TS])
    );
    for (member, text, token) in [
        ("lib.js", LIB_JS, "lib-marker"),
        ("app.ts", APP_TS, "answer is "),
    ] {
        // The string literal, quoted in the member, a template literal once minified.
        let (line, col) = position_of(text, &format!("\"{token}\""));
        let (gline, gcol) = position_of(&js, &format!("`{token}`"));
        let found = map.lookup(gline, gcol).expect("a mapping");
        assert_eq!(found, (member, line, col), "{token} in {js}");
    }
    // A global the TypeScript sets: its line in the .ts (the wrapper makes the rest local).
    let (gline, gcol) = position_of(&js, "window.result");
    let found = map.lookup(gline, gcol).expect("a mapping");
    assert_eq!((found.0, found.1), ("app.ts", 3), "{js}");

    // The manifest lists the bundles, their maps and the compiled files.
    let manifest: serde_json::Value =
        serde_json::from_str(&read("static/staticfiles.json")).unwrap();
    for name in [
        "css/site.min.css",
        "css/site.min.css.map",
        "js/app.min.js",
        "js/app.min.js.map",
        "css/theme.css",
        "js/app.js",
        "css/theme.scss",
    ] {
        assert!(manifest["paths"].get(name).is_some(), "{name}: {manifest}");
    }
    assert!(manifest["paths"].get("css/_vars.css").is_none());

    // A second build compiles and minifies nothing and opens no source.
    let before = tree_files(&p.path("static"));
    let (code, event, _) = p.event("build", &["--no-compress"]);
    assert_eq!(code, 0);
    assert_eq!(
        (
            &event["compiled"],
            &event["bundles_built"],
            &event["written"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{event}"
    );
    let opened = support::files_opened(&p.root, &["build", "--no-compress"], &["/media/"]);
    assert!(opened.is_empty(), "a no-op build opened {opened:#?}");
    assert_eq!(tree_files(&p.path("static")), before);

    // A change to the partial recompiles its importer and rebuilds only its bundle.
    p.write("media/css/_vars.scss", "$main: #654321;\n");
    let (code, event, _) = p.event("build", &["--no-compress"]);
    assert_eq!(code, 0);
    assert_eq!(event["compiled"], 1, "{event}");
    assert_eq!(event["bundles_built"], 1, "{event}");
    assert!(read("static/css/site.min.css").contains(".theme{color:#654321}"));
    assert_eq!(
        read("static/css/other.min.css"),
        String::from_utf8(before["css/other.min.css"].clone()).unwrap()
    );
}

#[test]
fn syntax_errors_name_the_place_and_leave_the_output() {
    let p = project();
    p.run_ok(&["build", "--no-compress"]);
    let before = tree_files(&p.path("static"));

    // SCSS: the compiler's error.
    p.write(
        "media/css/theme.scss",
        "@import \"vars\";\n.theme {\n  color: $main;\n  .inner { margin: 0px 0px; }\n",
    );
    let out = p.run(&["build", "--no-compress"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--> media/css/theme.scss:4:30"), "{stderr}");
    assert_eq!(tree_files(&p.path("static")), before);
    p.write(
        "media/css/theme.scss",
        "@import \"vars\";\n.theme {\n  color: $main;\n}\n",
    );

    // JS: the minifier's error names the member file and its own line; JSON too.
    p.write(
        "media/js/lib.js",
        "var libValue = 40;\nvar broken = 1 + * 2;\n",
    );
    let out = p.run(&["build", "--no-compress"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--> media/js/lib.js:2:18"), "{stderr}");
    assert!(stderr.contains("var broken = 1 + * 2;"), "{stderr}");
    assert_eq!(tree_files(&p.path("static")), before);
    let (code, _, out) = p.event("build", &["--no-compress"]);
    assert_eq!(code, 1);
    let error: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "error")
        .expect("an error event");
    assert_eq!(error["file"], "media/js/lib.js", "{error}");
    assert_eq!(error["line"], 2, "{error}");
    assert_eq!(error["source_line"], "var broken = 1 + * 2;", "{error}");
    assert_eq!(tree_files(&p.path("static")), before);

    // A bad browserslist query is a configuration error naming its place.
    p.write("media/js/lib.js", LIB_JS);
    p.write(".browserslistrc", "chrome 100\nnot a browser at all\n");
    let out = p.run(&["build", "--no-compress"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid browserslist query") && stderr.contains(".browserslistrc"),
        "{stderr}"
    );
    assert_eq!(tree_files(&p.path("static")), before);
}

/// CSS the minifier drops from a compiled member (an IE hack grass passes through) is
/// reported against the `.scss` file, not its output in `.sluice/compiled/`, with a note that
/// the line and column are those of the compiled CSS (grass gives no source map).
#[test]
fn a_problem_in_compiled_css_names_the_scss_source() {
    let p = project();
    p.write(
        "media/css/theme.scss",
        "@import \"vars\";\n.theme {\n  color: $main;\n  *zoom: 1;\n}\n",
    );
    let (code, event, out) = p.event("build", &["--no-compress"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    // Besides the line saying Sass compiled with grass (no dart-sass in this project).
    let warnings: Vec<&serde_json::Value> = event["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| {
            !w["message"]
                .as_str()
                .unwrap_or("")
                .contains("compiled with grass")
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{event}");
    let w = &warnings[0];
    assert_eq!(w["file"], "media/css/theme.scss", "{w}");
    // grass's output: `.theme {` / `  color: #123456;` / `  *zoom: 1;`.
    assert_eq!(w["line"], 3, "{w}");
    assert_eq!(w["source_line"], "  *zoom: 1;", "{w}");
    let message = w["message"].as_str().unwrap();
    assert!(
        message.ends_with("(line and column of css/theme.css, compiled from it)"),
        "{message}"
    );
    let out = p.run(&["build", "--no-compress", "--output", "again"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("media/css/theme.scss:3:"), "{stderr}");
    assert!(!stderr.contains(".sluice"), "{stderr}");
}

/// Only what is asked for is compiled (bundle members, `[compile] entries`, the templates'
/// `static` references): a vendored package's `.scss` and `.less` nobody asks for are copied
/// as they are, and a compiler missing for them is no error; `compile = false` compiles
/// nothing; an asked-for file of variables only gives no file.
#[test]
fn only_what_is_asked_for_is_compiled() {
    let p = Project::new(&[
        ("css/alone.scss", "$c: red;\n.alone { color: $c; }\n"),
        ("css/tokens.scss", "$c: red;\n$d: blue;\n"),
        ("js/alone.ts", "const n: number = 1;\n"),
        ("css/plain.css", ".p {}\n"),
        ("vendor/pkg/less/_animated.less", ".a { .b; }\n"),
        ("vendor/pkg/scss/pkg.scss", "@import 'missing';\n"),
    ]);
    // No lessc anywhere (an empty PATH), and nothing asked for: exit 0, copies only.
    let empty = p.path("empty-path");
    fs::create_dir_all(&empty).unwrap();
    for command in ["build", "sync"] {
        let out = support::sluice()
            .args([command, "--format", "json"])
            .current_dir(&p.root)
            .env("PATH", &empty)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{command}: {stderr}");
        assert!(p.path("static/vendor/pkg/less/_animated.less").is_file());
        assert!(!p.path("static/vendor/pkg/scss/pkg.css").exists());
        assert!(!p.path("static/css/alone.css").exists(), "{command}");
    }

    p.compile_entries(&["css/*.scss", "js/*.ts"]);
    let (code, event, out) = p.event("build", &["--no-compress"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        event["compiled_outputs"],
        serde_json::json!(["css/alone.css", "js/alone.js"]),
        "{event}"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/css/alone.css")).unwrap(),
        ".alone {\n  color: red;\n}\n"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/js/alone.js")).unwrap(),
        "const n = 1;\n"
    );
    // Variables only: compiled, empty, written nowhere (nor in the manifest).
    assert!(!p.path("static/css/tokens.css").exists());
    let manifest = fs::read_to_string(p.path("static/staticfiles.json")).unwrap();
    assert!(!manifest.contains("css/tokens.css"), "{manifest}");
    let out = p.run_ok(&["sync", "--output", "dev"]);
    assert!(p.path("dev/css/alone.css").is_file(), "{out:?}");
    assert!(!p.path("dev/css/tokens.css").exists());

    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\ncompile = false\n\n[compile]\n",
    );
    let out = p.run(&["build", "--no-compress"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a key twice is a configuration error"
    );
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\ncompile = false\n",
    );
    let (code, event, out) = p.event("build", &["--no-compress", "--output", "off"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(event["compiled_outputs"], serde_json::json!([]), "{event}");
}

/// A compiler that is not installed is one message naming the program, the first file and
/// how many more need it, with the install command — in `build` (nothing written) and in
/// the dev profile (`sync`).
#[test]
fn a_missing_lessc_is_one_error_for_all_its_files() {
    let p = Project::new(&[
        ("css/a.less", "@c: red;\n.a { color: @c; }\n"),
        ("css/b.less", ".b { color: blue; }\n"),
        ("css/c.less", ".c { color: green; }\n"),
    ]);
    p.compile_entries(&["css/*.less"]);
    // No lessc anywhere: an empty PATH (the project has no node_modules either).
    let empty = p.path("empty-path");
    fs::create_dir_all(&empty).unwrap();
    for command in ["build", "sync"] {
        let out = support::sluice()
            .arg(command)
            .current_dir(&p.root)
            .env("PATH", &empty)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.matches("needs `lessc`").count(),
            1,
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("media/css/a.less (and 2 more files): needs `lessc`"),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("npm install -g less"),
            "{command}: {stderr}"
        );
        assert!(!p.path("static/css/a.css").exists(), "{command}");
    }
}
