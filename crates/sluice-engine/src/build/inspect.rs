//! The build's look at what it is about to ship, after planning and before anything moves
//! into the output: the size budgets' verdicts ([`super::budget`]) and, for the build report,
//! what ships and what each bundle is made of ([`super::composition`]). Costs nothing when
//! there are no budgets and no report is asked for.
//!
//! A budget in an encoding the build makes no copies of (a `br` budget with `--compress
//! gzip`, or a project whose storage compresses nothing) is measured anyway: the served
//! files it covers are compressed as whitenoise would (through the cache, so once per
//! content), and a file whose copy would not pay counts its own bytes.

use std::collections::{BTreeMap, HashMap};
use std::fs;

use rayon::prelude::*;
use sluice_assets::compress::{Codecs, should_compress};
use sluice_core::budget::Measure;
use sluice_core::bundles::compiled_name;
use sluice_core::error::FileError;
use sluice_core::output::output_path;

use super::budget::{Verdict, check, served_size};
use super::composition::{BundleMakeup, CompiledOutput, Member, MemberShare, makeup};
use super::compress::Compressor;
use super::outputs::Kind;
use super::plan::Produce;
use super::shipped::{Out, Shipped, served_names, shipped};
use super::{Collected, Context, Outcome, variant};
use crate::engine::Engine;
use crate::graph::bundle::node_key;
use crate::record::{Compressed, Key, OutKind};
use crate::report::{BudgetFailure, BuildError};
use crate::setup::BuildOptions;

/// What the build report is made from.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Every collected file as it ships, in logical order.
    pub shipped: Vec<Shipped>,
    /// Every bundle, in definition order.
    pub bundles: Vec<BundleMakeup>,
    pub compiled: Vec<CompiledOutput>,
    /// The encodings the build made copies in.
    pub gzip: bool,
    pub brotli: bool,
}

pub(super) struct Inspection {
    pub verdicts: Vec<Verdict>,
    pub analysis: Option<Analysis>,
}

/// What the build will leave in the output: what the record says (nothing changed), or
/// that with what this build produced laid over it.
pub(super) enum After<'a> {
    Unchanged,
    Produced {
        produce: &'a Produce,
        /// The record's plan still holds (else the build made a new one).
        plan_valid: bool,
    },
}

/// The output kind of a wanted output.
fn out_kind(kind: Kind) -> OutKind {
    use sluice_assets::compress::Encoding;
    match kind {
        Kind::Raw { hashed: true } => OutKind::Hashed,
        Kind::Raw { hashed: false } => OutKind::Copy,
        Kind::Encoded(Encoding::Brotli) => OutKind::Brotli,
        Kind::Encoded(Encoding::Gzip) => OutKind::Gzip,
        #[cfg(feature = "zstd")]
        Kind::Encoded(Encoding::Zstd) => OutKind::Zstd,
        Kind::Manifest => OutKind::Manifest,
        Kind::Record => OutKind::Record,
    }
}

/// Every collected file's md5, the Django plan, and every output, as the build leaves them.
type View = (
    BTreeMap<String, Key>,
    BTreeMap<String, crate::record::PlanFact>,
    Vec<Out>,
);

