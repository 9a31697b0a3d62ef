//! Running the graph in a pass, the same for every profile: the compile step (stale compile
//! nodes re-run, nodes of sources no longer compiled dropped) and the bundle step (stale
//! bundle nodes of the profile's variant re-run, nodes of bundles no longer defined dropped).
//! What a profile does with errors is its own: the dev profile keeps the last good result,
//! the build profile stops.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use sluice_assets::Error;
use sluice_assets::compile::Compiler;
use sluice_core::bundles::BundleDef;

use super::Engine;
use crate::graph::bundle::{self, Built, Shared, Variant};
use crate::graph::compile::{self, Ran, Target};
use crate::graph::{CompiledFile, Pool};

/// Each stale bundle's definition with what building it gave.
pub type BundlesBuilt<'d> = Vec<(&'d BundleDef, Result<Built, Error>)>;

/// What the compile step did.
pub struct Compiles {
    pub targets: Vec<Target>,
    pub ran: Ran,
    /// The compiled outputs among the collected files (none that a source shadows).
    pub compiled: BTreeMap<String, CompiledFile>,
    /// Warnings: compiled outputs a source of the same name shadows, Sass compiled with
    /// grass for want of dart-sass.
    pub shadowed: Vec<Error>,
    /// Compiled outputs without a good result, by output: the source.
    pub failed: BTreeMap<String, String>,
    /// Whether any node ran.
    pub stale: bool,
}

impl Compiles {
    pub fn target(&self, source: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.source == source)
    }
}

