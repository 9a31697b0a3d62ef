//! Source roots and their index, with Django's finder semantics.
//!
//! A project's media lives in an ordered list of roots (Django's `STATICFILES_DIRS`, optionally
//! with a prefix, then each installed app's `static/` folder). A logical path such as
//! `css/base.css` belongs to the first root that has it; later copies are *shadowed* and reported.
//! Ignore patterns are Django's: `fnmatchcase` against a file's name and its path relative to its
//! root, against a folder's name only. Symlinks are followed; loops are reported, not walked.

mod index;
pub mod remote;

pub use index::{Delta, Index, check_layout};

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::fnmatch::Pattern;

/// Django's `StaticFilesConfig.ignore_patterns`.
pub const DEFAULT_IGNORE: [&str; 3] = ["CVS", ".*", "*~"];

/// One folder of sources, mounted at `prefix` (no leading or trailing `/`) in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRoot {
    pub path: PathBuf,
    pub prefix: Option<String>,
    /// Patterns ignored in this root only, besides everyone's (a finder's own, such as
    /// django-pipeline's filtering `FileSystemFinder`).
    pub ignore: Vec<String>,
}

impl SourceRoot {
    pub fn new(path: impl Into<PathBuf>, prefix: Option<String>) -> SourceRoot {
        SourceRoot {
            path: path.into(),
            prefix,
            ignore: Vec::new(),
        }
    }

    /// The rules that apply in this root: `common`, plus its own patterns — as
    /// django-pipeline's filtering finders add theirs, only to a list that is not empty
    /// (`if ignore_patterns:`; `collectstatic --no-default-ignore` without `-i` filters
    /// nothing).
    pub fn rules(&self, common: &IgnoreRules) -> IgnoreRules {
        if self.ignore.is_empty() || common.patterns.is_empty() {
            return common.clone();
        }
        let mut rules = common.clone();
        rules
            .patterns
            .extend(self.ignore.iter().map(|p| Pattern::new(p)));
        rules
    }

    /// The logical path of a file at `rel` (`/`-separated) inside this root.
    pub fn logical(&self, rel: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{rel}"),
            None => rel.to_owned(),
        }
    }

    /// [`SourceRoot::logical`], reusing `rel`'s buffer when the root has no prefix.
    fn logical_of_owned(&self, rel: String) -> String {
        match &self.prefix {
            Some(_) => self.logical(&rel),
            None => rel,
        }
    }

    /// The path inside this root of a logical path (`None` when the prefix does not match).
    pub fn relative<'a>(&self, logical: &'a str) -> Option<&'a str> {
        match &self.prefix {
            Some(prefix) => logical.strip_prefix(prefix.as_str())?.strip_prefix('/'),
            None => Some(logical),
        }
    }
}

/// Which names are left out, as Django's finders do.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    pub fn new(patterns: &[String]) -> IgnoreRules {
        IgnoreRules {
            patterns: patterns.iter().map(|p| Pattern::new(p)).collect(),
        }
    }

    fn matches(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(text))
    }

    /// A folder is skipped (with everything below it) when its name matches.
    pub fn ignores_dir(&self, name: &str) -> bool {
        self.matches(name)
    }

    /// A file is skipped when its name or its path inside the root matches.
    pub fn ignores_file(&self, name: &str, rel: &str) -> bool {
        self.matches(name) || (rel != name && self.matches(rel))
    }

    /// Whether the folder `rel` (inside a root) or one of the folders above it is ignored.
    pub fn ignores_dir_path(&self, rel: &str) -> bool {
        rel.split('/').any(|dir| self.ignores_dir(dir))
    }

    /// Whether `rel` (a `/`-separated path inside a root) is ignored, checking every folder on
    /// the way as the walk would.
    pub fn ignores_path(&self, rel: &str) -> bool {
        let mut parts: Vec<&str> = rel.split('/').collect();
        let Some(name) = parts.pop() else {
            return false;
        };
        parts.iter().any(|dir| self.ignores_dir(dir)) || self.ignores_file(name, rel)
    }
}

