//! The build's hash rule over the collected files: which files to look at again, reading
//! them, planning Django's names (re-planning only the `*.css`/`*.js` files that changed or
//! whose names depend on a change, [`ManifestPlan::affected_by`]), and staging each file's
//! copies and compressed copies, then `staticfiles.json` and `sluice.json`.
//!
//! When the record's outputs were made by this very profile, a build is incremental: a file
//! whose md5 is known and unchanged since the last plan is not looked at at all (its outputs
//! stay as recorded), and only the outputs of the files looked at again are replaced — a
//! build after a one-file change costs that file, the files whose names depend on it, and
//! the manifest. Otherwise (another profile's outputs, a crash taken back, outputs damaged)
//! every file's outputs are worked out and checked, and what another profile wrote is kept
//! where its bytes are the wanted ones.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use rayon::prelude::*;
use sluice_assets::django_manifest::{
    self, ManifestOptions, PlannedFile, ReferenceKind, adjustable, hashed_name,
};
use sluice_assets::integrity::{self, sri, takes_integrity};
use sluice_core::bundles::BundleDef;
use sluice_core::error::FileError;
use sluice_core::output::output_path;
use sluice_core::progress::Progress;

use super::compress::encodings;
use super::names::{
    Known, hex12, kind_to_u8, manifest_error, manifest_plan, old_outputs, stage_whole,
};
use super::outputs::{Desired, Kind, copies, desired};
use super::{Collected, Context, Outcome, Produced};
use crate::outputs::decide::Action;
use crate::record::{Key, PlanFact, SourceFact};
use crate::report::{BuildError, BuildReport};

/// What the record knows from the last build.
pub struct Facts<'a> {
    /// The md5 of every collected file the last plan was made from.
    pub collected: &'a BTreeMap<String, Key>,
    /// The last plan, when it is still valid (same `STATIC_URL`, hashing on).
    pub plan: Option<&'a BTreeMap<String, PlanFact>>,
    /// Whether only what changed needs looking at: the record's outputs were made by this
    /// very profile, nothing was taken back after a crash, no output was damaged.
    pub incremental: bool,
    /// The last build's subresource integrity (logical → served name, `sha384-…`).
    pub integrity: &'a BTreeMap<String, (String, String)>,
    /// The bundles, for `sluice.json`.
    pub bundles: &'a [BundleDef],
}

/// What [`run`] found to do.
pub enum Ran {
    /// Nothing changed since the previous build: the record stands.
    Unchanged,
    Produced(Produce),
}

/// The outputs of the files looked at again, with what the record should say.
pub struct Produce {
    /// By output path.
    pub outputs: BTreeMap<String, Produced>,
    /// Recorded outputs no longer wanted.
    pub removals: BTreeSet<String>,
    /// Sources whose md5 this build learnt.
    pub facts: Vec<(String, SourceFact)>,
    /// Changes to the record's tables: `None` removes the entry.
    pub collected: Vec<(String, Option<Key>)>,
    pub plan: Vec<(String, Option<PlanFact>)>,
    pub integrity: Vec<(String, Option<(String, String)>)>,
}

/// A collected file read in this build.
pub(super) struct Read {
    pub(super) logical: String,
    pub(super) key: Key,
    /// Kept for `*.css`/`*.js` files (planned later); dropped for the others.
    pub(super) bytes: Option<Vec<u8>>,
    /// A stylesheet's or script's served name and `sha384-…`.
    pub(super) integrity: Option<(String, String)>,
}

