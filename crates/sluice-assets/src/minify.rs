//! Minification of bundles: CSS with lightningcss, JS with oxc (compress + mangle).
//!
//! Both take a joined bundle and the [`MemberSpan`]s saying where each member file sits in
//! it, and return the minified code with a v3 source map whose `sources` are the members:
//! a position in the minified bundle maps to the member file and the member's own line.
//! The minifiers' maps point into the joined bundle; [`compose`] moves every mapping from
//! "bundle line" to "member, member line" (columns are kept: joining does not move them).
//! A syntax error is reported the same way: file, line and column of the member.
//!
//! All maps are written with `oxc_sourcemap` (oxc's codegen produces one anyway);
//! lightningcss hands its mappings over as a `parcel_sourcemap` value, which is only read.

use std::path::Path;
use std::sync::{Arc, RwLock};

use lightningcss::error::PrinterErrorKind;
use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};
use lightningcss::targets::Browsers;
use oxc::allocator::Allocator;
use oxc::codegen::{Codegen, CodegenOptions, CommentOptions, LegalComment};
use oxc::minifier::{CompressOptions, MangleOptions, Minifier, MinifierOptions};
use oxc::parser::Parser;
use oxc::span::SourceType;
use oxc::transformer::{ESFeature, EngineTargets};

use crate::Error;
use crate::sourcemap::MemberSpan;

/// The browserslist query used when a project configures none: browserslist's own
/// `defaults` (`> 0.5%, last 2 versions, Firefox ESR, not dead`).
pub const DEFAULT_BROWSERSLIST: &str = "defaults";

/// The browsers a build must support, resolved once from browserslist queries; drives
/// CSS prefixing/lowering (lightningcss) and which syntax the JS minifier may emit (oxc).
#[derive(Debug, Clone)]
pub struct Targets {
    /// The queries the targets were resolved from (for messages).
    pub queries: Vec<String>,
    /// Where the queries came from: `"default"`, `"config"`, `.browserslistrc` or `package.json`.
    pub origin: String,
    browsers: Option<Browsers>,
    engines: EngineTargets,
}

impl Targets {
    /// Targets from browserslist queries (e.g. `["> 0.5%", "last 2 versions"]`).
    pub fn from_queries(queries: &[String], origin: &str) -> Result<Targets, Error> {
        let browsers = Browsers::from_browserslist(queries).map_err(|e| Error::Browserslist {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Ok(Targets {
            queries: queries.to_vec(),
            origin: origin.to_string(),
            browsers,
            engines: engine_targets(browsers.as_ref()),
        })
    }

    /// Browserslist's `defaults`.
    pub fn default_browsers() -> Result<Targets, Error> {
        Targets::from_queries(&[DEFAULT_BROWSERSLIST.to_string()], "default")
    }

    /// The lightningcss view of the targets (`None`: no browser matched, no lowering).
    pub fn browsers(&self) -> Option<Browsers> {
        self.browsers
    }

    /// The targets as esbuild-style names (`chrome109`, `safari15.6`), the oldest version of
    /// each browser: what a bundler lowers syntax for. Empty: no browser matched.
    pub fn engine_names(&self) -> Vec<String> {
        browser_versions(self.browsers.as_ref())
            .into_iter()
            .map(|(name, version)| {
                let version = version.trim_end_matches(".0").trim_end_matches(".0");
                format!("{name}{version}")
            })
            .collect()
    }
}

/// lightningcss's browser versions (`major << 16 | minor << 8 | patch`) as oxc engines.
fn engine_targets(browsers: Option<&Browsers>) -> EngineTargets {
    if browsers.is_none() {
        return EngineTargets::default();
    }
    EngineTargets::parse_versions(
        browser_versions(browsers)
            .into_iter()
            .map(|(name, v)| (name.to_string(), v))
            .collect(),
    )
}

/// Each browser's oldest version (`major.minor.patch`), by oxc's / esbuild's engine name.
fn browser_versions(browsers: Option<&Browsers>) -> Vec<(&'static str, String)> {
    let Some(b) = browsers else {
        return Vec::new();
    };
    let version = |v: u32| format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff);
    let pairs = [
        ("chrome", b.chrome.or(b.android)),
        ("edge", b.edge),
        ("firefox", b.firefox),
        ("ie", b.ie),
        ("ios", b.ios_saf),
        ("opera", b.opera),
        ("safari", b.safari),
        ("samsung", b.samsung),
    ];
    pairs
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name, version(v))))
        .collect()
}

