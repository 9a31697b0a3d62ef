//! Everything sluice prints goes through here: coloured text for people (colours dropped when
//! the stream is not a terminal), one JSON object per event for machines, a progress bar on
//! long work, and `--quiet`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;
use serde_json::json;
use sluice_core::config::{Config, DevCommand};
use sluice_core::progress::Progress;
use sluice_core::watch::{BackendKind, Notice};
use sluice_engine::build::Verdict;
use sluice_engine::report::{BuildError, BuildReport, ChangeReport, DeriveReport, SyncReport};

use crate::cli::Format;

/// A line on stderr, through [`Printer::say`] (which prefixes it in `sluice dev`).
macro_rules! say {
    ($printer:expr, $($arg:tt)*) => {
        $printer.say(format_args!($($arg)*))
    };
}

#[derive(Clone, Copy)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: bool,
    /// `sluice dev`: sluice's lines are prefixed `sluice │`, the backend's `web │`, so both
    /// can share one terminal.
    pub prefixed: bool,
}

/// The name shown before the backend's lines.
const BACKEND_TAG: &str = "web";
/// The width both tags are padded to.
const TAG_WIDTH: usize = 6;

/// `20000` → `20 000`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// `path` relative to `base` when inside it.
fn shown(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A path for JSON: serde refuses non-UTF-8 paths, and machines still want to see them.
fn lossy(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// What `sluice init` did, for [`Printer::init_report`].
pub struct InitReport<'a> {
    pub file: &'a Path,
    /// Whether the file was written (not with `--dry-run`).
    pub written: bool,
    pub keys: &'a [String],
    pub diff: &'a str,
    pub advice: &'a [String],
}

/// How many items of a long list to show without `-v`.
const SHORT_LIST: usize = 5;

impl Printer {
    pub fn text(&self) -> bool {
        self.format == Format::Text
    }

    /// Writes `args` to stderr as whole lines, each prefixed in `sluice dev`.
    pub fn say(&self, args: std::fmt::Arguments) {
        let text = args.to_string();
        let mut err = anstream::stderr().lock();
        if !self.prefixed {
            let _ = writeln!(err, "{text}");
            return;
        }
        let tag = format!("{:>TAG_WIDTH$} │", "sluice");
        for line in text.lines() {
            let _ = writeln!(err, "{} {line}", tag.cyan());
        }
    }

    pub fn json(&self, value: &serde_json::Value) {
        let mut out = anstream::stdout().lock();
        let _ = writeln!(out, "{value}");
    }

    pub fn warn(&self, message: &str) {
        if self.text() {
            say!(self, "{} {message}", "warning:".yellow().bold());
        } else {
            self.json(&json!({"event": "warning", "message": message}));
        }
    }

    /// An error with an optional location (`file:line:col`) and hint.
    pub fn error(&self, message: &str, location: Option<&str>, hint: Option<&str>) {
        if self.text() {
            say!(self, "{} {message}", "error:".red().bold());
            if let Some(location) = location {
                say!(self, "  {} {location}", "-->".blue().bold());
            }
            if let Some(hint) = hint {
                say!(self, "  {} {hint}", "hint:".cyan().bold());
            }
        } else {
            self.json(
                &json!({"event": "error", "message": message, "location": location, "hint": hint}),
            );
        }
    }

    /// A progress bar on stderr when it is a terminal and the work is long enough to watch.
    pub fn progress(&self, label: &'static str) -> Bar {
        let visible = self.text() && !self.quiet && std::io::stderr().is_terminal();
        Bar {
            bar: std::sync::OnceLock::new(),
            visible,
            label,
        }
    }

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
        for error in &report.errors {
            self.error(
                &format!("{}: {}", shown(&error.path, base), error.message),
                None,
                None,
            );
        }
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

    /// Files that lost to an earlier source folder with the same path.
    fn shadowed(&self, shadowed: &[sluice_core::sources::Shadowed], base: &Path) {
        self.list_warnings(
            shadowed,
            |n| {
                format!(
                    "{n} shadowed by an earlier source folder (first found wins, as in Django):"
                )
            },
            |s| {
                format!(
                    "{} from {} (using {})",
                    s.logical,
                    shown(&s.ignored, base),
                    shown(&s.used, base)
                )
            },
        );
    }

    fn list_warnings<T>(
        &self,
        items: &[T],
        head: impl Fn(String) -> String,
        line: impl Fn(&T) -> String,
    ) {
        if items.is_empty() {
            return;
        }
        let n = items.len();
        let limit = if self.verbose { n } else { SHORT_LIST };
        let mut text = head(plural(n, "file", "files"));
        for item in items.iter().take(limit) {
            text.push_str("\n  ");
            text.push_str(&line(item));
        }
        if n > limit {
            text.push_str(&format!("\n  … and {} more (-v lists them all)", n - limit));
        }
        self.warn(&text);
    }

    /// `sluice init`: the change (a unified diff, on stdout with `--dry-run`), what was set,
    /// and the Django settings to set by hand.
    pub fn init_report(&self, report: &InitReport) {
        if !self.text() {
            self.json(&json!({
                "event": "init",
                "file": lossy(report.file),
                "written": report.written,
                "keys": report.keys,
                "diff": report.diff,
                "advice": report.advice,
            }));
            return;
        }
        let name = report.file.display();
        if self.quiet {
            if !report.written {
                anstream::print!("{}", report.diff);
            }
            return;
        }
        if !report.written {
            anstream::print!("{}", report.diff);
            if report.diff.is_empty() {
                say!(self, "{name} is up to date");
            }
        } else if report.diff.is_empty() {
            say!(self, "{} {name} is up to date", "✓".green());
        } else if report.keys.is_empty() {
            say!(
                self,
                "{} wrote {name}: no keys, sluice finds everything itself (the comments say what it found)",
                "✓".green()
            );
        } else {
            say!(
                self,
                "{} wrote {name}: {}",
                "✓".green(),
                report.keys.join(", ")
            );
        }
        if !report.advice.is_empty() {
            say!(self, "In the Django development settings, set:");
            for line in report.advice {
                say!(self, "    {line}");
            }
        }
    }

    pub fn config(&self, config: &Config) {
        let base = &config.project_dir;
        let roots: Vec<serde_json::Value> = config
            .sources
            .value
            .iter()
            .map(|r| json!({"path": lossy(&r.path), "prefix": r.prefix, "ignore": r.ignore}))
            .collect();
        if !self.text() {
            let origin = |o: &sluice_core::config::Origin| o.to_string();
            self.json(&json!({
                "project_dir": lossy(&config.project_dir),
                "config_files": config.config_files.iter().map(|p| lossy(p)).collect::<Vec<_>>(),
                "state_dir": lossy(&config.state_dir),
                "sources": {"value": roots, "origin": origin(&config.sources.origin)},
                "output": {"value": lossy(&config.output.value), "origin": origin(&config.output.origin)},
                "static_url": {"value": config.static_url.value, "origin": origin(&config.static_url.origin)},
                "ignore": {"value": config.ignore.value, "origin": origin(&config.ignore.origin)},
                "python": {"value": config.python.value, "origin": origin(&config.python.origin)},
                "dev": {
                    "command": config.dev.command.as_ref().map(|c| json!({
                        "value": match &c.value {
                            DevCommand::Argv(argv) => json!(argv),
                            DevCommand::Shell(line) => json!(line),
                        },
                        "shell": matches!(c.value, DevCommand::Shell(_)),
                        "origin": origin(&c.origin),
                    })),
                    "port": {"value": config.dev.port.value, "origin": origin(&config.dev.port.origin)},
                    "host": {"value": config.dev.host.value, "origin": origin(&config.dev.host.origin)},
                    "editor_url": config.dev.editor_url.as_ref().map(|e| json!({
                        "value": e.value, "origin": origin(&e.origin),
                    })),
                },
                "django": config.django.as_ref().map(|d| json!({
                    "settings": {"value": d.module.value, "origin": origin(&d.module.origin)},
                    "version": d.settings.django_version,
                    "storage": d.settings.storage,
                    "finders": d.settings.finders,
                    "pipeline": d.settings.pipeline.is_some(),
                    "cached": d.freshness == sluice_core::django::Freshness::Cached,
                })),
                "bundles": config.bundles.iter().map(|b| json!({
                    "kind": b.kind.as_str(), "name": b.name, "files": b.files,
                    "output": b.output, "datauri": b.datauri, "origin": origin(&b.origin),
                })).collect::<Vec<_>>(),
                "compilers": {
                    "value": config.compilers.value.iter().map(|k| k.name()).collect::<Vec<_>>(),
                    "origin": origin(&config.compilers.origin),
                    "unknown": config.unknown_compilers,
                },
                "minify": {"value": config.build.minify.value, "origin": origin(&config.build.minify.origin)},
                "browserslist": config.build.browserslist.as_ref().map(|b| json!({
                    "value": b.value, "origin": origin(&b.origin),
                })),
                "build": {
                    "hash": {"value": config.build.hash.value, "origin": origin(&config.build.hash.origin)},
                    "compress": {"value": config.build.compress.value, "origin": origin(&config.build.compress.origin)},
                    "keep_only_hashed": {"value": config.build.keep_only_hashed.value, "origin": origin(&config.build.keep_only_hashed.origin)},
                    "budgets": config.build.budgets.iter().map(|b| json!({
                        "pattern": b.pattern.as_str(), "limit": b.limit.text,
                        "limit_bytes": b.limit.bytes, "measure": b.limit.measure.as_str(),
                        "total": b.limit.total, "origin": origin(&b.origin),
                    })).collect::<Vec<_>>(),
                },
                "warnings": config.warnings,
            }));
            return;
        }
        let row = |key: &str, value: String, origin: String| {
            anstream::println!(
                "{:<11} {value}  {}",
                key.bold(),
                format!("({origin})").dimmed()
            );
        };

        anstream::println!("{:<11} {}", "project".bold(), base.display());
        let files: Vec<String> = config.config_files.iter().map(|f| shown(f, base)).collect();
        anstream::println!(
            "{:<11} {}",
            "config".bold(),
            if files.is_empty() {
                "none".to_string()
            } else {
                files.join(", ")
            }
        );
        if let Some(d) = &config.django {
            let cached = if d.freshness == sluice_core::django::Freshness::Cached {
                ", cached"
            } else {
                ""
            };
            row(
                "django",
                format!(
                    "{} (Django {}{cached})",
                    d.module.value, d.settings.django_version
                ),
                d.module.origin.to_string(),
            );
            if let Some(storage) = &d.settings.storage {
                anstream::println!("{:<11} {storage}", "storage".bold());
            }
        }
        row(
            "python",
            config.python.value.clone(),
            config.python.origin.to_string(),
        );
        anstream::println!(
            "{:<11} {}",
            "sources".bold(),
            format!("({})", config.sources.origin).dimmed()
        );
        for root in &config.sources.value {
            let mount = root
                .prefix
                .as_ref()
                .map(|p| format!("{p}/ ← "))
                .unwrap_or_default();
            let own = if root.ignore.is_empty() {
                String::new()
            } else {
                format!("  (also ignoring {})", root.ignore.join(" "))
                    .dimmed()
                    .to_string()
            };
            anstream::println!("  {mount}{}{own}", shown(&root.path, base));
        }
        row(
            "output",
            shown(&config.output.value, base),
            config.output.origin.to_string(),
        );
        row(
            "static_url",
            config.static_url.value.clone(),
            config.static_url.origin.to_string(),
        );
        row(
            "ignore",
            config.ignore.value.join(" "),
            config.ignore.origin.to_string(),
        );
        if let Some(command) = &config.dev.command {
            let text = match &command.value {
                DevCommand::Argv(argv) => argv.join(" "),
                DevCommand::Shell(line) => format!("sh -c {line:?}"),
            };
            row("dev", text, command.origin.to_string());
        }
        row(
            "dev.listen",
            format!("{}:{}", config.dev.host.value, config.dev.port.value),
            if config.dev.port.origin == config.dev.host.origin {
                config.dev.port.origin.to_string()
            } else {
                format!("{}; {}", config.dev.host.origin, config.dev.port.origin)
            },
        );
        if let Some(editor) = &config.dev.editor_url {
            row(
                "dev.editor",
                editor.value.clone(),
                editor.origin.to_string(),
            );
        }
        let kinds: Vec<&str> = config.compilers.value.iter().map(|k| k.name()).collect();
        let mut compilers = if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(" ")
        };
        if !config.unknown_compilers.is_empty() {
            compilers.push_str(&format!(
                " (not supported: {})",
                config.unknown_compilers.join(", ")
            ));
        }
        row("compilers", compilers, config.compilers.origin.to_string());
        row(
            "minify",
            config.build.minify.value.to_string(),
            config.build.minify.origin.to_string(),
        );
        match &config.build.browserslist {
            Some(b) => row("browserslist", b.value.join(", "), b.origin.to_string()),
            None => row(
                "browserslist",
                "not set: .browserslistrc, else package.json, else defaults".to_string(),
                "default".to_string(),
            ),
        }
        let b = &config.build;
        row("hash", b.hash.value.to_string(), b.hash.origin.to_string());
        row(
            "compress",
            if b.compress.value.is_empty() {
                "none".to_string()
            } else {
                b.compress.value.join(",")
            },
            b.compress.origin.to_string(),
        );
        row(
            "keep_only_hashed",
            b.keep_only_hashed.value.to_string(),
            b.keep_only_hashed.origin.to_string(),
        );
        for b in &b.budgets {
            row(
                "budget",
                format!("{} ≤ {}", b.pattern.as_str(), b.limit.text),
                b.origin.to_string(),
            );
        }
        for warning in &config.warnings {
            self.warn(warning);
        }
        anstream::println!("{:<11} {}", "bundles".bold(), config.bundles.len());
        for b in &config.bundles {
            anstream::println!(
                "  {} {} → {}  {}",
                b.kind,
                b.name,
                b.output,
                format!("({})", b.origin).dimmed()
            );
        }
        anstream::println!("{:<11} {}", "state".bold(), shown(&config.state_dir, base));
    }
}

