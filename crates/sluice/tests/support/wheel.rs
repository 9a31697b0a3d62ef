//! The `sluice` wheel, built by maturin from this checkout, and virtualenvs it is installed in.
//!
//! The wheel is built once per fingerprint of what goes into it (the workspace's Rust sources
//! and manifests, `pyproject.toml`, `python/`, `README.md`) and cached under
//! `<cache>/wheels/<fingerprint>/`. It is built with cargo's `dev` profile into the target
//! folder of this test run, so it reuses what `cargo test` compiled (only crates whose features
//! differ between the workspace build and `-p sluice` compile again) and a CI run pays a couple
//! of minutes for it, not a release build. maturin itself comes from PyPI, pinned, in a cached
//! virtualenv.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::{cache_dir, fnv1a64, run_or_panic, venv};

/// maturin, pinned (the build backend `pyproject.toml` names allows `>=1.9,<2`).
pub const MATURIN: &str = "maturin==1.16.0";

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// Every file under `dir` whose path passes `keep`, sorted, with `/` separators.
fn files_under(dir: &Path, rel: &str, keep: &dyn Fn(&str) -> bool, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" || name == "target" {
            continue;
        }
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&entry.path(), &path, keep, out),
            Ok(_) if keep(&path) => out.push(path),
            _ => {}
        }
    }
}

/// The fingerprint of what goes into the wheel.
pub fn fingerprint() -> String {
    let root = repo_root();
    let mut files = vec![
        "Cargo.toml".to_string(),
        "Cargo.lock".to_string(),
        "pyproject.toml".to_string(),
        "README.md".to_string(),
    ];
    files_under(
        &root.join("crates"),
        "crates",
        &|p| {
            let inside = p.split('/').nth(2);
            // Each crate's sources and manifest; not its tests, benches or examples.
            p.ends_with("/Cargo.toml") && p.split('/').count() == 3
                || inside == Some("src")
                || p.ends_with("/build.rs")
        },
        &mut files,
    );
    files_under(
        &root.join("python"),
        "python",
        &|p| !p.ends_with(".pyc"),
        &mut files,
    );
    files.sort();
    let mut text = Vec::new();
    for file in &files {
        text.extend_from_slice(file.as_bytes());
        text.push(0);
        text.extend_from_slice(&fs::read(root.join(file)).unwrap_or_default());
        text.push(0);
    }
    format!("{:016x}", fnv1a64(&text))
}

/// The cargo target folder of this test run (`<target>/debug/sluice` is the binary under test).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sluice"))
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>/sluice")
        .to_path_buf()
}

/// The wheel's path, built if this fingerprint has none yet.
pub fn wheel() -> PathBuf {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    let dir = cache_dir().join("wheels").join(fingerprint());
    if let Some(wheel) = find_wheel(&dir) {
        used(&dir);
        return wheel;
    }
    prune_unused();
    let maturin = super::venv_dir(&venv(&[MATURIN]))
        .join("bin")
        .join("maturin");
    let staging = dir.with_extension(format!("build-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    run_or_panic(
        Command::new(&maturin)
            .args(["build", "--profile", "dev", "--strip", "--out"])
            .arg(&staging)
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(repo_root())
            .env_remove("CARGO_TARGET_DIR"),
        "maturin build (the sluice wheel)",
    );
    fs::create_dir_all(dir.parent().unwrap()).unwrap();
    // Publish in one rename; a concurrent builder's identical wheel may have won.
    if fs::rename(&staging, &dir).is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    find_wheel(&dir).unwrap_or_else(|| panic!("no wheel in {}", dir.display()))
}

/// Wheels (and the virtualenvs they are installed in) unused for this long are removed when
/// a new wheel is built: every checkout sharing the cache builds its own.
const UNUSED: std::time::Duration = std::time::Duration::from_secs(2 * 24 * 3600);

/// Marks a wheel's folder as used now.
fn used(dir: &Path) {
    let _ = filetime::set_file_mtime(dir, filetime::FileTime::now());
}

fn unused(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > UNUSED)
}

/// Removes wheels unused for [`UNUSED`], then the virtualenvs whose wheel is gone.
fn prune_unused() {
    let wheels = cache_dir().join("wheels");
    for entry in fs::read_dir(&wheels).into_iter().flatten().flatten() {
        if unused(&entry.path()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    let venvs = cache_dir().join("venvs");
    let wheels = wheels.to_string_lossy().into_owned();
    for entry in fs::read_dir(&venvs).into_iter().flatten().flatten() {
        let link = entry.path();
        let Ok(key) = fs::read_to_string(link.join("sluice-test-key.txt")) else {
            continue;
        };
        let gone = key
            .lines()
            .any(|l| l.starts_with(&wheels) && !Path::new(l).exists());
        if gone
            && fs::symlink_metadata(&link).is_ok_and(|m| m.is_symlink())
            && let Ok(target) = fs::canonicalize(&link)
        {
            let _ = fs::remove_file(&link);
            let _ = fs::remove_dir_all(target);
        }
    }
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
}

/// The `python` of a cached virtualenv with the wheel installed beside `requirements`.
pub fn wheel_venv(requirements: &[&str]) -> PathBuf {
    let wheel = wheel();
    let wheel = wheel.to_string_lossy().into_owned();
    let mut all: Vec<&str> = requirements.to_vec();
    all.push(&wheel);
    venv(&all)
}
