//! Rewriting one `*.css` / `*.js` file as Django's `HashedFilesMixin` does: its patterns
//! (storage.py 6.1.3, translated to the `regex` crate), what the storage answers while
//! rewriting (resolution), and the converter applied to each match.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{
    Adjustable, ManifestOptions, Reference, ReferenceKind, adjustable, build_hashed_name,
    hashed_name,
};
use crate::error::Error;
use crate::python;

// ---------------------------------------------------------------------------------------
// Patterns (storage.py 6.1.3, translated to the `regex` crate).
//
// Python's `\s` is `str.isspace()`, which also covers U+001C..U+001F; `(?P=quote)` is
// expanded into one alternative per quote, in the order Python's backtracking tries them.

const S: &str = r"[\s\x1C-\x1F]";

static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        r#"(?i)(?P<matched>url\((?:"{S}*(?P<u1>.*?)"|'{S}*(?P<u2>.*?)'|{S}*(?P<u3>.*?))\))"#
    );
    Regex::new(&pattern).expect("valid CSS url() pattern")
});
static CSS_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(r#"(?i)(?P<matched>@import{S}*["']{S}*(?P<url>.*?)["'])"#);
    Regex::new(&pattern).expect("valid CSS @import pattern")
});
static CSS_SOURCE_MAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?P<matched>/\*#[ \t](?-i:sourceMappingURL)=(?P<url>.*)[ \t]*\*/)$")
        .expect("valid CSS source map pattern")
});
static JS_SOURCE_MAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?P<matched>//# (?-i:sourceMappingURL)=(?P<url>.*))$")
        .expect("valid JS source map pattern")
});
static CSS_IGNORED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)/\*.*?\*/|\\.|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*""#)
        .expect("valid CSS ignored-blocks pattern")
});
static JS_IGNORED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?s)/\*.*?\*/|//[^\n]*|\\.|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`"#,
    )
    .expect("valid JS ignored-blocks pattern")
});

#[derive(Clone, Copy)]
enum Template {
    Url,
    Import,
    CssSourceMap,
    JsSourceMap,
}

impl Template {
    fn render(self, url: &str) -> String {
        match self {
            Template::Url => format!("url(\"{url}\")"),
            Template::Import => format!("@import url(\"{url}\")"),
            Template::CssSourceMap => format!("/*# sourceMappingURL={url} */"),
            Template::JsSourceMap => format!("//# sourceMappingURL={url}"),
        }
    }
}

type Pattern = (&'static LazyLock<Regex>, Template, &'static LazyLock<Regex>);

/// Django's `patterns` for `*.css` (in order) and `*.js`.
const CSS_PATTERNS: [Pattern; 3] = [
    (&CSS_URL, Template::Url, &CSS_IGNORED),
    (&CSS_IMPORT, Template::Import, &CSS_IGNORED),
    (&CSS_SOURCE_MAP, Template::CssSourceMap, &CSS_IGNORED),
];
const JS_PATTERNS: [Pattern; 1] = [(&JS_SOURCE_MAP, Template::JsSourceMap, &JS_IGNORED)];

fn patterns(kind: Adjustable) -> &'static [Pattern] {
    match kind {
        Adjustable::Css => &CSS_PATTERNS,
        Adjustable::Js => &JS_PATTERNS,
    }
}

// ---------------------------------------------------------------------------------------
// Resolution: what Django's storage answers while rewriting.

/// A lookup in Django's `hashed_files` cache.
pub(super) enum CacheLookup {
    Hit(String),
    Miss,
    /// The target's final name is needed but not computed yet (a planner bug).
    NotReady,
}

/// A file system lookup in STATIC_ROOT (which holds the unprocessed copies).
pub(super) enum DiskLookup {
    File { path: String, hash: String },
    Dir(String),
    Missing,
}

pub(super) trait Resolver {
    fn cached(&self, key: &str) -> CacheLookup;
    fn disk(&self, path: &str) -> DiskLookup;
}

/// What the planner needs to know of the collected files besides the ones it re-plans: the
/// hash of each one's unprocessed bytes, and which names are folders. [`CollectedFiles`] is
/// the in-memory one; a caller that keeps its own record of every file (sluice's engine)
/// answers from it, without building a map of every file for each build.
pub trait Collection: Sync {
    /// [`content_hash`] of a collected file's unprocessed bytes.
    fn original_hash(&self, name: &str) -> Option<std::borrow::Cow<'_, str>>;
    /// Whether `name` is a folder that holds collected files.
    fn is_dir(&self, name: &str) -> bool;
}