/// The project's browser targets: `configured` (the `browserslist` config key) if given,
/// else `.browserslistrc` in `project_dir`, else the `"browserslist"` key of
/// `project_dir/package.json`, else [`DEFAULT_BROWSERSLIST`] (browserslist's `defaults`).
///
/// In `.browserslistrc` and in a package.json object, the `[production]` / `production`
/// environment is used when present (a build is for production), else the queries outside
/// any environment section (`defaults` key in package.json).
pub fn browser_targets(
    project_dir: &Path,
    configured: Option<&[String]>,
) -> Result<Targets, Error> {
    if let Some(queries) = configured {
        return Targets::from_queries(queries, "browserslist (config)");
    }
    let rc = project_dir.join(".browserslistrc");
    if let Ok(text) = std::fs::read_to_string(&rc) {
        return Targets::from_queries(&browserslistrc_queries(&text), ".browserslistrc");
    }
    let package = project_dir.join("package.json");
    if let Ok(text) = std::fs::read_to_string(&package) {
        let queries = package_json_queries(&text).map_err(|message| Error::Browserslist {
            origin: package.display().to_string(),
            message,
        })?;
        if let Some(queries) = queries {
            return Targets::from_queries(&queries, "package.json");
        }
    }
    Targets::default_browsers()
}

/// The queries of a `.browserslistrc`: one or more per line (comma separated), `#`
/// comments; the `[production]` section if there is one, else the lines before any section.
pub fn browserslistrc_queries(text: &str) -> Vec<String> {
    let mut top = Vec::new();
    let mut production: Option<Vec<String>> = None;
    let mut section: Option<String> = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let names: Vec<&str> = name.split_whitespace().collect();
            section = Some(name.to_string());
            if names.contains(&"production") {
                production.get_or_insert_with(Vec::new);
            }
            continue;
        }
        let queries = line
            .split(',')
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty());
        match &section {
            None => top.extend(queries),
            Some(name) if name.split_whitespace().any(|n| n == "production") => {
                production.get_or_insert_with(Vec::new).extend(queries)
            }
            Some(_) => {}
        }
    }
    production.unwrap_or(top)
}

/// The `"browserslist"` key of a package.json: a string, a list, or an object of
/// environments (`production`, else `defaults`). `Ok(None)` when the key is absent.
pub fn package_json_queries(text: &str) -> Result<Option<Vec<String>>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(list) = value.get("browserslist") else {
        return Ok(None);
    };
    let list = match list {
        serde_json::Value::Object(envs) => match envs.get("production").or(envs.get("defaults")) {
            Some(v) => v,
            None => return Ok(None),
        },
        other => other,
    };
    match list {
        serde_json::Value::String(s) => {
            Ok(Some(s.split(',').map(|q| q.trim().to_string()).collect()))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "\"browserslist\" entries must be strings".to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err("\"browserslist\" must be a string, a list of strings or an object".to_string()),
    }
}

/// A minified bundle and its v3 source map (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minified {
    /// The minified code (no `sourceMappingURL` comment: the caller adds one).
    pub code: String,
    /// The map: `file` is the bundle's name, `sources` the members' `source`.
    pub map: String,
    /// Problems the minifier recovered from, as browsers do (CSS: a declaration or rule it
    /// could not read, dropped; a misplaced `@import`, dropped). Each an [`Error::Syntax`]
    /// naming the member file and line; worth showing, not worth failing a build.
    pub warnings: Vec<Error>,
}

/// Which member a 0-based bundle line belongs to, and the line inside it.
pub(crate) fn locate(members: &[MemberSpan], bundle_line: u32) -> Option<(usize, u32)> {
    // Members are in bundle order; find the last one starting at or before the line.
    let i = members
        .partition_point(|m| m.first_line <= bundle_line)
        .checked_sub(1)?;
    let m = &members[i];
    (bundle_line < m.first_line.saturating_add(m.line_count.max(1)))
        .then(|| (i, bundle_line - m.first_line))
}