/// What the index remembers of a file: enough to tell a change without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMeta {
    pub len: u64,
    pub mtime_ns: i64,
    pub ino: u64,
}

impl FileMeta {
    pub fn of(meta: &Metadata) -> FileMeta {
        FileMeta {
            len: meta.len(),
            mtime_ns: mtime_ns(meta),
            ino: inode(meta),
        }
    }
}

#[cfg(unix)]
fn mtime_ns(meta: &Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

#[cfg(not(unix))]
fn mtime_ns(meta: &Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(unix)]
fn inode(meta: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &Metadata) -> u64 {
    0
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Index into the roots the index was built from.
    pub root: usize,
    /// Where the file is on disk.
    pub path: PathBuf,
    pub meta: FileMeta,
}

/// A file that lost to an earlier root with the same logical path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    pub logical: String,
    pub used: PathBuf,
    pub ignored: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A symlink that points back to one of its own ancestors.
    SymlinkLoop,
    /// A name that is not UTF-8 cannot be a URL path; the file is skipped.
    NonUtf8Name,
    /// A folder or file that could not be read (permission denied, broken symlink, …).
    Unreadable,
}

/// Something found while walking that the user should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: PathBuf,
    pub detail: String,
}

/// Every kept file of every root, by logical path.
#[derive(Debug, Default)]
pub struct SourceIndex {
    pub files: BTreeMap<String, SourceFile>,
    pub shadowed: Vec<Shadowed>,
    pub problems: Vec<Problem>,
    /// Every kept folder (roots included): what a watcher has to watch.
    pub dirs: Vec<PathBuf>,
    /// Each folder's mtime as the walk saw it (before listing it), aligned with `dirs`: what a
    /// poller starts from without walking again.
    pub dir_mtimes: Vec<i64>,
}

/// Groups of logical paths that differ only in case: they would overwrite each other on a
/// case-insensitive filesystem (macOS, Windows, Docker bind mounts of either).
///
/// Two paths can only collide if one of them has a character `to_lowercase` changes: the
/// paths already in lower case are only looked up, not lowered and grouped (on a typical tree
/// almost all of them), which keeps this a small part of a no-op pass.
pub fn case_collisions<V>(files: &BTreeMap<String, V>) -> Vec<Vec<String>> {
    let mixed: Vec<&String> = files
        .keys()
        .filter(|l| l.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()))
        .filter(|l| l.chars().any(|c| c.to_lowercase().ne(Some(c))))
        .collect();
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for logical in mixed {
        groups
            .entry(logical.to_lowercase())
            .or_default()
            .push(logical.clone());
    }
    for (folded, group) in groups.iter_mut() {
        if files.contains_key(folded.as_str()) {
            group.push(folded.clone());
        }
    }
    let mut collisions: Vec<Vec<String>> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    collisions.sort();
    collisions
}

/// What one root's walk found.
#[derive(Default)]
struct RootScan {
    files: Vec<(String, PathBuf, FileMeta)>,
    /// Each folder with its mtime.
    dirs: Vec<(PathBuf, i64)>,
    problems: Vec<Problem>,
}

