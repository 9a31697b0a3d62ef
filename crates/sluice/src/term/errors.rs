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

/// The OS error a file error ends with when it is one that every other write to the same
/// file system meets as well (full, read-only, over quota): such errors are said once.
fn shared_cause(message: &str) -> Option<&str> {
    ["(os error 28)", "(os error 30)", "(os error 122)"]
        .iter()
        .any(|code| message.ends_with(code))
        .then(|| {
            message
                .rsplit_once(": ")
                .map_or(message, |(_, cause)| cause)
        })
}

/// Which file errors are shown one per line (all with `verbose`), and per cause shared by more
/// than a few, how many more there were: a read-only output is one error, not one per file.
pub(super) fn file_error_lines(
    errors: &[sluice_core::error::FileError],
    verbose: bool,
) -> (Vec<&sluice_core::error::FileError>, Vec<(String, usize)>) {
    let mut shown = Vec::new();
    let mut more: Vec<(String, usize)> = Vec::new();
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for error in errors {
        let Some(cause) = shared_cause(&error.message).filter(|_| !verbose) else {
            shown.push(error);
            continue;
        };
        match seen.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) if *n >= SHORT_LIST => match more.iter_mut().find(|(c, _)| c == cause) {
                Some((_, m)) => *m += 1,
                None => more.push((cause.to_string(), 1)),
            },
            Some((_, n)) => {
                *n += 1;
                shown.push(error);
            }
            None => {
                seen.push((cause, 1));
                shown.push(error);
            }
        }
    }
    (shown, more)
}

impl Printer {
    /// File errors (`path: message`), a cause shared by many said once after a few of them.
    pub(super) fn file_errors(&self, errors: &[sluice_core::error::FileError], base: &Path) {
        let (each, more) = file_error_lines(errors, self.verbose);
        for error in each {
            self.error(
                &format!("{}: {}", shown(&error.path, base), error.message),
                None,
                None,
            );
        }
        for (cause, n) in more {
            self.error(
                &format!(
                    "… and {n} more {} failed the same way: {cause}",
                    if n == 1 { "file" } else { "files" }
                ),
                None,
                Some("-v lists them all"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::error::FileError;

    #[test]
    fn a_cause_every_write_meets_is_said_once_after_a_few_files() {
        let error = |i: usize, message: &str| FileError {
            path: format!("media/{i}.css").into(),
            message: message.to_string(),
        };
        let mut errors: Vec<FileError> = (0..50)
            .map(|i| {
                error(
                    i,
                    &format!("cannot write static/{i}.css: Read-only file system (os error 30)"),
                )
            })
            .collect();
        errors.push(error(
            99,
            "permission denied (Permission denied (os error 13))",
        ));
        errors.push(error(
            98,
            "permission denied (Permission denied (os error 13))",
        ));
        let (each, more) = file_error_lines(&errors, false);
        assert_eq!(each.len(), SHORT_LIST + 2);
        assert_eq!(
            more,
            [(
                "Read-only file system (os error 30)".to_string(),
                50 - SHORT_LIST
            )]
        );
        let (each, more) = file_error_lines(&errors, true);
        assert_eq!((each.len(), more.len()), (52, 0));
    }
}
