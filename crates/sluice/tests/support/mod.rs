//! Shared harness for sluice's integration tests: the sluice binary, a real
//! Python with Django in a cached virtualenv, and file-tree helpers for
//! comparing what sluice writes with what Django writes.
//!
//! Tests that need Django never skip: if no interpreter or no package can be
//! installed they panic with the reason, so a broken environment shows up red.
//!
//! Virtualenvs are cached under `~/.cache/sluice-tests/venvs/` (or
//! `$SLUICE_TEST_CACHE/venvs/`), one per interpreter + version + requirements.
//! A venv is built in a private folder and published by creating a symlink
//! named after its key; creating a symlink is atomic and fails if the name
//! exists, so concurrent test processes agree on one winner without locks, and
//! the venv is never moved after it is built (venvs are not relocatable).
#![allow(dead_code)]

pub mod browser;
pub mod compressed;
pub mod dev;
pub mod fuse;
pub mod moto;
pub mod wheel;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Which Django release line the chosen interpreter can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DjangoLine {
    /// Django 6.x, which needs Python >= 3.12.
    Django6,
    /// Django 5.2 LTS, the newest line Python 3.10/3.11 can install.
    Django52,
}

impl DjangoLine {
    /// The pip requirement that pins this line.
    pub fn requirement(self) -> &'static str {
        match self {
            DjangoLine::Django6 => "Django>=6.0,<7",
            DjangoLine::Django52 => "Django>=5.2,<5.3",
        }
    }
}

/// django-pipeline's current release, for the bundle tests: 4.1.0 declares Django up to 5.2
/// and has no Django pin; it installs and runs with Django 6.1 (proven by `tests/bundles.rs`).
pub const DJANGO_PIPELINE: &str = "django-pipeline==4.1.0";

/// The sluice binary built for this test run.
pub fn sluice() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_sluice"))
}

/// The Python to run Django with: a Python >= 3.12 when one works (`python3.13`,
/// `python3.12` on PATH, then `$(pyenv root)/versions/3.1[23]*`), with Django 6;
/// else `python3` with Django 5.2. The path returned is the interpreter's real
/// executable, not a shim. Decided once per test process.
pub fn python_for_django() -> (PathBuf, DjangoLine) {
    static CHOICE: OnceLock<(PathBuf, DjangoLine)> = OnceLock::new();
    CHOICE.get_or_init(choose_python).clone()
}

fn choose_python() -> (PathBuf, DjangoLine) {
    let mut candidates: Vec<PathBuf> = vec!["python3.13".into(), "python3.12".into()];
    if let Some(root) = pyenv_root() {
        let mut found: Vec<PathBuf> = fs::read_dir(root.join("versions"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("3.13") || name.starts_with("3.12")
            })
            .map(|e| e.path().join("bin").join("python"))
            .collect();
        found.sort();
        found.reverse(); // newest first
        candidates.extend(found);
    }
    for candidate in &candidates {
        if let Some((exe, (major, minor))) = probe_python(candidate)
            && (major, minor) >= (3, 12)
        {
            return (exe, DjangoLine::Django6);
        }
    }
    match probe_python(Path::new("python3")) {
        Some((exe, _)) => (exe, DjangoLine::Django52),
        None => panic!(
            "no working Python found for the Django tests: tried {candidates:?} and python3; \
             install python3 (3.10+) with the venv module"
        ),
    }
}

fn pyenv_root() -> Option<PathBuf> {
    let out = Command::new("pyenv").arg("root").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let root = String::from_utf8(out.stdout).ok()?;
    let root = root.trim();
    (!root.is_empty()).then(|| PathBuf::from(root))
}

/// Runs `python -c ...`; `Some((sys.executable, (major, minor)))` if it works.
/// pyenv shims for versions that are not selected exist on PATH but fail, so
/// being on PATH is not enough.
fn probe_python(python: &Path) -> Option<(PathBuf, (u32, u32))> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys; print(sys.executable); print(sys.version_info[0]); print(sys.version_info[1])",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let exe = PathBuf::from(lines.next()?.trim());
    let major = lines.next()?.trim().parse().ok()?;
    let minor = lines.next()?.trim().parse().ok()?;
    (!exe.as_os_str().is_empty()).then_some((exe, (major, minor)))
}

