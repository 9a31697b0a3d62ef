//! The `sluice` Python package, as a user gets it: the wheel built by maturin from this
//! checkout, installed with pip into a fresh virtualenv with real Django (6.x, or 5.2 where no
//! Python 3.12 exists), django-pipeline, whitenoise and Jinja2.

mod support;

use std::process::Command;

use support::wheel::wheel_venv;
use support::{python_for_django, run_or_panic, venv_dir};

/// The packages the example site needs, Jinja2, and the wheel.
fn site_venv() -> std::path::PathBuf {
    let (_, line) = python_for_django();
    let mut requirements = support::example_requirements();
    requirements.push(line.requirement().to_owned());
    requirements.push("Jinja2>=3.1,<4".to_owned());
    let requirements: Vec<&str> = requirements.iter().map(String::as_str).collect();
    wheel_venv(&requirements)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_wheel_puts_sluice_on_path_and_python_m_finds_it() {
    let python = site_venv();
    let bin = venv_dir(&python).join("bin");
    let version = format!("sluice {}", env!("CARGO_PKG_VERSION"));
    let out = run_or_panic(
        Command::new(bin.join("sluice")).arg("--version"),
        "sluice --version",
    );
    assert_eq!(stdout(&out), version);
    let out = run_or_panic(
        Command::new(&python).args(["-m", "sluice", "--version"]),
        "python -m sluice --version",
    );
    assert_eq!(stdout(&out), version);
    // One version for crate and wheel.
    let out = run_or_panic(
        Command::new(&python).args([
            "-c",
            "import importlib.metadata as m, sluice; print(m.version('sluice')); print(sluice.find_sluice_bin())",
        ]),
        "the package's version",
    );
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        std::path::Path::new(lines.next().unwrap()),
        bin.join("sluice")
    );
}

