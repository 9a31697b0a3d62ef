//! whitenoise 6.12's compression rules (`whitenoise/compress.py`): which files get a `.br`
//! and a `.gz` copy, and the encoder settings it uses.
//!
//! Rules: names ending in one of [`SKIP_COMPRESS_EXTENSIONS`] (case-insensitive) are never
//! compressed; empty files get nothing; Brotli is tried first and a copy is kept only when
//! it is at most 95 % of the original — when Brotli is not effective, gzip is not tried
//! either; gzip is level 9 with mtime 0 and no file name, like Python's
//! `GzipFile(filename="", compresslevel=9, mtime=0)`. The optional `.zst` copy (feature
//! `zstd`, not a whitenoise format) follows the same 95 % rule.

use std::io::Write;
use std::sync::LazyLock;

use regex::Regex;

/// whitenoise's `Compressor.SKIP_COMPRESS_EXTENSIONS`, in its order.
pub const SKIP_COMPRESS_EXTENSIONS: &[&str] = &[
    // Images
    "jpg", "jpeg", "png", "gif", "webp", // Compressed files
    "zip", "gz", "tgz", "bz2", "tbz", "xz", "br", // Flash
    "swf", "flv", // Fonts
    "woff", "woff2", // Video
    "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4", "mpeg", "mpg", "webm", "wmv",
];

/// A compressed encoding and the suffix of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// `.br`, Brotli quality 11, window 22 (Python `brotli.compress` defaults).
    Brotli,
    /// `.gz`, deflate level 9 in a gzip member with mtime 0 and no name.
    Gzip,
    /// `.zst` (not produced by whitenoise).
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Encoding {
    /// The file suffix, with its dot.
    pub fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
            #[cfg(feature = "zstd")]
            Encoding::Zstd => ".zst",
        }
    }

    /// The `Content-Encoding` token.
    pub fn content_encoding(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
            #[cfg(feature = "zstd")]
            Encoding::Zstd => "zstd",
        }
    }
}

/// Which encodings to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codecs {
    /// Produce `.br` (whitenoise does when the `brotli` module is installed).
    pub brotli: bool,
    /// Produce `.gz`.
    pub gzip: bool,
    /// Produce `.zst`, at this level (e.g. 19).
    #[cfg(feature = "zstd")]
    pub zstd: Option<i32>,
}

impl Default for Codecs {
    /// What whitenoise does with `brotli` installed: `.br` and `.gz`.
    fn default() -> Self {
        Self {
            brotli: true,
            gzip: true,
            #[cfg(feature = "zstd")]
            zstd: None,
        }
    }
}

impl Codecs {
    /// No compressed copies.
    pub const NONE: Codecs = Codecs {
        brotli: false,
        gzip: false,
        #[cfg(feature = "zstd")]
        zstd: None,
    };

    /// From encoding names (`gzip`/`gz`, `br`/`brotli`, `zstd`/`zst`); `zstd` only when this
    /// crate was built with the `zstd` feature (level 19).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Codecs, String> {
        let mut codecs = Codecs::NONE;
        for name in names {
            match name {
                "gzip" | "gz" => codecs.gzip = true,
                "br" | "brotli" => codecs.brotli = true,
                #[cfg(feature = "zstd")]
                "zstd" | "zst" => codecs.zstd = Some(19),
                #[cfg(not(feature = "zstd"))]
                "zstd" | "zst" => {
                    return Err("this sluice was built without zstd support \
                                (cargo feature `zstd` of sluice-assets)"
                        .to_string());
                }
                other => {
                    return Err(format!(
                        "unknown compression `{other}`: use gzip, br or zstd"
                    ));
                }
            }
        }
        Ok(codecs)
    }
}

static SKIP_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives: Vec<String> = SKIP_COMPRESS_EXTENSIONS
        .iter()
        .map(|e| regex::escape(e))
        .collect();
    // Python's `$` also matches before a final newline.
    Regex::new(&format!(r"(?i)\.(?:{})\n?\z", alternatives.join("|")))
        .expect("valid skip-extension pattern")
});

/// `Compressor.should_compress(name)`: false for the skipped extensions (any case).
pub fn should_compress(name: &str) -> bool {
    !SKIP_RE.is_match(name)
}

/// `Compressor.is_compressed_effectively`: the original is not empty and the compressed copy
/// is at most 95 % of its size.
pub fn is_effective(original_len: usize, compressed_len: usize) -> bool {
    original_len != 0 && (compressed_len as f64) / (original_len as f64) <= 0.95
}

/// gzip exactly as Python's `GzipFile(filename="", mode="wb", compresslevel=9, mtime=0)`
/// frames it: header `1f 8b 08 00 00000000 02 ff`, raw deflate level 9, CRC-32 and length.
/// (The deflate stream comes from zlib-rs, so its bytes may differ from CPython's zlib.)
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0xff]);
    let mut encoder = flate2::write::DeflateEncoder::new(out, flate2::Compression::new(9));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    let mut out = encoder.finish().unwrap_or_default();
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Brotli with Python `brotli.compress(data)`'s defaults: quality 11, lgwin 22, generic mode.
pub fn brotli(data: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        mode: brotli::enc::backward_references::BrotliEncoderMode::BROTLI_MODE_GENERIC,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(data.len() / 4 + 16);
    let mut input = data;
    // Reading a slice and writing a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut input, &mut out, &params);
    out
}

