//! The dev profile (`sync`, `watch`, `dev`): every source copied (or linked) into the output
//! root, compiled sources beside them, unminified bundles with a source map; no hashing, no
//! compression. Written as it goes, each file atomically and only when its bytes change: an
//! error in one file is reported (and, for a compile or a bundle, stays "in force" with the
//! last good output kept) while the rest is done.
//!
//! [`Engine::dev_pass`] does everything (a `sync`, the first pass of a watch);
//! [`Engine::dev_update`] applies one change set, re-running exactly the nodes it makes stale
//! and writing exactly the outputs that change.

mod emit;
mod inputs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use sluice_core::progress::Progress;
use sluice_core::sources::{ProblemKind, case_collisions};

use crate::engine::{Bytes, Derived, Engine};
use crate::graph::bundle::{self, Variant};
use crate::record::Key;
use crate::report::{ChangeReport, DeriveReport, DevChange, DevReport, SyncReport};

/// Which part of the graph a pass looks at.
enum Scope<'a> {
    All,
    /// A change set: the logical paths it touched and the absolute paths it named.
    Touched(&'a [String], &'a [PathBuf]),
}

impl Engine {
    /// The errors in force (for a browser overlay): one per output that failed last time.
    pub fn errors_in_force(&self) -> Vec<&sluice_assets::Error> {
        self.failures.values().collect()
    }