/// `pip install --target DIR`, `--prefix DIR` and `--user` (with `PYTHONUSERBASE=DIR`):
/// `python -m sluice` still finds the binary (in `DIR/bin`, also above
/// `DIR/lib/pythonX.Y/site-packages`, and in the user scheme's scripts folder).
#[test]
fn python_m_sluice_finds_target_prefix_and_user_installs() {
    let python = site_venv();
    let wheel = support::wheel::wheel();
    let tmp = tempfile::tempdir().unwrap();
    let (interpreter, _) = python_for_django();
    for (flag, layout) in [
        ("--target", "target"),
        ("--prefix", "prefix"),
        ("--user", "user"),
    ] {
        let dir = tmp.path().join(layout);
        // A user install needs a Python outside any virtualenv.
        let pip_python = if layout == "user" {
            &interpreter
        } else {
            &python
        };
        run_or_panic(
            Command::new(pip_python)
                .env("PYTHONUSERBASE", &dir)
                // A user install into a temporary folder breaks no system package (PEP 668).
                .env("PIP_BREAK_SYSTEM_PACKAGES", "1")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--ignore-installed",
                ])
                .arg("--disable-pip-version-check")
                .arg(flag)
                .args((layout != "user").then_some(&dir))
                .arg(&wheel),
            "pip install",
        );
        // Where pip put the package and the binary (the layout under DIR varies: Debian's
        // Python uses local/lib/pythonX.Y/dist-packages and local/bin).
        let files = support::tree_paths(&dir);
        let package = files
            .iter()
            .find(|p| p.ends_with("sluice/_find_sluice.py"))
            .expect("the package is installed");
        let site_packages = dir.join(package);
        let site_packages = site_packages.parent().and_then(|p| p.parent()).unwrap();
        let binary = files
            .iter()
            .find(|p| p.ends_with("bin/sluice"))
            .map(|p| dir.join(p))
            .expect("the binary is installed");
        // A Python without the package, pointed at the install: no venv's scripts folder has
        // a sluice to find.
        let out = run_or_panic(
            Command::new(&interpreter)
                .args(["-c", "import sluice; print(sluice.find_sluice_bin())"])
                .env("PYTHONPATH", site_packages)
                .env("PYTHONUSERBASE", &dir)
                .env_remove("VIRTUAL_ENV"),
            "find_sluice_bin",
        );
        assert_eq!(std::path::Path::new(&stdout(&out)), binary, "{flag}");
        let out = run_or_panic(
            Command::new(&interpreter)
                .args(["-m", "sluice", "--version"])
                .env("PYTHONPATH", site_packages)
                .env("PYTHONUSERBASE", &dir),
            "python -m sluice",
        );
        assert_eq!(
            stdout(&out),
            format!("sluice {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// Renders the tags with real Django templates and Jinja2 in the example site, and fetches
/// each URL through the site (whitenoise): prints JSON with the HTML and, per URL, the status
/// and the sha384 of the bytes served, computed here with hashlib.
const RENDER_PY: &str = r#"
import base64, hashlib, json, re
import django
django.setup()
import jinja2
from django.template import Context, Template
from django.test import Client

env = jinja2.Environment(autoescape=True, extensions=["sluice.django.jinja2.bundles"])
out = {"django": {}, "jinja2": {}, "served": {}}
for kind, name in [("css", "common"), ("css", "about"), ("js", "about")]:
    tag = "sluice_css" if kind == "css" else "sluice_js"
    out["django"][kind + ":" + name] = Template(
        '{% load sluice %}{% ' + tag + ' "' + name + '" %}'
    ).render(Context())
    function = "css_bundle" if kind == "css" else "js_bundle"
    out["jinja2"][kind + ":" + name] = env.from_string(
        "{{ " + function + '("' + name + '") }}'
    ).render()
client = Client()
for html in out["django"].values():
    url = re.search(r'(?:href|src)="([^"]+)"', html).group(1)
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    out["served"][url] = {"status": response.status_code, "sri": "sha384-" + digest}
try:
    Template('{% load sluice %}{% sluice_js "nope" %}').render(Context())
except Exception as error:
    out["unknown"] = type(error).__name__ + ": " + str(error)
print(json.dumps(out))
"#;

/// The example site's environment variables that must not leak in from the caller.
const EXAMPLE_ENV: &[&str] = &[
    "DJANGO_SETTINGS_MODULE",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "EXAMPLE_DEBUG",
    "EXAMPLE_PIPELINE_ENABLED",
    "EXAMPLE_PLAIN_STORAGE",
    "EXAMPLE_SASS_BINARY",
];

/// `python ARGS` in `site`, as a user runs it: the venv's Python by path, not activated.
fn python_in(python: &std::path::Path, site: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(args)
        .current_dir(site)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for name in EXAMPLE_ENV {
        cmd.env_remove(name);
    }
    cmd
}

fn render(python: &std::path::Path, site: &std::path::Path, debug: bool) -> serde_json::Value {
    let out = run_or_panic(
        python_in(python, site, &["-c", RENDER_PY])
            .env("DJANGO_SETTINGS_MODULE", "examplesite.settings")
            .env("EXAMPLE_DEBUG", if debug { "1" } else { "0" }),
        "rendering the tags",
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn manage_py_sluice_and_the_tags_in_development_and_production() {
    let python = site_venv();
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    support::copy_example_site(&site);

    // Development: `manage.py sluice sync` (sluice's own flags pass through), then the tags
    // name the files sluice keeps fresh, without integrity.
    run_or_panic(
        &mut python_in(&python, &site, &["manage.py", "sluice", "sync", "-q"]),
        "manage.py sluice sync",
    );
    let dev = render(&python, &site, true);
    for engine in ["django", "jinja2"] {
        assert_eq!(
            dev[engine]["css:common"],
            r#"<link href="/static/css/common-bundle.css" rel="stylesheet">"#,
            "{engine}"
        );
        assert_eq!(
            dev[engine]["css:about"],
            r#"<link href="/static/css/about-bundle.css" rel="stylesheet">"#
        );
        assert_eq!(
            dev[engine]["js:about"],
            r#"<script src="/static/js/about-bundle.js"></script>"#
        );
    }
    let served = &dev["served"]["/static/js/about-bundle.js"];
    assert_eq!(served["status"], 200, "{dev}");
    assert!(
        dev["unknown"].as_str().unwrap().contains(
            r#"no js bundle "nope" in sluice.json (its js bundles: about, common, home)"#
        ),
        "{dev}"
    );

    // Production: `manage.py sluice build` into a fresh STATIC_ROOT, as a deploy does (today's
    // build does not take over the dev profile's outputs), then the hashed names from
    // staticfiles.json with the sha384 of the bytes the site serves.
    std::fs::remove_dir_all(site.join("static")).unwrap();
    run_or_panic(
        &mut python_in(&python, &site, &["manage.py", "sluice", "build", "-q"]),
        "manage.py sluice build",
    );
    // manage.py's own --settings reaches sluice as DJANGO_SETTINGS_MODULE, not as a flag.
    let out = run_or_panic(
        &mut python_in(
            &python,
            &site,
            &[
                "manage.py",
                "sluice",
                "config",
                "--settings",
                "examplesite.settings",
                "--format",
                "json",
            ],
        ),
        "manage.py sluice config --settings",
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        config["django"]["settings"]["origin"],
        "$DJANGO_SETTINGS_MODULE"
    );
    let static_root = site.join("static");
    let manifest =
        support::manifest_paths(&std::fs::read(static_root.join("staticfiles.json")).unwrap());
    let prod = render(&python, &site, false);
    for (key, logical, tag) in [
        ("css:common", "css/common-bundle.css", "link"),
        ("css:about", "css/about-bundle.css", "link"),
        ("js:about", "js/about-bundle.js", "script"),
    ] {
        let hashed = &manifest[logical];
        assert_ne!(hashed, logical);
        let url = format!("/static/{hashed}");
        let served = &prod["served"][&url];
        assert_eq!(served["status"], 200, "{url}: {prod}");
        // The digest of the served bytes (hashlib, in the render) is that of the file (sha2,
        // here), and it is the one in the attribute.
        let sri = support::sha384_sri(&std::fs::read(static_root.join(hashed)).unwrap());
        assert_eq!(served["sri"], sri.as_str(), "{url}");
        let attrs = format!(r#" integrity="{sri}" crossorigin="anonymous""#);
        let want = if tag == "link" {
            format!(r#"<link href="{url}" rel="stylesheet"{attrs}>"#)
        } else {
            format!(r#"<script src="{url}"{attrs}></script>"#)
        };
        assert_eq!(prod["django"][key], want.as_str(), "{key}");
        assert_eq!(prod["jinja2"][key], want.as_str(), "{key}");
    }
}

/// `manage.py check` on settings made to trip one check each: that check and no other fires;
/// on the example site's own settings none does.
#[test]
fn each_check_fires_on_its_settings_and_none_on_the_example() {
    let python = site_venv();
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    support::copy_example_site(&site);
    let check = |settings: Option<&str>| -> String {
        let mut cmd = python_in(&python, &site, &["manage.py", "check"]);
        if let Some(module) = settings {
            cmd.arg(format!("--settings=examplesite.{module}"));
        }
        let out = run_or_panic(&mut cmd, "manage.py check");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let example = check(None);
    assert!(!example.contains("sluice."), "{example}");
    assert!(
        example.contains("System check identified no issues"),
        "{example}"
    );
    let trips = [
        (
            "sluice.W001",
            "trip_collector",
            r#"PIPELINE = {**PIPELINE, "PIPELINE_COLLECTOR_ENABLED": True}"#,
        ),
        (
            "sluice.W002",
            "trip_compiler",
            r#"PIPELINE = {**PIPELINE, "SASS_BINARY": "/usr/bin/env sass"}"#,
        ),
        // (A manifest storage cannot even start without STATIC_ROOT.)
        (
            "sluice.W003",
            "trip_static_root",
            "STATIC_ROOT = None\nSTORAGES = {**STORAGES, \"staticfiles\": {\"BACKEND\": \"django.contrib.staticfiles.storage.StaticFilesStorage\"}}",
        ),
        (
            "sluice.W004",
            "trip_dirs",
            r#"STATICFILES_DIRS = [*STATICFILES_DIRS, BASE_DIR / "no-such-folder"]"#,
        ),
    ];
    for (id, module, line) in trips {
        support::write_file(
            &site.join(format!("examplesite/{module}.py")),
            format!("from examplesite.settings import *  # noqa\n\n{line}\n"),
        );
        let report = check(Some(module));
        assert!(report.contains(&format!("({id})")), "{module}: {report}");
        for (other, ..) in trips.iter().filter(|(other, ..)| *other != id) {
            assert!(
                !report.contains(other),
                "{module} also tripped {other}: {report}"
            );
        }
        assert!(report.contains("HINT:"), "{report}");
    }
    // sluice's compiler check follows django-pipeline's own switch: with PIPELINE_ENABLED the
    // tags link built bundles and no compiler runs on a render.
    support::write_file(
        &site.join("examplesite/trip_none.py"),
        "from examplesite.settings import *  # noqa\n\nPIPELINE = {**PIPELINE, \"SASS_BINARY\": \"sass\", \"PIPELINE_ENABLED\": True}\n",
    );
    let report = check(Some("trip_none"));
    assert!(!report.contains("sluice."), "{report}");
}

/// The installed `sluice`, run in `dir` with the venv active (as a user has it).
fn installed_sluice(
    python: &std::path::Path,
    dir: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let bin = venv_dir(python).join("bin").join("sluice");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .envs(support::venv_env(python));
    for name in EXAMPLE_ENV.iter().filter(|n| **n != "VIRTUAL_ENV") {
        cmd.env_remove(name);
    }
    cmd.output().unwrap()
}

/// `sluice sync` and `sluice build` (each from scratch) in `dir`: the output trees.
fn outputs(
    python: &std::path::Path,
    dir: &std::path::Path,
    output: &str,
    flags: &[&str],
) -> [std::collections::BTreeMap<String, Vec<u8>>; 2] {
    ["sync", "build"].map(|command| {
        for gone in [output, ".sluice"] {
            let _ = std::fs::remove_dir_all(dir.join(gone));
        }
        let out = installed_sluice(python, dir, &[&[command, "-q"], flags].concat());
        assert!(
            out.status.success(),
            "sluice {command} {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        support::tree_files(&dir.join(output))
    })
}

fn assert_same_outputs(
    before: &[std::collections::BTreeMap<String, Vec<u8>>; 2],
    after: &[std::collections::BTreeMap<String, Vec<u8>>; 2],
) {
    for (i, command) in ["sync", "build"].iter().enumerate() {
        assert!(before[i].len() > 5, "{command}: {} files", before[i].len());
        support::assert_same_tree(
            &format!("{command} before init"),
            &before[i],
            &format!("{command} after init"),
            &after[i],
        );
    }
}

#[test]
fn init_on_the_example_site_keeps_sync_and_build_output() {
    let python = site_venv();
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    support::copy_example_site(&site);
    let before = outputs(&python, &site, "static", &[]);

    // --dry-run prints the file as a diff and writes nothing.
    let out = installed_sluice(&python, &site, &["init", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        diff.starts_with("--- /dev/null\n+++ b/sluice.toml\n"),
        "{diff}"
    );
    assert!(diff.contains("+#   bundles     4 css, 3 js"), "{diff}");
    assert!(!site.join("sluice.toml").exists());

    let out = installed_sluice(&python, &site, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(site.join("sluice.toml")).unwrap();
    // Everything comes from Django: comments only, no keys.
    assert!(written.lines().all(|l| l.starts_with('#')), "{written}");
    assert!(written.contains("examplesite.settings"), "{written}");
    // The example's development settings are what sluice wants (sluice.django installed).
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(!told.contains("PIPELINE["), "{told}");
    assert_same_outputs(&before, &outputs(&python, &site, "static", &[]));

    // Never over existing configuration without --force.
    let out = installed_sluice(&python, &site, &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has sluice configuration already"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = installed_sluice(&python, &site, &["init", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(site.join("sluice.toml")).unwrap(),
        written
    );
}

const PIPELINE_SETTINGS: &str = r#"from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = True
INSTALLED_APPS = ["django.contrib.staticfiles", "pipeline"]
DATABASES = {}
STATIC_URL = "/assets/"
STATICFILES_DIRS = [BASE_DIR / "src"]
STATIC_ROOT = BASE_DIR / "public"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "pipeline.storage.PipelineManifestStorage"},
}
PIPELINE = {
    "CSS_COMPRESSOR": None,
    "JS_COMPRESSOR": None,
    "STYLESHEETS": {
        "site": {"source_filenames": ("css/*.css",), "output_filename": "css/site.min.css"},
    },
    "JAVASCRIPT": {
        "app": {"source_filenames": ("js/*.js",), "output_filename": "js/app.min.js"},
    },
}
"#;

/// A django-pipeline project whose settings module no `manage.py` names (it runs with
/// `DJANGO_SETTINGS_MODULE`), with a `pyproject.toml` of its own: `sluice init
/// --django-settings` records the module in `[tool.sluice]`, and plain `sluice sync`/`build`
/// then do exactly what they did with the flag.
#[test]
fn init_on_a_pipeline_project_records_what_sluice_cannot_find() {
    let python = site_venv();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    let put = |rel: &str, text: &str| support::put(&dir, rel, text);
    put("proj/__init__.py", "");
    put("proj/settings.py", PIPELINE_SETTINGS);
    put("src/css/a.css", "body { background: url(../img/x.png); }\n");
    put("src/css/b.css", ".b { color: red; }\n");
    put("src/img/x.png", "not really a png");
    put("src/js/a.js", "var a = 1;\n");
    put("src/js/b.js", "function b() { return a; }\n");
    let pyproject =
        "[project]\nname = \"proj\"\nversion = \"1.0\"\n\n[tool.ruff]\nline-length = 100\n";
    put("pyproject.toml", pyproject);

    let flag = ["--django-settings", "proj.settings"];
    let before = outputs(&python, &dir, "public", &flag);
    assert!(before[1].contains_key("css/site.min.css") && before[1].contains_key("js/app.min.js"));

    let out = installed_sluice(&python, &dir, &[&["init"][..], &flag].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    assert!(
        text.starts_with(pyproject),
        "the rest of pyproject.toml is kept:\n{text}"
    );
    let table: toml::Table = toml::from_str(&text).unwrap();
    let sluice = table["tool"]["sluice"].as_table().unwrap();
    assert_eq!(sluice.len(), 1, "{text}");
    assert_eq!(sluice["django_settings"].as_str(), Some("proj.settings"));
    // The development settings pipeline needs beside sluice.
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(
        told.contains(r#"PIPELINE["PIPELINE_COLLECTOR_ENABLED"] = False"#),
        "{told}"
    );
    assert!(
        told.contains(r#"INSTALLED_APPS += ["sluice.django"]"#),
        "{told}"
    );

    assert_same_outputs(&before, &outputs(&python, &dir, "public", &[]));

    // --force replaces [tool.sluice] (comments included) in place: the same file again.
    let out = installed_sluice(&python, &dir, &[&["init", "--force"][..], &flag].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("pyproject.toml")).unwrap(),
        text
    );
}
