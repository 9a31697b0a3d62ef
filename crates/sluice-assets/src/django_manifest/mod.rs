//! Django 6.1's `ManifestStaticFilesStorage`, reproduced exactly: hashed names, the url
//! rewriting of `*.css` / `*.js`, and `staticfiles.json`.
//!
//! Django rewrites references with up to six passes over the files; this module computes the
//! same fixed point in one pass per file, in dependency order ([`plan`]). The decisions
//! (which match is rewritten, into what) follow `django/contrib/staticfiles/storage.py`
//! 6.1.3 line by line, with the Python standard-library functions it calls ported in
//! [`crate::python`]. The opt-in ES-module patterns
//! (`support_js_module_import_aggregation`) are not implemented: Django leaves them off.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use md5::{Digest, Md5};
use rayon::prelude::*;

use crate::error::Error;
use crate::python;

mod rewrite;

pub use rewrite::{CollectedFiles, Collection, rewrite_file};
use rewrite::{FinalOrOriginal, ScanResolver, decode, rewrite};

/// Django's default `STATIC_URL` once the script prefix is applied (`"static/"` → `"/static/"`).
pub const DEFAULT_STATIC_URL: &str = "/static/";

/// The manifest's file name in STATIC_ROOT.
pub const MANIFEST_NAME: &str = "staticfiles.json";

/// The manifest format version Django 6.1 writes.
pub const MANIFEST_VERSION: &str = "1.1";

/// `md5(content).hexdigest()[:12]`, Django's `file_hash`.
pub fn content_hash(content: &[u8]) -> String {
    let digest = Md5::digest(content);
    hex(&digest[..6])
}

/// `md5(content).hexdigest()`.
pub fn md5_hex(content: &[u8]) -> String {
    hex(&Md5::digest(content))
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

/// Django's `hashed_name(name, content)` given `content`'s 12-character hash:
/// `root.hash.ext` with only the last extension kept apart, after `unquote`, with any
/// `?query` / `#fragment` of `name` kept (and the `?#` font hack).
///
/// `css/base.css.map` → `css/base.css.<hash>.map`; `test/%2F.txt` → `test/.txt.<hash>`.
/// An empty hash gives the name without a hash part, as Django does for a `None` hash.
pub fn hashed_name(name: &str, content_md5_12: &str) -> String {
    if let Some(fast) = plain_hashed_name(name, content_md5_12) {
        return fast;
    }
    let parsed = python::urlsplit(&python::unquote(name));
    let clean = python::strip(&parsed.path).to_string();
    build_hashed_name(name, parsed, &clean, content_md5_12)
}

/// [`hashed_name`] for the names almost every file has — no `%`, `?`, `#`, `:`, `\\`, no
/// whitespace, not starting with `//` — where `urlsplit`, `unquote` and `strip` change
/// nothing: the same result without building the URL parts (a build names every file).
fn plain_hashed_name(name: &str, hash: &str) -> Option<String> {
    let plain = !name.is_empty()
        && !name.starts_with("//")
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'%' | b'?' | b'#' | b':' | b'\\'));
    if !plain {
        return None;
    }
    let (dir, file) = match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    // Python's splitext: the last dot, unless the name is all leading dots before it.
    let leading = file.len() - file.trim_start_matches('.').len();
    let (root, ext) = match file[leading..].rfind('.') {
        Some(i) => file.split_at(leading + i),
        None => (file, ""),
    };
    let mut out = String::with_capacity(name.len() + hash.len() + 1);
    out.push_str(dir);
    out.push_str(root);
    if !hash.is_empty() {
        out.push('.');
        out.push_str(hash);
    }
    out.push_str(ext);
    Some(out)
}

fn build_hashed_name(name: &str, parsed: python::SplitUrl, clean: &str, hash: &str) -> String {
    let (path, filename) = python::split(clean);
    let (root, ext) = python::splitext(filename);
    let file_hash = if hash.is_empty() {
        String::new()
    } else {
        format!(".{hash}")
    };
    let mut parts = parsed;
    parts.path = python::join(path, &format!("{root}{file_hash}{ext}"));
    if name.contains("?#") && parts.query.is_empty() {
        parts.path.push('?');
    }
    python::urlunsplit(&parts)
}

/// Which of Django's pattern groups applies to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Adjustable {
    /// `*.css`: `url()`, `@import "…"`, `/*# sourceMappingURL=… */`.
    Css,
    /// `*.js`: `//# sourceMappingURL=…`.
    Js,
}

