//! The build report (`sluice build --report`): what ships, made into one document from what
//! the build saw ([`sluice_engine::build::Analysis`]) — every file with its sizes, each
//! bundle's members and their shares, members shared by bundles, the compiled sources'
//! contribution, the budgets, what changed since the previous report and what compressing
//! did not pay for — then written as a self-contained HTML page ([`page`]) and kept as JSON
//! in `.sluice/report.json`, which the next report compares with and `sluice report` opens.
//!
//! Every measure is in bytes: `raw` (before minifying: a bundle's members' own bytes),
//! `min` (the file as it ships), `gzip` and `br` (its compressed copy when the build made
//! one, else the file itself — what a browser receives). A member's compressed bytes are its
//! share of the bundle's, in proportion to its minified bytes.

pub mod open;
pub mod page;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sluice_assets::compress::should_compress;
use sluice_engine::build::Verdict;
use sluice_engine::build::budget::served_size;
use sluice_engine::build::{Analysis, shipped::Shipped};

/// The report's format; bumped when a field changes meaning.
pub const VERSION: u32 = 1;

/// Where the last report's data is kept, in the state folder.
pub const DATA_NAME: &str = "report.json";

/// Where the report is written without a file name.
pub const DEFAULT_HTML: &str = "report.html";

/// Bytes in each measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    pub raw: u64,
    pub min: u64,
    pub gzip: u64,
    pub br: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct File {
    /// Its logical path.
    pub path: String,
    /// The name pages load it by.
    pub served: String,
    /// `bundle`, `map` (a bundle's source map), `compiled` (from a source a compiler
    /// took) or `file`.
    pub kind: String,
    pub sizes: Sizes,
    /// The build made a `.gz` / `.br` copy of it.
    pub gzip_copy: bool,
    pub br_copy: bool,
    /// Its type is one whitenoise compresses (not an image, font, archive or video).
    pub compressible: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// As the bundle lists it (`css/theme.scss`).
    pub path: String,
    /// The file joined (`css/theme.css`).
    pub file: String,
    pub sizes: Sizes,
    /// Its share of the bundle's minified bytes, 0–1.
    pub share: f64,
    /// The other bundles it is a member of.
    pub also_in: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// `css bundle "site"`.
    pub name: String,
    pub kind: String,
    pub output: String,
    pub origin: String,
    /// Shares from the minified bundle's source map (else from the members' own sizes).
    pub mapped: bool,
    pub sizes: Sizes,
    pub members: Vec<Member>,
    /// What no member accounts for: wrapper, separators, templates, the map comment.
    pub other: Sizes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedMember {
    pub path: String,
    pub bundles: Vec<String>,
    /// Its minified bytes, summed over those bundles.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub bundle: String,
    pub sizes: Sizes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compiled {
    pub source: String,
    pub output: String,
    /// The source's bytes, and the compiled output's.
    pub source_bytes: u64,
    pub output_bytes: u64,
    /// What it adds to each bundle it is a member of.
    pub bundles: Vec<Contribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetRow {
    pub pattern: String,
    pub limit: String,
    pub limit_bytes: u64,
    pub measure: String,
    pub total: bool,
    pub origin: String,
    /// The file measured (none for a total, or a budget that covers nothing).
    pub file: Option<String>,
    pub files: usize,
    pub size: u64,
    pub over: Option<u64>,
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    /// `None`: not in that build.
    pub before: Option<Sizes>,
    pub after: Option<Sizes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// When the report compared with was made (ms since the epoch).
    pub since_ms: u64,
    pub bundles: Vec<Change>,
    pub files: Vec<Change>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Uncompressed {
    /// Files of a type worth compressing whose compressed copy was not kept (it would not
    /// have been at most 95 % of the file), largest first: path, bytes.
    pub not_paid: Vec<(String, u64)>,
    /// Files never compressed for their type (images, fonts, archives, video): how many,
    /// how many bytes.
    pub skipped_files: usize,
    pub skipped_bytes: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub version: u32,
    pub generated_ms: u64,
    pub project: String,
    pub output: String,
    /// The HTML page written with it.
    pub html: String,
    /// The build shipped (its budgets held); else nothing moved into the output.
    pub shipped: bool,
    pub hashed: bool,
    pub minified: bool,
    /// The compressed copies the build made: `gzip`, `br`.
    pub encodings: Vec<String>,
    pub files: Vec<File>,
    pub bundles: Vec<Bundle>,
    pub shared: Vec<SharedMember>,
    pub compiled: Vec<Compiled>,
    pub budgets: Vec<BudgetRow>,
    /// `None`: no earlier report of this output to compare with.
    pub changes: Option<Changes>,
    pub uncompressed: Uncompressed,
}

/// What a report needs besides the analysis.
pub struct Context<'a> {
    pub project: &'a Path,
    pub output: &'a Path,
    pub html: &'a Path,
    pub hashed: bool,
    pub minified: bool,
    pub shipped: bool,
    pub generated_ms: u64,
}

/// `part` of `whole` bytes, in proportion to `of` of `total` (0 when `total` is 0).
fn portion(whole: u64, of: u64, total: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    ((u128::from(whole) * u128::from(of) + u128::from(total) / 2) / u128::from(total)) as u64
}

fn file_sizes(s: &Shipped) -> Sizes {
    use sluice_core::budget::Measure;
    Sizes {
        raw: s.raw,
        min: s.raw,
        gzip: served_size(s.raw, s.gzip, s.brotli, Measure::Gzip),
        br: served_size(s.raw, s.gzip, s.brotli, Measure::Brotli),
    }
}

fn budget_row(v: &Verdict, project: &Path) -> BudgetRow {
    let limit = &v.budget.limit;
    BudgetRow {
        pattern: v.budget.pattern.as_str().to_string(),
        limit: limit.text.clone(),
        limit_bytes: limit.bytes,
        measure: limit.measure.as_str().to_string(),
        total: limit.total,
        origin: {
            let origin = v.budget.origin.to_string();
            Path::new(&origin)
                .strip_prefix(project)
                .map_or(origin.clone(), |p| p.display().to_string())
        },
        file: v.file.as_ref().map(|(logical, _)| logical.clone()),
        files: v.files,
        size: v.size,
        over: v.over(),
        failed: v.failed(),
    }
}

/// The report of a build: `analysis` and `verdicts` from the engine, `previous` the last
/// report's document (compared with when it is of the same output).
pub fn document(
    analysis: &Analysis,
    verdicts: &[Verdict],
    previous: Option<&Document>,
    ctx: &Context,
) -> Document {
    let by_logical: BTreeMap<&str, &Shipped> = analysis
        .shipped
        .iter()
        .map(|s| (s.logical.as_str(), s))
        .collect();
    let bundle_outputs: BTreeSet<&str> =
        analysis.bundles.iter().map(|b| b.output.as_str()).collect();
    let maps: BTreeSet<String> = analysis
        .bundles
        .iter()
        .map(|b| format!("{}.map", b.output))
        .collect();
    let compiled_outputs: BTreeSet<&str> = analysis
        .compiled
        .iter()
        .map(|c| c.output.as_str())
        .collect();

    // Which bundles each joined file is in.
    let mut member_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for b in &analysis.bundles {
        for m in &b.members {
            member_of
                .entry(m.member.as_str())
                .or_default()
                .push(&b.output);
        }
    }

    let mut bundles = Vec::new();
    for b in &analysis.bundles {
        let served = by_logical.get(b.output.as_str());
        let (gzip, br) = served.map_or((b.len, b.len), |s| {
            let sizes = file_sizes(s);
            (sizes.gzip, sizes.br)
        });
        let len = b.len;
        let scaled = |bytes: u64, raw: u64| Sizes {
            raw,
            min: bytes,
            gzip: portion(gzip, bytes, len),
            br: portion(br, bytes, len),
        };
        let members: Vec<Member> = b
            .members
            .iter()
            .map(|m| Member {
                path: m.listed.clone(),
                file: m.member.clone(),
                sizes: scaled(m.bytes, m.raw),
                share: if len == 0 {
                    0.0
                } else {
                    m.bytes as f64 / len as f64
                },
                also_in: member_of
                    .get(m.member.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|o| **o != b.output)
                    .map(|o| o.to_string())
                    .collect(),
            })
            .collect();
        let other = scaled(b.other, b.other);
        let sum =
            |f: fn(&Sizes) -> u64| members.iter().map(|m| f(&m.sizes)).sum::<u64>() + f(&other);
        let sizes = Sizes {
            raw: sum(|s| s.raw),
            min: sum(|s| s.min),
            gzip: sum(|s| s.gzip),
            br: sum(|s| s.br),
        };
        bundles.push(Bundle {
            name: b.label.clone(),
            kind: b.kind.as_str().to_string(),
            output: b.output.clone(),
            origin: b.origin.clone(),
            mapped: b.mapped,
            sizes,
            members,
            other,
        });
    }
    let bundle_sizes: BTreeMap<&str, Sizes> = bundles
        .iter()
        .map(|b| (b.output.as_str(), b.sizes))
        .collect();

    let files: Vec<File> = analysis
        .shipped
        .iter()
        .map(|s| {
            let kind = if bundle_outputs.contains(s.logical.as_str()) {
                "bundle"
            } else if maps.contains(&s.logical) {
                "map"
            } else if compiled_outputs.contains(s.logical.as_str()) {
                "compiled"
            } else {
                "file"
            };
            let sizes = match bundle_sizes.get(s.logical.as_str()) {
                // A bundle's raw bytes are its members' before minifying.
                Some(b) => Sizes {
                    raw: b.raw,
                    ..file_sizes(s)
                },
                None => file_sizes(s),
            };
            File {
                path: s.logical.clone(),
                served: s.served.clone(),
                kind: kind.to_string(),
                sizes,
                gzip_copy: s.gzip.is_some(),
                br_copy: s.brotli.is_some(),
                compressible: s.raw > 0 && should_compress(&s.served),
            }
        })
        .collect();

    let mut shared: Vec<SharedMember> = member_of
        .iter()
        .filter(|(_, in_bundles)| in_bundles.len() > 1)
        .map(|(file, in_bundles)| SharedMember {
            path: file.to_string(),
            bundles: in_bundles.iter().map(|b| b.to_string()).collect(),
            bytes: bundles
                .iter()
                .flat_map(|b| &b.members)
                .filter(|m| m.file == *file)
                .map(|m| m.sizes.min)
                .sum(),
        })
        .collect();
    shared.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));

    let compiled = analysis
        .compiled
        .iter()
        .map(|c| Compiled {
            source: c.source.clone(),
            output: c.output.clone(),
            source_bytes: c.source_len,
            output_bytes: c.len,
            bundles: bundles
                .iter()
                .flat_map(|b| {
                    b.members
                        .iter()
                        .filter(|m| m.file == c.output || m.path == c.source)
                        .map(|m| Contribution {
                            bundle: b.output.clone(),
                            sizes: m.sizes,
                        })
                })
                .collect(),
        })
        .collect();

    let mut encodings = Vec::new();
    if analysis.gzip {
        encodings.push("gzip".to_string());
    }
    if analysis.brotli {
        encodings.push("br".to_string());
    }
    let mut uncompressed = Uncompressed::default();
    let compressing = analysis.gzip || analysis.brotli;
    for f in &files {
        if f.sizes.min == 0 {
            continue;
        }
        if !f.compressible {
            uncompressed.skipped_files += 1;
            uncompressed.skipped_bytes += f.sizes.min;
        } else if compressing && !f.gzip_copy && !f.br_copy {
            uncompressed.not_paid.push((f.path.clone(), f.sizes.min));
        }
    }
    uncompressed
        .not_paid
        .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let output = ctx.output.display().to_string();
    let changes = previous
        .filter(|p| p.version == VERSION && p.output == output)
        .map(|p| changes(p, &files));
    Document {
        version: VERSION,
        generated_ms: ctx.generated_ms,
        project: ctx.project.display().to_string(),
        output,
        html: ctx.html.display().to_string(),
        shipped: ctx.shipped,
        hashed: ctx.hashed,
        minified: ctx.minified,
        encodings,
        files,
        bundles,
        shared,
        compiled,
        budgets: verdicts
            .iter()
            .map(|v| budget_row(v, ctx.project))
            .collect(),
        changes,
        uncompressed,
    }
}

/// What grew, shrank, appeared or went since `previous`: bundles, and the other files (maps
/// aside), the largest change in minified bytes first.
pub fn changes(previous: &Document, files: &[File]) -> Changes {
    let before: BTreeMap<&str, &File> = previous
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let after: BTreeMap<&str, &File> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut bundles = Vec::new();
    let mut other = Vec::new();
    let paths: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    for path in paths {
        let (b, a) = (before.get(path), after.get(path));
        let file = a.or(b).copied();
        if file.is_some_and(|f| f.kind == "map") {
            continue;
        }
        let (bs, as_) = (b.map(|f| f.sizes), a.map(|f| f.sizes));
        if bs == as_ {
            continue;
        }
        let change = Change {
            path: path.to_string(),
            before: bs,
            after: as_,
        };
        if file.is_some_and(|f| f.kind == "bundle") {
            bundles.push(change);
        } else {
            other.push(change);
        }
    }
    let delta = |c: &Change| {
        let n = |s: Option<Sizes>| s.map_or(0, |s| s.min) as i128;
        (n(c.after) - n(c.before)).abs()
    };
    for list in [&mut bundles, &mut other] {
        list.sort_by(|x, y| delta(y).cmp(&delta(x)).then_with(|| x.path.cmp(&y.path)));
    }
    Changes {
        since_ms: previous.generated_ms,
        bundles,
        files: other,
    }
}

/// The last report's document in `state_dir`, when there is a readable one.
pub fn previous(state_dir: &Path) -> Option<Document> {
    let bytes = std::fs::read(state_dir.join(DATA_NAME)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes the page and, when the build shipped, keeps the document in the state folder (the
/// next report compares with it): both atomically. A build that did not ship leaves the
/// last document alone, so the next report still compares with what is in the output.
pub fn write(document: &Document, state_dir: &Path) -> std::io::Result<PathBuf> {
    let html = PathBuf::from(&document.html);
    sluice_core::output::write_atomic(&html, page::render(document).as_bytes())?;
    if document.shipped {
        let json = serde_json::to_vec(document).map_err(std::io::Error::other)?;
        sluice_core::output::write_atomic(&state_dir.join(DATA_NAME), &json)?;
    }
    Ok(html)
}

/// The page of the last report, named by `.sluice/report.json` (else the default place).
pub fn last_page(state_dir: &Path) -> PathBuf {
    previous(state_dir)
        .map(|d| PathBuf::from(d.html))
        .unwrap_or_else(|| state_dir.join(DEFAULT_HTML))
}

#[cfg(test)]
mod tests;