/// The cache folder: `$SLUICE_TEST_CACHE`, else `~/.cache/sluice-tests`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLUICE_TEST_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("sluice-tests"),
        None => std::env::temp_dir().join("sluice-tests"),
    }
}

/// The `python` of a cached virtualenv made with [`python_for_django`]'s
/// interpreter and `requirements` installed (pip requirement strings), creating
/// it if missing. Panics with pip's output if the install fails.
pub fn venv(requirements: &[&str]) -> PathBuf {
    // One build at a time in this process: tests asking for the same venv wait
    // for it instead of building it twice on a 2-core machine.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());

    let (interpreter, _) = python_for_django();
    let version = python_version(&interpreter);
    let mut key_text = format!("{}\n{}\n", interpreter.display(), version);
    for requirement in requirements {
        key_text.push_str(requirement);
        key_text.push('\n');
    }
    let key = format!("{:016x}", fnv1a64(key_text.as_bytes()));

    let venvs = cache_dir().join("venvs");
    fs::create_dir_all(&venvs)
        .unwrap_or_else(|e| panic!("cannot create venv cache {}: {e}", venvs.display()));
    let published = venvs.join(&key);
    if let Some(python) = ready_python(&published) {
        return python;
    }

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let build = venvs.join(format!("{key}.build-{}-{nanos}", std::process::id()));
    run_or_panic(
        Command::new(&interpreter).arg("-m").arg("venv").arg(&build),
        "creating the test virtualenv",
    );
    let build_python = build.join("bin").join("python");
    if !requirements.is_empty() {
        let mut pip = Command::new(&build_python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(requirements);
        if let Err(message) = run(&mut pip) {
            let _ = fs::remove_dir_all(&build);
            panic!(
                "pip could not install {requirements:?} with {} (is PyPI reachable?):\n{message}",
                interpreter.display()
            );
        }
    }
    fs::write(build.join("sluice-test-key.txt"), &key_text)
        .unwrap_or_else(|e| panic!("cannot write into {}: {e}", build.display()));

    // Publish: the first process to create the symlink wins; the others use it.
    let target = PathBuf::from(build.file_name().expect("build folder has a name"));
    match std::os::unix::fs::symlink(&target, &published) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_dir_all(&build);
        }
        Err(e) => panic!("cannot publish venv {}: {e}", published.display()),
    }
    ready_python(&published).unwrap_or_else(|| {
        panic!(
            "venv {} was published but has no working bin/python; delete it and retry",
            published.display()
        )
    })
}

/// `<venv>/bin/python` through the venv's real folder, if the venv is complete.
fn ready_python(published: &Path) -> Option<PathBuf> {
    let dir = fs::canonicalize(published).ok()?;
    let python = dir.join("bin").join("python");
    (dir.join("sluice-test-key.txt").is_file() && python.exists()).then_some(python)
}

fn python_version(interpreter: &Path) -> String {
    let out = Command::new(interpreter)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", interpreter.display()));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// FNV-1a, 64 bits: a cache key that stays the same across Rust releases.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The virtualenv folder of a venv's `bin/python`.
pub fn venv_dir(python: &Path) -> PathBuf {
    python
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not <venv>/bin/python", python.display()))
        .to_path_buf()
}

/// What `source <venv>/bin/activate` sets: `VIRTUAL_ENV`, and `PATH` with the
/// venv's `bin` first. Use with `Command::envs`.
pub fn venv_env(python: &Path) -> Vec<(&'static str, OsString)> {
    let dir = venv_dir(python);
    let mut paths = vec![dir.join("bin")];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    let path = std::env::join_paths(paths).expect("PATH entries contain no ':'");
    vec![("VIRTUAL_ENV", dir.into_os_string()), ("PATH", path)]
}

/// Runs a command to completion; `Err` holds a report with its output.
pub fn run(cmd: &mut Command) -> Result<std::process::Output, String> {
    match cmd.output() {
        Ok(out) if out.status.success() => Ok(out),
        Ok(out) => Err(format!(
            "{cmd:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("{cmd:?} could not start: {e}")),
    }
}

/// Runs a command to completion or panics with its output.
pub fn run_or_panic(cmd: &mut Command, what: &str) -> std::process::Output {
    run(cmd).unwrap_or_else(|report| panic!("{what} failed: {report}"))
}

/// Copies the folder `from` into `to` (created if missing), recursively.
/// Symlinks are followed: the copy holds regular files and folders only.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    let entries =
        fs::read_dir(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let meta =
            fs::metadata(&src).unwrap_or_else(|e| panic!("cannot stat {}: {e}", src.display()));
        if meta.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| {
                panic!("cannot copy {} to {}: {e}", src.display(), dst.display())
            });
        }
    }
}

