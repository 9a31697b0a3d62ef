//! The resolved configuration, and where each value came from.
//!
//! Precedence, highest first: command-line flags, `sluice.toml`, `[tool.sluice]` in
//! `pyproject.toml`, Django settings, defaults. The project folder is the nearest folder, from
//! the working directory up, that has a `sluice.toml`, a `pyproject.toml` with `[tool.sluice]`,
//! or a `manage.py`; relative paths in a file are relative to that file's folder.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bundles::{self, BundleDef, BundleTables, CompilerKind, PipelineSettings};
use crate::django::{self, DjangoSettings, Freshness};
use crate::error::{Error, Result};
use crate::sources::{DEFAULT_IGNORE, SourceRoot};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    /// A configuration file, with the line of the key when found.
    File(PathBuf, Option<usize>),
    Django(String),
    Env(&'static str),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::File(path, Some(line)) => write!(f, "{}:{line}", path.display()),
            Origin::File(path, None) => write!(f, "{}", path.display()),
            Origin::Django(module) => write!(f, "Django settings {module}"),
            Origin::Env(var) => write!(f, "${var}"),
            Origin::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value<T> {
    pub value: T,
    pub origin: Origin,
}

/// What the command line says; `None`/empty means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub sources: Vec<(PathBuf, Option<String>)>,
    pub output: Option<PathBuf>,
    pub ignore: Vec<String>,
    pub no_default_ignore: bool,
    pub django_settings: Option<String>,
    pub python: Option<String>,
}

/// `sources = ["media", { path = "vendor/static", prefix = "vendor" }]`
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum SourceSpec {
    Path(String),
    Table {
        path: String,
        prefix: Option<String>,
    },
}

/// The keys of `sluice.toml` / `[tool.sluice]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    sources: Option<Vec<SourceSpec>>,
    output: Option<String>,
    static_url: Option<String>,
    ignore: Option<Vec<String>>,
    default_ignore: Option<bool>,
    django_settings: Option<String>,
    python: Option<String>,
    /// A bedrock-style `static-bundles.json`, relative to the file.
    static_bundles: Option<String>,
    bundles: Option<BundleTables>,
    /// Compile `.scss`/`.less`/`.ts` sources (default on; off: members are joined as they are).
    compile: Option<bool>,
    dev: Option<DevKeys>,
    #[serde(rename = "build")]
    _build: Option<toml::Table>,
}

/// `command = ["python", "manage.py", "runserver", "127.0.0.1:{port}"]`, or a string with
/// `shell = true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum CommandSpec {
    Argv(Vec<String>),
    Line(String),
}

/// The keys of the `[dev]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevKeys {
    command: Option<CommandSpec>,
    shell: Option<bool>,
    port: Option<u16>,
    host: Option<String>,
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
struct Layer {
    path: PathBuf,
    text: String,
    /// The table header the keys live under (`[tool.sluice]`), if any.
    section: Option<&'static str>,
    keys: FileConfig,
}

impl Layer {
    fn origin(&self, key: &str) -> Origin {
        Origin::File(self.path.clone(), key_line(&self.text, self.section, key))
    }

    /// Where a key of the `[dev]` table is set.
    fn dev_origin(&self, key: &str) -> Origin {
        let section = match self.section {
            None => "[dev]",
            Some(_) => "[tool.sluice.dev]",
        };
        Origin::File(self.path.clone(), key_line(&self.text, Some(section), key))
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// The 1-based line of `key = …` in `text`, inside `section` when given.
fn key_line(text: &str, section: Option<&str>, key: &str) -> Option<usize> {
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

fn load_sluice_toml(path: &Path) -> Result<Layer> {
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

/// The project folder and its configuration files, most important first.
fn discover(cwd: &Path, explicit: Option<&Path>) -> Result<(PathBuf, Vec<Layer>)> {
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
        return Ok((dir, vec![layer]));
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
            return Ok((dir.to_path_buf(), layers));
        }
    }
    Ok((cwd.to_path_buf(), Vec::new()))
}

/// The first layer that sets a key, with the value and its origin.
fn pick<'a, T>(
    layers: &'a [Layer],
    key: &str,
    get: impl Fn(&'a FileConfig) -> Option<&'a T>,
) -> Option<(&'a T, Origin, &'a Layer)> {
    layers
        .iter()
        .find_map(|l| get(&l.keys).map(|v| (v, l.origin(key), l)))
}

/// How `sluice dev` starts the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevCommand {
    /// Program and arguments, run without a shell; `{port}` is replaced by the backend's port.
    Argv(Vec<String>),
    /// A command line for `/bin/sh -c` (`command = "..."` with `shell = true`).
    Shell(String),
}

/// The `[dev]` table, resolved.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// `None` when nothing is configured and the project has no `manage.py`.
    pub command: Option<Value<DevCommand>>,
    /// The public port of `sluice dev` (the backend gets a free one of its own).
    pub port: Value<u16>,
    pub host: Value<String>,
}

