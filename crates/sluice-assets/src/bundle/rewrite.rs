//! django-pipeline's path rewriting while joining (`Compressor.concatenate` and
//! `construct_asset_path` in `pipeline/compressors/__init__.py`): relative `url()` and
//! `sourceMappingURL` paths of a member are rewritten to stay correct from the folder of the
//! bundle's `output_filename`.
//!
//! Python's patterns use a back-reference and a conditional group, which the `regex` crate
//! has not, so the two patterns are matched here by hand, following Python's backtracking
//! order (see the comments); the tests pin the cases django-pipeline's own tests pin.

// posixpath, as django-pipeline calls it (one implementation, shared with the manifest).
pub use crate::python::{dirname, is_py_space as is_space, join, normpath};

/// A match: byte ranges of the prefix, the path, and the suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Match {
    start: usize,
    path: (usize, usize),
    end: usize,
}

fn space_run(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|(_, c)| !is_space(*c))
        .map_or(text.len(), |(i, _)| from + i)
}

/// `url\((['"]?)\s*(.*?)\1\s*\)` at `at` (which starts with `url(`).
fn match_url(text: &str, at: usize) -> Option<Match> {
    let after = at + 4;
    let quote = text[after..]
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"');
    let mut options = Vec::new();
    if let Some(q) = quote {
        options.push((Some(q), after + 1));
    }
    options.push((None, after));
    for (quote, from) in options {
        // `\s*` is greedy, and giving whitespace back to the lazy path never helps (see
        // the module tests), so the path starts after all of it.
        let path_start = space_run(text, from);
        // The lazy path grows one character at a time, never over a newline.
        let mut p = path_start;
        loop {
            let rest = &text[p..];
            let after_quote = match quote {
                Some(q) => rest.strip_prefix(q).map(|_| p + q.len_utf8()),
                None => Some(p),
            };
            if let Some(j) = after_quote {
                let k = space_run(text, j);
                if text[k..].starts_with(')') {
                    return Some(Match {
                        start: at,
                        path: (path_start, p),
                        end: k + 1,
                    });
                }
            }
            match rest.chars().next() {
                Some(c) if c != '\n' => p += c.len_utf8(),
                _ => break,
            }
        }
    }
    None
}

/// `/(?:/|(\*))[#@]\s+source(?:Mapping)?URL=\s*(.*?)\s*(?(2)\*/\s*)$` (multi-line) at `at`.
fn match_sourcemap(text: &str, at: usize) -> Option<Match> {
    let rest = &text[at..];
    let ml = if rest.starts_with("//") {
        false
    } else if rest.starts_with("/*") {
        true
    } else {
        return None;
    };
    let mut i = at + 2;
    if !text[i..].starts_with(['#', '@']) {
        return None;
    }
    i += 1;
    let j = space_run(text, i);
    if j == i {
        return None;
    }
    i = j;
    i += if text[i..].starts_with("sourceMappingURL=") {
        "sourceMappingURL=".len()
    } else if text[i..].starts_with("sourceURL=") {
        "sourceURL=".len()
    } else {
        return None;
    };
    let path_start = space_run(text, i);
    // `$` (multi-line) holds at the end and before a newline.
    let eol = |k: usize| k == text.len() || text[k..].starts_with('\n');
    // Greedy `\s*` then `$`, backtracking: the last end of line within the whitespace run.
    let spaces_then_eol = |from: usize| -> Option<usize> {
        let run = space_run(text, from);
        if eol(run) {
            return Some(run);
        }
        text[from..run].rfind('\n').map(|i| from + i)
    };
    let mut p = path_start;
    loop {
        let end = if ml {
            let k = space_run(text, p);
            if text[k..].starts_with("*/") {
                spaces_then_eol(k + 2)
            } else {
                None
            }
        } else {
            spaces_then_eol(p)
        };
        if let Some(end) = end {
            return Some(Match {
                start: at,
                path: (path_start, p),
                end,
            });
        }
        match text[p..].chars().next() {
            Some(c) if c != '\n' => p += c.len_utf8(),
            _ => return None,
        }
    }
}

