//! ES-module bundle nodes: a script bundle whose members are ES modules (a member uses
//! `import`/`export`, or the definition says so: `entry`/`format`, a `static-bundles.json`
//! bundle of `.es6.js` files) is bundled as a module graph by `sluice-esm` instead of
//! joined as django-pipeline joins scripts — members are the entries, run in order; relative
//! imports and packages from `node_modules` are followed; unused exports are dropped.
//!
//! Every file the bundler read is an input of the node: a collected file by its logical
//! path (its stamp as any bundle input's), a file outside the sources (a package in
//! `node_modules`) by its absolute path with its fingerprint — so an edit to any module the
//! bundle was made from, in the sources or not, makes the node stale.
//!
//! A stale node's result is looked for in the cache first ([`recall`]): by its entries and
//! settings ([`action_key`]), then by every file the bundler read last time for them, so an
//! edit undone or a profile or branch switched back runs neither rolldown nor the minifier.
//!
//! The variants are the bundle node's: `Dev` unminified with a map, `Minified` minified with
//! a map, `Plain` unminified without one. Each map has one source per original module (with
//! its text).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sluice_assets::Error;
use sluice_assets::bundle::OutputFile;
use sluice_core::bundles::{BundleDef, BundleKind, ModuleMode};
use sluice_core::sources::Index;

use super::Pool;
use super::bundle::{Shared, Variant};
use crate::record::Key;

/// Whether `def` is an ES-module bundle. Members whose text had to be read to tell are kept
/// in `bytes` (the concatenating rule takes them from there: each is read once).
pub fn is_module_bundle(
    def: &BundleDef,
    listed: &[String],
    pool: &Pool,
    bytes: &Mutex<HashMap<String, Vec<u8>>>,
) -> bool {
    if def.kind != BundleKind::Js {
        return false;
    }
    if def.modules.mode == ModuleMode::Always {
        return true;
    }
    listed.iter().any(|member| {
        let Ok(text) = pool.read(member) else {
            return false;
        };
        let module = std::str::from_utf8(&text).is_ok_and(|t| sluice_esm::uses_modules(t, member));
        bytes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(member.clone(), text);
        module
    })
}

/// The stamp of a bundle input: a collected file's (logical path), or the fingerprint of a
/// file outside the sources (absolute path).
pub fn stamp(pool: &Pool, input: &str) -> Option<Key> {
    if input.starts_with('/') {
        return sluice_core::sources::remote::fingerprint(Path::new(input))
            .map(|m| Key::of_meta(&m));
    }
    pool.stamp(input)
}

/// The logical path of a file on disk when it is the collected source of that path.
pub fn logical_of(index: &Index, path: &Path) -> Option<String> {
    index.roots().iter().find_map(|root| {
        let rel = sluice_core::sources::relative(path, &root.path)?;
        let logical = root.logical(&rel);
        (index.files.get(&logical)?.path == path).then_some(logical)
    })
}

/// What a module bundle became.
pub struct Made {
    /// The bundle, then its map.
    pub files: Vec<OutputFile>,
    /// Every input it read: logical paths, then absolute paths of files outside the sources.
    pub inputs: Vec<String>,
    /// The bundler's warnings.
    pub warnings: Vec<Error>,
    /// Every file the bundler read, absolute.
    pub read: Vec<PathBuf>,
    /// When the bundler started (a file changed since may have been read half-way).
    pub started: std::time::SystemTime,
}