/// The port `sluice dev` listens on when neither flag nor file says: `$PORT`, else 8000.
pub const DEFAULT_DEV_PORT: u16 = 8000;

/// The `[dev]` table. Without a `command`: `manage.py runserver` when the project has a
/// `manage.py`, else `python -m django runserver --settings=MODULE` when a settings module is
/// known, else none.
fn resolve_dev(
    layers: &[Layer],
    project_dir: &Path,
    python: &Value<String>,
    settings_module: Option<&str>,
) -> Result<DevConfig> {
    let dev_pick = |key: &str, has: &dyn Fn(&DevKeys) -> bool| {
        layers
            .iter()
            .find(|l| l.keys.dev.as_ref().is_some_and(has))
            .map(|l| {
                (
                    l.keys.dev.as_ref().cloned().unwrap_or_default(),
                    l.dev_origin(key),
                )
            })
    };
    let command = match dev_pick("command", &|d| d.command.is_some()) {
        Some((keys, origin)) => {
            let shell = keys.shell.unwrap_or(false);
            let command = match (keys.command, shell) {
                (Some(CommandSpec::Argv(argv)), false) if !argv.is_empty() => {
                    DevCommand::Argv(argv)
                }
                (Some(CommandSpec::Argv(_)), false) => {
                    return Err(
                        Error::config("[dev] command is empty").with_location(origin.to_string())
                    );
                }
                (Some(CommandSpec::Line(line)), true) if !line.trim().is_empty() => {
                    DevCommand::Shell(line)
                }
                (Some(CommandSpec::Line(_)), false) => {
                    return Err(Error::config(
                        "[dev] command is a string, which would need a shell to run",
                    )
                    .with_location(origin.to_string())
                    .with_hint(
                        "give the program and its arguments as a list, or add `shell = true` to run the string with /bin/sh",
                    ));
                }
                _ => {
                    return Err(
                        Error::config("[dev] shell = true needs `command` as one string")
                            .with_location(origin.to_string()),
                    );
                }
            };
            Some(Value {
                value: command,
                origin,
            })
        }
        None if project_dir.join("manage.py").is_file() => Some(Value {
            value: DevCommand::Argv(vec![
                python.value.clone(),
                "manage.py".into(),
                "runserver".into(),
                "127.0.0.1:{port}".into(),
            ]),
            origin: Origin::Default,
        }),
        None => settings_module.map(|module| Value {
            value: DevCommand::Argv(vec![
                python.value.clone(),
                "-m".into(),
                "django".into(),
                "runserver".into(),
                format!("--settings={module}"),
                "127.0.0.1:{port}".into(),
            ]),
            origin: Origin::Default,
        }),
    };
    let port = if let Some((keys, origin)) = dev_pick("port", &|d| d.port.is_some()) {
        Value {
            value: keys.port.unwrap_or(DEFAULT_DEV_PORT),
            origin,
        }
    } else if let Ok(text) = std::env::var("PORT") {
        let value = text.trim().parse::<u16>().map_err(|_| {
            Error::config(format!("$PORT is `{text}`, not a port number"))
                .with_hint("unset PORT, or pass --port N")
        })?;
        Value {
            value,
            origin: Origin::Env("PORT"),
        }
    } else {
        Value {
            value: DEFAULT_DEV_PORT,
            origin: Origin::Default,
        }
    };
    let host = match dev_pick("host", &|d| d.host.is_some()) {
        Some((keys, origin)) => Value {
            value: keys.host.unwrap_or_default(),
            origin,
        },
        None => Value {
            value: "127.0.0.1".into(),
            origin: Origin::Default,
        },
    };
    Ok(DevConfig {
        command,
        port,
        host,
    })
}

