//! Django's finders and storages, as collectstatic would take them: for each storage —
//! Django's `StaticFilesStorage` and `ManifestStaticFilesStorage`, whitenoise's
//! `CompressedStaticFilesStorage` and `CompressedManifestStaticFilesStorage` (with and without
//! `WHITENOISE_KEEP_ONLY_HASHED_FILES`), django-pipeline's `PipelineStorage` and
//! `PipelineManifestStorage` — `sluice build` with no flags writes the files real
//! `collectstatic` writes (byte for byte; compressed copies by name, modulo the documented
//! Brotli-encoder difference, each decompressing to its original), and `sluice config` says
//! the storage is where hashing and compression came from. `STATICFILES_FINDERS` decide the
//! roots: without `AppDirectoriesFinder` no app files, without `FileSystemFinder` no
//! `STATICFILES_DIRS`, their order decides who wins a name, django-pipeline's filtering
//! `FileSystemFinder` and `AppDirectoriesFinder` add their ignore patterns (to a list that
//! is not empty: not with `--no-default-ignore` alone), a finder sluice does not know is a
//! warning naming it. An app's `static/` folder that appears (or goes) after a run is seen by the
//! next run, `.sluice/` kept.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::compressed::{assert_compressed_copies, assert_same_names_modulo_brotli};
use support::{
    DJANGO_PIPELINE, DjangoLine, PROJ_MANAGE_PY, assert_record_digests, assert_same_tree,
    compressible_css, manifest_paths, noise, put, python_for_django, tree_files, venv, venv_env,
};

type Tree = BTreeMap<String, Vec<u8>>;

