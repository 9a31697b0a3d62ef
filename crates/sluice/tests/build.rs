//! `sluice build` on real trees: hashed names and the manifest, both copies, compression
//! decisions, the incremental second run, what a change re-processes, errors that leave the
//! previous output intact, foreign files; and differential tests against real Django
//! (`ManifestStaticFilesStorage`) and whitenoise (`CompressedManifestStaticFilesStorage`).

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use serde_json::Value;
use support::{
    PROJ_MANAGE_PY, Project, assert_same_static_root, noise, put, python_for_django, run_or_panic,
    sluice, tree_files, venv, venv_env,
};

impl Project {
    /// `sluice build <args> --format json`: exit code and the build event (Null on failure).
    fn build(&self, args: &[&str]) -> (i32, Value, String) {
        let (code, event, out) = self.event("build", args);
        (
            code,
            event,
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn build_ok(&self, args: &[&str]) -> Value {
        let (code, event, stdout) = self.build(args);
        assert_eq!(code, 0, "sluice build failed: {stdout}");
        event
    }

    fn manifest(&self) -> BTreeMap<String, String> {
        let json: Value =
            serde_json::from_slice(&fs::read(self.path("static/staticfiles.json")).unwrap())
                .unwrap();
        json["paths"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    }

    /// Every file of the output with its bytes and mtime.
    fn snapshot(&self) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
        tree_files(&self.path("static"))
            .into_iter()
            .map(|(name, bytes)| {
                let mtime = fs::metadata(self.path("static").join(&name))
                    .unwrap()
                    .modified()
                    .unwrap();
                (name, (bytes, mtime))
            })
            .collect()
    }

    /// Nothing but the project's own entries beside the output (no staging left over).
    fn assert_no_staging(&self) {
        let names: Vec<String> = fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("staging"))
            .collect();
        assert!(names.is_empty(), "staging left behind: {names:?}");
    }
}

/// CSS big and repetitive enough that both Brotli and gzip are effective.
fn big_css(seed: usize) -> String {
    (0..200)
        .map(|i| {
            format!(
                ".rule-{seed}-{i} {{ color: #{:06x}; margin: {i}px; }}\n",
                i * 7919
            )
        })
        .collect()
}

fn site() -> Project {
    let logo = noise(4000, 1);
    let site = format!(
        "@import \"base.css\";\n.logo {{ background: url('../img/logo.png'); }}\n{}",
        big_css(1)
    );
    Project::with_bytes(&[
        ("css/site.css", site.as_bytes()),
        ("css/base.css", big_css(2).as_bytes()),
        ("css/small.css", b"a{color:red}\n"),
        ("img/logo.png", &logo),
        (
            "js/app.js",
            b"console.log(1);\n//# sourceMappingURL=app.js.map\n",
        ),
        ("js/app.js.map", b"{}"),
        ("fonts/f.woff2", &noise(2000, 2)),
        ("fonts/f.ttf", big_css(3).as_bytes()),
    ])
}

#[test]
fn hashed_names_manifest_both_copies_and_compression() {
    let p = site();
    let event = p.build_ok(&[]);
    assert_eq!(event["files"], 8);
    let manifest = p.manifest();
    assert_eq!(manifest.len(), 8);
    let out = tree_files(&p.path("static"));
    // Both copies of every file; hashed names are Django's.
    for (name, hashed) in &manifest {
        assert!(out.contains_key(name), "unhashed copy of {name}");
        assert!(out.contains_key(hashed), "hashed copy {hashed}");
        let (stem, ext) = name.rsplit_once('.').unwrap();
        let hash = &hashed[stem.len() + 1..hashed.len() - ext.len() - 1];
        assert_eq!(hash.len(), 12, "{hashed}");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert!(manifest["js/app.js.map"].starts_with("js/app.js."));
    // The unhashed copy is the original; the hashed copy has its references rewritten.
    let site_hashed = String::from_utf8(out[&manifest["css/site.css"]].clone()).unwrap();
    assert_eq!(
        out["css/site.css"],
        fs::read(p.path("media/css/site.css")).unwrap()
    );
    let logo = manifest["img/logo.png"]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let base = manifest["css/base.css"]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        site_hashed.contains(&format!("url(\"../img/{logo}\")")),
        "{site_hashed}"
    );
    assert!(
        site_hashed.contains(&format!("@import url(\"{base}\")")),
        "{site_hashed}"
    );
    let app = String::from_utf8(out[&manifest["js/app.js"]].clone()).unwrap();
    let map = manifest["js/app.js.map"]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        app.contains(&format!("//# sourceMappingURL={map}")),
        "{app}"
    );
    // whitenoise's decisions: images and woff2 never; big text both; tiny text neither.
    for name in ["img/logo.png", "fonts/f.woff2", "css/small.css"] {
        for copy in [name.to_string(), manifest[name].clone()] {
            assert!(!out.contains_key(&format!("{copy}.gz")), "{copy}.gz");
            assert!(!out.contains_key(&format!("{copy}.br")), "{copy}.br");
        }
    }
    for name in ["css/site.css", "css/base.css", "fonts/f.ttf"] {
        for copy in [name.to_string(), manifest[name].clone()] {
            let gz = &out[&format!("{copy}.gz")];
            assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "{copy}.gz is gzip");
            assert!(out[&format!("{copy}.br")].len() < out[&copy].len());
        }
    }
    assert!(!out.contains_key("staticfiles.json.gz"));
    assert!(event["bytes"]["brotli"].as_u64().unwrap() > 0);
    assert!(event["largest"].as_array().unwrap().len() <= 10);
    // Encoder runs: each distinct content once per codec, whatever the number of names
    // (base.css and f.ttf are not rewritten: one content for both copies). Brotli + gzip for
    // site.css (original and rewritten), base.css and f.ttf; Brotli only, not effective, for
    // small.css, app.js (original and rewritten) and app.js.map.
    assert_eq!(event["compressed"], 4 * 2 + 4);
    p.assert_no_staging();
}