/// The Django project behind the configuration, when there is one.
#[derive(Debug, Clone)]
pub struct DjangoProject {
    pub module: Value<String>,
    pub settings: DjangoSettings,
    pub freshness: Freshness,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub project_dir: PathBuf,
    pub config_files: Vec<PathBuf>,
    pub state_dir: PathBuf,
    pub sources: Value<Vec<SourceRoot>>,
    pub output: Value<PathBuf>,
    pub static_url: Value<String>,
    /// The full list in effect (Django's defaults included unless turned off).
    pub ignore: Value<Vec<String>>,
    pub python: Value<String>,
    pub django: Option<DjangoProject>,
    pub dev: DevConfig,
    /// Every bundle, each with where it was defined.
    pub bundles: Vec<BundleDef>,
    /// django-pipeline's settings (defaults outside django-pipeline).
    pub pipeline: PipelineSettings,
    /// The compilers in effect (`PIPELINE["COMPILERS"]`, `compile = false`, or all).
    pub compilers: Value<Vec<CompilerKind>>,
    /// Compiler classes in `PIPELINE["COMPILERS"]` that sluice does not know.
    pub unknown_compilers: Vec<String>,
    /// `[build] minify` (default on).
    pub minify: Value<bool>,
    /// `[build] browserslist`: the browsers minified bundles must support. `None`: not
    /// configured (`.browserslistrc`, `package.json`, else browserslist's `defaults`).
    pub browserslist: Option<Value<Vec<String>>>,
}

fn check_prefix(prefix: &str, origin: &Origin) -> Result<()> {
    if prefix.is_empty()
        || prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix.split('/').any(|s| s == ".." || s == ".")
    {
        return Err(Error::config(format!(
            "invalid source prefix `{prefix}`: it must be a relative path without `.`/`..` segments and without a leading or trailing `/`"
        ))
        .with_location(origin.to_string()));
    }
    Ok(())
}

/// The Python that knows the project: `python` setting, the active virtualenv, `./.venv`, `python3`.
fn choose_python(overrides: &Overrides, layers: &[Layer], project_dir: &Path) -> Value<String> {
    if let Some(python) = &overrides.python {
        return Value {
            value: python.clone(),
            origin: Origin::Flag("--python"),
        };
    }
    if let Some((python, origin, _)) = pick(layers, "python", |k| k.python.as_ref()) {
        return Value {
            value: python.clone(),
            origin,
        };
    }
    let in_venv = |venv: &Path| {
        ["bin/python", "Scripts/python.exe"]
            .iter()
            .map(|p| venv.join(p))
            .find(|p| p.is_file())
    };
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV")
        && let Some(python) = in_venv(Path::new(&venv))
    {
        return Value {
            value: python.display().to_string(),
            origin: Origin::Env("VIRTUAL_ENV"),
        };
    }
    if let Some(python) = in_venv(&project_dir.join(".venv")) {
        return Value {
            value: python.display().to_string(),
            origin: Origin::File(project_dir.join(".venv"), None),
        };
    }
    Value {
        value: "python3".into(),
        origin: Origin::Default,
    }
}

/// Which Django settings module, if any: `--django-settings`, `django_settings`,
/// `DJANGO_SETTINGS_MODULE`, else the one `manage.py` names.
fn settings_module(
    overrides: &Overrides,
    layers: &[Layer],
    project_dir: &Path,
) -> Option<Value<String>> {
    if let Some(m) = &overrides.django_settings {
        return Some(Value {
            value: m.clone(),
            origin: Origin::Flag("--django-settings"),
        });
    }
    if let Some((m, origin, _)) = pick(layers, "django_settings", |k| k.django_settings.as_ref()) {
        return Some(Value {
            value: m.clone(),
            origin,
        });
    }
    if let Ok(m) = std::env::var("DJANGO_SETTINGS_MODULE") {
        return Some(Value {
            value: m,
            origin: Origin::Env("DJANGO_SETTINGS_MODULE"),
        });
    }
    manage_py_module(project_dir)
}

