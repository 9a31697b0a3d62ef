//! Bundle nodes: django-pipeline's bundles built from the collected files, in the variant a
//! profile wants — `Dev` (unminified, a line-level source map beside it), `Plain` (exactly as
//! django-pipeline writes them with no compressor), `Minified` (lightningcss / oxc for the
//! project's browsers, with a map) — and kept in the cache.
//!
//! A node is fresh when its definition, its members (the glob over the collected files) and
//! the stamp of every file it read are unchanged and its outputs are in the cache. A stale
//! minified bundle is looked for in the cache's actions by the md5 of every member first:
//! minifying is the expensive part, and the same members minify the same whatever the
//! profile or branch that asks. `datauri` bundles are always assembled (whether an image is
//! embedded depends on files that may appear).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sluice_assets::Error;
use sluice_assets::bundle::{
    self, Assembled, Context, Minifier, OutputFile, TargetedMinifier, Tree, assemble, finish,
    members,
};
use sluice_core::bundles::{BundleDef, CompilerKind, PipelineSettings, compiled_name};

use super::{Pool, modules};
use crate::cache::{Action, Cache, RULES_VERSION};
use crate::record::{BlobRef, BundleNode, Key};

/// What a bundle becomes.
pub enum Variant {
    /// Unminified, with a line-level map (members' text included) beside it.
    Dev,
    /// As django-pipeline writes it with no compressor: joined, no map.
    Plain,
    Minified(TargetedMinifier),
}

impl Variant {
    /// Its name in node keys and action keys.
    pub fn key(&self) -> String {
        match self {
            Variant::Dev => "dev".into(),
            Variant::Plain => "plain".into(),
            Variant::Minified(m) => format!("min {}", m.key()),
        }
    }

    fn minifier(&self) -> Option<&dyn Minifier> {
        match self {
            Variant::Minified(m) => Some(m),
            _ => None,
        }
    }
}

/// What identifies a bundle definition in a node (its change rebuilds the bundle).
pub fn def_key(def: &BundleDef) -> String {
    format!(
        "{}\0{}\0{}\0{}\0{}\0{:?}",
        def.kind,
        def.name,
        def.output,
        def.files.join("\0"),
        def.datauri,
        def.modules
    )
}

/// The node key of `def` in `variant`.
pub fn node_key(variant: &str, def: &BundleDef) -> String {
    format!("{variant}\0{}", def.output)
}

/// What a node records of what it was built from besides its inputs: the definition, the
/// django-pipeline settings and the compilers in effect (a change to any rebuilds it).
pub fn node_def(
    def: &BundleDef,
    settings: &PipelineSettings,
    compilers: &[CompilerKind],
) -> String {
    format!("{}\0{settings:?}\0{compilers:?}", def_key(def))
}

/// Whether the recorded node is the up-to-date build of `def` (`recorded_def` is its
/// [`node_def`] now).
pub fn fresh(
    node: Option<&BundleNode>,
    def: &BundleDef,
    recorded_def: &str,
    pool: &Pool,
    tree: &Tree,
) -> bool {
    node.is_some_and(|n| {
        n.def == recorded_def
            && !def.datauri
            && members(def, tree).is_ok_and(|m| m == n.members)
            && n.inputs
                .iter()
                .all(|(p, s)| modules::stamp(pool, p) == Some(*s))
            && n.outputs.iter().all(|(_, b)| pool.cache.has(b))
    })
}

/// The settings every bundle shares.
pub struct Shared<'a> {
    pub settings: &'a PipelineSettings,
    pub compilers: &'a [CompilerKind],
    /// The output root as a string: django-pipeline's `PIPELINE_ROOT` for its path arithmetic.
    pub root: &'a str,
    pub variant: &'a Variant,
    /// The source file of a collected file, to name members in errors.
    pub source_file: &'a (dyn Fn(&str) -> Option<PathBuf> + Sync),
    /// The logical path of a file on disk that is a collected source (ES-module bundles
    /// name the modules they read by it).
    pub logical_of: &'a (dyn Fn(&Path) -> Option<String> + Sync),
    /// The project folder (ES-module bundles: where packages are looked for).
    pub project_dir: &'a Path,
}

