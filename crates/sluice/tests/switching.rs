//! Switching one STATIC_ROOT between profiles, with real Django: on the example site and on a
//! django-pipeline project (compressed by a whitenoise storage), the order sync → build → sync
//! → dev (or watch) → build --no-minify → build → sync. After each step: exit 0; the output is
//! byte for byte what a fresh run of that profile writes into an empty folder of a fresh copy
//! of the project (`staticfiles.json` and `sluice.json` included); every `.gz`/`.br`
//! decompresses to its sibling; django-pipeline's template tags render and every URL they
//! give is a file in the output; a file sluice did not write survives; and the switch is
//! incremental — a file whose bytes stay is not rewritten (same inode, same mtime), and the
//! JSON report's figures are exactly what changed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::compressed::assert_compressed_copies;
use support::dev::{DevRun, leftovers};
use support::{
    PROJ_MANAGE_PY, compressible_css, copy_example_site, example_venv, manifest_paths, noise, put,
    run_or_panic, sluice, tree_files, venv_env,
};

/// Environment variables of the developer's shell that must not reach sluice or Django here.
const SCRUBBED: &[&str] = &[
    "DJANGO_SETTINGS_MODULE",
    "PYTHONPATH",
    "SLUICE_POLL",
    "EXAMPLE_DEBUG",
    "EXAMPLE_PIPELINE_ENABLED",
    "EXAMPLE_PLAIN_STORAGE",
    "EXAMPLE_SASS_BINARY",
];

/// A file sluice did not write, put into STATIC_ROOT before the first run.
const FOREIGN: &str = "put-there-by-hand.txt";

type Tree = BTreeMap<String, Vec<u8>>;

/// Every file of an output root: bytes, inode and mtime.
type Snapshot = BTreeMap<String, (Vec<u8>, u64, i64, i64)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Sync,
    Build,
    BuildNoMinify,
    /// A short `sluice dev` (the example site) or `sluice watch` (the pipeline project)
    /// session: start, wait for `ready`, Ctrl-C.
    Session,
}

const ORDER: [Step; 7] = [
    Step::Sync,
    Step::Build,
    Step::Sync,
    Step::Session,
    Step::BuildNoMinify,
    Step::Build,
    Step::Sync,
];

/// One project under test.
struct Site {
    name: &'static str,
    /// Writes the project's sources into an empty folder.
    make: fn(&Path),
    settings: &'static str,
    /// The template that renders every bundle with django-pipeline's tags.
    tags: &'static str,
    /// The session step runs `sluice dev` (else `sluice watch`).
    dev: bool,
    python: PathBuf,
}

