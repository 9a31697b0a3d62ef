//! Removing many recorded outputs at once: a profile switch takes away thousands of files
//! (a sync after a build: every hashed and compressed copy). Each is looked at and removed in
//! parallel (the unlinks of different folders overlap), then every folder left empty goes,
//! deepest first, once per folder rather than once per file.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sluice_core::output::output_path;

use super::decide::{Current, intact};
use crate::record::OutEntry;

/// What became of one recorded output.
#[derive(Debug)]
pub enum Removal {
    /// Nothing was there any more.
    Gone,
    Removed,
    /// Changed since sluice wrote it: left alone.
    Modified(PathBuf),
    Failed(PathBuf, io::Error),
}

/// Removes each recorded output (its path under `output`, its record entry) that is as sluice
/// wrote it, then the folders left empty up to (not including) `output`. One answer per item,
/// in order.
pub fn remove_recorded(output: &Path, items: &[(&str, &OutEntry)]) -> Vec<Removal> {
    let answers: Vec<Removal> = items
        .par_iter()
        .with_min_len(64)
        .map(|(logical, entry)| {
            let path = output_path(output, logical);
            match Current::of(&path) {
                None => Removal::Gone,
                Some(now) if intact(entry, &now) => match std::fs::remove_file(&path) {
                    Ok(()) => Removal::Removed,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Removal::Gone,
                    Err(e) => Removal::Failed(path, e),
                },
                Some(_) => Removal::Modified(path),
            }
        })
        .collect();
    let emptied = items
        .iter()
        .zip(&answers)
        .filter(|(_, a)| matches!(a, Removal::Removed | Removal::Gone))
        .filter_map(|((logical, _), _)| logical.rsplit_once('/').map(|(dir, _)| dir));
    prune(output, emptied);
    answers
}

/// Removes each of `dirs` (relative to `output`) that is empty, and then each parent left
/// empty, deepest first, each folder tried once.
fn prune<'a>(output: &Path, dirs: impl Iterator<Item = &'a str>) {
    // Deepest first: more slashes sort earlier; a folder's parent is tried after it.
    let mut todo: BTreeSet<(std::cmp::Reverse<usize>, String)> = dirs
        .map(|d| (std::cmp::Reverse(d.matches('/').count()), d.to_string()))
        .collect();
    let mut tried = BTreeSet::new();
    while let Some((_, dir)) = todo.pop_first() {
        if !tried.insert(dir.clone()) {
            continue;
        }
        if std::fs::remove_dir(output_path(output, &dir)).is_ok()
            && let Some((parent, _)) = dir.rsplit_once('/')
        {
            todo.insert((
                std::cmp::Reverse(parent.matches('/').count()),
                parent.to_string(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Key, OutKind};
    use std::fs;

    fn entry(path: &Path) -> OutEntry {
        OutEntry {
            meta: Current::of(path).unwrap().meta,
            link: false,
            source: None,
            key: Some(Key::of(b"x")),
            kind: OutKind::Copy,
        }
    }

    #[test]
    fn removes_what_sluice_wrote_and_the_folders_left_empty() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        for p in [
            "a/b/c/one.css",
            "a/b/two.css",
            "a/keep/three.css",
            "top.css",
        ] {
            fs::create_dir_all(out.join(p).parent().unwrap()).unwrap();
            fs::write(out.join(p), p).unwrap();
        }
        let e1 = entry(&out.join("a/b/c/one.css"));
        let e2 = entry(&out.join("a/b/two.css"));
        let e3 = entry(&out.join("a/keep/three.css"));
        let e4 = entry(&out.join("top.css"));
        // Changed by someone since: stays, and so does its folder.
        fs::write(out.join("a/keep/three.css"), "edited by hand").unwrap();
        let answers = remove_recorded(
            out,
            &[
                ("a/b/c/one.css", &e1),
                ("a/b/two.css", &e2),
                ("a/keep/three.css", &e3),
                ("top.css", &e4),
                ("gone/four.css", &e4),
            ],
        );
        assert!(matches!(answers[0], Removal::Removed));
        assert!(matches!(answers[1], Removal::Removed));
        assert!(matches!(answers[2], Removal::Modified(_)));
        assert!(matches!(answers[3], Removal::Removed));
        assert!(matches!(answers[4], Removal::Gone));
        assert!(!out.join("a/b").exists());
        assert!(out.join("a/keep/three.css").exists());
        assert!(out.exists());
    }
}
