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

const INDEX_VERSION: u32 = 2;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    /// What every bundle was made with (settings, compilers, minifier, output root).
    key: String,
    bundles: BTreeMap<String, Entry>,
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
    }
    added.names = names;
    Ok(added)
}
