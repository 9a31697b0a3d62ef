//! The resolved configuration, and where each value came from.
//!
//! Precedence, highest first: command-line flags, `sluice.toml`, `[tool.sluice]` in
//! `pyproject.toml`, Django settings, defaults. The project folder is the nearest folder, from
//! the working directory up, that has a `sluice.toml`, a `pyproject.toml` with `[tool.sluice]`,
//! or a `manage.py`; relative paths in a file are relative to that file's folder.

mod build;
mod compile;
mod dev;
mod django;
mod files;
mod publish;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use self::build::BuildConfig;
pub use self::compile::{CompileConfig, nearest_node_modules};
pub use self::dev::{DEFAULT_DEV_PORT, DevCommand, DevConfig};
use self::files::{Layer, SourceSpec, discover, pick};
pub use self::publish::{CacheConfig, PublishConfig};
use crate::bundles::{self, BundleDef, CompilerKind, PipelineSettings};
use crate::django::{DjangoSettings, Freshness};
use crate::error::{Error, Result};
pub use crate::origin::{Origin, Value};
use crate::sources::{DEFAULT_IGNORE, SourceRoot};

/// The `poll` key: poll every root (at this many milliseconds, else the default), or never
/// choose polling by a root's file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollSetting {
    Always(Option<u64>),
    Never,
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
    /// Whether a project was found (a `sluice.toml`, a `pyproject.toml` with `[tool.sluice]`
    /// or a `manage.py` from the working folder up, or `--config`); else `project_dir` is the
    /// working folder and every value is a default.
    pub in_project: bool,
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
    /// What is compiled (besides bundle members) and the load paths (`[compile]`).
    pub compile: CompileConfig,
    /// What `sluice build` produces unless its flags say otherwise.
    pub build: BuildConfig,
    /// Where and how `sluice publish` uploads (`[publish]`).
    pub publish: PublishConfig,
    /// The shared build cache (`[cache]`).
    pub cache: CacheConfig,
    /// `poll` in a configuration file: how `watch` and `dev` choose between file events and
    /// polling when no flag or `SLUICE_POLL` says (`None`: per root, by its file system).
    pub poll: Option<Value<PollSetting>>,
    /// What does not stop sluice but should be heard (a finder sluice does not know, …).
    pub warnings: Vec<String>,
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
        .and_then(|t| crate::django::settings_module_from_manage_py(&t))
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
        let (project_dir, layers, _) = discover(cwd, None)?;
        let state_dir = project_dir.join(".sluice");
        let python = choose_python(overrides, &[], &project_dir);
        let module = settings_module(overrides, &[], &project_dir);
        let django = match module {
            Some(module) => {
                let (settings, freshness) =
                    crate::django::load(&python.value, &module.value, &project_dir, &state_dir)?;
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

/// The error for a source folder that is missing (`exists` false) or not a folder: where the
/// value came from (flag, file and line, Django settings) and what to do about it. Outside any
/// project the default `./media` is not the problem: the missing project is.
fn source_error(path: &Path, exists: bool, origin: &Origin, in_project: bool) -> Error {
    if *origin == Origin::Default && !in_project {
        return Error::config(format!(
            "no project here: no manage.py, sluice.toml or pyproject.toml with [tool.sluice] \
             in {} or any folder above",
            path.parent().unwrap_or(path).display()
        ))
        .with_hint(
            "run sluice in your Django project (the folder with manage.py, or below it), or \
             write a sluice.toml there (sources = [\"media\"], output = \"static\"), or pass \
             --source DIR --output DIR",
        );
    }
    let what = if exists {
        "is not a folder"
    } else {
        "does not exist"
    };
    let message = format!("source folder {} {what}", path.display());
    match origin {
        Origin::Flag(flag) => Error::config(message)
            .with_location(format!("{flag} on the command line"))
            .with_hint(format!(
                "check the folder given with {flag} (relative to the current folder; DIR=PREFIX mounts it under PREFIX)"
            )),
        Origin::File(file, _) => Error::config(message)
            .with_location(origin.to_string())
            .with_hint(format!(
                "fix `sources` in {}, or pass --source DIR",
                file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned())
            )),
        Origin::Django(module) => Error::config(message)
            .with_location(format!("STATICFILES_DIRS in Django settings {module}"))
            .with_hint(format!(
                "fix STATICFILES_DIRS in {module} (Django's check reports it as staticfiles.W004), or set `sources` in sluice.toml"
            )),
        Origin::Env(_) | Origin::Default => Error::config(format!(
            "{message} (the default: no `sources` configured)"
        ))
        .with_hint("set `sources` in sluice.toml (or [tool.sluice] in pyproject.toml), pass --source DIR, or create the folder"),
    }
}

impl Config {
    /// Checks that every source folder is a folder; the error names where the bad one came
    /// from (see [`source_error`]).
    pub fn check_sources(&self) -> Result<()> {
        for root in &self.sources.value {
            match std::fs::metadata(&root.path) {
                Ok(meta) if meta.is_dir() => {}
                found => {
                    return Err(source_error(
                        &root.path,
                        found.is_ok(),
                        &self.sources.origin,
                        self.in_project,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Resolves the configuration seen from `cwd`.
    pub fn load(cwd: &Path, overrides: &Overrides) -> Result<Config> {
        let (project_dir, layers, in_project) = discover(cwd, overrides.config.as_deref())?;
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
                    crate::django::load(&python.value, &module.value, &project_dir, &state_dir)?;
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

        let mut warnings = Vec::new();
        // Sources.
        let sources = if !overrides.sources.is_empty() {
            let roots = overrides
                .sources
                .iter()
                .map(|(path, prefix)| SourceRoot::new(cwd.join(path), prefix.clone()))
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
                    SourceSpec::Path(p) => SourceRoot::new(layer.dir().join(p), None),
                    SourceSpec::Table { path, prefix } => {
                        SourceRoot::new(layer.dir().join(path), prefix.clone())
                    }
                })
                .collect();
            Value {
                value: roots,
                origin,
            }
        } else if let Some(d) = &django {
            let (roots, finder_warnings) = self::django::finder_roots(&d.settings);
            warnings.extend(finder_warnings);
            Value {
                value: roots,
                origin: django_origin(),
            }
        } else {
            Value {
                value: vec![SourceRoot::new(project_dir.join("media"), None)],
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
        // One spelling per output root (`static`, `static/`, `./static`, `sub/../static`):
        // its record and its lock in `.sluice/` are named after it.
        let output = Value {
            value: absolute_path(&output.value),
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

        let dev = dev::resolve_dev(
            &layers,
            &project_dir,
            &python,
            settings_module.as_deref(),
            django.as_ref(),
        )?;

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
        let compilers = if let Some((on, origin)) = layers.iter().find_map(|l| {
            let on = l.keys.compile.as_ref()?.enabled()?;
            Some((on, compile_origin(l)))
        }) {
            Value {
                value: if on {
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
        let build = build::resolve_build(&layers, django.as_ref())?;
        let publish = publish::resolve_publish(&layers)?;
        let cache = publish::resolve_cache(&layers)?;
        let compile =
            compile::resolve_compile(&layers, &project_dir, &sources.value, django.as_ref());
        let poll = pick(&layers, "poll", |k| k.poll.as_ref()).map(|(spec, origin, _)| Value {
            value: match *spec {
                files::PollSpec::On(true) => PollSetting::Always(None),
                files::PollSpec::On(false) => PollSetting::Never,
                files::PollSpec::Every(ms) => PollSetting::Always(Some(ms)),
            },
            origin,
        });

        Ok(Config {
            poll,
            dev,
            bundles: bundle_defs,
            pipeline,
            compilers,
            unknown_compilers,
            compile,
            build,
            publish,
            cache,
            warnings,
            config_files: layers.iter().map(|l| l.path.clone()).collect(),
            project_dir,
            in_project,
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

/// Where `compile = false` (or `[compile] enabled`) is set in `layer`.
fn compile_origin(layer: &Layer) -> Origin {
    match &layer.keys.compile {
        Some(self::compile::CompileSpec::Table(_)) => layer.table_origin("compile", "enabled"),
        _ => layer.origin("compile"),
    }
}

/// `path` made absolute (against the working folder) and normalised as Python's
/// `os.path.abspath` does it, which is how Django's `STATIC_ROOT` reaches sluice: no `.` or
/// `..` components, no trailing or doubled separators; symlinks are left as they are.
pub(crate) fn absolute_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