const SETTINGS_PY: &str = r#"import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "shop", "late"]
ROOT_URLCONF = "proj.urls"
TEMPLATES = []
DATABASES = {}
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets", ("vendor", BASE_DIR / "vendor_assets")]
STATIC_ROOT = Path(os.environ.get("TEST_STATIC_ROOT", BASE_DIR / "static"))
if os.environ.get("TEST_FINDERS"):
    STATICFILES_FINDERS = os.environ["TEST_FINDERS"].split(",")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get(
            "TEST_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_KEEP_ONLY_HASHED_FILES = os.environ.get("TEST_KEEP_ONLY") == "1"
# django-pipeline's finders need the setting; its storages, bundles.
PIPELINE = {}
if os.environ.get("TEST_PIPELINE") == "1":
    INSTALLED_APPS.append("pipeline")
    PIPELINE = {
        "PIPELINE_ENABLED": True,
        "PIPELINE_COLLECTOR_ENABLED": False,
        "CSS_COMPRESSOR": None,
        "JS_COMPRESSOR": None,
        "STYLESHEETS": {
            "all": {"source_filenames": ["css/*.css"], "output_filename": "bundles/all.css"},
        },
        "JAVASCRIPT": {
            "app": {
                "source_filenames": ["js/*.js", "vendor/lib/*.js"],
                "output_filename": "bundles/app.js",
            },
        },
    }
"#;

/// A finder sluice does not know (it finds one file), for the warning.
const FINDERS_PY: &str = r#"from django.contrib.staticfiles.finders import BaseFinder


class ExtraFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        return [] if find_all else None

    def list(self, ignore_patterns):
        return []
"#;

/// The project: two STATICFILES_DIRS (one prefixed) and two apps, one with a `static/` folder
/// (which also has a file that STATICFILES_DIRS shadows), one without (yet); files every
/// storage treats differently (references, source maps, compressible or not, tiny), files
/// django-pipeline's `FileSystemFinder` ignores, and files Django ignores.
fn make_project(root: &Path) {
    put(root, "manage.py", PROJ_MANAGE_PY);
    put(root, "proj/__init__.py", "");
    put(root, "proj/settings.py", SETTINGS_PY);
    put(root, "proj/urls.py", "urlpatterns = []\n");
    put(root, "proj/finders.py", FINDERS_PY);
    put(root, "shop/__init__.py", "");
    put(root, "late/__init__.py", "");
    // pyproject: bundles as django-pipeline joins them with no compressor (the only key).
    put(
        root,
        "pyproject.toml",
        "[tool.sluice.build]\nminify = false\n",
    );
    let a = |rel: &str, bytes: &[u8]| put(root, &format!("assets/{rel}"), bytes);
    a(
        "css/site.css",
        format!(
            "@import url(\"base.css\");\n.logo {{ background: url(../img/logo.png); }}\n\
             .icon {{ background: url(\"../img/icon.svg#i\"); }}\n{}",
            compressible_css("site", 60)
        )
        .as_bytes(),
    );
    a("css/base.css", compressible_css("base", 50).as_bytes());
    a("css/tiny.css", b"a{color:red}\n");
    a("js/app.js", "var app = 1;\n".repeat(30).as_bytes());
    let mut mapped = "window.mapped = true;\n".repeat(20);
    mapped.push_str("//# sourceMappingURL=mapped.js.map\n");
    a("js/mapped.js", mapped.as_bytes());
    a(
        "js/mapped.js.map",
        b"{\"version\":3,\"sources\":[\"mapped.ts\"],\"mappings\":\"\"}",
    );
    a("img/logo.png", &noise(700, 1));
    a(
        "img/icon.svg",
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><!-- {} --></svg>",
            compressible_css("svg", 20)
        )
        .as_bytes(),
    );
    a("fonts/f.woff2", &noise(900, 2));
    a("fonts/f.ttf", compressible_css("glyph", 40).as_bytes());
    a("data/x.json", b"{\"a\": [1, 2, 3]}\n");
    // What django-pipeline's FileSystemFinder leaves out besides *.css and *.js: *.txt, *.md,
    // README*, LICENSE*, and names (of files, or of folders) with test, bin, docs, build…
    a("notes.txt", b"notes\n");
    a("README.md", b"# readme\n");
    a("LICENSE", b"license\n");
    a("img/tests/t.png", &noise(100, 3));
    a("img/latest.png", &noise(100, 4));
    a("img/cabinet.svg", b"<svg/>");
    a("docs/guide.pdf", &noise(100, 5));
    a("img/x.build/a.png", &noise(100, 6));
    a("node_modules/pkg/logo.png", &noise(100, 7));
    // Django's own ignores.
    a(".hidden", b"hidden\n");
    a("css/site.css~", b"backup\n");
    let v = |rel: &str, bytes: &[u8]| put(root, &format!("vendor_assets/{rel}"), bytes);
    v(
        "lib/lib.css",
        b".lib { background: url(img/v.png); }\n.up { background: url(../../img/logo.png); }\n",
    );
    v("lib/img/v.png", &noise(300, 8));
    v("lib/lib.js", b"var lib = 1;\n");
    let s = |rel: &str, bytes: &[u8]| put(root, &format!("shop/static/{rel}"), bytes);
    s(
        "shop/shop.css",
        format!(
            ".cart {{ background: url(img/cart.png); }}\n{}",
            compressible_css("shop", 30)
        )
        .as_bytes(),
    );
    s("shop/img/cart.png", &noise(400, 9));
    // Shadowed by assets/css/site.css (STATICFILES_DIRS come first by default).
    s("css/site.css", b"/* the shop's */\n");
}

/// The environment a case runs with: its settings (`TEST_*`), and the venv active.
struct Case<'a> {
    python: &'a Path,
    project: &'a Path,
    vars: Vec<(&'static str, String)>,
}