#[test]
fn second_run_reads_and_writes_nothing() {
    let p = site();
    let first = p.build_ok(&[]);
    let before = p.snapshot();
    // Trace the no-op run: no source or output file may be opened.
    let opened = support::files_opened(
        &p.root,
        &["build", "-q"],
        &["/media/", "/static/", "/compress/"],
    );
    assert!(opened.is_empty(), "a no-op build opened files: {opened:#?}");
    assert_eq!(p.snapshot(), before, "a no-op build changed the output");
    let event = p.build_ok(&[]);
    assert_eq!(
        (
            &event["read"],
            &event["written"],
            &event["compressed"],
            &event["removed"]
        ),
        (
            &Value::from(0),
            &Value::from(0),
            &Value::from(0),
            &Value::from(0)
        )
    );
    assert_eq!(event["unchanged"], event["outputs"]);
    // It reports what is there as the build that wrote it did.
    for field in ["outputs", "files", "bytes", "largest", "manifest"] {
        assert_eq!(event[field], first[field], "{field}");
    }

    // A lost staticfiles.json is not "nothing to do".
    fs::remove_file(p.path("static/staticfiles.json")).unwrap();
    let event = p.build_ok(&[]);
    assert_eq!(
        (&event["written"], &event["read"]),
        (&Value::from(1), &Value::from(0))
    );
    let bytes: BTreeMap<String, Vec<u8>> = before.into_iter().map(|(n, (b, _))| (n, b)).collect();
    assert_eq!(tree_files(&p.path("static")), bytes);
}

