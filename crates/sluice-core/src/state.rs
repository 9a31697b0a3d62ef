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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncState {
    version: u32,
    /// The output root the entries describe.
    pub output: PathBuf,
    /// Logical path → what was written there.
    pub entries: BTreeMap<String, Entry>,
    /// Output folder (relative, `/`-separated, `""` for the root) → its mtime when the state was
    /// saved. A folder whose mtime is unchanged (and older than the state file, so no change can
    /// hide in the same clock tick) has had no file added, removed or renamed since.
    #[serde(default)]
    pub dirs: BTreeMap<String, i64>,
    /// The state file's own mtime when it was loaded (not stored).
    #[serde(skip)]
    pub loaded_mtime_ns: Option<i64>,
}

impl SyncState {
    pub fn new(output: &Path) -> SyncState {
        SyncState {
            version: VERSION,
            output: output.to_path_buf(),
            entries: BTreeMap::new(),
            dirs: BTreeMap::new(),
            loaded_mtime_ns: None,
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
        let mtime = std::fs::metadata(&path)
            .ok()
            .map(|m| FileMeta::of(&m).mtime_ns);
        std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<SyncState>(&bytes).ok())
            .filter(|state| state.version == VERSION && state.output == output)
            .map(|state| SyncState {
                loaded_mtime_ns: mtime,
                ..state
            })
            .unwrap_or_else(|| SyncState::new(output))
    }

    /// Output folders whose contents cannot have changed since the state was saved.
    pub fn untouched_dirs(&self) -> std::collections::HashSet<&str> {
        untouched_folders(&self.output, &self.dirs, self.loaded_mtime_ns)
    }

    /// Saves the state, with the current mtime of every output folder that holds an entry.
    pub fn save(&mut self, state_dir: &Path) -> Result<()> {
        let path = SyncState::file(state_dir, &self.output);
        self.dirs = folder_mtimes(&self.output, self.entries.keys().map(String::as_str));
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

/// The mtime of every output folder that holds one of `paths` (logical, `/`-separated), to
/// store beside the state (see [`untouched_folders`]).
pub fn folder_mtimes<'a>(
    output: &Path,
    paths: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, i64> {
    let dirs: std::collections::BTreeSet<&str> = paths.map(parent_dir).collect();
    dirs.into_iter()
        .filter_map(|dir| {
            let meta = std::fs::metadata(output.join(dir)).ok()?;
            Some((dir.to_owned(), FileMeta::of(&meta).mtime_ns))
        })
        .collect()
}

/// Output folders whose contents cannot have changed since a state saved at `saved` (its
/// file's mtime) recorded their mtimes as `dirs`: the folder's mtime is the recorded one,
/// and older than the state file, so no change can hide in the same clock tick. In such a
/// folder no file was added, removed or renamed (an in-place edit is not seen: sluice
/// replaces files by rename, editors and tools mostly do too).
pub fn untouched_folders<'a>(
    output: &Path,
    dirs: &'a BTreeMap<String, i64>,
    saved: Option<i64>,
) -> std::collections::HashSet<&'a str> {
    let Some(saved) = saved else {
        return Default::default();
    };
    dirs.iter()
        .filter(|&(dir, &mtime)| {
            mtime < saved
                && std::fs::metadata(output.join(dir))
                    .is_ok_and(|m| m.is_dir() && FileMeta::of(&m).mtime_ns == mtime)
        })
        .map(|(dir, _)| dir.as_str())
        .collect()
}

/// The folder part of a logical path (`""` at the top).
pub fn parent_dir(logical: &str) -> &str {
    logical.rsplit_once('/').map_or("", |(dir, _)| dir)
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
        let loaded = SyncState::load(dir.path(), Path::new("/srv/static"));
        assert_eq!(loaded.entries, state.entries);
        assert!(
            SyncState::load(dir.path(), Path::new("/srv/other"))
                .entries
                .is_empty()
        );
    }
}