impl Engine {
    /// The budgets' verdicts and (when asked for) the report's analysis; an error when a
    /// budget fails. Reads served files only for budgets in an encoding the build does not
    /// make, and cached bundles only for the report.
    pub(super) fn inspect(
        &self,
        ctx: &Context,
        options: &BuildOptions,
        collected: &BTreeMap<String, Collected>,
        after: After,
    ) -> Result<Inspection, BuildError> {
        if options.budgets.is_empty() && !options.analyse {
            return Ok(Inspection {
                verdicts: Vec::new(),
                analysis: None,
            });
        }
        let (keys, plan, outputs) = self.view(after);
        let names = served_names(&keys, &plan, options.hash);
        let shipped = shipped(&names, &outputs);
        let made = options.codecs;
        let extra = self.measure_missing(ctx, options, &shipped, &outputs)?;
        let size = |s: &Shipped, measure: Measure| {
            let extra = extra.get(s.served.as_str());
            let gzip = if made.gzip {
                s.gzip
            } else {
                extra.and_then(|c| c.gz)
            };
            let brotli = if made.brotli {
                s.brotli
            } else {
                extra.and_then(|c| c.br)
            };
            served_size(s.raw, gzip, brotli, measure)
        };
        let verdicts = check(&options.budgets, &shipped, &size);
        let analysis = options.analyse.then(|| Analysis {
            bundles: self.makeups(options, collected),
            compiled: self.compiled_outputs(collected),
            shipped,
            gzip: made.gzip,
            brotli: made.brotli,
        });
        if verdicts.iter().any(Verdict::failed) {
            return Err(BuildError::Budgets(Box::new(BudgetFailure {
                verdicts,
                analysis,
            })));
        }
        Ok(Inspection { verdicts, analysis })
    }

    /// The record's tables and outputs with what this build produced laid over them.
    fn view(&self, after: After) -> View {
        let record = &self.record;
        let recorded = |path: &String, e: &crate::record::OutEntry| Out {
            path: path.clone(),
            len: e.meta.len,
            key: e.key,
            kind: e.kind,
            staged: false,
        };
        let After::Produced {
            produce,
            plan_valid,
        } = after
        else {
            let outputs = record.outputs.iter().map(|(p, e)| recorded(p, e)).collect();
            return ((*record.collected).clone(), (*record.plan).clone(), outputs);
        };
        let mut keys = (*record.collected).clone();
        for (logical, key) in &produce.collected {
            match key {
                Some(k) => keys.insert(logical.clone(), *k),
                None => keys.remove(logical),
            };
        }
        let mut plan = if plan_valid {
            (*record.plan).clone()
        } else {
            BTreeMap::new()
        };
        for (logical, fact) in &produce.plan {
            match fact {
                Some(f) => plan.insert(logical.clone(), f.clone()),
                None => plan.remove(logical),
            };
        }
        let mut outputs: Vec<Out> = record
            .outputs
            .iter()
            .filter(|(p, _)| !produce.removals.contains(*p) && !produce.outputs.contains_key(*p))
            .map(|(p, e)| recorded(p, e))
            .collect();
        for (path, p) in &produce.outputs {
            let (meta, staged) = match &p.outcome {
                Outcome::Kept(entry) => (entry.meta, false),
                Outcome::Adopted(meta) => (*meta, false),
                Outcome::Staged(meta) => (*meta, true),
                Outcome::Conflict => continue,
            };
            outputs.push(Out {
                path: path.clone(),
                len: meta.len,
                key: Some(p.desired.key),
                kind: out_kind(p.desired.kind),
                staged,
            });
        }
        (keys, plan, outputs)
    }

