//! Bundles as django-pipeline builds them: members found with pipeline's glob, compiled
//! names substituted, relative paths rewritten for the output's folder, joined (CSS with
//! `"\n"`, JS with `"\n;"`), `.jst` templates appended and the JS wrapper applied, then —
//! through the [`Minifier`] seam — minified with a source map, and `data:` URLs embedded
//! for the `datauri` variant. Contract 2 of DESIGN.md; `pipeline/packager.py` and
//! `pipeline/compressors/__init__.py` (django-pipeline 4.1) are the reference.
//!
//! [`assemble`] and [`affected`] are pure functions of the definitions and the collected
//! files (reached through closures), so `sluice build` and the dev profile share them.

pub mod datauri;
pub mod glob;
pub mod jst;
pub mod rewrite;

use regex::Regex;
use sluice_core::bundles::{BundleDef, BundleKind, CompilerKind, PipelineSettings, compiled_name};

use crate::Error;
use crate::sourcemap::{MemberMap, MemberSpan, concat_map};
pub use glob::Tree;

pub use crate::minify::Minified;

/// The seam where minification plugs into bundling: a joined bundle and where its members
/// sit in, minified code, source map and warnings out. An error names the member file,
/// line and column ([`Error::Syntax`]) when there is one.
pub trait Minifier: Sync {
    fn minify(&self, kind: BundleKind, code: &str, spans: &[MemberSpan])
    -> Result<Minified, Error>;

    /// What, besides being on, shapes the output (e.g. the browser targets): part of the
    /// key under which minified bundles are cached.
    fn key(&self) -> String {
        String::new()
    }
}

/// The [`Minifier`] of `sluice build`: lightningcss for CSS, oxc for JS, for the project's
/// browser targets.
pub struct TargetedMinifier {
    pub targets: crate::minify::Targets,
}

impl Minifier for TargetedMinifier {
    fn minify(
        &self,
        kind: BundleKind,
        code: &str,
        spans: &[MemberSpan],
    ) -> Result<Minified, Error> {
        match kind {
            BundleKind::Css => crate::minify::minify_css(code, "", spans, &self.targets),
            BundleKind::Js => crate::minify::minify_js_for(code, "", spans, &self.targets),
        }
    }

    fn key(&self) -> String {
        format!("{:?}", self.targets.queries)
    }
}

/// What bundling needs to know besides the definitions.
pub struct Context<'a> {
    pub settings: &'a PipelineSettings,
    /// Compilers in effect: a member they take is replaced by its compiled name.
    pub compilers: &'a [CompilerKind],
    /// The output root as an absolute path (django-pipeline's `PIPELINE_ROOT`), for its path
    /// arithmetic.
    pub root: &'a str,
    /// The collected files.
    pub tree: &'a Tree,
    /// The bytes of a collected file (a source, or a compiled output).
    pub read: &'a (dyn Fn(&str) -> Result<Vec<u8>, String> + Sync),
    /// The size of a collected file, `None` when there is none.
    pub size: &'a (dyn Fn(&str) -> Option<u64> + Sync),
    /// The source map (JSON) of a compiled output sluice wrote (`x.ts` → `x.js`), from the
    /// output to its source; `None` for any other file, or a compiler that writes none.
    pub source_map: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

/// A bundle joined, not yet minified.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled {
    pub kind: BundleKind,
    pub output: String,
    pub datauri: bool,
    pub code: String,
    /// Where each (non-template) member sits in `code`.
    pub spans: Vec<MemberSpan>,
    /// The collected file read for each span (compiled name when compiled).
    pub members: Vec<String>,
    /// Each span's member as the bundle lists it (the source's name when compiled).
    pub sources: Vec<String>,
    /// Every collected file read: members (source and compiled names), templates, embedded
    /// files. A change to one of them changes the bundle.
    pub inputs: Vec<String>,
}

fn error(def: &BundleDef, message: String) -> Error {
    Error::Bundle {
        bundle: def.label(),
        origin: def.origin.to_string(),
        message,
    }
}

/// `Package.sources`: each pattern's matches in order, duplicates keeping their first place.
/// Unlike django-pipeline (which drops them silently) a pattern that finds nothing, or a
/// folder, is an error naming the bundle and the pattern.
pub fn members(def: &BundleDef, tree: &Tree) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pattern in &def.files {
        let matches = glob::glob(tree, pattern);
        let mut found = false;
        for path in matches {
            if tree.is_file(&path) {
                found = true;
                if seen.insert(path.clone()) {
                    out.push(path);
                }
            } else if tree.is_dir(&path) {
                return Err(error(
                    def,
                    format!("pattern {pattern:?} matches the folder {path:?}, not a file"),
                ));
            }
        }
        if !found {
            let what = if glob::has_magic(pattern) {
                "matches no file"
            } else {
                "names a file that does not exist"
            };
            return Err(error(def, format!("pattern {pattern:?} {what}")));
        }
    }
    Ok(out)
}

