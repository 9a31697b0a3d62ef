//! The engine: one per output root and command, holding the source index, the ownership
//! record, the cache and the output root's lock, and the steps every profile runs ([`steps`]:
//! the compile and bundle nodes of the graph). The profiles' passes (`dev/`: `sync`, `watch`,
//! `dev`; `build/`) are `impl Engine` blocks of their own, built on these.

mod steps;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use sluice_core::error::Result;
use sluice_core::sources::{Index, check_layout};
use sluice_core::templates::TemplateScan;

use crate::cache::Cache;
use crate::graph::compile::{self, Target};
use crate::outputs::journal::Journal;
use crate::outputs::lock::{OutputLock, Wait};
use crate::outputs::remove::{Removal, remove_recorded};
use crate::record::{OutEntry, Record, SourceFact};
use crate::setup::{Profile, RunOptions, Setup};

pub struct Engine {
    pub(crate) setup: Setup,
    pub(crate) profile: Profile,
    pub(crate) options: RunOptions,
    pub(crate) index: Index,
    pub(crate) record: Record,
    pub(crate) cache: Cache,
    pub(crate) journal: Journal,
    _lock: OutputLock,
    /// The record changed since it was saved.
    pub(crate) dirty: bool,
    /// Outputs of a killed run were taken back: the next build looks at every file.
    pub(crate) recovered: bool,
    /// A build's commit failed part-way: its outputs are a mix of two passes, so the record
    /// is saved under a profile no run has and the next build looks at every file.
    pub(crate) unfinished: bool,
    /// `--clean` not yet done (the first full pass does it).
    pub(crate) clean_pending: bool,
    /// Dev profile: errors in force, by the output they concern.
    pub(crate) failures: BTreeMap<String, sluice_assets::Error>,
    /// Dev profile: the derived outputs of the last pass.
    pub(crate) derived: BTreeMap<String, Derived>,
    /// The `static` references of the project's templates (what the compile rule asks for).
    pub(crate) templates: TemplateScan,
    /// The folders outside the source roots a watch was told to watch.
    pub(crate) extra_watched: std::collections::BTreeSet<PathBuf>,
    /// Whether this run said that Sass compiles with grass (said once).
    pub(crate) told_grass: bool,
    /// The relative imports of the scripts the compile rule asked for, by fingerprint.
    pub(crate) script_imports: crate::graph::asked::Seen,
    /// `script_imports` changed since it was kept.
    pub(crate) script_imports_dirty: bool,
}

/// A derived output of the dev profile (a compiled file, a bundle, their maps, `sluice.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub key: crate::record::Key,
    pub bytes: Bytes,
}

/// Where a derived output's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bytes {
    Blob(crate::record::BlobRef),
    /// A compiled output with a `sourceMappingURL` comment for its map beside it.
    Commented {
        code: crate::record::BlobRef,
        comment: String,
    },
}

