//! What `sluice build` says: its totals and largest files, and every way it can stop.

use std::path::Path;

use owo_colors::OwoColorize;
use serde_json::json;
use sluice_core::config::Config;

use super::{Printer, SHORT_LIST, count, duration, lossy, plural, shown};
use sluice_engine::report::{BuildError, BuildReport};

use super::budgets::{budget_json, budget_subject};
use super::errors::asset_error_json;
use super::size;
use sluice_engine::build::Verdict;

impl Printer {
    pub fn build_report(&self, report: &BuildReport, config: &Config, page: Option<&Path>) {
        let base = &config.project_dir;
        if !self.text() {
            self.json(&json!({
                "event": "build",
                "output": lossy(&config.output.value),
                "files": report.files,
                "outputs": report.outputs,
                "written": report.written,
                "unchanged": report.unchanged,
                "adopted": report.adopted,
                "removed": report.removed,
                "read": report.read,
                "replanned": report.replanned,
                "compressed": report.compressed,
                "compress_cpu_ms": report.compress_cpu.as_secs_f64() * 1000.0,
                "bytes": {
                    "raw": report.bytes.raw,
                    "gzip": report.bytes.gzip,
                    "brotli": report.bytes.brotli,
                    "zstd": report.bytes.zstd,
                },
                "manifest": report.manifest.as_deref().map(lossy),
                "largest": report.largest.iter().map(|l| json!({
                    "path": l.name, "raw": l.raw, "gzip": l.gzip, "brotli": l.brotli,
                })).collect::<Vec<_>>(),
                "shadowed": report.index.shadowed.iter().map(|s| json!({
                    "path": s.logical, "used": lossy(&s.used), "ignored": lossy(&s.ignored),
                })).collect::<Vec<_>>(),
                "kept_modified": report.kept_modified.iter().map(|p| lossy(p)).collect::<Vec<_>>(),
                "bundles": report.bundles,
                "minified": report.minified,
                "bundles_built": report.bundles_built,
                "compiled": report.compiled,
                "compiled_outputs": report.compiled_outputs,
                "warnings": report.warnings.iter().map(|w| asset_error_json(w, base)).collect::<Vec<_>>(),
                "budgets": report.budgets.iter().map(budget_json).collect::<Vec<_>>(),
                "report": page.map(lossy),
                "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
            }));
            return;
        }
        self.shadowed(&report.index.shadowed, base);
        self.asset_warnings(&report.warnings, base);
        for path in &report.kept_modified {
            self.warn(&format!(
                "{}: no longer built, but changed since sluice wrote it; left in place",
                shown(path, base)
            ));
        }
        if self.quiet {
            return;
        }
        let mut parts = vec![
            format!("{} written", count(report.written)),
            format!("{} unchanged", count(report.unchanged)),
        ];
        if report.adopted > 0 {
            parts.push(format!("{} already identical", count(report.adopted)));
        }
        parts.push(format!("{} removed", count(report.removed)));
        say!(
            self,
            "{} {} → {} outputs: {} in {} → {}",
            "✓".green().bold(),
            plural(report.files, "file", "files"),
            count(report.outputs),
            parts.join(", "),
            duration(report.elapsed),
            shown(&config.output.value, base).bold()
        );
        let mut bytes = format!("raw {}", size(report.bytes.raw));
        for (label, n) in [
            ("gzip", report.bytes.gzip),
            ("brotli", report.bytes.brotli),
            ("zstd", report.bytes.zstd),
        ] {
            if n > 0 {
                bytes.push_str(&format!(", {label} {}", size(n)));
            }
        }
        say!(
            self,
            "  {bytes} · {} read, {} css/js rewritten, {} compressed",
            count(report.read),
            count(report.replanned),
            count(report.compressed)
        );
        if !report.compiled_outputs.is_empty() {
            say!(
                self,
                "  {} ({} compiled now)",
                plural(
                    report.compiled_outputs.len(),
                    "compiled source",
                    "compiled sources"
                ),
                count(report.compiled)
            );
        }
        if !report.bundles.is_empty() {
            say!(
                self,
                "  {} ({}; {} built now)",
                plural(report.bundles.len(), "bundle output", "bundle outputs"),
                if report.minified {
                    "minified, with source maps"
                } else {
                    "not minified"
                },
                count(report.bundles_built)
            );
        }
        if !report.budgets.is_empty() {
            // The budget with the least to spare, as a share of its limit.
            let closest = report.budgets.iter().max_by(|a, b| {
                let used = |v: &Verdict| v.size as f64 / v.budget.limit.bytes.max(1) as f64;
                used(a).total_cmp(&used(b))
            });
            let mut line = format!(
                "  {} within {}",
                plural(report.budgets.len(), "output", "outputs"),
                if report.budgets.len() == 1 {
                    "its budget"
                } else {
                    "their budgets"
                }
            );
            if let Some(v) = closest {
                line.push_str(&format!(
                    " (closest: {} {} {} of {})",
                    budget_subject(v),
                    v.budget.limit.measure,
                    size(v.size),
                    size(v.budget.limit.bytes)
                ));
            }
            say!(self, "{line}");
        }
        if let Some(page) = page {
            say!(self, "  report: {}", shown(page, base).bold());
        }
        if report.largest.is_empty() {
            return;
        }
        say!(self, "  {}", "largest:".dimmed());
        let width = report
            .largest
            .iter()
            .map(|l| l.name.chars().count())
            .max()
            .unwrap_or(0);
        for l in &report.largest {
            let mut line = format!("    {:<width$}  {:>9}", l.name, size(l.raw));
            if let Some(n) = l.brotli {
                line.push_str(&format!("  br {}", size(n)));
            }
            if let Some(n) = l.gzip {
                line.push_str(&format!("  gz {}", size(n)));
            }
            say!(self, "{line}");
        }
    }

