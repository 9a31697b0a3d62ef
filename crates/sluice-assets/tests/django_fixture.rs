//! Differential tests against the real packages: Django's `collectstatic` with
//! `ManifestStaticFilesStorage` over Django's own test fixtures (and the admin's static
//! files), and whitenoise's `Compressor`, compared with this crate's output.
//!
//! Needs Python ≥ 3.12 (for Django 6.1.3; with only 3.11 it falls back to Django 5.2.19 and
//! compares the manifest as a mapping) and the package registry the first time: a venv and
//! the Django sdist are cached under `${SLUICE_TEST_CACHE:-~/.cache/sluice-tests}/`.
//! Any failure to set that up panics: these tests never skip silently.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use sluice_assets::Error;
use sluice_assets::compress::{self, Codecs, Encoding};
use sluice_assets::django_manifest::{self, ManifestOptions};

const WHITENOISE: &str = "6.12.0";
const BROTLI: &str = "1.2.1";

/// The Python and Django the tests run against.
struct Env {
    python: PathBuf,
    django: &'static str,
    /// Django ≥ 6.0 sorts the manifest, so its bytes are comparable.
    sorted_manifest: bool,
    /// Root of the unpacked Django sdist.
    sdist: PathBuf,
}

impl Env {
    fn fixtures(&self) -> PathBuf {
        self.sdist.join("tests/staticfiles_tests")
    }
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(setup)
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLUICE_TEST_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME or SLUICE_TEST_CACHE must be set");
    PathBuf::from(home).join(".cache/sluice-tests")
}

/// `(major, minor)` of a Python interpreter, or `None` when it does not run.
fn python_version(python: &Path) -> Option<(u32, u32)> {
    let output = Command::new(python)
        .args([
            "-c",
            "import sys; print(sys.version_info[0], sys.version_info[1])",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<u32>());
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

fn find_python() -> (PathBuf, (u32, u32)) {
    let mut candidates: Vec<PathBuf> = vec!["python3.13".into(), "python3.12".into()];
    let pyenv_root = Command::new("pyenv")
        .arg("root")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut pyenv_versions: Vec<PathBuf> = Vec::new();
    if let Some(root) = &pyenv_root
        && let Ok(entries) = fs::read_dir(root.join("versions"))
    {
        pyenv_versions = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        pyenv_versions.sort();
        pyenv_versions.reverse();
    }
    for prefix in ["3.13", "3.12", "3.11"] {
        for dir in &pyenv_versions {
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(prefix) {
                candidates.push(dir.join("bin/python3"));
            }
        }
    }
    candidates.push("python3.11".into());
    candidates.push("python3".into());
    let mut fallback = None;
    for candidate in candidates {
        match python_version(&candidate) {
            Some(v) if v >= (3, 12) => return (candidate, v),
            Some(v) if v == (3, 11) && fallback.is_none() => fallback = Some((candidate, v)),
            _ => {}
        }
    }
    fallback.expect("no Python >= 3.11 found (tried python3.13, python3.12, pyenv versions, python3.11, python3)")
}

#[track_caller]
fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// Builds `path` with `build` in a temporary sibling, then renames it into place; reuses
/// `path` when it already exists.
fn cached_dir(path: &Path, build: impl FnOnce(&Path)) {
    if path.exists() {
        return;
    }
    let parent = path.parent().expect("cache paths have a parent");
    fs::create_dir_all(parent).expect("create the test cache folder");
    let temp = parent.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("dir"),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&temp);
    fs::create_dir_all(&temp).expect("create a temporary cache folder");
    build(&temp);
    if fs::rename(&temp, path).is_err() {
        // Another process won the race; use its copy.
        let _ = fs::remove_dir_all(&temp);
        assert!(
            path.exists(),
            "could not move {} into place",
            temp.display()
        );
    }
}

fn setup() -> Env {
    let (base_python, version) = find_python();
    let (django, sorted_manifest) = if version >= (3, 12) {
        ("6.1.3", true)
    } else {
        ("5.2.19", false)
    };
    let cache = cache_root();
    let venv = cache.join(format!(
        "venv-py{}.{}-django{django}-whitenoise{WHITENOISE}",
        version.0, version.1
    ));
    cached_dir(&venv, |temp| {
        run(Command::new(&base_python).args(["-m", "venv"]).arg(temp));
        run(Command::new(temp.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("django=={django}"),
            &format!("whitenoise=={WHITENOISE}"),
            &format!("brotli=={BROTLI}"),
        ]));
    });
    // Always run `bin/python -m …`: the venv was renamed, so its scripts' shebangs are stale.
    let python = venv.join("bin/python");
    let sdist = cache.join(format!("django-{django}-sdist"));
    cached_dir(&sdist, |temp| {
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-binary",
                ":all:",
                &format!("django=={django}"),
                "-d",
            ])
            .arg(temp));
        let archive = fs::read_dir(temp)
            .expect("read the download folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
            .expect("pip downloaded the Django sdist");
        run(Command::new(&python)
            .args([
                "-c",
                "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')",
            ])
            .arg(&archive)
            .arg(temp));
        fs::remove_file(&archive).expect("remove the sdist archive");
    });
    let unpacked = fs::read_dir(&sdist)
        .expect("read the sdist folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.join("tests/staticfiles_tests").is_dir())
        .expect("the sdist has tests/staticfiles_tests");
    Env {
        python,
        django,
        sorted_manifest,
        sdist: unpacked,
    }
}

