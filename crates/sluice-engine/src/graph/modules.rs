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
    /// Every module file it read.
    pub modules: Vec<PathBuf>,
    /// The bundler's warnings.
    pub warnings: Vec<Error>,
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
    let inputs = node_inputs(listed, &bundled.modules, shared);
    let mut files = vec![(def.output.clone(), bundled.code.into_bytes())];
    if let Some(map) = bundled.map {
        files.push((format!("{}.map", def.output), map.into_bytes()));
    }
    let warnings = bundled.warnings.into_iter().map(bundle_error).collect();
    Ok(Made {
        files,
        inputs,
        modules: bundled.modules,
        warnings,
    })
}

/// The inputs of a module bundle's node: its members, then each module file it read by its
/// logical path (or its absolute path, outside the sources).
fn node_inputs(listed: &[String], modules: &[PathBuf], shared: &Shared) -> Vec<String> {
    let mut inputs: Vec<String> = listed.to_vec();
    for module in modules {
        let input =
            (shared.logical_of)(module).unwrap_or_else(|| module.to_string_lossy().into_owned());
        if !inputs.contains(&input) {
            inputs.push(input);
        }
    }
    inputs
}

/// The action key of a minified module bundle: its definition and variant (the browsers),
/// and the md5 of each entry's source. The other modules it reads are the action's
/// discovered inputs, checked by md5 ([`crate::cache::Cache::find_action`]).
pub fn action_key(def: &BundleDef, listed: &[String], pool: &Pool, shared: &Shared) -> Key {
    let mut parts: Vec<Vec<u8>> = vec![
        b"module bundle".to_vec(),
        crate::cache::RULES_VERSION.as_bytes().to_vec(),
        shared.variant.key().into_bytes(),
        super::bundle::def_key(def).into_bytes(),
    ];
    for member in listed {
        let source = pool
            .compiled
            .get(member)
            .map_or(member.as_str(), |c| c.source.as_str());
        let md5 = pool.sources.get(source).and_then(|f| {
            pool.known_md5(source)
                .or_else(|| std::fs::read(&f.path).ok().map(|b| Key::of(&b)))
        });
        parts.push(source.as_bytes().to_vec());
        parts.push(md5.map_or_else(Vec::new, |k| k.0.to_vec()));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Key::derive(&refs)
}

/// A bundle's files by name, as the cache keeps them.
type Outputs = Vec<(String, crate::record::BlobRef)>;

/// A module bundle found by `key` whose every module has the md5 it had: its outputs and
/// its node's inputs.
pub fn cached(
    key: &Key,
    listed: &[String],
    pool: &Pool,
    shared: &Shared,
) -> Option<(Outputs, Vec<String>)> {
    let cache = pool.cache;
    let md5_now = |p: &Path| input_now(&cache.local(p));
    let found = cache.find_action(key, &md5_now)?;
    if found.inputs.is_empty() || !found.outputs.iter().all(|(_, b)| cache.present(b)) {
        return None;
    }
    let modules: Vec<PathBuf> = (found.inputs.iter())
        .map(|(p, _)| cache.local(p))
        .filter(|p| !p.is_dir())
        .collect();
    Some((found.outputs, node_inputs(listed, &modules, shared)))
}

/// What an input of a module bundle's action holds now: a module's md5; for the folder of
/// one, a key of its entries' names — a file appearing beside a module can change what an
/// import resolves to (`./util` was `util/index.js`, and now `util.js` is there), so the
/// result is not taken then. `None` when it cannot be read.
fn input_now(path: &Path) -> Option<Key> {
    if path.is_dir() {
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
    std::fs::read(path).ok().map(|b| Key::of(&b))
}

/// Records what a module bundle was made of, for [`cached`]: each module, by its
/// [`crate::cache::Cache::portable`] path and md5, and each module's folder, by the names in
/// it ([`input_now`]).
pub fn record(key: &Key, made: &Made, outputs: &[(String, crate::record::BlobRef)], pool: &Pool) {
    let cache = pool.cache;
    let mut read: Vec<&Path> = made.modules.iter().map(PathBuf::as_path).collect();
    let mut folders: Vec<&Path> = made.modules.iter().filter_map(|m| m.parent()).collect();
    folders.sort();
    folders.dedup();
    read.extend(folders);
    let inputs: Option<Vec<(PathBuf, Key)>> = read
        .into_iter()
        .map(|m| Some((cache.portable(m), input_now(m)?)))
        .collect();
    // A module that went meanwhile: nothing to record. A cache that cannot keep an
    // action costs a bundle next time, nothing more.
    if let Some(inputs) = inputs {
        let _ = cache.put_action(
            key,
            &crate::cache::Action {
                inputs,
                outputs: outputs.to_vec(),
            },
        );
    }
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
