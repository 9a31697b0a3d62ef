//! What a publish does, decided from facts alone: which local file is which kind (hashed,
//! plain, a compressed copy, the manifest), the headers each object gets, whether an object
//! is uploaded or skipped, and which objects an earlier publish left that may go. Pure: the
//! I/O of [`crate::publish`] gathers the facts and carries the steps out.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::content_type::content_type;
use crate::index::Index;

/// The name of Django's manifest, uploaded after every file it names.
pub const MANIFEST: &str = "staticfiles.json";

/// sluice's own record of the build (`sluice.json`: hashed names and integrity for its
/// Django app), which names hashed files like the manifest does and so goes up with it.
pub const APP_RECORD: &str = "sluice.json";

/// `Cache-Control` of hashed names: their content is in their name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The compressed copies a build writes beside a file, and the `Content-Encoding` of each.
pub const ENCODINGS: [(&str, &str); 3] = [(".br", "br"), (".gz", "gzip"), (".zst", "zstd")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A name from `staticfiles.json`'s values (or a compressed copy of one): its content
    /// is in its name, so an object of that name is never uploaded again.
    Hashed,
    /// Any other file: compared by content.
    Plain,
    /// `staticfiles.json` (and `sluice.json`): last, once everything they name is there.
    Manifest,
}

/// One file of the build output, as it will be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key under the destination's prefix: the file's path in the output root.
    pub key: String,
    pub role: Role,
    /// For a compressed copy (`x.css.br` beside `x.css`): its `Content-Encoding`.
    pub encoding: Option<&'static str>,
    /// With `serve_compressed`: the compressed copy whose bytes are uploaded under this
    /// file's own key (with that copy's encoding), for CDNs that cannot choose by
    /// `Accept-Encoding`.
    pub body_from: Option<String>,
}

/// The headers of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub content_type: &'static str,
    pub cache_control: String,
    pub content_encoding: Option<&'static str>,
}

/// Sorts the files of an output root (paths relative to it, `/`-separated) into entries:
/// `manifest` is `staticfiles.json`'s `paths` when the build hashed names. A `.br`/`.gz`/`.zst`
/// file is a compressed copy only when the file it compresses is there too (a shipped
/// `archive.gz` is a file like any other). `serve_compressed` (`"gzip"` or `"br"`) makes every
/// file that has that copy take the copy's bytes.
pub fn entries(
    files: &[String],
    manifest: Option<&BTreeMap<String, String>>,
    serve_compressed: Option<&str>,
) -> Vec<Entry> {
    let present: HashSet<&str> = files.iter().map(String::as_str).collect();
    let hashed: HashSet<&str> = manifest
        .map(|m| m.values().map(String::as_str).collect())
        .unwrap_or_default();
    let suffix_of = |encoding: &str| {
        ENCODINGS
            .iter()
            .find(|(_, e)| *e == encoding)
            .map(|(s, _)| *s)
    };
    let serve_suffix = serve_compressed.and_then(suffix_of);
    let mut out: Vec<Entry> = files
        .iter()
        .map(|key| {
            let (original, encoding) = match compressed_copy(key) {
                Some((original, encoding)) if present.contains(original) => {
                    (original, Some(encoding))
                }
                _ => (key.as_str(), None),
            };
            let role = if key == MANIFEST || key == APP_RECORD {
                Role::Manifest
            } else if hashed.contains(original) {
                Role::Hashed
            } else {
                Role::Plain
            };
            let body_from = match (encoding, serve_suffix, role) {
                (None, Some(suffix), Role::Hashed | Role::Plain) => {
                    let copy = format!("{key}{suffix}");
                    present.contains(copy.as_str()).then_some(copy)
                }
                _ => None,
            };
            Entry {
                key: key.clone(),
                role,
                encoding,
                body_from,
            }
        })
        .collect();
    // Hashed names first (nothing served refers to them yet), then the plain ones, the
    // manifest last; by key within each.
    out.sort_by(|a, b| rank(a.role).cmp(&rank(b.role)).then(a.key.cmp(&b.key)));
    out
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Hashed => 0,
        Role::Plain => 1,
        Role::Manifest => 2,
    }
}

/// `x.css.br` → (`x.css`, `br`).
fn compressed_copy(key: &str) -> Option<(&str, &'static str)> {
    ENCODINGS.iter().find_map(|(suffix, encoding)| {
        key.strip_suffix(suffix)
            .filter(|o| !o.is_empty() && !o.ends_with('/'))
            .map(|o| (o, *encoding))
    })
}

