//! grass (sluice's no-node Sass fallback) against dart-sass 1.108 (npm's `sass-embedded`,
//! over the Embedded Sass protocol) on the real packages of the dart-sass differential test —
//! bootstrap 5.3, @mozilla-protocol/core 22, fontawesome-free 6, select2 — after the same
//! lightningcss minify: every difference must be one that docs/build.md lists, each told
//! apart by a precise rule, and the test prints how many of each it found (on these
//! packages: 158 hoisted, 5 colour, 3 colour in a string, 2 charset, 1 load-css).
//!
//! - **hoisted**: declarations written after a nested rule (or a nested `@media`/`@supports`,
//!   or a mixin's `& { … }`). dart-sass writes them after the nested rules, in a rule of
//!   their own with the parent's selector; grass hoists them into the parent's rule, in front
//!   of the nested rules. Undone on dart-sass's output before the minify ([`unhoist`]): going
//!   back from such a rule over the rules nested in it (by their selectors, [`nested_in`]),
//!   to the parent's own rule when grass has that rule with these declarations added, else
//!   to in front of the nested rules when grass has it there. Each step is taken only where
//!   grass's output shows it, and the minified results must then be equal.
//! - **colour**: a colour one unit off in some channel (`#a6b5cc` vs `#a5b5cc`): the two
//!   rules are equal once every colour is masked, and each pair of colours differs by at most
//!   one in every channel.
//! - **colour in a string**: a computed colour interpolated into a string (bootstrap's SVG
//!   data URLs, percent-escaped): dart-sass 1.108 writes `rgb(52.5490196078%, …)` for a
//!   colour whose channels are fractional, grass the hex `#86b7fe`; the same colour (each
//!   percentage of 255, within one unit).
//! - **charset**: grass writes the characters of a string's escapes (`"\f3d0"`: fontawesome's
//!   icons) and so an `@charset "UTF-8";`, dart-sass keeps the escapes and writes none;
//!   counted when one of the two has an `@charset` (the minify makes them equal).
//! - **load-css**: grass fails on `meta.load-css()` of a module that itself `@use`s
//!   `sass:meta` ("There's already a module with namespace \"meta\"": select2's `core.scss`),
//!   where dart-sass compiles it.
//!
//! `SASS_DIFF_DUMP=DIR` writes each entry's two outputs (and the lists compared) there.
//!
//! Cost: ~2 s once the npm packages are cached (the same install as the `sluice` crate's Sass
//! tests: ~15 MB fetched on first use).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use sluice_assets::compile::compile_with_grass;
use sluice_assets::dart_sass::{self, DartSass};
use sluice_assets::minify::{Targets, minify_css};

/// The same pinned set as `crates/sluice/tests/compile_rule.rs` (one cached install).
const SASS_PACKAGES: &[&str] = &[
    "sass@1.108.2",
    "sass-embedded@1.108.2",
    "bootstrap@5.3.9",
    "@mozilla-protocol/core@22.0.0",
    "@fortawesome/fontawesome-free@6.7.1",
    "select2@4.1.0",
];

/// The entry files, in `node_modules`.
const ENTRIES: &[&str] = &[
    "bootstrap/scss/bootstrap.scss",
    "@mozilla-protocol/core/protocol/css/protocol.scss",
    "@mozilla-protocol/core/protocol/css/protocol-components.scss",
    "@fortawesome/fontawesome-free/scss/fontawesome.scss",
    "@fortawesome/fontawesome-free/scss/solid.scss",
    "@fortawesome/fontawesome-free/scss/brands.scss",
    "select2/src/scss/core.scss",
];

