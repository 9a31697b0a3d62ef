//! What is compiled, and where imports come from, on real packages: only what is asked for
//! (bundle members, `[compile] entries`, the templates' `static` references) — a vendored
//! tree's `.less` and `.scss` nobody asks for leave the output exactly as Django's
//! `collectstatic` writes it (real Django) — and `~pkg/…` imports of a real npm package
//! (@mozilla-protocol/core, installed once into the test cache) resolved in the project's
//! `node_modules`, whose files are inputs like any other.
//!
//! Cost: the Django test ~2 s with a cached virtualenv; the npm test ~1 s once the packages
//! are cached (the first install fetches ~15 MB).

mod support;

#[path = "../../sluice-assets/tests/support/mod.rs"]
mod asset_support;

use std::fs;
use std::path::Path;

use serde_json::Value;
use support::{
    PROJ_MANAGE_PY, Project, assert_same_tree, copy_tree, python_for_django, tree_files, venv,
    venv_env, write_file as write,
};

/// The pinned npm packages of the Sass tests.
pub const SASS_PACKAGES: &[&str] = &[
    "sass@1.108.2",
    "sass-embedded@1.108.2",
    "bootstrap@5.3.9",
    "@mozilla-protocol/core@22.0.0",
    "@fortawesome/fontawesome-free@6.7.1",
    "select2@4.1.0",
];

const SETTINGS_PY: &str = r#"from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = True
INSTALLED_APPS = ["django.contrib.staticfiles", "shop"]
ROOT_URLCONF = "proj.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
}]
DATABASES = {}
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "media"]
STATIC_ROOT = BASE_DIR / "static"
"#;

fn sluice_in(python: &Path, project: &Path, args: &[&str]) -> std::process::Output {
    support::sluice()
        .args(args)
        .current_dir(project)
        .envs(venv_env(python))
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .output()
        .unwrap()
}

/// A Django project with real vendored packages (fontawesome-free's `less/` and `scss/`,
/// bootstrap's `scss/`, protocol's variable-only token files) that nothing asks for, and one
/// stylesheet a template (an app's, found through `APP_DIRS`) references: `sync` and
/// `build` exit 0, and the output is collectstatic's plus that one compiled file.
#[test]
fn a_vendored_tree_nobody_asks_for_leaves_collectstatics_files() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement()]);
    let modules = asset_support::npm_packages("sass-v1", SASS_PACKAGES);

    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    write(&source.join("manage.py"), PROJ_MANAGE_PY);
    write(&source.join("proj/__init__.py"), "");
    write(&source.join("proj/settings.py"), SETTINGS_PY);
    write(&source.join("proj/urls.py"), "urlpatterns = []\n");
    write(&source.join("shop/__init__.py"), "");
    write(
        &source.join("shop/templates/shop/page.html"),
        "{% load static %}<link rel=\"stylesheet\" href=\"{% static 'css/site.css' %}\">\n",
    );
    write(
        &source.join("templates/base.html"),
        "<p>no static here</p>\n",
    );
    let media = source.join("media");
    copy_tree(
        &modules.join("@fortawesome/fontawesome-free/less"),
        &media.join("vendor/fontawesome-free/less"),
    );
    copy_tree(
        &modules.join("@fortawesome/fontawesome-free/scss"),
        &media.join("vendor/fontawesome-free/scss"),
    );
    copy_tree(
        &modules.join("bootstrap/scss"),
        &media.join("vendor/bootstrap/scss"),
    );
    copy_tree(
        &modules.join("@mozilla-protocol/core/protocol/css/includes/tokens/dist"),
        &media.join("vendor/tokens/dist"),
    );
    write(
        &media.join("css/site.scss"),
        "$brand: #123456;\n.site { color: $brand; }\n",
    );
    let django = tmp.path().join("django");
    let ours = tmp.path().join("sluice");
    copy_tree(&source, &django);
    copy_tree(&source, &ours);

    support::collectstatic(&python, &django, &[], &[]);
    let expected = tree_files(&django.join("static"));
    assert!(expected.contains_key("vendor/fontawesome-free/less/_animated.less"));
    assert!(expected.contains_key("vendor/bootstrap/scss/bootstrap.scss"));

    for (command, output) in [("sync", "static"), ("build", "built")] {
        let out = sluice_in(&python, &ours, &[command, "--output", output]);
        assert!(
            out.status.success(),
            "sluice {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let actual = tree_files(&ours.join(output));
        let site = actual
            .get("css/site.css")
            .unwrap_or_else(|| panic!("{command}: the referenced css/site.css"));
        assert_eq!(site, b".site {\n  color: #123456;\n}\n", "{command}");
        // collectstatic's files, plus the one compiled file that was asked for.
        let mut wanted = expected.clone();
        wanted.insert("css/site.css".into(), site.clone());
        let label = format!("sluice {command}");
        if command == "build" {
            // With sluice.json, sluice's record for its Django app (checked against the tree).
            support::assert_same_static_root(line, "collectstatic", wanted, &label, actual);
        } else {
            assert_same_tree("collectstatic", &wanted, &label, &actual);
        }
    }
}

