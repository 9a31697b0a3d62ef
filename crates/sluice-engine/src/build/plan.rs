//! The build's hash rule over the collected files: which files are clean (md5 known and
//! unchanged since the last plan, every output intact), reading the rest, planning Django's
//! names (re-planning only the `*.css`/`*.js` files that changed or whose names depend on a
//! change, [`ManifestPlan::affected_by`]), and staging each file's copies and compressed
//! copies, then `staticfiles.json`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;

use rayon::prelude::*;
use sluice_assets::django_manifest::{
    self, ManifestOptions, ManifestPlan, PlannedFile, Reference, ReferenceKind, adjustable,
    hashed_name,
};
use sluice_assets::integrity::{self, sri, takes_integrity};
use sluice_core::bundles::BundleDef;
use sluice_core::error::FileError;
use sluice_core::output::output_path;
use sluice_core::progress::Progress;

use super::outputs::{Desired, Kind, copies, desired};
use super::{Collected, Context, Outcome, Produced};
use crate::outputs::decide::Action;
use crate::record::{Key, OutEntry, PlanFact, SourceFact};
use crate::report::{BuildError, BuildReport};

/// What the record knows from the last build.
pub struct Facts<'a> {
    /// The md5 of every collected file the last plan was made from.
    pub collected: &'a BTreeMap<String, Key>,
    /// The last plan, when it is still valid (same `STATIC_URL`, hashing on).
    pub plan: Option<&'a BTreeMap<String, PlanFact>>,
    /// The record's outputs were made by this very profile.
    pub same_profile: bool,
    pub outputs_recorded: usize,
    /// The last build's subresource integrity (logical → served name, `sha384-…`).
    pub integrity: &'a BTreeMap<String, (String, String)>,
    /// The bundles, for `sluice.json`.
    pub bundles: &'a [BundleDef],
}

/// What [`run`] found to do.
pub enum Ran {
    /// Nothing changed since the previous build (same collected files with the same md5, same
    /// profile, every output intact): these are its outputs, and the record stands.
    Unchanged(Vec<Desired>),
    Produced(Produce),
}

/// Everything the build produces, by output path, with what the record should say.
pub struct Produce {
    pub outputs: BTreeMap<String, Produced>,
    /// Sources whose md5 this build learnt.
    pub facts: Vec<(String, SourceFact)>,
    pub collected: BTreeMap<String, Key>,
    pub plan: BTreeMap<String, PlanFact>,
    pub integrity: BTreeMap<String, (String, String)>,
}

/// A collected file read in this build.
struct Read {
    logical: String,
    key: Key,
    /// Kept for `*.css`/`*.js` files (planned later); dropped for the others.
    bytes: Option<Vec<u8>>,
    /// A stylesheet's or script's served name and `sha384-…`, when already known.
    integrity: Option<(String, String)>,
}

fn kind_to_u8(kind: ReferenceKind) -> u8 {
    match kind {
        ReferenceKind::Hashed => 0,
        ReferenceKind::Original => 1,
        ReferenceKind::Directory => 2,
    }
}

fn kind_from_u8(kind: u8) -> Option<ReferenceKind> {
    match kind {
        0 => Some(ReferenceKind::Hashed),
        1 => Some(ReferenceKind::Original),
        2 => Some(ReferenceKind::Directory),
        _ => None,
    }
}

/// The previous plan, as [`django_manifest::replan`] takes it.
fn manifest_plan(plan: &BTreeMap<String, PlanFact>) -> ManifestPlan {
    let files = plan
        .iter()
        .map(|(name, p)| {
            let references = p
                .refs
                .iter()
                .filter_map(|(target, kind)| {
                    Some(Reference {
                        target: target.clone(),
                        kind: kind_from_u8(*kind)?,
                    })
                })
                .collect();
            let file = PlannedFile {
                hashed_name: p.hashed.clone(),
                hash: p.key.hex()[..12].to_string(),
                md5: None,
                rewritten: None,
                references,
            };
            (name.clone(), file)
        })
        .collect();
    ManifestPlan { files }
}

