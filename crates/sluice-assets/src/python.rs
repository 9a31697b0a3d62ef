//! Ports of the few Python standard-library functions whose exact behaviour Django's
//! manifest storage depends on: `urllib.parse` (`urlsplit`, `urlunsplit`, `urldefrag`,
//! `unquote`, `quote`), `posixpath` (`normpath`, `join`, `dirname`, `split`, `splitext`),
//! `str.strip`, `repr` of a `str`, and `json.dumps` string escaping.
//!
//! Each port follows CPython 3.12/3.13 for the inputs Django can give it (no IPv6 netlocs,
//! no bytes), so edge cases in collected file names and CSS references come out the same.

/// Characters `str.isspace()` is true for (and so `str.strip()` removes and `re`'s `\s`
/// matches): Unicode White_Space plus the information separators U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.strip()` without arguments.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// The five parts of `urllib.parse.urlsplit`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitUrl {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

const SCHEME_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";

/// `urllib.parse.urlsplit(url)` (with `allow_fragments=True`).
pub fn urlsplit(url: &str) -> SplitUrl {
    // Leading C0 controls and spaces are stripped; tabs and newlines removed everywhere.
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let mut url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut out = SplitUrl::default();
    if let Some(i) = url.find(':')
        && i > 0
    {
        let first = url.as_bytes()[0];
        if first.is_ascii_alphabetic() && url[..i].chars().all(|c| SCHEME_CHARS.contains(c)) {
            out.scheme = url[..i].to_ascii_lowercase();
            url = url[i + 1..].to_string();
        }
    }
    if url.starts_with("//") {
        let rest = &url[2..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        out.netloc = rest[..end].to_string();
        url = rest[end..].to_string();
    }
    if let Some(i) = url.find('#') {
        out.fragment = url[i + 1..].to_string();
        url.truncate(i);
    }
    if let Some(i) = url.find('?') {
        out.query = url[i + 1..].to_string();
        url.truncate(i);
    }
    out.path = url;
    out
}

/// Schemes listed in `urllib.parse.uses_netloc`.
fn uses_netloc(scheme: &str) -> bool {
    matches!(
        scheme,
        "" | "ftp"
            | "http"
            | "gopher"
            | "nntp"
            | "telnet"
            | "imap"
            | "wais"
            | "file"
            | "mms"
            | "https"
            | "shttp"
            | "snews"
            | "prospero"
            | "rtsp"
            | "rtsps"
            | "rtspu"
            | "rsync"
            | "svn"
            | "svn+ssh"
            | "sftp"
            | "nfs"
            | "git"
            | "git+ssh"
            | "ws"
            | "wss"
            | "itms-services"
    )
}

/// `urllib.parse.urlunsplit(parts)` (CPython 3.12 rules).
pub fn urlunsplit(parts: &SplitUrl) -> String {
    let mut url = parts.path.clone();
    if !parts.netloc.is_empty()
        || (!parts.scheme.is_empty() && uses_netloc(&parts.scheme) && !url.starts_with("//"))
    {
        if !url.is_empty() && !url.starts_with('/') {
            url.insert(0, '/');
        }
        url = format!("//{}{}", parts.netloc, url);
    }
    if !parts.scheme.is_empty() {
        url = format!("{}:{}", parts.scheme, url);
    }
    if !parts.query.is_empty() {
        url.push('?');
        url.push_str(&parts.query);
    }
    if !parts.fragment.is_empty() {
        url.push('#');
        url.push_str(&parts.fragment);
    }
    url
}

/// `urllib.parse.urldefrag(url)`: `(url without fragment, fragment)`.
///
/// Only a URL containing `#` is parsed (and so normalised by `urlparse`/`urlunparse`,
/// including the `;params` split of the last path segment); any other URL is returned as is.
pub fn urldefrag(url: &str) -> (String, String) {
    if !url.contains('#') {
        return (url.to_string(), String::new());
    }
    let mut parts = urlsplit(url);
    let fragment = std::mem::take(&mut parts.fragment);
    // urlparse splits `;params` off the last segment (the empty scheme uses params) and
    // urlunparse re-appends them only when non-empty.
    if parts.scheme.is_empty() || uses_params(&parts.scheme) {
        let (path, params) = split_params(&parts.path);
        if params.is_empty() {
            parts.path = path.to_string();
        }
    }
    (urlunsplit(&parts), fragment)
}

fn uses_params(scheme: &str) -> bool {
    matches!(
        scheme,
        "" | "ftp"
            | "hdl"
            | "prospero"
            | "http"
            | "imap"
            | "https"
            | "shttp"
            | "rtsp"
            | "rtsps"
            | "rtspu"
            | "sip"
            | "sips"
            | "mms"
            | "sftp"
            | "tel"
    )
}

/// `urllib.parse._splitparams`.
fn split_params(path: &str) -> (&str, &str) {
    let i = if let Some(slash) = path.rfind('/') {
        match path[slash..].find(';') {
            Some(i) => slash + i,
            None => return (path, ""),
        }
    } else {
        match path.find(';') {
            Some(i) => i,
            None => return (path, ""),
        }
    };
    (&path[..i], &path[i + 1..])
}

/// `urllib.parse.unquote(s)`: `%XX` escapes decoded as UTF-8 with `errors="replace"`.
pub fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    // Python decodes each maximal run of ASCII characters as one byte string.
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, out: &mut String| {
        if !run.is_empty() {
            out.push_str(&String::from_utf8_lossy(run));
            run.clear();
        }
    };
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x80 {
            flush(&mut run, &mut out);
            let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&s[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        if b == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = &s[i + 1..i + 3];
            run.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        run.push(b);
        i += 1;
    }
    flush(&mut run, &mut out);
    out
}

/// `urllib.parse.quote(s, safe)` for a `str` (UTF-8).
pub fn quote(s: &str, safe: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let c = b as char;
        if b.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '-' | '~')
            || (b < 0x80 && safe.contains(c))
        {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `posixpath.normpath(path)`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let leading = path.len() - path.trim_start_matches('/').len();
    let initial = match leading {
        0 => "",
        2 => "//",
        _ => "/",
    };
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial.is_empty() && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(comp);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let out = format!("{initial}{}", comps.join("/"));
    if out.is_empty() { ".".to_string() } else { out }
}

/// `posixpath.join(a, b)`.
pub fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_string()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `posixpath.split(p)`: `(head, tail)`.
pub fn split(p: &str) -> (&str, &str) {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    let (mut head, tail) = (&p[..i], &p[i..]);
    if !head.is_empty() && !head.bytes().all(|b| b == b'/') {
        head = head.trim_end_matches('/');
    }
    (head, tail)
}

/// `posixpath.dirname(p)`.
pub fn dirname(p: &str) -> &str {
    split(p).0
}

/// `posixpath.splitext(p)`: `(root, ext)`; leading dots of a name are not an extension.
pub fn splitext(p: &str) -> (&str, &str) {
    let sep = p.rfind('/').map_or(-1, |i| i as isize);
    if let Some(dot) = p.rfind('.')
        && dot as isize > sep
    {
        let name_start = (sep + 1) as usize;
        if p[name_start..dot].bytes().any(|b| b != b'.') {
            return (&p[..dot], &p[dot..]);
        }
    }
    (p, "")
}

/// `repr(s)` of a Python `str`.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// An approximation of `str.isprintable()` for non-ASCII characters: everything except
/// controls, the Latin-1 no-break space and soft hyphen, separators other than the space,
/// surrogates and private use / unassigned planes that matter in file names.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    !(u < 0x20
        || (0x7f..=0xa0).contains(&u)
        || u == 0xad
        || (c != ' ' && is_py_space(c))
        || (0x200b..=0x200f).contains(&u)
        || (0x2028..=0x202e).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || u == 0xfeff
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
        || u >= 0xf0000)
}

