//! The static references in a project's templates: `{% static "css/site.css" %}` (Django)
//! and `static("css/site.css")` (Jinja), found with a cheap literal matcher — no template is
//! parsed or rendered, a reference built at run time is not seen. sluice compiles the
//! sources behind what the templates reference (`css/site.scss` for `css/site.css`), as
//! django-sass-processor does for `{% sass_src %}`.
//!
//! [`TemplateScan`] walks the template folders and keeps each file's references keyed by its
//! fingerprint in `.sluice/templates.json`, so a run reads only the templates that changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::output::write_atomic;
use crate::sources::FileMeta;

/// Templates bigger than this are not looked into (a template is a few KiB).
const MAX_TEMPLATE: u64 = 4 << 20;

/// The literal paths of the `static` references in a template's text, in order of
/// appearance (query strings and fragments cut).
pub fn static_references(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (at, _) in text.match_indices("static") {
        let before = bytes[..at].iter().rev().find(|b| !b.is_ascii_whitespace());
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let mut i = at + "static".len();
        if bytes.get(i).is_some_and(|b| is_ident(*b)) {
            continue;
        }
        let gap = skip_space(bytes, i);
        let call = bytes.get(gap) == Some(&b'(');
        if call {
            i = skip_space(bytes, gap + 1);
        } else {
            // `{% static "…" %}`: the tag's name right after `{%` (or `{%-`), then a space.
            let tag = before == Some(&b'%') || before == Some(&b'-');
            if !tag || gap == i {
                continue;
            }
            i = gap;
        }
        let Some(&quote) = bytes.get(i).filter(|q| **q == b'"' || **q == b'\'') else {
            continue;
        };
        let start = i + 1;
        let Some(len) = bytes[start..]
            .iter()
            .position(|b| *b == quote || *b == b'\n')
        else {
            continue;
        };
        if bytes[start + len] != quote {
            continue;
        }
        let path = &text[start..start + len];
        let path = path.split(['?', '#']).next().unwrap_or("");
        if path.is_empty() || path.contains("{{") || path.contains("{%") {
            continue;
        }
        out.push(path.trim_start_matches("./").to_string());
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Scanned {
    meta: Option<FileMeta>,
    refs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    files: BTreeMap<PathBuf, Scanned>,
}

const CACHE_VERSION: u32 = 1;

/// The template folders' references, kept up to date by fingerprint.
#[derive(Debug, Clone)]
pub struct TemplateScan {
    dirs: Vec<PathBuf>,
    cache: PathBuf,
    files: BTreeMap<PathBuf, Scanned>,
    dirty: bool,
}

impl TemplateScan {
    /// The scan of `dirs`, starting from what `state_dir` keeps (nothing is read yet).
    pub fn new(dirs: &[PathBuf], state_dir: &Path) -> TemplateScan {
        let cache = state_dir.join("templates.json");
        let files = std::fs::read(&cache)
            .ok()
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
            .filter(|c| c.version == CACHE_VERSION)
            .map(|c| c.files)
            .unwrap_or_default();
        TemplateScan {
            dirs: dirs.to_vec(),
            cache,
            files,
            dirty: false,
        }
    }

    /// The template folders.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Whether `path` is in a template folder.
    pub fn covers(&self, path: &Path) -> bool {
        self.dirs.iter().any(|d| path.starts_with(d))
    }

    /// Every folder under the template folders (for a watch), hidden ones skipped.
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack: Vec<PathBuf> = self.dirs.iter().filter(|d| d.is_dir()).cloned().collect();
        while let Some(dir) = stack.pop() {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    if hidden(&entry.file_name()) {
                        continue;
                    }
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(entry.path());
                    }
                }
            }
            out.push(dir);
        }
        out
    }

    /// Walks the template folders again: every file is stat'ed, and read when its
    /// fingerprint is not the one its references were found with. Returns every reference.
    pub fn refresh(&mut self) -> BTreeSet<String> {
        let mut seen: BTreeMap<PathBuf, Scanned> = BTreeMap::new();
        let mut stack: Vec<PathBuf> = self.dirs.to_vec();
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if hidden(&entry.file_name()) {
                    continue;
                }
                let path = entry.path();
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                let fingerprint = Some(FileMeta::of(&meta));
                let scanned = match self.files.remove(&path) {
                    Some(s) if s.meta == fingerprint => s,
                    _ => {
                        self.dirty = true;
                        Scanned {
                            meta: fingerprint,
                            refs: if meta.len() > MAX_TEMPLATE {
                                Vec::new()
                            } else {
                                std::fs::read(&path)
                                    .map(|b| static_references(&String::from_utf8_lossy(&b)))
                                    .unwrap_or_default()
                            },
                        }
                    }
                };
                seen.insert(path, scanned);
            }
        }
        self.dirty |= !self.files.is_empty();
        self.files = seen;
        self.references()
    }

    /// Every reference found by the last [`refresh`](Self::refresh).
    pub fn references(&self) -> BTreeSet<String> {
        self.files
            .values()
            .flat_map(|s| s.refs.iter().cloned())
            .collect()
    }

    /// Keeps what was found for the next run (a cache that cannot be written costs reads).
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let file = CacheFile {
            version: CACHE_VERSION,
            files: self.files.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&file)
            && write_atomic(&self.cache, &bytes).is_ok()
        {
            self.dirty = false;
        }
    }
}

fn hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_none_or(|n| n.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_and_jinja_references_are_found() {
        let text = r#"{% load static %}
<link href="{% static "css/site.css" %}" rel="stylesheet">
<link href="{% static 'css/print.css?v=2' %}">
{%- static "css/trim.css" as t -%}
<script src="{{ static('js/app.js') }}"></script>
<script src="{{ static( "js/b.js" ) }}"></script>
{% static some_var %} {% static "css/{{ x }}.css" %} {% staticfiles "no.css" %}
<p>static "not/a/tag.css"</p> mystatic("no.css") obj.static("no2.css")
"#;
        assert_eq!(
            static_references(text),
            [
                "css/site.css",
                "css/print.css",
                "css/trim.css",
                "js/app.js",
                "js/b.js"
            ]
        );
    }

    #[test]
    fn a_template_is_read_again_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        std::fs::create_dir_all(templates.join("pages")).unwrap();
        let page = templates.join("pages/home.html");
        std::fs::write(&page, "{% static 'css/a.css' %}").unwrap();
        let state = dir.path().join(".sluice");
        let mut scan = TemplateScan::new(std::slice::from_ref(&templates), &state);
        assert_eq!(scan.refresh(), BTreeSet::from(["css/a.css".to_string()]));
        scan.save();
        assert!(state.join("templates.json").is_file());
        // A new scan starts from the cache: an unchanged file keeps its references.
        let mut again = TemplateScan::new(std::slice::from_ref(&templates), &state);
        assert_eq!(again.references().len(), 1);
        std::fs::write(&page, "{% static 'css/a.css' %}{% static \"css/b.css\" %}").unwrap();
        assert_eq!(again.refresh().len(), 2);
        std::fs::remove_file(&page).unwrap();
        assert!(again.refresh().is_empty());
        assert!(again.covers(&page));
    }
}