/// Python's `JS_WRAPPER % js`.
fn wrap(wrapper: &str, js: &str) -> Result<String, String> {
    let mut out = String::with_capacity(wrapper.len() + js.len());
    let mut used = false;
    let mut chars = wrapper.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') if !used => {
                out.push_str(js);
                used = true;
            }
            _ => {
                return Err(format!(
                    "JS_WRAPPER {wrapper:?} is not a format with one %s"
                ));
            }
        }
    }
    if !used {
        return Err(format!("JS_WRAPPER {wrapper:?} has no %s"));
    }
    Ok(out)
}

fn text(def: &BundleDef, path: &str, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|e| {
        error(
            def,
            format!(
                "member {path:?} is not valid UTF-8 (first bad byte at offset {}); \
                 django-pipeline reads members as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn lines(text: &str) -> u32 {
    text.matches('\n').count() as u32 + 1
}

/// Joins one bundle as django-pipeline's `Packager.pack_stylesheets` / `pack_javascripts`
/// do with no compressor (`CSS_COMPRESSOR`/`JS_COMPRESSOR = None`), data-URI markers left
/// for [`finish`].
pub fn assemble(def: &BundleDef, ctx: &Context) -> Result<Assembled, Error> {
    let settings = ctx.settings;
    let sources = members(def, ctx.tree)?;
    let ext = settings.template_ext.as_str();
    let (templates, paths): (Vec<String>, Vec<String>) =
        sources.into_iter().partition(|p| p.ends_with(ext));
    let embed_path = if def.datauri {
        Some(Regex::new(&settings.embed_path).map_err(|e| {
            error(
                def,
                format!(
                    "EMBED_PATH {:?} is not a pattern sluice can use: {e}",
                    settings.embed_path
                ),
            )
        })?)
    } else {
        None
    };
    let mut inputs: Vec<String> = Vec::new();
    let css = def.kind == BundleKind::Css;
    let mut parts: Vec<String> = Vec::with_capacity(paths.len());
    let mut spans = Vec::with_capacity(paths.len());
    let mut read_members = Vec::with_capacity(paths.len());
    let mut line = 0u32;
    let wrapper_lines = if css || settings.disable_wrapper {
        0
    } else {
        settings
            .js_wrapper
            .split("%s")
            .next()
            .map_or(0, |head| head.matches('\n').count() as u32)
    };
    for source in &paths {
        inputs.push(source.clone());
        let (path, compiled) = match compiled_name(source, ctx.compilers) {
            Some((_, compiled)) => {
                inputs.push(compiled.clone());
                (compiled, true)
            }
            None => (source.clone(), false),
        };
        let bytes = (ctx.read)(&path).map_err(|e| error(def, format!("member {path:?}: {e}")))?;
        let mut content = text(def, &path, bytes)?;
        // A compiled member with its compiler's map: the bundle's map points into the source
        // (its name, its text), and the member's own `sourceMappingURL` comment goes.
        let own_map = compiled
            .then(|| (ctx.source_map)(&path))
            .flatten()
            .and_then(|json| MemberMap::parse(&json));
        let (named, shown) = match &own_map {
            Some((_, source_text)) => {
                strip_map_comment(&mut content);
                (source.as_str(), source_text.clone())
            }
            None => (path.as_str(), None),
        };
        let mut embedded = Vec::new();
        let rewritten = rewrite::rewrite_paths(&content, css, &mut |asset| {
            let public = rewrite::public_path(asset, &path);
            if let Some(re) = &embed_path {
                let size = (ctx.size)(&public).map(|n| n as usize);
                if datauri::embeddable(&public, size, re, settings) {
                    embedded.push(public.clone());
                    return format!("__EMBED__{public}");
                }
            }
            if asset.starts_with('/') {
                asset.to_string()
            } else {
                rewrite::relative_to_output(&public, &def.output, ctx.root)
            }
        });
        inputs.extend(embedded);
        let count = lines(&rewritten);
        spans.push(MemberSpan {
            source: rewrite::relpath(
                &rewrite::join(ctx.root, named),
                &rewrite::join(ctx.root, rewrite::dirname(&def.output)),
            ),
            first_line: wrapper_lines + line,
            line_count: count,
            content: Some(shown.unwrap_or(content)),
            map: own_map.map(|(map, _)| map),
        });
        line += count;
        read_members.push(path);
        parts.push(rewritten);
    }
    let mut code = parts.join(if css { "\n" } else { "\n;" });
    if !css {
        if !templates.is_empty() {
            let mut read = Vec::with_capacity(templates.len());
            for path in &templates {
                let bytes =
                    (ctx.read)(path).map_err(|e| error(def, format!("template {path:?}: {e}")))?;
                read.push((path.as_str(), text(def, path, bytes)?));
                inputs.push(path.clone());
            }
            let list: Vec<(&str, &str)> = read.iter().map(|(p, t)| (*p, t.as_str())).collect();
            code.push_str(&jst::compile_templates(&list, settings));
        }
        if !settings.disable_wrapper {
            code = wrap(&settings.js_wrapper, &code).map_err(|e| error(def, e))?;
        }
    }
    Ok(Assembled {
        kind: def.kind,
        output: def.output.clone(),
        datauri: def.datauri,
        code,
        spans,
        members: read_members,
        sources: paths,
        inputs,
    })
}

/// Removes a last-line `//# sourceMappingURL=…` (or `/*# … */`) comment from a compiled
/// member (the bundle has its own map), leaving the text as the compiler produced it.
fn strip_map_comment(content: &mut String) {
    let body = content.trim_end_matches(['\n', '\r']);
    let start = body.rfind('\n').map_or(0, |i| i + 1);
    let last = &body[start..];
    if last.starts_with("//# sourceMappingURL=")
        || (last.starts_with("/*# sourceMappingURL=") && last.ends_with("*/"))
    {
        content.truncate(start);
    }
}

/// A file a bundle becomes: its logical path and bytes.
pub type OutputFile = (String, Vec<u8>);

/// The files a bundle becomes: the bundle itself and, when minified, its `.map` beside it
/// (linked by a `sourceMappingURL` comment), and the minifier's warnings. `read` gives the
/// bytes of files to embed.
pub fn finish(
    bundle: &Assembled,
    minifier: Option<&dyn Minifier>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<(Vec<OutputFile>, Vec<Error>), Error> {
    let base = bundle.output.rsplit('/').next().unwrap_or(&bundle.output);
    let (mut code, map, warnings) = match minifier {
        Some(m) => {
            let Minified {
                code,
                map,
                warnings,
            } = m.minify(bundle.kind, &bundle.code, &bundle.spans)?;
            (code, Some(set_map_file(&map, base)), warnings)
        }
        None => (bundle.code.clone(), None, Vec::new()),
    };
    if bundle.datauri {
        code = datauri::with_data_uri(&code, &mut |p| read(p));
    }
    let mut out = Vec::new();
    if let Some(map) = map {
        let map_name = format!("{}.map", bundle.output);
        let base = map_name.rsplit('/').next().unwrap_or(&map_name);
        match bundle.kind {
            BundleKind::Css => code.push_str(&format!("\n/*# sourceMappingURL={base} */")),
            BundleKind::Js => code.push_str(&format!("\n//# sourceMappingURL={base}")),
        }
        out.push((map_name, map.into_bytes()));
    }
    out.insert(0, (bundle.output.clone(), code.into_bytes()));
    Ok((out, warnings))
}

/// The map with its `file` set to the bundle's file name (minifiers leave it empty).
fn set_map_file(map: &str, file: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(map) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("file".into(), serde_json::Value::String(file.to_string()));
            crate::sourcemap::sorted_json(fields)
        }
        _ => map.to_string(),
    }
}

/// Which bundles a change to the collected file `logical` (added, changed or removed)
/// affects: those that read it last time (`inputs[i]`, from [`Assembled::inputs`]) and those
/// with a pattern that would list it.
pub fn affected(defs: &[BundleDef], inputs: &[Vec<String>], logical: &str) -> Vec<usize> {
    defs.iter()
        .enumerate()
        .filter(|(i, def)| {
            inputs
                .get(*i)
                .is_some_and(|read| read.iter().any(|p| p == logical))
                || def.files.iter().any(|p| glob::could_match(p, logical))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The files an unminified dev bundle becomes: the joined code with a `sourceMappingURL`
/// comment, and its line-level `.map` (members' text included) beside it.
pub fn dev_bundle(
    assembled: &Assembled,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<OutputFile>, String> {
    // Unminified: no minifier, so neither errors nor warnings from one.
    let (mut files, _) = finish(assembled, None, read).map_err(|e| e.to_string())?;
    let Some((name, bytes)) = files.first_mut() else {
        return Err("nothing was assembled".into());
    };
    let map_name = format!("{name}.map");
    let base = map_name.rsplit('/').next().unwrap_or(&map_name).to_string();
    let file = name.rsplit('/').next().unwrap_or(name).to_string();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let map = concat_map(&file, &assembled.spans, lines);
    let comment = match assembled.kind {
        BundleKind::Css => format!("\n/*# sourceMappingURL={base} */\n"),
        BundleKind::Js => format!("\n//# sourceMappingURL={base}\n"),
    };
    bytes.extend_from_slice(comment.as_bytes());
    files.push((map_name, map.into_bytes()));
    Ok(files)
}

#[cfg(test)]
mod tests;