/// Appends `s` as a JSON string the way `json.dumps` (with `ensure_ascii=True`) writes it.
pub fn push_json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let push_u = |out: &mut String, u: u16| {
        out.push_str("\\u");
        for shift in [12, 8, 4, 0] {
            out.push(HEX[((u >> shift) & 0xf) as usize] as char);
        }
    };
    out.push('"');
    // Almost every name is printable ASCII without a quote or backslash: copied whole.
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    push_u(out, *unit);
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlsplit_like_python() {
        let p = urlsplit("a/b.css?v=1#frag");
        assert_eq!(
            (p.path.as_str(), p.query.as_str(), p.fragment.as_str()),
            ("a/b.css", "v=1", "frag")
        );
        let p = urlsplit("  \ta/b\n.css ");
        assert_eq!(p.path, "a/b.css ");
        let p = urlsplit("DATA:foo");
        assert_eq!((p.scheme.as_str(), p.path.as_str()), ("data", "foo"));
        let p = urlsplit("1a:foo");
        assert_eq!((p.scheme.as_str(), p.path.as_str()), ("", "1a:foo"));
        assert_eq!(urlunsplit(&urlsplit("a.css?")), "a.css");
        assert_eq!(urlunsplit(&urlsplit("//host/x?q#f")), "//host/x?q#f");
    }

    #[test]
    fn urldefrag_like_python() {
        assert_eq!(
            urldefrag("font.eot?#iefix"),
            ("font.eot".into(), "iefix".into())
        );
        assert_eq!(urldefrag("a.css#x"), ("a.css".into(), "x".into()));
        assert_eq!(urldefrag("a.css"), ("a.css".into(), "".into()));
        assert_eq!(urldefrag("a;p.css#x"), ("a;p.css".into(), "x".into()));
        assert_eq!(urldefrag("a;#x"), ("a".into(), "x".into()));
        assert_eq!(urldefrag("#foo"), ("".into(), "foo".into()));
    }

    #[test]
    fn unquote_like_python() {
        assert_eq!(unquote("with%20space.png"), "with space.png");
        assert_eq!(unquote("%E2%8A%97.txt"), "⊗.txt");
        assert_eq!(unquote("%e2%8a%97"), "⊗");
        assert_eq!(unquote("%ZZ%4"), "%ZZ%4");
        assert_eq!(unquote("%ff"), "\u{fffd}");
        assert_eq!(unquote("ü%C3%BC"), "üü");
        assert_eq!(unquote("test/%2F.txt"), "test//.txt");
    }

    #[test]
    fn quote_like_python() {
        assert_eq!(quote("a b/⊗?#.txt", "/~!*()'"), "a%20b/%E2%8A%97%3F%23.txt");
    }

    #[test]
    fn posixpath_like_python() {
        assert_eq!(normpath(""), ".");
        assert_eq!(normpath("a/./b/../c"), "a/c");
        assert_eq!(normpath("../a/../../b"), "../../b");
        assert_eq!(normpath("/../a"), "/a");
        assert_eq!(normpath("//a//b/"), "//a/b");
        assert_eq!(normpath("///a"), "/a");
        assert_eq!(normpath("a/.."), ".");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", "/x"), "/x");
        assert_eq!(join("a/", "x"), "a/x");
        assert_eq!(dirname("a/b/c.css"), "a/b");
        assert_eq!(dirname("c.css"), "");
        assert_eq!(dirname("/c.css"), "/");
        assert_eq!(split("test//.txt"), ("test", ".txt"));
        assert_eq!(splitext(".txt"), (".txt", ""));
        assert_eq!(splitext("..a"), ("..a", ""));
        assert_eq!(splitext("a..b"), ("a.", ".b"));
        assert_eq!(splitext("base.css.map"), ("base.css", ".map"));
        assert_eq!(splitext("LICENSE"), ("LICENSE", ""));
        assert_eq!(splitext("a.b/c"), ("a.b/c", ""));
    }

    #[test]
    fn strip_like_python() {
        assert_eq!(strip("\u{1f} a \u{a0}\n"), "a");
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(repr("x.css"), "'x.css'");
        assert_eq!(repr("url('a')"), "\"url('a')\"");
        assert_eq!(repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr("a\tb\u{7f}⊗"), "'a\\tb\\x7f⊗'");
    }

    #[test]
    fn json_like_python() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"\\\n\u{1}\u{7f}ü⊗😀/");
        assert_eq!(s, r#""a\"\\\n\u0001\u007f\u00fc\u2297\ud83d\ude00/""#);
    }
}