/// Walks every root (in parallel within each root) and builds the index, first root winning.
pub fn scan(roots: &[SourceRoot], ignore: &IgnoreRules) -> SourceIndex {
    let mut index = SourceIndex::default();
    for (i, root) in roots.iter().enumerate() {
        let found = scan_tree(&root.path, &root.path, &root.rules(ignore));
        index.problems.extend(found.problems);
        for (dir, mtime_ns) in found.dirs {
            index.dirs.push(dir);
            index.dir_mtimes.push(mtime_ns);
        }
        if index.files.is_empty() {
            // The first root: its files are sorted and unique, so the map is built in bulk.
            index.files = found
                .files
                .into_iter()
                .map(|(rel, path, meta)| {
                    (
                        root.logical_of_owned(rel),
                        SourceFile {
                            root: i,
                            path,
                            meta,
                        },
                    )
                })
                .collect();
            continue;
        }
        for (rel, path, meta) in found.files {
            let logical = root.logical_of_owned(rel);
            match index.files.get(&logical) {
                Some(existing) => index.shadowed.push(Shadowed {
                    logical,
                    used: existing.path.clone(),
                    ignored: path,
                }),
                None => {
                    index.files.insert(
                        logical,
                        SourceFile {
                            root: i,
                            path,
                            meta,
                        },
                    );
                }
            }
        }
    }
    index.shadowed.sort_by(|a, b| a.logical.cmp(&b.logical));
    index.problems.sort_by(|a, b| a.path.cmp(&b.path));
    index
}

/// Files and folders found under one folder of a root (the folder itself is assumed kept).
#[derive(Debug, Default)]
pub struct SubtreeScan {
    /// `(logical path, file)`, sorted.
    pub files: Vec<(String, PathBuf, FileMeta)>,
    pub dirs: Vec<PathBuf>,
    /// Each folder's mtime as the walk saw it, aligned with `dirs`.
    pub dir_mtimes: Vec<i64>,
    pub problems: Vec<Problem>,
}

/// Walks `start` (a folder inside `root`) with the root's `rules` ([`SourceRoot::rules`]), as
/// [`scan`] does, returning paths relative to `root`: how a watcher takes in a folder that
/// appeared.
pub fn scan_subtree(root: &SourceRoot, start: &Path, rules: &IgnoreRules) -> SubtreeScan {
    let found = scan_tree(&root.path, start, rules);
    SubtreeScan {
        files: found
            .files
            .into_iter()
            .map(|(rel, path, meta)| (root.logical(&rel), path, meta))
            .collect(),
        dir_mtimes: found.dirs.iter().map(|(_, mtime)| *mtime).collect(),
        dirs: found.dirs.into_iter().map(|(dir, _)| dir).collect(),
        problems: found.problems,
    }
}

fn scan_tree(root: &Path, start: &Path, ignore: &IgnoreRules) -> RootScan {
    let found = Mutex::new(Walked::default());
    let Some(rel) = relative(start, root) else {
        return RootScan::default();
    };
    let top = rel.clone();
    match fs::metadata(start) {
        Ok(meta) if meta.is_dir() => {
            let walk = Walk {
                ignore,
                found: &found,
            };
            let ancestors = vec![dir_id(&meta)];
            let mtime_ns = FileMeta::of(&meta).mtime_ns;
            rayon::scope(|scope| walk.dir(scope, start.to_path_buf(), rel, ancestors, mtime_ns));
        }
        Ok(_) => {}
        Err(err) => found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .problems
            .push(Problem {
                kind: ProblemKind::Unreadable,
                detail: err.to_string(),
                path: start.to_path_buf(),
            }),
    }
    let walked = found.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut scan = RootScan {
        files: Vec::with_capacity(walked.folders.iter().map(|f| f.files.len()).sum()),
        dirs: walked.dirs,
        problems: walked.problems,
    };
    let mut folders: HashMap<String, Folder> = (walked.folders.into_iter())
        .map(|f| (f.rel.clone(), f))
        .collect();
    in_order(&top, &mut folders, &mut scan.files);
    debug_assert!(scan.files.is_sorted_by(|a, b| a.0 < b.0));
    scan.dirs.sort_unstable_by(|a, b| by_components(&a.0, &b.0));
    scan
}

