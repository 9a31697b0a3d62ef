//! The dev profile in `sluice sync`: compiled sources beside their source (SCSS with partials,
//! TypeScript), dependencies on partials, removals, syntax errors, and unminified bundles with
//! source maps, on real trees.

mod support;

#[path = "../../sluice-assets/tests/support/mod.rs"]
mod asset_support;

use std::fs;
use std::path::Path;

use asset_support::position_of;
use serde_json::Value;
use support::Project;

fn mtime(path: &Path) -> std::time::SystemTime {
    fs::symlink_metadata(path).unwrap().modified().unwrap()
}

impl Project {
    /// `sluice sync --format json`: the exit code, the `derived` event (`Null` when there was
    /// nothing to say) and stderr.
    fn derive(&self) -> (i32, Value, String) {
        let out = self.run(&["sync", "--format", "json"]);
        let event = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["event"] == "derived")
            .unwrap_or(Value::Null);
        (
            out.status.code().unwrap(),
            event,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }
}

fn changed(event: &Value) -> Vec<String> {
    event["changed"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn compiles_scss_with_partials_and_typescript_then_does_nothing_twice() {
    let p = Project::new(&[
        ("css/_vars.scss", "$main: #123456;\n"),
        (
            "css/site.scss",
            "@import \"vars\";\nbody { color: $main; }\n",
        ),
        ("css/other.scss", "a { b: c; }\n"),
        (
            "js/app.ts",
            "const n: number = 1;\nexport {};\nconsole.log(n);\n",
        ),
    ]);
    // Asked for by the templates (`[compile] templates`: no Django here), as a page would.
    p.write(
        "templates/base.html",
        "{% load static %}<link href=\"{% static 'css/site.css' %}\">\n\
         <link href=\"{% static \"css/other.css\" %}\">\n\
         <script src=\"{{ static('js/app.js') }}\"></script>\n",
    );
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n[compile]\ntemplates = [\"templates\"]\n",
    );
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(
        changed(&event),
        [
            "css/other.css",
            "css/site.css",
            "js/app.js",
            "js/app.js.map"
        ],
        "{event}"
    );
    assert!(p.read("static/css/site.css").contains("color: #123456"));
    let app = p.read("static/js/app.js");
    assert!(!app.contains(": number"), "{app}");
    // Compiled TypeScript links its map, as dev bundles do (SCSS: grass gives none).
    assert!(
        app.ends_with("\n//# sourceMappingURL=app.js.map\n"),
        "{app}"
    );
    let map: Value = serde_json::from_str(&p.read("static/js/app.js.map")).unwrap();
    assert_eq!(map["sources"], serde_json::json!(["app.ts"]));
    assert!(!p.path("static/css/site.css.map").exists());
    // Partials are not compiled alone; sources are still mirrored as collectstatic would.
    assert!(!p.path("static/css/_vars.css").exists());
    assert!(p.path("static/css/site.scss").is_file());

    let before = mtime(&p.path("static/css/site.css"));
    let (code, event, _) = p.derive();
    assert_eq!(
        (code, event),
        (0, Value::Null),
        "a second sync derives nothing"
    );
    assert_eq!(before, mtime(&p.path("static/css/site.css")));

    // A change to the partial recompiles its importer only.
    let other = mtime(&p.path("static/css/other.css"));
    p.write("media/css/_vars.scss", "$main: #abcdef;\n");
    let (code, event, _) = p.derive();
    assert_eq!(code, 0);
    assert_eq!(changed(&event), ["css/site.css"], "{event}");
    assert_eq!(event["compiled"], 1);
    assert!(p.read("static/css/site.css").contains("color: #abcdef"));
    assert_eq!(other, mtime(&p.path("static/css/other.css")));

    // Removing a source removes its compiled output.
    fs::remove_file(p.path("media/css/other.scss")).unwrap();
    let (code, event, _) = p.derive();
    assert_eq!(
        (code, changed(&event)),
        (0, vec!["css/other.css".to_string()])
    );
    assert!(!p.path("static/css/other.css").exists());
}

/// The `(source, line, column)` a position of a written map leads to (oxc_sourcemap's
/// lookup, not sluice's).
fn lookup(map: &str, line: u32, col: u32) -> Option<(String, u32, u32)> {
    let map = oxc_sourcemap::SourceMap::from_json_string(map).expect("a v3 map");
    let table = map.generate_lookup_table();
    let token = map.lookup_token(&table, line, col)?;
    let source = map.get_source(token.get_source_id()?)?.to_string();
    Some((source, token.get_src_line(), token.get_src_col()))
}

#[test]
fn a_typescript_member_maps_to_its_source_in_dev_bundles() {
    let ts = "interface Answer { value: number }\n\
              function makeAnswer(n: number): Answer {\n\
              \x20 return { value: n * 2 };\n\
              }\n\
              window.answerValue = makeAnswer(21).value;\n";
    let p = Project::new(&[("js/lib.js", "var libValue = 1;\n"), ("js/app.ts", ts)]);
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\
         [bundles.js.app]\nfiles = [\"js/lib.js\", \"js/app.ts\"]\noutput = \"js/out/app.min.js\"\n",
    );
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    let bundle = p.read("static/js/out/app.min.js");
    // The member's own sourceMappingURL is not carried into the bundle; the bundle's is.
    assert_eq!(bundle.matches("sourceMappingURL").count(), 1, "{bundle}");
    let text = p.read("static/js/out/app.min.js.map");
    let map: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        map["sources"],
        serde_json::json!(["../lib.js", "../app.ts"])
    );
    assert_eq!(map["sourcesContent"][1], ts);
    let line_of = |needle: &str| ts.lines().position(|l| l.contains(needle)).unwrap() as u32;
    for needle in ["makeAnswer(21)", "n * 2", "function makeAnswer"] {
        let (line, col) = position_of(&bundle, needle);
        let found = lookup(&text, line, col).unwrap_or_else(|| panic!("{needle}: unmapped"));
        assert_eq!(
            (found.0.as_str(), found.1),
            ("../app.ts", line_of(needle)),
            "{needle} in {bundle}"
        );
    }
    let (line, col) = position_of(&bundle, "makeAnswer(21)");
    let ts_line = ts.lines().nth(line_of("makeAnswer(21)") as usize).unwrap();
    assert_eq!(
        lookup(&text, line, col).map(|f| f.2),
        Some(ts_line.find("makeAnswer(21)").unwrap() as u32)
    );
    // The plain member still maps line by line.
    let (line, col) = position_of(&bundle, "var libValue");
    assert_eq!(lookup(&text, line, col), Some(("../lib.js".into(), 0, 0)));

    // A change that moves the TypeScript's lines moves the bundle's map with it.
    let moved = format!("// a comment\n\n{ts}");
    p.write("media/js/app.ts", &moved);
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    let bundle = p.read("static/js/out/app.min.js");
    let text = p.read("static/js/out/app.min.js.map");
    let (line, col) = position_of(&bundle, "n * 2");
    assert_eq!(
        lookup(&text, line, col).map(|f| (f.0, f.1)),
        Some(("../app.ts".into(), line_of("n * 2") + 2))
    );
}

/// A compiled map removed from the output is written again on the next pass, without a
/// conflict (the record says the path is sluice's).
#[test]
fn a_removed_compiled_map_is_written_again() {
    let p = Project::new(&[("js/app.ts", "const n: number = 1;\nconsole.log(n);\n")]);
    p.compile_entries(&["js/*.ts"]);
    assert_eq!(p.derive().0, 0);
    assert!(p.record_file().is_some(), "the output root's record");
    fs::remove_file(p.path("static/js/app.js.map")).unwrap();

    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(changed(&event), ["js/app.js.map"], "{event}");
    assert!(
        event["conflicts"].as_array().is_none_or(|c| c.is_empty()),
        "{event}"
    );
    assert!(p.path("static/js/app.js.map").is_file());
}

/// LESS with the real `lessc` (npm `less`, installed once into the test cache) as a
/// project installs it: `node_modules/.bin/lessc` beside `sluice.toml`. Compiled beside its
/// source; a change to an imported file recompiles its importer.
#[test]
fn less_compiles_with_the_projects_lessc_and_follows_its_imports() {
    let modules = asset_support::npm_packages("less-v1", &["less@4.2.0"]);
    let p = Project::new(&[
        (
            "css/site.less",
            "@import \"lib/vars\";\n.a { color: @brand; .b { width: (@w * 2); } }\n",
        ),
        ("css/lib/vars.less", "@brand: #ff0000;\n@w: 10px;\n"),
        ("css/plain.css", ".p { x: 1; }\n"),
    ]);
    std::os::unix::fs::symlink(&modules, p.path("node_modules")).unwrap();
    // Asked for: `css/*.less` (the imported `css/lib/vars.less` is not, so it is not
    // compiled alone).
    p.compile_entries(&["css/*.less"]);
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(changed(&event), ["css/site.css"], "{event}");
    let css = p.read("static/css/site.css");
    assert!(css.contains("color: #ff0000;"), "{css}");
    assert!(css.contains(".a .b {\n  width: 20px;\n}"), "{css}");
    // Nothing changed: nothing compiled.
    let (code, event, _) = p.derive();
    assert_eq!((code, event), (0, Value::Null));

    // The imported file changes: the importer is compiled again.
    p.write("media/css/lib/vars.less", "@brand: #0000ff;\n@w: 10px;\n");
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert!(
        changed(&event).contains(&"css/site.css".to_string()),
        "{event}"
    );
    let css = p.read("static/css/site.css");
    assert!(css.contains("color: #0000ff;"), "{css}");

    // A LESS error names the source file (not its copy), line and column.
    p.write("media/css/lib/vars.less", "@brand: #0000ff\n@w: ;\n");
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    let errors = event["errors"].as_array().expect("errors");
    let error = errors
        .iter()
        .find(|e| {
            e["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("media/css/lib/vars.less"))
        })
        .unwrap_or_else(|| panic!("no error in media/css/lib/vars.less: {event}"));
    assert!(error["line"].as_u64().is_some(), "{error}");
    assert!(p.read("static/css/site.css").contains("color: #0000ff;"));
}

/// webpack's `~pkg/…` in LESS (less-loader's prefix, which lessc lacks) and a bare `pkg/…`
/// resolve in the load paths — the project's `node_modules` first — with the real `lessc`;
/// the package's file is an input (editing it recompiles the importer) and is not mirrored;
/// a `~` import that is nowhere names the importing file and line and every place tried.
#[test]
fn less_resolves_tilde_and_bare_package_imports_in_node_modules() {
    let modules = asset_support::npm_packages("less-v1", &["less@4.2.0"]);
    let p = Project::new(&[
        (
            "css/site.less",
            "@import \"~pkg/less/vars\";\n@import \"pkg/less/mixins\";\n.a { .brand(); }\n",
        ),
        ("css/other.less", "@x: 1;\n@import \"~nope/less/x\";\n"),
    ]);
    // The project's own install: `node_modules/.bin/lessc` beside a package.
    let bin = p.path("node_modules/.bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(modules.join("less/bin/lessc"), bin.join("lessc")).unwrap();
    p.write("node_modules/pkg/less/vars.less", "@brand: #ff0000;\n");
    p.write(
        "node_modules/pkg/less/mixins.less",
        ".brand() { color: @brand; }\n",
    );
    p.compile_entries(&["css/site.less"]);
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(changed(&event), ["css/site.css"], "{event}");
    assert_eq!(
        p.read("static/css/site.css"),
        ".a {\n  color: #ff0000;\n}\n"
    );
    assert!(!p.path("static/node_modules").exists());

    // The package's file is an input: an edit recompiles the importer.
    p.write("node_modules/pkg/less/vars.less", "@brand: #0000ff;\n");
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(changed(&event), ["css/site.css"], "{event}");
    assert!(p.read("static/css/site.css").contains("color: #0000ff;"));

    // A miss: the importing file, its line, and the places tried.
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n[compile]\nentries = [\"css/*.less\"]\n",
    );
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    let error = event["errors"]
        .as_array()
        .and_then(|errors| {
            errors.iter().find(|e| {
                e["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("media/css/other.less"))
            })
        })
        .unwrap_or_else(|| panic!("no error in media/css/other.less: {event}"));
    assert_eq!(error["line"], 2, "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    let tried = p.path("node_modules/nope/less/x.less");
    assert!(
        message.contains("'~nope/less/x' wasn't found")
            && message.contains(tried.to_str().unwrap()),
        "{message}"
    );
}

/// A file other sources import that does not compile on its own, without the `_` of a
/// Sass partial (as LESS projects, and some SCSS ones, write them), is a partial: no output
/// and no error, in the dev profile and in `build`; its importers compile, and compile
/// again when it changes.
#[test]
fn an_imported_file_that_does_not_compile_alone_is_a_partial() {
    let p = Project::new(&[
        ("css/site.scss", "$brand: #ff0000;\n@import \"mixins\";\n"),
        ("css/mixins.scss", ".themed { color: $brand; }\n"),
    ]);
    // Both asked for: the one that does not compile alone is a partial.
    p.compile_entries(&["css/*.scss"]);
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(changed(&event), ["css/site.css"], "{event}");
    assert!(p.read("static/css/site.css").contains("color: #ff0000"));
    assert!(!p.path("static/css/mixins.css").exists());
    // Nothing changed: nothing compiled, the partial not tried again either.
    let (code, event, _) = p.derive();
    assert_eq!((code, event), (0, Value::Null));
    // The partial changes: its importer compiles again, still no error.
    p.write("media/css/mixins.scss", ".themed { background: $brand; }\n");
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(changed(&event), ["css/site.css"], "{event}");
    assert!(
        p.read("static/css/site.css")
            .contains("background: #ff0000")
    );

    // build, into its own output.
    let args = ["--no-compress", "--output", "dist"];
    let (code, event, out) = p.event("build", &args);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        event["compiled_outputs"],
        serde_json::json!(["css/site.css"])
    );
    assert!(p.read("dist/css/site.css").contains("background: #ff0000"));
    assert!(!p.path("dist/css/mixins.css").exists());
    let (code, event, _) = p.event("build", &args);
    assert_eq!((code, &event["compiled"]), (0, &Value::from(0)), "{event}");

    // A real error in it is still reported, through its importer.
    p.write("media/css/mixins.scss", ".themed { color: $brand; \n");
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    assert!(
        event["errors"].as_array().unwrap().iter().any(|e| e["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("media/css/mixins.scss"))),
        "{event}"
    );
    let (code, _, _) = p.event("build", &args);
    assert_eq!(code, 1);

    // Listed in a bundle, it must compile on its own: an error, as django-pipeline's.
    p.write("media/css/mixins.scss", ".themed { color: $brand; }\n");
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.all]\n\
         files = [\"css/mixins.scss\", \"css/site.scss\"]\noutput = \"css/all.css\"\n",
    );
    let (code, _, out) = p.event("build", &args);
    assert_eq!(code, 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("media/css/mixins.scss:1"), "{stdout}");
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    assert!(
        event["errors"].to_string().contains("mixins.scss"),
        "{event}"
    );
}

#[test]
fn a_syntax_error_exits_1_names_the_place_and_keeps_the_last_good_output() {
    let p = Project::new(&[
        ("css/_mixins.scss", "@mixin m { color: red; }\n"),
        (
            "css/site.scss",
            "@import \"mixins\";\nbody { @include m; }\n",
        ),
    ]);
    p.compile_entries(&["css/*.scss", "js/*.ts"]);
    assert_eq!(p.derive().0, 0);
    let good = p.read("static/css/site.css");
    p.write(
        "media/css/_mixins.scss",
        "@mixin m {\n  color: red;\n  width: $nope;\n}\n",
    );
    let out = p.run(&["sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("media/css/_mixins.scss:3:10"),
        "file:line:col of the source, not its copy: {stderr}"
    );
    assert!(
        stderr.contains("  width: $nope;"),
        "the source line: {stderr}"
    );
    assert_eq!(p.read("static/css/site.css"), good);

    // Still failing on the next run (nothing changed, the error is not forgotten) …
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    assert_eq!(event["errors"][0]["line"], 3);
    // … and fixed.
    p.write("media/css/_mixins.scss", "@mixin m { color: blue; }\n");
    let (code, event, _) = p.derive();
    assert_eq!(
        (code, changed(&event)),
        (0, vec!["css/site.css".to_string()])
    );
    assert!(p.read("static/css/site.css").contains("color: blue"));

    // A TypeScript error.
    p.write("media/js/a.ts", "let x: number = ;\n");
    let (code, event, _) = p.derive();
    assert_eq!(code, 1);
    let error = &event["errors"][0];
    assert!(
        error["file"].as_str().unwrap().ends_with("media/js/a.ts"),
        "{event}"
    );
    assert_eq!(
        (error["line"].as_u64(), error["source_line"].as_str()),
        (Some(1), Some("let x: number = ;"))
    );
}

#[test]
fn a_file_sluice_did_not_write_is_never_overwritten() {
    let p = Project::new(&[("css/site.scss", "a { b: c; }\n")]);
    p.compile_entries(&["css/site.scss"]);
    p.write("static/css/site.css", "mine");
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    assert_eq!(event["conflicts"], serde_json::json!(["css/site.css"]));
    assert_eq!(p.read("static/css/site.css"), "mine");
    // --force takes it over; --clean removes what the dev profile wrote, then derives again.
    assert_eq!(p.run(&["sync", "--force"]).status.code(), Some(0));
    assert!(p.read("static/css/site.css").contains("a {"));
    use std::os::unix::fs::MetadataExt;
    let inode = || {
        let m = fs::metadata(p.path("static/css/site.css")).unwrap();
        (m.ino(), m.mtime_nsec(), m.mtime())
    };
    let before = inode();
    assert_eq!(p.run(&["sync"]).status.code(), Some(0));
    assert_eq!(before, inode(), "same bytes: not rewritten");
    assert_eq!(p.run(&["sync", "--clean"]).status.code(), Some(0));
    assert!(p.read("static/css/site.css").contains("a {"));
    assert_ne!(before, inode(), "--clean removed it and compiled it again");
    let (code, event, _) = p.derive();
    assert_eq!((code, event), (0, Value::Null));
}

/// A compiled TypeScript's map where a file sluice did not write is: the map is a conflict
/// (left alone), the output is written; once the file is gone, the map is written.
#[test]
fn a_foreign_file_where_a_compiled_map_goes_is_left_alone() {
    let p = Project::new(&[("js/app.ts", "const n: number = 1;\nconsole.log(n);\n")]);
    p.compile_entries(&["js/app.js"]);
    p.write("static/js/app.js.map", "mine");
    let (code, event, _) = p.derive();
    assert_eq!(code, 1, "{event}");
    assert_eq!(event["conflicts"], serde_json::json!(["js/app.js.map"]));
    assert_eq!(p.read("static/js/app.js.map"), "mine");
    assert!(p.read("static/js/app.js").contains("const n = 1;"));
    fs::remove_file(p.path("static/js/app.js.map")).unwrap();
    let (code, event, _) = p.derive();
    assert_eq!(
        (code, changed(&event)),
        (0, vec!["js/app.js.map".to_string()]),
        "{event}"
    );
    assert!(p.read("static/js/app.js.map").contains("app.ts"));
}

#[test]
fn bundles_are_unminified_with_a_map_and_only_affected_ones_are_rebuilt() {
    let p = Project::new(&[
        ("css/a.css", "a { x: 1; }"),
        ("css/b.scss", "$c: red;\nb { color: $c; }\n"),
        ("css/c.css", "c { x: 3; }"),
        ("js/one.js", "var one = 1;"),
    ]);
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\
         [bundles.css.ab]\nfiles = [\"css/a.css\", \"css/b.scss\"]\noutput = \"css/ab.min.css\"\n\
         [bundles.css.c]\nfiles = [\"css/c.css\"]\noutput = \"css/c.min.css\"\n\
         [bundles.js.one]\nfiles = [\"js/one.js\"]\noutput = \"js/one.min.js\"\n",
    );
    let (code, event, err) = p.derive();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(event["bundled"], 3, "{event}");
    let ab = p.read("static/css/ab.min.css");
    assert_eq!(
        ab,
        "a { x: 1; }\nb {\n  color: red;\n}\n\n/*# sourceMappingURL=ab.min.css.map */\n"
    );
    let map: Value = serde_json::from_str(&p.read("static/css/ab.min.css.map")).unwrap();
    assert_eq!(map["sources"], serde_json::json!(["a.css", "b.css"]));
    assert_eq!(map["sourcesContent"][0], "a { x: 1; }");
    let js = p.read("static/js/one.min.js");
    assert!(
        js.starts_with("(function() {\nvar one = 1;\n}).call(this);"),
        "{js}"
    );
    assert!(js.ends_with("//# sourceMappingURL=one.min.js.map\n"));

    // A member compiled from SCSS changes: its compiled file and its bundle, nothing else.
    let c = mtime(&p.path("static/css/c.min.css"));
    let one = mtime(&p.path("static/js/one.min.js"));
    p.write("media/css/b.scss", "$c: blue;\nb { color: $c; }\n");
    let (code, event, _) = p.derive();
    assert_eq!(code, 0);
    assert_eq!(
        changed(&event),
        ["css/ab.min.css", "css/ab.min.css.map", "css/b.css"],
        "{event}"
    );
    assert!(p.read("static/css/ab.min.css").contains("color: blue"));
    assert_eq!(c, mtime(&p.path("static/css/c.min.css")));
    assert_eq!(one, mtime(&p.path("static/js/one.min.js")));

    // A bundle whose definition is gone: its outputs go too.
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\
         [bundles.css.c]\nfiles = [\"css/c.css\"]\noutput = \"css/c.min.css\"\n",
    );
    let (code, event, _) = p.derive();
    assert_eq!(code, 0, "{event}");
    assert!(!p.path("static/css/ab.min.css").exists());
    assert!(!p.path("static/js/one.min.js.map").exists());
    assert!(p.path("static/css/c.min.css").exists());
}

#[test]
fn compile_false_compiles_nothing() {
    let p = Project::new(&[("css/site.scss", "a { b: c; }\n")]);
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\ncompile = false\n",
    );
    let (code, event, _) = p.derive();
    assert_eq!((code, event), (0, Value::Null));
    assert!(!p.path("static/css/site.css").exists());
    assert!(p.path("static/css/site.scss").exists());
}

const PIPELINE_SETTINGS: &str = r#"import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "pipeline"]
ROOT_URLCONF = "proj.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {}
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATIC_ROOT = BASE_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "pipeline.storage.PipelineManifestStorage"},
}
PIPELINE = {
    "PIPELINE_ENABLED": os.environ.get("TEST_PIPELINE_ENABLED") == "1",
    "PIPELINE_COLLECTOR_ENABLED": False,
    "COMPILERS": [
        "pipeline.compilers.sass.SASSCompiler",
        "pipeline.compilers.typescript.TypeScriptCompiler",
    ],
    # sluice compiles; pipeline's compilers run a no-op instead of sass / tsc.
    "SASS_BINARY": "true",
    "TYPE_SCRIPT_BINARY": "true",
    "CSS_COMPRESSOR": None,
    "JS_COMPRESSOR": None,
    "STYLESHEETS": {
        "screen": {
            "source_filenames": ["css/base.css", "css/site.scss"],
            "output_filename": "css/screen.css",
        },
    },
    "JAVASCRIPT": {
        "app": {
            "source_filenames": ["js/lib/*.js", "js/app.ts"],
            "output_filename": "js/app.min.js",
        },
    },
}
"#;

/// django-pipeline's tags in development (`DEBUG`, `PIPELINE_ENABLED = False`): the member
/// tags name compiled files, and every URL they render exists in sluice's dev output; with
/// `PIPELINE_ENABLED = True` the bundle's URL does.
#[test]
fn pipeline_template_tags_resolve_in_the_dev_output() {
    use std::ffi::OsStr;
    use std::process::Command;
    let (_, line) = support::python_for_django();
    let python = support::venv(&[line.requirement(), support::DJANGO_PIPELINE]);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let put = |rel: &str, text: &str| {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    put(
        "manage.py",
        "import os, sys\nif __name__ == '__main__':\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n    from django.core.management import execute_from_command_line\n    execute_from_command_line(sys.argv)\n",
    );
    put("proj/__init__.py", "");
    put("proj/settings.py", PIPELINE_SETTINGS);
    put("proj/urls.py", "urlpatterns = []\n");
    put("assets/css/base.css", "body { margin: 0; }\n");
    put("assets/css/_colors.scss", "$fg: #222;\n");
    put(
        "assets/css/site.scss",
        "@use \"colors\";\nh1 { color: colors.$fg; }\n",
    );
    put("assets/js/lib/a.js", "var a = 1;\n");
    put(
        "assets/js/app.ts",
        "const b: number = 2;\nconsole.log(b);\n",
    );

    let mut sync = support::sluice();
    sync.arg("sync")
        .current_dir(root)
        .envs(support::venv_env(&python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH");
    sync.assert().success();
    assert!(
        fs::read_to_string(root.join("static/css/screen.css"))
            .unwrap()
            .contains("color: #222")
    );

    let render = |enabled: bool| -> String {
        let script = "import django\ndjango.setup()\nfrom django.template import engines\n\
            t = engines['django'].from_string(\"{% load pipeline %}{% stylesheet 'screen' %}\\n{% javascript 'app' %}\")\n\
            print(t.render({}))\n";
        let out = support::run_or_panic(
            Command::new(&python)
                .current_dir(root)
                .envs(support::venv_env(&python))
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env_remove("PYTHONPATH")
                .env("DJANGO_SETTINGS_MODULE", "proj.settings")
                .env(
                    "TEST_PIPELINE_ENABLED",
                    OsStr::new(if enabled { "1" } else { "0" }),
                )
                .args(["-c", script]),
            "rendering django-pipeline's tags",
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let urls = |html: &str| -> Vec<String> {
        let re = attribute_urls(html);
        assert!(!re.is_empty(), "no URLs in {html}");
        re
    };
    let html = render(false);
    let found = urls(&html);
    assert_eq!(
        found,
        [
            "/static/css/base.css",
            "/static/css/site.css",
            "/static/js/lib/a.js",
            "/static/js/app.js"
        ],
        "{html}"
    );
    for url in &found {
        let rel = url.strip_prefix("/static/").unwrap();
        assert!(
            root.join("static").join(rel).is_file(),
            "{url} is not in the output"
        );
    }
    let html = render(true);
    assert_eq!(
        urls(&html),
        ["/static/css/screen.css", "/static/js/app.min.js"],
        "{html}"
    );
    assert!(root.join("static/js/app.min.js").is_file());
}

/// The `href="…"` and `src="…"` values of some HTML, in order.
fn attribute_urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(['h', 's']) {
        rest = &rest[i..];
        let attr = ["href=\"", "src=\""]
            .into_iter()
            .find(|a| rest.starts_with(a));
        match attr {
            Some(a) => {
                rest = &rest[a.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
            None => rest = &rest[1..],
        }
    }
    out
}
