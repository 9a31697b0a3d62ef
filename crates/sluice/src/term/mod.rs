//! Everything sluice prints goes through here: coloured text for people (colours dropped when
//! the stream is not a terminal), one JSON object per event for machines, a progress bar on
//! long work, and `--quiet`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;
use serde_json::json;
use sluice_core::progress::Progress;

use crate::cli::Format;

/// A line on stderr, through [`Printer::say`] (which prefixes it in `sluice dev`).
macro_rules! say {
    ($printer:expr, $($arg:tt)*) => {
        $printer.say(format_args!($($arg)*))
    };
}

mod budgets;
mod build;
mod config;
mod dev;
mod errors;
mod sync;

pub use config::InitReport;

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

    /// A line of information (not shown with `--quiet`).
    pub fn note(&self, message: &str) {
        if !self.text() {
            self.json(&json!({"event": "note", "message": message}));
        } else if !self.quiet {
            say!(self, "{} {message}", "●".cyan().bold());
        }
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