/// A folder's identity, to tell a symlink that leads back to an ancestor.
#[cfg(unix)]
fn dir_id(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_id(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// A parallel walk: one rayon task per folder. Entries are stat'ed relative to their open
/// folder (`DirEntry::metadata` is `fstatat` on Linux), which costs a fraction of a stat by full
/// path on deep trees; only symlinks are followed by path.
struct Walk<'a> {
    ignore: &'a IgnoreRules,
    found: &'a Mutex<Walked>,
}

/// What a walk's tasks found, folder by folder.
#[derive(Default)]
struct Walked {
    folders: Vec<Folder>,
    dirs: Vec<(PathBuf, i64)>,
    problems: Vec<Problem>,
}

/// One folder's files, sorted, and the folders in it that were walked.
struct Folder {
    rel: String,
    files: Vec<(String, PathBuf, FileMeta)>,
    subdirs: Vec<String>,
}

/// `a.cmp(b)` for paths the walk made (names joined by `/`, no `.` or empty components),
/// compared as bytes with the separator below every byte a name can hold: the order of
/// their components, at a fraction of the cost of comparing component by component.
#[cfg(unix)]
fn by_components(a: &Path, b: &Path) -> std::cmp::Ordering {
    use std::os::unix::ffi::OsStrExt;
    fn lowered(p: &Path) -> impl Iterator<Item = u8> + '_ {
        let bytes = p.as_os_str().as_bytes().iter();
        bytes.map(|&c| if c == b'/' { 0 } else { c })
    }
    lowered(a).cmp(lowered(b))
}

#[cfg(not(unix))]
fn by_components(a: &Path, b: &Path) -> std::cmp::Ordering {
    a.cmp(b)
}

/// A folder's path as the paths under it begin: with a `/`.
fn as_folder(dir: &str) -> impl Iterator<Item = u8> + '_ {
    dir.bytes().chain(std::iter::once(b'/'))
}

/// `rel`'s files and, recursively, its folders', in the order of their paths as strings:
/// every path under a folder starts with `folder/`, so the folder's files sort among its
/// own folders' as each file's path against the folder's path and a `/`. Each folder's
/// files are sorted by the task that walked it, so the 20 000 paths of a big site need no
/// sort of their own.
fn in_order(
    rel: &str,
    folders: &mut HashMap<String, Folder>,
    out: &mut Vec<(String, PathBuf, FileMeta)>,
) {
    let Some(folder) = folders.remove(rel) else {
        return;
    };
    let mut subdirs = folder.subdirs;
    subdirs.sort_unstable_by(|a, b| as_folder(a).cmp(as_folder(b)));
    let mut subdirs = subdirs.into_iter().peekable();
    for file in folder.files {
        while let Some(dir) = subdirs.next_if(|d| as_folder(d).lt(file.0.bytes())) {
            in_order(&dir, folders, out);
        }
        out.push(file);
    }
    for dir in subdirs {
        in_order(&dir, folders, out);
    }
}

