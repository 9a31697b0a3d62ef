//! Compilers in `sluice build`: every source a compiler in effect takes (partials aside;
//! only bundle members when the compilers are sluice's default rather than the project's
//! choice, see [`crate::build::BundleJob::compile_all`]) is compiled and its output (`x.scss` → `x.css`, `x.ts` → `x.js`) joins the collected files
//! beside its source, as django-pipeline's collectstatic leaves it in `STATIC_ROOT`: bundles
//! read it, the manifest names and lists it, whitenoise's rules compress it.
//!
//! Outputs are kept in `.sluice/compiled/`; `.sluice/compiled/index.json` remembers, per
//! source, the fingerprint (`lstat`) of every file the compiler read (partials and imports
//! included). A source whose inputs are all unchanged is not compiled again and no input is
//! opened; a change to a partial recompiles exactly the sources that imported it. A source
//! that fails to compile while another compiled source imports it is a partial (a LESS file
//! of mixins using its importer's variables): no output, no error, tried again when it
//! changes.
//!
//! A compiler's source map (TypeScript, TSX, JSX) is kept beside its output as
//! `<output>.map` ([`map_path`]), not collected: bundles read it to point their own map into
//! the source file. After a build that changed the index, files it does not name (outputs of
//! removed sources) are pruned once older than an hour, as the compression cache is.
//!
//! The dev profile keeps its own record (`derive.rs`): it compiles the mirrored copies in the
//! output root and writes beside them, in a folder users own (conflicts with files sluice did
//! not write, the last good output kept on an error, recompiles driven by change sets), where
//! this cache owns its folder and fails the build on any error.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sluice_core::bundles::{CompilerKind, compiled_name};
use sluice_core::output::write_atomic;
use sluice_core::sources::{FileMeta, SourceFile};
use sluice_core::sync::output_path;

use crate::Error;
use crate::build::{BuildError, BuildJob};
use crate::bundle::{Tree, members};
use crate::compile::{Compiler, compile};

const INDEX_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    /// The compilers and load paths every output was made with.
    key: String,
    /// By the source's logical path.
    sources: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The source file compiled.
    source: PathBuf,
    /// The output's logical path.
    output: String,
    /// Every file the compiler read, with its fingerprint then.
    inputs: Vec<(PathBuf, FileMeta)>,
    /// Taken for a partial: it does not compile on its own and other compiled sources
    /// import it; no output (`inputs` is the source alone, to try again when it changes).
    #[serde(default)]
    partial: bool,
}

/// What [`add_compiled`] did.
#[derive(Debug, Default)]
pub(crate) struct Added {
    /// The compiled outputs' logical paths, sorted.
    pub names: Vec<String>,
    /// Sources compiled by this build (the others were unchanged).
    pub compiled: usize,
    /// Compiled outputs left out because a source of the same name wins.
    pub warnings: Vec<Error>,
}

/// Where the source map of the compiled output at `output` is kept.
pub(crate) fn map_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_os_string();
    name.push(".map");
    PathBuf::from(name)
}

fn fingerprint(path: &Path) -> Option<FileMeta> {
    fs::metadata(path).ok().map(|m| FileMeta::of(&m))
}

/// A source to compile: its logical path, its output's, the compiler and the file.
struct Job {
    logical: String,
    output: String,
    compiler: Compiler,
    path: PathBuf,
}

