//! Reading a Django project's static-files settings through the project's own Python.
//!
//! One interpreter start imports the settings (`django.setup()`) and reports `STATIC_ROOT`,
//! `STATIC_URL`, `STATICFILES_DIRS`, the installed apps' `static/` folders, the storage backend,
//! `PIPELINE` and the template folders. The answer is cached in `.sluice/` together with the fingerprints of every file
//! the settings imported or opened and every environment variable they read, so the next run
//! pays one `stat` per such file instead of a Python start (~0.3 s).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::sources::FileMeta;

const SCRIPT: &str = include_str!("django_query.py");
const MARKER: &str = "SLUICE-DJANGO-JSON:";

/// What Django reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DjangoSettings {
    pub django_version: String,
    pub settings_file: Option<PathBuf>,
    pub static_root: Option<PathBuf>,
    pub static_url: Option<String>,
    /// `(prefix, folder)` in `STATICFILES_DIRS` order.
    pub staticfiles_dirs: Vec<(Option<String>, PathBuf)>,
    /// `(app label, app/static)` in `INSTALLED_APPS` order, for apps that have one.
    pub app_static_dirs: Vec<(String, PathBuf)>,
    pub finders: Vec<String>,
    pub storage: Option<String>,
    pub ignore_patterns: Vec<String>,
    pub pipeline: Option<serde_json::Value>,
    pub installed_apps: Vec<String>,
    /// `DEBUG` (django-pipeline's `PIPELINE_ENABLED` defaults to `not DEBUG`).
    #[serde(default)]
    pub debug: Option<bool>,
    /// Each of `STATICFILES_FINDERS`, as collectstatic would use it.
    #[serde(default)]
    pub finder_kinds: Vec<FinderInfo>,
    /// What the `staticfiles` storage class does (`None`: no storage named).
    #[serde(default)]
    pub storage_features: Option<StorageFeatures>,
    /// Every installed app's folder (an app's `static/` appearing later must be noticed).
    #[serde(default)]
    pub app_paths: Vec<PathBuf>,
    /// The folders the template engines load from (`TEMPLATES` `DIRS`, and each app's
    /// `templates/` or `jinja2/` with `APP_DIRS`), in the engines' order.
    #[serde(default)]
    pub template_dirs: Vec<PathBuf>,
    /// `ALLOWED_HOSTS` (`sluice dev` answers these besides loopback names).
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
}

/// One of `STATICFILES_FINDERS`, told apart by what it subclasses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinderInfo {
    /// Its dotted path, as the settings name it.
    pub class: String,
    /// `filesystem` (`STATICFILES_DIRS`), `app_directories` (each app's `static/`),
    /// `pipeline` (django-pipeline's finders of bundle outputs: nothing to walk),
    /// `default_storage`, or `unknown`.
    pub kind: String,
    /// Patterns it ignores besides everyone's (django-pipeline's filtering finders).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Why it could not be imported.
    #[serde(default)]
    pub error: Option<String>,
}

/// What the `staticfiles` storage class is a kind of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageFeatures {
    /// Django's hashed names (`HashedFilesMixin`: `ManifestStaticFilesStorage` and kin).
    #[serde(default)]
    pub hashed: bool,
    /// whitenoise's compressed copies (`.gz` and `.br`).
    #[serde(default)]
    pub compressed: bool,
    /// django-pipeline's `GZIPMixin` (`.gz` copies).
    #[serde(default)]
    pub gzip: bool,
    /// `WHITENOISE_KEEP_ONLY_HASHED_FILES` with whitenoise's manifest storage.
    #[serde(default)]
    pub keep_only_hashed: bool,
    /// Why the class could not be imported.
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    answer: DjangoSettings,
    files: Vec<PathBuf>,
    env: BTreeMap<String, Option<String>>,
}

/// Bumped when the answer's meaning changes: an older cache is asked again.
const CACHE_VERSION: u32 = 5;