/// Whether Django rewrites references in `name` (`fnmatchcase` against `*.css` / `*.js`,
/// so `UPPER.CSS` is hashed but not rewritten).
pub fn adjustable(name: &str) -> Option<Adjustable> {
    if name.ends_with(".css") {
        Some(Adjustable::Css)
    } else if name.ends_with(".js") {
        Some(Adjustable::Js)
    } else {
        None
    }
}

/// Settings that change how references are rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// `settings.STATIC_URL` as Django sees it at run time (script prefix applied, so it
    /// starts with `/` or is a full URL, and ends with `/`). Absolute references outside it
    /// are left alone; references inside it are resolved relative to STATIC_ROOT.
    pub static_url: String,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        Self {
            static_url: DEFAULT_STATIC_URL.to_string(),
        }
    }
}

/// How a reference was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReferenceKind {
    /// The reference named a collected file exactly (after `normpath`): it gets that file's
    /// *final* hashed name, so the referencing file must be rewritten after it.
    Hashed,
    /// The reference carried a query or surrounding spaces, so Django missed its cache and
    /// hashed the file's *unprocessed* bytes (for a CSS/JS target that name dangles).
    Original,
    /// The reference named a folder; it is kept unhashed.
    Directory,
}

/// One resolved reference of an adjustable file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The collected file (or folder, `.` for the root) the reference resolved to.
    pub target: String,
    /// How it was resolved.
    pub kind: ReferenceKind,
}

/// The outcome for one collected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// The manifest value: the name of the hashed copy.
    pub hashed_name: String,
    /// `md5[:12]` of the hashed copy's bytes.
    pub hash: String,
    /// The whole md5 (hex) of the hashed copy's bytes, when this plan hashed them (re-planned
    /// `*.css`/`*.js`); `None` for files whose hash came from elsewhere.
    pub md5: Option<String>,
    /// For `*.css` / `*.js` whose references were rewritten: the hashed copy's bytes.
    /// `None` means the hashed copy is byte-identical to the original.
    pub rewritten: Option<Vec<u8>>,
    /// What the file references (empty for files that are not rewritten).
    pub references: BTreeSet<Reference>,
}

/// Final names and rewritten contents for a whole set of collected files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestPlan {
    /// Every collected file by name.
    pub files: BTreeMap<String, PlannedFile>,
}

impl ManifestPlan {
    /// The manifest's `paths` mapping: name → hashed name.
    pub fn paths(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .map(|(name, file)| (name.clone(), file.hashed_name.clone()))
            .collect()
    }

    /// The bytes of `staticfiles.json` for this plan.
    pub fn staticfiles_json(&self) -> String {
        staticfiles_json(&self.paths())
    }

    /// The files whose hashed name or rewritten bytes may differ when the files in `changed`
    /// (modified, added or removed) change: those files themselves, files referencing their
    /// bytes, and, transitively, files referencing the hashed name of an affected file.
    /// Unaffected files keep their [`PlannedFile`]. When files are added or removed, a
    /// reference may resolve differently (missing ↔ found); [`plan`] again to be sure.
    pub fn affected_by<'a>(&self, changed: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut referenced_by: HashMap<&str, Vec<(&str, ReferenceKind)>> = HashMap::new();
        for (name, file) in &self.files {
            for reference in &file.references {
                referenced_by
                    .entry(reference.target.as_str())
                    .or_default()
                    .push((name.as_str(), reference.kind));
            }
        }
        let mut affected: BTreeSet<String> = BTreeSet::new();
        let mut queue: Vec<&str> = Vec::new();
        for name in changed {
            affected.insert(name.to_string());
            // Anything referencing the bytes or the name of a changed file.
            for &(by, _) in referenced_by.get(name).into_iter().flatten() {
                if affected.insert(by.to_string()) {
                    queue.push(by);
                }
            }
        }
        while let Some(name) = queue.pop() {
            // A rewritten file's original bytes are unchanged: only its hashed name moves.
            for &(by, kind) in referenced_by.get(name).into_iter().flatten() {
                if kind == ReferenceKind::Hashed && affected.insert(by.to_string()) {
                    queue.push(by);
                }
            }
        }
        affected
    }
}

/// `staticfiles.json` exactly as Django 6.1 writes it: `json.dumps({"paths": …, "version":
/// "1.1", "hash": …})` with Python's default separators and `ensure_ascii`, keys of `paths`
/// sorted by code point, and `hash = md5(json.dumps(sorted(paths.items())))[:12]`.
pub fn staticfiles_json(paths: &BTreeMap<String, String>) -> String {
    staticfiles_json_of(paths.iter().map(|(n, h)| (n.as_str(), h.as_str())))
}