/// A syntax error at a 0-based bundle line and 1-based column, named by member.
pub(crate) fn syntax_error(
    code: &str,
    file: &str,
    members: &[MemberSpan],
    line0: u32,
    column: u32,
    message: String,
) -> Error {
    let mut source_line = code.lines().nth(line0 as usize).unwrap_or("").to_string();
    let mut column = column;
    let (file, line) = match locate(members, line0) {
        Some((i, l)) => {
            let m = &members[i];
            // A compiled member with its map: the position in its source.
            match m
                .map
                .as_ref()
                .and_then(|map| map.lookup(l, column.saturating_sub(1)))
            {
                Some((src_line, src_col)) => {
                    source_line = m
                        .content
                        .as_deref()
                        .and_then(|text| text.lines().nth(src_line as usize))
                        .unwrap_or("")
                        .to_string();
                    column = src_col + 1;
                    (m.source.clone(), src_line + 1)
                }
                None => (m.source.clone(), l + 1),
            }
        }
        None => (file.to_string(), line0 + 1),
    };
    Error::Syntax {
        file,
        line,
        column,
        message,
        source_line,
    }
}

/// 0-based line and 1-based column (in characters) of a byte offset.
pub(crate) fn line_col(code: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(code.len());
    let before = &code[..floor_char_boundary(code, offset)];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line as u32, column as u32)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Move mappings `(dst_line, dst_col) -> (bundle_line, col)` onto the members (through a
/// compiled member's own map, onto its source) and write the map. Mappings whose bundle line is outside every member (separators) are dropped.
fn compose<'n>(
    file: &'n str,
    members: &'n [MemberSpan],
    mappings: impl Iterator<Item = (u32, u32, u32, u32, Option<&'n str>)>,
) -> String {
    let mut builder = oxc_sourcemap::SourceMapBuilder::default();
    builder.set_file(file);
    let single;
    let members = if members.is_empty() {
        // Not a bundle: the file is its own single source.
        single = [MemberSpan {
            source: file.to_string(),
            first_line: 0,
            line_count: u32::MAX,
            content: None,
            map: None,
        }];
        &single[..]
    } else {
        members
    };
    for m in members {
        builder.add_source_and_content(&m.source, m.content.as_deref().unwrap_or(""));
    }
    for (dst_line, dst_col, src_line, src_col, name) in mappings {
        let Some((i, line)) = locate(members, src_line) else {
            continue;
        };
        // A compiled member: through its own map, into its source.
        let (line, col) = match &members[i].map {
            Some(map) => match map.lookup(line, src_col) {
                Some(at) => at,
                None => continue,
            },
            None => (line, src_col),
        };
        let name = name.map(|n| builder.add_name(n));
        builder.add_token(dst_line, dst_col, line, col, Some(i as u32), name);
    }
    let mut map = builder.into_sourcemap();
    if members.iter().all(|m| m.content.is_none()) {
        map.set_source_contents(Vec::new());
    } else {
        map.set_source_contents(members.iter().map(|m| m.content.as_deref()).collect());
    }
    map.to_json_string()
}

/// The first place where `{`/`}` (or `(`/`)`, `[`/`]`) do not balance, or a comment or
/// string is left open, as (byte offset, message). CSS parsers close whatever is open at
/// the end of the input, so a member missing a `}` would swallow every member after it;
/// this is checked member by member, before parsing.
pub(crate) fn unbalanced(css: &str) -> Option<(usize, String)> {
    let bytes = css.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'*') => match css[i + 2..].find("*/") {
                Some(end) => i += end + 3,
                None => return Some((i, "unclosed comment".into())),
            },
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' {
                        i += 1;
                    } else if bytes[i] == b'\n' {
                        return Some((start, "unclosed string".into()));
                    }
                    i += 1;
                }
                if i >= bytes.len() {
                    return Some((start, "unclosed string".into()));
                }
            }
            // An unquoted url(…) is one token: quotes, `/*` and `{` inside are not syntax.
            b'(' if i >= 3
                && css.is_char_boundary(i - 3)
                && css[i - 3..i].eq_ignore_ascii_case("url")
                && !matches!(
                    css[i + 1..].trim_start().as_bytes().first(),
                    Some(b'"' | b'\'')
                ) =>
            {
                match css[i..].find(')') {
                    Some(end) => i += end,
                    None => return Some((i, "'(' is never closed".into())),
                }
            }
            c @ (b'{' | b'(' | b'[') => open.push((c, i)),
            c @ (b'}' | b')' | b']') => {
                let want = match c {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        return Some((at, format!("'{}' is closed by '{}'", o as char, c as char)));
                    }
                    None => {
                        return Some((
                            i,
                            format!("'{}' without a matching opening one", c as char),
                        ));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    open.pop()
        .map(|(c, at)| (at, format!("'{}' is never closed", c as char)))
}

/// Byte offset of the start of 0-based `line` in `code`.
fn line_start(code: &str, line: u32) -> usize {
    if line == 0 {
        return 0;
    }
    code.match_indices('\n')
        .nth(line as usize - 1)
        .map_or(code.len(), |(i, _)| i + 1)
}

/// Minify a CSS bundle for `targets`. Comments are dropped except `/*!` ones.
///
/// An unbalanced `{}`/`()`/`[]`, or an unclosed comment or string, in a member is an
/// error (it would swallow the members after it). What browsers skip — a misplaced
/// `@import` (pipeline concatenates files that each start with one), a declaration or rule
/// lightningcss cannot read (old IE hacks such as `*zoom`) — is dropped and reported in
/// [`Minified::warnings`].
pub fn minify_css(
    code: &str,
    file: &str,
    members: &[MemberSpan],
    targets: &Targets,
) -> Result<Minified, Error> {
    if members.is_empty()
        && let Some((at, message)) = unbalanced(code)
    {
        let (line0, column) = line_col(code, at);
        return Err(syntax_error(code, file, members, line0, column, message));
    }
    for m in members {
        let start = line_start(code, m.first_line);
        let end = line_start(code, m.first_line.saturating_add(m.line_count));
        let text = &code[start..end.max(start)];
        if let Some((at, message)) = unbalanced(text) {
            let (line0, column) = line_col(text, at);
            return Err(syntax_error(
                code,
                file,
                members,
                m.first_line + line0,
                column,
                message,
            ));
        }
    }
    let warnings = Arc::new(RwLock::new(Vec::new()));
    let options = ParserOptions {
        filename: file.to_string(),
        error_recovery: true,
        warnings: Some(warnings.clone()),
        ..ParserOptions::default()
    };
    let err_at = |loc: Option<&lightningcss::error::ErrorLocation>, message: String| match loc {
        Some(loc) => syntax_error(code, file, members, loc.line, loc.column, message),
        None => Error::Syntax {
            file: file.to_string(),
            line: 1,
            column: 1,
            message,
            source_line: String::new(),
        },
    };
    let mut sheet =
        StyleSheet::parse(code, options).map_err(|e| err_at(e.loc.as_ref(), e.kind.to_string()))?;
    let warnings: Vec<Error> = warnings
        .read()
        .map_err(|_| Error::Internal("css warnings lock poisoned".into()))?
        .iter()
        .map(|w| err_at(w.loc.as_ref(), format!("{} (dropped)", w.kind)))
        .collect();
    let css_targets = lightningcss::targets::Targets::from(targets.browsers);
    sheet
        .minify(MinifyOptions {
            targets: css_targets,
            ..MinifyOptions::default()
        })
        .map_err(|e| err_at(e.loc.as_ref(), e.kind.to_string()))?;
    let mut map = parcel_sourcemap::SourceMap::new("/");
    let out = sheet
        .to_css(PrinterOptions {
            minify: true,
            source_map: Some(&mut map),
            targets: css_targets,
            ..PrinterOptions::default()
        })
        .map_err(|e| {
            let message = match &e.kind {
                PrinterErrorKind::InvalidComposesNesting
                | PrinterErrorKind::InvalidComposesSelector => e.kind.to_string(),
                other => other.to_string(),
            };
            err_at(e.loc.as_ref(), message)
        })?;
    let mappings = map.get_mappings();
    let map = compose(
        file,
        members,
        mappings.iter().filter_map(|m| {
            m.original.map(|o| {
                (
                    m.generated_line,
                    m.generated_column,
                    o.original_line,
                    o.original_column,
                    None,
                )
            })
        }),
    );
    Ok(Minified {
        code: out.code,
        map,
        warnings,
    })
}

/// Minify a JS bundle (a classic script: top-level names are globals and kept) with
/// the default targets ([`DEFAULT_BROWSERSLIST`]).
pub fn minify_js(code: &str, file: &str, members: &[MemberSpan]) -> Result<Minified, Error> {
    let targets = Targets::default_browsers()?;
    minify_js_for(code, file, members, &targets)
}

/// [`minify_js`] for the given browser targets (the minifier emits no syntax they lack).
/// `/*!`, `@license` and `@preserve` comments are kept.
pub fn minify_js_for(
    code: &str,
    file: &str,
    members: &[MemberSpan],
    targets: &Targets,
) -> Result<Minified, Error> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, code, SourceType::script()).parse();
    if let Some(first) = parsed.diagnostics.errors().next() {
        return Err(js_error(code, file, members, first));
    }
    let mut program = parsed.program;
    let options = MinifierOptions {
        mangle: Some(MangleOptions::default()),
        compress: Some(CompressOptions {
            target: targets.engines.clone(),
            // Two peephole passes instead of running to a fixed point (three passes on
            // large libraries): on the bench's 5.3 MB of library code this is ~20 % less
            // compress time for 0.07 % more gzip bytes. Any pass leaves correct code.
            max_iterations: Some(1),
            ..CompressOptions::smallest()
        }),
        mangle_properties: None,
    };
    let ret = Minifier::new(options).minify(&allocator, &mut program);
    // oxc 0.146's codegen, when minifying whitespace, may print any string literal as a
    // template literal (shorter), whatever the targets; for targets without template
    // literals (IE 11, Safari < 9) keep the whitespace and plain quotes instead.
    let squeeze = !targets
        .engines
        .has_feature(ESFeature::ES2015TemplateLiterals);
    let codegen = Codegen::new()
        .with_options(CodegenOptions {
            comments: CommentOptions {
                legal: LegalComment::Inline,
                ..CommentOptions::disabled()
            },
            source_map_path: Some(file.into()),
            minify: squeeze,
            ..CodegenOptions::minify()
        })
        .with_scoping(ret.scoping)
        .with_private_member_mappings(ret.class_private_mappings)
        .build(&program);
    let map = match codegen.map {
        Some(map) => compose(
            file,
            members,
            map.get_tokens().map(|t| {
                (
                    t.get_dst_line(),
                    t.get_dst_col(),
                    t.get_src_line(),
                    t.get_src_col(),
                    t.get_name_id().and_then(|id| map.get_name(id)),
                )
            }),
        ),
        None => return Err(Error::Internal("oxc produced no source map".into())),
    };
    Ok(Minified {
        code: codegen.code,
        map,
        warnings: Vec::new(),
    })
}