impl Site {
    fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut env = venv_env(&self.python);
        env.push(("PYTHONDONTWRITEBYTECODE", "1".into()));
        env
    }

    /// `sluice <args> --format json` in `root`: exit code, JSON events, stderr.
    fn run(&self, root: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
        let mut cmd = sluice();
        for name in SCRUBBED {
            cmd.env_remove(name);
        }
        cmd.args(args)
            .args(["--format", "json"])
            .current_dir(root)
            .envs(self.env());
        let out = cmd.output().unwrap();
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

    /// What `args` writes into the empty STATIC_ROOT of a fresh copy of the project.
    fn fresh(&self, args: &[&str]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        (self.make)(dir.path());
        let (code, events, stderr) = self.run(dir.path(), args);
        assert_eq!(code, 0, "fresh {args:?}: {events:#?}\n{stderr}");
        tree_files(&dir.path().join("static"))
    }

    /// The session step.
    fn session(&self, root: &Path) {
        if self.dev {
            let mut run = DevRun::start(root, &[], &self.env());
            run.wait_event("ready");
            run.signal("-INT");
            let status = run.wait_exit();
            assert_eq!(status.code(), Some(0), "{:#?}", run.seen);
            let left = leftovers(&run.marker);
            assert!(left.is_empty(), "processes left behind: {left:#?}");
        } else {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
            for name in SCRUBBED {
                cmd.env_remove(name);
            }
            cmd.args(["watch", "--format", "json"])
                .current_dir(root)
                .envs(self.env())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            let mut child = cmd.spawn().unwrap();
            let events = support::json_lines(child.stdout.take().unwrap());
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut seen = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let Ok(event) = events.recv_timeout(left) else {
                    let _ = child.kill();
                    panic!("no `ready` from sluice watch; saw {seen:#?}");
                };
                let ready = event["event"] == "ready";
                seen.push(event);
                if ready {
                    break;
                }
            }
            let pid = child.id().to_string();
            assert!(
                Command::new("kill")
                    .args(["-INT", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            let status = child.wait().unwrap();
            seen.extend(events.iter());
            assert_eq!(status.code(), Some(0), "{seen:#?}");
            assert!(seen.iter().any(|e| e["event"] == "stopped"), "{seen:#?}");
        }
    }

    /// Renders [`Site::tags`] with django-pipeline against the output in `root/static`, in the
    /// modes of the profile that wrote it (`build`: DEBUG off, bundles on; else DEBUG on,
    /// bundles on and off), and returns the URLs in the HTML, by mode.
    fn render(&self, root: &Path, build: bool) -> Vec<(String, Vec<String>)> {
        let script = r#"
import json, sys
import django
django.setup()
from django.conf import settings
from django.template import engines
from django.test.utils import override_settings
debug = sys.argv[1] == "dev"
out = []
# With bundles off, django-pipeline globs STATIC_ROOT, where a build's hashed copies match
# the patterns too: members are rendered in development only.
for enabled in (True, False) if debug else (True,):
    pipeline = dict(settings.PIPELINE, PIPELINE_ENABLED=enabled)
    with override_settings(DEBUG=debug, PIPELINE=pipeline):
        html = engines["django"].from_string(sys.argv[2]).render({})
    out.append(["enabled" if enabled else "members", html])
print(json.dumps(out))
"#;
        let mut cmd = Command::new(&self.python);
        for name in SCRUBBED {
            cmd.env_remove(name);
        }
        cmd.args(["-c", script, if build { "build" } else { "dev" }, self.tags])
            .current_dir(root)
            .envs(self.env())
            .env("DJANGO_SETTINGS_MODULE", self.settings);
        let out = run_or_panic(&mut cmd, "rendering django-pipeline's tags");
        let rendered: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
        rendered
            .into_iter()
            .map(|(mode, html)| (mode, urls(&html)))
            .collect()
    }
}

/// The `href="…"` and `src="…"` values of `html`.
fn urls(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            found.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    found
}

fn snapshot(static_root: &Path) -> Snapshot {
    tree_files(static_root)
        .into_iter()
        .map(|(name, bytes)| {
            let meta = fs::metadata(static_root.join(&name)).unwrap();
            (name, (bytes, meta.ino(), meta.mtime(), meta.mtime_nsec()))
        })
        .collect()
}

fn bytes_of(snapshot: &Snapshot) -> Tree {
    snapshot
        .iter()
        .map(|(k, (b, ..))| (k.clone(), b.clone()))
        .collect()
}

/// The event named `name` among `events`.
fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no `{name}` event in {events:#?}"))
}

fn count(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}")) as usize
}

/// Runs [`ORDER`] on `site` and checks every step (see the module documentation).
fn switch_in_every_order(site: &Site) {
    let expected_sync = site.fresh(&["sync"]);
    let expected_build = site.fresh(&["build"]);
    let expected_plain = site.fresh(&["build", "--no-minify"]);
    // The projects exercise what they claim to: bundles, compiled SCSS, hashed names (and, in
    // the pipeline project, compressed copies).
    assert!(expected_build.contains_key("staticfiles.json"));
    assert!(expected_build.contains_key("sluice.json"));
    assert_ne!(
        expected_build, expected_plain,
        "minified and plain bundles differ"
    );

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    (site.make)(root);
    put(root, &format!("static/{FOREIGN}"), "not sluice's\n");
    let mut previous = snapshot(&root.join("static"));
    let mut builds_seen: BTreeSet<&str> = BTreeSet::new();
    for (i, step) in ORDER.iter().enumerate() {
        let label = format!("{}: step {} ({step:?})", site.name, i + 1);
        let (events, expected, build) = match step {
            Step::Sync => {
                let (code, events, stderr) = site.run(root, &["sync"]);
                assert_eq!(code, 0, "{label}: {events:#?}\n{stderr}");
                (events, &expected_sync, false)
            }
            Step::Build => {
                let (code, events, stderr) = site.run(root, &["build"]);
                assert_eq!(code, 0, "{label}: {events:#?}\n{stderr}");
                (events, &expected_build, true)
            }
            Step::BuildNoMinify => {
                let (code, events, stderr) = site.run(root, &["build", "--no-minify"]);
                assert_eq!(code, 0, "{label}: {events:#?}\n{stderr}");
                (events, &expected_plain, true)
            }
            Step::Session => {
                site.session(root);
                (Vec::new(), &expected_sync, false)
            }
        };
        let now = snapshot(&root.join("static"));
        let mut tree = bytes_of(&now);
        assert_eq!(
            tree.remove(FOREIGN).as_deref(),
            Some(&b"not sluice's\n"[..]),
            "{label}: the file sluice did not write"
        );
        support::assert_same_tree(
            &format!("a fresh {step:?}"),
            expected,
            &format!("{label}, after the earlier steps"),
            &tree,
        );
        let compressed = assert_compressed_copies(&label, &tree);
        if build && site.name == "pipeline" {
            assert!(compressed > 10, "{label}: {compressed} compressed copies");
        }

        // Incremental: what kept its bytes was not rewritten.
        let rewritten: Vec<&String> = now
            .iter()
            .filter(|(k, (bytes, ..))| previous.get(*k).is_some_and(|p| p.0 == *bytes))
            .filter(|(k, (_, ino, s, ns))| {
                let p = &previous[*k];
                (p.1, p.2, p.3) != (*ino, *s, *ns)
            })
            .map(|(k, _)| k)
            .collect();
        assert!(
            rewritten.is_empty(),
            "{label}: rewritten with the same bytes: {rewritten:?}"
        );
        let changed = now
            .iter()
            .filter(|(k, (bytes, ..))| previous.get(*k).is_none_or(|p| p.0 != *bytes))
            .count();
        let gone = previous.keys().filter(|k| !now.contains_key(*k)).count();
        match step {
            Step::Build | Step::BuildNoMinify => {
                let report = event(&events, "build");
                assert_eq!(count(&report["written"]), changed, "{label}: {report}");
                assert_eq!(count(&report["removed"]), gone, "{label}: {report}");
                assert_eq!(
                    count(&report["unchanged"]) + changed,
                    count(&report["outputs"]),
                    "{label}: {report}"
                );
                // Read: the collected files one of whose outputs (either name, or a compressed
                // copy of one) is new or changed; the others' md5 the record knows.
                let manifest = manifest_paths(&tree["staticfiles.json"]);
                let dirty = manifest
                    .iter()
                    .filter(|(logical, hashed)| {
                        [logical.as_str(), hashed.as_str()].iter().any(|name| {
                            ["", ".gz", ".br", ".zst"].iter().any(|suffix| {
                                let path = format!("{name}{suffix}");
                                now.get(&path).map(|n| &n.0) != previous.get(&path).map(|p| &p.0)
                            })
                        })
                    })
                    .count();
                assert_eq!(count(&report["read"]), dirty, "{label}: {report}");
                // Compression: every content a build of this kind compressed before comes from
                // the cache.
                let kind = if *step == Step::Build {
                    "minified"
                } else {
                    "plain"
                };
                if !builds_seen.insert(kind) {
                    assert_eq!(count(&report["compressed"]), 0, "{label}: {report}");
                }
            }
            Step::Sync => {
                let report = event(&events, "sync");
                // No source changed: a source's copy is rewritten only on the first sync.
                let copied = count(&report["copied"]);
                if i == 0 {
                    assert_eq!(copied, count(&report["files"]), "{label}: {report}");
                } else {
                    assert_eq!(copied, 0, "{label}: {report}");
                }
                // After a build, what only the build wants goes (counted as removed).
                if i > 0 && matches!(ORDER[i - 1], Step::Build | Step::BuildNoMinify) {
                    assert_eq!(count(&report["removed"]), gone, "{label}: {report}");
                }
            }
            Step::Session => {}
        }

        // django-pipeline's tags render against this output, naming files that are there.
        let manifest = tree.get("staticfiles.json").map(|m| manifest_paths(m));
        for (mode, urls) in site.render(root, build) {
            assert!(!urls.is_empty(), "{label}: {mode}: no URL rendered");
            for url in urls {
                let path = url
                    .strip_prefix("/static/")
                    .unwrap_or_else(|| panic!("{label}: {mode}: {url} is not under STATIC_URL"));
                assert!(
                    tree.contains_key(path),
                    "{label}: {mode}: {url} is not in the output"
                );
                if let Some(manifest) = &manifest {
                    assert!(
                        manifest.values().any(|h| h == path),
                        "{label}: {mode}: {url} is not a hashed name"
                    );
                }
            }
        }
        previous = now;
    }
    // Nothing of a build's staging or a killed write is left beside or in the output.
    let beside: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sluice-staging"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    assert!(
        !previous.keys().any(|k| k.ends_with(".sluice-tmp")),
        "temp files left"
    );
}