impl Engine {
    /// Checks the layout, takes the output root's lock (waiting for another sluice if told
    /// to, after telling `waiting` who holds it), loads the record and takes back what a
    /// killed run wrote. Does not touch the sources yet.
    pub fn open(
        setup: Setup,
        profile: Profile,
        options: RunOptions,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<Engine> {
        check_layout(&setup.roots, &setup.output)?;
        let wait = if options.wait {
            Wait::Wait
        } else {
            Wait::NoWait
        };
        let lock = OutputLock::acquire(
            &setup.state_dir,
            &setup.output,
            &options.command,
            wait,
            waiting,
        )?;
        // The sources are walked while the record loads (two cores: a walk of 20 000 files
        // is mostly the kernel's `statx`, the record mostly decoding).
        let mut index = Index::new(&setup.roots, &setup.ignore);
        if options.walk_ahead {
            index.walk_ahead();
        }
        let mut record = Record::load(&setup.state_dir, &setup.output);
        let mut journal = Journal::new(&setup.state_dir, &setup.output);
        let recovered = journal.recover(&mut record);
        let staging = crate::outputs::stage::Staging::beside(&setup.output);
        staging.remove_abandoned();
        Ok(Engine {
            index,
            templates: TemplateScan::new(&setup.compile.templates, &setup.state_dir),
            extra_watched: Default::default(),
            told_grass: false,
            script_imports: crate::graph::asked::load_seen(&setup.state_dir),
            script_imports_dirty: false,
            cache: Cache::new(&setup.state_dir),
            clean_pending: options.clean,
            setup,
            profile,
            options,
            record,
            journal,
            _lock: lock,
            dirty: recovered > 0,
            recovered: recovered > 0,
            unfinished: false,
            failures: BTreeMap::new(),
            derived: BTreeMap::new(),
        })
    }

    /// Output folders untouched since the record was saved (none with `--force`): their
    /// outputs are taken as recorded, without an `lstat` each.
    pub(crate) fn untouched_dirs(&self) -> HashSet<String> {
        if self.options.force {
            return HashSet::new();
        }
        (self.record.untouched_dirs().into_iter())
            .map(str::to_owned)
            .collect()
    }

    /// Puts a shared cache (`[cache] remote`) behind the local one, for this run.
    pub fn set_remote_cache(&mut self, remote: std::sync::Arc<dyn crate::cache::Remote>) {
        self.cache = self.cache.clone().with_remote(remote);
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    /// Saves the record if it changed, then forgets the noted intents (the record names
    /// what they were for). Prunes the cache when that is due.
    pub fn save(&mut self) -> Result<()> {
        if self.dirty {
            if !matches!(self.profile, Profile::Build(_)) {
                // Only a build keeps its report's totals (and recomputes them on every save).
                self.record.totals = None;
            }
            let key = self.profile.key(&self.setup.static_url);
            self.record.profile = if self.unfinished {
                format!("{key} (unfinished)")
            } else {
                key
            };
            self.record.save(&self.setup.state_dir)?;
            self.dirty = false;
            if Cache::prune_due(&self.setup.state_dir) {
                self.cache.prune(&self.setup.state_dir, &self.record);
            }
        }
        // What the compile rule read (templates' references, scripts' imports), each kept
        // when it changed: the next run reads only what changed since.
        self.templates.save();
        if std::mem::take(&mut self.script_imports_dirty) {
            crate::graph::asked::save_seen(&self.setup.state_dir, &self.script_imports);
        }
        self.journal.clear();
        Ok(())
    }

    /// `--clean`: every output the record names that is as sluice wrote it goes (and the
    /// folders left empty); the record forgets every output. What is cached stays.
    pub(crate) fn clean_outputs(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.clean_pending) {
            return Ok(());
        }
        let outputs = std::mem::take(&mut self.record.outputs);
        let items: Vec<(&str, &OutEntry)> = outputs.iter().map(|(l, e)| (l.as_str(), e)).collect();
        for answer in remove_recorded(&self.setup.output, &items) {
            if let Removal::Failed(path, e) = answer {
                return Err(sluice_core::Error::io("remove", &path, e));
            }
        }
        self.record.plan.clear();
        self.record.collected.clear();
        self.record.totals = None;
        self.dirty = true;
        Ok(())
    }

    /// A script that appeared or went can change what an import of a module bundle resolves
    /// to (`./x` was `x/index.js`, and now `x.js` is there; `./y` now has a `y.ts`): the nodes
    /// (every variant) of the bundles that read a module in or below its folder are
    /// forgotten, so they are rebuilt; their members are returned, for a change set to look
    /// at them again. `moved`: what [`Engine::refresh_facts`] found appeared or went. Edits
    /// change no resolution and go the usual way, by the nodes' inputs.
    pub(crate) fn forget_resolutions(&mut self, moved: &[String]) -> Vec<String> {
        const SCRIPTS: &[&str] = &["js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts", "json"];
        let script = |l: &str| {
            l.rsplit_once('.')
                .is_some_and(|(_, ext)| SCRIPTS.contains(&ext))
        };
        if self.record.bundles.is_empty() {
            return Vec::new();
        }
        let dirs: Vec<&str> = moved
            .iter()
            .filter(|l| script(l))
            .map(|l| l.rsplit_once('/').map_or("", |(dir, _)| dir))
            .collect();
        if dirs.is_empty() {
            return Vec::new();
        }
        let under = |input: &str, dir: &str| {
            dir.is_empty() || input.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
        };
        let mut members = Vec::new();
        self.record.bundles.retain(|_, node| {
            // Only a bundle that read more than its members resolved an import.
            let resolved = node.inputs.len() > node.members.len();
            let sensitive = resolved
                && node
                    .inputs
                    .iter()
                    .any(|(input, _)| dirs.iter().any(|dir| under(input, dir)));
            if sensitive {
                members.extend(node.members.iter().cloned());
            }
            !sensitive
        });
        if !members.is_empty() {
            self.dirty = true;
        }
        members
    }

    /// Brings the record's source facts in line with the index for `logicals` (all when
    /// `None`): a changed fingerprint forgets the md5 (no pass read the new bytes yet).
    /// Returns the logical paths that appeared or went (for [`Engine::forget_resolutions`]).
    pub(crate) fn refresh_facts(&mut self, logicals: Option<&[String]>) -> Vec<String> {
        let files = &self.index.files;
        let facts = &mut self.record.sources;
        let mut changed = false;
        let mut moved: Vec<String> = Vec::new();
        match logicals {
            None => {
                // Both sorted by logical path: one merge walk finds what went and what changed.
                let mut stale: Vec<String> = Vec::new();
                let mut updates: Vec<(&String, SourceFact)> = Vec::new();
                let mut f = files.iter().peekable();
                let mut r = facts.iter().peekable();
                loop {
                    match (f.peek(), r.peek()) {
                        (Some((kf, file)), Some((kr, fact))) => match kf.cmp(kr) {
                            std::cmp::Ordering::Less => {
                                moved.push((*kf).clone());
                                updates.push((
                                    kf,
                                    SourceFact {
                                        meta: file.meta,
                                        md5: None,
                                    },
                                ));
                                f.next();
                            }
                            std::cmp::Ordering::Greater => {
                                stale.push((*kr).clone());
                                r.next();
                            }
                            std::cmp::Ordering::Equal => {
                                if fact.meta != file.meta {
                                    updates.push((
                                        kf,
                                        SourceFact {
                                            meta: file.meta,
                                            md5: None,
                                        },
                                    ));
                                }
                                f.next();
                                r.next();
                            }
                        },
                        (Some((kf, file)), None) => {
                            moved.push((*kf).clone());
                            updates.push((
                                kf,
                                SourceFact {
                                    meta: file.meta,
                                    md5: None,
                                },
                            ));
                            f.next();
                        }
                        (None, Some((kr, _))) => {
                            stale.push((*kr).clone());
                            r.next();
                        }
                        (None, None) => break,
                    }
                }
                changed |= !stale.is_empty() || !updates.is_empty();
                for k in stale {
                    facts.remove(&k);
                    moved.push(k);
                }
                for (k, fact) in updates {
                    facts.insert(k.clone(), fact);
                }
            }
            Some(list) => {
                for k in list {
                    match files.get(k) {
                        Some(f) => {
                            if !facts.contains_key(k) {
                                moved.push(k.clone());
                            }
                            if facts.get(k).is_none_or(|s| s.meta != f.meta) {
                                facts.insert(
                                    k.clone(),
                                    SourceFact {
                                        meta: f.meta,
                                        md5: None,
                                    },
                                );
                                changed = true;
                            }
                        }
                        None => {
                            if facts.remove(k).is_some() {
                                changed = true;
                                moved.push(k.clone());
                            }
                        }
                    }
                }
            }
        }
        self.dirty |= changed;
        moved
    }

    /// The folders a watch watches besides the source roots': every folder of the template
    /// folders, and those of the files compiles and ES-module bundles read outside the
    /// source roots but inside the project (a `node_modules` of its own: only the folders of
    /// files read, not the whole tree).
    pub fn extra_watch_folders(&mut self) -> Vec<PathBuf> {
        let folders = self.extra_folders();
        self.extra_watched.extend(folders.iter().cloned());
        folders
    }

    /// [`Engine::extra_watch_folders`] not told yet (after a change set: a compile that
    /// reads a package's file for the first time).
    pub(crate) fn new_extra_folders(&mut self) -> Vec<PathBuf> {
        let new: Vec<PathBuf> = self
            .extra_folders()
            .into_iter()
            .filter(|f| !self.extra_watched.contains(f))
            .collect();
        self.extra_watched.extend(new.iter().cloned());
        new
    }

    /// `changed` plus, for each folder outside the source roots in it, the recorded inputs
    /// of compiles and ES-module bundles directly in that folder. A watch names a folder
    /// when it has just started watching or polling it (a package folder a compile read for
    /// the first time): its files may have changed between the read and the watch, and their
    /// fingerprints against the record's tell whether they did.
    pub(crate) fn with_inputs_of_folders(&self, changed: &[PathBuf]) -> Vec<PathBuf> {
        let roots = self.index.roots();
        let folders: HashSet<&Path> = changed
            .iter()
            .filter(|p| !roots.iter().any(|r| p.starts_with(&r.path)) && p.is_dir())
            .map(PathBuf::as_path)
            .collect();
        let mut out = changed.to_vec();
        if folders.is_empty() {
            return out;
        }
        let in_folder = |p: &Path| p.parent().is_some_and(|d| folders.contains(d));
        for node in self.record.compiles.values() {
            out.extend(
                node.inputs
                    .iter()
                    .map(|(p, _)| p)
                    .filter(|p| in_folder(p))
                    .cloned(),
            );
        }
        for node in self.record.bundles.values() {
            out.extend(
                node.inputs
                    .iter()
                    .map(|(i, _)| Path::new(i))
                    .filter(|p| p.is_absolute() && in_folder(p))
                    .map(Path::to_path_buf),
            );
        }
        out.sort();
        out.dedup();
        out
    }

    fn extra_folders(&self) -> Vec<PathBuf> {
        let mut out = self.templates.folders();
        let project = self.setup.state_dir.parent();
        let roots = self.index.roots();
        for node in self.record.compiles.values() {
            for (path, _) in &node.inputs {
                let outside = !roots.iter().any(|r| path.starts_with(&r.path));
                if outside
                    && project.is_some_and(|p| path.starts_with(p))
                    && let Some(dir) = path.parent()
                {
                    out.push(dir.to_path_buf());
                }
            }
        }
        // The packages' modules ES-module bundles read (inputs by absolute path).
        for node in self.record.bundles.values() {
            for (input, _) in &node.inputs {
                let path = std::path::Path::new(input);
                if input.starts_with('/')
                    && project.is_some_and(|p| path.starts_with(p))
                    && !roots.iter().any(|r| path.starts_with(&r.path))
                    && let Some(dir) = path.parent()
                {
                    out.push(dir.to_path_buf());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Bundle members and what the compile rule asks for besides (`[compile] entries`
    /// globs, the templates' references), as globbed over sources and their compiled names.
    pub(crate) fn asked(&mut self) -> (HashSet<String>, HashSet<String>) {
        let (members, mut asked) = self.asked_directly();
        // Plus what the asked-for scripts import (their compiled `.js` loads it).
        let scripts: BTreeMap<String, String> = self
            .index
            .files
            .keys()
            .filter(|k| {
                matches!(
                    sluice_assets::compile::Compiler::for_path(std::path::Path::new(k.as_str())),
                    Some(
                        sluice_assets::compile::Compiler::TypeScript
                            | sluice_assets::compile::Compiler::Tsx
                            | sluice_assets::compile::Compiler::Jsx
                    )
                )
            })
            .filter_map(|k| {
                sluice_core::bundles::compiled_name(k, &self.setup.compilers)
                    .map(|(_, c)| (k.clone(), c))
            })
            .collect();
        if !scripts.is_empty() {
            let before = self.script_imports.clone();
            crate::graph::asked::follow_scripts(
                &mut asked,
                &self.index.files,
                &scripts,
                &mut self.script_imports,
            );
            self.script_imports_dirty |= self.script_imports != before;
        }
        (members, asked)
    }

    /// Bundle members, and members plus `[compile] entries` matches plus the templates'
    /// references.
    fn asked_directly(&self) -> (HashSet<String>, HashSet<String>) {
        if self.setup.bundles.is_empty() && self.setup.compile.entries.is_empty() {
            return (
                HashSet::new(),
                self.templates.references().into_iter().collect(),
            );
        }
        let names: Vec<String> = self
            .index
            .files
            .keys()
            .flat_map(|k| {
                let compiled = sluice_core::bundles::compiled_name(k, &self.setup.compilers);
                std::iter::once(k.clone()).chain(compiled.map(|(_, c)| c))
            })
            .collect();
        let tree = sluice_assets::bundle::Tree::new(names.iter().map(String::as_str));
        let members: HashSet<String> = self
            .setup
            .bundles
            .iter()
            .filter_map(|def| sluice_assets::bundle::members(def, &tree).ok())
            .flatten()
            .collect();
        let mut asked = members.clone();
        for pattern in &self.setup.compile.entries {
            asked.extend(sluice_assets::bundle::glob::glob(&tree, pattern));
        }
        asked.extend(self.templates.references());
        (members, asked)
    }

    /// The sources to compile now.
    pub(crate) fn compile_targets(&self, asked: &HashSet<String>) -> Vec<Target> {
        compile::targets(&self.index.files, &self.setup.compilers, asked)
    }

    /// The compiler load paths (`[compile] load_paths`).
    pub(crate) fn load_paths(&self) -> Vec<PathBuf> {
        self.setup.compile.load_paths.clone()
    }
}