/// [`staticfiles_json`] of `(name, hashed name)` pairs given in sorted order of names.
pub fn staticfiles_json_of<'a>(paths: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    staticfiles_json_and_md5(paths).0
}

/// [`staticfiles_json_of`], and the md5 of the text (what a caller keying its outputs by md5
/// would compute next). Both digests are taken as the text is put together, on two cores: a
/// big site's manifest is megabytes, and hashing it twice after writing it was most of a
/// one-file build's manifest step.
pub fn staticfiles_json_and_md5<'a>(
    paths: impl Iterator<Item = (&'a str, &'a str)>,
) -> (String, [u8; 16]) {
    let paths: Vec<(&str, &str)> = paths.collect();
    // Written in chunks on every core (a big site names 20 000 files), then joined.
    let chunks: Vec<(String, String)> = paths
        .par_chunks(2048)
        .map(|chunk| {
            let bytes: usize = chunk.iter().map(|(n, h)| n.len() + h.len() + 8).sum();
            let mut items = String::with_capacity(bytes);
            let mut mapping = String::with_capacity(bytes);
            for (i, (name, hashed)) in chunk.iter().enumerate() {
                if i > 0 {
                    items.push_str(", ");
                    mapping.push_str(", ");
                }
                items.push('[');
                python::push_json_str(&mut items, name);
                items.push_str(", ");
                python::push_json_str(&mut items, hashed);
                items.push(']');
                python::push_json_str(&mut mapping, name);
                mapping.push_str(": ");
                python::push_json_str(&mut mapping, hashed);
            }
            (items, mapping)
        })
        .collect();
    let (hash, (mut json, mut digest)) = rayon::join(
        // Django's `hash`: of `json.dumps(sorted(paths.items()))`, never written out whole.
        || {
            let mut h = Md5::new();
            h.update(b"[");
            for (i, (items, _)) in chunks.iter().enumerate() {
                if i > 0 {
                    h.update(b", ");
                }
                h.update(items.as_bytes());
            }
            h.update(b"]");
            hex(&h.finalize()[..6])
        },
        || {
            let len = chunks.iter().map(|c| c.1.len() + 2).sum::<usize>() + 96;
            let mut json = String::with_capacity(len);
            json.push_str("{\"paths\": {");
            for (i, (_, mapping)) in chunks.iter().enumerate() {
                if i > 0 {
                    json.push_str(", ");
                }
                json.push_str(mapping);
            }
            json.push('}');
            let mut digest = Md5::new();
            digest.update(json.as_bytes());
            (json, digest)
        },
    );
    let tail = format!(", \"version\": \"{MANIFEST_VERSION}\", \"hash\": \"{hash}\"}}");
    json.push_str(&tail);
    digest.update(tail.as_bytes());
    (json, digest.finalize().into())
}

// ---------------------------------------------------------------------------------------
// The planner.

/// Computes every collected file's final hashed name, and the rewritten bytes of the
/// `*.css` / `*.js` files, exactly as Django 6.1's `collectstatic` with
/// `ManifestStaticFilesStorage` would — for every input on which Django converges.
///
/// `files` maps each collected name (prefixed, `/`-separated, as in the manifest) to its
/// bytes. Work is spread over rayon's pool: hashing, scanning, then each dependency level.
///
/// Errors (all of them, sorted by file): a `*.css`/`*.js` file that is not UTF-8, a
/// reference to a file that was not collected, and reference cycles (where Django fails with
/// "Max post-process passes exceeded").
pub fn plan<B>(
    files: &BTreeMap<String, B>,
    options: &ManifestOptions,
) -> Result<ManifestPlan, Error>
where
    B: AsRef<[u8]> + Sync,
{
    let original_hash: HashMap<String, String> = files
        .par_iter()
        .map(|(name, bytes)| (name.clone(), content_hash(bytes.as_ref())))
        .collect();
    let contents: BTreeMap<&str, &[u8]> = files
        .iter()
        .filter(|(name, _)| adjustable(name).is_some())
        .map(|(name, bytes)| (name.as_str(), bytes.as_ref()))
        .collect();
    replan(original_hash, &contents, &ManifestPlan::default(), options)
}