/// The paths of every regular file under `root`, relative, with `/` separators.
pub fn tree_paths(root: &Path) -> Vec<String> {
    tree_files(root).into_keys().collect()
}

/// What sluice may leave on the way but not after a run: staging folders beside the output
/// `output` (and in the project folder `root`), `*.sluice-tmp` files in it, an intent journal
/// or temp file in `root/.sluice/` (named `.sluice/…`).
pub fn sluice_leftovers(root: &Path, output: &Path) -> Vec<String> {
    let names = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(root.is_dir(), "{} is not a folder", root.display());
    let mut beside = vec![root];
    if let Some(parent) = output.parent().filter(|p| *p != root) {
        beside.push(parent);
    }
    let mut found: Vec<String> = beside
        .into_iter()
        .flat_map(names)
        .filter(|n| n.contains("sluice-staging"))
        .collect();
    if output.is_dir() {
        found.extend(
            tree_files(output)
                .into_keys()
                .filter(|k| k.ends_with(".sluice-tmp")),
        );
    }
    found.extend(
        names(&root.join(".sluice"))
            .into_iter()
            .filter(|n| n.ends_with(".intent") || n.ends_with(".sluice-tmp"))
            .map(|n| format!(".sluice/{n}")),
    );
    found
}

/// Every regular file under `root` (symlinks followed), keyed by its path
/// relative to `root` with `/` separators. Panics if `root` is not a folder.
pub fn tree_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    assert!(root.is_dir(), "{} is not a folder", root.display());
    let mut files = BTreeMap::new();
    collect_files(root, "", &mut files);
    files
}

fn collect_files(dir: &Path, prefix: &str, files: &mut BTreeMap<String, Vec<u8>>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let Ok(meta) = fs::metadata(&path) else {
            continue; // dangling symlink: not a regular file
        };
        if meta.is_dir() {
            collect_files(&path, &key, files);
        } else if meta.is_file() {
            let bytes =
                fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            files.insert(key, bytes);
        }
    }
}

