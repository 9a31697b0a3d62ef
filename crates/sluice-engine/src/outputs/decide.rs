//! The pure core of every output decision, the same in every profile: given what a pass wants
//! at one path, what the record says sluice wrote there, and what is there now (`lstat`),
//! what to do. Nothing in the output that the record does not name is overwritten, unless
//! forced or it has the very bytes wanted (then it is adopted: switching from
//! `collectstatic` is painless).

use sluice_core::sources::FileMeta;

use crate::record::{Key, OutEntry};

/// What one output path should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// The identity of the wanted bytes, when known.
    pub key: Option<Key>,
    /// A verbatim copy of (or, with `link`, a symlink to) the source with this fingerprint.
    pub source: Option<FileMeta>,
    pub link: bool,
}

/// What is at an output path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub meta: FileMeta,
    pub kind: FileKind,
    /// A folder that holds outputs sluice recorded: they go before new outputs move in, so a
    /// file may take the folder's place.
    pub ours_inside: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Symlink,
    Other,
}

impl Current {
    /// What `lstat` says of `path`, `None` when nothing is there.
    pub fn of(path: &std::path::Path) -> Option<Current> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        let t = meta.file_type();
        Some(Current {
            meta: FileMeta::of(&meta),
            kind: if t.is_file() {
                FileKind::File
            } else if t.is_symlink() {
                FileKind::Symlink
            } else {
                FileKind::Other
            },
            ours_inside: false,
        })
    }

    /// What an output is known to be without looking (its folder is untouched since the
    /// record was saved).
    pub fn recorded(entry: &OutEntry) -> Current {
        Current {
            meta: entry.meta,
            kind: if entry.link {
                FileKind::Symlink
            } else {
                FileKind::File
            },
            ours_inside: false,
        }
    }
}

/// What to do about one output path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It is what sluice wrote, with the wanted bytes.
    Keep,
    /// Sluice's and intact, but whether its bytes are the wanted ones is unknown (its source
    /// was touched): compare, write only if they differ.
    Refresh,
    /// Missing, or sluice's with other bytes: write it.
    Write,
    /// Not sluice's (or changed since): take it over if its bytes are the wanted ones, else it
    /// is a conflict.
    AdoptIfIdentical,
    /// Not sluice's, and cannot be the wanted file (a folder, a link where a copy goes…).
    Conflict,
}

/// Whether the record's entry still describes what is at the path (sluice wrote it and
/// nobody changed it since).
pub fn intact(entry: &OutEntry, current: &Current) -> bool {
    entry.meta == current.meta
        && match current.kind {
            FileKind::File => !entry.link,
            FileKind::Symlink => entry.link,
            FileKind::Other => false,
        }
}