/// [`plan`] for a build that has a previous plan: only the `*.css` / `*.js` files in
/// `contents` are decoded, scanned and rewritten; every other adjustable file keeps its entry
/// of `previous` (final name and references; `rewritten` as `previous` has it).
///
/// `original_hash` has every collected file's [`content_hash`] (of its unprocessed bytes), so
/// unchanged files need not be read. `contents` must hold every adjustable file that is new,
/// changed, or in [`ManifestPlan::affected_by`] the changes — and, when files were added or
/// removed, every file with a [`ReferenceKind::Directory`] reference. An adjustable file in
/// neither `contents` nor `previous` is an [`Error::Internal`].
pub fn replan<N, B>(
    original_hash: HashMap<String, String>,
    contents: &BTreeMap<N, B>,
    previous: &ManifestPlan,
    options: &ManifestOptions,
) -> Result<ManifestPlan, Error>
where
    N: Borrow<str> + Ord + Sync,
    B: AsRef<[u8]> + Sync,
{
    let collected = CollectedFiles::new(original_hash);
    for name in collected.original_hash.keys() {
        if adjustable(name).is_some()
            && !contents.contains_key(name.as_str())
            && !previous.files.contains_key(name)
        {
            return Err(Error::Internal(format!(
                "{name} is neither re-planned nor in the previous plan"
            )));
        }
    }
    let mut planned = replan_adjustable(&collected, contents, previous, options)?;
    for (name, hash) in &collected.original_hash {
        if adjustable(name).is_none() {
            planned.insert(
                name.clone(),
                PlannedFile {
                    hashed_name: hashed_name(name, hash),
                    hash: hash.clone(),
                    md5: None,
                    rewritten: None,
                    references: BTreeSet::new(),
                },
            );
        }
    }
    Ok(ManifestPlan { files: planned })
}

/// [`replan`]'s part for the `*.css` / `*.js` files: the plan of every adjustable file
/// `collected` has — those in `contents` re-planned, the others as `previous` has them (the
/// caller makes sure every adjustable file is in one of the two). Other files' names are
/// [`hashed_name`] of their [`Collection::original_hash`]; they are not listed.
pub fn replan_adjustable<C, N, B>(
    collected: &C,
    contents: &BTreeMap<N, B>,
    previous: &ManifestPlan,
    options: &ManifestOptions,
) -> Result<BTreeMap<String, PlannedFile>, Error>
where
    C: Collection + ?Sized,
    N: Borrow<str> + Ord + Sync,
    B: AsRef<[u8]> + Sync,
{
    let static_url = options.static_url.as_str();
    let mut finals: HashMap<String, String> = HashMap::new();
    let mut planned: BTreeMap<String, PlannedFile> = BTreeMap::new();
    for (name, kept) in &previous.files {
        if adjustable(name).is_none()
            || contents.contains_key(name.as_str())
            || collected.original_hash(name).is_none()
        {
            continue;
        }
        finals.insert(name.clone(), kept.hashed_name.clone());
        planned.insert(name.clone(), kept.clone());
    }

    // Decode and scan every adjustable file.
    let adjustables: Vec<(&str, Adjustable, &[u8])> = contents
        .iter()
        .filter_map(|(name, bytes)| {
            let name: &str = name.borrow();
            let kind = adjustable(name)?;
            collected
                .original_hash(name)
                .is_some()
                .then_some((name, kind, bytes.as_ref()))
        })
        .collect();
    type Scanned<'a> = (&'a str, Adjustable, &'a str, BTreeSet<Reference>);
    let scanned: Vec<Result<Scanned<'_>, Error>> = adjustables
        .par_iter()
        .map(|&(name, kind, bytes)| {
            let text = decode(name, bytes)?;
            let (_, references) = rewrite(name, kind, text, static_url, &ScanResolver(collected))?;
            Ok((name, kind, text, references))
        })
        .collect();
    let mut errors = Vec::new();
    let mut sources: HashMap<&str, (Adjustable, &str)> = HashMap::new();
    let mut references: HashMap<&str, BTreeSet<Reference>> = HashMap::new();
    for result in scanned {
        match result {
            Ok((name, kind, text, refs)) => {
                sources.insert(name, (kind, text));
                references.insert(name, refs);
            }
            Err(error) => errors.push(error),
        }
    }

    // Dependencies between adjustable files (hashed-name references only).
    let mut deps: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (&name, refs) in &references {
        let mut mine = Vec::new();
        for reference in refs {
            if reference.kind != ReferenceKind::Hashed {
                continue;
            }
            if let Some((&target, _)) = sources.get_key_value(reference.target.as_str()) {
                mine.push(target);
                dependents.entry(target).or_default().push(name);
            }
        }
        deps.insert(name, mine);
    }

    // Kahn's algorithm, level by level; what is left over sits in or behind a cycle.
    let mut remaining: HashMap<&str, usize> = deps.iter().map(|(&n, d)| (n, d.len())).collect();
    let mut level: Vec<&str> = remaining
        .iter()
        .filter(|&(_, &count)| count == 0)
        .map(|(&n, _)| n)
        .collect();
    let mut levels: Vec<Vec<&str>> = Vec::new();
    while !level.is_empty() {
        level.sort_unstable();
        let mut next = Vec::new();
        for name in &level {
            remaining.remove(name);
            for &dependent in dependents.get(name).into_iter().flatten() {
                if let Some(count) = remaining.get_mut(dependent) {
                    *count -= 1;
                    if *count == 0 {
                        next.push(dependent);
                    }
                }
            }
        }
        levels.push(std::mem::replace(&mut level, next));
    }
    if !remaining.is_empty() {
        let mut stuck: Vec<&str> = remaining.keys().copied().collect();
        stuck.sort_unstable();
        for files in cycles(&stuck, &deps) {
            errors.push(Error::ReferenceCycle { files });
        }
    }
    errors.sort_by(|a, b| error_file(a).cmp(error_file(b)));
    if let Some(error) = Error::from_list(errors) {
        return Err(error);
    }

    // Final names: other files from their bytes, *.css/*.js level by level.
    for level in levels {
        let resolver = FinalOrOriginal {
            collected,
            finals: &finals,
        };
        type Rewritten<'a> = (&'a str, String, String, BTreeSet<Reference>);
        let results: Vec<Result<Rewritten<'_>, Error>> = level
            .par_iter()
            .map(|&name| {
                let (kind, text) = sources[name];
                let (content, refs) = rewrite(name, kind, text, static_url, &resolver)?;
                let md5 = md5_hex(content.as_bytes());
                Ok((name, content, md5, refs))
            })
            .collect();
        for result in results {
            let (name, content, md5, refs) = result?;
            let hash = md5[..12].to_string();
            let hashed = hashed_name(name, &hash);
            finals.insert(name.to_string(), hashed.clone());
            let (_, text) = sources[name];
            planned.insert(
                name.to_string(),
                PlannedFile {
                    hashed_name: hashed,
                    hash,
                    md5: Some(md5),
                    rewritten: (content != text).then(|| content.into_bytes()),
                    references: refs,
                },
            );
        }
    }
    Ok(planned)
}

