//! Differential tests: `sluice sync` must leave STATIC_ROOT exactly as Django's
//! `collectstatic` does with plain `StaticFilesStorage` — same file names, same
//! bytes — on a throwaway project that exercises the finders' corner cases and
//! on the example site shipped in `examples/site`.
//!
//! Both tests run the real Django in a cached virtualenv (see `support`); they
//! fail, never skip, when Python or PyPI is missing.

mod support;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use support::{
    PROJ_MANAGE_PY, assert_same_tree, copy_example_site, copy_tree, example_requirements,
    python_for_django, sluice, tree_files, venv, venv_env, write_file as write,
};

/// Settings and environment variables that must not leak from the developer's
/// shell into the child processes.
const SCRUBBED_ENV: &[&str] = &[
    "DJANGO_SETTINGS_MODULE",
    "PYTHONPATH",
    "EXAMPLE_DEBUG",
    "EXAMPLE_PIPELINE_ENABLED",
    "EXAMPLE_PLAIN_STORAGE",
    "EXAMPLE_SASS_BINARY",
];

const SETTINGS_PY: &str = r#"from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = True
ALLOWED_HOSTS = []

# `overrides` comes before the admin so its admin/css/base.css wins;
# `shop` comes after `overrides` and loses shared/app.txt to it.
INSTALLED_APPS = [
    "overrides",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "shop",
]
ROOT_URLCONF = "proj.urls"
TEMPLATES = []
DATABASES = {}
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets", ("vendor", BASE_DIR / "vendor_assets")]
STATIC_ROOT = BASE_DIR / "static"
"#;

/// A Django project whose static files cover what collectstatic decides:
/// STATICFILES_DIRS before apps, apps in INSTALLED_APPS order, a prefixed
/// dir, Django's default ignore patterns, nesting and unusual names.
fn make_project(root: &Path) {
    write(&root.join("manage.py"), PROJ_MANAGE_PY);
    write(&root.join("proj/__init__.py"), "");
    write(&root.join("proj/settings.py"), SETTINGS_PY);
    write(&root.join("proj/urls.py"), "urlpatterns = []\n");

    // STATICFILES_DIRS[0]: no prefix.
    let assets = root.join("assets");
    write(
        &assets.join("css/site.css"),
        "body { background: url(../img/logo.png); }\n",
    );
    write(
        &assets.join("img/logo.png"),
        b"\x89PNG\r\n\x1a\n not really a png",
    );
    write(&assets.join("js/app.js"), "console.log('assets');\n");
    write(&assets.join("nested/a/b/c/deep.txt"), "deep\n");
    write(&assets.join("with space.txt"), "space\n");
    write(&assets.join("ünïcödé.txt"), "unicode\n");
    write(&assets.join("Makefile"), "no extension\n");
    write(
        &assets.join("shop/shared.css"),
        "/* assets wins over the shop app */\n",
    );
    // Ignored by Django's defaults: CVS, .*, *~ (files and folders).
    write(&assets.join("css/site.css~"), "editor backup\n");
    write(&assets.join(".hidden"), "hidden file\n");
    write(
        &assets.join(".hiddendir/inside.txt"),
        "inside a hidden folder\n",
    );
    write(&assets.join("css/.DS_Store"), "mac junk\n");
    write(&assets.join("CVS/Entries"), "cvs\n");
    write(&assets.join("nested/CVS/Root"), "cvs\n");
    write(&assets.join("foo~"), "backup\n");

    // STATICFILES_DIRS[1]: ("vendor", ...).
    let vendor = root.join("vendor_assets");
    write(&vendor.join("lib.js"), "var lib = 1;\n");
    write(&vendor.join("sub/lib2.js"), "var lib2 = 2;\n");
    write(&vendor.join("sub/lib2.js~"), "backup\n");

    // App `overrides`, listed before the admin.
    write(&root.join("overrides/__init__.py"), "");
    write(
        &root.join("overrides/static/admin/css/base.css"),
        "/* overrides the admin's base.css */\n",
    );
    write(
        &root.join("overrides/static/shared/app.txt"),
        "from overrides\n",
    );

    // App `shop`, listed last.
    write(&root.join("shop/__init__.py"), "");
    write(
        &root.join("shop/static/shop/shared.css"),
        "/* loses to assets/ */\n",
    );
    write(
        &root.join("shop/static/shop/only-in-app.css"),
        "/* only here */\n",
    );
    write(
        &root.join("shop/static/shared/app.txt"),
        "from shop: loses\n",
    );
    write(&root.join("shop/static/shop/.secret"), "hidden in an app\n");
    write(
        &root.join("shop/static/shop/img/x.gif"),
        b"GIF89a\x01\x00\x01\x00",
    );
    // A folder of the app that is not static/: never collected.
    write(
        &root.join("shop/templates/shop/page.html"),
        "<p>not static</p>\n",
    );
}

/// `sluice sync` in `project`, with `python`'s venv active.
fn sluice_sync(python: &Path, project: &Path) {
    let mut cmd = sluice();
    cmd.arg("sync")
        .current_dir(project)
        .envs(venv_env(python))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for name in SCRUBBED_ENV {
        cmd.env_remove(name);
    }
    cmd.assert().success();
}

