//! Size budgets (`[build.budgets]`): which outputs a budget covers and how big they may be,
//! parsed and validated. `"css/site.min.css" = "40 kB br"` limits one output's Brotli copy,
//! `"js/**/*.js" = "200 kB gzip"` each script's gzip copy, `"js/**/*.js" = "300 kB br total"`
//! all of them together. The build profile checks them (`sluice-engine`'s `build::budget`).
//!
//! A limit is a number, a unit and optionally a measure and `total`:
//! - units: `B`, decimal `kB`/`KB`, `MB`, `GB` (1000), binary `KiB`, `MiB`, `GiB` (1024),
//!   case-insensitive, with or without a space (`40kB`);
//! - measures: `raw` (the default: the file's own bytes), `gzip` (or `gz`), `br` (or
//!   `brotli`) — the bytes a browser receives with that encoding: the compressed copy
//!   when there is one, else the file itself (whitenoise serves the original when compressing
//!   did not pay);
//! - `total`: the matched outputs together, instead of each on its own.
//!
//! Patterns name collected files by their logical path (`css/site.min.css`, not the hashed
//! name; the hashed copy is the one measured when hashing): `*`, `?` and `[…]` match within
//! one path segment (fnmatch, as django-pipeline's globs), and a `**` segment any number of
//! folders (as size-limit and bundlesize), so `js/**/*.js` is every script under `js/`.

use std::fmt;

use crate::fnmatch::Pattern;
use crate::origin::Origin;

/// What a budget measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    Raw,
    Gzip,
    Brotli,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Raw, Measure::Gzip, Measure::Brotli];

    /// As written in a limit (and in `--format json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Raw => "raw",
            Measure::Gzip => "gzip",
            Measure::Brotli => "br",
        }
    }

    fn parse(word: &str) -> Option<Measure> {
        match word.to_ascii_lowercase().as_str() {
            "raw" => Some(Measure::Raw),
            "gzip" | "gz" => Some(Measure::Gzip),
            "br" | "brotli" => Some(Measure::Brotli),
            _ => None,
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How big the outputs of a budget may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// At most this many bytes (exactly at the limit is within it).
    pub bytes: u64,
    pub measure: Measure,
    /// The matched outputs together (else each on its own).
    pub total: bool,
    /// As written (`"40 kB br"`).
    pub text: String,
}

/// `40 kB br`, `1.5MiB`, `900 B gzip total`.
pub fn parse_limit(text: &str) -> Result<Limit, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Err("the limit is empty; write a size such as \"40 kB br\"".into());
    };
    // The number, and the unit either glued to it (`40kB`) or the next word.
    let digits = first
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(first.len());
    let (number, glued) = first.split_at(digits);
    let (unit, rest) = if !glued.is_empty() {
        (glued, &words[1..])
    } else {
        match words.get(1) {
            Some(unit) => (*unit, &words[2..]),
            None => {
                return Err(format!(
                    "the limit {text:?} has no unit (B, kB, MB, KiB, MiB)"
                ));
            }
        }
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && !number.starts_with('.') && !number.ends_with('.'))
        .ok_or_else(|| format!("the limit {text:?} does not start with a number"))?;
    let scale: f64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = (value * scale).round();
    if bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("the limit {text:?} is too large"));
    }
    let mut measure = None;
    let mut total = false;
    for word in rest {
        if word.eq_ignore_ascii_case("total") && !total {
            total = true;
        } else if let Some(m) = Measure::parse(word).filter(|_| measure.is_none() && !total) {
            measure = Some(m);
        } else {
            return Err(format!(
                "unexpected {word:?} in {text:?}: after the size come a measure (raw, gzip, br) \
                 and `total`, in that order"
            ));
        }
    }
    Ok(Limit {
        bytes: bytes as u64,
        measure: measure.unwrap_or(Measure::Raw),
        total,
        text: text.trim().to_string(),
    })
}

/// A pattern over logical paths: fnmatch within a segment, `**` for any number of folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputGlob {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more whole segments.
    Any,
    Name(Pattern),
}