/// The settings module `project_dir/manage.py` names.
fn manage_py_module(project_dir: &Path) -> Option<Value<String>> {
    let manage = project_dir.join("manage.py");
    std::fs::read_to_string(&manage)
        .ok()
        .and_then(|t| django::settings_module_from_manage_py(&t))
        .map(|m| Value {
            value: m,
            origin: Origin::File(manage, None),
        })
}

/// What sluice finds by itself, without any configuration file (for `sluice init`): the
/// project folder, the Python, the Django settings module (from the command line, the
/// environment or `manage.py`) and, when there is one, Django's answer.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub project_dir: PathBuf,
    /// The project's configuration files as they are now (`sluice.toml`, `pyproject.toml`).
    pub config_files: Vec<PathBuf>,
    pub python: Value<String>,
    /// The module `manage.py` names, which sluice would use with no flag, file or variable.
    pub manage_py_module: Option<String>,
    pub django: Option<DjangoProject>,
}

impl Discovery {
    /// Looks from `cwd` up, as [`Config::load`] does, but reads no configuration file.
    pub fn load(cwd: &Path, overrides: &Overrides) -> Result<Discovery> {
        let (project_dir, layers) = discover(cwd, None)?;
        let state_dir = project_dir.join(".sluice");
        let python = choose_python(overrides, &[], &project_dir);
        let module = settings_module(overrides, &[], &project_dir);
        let django = match module {
            Some(module) => {
                let (settings, freshness) =
                    django::load(&python.value, &module.value, &project_dir, &state_dir)?;
                Some(DjangoProject {
                    module,
                    settings,
                    freshness,
                })
            }
            None => None,
        };
        Ok(Discovery {
            manage_py_module: manage_py_module(&project_dir).map(|m| m.value),
            config_files: layers.into_iter().map(|l| l.path).collect(),
            project_dir,
            python,
            django,
        })
    }
}