impl<'a> Walk<'a> {
    fn dir<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        dir: PathBuf,
        rel: String,
        ancestors: Vec<(u64, u64)>,
        mtime_ns: i64,
    ) {
        let mut local = RootScan::default();
        let mut subdirs = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) => {
                local.problems.push(Problem {
                    kind: ProblemKind::Unreadable,
                    detail: describe_walk_error(&err),
                    path: dir,
                });
                self.merge(rel, local, subdirs);
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    local.problems.push(Problem {
                        kind: ProblemKind::Unreadable,
                        detail: describe_walk_error(&err),
                        path: dir.clone(),
                    });
                    continue;
                }
            };
            let path = entry.path();
            // The name, borrowed from the path (a second allocation per file otherwise).
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                local.problems.push(Problem {
                    kind: ProblemKind::NonUtf8Name,
                    detail: "the name is not valid UTF-8, so no URL can name it; skipped".into(),
                    path,
                });
                continue;
            };
            let child_rel = if rel.is_empty() {
                name.to_owned()
            } else {
                let mut child = String::with_capacity(rel.len() + 1 + name.len());
                child.push_str(&rel);
                child.push('/');
                child.push_str(name);
                child
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            // Follow symlinks (as Django's finders do); everything else is stat'ed in place.
            let meta = if file_type.is_symlink() {
                fs::metadata(&path)
            } else if file_type.is_dir() {
                if self.ignore.ignores_dir(name) {
                    continue;
                }
                entry.metadata()
            } else {
                if self.ignore.ignores_file(name, &child_rel) {
                    continue;
                }
                entry.metadata()
            };
            let meta = match meta {
                Ok(meta) => meta,
                Err(err) => {
                    let detail =
                        if file_type.is_symlink() && err.kind() == std::io::ErrorKind::NotFound {
                            "broken symlink; skipped".to_owned()
                        } else {
                            describe_walk_error(&err)
                        };
                    local.problems.push(Problem {
                        kind: ProblemKind::Unreadable,
                        detail,
                        path,
                    });
                    continue;
                }
            };
            if meta.is_dir() {
                if file_type.is_symlink() && self.ignore.ignores_dir(name) {
                    continue;
                }
                let id = dir_id(&meta);
                if let Some(ancestor) = ancestors.iter().position(|a| *a == id) {
                    let mut up = dir.clone();
                    for _ in ancestor + 1..ancestors.len() {
                        up.pop();
                    }
                    local.problems.push(Problem {
                        kind: ProblemKind::SymlinkLoop,
                        detail: format!(
                            "symlink loop: it leads back to {}; not followed",
                            up.display()
                        ),
                        path,
                    });
                    continue;
                }
                let mut chain = ancestors.clone();
                chain.push(id);
                let mtime_ns = FileMeta::of(&meta).mtime_ns;
                subdirs.push(child_rel.clone());
                scope.spawn(move |scope| self.dir(scope, path, child_rel, chain, mtime_ns));
            } else if meta.is_file() {
                if file_type.is_symlink() && self.ignore.ignores_file(name, &child_rel) {
                    continue;
                }
                local.files.push((child_rel, path, FileMeta::of(&meta)));
            } else {
                local.problems.push(Problem {
                    kind: ProblemKind::Unreadable,
                    detail: "not a regular file; skipped".into(),
                    path,
                });
            }
        }
        local.dirs.push((dir, mtime_ns));
        // Unique paths: an unstable sort gives the same order, faster.
        local.files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.merge(rel, local, subdirs);
    }

    fn merge(&self, rel: String, local: RootScan, subdirs: Vec<String>) {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        found.folders.push(Folder {
            rel,
            files: local.files,
            subdirs,
        });
        found.dirs.extend(local.dirs);
        found.problems.extend(local.problems);
    }
}