#[test]
fn sync_matches_collectstatic_on_a_tricky_project() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement()]);

    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    make_project(&source);
    let django = tmp.path().join("django");
    let ours = tmp.path().join("sluice");
    copy_tree(&source, &django);
    copy_tree(&source, &ours);

    support::collectstatic(&python, &django, SCRUBBED_ENV, &[]);
    sluice_sync(&python, &ours);

    let expected = tree_files(&django.join("static"));
    // Sanity: the project exercises what it claims to (Django's side).
    assert_eq!(
        expected["shop/shared.css"],
        b"/* assets wins over the shop app */\n"
    );
    assert_eq!(expected["shared/app.txt"], b"from overrides\n");
    assert_eq!(
        expected["admin/css/base.css"],
        b"/* overrides the admin's base.css */\n"
    );
    assert!(expected.contains_key("vendor/sub/lib2.js"));
    assert!(expected.contains_key("admin/js/core.js"));
    assert!(
        !expected
            .keys()
            .any(|k| k.ends_with('~') || k.contains("/.") || k.starts_with('.'))
    );

    assert_same_tree(
        "collectstatic",
        &expected,
        "sluice sync",
        &tree_files(&ours.join("static")),
    );
}

#[test]
fn sync_matches_collectstatic_on_the_example_site() {
    let (_, line) = python_for_django();
    let mut requirements = example_requirements();
    requirements.push(line.requirement().to_owned());
    let requirements: Vec<&str> = requirements.iter().map(String::as_str).collect();
    let python = venv(&requirements);

    let tmp = tempfile::tempdir().unwrap();
    let django = tmp.path().join("django");
    let ours = tmp.path().join("sluice");
    copy_example_site(&django);
    copy_example_site(&ours);

    // Django with plain storage: copy every found file, no pipeline packing,
    // no hashing. sluice runs with the site's own settings (pipeline storage),
    // as a developer would.
    support::collectstatic(
        &python,
        &django,
        SCRUBBED_ENV,
        &[("EXAMPLE_PLAIN_STORAGE", OsStr::new("1"))],
    );
    sluice_sync(&python, &ours);

    let expected = tree_files(&django.join("static"));
    assert!(
        expected.len() > 200,
        "the example site should have a few hundred files"
    );
    assert!(expected.contains_key("pages/css/pages.css"));
    assert!(expected.contains_key("css/sass/site.scss"));

    // Besides the collected files, sluice's dev profile writes what django-pipeline makes in
    // development: the compiled SCSS beside its source and every bundle with its map.
    let mut actual = tree_files(&ours.join("static"));
    let mut derived: Vec<String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .cloned()
        .collect();
    derived.sort();
    // And sluice.json, the bundle list for sluice's Django tags.
    let mut want: Vec<String> = vec!["css/sass/site.css".into(), "sluice.json".into()];
    for bundle in [
        "css/common-bundle.css",
        "css/home-bundle.css",
        "css/about-bundle.css",
        "css/site-sass-bundle.css",
        "js/common-bundle.js",
        "js/home-bundle.js",
        "js/about-bundle.js",
    ] {
        want.push(bundle.into());
        want.push(format!("{bundle}.map"));
    }
    want.sort();
    assert_eq!(derived, want);
    let record: serde_json::Value = serde_json::from_slice(&actual["sluice.json"]).unwrap();
    assert_eq!(record["profile"], "dev");
    assert_eq!(
        record["bundles"]["css"]["site-sass"],
        "css/site-sass-bundle.css"
    );
    assert_eq!(record["bundles"]["js"]["about"], "js/about-bundle.js");
    assert_eq!(
        record["files"],
        serde_json::json!({}),
        "no digests in development"
    );
    let site_css = String::from_utf8(actual["css/sass/site.css"].clone()).unwrap();
    assert!(site_css.contains(".site-header"), "{site_css}");
    actual.retain(|k, _| expected.contains_key(k));
    assert_same_tree("collectstatic", &expected, "sluice sync", &actual);
}

/// The settings are read with one Python start, then from `.sluice/` until a file they read or
/// an environment variable they consulted changes.
#[test]
fn django_settings_are_cached_until_they_change() {
    let (_, line) = python_for_django();
    let mut requirements = example_requirements();
    requirements.push(line.requirement().to_owned());
    let requirements: Vec<&str> = requirements.iter().map(String::as_str).collect();
    let python = venv(&requirements);
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_example_site(&site);
    let config = |extra: &[(&str, &str)]| -> serde_json::Value {
        let out = sluice()
            .args(["config", "--format", "json"])
            .current_dir(&site)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .envs(venv_env(&python))
            .envs(extra.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = config(&[]);
    assert_eq!(first["django"]["cached"], false);
    assert_eq!(first["django"]["settings"]["value"], "examplesite.settings");
    assert!(
        first["output"]["value"]
            .as_str()
            .unwrap()
            .ends_with("/static")
    );
    assert_eq!(
        config(&[])["django"]["cached"],
        true,
        "the second run must not start Python"
    );
    // The settings read EXAMPLE_DEBUG: changing it asks Python again.
    assert_eq!(config(&[("EXAMPLE_DEBUG", "0")])["django"]["cached"], false);
    // Editing the settings file does too.
    let settings = site.join("examplesite/settings.py");
    let text = fs::read_to_string(&settings).unwrap();
    fs::write(&settings, text + "\n# edited\n").unwrap();
    assert_eq!(config(&[("EXAMPLE_DEBUG", "0")])["django"]["cached"], false);
}