#[test]
fn grass_differs_from_dart_sass_only_by_the_listed_differences() {
    let modules = support::npm_packages("sass-v1", SASS_PACKAGES);
    let dart = DartSass::in_node_modules(&modules).expect("sass-embedded's platform package");
    let load_paths = vec![modules.clone()];
    let targets = Targets::default_browsers().unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for entry in ENTRIES {
        let path = modules.join(entry);
        let reference = dart_sass::compile(&dart, &path, &load_paths)
            .unwrap_or_else(|e| panic!("{entry}: dart-sass: {e}"))
            .code;
        let grass = match compile_with_grass(&path, &load_paths) {
            Ok(compiled) => compiled.code,
            Err(e) if load_css_of_sass_meta(&e.to_string()) => {
                *counts.entry("load-css").or_default() += 1;
                continue;
            }
            Err(e) => {
                unexplained.push(format!("{entry}: grass fails: {e}"));
                continue;
            }
        };
        if let Some(dump) = std::env::var_os("SASS_DIFF_DUMP") {
            let name = entry.replace('/', "_");
            let dump = Path::new(&dump);
            std::fs::write(dump.join(format!("{name}.dart.css")), &reference).unwrap();
            std::fs::write(dump.join(format!("{name}.grass.css")), &grass).unwrap();
        }
        let mut reference = parse(&reference);
        let grass = parse(&grass);
        let mut grass = grass;
        let charsets = (drop_charset(&mut reference), drop_charset(&mut grass));
        *counts.entry("charset").or_default() += usize::from(charsets.0 != charsets.1);
        *counts.entry("hoisted").or_default() += unhoist(&mut reference, &grass);
        if let Some(dump) = std::env::var_os("SASS_DIFF_DUMP") {
            let name = entry.replace('/', "_");
            let dump = Path::new(&dump);
            std::fs::write(
                dump.join(format!("{name}.dart.un.css")),
                serialize(&reference),
            )
            .unwrap();
            std::fs::write(dump.join(format!("{name}.grass.un.css")), serialize(&grass)).unwrap();
        }
        let minified = |items: &[Item]| {
            let css = serialize(items);
            parse(&minify_css(&css, entry, &[], &targets).unwrap().code)
        };
        let (reference, grass) = (minified(&reference), minified(&grass));
        let (mut colours, mut in_strings) = (0, 0);
        for (i, (a, b)) in reference.iter().zip(&grass).enumerate() {
            if a == b {
                continue;
            }
            if colours_within_one(&a.text(), &b.text(), false) {
                colours += 1;
            } else if colours_within_one(&a.text(), &b.text(), true) {
                in_strings += 1;
            } else {
                let (a, b) = (a.text(), b.text());
                let at = a
                    .bytes()
                    .zip(b.bytes())
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                let around = |s: &str| {
                    let from = s.floor_char_boundary(at.saturating_sub(80));
                    s[from..s.ceil_char_boundary((at + 160).min(s.len()))].to_string()
                };
                unexplained.push(format!(
                    "{entry}: rule {i}, from byte {at}:\n  dart-sass: {}\n  grass:     {}",
                    around(&a),
                    around(&b)
                ));
            }
        }
        *counts.entry("colour").or_default() += colours;
        *counts.entry("colour in a string").or_default() += in_strings;
        if reference.len() != grass.len() {
            let at = reference
                .iter()
                .zip(&grass)
                .position(|(a, b)| a != b && !colours_within_one(&a.text(), &b.text(), true))
                .unwrap_or(reference.len().min(grass.len()));
            let show = |items: &[Item]| items.get(at).map_or(String::new(), Item::text);
            unexplained.push(format!(
                "{entry}: {} rules vs {}; from rule {at}:\n  dart-sass: {}\n  grass:     {}",
                reference.len(),
                grass.len(),
                show(&reference),
                show(&grass)
            ));
        }
    }
    eprintln!("grass vs dart-sass, differences by class: {counts:?}");
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    // The listed differences are there (else the rules above explain nothing).
    for class in [
        "hoisted",
        "colour",
        "colour in a string",
        "charset",
        "load-css",
    ] {
        assert!(counts[class] > 0, "no {class} difference: {counts:?}");
    }
}