impl Project {
    fn sync_event(&self) -> (i32, Value, String) {
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
}

/// bedrock's imports: `@use '~@mozilla-protocol/core/protocol/css/includes/lib' as *;`
/// resolves in the project's `node_modules` (the default load path); editing the package's
/// file recompiles its importer; node_modules is never mirrored; a missing import names every
/// place tried, at the `@use`'s line and column.
#[test]
fn tilde_imports_of_a_real_package_compile_and_are_inputs_with_grass() {
    tilde_imports(false);
}

/// The same with dart-sass (npm's `sass-embedded` in the project's `node_modules`): the
/// importer applies the load paths and `~`, every loaded file is an input.
#[test]
fn tilde_imports_of_a_real_package_compile_and_are_inputs_with_dart_sass() {
    tilde_imports(true);
}

fn tilde_imports(dart_sass: bool) {
    let modules = asset_support::npm_packages("sass-v1", SASS_PACKAGES);
    let p = Project::new(&[(
        "css/site.scss",
        "@use '~@mozilla-protocol/core/protocol/css/includes/lib' as *;\n\
         .site { color: $color-black; }\n",
    )]);
    copy_tree(
        &modules.join("@mozilla-protocol/core"),
        &p.path("node_modules/@mozilla-protocol/core"),
    );
    if dart_sass {
        for entry in fs::read_dir(&modules).unwrap() {
            let entry = entry.unwrap();
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("sass-embedded-")
            {
                std::os::unix::fs::symlink(
                    entry.path(),
                    p.path("node_modules").join(entry.file_name()),
                )
                .unwrap();
            }
        }
    }
    p.compile_entries(&["css/*.scss"]);
    let (code, event, err) = p.sync_event();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(event["changed"], serde_json::json!(["css/site.css"]));
    let grass = event["warnings"]
        .to_string()
        .contains("compiled with grass");
    assert_eq!(grass, !dart_sass, "{event}");
    let css = fs::read_to_string(p.path("static/css/site.css")).unwrap();
    assert!(css.ends_with(".site {\n  color: #000000;\n}\n"), "{css}");
    assert!(!p.path("static/node_modules").exists());

    // A package file changes: its importer compiles again.
    let defining = find_defining(
        &p.path("node_modules/@mozilla-protocol/core/protocol/css/includes/tokens"),
        "$color-black:",
    );
    let text = fs::read_to_string(&defining).unwrap();
    fs::write(
        &defining,
        text.replacen("$color-black: #000000", "$color-black: #010101", 1),
    )
    .unwrap();
    let (code, event, err) = p.sync_event();
    assert_eq!(code, 0, "{event} {err}");
    assert_eq!(event["changed"], serde_json::json!(["css/site.css"]));
    let css = fs::read_to_string(p.path("static/css/site.css")).unwrap();
    assert!(css.contains("color: #010101;"), "{css}");

    // A missing import: file:line:col of the `@use`, and the places tried.
    p.write(
        "media/css/site.scss",
        "// bedrock's\n  @use '~@mozilla-protocol/core/protocol/css/includes/nope' as *;\n",
    );
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("media/css/site.scss:2:3"), "{stderr}");
    let tried = p.path("node_modules/@mozilla-protocol/core/protocol/css/includes/nope");
    assert!(stderr.contains(tried.to_str().unwrap()), "{stderr}");
    let in_media = p.path("media/@mozilla-protocol/core/protocol/css/includes/nope");
    assert!(stderr.contains(in_media.to_str().unwrap()), "{stderr}");
}

