//! The one content-addressed cache, in `.sluice/cache/`: compile results, bundles (dev,
//! minified, plain), compressed copies — every result a rule computed, so no content is
//! computed twice, whichever command, profile or branch asks for it again.
//!
//! - **Blobs** are named by a [`Key`]: the md5 of their bytes for results
//!   (`cache/ab/<md5>`), the md5 of the original plus the encoding for compressed copies
//!   (`cache/ab/<md5>.br`; `<md5>.br.none` records that Brotli did not pay). A blob reaches the
//!   output root as a copy, never a hard link: an edit made in the output cannot corrupt it.
//! - **Actions** (`cache/actions/ab/<key>`) map what a rule was given — its kind, settings,
//!   sluice's version and the md5 of each input, discovered ones (SCSS partials) included —
//!   to the keys of what it produced: Bazel's constructive traces, which let a result be
//!   found again after the fingerprints of its inputs changed (a branch switch) and which a
//!   shared remote cache can serve.
//!
//! - **Shared** ([`Remote`], `[cache] remote`): a bucket behind the local cache. Compressed
//!   copies are checked by decompressing them (`build/compress.rs`); actions and the blobs
//!   they name are looked up there when the local cache has none ([`Cache::action`],
//!   [`Cache::present`]) and offered to it when recorded ([`Cache::put_action`]). A blob is
//!   checked against the md5 that names it; an action is trusted as its key says (only runs
//!   allowed to write put them). Paths in an action's key and inputs are relative to the
//!   project folder ([`Cache::portable`]), so machines with the project in different
//!   places share them.
//!
//! One prune rule for all of it ([`Cache::prune`]): what no record in `.sluice/` refers to
//! goes once it is older than [`GRACE`], looked for at most once per grace period.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sluice_core::output::write_atomic;

use crate::record::codec::{Reader, Writer};
use crate::record::{BlobRef, Key, Record};

/// How long an unused entry is kept: a pass running at the same time for another output root
/// may have just written it, before its record names it.
pub const GRACE: Duration = Duration::from_secs(3600);

/// What sluice's rules are, as far as cached results go: part of every action key, so a
/// release that changes what a rule produces never serves an older release's result.
pub const RULES_VERSION: &str = concat!("sluice ", env!("CARGO_PKG_VERSION"), " rules 1");

/// A cache shared by machines (a bucket a CI fleet shares, `[cache] remote`), behind the
/// local one. Entries are named `<md5 hex><suffix>`, as the local blobs; what is written
/// there, and when it is given up on (an unreachable store), is the remote's business:
/// these calls never fail a build.
pub trait Remote: Send + Sync + std::fmt::Debug {
    /// The bytes of the entry `name`, when the remote has it.
    fn get(&self, name: &str) -> Option<Vec<u8>>;
    /// Whether the remote has the entry `name` (for empty markers, which are not fetched).
    fn has(&self, name: &str) -> bool;
    /// Offers the entry `name` (first writer wins; kept only by runs allowed to write).
    fn put(&self, name: &str, bytes: &[u8]);
}

/// The suffix of an action's name in a [`Remote`] (`<md5 of its key>.action`).
const ACTION_SUFFIX: &str = ".action";

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// The project folder (`.sluice/`'s parent): what [`Cache::portable`] paths are relative to.
    home: PathBuf,
    remote: Option<std::sync::Arc<dyn Remote>>,
}

impl Cache {
    pub fn new(state_dir: &Path) -> Cache {
        Cache {
            dir: state_dir.join("cache"),
            home: state_dir.parent().unwrap_or(state_dir).to_path_buf(),
            remote: None,
        }
    }