    /// A full pass of the dev profile.
    pub fn dev_pass(&mut self, progress: &dyn Progress) -> sluice_core::Result<DevReport> {
        let started = Instant::now();
        self.clean_outputs()?;
        let found = self.index.scan();
        let moved = self.refresh_facts(None);
        self.forget_resolutions(&moved);
        let derive_started = Instant::now();
        let mut derived = DeriveReport::default();
        self.derive(Scope::All, &mut derived);
        let removals_skipped = found
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Unreadable);
        let mut sync = SyncReport::default();
        self.emit_all(removals_skipped, progress, &mut sync, &mut derived);
        for problem in &found.problems {
            if problem.kind != ProblemKind::SymlinkLoop {
                sync.errors.push(sluice_core::error::FileError {
                    path: problem.path.clone(),
                    message: problem.detail.clone(),
                });
            }
        }
        sync.removals_skipped = removals_skipped;
        sync.changed.sort();
        sync.files = self.index.files.len();
        sync.case_collisions = case_collisions(&self.index.files);
        sync.index = found;
        sync.elapsed = started.elapsed();
        derived.changed.sort();
        derived.changed.dedup();
        derived.elapsed = derive_started.elapsed();
        Ok(DevReport { sync, derived })
    }

    /// One change set of the dev profile.
    pub fn dev_update(&mut self, changed: &[PathBuf]) -> DevChange {
        let started = Instant::now();
        let mut delta = self.index.update(changed);
        let moved = self.refresh_facts(Some(&delta.touched));
        // The members of bundles whose imports may resolve anew are looked at again.
        delta.touched.extend(self.forget_resolutions(&moved));
        delta.touched.sort();
        delta.touched.dedup();
        let mut derived = DeriveReport::default();
        let changed = self.with_inputs_of_folders(changed);
        let previous = self.derive(Scope::Touched(&delta.touched, &changed), &mut derived);
        let mut change = ChangeReport::default();
        self.emit_touched(&delta.touched, &previous, &mut change, &mut derived);
        change.errors.extend(delta.errors);
        change.new_dirs = delta.new_dirs;
        change.new_dirs.extend(self.new_extra_folders());
        change.missing_roots = delta.missing_roots;
        change.changed.sort();
        change.elapsed = started.elapsed();
        derived.changed.sort();
        derived.changed.dedup();
        derived.elapsed = started.elapsed();
        DevChange {
            change,
            derived,
            in_force: self.failures.values().cloned().collect(),
        }
    }

    /// Runs the stale compile and bundle nodes in `scope` and works out the derived outputs
    /// (into `self.derived`); returns the previous ones, for [`emit`] to compare.
    fn derive(&mut self, scope: Scope, report: &mut DeriveReport) -> BTreeMap<String, Derived> {
        let touched = match &scope {
            Scope::All => None,
            Scope::Touched(logicals, paths) => Some((*logicals, *paths)),
        };
        let compiles = self.compile_step(touched);
        report.compiled += compiles.ran.compiled;
        for source in &compiles.ran.ok {
            if let Some(t) = compiles.target(source) {
                self.failures.remove(&t.output);
            }
        }
        for (source, error) in &compiles.ran.failed {
            if let Some(t) = compiles.target(source) {
                self.failures.insert(t.output.clone(), error.clone());
            }
            report.errors.push(error.clone());
        }
        let mut warnings: Vec<String> = compiles.shadowed.iter().map(|e| e.to_string()).collect();

        // Bundles, in the dev variant.
        let variant = Variant::Dev;
        let variant_key = variant.key();
        let touched_collected: Option<std::collections::BTreeSet<String>> = match &scope {
            Scope::All => None,
            Scope::Touched(logicals, paths) => {
                let mut set: std::collections::BTreeSet<String> =
                    logicals.iter().cloned().collect();
                // A package's module an ES-module bundle read is its input by absolute path.
                set.extend(
                    paths
                        .iter()
                        .filter(|p| !self.index.roots().iter().any(|r| p.starts_with(&r.path)))
                        .map(|p| p.to_string_lossy().into_owned()),
                );
                set.extend(
                    compiles
                        .ran
                        .changed
                        .iter()
                        .filter_map(|s| compiles.target(s).map(|t| t.output.clone())),
                );
                Some(set)
            }
        };
        let defs = std::mem::take(&mut self.setup.bundles);
        let (compiled, built) = self.bundle_step(
            compiles.compiled,
            compiles.failed,
            &variant,
            touched_collected.as_ref(),
            &defs,
        );
        let any_bundle = !built.is_empty();
        for (def, result) in built {
            match result {
                Ok(_) => {
                    report.bundled += 1;
                    self.failures.remove(&def.output);
                }
                Err(error) => {
                    self.failures.insert(def.output.clone(), error.clone());
                    // One mistake in a module many bundles import is one error.
                    if !report.errors.contains(&error) {
                        report.errors.push(error);
                    }
                }
            }
        }
        let targets = &compiles.targets;
        self.failures.retain(|output, _| {
            defs.iter().any(|d| d.output == *output) || targets.iter().any(|t| t.output == *output)
        });

        // The derived outputs: compiled files (with their dev map), then bundles, which win
        // over a source or compiled file of the same name (django-pipeline writes them over
        // what was collected).
        let mut out: BTreeMap<String, Derived> = BTreeMap::new();
        for (output, c) in &compiled {
            match c.map {
                Some(map) => {
                    let map_name = format!("{output}.map");
                    let base = map_name.rsplit('/').next().unwrap_or(&map_name).to_string();
                    let comment = format!("//# sourceMappingURL={base}\n");
                    let key = Key::derive(&[b"dev compiled", &c.code.key.0, comment.as_bytes()]);
                    out.insert(
                        output.clone(),
                        Derived {
                            key,
                            bytes: Bytes::Commented {
                                code: c.code,
                                comment,
                            },
                        },
                    );
                    out.insert(
                        map_name,
                        Derived {
                            key: map.key,
                            bytes: Bytes::Blob(map),
                        },
                    );
                }
                None => {
                    out.insert(
                        output.clone(),
                        Derived {
                            key: c.code.key,
                            bytes: Bytes::Blob(c.code),
                        },
                    );
                }
            }
        }
        for def in &defs {
            let Some(node) = self
                .record
                .bundles
                .get(&bundle::node_key(&variant_key, def))
            else {
                continue;
            };
            for (name, blob) in &node.outputs {
                if let Some(file) = self.index.files.get(name) {
                    warnings.push(format!(
                        "{name}: {} writes this file; the source {} of the same name is not \
                         copied (django-pipeline writes bundles over collected files)",
                        def.label(),
                        file.path.display()
                    ));
                }
                out.insert(
                    name.clone(),
                    Derived {
                        key: blob.key,
                        bytes: Bytes::Blob(*blob),
                    },
                );
            }
        }
        // sluice.json, for sluice's Django app: which file each bundle is (no digests: dev
        // outputs change under a running page).
        if !defs.is_empty() {
            let json = sluice_assets::integrity::Record::new(
                sluice_assets::integrity::Profile::Dev,
                &defs,
            )
            .to_json();
            match self.cache.put(json.as_bytes()) {
                Ok(blob) => {
                    out.insert(
                        sluice_assets::integrity::RECORD_NAME.to_string(),
                        Derived {
                            key: blob.key,
                            bytes: Bytes::Blob(blob),
                        },
                    );
                }
                Err(e) => report.errors.push(sluice_assets::Error::Read {
                    file: sluice_assets::integrity::RECORD_NAME.to_string(),
                    message: format!("cannot keep it in the cache: {e}"),
                }),
            }
        }
        self.setup.bundles = defs;
        // Warnings are news when something was looked at again.
        if matches!(scope, Scope::All) || compiles.stale || any_bundle {
            report.warnings.extend(warnings);
        }
        std::mem::replace(&mut self.derived, out)
    }
}
