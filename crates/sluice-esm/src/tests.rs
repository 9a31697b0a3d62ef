//! The rule on real files in a temporary folder.

use std::fs;
use std::path::Path;

use super::*;

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

fn request(dir: &Path, entries: Vec<PathBuf>) -> Request {
    Request {
        entries,
        cwd: dir.to_path_buf(),
        node_modules: Vec::new(),
        format: Format::Iife,
        minify: false,
        targets: Vec::new(),
        file_name: "out.js".into(),
        map: true,
    }
}

fn relative(dir: &Path) -> impl Fn(&Path) -> String + '_ {
    move |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

#[test]
fn module_syntax_is_told_from_plain_scripts() {
    assert!(uses_modules("import x from 'y';\nx();", "a.js"));
    assert!(uses_modules("export const a = 1;", "a.es6.js"));
    assert!(uses_modules(
        "import type { A } from './a';\nexport let b: A;",
        "a.ts"
    ));
    assert!(!uses_modules("var important = 1; // export", "a.js"));
    assert!(!uses_modules("import('./lazy.js');", "a.js"));
    assert!(!uses_modules(
        "(function(){ var exported = 1; })();",
        "a.js"
    ));
}

#[test]
fn relative_and_package_imports_are_bundled_tree_shaken() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "node_modules/pkg/package.json",
        r#"{"name": "pkg", "main": "cjs.js", "module": "esm.js"}"#,
    );
    write(dir, "node_modules/pkg/cjs.js", "module.exports = 'cjs';");
    write(
        dir,
        "node_modules/pkg/esm.js",
        "export const used = 'from-esm';\nexport const unused = 'never-here';\n",
    );
    write(
        dir,
        "media/js/lib.ts",
        "export function twice(n: number): number { return n * 2; }\n",
    );
    let entry = write(
        dir,
        "media/js/main.es6.js",
        "import { used } from 'pkg';\nimport { twice } from './lib';\nwindow.result = used + twice(21);\n",
    );
    let out = bundle(&request(dir, vec![entry]), &relative(dir)).unwrap();
    assert!(out.code.contains("from-esm"), "{}", out.code);
    assert!(!out.code.contains("never-here"), "{}", out.code);
    assert!(!out.code.contains("'cjs'"), "{}", out.code);
    assert!(
        out.code.trim_start().starts_with("(function"),
        "{}",
        out.code
    );
    assert!(out.code.ends_with("//# sourceMappingURL=out.js.map\n"));
    let map: serde_json::Value = serde_json::from_str(out.map.as_deref().unwrap()).unwrap();
    let sources: Vec<&str> = map["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(sources.contains(&"media/js/main.es6.js"), "{sources:?}");
    assert!(sources.contains(&"media/js/lib.ts"), "{sources:?}");
    assert!(sources.contains(&"node_modules/pkg/esm.js"), "{sources:?}");
    let read: Vec<String> = out.modules.iter().map(|p| relative(dir)(p)).collect();
    for f in [
        "media/js/main.es6.js",
        "media/js/lib.ts",
        "node_modules/pkg/esm.js",
    ] {
        assert!(read.iter().any(|r| r == f), "{f} not in {read:?}");
    }
}

#[test]
fn several_entries_run_in_order_and_esm_keeps_a_single_entrys_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = write(dir, "a.js", "export const a = 1;\nconsole.log('first');\n");
    let b = write(dir, "b.js", "console.log('second');\n");
    let out = bundle(&request(dir, vec![a.clone(), b]), &relative(dir)).unwrap();
    let first = out.code.find("first").unwrap();
    let second = out.code.find("second").unwrap();
    assert!(first < second, "{}", out.code);
    let mut esm = request(dir, vec![a]);
    esm.format = Format::Esm;
    esm.map = false;
    let out = bundle(&esm, &relative(dir)).unwrap();
    assert!(out.code.contains("export {"), "{}", out.code);
    assert!(!out.code.contains("sourceMappingURL"));
    assert!(out.map.is_none());
}