/// The file under `dir` whose text contains `needle`.
fn find_defining(dir: &Path, needle: &str) -> std::path::PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "scss")
                && fs::read_to_string(&path).is_ok_and(|t| t.contains(needle))
            {
                return path;
            }
        }
    }
    panic!("nothing under {} defines {needle}", dir.display());
}

/// The Sass entry points of the differential test: (source root in node_modules, its prefix,
/// the entry files).
const SASS_ENTRIES: &[(&str, &str, &[&str])] = &[
    ("bootstrap/scss", "bootstrap", &["bootstrap.scss"]),
    (
        "@mozilla-protocol/core/protocol/css",
        "protocol",
        &["protocol.scss", "protocol-components.scss"],
    ),
    (
        "@fortawesome/fontawesome-free/scss",
        "fontawesome",
        &["fontawesome.scss", "solid.scss", "brands.scss"],
    ),
    ("select2/src/scss", "select2", &["core.scss"]),
];

/// sluice's Sass (dart-sass over the Embedded Sass protocol, found in the project's
/// `node_modules` from npm's `sass-embedded` 1.108.2) equals the `sass` 1.108.2 npm package's
/// command (dart-sass compiled to JavaScript) on real code — bootstrap 5.3, protocol 22,
/// fontawesome-free 6, select2 — after both go through the same lightningcss minify (each
/// as the one member of a minified bundle in `sluice build`). Cost: ~10 s (the JS
/// compiler's starts, one per entry).
#[test]
fn sass_equals_dart_sass_on_real_packages() {
    let modules = asset_support::npm_packages("sass-v1", SASS_PACKAGES);
    // The compiler sluice talks to (protocol 3, checked when it starts) is 1.108.2's.
    let dart = sluice_assets::dart_sass::DartSass::in_node_modules(&modules)
        .expect("sass-embedded's platform package");
    assert_eq!(sluice_assets::dart_sass::version(&dart).unwrap(), "1.108.2");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::os::unix::fs::symlink(&modules, root.join("node_modules")).unwrap();
    let mut toml = String::from("sources = [\"media\"");
    let mut bundles = String::new();
    for (folder, prefix, entries) in SASS_ENTRIES {
        // A copy: protocol ships its built `protocol.css` beside `protocol.scss`, and a
        // source of the compiled name wins over the compile.
        let copy = root.join("pkgs").join(prefix);
        copy_tree(&modules.join(folder), &copy);
        for entry in *entries {
            let _ = fs::remove_file(copy.join(entry.replace(".scss", ".css")));
        }
        toml.push_str(&format!(
            ", {{ path = \"pkgs/{prefix}\", prefix = \"{prefix}\" }}"
        ));
        for entry in *entries {
            let name = format!("{prefix}-{}", entry.trim_end_matches(".scss"));
            let reference = format!("{prefix}/{}", entry.replace(".scss", ".ref.css"));
            let out = support::run_or_panic(
                std::process::Command::new("node")
                    .arg(modules.join("sass/sass.js"))
                    .args(["--no-source-map", "--quiet", "--load-path"])
                    .arg(&modules)
                    .arg(modules.join(folder).join(entry)),
                "the sass npm package",
            );
            write(&root.join("media").join(&reference), &out.stdout);
            bundles.push_str(&format!(
                "[bundles.css.{name}-ours]\nfiles = [\"{prefix}/{entry}\"]\noutput = \"out/{name}-ours.css\"\n\
                 [bundles.css.{name}-ref]\nfiles = [\"{reference}\"]\noutput = \"out/{name}-ref.css\"\n"
            ));
        }
    }
    toml.push_str("]\noutput = \"static\"\n[build]\nhash = false\ncompress = []\n");
    toml.push_str(&bundles);
    write(&root.join("sluice.toml"), toml);
    let out = support::sluice()
        .args(["build", "--format", "json"])
        .current_dir(root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("compiled with grass"), "{stdout}");
    let mut compared = 0;
    for (_, prefix, entries) in SASS_ENTRIES {
        for entry in *entries {
            let name = format!("{prefix}-{}", entry.trim_end_matches(".scss"));
            let ours =
                fs::read_to_string(root.join(format!("static/out/{name}-ours.css"))).unwrap();
            let reference =
                fs::read_to_string(root.join(format!("static/out/{name}-ref.css"))).unwrap();
            assert!(ours.len() > 500, "{name}: {} bytes", ours.len());
            // The map comments name each bundle's own map.
            let body = |css: &str| {
                css.split("/*# sourceMappingURL")
                    .next()
                    .unwrap()
                    .to_string()
            };
            let (ours, reference) = (body(&ours), body(&reference));
            if ours != reference {
                let at = ours
                    .bytes()
                    .zip(reference.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(ours.len().min(reference.len()));
                let around = |s: &str| {
                    let from = s.floor_char_boundary(at.saturating_sub(200));
                    let to = s.floor_char_boundary((at + 200).min(s.len()));
                    s[from..to].to_string()
                };
                panic!(
                    "{name}: differs at byte {at} ({} vs {} bytes)\nsluice: {}\ndart-sass: {}",
                    ours.len(),
                    reference.len(),
                    around(&ours),
                    around(&reference)
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 7);
}

/// A compiled script keeps its `import`s, so what an asked-for `.ts` imports by a relative
/// path is compiled too (`./util.js` → `js/util.ts`), and what nothing imports is not; an
/// import added later asks for its module on the next pass.
#[test]
fn what_an_asked_for_script_imports_is_compiled() {
    let p = Project::new(&[
        (
            "js/app.ts",
            "import { twice } from './util.js';\nconsole.log(twice(2));\n",
        ),
        (
            "js/util.ts",
            "import './lib/deep';\nexport const twice = (n: number): number => n * 2;\n",
        ),
        ("js/lib/deep.ts", "export const deep: number = 1;\n"),
        ("js/later.ts", "export const later: number = 1;\n"),
        ("js/unused.ts", "export const unused: number = 1;\n"),
    ]);
    p.compile_entries(&["js/app.ts"]);
    let (code, event, err) = p.sync_event();
    assert_eq!(code, 0, "{event} {err}");
    let compiled: Vec<&str> = event["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|s| !s.ends_with(".map"))
        .collect();
    assert_eq!(compiled, ["js/app.js", "js/lib/deep.js", "js/util.js"]);
    let util = fs::read_to_string(p.path("static/js/util.js")).unwrap();
    assert!(
        util.contains("n * 2") && !util.contains(": number"),
        "{util}"
    );

    p.write(
        "media/js/app.ts",
        "import { twice } from './util.js';\nimport { later } from './later.js';\n\
         console.log(twice(later));\n",
    );
    let (code, event, err) = p.sync_event();
    assert_eq!(code, 0, "{event} {err}");
    assert!(p.path("static/js/later.js").is_file(), "{event}");
    assert!(!p.path("static/js/unused.js").exists());
}
