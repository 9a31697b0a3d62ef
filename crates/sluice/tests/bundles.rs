//! Bundles in `sluice build`: a differential test against real django-pipeline (PyPI) with
//! `PipelineManifestStorage` and no compressor, django-pipeline's template tags rendering
//! against sluice's output in both modes, `static-bundles.json` and `[bundles.*]` tables,
//! and errors that name the bundle and pattern and leave the output untouched.

mod support;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{
    DJANGO_PIPELINE, PROJ_MANAGE_PY, Project, assert_same_static_root, manifest_paths, noise, put,
    python_for_django, run_or_panic, sluice, tree_files, venv, venv_env,
};

const SETTINGS_PY: &str = r#"import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "pipeline"]
ROOT_URLCONF = "proj.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {}
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATIC_ROOT = Path(os.environ.get("TEST_STATIC_ROOT", BASE_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "pipeline.storage.PipelineManifestStorage"},
}
PIPELINE = {
    "PIPELINE_ENABLED": os.environ.get("TEST_PIPELINE_ENABLED", "1") == "1",
    "PIPELINE_COLLECTOR_ENABLED": False,
    "CSS_COMPRESSOR": None,
    "JS_COMPRESSOR": None,
    "DISABLE_WRAPPER": os.environ.get("TEST_DISABLE_WRAPPER") == "1",
    "STYLESHEETS": {
        "screen": {
            "source_filenames": ["css/*.css", "css/sub/nested.css", "css/a.css"],
            "output_filename": "css/out/deep/screen.css",
        },
        "top": {
            "source_filenames": ["css/sub/*.css"],
            "output_filename": "top.css",
            "extra_context": {"media": "print"},
        },
        "embedded": {
            "source_filenames": ["css/embed/*.css"],
            "output_filename": "css/embedded.css",
            "variant": "datauri",
        },
    },
    "JAVASCRIPT": {
        "app": {
            "source_filenames": ["js/lib/*.js", "js/app.js", "js/templates/**/*.jst"],
            "output_filename": "js/out/app.js",
        },
        "single": {
            "source_filenames": ["js/app.js"],
            "output_filename": "single.js",
        },
    },
}
"#;

/// A Django project with django-pipeline bundles: globbed members, `url()`s at several
/// depths (quoted, unquoted, with queries and fragments, absolute, data:), source map
/// comments, outputs in other folders, `.jst` templates and a `datauri` bundle.
fn make_project(root: &Path) {
    put(root, "manage.py", PROJ_MANAGE_PY);
    put(root, "proj/__init__.py", "");
    put(root, "proj/settings.py", SETTINGS_PY);
    put(root, "proj/urls.py", "urlpatterns = []\n");
    put(root, "assets/img/a.png", noise(300, 1));
    put(root, "assets/img/b.jpg", noise(500, 2));
    put(root, "assets/img/embed/dot.png", noise(90, 3));
    put(root, "assets/img/embed/big.png", noise(30_000, 4));
    put(root, "assets/fonts/f.woff2", noise(700, 5));
    put(root, "assets/css/img/local.png", noise(120, 6));
    put(
        root,
        "assets/css/a.css",
        ".a { background: url(../img/a.png); }\n.b { background: url('../img/b.jpg'); }\n\
         .l { background: url( img/local.png ); }\n.abs { background: url(/static/img/a.png); }\n\
         .d { background: url(data:image/png;base64,AAAA); }\n.h { behavior: url(#default#VML); }\n\
         .arrow:after { content: \"→ ü\"; }\n/*# sourceMappingURL=a.css.map */\n",
    );
    put(
        root,
        "assets/css/a.css.map",
        b"{\"version\":3,\"sources\":[\"a.scss\"]}",
    );
    put(root, "assets/css/b.css", b".b2 { color: red }");
    put(
        root,
        "assets/css/sub/nested.css",
        "@font-face { font-family: f; src: url(\"../../fonts/f.woff2?v=1#x\") format(\"woff2\"); }\n\
         .n { background: url(../../img/a.png) }\n",
    );
    put(
        root,
        "assets/css/sub/other.css",
        ".o { background: url(../img/local.png); }\n",
    );
    put(
        root,
        "assets/css/embed/e.css",
        ".e { background: url(../../img/embed/dot.png); }\n.big { background: url(../../img/embed/big.png); }\n.f { background: url(../../img/a.png); }\n",
    );
    put(
        root,
        "assets/js/lib/jquery.js",
        b"var $ = function () { return 1 }\n",
    );
    put(
        root,
        "assets/js/lib/util.js",
        b"(function () { window.util = 2 })()",
    );
    put(
        root,
        "assets/js/app.js",
        "var app = '→'\n//# sourceMappingURL=app.js.map\n".as_bytes(),
    );
    put(
        root,
        "assets/js/app.js.map",
        b"{\"version\":3,\"sources\":[\"app.ts\"]}",
    );
    put(root,
        "assets/js/templates/photo/list.jst",
        b"<ul class='photos'>\n<% _.each(photos, function(p) { %><li><%= p %></li><% }); %>\n</ul>\n",
    );
    put(
        root,
        "assets/js/templates/photo/detail.jst",
        b"<img src='<%= src %>'>",
    );
    put(
        root,
        "assets/js/templates/video/detail.jst",
        b"<video>\r\n</video>",
    );
}