/// Whether grass's error is its listed failure on `meta.load-css()` of a module that itself
/// `@use`s `sass:meta` (select2's `core.scss`): the error is that message, at the `@use` of
/// a file some `meta.load-css()` of the package loads.
fn load_css_of_sass_meta(error: &str) -> bool {
    let Some((file, _)) =
        error.split_once(":1:1: There's already a module with namespace \"meta\"")
    else {
        return false;
    };
    let file = Path::new(file);
    let loads = |dir: &Path, name: &str| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                std::fs::read_to_string(e.path())
                    .is_ok_and(|t| t.contains(&format!("meta.load-css(\"{name}\")")))
            })
    };
    let uses_meta = std::fs::read_to_string(file).is_ok_and(|t| t.starts_with("@use 'sass:meta';"));
    // Loaded by its name relative to a folder at or above it (`theme/default/layout`).
    let stem = file.with_extension("");
    let loaded = stem.ancestors().skip(1).any(|dir| {
        stem.strip_prefix(dir)
            .ok()
            .and_then(|rel| rel.to_str())
            .is_some_and(|rel| loads(dir, rel))
    });
    uses_meta && loaded
}

/// A rule (or at-rule without nested rules) in the at-rule blocks it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    /// The preludes of the blocks around it (`@media (min-width: 576px)`), outermost first.
    context: Vec<String>,
    /// The selector or at-rule prelude.
    head: String,
    /// The block's inside; `None` for a statement (`@charset "UTF-8";`).
    body: Option<String>,
}

impl Item {
    fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.context {
            out.push_str(c);
            out.push('{');
        }
        out.push_str(&self.head);
        match &self.body {
            Some(b) => {
                out.push('{');
                out.push_str(b);
                out.push('}');
            }
            None => out.push(';'),
        }
        out.push_str(&"}".repeat(self.context.len()));
        out
    }
}

/// At-rules whose blocks hold rules (flattened into their rules' contexts).
const GROUPING: &[&str] = &["@media", "@supports", "@layer", "@container", "@document"];

/// CSS as a flat list of rules, comments dropped.
fn parse(css: &str) -> Vec<Item> {
    let mut out = Vec::new();
    parse_into(css, &mut Vec::new(), &mut out);
    out
}

fn parse_into(css: &str, context: &mut Vec<String>, out: &mut Vec<Item>) {
    let bytes = css.as_bytes();
    let mut i = 0;
    let mut head = String::new();
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = css[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
            }
            q @ (b'"' | b'\'') => {
                let end = string_end(bytes, i, q);
                head.push_str(&css[i..end]);
                i = end;
            }
            b';' => {
                let h = normalize(&head);
                if !h.is_empty() {
                    out.push(Item {
                        context: context.clone(),
                        head: h,
                        body: None,
                    });
                }
                head.clear();
                i += 1;
            }
            b'{' => {
                let end = block_end(bytes, i);
                let inner = &css[i + 1..end.saturating_sub(1).max(i + 1)];
                let h = normalize(&head);
                head.clear();
                if GROUPING.iter().any(|g| h.starts_with(g)) {
                    context.push(h);
                    parse_into(inner, context, out);
                    context.pop();
                } else {
                    out.push(Item {
                        context: context.clone(),
                        head: h,
                        body: Some(
                            strip_comments(inner)
                                .lines()
                                .map(str::trim)
                                .filter(|l| !l.is_empty())
                                .collect::<Vec<_>>()
                                .join("\n"),
                        ),
                    });
                }
                i = end;
            }
            _ => {
                let c = css[i..].chars().next().unwrap_or(' ');
                head.push(c);
                i += c.len_utf8();
            }
        }
    }
}

/// A selector or prelude with its white space as lightningcss would have it between
/// selectors (`a,\n  b` → `a,b`) and collapsed elsewhere.
fn normalize(head: &str) -> String {
    head.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(", ", ",")
}

/// The index after the string starting at `at` (quote `q`).
fn string_end(bytes: &[u8], at: usize, q: u8) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index after the `}` closing the block opened at `at`.
fn block_end(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            q @ (b'"' | b'\'') => {
                i = string_end(bytes, i, q);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = std::str::from_utf8(&bytes[i + 2..])
                    .ok()
                    .and_then(|s| s.find("*/"))
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

fn strip_comments(css: &str) -> String {
    let mut out = String::new();
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |e| &rest[start + 2 + e + 2..]);
    }
    out.push_str(rest);
    out
}