/// `len` bytes of xorshift noise from `seed` (incompressible, like image data).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The pids of the processes alive now (from `/proc`).
pub fn pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// `staticfiles.json`'s `paths`.
pub fn manifest_paths(bytes: &[u8]) -> BTreeMap<String, String> {
    let json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    json["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// [`assert_same_tree`] for two STATIC_ROOTs, `expected` from `collectstatic` with Django
/// `line`: Django 5.2 does not sort `staticfiles.json`, so there it is compared as a mapping.
pub fn assert_same_static_root(
    line: DjangoLine,
    expected_label: &str,
    mut expected: BTreeMap<String, Vec<u8>>,
    actual_label: &str,
    mut actual: BTreeMap<String, Vec<u8>>,
) {
    // sluice's record for its Django app is the one file collectstatic has no counterpart of.
    let record = actual
        .remove("sluice.json")
        .unwrap_or_else(|| panic!("{actual_label} has no sluice.json"));
    assert_record_digests(&record, &actual);
    if line == DjangoLine::Django52 {
        let e = expected.remove("staticfiles.json").unwrap();
        let a = actual.remove("staticfiles.json").unwrap();
        assert_eq!(manifest_paths(&e), manifest_paths(&a));
    }
    assert_same_tree(expected_label, &expected, actual_label, &actual);
}

/// Panics with a readable list of differences if the two trees differ:
/// files only on one side, and files whose bytes differ (with sizes).
pub fn assert_same_tree(
    expected_label: &str,
    expected: &BTreeMap<String, Vec<u8>>,
    actual_label: &str,
    actual: &BTreeMap<String, Vec<u8>>,
) {
    let only_expected: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let only_actual: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    let differing: Vec<&String> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .collect();
    if only_expected.is_empty() && only_actual.is_empty() && differing.is_empty() {
        return;
    }
    const SHOW: usize = 40;
    let mut report = format!(
        "file trees differ: {} files in {expected_label}, {} in {actual_label}\n",
        expected.len(),
        actual.len()
    );
    let mut section = |title: String, keys: &[&String], sizes: bool| {
        if keys.is_empty() {
            return;
        }
        let _ = writeln!(report, "{title} ({}):", keys.len());
        for key in keys.iter().take(SHOW) {
            if sizes {
                let _ = writeln!(
                    report,
                    "  {key}  ({} vs {} bytes)",
                    expected[*key].len(),
                    actual[*key].len()
                );
            } else {
                let _ = writeln!(report, "  {key}");
            }
        }
        if keys.len() > SHOW {
            let _ = writeln!(report, "  ... and {} more", keys.len() - SHOW);
        }
    };
    section(format!("only in {expected_label}"), &only_expected, false);
    section(format!("only in {actual_label}"), &only_actual, false);
    section(
        format!("bytes differ ({expected_label} vs {actual_label})"),
        &differing,
        true,
    );
    panic!("{report}");
}

/// Runs sluice with `args` in `dir` under `strace` and returns the files it opened (not
/// folders, not failed opens) whose path contains one of `parts`: how the tests prove that a
/// no-op run reads nothing.
pub fn files_opened(dir: &Path, args: &[&str], parts: &[&str]) -> Vec<String> {
    let trace = dir.join(".strace-opened.txt");
    let status = Command::new("strace")
        .args(["-f", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .status()
        .expect("strace runs (Debian package strace)");
    assert!(status.success(), "sluice {args:?} failed under strace");
    let text = fs::read_to_string(&trace).unwrap();
    let _ = fs::remove_file(&trace);
    text.lines()
        .filter(|l| !l.contains("O_DIRECTORY") && !l.contains("ENOENT"))
        .filter(|l| parts.iter().any(|p| l.contains(p)))
        .map(str::to_owned)
        .collect()
}

/// A project folder with `media/` as its source and `static/` as its output, configured by an
/// explicit `sluice.toml` (which keeps a stray `DJANGO_SETTINGS_MODULE` or a `manage.py` above
/// the temp folder out of the tests).
pub struct Project {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Project {
    /// With `media/<path>` files of the given text.
    pub fn new(files: &[(&str, &str)]) -> Project {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
        Project::with_bytes(&files)
    }

    /// With `media/<path>` files of the given bytes.
    pub fn with_bytes(files: &[(&str, &[u8])]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::write(
            root.join("sluice.toml"),
            "sources = [\"media\"]\noutput = \"static\"\n",
        )
        .unwrap();
        let project = Project { _dir: dir, root };
        for (path, bytes) in files {
            project.write(&format!("media/{path}"), bytes);
        }
        project
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        put(&self.root, rel, bytes);
    }

    /// Asks for these sources to be compiled: a `[compile]` table with `entries` added to
    /// `sluice.toml` (only what is asked for is compiled).
    pub fn compile_entries(&self, globs: &[&str]) {
        let path = self.root.join("sluice.toml");
        let mut text = fs::read_to_string(&path).unwrap_or_default();
        let list: Vec<String> = globs.iter().map(|g| format!("{g:?}")).collect();
        text.push_str(&format!("\n[compile]\nentries = [{}]\n", list.join(", ")));
        fs::write(path, text).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The state file in `.sluice/` whose name starts with `prefix` (`sync-`, `derived-`…).
    pub fn record_file(&self) -> Option<PathBuf> {
        fs::read_dir(self.path(".sluice"))
            .ok()?
            .map(|e| e.unwrap().path())
            .find(|f| f.extension().is_some_and(|e| e == "rec"))
    }

    /// Runs `sluice <args>` in the project, outside any virtualenv or Django settings.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        sluice()
            .args(args)
            .current_dir(&self.root)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap()
    }

    /// [`Project::run`], which must succeed (panics with its stderr otherwise).
    pub fn run_ok(&self, args: &[&str]) -> std::process::Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "sluice {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs `sluice <command> --format json <args>`: the exit code, the JSON event named after
    /// the command (`Null` when there is none, e.g. on a failure) and the process output.
    pub fn event(
        &self,
        command: &str,
        args: &[&str],
    ) -> (i32, serde_json::Value, std::process::Output) {
        let out = self.run(&[&[command, "--format", "json"], args].concat());
        let event = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == command)
            .unwrap_or(serde_json::Value::Null);
        (out.status.code().unwrap(), event, out)
    }
}

/// `python manage.py collectstatic --noinput` in `project` with `python`'s virtualenv active,
/// without the caller's `DJANGO_SETTINGS_MODULE`, `PYTHONPATH` and the `unset` variables, with
/// `env` added.
pub fn collectstatic(python: &Path, project: &Path, unset: &[&str], env: &[(&str, &OsStr)]) {
    let mut cmd = Command::new(python);
    cmd.args([
        "manage.py",
        "collectstatic",
        "--noinput",
        "--verbosity",
        "0",
    ])
    .current_dir(project)
    .envs(venv_env(python))
    .env("PYTHONDONTWRITEBYTECODE", "1");
    for name in ["DJANGO_SETTINGS_MODULE", "PYTHONPATH"].iter().chain(unset) {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    run_or_panic(&mut cmd, "collectstatic");
}

/// The example Django site shipped in `examples/site`.
pub fn example_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site")
}

/// The example site's requirements.txt, as pip requirement strings.
pub fn example_requirements() -> Vec<String> {
    let text = fs::read_to_string(example_site().join("requirements.txt")).unwrap();
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `python` of a cached virtualenv with the example site's requirements (and the Django
/// line [`python_for_django`] chose).
pub fn example_venv() -> PathBuf {
    let (_, line) = python_for_django();
    let mut requirements = example_requirements();
    requirements.push(line.requirement().to_owned());
    let requirements: Vec<&str> = requirements.iter().map(String::as_str).collect();
    venv(&requirements)
}

/// Copies the example site's sources, leaving out a developer's `.venv` and
/// `static/` from `scripts/example`.
pub fn copy_example_site(to: &Path) {
    let site = example_site();
    for entry in ["manage.py", "requirements.txt"] {
        fs::create_dir_all(to).unwrap();
        fs::copy(site.join(entry), to.join(entry)).unwrap();
    }
    for dir in ["examplesite", "pages", "media"] {
        copy_tree(&site.join(dir), &to.join(dir));
    }
}

/// The JSON objects a child prints on `stdout` (`--format json`), one per line, as they come;
/// other lines are skipped.
pub fn json_lines(
    stdout: std::process::ChildStdout,
) -> std::sync::mpsc::Receiver<serde_json::Value> {
    use std::io::BufRead;
    let (tx, events) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(value);
            }
        }
    });
    events
}

/// Writes `bytes` to `path`, creating its folders.
pub fn write_file(path: &Path, bytes: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// CSS long and repetitive enough to be worth compressing: `n` rules of class `name`.
pub fn compressible_css(name: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                ".{name}-{i} {{ margin: {i}px; color: #{:06x}; }}\n",
                i * 4099
            )
        })
        .collect()
}

