//! Source maps shared by bundling and minification.
//!
//! A bundle is its members joined with a separator (django-pipeline's rules); the bundle
//! step knows where each member starts and hands that to the minifier as [`MemberSpan`]s,
//! so a minified bundle's map points into the member files, not into the joined text.
//! Joining never adds or removes newlines inside a member, so a member's line `n` is the
//! bundle's line `first_line + n`; columns are unchanged except where a CSS `url()` (or a
//! `sourceMappingURL`) was rewritten on that line, and — in a JS bundle — on the first line of
//! every member after the first, which starts after the `;` of the `"\n;"` separator (one
//! column to the right).
//!
//! A member compiled by sluice (`x.ts` → `x.js`) carries its compiler's map as a
//! [`MemberMap`]: positions in the member's text are moved through it, so the bundle's map
//! names the source file (`x.ts`) and its own lines and columns.

/// Where one member file sits inside a joined bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpan {
    /// The member's name as written into the map's `sources` (a URL relative to the
    /// folder of the `.map` file, e.g. `../../css/base/reset.css`).
    pub source: String,
    /// 0-based line of the bundle on which the member's first line starts.
    pub first_line: u32,
    /// How many lines of the bundle belong to the member (at least 1).
    pub line_count: u32,
    /// The member's own text, for the map's `sourcesContent` (dev maps carry it so the
    /// browser shows sources without fetching them).
    pub content: Option<String>,
    /// The member's own map when it was compiled (its text → `source`), `None` when the
    /// member is its own source.
    pub map: Option<MemberMap>,
}

/// A compiled member's source map, decoded: for each line of the compiled text, its
/// segments `(column, source line, source column)` by column. Only the first source counts
/// (a compiler's map of one file has one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberMap {
    lines: Vec<Vec<(u32, u32, u32)>>,
}

impl MemberMap {
    /// Decodes a v3 map (JSON); also returns its first `sourcesContent`, when there is one.
    pub fn parse(json: &str) -> Option<(MemberMap, Option<String>)> {
        let map = oxc_sourcemap::SourceMap::from_json_string(json).ok()?;
        let mut lines: Vec<Vec<(u32, u32, u32)>> = Vec::new();
        for t in map.get_tokens() {
            if t.get_source_id() != Some(0) {
                continue;
            }
            let line = t.get_dst_line() as usize;
            if lines.len() <= line {
                lines.resize_with(line + 1, Vec::new);
            }
            lines[line].push((t.get_dst_col(), t.get_src_line(), t.get_src_col()));
        }
        for segments in &mut lines {
            segments.sort_unstable();
        }
        let content = map.get_source_content(0).map(str::to_string);
        Some((MemberMap { lines }, content))
    }

    /// The segments of a 0-based line of the compiled text.
    pub fn line(&self, line: u32) -> &[(u32, u32, u32)] {
        self.lines.get(line as usize).map_or(&[], Vec::as_slice)
    }

    /// The source `(line, column)` of a position in the compiled text: the last segment at
    /// or before it on its line, or the line's first segment when the position is before it
    /// (indentation); `None` on a line without segments.
    pub fn lookup(&self, line: u32, column: u32) -> Option<(u32, u32)> {
        let segments = self.line(line);
        let i = segments.partition_point(|s| s.0 <= column);
        let s = segments.get(i.saturating_sub(1))?;
        Some((s.1, s.2))
    }
}

/// Base64 VLQ of one number, as source maps encode segment fields.
fn vlq(out: &mut String, value: i64) {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut v = if value < 0 {
        ((-value) << 1) | 1
    } else {
        value << 1
    } as u64;
    loop {
        let mut digit = (v & 31) as usize;
        v >>= 5;
        if v > 0 {
            digit |= 32;
        }
        out.push(B64[digit] as char);
        if v == 0 {
            break;
        }
    }
}