#[derive(Serialize, Deserialize)]
struct CacheFile {
    #[serde(default)]
    version: u32,
    python: String,
    module: String,
    /// The project folder it was asked in (absolute): a copied or moved project, whose
    /// `.sluice/` came along, asks Django again, for its own folders.
    #[serde(default)]
    project: PathBuf,
    files: Vec<(PathBuf, Option<FileMeta>)>,
    env: BTreeMap<String, Option<String>>,
    answer: DjangoSettings,
}

/// The settings module named in `manage.py` (`os.environ.setdefault("DJANGO_SETTINGS_MODULE", …)`).
pub fn settings_module_from_manage_py(text: &str) -> Option<String> {
    let re =
        regex::Regex::new(r#"DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]"#).ok()?;
    re.captures(text).map(|c| c[1].to_owned())
}

fn fingerprint(path: &Path) -> Option<FileMeta> {
    std::fs::metadata(path).ok().map(|m| FileMeta::of(&m))
}

fn cache_path(state_dir: &Path, python: &str, module: &str) -> PathBuf {
    let key = xxhash_rust::xxh3::xxh3_64(format!("{python}\0{module}").as_bytes());
    state_dir.join(format!("django-{key:016x}.json"))
}

fn cached(path: &Path, python: &str, module: &str, project: &Path) -> Option<DjangoSettings> {
    let cache: CacheFile = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let fresh = cache.version == CACHE_VERSION
        && cache.python == python
        && cache.module == module
        && cache.project == project
        && cache.files.iter().all(|(f, meta)| fingerprint(f) == *meta)
        && cache
            .env
            .iter()
            .all(|(k, v)| std::env::var(k).ok().as_deref() == v.as_deref())
        && app_folders_unchanged(&cache.answer);
    fresh.then_some(cache.answer)
}

/// Whether each installed app still has (or still lacks) the `static/` folder the answer
/// says: an app's `static/` folder that appears or goes changes the roots, though no file the
/// settings read changed.
fn app_folders_unchanged(answer: &DjangoSettings) -> bool {
    answer.app_paths.iter().all(|app| {
        let static_dir = app.join("static");
        let known = answer.app_static_dirs.iter().any(|(_, d)| *d == static_dir);
        static_dir.is_dir() == known
    })
}

/// Whether the answer came from the cache (for `sluice config` and `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Cached,
    Asked,
}

/// Asks `python` for the settings `module`, running in `project_dir`; cached in `state_dir`.
pub fn load(
    python: &str,
    module: &str,
    project_dir: &Path,
    state_dir: &Path,
) -> Result<(DjangoSettings, Freshness)> {
    let cache = cache_path(state_dir, python, module);
    let project = std::path::absolute(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    if let Some(answer) = cached(&cache, python, module, &project) {
        return Ok((answer, Freshness::Cached));
    }
    let failed = |detail: String| Error::Django {
        module: module.to_owned(),
        python: python.to_owned(),
        detail,
    };
    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .current_dir(project_dir)
        .env("DJANGO_SETTINGS_MODULE", module)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| {
            failed(format!(
                "could not start it: {e}; set `python = \"…\"` in sluice.toml or activate the project's virtualenv"
            ))
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix(MARKER));
    let Some(line) = line.filter(|_| out.status.success()) else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(failed(tail.join("\n")));
    };
    let reply: Reply =
        serde_json::from_str(line).map_err(|e| failed(format!("unexpected answer: {e}")))?;
    let entry = CacheFile {
        version: CACHE_VERSION,
        python: python.to_owned(),
        module: module.to_owned(),
        project,
        files: reply
            .files
            .iter()
            .map(|f| (f.clone(), fingerprint(f)))
            .collect(),
        env: reply.env,
        answer: reply.answer.clone(),
    };
    if let Ok(bytes) = serde_json::to_vec(&entry) {
        // A cache that cannot be written only costs the next run a Python start.
        let _ = write_atomic(&cache, &bytes);
    }
    Ok((reply.answer, Freshness::Asked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_settings_module_in_manage_py() {
        let text = r#"
def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')
"#;
        assert_eq!(
            settings_module_from_manage_py(text).as_deref(),
            Some("mysite.settings")
        );
        assert_eq!(settings_module_from_manage_py("print(1)"), None);
    }
}
