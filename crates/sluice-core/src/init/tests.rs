use std::path::PathBuf;

use super::*;
use crate::django::{DjangoSettings, Freshness};

fn project(module: &str, origin: Origin, pipeline: Option<serde_json::Value>) -> DjangoProject {
    DjangoProject {
        module: Value {
            value: module.into(),
            origin,
        },
        settings: DjangoSettings {
            django_version: "6.1".into(),
            settings_file: None,
            static_root: Some(PathBuf::from("/p/static")),
            static_url: Some("/static/".into()),
            staticfiles_dirs: vec![(None, PathBuf::from("/p/media"))],
            app_static_dirs: vec![
                ("pages".into(), PathBuf::from("/p/pages/static")),
                (
                    "admin".into(),
                    PathBuf::from("/venv/django/contrib/admin/static"),
                ),
            ],
            finders: vec![],
            storage: None,
            ignore_patterns: vec![],
            pipeline,
            installed_apps: vec!["django.contrib.staticfiles".into()],
            debug: Some(true),
            finder_kinds: vec![],
            storage_features: None,
            app_paths: vec![],
            template_dirs: vec![],
            allowed_hosts: None,
        },
        freshness: Freshness::Asked,
    }
}

fn python(origin: Origin, path: &str) -> Value<String> {
    Value {
        value: path.into(),
        origin,
    }
}

fn input<'a>(
    django: Option<&'a DjangoProject>,
    python: &'a Value<String>,
    manage: Option<&'a str>,
    target: Target,
) -> InitInput<'a> {
    InitInput {
        project_dir: Path::new("/p"),
        python,
        manage_py_module: manage,
        django,
        static_bundles: &[],
        target,
    }
}

#[test]
fn what_django_says_is_a_comment_not_a_key() {
    let django = project(
        "site.settings",
        Origin::File("/p/manage.py".into(), None),
        None,
    );
    let py = python(Origin::File("/p/.venv".into(), None), "/p/.venv/bin/python");
    let plan = plan(&input(
        Some(&django),
        &py,
        Some("site.settings"),
        Target::Pyproject,
    ));
    assert!(plan.keys.is_empty(), "{plan:?}");
    assert!(plan.text.contains(
        "# Written by `sluice init` from the Django settings site.settings (Django 6.1)."
    ));
    assert!(
        plan.text.contains(
            "#   sources     media, pages/static, the static/ of admin  (STATICFILES_DIRS"
        )
    );
    assert!(plan.text.contains("#   output      static  (STATIC_ROOT)"));
    assert!(
        plan.text.starts_with("[tool.sluice]\n# Written by"),
        "{}",
        plan.text
    );
    // The text is a valid [tool.sluice] with no keys.
    let table: toml::Table = toml::from_str(&plan.text).unwrap();
    assert_eq!(
        sluice_table(&table),
        Some(&toml::Value::Table(toml::Table::new()))
    );
    assert_eq!(
        plan.advice,
        [
            "INSTALLED_APPS += [\"sluice.django\"]  # checks, {% sluice_css %} / {% sluice_js %}, manage.py sluice"
        ]
    );
}

#[test]
fn what_sluice_would_not_find_is_a_key() {
    let mut django = project("site.settings_ci", Origin::Flag("--django-settings"), None);
    django.settings.static_root = None;
    let py = python(Origin::Flag("--python"), "/p/env/bin/python");
    let plan = plan(&input(
        Some(&django),
        &py,
        Some("site.settings"),
        Target::SluiceToml,
    ));
    assert_eq!(plan.keys, ["output", "django_settings", "python"]);
    let table: toml::Table = toml::from_str(&plan.text).unwrap();
    assert_eq!(table["output"].as_str(), Some("static"));
    assert_eq!(table["django_settings"].as_str(), Some("site.settings_ci"));
    assert_eq!(table["python"].as_str(), Some("env/bin/python"));
    assert!(plan.text.contains("# manage.py names site.settings\n"));

    // The environment's module where manage.py names another: only a comment (the variable
    // keeps working, a key would override it).
    let django = project("site.prod", Origin::Env("DJANGO_SETTINGS_MODULE"), None);
    let venv = python(
        Origin::Env("VIRTUAL_ENV"),
        "/home/u/.virtualenvs/p/bin/python",
    );
    let plan2 = super::plan(&input(
        Some(&django),
        &venv,
        Some("site.settings"),
        Target::SluiceToml,
    ));
    assert!(plan2.keys.is_empty(), "{plan2:?}");
    assert!(
        plan2
            .text
            .contains("$DJANGO_SETTINGS_MODULE in this shell; manage.py names site.settings")
    );
    // ... and with no manage.py, a key; a virtualenv inside the project that is not .venv too.
    let venv = python(Origin::Env("VIRTUAL_ENV"), "/p/venv/bin/python");
    let plan3 = super::plan(&input(Some(&django), &venv, None, Target::SluiceToml));
    assert_eq!(plan3.keys, ["django_settings", "python"]);
}

