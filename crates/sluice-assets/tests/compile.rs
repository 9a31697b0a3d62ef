//! Compilers on real files: SCSS/Sass (grass) with partials and load paths, TypeScript /
//! TSX / JSX (oxc), LESS with the real `lessc` from npm.

mod support;

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use sluice_assets::Error;
use sluice_assets::compile::{self, Compiler};
use sluice_core::sources::FileMeta;
use support::{DecodedMap, node, npm_packages};

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn squash(css: &str) -> String {
    css.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(feature = "scss")]
#[test]
fn scss_with_use_import_and_load_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let main = write(
        root,
        "scss/site.scss",
        "@use \"base/vars\";\n@import \"mixins\";\n@import \"theme\";\n\nbody {\n  color: vars.$text;\n  @include boxed;\n}\n",
    );
    write(
        root,
        "scss/base/_vars.scss",
        "$text: #333 !default;\n$pad: 4px;\n",
    );
    write(
        root,
        "scss/_mixins.scss",
        "@use \"base/vars\";\n@mixin boxed { padding: vars.$pad * 2; }\n",
    );
    write(
        root,
        "vendor/theme/_theme.scss",
        ".theme { margin: 0 auto; }\n",
    );
    write(root, "scss/_unused.scss", ".never { color: red; }\n");
    let out = compile::compile(Compiler::Scss, &main, &[root.join("vendor/theme")]).unwrap();
    let css = squash(&out.code);
    assert!(css.contains(".theme { margin: 0 auto; }"), "{css}");
    assert!(css.contains("body { color: #333; padding: 8px; }"), "{css}");
    let inputs: Vec<String> = out
        .inputs
        .iter()
        .map(|i| {
            i.path
                .strip_prefix(root)
                .unwrap_or(&i.path)
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    assert_eq!(inputs[0], "scss/site.scss");
    // Each as it was read: its fingerprint and the md5 of its bytes (nothing changed since).
    for input in &out.inputs {
        let bytes = std::fs::read(&input.path).unwrap();
        let meta = std::fs::metadata(&input.path).unwrap();
        assert_eq!(input.meta, Some(FileMeta::of(&meta)), "{input:?}");
        assert_eq!(input.md5, Some(Md5::digest(&bytes).into()), "{input:?}");
    }
    for partial in [
        "scss/base/_vars.scss",
        "scss/_mixins.scss",
        "vendor/theme/_theme.scss",
    ] {
        assert!(
            inputs.iter().any(|i| i == partial),
            "{partial} not in {inputs:?}"
        );
    }
    assert!(!inputs.iter().any(|i| i.contains("_unused")), "{inputs:?}");
    assert_eq!(
        Compiler::for_path(&main).map(Compiler::output_extension),
        Some("css")
    );
}

#[cfg(feature = "scss")]
#[test]
fn sass_indented_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "a.sass",
        "$c: blue\n.a\n  color: $c\n  .b\n    margin: 0\n",
    );
    let out = compile::compile(Compiler::Sass, &main, &[]).unwrap();
    assert_eq!(
        squash(&out.code),
        ".a { color: blue; } .a .b { margin: 0; }"
    );
}

#[cfg(feature = "scss")]
#[test]
fn scss_error_in_a_partial_names_the_partial() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "site.scss",
        "@use \"parts/broken\";\n.a { color: red; }\n",
    );
    write(
        dir.path(),
        "parts/_broken.scss",
        ".ok { margin: 0; }\n.b {\n  color: $missing;\n}\n",
    );
    let err = compile::compile(Compiler::Scss, &main, &[]).unwrap_err();
    match &err {
        Error::Syntax {
            file,
            line,
            column,
            message,
            source_line,
        } => {
            assert!(file.ends_with("_broken.scss"), "{err}");
            assert_eq!((*line, *column), (3, 10), "{err}");
            assert!(message.contains("Undefined variable"), "{err}");
            assert_eq!(source_line, "  color: $missing;");
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("_broken.scss:3:10: Undefined variable"),
        "{text}"
    );
    assert!(
        text.ends_with("\n    color: $missing;\n           ^"),
        "{text:?}"
    );
}

