//! What the browser overlay of `sluice dev` shows of sluice's problems: each one with its file
//! as the developer knows it (relative to the project), its position, the source lines around
//! it (the code frame) and, with `[dev] editor_url`, a link that opens the file in an editor.
//! sluice-dev shows what it is given and knows no files; the files are read here.

use std::path::{Path, PathBuf};

use sluice_core::config::Config;
use sluice_core::error::FileError;
use sluice_dev::{BuildError, SourceLine};
use sluice_engine::report::OutputConflict;

/// Lines shown before and after the error's line.
const CONTEXT: u32 = 1;
/// Lines longer than this many characters are cut (a minified file's one line must not fill
/// the event stream).
const LONGEST_LINE: usize = 400;

/// The problems of a pass or change set (files that could not be copied, outputs in the way).
pub fn overlay_errors(
    errors: &[FileError],
    conflicts: &[OutputConflict],
    config: &Config,
) -> Vec<BuildError> {
    let errors = errors.iter().map(|e| BuildError {
        message: e.message.clone(),
        file: Some(shown(&e.path, config)),
        link: link(config, &e.path, None, None),
        ..BuildError::default()
    });
    let conflicts = conflicts.iter().map(|c| BuildError {
        message: "in the way: a file sluice did not write is there; left untouched (move it away, or restart with --force to overwrite it)".into(),
        file: Some(shown(&c.output, config)),
        link: link(config, &c.output, None, None),
        ..BuildError::default()
    });
    errors.chain(conflicts).collect()
}

/// The dev profile's errors in force; a syntax error gets its code frame, read from the file.
pub fn overlay_derived<'e>(
    in_force: impl IntoIterator<Item = &'e sluice_assets::Error>,
    config: &Config,
) -> Vec<BuildError> {
    in_force
        .into_iter()
        .map(|e| match e {
            sluice_assets::Error::Syntax {
                file,
                line,
                column,
                message,
                source_line,
            } => {
                let path = absolute(Path::new(file), config);
                // The file may have changed since it was compiled: `code_frame` then shows
                // the compiler's own copy of the line alone.
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                BuildError {
                    message: message.clone(),
                    file: Some(shown(&path, config)),
                    line: Some(*line),
                    column: Some(*column),
                    frame: code_frame(&text, *line, source_line),
                    link: link(config, &path, Some(*line), Some(*column)),
                }
            }
            other => BuildError {
                message: other.to_string(),
                ..BuildError::default()
            },
        })
        .collect()
}

/// `path` relative to the project when inside it.
fn shown(path: &Path, config: &Config) -> String {
    path.strip_prefix(&config.project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn absolute(path: &Path, config: &Config) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        config.project_dir.join(path)
    }
}

fn link(config: &Config, path: &Path, line: Option<u32>, column: Option<u32>) -> Option<String> {
    let template = config.dev.editor_url.as_ref()?;
    Some(editor_link(
        &template.value,
        &absolute(path, config),
        line,
        column,
    ))
}

/// The lines around `line` (1-based) of `text`: [`CONTEXT`] on either side, numbered, each cut
/// at [`LONGEST_LINE`] characters. `source_line` is the line as the compiler saw it: when the
/// file no longer has it there (edited since), only that line is shown; empty means unknown.
pub fn code_frame(text: &str, line: u32, source_line: &str) -> Vec<SourceLine> {
    if line == 0 {
        return Vec::new();
    }
    let cut = |s: &str| match s.char_indices().nth(LONGEST_LINE) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    };
    let first = line.saturating_sub(CONTEXT).max(1);
    let lines: Vec<&str> = text
        .lines()
        .skip(first as usize - 1)
        .take((line - first + CONTEXT + 1) as usize)
        .collect();
    let at = lines.get((line - first) as usize).copied();
    let agrees = at.is_some_and(|l| source_line.is_empty() || l == source_line);
    if !agrees {
        if source_line.is_empty() {
            return Vec::new();
        }
        return vec![SourceLine {
            number: line,
            text: cut(source_line),
        }];
    }
    lines
        .iter()
        .zip(first..)
        .map(|(text, number)| SourceLine {
            number,
            text: cut(text),
        })
        .collect()
}