/// Builds a module bundle.
pub fn build(
    def: &BundleDef,
    listed: &[String],
    pool: &Pool,
    shared: &Shared,
) -> Result<Made, Error> {
    let bundle_error = |message: String| Error::Bundle {
        bundle: def.label(),
        origin: def.origin.to_string(),
        message,
    };
    let mut entries = Vec::with_capacity(listed.len());
    for member in listed {
        // A compiled member (`js/x.js` from `js/x.ts`) is bundled from its source: the
        // bundler compiles TypeScript and JSX itself, and maps to the original.
        let source = pool
            .compiled
            .get(member)
            .map_or(member.as_str(), |c| c.source.as_str());
        match (shared.source_file)(source) {
            Some(path) if pool.sources.contains_key(source) => entries.push(path),
            _ => return Err(bundle_error(format!("{member}: not in the sources"))),
        }
    }
    let map = !matches!(shared.variant, Variant::Plain);
    let file_name = def
        .output
        .rsplit('/')
        .next()
        .unwrap_or(&def.output)
        .to_string();
    let request = sluice_esm::Request {
        entries,
        cwd: shared.project_dir.to_path_buf(),
        node_modules: sluice_core::node_modules::nearest(shared.project_dir)
            .into_iter()
            .collect(),
        format: def.modules.format,
        minify: matches!(shared.variant, Variant::Minified(_)),
        // The project's browsers, as for every minified bundle; dev and plain bundles are
        // for the browser at hand.
        targets: match shared.variant {
            Variant::Minified(m) => m.targets.engine_names(),
            _ => Vec::new(),
        },
        file_name: file_name.clone(),
        map,
    };
    let folder = def.output.rsplit_once('/').map_or("", |(d, _)| d);
    let name = |path: &Path| match (shared.logical_of)(path) {
        Some(logical) => relative_url(folder, &logical),
        None => outside_name(shared.project_dir, path),
    };
    let started = std::time::SystemTime::now();
    let bundled = sluice_esm::bundle(&request, &name).map_err(|e| match e {
        sluice_esm::Error::At {
            file,
            line,
            column,
            message,
            source_line,
        } => Error::Syntax {
            file: file.display().to_string(),
            line,
            column,
            message,
            source_line,
        },
        sluice_esm::Error::Other(message) => bundle_error(message),
    })?;
    let mut inputs: Vec<String> = listed.to_vec();
    for module in &bundled.modules {
        let input =
            (shared.logical_of)(module).unwrap_or_else(|| module.to_string_lossy().into_owned());
        if !inputs.contains(&input) {
            inputs.push(input);
        }
    }
    let mut files = vec![(def.output.clone(), bundled.code.into_bytes())];
    if let Some(map) = bundled.map {
        files.push((format!("{}.map", def.output), map.into_bytes()));
    }
    let warnings = bundled.warnings.into_iter().map(bundle_error).collect();
    Ok(Made {
        files,
        inputs,
        warnings,
        read: bundled.modules,
        started,
    })
}

/// The action key of a module bundle (in the cache's actions, so that a bundle made once is
/// not made again for the same inputs, whatever the profile, branch or output root that asks):
/// the rules' version, the variant (a minified one's browsers), the definition, the project
/// folder and its `node_modules`, and each entry by logical path, file and md5. What the
/// bundler read besides decides which result it is ([`remember`], [`recall`]).
pub fn action_key(def: &BundleDef, listed: &[String], pool: &Pool, shared: &Shared) -> Key {
    let mut parts: Vec<Vec<u8>> = vec![
        b"esm bundle".to_vec(),
        crate::cache::RULES_VERSION.as_bytes().to_vec(),
        shared.variant.key().into_bytes(),
        super::bundle::def_key(def).into_bytes(),
        shared.project_dir.as_os_str().as_encoded_bytes().to_vec(),
    ];
    if let Some(dir) = sluice_core::node_modules::nearest(shared.project_dir) {
        parts.push(dir.as_os_str().as_encoded_bytes().to_vec());
    }
    for member in listed {
        let source = pool
            .compiled
            .get(member)
            .map_or(member.as_str(), |c| c.source.as_str());
        parts.push(member.clone().into_bytes());
        let path = (shared.source_file)(source);
        parts.push(
            path.as_ref()
                .map_or_else(Vec::new, |p| p.as_os_str().as_encoded_bytes().to_vec()),
        );
        let md5 = pool
            .known_md5(source)
            .or_else(|| Some(Key::of(&std::fs::read(path.as_ref()?).ok()?)));
        parts.push(md5.map_or_else(Vec::new, |k| k.0.to_vec()));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Key::derive(&refs)
}

/// What an action records of one input: for a file, the md5 of its bytes and the name the
/// bundle's map gives it (its logical path when it is a collected source, which the roots
/// decide); for a folder of one, its entries' names (a file appearing there can change what
/// an import resolves to). `None` when it cannot be read.
fn input_key(path: &Path, shared: &Shared) -> Option<Key> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        let mut names: Vec<Vec<u8>> = std::fs::read_dir(path)
            .ok()?
            .flatten()
            .map(|e| e.file_name().as_encoded_bytes().to_vec())
            .collect();
        names.sort();
        let mut parts: Vec<&[u8]> = vec![b"folder"];
        parts.extend(names.iter().map(Vec::as_slice));
        return Some(Key::derive(&parts));
    }
    let md5 = Key::of(&std::fs::read(path).ok()?);
    let name = (shared.logical_of)(path).unwrap_or_default();
    Some(Key::derive(&[b"file", &md5.0, name.as_bytes()]))
}

