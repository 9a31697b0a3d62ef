//! Writing the dev profile's outputs: each source's copy (or link) and each derived output at
//! its logical path, decided by [`crate::outputs::decide`] against the record; outputs the
//! profile no longer wants (a source gone, a bundle undefined, the build profile's hashed and
//! compressed copies) removed when they are as sluice wrote them.
//!
//! A full pass pairs the wanted outputs with the record in one merge walk (both are sorted by
//! path) and trusts, without an `lstat`, the outputs in folders untouched since the record
//! was saved; a change set looks at the paths it touched and the derived outputs that
//! changed, nothing else.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sluice_core::error::{FileError, describe_io, describe_write};
use sluice_core::output::{
    copy_atomic, output_path, remove_and_prune, symlink_atomic, write_atomic,
};
use sluice_core::progress::{Progress, Silent};
use sluice_core::sources::{FileMeta, SourceFile};

use crate::engine::{Bytes, Derived, Engine};
use crate::outputs::decide::{Action, Current, Want, decide, intact};
use crate::outputs::remove::{Removal, remove_recorded};
use crate::record::{OutEntry, OutKind, parent_dir};
use crate::report::{ChangeReport, DeriveReport, OutputConflict, SyncReport};
use crate::setup::Profile;

/// One wanted output.
#[derive(Clone, Copy)]
enum Item<'a> {
    Source(&'a SourceFile),
    Derived(&'a Derived),
}

enum Outcome {
    /// Nothing written; the record's entry (refreshed when needed).
    Kept(OutEntry),
    Written(OutEntry),
    Adopted(OutEntry),
    Conflict,
    Failed(String),
    /// The source was gone when its copy was made (deleted or renamed after the index saw
    /// it): looked up again, not an error.
    Vanished,
}

/// What the counts and lists of one emission go into.
struct Tally<'r> {
    sources: SourceTally<'r>,
    derived: &'r mut DeriveReport,
}

enum SourceTally<'r> {
    Full(&'r mut SyncReport),
    Change(&'r mut ChangeReport),
}

impl Tally<'_> {
    fn copied(&mut self, logical: &str) {
        match &mut self.sources {
            SourceTally::Full(r) => {
                r.copied += 1;
                r.changed.push(logical.to_string());
            }
            SourceTally::Change(r) => {
                r.copied += 1;
                r.changed.push(logical.to_string());
            }
        }
    }

    fn unchanged(&mut self) {
        if let SourceTally::Full(r) = &mut self.sources {
            r.unchanged += 1;
        }
    }

    fn adopted(&mut self) {
        if let SourceTally::Full(r) = &mut self.sources {
            r.adopted += 1;
        }
    }

    fn removed(&mut self, logical: &str) {
        match &mut self.sources {
            SourceTally::Full(r) => {
                r.removed += 1;
                r.changed.push(logical.to_string());
            }
            SourceTally::Change(r) => {
                r.removed += 1;
                r.changed.push(logical.to_string());
            }
        }
    }

    fn kept_modified(&mut self, path: PathBuf) {
        if let SourceTally::Full(r) = &mut self.sources {
            r.kept_modified.push(path);
        }
    }

    fn conflict(&mut self, logical: &str, output: PathBuf) {
        let c = OutputConflict {
            logical: logical.to_string(),
            output,
        };
        match &mut self.sources {
            SourceTally::Full(r) => r.conflicts.push(c),
            SourceTally::Change(r) => r.conflicts.push(c),
        }
    }

    fn error(&mut self, error: FileError) {
        match &mut self.sources {
            SourceTally::Full(r) => r.errors.push(error),
            SourceTally::Change(r) => r.errors.push(error),
        }
    }
}

fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
    let (ma, mb) = (fs::metadata(a)?, fs::metadata(b)?);
    if ma.len() != mb.len() || !mb.is_file() {
        return Ok(false);
    }
    Ok(fs::read(a)? == fs::read(b)?)
}

impl Engine {
    fn link(&self) -> bool {
        matches!(self.profile, Profile::Dev { link: true })
    }

    fn want(&self, item: Item) -> Want {
        match item {
            Item::Source(file) => Want {
                key: None,
                source: Some(file.meta),
                link: self.link(),
            },
            Item::Derived(d) => Want {
                key: Some(d.key),
                source: None,
                link: false,
            },
        }
    }