#[test]
fn the_example_site_switches_between_profiles() {
    let site = Site {
        name: "example",
        make: copy_example_site,
        settings: "examplesite.settings",
        tags: "{% load pipeline %}{% stylesheet 'common' %}{% stylesheet 'home' %}\
               {% stylesheet 'about' %}{% stylesheet 'site-sass' %}{% javascript 'common' %}\
               {% javascript 'home' %}{% javascript 'about' %}",
        dev: true,
        python: example_venv(),
    };
    switch_in_every_order(&site);
}

#[test]
fn a_pipeline_project_with_compression_switches_between_profiles() {
    let site = Site {
        name: "pipeline",
        make: make_pipeline_project,
        settings: "proj.settings",
        tags: "{% load pipeline %}{% stylesheet 'screen' %}{% stylesheet 'print' %}\
               {% javascript 'app' %}",
        dev: false,
        python: example_venv(),
    };
    switch_in_every_order(&site);
}

const PIPELINE_SETTINGS: &str = r#"from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "pipeline", "shop"]
ROOT_URLCONF = "proj.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {}
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATIC_ROOT = BASE_DIR / "static"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "pipeline.finders.PipelineFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "proj.storage.CompressedPipelineStorage"},
}
PIPELINE = {
    "PIPELINE_ENABLED": True,
    "PIPELINE_COLLECTOR_ENABLED": False,
    "CSS_COMPRESSOR": None,
    "JS_COMPRESSOR": None,
    # sluice compiles the SCSS; pipeline's own compiler is a no-op (as in examples/site).
    "COMPILERS": ["pipeline.compilers.sass.SASSCompiler"],
    "SASS_BINARY": "true",
    "STYLESHEETS": {
        "screen": {
            "source_filenames": ["css/*.css", "css/sass/theme.scss", "shop/css/*.css"],
            "output_filename": "css/screen.min.css",
        },
        "print": {
            "source_filenames": ["css/print/*.css"],
            "output_filename": "print.css",
            "extra_context": {"media": "print"},
        },
    },
    "JAVASCRIPT": {
        "app": {
            "source_filenames": ["js/lib/*.js", "js/app.js", "shop/js/*.js"],
            "output_filename": "js/app.min.js",
        },
    },
}
"#;