    /// `path` as an action's key and inputs name it: relative to the project folder when it
    /// is inside it (absolute otherwise), so that it means the same file on every machine.
    pub fn portable(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.home) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
            _ => path.to_path_buf(),
        }
    }

    /// The file a [`Cache::portable`] path names on this machine.
    pub fn local(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.home.join(path)
        }
    }

    /// The same cache with `remote` behind it.
    pub fn with_remote(mut self, remote: std::sync::Arc<dyn Remote>) -> Cache {
        self.remote = Some(remote);
        self
    }

    /// The shared cache behind this one, if any.
    pub fn remote(&self) -> Option<&dyn Remote> {
        self.remote.as_deref()
    }

    /// The name of the blob `key` + `suffix` in a [`Remote`].
    pub fn remote_name(key: &Key, suffix: &str) -> String {
        format!("{}{suffix}", key.hex())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob `key` with `suffix` (`""`, `".br"`, …) lives.
    pub fn path(&self, key: &Key, suffix: &str) -> PathBuf {
        let hex = key.hex();
        self.dir.join(&hex[..2]).join(format!("{hex}{suffix}"))
    }

    /// Stores a result by the md5 of its bytes (written once; an existing blob of the right
    /// length is kept).
    pub fn put(&self, bytes: &[u8]) -> io::Result<BlobRef> {
        let key = Key::of(bytes);
        self.put_as(&key, "", bytes)?;
        Ok(BlobRef {
            key,
            len: bytes.len() as u64,
        })
    }

    /// Stores `bytes` under `key` and `suffix`.
    pub fn put_as(&self, key: &Key, suffix: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key, suffix);
        if fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            return Ok(());
        }
        write_atomic(&path, bytes)
    }

    /// The bytes of a result; a blob that lost bytes is not found.
    pub fn read(&self, blob: &BlobRef) -> io::Result<Vec<u8>> {
        let bytes = fs::read(self.path(&blob.key, ""))?;
        if bytes.len() as u64 != blob.len {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "cache entry damaged",
            ));
        }
        Ok(bytes)
    }

    pub fn read_as(&self, key: &Key, suffix: &str) -> io::Result<Vec<u8>> {
        fs::read(self.path(key, suffix))
    }

    /// Whether a result is there with its length.
    pub fn has(&self, blob: &BlobRef) -> bool {
        fs::metadata(self.path(&blob.key, "")).is_ok_and(|m| m.len() == blob.len)
    }

    /// Whether a result is there, fetched from the shared cache when only that has it: kept
    /// only when its bytes have the length and md5 that name it.
    pub fn present(&self, blob: &BlobRef) -> bool {
        if self.has(blob) {
            return true;
        }
        let Some(bytes) = self
            .remote()
            .and_then(|r| r.get(&Cache::remote_name(&blob.key, "")))
        else {
            return false;
        };
        bytes.len() as u64 == blob.len
            && Key::of(&bytes) == blob.key
            && self.put_as(&blob.key, "", &bytes).is_ok()
    }

    /// The length of the blob `key` + `suffix`, when there is one.
    pub fn len_of(&self, key: &Key, suffix: &str) -> Option<u64> {
        fs::metadata(self.path(key, suffix)).ok().map(|m| m.len())
    }

    pub fn exists(&self, key: &Key, suffix: &str) -> bool {
        fs::symlink_metadata(self.path(key, suffix)).is_ok()
    }

    fn action_path(&self, key: &Key) -> PathBuf {
        let hex = key.hex();
        self.dir.join("actions").join(&hex[..2]).join(hex)
    }

    /// What an action recorded, when it ran before (here, or on a machine that shares the
    /// remote cache: then kept here too). Its inputs are not checked (the key covers them:
    /// see [`Cache::find_action`] for actions with discovered inputs); its outputs may still
    /// have to be fetched ([`Cache::present`]).
    pub fn action(&self, key: &Key) -> Option<Action> {
        if let Ok(bytes) = fs::read(self.action_path(key)) {
            return Action::decode(&bytes);
        }
        self.remote_action(key)
    }

    /// The action `key` as the remote has it, kept here when found.
    fn remote_action(&self, key: &Key) -> Option<Action> {
        let bytes = self
            .remote()?
            .get(&Cache::remote_name(key, ACTION_SUFFIX))?;
        let action = Action::decode(&bytes)?;
        // A cache that cannot keep it asks the remote again next time, nothing more.
        let _ = write_atomic(&self.action_path(key), &bytes);
        Some(action)
    }

    /// The action `key` whose discovered inputs (a partial, an imported module) have, now,
    /// the md5 it recorded (`md5_now`: the md5 of a [`Cache::portable`] path's file now).
    ///
    /// Locally an action is rewritten on every run; a remote one is written once (first
    /// writer wins), so a shared entry under `key` alone would stay the first version of
    /// the discovered inputs for ever. Each action is therefore also shared under
    /// [`Action::variant_key`] — `key` and the md5 of each discovered input — which is looked
    /// for with the inputs that the action under `key` names: one more request, and a hit
    /// for every version, unless the edit changed *which* files are read.
    pub fn find_action(
        &self,
        key: &Key,
        md5_now: &(dyn Fn(&Path) -> Option<Key> + Sync),
    ) -> Option<Action> {
        let local = fs::read(self.action_path(key))
            .ok()
            .and_then(|b| Action::decode(&b));
        if let Some(a) = &local
            && a.matches(md5_now)
        {
            return local;
        }
        // An earlier version of the discovered inputs (an edit undone, a branch switched
        // back): kept here under its variant key too.
        if let Some(variant) = local.as_ref().and_then(|a| a.variant_key(key, md5_now))
            && let Some(a) = fs::read(self.action_path(&variant))
                .ok()
                .and_then(|b| Action::decode(&b))
            && a.matches(md5_now)
        {
            return Some(a);
        }
        self.remote()?;
        let named = self.remote_action(key);
        if let Some(a) = &named
            && a.matches(md5_now)
        {
            return named;
        }
        let mut tried = HashSet::new();
        for seen in local.iter().chain(named.iter()) {
            let Some(variant) = seen.variant_key(key, md5_now) else {
                continue;
            };
            if !tried.insert(variant) {
                continue;
            }
            if let Some(a) = self.remote_action(&variant)
                && a.matches(md5_now)
            {
                let _ = write_atomic(&self.action_path(key), &a.encode());
                return Some(a);
            }
        }
        None
    }

    /// Records an action here and offers it with its outputs to the shared cache (which
    /// keeps them only when this run may write), under `key` and, when it has discovered
    /// inputs, under its [`Action::variant_key`]; a machine that finds the action before its outputs
    /// arrived builds them itself.
    pub fn put_action(&self, key: &Key, action: &Action) -> io::Result<()> {
        let encoded = action.encode();
        write_atomic(&self.action_path(key), &encoded)?;
        let recorded = |p: &Path| action.inputs.iter().find(|(q, _)| q == p).map(|(_, k)| *k);
        let variant = action.variant_key(key, &recorded);
        if let Some(variant) = &variant {
            write_atomic(&self.action_path(variant), &encoded)?;
        }
        if let Some(remote) = self.remote() {
            for (_, blob) in &action.outputs {
                if let Ok(bytes) = self.read(blob) {
                    remote.put(&Cache::remote_name(&blob.key, ""), &bytes);
                }
            }
            remote.put(&Cache::remote_name(key, ACTION_SUFFIX), &encoded);
            if let Some(variant) = &variant {
                remote.put(&Cache::remote_name(variant, ACTION_SUFFIX), &encoded);
            }
        }
        Ok(())
    }

    /// Whether pruning is due (last done [`GRACE`] ago or longer, or never); if so, notes
    /// that it is being done now.
    pub fn prune_due(state_dir: &Path) -> bool {
        let stamp = state_dir.join("cache.pruned");
        let recent = fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < GRACE));
        !recent && write_atomic(&stamp, b"").is_ok()
    }

    /// Removes every blob and action no record in `state_dir` refers to (`current` stands for
    /// its own output root's record, which may be newer than its file), once older than
    /// [`GRACE`]; also what earlier versions of sluice kept there. Returns how many files went.
    pub fn prune(&self, state_dir: &Path, current: &Record) -> usize {
        let mut live = HashSet::new();
        current.cache_keys(&mut live);
        let own = Record::file(state_dir, &current.output);
        for entry in fs::read_dir(state_dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let is_record = path.extension().is_some_and(|e| e == "rec");
            if is_record
                && path != own
                && let Some(record) = Record::read(&path)
            {
                // With its log: the keys its last saves added are there.
                record.cache_keys(&mut live);
            }
        }
        let mut removed = remove_legacy(state_dir);
        let keep_action = |path: &Path| {
            fs::read(path)
                .ok()
                .and_then(|b| Action::decode(&b))
                .is_some_and(|a| a.outputs.iter().any(|(_, blob)| live.contains(&blob.key)))
        };
        removed += prune_unused(&self.dir.join("actions"), &keep_action);
        removed += prune_unused(&self.dir, &|path: &Path| {
            if path.starts_with(self.dir.join("actions")) {
                return true; // decided above
            }
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.get(..32)
                .and_then(Key::from_hex)
                .is_some_and(|k| live.contains(&k))
        });
        removed
    }
}