#[test]
fn typescript_types_are_stripped_and_code_runs() {
    let dir = tempfile::tempdir().unwrap();
    let src = "interface Point { x: number; y: number }\n\
               enum Color { Red = 1, Green }\n\
               type Pair<T> = [T, T];\n\
               function norm(p: Point): number { return Math.sqrt(p.x * p.x + p.y * p.y); }\n\
               class Box<T> { constructor(private readonly value: T) {} get(): T { return this.value; } }\n\
               const pair: Pair<number> = [3, 4];\n\
               const out = { n: norm({ x: pair[0], y: pair[1] } as Point), c: Color.Green, b: new Box<string>('x').get()! };\n\
               console.log(JSON.stringify(out));\n";
    let path = write(dir.path(), "app.ts", src);
    let out = compile::compile(Compiler::TypeScript, &path, &[]).unwrap();
    assert!(!out.code.contains("interface"), "{}", out.code);
    assert!(!out.code.contains(": number"), "{}", out.code);
    let paths: Vec<&Path> = out.inputs.iter().map(|i| i.path.as_path()).collect();
    assert_eq!(paths, [path.as_path()]);
    assert!(out.inputs[0].md5.is_some());
    let js = write(dir.path(), "app.js", &out.code);
    assert_eq!(
        node(&[js.to_str().unwrap()], dir.path()).trim(),
        r#"{"n":5,"c":2,"b":"x"}"#
    );
    // The map points into app.ts.
    let map = DecodedMap::parse(out.map.as_deref().expect("a map"));
    assert_eq!(map.sources, vec!["app.ts"]);
    let (gline, gcol) = support::position_of(&out.code, "function norm");
    assert_eq!(map.lookup(gline, gcol), Some(("app.ts", 3, 0)));
}

#[test]
fn tsx_and_jsx_compile_to_create_element() {
    let dir = tempfile::tempdir().unwrap();
    let react = "const React = { createElement: (t, p, ...c) => ({ t, p, c }) };\n";
    let tsx = write(
        dir.path(),
        "view.tsx",
        &format!(
            "{react}type P = {{ name: string }};\nconst Hello = (p: P) => <b title={{p.name}}>hi {{p.name}}</b>;\nconsole.log(JSON.stringify(<div className=\"a\"><Hello name=\"x\" /></div>));\n"
        ),
    );
    let jsx = write(
        dir.path(),
        "view.jsx",
        &format!(
            "{react}const items = ['a', 'b'];\nconsole.log(JSON.stringify(<ul>{{items.map(i => <li key={{i}}>{{i}}</li>)}}</ul>));\n"
        ),
    );
    for (compiler, path, expected) in [
        (
            Compiler::Tsx,
            tsx,
            r#"{"t":"div","p":{"className":"a"},"c":[{"p":{"name":"x"},"c":[]}]}"#,
        ),
        (
            Compiler::Jsx,
            jsx,
            r#"{"t":"ul","p":null,"c":[[{"t":"li","p":{"key":"a"},"c":["a"]},{"t":"li","p":{"key":"b"},"c":["b"]}]]}"#,
        ),
    ] {
        assert_eq!(Compiler::for_path(&path), Some(compiler));
        let out = compile::compile(compiler, &path, &[]).unwrap();
        assert!(out.code.contains("React.createElement"), "{}", out.code);
        let js = path.with_extension("out.js");
        std::fs::write(&js, &out.code).unwrap();
        assert_eq!(node(&[js.to_str().unwrap()], dir.path()).trim(), expected);
    }
}

#[test]
fn typescript_syntax_error_has_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.ts",
        "const a: number = 1;\nfunction f(x: number {\n  return x;\n}\n",
    );
    let err = compile::compile(Compiler::TypeScript, &path, &[]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:2:22: ", path.display())),
        "{text}"
    );
    assert!(text.contains("\n  function f(x: number {\n"), "{text}");
}

fn lessc() -> PathBuf {
    npm_packages("less-v1", &["less@4.2.0"]).join(".bin/lessc")
}

#[test]
fn less_compiles_with_imports_through_real_lessc() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let main = write(
        root,
        "less/site.less",
        "@import \"vars\";\n@import \"grid.less\";\n.a { color: @brand; .b { width: (@w * 2); } }\n",
    );
    write(root, "less/vars.less", "@brand: #f00;\n@w: 10px;\n");
    write(root, "shared/grid.less", ".row { display: flex; }\n");
    let out = compile::compile_less(&main, &[root.join("shared")], &lessc()).unwrap();
    let css = squash(&out.code);
    assert!(css.contains(".row { display: flex; }"), "{css}");
    assert!(css.contains(".a { color: #f00; }"), "{css}");
    assert!(css.contains(".a .b { width: 20px; }"), "{css}");
    let mut inputs: Vec<String> = out
        .inputs
        .iter()
        .map(|i| {
            i.path
                .strip_prefix(root)
                .unwrap_or(&i.path)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    inputs.sort();
    assert_eq!(
        inputs,
        vec!["less/site.less", "less/vars.less", "shared/grid.less"]
    );
}

#[test]
fn less_error_has_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "site.less", "@import \"part\";\n");
    write(
        dir.path(),
        "part.less",
        ".a {\n  color: red;\n  width: (1px + ;\n}\n",
    );
    let err = compile::compile_less(&main, &[], &lessc()).unwrap_err();
    match &err {
        Error::Syntax { file, line, .. } => {
            assert!(file.ends_with("part.less"), "{err}");
            assert_eq!(*line, 3, "{err}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn missing_lessc_says_how_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "site.less", ".a { color: red; }\n");
    let err = compile::compile_less(&main, &[], Path::new("/nonexistent/bin/lessc")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ToolMissing { .. }), "{text}");
    assert!(
        text.contains("npm install -g less") && text.contains("apt-get install node-less"),
        "{text}"
    );
}