/// `path` relative to `root`, `/`-separated; `None` when not UTF-8 or not inside.
pub fn relative(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn describe_walk_error(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => format!("permission denied ({err})"),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn rules(patterns: &[&str]) -> IgnoreRules {
        IgnoreRules::new(&patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn ignore_rules_follow_django() {
        let r = rules(&DEFAULT_IGNORE);
        assert!(r.ignores_dir(".git"));
        assert!(r.ignores_dir("CVS"));
        assert!(!r.ignores_dir("css"));
        assert!(r.ignores_file("x.css~", "css/x.css~"));
        let r = rules(&["css/*.map"]);
        assert!(r.ignores_file("a.map", "css/a.map"));
        assert!(
            r.ignores_file("a.map", "css/deep/a.map"),
            "fnmatch `*` crosses `/`"
        );
        assert!(!r.ignores_dir("css"), "folders match by name only");
        assert!(r.ignores_path("css/deep/a.map"));
        assert!(rules(&[".*"]).ignores_path(".git/config"));
    }

    #[test]
    fn a_finders_own_patterns_join_only_a_list_that_is_not_empty() {
        let mut root = SourceRoot::new("/p/media", None);
        root.ignore = vec!["*.css".into()];
        assert!(
            root.rules(&rules(&DEFAULT_IGNORE))
                .ignores_path("css/a.css")
        );
        assert!(root.rules(&rules(&["*.json"])).ignores_path("css/a.css"));
        // `--no-default-ignore`, no `-i`: django-pipeline's finders filter nothing either.
        assert!(!root.rules(&rules(&[])).ignores_path("css/a.css"));
    }

    #[test]
    fn first_root_wins_and_prefixes_apply() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        for (path, text) in [
            (a.join("css/site.css"), "a"),
            (b.join("css/site.css"), "b"),
            (b.join("css/only-b.css"), "b"),
            (a.join(".hidden"), "x"),
            (a.join("CVS/entries"), "x"),
        ] {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let roots = [
            SourceRoot::new(a.clone(), None),
            SourceRoot::new(b.clone(), None),
            SourceRoot::new(b.clone(), Some("vendor".into())),
        ];
        let index = scan(&roots, &rules(&DEFAULT_IGNORE));
        let names: Vec<&str> = index.files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "css/only-b.css",
                "css/site.css",
                "vendor/css/only-b.css",
                "vendor/css/site.css"
            ]
        );
        assert_eq!(index.files["css/site.css"].path, a.join("css/site.css"));
        assert_eq!(index.shadowed.len(), 1);
        assert_eq!(index.shadowed[0].ignored, b.join("css/site.css"));
    }

    #[test]
    fn a_walk_lists_files_in_the_order_of_their_paths() {
        // Names whose order as strings differs from their order folder by folder: `-`, `.`
        // and `0` sort around `/`.
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "a.css",
            "a/x.css",
            "a/b/c.js",
            "a-b/x.css",
            "a0",
            "a0x/z",
            "a/b-c/d",
            "a/b.txt",
            "b",
            "a/b/c/d/e",
            "z/a",
            "a-/q",
            "a.b/c",
        ];
        for name in names {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, name).unwrap();
        }
        let found = scan_tree(dir.path(), dir.path(), &rules(&[]));
        let listed: Vec<&str> = found.files.iter().map(|f| f.0.as_str()).collect();
        let mut expected = names.to_vec();
        expected.sort();
        assert_eq!(listed, expected);
        // Folders in the order of their components, as `Path` sorts them.
        let dirs: Vec<&PathBuf> = found.dirs.iter().map(|d| &d.0).collect();
        let mut sorted = dirs.clone();
        sorted.sort();
        assert_eq!(dirs, sorted);
        assert!(dirs.len() >= 10, "{dirs:?}");
        // A walk from a folder inside the root: paths relative to the root, in order too.
        let found = scan_tree(dir.path(), &dir.path().join("a"), &rules(&[]));
        let listed: Vec<&str> = found.files.iter().map(|f| f.0.as_str()).collect();
        let under_a: Vec<&str> = expected
            .into_iter()
            .filter(|n| n.starts_with("a/"))
            .collect();
        assert_eq!(listed, under_a);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_loops_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("media");
        fs::create_dir_all(root.join("real")).unwrap();
        fs::write(root.join("real/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("alias")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("real/back")).unwrap();
        let index = scan(
            &[SourceRoot::new(root.clone(), None)],
            &rules(&DEFAULT_IGNORE),
        );
        assert!(index.files.contains_key("alias/a.txt"));
        assert!(index.files.contains_key("real/a.txt"));
        assert!(
            index
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::SymlinkLoop),
            "{:?}",
            index.problems
        );
    }

    #[test]
    fn case_collisions_are_grouped() {
        let mut index = SourceIndex::default();
        for name in ["img/Logo.png", "img/logo.png", "img/other.png"] {
            index.files.insert(
                name.into(),
                SourceFile {
                    root: 0,
                    path: PathBuf::from(name),
                    meta: FileMeta {
                        len: 0,
                        mtime_ns: 0,
                        ino: 0,
                    },
                },
            );
        }
        assert_eq!(
            case_collisions(&index.files),
            [["img/Logo.png", "img/logo.png"]]
        );
    }
}