impl Case<'_> {
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.project)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("PYTHONPATH")
            .envs(venv_env(self.python))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(self.vars.iter().map(|(k, v)| (*k, OsStr::new(v))));
        cmd
    }

    /// `collectstatic` into `root`; what it wrote.
    fn collectstatic(&self, root: &Path) -> Tree {
        self.collectstatic_with(root, &[])
    }

    /// `collectstatic <args>` into `root`; what it wrote.
    fn collectstatic_with(&self, root: &Path, args: &[&str]) -> Tree {
        let mut cmd = self.command(self.python);
        cmd.args([
            "manage.py",
            "collectstatic",
            "--noinput",
            "--verbosity",
            "0",
        ])
        .args(args)
        .env("TEST_STATIC_ROOT", root);
        support::run_or_panic(&mut cmd, "collectstatic");
        tree_files(root)
    }

    /// `sluice <args>` with STATIC_ROOT at `root`: exit code, JSON events, stderr.
    fn sluice(&self, root: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
        let out = self
            .command(Path::new(env!("CARGO_BIN_EXE_sluice")))
            .args(args)
            .env("TEST_STATIC_ROOT", root)
            .output()
            .unwrap();
        let events = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (
            out.status.code().unwrap_or(-1),
            events,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `sluice build` (no flags) into `root`: what it wrote.
    fn build(&self, root: &Path) -> Tree {
        let (code, events, stderr) = self.sluice(root, &["build", "--format", "json"]);
        assert_eq!(code, 0, "{events:#?}\n{stderr}");
        tree_files(root)
    }

    /// `sluice config --format json`.
    fn config(&self, root: &Path) -> Value {
        let out = self
            .command(Path::new(env!("CARGO_BIN_EXE_sluice")))
            .args(["config", "--format", "json"])
            .env("TEST_STATIC_ROOT", root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the configuration as JSON")
    }
}

/// sluice's build (`actual`) against collectstatic's (`expected`): the same files with the
/// same bytes (staticfiles.json as a mapping under Django 5.2, which does not sort it), the
/// compressed copies by name modulo Brotli, each decompressing to its original; sluice.json
/// listing the served scripts and stylesheets with their digests.
fn assert_same_output(line: DjangoLine, label: &str, mut expected: Tree, mut actual: Tree) {
    let record = actual
        .remove("sluice.json")
        .unwrap_or_else(|| panic!("{label}: no sluice.json"));
    assert_record_digests(&record, &actual);
    assert_same_names_modulo_brotli(&expected, &actual);
    assert_compressed_copies(label, &actual);
    let compressed = |k: &String| [".gz", ".br"].iter().any(|s| k.ends_with(s));
    expected.retain(|k, _| !compressed(k));
    actual.retain(|k, _| !compressed(k));
    if line == DjangoLine::Django52
        && let (Some(e), Some(a)) = (
            expected.remove("staticfiles.json"),
            actual.remove("staticfiles.json"),
        )
    {
        assert_eq!(manifest_paths(&e), manifest_paths(&a), "{label}");
    }
    assert_same_tree(
        &format!("collectstatic ({label})"),
        &expected,
        &format!("sluice build ({label})"),
        &actual,
    );
}

fn origin(config: &Value, key: &str) -> String {
    config["build"][key]["origin"]
        .as_str()
        .unwrap_or_else(|| panic!("no origin of build.{key}: {config}"))
        .to_string()
}

#[test]
fn django_and_whitenoise_storages_give_what_collectstatic_gives() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), "whitenoise==6.12.0", "brotli==1.2.1"]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);
    // (storage, keep only hashed, hashed, compressed copies)
    let cases = [
        (
            "django.contrib.staticfiles.storage.StaticFilesStorage",
            false,
            false,
            false,
        ),
        (
            "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
            false,
            true,
            false,
        ),
        (
            "whitenoise.storage.CompressedStaticFilesStorage",
            false,
            false,
            true,
        ),
        (
            "whitenoise.storage.CompressedManifestStaticFilesStorage",
            false,
            true,
            true,
        ),
        (
            "whitenoise.storage.CompressedManifestStaticFilesStorage",
            true,
            true,
            true,
        ),
    ];
    for (i, (storage, keep_only, hashed, compressed)) in cases.into_iter().enumerate() {
        let label = format!("{storage}, keep only hashed: {keep_only}");
        let case = Case {
            python: &python,
            project: &project,
            vars: vec![
                ("TEST_STORAGE", storage.to_string()),
                ("TEST_KEEP_ONLY", if keep_only { "1" } else { "0" }.into()),
            ],
        };
        let expected = case.collectstatic(&tmp.path().join(format!("django-{i}")));
        let ours = tmp.path().join(format!("sluice-{i}"));
        let actual = case.build(&ours);
        // The cases are what they claim to be (on Django's side).
        assert_eq!(expected.contains_key("staticfiles.json"), hashed, "{label}");
        assert_eq!(
            expected.keys().any(|k| k.ends_with(".gz")),
            compressed,
            "{label}"
        );
        assert_eq!(expected.contains_key("css/site.css"), !keep_only, "{label}");
        assert!(!expected.contains_key("late/x.css"));
        assert_same_output(line, &label, expected, actual);

        let config = case.config(&ours);
        for key in ["hash", "compress", "keep_only_hashed"] {
            let origin = origin(&config, key);
            assert!(
                origin.contains(&format!("STORAGES[\"staticfiles\"] = {storage}")),
                "{label}: build.{key} from {origin}"
            );
        }
        assert_eq!(config["build"]["hash"]["value"], hashed, "{label}");
        assert_eq!(
            config["build"]["keep_only_hashed"]["value"], keep_only,
            "{label}"
        );
        let codecs: Vec<&str> = config["build"]["compress"]["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let want: &[&str] = if compressed { &["gzip", "br"] } else { &[] };
        assert_eq!(codecs, want, "{label}");
    }

    // A flag still wins over the storage, and the configuration says so.
    let case = Case {
        python: &python,
        project: &project,
        vars: vec![(
            "TEST_STORAGE",
            "whitenoise.storage.CompressedManifestStaticFilesStorage".into(),
        )],
    };
    let ours = tmp.path().join("sluice-flags");
    let (code, _, stderr) = case.sluice(&ours, &["build", "--no-hash", "--no-compress"]);
    assert_eq!(code, 0, "{stderr}");
    let out = tree_files(&ours);
    assert!(!out.contains_key("staticfiles.json"));
    assert!(!out.keys().any(|k| k.ends_with(".gz") || k.ends_with(".br")));
}