pub fn run(
    ctx: &Context,
    facts: &Facts,
    files: &BTreeMap<String, Collected>,
    static_url: &str,
    progress: &dyn Progress,
    report: &mut BuildReport,
) -> Result<Ran, BuildError> {
    let options = ctx.options;
    let hashing = options.hash;
    let empty = BTreeMap::new();
    let previous_plan = facts.plan.unwrap_or(&empty);
    let planned_ok = |logical: &str| {
        !hashing || adjustable(logical).is_none() || previous_plan.contains_key(logical)
    };

    // 1. Which files to look at again. Incremental: those whose md5 is not known to be the
    //    one the last plan was made from (one merge walk over both, sorted). Otherwise every
    //    file, and those whose outputs are all intact are kept (`clean`).
    type Clean = (Key, Vec<Desired>);
    let mut clean: BTreeMap<&str, Clean> = BTreeMap::new();
    let mut dirty: Vec<&String> = Vec::new();
    let removed: Vec<&String> = not_in(facts.collected.keys(), files);
    if facts.incremental {
        let mut old = facts.collected.iter().peekable();
        for (logical, file) in files {
            while old
                .peek()
                .is_some_and(|(k, _)| k.as_str() < logical.as_str())
            {
                old.next();
            }
            let before = old
                .peek()
                .filter(|(k, _)| k.as_str() == logical.as_str())
                .map(|(_, v)| **v);
            let same = file.md5.is_some() && file.md5 == before && planned_ok(logical);
            if !same {
                dirty.push(logical);
            }
        }
        if dirty.is_empty() && removed.is_empty() {
            return Ok(Ran::Unchanged);
        }
    } else {
        let classified: Vec<(&String, Option<Clean>)> = files
            .par_iter()
            .map(|(logical, file)| {
                let clean = (|| {
                    let key = file.md5?;
                    if facts.collected.get(logical) != Some(&key) || !planned_ok(logical) {
                        return None;
                    }
                    let hashed = if !hashing {
                        None
                    } else if adjustable(logical).is_some() {
                        let p = previous_plan.get(logical)?;
                        Some((p.hashed.clone(), p.key, p.len))
                    } else {
                        Some((hashed_name(logical, &hex12(&key)), key, file.len))
                    };
                    let copies = copies(logical, (key, file.len), hashed, options);
                    let wanted = desired(
                        &copies,
                        &mut |copy| ctx.compressor.known.get(&copy.key).copied(),
                        &options.codecs,
                        file.source,
                    )?;
                    let intact = wanted.iter().all(|d| ctx.action(d) == Action::Keep);
                    intact.then_some((key, wanted))
                })();
                (logical, clean)
            })
            .collect();
        for (logical, state) in classified {
            match state {
                Some(c) => {
                    clean.insert(logical, c);
                }
                None => dirty.push(logical),
            }
        }
    }
    progress.start(dirty.len() as u64);
    let dirty_set: std::collections::HashSet<&str> = dirty.iter().map(|l| l.as_str()).collect();

    // 2. Read what is looked at again (largest first, for an even load): hash it, and finish
    //    the files whose names depend only on their own bytes.
    dirty.sort_by_key(|l| std::cmp::Reverse(files[*l].len));
    let results: Vec<Result<(Read, Vec<Produced>), FileError>> = dirty
        .par_iter()
        .map(|logical| {
            let file = &files[*logical];
            let bytes = file.read()?;
            let key = Key::of(&bytes);
            if hashing && adjustable(logical).is_some() {
                return Ok((
                    Read {
                        logical: (*logical).clone(),
                        key,
                        bytes: Some(bytes),
                        integrity: None,
                    },
                    Vec::new(),
                ));
            }
            let hashed =
                hashing.then(|| (hashed_name(logical, &hex12(&key)), key, bytes.len() as u64));
            let integrity = takes_integrity(logical).then(|| {
                let name = hashed
                    .as_ref()
                    .map_or_else(|| (*logical).clone(), |h| h.0.clone());
                (name, sri(&bytes))
            });
            let copies = copies(logical, (key, bytes.len() as u64), hashed, options);
            let contents: Vec<&[u8]> = copies.iter().map(|_| bytes.as_slice()).collect();
            let produced = ctx
                .emit(&copies, &contents, file.source)
                .map_err(|message| FileError {
                    path: file.path.clone(),
                    message,
                })?;
            progress.advance();
            Ok((
                Read {
                    logical: (*logical).clone(),
                    key,
                    bytes: None,
                    integrity,
                },
                produced,
            ))
        })
        .collect();
    let mut errors = Vec::new();
    let mut read: BTreeMap<String, Read> = BTreeMap::new();
    let mut outputs: BTreeMap<String, Produced> = BTreeMap::new();
    for result in results {
        match result {
            Ok((r, produced)) => {
                for p in produced {
                    outputs.insert(p.desired.path.clone(), p);
                }
                read.insert(r.logical.clone(), r);
            }
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        progress.finish();
        return Err(BuildError::Files(errors));
    }
    report.read = read.len();
    let mut fresh_integrity: BTreeMap<String, (String, String)> = read
        .values()
        .filter_map(|r| Some((r.logical.clone(), r.integrity.clone()?)))
        .collect();

    // 3. Plan the Django names: re-plan only the dirty *.css/*.js files and those whose
    //    names depend on what changed.
    let mut replanned_files: BTreeMap<String, PlannedFile> = BTreeMap::new();
    let mut replanned: BTreeSet<String> = BTreeSet::new();
    // Step 4's files, largest first.
    let mut order: Vec<&String> = Vec::new();
    let changed: BTreeSet<String> = read
        .values()
        .filter(|r| facts.collected.get(&r.logical) != Some(&r.key))
        .map(|r| r.logical.clone())
        .chain(removed.iter().map(|l| (*l).clone()))
        .collect();
    if hashing {
        let prev_plan = manifest_plan(previous_plan);
        let names_changed =
            !removed.is_empty() || read.keys().any(|l| !facts.collected.contains_key(l));
        let mut affected = prev_plan.affected_by(changed.iter().map(String::as_str));
        if names_changed {
            affected.extend(
                prev_plan
                    .files
                    .iter()
                    .filter(|(_, f)| {
                        f.references
                            .iter()
                            .any(|r| r.kind == ReferenceKind::Directory)
                    })
                    .map(|(n, _)| n.clone()),
            );
        }
        replanned = read
            .iter()
            .filter(|(_, r)| r.bytes.is_some())
            .map(|(l, _)| l.clone())
            .collect();
        let extra: Vec<&String> = affected
            .iter()
            .filter(|l| {
                adjustable(l).is_some() && files.contains_key(*l) && !replanned.contains(*l)
            })
            .collect();
        let extra_read: Vec<Result<Read, FileError>> = extra
            .par_iter()
            .map(|logical| {
                let bytes = files[*logical].read()?;
                Ok(Read {
                    logical: (*logical).clone(),
                    key: Key::of(&bytes),
                    bytes: Some(bytes),
                    integrity: None,
                })
            })
            .collect();
        for r in extra_read {
            match r {
                Ok(r) => {
                    replanned.insert(r.logical.clone());
                    read.insert(r.logical.clone(), r);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            progress.finish();
            return Err(BuildError::Files(errors));
        }
        report.read = read.len();
        let contents: BTreeMap<&str, &[u8]> = replanned
            .iter()
            .filter_map(|l| Some((l.as_str(), read.get(l)?.bytes.as_deref()?)))
            .collect();
        let manifest_options = ManifestOptions {
            static_url: static_url.to_string(),
        };
        let known = Known { files, read: &read };
        let planned =
            django_manifest::replan_adjustable(&known, &contents, &prev_plan, &manifest_options)
                .map_err(|error| {
                    progress.finish();
                    manifest_error(error, files)
                })?;
        replanned_files = planned
            .into_iter()
            .filter(|(name, _)| replanned.contains(name))
            .collect();
        report.replanned = replanned.len();

        // 4. The re-planned *.css/*.js files: both copies, compressed (largest first, so no
        //    core is left alone with a big file at the end).
        order = replanned.iter().collect();
        order.sort_by_key(|l| std::cmp::Reverse(read[*l].bytes.as_ref().map_or(0, Vec::len)));
    }

    // The clean files' outputs stay as they are (worked out only when not incremental).
    for (logical, (_, wanted)) in &clean {
        if replanned.contains(*logical) {
            continue; // re-planned because something it references changed
        }
        for d in wanted {
            if let Some(entry) = ctx.outputs.get(&d.path) {
                outputs.insert(
                    d.path.clone(),
                    Produced {
                        desired: d.clone(),
                        outcome: Outcome::Kept(*entry),
                    },
                );
            }
        }
    }

    // What the record's tables become.
    let plan_fact = |logical: &str, planned: &PlannedFile| -> PlanFact {
        let r = &read[logical];
        let (key, len) = match &planned.rewritten {
            Some(bytes) => (
                planned
                    .md5
                    .as_deref()
                    .and_then(Key::from_hex)
                    .unwrap_or_else(|| Key::of(bytes)),
                bytes.len() as u64,
            ),
            None => (r.key, r.bytes.as_ref().map_or(0, |b| b.len() as u64)),
        };
        PlanFact {
            hashed: planned.hashed_name.clone(),
            key,
            len,
            refs: planned
                .references
                .iter()
                .map(|r| (r.target.clone(), kind_to_u8(r.kind)))
                .collect(),
        }
    };
    let mut plan_updates: Vec<(String, Option<PlanFact>)> = replanned_files
        .iter()
        .map(|(l, p)| (l.clone(), Some(plan_fact(l, p))))
        .collect();
    plan_updates.extend(
        previous_plan
            .keys()
            .filter(|l| !files.contains_key(*l) || !hashing)
            .map(|l| (l.clone(), None)),
    );
    // The name a collected file is served by (`file`: its entry in `files`, when the caller
    // has it at hand, which spares a lookup by name).
    let served_file = |logical: &str, file: Option<&Collected>| -> Option<String> {
        if !hashing {
            return Some(logical.to_string());
        }
        if adjustable(logical).is_some() {
            return replanned_files
                .get(logical)
                .map(|p| p.hashed_name.clone())
                .or_else(|| previous_plan.get(logical).map(|p| p.hashed.clone()));
        }
        let md5 = match read.get(logical) {
            Some(r) => r.key,
            None => file.or_else(|| files.get(logical))?.md5?,
        };
        Some(hashed_name(logical, &hex12(&md5)))
    };
    let served = |logical: &str| served_file(logical, None);

    // 4, beside 5 and 6: the re-planned *.css/*.js files' copies, compressed, while
    // staticfiles.json and sluice.json are written (they name every collected file and
    // need only the plan). Compressing a few files leaves a core idle much of the time.
    let emit = || -> Vec<Result<Vec<Produced>, FileError>> {
        order
            .par_iter()
            .map(|logical: &&String| {
                let logical: &String = logical;
                let r = &read[logical];
                let planned = &replanned_files[logical];
                let (original, hashed_bytes) = replanned_bytes(r, planned);
                let hashed_key = match &planned.rewritten {
                    Some(_) => planned
                        .md5
                        .as_deref()
                        .and_then(Key::from_hex)
                        .unwrap_or_else(|| Key::of(hashed_bytes)),
                    None => r.key,
                };
                let copies = copies(
                    logical,
                    (r.key, original.len() as u64),
                    Some((
                        planned.hashed_name.clone(),
                        hashed_key,
                        hashed_bytes.len() as u64,
                    )),
                    options,
                );
                let contents: Vec<&[u8]> = copies
                    .iter()
                    .map(|c| if c.rewritten { hashed_bytes } else { original })
                    .collect();
                let file = &files[logical];
                let produced = ctx
                    .emit(&copies, &contents, file.source)
                    .map_err(|message| FileError {
                        path: file.path.clone(),
                        message,
                    })?;
                if dirty_set.contains(logical.as_str()) {
                    progress.advance();
                }
                Ok(produced)
            })
            .collect()
    };
    let manifest = || -> Result<Option<Produced>, BuildError> {
        if !hashing {
            return Ok(None);
        }
        // Every collected file is named (20 000 at a time): on every core.
        let all: Vec<(&String, &Collected)> = files.iter().collect();
        let names: Vec<(&str, String)> = all
            .par_iter()
            .filter_map(|(l, file)| Some((l.as_str(), served_file(l, Some(*file))?)))
            .collect();
        let (json, md5) =
            django_manifest::staticfiles_json_and_md5(names.iter().map(|(l, h)| (*l, h.as_str())));
        let desired = Desired {
            path: django_manifest::MANIFEST_NAME.to_string(),
            key: Key(md5),
            kind: Kind::Manifest,
            copy: 0,
            source: None,
        };
        let outcome = stage_whole(ctx, &desired, json.as_bytes())?;
        Ok(Some(Produced { desired, outcome }))
    };
    // Every re-planned stylesheet's and script's digest, as served (its hashed copy).
    let digests: Vec<(String, (String, String))> = order
        .par_iter()
        .filter(|l| takes_integrity(l))
        .map(|logical| {
            let planned = &replanned_files[*logical];
            let (_, hashed_bytes) = replanned_bytes(&read[*logical], planned);
            let entry = (planned.hashed_name.clone(), sri(hashed_bytes));
            ((*logical).clone(), entry)
        })
        .collect();
    fresh_integrity.extend(digests);
    // 6. sluice.json: the bundles and every stylesheet's and script's digest, under the name
    //    a page loads it by.
    type Updates = Vec<(String, Option<(String, String)>)>;
    let record_json =
        |mut fresh: BTreeMap<String, (String, String)>| -> Result<(Updates, Produced), BuildError> {
            let mut integrity_updates: Updates = Vec::new();
            let mut table: BTreeMap<&str, (String, String)> = BTreeMap::new();
            for logical in files.keys().filter(|l| takes_integrity(l)) {
                let entry = match fresh.remove(logical) {
                    Some(entry) => {
                        integrity_updates.push((logical.clone(), Some(entry.clone())));
                        entry
                    }
                    None => {
                        let Some(name) = served(logical) else {
                            continue;
                        };
                        match facts.integrity.get(logical).filter(|(n, _)| *n == name) {
                            Some(entry) => entry.clone(),
                            None => {
                                // Clean, but not digested before: the bytes being served.
                                let bytes = fs::read(output_path(ctx.output, &name))
                                    .or_else(|_| fs::read(&files[logical].path))
                                    .map_err(|e| {
                                        BuildError::Files(vec![FileError::io(
                                            &files[logical].path,
                                            &e,
                                        )])
                                    })?;
                                let entry = (name, sri(&bytes));
                                integrity_updates.push((logical.clone(), Some(entry.clone())));
                                entry
                            }
                        }
                    }
                };
                table.insert(logical, entry);
            }
            integrity_updates.extend(
                facts
                    .integrity
                    .keys()
                    .filter(|l| !table.contains_key(l.as_str()))
                    .map(|l| (l.clone(), None)),
            );
            let mut record = integrity::Record::new(integrity::Profile::Build, facts.bundles);
            for (logical, (name, digest)) in &table {
                record.add_digest(logical, name, digest.clone());
            }
            let json = record.to_json();
            let desired = Desired {
                path: integrity::RECORD_NAME.to_string(),
                key: Key::of(json.as_bytes()),
                kind: Kind::Record,
                copy: 0,
                source: None,
            };
            let outcome = stage_whole(ctx, &desired, json.as_bytes())?;
            Ok((integrity_updates, Produced { desired, outcome }))
        };
    let (emitted, named) = rayon::join(emit, || -> Result<_, BuildError> {
        Ok((manifest()?, record_json(fresh_integrity)?))
    });
    progress.finish();
    for result in emitted {
        match result {
            Ok(produced) => {
                for p in produced {
                    outputs.insert(p.desired.path.clone(), p);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(BuildError::Files(errors));
    }
    let (manifest, (integrity_updates, record)) = named?;
    if let Some(p) = manifest {
        outputs.insert(p.desired.path.clone(), p);
    }
    outputs.insert(record.desired.path.clone(), record);

    // What the record no longer wants: an incremental build replaces the outputs of the files
    // it looked at again (and of files gone); otherwise, whatever this build does not produce.
    let removals: BTreeSet<String> = if facts.incremental {
        let mut suffixes = vec![""];
        suffixes.extend(encodings(&options.codecs).iter().map(|e| e.suffix()));
        let mut old = BTreeSet::new();
        for logical in read
            .keys()
            .map(String::as_str)
            .chain(removed.iter().map(|l| l.as_str()))
        {
            old_outputs(logical, ctx, facts, &suffixes, &mut old);
        }
        old.retain(|p| !outputs.contains_key(p));
        old
    } else {
        ctx.outputs
            .keys()
            .filter(|p| !outputs.contains_key(*p))
            .cloned()
            .collect()
    };

    // What the next build needs to know.
    let mut learnt = Vec::new();
    let mut collected_updates = Vec::new();
    for r in read.values() {
        let file = &files[&r.logical];
        if facts.collected.get(&r.logical) != Some(&r.key) {
            collected_updates.push((r.logical.clone(), Some(r.key)));
        }
        if let Some(meta) = file.source
            && file.md5 != Some(r.key)
        {
            learnt.push((
                r.logical.clone(),
                SourceFact {
                    meta,
                    md5: Some(r.key),
                },
            ));
        }
    }
    if !facts.incremental {
        // Every file is in the plan's table, clean ones with what was known.
        for (logical, (key, _)) in &clean {
            if facts.collected.get(*logical) != Some(key) {
                collected_updates.push(((*logical).to_string(), Some(*key)));
            }
        }
    }
    collected_updates.extend(removed.iter().map(|l| ((*l).clone(), None)));
    Ok(Ran::Produced(Produce {
        outputs,
        removals,
        facts: learnt,
        collected: collected_updates,
        plan: plan_updates,
        integrity: integrity_updates,
    }))
}

/// A re-planned file's bytes as read, and as its hashed copy holds them (rewritten, or the
/// same).
fn replanned_bytes<'a>(read: &'a Read, planned: &'a PlannedFile) -> (&'a [u8], &'a [u8]) {
    let original = read.bytes.as_deref().unwrap_or_default();
    (original, planned.rewritten.as_deref().unwrap_or(original))
}

/// The keys of `keys` (sorted) that `map` does not have, by one merge walk over both (20 000
/// lookups by name would cost more than the rest of a build with nothing changed).
fn not_in<'k, V>(
    keys: impl Iterator<Item = &'k String>,
    map: &BTreeMap<String, V>,
) -> Vec<&'k String> {
    let mut present = map.keys().peekable();
    keys.filter(|key| {
        while present.next_if(|p| p.as_str() < key.as_str()).is_some() {}
        present.peek().is_none_or(|p| p.as_str() != key.as_str())
    })
    .collect()
}