/// A bundle built (or found in the cache).
pub struct Built {
    pub node: BundleNode,
    /// The minifier's warnings (CSS it dropped), each naming the member file and line.
    pub warnings: Vec<Error>,
    /// Whether it was assembled now (not found in the cache).
    pub assembled: bool,
}

/// Builds each bundle of `defs` (in parallel).
pub fn run(
    defs: &[&BundleDef],
    pool: &Pool,
    tree: &Tree,
    shared: &Shared,
) -> Vec<Result<Built, Error>> {
    defs.par_iter()
        .map(|def| build_one(def, pool, tree, shared))
        .collect()
}

fn build_one(def: &BundleDef, pool: &Pool, tree: &Tree, shared: &Shared) -> Result<Built, Error> {
    let listed = members(def, tree)?;
    let cached_bytes: std::sync::Mutex<HashMap<String, Vec<u8>>> = Default::default();
    let store = |outputs: &[(String, BlobRef)], inputs: Vec<String>| BundleNode {
        def: node_def(def, shared.settings, shared.compilers),
        members: listed.clone(),
        inputs: inputs
            .into_iter()
            .filter_map(|p| {
                let s = modules::stamp(pool, &p)?;
                Some((p, s))
            })
            .collect(),
        outputs: outputs.to_vec(),
    };
    if modules::is_module_bundle(def, &listed, pool, &cached_bytes) {
        let key = matches!(shared.variant, Variant::Minified(_))
            .then(|| modules::action_key(def, &listed, pool, shared));
        if let Some(key) = &key
            && let Some((outputs, inputs)) = modules::cached(key, &listed, pool, shared)
        {
            return Ok(Built {
                node: store(&outputs, inputs),
                warnings: Vec::new(),
                assembled: false,
            });
        }
        let made = modules::build(def, &listed, pool, shared)?;
        let outputs = keep(&made.files, pool.cache, def)?;
        if let Some(key) = &key {
            modules::record(key, &made, &outputs, pool);
        }
        return Ok(Built {
            node: store(&outputs, made.inputs),
            warnings: made.warnings,
            assembled: true,
        });
    }
    let action = match shared.variant {
        Variant::Minified(_) if !def.datauri => {
            Some(action_key(def, &listed, pool, shared, &cached_bytes)?)
        }
        _ => None,
    };
    if let Some(key) = &action
        && let Some(found) = pool.cache.action(key)
        && found.outputs.iter().all(|(_, b)| pool.cache.present(b))
    {
        let inputs = found
            .inputs
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect();
        return Ok(Built {
            node: store(&found.outputs, inputs),
            warnings: Vec::new(),
            assembled: false,
        });
    }
    let read = |logical: &str| -> Result<Vec<u8>, String> {
        if let Some(bytes) = cached_bytes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(logical)
        {
            return Ok(bytes);
        }
        pool.read(logical)
    };
    let size = |logical: &str| pool.size(logical);
    let source_map = |logical: &str| pool.source_map(logical);
    let ctx = Context {
        settings: shared.settings,
        compilers: shared.compilers,
        root: shared.root,
        tree,
        read: &read,
        size: &size,
        source_map: &source_map,
    };
    let assembled = assemble(def, &ctx)?;
    let (files, warnings) = match shared.variant {
        Variant::Dev => (
            sluice_assets::bundle::dev_bundle(&assembled, &|p| pool.read(p).ok()).map_err(
                |message| Error::Bundle {
                    bundle: def.label(),
                    origin: def.origin.to_string(),
                    message,
                },
            )?,
            Vec::new(),
        ),
        variant => finish(&assembled, variant.minifier(), &|p| pool.read(p).ok())
            .map_err(|e| member_file(e, &assembled, shared.source_file))?,
    };
    let warnings = warnings
        .into_iter()
        .map(|w| member_file(w, &assembled, shared.source_file))
        .collect();
    let outputs = keep(&files, pool.cache, def)?;
    if let Some(key) = &action {
        let inputs = assembled
            .inputs
            .iter()
            .map(|p| (PathBuf::from(p), crate::cache::UNCHECKED))
            .collect();
        let _ = pool.cache.put_action(
            key,
            &Action {
                inputs,
                outputs: outputs.clone(),
            },
        );
    }
    Ok(Built {
        node: store(&outputs, assembled.inputs.clone()),
        warnings,
        assembled: true,
    })
}