/// A source root as Django's `STATICFILES_DIRS` sees it.
struct Source {
    prefix: Option<&'static str>,
    path: PathBuf,
}

/// Django's `ignore_patterns` for the run: the defaults plus `*.ignoreme`.
fn ignored(name: &str) -> bool {
    name == "CVS" || name.starts_with('.') || name.ends_with('~') || name.ends_with(".ignoreme")
}

fn walk(root: &Path, relative: &str, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(root.join(relative))
        .expect("read a fixture folder")
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        let rel = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        if entry.file_type().expect("file type").is_dir() {
            walk(root, &rel, out);
        } else {
            out.push((rel, entry.path()));
        }
    }
}

/// What `collectstatic` collects: first found wins.
fn collect(sources: &[Source]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for source in sources {
        let mut found = Vec::new();
        walk(&source.path, "", &mut found);
        for (rel, path) in found {
            let name = match source.prefix {
                Some(prefix) => format!("{prefix}/{rel}"),
                None => rel,
            };
            files
                .entry(name)
                .or_insert_with(|| fs::read(&path).expect("read a fixture file"));
        }
    }
    files
}

/// Runs Django's collectstatic over `sources` into a new STATIC_ROOT.
fn collectstatic(env: &Env, sources: &[Source], root: &Path) -> Output {
    let dirs: Vec<String> = sources
        .iter()
        .map(|s| match s.prefix {
            Some(prefix) => format!("({prefix:?}, {:?})", s.path.display().to_string()),
            None => format!("{:?}", s.path.display().to_string()),
        })
        .collect();
    let settings_dir = root.with_extension("settings");
    fs::create_dir_all(&settings_dir).expect("create the settings folder");
    fs::write(
        settings_dir.join("sluice_test_settings.py"),
        format!(
            r#"SECRET_KEY = "sluice-tests"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.staticfiles"]
STATIC_URL = "static/"
STATIC_ROOT = {root:?}
STATICFILES_DIRS = [{dirs}]
STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}},
}}
"#,
            root = root.display().to_string(),
            dirs = dirs.join(", "),
        ),
    )
    .expect("write the settings");
    Command::new(&env.python)
        .args([
            "-m",
            "django",
            "collectstatic",
            "--noinput",
            "-v",
            "0",
            "-i",
            "*.ignoreme",
            "--settings=sluice_test_settings",
        ])
        .env("PYTHONPATH", &settings_dir)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .expect("run collectstatic")
}

fn files_under(root: &Path) -> BTreeSet<String> {
    let mut found = Vec::new();
    walk_all(root, "", &mut found);
    found.into_iter().collect()
}