#[test]
fn a_changed_image_rehashes_the_css_that_references_it() {
    let p = Project::with_bytes(&[
        ("img/a.png", &noise(500, 3)),
        ("css/a.css", b".a { background: url(../img/a.png); }\n"),
        ("css/b.css", b"@import \"a.css\";\n"),
        ("css/unrelated.css", b".u { color: blue; }\n"),
        ("js/other.js", b"var x = 1;\n"),
    ]);
    p.build_ok(&[]);
    let before = p.manifest();
    let unrelated = p.path(&format!("static/{}", before["css/unrelated.css"]));
    let unrelated_mtime = fs::metadata(&unrelated).unwrap().modified().unwrap();
    p.write("media/img/a.png", noise(500, 4));
    let event = p.build_ok(&[]);
    let after = p.manifest();
    for name in ["img/a.png", "css/a.css", "css/b.css"] {
        assert_ne!(before[name], after[name], "{name} must get a new name");
        assert!(
            !p.path(&format!("static/{}", before[name])).exists(),
            "old {name} removed"
        );
        assert!(p.path(&format!("static/{}", after[name])).exists());
    }
    for name in ["css/unrelated.css", "js/other.js"] {
        assert_eq!(before[name], after[name]);
    }
    // Only the image and the two CSS files depending on it were read.
    assert_eq!(event["read"], 3);
    assert_eq!(event["replanned"], 2);
    assert_eq!(
        fs::metadata(&unrelated).unwrap().modified().unwrap(),
        unrelated_mtime
    );
    let b = fs::read_to_string(p.path(&format!("static/{}", after["css/b.css"]))).unwrap();
    let a_name = after["css/a.css"].rsplit('/').next().unwrap().to_string();
    assert_eq!(b, format!("@import url(\"{a_name}\");\n"));
}

#[test]
fn identical_copies_share_their_bytes_and_new_folders_move_in() {
    use std::os::unix::fs::MetadataExt;
    let js = "var greeting = 'hello';\n".repeat(40);
    let p = Project::with_bytes(&[
        ("img/a.png", &noise(500, 1)),
        ("js/app.js", js.as_bytes()),
        ("css/a.css", b".a { background: url(../img/a.png); }\n"),
    ]);
    p.build_ok(&[]);
    let m = p.manifest();
    let ino = |rel: &str| {
        fs::metadata(p.path(&format!("static/{rel}")))
            .unwrap()
            .ino()
    };
    // A file Django does not rewrite: its two names (and their compressed copies) are one
    // file on disk; a rewritten CSS file's copies are two.
    assert_eq!(ino("img/a.png"), ino(&m["img/a.png"]));
    assert_eq!(ino("js/app.js"), ino(&m["js/app.js"]));
    assert_eq!(ino("js/app.js.gz"), ino(&format!("{}.gz", m["js/app.js"])));
    assert_ne!(ino("css/a.css"), ino(&m["css/a.css"]));

    // New folders (nested, and beside existing ones) move into the existing output.
    p.write("media/img/icons/deep/b.png", noise(300, 2));
    p.write("media/fonts/f.woff2", noise(200, 3));
    p.write("media/js/app.js", "var greeting = 'bye';\n".repeat(40));
    p.build_ok(&[]);
    let after = p.manifest();
    for name in ["img/icons/deep/b.png", "fonts/f.woff2", "js/app.js"] {
        assert!(p.path(&format!("static/{name}")).is_file(), "{name}");
        assert!(
            p.path(&format!("static/{}", after[name])).is_file(),
            "{name}"
        );
    }
    // The changed file's both names got the new bytes; the old hashed name is gone.
    assert!(!p.path(&format!("static/{}", m["js/app.js"])).exists());
    let bytes = |rel: &str| fs::read(p.path(&format!("static/{rel}"))).unwrap();
    assert_eq!(bytes("js/app.js"), bytes(&after["js/app.js"]));
    assert!(
        String::from_utf8(bytes("js/app.js"))
            .unwrap()
            .contains("bye")
    );
    p.assert_no_staging();
    let event = p.build_ok(&[]);
    assert_eq!(event["written"], 0);
}