/// What earlier versions of sluice kept in `.sluice/` (one state file per command, three
/// caches), removed once its grace has passed like any unused entry.
fn remove_legacy(state_dir: &Path) -> usize {
    let mut removed = 0;
    for entry in fs::read_dir(state_dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let legacy_state = ["sync-", "build-", "derived-"]
            .iter()
            .any(|p| name.starts_with(p))
            && name.ends_with(".json");
        let legacy_cache = ["compress", "compiled", "bundles"].contains(&name.as_str());
        if legacy_state && old(&entry.path()) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        } else if legacy_cache {
            removed += prune_unused(&entry.path(), &|_| false);
            let _ = fs::remove_dir(entry.path());
        }
    }
    removed
}

fn old(path: &Path) -> bool {
    let now = SystemTime::now();
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age >= GRACE))
}

/// Removes every file under `dir` (at any depth) that `keep` does not want, once it is older
/// than [`GRACE`], then the folders inside it left empty. Returns how many files went.
pub fn prune_unused(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> usize {
    let mut removed = 0;
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                removed += prune_unused(&path, keep);
                // Fails harmlessly when not empty.
                let _ = fs::remove_dir(&path);
            }
            Ok(_) if !keep(&path) && old(&path) && fs::remove_file(&path).is_ok() => {
                removed += 1;
            }
            _ => {}
        }
    }
    removed
}

