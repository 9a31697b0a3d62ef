//! What sluice wrote into an output root, and from which inputs.
//!
//! The state lives in `.sluice/` beside the configuration (never in the output), one file per
//! output root. It is how a restart redoes only what changed, and how sluice knows which files in
//! the output are its own: a file it has no record of is never deleted or overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::sources::FileMeta;

const VERSION: u32 = 1;

/// One output file sluice wrote: the source's and the output's fingerprints at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "EntryRepr", into = "EntryRepr")]
pub struct Entry {
    pub source: FileMeta,
    /// `lstat` of the output right after writing it (the link itself for `--link`).
    pub output: FileMeta,
    pub link: bool,
}

/// A flat tuple keeps the state file small and quick to parse at 100 000 entries.
#[derive(Serialize, Deserialize)]
struct EntryRepr(u64, i64, u64, u64, i64, u64, bool);

impl From<EntryRepr> for Entry {
    fn from(r: EntryRepr) -> Entry {
        Entry {
            source: FileMeta {
                len: r.0,
                mtime_ns: r.1,
                ino: r.2,
            },
            output: FileMeta {
                len: r.3,
                mtime_ns: r.4,
                ino: r.5,
            },
            link: r.6,
        }
    }
}

impl From<Entry> for EntryRepr {
    fn from(e: Entry) -> EntryRepr {
        EntryRepr(
            e.source.len,
            e.source.mtime_ns,
            e.source.ino,
            e.output.len,
            e.output.mtime_ns,
            e.output.ino,
            e.link,
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    version: u32,
    /// The output root the entries describe.
    pub output: PathBuf,
    /// Logical path → what was written there.
    pub entries: BTreeMap<String, Entry>,
}

impl SyncState {
    pub fn new(output: &Path) -> SyncState {
        SyncState {
            version: VERSION,
            output: output.to_path_buf(),
            entries: BTreeMap::new(),
        }
    }

    /// The state file for `output` inside `state_dir`.
    pub fn file(state_dir: &Path, output: &Path) -> PathBuf {
        let key = xxhash_rust::xxh3::xxh3_64(output.as_os_str().as_encoded_bytes());
        state_dir.join(format!("sync-{key:016x}.json"))
    }

    /// Loads the state for `output`; a missing, unreadable or foreign state file means "nothing
    /// written yet", which is always safe: sluice then treats existing output files as foreign.
    pub fn load(state_dir: &Path, output: &Path) -> SyncState {
        let path = SyncState::file(state_dir, output);
        std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<SyncState>(&bytes).ok())
            .filter(|state| state.version == VERSION && state.output == output)
            .unwrap_or_else(|| SyncState::new(output))
    }

    pub fn save(&self, state_dir: &Path) -> Result<()> {
        let path = SyncState::file(state_dir, &self.output);
        let bytes = serde_json::to_vec(self).map_err(|e| Error::io("encode", &path, e.into()))?;
        write_atomic(&path, &bytes).map_err(|e| Error::io("write", &path, e))?;
        let gitignore = state_dir.join(".gitignore");
        if !gitignore.exists() {
            write_atomic(&gitignore, b"# Created by sluice: caches and state.\n*\n")
                .map_err(|e| Error::io("write", &gitignore, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = SyncState::new(Path::new("/srv/static"));
        let meta = FileMeta {
            len: 3,
            mtime_ns: 1_700_000_000_123_456_789,
            ino: 42,
        };
        state.entries.insert(
            "css/a.css".into(),
            Entry {
                source: meta,
                output: meta,
                link: false,
            },
        );
        state.save(dir.path()).unwrap();
        assert_eq!(SyncState::load(dir.path(), Path::new("/srv/static")), state);
        assert!(
            SyncState::load(dir.path(), Path::new("/srv/other"))
                .entries
                .is_empty()
        );
    }
}
