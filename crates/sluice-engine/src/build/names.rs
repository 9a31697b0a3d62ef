//! The Django names of the collected files, as the build's hash rule needs them: the
//! planner's view of what is collected ([`Known`]), the last plan as the planner takes it, the
//! names a file had in the last build, the file made whole by a build (`staticfiles.json`,
//! `sluice.json`) and a planner error with the source files it is about.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use sluice_assets::django_manifest::{
    Collection, ManifestPlan, PlannedFile, Reference, ReferenceKind, hashed_name,
};
use sluice_core::error::FileError;
use sluice_core::output::output_path;

use super::outputs::Desired;
use super::plan::{Facts, Read};
use super::{Collected, Context, Outcome};
use crate::outputs::decide::Action;
use crate::record::{Key, PlanFact};
use crate::report::BuildError;

pub(super) fn kind_to_u8(kind: ReferenceKind) -> u8 {
    match kind {
        ReferenceKind::Hashed => 0,
        ReferenceKind::Original => 1,
        ReferenceKind::Directory => 2,
    }
}

pub(super) fn kind_from_u8(kind: u8) -> Option<ReferenceKind> {
    match kind {
        0 => Some(ReferenceKind::Hashed),
        1 => Some(ReferenceKind::Original),
        2 => Some(ReferenceKind::Directory),
        _ => None,
    }
}

/// The previous plan, as [`django_manifest::replan_adjustable`] takes it.
pub(super) fn manifest_plan(plan: &BTreeMap<String, PlanFact>) -> ManifestPlan {
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

pub(super) fn hex12(key: &Key) -> String {
    key.hex()[..12].to_string()
}

/// The collected files as the planner sees them: names, the md5 of each (read now or known),
/// and the folders they make.
pub(super) struct Known<'a> {
    pub(super) files: &'a BTreeMap<String, Collected>,
    pub(super) read: &'a BTreeMap<String, Read>,
}

impl Known<'_> {
    fn md5(&self, logical: &str) -> Option<Key> {
        self.read
            .get(logical)
            .map(|r| r.key)
            .or_else(|| self.files.get(logical)?.md5)
    }
}

impl Collection for Known<'_> {
    fn original_hash(&self, name: &str) -> Option<Cow<'_, str>> {
        self.md5(name).map(|k| Cow::Owned(hex12(&k)))
    }

    fn is_dir(&self, name: &str) -> bool {
        let prefix = format!("{name}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}

/// The outputs a file had in the last build: both names and their compressed copies, as the
/// record names them.
pub(super) fn old_outputs(
    logical: &str,
    ctx: &Context,
    facts: &Facts,
    suffixes: &[&str],
    into: &mut BTreeSet<String>,
) {
    let mut names = vec![logical.to_string()];
    let hashed = match facts.plan.and_then(|p| p.get(logical)) {
        Some(p) => Some(p.hashed.clone()),
        None => facts
            .collected
            .get(logical)
            .map(|k| hashed_name(logical, &hex12(k))),
    };
    names.extend(hashed);
    for name in names {
        for suffix in suffixes {
            let path = format!("{name}{suffix}");
            if ctx.outputs.contains_key(&path) {
                into.insert(path);
            }
        }
    }
}

/// A planner error, with the source file of each logical name involved.
pub(super) fn manifest_error(
    error: sluice_assets::Error,
    files: &BTreeMap<String, Collected>,
) -> BuildError {
    let mut sources = BTreeMap::new();
    for e in error.errors() {
        let names: Vec<&str> = match e {
            sluice_assets::Error::NotUtf8 { file, .. }
            | sluice_assets::Error::MissingReference { file, .. } => vec![file.as_str()],
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
}

/// Decides and stages a file made whole by this build (`staticfiles.json`, `sluice.json`).
pub(super) fn stage_whole(
    ctx: &Context,
    desired: &Desired,
    bytes: &[u8],
) -> Result<Outcome, BuildError> {
    let path = &desired.path;
    Ok(match ctx.action(desired) {
        Action::Keep => match ctx.outputs.get(path) {
            Some(entry) => Outcome::Kept(*entry),
            None => Outcome::Conflict,
        },
        Action::Write | Action::Refresh => {
            if ctx.outputs.get(path).is_some_and(|e| {
                e.key.is_none() && fs::read(output_path(ctx.output, path)).is_ok_and(|b| b == bytes)
            }) {
                // Taken back after a crash, with these very bytes.
                match ctx.current(path) {
                    Some(c) => Outcome::Adopted(c.meta),
                    None => Outcome::Conflict,
                }
            } else {
                let meta = ctx.staging.write(path, bytes).map_err(|e| {
                    BuildError::Files(vec![FileError {
                        path: ctx.staging.path(path),
                        message: e.to_string(),
                    }])
                })?;
                Outcome::Staged(meta)
            }
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

/// Used by tests of the planner's view.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_known_from_the_collected_names() {
        let file = |l: &str| {
            (
                l.to_string(),
                Collected {
                    path: l.into(),
                    len: 1,
                    source: None,
                    md5: Some(Key::of(l.as_bytes())),
                },
            )
        };
        let files: BTreeMap<String, Collected> =
            [file("css/a.css"), file("css/sub/b.css"), file("cssx.css")].into();
        let read = BTreeMap::new();
        let known = Known {
            files: &files,
            read: &read,
        };
        assert!(known.is_dir("css") && known.is_dir("css/sub"));
        assert!(!known.is_dir("cs") && !known.is_dir("css/a.css"));
        assert_eq!(
            known.original_hash("css/a.css").as_deref(),
            Some(&Key::of(b"css/a.css").hex()[..12])
        );
        assert_eq!(known.original_hash("nope.css"), None);
    }
}