/// An oxc diagnostic as a [`Error::Syntax`] at its first label.
pub(crate) fn js_error(
    code: &str,
    file: &str,
    members: &[MemberSpan],
    diagnostic: &oxc::diagnostics::OxcDiagnostic,
) -> Error {
    let offset = diagnostic
        .labels
        .as_ref()
        .first()
        .map_or(0, |label| label.offset());
    let (line0, column) = line_col(code, offset as usize);
    syntax_error(
        code,
        file,
        members,
        line0,
        column,
        diagnostic.message.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sourcemap::tests::span;

    #[test]
    fn engine_names_are_each_browsers_oldest_version() {
        let queries = ["chrome 109".to_string(), "safari 15.6".to_string()];
        let targets = Targets::from_queries(&queries, "config").unwrap();
        assert_eq!(targets.engine_names(), ["chrome109", "safari15.6"]);
    }

    #[test]
    fn locate_finds_member_and_own_line() {
        let members = [span("a.js", 0, 3), span("b.js", 4, 2)];
        assert_eq!(locate(&members, 0), Some((0, 0)));
        assert_eq!(locate(&members, 2), Some((0, 2)));
        assert_eq!(locate(&members, 3), None); // the separator line
        assert_eq!(locate(&members, 5), Some((1, 1)));
        assert_eq!(locate(&members, 6), None);
    }

    #[test]
    fn browserslistrc_prefers_production_section() {
        let text = "# comment\nlast 2 versions, not dead\n[production]\n> 1%\n[development]\nlast 1 chrome version\n";
        assert_eq!(browserslistrc_queries(text), vec!["> 1%"]);
        assert_eq!(
            browserslistrc_queries("> 1%\nnot dead # x\n"),
            vec!["> 1%", "not dead"]
        );
    }

    #[test]
    fn package_json_forms() {
        assert_eq!(package_json_queries(r#"{"name":"x"}"#), Ok(None));
        assert_eq!(
            package_json_queries(r#"{"browserslist":"> 1%, not dead"}"#),
            Ok(Some(vec!["> 1%".to_string(), "not dead".to_string()]))
        );
        assert_eq!(
            package_json_queries(
                r#"{"browserslist":{"production":["chrome 100"],"development":["x"]}}"#
            ),
            Ok(Some(vec!["chrome 100".to_string()]))
        );
        assert!(package_json_queries(r#"{"browserslist":3}"#).is_err());
    }

    #[test]
    fn maps_carry_member_contents_when_given() {
        let a = "var one = 1;\n";
        let b = "window.two = one + 1;\n";
        let members = [
            MemberSpan {
                source: "a.js".into(),
                first_line: 0,
                line_count: 1,
                content: Some(a.into()),
                map: None,
            },
            MemberSpan {
                source: "b.js".into(),
                first_line: 2,
                line_count: 1,
                content: Some(b.into()),
                map: None,
            },
        ];
        let out = minify_js(&format!("{a};\n{b}"), "ab.js", &members).unwrap();
        let map: serde_json::Value = serde_json::from_str(&out.map).unwrap();
        assert_eq!(map["sources"], serde_json::json!(["a.js", "b.js"]));
        assert_eq!(map["sourcesContent"], serde_json::json!([a, b]));
        assert_eq!(map["file"], "ab.js");
    }

    #[test]
    fn an_error_in_a_compiled_member_is_placed_in_its_source() {
        // The member's line 1 comes from its source's line 3 (0-based 2), column 0 → 2.
        let json = r#"{"version":3,"sources":["x.ts"],"names":[],"mappings":"AAAA;AAEE"}"#;
        let (map, _) = crate::sourcemap::MemberMap::parse(json).unwrap();
        let members = [MemberSpan {
            source: "../x.ts".into(),
            first_line: 0,
            line_count: 2,
            content: Some("let a: number = 1;\n\n  a = * 2;\n".into()),
            map: Some(map),
        }];
        let code = "let a = 1;\na = * 2;\n";
        match minify_js(code, "all.js", &members) {
            Err(Error::Syntax {
                file,
                line,
                column,
                source_line,
                ..
            }) => {
                assert_eq!(
                    (file.as_str(), line, source_line.as_str()),
                    ("../x.ts", 3, "  a = * 2;")
                );
                // The compiled column 5 (`*`) is after the line's one segment (column 0 → 2).
                assert_eq!(column, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unbalanced_css() {
        assert_eq!(unbalanced("a{b:c}/* { */ d{content:\"}\"}"), None);
        assert_eq!(
            unbalanced("a{b:url(x)}\n.x{"),
            Some((14, "'{' is never closed".into()))
        );
        assert_eq!(
            unbalanced("a{}}"),
            Some((3, "'}' without a matching opening one".into()))
        );
        assert_eq!(
            unbalanced("a{b:f(}"),
            Some((5, "'(' is closed by '}'".into()))
        );
        assert_eq!(unbalanced("a{} /* x"), Some((4, "unclosed comment".into())));
        assert_eq!(unbalanced("a{b:url(http://x/*.png'{)}"), None);
        assert_eq!(unbalanced("a{b:URL( 'x)' )}"), None);
        assert_eq!(
            unbalanced("a{content:'x}\n"),
            Some((10, "unclosed string".into()))
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 0), (0, 1));
        assert_eq!(line_col("ab\ncdé f", 3), (1, 1));
        assert_eq!(line_col("ab\ncdé f", 8), (1, 5));
    }
}
