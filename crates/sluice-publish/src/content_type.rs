//! The `Content-Type` of a published file, by its extension: the web types of whitenoise's
//! own table (`whitenoise.media_types.default_types`, nginx's list with whitenoise's
//! additions) and, for the few web types that table lacks (`csv`, `jsonld`, `otf`, `ttf`,
//! `webmanifest`), Python's `mimetypes`, which whitenoise falls back to: a file served from
//! the bucket has the type whitenoise would have served it with. Case-insensitive, last
//! extension only; anything else (`.map` included, as with whitenoise) is
//! `application/octet-stream`.

/// `(extension, type)`, sorted by extension.
const TYPES: &[(&str, &str)] = &[
    ("atom", "application/atom+xml"),
    ("avif", "image/avif"),
    ("bmp", "image/x-ms-bmp"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("eot", "application/vnd.ms-fontobject"),
    ("gif", "image/gif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/x-icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("jsonld", "application/ld+json"),
    ("m4a", "audio/x-m4a"),
    ("m4v", "video/x-m4v"),
    ("md", "text/markdown"),
    ("mjs", "text/javascript"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("ogg", "audio/ogg"),
    ("otf", "font/otf"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("rss", "application/rss+xml"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain"),
    ("wasm", "application/wasm"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("woff", "application/font-woff"),
    ("woff2", "font/woff2"),
    ("xml", "text/xml"),
    ("zip", "application/zip"),
];

pub const DEFAULT: &str = "application/octet-stream";

/// The type of `name` (a key or a file name).
pub fn content_type(name: &str) -> &'static str {
    let file = name.rsplit('/').next().unwrap_or(name);
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return DEFAULT;
    };
    if stem.is_empty() {
        return DEFAULT; // `.htaccess`: a name, not an extension
    }
    let ext = ext.to_ascii_lowercase();
    TYPES
        .binary_search_by(|(e, _)| (*e).cmp(ext.as_str()))
        .map_or(DEFAULT, |i| TYPES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_its_search() {
        assert!(TYPES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn types_by_last_extension() {
        assert_eq!(content_type("css/site.0123456789ab.css"), "text/css");
        assert_eq!(content_type("js/app.JS"), "text/javascript");
        assert_eq!(content_type("fonts/a.woff2"), "font/woff2");
        assert_eq!(content_type("img/logo.svg"), "image/svg+xml");
        assert_eq!(content_type("staticfiles.json"), "application/json");
        assert_eq!(content_type("LICENSE"), DEFAULT);
        assert_eq!(content_type("dir.d/.htaccess"), DEFAULT);
        assert_eq!(content_type("a.unknownext"), DEFAULT);
    }
}