/// The collected files as STATIC_ROOT shows them before post-processing: every name with
/// the hash of its unprocessed bytes, and the folders they imply.
#[derive(Debug, Clone, Default)]
pub struct CollectedFiles {
    pub(super) original_hash: HashMap<String, String>,
    dirs: HashSet<String>,
}

impl CollectedFiles {
    /// From each collected name and [`content_hash`] of its bytes.
    pub fn new(original_hash: HashMap<String, String>) -> Self {
        let mut dirs = HashSet::new();
        for name in original_hash.keys() {
            let mut end = name.len();
            while let Some(i) = name[..end].rfind('/') {
                if !dirs.insert(name[..i].to_string()) {
                    break;
                }
                end = i;
            }
        }
        Self {
            original_hash,
            dirs,
        }
    }

    /// The hash of a collected file's unprocessed bytes.
    pub fn original_hash(&self, name: &str) -> Option<&str> {
        self.original_hash.get(name).map(String::as_str)
    }
}

impl Collection for CollectedFiles {
    fn original_hash(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.original_hash
            .get(name)
            .map(|h| std::borrow::Cow::Borrowed(h.as_str()))
    }

    fn is_dir(&self, name: &str) -> bool {
        self.dirs.contains(name)
    }
}

/// `FileSystemStorage.exists` + `open`: `safe_join(STATIC_ROOT, path)` normalises the path and
/// refuses anything outside the root.
fn disk<C: Collection + ?Sized>(collected: &C, path: &str) -> DiskLookup {
    if path.starts_with('/') {
        return DiskLookup::Missing;
    }
    let normal = python::normpath(path);
    if normal == "." {
        return DiskLookup::Dir(normal);
    }
    if normal == ".." || normal.starts_with("../") {
        return DiskLookup::Missing;
    }
    if let Some(hash) = collected.original_hash(normal.as_str()) {
        let hash = hash.into_owned();
        return DiskLookup::File { path: normal, hash };
    }
    if collected.is_dir(normal.as_str()) {
        return DiskLookup::Dir(normal);
    }
    DiskLookup::Missing
}

/// The first pass: every cache hit answers with a placeholder (the original hash). What
/// matches and what it resolves to does not depend on hash values, so the references found
/// here are the real ones.
pub(super) struct ScanResolver<'a, C: ?Sized>(pub(super) &'a C);

impl<C: Collection + ?Sized> Resolver for ScanResolver<'_, C> {
    fn cached(&self, key: &str) -> CacheLookup {
        match self.0.original_hash(key) {
            Some(hash) => CacheLookup::Hit(hashed_name(key, &hash)),
            None => CacheLookup::Miss,
        }
    }
    fn disk(&self, path: &str) -> DiskLookup {
        disk(self.0, path)
    }
}

// ---------------------------------------------------------------------------------------
// Rewriting one file.

enum Failure {
    /// Django's "The file '…' could not be found" for this (normalised) path.
    Missing(String),
    NotReady(String),
}

struct Rewriter<'r, R> {
    name: &'r str,
    static_url: &'r str,
    resolver: &'r R,
    references: BTreeSet<Reference>,
}

/// `re.match(r"^[a-z]+:", url)`: lowercase only.
fn has_lowercase_scheme(url: &str) -> bool {
    let letters = url.bytes().take_while(u8::is_ascii_lowercase).count();
    letters > 0 && url.as_bytes().get(letters) == Some(&b':')
}

