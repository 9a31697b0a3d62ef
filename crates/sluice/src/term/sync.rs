//! What `sync`, `watch` and the dev profile say: the summary of a pass, each change set, what
//! was compiled and bundled.

use owo_colors::OwoColorize;
use serde_json::json;
use sluice_core::config::Config;

use super::errors::asset_error_json;
use super::{Printer, SHORT_LIST, count, duration, lossy, plural, shown};
use sluice_core::watch::{BackendKind, Notice};
use sluice_engine::report::{ChangeReport, DeriveReport, SyncReport};

impl Printer {
    pub fn sync_report(&self, report: &SyncReport, config: &Config) {
        let base = &config.project_dir;
        if !self.text() {
            self.json(&json!({
                "event": "sync",
                "output": lossy(&config.output.value),
                "files": report.files,
                "copied": report.copied,
                "unchanged": report.unchanged,
                "adopted": report.adopted,
                "removed": report.removed,
                "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
                "conflicts": report.conflicts.iter().map(|c| &c.logical).collect::<Vec<_>>(),
                "shadowed": report.index.shadowed.iter().map(|s| json!({
                    "path": s.logical, "used": lossy(&s.used), "ignored": lossy(&s.ignored),
                })).collect::<Vec<_>>(),
                "case_collisions": report.case_collisions,
                "kept_modified": report.kept_modified.iter().map(|p| lossy(p)).collect::<Vec<_>>(),
                "symlink_loops": report.index.problems.iter()
                    .filter(|p| p.kind == sluice_core::sources::ProblemKind::SymlinkLoop)
                    .map(|p| lossy(&p.path)).collect::<Vec<_>>(),
                "errors": report.errors.iter().map(|e| json!({"path": lossy(&e.path), "message": e.message})).collect::<Vec<_>>(),
            }));
            return;
        }
        self.shadowed(&report.index.shadowed, base);
        self.list_warnings(
            &report.case_collisions,
            |n| format!("{n} would collide on a case-insensitive filesystem (macOS, Windows):"),
            |group| group.join(" ≍ "),
        );
        for problem in report
            .index
            .problems
            .iter()
            .filter(|p| p.kind == sluice_core::sources::ProblemKind::SymlinkLoop)
        {
            self.warn(&format!(
                "{}: {}",
                shown(&problem.path, base),
                problem.detail
            ));
        }
        for path in &report.kept_modified {
            self.warn(&format!(
                "{}: its source is gone, but it changed since sluice wrote it; left in place",
                shown(path, base)
            ));
        }
        if report.removals_skipped {
            self.warn(
                "some source folders could not be read, so no outputs were removed this time",
            );
        }
        self.file_errors(&report.errors, base);
        if !report.conflicts.is_empty() {
            let n = report.conflicts.len();
            let shown_paths: Vec<String> = report
                .conflicts
                .iter()
                .take(if self.verbose { n } else { SHORT_LIST })
                .map(|c| shown(&c.output, base))
                .collect();
            let more = n.saturating_sub(shown_paths.len());
            let list = shown_paths.join(", ")
                + &if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
            self.error(
                &format!(
                    "{} in the output not written by sluice, left untouched: {list}",
                    plural(n, "file", "files")
                ),
                None,
                Some("move them away, or run `sluice sync --force` to overwrite them"),
            );
        }
        if self.quiet {
            return;
        }
        let mut parts = vec![
            format!("{} copied", count(report.copied)),
            format!("{} unchanged", count(report.unchanged)),
        ];
        if report.adopted > 0 {
            parts.push(format!("{} already identical", count(report.adopted)));
        }
        parts.push(format!("{} removed", count(report.removed)));
        let line = format!(
            "{}: {} in {}",
            plural(report.files, "file", "files"),
            parts.join(", "),
            duration(report.elapsed)
        );
        let status = if report.ok() && report.conflicts.is_empty() {
            "✓".green().bold().to_string()
        } else {
            "✗".red().bold().to_string()
        };
        say!(
            self,
            "{status} {line} → {}",
            shown(&config.output.value, base).bold()
        );
    }

    /// What the watch itself reports (a change set's own report goes to [`Printer::change_report`]).
    pub fn watch_notice<R>(&self, notice: &Notice<R>, config: &Config) {
        let base = &config.project_dir;
        match notice {
            Notice::SlowRoot { root, why, polled } => {
                if !*polled {
                    self.warn(&format!(
                        "source folder {} is on {why}; watched with file events anyway \
                         (--no-poll or poll = false): changes made there will be missed",
                        shown(root, base)
                    ));
                } else if self.text() {
                    if !self.quiet {
                        say!(
                            self,
                            "{} source folder {} is on {why}: polling it",
                            "●".cyan().bold(),
                            shown(root, base)
                        );
                    }
                } else {
                    self.json(&json!({"event": "slow_root", "path": lossy(root), "reason": why, "backend": "poll"}));
                }
            }
            Notice::Ready {
                backend,
                watched_dirs,
                elapsed,
                roots,
            } => {
                let polled = roots.iter().filter(|r| r.polled).count();
                let how = match backend {
                    BackendKind::Native => format!("{} folders", count(*watched_dirs)),
                    BackendKind::Poll(every) => format!("polling every {}", duration(*every)),
                    BackendKind::Mixed(every) => format!(
                        "{} folders, polling {} every {}",
                        count(*watched_dirs),
                        plural(polled, "source folder", "source folders"),
                        duration(*every)
                    ),
                };
                if self.text() {
                    if !self.quiet {
                        say!(
                            self,
                            "{} watching ({how}), ready in {} — Ctrl-C to stop",
                            "●".cyan().bold(),
                            duration(*elapsed)
                        );
                    }
                } else {
                    let (name, poll_ms) = match backend {
                        BackendKind::Poll(every) => ("poll", Some(every.as_millis() as u64)),
                        BackendKind::Mixed(every) => ("mixed", Some(every.as_millis() as u64)),
                        BackendKind::Native => ("native", None),
                    };
                    let roots: Vec<serde_json::Value> = roots
                        .iter()
                        .map(|r| json!({"path": lossy(&r.path), "backend": if r.polled { "poll" } else { "native" }, "remote": r.remote}))
                        .collect();
                    self.json(&json!({"event": "ready", "backend": name, "poll_ms": poll_ms, "watched_dirs": watched_dirs, "elapsed_ms": elapsed.as_secs_f64() * 1000.0, "roots": roots}));
                }
            }
            Notice::Changed(_) => {}
            Notice::Warning(message) => self.warn(message),
            Notice::FellBack { reason, interval } => self.warn(&format!(
                "{reason}; polling every {} instead (use --poll to choose this up front)",
                duration(*interval)
            )),
            Notice::RootMissing(root) => self.warn(&format!(
                "source folder {} disappeared; its outputs are kept, waiting for it to come back",
                shown(root, base)
            )),
            Notice::RootBack(root) => {
                if self.text() && !self.quiet {
                    say!(
                        self,
                        "{} source folder {} is back",
                        "●".cyan().bold(),
                        shown(root, base)
                    );
                } else if !self.text() {
                    self.json(&json!({"event": "root_back", "path": lossy(root)}));
                }
            }
        }
    }