impl OutputGlob {
    /// Refuses what could never name an output: empty, absolute, `.`/`..` segments.
    pub fn new(text: &str) -> Result<OutputGlob, String> {
        if text.is_empty() {
            return Err("an empty pattern names no output".into());
        }
        if text.starts_with('/') || text.contains('\\') {
            return Err(format!(
                "{text:?} must be a path inside the output, with `/` between folders and no \
                 leading `/`"
            ));
        }
        let mut segments = Vec::new();
        for part in text.split('/') {
            match part {
                "" | "." | ".." => {
                    return Err(format!(
                        "{text:?} has an empty, `.` or `..` segment: patterns stay inside the \
                         output"
                    ));
                }
                "**" => {
                    if segments.last() != Some(&Segment::Any) {
                        segments.push(Segment::Any);
                    }
                }
                name => segments.push(Segment::Name(Pattern::new(name))),
            }
        }
        Ok(OutputGlob {
            text: text.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        match_segments(&self.segments, &parts)
    }
}

fn match_segments(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Any, rest)) => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((Segment::Name(p), rest)) => path
            .split_first()
            .is_some_and(|(first, tail)| p.matches(first) && match_segments(rest, tail)),
    }
}

/// One budget: the outputs it covers, their limit, and where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub pattern: OutputGlob,
    pub limit: Limit,
    pub origin: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_with_units_measures_and_total() {
        let l = parse_limit("40 kB br").unwrap();
        assert_eq!(
            (l.bytes, l.measure, l.total, l.text.as_str()),
            (40_000, Measure::Brotli, false, "40 kB br")
        );
        assert_eq!(parse_limit("200kB gzip").unwrap().bytes, 200_000);
        assert_eq!(parse_limit("200 KB gz").unwrap().measure, Measure::Gzip);
        assert_eq!(parse_limit("1.5 KiB").unwrap().bytes, 1536);
        assert_eq!(parse_limit("2 MiB brotli").unwrap().bytes, 2 * 1024 * 1024);
        assert_eq!(parse_limit("1 MB").unwrap().bytes, 1_000_000);
        assert_eq!(parse_limit("1234 B").unwrap().measure, Measure::Raw);
        assert_eq!(parse_limit("0 B").unwrap().bytes, 0);
        let total = parse_limit(" 300 kB br total ").unwrap();
        assert!(total.total);
        assert_eq!(total.text, "300 kB br total");
        assert!(parse_limit("5 B total").unwrap().total);
    }

    #[test]
    fn bad_limits_say_what_is_wrong() {
        for (text, says) in [
            ("", "empty"),
            ("40", "no unit"),
            ("kB 40", "does not start with a number"),
            ("40 kb brr", "unexpected \"brr\""),
            ("40 parsecs", "unknown unit \"parsecs\""),
            ("40 kB total br", "in that order"),
            ("40 kB br br", "unexpected"),
            (".5 kB", "number"),
            ("1e3 B", "unknown unit"),
            ("-1 B", "number"),
        ] {
            let error = parse_limit(text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
    }

    #[test]
    fn globs_match_within_segments_and_across_folders_with_double_star() {
        let g = |p: &str| OutputGlob::new(p).unwrap();
        assert!(g("css/site.min.css").matches("css/site.min.css"));
        assert!(!g("css/site.min.css").matches("css/site.min.css.map"));
        let scripts = g("js/**/*.js");
        for path in ["js/a.js", "js/x/b.js", "js/x/y/z.js"] {
            assert!(scripts.matches(path), "{path}");
        }
        for path in ["a.js", "css/a.js", "js/a.js.map", "js/x/a.css"] {
            assert!(!scripts.matches(path), "{path}");
        }
        // `*` stays inside one segment (unlike Python's fnmatch over a whole path).
        assert!(!g("js/*.js").matches("js/x/b.js"));
        assert!(g("js/*.js").matches("js/b.js"));
        assert!(g("**").matches("any/thing.png"));
        assert!(g("**/*.css").matches("top.css"));
        assert!(g("css/**").matches("css/a/b.css"));
        assert!(g("css/[ab].css").matches("css/b.css"));
        assert!(!g("css/[!ab].css").matches("css/b.css"));
        assert!(g("img/?.png").matches("img/x.png"));
        assert!(g("a/**/**/b").matches("a/b"));
    }

    #[test]
    fn globs_stay_inside_the_output() {
        for bad in [
            "",
            "/etc/passwd",
            "../x.css",
            "css/../x.css",
            "css//x.css",
            "./x",
            "a\\b",
        ] {
            assert!(OutputGlob::new(bad).is_err(), "{bad:?}");
        }
    }
}