    /// A build that stopped: every error with its file (and line), nothing was changed.
    pub fn build_failed(&self, error: &BuildError, config: &Config, page: Option<&Path>) {
        let base = &config.project_dir;
        let untouched = "nothing in the output was changed";
        match error {
            BuildError::Budgets(failure) => self.budgets_failed(&failure.verdicts, base, page),
            BuildError::Manifest { error, sources } => {
                let source = |name: &str| {
                    sources
                        .get(name)
                        .map_or_else(|| name.to_string(), |p| shown(p, base))
                };
                for e in error.errors() {
                    match e {
                        sluice_assets::Error::MissingReference {
                            file,
                            line,
                            reference,
                            target,
                            ..
                        } => self.error(
                            &format!(
                                "{file}: the file '{target}' could not be found \
                                 (this reference {reference} on line {line})"
                            ),
                            Some(&format!("{}:{line}", source(file))),
                            Some(&format!("fix the reference or add the file; {untouched}")),
                        ),
                        sluice_assets::Error::NotUtf8 { file, .. } => self.error(
                            &e.to_string(),
                            Some(&source(file)),
                            Some(&format!("save it as UTF-8; {untouched}")),
                        ),
                        sluice_assets::Error::ReferenceCycle { files } => self.error(
                            &e.to_string(),
                            Some(
                                &files
                                    .iter()
                                    .map(|f| source(f))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                            Some(untouched),
                        ),
                        other => self.error(&other.to_string(), None, Some(untouched)),
                    }
                }
            }
            BuildError::Bundles(error) | BuildError::Compile(error) => {
                self.missing_tools(error.errors(), base, &format!("; {untouched}"));
                for e in error.errors() {
                    match e {
                        sluice_assets::Error::ToolMissing { .. } => {}
                        sluice_assets::Error::Syntax { .. } => {
                            self.syntax_error(e, base, &format!("fix it; {untouched}"))
                        }
                        sluice_assets::Error::Bundle {
                            bundle,
                            origin,
                            message,
                        } => self.error(
                            &format!("{bundle}: {message}"),
                            Some(origin),
                            Some(&format!("fix the bundle's files; {untouched}")),
                        ),
                        other => self.error(&other.to_string(), None, Some(untouched)),
                    }
                }
            }
            BuildError::Conflicts(paths) => {
                let n = paths.len();
                let listed: Vec<String> = paths
                    .iter()
                    .take(if self.verbose { n } else { SHORT_LIST })
                    .map(|p| shown(p, base))
                    .collect();
                let more = n.saturating_sub(listed.len());
                let mut list = listed.join(", ");
                if more > 0 {
                    list.push_str(&format!(" and {more} more"));
                }
                self.error(
                    &format!(
                        "{} in the output not written by sluice would be overwritten: {list}",
                        plural(n, "file", "files")
                    ),
                    None,
                    Some(&format!(
                        "move them away, or run `sluice build --force` to overwrite them; {untouched}"
                    )),
                );
            }
            BuildError::Files(errors) | BuildError::Commit(errors) => {
                self.file_errors(errors, base);
                if matches!(error, BuildError::Files(_)) {
                    self.error(&format!("build stopped; {untouched}"), None, None);
                }
            }
            BuildError::Core(e) => self.error(&e.to_string(), None, None),
        }
    }
}
