//! django-pipeline's `variant: "datauri"`: small images (and fonts) under an `embed/` folder
//! are marked while joining (`__EMBED__<path>`) and, after minification, replaced with
//! `data:` URLs (`Compressor.embeddable` and `Compressor.with_data_uri`).
//!
//! As in django-pipeline, a quoted `url("…")` keeps its marker: the replacement pattern
//! wants `url(__EMBED__` with no quote (a minifier that drops quotes makes it match).

use std::sync::OnceLock;

use regex::Regex;
use sluice_core::bundles::PipelineSettings;

/// `(extension, MIME type)`: `MIME_TYPES` of `pipeline/compressors/__init__.py`.
const MIME_TYPES: &[(&str, &str)] = &[
    (".png", "image/png"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".gif", "image/gif"),
    (".tif", "image/tiff"),
    (".tiff", "image/tiff"),
    (".ttf", "font/truetype"),
    (".otf", "font/opentype"),
    (".woff", "font/woff"),
];
const FONT_EXTS: &[&str] = &[".ttf", ".otf", ".woff"];

/// `os.path.splitext(path)[1]`.
fn extension(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stripped = name.trim_start_matches('.');
    match stripped.rfind('.') {
        Some(i) => &stripped[i..],
        None => "",
    }
}

fn mime_type(path: &str) -> Option<&'static str> {
    let ext = extension(path);
    MIME_TYPES.iter().find(|(e, _)| *e == ext).map(|(_, m)| *m)
}

/// The base64 length of `len` bytes.
fn encoded_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// `Compressor.embeddable(path, variant)` for a datauri bundle; `len` is the file's size
/// when it exists in the collected files.
pub fn embeddable(
    path: &str,
    len: Option<usize>,
    embed_path: &Regex,
    settings: &PipelineSettings,
) -> bool {
    let Some(len) = len else { return false };
    if !embed_path.is_match(path) {
        return false;
    }
    let ext = extension(path);
    if mime_type(path).is_none() {
        return false;
    }
    FONT_EXTS.contains(&ext) || encoded_len(len) < settings.embed_max_image_size
}

/// `Compressor.with_data_uri`: every `url(__EMBED__path)` becomes a `data:` URL; `read`
/// gives the bytes of a collected file.
pub fn with_data_uri(css: &str, read: &mut dyn FnMut(&str) -> Option<Vec<u8>>) -> String {
    static REPLACER: OnceLock<Regex> = OnceLock::new();
    let re = REPLACER
        .get_or_init(|| Regex::new(r"url\(__EMBED__(.+?)(\?\d+)?\)").expect("a valid pattern"));
    re.replace_all(css, |c: &regex::Captures| {
        let path = &c[1];
        match (mime_type(path), read(path)) {
            (Some(mime), Some(bytes)) => {
                format!(
                    "url(\"data:{mime};charset=utf-8;base64,{}\")",
                    base64(&bytes)
                )
            }
            _ => c[0].to_string(),
        }
    })
    .into_owned()
}

/// Standard base64 with padding (`base64.b64encode`).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_python() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
    }

    #[test]
    fn what_is_embedded() {
        let s = PipelineSettings::default();
        let re = Regex::new(&s.embed_path).unwrap();
        assert!(embeddable("img/embed/a.png", Some(100), &re, &s));
        assert!(!embeddable("img/embed/a.png", None, &re, &s));
        assert!(!embeddable("img/a.png", Some(100), &re, &s));
        assert!(!embeddable("img/embed/a.svg", Some(100), &re, &s));
        assert!(!embeddable("img/embed/a.woff2", Some(100), &re, &s));
        assert!(!embeddable("img/embed/a.png?v=1", Some(100), &re, &s));
        // 24 523 bytes are 32 700 in base64: not under the limit.
        assert!(!embeddable("img/embed/a.png", Some(24_523), &re, &s));
        assert!(embeddable("img/embed/a.png", Some(24_522), &re, &s));
        assert!(embeddable("embed/f.ttf", Some(10_000_000), &re, &s));
    }

    #[test]
    fn markers_become_data_urls() {
        let mut read = |p: &str| (p == "img/embed/a.png").then(|| b"foo".to_vec());
        assert_eq!(
            with_data_uri("a{b:url(__EMBED__img/embed/a.png?123)}", &mut read),
            "a{b:url(\"data:image/png;charset=utf-8;base64,Zm9v\")}"
        );
        // Quoted: django-pipeline leaves the marker.
        let quoted = "a{b:url(\"__EMBED__img/embed/a.png\")}";
        assert_eq!(with_data_uri(quoted, &mut read), quoted);
    }
}