#[test]
fn errors_leave_the_previous_output_intact() {
    let p = site();
    p.build_ok(&[]);
    let before = p.snapshot();

    // A cycle names both files.
    p.write("media/css/x.css", "@import \"y.css\";\n");
    p.write("media/css/y.css", "@import \"x.css\";\n");
    let out = p.run(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("css/x.css, css/y.css"), "{stderr}");
    assert_eq!(p.snapshot(), before);
    p.assert_no_staging();
    fs::remove_file(p.path("media/css/y.css")).unwrap();
    fs::remove_file(p.path("media/css/x.css")).unwrap();

    // A missing reference names the file, the line and the reference.
    p.write(
        "media/css/c.css",
        "/* ok */\n.x { background: url(\"nope.png\"); }\n",
    );
    let out = p.run(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("media/css/c.css:2"), "{stderr}");
    assert!(stderr.contains("url(\"nope.png\")"), "{stderr}");
    assert!(stderr.contains("css/nope.png"), "{stderr}");
    assert_eq!(p.snapshot(), before);
    p.assert_no_staging();
    fs::remove_file(p.path("media/css/c.css")).unwrap();

    // Non-UTF-8 CSS names the file; JSON output carries the error too.
    p.write("media/css/latin1.css", b".x { content: \"\xe9\"; }\n");
    let (code, _, stdout) = p.build(&[]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("css/latin1.css") && stdout.contains("UTF-8"),
        "{stdout}"
    );
    assert_eq!(p.snapshot(), before);
    p.assert_no_staging();
    fs::remove_file(p.path("media/css/latin1.css")).unwrap();

    // Fixed: the next build succeeds and had nothing to do.
    let event = p.build_ok(&[]);
    assert_eq!(event["written"], 0);
    assert_eq!(p.snapshot(), before);
}