#[test]
fn a_syntax_error_names_the_module_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "js/broken.js",
        "export const ok = 1;\nexport const = 2;\n",
    );
    let entry = write(
        dir,
        "js/main.js",
        "import { ok } from './broken.js';\nconsole.log(ok);\n",
    );
    let err = bundle(&request(dir, vec![entry]), &relative(dir)).unwrap_err();
    match err {
        Error::At {
            file,
            line,
            column,
            source_line,
            ..
        } => {
            assert_eq!(file, dir.join("js/broken.js"));
            assert_eq!((line, column), (2, 14));
            assert_eq!(source_line, "export const = 2;");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unresolved_import_is_an_error_naming_the_importer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let entry = write(dir, "js/main.js", "import x from 'not-installed';\nx();\n");
    let err = bundle(&request(dir, vec![entry]), &relative(dir)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not-installed"), "{text}");
    assert!(text.contains("main.js"), "{text}");
}

#[test]
fn syntax_is_lowered_for_the_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let entry = write(
        dir,
        "a.js",
        "export const f = (o) => o?.x ?? 1;\nwindow.f = f;\n",
    );
    let modern = bundle(&request(dir, vec![entry.clone()]), &relative(dir)).unwrap();
    assert!(modern.code.contains("?."), "{}", modern.code);
    let mut old = request(dir, vec![entry]);
    old.targets = vec!["chrome70".into(), "safari12".into()];
    let lowered = bundle(&old, &relative(dir)).unwrap();
    assert!(
        !lowered.code.contains("?.") && !lowered.code.contains("??"),
        "{}",
        lowered.code
    );
}

#[test]
fn jsx_and_tsx_modules_use_react_create_element() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "view.tsx",
        "export const view = (n: number) => <p class=\"n\">{n}</p>;\n",
    );
    let entry = write(
        dir,
        "main.jsx",
        "import { view } from './view';\nwindow.out = [view(1), <b />];\n",
    );
    let out = bundle(&request(dir, vec![entry]), &relative(dir)).unwrap();
    assert!(
        out.code.contains("React.createElement(\"p\""),
        "{}",
        out.code
    );
    assert!(
        out.code.contains("React.createElement(\"b\""),
        "{}",
        out.code
    );
    assert!(!out.code.contains("jsx-runtime"), "{}", out.code);
}

#[test]
fn package_exports_are_followed_with_browser_conditions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "node_modules/@scope/pkg/package.json",
        r#"{"name": "@scope/pkg", "main": "main.js", "exports": {
            ".": {"browser": "./browser.js", "import": "./import.js", "default": "./main.js"},
            "./feature": "./lib/feature.js"}}"#,
    );
    write(
        dir,
        "node_modules/@scope/pkg/main.js",
        "export const which = 'main';\n",
    );
    write(
        dir,
        "node_modules/@scope/pkg/import.js",
        "export const which = 'import';\n",
    );
    write(
        dir,
        "node_modules/@scope/pkg/browser.js",
        "export const which = 'browser';\n",
    );
    write(
        dir,
        "node_modules/@scope/pkg/lib/feature.js",
        "export const feature = 'feature-file';\n",
    );
    // Sources outside the folder above the project's node_modules find it through
    // `Request::node_modules`.
    let other = tempfile::tempdir().unwrap();
    let entry = write(
        other.path(),
        "main.js",
        "import { which } from '@scope/pkg';\nimport { feature } from '@scope/pkg/feature';\nwindow.x = [which, feature];\n",
    );
    let mut req = request(other.path(), vec![entry]);
    let out = bundle(&req, &relative(dir));
    assert!(out.is_err(), "without the folder the package is not found");
    req.node_modules = vec![dir.join("node_modules")];
    let out = bundle(&req, &relative(dir)).unwrap();
    assert!(out.code.contains("\"browser\""), "{}", out.code);
    assert!(out.code.contains("feature-file"), "{}", out.code);
}