/// CSS again from the list (consecutive rules of one context in one block).
fn serialize(items: &[Item]) -> String {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    for item in items {
        let keep = open
            .iter()
            .zip(&item.context)
            .take_while(|(a, b)| a == b)
            .count();
        while open.len() > keep {
            open.pop();
            out.push_str("}\n");
        }
        for c in &item.context[keep..] {
            out.push_str(c);
            out.push_str("{\n");
            open.push(c.clone());
        }
        out.push_str(&item.head);
        match &item.body {
            Some(b) => {
                out.push_str("{\n");
                out.push_str(b);
                out.push_str("\n}\n");
            }
            None => out.push_str(";\n"),
        }
    }
    for _ in open {
        out.push_str("}\n");
    }
    out
}

/// Removes dart-sass's `@charset`: how many.
fn drop_charset(items: &mut Vec<Item>) -> usize {
    let before = items.len();
    items.retain(|i| !(i.body.is_none() && i.head.starts_with("@charset")));
    before - items.len()
}

/// Whether `rule` is a selector Sass makes for a rule nested in `parent`: each of its
/// selectors is one of the parent's with `&` at the start (`&:hover`, `& .x`, `&` alone), at
/// the end after a combinator (`[dir=rtl] &`), or woven into it by `@extend` (`.a [dir=rtl]
/// b` from `.a b`: the parent's compounds in order among its own, the last one last). Loose
/// on purpose: [`unhoist`] moves a rule only where grass's output shows it.
fn nested_in(rule: &str, parent: &str) -> bool {
    let parents: Vec<&str> = parent.split(',').collect();
    rule.split(',')
        .all(|part| parents.iter().any(|p| derived(part, p)))
}

fn derived(part: &str, p: &str) -> bool {
    if part == p {
        return true;
    }
    if let Some(rest) = part.strip_prefix(p)
        && rest.starts_with([' ', '>', '+', '~', ':', '.', '[', '#'])
    {
        return true;
    }
    if part
        .strip_suffix(p)
        .is_some_and(|before| before.ends_with([' ', '>', '+', '~']))
    {
        return true;
    }
    let (ours, theirs): (Vec<&str>, Vec<&str>) =
        (part.split(' ').collect(), p.split(' ').collect());
    let (Some(last), Some(their_last)) = (ours.last(), theirs.last()) else {
        return false;
    };
    if !(last == their_last
        || last
            .strip_prefix(their_last)
            .is_some_and(|rest| rest.starts_with([':', '.', '[', '#'])))
    {
        return false;
    }
    let mut want = theirs[..theirs.len() - 1].iter().peekable();
    for token in &ours[..ours.len() - 1] {
        if want.peek() == Some(&token) {
            want.next();
        }
    }
    want.peek().is_none() && ours.len() > theirs.len()
}