impl<R: Resolver> Rewriter<'_, R> {
    /// The converter's decision for one match: `None` leaves the match as it is.
    fn convert(&mut self, url: &str) -> Result<Option<String>, Failure> {
        if has_lowercase_scheme(url) || url.starts_with("//") {
            return Ok(None);
        }
        if url.starts_with('/') && !url.starts_with(self.static_url) {
            return Ok(None);
        }
        let (url_path, fragment) = python::urldefrag(url);
        if url_path.is_empty() {
            return Ok(None);
        }
        let target_name = if url_path.starts_with('/') {
            url_path
                .strip_prefix(self.static_url)
                .unwrap_or(&url_path)
                .to_string()
        } else {
            python::join(python::dirname(self.name), &url_path)
        };
        let hashed_url = self.url(&python::unquote(&target_name))?;
        let mut segments: Vec<&str> = url_path.split('/').collect();
        segments.pop();
        segments.push(hashed_url.rsplit('/').next().unwrap_or(""));
        let mut transformed = segments.join("/");
        if !fragment.is_empty() {
            transformed.push_str(if url.contains("?#") { "?#" } else { "#" });
            transformed.push_str(&fragment);
        }
        Ok(Some(python::unquote(&transformed)))
    }

    /// `HashedFilesMixin._url(self._stored_name, name, force=True)`, reduced to the part the
    /// converter keeps: the URL's last path segment (with the `?#` hack and fragment).
    fn url(&mut self, name: &str) -> Result<String, Failure> {
        let (clean, fragment) = python::urldefrag(name);
        let hashed = if python::urlsplit(&clean).path.ends_with('/') {
            name.to_string()
        } else {
            self.stored_name(&clean)?
        };
        // FileSystemStorage.url: urljoin(STATIC_URL, filepath_to_uri(name).lstrip("/")).
        let quoted = python::quote(&hashed.replace('\\', "/"), "/~!*()'");
        let quoted = quoted.trim_start_matches('/');
        let mut last = quoted.rsplit('/').next().unwrap_or("");
        if last == "." || last == ".." {
            last = "";
        }
        let mut tail = last.to_string();
        if name.contains("?#") {
            tail.push('?');
        }
        if !fragment.is_empty() {
            tail.push('#');
            tail.push_str(&fragment);
        }
        Ok(python::unquote(&tail))
    }

    /// `HashedFilesMixin._stored_name`.
    fn stored_name(&mut self, name: &str) -> Result<String, Failure> {
        let name = python::normpath(name);
        let key = name.replace('\\', "/");
        match self.resolver.cached(&key) {
            CacheLookup::Hit(hashed) => {
                self.references.insert(Reference {
                    target: key,
                    kind: ReferenceKind::Hashed,
                });
                Ok(hashed)
            }
            CacheLookup::NotReady => Err(Failure::NotReady(key)),
            CacheLookup::Miss => Ok(self.hashed_name_from_disk(&name)?.replace('\\', "/")),
        }
    }

    /// `HashedFilesMixin.hashed_name(name)` without content: hash the STATIC_ROOT copy.
    fn hashed_name_from_disk(&mut self, name: &str) -> Result<String, Failure> {
        let parsed = python::urlsplit(&python::unquote(name));
        let clean = python::strip(&parsed.path).to_string();
        match self.resolver.disk(&clean) {
            DiskLookup::Missing => Err(Failure::Missing(clean)),
            DiskLookup::Dir(path) => {
                self.references.insert(Reference {
                    target: path,
                    kind: ReferenceKind::Directory,
                });
                Ok(name.to_string())
            }
            DiskLookup::File { path, hash } => {
                self.references.insert(Reference {
                    target: path,
                    kind: ReferenceKind::Original,
                });
                Ok(build_hashed_name(name, parsed, &clean, &hash))
            }
        }
    }
}

/// Django's 6.1 line note for an error at `pos` in `content`.
fn line_note(content: &str, pos: usize) -> (usize, String) {
    let start = content[..pos].rfind('\n').map_or(0, |i| i + 1);
    let end = content[pos..].find('\n').map_or(content.len(), |i| pos + i);
    let line = content[..start].matches('\n').count() + 1;
    let msg = format!("\n{line}: {}", &content[start..end]);
    if msg.chars().count() > 79 {
        (line, format!("\n{line}"))
    } else {
        (line, msg)
    }
}

fn in_ignored_block(pos: usize, blocks: &[(usize, usize)]) -> bool {
    let i = blocks.partition_point(|&(start, _)| start < pos);
    i > 0 && pos < blocks[i - 1].1
}

