//! Python's `fnmatch.fnmatchcase`, ported exactly.
//!
//! Django matches its static-file ignore patterns (`CVS`, `.*`, `*~`) and django-pipeline its
//! bundle globs with `fnmatch`, whose rules differ from shell globs and from `globset`: `*` also
//! matches `/`, there is no `{a,b}` and no `**`, `[!…]` negates, a class with a reversed range
//! such as `[z-a]` matches nothing. This module follows CPython 3.11's `fnmatch.translate`
//! character for character, but matches directly instead of building a regular expression.

/// A compiled `fnmatch` pattern (case-sensitive, like `fnmatchcase`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
    /// The common shapes matched without the general matcher: every file of a walk is
    /// tested against every ignore pattern (`CVS`, `.*`, `*~`).
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// No wildcard at all.
    Literal(String),
    /// `abc*`.
    Prefix(String),
    /// `*abc`.
    Suffix(String),
    General,
}

impl Shape {
    fn of(tokens: &[Token]) -> Shape {
        let literal = |ts: &[Token]| -> Option<String> {
            ts.iter()
                .map(|t| match t {
                    Token::Literal(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        match tokens {
            [Token::Star, rest @ ..] if !rest.is_empty() => {
                literal(rest).map_or(Shape::General, Shape::Suffix)
            }
            [rest @ .., Token::Star] if !rest.is_empty() => {
                literal(rest).map_or(Shape::General, Shape::Prefix)
            }
            _ => literal(tokens).map_or(Shape::General, Shape::Literal),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`, or the class `[!]`: any one character.
    AnyChar,
    /// One or more `*`: any run of characters, `/` included.
    Star,
    Class {
        negated: bool,
        singles: Vec<char>,
        ranges: Vec<(char, char)>,
    },
    /// A class left empty by range removal, e.g. `[z-a]`: matches nothing.
    Never,
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let tokens = translate(pattern);
        Pattern {
            source: pattern.to_owned(),
            shape: Shape::of(&tokens),
            tokens,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        match &self.shape {
            Shape::Literal(l) => name == l,
            Shape::Prefix(p) => name.starts_with(p.as_str()),
            Shape::Suffix(s) => name.ends_with(s.as_str()),
            Shape::General => match_tokens(&self.tokens, name),
        }
    }
}

/// `fnmatch.fnmatchcase(name, pattern)`.
pub fn fnmatchcase(name: &str, pattern: &str) -> bool {
    Pattern::new(pattern).matches(name)
}

fn translate(pat: &str) -> Vec<Token> {
    let pat: Vec<char> = pat.chars().collect();
    let n = pat.len();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < n {
        let c = pat[i];
        i += 1;
        match c {
            '*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::AnyChar),
            '[' => {
                let mut j = i;
                if j < n && pat[j] == '!' {
                    j += 1;
                }
                if j < n && pat[j] == ']' {
                    j += 1;
                }
                while j < n && pat[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    tokens.push(Token::Literal('['));
                } else {
                    tokens.push(class_token(&pat, i, j));
                    i = j + 1;
                }
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    tokens
}

/// The class `pat[start..end]` (between `[` and `]`), following CPython's chunking of ranges:
/// hyphens split the class into chunks, the last character of one chunk and the first of the
/// next form a range, and reversed ranges are dropped.
fn class_token(pat: &[char], start: usize, end: usize) -> Token {
    let stuff = &pat[start..end];
    let mut chunks: Vec<Vec<char>> = Vec::new();
    if !stuff.contains(&'-') {
        chunks.push(stuff.to_vec());
    } else {
        let mut i = start;
        let mut k = if pat[start] == '!' {
            start + 2
        } else {
            start + 1
        };
        while let Some(found) = (k..end).find(|&p| pat[p] == '-') {
            chunks.push(pat[i..found].to_vec());
            i = found + 1;
            k = found + 3;
        }
        let last = pat[i..end].to_vec();
        if last.is_empty() {
            if let Some(previous) = chunks.last_mut() {
                previous.push('-');
            }
        } else {
            chunks.push(last);
        }
        for k in (1..chunks.len()).rev() {
            let (Some(&prev_last), Some(&next_first)) = (chunks[k - 1].last(), chunks[k].first())
            else {
                continue;
            };
            if prev_last > next_first {
                let mut merged = chunks[k - 1][..chunks[k - 1].len() - 1].to_vec();
                merged.extend_from_slice(&chunks[k][1..]);
                chunks[k - 1] = merged;
                chunks.remove(k);
            }
        }
    }
    let total: usize = chunks.iter().map(Vec::len).sum::<usize>() + chunks.len().saturating_sub(1);
    if total == 0 {
        return Token::Never;
    }
    if total == 1 && chunks.len() == 1 && chunks[0] == ['!'] {
        return Token::AnyChar;
    }
    let negated = chunks[0].first() == Some(&'!');
    if negated {
        chunks[0].remove(0);
    }
    let mut singles = Vec::new();
    let mut ranges = Vec::new();
    for (k, chunk) in chunks.iter().enumerate() {
        singles.extend_from_slice(chunk);
        if k > 0
            && let (Some(&low), Some(&high)) = (chunks[k - 1].last(), chunk.first())
        {
            ranges.push((low, high));
        }
    }
    Token::Class {
        negated,
        singles,
        ranges,
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyChar => true,
        Token::Never => false,
        Token::Star => true,
        Token::Class {
            negated,
            singles,
            ranges,
        } => {
            let inside =
                singles.contains(&c) || ranges.iter().any(|&(low, high)| low <= c && c <= high);
            inside != *negated
        }
    }
}

/// Wildcard matching with single-star backtracking: linear for the patterns people write,
/// and without allocating (it runs for every file of every walk).
fn match_tokens(tokens: &[Token], text: &str) -> bool {
    let (mut t, mut s) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(c) = text[s..].chars().next() {
        if t < tokens.len() && tokens[t] == Token::Star {
            backtrack = Some((t, s));
            t += 1;
        } else if t < tokens.len() && token_matches(&tokens[t], c) {
            t += 1;
            s += c.len_utf8();
        } else if let Some((star_t, star_s)) = backtrack {
            let skipped = text[star_s..].chars().next().map_or(1, char::len_utf8);
            t = star_t + 1;
            s = star_s + skipped;
            backtrack = Some((star_t, s));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::{Pattern, Shape, fnmatchcase, match_tokens};

    #[test]
    fn the_fast_shapes_agree_with_the_general_matcher() {
        let names = [
            "CVS",
            "cvs",
            ".git",
            "a.css",
            "backup~",
            "~",
            "a~b",
            "",
            ".",
            "css/x~",
            "pre",
            "prefix.txt",
        ];
        for (pattern, shape) in [
            ("CVS", "literal"),
            (".*", "prefix"),
            ("*~", "suffix"),
            ("pre*", "prefix"),
            ("*.txt", "suffix"),
            ("*", "general"),
            ("a*b", "general"),
            ("[ab]*", "general"),
        ] {
            let p = Pattern::new(pattern);
            let got = match p.shape {
                Shape::Literal(_) => "literal",
                Shape::Prefix(_) => "prefix",
                Shape::Suffix(_) => "suffix",
                Shape::General => "general",
            };
            assert_eq!(got, shape, "{pattern}");
            for name in names {
                assert_eq!(
                    p.matches(name),
                    match_tokens(&p.tokens, name),
                    "{pattern} on {name:?}"
                );
            }
        }
    }

    #[test]
    fn django_default_ignores() {
        assert!(fnmatchcase("CVS", "CVS"));
        assert!(!fnmatchcase("cvs", "CVS"));
        assert!(fnmatchcase(".hidden", ".*"));
        assert!(fnmatchcase("backup~", "*~"));
        assert!(
            fnmatchcase("dir/backup~", "*~"),
            "`*` crosses `/` in fnmatch"
        );
        assert!(!fnmatchcase("a.css", ".*"));
    }

    #[test]
    fn wildcards() {
        assert!(fnmatchcase("css/site.css", "css/*.css"));
        assert!(fnmatchcase("css/a/b.css", "css/*.css"));
        assert!(fnmatchcase("abc", "a?c"));
        assert!(!fnmatchcase("ac", "a?c"));
        assert!(fnmatchcase("", "*"));
        assert!(fnmatchcase("aaab", "*a*b"));
        assert!(!fnmatchcase("aaabc", "*a*b"));
        assert!(fnmatchcase("a\nb", "a*b"), "DOTALL");
        assert!(fnmatchcase("çà~", "*~"), "multi-byte text");
        assert!(fnmatchcase("ü", "?"));
        assert!(fnmatchcase("αβγ.css", "*β*.css"));
        assert!(fnmatchcase("x{a,b}", "x{a,b}"), "no brace expansion");
    }

    #[test]
    fn classes_follow_cpython() {
        assert!(fnmatchcase("b", "[abc]"));
        assert!(!fnmatchcase("d", "[abc]"));
        assert!(fnmatchcase("d", "[!abc]"));
        assert!(fnmatchcase("]", "[]]"));
        assert!(fnmatchcase("]", "[!a]"));
        assert!(!fnmatchcase("]", "[!]]"));
        assert!(fnmatchcase("m", "[a-z]"));
        assert!(!fnmatchcase("m", "[z-a]"), "reversed range matches nothing");
        assert!(fnmatchcase("m", "[!z-a]"), "[!] matches anything");
        assert!(fnmatchcase("-", "[a-]"));
        assert!(fnmatchcase("-", "[a-c-e]"));
        assert!(fnmatchcase("e", "[a-c-e]"));
        assert!(!fnmatchcase("d", "[a-c-e]"));
        assert!(fnmatchcase("[", "["), "unclosed class is a literal");
        assert!(fnmatchcase("[ab", "[ab"));
        assert!(fnmatchcase("\\", "[\\]"));
        assert!(fnmatchcase("&", "[&&]"));
        assert!(fnmatchcase("^", "[^]"));
    }
}