/// The md5 of an action's input that is recorded, not checked (a bundle member its key
/// covers already).
pub const UNCHECKED: Key = Key([0; 16]);

/// What an action produced, and the inputs (besides those its key names) it read: a result
/// is only taken when each of those still has the md5 recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Action {
    /// Discovered inputs (a partial an SCSS file imported): path and md5.
    pub inputs: Vec<(PathBuf, Key)>,
    /// The results, by role (`"code"`, `"map"`, an output's logical path).
    pub outputs: Vec<(String, BlobRef)>,
}

impl Action {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.buf.extend_from_slice(b"a1");
        w.u64(self.inputs.len() as u64);
        for (p, k) in &self.inputs {
            w.bytes(p.as_os_str().as_encoded_bytes());
            w.digest(k);
        }
        w.u64(self.outputs.len() as u64);
        for (role, blob) in &self.outputs {
            w.str(role);
            w.digest(&blob.key);
            w.u64(blob.len);
        }
        w.buf
    }

    fn decode(bytes: &[u8]) -> Option<Action> {
        let mut r = Reader::new(bytes.strip_prefix(b"a1")?);
        let mut action = Action::default();
        for _ in 0..r.usize().ok()?.min(1 << 16) {
            let p = String::from_utf8(r.bytes().ok()?.to_vec()).ok()?;
            action.inputs.push((PathBuf::from(p), r.digest().ok()?));
        }
        for _ in 0..r.usize().ok()?.min(1 << 16) {
            let role = r.string().ok()?;
            let key = r.digest().ok()?;
            let len = r.u64().ok()?;
            action.outputs.push((role, BlobRef { key, len }));
        }
        r.at_end().then_some(action)
    }

    /// Whether every checked input has, now, the md5 recorded.
    fn matches(&self, md5_now: &(dyn Fn(&Path) -> Option<Key> + Sync)) -> bool {
        self.inputs
            .iter()
            .filter(|(_, k)| *k != UNCHECKED)
            .all(|(p, k)| md5_now(p) == Some(*k))
    }

    /// `key` with the md5 each checked input has in `md5_of` (`None` without checked inputs,
    /// or when one has none): the name of this version of the discovered inputs.
    pub fn variant_key(
        &self,
        key: &Key,
        md5_of: &(dyn Fn(&Path) -> Option<Key> + Sync),
    ) -> Option<Key> {
        let checked: Vec<&PathBuf> = self
            .inputs
            .iter()
            .filter(|(_, k)| *k != UNCHECKED)
            .map(|(p, _)| p)
            .collect();
        if checked.is_empty() {
            return None;
        }
        let mut parts: Vec<Vec<u8>> = vec![b"variant".to_vec(), key.0.to_vec()];
        for p in checked {
            parts.push(p.as_os_str().as_encoded_bytes().to_vec());
            parts.push(md5_of(p)?.0.to_vec());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        Some(Key::derive(&refs))
    }

    pub fn output(&self, role: &str) -> Option<BlobRef> {
        self.outputs
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, b)| *b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, secs: u64) {
        let then = SystemTime::now() - Duration::from_secs(secs);
        filetime::set_file_mtime(path, filetime::FileTime::from_system_time(then)).unwrap();
    }

    #[test]
    fn blobs_are_stored_by_content_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let blob = cache.put(b"body{}").unwrap();
        assert_eq!(blob.key, Key::of(b"body{}"));
        assert_eq!(cache.read(&blob).unwrap(), b"body{}");
        assert!(cache.has(&blob));
        // A damaged entry (another length) is not taken.
        fs::write(cache.path(&blob.key, ""), b"body").unwrap();
        assert!(cache.read(&blob).is_err() && !cache.has(&blob));
    }

    #[test]
    fn actions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let action = Action {
            inputs: vec![("/src/_p.scss".into(), Key::of(b"p"))],
            outputs: vec![(
                "code".into(),
                BlobRef {
                    key: Key::of(b"c"),
                    len: 1,
                },
            )],
        };
        let key = Key::of(b"action");
        cache.put_action(&key, &action).unwrap();
        assert_eq!(cache.action(&key), Some(action));
        assert_eq!(cache.action(&Key::of(b"other")), None);
    }

    #[test]
    fn what_no_record_uses_is_pruned_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path();
        let cache = Cache::new(state_dir);
        let live = cache.put(b"live").unwrap();
        let other = cache.put(b"other root").unwrap();
        let dead = cache.put(b"dead").unwrap();
        let young = cache.put(b"young").unwrap();
        cache.put_as(&live.key, ".br", b"x").unwrap();
        cache.put_as(&dead.key, ".gz.none", b"").unwrap();
        let mut current = Record::new(Path::new("/out"));
        current.contents.insert(live.key, Default::default());
        let mut elsewhere = Record::new(Path::new("/other"));
        elsewhere.contents.insert(other.key, Default::default());
        elsewhere.save(state_dir).unwrap();
        // A key the other root's last save added: it is in that record's log.
        let logged = cache.put(b"logged").unwrap();
        let mut elsewhere = Record::load(state_dir, Path::new("/other"));
        elsewhere.contents.insert(logged.key, Default::default());
        elsewhere.save(state_dir).unwrap();
        assert!(Record::log_file(state_dir, Path::new("/other")).exists());
        for blob in [&live, &other, &dead, &logged] {
            age(&cache.path(&blob.key, ""), 7200);
        }
        age(&cache.path(&live.key, ".br"), 7200);
        age(&cache.path(&dead.key, ".gz.none"), 7200);
        let _ = young;
        assert_eq!(cache.prune(state_dir, &current), 2);
        assert!(cache.has(&live) && cache.exists(&live.key, ".br"));
        assert!(cache.has(&other) && cache.has(&young) && cache.has(&logged));
        assert!(!cache.has(&dead) && !cache.exists(&dead.key, ".gz.none"));
    }

    #[test]
    fn pruning_is_due_at_most_once_per_grace() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Cache::prune_due(dir.path()), "never pruned");
        assert!(!Cache::prune_due(dir.path()), "just pruned");
        age(&dir.path().join("cache.pruned"), GRACE.as_secs() + 1);
        assert!(Cache::prune_due(dir.path()));
    }
}
