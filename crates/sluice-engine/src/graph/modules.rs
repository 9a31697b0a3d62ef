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
    })
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