impl Engine {
    /// The compile step. `touched`: a change set's logical paths and the absolute paths it
    /// named — only nodes they can affect are looked at; `None`: every node.
    pub(crate) fn compile_step(&mut self, touched: Option<(&[String], &[PathBuf])>) -> Compiles {
        // The templates' references: all of them on a full pass, else when the change set
        // named a file in a template folder.
        let templates_touched =
            touched.is_none_or(|(_, paths)| paths.iter().any(|p| self.templates.covers(p)));
        if templates_touched {
            self.templates.refresh();
        }
        let (members, asked) = self.asked();
        let targets = self.compile_targets(&asked);
        let wanted: HashSet<(&str, &str)> = targets
            .iter()
            .map(|t| (t.source.as_str(), t.output.as_str()))
            .collect();
        let before = self.record.compiles.len();
        self.record
            .compiles
            .retain(|s, n| wanted.contains(&(s.as_str(), n.output.as_str())));
        self.dirty |= self.record.compiles.len() != before;

        let considered: Vec<&Target> = match touched {
            None => targets.iter().collect(),
            Some((logicals, paths)) => {
                let set: HashSet<&str> = logicals.iter().map(String::as_str).collect();
                let mut named: HashSet<PathBuf> = paths.iter().cloned().collect();
                named.extend(logicals.iter().filter_map(|l| self.index.source_path(l)));
                targets
                    .iter()
                    .filter(|t| {
                        set.contains(t.source.as_str())
                            || self
                                .record
                                .compiles
                                .get(&t.source)
                                .is_none_or(|n| n.inputs.iter().any(|(p, _)| named.contains(p)))
                    })
                    .collect()
            }
        };
        let load_paths = self.load_paths();
        let stale: Vec<&Target> = considered
            .into_iter()
            .filter(|t| {
                let settings = compile::settings(t, &load_paths);
                !compile::fresh(
                    self.record.compiles.get(&t.source),
                    t,
                    &settings,
                    &self.cache,
                )
            })
            .collect();
        let ran = compile::run(
            &stale,
            &mut self.record.compiles,
            &self.cache,
            &load_paths,
            &self.setup.roots,
            &members,
        );
        self.dirty |= !stale.is_empty();
        let with_grass: Vec<&&Target> = stale
            .iter()
            .filter(|t| {
                matches!(t.compiler, Some(Compiler::Scss | Compiler::Sass))
                    && ran.ok.contains(&t.source)
                    && sluice_assets::compile::sass_engine(&t.path, &load_paths)
                        .starts_with("grass")
            })
            .collect();

        let mut compiled = BTreeMap::new();
        let mut shadowed = Vec::new();
        if let Some(first) = with_grass.first().filter(|_| !self.told_grass) {
            self.told_grass = true;
            shadowed.push(Error::SassFallback {
                file: first.path.display().to_string(),
                more: match with_grass.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                },
                grass: sluice_assets::compile::GRASS_VERSION.to_string(),
            });
        }
        let mut failed = BTreeMap::new();
        for t in &targets {
            let node = self.record.compiles.get(&t.source);
            if node.is_some_and(|n| n.partial) {
                continue;
            }
            let Some(code) = node.and_then(|n| n.code) else {
                if !self.index.files.contains_key(&t.output) {
                    failed.insert(t.output.clone(), t.source.clone());
                }
                continue;
            };
            let node = node.unwrap_or_else(|| unreachable!());
            // An empty output (a file of variables and mixins only) is written nowhere,
            // unless a bundle lists it (django-pipeline writes every member it compiles).
            if code.len == 0 && !members.contains(&t.source) && !members.contains(&t.output) {
                continue;
            }
            if let Some(file) = self.index.files.get(&t.output) {
                shadowed.push(Error::CompiledShadowed {
                    output: t.output.clone(),
                    compiled_from: t.path.display().to_string(),
                    used: file.path.display().to_string(),
                });
                continue;
            }
            compiled.insert(
                t.output.clone(),
                CompiledFile {
                    source: t.source.clone(),
                    code,
                    map: node.map,
                },
            );
        }
        Compiles {
            stale: !stale.is_empty(),
            targets,
            ran,
            compiled,
            shadowed,
            failed,
        }
    }

    /// The bundle step for `variant`. `touched`: a change set's collected files (sources and
    /// recompiled outputs) — only bundles they can affect are looked at; `None`: every bundle.
    /// Returns each stale bundle's definition with what building it gave (successes are in
    /// the record already).
    pub(crate) fn bundle_step<'d>(
        &mut self,
        compiled: BTreeMap<String, CompiledFile>,
        failed: BTreeMap<String, String>,
        variant: &Variant,
        touched: Option<&BTreeSet<String>>,
        defs: &'d [BundleDef],
    ) -> (BTreeMap<String, CompiledFile>, BundlesBuilt<'d>) {
        if defs.is_empty() && self.record.bundles.is_empty() {
            return (compiled, Vec::new());
        }
        let variant_key = variant.key();
        let pool = Pool {
            sources: &self.index.files,
            compiled,
            facts: &self.record.sources,
            cache: &self.cache,
            failed,
        };
        let tree = pool.tree();
        let looked_at: Vec<&BundleDef> = match touched {
            None => defs.iter().collect(),
            Some(set) => {
                let list: Vec<&str> = set.iter().map(String::as_str).collect();
                bundle::affected(defs, &self.record.bundles, &variant_key, &list)
            }
        };
        let stale: Vec<&BundleDef> = looked_at
            .into_iter()
            .filter(|d| {
                let now = bundle::node_def(d, &self.setup.pipeline, &self.setup.compilers);
                !bundle::fresh(
                    self.record.bundles.get(&bundle::node_key(&variant_key, d)),
                    d,
                    &now,
                    &pool,
                    &tree,
                )
            })
            .collect();
        let root = self.setup.output.to_string_lossy().into_owned();
        let index = &self.index;
        let source_file = |logical: &str| index.source_path(logical);
        let logical_of = |path: &std::path::Path| crate::graph::modules::logical_of(index, path);
        // `.sluice/` is in the project folder.
        let project_dir = self
            .setup
            .state_dir
            .parent()
            .unwrap_or(&self.setup.state_dir)
            .to_path_buf();
        let shared = Shared {
            settings: &self.setup.pipeline,
            compilers: &self.setup.compilers,
            root: &root,
            variant,
            source_file: &source_file,
            logical_of: &logical_of,
            project_dir: &project_dir,
        };
        let built = bundle::run(&stale, &pool, &tree, &shared);
        let compiled = pool.compiled;
        let mut results = Vec::with_capacity(stale.len());
        for (def, result) in stale.into_iter().zip(built) {
            if let Ok(b) = &result {
                self.record
                    .bundles
                    .insert(bundle::node_key(&variant_key, def), b.node.clone());
                self.dirty = true;
            }
            results.push((def, result));
        }
        // Nodes of bundles no longer defined go (every variant).
        let defined: HashSet<&str> = defs.iter().map(|d| d.output.as_str()).collect();
        let before = self.record.bundles.len();
        self.record
            .bundles
            .retain(|k, _| k.split_once('\0').is_some_and(|(_, o)| defined.contains(o)));
        self.dirty |= self.record.bundles.len() != before;
        (compiled, results)
    }
}