#[test]
fn pipeline_storages_give_what_collectstatic_gives() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), DJANGO_PIPELINE]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);
    for (i, (storage, hashed)) in [
        ("pipeline.storage.PipelineStorage", false),
        ("pipeline.storage.PipelineManifestStorage", true),
    ]
    .into_iter()
    .enumerate()
    {
        let case = Case {
            python: &python,
            project: &project,
            vars: vec![
                ("TEST_STORAGE", storage.to_string()),
                ("TEST_PIPELINE", "1".into()),
            ],
        };
        let expected = case.collectstatic(&tmp.path().join(format!("django-{i}")));
        let ours = tmp.path().join(format!("sluice-{i}"));
        let actual = case.build(&ours);
        assert!(expected.contains_key("bundles/all.css"), "{storage}");
        assert!(expected.contains_key("bundles/app.js"), "{storage}");
        assert_eq!(
            expected.contains_key("staticfiles.json"),
            hashed,
            "{storage}"
        );
        assert_same_output(line, storage, expected, actual);
        let config = case.config(&ours);
        assert!(
            origin(&config, "hash").contains(storage),
            "{}",
            origin(&config, "hash")
        );
        assert_eq!(config["build"]["hash"]["value"], hashed);
        assert!(
            config["minify"]["origin"]
                .as_str()
                .is_some_and(|o| o.contains("pyproject.toml")),
            "{}",
            config["minify"]
        );
    }
}