pub fn decide(
    want: &Want,
    recorded: Option<&OutEntry>,
    current: Option<&Current>,
    force: bool,
) -> Action {
    let Some(current) = current else {
        return Action::Write;
    };
    match recorded.filter(|e| intact(e, current)) {
        Some(entry) if entry.link != want.link => Action::Write,
        // A link follows its source by itself; only the record needs refreshing.
        Some(_) if want.link => Action::Keep,
        Some(entry) => match (want.key, entry.key) {
            (Some(a), Some(b)) if a == b => Action::Keep,
            _ if want.source.is_some() && entry.source == want.source => Action::Keep,
            (Some(_), Some(_)) => Action::Write,
            _ => Action::Refresh,
        },
        None if force || current.ours_inside => Action::Write,
        None if current.kind == FileKind::Other => Action::Conflict,
        None if (current.kind == FileKind::Symlink) != want.link => Action::Conflict,
        None => Action::AdoptIfIdentical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::OutKind;

    const SRC: FileMeta = FileMeta {
        len: 1,
        mtime_ns: 10,
        ino: 7,
    };
    const SRC2: FileMeta = FileMeta {
        len: 2,
        mtime_ns: 20,
        ino: 7,
    };
    const OUT: FileMeta = FileMeta {
        len: 1,
        mtime_ns: 11,
        ino: 9,
    };

    fn file(meta: FileMeta) -> Option<Current> {
        Some(Current {
            meta,
            kind: FileKind::File,
            ours_inside: false,
        })
    }

    fn copy_of(source: FileMeta) -> Want {
        Want {
            key: None,
            source: Some(source),
            link: false,
        }
    }

    #[test]
    fn copies() {
        let entry = OutEntry {
            meta: OUT,
            link: false,
            source: Some(SRC),
            key: None,
            kind: OutKind::Dev,
        };
        let c = copy_of(SRC);
        assert_eq!(decide(&c, None, None, false), Action::Write);
        assert_eq!(decide(&c, Some(&entry), None, false), Action::Write);
        assert_eq!(
            decide(&c, Some(&entry), file(OUT).as_ref(), false),
            Action::Keep
        );
        // The source was touched: compare bytes before writing.
        assert_eq!(
            decide(&copy_of(SRC2), Some(&entry), file(OUT).as_ref(), false),
            Action::Refresh
        );
        // Changed behind sluice's back, or never sluice's.
        assert_eq!(
            decide(&c, Some(&entry), file(SRC2).as_ref(), false),
            Action::AdoptIfIdentical
        );
        assert_eq!(
            decide(&c, None, file(OUT).as_ref(), false),
            Action::AdoptIfIdentical
        );
        assert_eq!(decide(&c, None, file(OUT).as_ref(), true), Action::Write);
        let link = Some(Current {
            meta: OUT,
            kind: FileKind::Symlink,
            ours_inside: false,
        });
        assert_eq!(decide(&c, None, link.as_ref(), false), Action::Conflict);
    }

    #[test]
    fn keys_decide_across_profiles() {
        // `sync` copied it without reading (no key); `build` knows its md5 and its source.
        let copied = OutEntry {
            meta: OUT,
            link: false,
            source: Some(SRC),
            key: None,
            kind: OutKind::Dev,
        };
        let build = Want {
            key: Some(Key::of(b"a")),
            source: Some(SRC),
            link: false,
        };
        assert_eq!(
            decide(&build, Some(&copied), file(OUT).as_ref(), false),
            Action::Keep
        );
        // A minified bundle where the dev bundle is: other bytes, written over (it is ours).
        let dev_bundle = OutEntry {
            meta: OUT,
            link: false,
            source: None,
            key: Some(Key::of(b"dev")),
            kind: OutKind::Dev,
        };
        let minified = Want {
            key: Some(Key::of(b"min")),
            source: None,
            link: false,
        };
        assert_eq!(
            decide(&minified, Some(&dev_bundle), file(OUT).as_ref(), false),
            Action::Write
        );
        let same = Want {
            key: Some(Key::of(b"dev")),
            ..minified
        };
        assert_eq!(
            decide(&same, Some(&dev_bundle), file(OUT).as_ref(), false),
            Action::Keep
        );
        // Taken back after a crash: ours, bytes unknown.
        let unknown = OutEntry {
            key: None,
            source: None,
            ..dev_bundle
        };
        assert_eq!(
            decide(&minified, Some(&unknown), file(OUT).as_ref(), false),
            Action::Refresh
        );
    }

    #[test]
    fn links_and_folders() {
        let copy = OutEntry {
            meta: OUT,
            link: false,
            source: Some(SRC),
            key: None,
            kind: OutKind::Dev,
        };
        let link = Want {
            link: true,
            ..copy_of(SRC)
        };
        assert_eq!(
            decide(&link, Some(&copy), file(OUT).as_ref(), false),
            Action::Write
        );
        let linked = OutEntry { link: true, ..copy };
        let now = Current {
            meta: OUT,
            kind: FileKind::Symlink,
            ours_inside: false,
        };
        assert_eq!(
            decide(
                &Want {
                    source: Some(SRC2),
                    ..link
                },
                Some(&linked),
                Some(&now),
                false
            ),
            Action::Keep
        );
        let folder = Current {
            meta: OUT,
            kind: FileKind::Other,
            ours_inside: false,
        };
        assert_eq!(
            decide(&copy_of(SRC), None, Some(&folder), false),
            Action::Conflict
        );
        let ours = Current {
            ours_inside: true,
            ..folder
        };
        assert_eq!(
            decide(&copy_of(SRC), None, Some(&ours), false),
            Action::Write
        );
    }
}