/// The headers of `entry`'s object: the type of the file it is (a compressed copy has its
/// original's type and its own encoding), immutable caching for hashed names, `max_age`
/// seconds for the others.
pub fn headers(entry: &Entry, max_age: u64) -> Headers {
    let original = match entry.encoding {
        Some(_) => compressed_copy(&entry.key).map_or(entry.key.as_str(), |(o, _)| o),
        None => entry.key.as_str(),
    };
    let content_encoding = entry.encoding.or_else(|| {
        entry
            .body_from
            .as_deref()
            .and_then(compressed_copy)
            .map(|(_, e)| e)
    });
    Headers {
        content_type: content_type(original),
        cache_control: match entry.role {
            Role::Hashed => IMMUTABLE.to_string(),
            Role::Plain | Role::Manifest => format!("public, max-age={max_age}"),
        },
        content_encoding,
    }
}

/// An object of the destination's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub size: u64,
    pub etag: Option<String>,
}

/// What is known of the object at a key before anything is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    Absent,
    /// There, with the md5 of its bytes when sluice can tell (the publish index, else the
    /// object's own metadata).
    Present {
        md5: Option<String>,
    },
}

/// The md5 of the object at `key` as the publish index has it — only while the object is
/// the one the index saw (same size and ETag: the ETag names a version of an object here,
/// it is never taken for a content hash, which multipart uploads break).
pub fn indexed_md5<'a>(key: &str, listed: &Listed, index: &'a Index) -> Option<&'a str> {
    let entry = index.objects.get(key)?;
    let same = entry.size == listed.size
        && listed.etag.is_some()
        && entry.etag.as_deref() == listed.etag.as_deref();
    same.then_some(entry.md5.as_str())
}

/// Whether an object must be fetched for its metadata before it can be decided: a plain
/// one that the index does not vouch for.
pub fn needs_metadata(entry: &Entry, listed: Option<&Listed>, index: &Index) -> bool {
    match (entry.role, listed) {
        (Role::Hashed, _) | (_, None) => false,
        (_, Some(l)) => indexed_md5(&entry.key, l, index).is_none(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Already there: a hashed name (not read at all), or the same bytes.
    Skip,
    Upload(Why),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    New,
    Changed,
    /// There, but with no content hash sluice could read (uploaded by another tool).
    Unknown,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::New => "new",
            Why::Changed => "changed",
            Why::Unknown => "unverified",
        }
    }
}

/// Upload or skip: `local_md5` is the md5 of the bytes this entry would upload (only
/// needed for what is not hashed).
pub fn decide(role: Role, remote: &Remote, local_md5: Option<&str>) -> Step {
    match (role, remote) {
        (_, Remote::Absent) => Step::Upload(Why::New),
        (Role::Hashed, Remote::Present { .. }) => Step::Skip,
        (_, Remote::Present { md5: None }) => Step::Upload(Why::Unknown),
        (_, Remote::Present { md5: Some(m) }) if Some(m.as_str()) == local_md5 => Step::Skip,
        (_, Remote::Present { .. }) => Step::Upload(Why::Changed),
    }
}