impl Config {
    /// Resolves the configuration seen from `cwd`.
    pub fn load(cwd: &Path, overrides: &Overrides) -> Result<Config> {
        let (project_dir, layers) = discover(cwd, overrides.config.as_deref())?;
        let state_dir = project_dir.join(".sluice");
        let python = choose_python(overrides, &layers, &project_dir);

        let module = settings_module(overrides, &layers, &project_dir);
        let settings_module = module.as_ref().map(|m| m.value.clone());
        let explicit_django = overrides.django_settings.is_some()
            || layers.iter().any(|l| l.keys.django_settings.is_some());
        let needs_django = overrides.sources.is_empty()
            && pick(&layers, "sources", |k| k.sources.as_ref()).is_none()
            || overrides.output.is_none()
                && pick(&layers, "output", |k| k.output.as_ref()).is_none();
        let django = match module {
            Some(module) if explicit_django || needs_django => {
                let (settings, freshness) =
                    django::load(&python.value, &module.value, &project_dir, &state_dir)?;
                Some(DjangoProject {
                    module,
                    settings,
                    freshness,
                })
            }
            _ => None,
        };
        let django_origin = || {
            Origin::Django(
                django
                    .as_ref()
                    .map(|d| d.module.value.clone())
                    .unwrap_or_default(),
            )
        };

        // Sources.
        let sources = if !overrides.sources.is_empty() {
            let roots = overrides
                .sources
                .iter()
                .map(|(path, prefix)| SourceRoot {
                    path: cwd.join(path),
                    prefix: prefix.clone(),
                })
                .collect();
            Value {
                value: roots,
                origin: Origin::Flag("--source"),
            }
        } else if let Some((specs, origin, layer)) =
            pick(&layers, "sources", |k| k.sources.as_ref())
        {
            let roots = specs
                .iter()
                .map(|spec| match spec {
                    SourceSpec::Path(p) => SourceRoot {
                        path: layer.dir().join(p),
                        prefix: None,
                    },
                    SourceSpec::Table { path, prefix } => SourceRoot {
                        path: layer.dir().join(path),
                        prefix: prefix.clone(),
                    },
                })
                .collect();
            Value {
                value: roots,
                origin,
            }
        } else if let Some(d) = &django {
            let s = &d.settings;
            let roots = s
                .staticfiles_dirs
                .iter()
                .map(|(prefix, path)| SourceRoot {
                    path: path.clone(),
                    prefix: prefix.clone(),
                })
                .chain(s.app_static_dirs.iter().map(|(_, path)| SourceRoot {
                    path: path.clone(),
                    prefix: None,
                }))
                .collect();
            Value {
                value: roots,
                origin: django_origin(),
            }
        } else {
            Value {
                value: vec![SourceRoot {
                    path: project_dir.join("media"),
                    prefix: None,
                }],
                origin: Origin::Default,
            }
        };
        for root in &sources.value {
            if let Some(prefix) = &root.prefix {
                check_prefix(prefix, &sources.origin)?;
            }
        }

        // Output.
        let output = if let Some(out) = &overrides.output {
            Value {
                value: cwd.join(out),
                origin: Origin::Flag("--output"),
            }
        } else if let Some((out, origin, layer)) = pick(&layers, "output", |k| k.output.as_ref()) {
            Value {
                value: layer.dir().join(out),
                origin,
            }
        } else if let Some(d) = &django {
            let root = d.settings.static_root.clone().ok_or_else(|| {
                Error::config(format!("STATIC_ROOT is not set in {}", d.module.value))
                    .with_hint("set STATIC_ROOT in the settings, `output` in sluice.toml, or pass --output DIR")
            })?;
            Value {
                value: root,
                origin: django_origin(),
            }
        } else {
            Value {
                value: project_dir.join("static"),
                origin: Origin::Default,
            }
        };
        let output = Value {
            value: std::path::absolute(&output.value).unwrap_or(output.value),
            origin: output.origin,
        };

        // STATIC_URL.
        let static_url = if let Some((url, origin, _)) =
            pick(&layers, "static_url", |k| k.static_url.as_ref())
        {
            Value {
                value: url.clone(),
                origin,
            }
        } else if let Some(url) = django.as_ref().and_then(|d| d.settings.static_url.clone()) {
            Value {
                value: url,
                origin: django_origin(),
            }
        } else {
            Value {
                value: "/static/".into(),
                origin: Origin::Default,
            }
        };

        // Ignore patterns: the defaults (Django's app config's when known), then the extras.
        let defaults_off = overrides.no_default_ignore
            || pick(&layers, "default_ignore", |k| k.default_ignore.as_ref())
                .is_some_and(|(on, ..)| !on);
        let mut patterns: Vec<String> = match (&django, defaults_off) {
            (_, true) => Vec::new(),
            (Some(d), false) => d.settings.ignore_patterns.clone(),
            (None, false) => DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect(),
        };
        let mut origin = if django.is_some() && !defaults_off {
            django_origin()
        } else {
            Origin::Default
        };
        if let Some((extra, o, _)) = pick(&layers, "ignore", |k| k.ignore.as_ref()) {
            patterns.extend(extra.iter().cloned());
            origin = o;
        }
        if !overrides.ignore.is_empty() || overrides.no_default_ignore {
            patterns.extend(overrides.ignore.iter().cloned());
            origin = Origin::Flag(if overrides.ignore.is_empty() {
                "--no-default-ignore"
            } else {
                "--ignore"
            });
        }

        let dev = resolve_dev(&layers, &project_dir, &python, settings_module.as_deref())?;

        // Bundles: django-pipeline's PIPELINE, static-bundles.json, [bundles.*] tables.
        let mut bundle_defs = Vec::new();
        let mut pipeline = PipelineSettings::default();
        let mut pipeline_compilers = None;
        let mut unknown_compilers = Vec::new();
        if let Some(d) = &django
            && let Some(value) = d.settings.pipeline.as_ref().filter(|v| !v.is_null())
        {
            let parsed = bundles::from_pipeline(value, d.settings.debug, &d.module.value)?;
            bundle_defs.extend(parsed.bundles);
            pipeline = parsed.settings;
            pipeline_compilers = Some(parsed.compilers);
            unknown_compilers = parsed.unknown_compilers;
        }
        if let Some((file, _, layer)) =
            pick(&layers, "static_bundles", |k| k.static_bundles.as_ref())
        {
            bundle_defs.extend(bundles::from_static_bundles(&layer.dir().join(file))?);
        }
        if let Some(layer) = layers.iter().find(|l| l.keys.bundles.is_some())
            && let Some(tables) = &layer.keys.bundles
        {
            bundle_defs.extend(tables.defs(&layer.path, &layer.text, layer.section)?);
        }
        bundles::check_unique(&bundle_defs)?;
        let compilers =
            if let Some((on, origin, _)) = pick(&layers, "compile", |k| k.compile.as_ref()) {
                Value {
                    value: if *on {
                        CompilerKind::DEFAULT.to_vec()
                    } else {
                        Vec::new()
                    },
                    origin,
                }
            } else if let Some(kinds) = pipeline_compilers {
                Value {
                    value: kinds,
                    origin: django_origin(),
                }
            } else {
                Value {
                    value: CompilerKind::DEFAULT.to_vec(),
                    origin: Origin::Default,
                }
            };
        let build_origin = |l: &Layer, key: &str| {
            Origin::File(
                l.path.clone(),
                key_line(
                    &l.text,
                    Some(match l.section {
                        Some(_) => "[tool.sluice.build]",
                        None => "[build]",
                    }),
                    key,
                ),
            )
        };
        let minify = layers
            .iter()
            .find_map(|l| {
                let on = l.keys._build.as_ref()?.get("minify")?;
                Some(on.as_bool().map(|on| (on, l)).ok_or_else(|| {
                    Error::config("`minify` in [build] must be true or false")
                        .with_location(l.path.display().to_string())
                }))
            })
            .transpose()?
            .map_or(
                Value {
                    value: true,
                    origin: Origin::Default,
                },
                |(on, l)| Value {
                    value: on,
                    origin: build_origin(l, "minify"),
                },
            );
        let browserslist = layers
            .iter()
            .find_map(|l| {
                let list = l.keys._build.as_ref()?.get("browserslist")?;
                let origin = build_origin(l, "browserslist");
                let queries = list.as_array().and_then(|items| {
                    items
                        .iter()
                        .map(|q| q.as_str().map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                });
                Some(
                    queries
                        .map(|value| Value {
                            value,
                            origin: origin.clone(),
                        })
                        .ok_or_else(|| {
                            Error::config(
                                "`browserslist` in [build] must be a list of browserslist queries (strings)",
                            )
                            .with_location(origin.to_string())
                        }),
                )
            })
            .transpose()?;

        Ok(Config {
            dev,
            bundles: bundle_defs,
            pipeline,
            compilers,
            unknown_compilers,
            minify,
            browserslist,
            config_files: layers.iter().map(|l| l.path.clone()).collect(),
            project_dir,
            state_dir,
            sources,
            output,
            static_url,
            ignore: Value {
                value: patterns,
                origin,
            },
            python,
            django,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_respect_sections() {
        let text = "[project]\nname = \"x\"\n\n[tool.sluice]\noutput = \"static\"\nsources = [\"media\"]\n";
        assert_eq!(key_line(text, Some("[tool.sluice]"), "sources"), Some(6));
        assert_eq!(key_line(text, Some("[tool.sluice]"), "name"), None);
        assert_eq!(key_line("output = 1\n", None, "output"), Some(1));
        assert_eq!(key_line("outputs = 1\n", None, "output"), None);
    }

    #[test]
    fn parse_errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sluice.toml");
        std::fs::write(&file, "output = \"static\"\nsourcez = [\"media\"]\n").unwrap();
        let Err(Error::Config {
            location, message, ..
        }) = load_sluice_toml(&file)
        else {
            panic!("expected a config error");
        };
        assert_eq!(location.unwrap(), format!("{}:2:1", file.display()));
        assert!(message.contains("sourcez"), "{message}");
    }

    #[test]
    fn flags_beat_files_beat_pyproject_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("sluice.toml"), "output = \"out-toml\"\n").unwrap();
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.sluice]\noutput = \"out-py\"\nsources = [\"assets\", { path = \"v\", prefix = \"vendor\" }]\n",
        )
        .unwrap();
        let sub = root.join("deep/er");
        std::fs::create_dir_all(&sub).unwrap();
        let config = Config::load(&sub, &Overrides::default()).unwrap();
        assert_eq!(config.project_dir, root);
        assert_eq!(config.output.value, root.join("out-toml"));
        assert_eq!(
            config.output.origin,
            Origin::File(root.join("sluice.toml"), Some(1))
        );
        assert_eq!(config.sources.value[1].prefix.as_deref(), Some("vendor"));
        assert_eq!(
            config.sources.origin,
            Origin::File(root.join("pyproject.toml"), Some(3))
        );
        assert_eq!(config.static_url.value, "/static/");
        assert_eq!(config.ignore.value, ["CVS", ".*", "*~"]);
        let flags = Overrides {
            output: Some("x".into()),
            no_default_ignore: true,
            ..Default::default()
        };
        let config = Config::load(&sub, &flags).unwrap();
        assert_eq!(config.output.value, sub.join("x"));
        assert!(config.ignore.value.is_empty());
    }

    #[test]
    fn dev_keys_with_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.sluice]\noutput = \"o\"\n\n[tool.sluice.dev]\nport = 8100\ncommand = [\"gunicorn\", \"-b\", \"127.0.0.1:{port}\", \"app\"]\n",
        )
        .unwrap();
        let config = Config::load(root, &Overrides::default()).unwrap();
        let command = config.dev.command.unwrap();
        assert_eq!(
            command.value,
            DevCommand::Argv(vec![
                "gunicorn".into(),
                "-b".into(),
                "127.0.0.1:{port}".into(),
                "app".into()
            ])
        );
        assert_eq!(
            command.origin,
            Origin::File(root.join("pyproject.toml"), Some(6))
        );
        assert_eq!(config.dev.port.value, 8100);
        assert_eq!(config.dev.host.value, "127.0.0.1");
        assert_eq!(config.dev.host.origin, Origin::Default);

        // A string runs through a shell only when asked to.
        std::fs::write(
            root.join("sluice.toml"),
            "output = \"o\"\n[dev]\ncommand = \"gunicorn app\"\n",
        )
        .unwrap();
        let Err(Error::Config { location, hint, .. }) = Config::load(root, &Overrides::default())
        else {
            panic!("a command string without shell = true must be refused");
        };
        assert_eq!(
            location.unwrap(),
            format!("{}:3", root.join("sluice.toml").display())
        );
        assert!(hint.unwrap().contains("shell = true"));
        std::fs::write(
            root.join("sluice.toml"),
            "output = \"o\"\n[dev]\ncommand = \"gunicorn -b :$PORT app\"\nshell = true\nhost = \"0.0.0.0\"\n",
        )
        .unwrap();
        let config = Config::load(root, &Overrides::default()).unwrap();
        assert_eq!(
            config.dev.command.unwrap().value,
            DevCommand::Shell("gunicorn -b :$PORT app".into())
        );
        assert_eq!(config.dev.host.value, "0.0.0.0");
        // sluice.toml's [dev] has no port: pyproject's still counts.
        assert_eq!(config.dev.port.value, 8100);
    }

    #[test]
    fn django_projects_get_runserver_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("sluice.toml"),
            "output = \"o\"\nsources = [\"m\"]\npython = \"/opt/py/bin/python\"\n",
        )
        .unwrap();
        if std::env::var_os("DJANGO_SETTINGS_MODULE").is_none() {
            let config = Config::load(root, &Overrides::default()).unwrap();
            assert!(config.dev.command.is_none());
        }
        // A settings module but no manage.py: Django's own runner.
        let python = Value {
            value: "py".to_string(),
            origin: Origin::Default,
        };
        let dev = resolve_dev(&[], root, &python, Some("mysite.settings")).unwrap();
        assert_eq!(
            dev.command.unwrap().value,
            DevCommand::Argv(vec![
                "py".into(),
                "-m".into(),
                "django".into(),
                "runserver".into(),
                "--settings=mysite.settings".into(),
                "127.0.0.1:{port}".into()
            ])
        );
        std::fs::write(root.join("manage.py"), "").unwrap();
        let command = Config::load(root, &Overrides::default())
            .unwrap()
            .dev
            .command
            .unwrap();
        assert_eq!(command.origin, Origin::Default);
        assert_eq!(
            command.value,
            DevCommand::Argv(vec![
                "/opt/py/bin/python".into(),
                "manage.py".into(),
                "runserver".into(),
                "127.0.0.1:{port}".into()
            ])
        );
    }

    #[test]
    fn bundles_compile_and_minify_from_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let pyproject = root.join("pyproject.toml");
        std::fs::write(
            &pyproject,
            "[tool.sluice]\nsources = [\"media\"]\ncompile = false\n\n\
             [tool.sluice.bundles.js.app]\nfiles = [\"js/*.js\"]\noutput = \"js/app.js\"\n\n\
             [tool.sluice.build]\nminify = false\nbrowserslist = [\"chrome 100\", \"> 1%\"]\n",
        )
        .unwrap();
        let config = Config::load(root, &Overrides::default()).unwrap();
        let browsers = config.browserslist.as_ref().expect("browserslist");
        assert_eq!(browsers.value, ["chrome 100", "> 1%"]);
        assert_eq!(browsers.origin, Origin::File(pyproject.clone(), Some(11)));
        assert_eq!(config.bundles.len(), 1);
        let app = &config.bundles[0];
        assert_eq!(
            (app.kind, app.name.as_str(), app.output.as_str()),
            (crate::bundles::BundleKind::Js, "app", "js/app.js")
        );
        assert_eq!(app.origin, Origin::File(pyproject.clone(), Some(5)));
        assert!(config.compilers.value.is_empty());
        assert_eq!(
            config.compilers.origin,
            Origin::File(pyproject.clone(), Some(3))
        );
        assert!(!config.minify.value);
        assert_eq!(
            config.minify.origin,
            Origin::File(pyproject.clone(), Some(10))
        );
        // Defaults: every compiler, minify on, no bundles.
        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("sluice.toml"), "").unwrap();
        let config = Config::load(empty.path(), &Overrides::default()).unwrap();
        assert!(config.bundles.is_empty());
        assert_eq!(config.compilers.value, CompilerKind::DEFAULT);
        assert!(config.minify.value);
        assert!(config.browserslist.is_none());
        // Not a list of strings: an error at its line.
        std::fs::write(
            empty.path().join("sluice.toml"),
            "[build]\nbrowserslist = \"defaults\"\n",
        )
        .unwrap();
        let error = Config::load(empty.path(), &Overrides::default()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`browserslist` in [build] must be a list"),
            "{error}"
        );
        std::fs::write(empty.path().join("sluice.toml"), "").unwrap();
        // Two bundles writing one output.
        std::fs::write(
            empty.path().join("sluice.toml"),
            "[bundles.css.a]\nfiles = []\noutput = \"x.css\"\n[bundles.css.b]\nfiles = []\noutput = \"x.css\"\n",
        )
        .unwrap();
        let Err(Error::Config { message, .. }) = Config::load(empty.path(), &Overrides::default())
        else {
            panic!("expected a config error");
        };
        assert!(message.contains("both write x.css"), "{message}");
    }

    #[test]
    fn bad_prefix_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sluice.toml"),
            "sources = [{ path = \"m\", prefix = \"../x\" }]\n",
        )
        .unwrap();
        assert!(Config::load(dir.path(), &Overrides::default()).is_err());
    }
}