#[test]
fn foreign_files_are_not_overwritten_unless_forced() {
    let p = site();
    p.write("static/css/small.css", "theirs");
    p.write("static/robots.txt", "keep me");
    let out = p.run(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("static/css/small.css") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(
        !p.path("static/staticfiles.json").exists(),
        "nothing written on a conflict"
    );
    p.build_ok(&["--force"]);
    assert_eq!(
        fs::read(p.path("static/css/small.css")).unwrap(),
        b"a{color:red}\n"
    );
    // A clean rebuild removes what sluice wrote, never what it did not.
    p.build_ok(&["--clean"]);
    assert_eq!(fs::read(p.path("static/robots.txt")).unwrap(), b"keep me");
}

#[test]
fn no_hash_keep_only_hashed_and_compress_choices() {
    let p = site();
    p.build_ok(&["--no-hash"]);
    let out = tree_files(&p.path("static"));
    assert!(!out.contains_key("staticfiles.json"));
    assert!(out.contains_key("css/site.css.br") && out.contains_key("css/site.css.gz"));
    assert_eq!(
        out.keys()
            .filter(|k| !k.ends_with(".br") && !k.ends_with(".gz"))
            .count(),
        8 + 1,
        "the files and sluice.json"
    );
    support::assert_record_digests(&out["sluice.json"], &out);

    // Switching profiles replaces the earlier build's outputs.
    let event = p.build_ok(&["--keep-only-hashed", "--compress", "gzip"]);
    let manifest = p.manifest();
    let out = tree_files(&p.path("static"));
    assert!(!out.contains_key("css/site.css"), "originals are dropped");
    assert!(out.contains_key(&manifest["css/site.css"]));
    assert!(out.contains_key(&format!("{}.gz", manifest["css/site.css"])));
    assert!(!out.keys().any(|k| k.ends_with(".br")));
    assert_eq!(
        out.len(),
        8 + 1 + 3 + 1,
        "hashed copies, manifest, three .gz, sluice.json: {:?}",
        out.keys()
    );
    // Encoder runs: gzip of the new contents (rewritten site.css and app.js, and small.css
    // and app.js.map, tried with gzip alone now); base.css and f.ttf come from the cache.
    assert_eq!(event["compressed"], 4);

    p.build_ok(&["--no-compress"]);
    let out = tree_files(&p.path("static"));
    assert_eq!(
        out.len(),
        8 * 2 + 2,
        "both copies, the manifest and sluice.json"
    );
    support::assert_record_digests(&out["sluice.json"], &out);

    // Compressed copies come from the cache in .sluice/: nothing is compressed twice.
    // (Only the Brotli copies of the two rewritten texts are new here.)
    assert_eq!(p.build_ok(&["--clean"])["compressed"], 2);
    let event = p.build_ok(&["--clean"]);
    assert_eq!(event["compressed"], 0);
    assert_eq!(event["written"], event["outputs"]);
    assert!(p.path("static/css/site.css.br").exists());

    // zstd, on request: beside .br and .gz, decompressing to the original.
    let event = p.build_ok(&["--compress", "gzip,br,zstd"]);
    assert!(event["bytes"]["zstd"].as_u64().unwrap() > 0);
    let out = tree_files(&p.path("static"));
    let site_css = &out["css/site.css"];
    let zst = &out["css/site.css.zst"];
    assert!(zst.len() * 100 <= site_css.len() * 95);
    assert_eq!(&zstd::decode_all(zst.as_slice()).unwrap(), site_css);
    assert!(out.contains_key(&format!("{}.zst", p.manifest()["css/site.css"])));
    assert!(out.contains_key("css/site.css.br") && out.contains_key("css/site.css.gz"));

    let (code, _, _) = p.build(&["--compress", "lzma"]);
    assert_eq!(code, 2, "an unknown codec is a usage error");
}

// ---------------------------------------------------------------------------------------
// Differential tests against real Django and whitenoise.

const SETTINGS_PY: &str = r#"import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
]
ROOT_URLCONF = "proj.urls"
TEMPLATES = []
DATABASES = {}
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets", ("vendor", BASE_DIR / "vendor_assets")]
STATIC_ROOT = Path(os.environ.get("TEST_STATIC_ROOT", BASE_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get(
            "TEST_STORAGE", "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        )
    },
}
"#;

/// A generated Django project: a few hundred files, CSS with `url()`s and `@import`s at
/// several depths, JS with source maps, images, fonts, a prefixed STATICFILES_DIRS entry.
fn make_project(root: &Path) {
    put(root, "manage.py", PROJ_MANAGE_PY);
    put(root, "proj/__init__.py", "");
    put(root, "proj/settings.py", SETTINGS_PY);
    put(root, "proj/urls.py", "urlpatterns = []\n");
    let a = |rel: &str, bytes: &[u8]| put(root, &format!("assets/{rel}"), bytes);
    let mut images = Vec::new();
    for d in 0..6 {
        for i in 0..25 {
            let ext = ["png", "jpg", "gif", "svg", "webp"][i % 5];
            let name = format!("img/set{d}/pic-{i}.{ext}");
            let bytes = if ext == "svg" {
                format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\">{}</svg>",
                    big_css(i)
                )
                .into_bytes()
            } else {
                noise(200 + 37 * i + d * 100, (d * 100 + i) as u64)
            };
            a(&name, &bytes);
            images.push(name);
        }
    }
    for i in 0..8 {
        a(&format!("fonts/font{i}.woff2"), &noise(1500, 900 + i));
        a(&format!("fonts/font{i}.woff"), &noise(1800, 950 + i));
        a(
            &format!("fonts/font{i}.ttf"),
            big_css(i as usize).as_bytes(),
        );
        a(&format!("fonts/font{i}.eot"), &noise(700, 980 + i));
    }
    // CSS at three depths, importing each other downwards (no cycles).
    for i in 0..20 {
        let mut css = String::new();
        if i > 0 {
            css.push_str(&format!("@import \"sub/s{}.css\";\n", i - 1));
        }
        for (j, img) in images.iter().enumerate().skip(i * 7).take(5) {
            let quote = ["", "'", "\""][j % 3];
            css.push_str(&format!(
                ".c{i}-{j} {{ background: url({quote}../{img}{quote}); }}\n"
            ));
        }
        css.push_str(&format!(
            "@font-face {{ font-family: f{i}; src: url(\"../fonts/font{}.eot?#iefix\") format(\"eot\"), url(../fonts/font{}.woff2#x) format(\"woff2\"); }}\n",
            i % 8,
            i % 8
        ));
        css.push_str(".skip { background: url(data:image/png;base64,AAAA); }\n");
        css.push_str(".abs { background: url(/static/img/set0/pic-0.png); }\n");
        css.push_str("/* url(commented-out.png) */\n");
        css.push_str(&big_css(i));
        a(&format!("css/c{i}.css"), css.as_bytes());
        let sub = format!(
            "@import 'deep/d{i}.css';\n.s{i} {{ background: url(\"../../{}?v=2\"); }}\n{}",
            images[i * 3],
            big_css(100 + i)
        );
        a(&format!("css/sub/s{i}.css"), sub.as_bytes());
        let deep = format!(
            ".d{i} {{ background: url(../../../{}); }}\n/*# sourceMappingURL=d{i}.css.map */\n",
            images[i * 2 + 1]
        );
        a(&format!("css/sub/deep/d{i}.css"), deep.as_bytes());
        a(&format!("css/sub/deep/d{i}.css.map"), b"{\"version\":3}");
    }
    for i in 0..30 {
        let js = format!(
            "(function(){{ var x{i} = {i}; console.log('{}'); }})();\n//# sourceMappingURL=app{i}.js.map\n",
            "x".repeat(i * 40)
        );
        a(&format!("js/app{i}.js"), js.as_bytes());
        a(
            &format!("js/app{i}.js.map"),
            format!("{{\"version\":3,\"sources\":[\"app{i}.ts\"]}}").as_bytes(),
        );
    }
    a("robots.txt", b"User-agent: *\n");
    a("empty.css", b"");
    let v = |rel: &str, bytes: &[u8]| put(root, &format!("vendor_assets/{rel}"), bytes);
    v("lib/lib.css", b".lib { background: url(img/v.png); }\n.up { background: url(../../img/set1/pic-1.jpg); }\n");
    v("lib/img/v.png", &noise(300, 77));
    v("lib/lib.js", b"var lib = 1;\n");
}

