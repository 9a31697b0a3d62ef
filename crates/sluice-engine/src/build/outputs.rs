//! What the build profile wants in the output root for each collected file — its unhashed
//! copy, its Django-named copy (rewritten for `*.css`/`*.js`), and the compressed copies of
//! both.

use sluice_assets::compress::{self, Codecs, Encoding};

use super::compress::encodings;
use crate::record::{Compressed, Key};
use crate::setup::BuildOptions;

/// A named copy of a content: the unhashed original or the hashed copy.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    /// md5 of its bytes.
    pub key: Key,
    pub len: u64,
    /// The hashed copy of a rewritten file (bytes differ from the original's).
    pub rewritten: bool,
    /// The hashed copy (the manifest's value).
    pub hashed: bool,
}

/// What kind of output a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Raw {
        hashed: bool,
    },
    Encoded(Encoding),
    Manifest,
    /// `sluice.json`.
    Record,
}

/// One wanted output file.
#[derive(Debug, Clone)]
pub struct Desired {
    pub path: String,
    /// The identity of its bytes: the copy's md5, or derived from it for compressed copies.
    pub key: Key,
    pub kind: Kind,
    /// Index into the copies it comes from.
    pub copy: usize,
    /// A verbatim copy of a source with this fingerprint (its unhashed copy, and its hashed
    /// copy when Django does not rewrite it).
    pub source: Option<sluice_core::sources::FileMeta>,
}

/// The identity of a compressed copy of the content `key`.
pub fn encoded_key(key: &Key, encoding: Encoding) -> Key {
    Key::derive(&[b"encoded", &key.0, encoding.suffix().as_bytes()])
}

pub fn copies(
    logical: &str,
    original: (Key, u64),
    hashed: Option<(String, Key, u64)>,
    options: &BuildOptions,
) -> Vec<Named> {
    let mut out = Vec::new();
    if !options.keep_only_hashed || hashed.is_none() {
        out.push(Named {
            name: logical.to_string(),
            key: original.0,
            len: original.1,
            rewritten: false,
            hashed: false,
        });
    }
    if let Some((name, key, len)) = hashed {
        let rewritten = key != original.0;
        out.push(Named {
            name,
            key,
            len,
            rewritten,
            hashed: true,
        });
    }
    out
}

/// The outputs of `copies`, given each content's compression decisions (`None` when a
/// decision is missing). `source` is the fingerprint of the source the file is a verbatim
/// copy of, when it is one.
pub fn desired(
    copies: &[Named],
    records: &mut dyn FnMut(&Named) -> Option<Compressed>,
    codecs: &Codecs,
    source: Option<sluice_core::sources::FileMeta>,
) -> Option<Vec<Desired>> {
    let mut out = Vec::new();
    let encodings = encodings(codecs);
    for (i, copy) in copies.iter().enumerate() {
        out.push(Desired {
            path: copy.name.clone(),
            key: copy.key,
            kind: Kind::Raw {
                hashed: copy.hashed,
            },
            copy: i,
            source: source.filter(|_| !copy.rewritten),
        });
        if encodings.is_empty() || !compress::should_compress(&copy.name) || copy.len == 0 {
            continue;
        }
        let record = records(copy)?;
        for &encoding in &encodings {
            if super::compress::get(&record, encoding).is_some() {
                out.push(Desired {
                    path: format!("{}{}", copy.name, encoding.suffix()),
                    key: encoded_key(&copy.key, encoding),
                    kind: Kind::Encoded(encoding),
                    copy: i,
                    source: None,
                });
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_only_hashed_drops_the_original_copy() {
        let options = BuildOptions {
            keep_only_hashed: true,
            ..BuildOptions::default()
        };
        let k = Key::of(b"k");
        let c = copies("a.css", (k, 1), Some(("a.123.css".into(), k, 1)), &options);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].name, "a.123.css");
        let c = copies(
            "a.css",
            (k, 1),
            Some(("a.123.css".into(), Key::of(b"k2"), 1)),
            &BuildOptions::default(),
        );
        assert_eq!(
            c.iter().map(|c| c.rewritten).collect::<Vec<_>>(),
            [false, true]
        );
    }
}