    /// One change set of a watch: the sources' copies (what was derived is
    /// [`Printer::derive_report`]'s).
    pub fn change_report(&self, report: &ChangeReport, config: &Config) {
        let base = &config.project_dir;
        let out = shown(&config.output.value, base);
        if !self.text() {
            self.json(&json!({
                "event": "change",
                "changed": report.changed,
                "copied": report.copied,
                "removed": report.removed,
                "conflicts": report.conflicts.iter().map(|c| &c.logical).collect::<Vec<_>>(),
                "errors": report.errors.iter().map(|e| json!({"path": lossy(&e.path), "message": e.message})).collect::<Vec<_>>(),
                "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
            }));
            return;
        }
        self.file_errors(&report.errors, base);
        for conflict in &report.conflicts {
            self.error(
                &format!(
                    "{}: in the way, not written by sluice; left untouched",
                    shown(&conflict.output, base)
                ),
                None,
                Some("move it away, or restart with --force"),
            );
        }
        if self.quiet || report.changed.is_empty() {
            return;
        }
        let what = if report.changed.len() <= 3 {
            report.changed.join(", ")
        } else {
            format!("{} changed", count(report.changed.len()))
        };
        say!(
            self,
            "{} {what} → {out} in {}",
            "✓".green().bold(),
            duration(report.elapsed)
        );
    }

    /// What the dev profile derived: compiled sources and bundles written, errors (with the
    /// source line), conflicts, warnings.
    pub fn derive_report(&self, report: &DeriveReport, config: &Config) {
        let base = &config.project_dir;
        if !self.text() {
            if report.changed.is_empty()
                && report.errors.is_empty()
                && report.conflicts.is_empty()
                && report.warnings.is_empty()
            {
                return;
            }
            self.json(&json!({
                "event": "derived",
                "changed": report.changed,
                "compiled": report.compiled,
                "bundled": report.bundled,
                "errors": report.errors.iter().map(|e| asset_error_json(e, base)).collect::<Vec<_>>(),
                "conflicts": report.conflicts,
                "warnings": report.warnings,
                "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
            }));
            return;
        }
        self.missing_tools(&report.errors, base, "");
        for error in &report.errors {
            let hint = "the last good output is kept";
            match error {
                sluice_assets::Error::ToolMissing { .. } => {}
                sluice_assets::Error::Syntax { .. } => self.syntax_error(error, base, hint),
                other => self.error(&other.to_string(), None, Some(hint)),
            }
        }
        let out = shown(&config.output.value, base);
        for conflict in &report.conflicts {
            self.error(
                &format!("{out}/{conflict}: in the way, not written by sluice; left untouched"),
                None,
                Some(
                    "move it away (sluice writes it on the next change), or run with --force to overwrite it",
                ),
            );
        }
        for warning in &report.warnings {
            self.warn(warning);
        }
        if self.quiet || report.changed.is_empty() {
            return;
        }
        say!(
            self,
            "{} {} in {}",
            "✓".green().bold(),
            derived_summary(report, &out),
            duration(report.elapsed)
        );
    }

    pub fn stopped(&self) {
        if self.text() && !self.quiet {
            say!(self, "{} stopped, state saved", "●".cyan().bold());
        } else if !self.text() {
            self.json(&json!({"event": "stopped"}));
        }
    }
}

/// What a dev-profile pass did, in words: `compiled 1, bundled 7 → static (15 files)`, or the
/// outputs themselves when there are few (source maps not counted): `bundled 1 →
/// css/home-bundle.css`.
fn derived_summary(report: &DeriveReport, out: &str) -> String {
    let mut did = Vec::new();
    if report.compiled > 0 {
        did.push(format!("compiled {}", count(report.compiled)));
    }
    if report.bundled > 0 {
        did.push(format!("bundled {}", count(report.bundled)));
    }
    let did = if did.is_empty() {
        "updated".to_string()
    } else {
        did.join(", ")
    };
    let files: Vec<&str> = report
        .changed
        .iter()
        .map(String::as_str)
        .filter(|p| !p.ends_with(".map"))
        .collect();
    if !files.is_empty() && files.len() <= 3 {
        format!("{did} → {}", files.join(", "))
    } else {
        format!(
            "{did} → {out} ({})",
            plural(report.changed.len(), "file", "files")
        )
    }
}