/// Applies Django's patterns for `kind` to `text`, in order, each on the previous one's
/// output. Returns the rewritten text and what it references.
pub(super) fn rewrite<R: Resolver>(
    name: &str,
    kind: Adjustable,
    text: &str,
    static_url: &str,
    resolver: &R,
) -> Result<(String, BTreeSet<Reference>), Error> {
    let mut rewriter = Rewriter {
        name,
        static_url,
        resolver,
        references: BTreeSet::new(),
    };
    let mut content = text.to_string();
    for &(pattern, template, ignored) in patterns(kind) {
        if !pattern.is_match(&content) {
            continue;
        }
        let blocks: Vec<(usize, usize)> = ignored
            .find_iter(&content)
            .map(|m| (m.start(), m.end()))
            .collect();
        let mut out = String::with_capacity(content.len() + 64);
        let mut last = 0;
        for caps in pattern.captures_iter(&content) {
            let whole = caps.get(0).expect("group 0 always participates");
            out.push_str(&content[last..whole.start()]);
            last = whole.end();
            let matched = whole.as_str();
            if in_ignored_block(whole.start(), &blocks) {
                out.push_str(matched);
                continue;
            }
            let url = url_group(&caps);
            match rewriter.convert(url) {
                Ok(None) => out.push_str(matched),
                Ok(Some(new_url)) => out.push_str(&template.render(&new_url)),
                Err(Failure::Missing(target)) => {
                    let (line, note_line) = line_note(&content, whole.start());
                    let file_repr = python::repr(name);
                    let reference_repr = python::repr(matched);
                    return Err(Error::MissingReference {
                        file: name.to_string(),
                        line,
                        reference: matched.to_string(),
                        target,
                        django_note: format!(
                            "{file_repr} contains this reference {reference_repr} on line {note_line}"
                        ),
                    });
                }
                Err(Failure::NotReady(target)) => {
                    return Err(Error::Internal(format!(
                        "{name} needs the final name of {target} before it was computed"
                    )));
                }
            }
        }
        out.push_str(&content[last..]);
        content = out;
    }
    Ok((content, rewriter.references))
}

fn url_group<'h>(caps: &Captures<'h>) -> &'h str {
    ["url", "u1", "u2", "u3"]
        .iter()
        .find_map(|group| caps.name(group))
        .map_or("", |m| m.as_str())
}

/// Rewrites one adjustable file the way Django's final pass does, given every collected
/// file and the final hashed names of the files it references (`final_names`, by name; only
/// `*.css`/`*.js` targets are looked up there, other names are hashed from `collected`).
///
/// This is the incremental entry point: with a previous [`ManifestPlan`], recompute only
/// [`ManifestPlan::affected_by`] files, in dependency order, with this function.
/// Returns the rewritten text (the input when nothing matched) and what the file references;
/// a file that is not `*.css`/`*.js` gives `None`.
pub fn rewrite_file(
    name: &str,
    content: &[u8],
    collected: &CollectedFiles,
    final_names: &HashMap<String, String>,
    options: &ManifestOptions,
) -> Result<Option<(String, BTreeSet<Reference>)>, Error> {
    let Some(kind) = adjustable(name) else {
        return Ok(None);
    };
    let text = decode(name, content)?;
    let finals = FinalOrOriginal {
        collected,
        finals: final_names,
    };
    rewrite(name, kind, text, &options.static_url, &finals).map(Some)
}

pub(super) fn decode<'a>(name: &str, content: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(content).map_err(|e| Error::NotUtf8 {
        file: name.to_string(),
        valid_up_to: e.valid_up_to(),
    })
}

/// [`rewrite_file`]'s resolver: final names for adjustable targets, original hashes for the
/// others (whose final name is their original-content name).
pub(super) struct FinalOrOriginal<'a, C: ?Sized> {
    pub(super) collected: &'a C,
    pub(super) finals: &'a HashMap<String, String>,
}

impl<C: Collection + ?Sized> Resolver for FinalOrOriginal<'_, C> {
    fn cached(&self, key: &str) -> CacheLookup {
        let Some(hash) = self.collected.original_hash(key) else {
            return CacheLookup::Miss;
        };
        if adjustable(key).is_none() {
            return CacheLookup::Hit(hashed_name(key, &hash));
        }
        match self.finals.get(key) {
            Some(name) => CacheLookup::Hit(name.clone()),
            None => CacheLookup::NotReady,
        }
    }
    fn disk(&self, path: &str) -> DiskLookup {
        disk(self.collected, path)
    }
}