/// django-pipeline's bundles under whitenoise's compression (hashed names, `.gz` and `.br`).
const PIPELINE_STORAGE: &str = r#"from pipeline.storage import PipelineMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


class CompressedPipelineStorage(PipelineMixin, CompressedManifestStaticFilesStorage):
    pass
"#;

/// A django-pipeline project: bundles of globbed members from STATICFILES_DIRS and an app,
/// an SCSS member with a partial, `url()`s to images and fonts, a source map, a bundle with
/// `extra_context`, and a storage that hashes and compresses.
fn make_pipeline_project(root: &Path) {
    put(root, "manage.py", PROJ_MANAGE_PY);
    put(root, "proj/__init__.py", "");
    put(root, "proj/settings.py", PIPELINE_SETTINGS);
    put(root, "proj/storage.py", PIPELINE_STORAGE);
    put(root, "proj/urls.py", "urlpatterns = []\n");
    put(root, "shop/__init__.py", "");
    let a = |rel: &str, bytes: &[u8]| put(root, &format!("assets/{rel}"), bytes);
    a("img/logo.png", &noise(900, 1));
    a("img/hero.jpg", &noise(2500, 2));
    a("fonts/body.woff2", &noise(1200, 3));
    a("fonts/body.ttf", compressible_css("glyph", 60).as_bytes());
    let base = format!(
        "@import \"reset.css\";\n.logo {{ background: url(../img/logo.png); }}\n\
         @font-face {{ font-family: body; src: url(\"../fonts/body.woff2\") format(\"woff2\"); }}\n{}",
        compressible_css("base", 80)
    );
    a("css/base.css", base.as_bytes());
    a("css/reset.css", compressible_css("reset", 40).as_bytes());
    a(
        "css/hero.css",
        format!(
            ".hero {{ background: url('../img/hero.jpg'); }}\n{}\n/*# sourceMappingURL=hero.css.map */\n",
            compressible_css("hero", 30)
        )
        .as_bytes(),
    );
    a(
        "css/hero.css.map",
        b"{\"version\":3,\"sources\":[\"hero.scss\"]}",
    );
    a(
        "css/sass/_vars.scss",
        b"$brand: #c13832;\n$gap: 12px;\n@mixin card { padding: $gap; border: 1px solid $brand; }\n",
    );
    a(
        "css/sass/theme.scss",
        format!(
            "@import \"vars\";\n.theme {{ color: $brand; .card {{ @include card; }} }}\n{}",
            compressible_css("theme", 30)
        )
        .as_bytes(),
    );
    a("css/print/print.css", b"body { color: black; }\n");
    a(
        "js/lib/util.js",
        "window.util = { add: function (a, b) { return a + b; } };\n"
            .repeat(20)
            .as_bytes(),
    );
    a(
        "js/app.js",
        b"(function () {\n  var greeting = 'hello';\n  window.app = { greet: function (name) { return greeting + ', ' + name; } };\n})();\n",
    );
    a("robots.txt", b"User-agent: *\n");
    let s = |rel: &str, bytes: &[u8]| put(root, &format!("shop/static/{rel}"), bytes);
    s(
        "shop/css/shop.css",
        format!(
            ".cart {{ background: url(../img/cart.png); }}\n{}",
            compressible_css("shop", 40)
        )
        .as_bytes(),
    );
    s("shop/img/cart.png", &noise(400, 4));
    s(
        "shop/js/shop.js",
        b"window.shop = { items: [], add: function (x) { this.items.push(x); } };\n",
    );
}