    /// Compressed sizes, by served name, of the files budgets measure in an encoding the
    /// build makes no copies in.
    fn measure_missing(
        &self,
        ctx: &Context,
        options: &BuildOptions,
        shipped: &[Shipped],
        outputs: &[Out],
    ) -> Result<HashMap<String, Compressed>, BuildError> {
        let made = options.codecs;
        let mut codecs = Codecs::NONE;
        let missing: Vec<&sluice_core::budget::Budget> = options
            .budgets
            .iter()
            .filter(|b| match b.limit.measure {
                Measure::Raw => false,
                Measure::Gzip => !made.gzip,
                Measure::Brotli => !made.brotli,
            })
            .collect();
        for b in &missing {
            match b.limit.measure {
                Measure::Gzip => codecs.gzip = true,
                Measure::Brotli => codecs.brotli = true,
                Measure::Raw => {}
            }
        }
        if missing.is_empty() {
            return Ok(HashMap::new());
        }
        let staged: HashMap<&str, bool> = outputs
            .iter()
            .map(|o| (o.path.as_str(), o.staged))
            .collect();
        let none = BTreeMap::new();
        let compressor = Compressor::new(&self.cache, codecs, &none);
        let results: Vec<Result<(String, Compressed), FileError>> = shipped
            .par_iter()
            .filter(|s| missing.iter().any(|b| b.pattern.matches(&s.logical)))
            .filter(|s| s.raw > 0 && should_compress(&s.served))
            .map(|s| {
                let path = if staged.get(s.served.as_str()).copied().unwrap_or(false) {
                    ctx.staging.path(&s.served)
                } else {
                    output_path(ctx.output, &s.served)
                };
                let bytes = fs::read(&path).map_err(|e| FileError::io(&path, &e))?;
                let key = s.key.unwrap_or_else(|| Key::of(&bytes));
                let record = compressor
                    .record(&key, &bytes)
                    .map_err(|message| FileError { path, message })?;
                Ok((s.served.clone(), record))
            })
            .collect();
        let mut out = HashMap::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok((served, record)) => {
                    out.insert(served, record);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(BuildError::Files(errors));
        }
        Ok(out)
    }

    /// Each bundle's members and their shares, from the bundles this build made (in the cache).
    fn makeups(
        &self,
        options: &BuildOptions,
        collected: &BTreeMap<String, Collected>,
    ) -> Vec<BundleMakeup> {
        let variant_key = variant(options).key();
        let template_ext = self.setup.pipeline.template_ext.as_str();
        let mut out = Vec::new();
        for def in &self.setup.bundles {
            let Some(node) = self.record.bundles.get(&node_key(&variant_key, def)) else {
                continue;
            };
            let Some((_, blob)) = node.outputs.iter().find(|(n, _)| *n == def.output) else {
                continue;
            };
            let code = self
                .cache
                .read(blob)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let map_name = format!("{}.map", def.output);
            let map = node
                .outputs
                .iter()
                .find(|(n, _)| *n == map_name)
                .and_then(|(_, b)| self.cache.read(b).ok())
                .and_then(|b| String::from_utf8(b).ok());
            let members: Vec<Member> = node
                .members
                .iter()
                .filter(|m| !m.ends_with(template_ext))
                .map(|listed| {
                    let member = compiled_name(listed, &self.setup.compilers)
                        .map_or_else(|| listed.clone(), |(_, c)| c);
                    let raw = collected.get(&member).map_or(0, |c| c.len);
                    Member {
                        listed: listed.clone(),
                        member,
                        raw,
                    }
                })
                .collect();
            let (bytes, other, mapped) = makeup(&def.output, &code, map.as_deref(), &members);
            out.push(BundleMakeup {
                label: def.label(),
                kind: def.kind,
                output: def.output.clone(),
                origin: def.origin.to_string(),
                mapped,
                len: blob.len,
                members: members
                    .into_iter()
                    .zip(bytes)
                    .map(|(m, bytes)| MemberShare {
                        listed: m.listed,
                        member: m.member,
                        raw: m.raw,
                        bytes,
                    })
                    .collect(),
                other,
            });
        }
        out
    }

    /// The compiled outputs among the collected files, with their sources.
    fn compiled_outputs(&self, collected: &BTreeMap<String, Collected>) -> Vec<CompiledOutput> {
        self.record
            .compiles
            .iter()
            .filter_map(|(source, node)| {
                node.code.filter(|_| !node.partial)?;
                // A source of the compiled name shadows the output: not compiled output.
                let file = collected.get(&node.output).filter(|c| c.source.is_none())?;
                Some(CompiledOutput {
                    source: source.clone(),
                    output: node.output.clone(),
                    source_len: self.index.files.get(source).map_or(0, |f| f.meta.len),
                    len: file.len,
                })
            })
            .collect()
    }
}