/// Puts the bundle's files into the cache.
fn keep(
    files: &[OutputFile],
    cache: &Cache,
    def: &BundleDef,
) -> Result<Vec<(String, BlobRef)>, Error> {
    files
        .iter()
        .map(|(name, bytes)| {
            let blob = cache.put(bytes).map_err(|e| Error::Bundle {
                bundle: def.label(),
                origin: def.origin.to_string(),
                message: format!("cannot keep {name} in the cache: {e}"),
            })?;
            Ok((name.clone(), blob))
        })
        .collect()
}

/// The action key of a minified bundle: its definition, settings and variant, and the md5 of
/// each member (and of the compiled output of a compiled member). Members whose md5 is not
/// known are read once here, and their bytes kept for assembling.
fn action_key(
    def: &BundleDef,
    listed: &[String],
    pool: &Pool,
    shared: &Shared,
    bytes: &std::sync::Mutex<HashMap<String, Vec<u8>>>,
) -> Result<Key, Error> {
    let mut parts: Vec<Vec<u8>> = vec![
        b"bundle".to_vec(),
        RULES_VERSION.as_bytes().to_vec(),
        shared.variant.key().into_bytes(),
        def_key(def).into_bytes(),
        format!(
            "{:?}\0{:?}\0{}",
            shared.settings,
            shared.compilers,
            pool.cache.portable(Path::new(shared.root)).display()
        )
        .into_bytes(),
    ];
    let mut names: Vec<String> = Vec::new();
    for member in listed {
        names.push(member.clone());
        if let Some((_, compiled)) = compiled_name(member, shared.compilers) {
            names.push(compiled);
        }
    }
    for name in names {
        let md5 = match pool.known_md5(&name) {
            Some(k) => Some(k),
            None => match pool.read(&name) {
                Ok(b) => {
                    let k = Key::of(&b);
                    bytes
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(name.clone(), b);
                    Some(k)
                }
                // Assembling reports it, naming the member.
                Err(_) => None,
            },
        };
        parts.push(name.into_bytes());
        parts.push(md5.map_or_else(Vec::new, |k| k.0.to_vec()));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(Key::derive(&refs))
}

/// A minifier's error or warning names a member by its `source` in the map (relative to the
/// bundle's folder); say which file that is. A compiled member is named by its source
/// (`css/x.scss`, not its compiled output); when the compiler gave no map (SCSS, LESS) the
/// line and column are in the compiled CSS, and the message says so.
pub fn member_file(
    error: Error,
    assembled: &Assembled,
    source_file: &(dyn Fn(&str) -> Option<PathBuf> + Sync),
) -> Error {
    match error {
        Error::Syntax {
            file,
            line,
            column,
            mut message,
            source_line,
        } => {
            let Some(i) = assembled.spans.iter().position(|s| s.source == file) else {
                return Error::Syntax {
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
                    source_file(source)
                }
                None => member.and_then(|m| source_file(m)),
            };
            Error::Syntax {
                file: named.map_or(file, |f| f.display().to_string()),
                line,
                column,
                message,
                source_line,
            }
        }
        Error::Several(errors) => Error::Several(
            errors
                .into_iter()
                .map(|e| member_file(e, assembled, source_file))
                .collect(),
        ),
        other => other,
    }
}

/// The bundles a change to the collected files `touched` may affect: those that read one of
/// them last time (`nodes`, by output) and those with a pattern that would list one.
pub fn affected<'d>(
    defs: &'d [BundleDef],
    nodes: &BTreeMap<String, BundleNode>,
    variant: &str,
    touched: &[&str],
) -> Vec<&'d BundleDef> {
    let inputs: Vec<Vec<String>> = defs
        .iter()
        .map(|d| {
            nodes.get(&node_key(variant, d)).map_or_else(Vec::new, |n| {
                n.inputs.iter().map(|(p, _)| p.clone()).collect()
            })
        })
        .collect();
    let mut which = std::collections::BTreeSet::new();
    for logical in touched {
        which.extend(bundle::affected(defs, &inputs, logical));
    }
    which.into_iter().map(|i| &defs[i]).collect()
}