#[test]
fn finders_decide_the_roots_as_collectstatic_does() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), DJANGO_PIPELINE]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);
    const FS: &str = "django.contrib.staticfiles.finders.FileSystemFinder";
    const APPS: &str = "django.contrib.staticfiles.finders.AppDirectoriesFinder";
    const PIPELINE_FS: &str = "pipeline.finders.FileSystemFinder";
    type Check = Box<dyn Fn(&Tree)>;
    let cases: Vec<(String, Check)> = vec![
        (
            FS.into(),
            Box::new(|t: &Tree| {
                assert!(!t.contains_key("shop/shop.css"), "no app files");
                assert!(t.contains_key("vendor/lib/lib.js"));
            }),
        ),
        (
            APPS.into(),
            Box::new(|t: &Tree| {
                assert!(!t.contains_key("img/logo.png"), "no STATICFILES_DIRS");
                assert_eq!(t["css/site.css"], b"/* the shop's */\n");
            }),
        ),
        // Apps first: the shop's css/site.css wins.
        (
            format!("{APPS},{FS}"),
            Box::new(|t: &Tree| {
                assert_eq!(t["css/site.css"], b"/* the shop's */\n");
                assert!(t.contains_key("img/logo.png"));
            }),
        ),
        // django-pipeline's FileSystemFinder: its ignore patterns, in STATICFILES_DIRS only.
        (
            format!("{PIPELINE_FS},{APPS}"),
            Box::new(|t: &Tree| {
                for gone in [
                    "js/app.js",
                    "notes.txt",
                    "README.md",
                    "LICENSE",
                    "img/tests/t.png",
                    "img/latest.png",
                    "img/cabinet.svg",
                    "docs/guide.pdf",
                    "img/x.build/a.png",
                    "node_modules/pkg/logo.png",
                    "vendor/lib/lib.css",
                ] {
                    assert!(!t.contains_key(gone), "{gone} is ignored");
                }
                assert!(t.contains_key("img/logo.png") && t.contains_key("data/x.json"));
                assert!(t.contains_key("shop/shop.css"), "the apps' CSS stays");
            }),
        ),
        // …and its AppDirectoriesFinder, in the apps only.
        (
            format!("{FS},pipeline.finders.AppDirectoriesFinder"),
            Box::new(|t: &Tree| {
                assert!(!t.contains_key("shop/shop.css"), "the apps' CSS is ignored");
                assert!(t.contains_key("shop/img/cart.png"));
                assert!(t.contains_key("js/app.js") && t.contains_key("notes.txt"));
            }),
        ),
    ];
    for (i, (finders, check)) in cases.into_iter().enumerate() {
        let case = Case {
            python: &python,
            project: &project,
            vars: vec![("TEST_FINDERS", finders.clone())],
        };
        let expected = case.collectstatic(&tmp.path().join(format!("django-{i}")));
        check(&expected);
        let actual = case.build(&tmp.path().join(format!("sluice-{i}")));
        assert_same_output(line, &finders, expected, actual);
    }

    // django-pipeline's filtering finders add their patterns only to a list that is not empty
    // (`if ignore_patterns:`): with `--no-default-ignore` and no `-i`, they filter nothing.
    let case = Case {
        python: &python,
        project: &project,
        vars: vec![("TEST_FINDERS", format!("{PIPELINE_FS},{APPS}"))],
    };
    let expected =
        case.collectstatic_with(&tmp.path().join("django-all"), &["--no-default-ignore"]);
    assert!(expected.contains_key("js/app.js") && expected.contains_key(".hidden"));
    let ours = tmp.path().join("sluice-all");
    let (code, _, stderr) = case.sluice(&ours, &["build", "--no-default-ignore"]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_output(line, "--no-default-ignore", expected, tree_files(&ours));
    // With a pattern of its own (`-i`), the finder's are added to it.
    let expected = case.collectstatic_with(
        &tmp.path().join("django-i"),
        &["--no-default-ignore", "-i", "*.json"],
    );
    assert!(!expected.contains_key("js/app.js") && !expected.contains_key("data/x.json"));
    let ours = tmp.path().join("sluice-i");
    let (code, _, stderr) = case.sluice(&ours, &["build", "--no-default-ignore", "-i", "*.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_output(
        line,
        "--no-default-ignore -i *.json",
        expected,
        tree_files(&ours),
    );

    // Finders sluice does not know: a warning naming each, the known ones still used.
    let case = Case {
        python: &python,
        project: &project,
        vars: vec![(
            "TEST_FINDERS",
            format!("{FS},proj.finders.ExtraFinder,proj.nowhere.Finder"),
        )],
    };
    let ours = tmp.path().join("sluice-unknown");
    let (code, events, stderr) = case.sluice(&ours, &["build", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let warnings: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "warning")
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("proj.finders.ExtraFinder")
                && w.contains("not a finder sluice knows")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("proj.nowhere.Finder") && w.contains("could not be imported")),
        "{warnings:#?}"
    );
    assert!(ours.join("img/logo.png").is_file());
    assert!(!ours.join("shop/shop.css").exists());
    let (code, _, stderr) = case.sluice(&ours, &["build"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("proj.finders.ExtraFinder"), "{stderr}");
}

#[test]
fn an_app_static_folder_created_later_is_picked_up_without_deleting_the_cache() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement()]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);
    let case = Case {
        python: &python,
        project: &project,
        vars: Vec::new(),
    };
    let ours = tmp.path().join("sluice");
    let cached = |case: &Case| case.config(&ours)["django"]["cached"].clone();
    case.build(&ours);
    assert_eq!(cached(&case), true, "the settings are cached");
    assert!(!ours.join("late").exists());

    // The `late` app gets a static/ folder: the next run sees it.
    put(
        &project,
        "late/static/late/x.css",
        ".late { color: blue; }\n",
    );
    assert_eq!(
        cached(&case),
        false,
        "a new app static/ folder asks Django again"
    );
    let actual = case.build(&ours);
    assert_eq!(actual["late/x.css"], b".late { color: blue; }\n");
    assert!(project.join(".sluice").is_dir());
    let expected = case.collectstatic(&tmp.path().join("django-1"));
    assert_same_output(line, "after late/static/ appeared", expected, actual);

    // And when it goes, its files go.
    fs::remove_dir_all(project.join("late/static")).unwrap();
    let actual = case.build(&ours);
    assert!(!actual.contains_key("late/x.css"));
    let expected = case.collectstatic(&tmp.path().join("django-2"));
    assert_same_output(line, "after late/static/ went", expected, actual);
}

