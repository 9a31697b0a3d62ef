//! How an asset error or warning is said (by `build` and the dev profile alike): the file,
//! line and column, the source line with a caret, one message per missing program.

use std::path::Path;

use owo_colors::OwoColorize;
use serde_json::json;

use super::{Printer, SHORT_LIST, plural, shown};

impl Printer {
    /// The errors that are a missing compiler, as one message per program rather than one
    /// per file that needs it; `tail` ends the hint.
    pub(super) fn missing_tools<'e>(
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

    /// A syntax error: message, `file:line:col`, the line with a caret under the column.
    pub(super) fn syntax_error(&self, e: &sluice_assets::Error, base: &Path, hint: &str) {
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
    pub(super) fn asset_warnings(&self, warnings: &[sluice_assets::Error], base: &Path) {
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

/// A file named in an asset error, relative to the project when inside it.
pub(super) fn shown_file(file: &str, base: &Path) -> String {
    shown(Path::new(file), base)
}

/// An error or warning of sluice-assets for `--format json`, with its position when it has one.
pub(super) fn asset_error_json(e: &sluice_assets::Error, base: &Path) -> serde_json::Value {
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