/// The objects to delete once the new manifest is up: those an earlier publish uploaded
/// (the index has them; sluice never deletes what it did not put there) that this publish
/// does not have — except hashed ones that one of the `kept` earlier deploys still names
/// (pages rendered with an older manifest go on working while they are cached).
pub fn deletions(
    listing: &HashMap<String, Listed>,
    index: &Index,
    current: &HashSet<&str>,
    kept: &[&crate::index::Deploy],
) -> Vec<String> {
    let mut still_named: HashSet<&str> = HashSet::new();
    for deploy in kept {
        still_named.extend(deploy.hashed.iter().map(String::as_str));
    }
    let mut out: Vec<String> = listing
        .keys()
        .filter(|key| index.objects.contains_key(key.as_str()))
        .filter(|key| !current.contains(key.as_str()))
        .filter(|key| !still_named.contains(key.as_str()))
        .cloned()
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{Deploy, Indexed};

    fn files(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn manifest(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn entries_are_sorted_hashed_plain_manifest_last() {
        let m = manifest(&[("css/a.css", "css/a.0123456789ab.css")]);
        let e = entries(
            &files(&[
                "staticfiles.json",
                "css/a.css",
                "css/a.css.br",
                "css/a.0123456789ab.css",
                "css/a.0123456789ab.css.gz",
                "dl/archive.gz",
            ]),
            Some(&m),
            None,
        );
        let order: Vec<(&str, Role, Option<&str>)> = e
            .iter()
            .map(|e| (e.key.as_str(), e.role, e.encoding))
            .collect();
        assert_eq!(
            order,
            [
                ("css/a.0123456789ab.css", Role::Hashed, None),
                ("css/a.0123456789ab.css.gz", Role::Hashed, Some("gzip")),
                ("css/a.css", Role::Plain, None),
                ("css/a.css.br", Role::Plain, Some("br")),
                // No `dl/archive` beside it: a file, not a compressed copy.
                ("dl/archive.gz", Role::Plain, None),
                ("staticfiles.json", Role::Manifest, None),
            ]
        );
    }

    #[test]
    fn headers_by_kind() {
        let m = manifest(&[("js/app.js", "js/app.0123456789ab.js")]);
        let e = entries(
            &files(&[
                "js/app.js",
                "js/app.0123456789ab.js",
                "js/app.0123456789ab.js.br",
            ]),
            Some(&m),
            None,
        );
        let h: Vec<Headers> = e.iter().map(|e| headers(e, 60)).collect();
        assert_eq!(h[0].cache_control, IMMUTABLE);
        assert_eq!(h[0].content_type, "text/javascript");
        assert_eq!(h[0].content_encoding, None);
        assert_eq!(h[1].content_type, "text/javascript", "the original's type");
        assert_eq!(h[1].content_encoding, Some("br"));
        assert_eq!(h[1].cache_control, IMMUTABLE);
        assert_eq!(h[2].cache_control, "public, max-age=60");
    }

    #[test]
    fn serve_compressed_gives_the_original_key_the_copys_bytes() {
        let e = entries(&files(&["a.css", "a.css.gz", "b.png"]), None, Some("gzip"));
        assert_eq!(e[0].body_from.as_deref(), Some("a.css.gz"));
        assert_eq!(headers(&e[0], 60).content_encoding, Some("gzip"));
        assert_eq!(headers(&e[0], 60).content_type, "text/css");
        assert_eq!(e[1].body_from, None, "a copy is uploaded as itself");
        assert_eq!(e[2].body_from, None, "no copy: its own bytes");
    }

    #[test]
    fn hashed_names_are_skipped_unread_others_compared_by_md5() {
        let present = |m: Option<&str>| Remote::Present {
            md5: m.map(str::to_string),
        };
        assert_eq!(decide(Role::Hashed, &present(None), None), Step::Skip);
        assert_eq!(
            decide(Role::Hashed, &Remote::Absent, None),
            Step::Upload(Why::New)
        );
        assert_eq!(
            decide(Role::Plain, &present(Some("x")), Some("x")),
            Step::Skip
        );
        assert_eq!(
            decide(Role::Plain, &present(Some("x")), Some("y")),
            Step::Upload(Why::Changed)
        );
        assert_eq!(
            decide(Role::Manifest, &present(None), Some("y")),
            Step::Upload(Why::Unknown)
        );
    }

    #[test]
    fn the_index_vouches_only_for_the_object_it_saw() {
        let mut index = Index::default();
        index.objects.insert(
            "a.css".into(),
            Indexed {
                md5: "m".into(),
                etag: Some("e1".into()),
                size: 3,
                hashed: false,
            },
        );
        let listed = |size, etag: &str| Listed {
            size,
            etag: Some(etag.into()),
        };
        assert_eq!(indexed_md5("a.css", &listed(3, "e1"), &index), Some("m"));
        assert_eq!(indexed_md5("a.css", &listed(3, "e2"), &index), None);
        assert_eq!(indexed_md5("a.css", &listed(4, "e1"), &index), None);
        assert_eq!(indexed_md5("b.css", &listed(3, "e1"), &index), None);
    }

    #[test]
    fn only_own_objects_no_deploy_kept_names_are_deleted() {
        let mut index = Index::default();
        for key in [
            "old.css",
            "a.111111111111.css",
            "a.222222222222.css",
            "a.css",
        ] {
            index.objects.insert(key.into(), Indexed::default());
        }
        let listing: HashMap<String, Listed> = [
            "old.css",
            "a.111111111111.css",
            "a.222222222222.css",
            "a.333333333333.css",
            "a.css",
            "foreign.txt",
        ]
        .iter()
        .map(|k| {
            (
                k.to_string(),
                Listed {
                    size: 1,
                    etag: None,
                },
            )
        })
        .collect();
        let current: HashSet<&str> = ["a.333333333333.css", "a.css"].into_iter().collect();
        let previous = Deploy {
            manifest: "p".into(),
            hashed: vec!["a.222222222222.css".into()],
        };
        assert_eq!(
            deletions(&listing, &index, &current, &[&previous]),
            ["a.111111111111.css", "old.css"]
        );
    }
}
