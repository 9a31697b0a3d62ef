//! What an output of the dev profile is made from, as source files on disk: what `sluice dev`
//! stats before serving it from a root whose changes raise no events (see
//! `sluice_core::watch::Freshness`). Answered from the index and the record alone — the graph's
//! edges (a bundle's collected files, a compile's every input) — without touching the disk.

use std::path::{Path, PathBuf};

use sluice_core::output::output_path;
use sluice_core::sources::FileMeta;

use crate::engine::Engine;
use crate::graph::bundle::Variant;

impl Engine {
    /// The source files the output `logical` is made from, each with the fingerprint the
    /// index knows it by (`None`: not there): a copy's source, a compiled file's source and
    /// imports, a bundle's members (and theirs), their maps' too; and where a source of that
    /// name in an earlier root would shadow it. For an output not made (yet), every place its
    /// source could be.
    pub fn inputs_of(&self, logical: &str) -> Vec<(PathBuf, Option<FileMeta>)> {
        let mut out = Vec::new();
        let base = logical.strip_suffix(".map").unwrap_or(logical);
        let key = format!("{}\0{base}", Variant::Dev.key());
        match self.record.bundles.get(&key) {
            Some(node) if self.derived.contains_key(logical) => {
                // Files outside the sources an ES-module bundle read (packages in
                // `node_modules`, by absolute path) are no source root's: not checked here.
                for (collected, _) in node.inputs.iter().filter(|(p, _)| !p.starts_with('/')) {
                    self.collected_inputs(collected, &mut out);
                }
            }
            _ if self.derived.contains_key(logical) => self.collected_inputs(base, &mut out),
            _ => self.collected_inputs(logical, &mut out),
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// The source files of one collected file: a compiled output's every input, else (a
    /// source of the same name wins) the source itself and its would-be shadows.
    fn collected_inputs(&self, collected: &str, out: &mut Vec<(PathBuf, Option<FileMeta>)>) {
        let owner = self.index.files.get(collected);
        if owner.is_none()
            && let Some(node) = self
                .record
                .compiles
                .values()
                .find(|n| n.output == collected && !n.partial)
        {
            for (path, recorded) in &node.inputs {
                out.push((path.clone(), self.known(path).or(*recorded)));
            }
            return;
        }
        for (i, root) in self.index.roots().iter().enumerate() {
            if owner.is_some_and(|f| f.root < i) {
                break;
            }
            if owner.is_some_and(|f| f.root == i) {
                continue;
            }
            if let Some(rel) = root.relative(collected) {
                out.push((output_path(&root.path, rel), None));
            }
        }
        if let Some(file) = owner {
            out.push((file.path.clone(), Some(file.meta)));
        }
    }

    /// The index's fingerprint of the source file at `path`, when it is one.
    fn known(&self, path: &Path) -> Option<FileMeta> {
        self.index.roots().iter().find_map(|root| {
            let rel = sluice_core::sources::relative(path, &root.path)?;
            let file = self.index.files.get(&root.logical(&rel))?;
            (file.path == path).then_some(file.meta)
        })
    }
}
