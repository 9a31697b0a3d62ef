//! Keeps `sluice.json` (see `sluice_assets::integrity`) in the output root: after a dev-profile
//! pass (`sync`, `watch`, `dev`) the bundles without digests, after `sluice build` the bundles
//! and the `sha384` of every stylesheet and script under the name the storage serves.
//!
//! Thin I/O around `sluice_assets::integrity`. A run with nothing to change opens no file in
//! the output: `.sluice/app-record-*.json` remembers what was written last (its size and mtime,
//! and a hash of the bundle list), and a build that wrote nothing need not digest anything.
//! A `sluice.json` that sluice did not write is left alone (reported) unless `--force`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sluice_assets::build::BuildReport;
use sluice_assets::integrity::{Profile, RECORD_NAME, Record, takes_integrity};
use sluice_core::Error;
use sluice_core::config::Config;
use sluice_core::output::write_atomic;
use sluice_core::sources::FileMeta;

/// What `.sluice/` remembers of the last record written.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Written {
    profile: Profile,
    /// xxh3 of the record's text without digests: the bundle list.
    bundles: u64,
    meta: FileMeta,
}

fn state_path(config: &Config) -> PathBuf {
    let key = xxhash_rust::xxh3::xxh3_64(config.output.value.as_os_str().as_encoded_bytes());
    config.state_dir.join(format!("app-record-{key:016x}.json"))
}

fn stat(path: &Path) -> Option<FileMeta> {
    std::fs::metadata(path).ok().map(|m| FileMeta::of(&m))
}

fn last_written(config: &Config) -> Option<Written> {
    serde_json::from_slice(&std::fs::read(state_path(config)).ok()?).ok()
}

/// The warning for a `sluice.json` in the output that sluice did not write.
fn foreign(path: &Path) -> String {
    format!(
        "{} was not written by sluice: left alone, so sluice's Django tags cannot see this output's bundles (move it away, or pass --force)",
        path.display()
    )
}

/// The record on disk, when sluice wrote it; `Err(warning)` for another program's file.
fn previous(path: &Path, vouched: bool, force: bool) -> Result<Option<Record>, String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    match Record::parse(&bytes) {
        Some(record) => Ok(Some(record)),
        None if vouched || force => Ok(None),
        None => Err(foreign(path)),
    }
}

fn write(config: &Config, path: &Path, record: &Record, bundles: u64) -> Result<(), Error> {
    write_atomic(path, record.to_json().as_bytes()).map_err(|e| Error::io("write", path, e))?;
    if let Some(meta) = stat(path) {
        let written = Written {
            profile: record.profile,
            bundles,
            meta,
        };
        // Without this note the next run only reads the record once more.
        let _ = std::fs::create_dir_all(&config.state_dir);
        let _ = write_atomic(
            &state_path(config),
            &serde_json::to_vec(&written).unwrap_or_default(),
        );
    }
    Ok(())
}

fn bundles_key(record: &Record) -> u64 {
    xxhash_rust::xxh3::xxh3_64(record.to_json().as_bytes())
}

/// After a dev-profile pass: the bundles, no digests. `Ok(Some(warning))` when a foreign
/// `sluice.json` is in the way. Nothing is written for a project without bundles and no
/// record yet.
pub fn after_dev_pass(config: &Config, force: bool) -> Result<Option<String>, Error> {
    let path = config.output.value.join(RECORD_NAME);
    let record = Record::new(Profile::Dev, &config.bundles);
    let key = bundles_key(&record);
    let current = stat(&path);
    if current.is_none() && config.bundles.is_empty() {
        return Ok(None);
    }
    let last = last_written(config);
    let vouched = last
        .as_ref()
        .is_some_and(|w| Some(&w.meta) == current.as_ref());
    if vouched && last.is_some_and(|w| w.profile == Profile::Dev && w.bundles == key) {
        return Ok(None);
    }
    if current.is_some()
        && let Err(warning) = previous(&path, vouched, force)
    {
        return Ok(Some(warning));
    }
    write(config, &path, &record, key).map(|()| None)
}

/// After a successful `sluice build`: the bundles, and the digest of every `*.css`/`*.js`/
/// `*.mjs` output under the name the storage serves (from `staticfiles.json` when `hashed`).
pub fn after_build(
    config: &Config,
    report: &BuildReport,
    hashed: bool,
    force: bool,
) -> Result<Option<String>, Error> {
    let output = &config.output.value;
    let path = output.join(RECORD_NAME);
    let mut record = Record::new(Profile::Build, &config.bundles);
    let key = bundles_key(&record);
    let current = stat(&path);
    let last = last_written(config);
    let vouched = last
        .as_ref()
        .is_some_and(|w| Some(&w.meta) == current.as_ref());
    let untouched = report.written == 0 && report.removed == 0;
    if untouched && vouched && last.is_some_and(|w| w.profile == Profile::Build && w.bundles == key)
    {
        return Ok(None);
    }
    let previous = match current {
        Some(_) => match previous(&path, vouched, force) {
            Ok(previous) => previous,
            Err(warning) => return Ok(Some(warning)),
        },
        None => None,
    };
    let names = if hashed {
        let manifest = output.join("staticfiles.json");
        let bytes = std::fs::read(&manifest).map_err(|e| Error::io("read", &manifest, e))?;
        manifest_names(&bytes).ok_or_else(|| {
            Error::config(format!("{} is not a Django manifest", manifest.display()))
        })?
    } else {
        let mut found = Vec::new();
        walk(output, "", &mut found);
        found.into_iter().map(|l| (l.clone(), l)).collect()
    };
    for (logical, name) in names.iter().filter(|(l, _)| takes_integrity(l)) {
        if let Some(digest) = previous
            .as_ref()
            .and_then(|p| p.known_digest(logical, name))
        {
            record.add_digest(logical, name, digest.to_string());
            continue;
        }
        let file = output.join(name);
        let bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
        record.add(logical, name, &bytes);
    }
    write(config, &path, &record, key).map(|()| None)
}

/// `staticfiles.json`'s `paths`: logical name → hashed name.
fn manifest_names(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    json.get("paths")?
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// The logical paths of the files under `dir` that a page can load with integrity (hidden
/// names skipped, as Django's default ignores do).
fn walk(dir: &Path, prefix: &str, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let logical = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{}", name)
        };
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), &logical, found),
            Ok(_) if takes_integrity(&logical) => found.push(logical),
            _ => {}
        }
    }
}