/// `template` (`[dev] editor_url`) filled in: `{path}` is the absolute path, percent-encoded,
/// `{line}` and `{column}` the position (1 when unknown). One `/` written before `{path}`
/// (`vscode://file/{path}`) is not doubled; `file://{path}` stays `file:///…`.
pub fn editor_link(template: &str, path: &Path, line: Option<u32>, column: Option<u32>) -> String {
    let encoded = percent_encode_path(path);
    let mut filled = String::new();
    let mut rest = template;
    while let Some(at) = rest.find("{path}") {
        let before = &rest[..at];
        let single_slash = before.ends_with('/') && !before.ends_with("//");
        filled.push_str(if single_slash && encoded.starts_with('/') {
            &before[..before.len() - 1]
        } else {
            before
        });
        filled.push_str(&encoded);
        rest = &rest[at + "{path}".len()..];
    }
    filled.push_str(rest);
    filled
        .replace("{line}", &line.unwrap_or(1).to_string())
        .replace("{column}", &column.unwrap_or(1).to_string())
}

/// A path for a URL: every byte but letters, digits, `-._~/` and `:` as `%XX`.
fn percent_encode_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(frame: &[SourceLine]) -> Vec<(u32, &str)> {
        frame.iter().map(|l| (l.number, l.text.as_str())).collect()
    }

    #[test]
    fn a_frame_is_the_line_and_one_either_side() {
        let text = "a {\n  color: $nope;\n}\n";
        assert_eq!(
            numbers(&code_frame(text, 2, "  color: $nope;")),
            [(1, "a {"), (2, "  color: $nope;"), (3, "}")]
        );
        // At the start and the end of the file.
        assert_eq!(
            numbers(&code_frame(text, 1, "a {")),
            [(1, "a {"), (2, "  color: $nope;")]
        );
        assert_eq!(
            numbers(&code_frame("x\r\ny", 2, "y")),
            [(1, "x"), (2, "y")],
            "CRLF line ends are not part of the text"
        );
        // The compiler's line unknown: the file's lines are taken as they are.
        assert_eq!(numbers(&code_frame(text, 3, "")).len(), 2);
    }

    #[test]
    fn a_file_edited_since_shows_the_compilers_line_alone() {
        let now = "a {\n  color: red;\n}\n";
        assert_eq!(
            numbers(&code_frame(now, 2, "  color: $nope;")),
            [(2, "  color: $nope;")]
        );
        // Shorter now than the error's line.
        assert_eq!(numbers(&code_frame("", 7, "x")), [(7, "x")]);
        assert!(code_frame("", 7, "").is_empty());
        assert!(code_frame(now, 0, "").is_empty());
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(LONGEST_LINE + 50);
        let frame = code_frame(&long, 1, &long);
        assert_eq!(frame[0].text.chars().count(), LONGEST_LINE + 1);
        assert!(frame[0].text.ends_with('…'));
    }

    #[test]
    fn editor_links() {
        let path = Path::new("/home/dev/my site/media/css/site.scss");
        assert_eq!(
            editor_link(
                "vscode://file/{path}:{line}:{column}",
                path,
                Some(7),
                Some(3)
            ),
            "vscode://file/home/dev/my%20site/media/css/site.scss:7:3"
        );
        assert_eq!(
            editor_link("idea://open?file={path}&line={line}", path, None, None),
            "idea://open?file=/home/dev/my%20site/media/css/site.scss&line=1"
        );
        assert_eq!(
            editor_link(
                "subl://open?url=file://{path}",
                Path::new("/a/#b?c"),
                None,
                None
            ),
            "subl://open?url=file:///a/%23b%3Fc",
        );
    }
}