/// Compiles what needs compiling and adds every output to `files` (a source of the same
/// logical path wins, with a warning). Any compile error fails the whole step.
pub(crate) fn add_compiled(
    job: &BuildJob,
    files: &mut BTreeMap<String, SourceFile>,
) -> Result<Added, BuildError> {
    let kinds = job.bundles.compilers;
    let mut added = Added::default();
    if kinds.is_empty() {
        return Ok(added);
    }
    let dir = job.state_dir.join("compiled");
    let index_file = dir.join("index.json");
    let load_paths: Vec<PathBuf> = job.roots.iter().map(|r| r.path.clone()).collect();
    let key = format!("{kinds:?}\0{load_paths:?}");
    let previous: Index = fs::read(&index_file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Index>(&b).ok())
        .filter(|i| i.version == INDEX_VERSION && i.key == key)
        .unwrap_or_default();

    // What bundles name (a pattern that finds nothing is reported by bundling): unless told
    // to compile everything, only these.
    let defs = &job.bundles.defs;
    let tree = (!defs.is_empty()).then(|| Tree::new(files.keys().map(String::as_str)));
    let bundled: HashSet<String> = defs
        .iter()
        .filter_map(|def| members(def, tree.as_ref()?).ok())
        .flatten()
        .collect();
    let wanted = (!job.bundles.compile_all).then_some(&bundled);
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    for (logical, file) in files.iter() {
        let Some((kind, output)) = compiled_name(logical, kinds) else {
            continue;
        };
        if wanted.as_ref().is_some_and(|w| !w.contains(logical)) {
            continue;
        }
        let path = Path::new(logical);
        if Compiler::is_partial(path) {
            continue;
        }
        match Compiler::for_path(path) {
            Some(compiler) => jobs.push(Job {
                logical: logical.clone(),
                output,
                compiler,
                path: file.path.clone(),
            }),
            // `.d.ts`: declarations, nothing to compile.
            None if matches!(
                kind,
                CompilerKind::Sass | CompilerKind::Less | CompilerKind::TypeScript
            ) => {}
            None => errors.push(Error::ToolFailed {
                file: file.path.display().to_string(),
                program: kind.name().to_string(),
                message: "sluice does not run this django-pipeline compiler; compile the \
                          file beside its source and set `compile = false`"
                    .to_string(),
            }),
        }
    }

    let unchanged = |j: &Job| -> Option<Entry> {
        let entry = previous.sources.get(&j.logical)?;
        let same = entry.source == j.path
            && entry.output == j.output
            && entry
                .inputs
                .iter()
                .all(|(p, meta)| fingerprint(p).as_ref() == Some(meta))
            && (entry.partial
                || output_path(&dir, &entry.output).is_file()
                    && (!j.compiler.writes_map()
                        || map_path(&output_path(&dir, &entry.output)).is_file()));
        same.then(|| entry.clone())
    };
    let results: Vec<Result<(Entry, bool), Error>> = jobs
        .par_iter()
        .map(|j| {
            if let Some(entry) = unchanged(j) {
                return Ok((entry, false));
            }
            let compiled = compile(j.compiler, &j.path, &load_paths)?;
            let target = output_path(&dir, &j.output);
            let map = map_path(&target);
            let cannot = |path: &Path, e: std::io::Error| Error::Read {
                file: path.display().to_string(),
                message: format!("cannot write the compiled output: {e}"),
            };
            // The map first: an output is never newer than the map bundles read with it.
            match &compiled.map {
                Some(json) => {
                    if fs::read(&map).ok().as_deref() != Some(json.as_bytes()) {
                        write_atomic(&map, json.as_bytes()).map_err(|e| cannot(&map, e))?;
                    }
                }
                None => match fs::remove_file(&map) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(cannot(&map, e));
                    }
                    _ => {}
                },
            }
            if fs::read(&target).ok().as_deref() != Some(compiled.code.as_bytes()) {
                write_atomic(&target, compiled.code.as_bytes()).map_err(|e| cannot(&target, e))?;
            }
            let inputs = compiled
                .inputs
                .iter()
                .filter_map(|p| Some((p.clone(), fingerprint(p)?)))
                .collect();
            Ok((
                Entry {
                    source: j.path.clone(),
                    output: j.output.clone(),
                    inputs,
                    partial: false,
                },
                true,
            ))
        })
        .collect();

    let mut index = Index {
        version: INDEX_VERSION,
        key,
        sources: BTreeMap::new(),
    };
    // What the sources that compiled read: a source among them that does not compile on
    // its own (a LESS file of variables and mixins, say) is a partial, not an error.
    let imported: HashSet<&Path> = jobs
        .iter()
        .zip(&results)
        .filter_map(|(j, r)| Some((j, r.as_ref().ok()?)))
        .filter(|(_, (entry, _))| !entry.partial)
        .flat_map(|(j, (entry, _))| {
            entry
                .inputs
                .iter()
                .map(|(p, _)| p.as_path())
                .filter(move |p| *p != j.path)
        })
        .collect();
    let mut partials = Vec::new();
    let mut outputs = Vec::new();
    for (j, result) in jobs.iter().zip(&results) {
        match result {
            // A bundle member must compile (django-pipeline fails on it too).
            Err(_)
                if imported.contains(j.path.as_path()) && !bundled.contains(j.logical.as_str()) =>
            {
                partials.push(j)
            }
            Err(e) => errors.push(e.clone()),
            Ok((entry, fresh)) => {
                added.compiled += usize::from(*fresh);
                if !entry.partial {
                    outputs.push((j, entry.output.clone()));
                }
                index.sources.insert(j.logical.clone(), entry.clone());
            }
        }
    }
    for j in partials {
        let entry = Entry {
            source: j.path.clone(),
            output: j.output.clone(),
            inputs: fingerprint(&j.path)
                .map(|m| (j.path.clone(), m))
                .into_iter()
                .collect(),
            partial: true,
        };
        index.sources.insert(j.logical.clone(), entry);
    }
    if let Some(error) = Error::from_list(errors) {
        return Err(BuildError::Compile(Box::new(error)));
    }
    for (j, output) in outputs {
        if let Some(source) = files.get(&output) {
            added.warnings.push(Error::CompiledShadowed {
                output: output.clone(),
                compiled_from: j.path.display().to_string(),
                used: source.path.display().to_string(),
            });
            continue;
        }
        let path = output_path(&dir, &output);
        let meta =
            fs::symlink_metadata(&path).map_err(|e| sluice_core::Error::io("read", &path, e))?;
        files.insert(
            output.clone(),
            SourceFile {
                root: job.roots.len(),
                path,
                meta: FileMeta::of(&meta),
            },
        );
        added.names.push(output);
    }
    added.names.sort();
    let bytes = serde_json::to_vec(&index).unwrap_or_default();
    if fs::read(&index_file).ok().as_deref() != Some(bytes.as_slice()) {
        write_atomic(&index_file, &bytes)
            .map_err(|e| sluice_core::Error::io("write", &index_file, e))?;
        // Something changed: outputs (and maps) of sources no longer compiled may be left.
        prune(&dir, &index);
    }
    Ok(added)
}