/// The key of a module bundle's result: its [`action_key`] and what each of `inputs` holds
/// now ([`input_key`]); `None` when one cannot be read.
fn result_key(key: &Key, inputs: &[PathBuf], shared: &Shared) -> Option<Key> {
    let mut parts: Vec<Vec<u8>> = vec![b"esm result".to_vec(), key.0.to_vec()];
    for path in inputs {
        parts.push(path.as_os_str().as_encoded_bytes().to_vec());
        parts.push(input_key(path, shared)?.0.to_vec());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Some(Key::derive(&refs))
}

/// Keeps what building a module bundle gave: under `key` the list of what the bundler read
/// (every module and their folders), and the outputs under the [`result_key`] of that list,
/// so that any set of inputs seen before finds its result again (an edit undone, a branch
/// switched back) — unless a module changed while the bundler ran (its bytes then may not be
/// what was bundled).
pub fn remember(
    cache: &crate::cache::Cache,
    key: &Key,
    made: &Made,
    outputs: &[(String, crate::record::BlobRef)],
    shared: &Shared,
) {
    use std::os::unix::fs::MetadataExt;
    let tick = std::time::Duration::from_millis(20);
    let mut paths: Vec<PathBuf> = made.read.clone();
    paths.extend(
        made.read
            .iter()
            .filter_map(|p| p.parent().map(Path::to_path_buf)),
    );
    paths.sort();
    paths.dedup();
    for path in &made.read {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let changed = std::time::UNIX_EPOCH
            + std::time::Duration::new(
                u64::try_from(meta.ctime()).unwrap_or(0),
                u32::try_from(meta.ctime_nsec()).unwrap_or(0),
            );
        if changed + tick >= made.started {
            return;
        }
    }
    let Some(result) = result_key(key, &paths, shared) else {
        return;
    };
    let read = crate::cache::Action {
        inputs: paths.into_iter().map(|p| (p, Key([0; 16]))).collect(),
        outputs: Vec::new(),
    };
    let made = crate::cache::Action {
        inputs: Vec::new(),
        outputs: outputs.to_vec(),
    };
    // A cache that cannot keep an action costs a bundling next time, nothing more.
    let _ = cache
        .put_action(&result, &made)
        .and_then(|()| cache.put_action(key, &read));
}

/// A module bundle found in the cache: its outputs (by name), and its inputs as a node
/// records them.
pub type Recalled = (Vec<(String, crate::record::BlobRef)>, Vec<String>);

/// A module bundle kept for `key` and the inputs it read as they are now: its outputs, and
/// its inputs as a node records them (`listed`, then the modules read, by logical path or
/// absolute path).
pub fn recall(
    cache: &crate::cache::Cache,
    key: &Key,
    listed: &[String],
    shared: &Shared,
) -> Option<Recalled> {
    let read: Vec<PathBuf> = cache
        .action(key)?
        .inputs
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let found = cache.action(&result_key(key, &read, shared)?)?;
    if found.outputs.is_empty() || !found.outputs.iter().all(|(_, b)| cache.has(b)) {
        return None;
    }
    let mut inputs: Vec<String> = listed.to_vec();
    for path in &read {
        if path.is_dir() {
            continue;
        }
        let input =
            (shared.logical_of)(path).unwrap_or_else(|| path.to_string_lossy().into_owned());
        if !inputs.contains(&input) {
            inputs.push(input);
        }
    }
    Some((found.outputs, inputs))
}

/// The URL of the collected file `logical` from the folder `from` (both logical, `/`-
/// separated): `js/BUNDLES` to `js/base/site.js` is `../base/site.js`.
pub fn relative_url(from: &str, logical: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = logical.split('/').collect();
    let common = from
        .iter()
        .zip(&to)
        .take_while(|(a, b)| a == b)
        .count()
        .min(to.len().saturating_sub(1));
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

/// How a module outside the sources is named in a map: by its path in the project
/// (`sluice:///node_modules/lodash-es/debounce.js`), a name no server is asked for (the map
/// carries its text).
fn outside_name(project: &Path, path: &Path) -> String {
    let shown: PathBuf = path
        .strip_prefix(project)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf);
    let shown = shown.to_string_lossy().replace('\\', "/");
    format!("sluice:///{}", shown.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_sources_are_urls_from_the_bundles_folder() {
        assert_eq!(
            relative_url("js/BUNDLES", "js/base/site.js"),
            "../base/site.js"
        );
        assert_eq!(relative_url("js", "js/a.js"), "a.js");
        assert_eq!(relative_url("", "js/a.js"), "js/a.js");
        assert_eq!(relative_url("a/b", "c.js"), "../../c.js");
        assert_eq!(relative_url("js/a", "js/a"), "../a");
    }

    #[test]
    fn outside_files_are_named_by_their_place_in_the_project() {
        assert_eq!(
            outside_name(Path::new("/p"), Path::new("/p/node_modules/x/y.js")),
            "sluice:///node_modules/x/y.js"
        );
        assert_eq!(
            outside_name(Path::new("/p"), Path::new("/elsewhere/z.js")),
            "sluice:///elsewhere/z.js"
        );
    }
}
