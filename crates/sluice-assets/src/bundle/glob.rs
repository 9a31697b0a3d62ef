//! django-pipeline's `pipeline/glob.py` over the collected files' logical paths.
//!
//! A copy of Python's old `glob`, listing `staticfiles_storage` (STATIC_ROOT, i.e. the
//! collected files): patterns are matched one path segment at a time with `fnmatch` (so `**`
//! is `*` for one segment, not recursive), names starting with `.` only match a segment
//! pattern that starts with `.`, a pattern without `*?[` is taken as it is, and each
//! pattern's matches are sorted.

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::fnmatch::Pattern;

/// The folders and names of a set of logical paths (what `storage.listdir` would say).
#[derive(Debug, Default)]
pub struct Tree {
    /// Folder (`""` for the root) → the names directly inside it, files and folders.
    children: BTreeMap<String, BTreeSet<String>>,
    files: BTreeSet<String>,
}

impl Tree {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Tree {
        let mut tree = Tree::default();
        for path in paths {
            tree.files.insert(path.to_string());
            let mut rest = path;
            loop {
                let (dir, name) = rest.rsplit_once('/').unwrap_or(("", rest));
                let new = tree
                    .children
                    .entry(dir.to_string())
                    .or_default()
                    .insert(name.to_string());
                if dir.is_empty() || !new {
                    break;
                }
                rest = dir;
            }
        }
        tree
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        self.children.contains_key(path.trim_end_matches('/'))
    }

    fn exists(&self, path: &str) -> bool {
        self.is_file(path) || self.is_dir(path)
    }

    fn listdir(&self, dir: &str) -> impl Iterator<Item = &String> {
        self.children.get(dir).into_iter().flatten()
    }
}

/// `re.compile("[*?[]").search`.
pub fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// `os.path.split`: (head without trailing slashes unless all slashes, tail).
fn split(path: &str) -> (&str, &str) {
    let i = path.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = path.split_at(i);
    let trimmed = head.trim_end_matches('/');
    (if trimmed.is_empty() { head } else { trimmed }, tail)
}

/// `os.path.join(dir, name)` for a non-absolute name.
fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn glob1(tree: &Tree, dir: &str, pattern: &str) -> Vec<String> {
    let matcher = Pattern::new(pattern);
    let hidden_ok = pattern.starts_with('.');
    tree.listdir(dir)
        .filter(|n| hidden_ok || !n.starts_with('.'))
        .filter(|n| matcher.matches(n))
        .cloned()
        .collect()
}

fn iglob(tree: &Tree, pattern: &str) -> Vec<String> {
    if !has_magic(pattern) {
        return vec![pattern.to_string()];
    }
    let (dirname, basename) = split(pattern);
    if dirname.is_empty() {
        return glob1(tree, "", basename);
    }
    let dirs = if has_magic(dirname) {
        iglob(tree, dirname)
    } else {
        vec![dirname.to_string()]
    };
    let mut out = Vec::new();
    for dir in dirs {
        let names = if has_magic(basename) {
            glob1(tree, &dir, basename)
        } else if tree.exists(&join(&dir, basename)) {
            vec![basename.to_string()]
        } else {
            Vec::new()
        };
        out.extend(names.iter().map(|n| join(&dir, n)));
    }
    out
}

/// `pipeline.glob.glob(pattern)`: the sorted matches (a pattern without magic as it is,
/// whether it exists or not).
pub fn glob(tree: &Tree, pattern: &str) -> Vec<String> {
    let mut out = iglob(tree, &single_slashes(pattern));
    out.sort();
    out
}

/// `css//*.css` as `css/*.css`: a file system reads `//` as `/` (Python's glob lists the same
/// files either way), and the index's paths have single slashes.
fn single_slashes(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("//") {
        return pattern.into();
    }
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out.into()
}

/// Whether `glob(pattern)` would list `path` if it existed: same number of segments, each
/// matching its pattern segment (with the hidden-name rule), literal segments equal.
pub fn could_match(pattern: &str, path: &str) -> bool {
    let pattern = &single_slashes(pattern);
    if !has_magic(pattern) {
        return pattern == path;
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let n: Vec<&str> = path.split('/').collect();
    p.len() == n.len()
        && p.iter().zip(&n).all(|(p, n)| {
            if has_magic(p) {
                (p.starts_with('.') || !n.starts_with('.')) && Pattern::new(p).matches(n)
            } else {
                p == n
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        Tree::new([
            "css/b.css",
            "css/a.css",
            "css/.hidden.css",
            "css/sub/c.css",
            "css/sub/deep/d.css",
            "tpl/photo/list.jst",
            "tpl/video/detail.jst",
            "tpl/x.jst",
            "top.css",
        ])
    }

    #[test]
    fn segments_sorted_hidden_skipped() {
        let t = tree();
        assert_eq!(glob(&t, "css/*.css"), ["css/a.css", "css/b.css"]);
        assert_eq!(glob(&t, "css/.*.css"), ["css/.hidden.css"]);
        assert_eq!(glob(&t, "*.css"), ["top.css"]);
        assert_eq!(glob(&t, "css/*"), ["css/a.css", "css/b.css", "css/sub"]);
        // `**` is one segment, not recursive.
        assert_eq!(glob(&t, "css/**/*.css"), ["css/sub/c.css"]);
        assert_eq!(
            glob(&t, "tpl/**/*.jst"),
            ["tpl/photo/list.jst", "tpl/video/detail.jst"]
        );
        assert_eq!(glob(&t, "c?s/[ab].css"), ["css/a.css", "css/b.css"]);
        assert_eq!(glob(&t, "*/sub"), ["css/sub"]);
        assert_eq!(glob(&t, "nope/*.css"), Vec::<String>::new());
        // Literal: as given, existing or not.
        assert_eq!(glob(&t, "css/zzz.css"), ["css/zzz.css"]);
        assert_eq!(glob(&t, "*/sub/deep"), ["css/sub/deep"]);
    }

    #[test]
    fn could_match_is_glob_membership() {
        assert!(could_match("css/*.css", "css/new.css"));
        assert!(!could_match("css/*.css", "css/sub/new.css"));
        assert!(!could_match("css/*.css", "css/.new.css"));
        assert!(could_match("css/.*", "css/.new.css"));
        assert!(could_match("tpl/**/*.jst", "tpl/a/b.jst"));
        assert!(could_match("css/a.css", "css/a.css"));
        assert!(!could_match("css/a.css", "css/b.css"));
        // `//` reads as `/`, in both (found by fuzz/corpus/glob/double-slash).
        assert!(could_match("*/[ab]*//*.js", "js/b/x.js"));
        assert!(could_match("css//a.css", "css/a.css"));
        let t = tree();
        assert_eq!(glob(&t, "css//*.css"), ["css/a.css", "css/b.css"]);
        assert_eq!(glob(&t, "css//sub/c.css"), ["css/sub/c.css"]);
    }
}