/// Writes `bytes` to `root/rel`, creating its folders.
pub fn put(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    write_file(&root.join(rel), bytes);
}

/// `manage.py` of the generated Django projects (settings module `proj.settings`).
pub const PROJ_MANAGE_PY: &str = r#"#!/usr/bin/env python3
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"#;

/// `sha384-<base64>` of `bytes`, computed here (not by sluice) for the integrity checks.
pub fn sha384_sri(bytes: &[u8]) -> String {
    use sha2::Digest;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digest = sha2::Sha384::digest(bytes);
    // 48 bytes: whole 3-byte groups, no padding.
    let mut out = String::from("sha384-");
    for chunk in digest.chunks(3) {
        let v = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for i in 0..4 {
            out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// `sluice.json` of a build: every `*.css`/`*.js` of `tree` listed under the name it is
/// served as, with the sha384 of that file's bytes.
pub fn assert_record_digests(record: &[u8], tree: &BTreeMap<String, Vec<u8>>) {
    let record: serde_json::Value = serde_json::from_slice(record).expect("sluice.json is JSON");
    assert_eq!(record["sluice"], 1);
    assert_eq!(record["profile"], "build");
    let files = record["files"].as_object().expect("files");
    for (logical, entry) in files {
        let name = entry["name"].as_str().unwrap();
        let bytes = tree
            .get(name)
            .unwrap_or_else(|| panic!("sluice.json lists {name}, which is not in the output"));
        assert_eq!(entry["integrity"], sha384_sri(bytes), "{logical} as {name}");
    }
    let served: std::collections::BTreeSet<&str> = files
        .values()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for name in tree.keys() {
        let script = [".css", ".js", ".mjs"].iter().any(|s| name.ends_with(s));
        if script && !served.contains(name.as_str()) && !files.contains_key(name) {
            panic!("{name} is in the output but not in sluice.json");
        }
    }
}