/// A project copied elsewhere with its `.sluice/` (a second checkout made by copying, a CI
/// cache restored under another path): the copy asks Django again, so it collects its own
/// folders, not the original's (whose settings files are still there, unchanged).
#[test]
fn a_copied_project_asks_django_for_its_own_folders() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement()]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);
    let case = Case {
        python: &python,
        project: &project,
        vars: Vec::new(),
    };
    // One STATIC_ROOT for both: the settings read it from the environment, and another
    // value would ask Django again anyway.
    let ours = tmp.path().join("out");
    case.build(&ours);
    assert_eq!(case.config(&ours)["django"]["cached"], true);

    let copy = tmp.path().join("copy");
    support::copy_tree(&project, &copy);
    assert!(copy.join(".sluice").is_dir(), "the state came along");
    put(&copy, "assets/css/tiny.css", "a{color:blue}\n");
    let copied = Case {
        python: &python,
        project: &copy,
        vars: Vec::new(),
    };
    assert_eq!(
        copied.config(&ours)["django"]["cached"],
        false,
        "asked again"
    );
    let actual = copied.build(&ours);
    assert_eq!(actual["css/tiny.css"], b"a{color:blue}\n");
    let expected = copied.collectstatic(&tmp.path().join("django"));
    assert_same_output(line, "the copy", expected, actual);
}
