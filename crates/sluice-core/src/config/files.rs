//! The configuration files: `sluice.toml` and `[tool.sluice]` in `pyproject.toml`, found from
//! the working directory up, parsed with the line of every key (for messages), most important
//! first.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::dev::DevKeys;
use crate::bundles::BundleTables;
use crate::error::{Error, Result};
use crate::origin::Origin;

/// `sources = ["media", { path = "vendor/static", prefix = "vendor" }]`
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum SourceSpec {
    Path(String),
    Table {
        path: String,
        prefix: Option<String>,
    },
}

/// `poll = true`, `poll = 250` (milliseconds) or `poll = false`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub(crate) enum PollSpec {
    On(bool),
    Every(u64),
}

/// The keys of `sluice.toml` / `[tool.sluice]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) sources: Option<Vec<SourceSpec>>,
    pub(crate) output: Option<String>,
    pub(crate) static_url: Option<String>,
    pub(crate) ignore: Option<Vec<String>>,
    pub(crate) default_ignore: Option<bool>,
    pub(crate) django_settings: Option<String>,
    pub(crate) python: Option<String>,
    /// A bedrock-style `static-bundles.json`, relative to the file.
    pub(crate) static_bundles: Option<String>,
    pub(crate) bundles: Option<BundleTables>,
    /// `compile = false` (members are joined as they are), or the `[compile]` table.
    pub(crate) compile: Option<super::compile::CompileSpec>,
    /// `watch`/`dev`: `true` or milliseconds polls every root, `false` never chooses polling.
    pub(crate) poll: Option<PollSpec>,
    pub(crate) dev: Option<DevKeys>,
    #[serde(rename = "build")]
    pub(crate) _build: Option<toml::Table>,
    #[serde(rename = "publish")]
    pub(crate) _publish: Option<toml::Table>,
    #[serde(rename = "cache")]
    pub(crate) _cache: Option<toml::Table>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Deserialize)]
struct PyprojectTool {
    sluice: Option<FileConfig>,
}

/// One configuration file, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    /// The table header the keys live under (`[tool.sluice]`), if any.
    pub(crate) section: Option<&'static str>,
    pub(crate) keys: FileConfig,
}

impl Layer {
    pub(crate) fn origin(&self, key: &str) -> Origin {
        Origin::File(self.path.clone(), key_line(&self.text, self.section, key))
    }

    /// Where `key` of the table `table` (`dev`, `build`, `build.budgets`, …) is set: under
    /// `[table]`, or `[tool.sluice.table]` in a `pyproject.toml`.
    pub(crate) fn table_origin(&self, table: &str, key: &str) -> Origin {
        let section = match self.section {
            None => format!("[{table}]"),
            Some(_) => format!("[tool.sluice.{table}]"),
        };
        Origin::File(self.path.clone(), key_line(&self.text, Some(&section), key))
    }

    pub(crate) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// The 1-based line of `key = …` in `text`, inside `section` when given.
pub(crate) fn key_line(text: &str, section: Option<&str>, key: &str) -> Option<usize> {
    let mut inside = section.is_none();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            inside = section.is_some_and(|s| trimmed.trim_end() == s);
            continue;
        }
        if inside
            && let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    None
}

/// `file:line:col` for a byte offset.
fn location(path: &Path, text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{}:{line}:{col}", path.display())
}

fn parse_error(path: &Path, text: &str, err: toml::de::Error) -> Error {
    let at = err.span().map_or_else(
        || path.display().to_string(),
        |s| location(path, text, s.start),
    );
    Error::config(format!("invalid configuration: {}", err.message())).with_location(at)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!("cannot read {}: {e}", path.display()))
            .with_location(path.display().to_string())
    })
}

pub(crate) fn load_sluice_toml(path: &Path) -> Result<Layer> {
    let text = read(path)?;
    let keys = toml::from_str::<FileConfig>(&text).map_err(|e| parse_error(path, &text, e))?;
    Ok(Layer {
        path: path.to_path_buf(),
        text,
        section: None,
        keys,
    })
}

/// `[tool.sluice]` of a `pyproject.toml`, or `None` when it has none.
fn load_pyproject(path: &Path) -> Result<Option<Layer>> {
    let text = read(path)?;
    let parsed = toml::from_str::<Pyproject>(&text).map_err(|e| parse_error(path, &text, e))?;
    Ok(parsed.tool.and_then(|t| t.sluice).map(|keys| Layer {
        path: path.to_path_buf(),
        text,
        section: Some("[tool.sluice]"),
        keys,
    }))
}

/// The project folder and its configuration files, most important first, and whether a
/// project was found at all (else the folder is `cwd` and there are no files).
pub(crate) fn discover(cwd: &Path, explicit: Option<&Path>) -> Result<(PathBuf, Vec<Layer>, bool)> {
    if let Some(file) = explicit {
        let file = std::path::absolute(cwd.join(file)).unwrap_or_else(|_| file.to_path_buf());
        let dir = file.parent().unwrap_or(cwd).to_path_buf();
        let layer = if file.file_name().is_some_and(|n| n == "pyproject.toml") {
            load_pyproject(&file)?.ok_or_else(|| {
                Error::config(format!("{} has no [tool.sluice] table", file.display()))
            })?
        } else {
            load_sluice_toml(&file)?
        };
        return Ok((dir, vec![layer], true));
    }
    for dir in cwd.ancestors() {
        let mut layers = Vec::new();
        let sluice_toml = dir.join("sluice.toml");
        if sluice_toml.is_file() {
            layers.push(load_sluice_toml(&sluice_toml)?);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file()
            && let Some(layer) = load_pyproject(&pyproject)?
        {
            layers.push(layer);
        }
        if !layers.is_empty() || dir.join("manage.py").is_file() {
            return Ok((dir.to_path_buf(), layers, true));
        }
    }
    Ok((cwd.to_path_buf(), Vec::new(), false))
}

/// The first layer's value of `key` in the table `table`, which `get` takes from a layer's
/// keys, read by `read`; a value of the wrong type is an error saying it must be `expected`.
pub(crate) fn pick_in_table<T>(
    layers: &[Layer],
    table: &str,
    get: impl Fn(&FileConfig) -> Option<&toml::Table>,
    key: &str,
    read: impl Fn(&toml::Value) -> Option<T>,
    expected: &str,
) -> Result<Option<crate::origin::Value<T>>> {
    for layer in layers {
        let Some(value) = get(&layer.keys).and_then(|t| t.get(key)) else {
            continue;
        };
        let origin = layer.table_origin(table, key);
        return match read(value) {
            Some(value) => Ok(Some(crate::origin::Value { value, origin })),
            None => Err(
                Error::config(format!("`{key}` in [{table}] must be {expected}"))
                    .with_location(origin.to_string()),
            ),
        };
    }
    Ok(None)
}

/// The first layer that sets a key, with the value and its origin.
pub(crate) fn pick<'a, T>(
    layers: &'a [Layer],
    key: &str,
    get: impl Fn(&'a FileConfig) -> Option<&'a T>,
) -> Option<(&'a T, Origin, &'a Layer)> {
    layers
        .iter()
        .find_map(|l| get(&l.keys).map(|v| (v, l.origin(key), l)))
}