fn run_python(python: &Path, project: &Path, args: &[&str], env: &[(&str, &Path)]) {
    let mut cmd = Command::new(python);
    cmd.args(args)
        .current_dir(project)
        .envs(venv_env(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH");
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_os_str())));
    run_or_panic(&mut cmd, &format!("{args:?}"));
}

/// `sluice build` in the project with the storage backend `storage` in its settings (the
/// same settings collectstatic ran with: sluice takes hashing and compression from them).
fn sluice_build(python: &Path, project: &Path, output: &Path, storage: &str, args: &[&str]) {
    let mut cmd = sluice();
    cmd.env("TEST_STORAGE", storage)
        .arg("build")
        .arg("--output")
        .arg(output)
        .args(args)
        .current_dir(project)
        .envs(venv_env(python))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH");
    cmd.assert().success();
}

#[test]
fn build_matches_django_and_whitenoise() {
    let (_, line) = python_for_django();
    let python = venv(&[line.requirement(), "whitenoise==6.12.0", "brotli==1.2.1"]);
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    make_project(&project);

    // ManifestStaticFilesStorage vs `sluice build --no-compress`.
    let django = tmp.path().join("django-manifest");
    support::collectstatic(
        &python,
        &project,
        &[],
        &[
            ("TEST_STATIC_ROOT", django.as_os_str()),
            (
                "TEST_STORAGE",
                OsStr::new("django.contrib.staticfiles.storage.ManifestStaticFilesStorage"),
            ),
        ],
    );
    let ours = tmp.path().join("sluice-manifest");
    // ManifestStaticFilesStorage hashes and does not compress: no flag needed.
    sluice_build(
        &python,
        &project,
        &ours,
        "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
        &[],
    );
    let expected = tree_files(&django);
    let actual = tree_files(&ours);
    assert!(expected.len() > 500, "{} files", expected.len());
    assert!(expected.keys().any(|k| k.starts_with("admin/css/")));
    assert!(expected.keys().any(|k| k.starts_with("vendor/lib/img/v.")));
    assert_same_static_root(
        line,
        "collectstatic (manifest)",
        expected,
        "sluice build",
        actual,
    );

    // whitenoise's CompressedManifestStaticFilesStorage vs `sluice build`: the same files,
    // and every .gz/.br of sluice's decompresses to its original.
    let whitenoise = tmp.path().join("django-whitenoise");
    support::collectstatic(
        &python,
        &project,
        &[],
        &[
            ("TEST_STATIC_ROOT", whitenoise.as_os_str()),
            (
                "TEST_STORAGE",
                OsStr::new("whitenoise.storage.CompressedManifestStaticFilesStorage"),
            ),
        ],
    );
    let ours = tmp.path().join("sluice-compressed");
    sluice_build(
        &python,
        &project,
        &ours,
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        &[],
    );
    let expected_files = tree_files(&whitenoise);
    let mut actual_files = tree_files(&ours);
    let record = actual_files.remove("sluice.json").expect("sluice.json");
    support::assert_record_digests(&record, &actual_files);
    support::compressed::assert_same_names_modulo_brotli(&expected_files, &actual_files);
    let actual: Vec<&String> = actual_files.keys().collect();
    let compressed = actual
        .iter()
        .filter(|k| k.ends_with(".gz") || k.ends_with(".br"))
        .count();
    assert!(compressed > 200, "{compressed} compressed files");
    let check = tmp.path().join("check.py");
    fs::write(
        &check,
        r#"import brotli, gzip, os, sys
root = sys.argv[1]
checked = 0
for folder, _, names in os.walk(root):
    for name in names:
        path = os.path.join(folder, name)
        if name.endswith(".gz"):
            data = gzip.decompress(open(path, "rb").read())
        elif name.endswith(".br"):
            data = brotli.decompress(open(path, "rb").read())
        else:
            continue
        original = open(path[:-3], "rb").read()
        assert data == original, path
        checked += 1
assert checked > 0
print(checked)
"#,
    )
    .unwrap();
    run_python(
        &python,
        &project,
        &[check.to_str().unwrap(), ours.to_str().unwrap()],
        &[],
    );
}

#[test]
fn a_file_replaced_by_a_folder_of_the_same_name() {
    let p = Project::with_bytes(&[("x", b"file"), ("keep.txt", b"k")]);
    p.build_ok(&["--no-hash"]);
    fs::remove_file(p.path("media/x")).unwrap();
    p.write("media/x/inner.txt", "now a folder");
    p.build_ok(&["--no-hash"]);
    assert_eq!(
        fs::read(p.path("static/x/inner.txt")).unwrap(),
        b"now a folder"
    );
    fs::remove_dir_all(p.path("media/x")).unwrap();
    p.write("media/x", "a file again");
    p.build_ok(&["--no-hash"]);
    assert_eq!(fs::read(p.path("static/x")).unwrap(), b"a file again");
}

#[test]
fn staging_left_by_a_killed_build_is_removed() {
    let p = site();
    // No process has this id (above the kernel's pid_max): its staging is abandoned.
    p.write(
        ".static.sluice-staging-4999999/css/half.css",
        "half-written",
    );
    p.build_ok(&[]);
    p.assert_no_staging();
    assert!(!p.path("static/css/half.css").exists());
}