/// The v3 source map of an unminified bundle (the dev profile's): line-level, each line of
/// a member mapped from its first column to the same line of the member, lines outside any
/// member (a wrapper, templates) unmapped; a compiled member's lines carry its own map's
/// segments instead, so they point into its source. `file` is the bundle's file name;
/// `lines` the bundle's line count. `sourcesContent` is given when every member carries
/// its text.
pub fn concat_map(file: &str, spans: &[MemberSpan], lines: u32) -> String {
    let mut mappings = String::new();
    let (mut prev_source, mut prev_line, mut prev_column) = (0i64, 0i64, 0i64);
    let mut spans_sorted: Vec<(usize, &MemberSpan)> = spans.iter().enumerate().collect();
    spans_sorted.sort_by_key(|(_, s)| s.first_line);
    let mut next = spans_sorted.iter().peekable();
    let mut current: Option<(usize, &MemberSpan)> = None;
    let mut segments: Vec<(u32, u32, u32)> = Vec::new();
    for line in 0..lines {
        if line > 0 {
            mappings.push(';');
        }
        while let Some((i, s)) = next.peek() {
            if s.first_line <= line {
                current = Some((*i, s));
                next.next();
            } else {
                break;
            }
        }
        let Some((index, span)) = current else {
            continue;
        };
        if line >= span.first_line + span.line_count.max(1) {
            continue;
        }
        let own = line - span.first_line;
        segments.clear();
        match &span.map {
            Some(map) => segments.extend_from_slice(map.line(own)),
            None => segments.push((0, own, 0)),
        }
        let mut prev_generated = 0i64;
        for (n, &(column, orig_line, orig_column)) in segments.iter().enumerate() {
            if n > 0 {
                mappings.push(',');
            }
            vlq(&mut mappings, i64::from(column) - prev_generated);
            vlq(&mut mappings, index as i64 - prev_source);
            vlq(&mut mappings, i64::from(orig_line) - prev_line);
            vlq(&mut mappings, i64::from(orig_column) - prev_column);
            prev_generated = i64::from(column);
            prev_source = index as i64;
            prev_line = i64::from(orig_line);
            prev_column = i64::from(orig_column);
        }
    }
    let mut map = serde_json::json!({
        "version": 3,
        "file": file,
        "sources": spans.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(),
        "names": [],
        "mappings": mappings,
    });
    if spans.iter().all(|s| s.content.is_some()) && !spans.is_empty() {
        map["sourcesContent"] = spans.iter().map(|s| s.content.clone()).collect();
    }
    match map {
        serde_json::Value::Object(fields) => sorted_json(fields),
        other => other.to_string(),
    }
}

/// A map's JSON text with its keys sorted, whatever order `fields` keeps them in: the same
/// bytes (so the same hashed names) whether or not another crate in the build turns on
/// serde_json's `preserve_order` (rolldown does).
pub fn sorted_json(fields: serde_json::Map<String, serde_json::Value>) -> String {
    let sorted: std::collections::BTreeMap<String, serde_json::Value> =
        fields.into_iter().collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}

/// How many bytes of a generated file each source of its map accounts for, as
/// source-map-explorer counts them: a mapped segment covers the bytes from its column to the
/// next segment on its line (or the line's end); the rest — unmapped columns, newlines, the
/// `sourceMappingURL` comment — is `unmapped`. `bytes[i]` is for `sources[i]`; the parts add
/// up to `code.len()`. Columns are UTF-16 units, as browsers read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteShares {
    pub sources: Vec<String>,
    pub bytes: Vec<u64>,
    pub unmapped: u64,
}

/// The [`ByteShares`] of `code` by its v3 map `map_json`; `None` when the map does not parse.
pub fn byte_shares(code: &str, map_json: &str) -> Option<ByteShares> {
    let map = oxc_sourcemap::SourceMap::from_json_string(map_json).ok()?;
    let sources: Vec<String> = map.get_sources().map(str::to_string).collect();
    let mut bytes = vec![0u64; sources.len()];
    // Segments by line: (column, source index or none).
    let mut lines: Vec<Vec<(u32, Option<usize>)>> = Vec::new();
    for t in map.get_tokens() {
        let line = t.get_dst_line() as usize;
        if lines.len() <= line {
            lines.resize_with(line + 1, Vec::new);
        }
        let source = t
            .get_source_id()
            .map(|i| i as usize)
            .filter(|i| *i < sources.len());
        lines[line].push((t.get_dst_col(), source));
    }
    let mut mapped = 0u64;
    for (n, text) in code.split('\n').enumerate() {
        let Some(segments) = lines.get_mut(n) else {
            continue;
        };
        segments.sort_by_key(|s| s.0);
        let offsets = utf16_offsets(text, segments.iter().map(|s| s.0));
        for (i, (_, source)) in segments.iter().enumerate() {
            let end = offsets.get(i + 1).copied().unwrap_or(text.len());
            let len = end.saturating_sub(offsets[i]) as u64;
            if let Some(source) = source {
                bytes[*source] += len;
                mapped += len;
            }
        }
    }
    Some(ByteShares {
        sources,
        bytes,
        unmapped: code.len() as u64 - mapped,
    })
}