impl Printer {
    /// What the watch itself reports (a change set's own report goes to [`Printer::change_report`]).
    pub fn watch_notice<R>(&self, notice: &Notice<R>, config: &Config) {
        let base = &config.project_dir;
        match notice {
            Notice::Ready {
                backend,
                watched_dirs,
                elapsed,
            } => {
                let how = match backend {
                    BackendKind::Native => format!("{} folders", count(*watched_dirs)),
                    BackendKind::Poll(every) => format!("polling every {}", duration(*every)),
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
                    let poll_ms = match backend {
                        BackendKind::Poll(every) => Some(every.as_millis() as u64),
                        BackendKind::Native => None,
                    };
                    self.json(&json!({"event": "ready", "backend": if poll_ms.is_some() { "poll" } else { "native" }, "poll_ms": poll_ms, "watched_dirs": watched_dirs, "elapsed_ms": elapsed.as_secs_f64() * 1000.0}));
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
        for error in &report.errors {
            self.error(
                &format!("{}: {}", shown(&error.path, base), error.message),
                None,
                None,
            );
        }
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

/// `1234567` → `1.2 MB` (decimal units, as file managers show them).
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

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

    /// The errors that are a missing compiler, as one message per program rather than one
    /// per file that needs it; `tail` ends the hint.
    fn missing_tools<'e>(
        &self,
        errors: impl IntoIterator<Item = &'e sluice_assets::Error>,
        base: &Path,
        tail: &str,
    ) {
        let mut missing: Vec<(&str, &str, Vec<&str>)> = Vec::new();
        for error in errors {
            if let sluice_assets::Error::ToolMissing {
                file,
                program,
                install,
            } = error
            {
                match missing.iter_mut().find(|(p, _, _)| p == program) {
                    Some((_, _, files)) => files.push(file),
                    None => missing.push((program, install, vec![file])),
                }
            }
        }
        for (program, install, files) in &missing {
            let first = shown(Path::new(files[0]), base);
            let more = match files.len() {
                1 => String::new(),
                n => format!(
                    " (and {} more file{})",
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ),
            };
            self.error(
                &format!("{first}{more}: needs `{program}`, which was not found on PATH"),
                None,
                Some(&format!(
                    "install it with {install}, or set `compile = false` in sluice.toml{tail}"
                )),
            );
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
                for e in errors {
                    self.error(
                        &format!("{}: {}", shown(&e.path, base), e.message),
                        None,
                        None,
                    );
                }
                if matches!(error, BuildError::Files(_)) {
                    self.error(&format!("build stopped; {untouched}"), None, None);
                }
            }
            BuildError::Core(e) => self.error(&e.to_string(), None, None),
        }
    }
}

/// What a budget verdict is about: the file, or the budget's pattern.
fn budget_subject(v: &Verdict) -> String {
    match &v.file {
        Some((logical, _)) => logical.clone(),
        None => v.budget.pattern.as_str().to_string(),
    }
}

/// A budget verdict for `--format json`.
fn budget_json(v: &Verdict) -> serde_json::Value {
    json!({
        "budget": v.budget.pattern.as_str(),
        "limit": v.budget.limit.text,
        "limit_bytes": v.budget.limit.bytes,
        "measure": v.budget.limit.measure.as_str(),
        "total": v.budget.limit.total,
        "origin": v.budget.origin.to_string(),
        "file": v.file.as_ref().map(|(logical, _)| logical),
        "served": v.file.as_ref().map(|(_, served)| served),
        "files": v.files,
        "size": v.size,
        "over": v.over(),
        "unmatched": v.unmatched(),
    })
}

impl Printer {
    /// Outputs over their budget (and budgets that cover nothing): one table, or one JSON
    /// error listing them.
    fn budgets_failed(&self, verdicts: &[Verdict], base: &Path, page: Option<&Path>) {
        let failed: Vec<&Verdict> = verdicts.iter().filter(|v| v.failed()).collect();
        let over = failed.iter().filter(|v| !v.unmatched()).count();
        let unmatched = failed.len() - over;
        let mut parts = Vec::new();
        if over > 0 {
            parts.push(format!(
                "{} over {} size budget",
                plural(over, "output", "outputs"),
                if over == 1 { "its" } else { "their" }
            ));
        }
        if unmatched > 0 {
            parts.push(format!(
                "{} no output",
                plural(unmatched, "budget matches", "budgets match")
            ));
        }
        let message = parts.join("; ");
        let hint = "make them smaller or raise their limits in [build.budgets] \
                    (`sluice build --report` shows what is in them); nothing in the output \
                    was changed";
        if !self.text() {
            return self.json(&json!({
                "event": "error",
                "message": message,
                "hint": hint,
                "budgets": failed.iter().map(|v| budget_json(v)).collect::<Vec<_>>(),
                "report": page.map(lossy),
            }));
        }
        say!(self, "{} {message}", "error:".red().bold());
        let rows: Vec<[String; 6]> = failed
            .iter()
            .map(|v| {
                let (measured, result) = if v.unmatched() {
                    ("-".to_string(), "matches no output".to_string())
                } else {
                    let of = if v.budget.limit.total {
                        format!(" ({} files)", count(v.files))
                    } else {
                        String::new()
                    };
                    (
                        format!("{}{of}", size(v.size)),
                        format!("over by {}", size(v.over().unwrap_or(0))),
                    )
                };
                [
                    budget_subject(v),
                    v.budget.limit.measure.to_string(),
                    measured,
                    size(v.budget.limit.bytes),
                    result,
                    shown(Path::new(&v.budget.origin.to_string()), base),
                ]
            })
            .collect();
        let header = ["output", "measure", "size", "limit", "", "budget set in"];
        let widths: Vec<usize> = (0..6)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: [&str; 6]| {
            format!(
                "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:<w4$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            )
        };
        say!(self, "{}", line(header).trim_end().dimmed());
        for r in &rows {
            let text = line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
            say!(self, "{}", text.trim_end());
        }
        if let Some(page) = page {
            say!(
                self,
                "  {} {} (what would have shipped)",
                "report:".bold(),
                shown(page, base)
            );
        }
        say!(self, "  {} {hint}", "hint:".cyan().bold());
    }

    /// `sluice report`: the page, and what opened it.
    pub fn report_opened(&self, page: &Path, opened_with: Option<&str>) {
        if !self.text() {
            return self.json(&json!({
                "event": "report",
                "path": lossy(page),
                "opened_with": opened_with,
            }));
        }
        match opened_with {
            Some(program) => say!(self, "report: {} (opened with {program})", page.display()),
            None => say!(
                self,
                "report: {} (no browser here: open it in one)",
                page.display()
            ),
        }
    }
}

/// A file named in an asset error, relative to the project when inside it.
fn shown_file(file: &str, base: &Path) -> String {
    shown(Path::new(file), base)
}

/// An error or warning of sluice-assets for `--format json`, with its position when it has one.
fn asset_error_json(e: &sluice_assets::Error, base: &Path) -> serde_json::Value {
    match e {
        sluice_assets::Error::Syntax {
            file,
            line,
            column,
            message,
            source_line,
        } => json!({
            "message": message,
            "file": shown_file(file, base),
            "line": line,
            "column": column,
            "source_line": source_line,
            "location": format!("{}:{line}:{column}", shown_file(file, base)),
        }),
        other => json!({"message": other.to_string()}),
    }
}

impl Printer {
    /// A syntax error: message, `file:line:col`, the line with a caret under the column.
    fn syntax_error(&self, e: &sluice_assets::Error, base: &Path, hint: &str) {
        let sluice_assets::Error::Syntax {
            file,
            line,
            column,
            message,
            source_line,
        } = e
        else {
            return self.error(&e.to_string(), None, Some(hint));
        };
        let location = format!("{}:{line}:{column}", shown_file(file, base));
        if !self.text() {
            let mut value = asset_error_json(e, base);
            value["event"] = json!("error");
            value["hint"] = json!(hint);
            return self.json(&value);
        }
        say!(self, "{} {message}", "error:".red().bold());
        say!(self, "  {} {location}", "-->".blue().bold());
        if !source_line.is_empty() {
            let pad: String = source_line
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            say!(self, "   {} {source_line}", "|".blue().bold());
            say!(self, "   {} {pad}{}", "|".blue().bold(), "^".red().bold());
        }
        say!(self, "  {} {hint}", "hint:".cyan().bold());
    }

    /// Warnings of a build (CSS a minifier dropped, shadowed compiled outputs): the count and
    /// the first few (all with `-v`), each naming its file and line.
    fn asset_warnings(&self, warnings: &[sluice_assets::Error], base: &Path) {
        if warnings.is_empty() || !self.text() {
            return;
        }
        let n = warnings.len();
        let shown_n = if self.verbose { n } else { n.min(SHORT_LIST) };
        let mut lines = Vec::new();
        for w in &warnings[..shown_n] {
            lines.push(match w {
                sluice_assets::Error::Syntax {
                    file,
                    line,
                    column,
                    message,
                    ..
                } => format!("{}:{line}:{column}: {message}", shown_file(file, base)),
                other => other.to_string(),
            });
        }
        if n > shown_n {
            lines.push(format!("… and {} more (-v shows all)", n - shown_n));
        }
        self.warn(&format!(
            "{}:\n  {}",
            plural(n, "build warning", "build warnings"),
            lines.join("\n  ")
        ));
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// A progress bar that appears only for work worth watching.
pub struct Bar {
    bar: std::sync::OnceLock<ProgressBar>,
    visible: bool,
    label: &'static str,
}

/// Below this many files a pass is over before a bar could be read.
const BAR_THRESHOLD: u64 = 2000;

impl Progress for Bar {
    fn start(&self, total: u64) {
        if self.visible && total >= BAR_THRESHOLD {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:.cyan.bold} [{bar:30}] {pos}/{len} {per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(self.label);
            let _ = self.bar.set(bar);
        }
    }

    fn advance(&self) {
        if let Some(bar) = self.bar.get() {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

impl Printer {
    /// What the dev server reports: the backend's lines (prefixed `web │`) and its life cycle.
    pub fn dev_event(&self, event: &sluice_dev::Event, config: &Config) {
        use sluice_dev::{Event, Stream};
        if !self.text() {
            let value = match event {
                Event::Listening { addr } => json!({
                    "event": "listening",
                    "url": format!("http://{addr}/"),
                    "port": addr.port(),
                }),
                Event::BackendStarted { pid, port, argv } => {
                    json!({"event": "backend_started", "pid": pid, "port": port, "argv": argv})
                }
                Event::BackendUp {
                    port,
                    public,
                    after,
                } => json!({
                    "event": "backend_up", "port": port, "url": format!("http://{public}/"),
                    "elapsed_ms": after.as_secs_f64() * 1000.0,
                }),
                Event::Line { stream, text } => json!({
                    "event": "output",
                    "stream": if *stream == Stream::Stdout { "stdout" } else { "stderr" },
                    "line": String::from_utf8_lossy(text),
                }),
                Event::BackendExited { code, restart_in } => json!({
                    "event": "backend_exited",
                    "code": code,
                    "restart_in_ms": restart_in.map(|d| d.as_millis() as u64),
                }),
                Event::SpawnFailed { message } => json!({"event": "error", "message": message}),
                Event::Stopping { signal } => json!({"event": "stopping", "signal": signal}),
                Event::Escalated { signal } => json!({"event": "escalated", "signal": signal}),
                Event::BackendStopped { code } => json!({"event": "backend_stopped", "code": code}),
            };
            self.json(&value);
            return;
        }
        let info = |text: String| {
            if !self.quiet {
                say!(self, "{} {text}", "●".cyan().bold());
            }
        };
        match event {
            Event::Listening { addr } => info(format!(
                "listening on http://{addr}/ — {} from {}, everything else from the backend",
                config.static_url.value,
                shown(&config.output.value, &config.project_dir)
            )),
            Event::BackendStarted { pid, port, argv } => info(format!(
                "started {} (pid {pid}, port {port})",
                argv.join(" ").bold()
            )),
            // The last line of the start: the address to open (the backend's own has no
            // live reload).
            Event::BackendUp { public, after, .. } => {
                if !self.quiet {
                    say!(
                        self,
                        "{} ready: open {} (backend up after {})",
                        "✓".green().bold(),
                        format!("http://{public}/").bold().underline(),
                        duration(*after)
                    );
                }
            }
            Event::Line { text, .. } => {
                let tag = format!("{BACKEND_TAG:>TAG_WIDTH$} │");
                let line = String::from_utf8_lossy(text);
                let mut err = anstream::stderr().lock();
                let _ = writeln!(err, "{} {line}", tag.magenta());
            }
            Event::BackendExited { code, restart_in } => match restart_in {
                Some(delay) => self.warn(&format!(
                    "the backend exited with code {code}; restarting in {}",
                    duration(*delay)
                )),
                None if *code == 0 => info("the backend exited (code 0)".into()),
                None => self.warn(&format!("the backend exited with code {code}")),
            },
            Event::SpawnFailed { message } => self.error(message, None, None),
            Event::Stopping { signal } => info(format!(
                "{signal}: stopping the backend (again to hurry it)"
            )),
            Event::Escalated { signal } => self.warn(&format!(
                "the backend's processes did not stop in time: {signal} to its process group"
            )),
            Event::BackendStopped { .. } => info("backend stopped".into()),
        }
    }

    /// Live-reload events sent to the browsers (JSON always, text with `-v`).
    pub fn reload_sent(&self, sent: &[sluice_dev::ReloadEvent]) {
        use sluice_dev::ReloadEvent;
        for event in sent {
            let (kind, detail) = match event {
                ReloadEvent::Css(urls) => ("css", json!(urls)),
                ReloadEvent::Reload => ("reload", json!(null)),
                ReloadEvent::Errors(errors) => (
                    "errors",
                    json!(
                        errors
                            .iter()
                            .map(|e| match e.location().as_str() {
                                "" => e.message.clone(),
                                at => format!("{at}: {}", e.message),
                            })
                            .collect::<Vec<_>>()
                    ),
                ),
                ReloadEvent::Clear => ("clear", json!(null)),
            };
            if !self.text() {
                self.json(&json!({"event": "browser", "kind": kind, "detail": detail}));
            } else if self.verbose && !self.quiet {
                say!(self, "{} browser: {kind} {detail}", "↻".cyan());
            }
        }
    }
}