/// What `data` decompresses to with `encoding` — at most `limit` bytes, `None` when it does
/// not decode (or decodes to more): how a compressed copy from a shared cache is checked
/// against the content it claims to be.
pub fn decompress(encoding: Encoding, data: &[u8], limit: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::with_capacity(limit);
    let cap = limit as u64 + 1;
    match encoding {
        Encoding::Brotli => {
            let reader = brotli::Decompressor::new(data, 4096);
            reader.take(cap).read_to_end(&mut out).ok()?;
        }
        Encoding::Gzip => {
            let reader = flate2::read::GzDecoder::new(data);
            reader.take(cap).read_to_end(&mut out).ok()?;
        }
        #[cfg(feature = "zstd")]
        Encoding::Zstd => {
            out = zstd::bulk::decompress(data, limit).ok()?;
        }
    }
    (out.len() <= limit).then_some(out)
}

/// zstd at `level`.
#[cfg(feature = "zstd")]
pub fn zstd(data: &[u8], level: i32) -> Vec<u8> {
    zstd::bulk::compress(data, level).unwrap_or_default()
}

/// The compressed copies whitenoise keeps for a file `name` with content `bytes`, in the
/// order it writes them (Brotli, then gzip). Empty when the name is skipped, the file is
/// empty, or nothing is effective.
pub fn compress(name: &str, bytes: &[u8], codecs: &Codecs) -> Vec<(Encoding, Vec<u8>)> {
    let mut out = Vec::new();
    if !should_compress(name) || bytes.is_empty() {
        return out;
    }
    if codecs.brotli {
        let compressed = brotli(bytes);
        if !is_effective(bytes.len(), compressed.len()) {
            // "If Brotli compression wasn't effective gzip won't be either."
            return out;
        }
        out.push((Encoding::Brotli, compressed));
    }
    if codecs.gzip {
        let compressed = gzip(bytes);
        if is_effective(bytes.len(), compressed.len()) {
            out.push((Encoding::Gzip, compressed));
        }
    }
    #[cfg(feature = "zstd")]
    if let Some(level) = codecs.zstd {
        let compressed = zstd(bytes, level);
        if is_effective(bytes.len(), compressed.len()) {
            out.push((Encoding::Zstd, compressed));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn skip_list_is_whitenoise_s() {
        for name in [
            "a.jpg", "a.JPEG", "x/y.PnG", "v.mp4", "v.3gpp", "f.woff2", "a.tar.gz", "a.br",
        ] {
            assert!(!should_compress(name), "{name}");
        }
        for name in [
            "a.css",
            "a.js",
            "a.svg",
            "a.map",
            "a.json",
            "f.ttf",
            "f.eot",
            "jpg",
            "a.jpgx",
            "a.png.css",
        ] {
            assert!(should_compress(name), "{name}");
        }
        // Python's `$` matches before a trailing newline.
        assert!(!should_compress("a.png\n"));
    }

    #[test]
    fn ratio_rule() {
        assert!(!is_effective(0, 0));
        assert!(is_effective(100, 95));
        assert!(!is_effective(100, 96));
        assert!(is_effective(20, 19));
    }

    #[test]
    fn gzip_header_matches_python() {
        let gz = gzip(b"hello hello hello hello");
        assert_eq!(&gz[..10], &[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0xff]);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, b"hello hello hello hello");
    }

    #[test]
    fn brotli_roundtrips() {
        let data = b"body { color: red; } body { color: red; } body { color: red; }".repeat(10);
        let br = brotli(&data);
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn whitenoise_decisions() {
        let codecs = Codecs::default();
        let big = b"a".repeat(1000);
        let encodings: Vec<Encoding> = compress("x.css", &big, &codecs)
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        assert_eq!(encodings, [Encoding::Brotli, Encoding::Gzip]);
        assert!(compress("x.css", b"hi", &codecs).is_empty());
        assert!(compress("x.css", b"", &codecs).is_empty());
        assert!(compress("x.png", &big, &codecs).is_empty());
        // Brotli effective (its dictionary knows CSS words), gzip's framing not: only .br.
        let small = b"body { background-color: white; font-family: sans-serif; }\n";
        let encodings: Vec<Encoding> = compress("s.css", small, &codecs)
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        assert_eq!(encodings, [Encoding::Brotli]);
        // Without brotli, gzip alone decides.
        let gzip_only = Codecs {
            brotli: false,
            ..Codecs::default()
        };
        let encodings: Vec<Encoding> = compress("x.js", &big, &gzip_only)
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        assert_eq!(encodings, [Encoding::Gzip]);
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_follows_the_same_rules() {
        let codecs = Codecs {
            zstd: Some(19),
            ..Codecs::default()
        };
        let big = b"a".repeat(1000);
        let out = compress("x.css", &big, &codecs);
        let (encoding, data) = out.last().unwrap();
        assert_eq!(*encoding, Encoding::Zstd);
        assert_eq!(zstd::bulk::decompress(data, 1000).unwrap(), big);
        assert!(compress("x.png", &big, &codecs).is_empty());
    }

    #[test]
    fn copies_decompress_to_their_original_and_garbage_does_not() {
        let text = b"body { color: red }\n".repeat(100);
        for (encoding, data) in [
            (Encoding::Brotli, brotli(&text)),
            (Encoding::Gzip, gzip(&text)),
        ] {
            assert_eq!(
                decompress(encoding, &data, text.len()).as_deref(),
                Some(&text[..])
            );
            assert_eq!(
                decompress(encoding, &data, text.len() - 1),
                None,
                "over the limit"
            );
            assert_eq!(decompress(encoding, b"not compressed at all", 1000), None);
        }
    }
}