    fn derived_bytes(&self, d: &Derived) -> io::Result<Vec<u8>> {
        match &d.bytes {
            Bytes::Blob(blob) => self.cache.read(blob),
            Bytes::Commented { code, comment } => {
                let mut bytes = self.cache.read(code)?;
                if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                    bytes.push(b'\n');
                }
                bytes.extend_from_slice(comment.as_bytes());
                Ok(bytes)
            }
        }
    }

    /// Carries out one decision.
    fn carry_out(
        &self,
        logical: &str,
        item: Item,
        action: Action,
        recorded: Option<&OutEntry>,
    ) -> Outcome {
        let dest = output_path(&self.setup.output, logical);
        let link = self.link();
        let lstat = |dest: &Path| fs::symlink_metadata(dest).map(|m| FileMeta::of(&m));
        match item {
            Item::Source(file) => {
                let md5 = self
                    .record
                    .sources
                    .get(logical)
                    .filter(|f| f.meta == file.meta)
                    .and_then(|f| f.md5);
                let entry = |meta: FileMeta| OutEntry {
                    meta,
                    link,
                    source: Some(file.meta),
                    key: md5,
                    kind: OutKind::Dev,
                };
                let write = || {
                    let result = if link {
                        symlink_atomic(&file.path, &dest)
                    } else {
                        copy_atomic(&file.path, &dest)
                    };
                    match result.and_then(|()| lstat(&dest)) {
                        Ok(meta) => Outcome::Written(entry(meta)),
                        Err(e)
                            if e.kind() == io::ErrorKind::NotFound
                                && sluice_core::sources::remote::fingerprint(&file.path)
                                    .is_none() =>
                        {
                            Outcome::Vanished
                        }
                        Err(e) => Outcome::Failed(describe_write(&dest, &e)),
                    }
                };
                let refreshed = |recorded: Option<&OutEntry>| match recorded {
                    Some(e) => Outcome::Kept(OutEntry {
                        source: Some(file.meta),
                        key: md5,
                        kind: OutKind::Dev,
                        ..*e
                    }),
                    None => write(),
                };
                match action {
                    Action::Keep => refreshed(recorded),
                    Action::Write => write(),
                    Action::Refresh => match same_bytes(&file.path, &dest) {
                        Ok(true) => refreshed(recorded),
                        _ => write(),
                    },
                    Action::AdoptIfIdentical => {
                        let identical = if link {
                            fs::read_link(&dest).is_ok_and(|target| target == file.path)
                        } else {
                            same_bytes(&file.path, &dest).unwrap_or(false)
                        };
                        if !identical {
                            return Outcome::Conflict;
                        }
                        match lstat(&dest) {
                            Ok(meta) => Outcome::Adopted(entry(meta)),
                            Err(e) => Outcome::Failed(describe_io(&e)),
                        }
                    }
                    Action::Conflict => Outcome::Conflict,
                }
            }
            Item::Derived(d) => {
                let entry = |meta: FileMeta| OutEntry {
                    meta,
                    link: false,
                    source: None,
                    key: Some(d.key),
                    kind: OutKind::Dev,
                };
                if action == Action::Keep {
                    return match recorded {
                        Some(e) => Outcome::Kept(OutEntry {
                            kind: OutKind::Dev,
                            ..*e
                        }),
                        None => Outcome::Failed("recorded output vanished".into()),
                    };
                }
                if action == Action::Conflict {
                    return Outcome::Conflict;
                }
                let bytes = match self.derived_bytes(d) {
                    Ok(b) => b,
                    Err(e) => return Outcome::Failed(format!("cache: {e}")),
                };
                let identical = || fs::read(&dest).is_ok_and(|now| now == bytes);
                match action {
                    Action::Refresh | Action::AdoptIfIdentical if identical() => {
                        match lstat(&dest) {
                            Ok(meta) if action == Action::Refresh => Outcome::Kept(entry(meta)),
                            Ok(meta) => Outcome::Adopted(entry(meta)),
                            Err(e) => Outcome::Failed(describe_io(&e)),
                        }
                    }
                    Action::AdoptIfIdentical => Outcome::Conflict,
                    _ => match write_atomic(&dest, &bytes).and_then(|()| lstat(&dest)) {
                        Ok(meta) => Outcome::Written(entry(meta)),
                        Err(e) => {
                            Outcome::Failed(format!("{}: {}", dest.display(), describe_io(&e)))
                        }
                    },
                }
            }
        }
    }

    /// Decides, writes and records `items` (sorted by path, paired with their record entries
    /// and whether their folder is untouched). Returns the sources that vanished before their
    /// copy (logical name, source path), for [`Self::settle_vanished`].
    fn apply_items(
        &mut self,
        items: Vec<(&str, Item, Option<OutEntry>, bool)>,
        progress: &dyn Progress,
        tally: &mut Tally,
    ) -> Vec<(String, PathBuf)> {
        let mut vanished = Vec::new();
        let force = self.options.force;
        let output = self.setup.output.clone();
        let planned: Vec<Action> = items
            .par_iter()
            .map(|(logical, item, recorded, trusted)| {
                let want = self.want(*item);
                let path = output_path(&output, logical);
                let current = match recorded {
                    Some(e) if *trusted => Some(Current::recorded(e)),
                    _ => Current::of(&path),
                };
                let action = decide(&want, recorded.as_ref(), current.as_ref(), force);
                // An untouched folder vouches for its listing, not for its files' bytes (an
                // edit in place leaves the folder's mtime alone): what is about to be
                // overwritten is looked at first.
                match action {
                    Action::Write | Action::Refresh if *trusted => {
                        decide(&want, recorded.as_ref(), Current::of(&path).as_ref(), force)
                    }
                    other => other,
                }
            })
            .collect();
        // A compiled output's map is written only where the output could be.
        let conflicted: HashSet<&str> = items
            .iter()
            .zip(&planned)
            .filter(|((_, item, ..), a)| {
                matches!(item, Item::Derived(_)) && **a == Action::Conflict
            })
            .map(|((l, ..), _)| *l)
            .collect();
        let skip = |logical: &str| {
            logical
                .strip_suffix(".map")
                .is_some_and(|o| conflicted.contains(o))
        };
        let writes: Vec<&str> = items
            .iter()
            .zip(&planned)
            .filter(|(_, a)| matches!(a, Action::Write | Action::Refresh))
            .map(|((l, ..), _)| *l)
            .collect();
        if let Err(e) = self.journal.note(writes.iter().copied()) {
            tally.error(FileError::io(self.journal_path(), &e));
            return vanished;
        }
        let busy = planned.iter().filter(|a| **a != Action::Keep).count();
        progress.start(busy as u64);
        let outcomes: Vec<(usize, Outcome)> = items
            .par_iter()
            .zip(planned.par_iter())
            .enumerate()
            .filter_map(|(i, ((logical, item, recorded, _), action))| {
                if *action == Action::Keep {
                    let unchanged = match (item, recorded) {
                        (Item::Source(file), Some(e)) => e.source == Some(file.meta),
                        _ => true,
                    };
                    if unchanged {
                        return None; // intact and recorded as it is: nothing to do
                    }
                }
                if skip(logical) {
                    return None;
                }
                let outcome = self.carry_out(logical, *item, *action, recorded.as_ref());
                if *action != Action::Keep {
                    progress.advance();
                }
                Some((i, outcome))
            })
            .collect();
        progress.finish();
        let mut touched = vec![false; items.len()];
        for (i, outcome) in outcomes {
            touched[i] = true;
            let (logical, item, ..) = &items[i];
            let derived = matches!(item, Item::Derived(_));
            match outcome {
                Outcome::Kept(entry) => {
                    if !derived {
                        tally.unchanged();
                    }
                    self.put_entry(logical, entry);
                }
                Outcome::Written(entry) => {
                    // sluice.json is the Django app's, not news to anyone watching.
                    if derived && *logical != sluice_assets::integrity::RECORD_NAME {
                        tally.derived.changed.push(logical.to_string());
                    } else if derived {
                    } else {
                        tally.copied(logical);
                    }
                    self.put_entry(logical, entry);
                }
                Outcome::Adopted(entry) => {
                    if !derived {
                        tally.adopted();
                    }
                    self.put_entry(logical, entry);
                }
                Outcome::Conflict => {
                    if derived {
                        tally.derived.conflicts.push(logical.to_string());
                    } else {
                        tally.conflict(logical, output_path(&output, logical));
                    }
                }
                Outcome::Vanished => {
                    if let Item::Source(file) = item {
                        vanished.push((logical.to_string(), file.path.clone()));
                    }
                }
                Outcome::Failed(message) => {
                    if derived {
                        tally.derived.errors.push(sluice_assets::Error::Read {
                            file: logical.to_string(),
                            message,
                        });
                    } else if let Item::Source(file) = item {
                        tally.error(FileError {
                            path: file.path.clone(),
                            message,
                        });
                    }
                }
            }
        }
        let untouched_sources = items
            .iter()
            .zip(&touched)
            .filter(|((_, item, ..), t)| !**t && matches!(item, Item::Source(_)))
            .count();
        for _ in 0..untouched_sources {
            tally.unchanged();
        }
        vanished
    }

    /// Sources that were gone when their copy was made: the index saw them, then they were
    /// deleted or renamed. A poller may already have reported that change (its snapshot says
    /// gone, so it will not report it again), so each is looked up again now: its output is
    /// removed when nothing owns the name any more, or made from what owns it now (a file of
    /// another root, the file back); twice at most, then it is an error.
    fn settle_vanished(&mut self, mut vanished: Vec<(String, PathBuf)>, tally: &mut Tally) {
        for _ in 0..2 {
            if vanished.is_empty() {
                return;
            }
            let paths: Vec<PathBuf> = vanished.iter().map(|(_, p)| p.clone()).collect();
            let delta = self.index.update(&paths);
            for error in delta.errors {
                tally.error(error);
            }
            let files = std::mem::take(&mut self.index.files);
            let mut items = Vec::new();
            for (logical, _) in &vanished {
                match files.get(logical) {
                    Some(file) => items.push((
                        logical.as_str(),
                        Item::Source(file),
                        self.record.outputs.get(logical).copied(),
                        false,
                    )),
                    None => self.remove_output(logical, false, tally),
                }
            }
            let again = self.apply_items(items, &Silent, tally);
            self.index.files = files;
            vanished = again;
        }
        for (_, path) in vanished {
            tally.error(FileError {
                path,
                message: "vanished while sluice worked on it".to_owned(),
            });
        }
    }

    fn put_entry(&mut self, logical: &str, entry: OutEntry) {
        if self.record.outputs.get(logical) != Some(&entry) {
            self.record.outputs.insert(logical.to_string(), entry);
            self.dirty = true;
        }
    }

    fn journal_path(&self) -> PathBuf {
        self.setup.state_dir.join(format!(
            "{}.intent",
            crate::record::stem(&self.setup.output)
        ))
    }

    /// Removes the output at `logical` if it is still as sluice wrote it; `derived`: it was
    /// a derived output (it counts as one), else a source's copy or another profile's output.
    fn remove_output(&mut self, logical: &str, derived: bool, tally: &mut Tally) {
        let Some(entry) = self.record.outputs.remove(logical) else {
            return;
        };
        self.dirty = true;
        let output = self.setup.output.clone();
        let path = output_path(&output, logical);
        match Current::of(&path) {
            None => {}
            Some(now) if intact(&entry, &now) => match remove_and_prune(&path, &output) {
                Ok(()) if derived => tally.derived.changed.push(logical.to_string()),
                Ok(()) => tally.removed(logical),
                Err(e) => {
                    self.record.outputs.insert(logical.to_string(), entry);
                    tally.error(FileError {
                        path,
                        message: format!("could not remove: {e}"),
                    });
                }
            },
            Some(_) => tally.kept_modified(path),
        }
    }

    /// Every output of the dev profile, after a full scan.
    pub(super) fn emit_all(
        &mut self,
        removals_skipped: bool,
        progress: &dyn Progress,
        sync: &mut SyncReport,
        derived: &mut DeriveReport,
    ) {
        let derived_map = std::mem::take(&mut self.derived);
        let files = std::mem::take(&mut self.index.files);
        let mut tally = Tally {
            sources: SourceTally::Full(sync),
            derived,
        };
        // Wanted outputs, sorted: sources and derived outputs merged (a derived output wins).
        let mut wanted: Vec<(&str, Item)> = Vec::with_capacity(files.len() + derived_map.len());
        {
            let mut s = files.iter().peekable();
            let mut d = derived_map.iter().peekable();
            loop {
                let next = match (s.peek(), d.peek()) {
                    (Some((ks, _)), Some((kd, _))) => ks.as_str().cmp(kd.as_str()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => break,
                };
                match next {
                    std::cmp::Ordering::Less => {
                        let (k, f) = s.next().unwrap_or_else(|| unreachable!());
                        wanted.push((k.as_str(), Item::Source(f)));
                    }
                    std::cmp::Ordering::Greater => {
                        let (k, v) = d.next().unwrap_or_else(|| unreachable!());
                        wanted.push((k.as_str(), Item::Derived(v)));
                    }
                    std::cmp::Ordering::Equal => {
                        s.next();
                        let (k, v) = d.next().unwrap_or_else(|| unreachable!());
                        wanted.push((k.as_str(), Item::Derived(v)));
                    }
                }
            }
        }
        // What the record names that is not wanted goes first, so a file replaced by a folder
        // of the same name (or the reverse) makes room. If a folder could not be read, its
        // files look gone too: then nothing is removed.
        if !removals_skipped {
            // Both sorted: one merge walk.
            let mut stale: Vec<String> = Vec::new();
            let mut w = wanted.iter().map(|(k, _)| *k).peekable();
            for k in self.record.outputs.keys() {
                while w.peek().is_some_and(|x| *x < k.as_str()) {
                    w.next();
                }
                if w.peek() != Some(&k.as_str()) {
                    stale.push(k.clone());
                }
            }
            // A derived output of the last dev pass counts as one; the build profile's outputs
            // (and sources' copies) are the mirror's removals.
            let last_dev = self.record.profile.starts_with("dev");
            let entries: Vec<(String, OutEntry)> = stale
                .into_iter()
                .filter_map(|l| self.record.outputs.remove(&l).map(|e| (l, e)))
                .collect();
            self.dirty |= !entries.is_empty();
            let items: Vec<(&str, &OutEntry)> =
                entries.iter().map(|(l, e)| (l.as_str(), e)).collect();
            let answers = remove_recorded(&self.setup.output, &items);
            for ((logical, entry), answer) in entries.iter().zip(answers) {
                match answer {
                    Removal::Gone => {}
                    Removal::Removed if last_dev && entry.source.is_none() => {
                        tally.derived.changed.push(logical.clone())
                    }
                    Removal::Removed => tally.removed(logical),
                    Removal::Modified(path) => tally.kept_modified(path),
                    Removal::Failed(path, e) => {
                        self.record.outputs.insert(logical.clone(), *entry);
                        tally.error(FileError {
                            path,
                            message: format!("could not remove: {e}"),
                        });
                    }
                }
            }
        }
        let untouched = self.untouched_dirs();
        // Pair each wanted output with its record entry (one merge walk) and whether its
        // folder is untouched (decided once per folder).
        let mut items: Vec<(&str, Item, Option<OutEntry>, bool)> = Vec::with_capacity(wanted.len());
        {
            let mut rec = self.record.outputs.iter().peekable();
            let mut folder: (&str, bool) = ("\0", false);
            for (logical, item) in wanted {
                while rec.peek().is_some_and(|(k, _)| k.as_str() < logical) {
                    rec.next();
                }
                let recorded = rec
                    .peek()
                    .filter(|(k, _)| k.as_str() == logical)
                    .map(|(_, e)| **e);
                let dir = parent_dir(logical);
                if dir != folder.0 {
                    folder = (dir, untouched.contains(dir));
                }
                items.push((logical, item, recorded, folder.1));
            }
        }
        let vanished = self.apply_items(items, progress, &mut tally);
        self.index.files = files;
        self.derived = derived_map;
        self.settle_vanished(vanished, &mut tally);
    }

    /// The outputs a change set concerns: the sources it touched, the derived outputs that
    /// changed (`previous` → `self.derived`).
    pub(super) fn emit_touched(
        &mut self,
        touched: &[String],
        previous: &BTreeMap<String, Derived>,
        change: &mut ChangeReport,
        derived: &mut DeriveReport,
    ) {
        let derived_map = std::mem::take(&mut self.derived);
        let files = std::mem::take(&mut self.index.files);
        let mut tally = Tally {
            sources: SourceTally::Change(change),
            derived,
        };
        let touched_set: HashSet<&str> = touched.iter().map(String::as_str).collect();
        let mut wanted: BTreeMap<&str, Item> = BTreeMap::new();
        for logical in touched {
            if let Some(d) = derived_map.get(logical) {
                wanted.insert(logical, Item::Derived(d));
            } else if let Some(f) = files.get(logical) {
                wanted.insert(logical, Item::Source(f));
            }
        }
        for (logical, d) in &derived_map {
            if previous.get(logical) != Some(d) || touched_set.contains(logical.as_str()) {
                wanted.insert(logical, Item::Derived(d));
            }
        }
        let gone: Vec<(String, bool)> = touched
            .iter()
            .map(|l| (l.as_str(), previous.contains_key(l)))
            .chain(previous.keys().map(|l| (l.as_str(), true)))
            .filter(|(l, _)| !files.contains_key(*l) && !derived_map.contains_key(*l))
            .map(|(l, d)| (l.to_owned(), d))
            .collect();
        for (logical, derived) in gone {
            self.remove_output(&logical, derived, &mut tally);
        }
        let items: Vec<(&str, Item, Option<OutEntry>, bool)> = wanted
            .into_iter()
            .map(|(l, item)| (l, item, self.record.outputs.get(l).copied(), false))
            .collect();
        let vanished = self.apply_items(items, &Silent, &mut tally);
        self.index.files = files;
        self.derived = derived_map;
        self.settle_vanished(vanished, &mut tally);
    }
}
