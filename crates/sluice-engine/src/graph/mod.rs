//! The graph: one node per derived output, each made by a rule from inputs — [`compile`]
//! (`x.scss` → `x.css`, `x.ts` → `x.js`) and [`bundle`] (django-pipeline's joining, then
//! minified or with a dev map) — with an edge for every input the rule read, discovered ones
//! included (`@import`/`@use` partials, LESS imports, bundle members and templates).
//!
//! A node is fresh when every input still has the fingerprint recorded for it and its result
//! is in the cache; a change set re-runs exactly the nodes it makes stale. The same nodes
//! serve every profile: a compiled file is the same in `sync` and `build`, and a bundle is
//! kept per variant (dev, minified, plain), so switching profiles reuses what was made.
//!
//! The [`Pool`] is what rules read: the collected files — sources, and compiled outputs
//! (which a source of the same name shadows: the source wins) — by logical path.

pub mod asked;
pub mod bundle;
pub mod compile;
pub mod modules;

use std::collections::BTreeMap;
use std::fs;

use sluice_assets::bundle::Tree;
use sluice_core::sources::SourceFile;

use crate::cache::Cache;
use crate::record::{BlobRef, Key, SourceFact};

/// A compiled output among the collected files.
#[derive(Debug, Clone)]
pub struct CompiledFile {
    /// The source's logical path.
    pub source: String,
    pub code: BlobRef,
    pub map: Option<BlobRef>,
}

/// The collected files rules read from.
pub struct Pool<'a> {
    pub sources: &'a BTreeMap<String, SourceFile>,
    /// By the compiled output's logical path; none that a source shadows.
    pub compiled: BTreeMap<String, CompiledFile>,
    pub facts: &'a BTreeMap<String, SourceFact>,
    pub cache: &'a Cache,
    /// Compiled outputs without a good result (their compile failed), by output: the source.
    pub failed: BTreeMap<String, String>,
}

impl Pool<'_> {
    /// The tree bundles glob over: sources and compiled outputs.
    pub fn tree(&self) -> Tree {
        Tree::new(
            self.sources
                .keys()
                .chain(self.compiled.keys())
                .map(String::as_str),
        )
    }

    pub fn read(&self, logical: &str) -> Result<Vec<u8>, String> {
        if let Some(c) = self.compiled.get(logical) {
            return self.cache.read(&c.code).map_err(|e| e.to_string());
        }
        match self.sources.get(logical) {
            Some(file) => fs::read(&file.path).map_err(|e| sluice_core::error::describe_io(&e)),
            None => Err(match self.failed.get(logical) {
                Some(source) => format!("compiling {source} failed (its error is reported)"),
                None => "not in the sources (nor a compiled output)".into(),
            }),
        }
    }

    pub fn size(&self, logical: &str) -> Option<u64> {
        if let Some(c) = self.compiled.get(logical) {
            return Some(c.code.len);
        }
        self.sources.get(logical).map(|f| f.meta.len)
    }

    /// The source map of a compiled output that has one.
    pub fn source_map(&self, logical: &str) -> Option<String> {
        let map = self.compiled.get(logical)?.map?;
        String::from_utf8(self.cache.read(&map).ok()?).ok()
    }

    /// What stands for a collected file's bytes without reading it: a source's fingerprint,
    /// a compiled output's cache key.
    pub fn stamp(&self, logical: &str) -> Option<Key> {
        if let Some(c) = self.compiled.get(logical) {
            return Some(c.code.key);
        }
        self.sources.get(logical).map(|f| Key::of_meta(&f.meta))
    }

    /// The md5 of a collected file's bytes when known without reading it.
    pub fn known_md5(&self, logical: &str) -> Option<Key> {
        if let Some(c) = self.compiled.get(logical) {
            return Some(c.code.key);
        }
        let file = self.sources.get(logical)?;
        let fact = self.facts.get(logical)?;
        (fact.meta == file.meta).then_some(fact.md5).flatten()
    }
}
