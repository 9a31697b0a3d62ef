//! The I/O side of bundling in `sluice build`: every bundle is assembled from the collected
//! files and its outputs are kept in `.sluice/bundles/` (rewritten only when their bytes
//! change), then added to the collected files, so the rest of the build treats them as any
//! source: hashed, rewritten, compressed, cached, listed in `staticfiles.json`.
//!
//! `.sluice/bundles/<key>/index.json` (one folder per settings, compilers, minifier and
//! output root) remembers, per bundle, its members and the fingerprint of
//! every file it read: a bundle whose members and inputs are unchanged is not assembled
//! again (no member is read). `datauri` bundles are always assembled (whether an image is
//! embedded depends on files that may appear).
//!
//! After a build that changed the index, [`prune`] removes what no bundle uses any more,
//! once older than an hour (the compression cache's rule).

use std::collections::{BTreeMap, HashMap};
use std::fs;

use md5::Digest;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sluice_core::bundles::{BundleDef, PipelineSettings};
use sluice_core::output::write_atomic;
use sluice_core::sources::{FileMeta, SourceFile};
use sluice_core::sync::output_path;

use super::{Context, Tree, assemble, finish, members};
use crate::build::{BuildError, BuildJob, read_source};

// 3: maps of compiled members lead to their source.
const INDEX_VERSION: u32 = 3;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    /// What every bundle was made with (settings, compilers, minifier, output root).
    key: String,
    bundles: BTreeMap<String, Entry>,
    /// The output root and whether bundles are minified: a folder of another key with the
    /// same two was made with a configuration since replaced (see [`prune`]).
    #[serde(default)]
    root: String,
    #[serde(default)]
    minified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    members: Vec<String>,
    inputs: Vec<(String, FileMeta)>,
    outputs: Vec<String>,
}

/// What identifies a bundle definition in a state file (its change rebuilds the bundle).
pub(crate) fn def_key(def: &BundleDef) -> String {
    format!(
        "{}\0{}\0{}\0{}\0{}",
        def.kind,
        def.name,
        def.output,
        def.files.join("\0"),
        def.datauri
    )
}

enum Built {
    Reused(Entry),
    New(Entry, Vec<super::OutputFile>, Vec<crate::Error>),
}

/// What [`add_bundles`] did.
#[derive(Debug, Default)]
pub(crate) struct Added {
    /// The outputs' names (bundles and their maps), in definition order.
    pub names: Vec<String>,
    /// Bundles assembled (and minified, when minifying) in this build; the others were
    /// unchanged and reused from `.sluice/bundles/`.
    pub built: usize,
    /// The minifier's warnings (dropped CSS), each naming the member file and line.
    pub warnings: Vec<crate::Error>,
}

/// A minifier's error or warning names a member by its `source` in the map (relative to
/// the bundle's folder); say which file that is. A compiled member is named by its source
/// (`css/x.scss`, not its output in `.sluice/compiled/`); when the compiler gave no map
/// (SCSS, LESS) the line and column are in the compiled CSS, and the message says so.
fn member_file(
    error: crate::Error,
    assembled: &super::Assembled,
    files: &BTreeMap<String, SourceFile>,
) -> crate::Error {
    match error {
        crate::Error::Syntax {
            file,
            line,
            column,
            mut message,
            source_line,
        } => {
            let Some(i) = assembled.spans.iter().position(|s| s.source == file) else {
                return crate::Error::Syntax {
                    file,
                    line,
                    column,
                    message,
                    source_line,
                };
            };
            let member = assembled.members.get(i);
            let source = assembled.sources.get(i);
            let named = match source.filter(|s| Some(*s) != member) {
                Some(source) => {
                    if assembled.spans[i].map.is_none()
                        && let Some(compiled) = member
                    {
                        message.push_str(&format!(
                            " (line and column of {compiled}, compiled from it)"
                        ));
                    }
                    files.get(source)
                }
                None => member.and_then(|m| files.get(m)),
            };
            crate::Error::Syntax {
                file: named.map_or(file, |f| f.path.display().to_string()),
                line,
                column,
                message,
                source_line,
            }
        }
        crate::Error::Several(errors) => crate::Error::Several(
            errors
                .into_iter()
                .map(|e| member_file(e, assembled, files))
                .collect(),
        ),
        other => other,
    }
}