/// `^(#|http:|https:|data:|//)`.
fn non_rewritable(path: &str) -> bool {
    ["#", "http:", "https:", "data:", "//"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Rewrites every path in `text` with `rewrite` (which sees the stripped path), as
/// `rewrite_path_re.sub(...)` does: the CSS pattern (`css`) tries `url()` then
/// `sourceMappingURL`, the JS pattern only the latter. Whitespace around a path is dropped
/// (django-pipeline strips it); an empty path, `#…`, `http:`, `https:`, `data:` and `//…`
/// are left as they are.
pub fn rewrite_paths(text: &str, css: bool, rewrite: &mut dyn FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let b = bytes[i];
        let found = if css && b == b'u' && text[i..].starts_with("url(") {
            match_url(text, i)
        } else if b == b'/' {
            match_sourcemap(text, i)
        } else {
            None
        };
        let Some(m) = found else {
            i += 1;
            while i < text.len() && !text.is_char_boundary(i) {
                i += 1;
            }
            continue;
        };
        out.push_str(&text[copied..m.path.0]);
        let path = text[m.path.0..m.path.1].trim_matches(is_space);
        if path.is_empty() || non_rewritable(path) {
            out.push_str(path);
        } else {
            out.push_str(&rewrite(path));
        }
        // What the path's stripping removed at its end is dropped too.
        out.push_str(&text[m.path.1..m.end]);
        copied = m.end;
        i = m.end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// `pipeline.utils.relpath(path, start)` for absolute `path` and `start`.
pub fn relpath(path: &str, start: &str) -> String {
    let start = normpath(start);
    let path = normpath(path);
    let s: Vec<&str> = start.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    let common = s.iter().zip(&p).take_while(|(a, b)| a == b).count();
    let mut rel: Vec<&str> = vec![".."; s.len() - common];
    rel.extend(&p[common..]);
    if rel.is_empty() {
        return ".".into();
    }
    rel.iter()
        .skip(1)
        .fold(rel[0].to_string(), |acc, c| join(&acc, c))
}

/// `Compressor.absolute_path`: the asset's path relative to STATIC_ROOT (absolute URLs stay
/// absolute), normalised.
pub fn public_path(asset: &str, source: &str) -> String {
    if asset.starts_with('/') {
        normpath(asset)
    } else {
        normpath(&join(dirname(source), asset))
    }
}

/// `Compressor.relative_path`: `public` (relative to `root`) as seen from the folder of
/// `output_filename`.
pub fn relative_to_output(public: &str, output_filename: &str, root: &str) -> String {
    relpath(&join(root, public), &join(root, dirname(output_filename)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(text: &str, css: bool) -> String {
        // django-pipeline's tests: members in css/ (root "/static"), output in
        // css/pipeline/ … here simply tag what would be rewritten.
        rewrite_paths(text, css, &mut |p| format!("<{p}>"))
    }

    #[test]
    fn url_forms() {
        assert_eq!(moved("a{b:url(x.png)}", true), "a{b:url(<x.png>)}");
        assert_eq!(moved("url('x.png')", true), "url('<x.png>')");
        assert_eq!(moved("url(\"x.png\")", true), "url(\"<x.png>\")");
        // Whitespace inside the parentheses: before the path kept in the prefix, after
        // it dropped inside quotes, kept before `)`.
        assert_eq!(moved("url(  x.png  )", true), "url(  <x.png>  )");
        // A quote after whitespace is not the optional quote: it is part of the path.
        assert_eq!(moved("url( ' x.png ' )", true), "url( <' x.png '> )");
        assert_eq!(moved("url(\" x.png \")", true), "url(\" <x.png>\")");
        // A quote that does not close: the quote is part of the path.
        assert_eq!(moved("url('x.png)", true), "url(<'x.png>)");
        // The lazy path stops at the first `)`.
        assert_eq!(
            moved("url(a.png) url(b.png)", true),
            "url(<a.png>) url(<b.png>)"
        );
        // Not rewritten.
        for kept in [
            "url(#a)",
            "url(http://x/a.png)",
            "url(https://x/a.png)",
            "url(data:image/png;base64,AAA)",
            "url(//cdn/a.png)",
            "url()",
            "url('')",
        ] {
            assert_eq!(moved(kept, true), kept);
        }
        // No url() rewriting in JS, no match over a newline.
        assert_eq!(moved("url(x.png)", false), "url(x.png)");
        assert_eq!(moved("url(x\n.png)", true), "url(x\n.png)");
    }

    #[test]
    fn sourcemap_forms() {
        assert_eq!(
            moved("a\n//# sourceMappingURL=a.map\nb", false),
            "a\n//# sourceMappingURL=<a.map>\nb"
        );
        assert_eq!(
            moved("//@ sourceURL=x.js  ", false),
            "//@ sourceURL=<x.js>  "
        );
        assert_eq!(
            moved("/*# sourceMappingURL=a.css.map */\n", true),
            "/*# sourceMappingURL=<a.css.map> */\n"
        );
        assert_eq!(
            moved("/*# sourceMappingURL=a.css.map */ x\n", true),
            "/*# sourceMappingURL=a.css.map */ x\n"
        );
        // Not at the end of its line: no match.
        assert_eq!(
            moved("//# sourceMappingURL=a.map x", false),
            "//# sourceMappingURL=<a.map x>"
        );
        assert_eq!(
            moved("//#sourceMappingURL=a.map", false),
            "//#sourceMappingURL=a.map"
        );
    }

    #[test]
    fn path_math() {
        assert_eq!(public_path("../img/x.png", "css/a.css"), "img/x.png");
        assert_eq!(public_path("/static/x.png", "css/a.css"), "/static/x.png");
        let root = "/srv/static";
        assert_eq!(
            relative_to_output("img/x.png", "css/site/all.css", root),
            "../../img/x.png"
        );
        assert_eq!(
            relative_to_output("img/x.png?v=1.0#foo=bar", "all.css", root),
            "img/x.png?v=1.0#foo=bar"
        );
        assert_eq!(
            relative_to_output("css/x.png", "css/all.css", root),
            "x.png"
        );
        assert_eq!(relative_to_output("css", "css/all.css", root), ".");
        assert_eq!(
            relative_to_output("../x.png", "css/a.css", root),
            "../../x.png"
        );
    }
}