fn walk_all(root: &Path, relative: &str, out: &mut Vec<String>) {
    for entry in fs::read_dir(root.join(relative))
        .expect("read output")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        if entry.file_type().expect("file type").is_dir() {
            walk_all(root, &rel, out);
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn manifest_matches_collectstatic() {
    let env = env();
    let fixtures = env.fixtures();
    let admin_static = env.sdist.join("django/contrib/admin/static");
    let sources = [
        Source {
            prefix: None,
            path: fixtures.join("project/documents"),
        },
        Source {
            prefix: Some("prefix"),
            path: fixtures.join("project/prefixed"),
        },
        Source {
            prefix: None,
            path: fixtures.join("apps/test/static"),
        },
        Source {
            prefix: None,
            path: admin_static,
        },
    ];
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().join("static_root");
    let output = collectstatic(env, &sources, &root);
    assert!(
        output.status.success(),
        "collectstatic (Django {}) failed:\n{}",
        env.django,
        String::from_utf8_lossy(&output.stderr)
    );

    let files = collect(&sources);
    assert!(files.len() > 100, "collected only {} files", files.len());
    assert!(files.contains_key("prefix/test.txt") && files.contains_key("test/⊗.txt"));
    let plan = django_manifest::plan(&files, &ManifestOptions::default())
        .unwrap_or_else(|e| panic!("sluice failed where Django succeeded: {e}"));

    // Names.
    let django_manifest = fs::read_to_string(root.join("staticfiles.json")).expect("manifest");
    let ours = plan.staticfiles_json();
    if env.sorted_manifest {
        assert_eq!(ours, django_manifest, "staticfiles.json differs");
    } else {
        // Django 5.2 writes the paths in processing order: compare as mappings.
        let parse = |json: &str| -> BTreeSet<String> {
            let inner = json
                .split_once("{\"paths\": {")
                .and_then(|(_, rest)| rest.split_once("}, \"version\""))
                .map(|(inner, _)| inner.to_string())
                .expect("manifest shape");
            inner.split("\", \"").map(str::to_string).collect()
        };
        assert_eq!(parse(&ours), parse(&django_manifest));
        assert_eq!(
            ours.rsplit_once("\"hash\"").map(|p| p.1),
            django_manifest.rsplit_once("\"hash\"").map(|p| p.1)
        );
    }

    // Bytes of every hashed copy, and nothing else in STATIC_ROOT.
    let mut expected_files: BTreeSet<String> = files.keys().cloned().collect();
    expected_files.insert("staticfiles.json".into());
    let mut rewritten = 0;
    for (name, planned) in &plan.files {
        let django_bytes = fs::read(root.join(&planned.hashed_name))
            .unwrap_or_else(|e| panic!("{name}: Django wrote no {}: {e}", planned.hashed_name));
        let ours = planned.rewritten.as_deref().unwrap_or(&files[name]);
        assert!(
            django_bytes == ours,
            "{name} → {}: bytes differ\n--- Django\n{}\n--- sluice\n{}",
            planned.hashed_name,
            String::from_utf8_lossy(&django_bytes),
            String::from_utf8_lossy(ours)
        );
        // The unhashed copy is the unprocessed original.
        assert_eq!(
            fs::read(root.join(name)).expect("unhashed copy"),
            files[name],
            "{name}"
        );
        rewritten += usize::from(planned.rewritten.is_some());
        expected_files.insert(planned.hashed_name.clone());
    }
    assert!(rewritten >= 15, "only {rewritten} files were rewritten");
    assert_eq!(files_under(&root), expected_files);
}

#[test]
fn reference_cycle_fails_like_collectstatic() {
    let env = env();
    let sources = [Source {
        prefix: None,
        path: env.fixtures().join("project/loop"),
    }];
    let temp = tempfile::tempdir().expect("temp dir");
    let output = collectstatic(env, &sources, &temp.path().join("root"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "Django accepted the loop");
    assert!(
        stderr.contains("Post-processing 'bar.css, foo.css' failed!"),
        "{stderr}"
    );
    let error = django_manifest::plan(&collect(&sources), &ManifestOptions::default()).unwrap_err();
    assert_eq!(
        error,
        Error::ReferenceCycle {
            files: vec!["bar.css".into(), "foo.css".into()]
        }
    );
}

#[test]
fn missing_reference_fails_like_collectstatic() {
    let env = env();
    let sources = [Source {
        prefix: None,
        path: env.fixtures().join("project/faulty"),
    }];
    let temp = tempfile::tempdir().expect("temp dir");
    let output = collectstatic(env, &sources, &temp.path().join("root"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "Django accepted faulty.css");
    assert!(
        stderr.contains("Post-processing 'faulty.css' failed!"),
        "{stderr}"
    );
    assert!(
        stderr.contains("The file 'missing.css' could not be found"),
        "{stderr}"
    );
    match django_manifest::plan(&collect(&sources), &ManifestOptions::default()).unwrap_err() {
        Error::MissingReference {
            file,
            line,
            target,
            django_note,
            ..
        } => {
            assert_eq!(
                (file.as_str(), line, target.as_str()),
                ("faulty.css", 1, "missing.css")
            );
            if env.django.starts_with('6') {
                assert!(
                    stderr.contains(&django_note),
                    "Django's note differs:\n{stderr}\nours:\n{django_note}"
                );
            }
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn non_utf8_fails_like_collectstatic() {
    let env = env();
    let sources = [Source {
        prefix: None,
        path: env.fixtures().join("project/nonutf8"),
    }];
    let temp = tempfile::tempdir().expect("temp dir");
    let output = collectstatic(env, &sources, &temp.path().join("root"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Post-processing 'nonutf8.css' failed!"),
        "{stderr}"
    );
    assert!(stderr.contains("codec can't decode"), "{stderr}");
    let error = django_manifest::plan(&collect(&sources), &ManifestOptions::default()).unwrap_err();
    assert!(
        matches!(&error, Error::NotUtf8 { file, .. } if file == "nonutf8.css"),
        "{error:?}"
    );
}

/// The Python side of the compression test: whitenoise's decisions and a decompression
/// check of our outputs.
const COMPRESS_PY: &str = r#"
import gzip, json, os, sys, brotli
from whitenoise.compress import Compressor

src, ours = sys.argv[1], sys.argv[2]
compressor = Compressor(quiet=True)
produced, same_bytes = {}, {}
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    if os.path.isdir(path) or name.endswith((".gz", ".br")):
        continue
    produced[name] = sorted(
        os.path.basename(p) for p in compressor.compress(path)
    ) if compressor.should_compress(name) else []
    for suffix, decode in ((".gz", gzip.decompress), (".br", brotli.decompress)):
        mine = os.path.join(ours, name + suffix)
        if os.path.exists(mine):
            data = open(mine, "rb").read()
            assert decode(data) == open(path, "rb").read(), mine
            theirs = path + suffix
            same_bytes[name + suffix] = os.path.exists(theirs) and open(theirs, "rb").read() == data
print(json.dumps({"produced": produced, "same_bytes": same_bytes}))
"#;

#[test]
fn compression_matches_whitenoise() {
    let env = env();
    let admin = env.sdist.join("django/contrib/admin/static/admin");
    let temp = tempfile::tempdir().expect("temp dir");
    let src = temp.path().join("src");
    let ours = temp.path().join("ours");
    fs::create_dir_all(&src).expect("mkdir");
    fs::create_dir_all(&ours).expect("mkdir");
    let mut inputs: Vec<(String, Vec<u8>)> = vec![
        (
            "base.css".into(),
            fs::read(admin.join("css/base.css")).expect("admin css"),
        ),
        (
            "core.js".into(),
            fs::read(admin.join("js/core.js")).expect("admin js"),
        ),
        (
            "icon-addlink.svg".into(),
            fs::read(admin.join("img/icon-addlink.svg")).expect("admin svg"),
        ),
        (
            "relative.png".into(),
            fs::read(
                env.fixtures()
                    .join("project/documents/cached/img/relative.png"),
            )
            .expect("png"),
        ),
        (
            "tiny.css".into(),
            b"body { background-color: white; font-family: sans-serif; }\n".to_vec(),
        ),
        ("hi.css".into(), b"hi".to_vec()),
        ("empty.js".into(), Vec::new()),
        ("SHOUT.PNG.txt".into(), b"a".repeat(1000)),
        ("movie.MP4".into(), b"a".repeat(1000)),
    ];
    inputs.sort();
    let mut decided: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, bytes) in &inputs {
        fs::write(src.join(name), bytes).expect("write input");
        let mut suffixes = Vec::new();
        for (encoding, data) in compress::compress(name, bytes, &Codecs::default()) {
            suffixes.push(format!("{name}{}", encoding.suffix()));
            fs::write(ours.join(format!("{name}{}", encoding.suffix())), data)
                .expect("write output");
            assert!(matches!(encoding, Encoding::Brotli | Encoding::Gzip));
        }
        suffixes.sort();
        decided.insert(name.clone(), suffixes);
    }
    let output = run(Command::new(&env.python)
        .args(["-c", COMPRESS_PY])
        .arg(&src)
        .arg(&ours));
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    // {"produced": {"name": ["name.br", ...], ...}, "same_bytes": {...}}
    let produced_json = stdout
        .split_once("\"produced\": {")
        .and_then(|(_, rest)| rest.split_once("}, \"same_bytes\""))
        .map(|(p, _)| p)
        .expect("compress.py output shape");
    let mut theirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in produced_json.split("], ") {
        let (name, list) = entry.split_once(": [").expect("entry shape");
        let list = list.trim_end_matches(']');
        theirs.insert(
            name.trim_matches('"').to_string(),
            list.split(", ")
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_matches('"').to_string())
                .collect(),
        );
    }
    assert_eq!(decided, theirs, "whitenoise decided differently");
    assert_eq!(decided["tiny.css"], ["tiny.css.br"]);
    assert!(decided["base.css"].len() == 2 && decided["relative.png"].is_empty());
    // Byte equality is not required (any valid stream works); show it for the record.
    eprintln!("byte-identical to whitenoise's output: {}", stdout.trim());
}

#[test]
fn gzip_output_decompresses_in_rust_too() {
    let data = b"x".repeat(5000);
    let gz = compress::gzip(&data);
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut back)
        .expect("valid gzip");
    assert_eq!(back, data);
}