/// Removes from `bundles_dir` the files no bundle uses, by [`crate::build::prune_unused`]'s
/// rule (older than the grace period): in the current folder `dir`, files its `index` does
/// not name (outputs of removed bundles); every file of a folder whose index is for the same
/// output root and minify setting under another key (settings, compilers or browser targets
/// changed since), or that has no index. Folders of other output roots, or of the other
/// minify setting, are kept: builds may alternate between them.
fn prune(bundles_dir: &std::path::Path, dir: &std::path::Path, index: &Index) -> usize {
    let mut keep: std::collections::HashSet<std::path::PathBuf> = Default::default();
    keep.insert(dir.join("index.json"));
    for entry in index.bundles.values() {
        keep.extend(entry.outputs.iter().map(|o| output_path(dir, o)));
    }
    let mut superseded: Vec<std::path::PathBuf> = Vec::new();
    for folder in fs::read_dir(bundles_dir).into_iter().flatten().flatten() {
        let path = folder.path();
        if path == dir || !path.is_dir() {
            continue;
        }
        let other = fs::read(path.join("index.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Index>(&b).ok());
        if other.is_none_or(|o| o.root == index.root && o.minified == index.minified) {
            superseded.push(path);
        }
    }
    crate::build::prune_unused(bundles_dir, &|p: &std::path::Path| {
        if p.starts_with(dir) {
            keep.contains(p)
        } else {
            !superseded.iter().any(|s| p.starts_with(s))
        }
    })
}

/// Builds every bundle of `job` from the collected `files` and adds its outputs to them
/// (after the sources: an output replaces a source of the same name, as django-pipeline's
/// storage overwrites it).
pub(crate) fn add_bundles(
    job: &BuildJob,
    files: &mut BTreeMap<String, SourceFile>,
) -> Result<Added, BuildError> {
    let bundles = job.bundles;
    if bundles.defs.is_empty() {
        return Ok(Added::default());
    }
    let defaults = PipelineSettings::default();
    let settings = bundles.settings.unwrap_or(&defaults);
    let root = job.output.to_string_lossy();
    let key = format!(
        "{settings:?}\0{:?}\0{:?}\0{root}",
        bundles.compilers,
        bundles.minifier.map(|m| m.key())
    );
    // One folder per key: minified and unminified bundles (or two output roots) each keep
    // their cache when builds alternate between them.
    let folder = format!("{:x}", md5::Md5::digest(key.as_bytes()));
    let dir = job.state_dir.join("bundles").join(&folder[..16]);
    let index_file = dir.join("index.json");
    let previous: Index = fs::read(&index_file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Index>(&b).ok())
        .filter(|i| i.version == INDEX_VERSION && i.key == key)
        .unwrap_or_default();

    let tree = Tree::new(files.keys().map(String::as_str));
    let read = |logical: &str| -> Result<Vec<u8>, String> {
        match files.get(logical) {
            Some(file) => read_source(file).map_err(|e| e.message),
            None => Err("not among the collected files".to_string()),
        }
    };
    let size = |logical: &str| files.get(logical).map(|f| f.meta.len);
    let compiled_dir = job.state_dir.join("compiled");
    let source_map = |logical: &str| {
        let file = files.get(logical)?;
        (file.path == output_path(&compiled_dir, logical))
            .then(|| fs::read_to_string(crate::compile_store::map_path(&file.path)).ok())
            .flatten()
    };
    let ctx = Context {
        settings,
        compilers: bundles.compilers,
        root: &root,
        tree: &tree,
        read: &read,
        size: &size,
        source_map: &source_map,
    };
    let cached = |def: &BundleDef| -> Option<Entry> {
        let entry = previous.bundles.get(&def_key(def))?;
        let unchanged = !def.datauri
            && members(def, &tree).ok()? == entry.members
            && entry
                .inputs
                .iter()
                .all(|(path, meta)| files.get(path).is_some_and(|f| f.meta == *meta))
            && entry.outputs.iter().all(|o| output_path(&dir, o).is_file());
        unchanged.then(|| entry.clone())
    };
    let results: Vec<Result<Built, crate::Error>> = bundles
        .defs
        .par_iter()
        .map(|def| {
            if let Some(entry) = cached(def) {
                return Ok(Built::Reused(entry));
            }
            let assembled = assemble(def, &ctx)?;
            let (outputs, warnings) = finish(&assembled, bundles.minifier, &|p| read(p).ok())
                .map_err(|e| member_file(e, &assembled, files))?;
            let warnings = warnings
                .into_iter()
                .map(|w| member_file(w, &assembled, files))
                .collect();
            let inputs = assembled
                .inputs
                .iter()
                .filter_map(|p| Some((p.clone(), files.get(p)?.meta)))
                .collect();
            let entry = Entry {
                members: members(def, &tree)?,
                inputs,
                outputs: outputs.iter().map(|(name, _)| name.clone()).collect(),
            };
            Ok(Built::New(entry, outputs, warnings))
        })
        .collect();

    let mut errors = Vec::new();
    let mut index = Index {
        version: INDEX_VERSION,
        key,
        bundles: BTreeMap::new(),
        root: root.to_string(),
        minified: bundles.minifier.is_some(),
    };
    let mut added = Added::default();
    let mut names = Vec::new();
    let mut metas: HashMap<String, FileMeta> = HashMap::new();
    for (def, result) in bundles.defs.iter().zip(results) {
        let entry = match result {
            Err(e) => {
                errors.push(e);
                continue;
            }
            Ok(Built::Reused(entry)) => entry,
            Ok(Built::New(entry, outputs, warnings)) => {
                added.built += 1;
                added.warnings.extend(warnings);
                for (logical, bytes) in outputs {
                    let path = output_path(&dir, &logical);
                    let io_error = |e| sluice_core::Error::io("write", &path, e);
                    if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                        write_atomic(&path, &bytes).map_err(io_error)?;
                    }
                }
                entry
            }
        };
        for logical in &entry.outputs {
            let path = output_path(&dir, logical);
            let meta = fs::symlink_metadata(&path)
                .map_err(|e| sluice_core::Error::io("read", &path, e))?;
            metas.insert(logical.clone(), FileMeta::of(&meta));
            names.push(logical.clone());
        }
        index.bundles.insert(def_key(def), entry);
    }
    if let Some(error) = crate::Error::from_list(errors) {
        return Err(BuildError::Bundles(Box::new(error)));
    }
    for logical in &names {
        files.insert(
            logical.clone(),
            SourceFile {
                root: job.roots.len(),
                path: output_path(&dir, logical),
                meta: metas[logical],
            },
        );
    }
    let bytes = serde_json::to_vec(&index).unwrap_or_default();
    if fs::read(&index_file).ok().as_deref() != Some(bytes.as_slice()) {
        write_atomic(&index_file, &bytes)
            .map_err(|e| sluice_core::Error::io("write", &index_file, e))?;
        // Something changed: outputs of bundles gone, or a whole earlier configuration's.
        prune(&job.state_dir.join("bundles"), &dir, &index);
    }
    added.names = names;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn file(path: PathBuf, age: u64) -> PathBuf {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"x").unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
        filetime::set_file_mtime(&path, filetime::FileTime::from_system_time(then)).unwrap();
        path
    }

    fn index(dir: &Path, root: &str, minified: bool, outputs: &[&str], age: u64) -> Index {
        let index = Index {
            version: INDEX_VERSION,
            key: format!("{root}{minified}{outputs:?}"),
            bundles: [(
                "b".to_string(),
                Entry {
                    members: Vec::new(),
                    inputs: Vec::new(),
                    outputs: outputs.iter().map(|o| o.to_string()).collect(),
                },
            )]
            .into_iter()
            .collect(),
            root: root.into(),
            minified,
        };
        let path = file(dir.join("index.json"), age);
        fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
        filetime::set_file_mtime(&path, filetime::FileTime::from_system_time(then)).unwrap();
        index
    }

    #[test]
    fn unused_bundle_outputs_and_replaced_configurations_are_pruned() {
        let tmp = tempfile::tempdir().unwrap();
        let bundles = tmp.path().join("bundles");
        let (current, old, plain, elsewhere, orphan) = (
            bundles.join("current"),
            bundles.join("old"),
            bundles.join("plain"),
            bundles.join("elsewhere"),
            bundles.join("orphan"),
        );
        let now = index(&current, "/out", true, &["css/a.css", "css/a.css.map"], 0);
        let used = [
            file(current.join("css/a.css"), 7200),
            file(current.join("css/a.css.map"), 7200),
        ];
        let removed_bundle = file(current.join("js/gone/b.js"), 7200);
        let just_written = file(current.join("js/c.js"), 60);
        // Same root and minify setting, another key: the configuration changed since.
        index(&old, "/out", true, &["css/a.css"], 7200);
        let old_output = file(old.join("css/a.css"), 7200);
        // Unminified bundles, and another output root: builds may alternate; kept.
        index(&plain, "/out", false, &["css/a.css"], 7200);
        let plain_output = file(plain.join("css/a.css"), 7200);
        index(&elsewhere, "/other", true, &["css/a.css"], 7200);
        let elsewhere_output = file(elsewhere.join("css/a.css"), 7200);
        let orphan_output = file(orphan.join("x.css"), 7200);

        assert_eq!(prune(&bundles, &current, &now), 4);
        assert!(used.iter().all(|p| p.exists()) && current.join("index.json").exists());
        assert!(!removed_bundle.exists() && !current.join("js/gone").exists());
        assert!(just_written.exists());
        assert!(!old.exists() && !old_output.exists());
        assert!(!orphan_output.exists() && !orphan.exists());
        assert!(plain_output.exists() && elsewhere_output.exists());
    }
}
