//! The source index kept in memory between passes: every kept file by logical path, first
//! root winning. A full [`Index::scan`] walks every root; [`Index::update`] takes a change
//! set (absolute paths that may have been created, modified, deleted or renamed — files or
//! folders), stats only what they can affect and scans folders that appeared, so a change set
//! costs the files it names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{
    IgnoreRules, ProblemKind, SourceFile, SourceIndex, SourceRoot, relative, scan, scan_subtree,
};
use crate::error::{Error, FileError, Result, describe_io};
use crate::output::output_path;

pub struct Index {
    roots: Vec<SourceRoot>,
    ignore: IgnoreRules,
    /// The ignore rules of each root (everyone's plus its own).
    rules: Vec<IgnoreRules>,
    /// The indexed source files, by logical path.
    pub files: BTreeMap<String, SourceFile>,
    /// A walk started early ([`Index::walk_ahead`]), for the next [`Index::scan`] to take.
    ahead: Option<std::thread::JoinHandle<SourceIndex>>,
}

/// What one change set did to the index.
#[derive(Debug, Default)]
pub struct Delta {
    /// Logical paths looked at again (sorted): their file changed, appeared, went, or may have.
    pub touched: Vec<String>,
    /// Folders that appeared (and were scanned): a watcher must watch them.
    pub new_dirs: Vec<PathBuf>,
    /// Source roots that are missing right now (their files are kept as they were).
    pub missing_roots: Vec<PathBuf>,
    pub errors: Vec<FileError>,
}

impl Index {
    pub fn new(roots: &[SourceRoot], ignore: &IgnoreRules) -> Index {
        Index {
            roots: roots.to_vec(),
            ignore: ignore.clone(),
            rules: roots.iter().map(|r| r.rules(ignore)).collect(),
            files: BTreeMap::new(),
            ahead: None,
        }
    }

    pub fn roots(&self) -> &[SourceRoot] {
        &self.roots
    }

    pub fn ignore(&self) -> &IgnoreRules {
        &self.ignore
    }

    /// Starts the next [`Index::scan`]'s walk now, on its own thread, so that it runs while
    /// the caller does other work (a build loads its record meanwhile). Only for a caller
    /// whose next step is that scan and that watches nothing: what changes between this
    /// call and the scan is seen by the next scan, not by this one.
    pub fn walk_ahead(&mut self) {
        let (roots, ignore) = (self.roots.clone(), self.ignore.clone());
        let walk = std::thread::Builder::new()
            .name("sluice-walk".into())
            .spawn(move || scan(&roots, &ignore));
        // No thread to be had: the scan walks when it is called, as without this.
        self.ahead = walk.ok();
    }

    /// Walks every root; the files go into the index, the rest of the findings are returned.
    /// A walk started by [`Index::walk_ahead`] is waited for instead.
    pub fn scan(&mut self) -> SourceIndex {
        let ahead = self.ahead.take().and_then(|walk| walk.join().ok());
        let mut found = ahead.unwrap_or_else(|| scan(&self.roots, &self.ignore));
        self.files = std::mem::take(&mut found.files);
        found
    }

    /// The source file of a logical path, where the index has it, else where the first root
    /// that could have it would put it.
    pub fn source_path(&self, logical: &str) -> Option<PathBuf> {
        if let Some(file) = self.files.get(logical) {
            return Some(file.path.clone());
        }
        self.roots
            .iter()
            .find_map(|root| Some(output_path(&root.path, root.relative(logical)?)))
    }

    /// Applies one change set to the index.
    pub fn update(&mut self, changed: &[PathBuf]) -> Delta {
        let mut delta = Delta::default();
        let mut logicals = BTreeSet::new();
        for path in changed {
            self.affected(path, &mut logicals, &mut delta);
        }
        // A root that is gone (deleted, renamed away, unmounted) keeps its files until it is
        // back: they are not resolved, so neither removed nor replaced by a later root's.
        let missing: Vec<usize> = (0..self.roots.len())
            .filter(|&i| !self.roots[i].path.is_dir())
            .collect();
        let logicals: Vec<String> = logicals
            .into_iter()
            .filter(|l| self.files.get(l).is_none_or(|f| !missing.contains(&f.root)))
            .collect();
        let resolved: Vec<(String, std::result::Result<Option<SourceFile>, FileError>)> = logicals
            .into_par_iter()
            .map(|logical| {
                let found = self.resolve(&logical);
                (logical, found)
            })
            .collect();
        for (logical, found) in resolved {
            match found {
                Ok(Some(file)) => {
                    self.files.insert(logical.clone(), file);
                }
                Ok(None) => {
                    self.files.remove(&logical);
                }
                Err(error) => {
                    delta.errors.push(error);
                    continue;
                }
            }
            delta.touched.push(logical);
        }
        delta.missing_roots = missing
            .into_iter()
            .map(|i| self.roots[i].path.clone())
            .collect();
        delta
    }