#[test]
fn pipeline_development_settings_to_set() {
    let conf = serde_json::json!({
        "COMPILERS": ["pipeline.compilers.sass.SASSCompiler", "pipeline.compilers.less.LessCompiler"],
        "LESS_BINARY": "/usr/bin/true",
        "STYLESHEETS": {"a": {}, "b": {}},
        "JAVASCRIPT": {"c": {}},
    });
    let django = project("s", Origin::Flag("--django-settings"), Some(conf));
    let py = python(Origin::Default, "python3");
    let plan = plan(&input(Some(&django), &py, Some("s"), Target::SluiceToml));
    let keys: Vec<&str> = plan
        .advice
        .iter()
        .map(|l| l.split("  #").next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "PIPELINE[\"PIPELINE_COLLECTOR_ENABLED\"] = False",
            "PIPELINE[\"SASS_BINARY\"] = \"true\"",
            "INSTALLED_APPS += [\"sluice.django\"]",
        ]
    );
    assert!(plan.text.contains("#   bundles     2 css, 1 js"));
    assert!(
        plan.text
            .contains("#   compilers   SASSCompiler, LessCompiler")
    );
    assert!(is_no_op(&serde_json::json!("true")));
    assert!(is_no_op(&serde_json::json!(["/usr/bin/env", "true"])));
    assert!(!is_no_op(&serde_json::json!("/usr/bin/env sass")));
}

#[test]
fn merge_into_pyproject_keeps_everything_else() {
    let plan = "[tool.sluice]\n# comment\noutput = \"static\"\n";
    let old = "[project]\nname = \"site\"\n\n[tool.ruff]\nline-length = 100\n";
    let new = merge(Some(old), Target::Pyproject, plan, false).unwrap();
    assert_eq!(new, format!("{old}\n{plan}"));
    // Existing configuration: refused, then replaced where it was.
    assert_eq!(
        merge(Some(&new), Target::Pyproject, plan, false),
        Err(MergeError::Exists)
    );
    let with = "[project]\nname = \"x\"\n\n[tool.sluice]\nsources = [\"a\"]\n\n[tool.sluice.dev]\nport = 1\n\n[tool.ruff]\nx = 1\n";
    let replaced = merge(Some(with), Target::Pyproject, plan, true).unwrap();
    assert_eq!(
        replaced,
        format!("[project]\nname = \"x\"\n\n{plan}\n[tool.ruff]\nx = 1\n")
    );
    // Replacing the last table adds nothing after it.
    assert_eq!(
        merge(Some(&new), Target::Pyproject, plan, true).unwrap(),
        new
    );
    // Dotted keys elsewhere cannot be replaced safely.
    let dotted = "[tool]\nsluice.output = \"x\"\n";
    assert!(matches!(
        merge(Some(dotted), Target::Pyproject, plan, true),
        Err(MergeError::Unsafe(_))
    ));
    assert_eq!(
        merge(Some(""), Target::SluiceToml, plan, false),
        Err(MergeError::Exists)
    );
    assert_eq!(merge(None, Target::SluiceToml, plan, false).unwrap(), plan);
}

#[test]
fn unified_diffs() {
    assert_eq!(unified_diff("a", "b", "x\n", "x\n"), "");
    assert_eq!(
        unified_diff("/dev/null", "sluice.toml", "", "a\nb\n"),
        "--- /dev/null\n+++ sluice.toml\n@@ -0,0 +1,2 @@\n+a\n+b\n"
    );
    let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
    assert_eq!(
        unified_diff("a", "b", old, new),
        "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
    );
}

#[test]
fn keys_a_forced_init_drops() {
    let old = "[project]\nname = \"x\"\n[tool.sluice]\noutput = \"o\"\n[tool.sluice.dev]\nport = 1\n[tool.sluice.bundles.css.site]\nfiles = []\noutput = \"s.css\"\n";
    let new = "[project]\nname = \"x\"\n[tool.sluice]\noutput = \"static\"\n";
    assert_eq!(
        dropped_keys(old, new, Target::Pyproject),
        [
            "bundles.css.site.files",
            "bundles.css.site.output",
            "dev.port"
        ]
    );
    assert!(dropped_keys("output = \"o\"\n", "# nothing\n", Target::SluiceToml) == ["output"]);
}