/// Removes from `dir` what `index` does not name (outputs of removed sources, of an earlier
/// configuration), by [`crate::build::prune_unused`]'s rule (older than the grace period).
fn prune(dir: &Path, index: &Index) -> usize {
    let mut keep: HashSet<PathBuf> = HashSet::new();
    keep.insert(dir.join("index.json"));
    for entry in index.sources.values() {
        let output = output_path(dir, &entry.output);
        keep.insert(map_path(&output));
        keep.insert(output);
    }
    crate::build::prune_unused(dir, &|p: &Path| keep.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_the_index_does_not_name_are_pruned_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let compiled = dir.path().join("compiled");
        let file = |rel: &str, age: u64| {
            let path = output_path(&compiled, rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"x").unwrap();
            let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
            filetime::set_file_mtime(&path, filetime::FileTime::from_system_time(then)).unwrap();
            path
        };
        let mut index = Index::default();
        index.sources.insert(
            "js/app.ts".into(),
            Entry {
                source: "/src/js/app.ts".into(),
                output: "js/app.js".into(),
                inputs: Vec::new(),
                partial: false,
            },
        );
        let kept = [
            file("index.json", 7200),
            file("js/app.js", 7200),
            file("js/app.js.map", 7200),
        ];
        let removed_source = file("css/gone/old.css", 7200);
        let removed_map = file("js/gone.js.map", 7200);
        let young = file("js/new.js", 60);
        assert_eq!(prune(&compiled, &index), 2);
        assert!(kept.iter().all(|p| p.exists()) && young.exists());
        assert!(!removed_source.exists() && !removed_map.exists());
        // Folders left empty go; the cache folder stays.
        assert!(!compiled.join("css").exists() && compiled.is_dir());
    }
}