/// The byte offsets of ascending UTF-16 `columns` in one line (its end for a column past
/// it), in one walk over the line.
fn utf16_offsets(line: &str, columns: impl Iterator<Item = u32>) -> Vec<usize> {
    if line.is_ascii() {
        return columns.map(|c| (c as usize).min(line.len())).collect();
    }
    let mut chars = line.char_indices().peekable();
    let mut units = 0u32;
    columns
        .map(|column| {
            while let Some(&(_, c)) = chars.peek() {
                if units >= column {
                    break;
                }
                units += c.len_utf16() as u32;
                chars.next();
            }
            chars.peek().map_or(line.len(), |&(offset, _)| offset)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A member span with no content and no map of its own.
    pub(crate) fn span(source: &str, first_line: u32, line_count: u32) -> MemberSpan {
        MemberSpan {
            source: source.into(),
            first_line,
            line_count,
            content: None,
            map: None,
        }
    }

    #[test]
    fn a_compiled_member_brings_its_own_segments() {
        // b.ts compiled to two lines: line 0 → source 0:0, and from column 4 → 0:6; line 1
        // → source 2:0.
        let json = r#"{"version":3,"sources":["b.ts"],"sourcesContent":["src"],"names":[],"mappings":"AAAA,IAAM;AAEN"}"#;
        let (own, content) = MemberMap::parse(json).unwrap();
        assert_eq!(content.as_deref(), Some("src"));
        assert_eq!(own.lookup(0, 5), Some((0, 6)));
        assert_eq!(own.lookup(1, 0), Some((2, 0)));
        assert_eq!(own.lookup(0, 2), Some((0, 0)));
        assert_eq!(own.lookup(2, 0), None);
        let spans = [
            span("a.js", 0, 1),
            MemberSpan {
                map: Some(own),
                ..span("b.ts", 1, 2)
            },
        ];
        let map: serde_json::Value =
            serde_json::from_str(&concat_map("all.js", &spans, 3)).unwrap();
        // a.js line 0; then b.ts's own segments, shifted to the bundle's lines.
        assert_eq!(map["mappings"], "AAAA;ACAA,IAAM;AAEN");
    }

    #[test]
    fn byte_shares_follow_the_segments() {
        // Line 0: "abcdef" — a.js from column 0, b.js from 2, unmapped from 4 (a segment
        // without a source); line 1: "ghi" b.js from column 1 (column 0 unmapped); line 2
        // has no segment.
        let code = "abcdef\nghi\n//# sourceMappingURL=x.map";
        let map =
            r#"{"version":3,"sources":["a.js","b.js"],"names":[],"mappings":"AAAA,ECAA,E;CAAA"}"#;
        let shares = byte_shares(code, map).unwrap();
        assert_eq!(shares.sources, ["a.js", "b.js"]);
        assert_eq!(shares.bytes, [2, 2 + 2]);
        assert_eq!(shares.unmapped, code.len() as u64 - 6);
        // Columns count UTF-16 units: "é" is one unit and two bytes, "😀" two units and four.
        let code = "é😀xy";
        let map = r#"{"version":3,"sources":["a.js","b.js"],"names":[],"mappings":"AAAA,GCAA"}"#;
        let shares = byte_shares(code, map).unwrap();
        assert_eq!(shares.bytes, [6, 2]);
        assert_eq!(shares.unmapped, 0);
        assert!(byte_shares("x", "not a map").is_none());
    }

    #[test]
    fn vlq_encoding() {
        let enc = |v| {
            let mut s = String::new();
            vlq(&mut s, v);
            s
        };
        assert_eq!(enc(0), "A");
        assert_eq!(enc(1), "C");
        assert_eq!(enc(-1), "D");
        assert_eq!(enc(15), "e");
        assert_eq!(enc(16), "gB");
        assert_eq!(enc(-17), "jB");
        assert_eq!(enc(1000), "w+B");
    }

    #[test]
    fn line_level_map_of_a_wrapped_bundle() {
        // "(function() {" / a.js (2 lines) / ";" + b.js (1 line) / "}).call(this);"
        let spans = [span("../a.js", 1, 2), span("../b.js", 3, 1)];
        let text = concat_map("all.js", &spans, 5);
        let map: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(map["version"], 3);
        assert_eq!(map["file"], "all.js");
        assert_eq!(map["sources"], serde_json::json!(["../a.js", "../b.js"]));
        // Keys sorted, as the tests' snapshots and every hashed name expect.
        assert!(text.starts_with("{\"file\":"), "{text}");
        // line 0 unmapped; a.js lines 0, 1; b.js line 0; last line unmapped.
        assert_eq!(map["mappings"], ";AAAA;AACA;ACDA;");
        assert!(map.get("sourcesContent").is_none());
        let with_text = [MemberSpan {
            content: Some("x".into()),
            ..span("a.css", 0, 1)
        }];
        let map: serde_json::Value =
            serde_json::from_str(&concat_map("s.css", &with_text, 1)).unwrap();
        assert_eq!(map["sourcesContent"], serde_json::json!(["x"]));
        assert_eq!(map["mappings"], "AAAA");
    }
}