    /// The file that owns `logical` now: the first root that has it, as Django's finders say.
    fn resolve(&self, logical: &str) -> std::result::Result<Option<SourceFile>, FileError> {
        for (i, root) in self.roots.iter().enumerate() {
            let Some(rel) = root.relative(logical) else {
                continue;
            };
            if self.rules[i].ignores_path(rel) {
                continue;
            }
            let path = output_path(&root.path, rel);
            match super::remote::stat(&path) {
                Ok((meta, super::remote::Kind::File)) => {
                    return Ok(Some(SourceFile {
                        root: i,
                        path,
                        meta,
                    }));
                }
                Ok(_) => {}
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || e.kind() == io::ErrorKind::NotADirectory => {}
                Err(e) => {
                    return Err(FileError {
                        path,
                        message: describe_io(&e),
                    });
                }
            }
        }
        Ok(None)
    }

    /// The logical paths a changed path can affect, scanning folders that appeared.
    fn affected(&self, changed: &Path, logicals: &mut BTreeSet<String>, delta: &mut Delta) {
        for (root, rules) in self.roots.iter().zip(&self.rules) {
            let Ok(inside) = changed.strip_prefix(&root.path) else {
                continue;
            };
            let Some(rel) = relative(changed, &root.path) else {
                continue; // a non-UTF-8 name: the full pass reports it
            };
            let under = |prefix: &str| -> Vec<String> {
                let start = format!("{prefix}/");
                self.files
                    .range(start.clone()..)
                    .take_while(|(k, _)| k.starts_with(&start))
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            if inside.as_os_str().is_empty() {
                // The root itself: everything it holds may have changed.
                match &root.prefix {
                    Some(prefix) => logicals.extend(under(prefix)),
                    None => logicals.extend(self.files.keys().cloned()),
                }
            } else {
                let parent = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
                if !parent.is_empty() && rules.ignores_dir_path(parent) {
                    continue;
                }
                let logical = root.logical(&rel);
                logicals.extend(under(&logical));
                let name = rel.rsplit('/').next().unwrap_or(&rel);
                if !rules.ignores_file(name, &rel) {
                    // Also when it is a folder now: a file of that name may be gone.
                    logicals.insert(logical);
                }
                let is_dir = super::remote::stat(changed)
                    .is_ok_and(|(_, kind)| kind == super::remote::Kind::Dir);
                if !is_dir || rules.ignores_dir(name) {
                    continue;
                }
            }
            if fs::metadata(&root.path).is_ok_and(|m| m.is_dir()) {
                let found = scan_subtree(root, changed, rules);
                logicals.extend(found.files.into_iter().map(|(logical, ..)| logical));
                delta.new_dirs.extend(found.dirs);
                delta.errors.extend(
                    found
                        .problems
                        .into_iter()
                        .filter(|p| p.kind != ProblemKind::SymlinkLoop)
                        .map(|p| FileError {
                            path: p.path,
                            message: p.detail,
                        }),
                );
            }
        }
    }
}

/// Refuses an output inside a source root or a source root inside the output: the output
/// would collect itself (Django refuses the same with check `staticfiles.E002`).
pub fn check_layout(roots: &[SourceRoot], output: &Path) -> Result<()> {
    let output = resolve_existing(output);
    for root in roots {
        let meta = fs::metadata(&root.path);
        if !meta.as_ref().is_ok_and(|m| m.is_dir()) {
            return Err(Error::config(format!(
                "source folder {} {}",
                root.path.display(),
                if meta.is_ok() {
                    "is not a folder"
                } else {
                    "does not exist"
                }
            ))
            .with_hint("fix the path where it is set (`sluice config` shows where each value comes from), or pass `--source DIR`"));
        }
        let source = resolve_existing(&root.path);
        if output.starts_with(&source) || source.starts_with(&output) {
            let relation = if output == source {
                "is the same folder as"
            } else if output.starts_with(&source) {
                "is inside"
            } else {
                "contains"
            };
            return Err(Error::config(format!(
                "the output {} {relation} the source folder {}",
                output.display(),
                root.path.display()
            ))
            .with_hint("choose an output outside every source folder (Django: STATIC_ROOT must not be in STATICFILES_DIRS)"));
        }
    }
    Ok(())
}

/// `path` made absolute with symlinks resolved as far as it exists (the output may not yet).
fn resolve_existing(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut current = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    loop {
        if let Ok(real) = current.canonicalize() {
            return missing.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (current.file_name().map(ToOwned::to_owned), current.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                current = parent.to_path_buf();
            }
            _ => return current,
        }
    }
}