fn error_file(error: &Error) -> &str {
    match error {
        Error::NotUtf8 { file, .. } | Error::MissingReference { file, .. } => file,
        Error::ReferenceCycle { files } => files.first().map_or("", String::as_str),
        Error::Syntax { file, .. }
        | Error::ToolMissing { file, .. }
        | Error::ToolFailed { file, .. }
        | Error::Read { file, .. } => file,
        Error::CompiledShadowed { output, .. } => output,
        Error::SassFallback { file, .. } => file,
        Error::Several(_)
        | Error::Internal(_)
        | Error::Browserslist { .. }
        | Error::Bundle { .. } => "",
    }
}

/// The strongly connected components of `nodes` (Tarjan, iterative) that are cycles: more
/// than one file, or a file referencing itself. Each sorted; the list sorted too.
fn cycles(nodes: &[&str], deps: &HashMap<&str, Vec<&str>>) -> Vec<Vec<String>> {
    let index_of: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let adjacency: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            deps.get(n)
                .into_iter()
                .flatten()
                .filter_map(|d| index_of.get(d).copied())
                .collect()
        })
        .collect();
    const UNSEEN: usize = usize::MAX;
    let count = nodes.len();
    let mut index = vec![UNSEEN; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack: Vec<usize> = Vec::new();
    let mut counter = 0;
    let mut found: Vec<Vec<String>> = Vec::new();
    for root in 0..count {
        if index[root] != UNSEEN {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, edge)) = calls.last() {
            if edge < adjacency[v].len() {
                if let Some(call) = calls.last_mut() {
                    call.1 += 1;
                }
                let w = adjacency[v][edge];
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(nodes[w].to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || adjacency[v].contains(&v) {
                    component.sort_unstable();
                    found.push(component);
                }
            }
        }
    }
    found.sort_unstable();
    found
}

#[cfg(test)]
#[cfg(test)]
mod tests;