/// Undoes grass's hoisting on dart-sass's rules (see the module comment), where grass's
/// own rules show it did: a merge only when grass has a rule that starts with the merged
/// declarations (those before the nested rules, then those after; a later rule of the same
/// parent may add more), a move only when grass has the rule right before the first nested
/// one. Returns how many rules it undid.
fn unhoist(items: &mut Vec<Item>, grass: &[Item]) -> usize {
    // Whether the properties of `body` start those of grass's rule `g` (what later rules of
    // the parent's add comes after). Properties, not values: the two write some values
    // differently until the minify (`calc(50% - 24px * 0.5)`, colours).
    let properties = |body: &str| -> Vec<String> {
        body.lines()
            .map(|l| l.split(':').next().unwrap_or("").trim().to_string())
            .collect()
    };
    let starts = |g: &Item, body: &str| {
        g.body
            .as_deref()
            .is_some_and(|b| properties(b).starts_with(&properties(body)))
    };
    // Whether grass has a rule of this context and selector whose declarations start with
    // `body`, followed by the rule `then` (context and selector) when asked.
    let has = |context: &[String], head: &str, body: &str, then: Option<&Item>| {
        grass.iter().enumerate().any(|(n, g)| {
            g.context == context
                && g.head == head
                && starts(g, body)
                && then.is_none_or(|t| {
                    // Followed by `t`, and not `t` itself (`& { … }` has the same selector).
                    let is_t = g.head == t.head
                        && g.context == t.context
                        && properties(g.body.as_deref().unwrap_or(""))
                            == properties(t.body.as_deref().unwrap_or(""));
                    !is_t
                        && grass
                            .get(n + 1)
                            .is_some_and(|after| after.context == t.context && after.head == t.head)
                })
        })
    };
    let mut undone = 0;
    let mut i = 1;
    while i < items.len() {
        let rule = items[i].clone();
        if rule.body.is_none() || rule.head.starts_with('@') {
            i += 1;
            continue;
        }
        // Back over the rules nested in this one: in its context with a selector nested in
        // its (its own too: `& { … }`), or in an at-rule nested in it (`@supports`,
        // `@media`: its selector or one nested in it). The first of its own selector and
        // context whose declarations, with this one's after them, are a rule of grass's is
        // where grass put them.
        let nested = |other: &Item| {
            let deeper = other.context.len() > rule.context.len()
                && other.context.starts_with(&rule.context);
            (other.context == rule.context || deeper) && nested_in(&other.head, &rule.head)
        };
        let body = rule.body.clone().unwrap_or_default();
        let mut j = i;
        let mut merged = false;
        while j > 0 && nested(&items[j - 1]) {
            let before = &items[j - 1];
            if before.head == rule.head && before.context == rule.context {
                let joined = format!("{}\n{body}", before.body.as_deref().unwrap_or(""));
                if has(&rule.context, &rule.head, &joined, None) {
                    items[j - 1].body = Some(joined);
                    items.remove(i);
                    undone += 1;
                    merged = true;
                    break;
                }
            }
            j -= 1;
        }
        if merged {
            continue;
        }
        if j < i {
            // No rule of its own before them: grass writes it in front of them.
            if has(&rule.context, &rule.head, &body, Some(&items[j])) {
                let item = items.remove(i);
                items.insert(j, item);
                undone += 1;
            }
        }
        i += 1;
    }
    undone
}

/// Whether `a` and `b` are equal once their colours are masked, and each pair of colours is
/// at most one unit apart in every channel. `in_strings`: the colours dart-sass writes into
/// a string (bootstrap's SVG data URLs, percent-escaped) are colours too: its
/// `rgb(52.5490196078%, …)` for a colour of fractional channels (each percentage of 255),
/// grass's `#86b7fe`.
fn colours_within_one(a: &str, b: &str, in_strings: bool) -> bool {
    let (mask_a, colours_a) = colours(a, in_strings);
    let (mask_b, colours_b) = colours(b, in_strings);
    mask_a == mask_b
        && colours_a.len() == colours_b.len()
        && colours_a
            .iter()
            .zip(&colours_b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.abs_diff(*q) <= 1))
}

/// `css` with its colours replaced by `#`, and each colour's channels (alpha too).
fn colours(css: &str, in_strings: bool) -> (String, Vec<Vec<u8>>) {
    let hex = r"#([0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b";
    let escaped = r"%23([0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b";
    let percents = r"rgb%28([0-9.]+)%, ([0-9.]+)%, ([0-9.]+)%%29";
    let pattern = if in_strings {
        format!("{hex}|{escaped}|{percents}")
    } else {
        hex.to_string()
    };
    let re = regex::Regex::new(&pattern).unwrap();
    let mut found = Vec::new();
    let masked = re.replace_all(css, |c: &regex::Captures| {
        let channels: Vec<u8> = match c.get(1).or_else(|| c.get(2)) {
            Some(digits) => {
                let hex = digits.as_str();
                if hex.len() <= 4 {
                    hex.chars()
                        .map(|d| u8::from_str_radix(&format!("{d}{d}"), 16).unwrap_or(0))
                        .collect()
                } else {
                    (0..hex.len() / 2)
                        .map(|k| u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).unwrap_or(0))
                        .collect()
                }
            }
            None => (3..=5)
                .map(|k| {
                    let p: f64 = c[k].parse().unwrap_or(0.0);
                    (p * 2.55).round().clamp(0.0, 255.0) as u8
                })
                .collect(),
        };
        found.push(channels);
        "#"
    });
    (masked.into_owned(), found)
}