fn hex12(key: &Key) -> String {
    key.hex()[..12].to_string()
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

    // 1. Which files are clean: md5 known and unchanged since the last plan, the plan known,
    //    every output intact.
    type Clean = (Key, Vec<Desired>);
    let classified: Vec<(&String, Option<Clean>)> = files
        .par_iter()
        .map(|(logical, file)| {
            let clean = (|| {
                let key = file.md5?;
                if facts.collected.get(logical) != Some(&key) {
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
    let mut clean: BTreeMap<&str, Clean> = BTreeMap::new();
    let mut dirty: Vec<&String> = Vec::new();
    for (logical, state) in classified {
        match state {
            Some(c) => {
                clean.insert(logical, c);
            }
            None => dirty.push(logical),
        }
    }
    progress.start(dirty.len() as u64);
    if dirty.is_empty()
        && facts.same_profile
        && let Some(outputs) = unchanged(ctx, facts, files.len(), &mut clean)
    {
        progress.finish();
        return Ok(Ran::Unchanged(outputs));
    }
    let dirty_set: std::collections::HashSet<&str> = dirty.iter().map(|l| l.as_str()).collect();

    // 2. Read what is dirty (largest first, for an even load): hash it, and finish the files
    //    whose names depend only on their own bytes.
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

    // Every file's md5: known or just computed.
    let key_of = |read: &BTreeMap<String, Read>, logical: &str| -> Option<Key> {
        read.get(logical)
            .map(|r| r.key)
            .or_else(|| clean.get(logical).map(|c| c.0))
    };

    // The digests computed by this build (the others come from the last one).
    let mut fresh_integrity: BTreeMap<String, (String, String)> = read
        .values()
        .filter_map(|r| Some((r.logical.clone(), r.integrity.clone()?)))
        .collect();

    // 3. Plan the Django names: re-plan only the dirty *.css/*.js files and those whose
    //    names depend on what changed.
    let mut plan = ManifestPlan::default();
    let mut replanned: BTreeSet<String> = BTreeSet::new();
    if hashing {
        let prev_plan = manifest_plan(previous_plan);
        let mut changed: BTreeSet<String> = read
            .values()
            .filter(|r| facts.collected.get(&r.logical) != Some(&r.key))
            .map(|r| r.logical.clone())
            .collect();
        let removed: Vec<&String> = facts
            .collected
            .keys()
            .filter(|l| !files.contains_key(*l))
            .collect();
        let names_changed =
            !removed.is_empty() || read.keys().any(|l| !facts.collected.contains_key(l));
        changed.extend(removed.into_iter().cloned());
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
        // Adjustable files without a usable plan (another STATIC_URL, a plan never made)
        // are re-planned too.
        let unplanned = files
            .keys()
            .filter(|l| adjustable(l).is_some() && !previous_plan.contains_key(*l));
        affected.extend(unplanned.cloned());
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
        let hashes: HashMap<String, String> = files
            .keys()
            .map(|l| {
                (
                    l.clone(),
                    key_of(&read, l).map(|k| hex12(&k)).unwrap_or_default(),
                )
            })
            .collect();
        let contents: BTreeMap<&str, &[u8]> = replanned
            .iter()
            .filter_map(|l| Some((l.as_str(), read.get(l)?.bytes.as_deref()?)))
            .collect();
        let manifest_options = ManifestOptions {
            static_url: static_url.to_string(),
        };
        plan = django_manifest::replan(hashes, &contents, &prev_plan, &manifest_options).map_err(
            |error| {
                progress.finish();
                let mut sources = BTreeMap::new();
                for e in error.errors() {
                    let names: Vec<&str> = match e {
                        sluice_assets::Error::NotUtf8 { file, .. }
                        | sluice_assets::Error::MissingReference { file, .. } => {
                            vec![file.as_str()]
                        }
                        sluice_assets::Error::ReferenceCycle { files } => {
                            files.iter().map(String::as_str).collect()
                        }
                        _ => Vec::new(),
                    };
                    for name in names {
                        if let Some(file) = files.get(name) {
                            sources.insert(name.to_string(), file.path.clone());
                        }
                    }
                }
                BuildError::Manifest {
                    error: Box::new(error),
                    sources,
                }
            },
        )?;
        report.replanned = replanned.len();

        // 4. The re-planned *.css/*.js files: both copies, compressed (largest first, so no
        //    core is left alone with a big file at the end).
        let mut order: Vec<&String> = replanned.iter().collect();
        order.sort_by_key(|l| std::cmp::Reverse(read[*l].bytes.as_ref().map_or(0, Vec::len)));
        type Emitted = (Vec<Produced>, Option<(String, String, String)>);
        let emitted: Vec<Result<Emitted, FileError>> = order
            .into_par_iter()
            .map(|logical| {
                let r = &read[logical];
                let original = r.bytes.as_deref().unwrap_or_default();
                let planned = &plan.files[logical];
                let hashed_bytes = planned.rewritten.as_deref().unwrap_or(original);
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
                let integrity = takes_integrity(logical).then(|| {
                    (
                        logical.clone(),
                        planned.hashed_name.clone(),
                        sri(hashed_bytes),
                    )
                });
                Ok((produced, integrity))
            })
            .collect();
        for result in emitted {
            match result {
                Ok((produced, integrity)) => {
                    for p in produced {
                        outputs.insert(p.desired.path.clone(), p);
                    }
                    if let Some((logical, name, digest)) = integrity {
                        fresh_integrity.insert(logical, (name, digest));
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    progress.finish();
    if !errors.is_empty() {
        return Err(BuildError::Files(errors));
    }

    // The clean files' outputs stay as they are.
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

    // 5. staticfiles.json.
    if hashing {
        let json = plan.staticfiles_json();
        let path = django_manifest::MANIFEST_NAME.to_string();
        let desired = Desired {
            path: path.clone(),
            key: Key::of(json.as_bytes()),
            len: json.len() as u64,
            kind: Kind::Manifest,
            copy: 0,
            source: None,
        };
        let outcome = stage_whole(ctx, &desired, json.as_bytes())?;
        outputs.insert(path, Produced { desired, outcome });
    }

    // 6. sluice.json: the bundles and every stylesheet's and script's digest, under the name
    //    a page loads it by.
    let mut integrity_table: BTreeMap<String, (String, String)> = BTreeMap::new();
    for logical in files.keys().filter(|l| takes_integrity(l)) {
        let served = if !hashing {
            Some(logical.clone())
        } else {
            plan.files
                .get(logical)
                .map(|p| p.hashed_name.clone())
                .or_else(|| {
                    clean
                        .get(logical.as_str())
                        .map(|(k, _)| hashed_name(logical, &hex12(k)))
                })
        };
        let Some(served) = served else { continue };
        let known = fresh_integrity.get(logical).cloned().or_else(|| {
            facts
                .integrity
                .get(logical)
                .filter(|(name, _)| *name == served && clean.contains_key(logical.as_str()))
                .cloned()
        });
        let entry = match known {
            Some(entry) => entry,
            None => {
                // Clean, but not digested before (the last build was another profile's).
                let bytes = fs::read(output_path(ctx.output, &served))
                    .or_else(|_| {
                        files[logical]
                            .read()
                            .map_err(|e| std::io::Error::other(e.message))
                    })
                    .map_err(|e| {
                        BuildError::Files(vec![FileError::io(&files[logical].path, &e)])
                    })?;
                (served.clone(), sri(&bytes))
            }
        };
        integrity_table.insert(logical.clone(), entry);
    }
    {
        let mut record = integrity::Record::new(integrity::Profile::Build, facts.bundles);
        for (logical, (name, digest)) in &integrity_table {
            record.add_digest(logical, name, digest.clone());
        }
        let json = record.to_json();
        let path = integrity::RECORD_NAME.to_string();
        let desired = Desired {
            path: path.clone(),
            key: Key::of(json.as_bytes()),
            len: json.len() as u64,
            kind: Kind::Record,
            copy: 0,
            source: None,
        };
        let outcome = stage_whole(ctx, &desired, json.as_bytes())?;
        outputs.insert(path, Produced { desired, outcome });
    }

    // What the next build needs to know.
    let mut learnt = Vec::new();
    let mut collected = BTreeMap::new();
    for (logical, file) in files {
        let Some(key) = key_of(&read, logical) else {
            continue;
        };
        collected.insert(logical.clone(), key);
        if let Some(meta) = file.source
            && file.md5 != Some(key)
        {
            learnt.push((
                logical.clone(),
                SourceFact {
                    meta,
                    md5: Some(key),
                },
            ));
        }
    }
    let mut plan_facts = BTreeMap::new();
    if hashing {
        for (logical, planned) in &plan.files {
            if adjustable(logical).is_none() {
                continue;
            }
            let (key, len) = if replanned.contains(logical) {
                let r = &read[logical];
                match &planned.rewritten {
                    Some(bytes) => (
                        planned
                            .md5
                            .as_deref()
                            .and_then(Key::from_hex)
                            .unwrap_or_else(|| Key::of(bytes)),
                        bytes.len() as u64,
                    ),
                    None => (r.key, r.bytes.as_ref().map_or(0, |b| b.len() as u64)),
                }
            } else {
                match previous_plan.get(logical) {
                    Some(p) => (p.key, p.len),
                    None => continue,
                }
            };
            let refs = planned
                .references
                .iter()
                .map(|r| (r.target.clone(), kind_to_u8(r.kind)))
                .collect();
            plan_facts.insert(
                logical.clone(),
                PlanFact {
                    hashed: planned.hashed_name.clone(),
                    key,
                    len,
                    refs,
                },
            );
        }
    }
    Ok(Ran::Produced(Produce {
        outputs,
        facts: learnt,
        collected,
        plan: plan_facts,
        integrity: integrity_table,
    }))
}

/// When every collected file is clean (`clean` has them all) and the previous build had
/// exactly these files and outputs, with `staticfiles.json` intact too, nothing is to be done:
/// the outputs, taken out of `clean`. `None` when something differs (a file removed, an
/// option that changes which copies exist, a touched manifest).
fn unchanged(
    ctx: &Context,
    facts: &Facts,
    files: usize,
    clean: &mut BTreeMap<&str, (Key, Vec<Desired>)>,
) -> Option<Vec<Desired>> {
    if files != facts.collected.len() {
        return None;
    }
    let manifest = if ctx.options.hash {
        let path = django_manifest::MANIFEST_NAME;
        let entry: &OutEntry = ctx.outputs.get(path)?;
        let desired = Desired {
            path: path.to_string(),
            key: entry.key?,
            len: entry.meta.len,
            kind: Kind::Manifest,
            copy: 0,
            source: None,
        };
        (ctx.action(&desired) == Action::Keep).then_some(desired)
    } else {
        None
    };
    let record = {
        let path = integrity::RECORD_NAME;
        let entry: &OutEntry = ctx.outputs.get(path)?;
        let desired = Desired {
            path: path.to_string(),
            key: entry.key?,
            len: entry.meta.len,
            kind: Kind::Record,
            copy: 0,
            source: None,
        };
        (ctx.action(&desired) == Action::Keep).then_some(desired)?
    };
    let wanted: usize = clean.values().map(|(_, d)| d.len()).sum();
    if wanted + usize::from(manifest.is_some()) + 1 != facts.outputs_recorded {
        return None;
    }
    let mut outputs: Vec<Desired> = std::mem::take(clean)
        .into_values()
        .flat_map(|(_, desired)| desired)
        .collect();
    outputs.extend(manifest);
    outputs.push(record);
    Some(outputs)
}

/// Decides and stages a file made whole by this build (`staticfiles.json`, `sluice.json`).
fn stage_whole(ctx: &Context, desired: &Desired, bytes: &[u8]) -> Result<Outcome, BuildError> {
    let path = &desired.path;
    Ok(match ctx.action(desired) {
        Action::Keep => match ctx.outputs.get(path) {
            Some(entry) => Outcome::Kept(*entry),
            None => Outcome::Conflict,
        },
        Action::Write | Action::Refresh => {
            let meta = ctx.staging.write(path, bytes).map_err(|e| {
                BuildError::Files(vec![FileError {
                    path: ctx.staging.path(path),
                    message: e.to_string(),
                }])
            })?;
            Outcome::Staged(meta)
        }
        Action::AdoptIfIdentical => match fs::read(output_path(ctx.output, path)) {
            Ok(existing) if existing == bytes => match ctx.current(path) {
                Some(c) => Outcome::Adopted(c.meta),
                None => Outcome::Conflict,
            },
            _ => Outcome::Conflict,
        },
        Action::Conflict => Outcome::Conflict,
    })
}