fn python_cmd(python: &Path, project: &Path, env: &[(&str, &OsStr)]) -> Command {
    let mut cmd = Command::new(python);
    cmd.current_dir(project)
        .envs(venv_env(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .envs(env.iter().copied());
    cmd
}

fn sluice_build(python: &Path, project: &Path, output: &Path, env: &[(&str, &OsStr)]) {
    let mut cmd = sluice();
    cmd.args(["build", "--no-minify", "--no-compress", "--output"])
        .arg(output)
        .current_dir(project)
        .envs(venv_env(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .envs(env.iter().copied());
    cmd.assert().success();
}

/// Renders `{% stylesheet 'screen' %}{% javascript 'app' %}` with django-pipeline's tags
/// against the output in `static_root`.
fn render_tags(python: &Path, project: &Path, static_root: &Path, enabled: bool) -> String {
    let script = "import django\ndjango.setup()\nfrom django.template import engines\n\
        t = engines['django'].from_string(\"{% load pipeline %}{% stylesheet 'screen' %}\\n{% stylesheet 'top' %}\\n{% javascript 'app' %}\")\n\
        print(t.render({}))\n";
    let out = run_or_panic(
        python_cmd(
            python,
            project,
            &[
                ("DJANGO_SETTINGS_MODULE", OsStr::new("proj.settings")),
                ("TEST_STATIC_ROOT", static_root.as_os_str()),
                (
                    "TEST_PIPELINE_ENABLED",
                    OsStr::new(if enabled { "1" } else { "0" }),
                ),
            ],
        )
        .args(["-c", script]),
        "rendering pipeline's template tags",
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn build_no_minify_matches_django_pipeline() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), DJANGO_PIPELINE]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);

    for wrapper in ["0", "1"] {
        let env_dir = tmp.path().join(format!("wrapper-{wrapper}"));
        let django = env_dir.join("collectstatic");
        let env: Vec<(&str, &OsStr)> = vec![
            ("TEST_STATIC_ROOT", django.as_os_str()),
            ("TEST_DISABLE_WRAPPER", OsStr::new(wrapper)),
        ];
        support::collectstatic(&python, &project, &[], &env);
        let ours = env_dir.join("sluice");
        sluice_build(&python, &project, &ours, &env);
        let expected = tree_files(&django);
        let actual = tree_files(&ours);
        // The bundles are there, hashed, in the manifest.
        let manifest = manifest_paths(&actual["staticfiles.json"]);
        for bundle in [
            "css/out/deep/screen.css",
            "top.css",
            "css/embedded.css",
            "js/out/app.js",
            "single.js",
        ] {
            assert!(
                manifest.contains_key(bundle),
                "{bundle} not in the manifest"
            );
        }
        let embedded = String::from_utf8(actual["css/embedded.css"].clone()).unwrap();
        assert!(
            embedded.contains("url(\"data:image/png;charset=utf-8;base64,"),
            "{embedded}"
        );
        let app = String::from_utf8(actual["js/out/app.js"].clone()).unwrap();
        assert_eq!(app.starts_with("(function() {\n"), wrapper == "0", "{app}");
        assert!(app.contains("window.JST['photo_list']"), "{app}");
        assert_same_static_root(
            line,
            "collectstatic (django-pipeline)",
            expected,
            "sluice build --no-minify",
            actual,
        );
    }

    // django-pipeline's template tags against sluice's output, in both modes.
    let ours = tmp.path().join("wrapper-0").join("sluice");
    let manifest = manifest_paths(&fs::read(ours.join("staticfiles.json")).unwrap());
    let html = render_tags(&python, &project, &ours, true);
    let url = |name: &str| format!("/static/{}", manifest[name]);
    assert!(
        html.contains(&format!(
            "<link href=\"{}\" rel=\"stylesheet\" type=\"text/css\" media=\"all\" />",
            url("css/out/deep/screen.css")
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{}\"", url("top.css"))) && html.contains("media=\"print\""),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<script type=\"text/javascript\" src=\"{}\" charset=\"utf-8\"></script>",
            url("js/out/app.js")
        )),
        "{html}"
    );
    let html = render_tags(&python, &project, &ours, false);
    for member in [
        "css/a.css",
        "css/b.css",
        "css/sub/nested.css",
        "js/lib/jquery.js",
        "js/app.js",
    ] {
        assert!(
            html.contains(&format!("\"{}\"", url(member))),
            "{member}: {html}"
        );
    }
    assert!(!html.contains("screen."), "{html}");
    assert!(html.contains("window.JST['photo_list']"), "{html}");

    // Minified (the default): the tags name the minified bundle's hashed name.
    let minified = tmp.path().join("minified");
    let mut cmd = sluice();
    cmd.args(["build", "--no-compress", "--output"])
        .arg(&minified)
        .current_dir(&project)
        .envs(venv_env(&python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .env("TEST_STATIC_ROOT", &minified);
    cmd.assert().success();
    let manifest = manifest_paths(&fs::read(minified.join("staticfiles.json")).unwrap());
    let hashed = &manifest["js/out/app.js"];
    let app = fs::read_to_string(minified.join(hashed)).unwrap();
    // The map beside it, named by its hashed name (Django rewrites sourceMappingURL).
    let map = &manifest["js/out/app.js.map"];
    let map_base = map.rsplit('/').next().unwrap();
    assert!(
        app.ends_with(&format!("//# sourceMappingURL={map_base}")),
        "{app}"
    );
    assert!(
        app.len() < fs::read(ours.join("js/out/app.js")).unwrap().len(),
        "not minified: {app}"
    );
    let html = render_tags(&python, &project, &minified, true);
    assert!(
        html.contains(&format!("src=\"/static/{hashed}\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "href=\"/static/{}\"",
            manifest["css/out/deep/screen.css"]
        )),
        "{html}"
    );
}

#[test]
fn static_bundles_json_and_bundle_tables() {
    let p = Project::new(&[
        ("css/a.css", ".a { background: url(../img/x.png) }"),
        ("css/b.css", ".b {}"),
        ("img/x.png", "png"),
        ("js/a.js", "var a = 1"),
        ("js/b.js", "var b = 2"),
    ]);
    p.write(
        "media/static-bundles.json",
        r#"{"css": [{"name": "home", "files": ["css/*.css"]}], "js": [{"name": "app", "files": ["js/b.js", "js/a.js"]}]}"#,
    );
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\nstatic_bundles = \"media/static-bundles.json\"\n\n\
         [bundles.js.plain]\nfiles = [\"js/*.js\"]\noutput = \"js/plain.js\"\n",
    );
    p.run_ok(&["build", "--no-minify", "--no-compress"]);
    let read = |rel: &str| fs::read_to_string(p.path("static").join(rel)).unwrap();
    assert_eq!(
        read("css/BUNDLES/home.css"),
        ".a { background: url(../../img/x.png) }\n.b {}"
    );
    assert_eq!(
        read("js/BUNDLES/app.js"),
        "(function() {\nvar b = 2\n;var a = 1\n}).call(this);"
    );
    assert_eq!(
        read("js/plain.js"),
        "(function() {\nvar a = 1\n;var b = 2\n}).call(this);"
    );
    let manifest = manifest_paths(&fs::read(p.path("static/staticfiles.json")).unwrap());
    assert!(manifest["css/BUNDLES/home.css"].starts_with("css/BUNDLES/home."));
    // The hashed copy's url() points at the hashed image.
    let hashed = read(&manifest["css/BUNDLES/home.css"]);
    assert!(
        hashed.contains(&format!("url(\"../../{}\")", manifest["img/x.png"])),
        "{hashed}"
    );

    // `sluice config` shows each bundle with where it was defined.
    let out = p.run(&["config", "--format", "json"]);
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bundles = config["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 3);
    assert!(
        bundles[0]["origin"]
            .as_str()
            .unwrap()
            .ends_with("static-bundles.json:1")
    );
    assert!(
        bundles[2]["origin"]
            .as_str()
            .unwrap()
            .ends_with("sluice.toml:5")
    );
    assert_eq!(config["minify"]["value"], true);

    // A second build with nothing changed writes nothing.
    let (code, event, _) = p.event("build", &["--no-minify", "--no-compress"]);
    assert_eq!(code, 0);
    assert_eq!(event["written"], 0, "{event}");
    assert_eq!(event["bundles"].as_array().unwrap().len(), 3);
    assert_eq!(event["minified"], false);
    // …and reads no member (only the configuration): unchanged bundles are not assembled again.
    let opened = support::files_opened(
        &p.root,
        &["build", "--no-minify", "--no-compress"],
        &["/media/css", "/media/js", "/media/img"],
    );
    assert!(opened.is_empty(), "a no-op build opened {opened:#?}");

    // A member changes: the bundle (and only what depends on it) is rewritten.
    p.write("media/js/a.js", "var a = 3");
    let (code, event, _) = p.event("build", &["--no-minify", "--no-compress"]);
    assert_eq!(code, 0);
    assert_eq!(
        read("js/plain.js"),
        "(function() {\nvar a = 3\n;var b = 2\n}).call(this);"
    );
    // js/a.js and js/plain.js, js/BUNDLES/app.js: both copies each, the manifest, and
    // sluice.json (the scripts' digests changed).
    assert_eq!(event["written"], 8, "{event}");

    // A new file a glob matches joins its bundle.
    p.write("media/css/c.css", ".c {}");
    let out = p.run(&["build", "--no-minify", "--no-compress"]);
    assert!(out.status.success());
    assert!(read("css/BUNDLES/home.css").ends_with(".b {}\n.c {}"));
    // A member named without a glob disappears: an error, the output stays as it was.
    let before = tree_files(&p.path("static"));
    fs::remove_file(p.path("media/js/b.js")).unwrap();
    let out = p.run(&["build", "--no-minify", "--no-compress"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("js bundle \"app\": pattern \"js/b.js\" names a file that does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("static-bundles.json:1"), "{stderr}");
    assert_eq!(tree_files(&p.path("static")), before);
}

#[test]
fn bad_bundles_fail_without_touching_the_output() {
    let p = Project::new(&[("css/a.css", ".a {}")]);
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = [\"css/a.css\"]\noutput = \"css/site.css\"\n",
    );
    let out = p.run(&["build", "--no-minify"]);
    assert!(out.status.success());
    let before = tree_files(&p.path("static"));

    for (files, expected) in [
        (
            "[\"css/a.css\", \"css/missing.css\"]",
            "css bundle \"site\": pattern \"css/missing.css\" names a file that does not exist",
        ),
        (
            "[\"css/*.less\"]",
            "css bundle \"site\": pattern \"css/*.less\" matches no file",
        ),
    ] {
        p.write(
            "sluice.toml",
            format!("sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = {files}\noutput = \"css/site.css\"\n"),
        );
        let out = p.run(&["build", "--no-minify"]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        // Where the bundle is defined.
        assert!(stderr.contains("sluice.toml:4"), "{stderr}");
        assert_eq!(tree_files(&p.path("static")), before);
    }

    // A definition that would write outside the output is a configuration error (exit 2)
    // naming the file and line.
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = [\"css/a.css\"]\noutput = \"../site.css\"\n",
    );
    let out = p.run(&["build"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sluice.toml:4"), "{stderr}");
    assert!(stderr.contains("\"../site.css\""), "{stderr}");
    // An unknown key in a bundle table: file, line and column.
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = [\"css/a.css\"]\noutputs = \"x.css\"\n",
    );
    let out = p.run(&["build"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sluice.toml:6:1"), "{stderr}");
    assert_eq!(tree_files(&p.path("static")), before);
}

/// sluice's port of django-pipeline's path rewriting (Python patterns with a back-reference
/// and a conditional group, matched by hand) against django-pipeline's own
/// `Compressor.concatenate`, on thousands of generated CSS and JS texts made of the tokens
/// that matter: `url(`, quotes, whitespace of every kind, newlines, comment openers and
/// closers, skipped schemes, queries and fragments.
#[test]
fn path_rewriting_matches_django_pipeline_on_generated_texts() {
    use sluice_assets::bundle::{Context, Tree, assemble};
    use sluice_core::bundles::{BundleDef, BundleKind, PipelineSettings};

    const TOKENS: &[&str] = &[
        "url(",
        "url(",
        ")",
        ")",
        "'",
        "\"",
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "\x0b",
        "\x1c",
        "\u{a0}",
        "\u{2028}",
        "a.png",
        "../",
        "img/",
        "/abs.png",
        "#frag",
        "?v=1",
        "http://x/",
        "https:",
        "data:",
        "//cdn/",
        "/*# sourceMappingURL=",
        "//# sourceMappingURL=",
        "//@ sourceURL=",
        "/*@ sourceMappingURL=",
        "*/",
        "x.map",
        "→",
        ";",
        "/",
        "*",
        "#",
        "@",
        "sourceMappingURL=",
        "u",
        "rl(",
        "x",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let cases: Vec<(String, bool)> = (0..4000)
        .map(|i| {
            let n = 1 + next() % 14;
            let text: String = (0..n)
                .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
                .collect();
            (text, i % 3 != 0)
        })
        .collect();

    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), DJANGO_PIPELINE]);
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("cases.json");
    fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = r#"
import json, sys
from django.conf import settings
settings.configure(STATIC_ROOT="/srv/static", STATIC_URL="/static/",
                   INSTALLED_APPS=["django.contrib.staticfiles"], PIPELINE={})
import django
django.setup()
from pipeline.compressors import Compressor, CSS_REWRITE_PATH_RE, JS_REWRITE_PATH_RE
c = Compressor()
out = []
for text, css in json.load(open(sys.argv[1], encoding="utf-8")):
    c.read_text = lambda path: text
    out.append(c.concatenate(["css/sub/m.css"], file_sep="" if css else ";",
                             output_filename="out/deep/x.css",
                             rewrite_path_re=CSS_REWRITE_PATH_RE if css else JS_REWRITE_PATH_RE))
sys.stdout.write(json.dumps(out))
"#;
    let out = run_or_panic(
        python_cmd(&python, tmp.path(), &[])
            .args(["-c", script])
            .arg(&input),
        "django-pipeline's concatenate",
    );
    let expected: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected.len(), cases.len());
    // The generator reaches the rewriting: many texts come back changed.
    let changed = cases
        .iter()
        .zip(&expected)
        .filter(|((t, _), e)| t != *e)
        .count();
    assert!(changed > 400, "only {changed} texts were rewritten");

    let settings = PipelineSettings {
        disable_wrapper: true,
        ..PipelineSettings::default()
    };
    let tree = Tree::new(["css/sub/m.css"]);
    let size = |_: &str| None;
    let mut mismatches = Vec::new();
    for ((text, css), expected) in cases.iter().zip(&expected) {
        let read = |_: &str| Ok(text.clone().into_bytes());
        let ctx = Context {
            settings: &settings,
            compilers: &[],
            root: "/srv/static",
            tree: &tree,
            read: &read,
            size: &size,
            source_map: &|_| None,
        };
        let def = BundleDef {
            kind: if *css {
                BundleKind::Css
            } else {
                BundleKind::Js
            },
            name: "x".into(),
            files: vec!["css/sub/m.css".into()],
            output: "out/deep/x.css".into(),
            datauri: false,
            modules: Default::default(),
            origin: sluice_core::config::Origin::Default,
        };
        let ours = assemble(&def, &ctx).unwrap().code;
        if &ours != expected {
            mismatches.push(format!(
                "{} {text:?}\n  pipeline: {expected:?}\n  sluice:   {ours:?}",
                if *css { "css" } else { "js" }
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} texts differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}

/// A member a compiler takes is compiled and read under its compiled name (`x.scss` →
/// `x.css`, as django-pipeline's compilers write it beside the source); a real source of
/// that name wins, with a warning; with `compile = false` (or django-pipeline with no
/// `COMPILERS`) the source is joined as it is.
#[test]
fn compiled_members_and_compile_false() {
    let p = Project::new(&[
        ("css/x.scss", "$c: red;\n.x { color: $c; }"),
        ("css/y.css", ".y {}"),
    ]);
    let config = |compile: &str| {
        format!(
            "sources = [\"media\"]\noutput = \"static\"\n{compile}\n[bundles.css.s]\nfiles = [\"css/x.scss\", \"css/y.css\"]\noutput = \"s.css\"\n"
        )
    };
    p.write("sluice.toml", config(""));
    p.run_ok(&["build", "--no-minify"]);
    assert_eq!(
        fs::read_to_string(p.path("static/s.css")).unwrap(),
        ".x {\n  color: red;\n}\n\n.y {}"
    );
    // A file beside its source with the compiled name wins over the compiled output.
    p.write("media/css/x.css", ".x { color: blue; }");
    let out = p.run_ok(&["build", "--no-minify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("css/x.css: the output of compiling")
            && stderr.contains("media/css/x.css has the same name and wins"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/s.css")).unwrap(),
        ".x { color: blue; }\n.y {}"
    );
    p.write("sluice.toml", config("compile = false"));
    p.run_ok(&["build", "--no-minify"]);
    assert_eq!(
        fs::read_to_string(p.path("static/s.css")).unwrap(),
        "$c: red;\n.x { color: $c; }\n.y {}"
    );
}
