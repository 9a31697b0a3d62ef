//! The `compile` key, resolved: `compile = false` turns compiling off; a `[compile]` table
//! says what is compiled besides bundle members and the sources the templates reference
//! (`entries`), which folders the templates are in (`templates`), and where `@use`/`@import`
//! of a package are looked for (`load_paths`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::DjangoProject;
use super::files::Layer;
use crate::origin::{Origin, Value};
use crate::sources::SourceRoot;

/// `compile = false`, or a `[compile]` table.
#[derive(Debug, Clone)]
pub(crate) enum CompileSpec {
    On(bool),
    Table(CompileKeys),
}

/// The keys of the `[compile]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompileKeys {
    pub(crate) enabled: Option<bool>,
    pub(crate) entries: Option<Vec<String>>,
    pub(crate) load_paths: Option<Vec<String>>,
    pub(crate) templates: Option<Vec<String>>,
}

impl CompileSpec {
    pub(crate) fn enabled(&self) -> Option<bool> {
        match self {
            CompileSpec::On(on) => Some(*on),
            CompileSpec::Table(keys) => keys.enabled,
        }
    }

    fn keys(&self) -> Option<&CompileKeys> {
        match self {
            CompileSpec::On(_) => None,
            CompileSpec::Table(keys) => Some(keys),
        }
    }
}

impl<'de> Deserialize<'de> for CompileSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Spec;
        impl<'de> Visitor<'de> for Spec {
            type Value = CompileSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`compile = true/false` or a `[compile]` table")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<CompileSpec, E> {
                Ok(CompileSpec::On(on))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CompileSpec, A::Error> {
                CompileKeys::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(CompileSpec::Table)
            }
        }
        d.deserialize_any(Spec)
    }
}

/// What is compiled, and with which load paths.
#[derive(Debug, Clone)]
pub struct CompileConfig {
    /// Globs over logical paths (django-pipeline's glob, as bundles use) of sources compiled
    /// besides bundle members and template references.
    pub entries: Value<Vec<String>>,
    /// The folders whose templates' `{% static "…" %}` / `static("…")` references name
    /// sources to compile (default: Django's template folders).
    pub templates: Value<Vec<PathBuf>>,
    /// Where `@use "pkg/…"`, `~pkg/…` and LESS imports are looked for after the importing
    /// file's folder (default: the nearest `node_modules` at or above the project folder,
    /// then the source roots).
    pub load_paths: Value<Vec<PathBuf>>,
}

/// The first layer's `[compile]` value of a key.
fn pick<'a, T>(
    layers: &'a [Layer],
    key: &str,
    get: impl Fn(&'a CompileKeys) -> Option<&'a T>,
) -> Option<(&'a T, Origin, &'a Layer)> {
    layers.iter().find_map(|l| {
        let keys = l.keys.compile.as_ref()?.keys()?;
        get(keys).map(|v| (v, l.table_origin("compile", key), l))
    })
}

/// The nearest `node_modules` folder at or above `project_dir`.
pub fn nearest_node_modules(project_dir: &Path) -> Option<PathBuf> {
    project_dir
        .ancestors()
        .map(|d| d.join("node_modules"))
        .find(|d| d.is_dir())
}

pub(crate) fn resolve_compile(
    layers: &[Layer],
    project_dir: &Path,
    roots: &[SourceRoot],
    django: Option<&DjangoProject>,
) -> CompileConfig {
    let entries = match pick(layers, "entries", |k| k.entries.as_ref()) {
        Some((globs, origin, _)) => Value {
            value: globs.clone(),
            origin,
        },
        None => Value {
            value: Vec::new(),
            origin: Origin::Default,
        },
    };
    let templates = match pick(layers, "templates", |k| k.templates.as_ref()) {
        Some((dirs, origin, layer)) => Value {
            value: dirs.iter().map(|d| layer.dir().join(d)).collect(),
            origin,
        },
        None => match django {
            Some(d) => Value {
                value: d.settings.template_dirs.clone(),
                origin: Origin::Django(d.module.value.clone()),
            },
            None => Value {
                value: Vec::new(),
                origin: Origin::Default,
            },
        },
    };
    let load_paths = match pick(layers, "load_paths", |k| k.load_paths.as_ref()) {
        Some((dirs, origin, layer)) => Value {
            value: dirs.iter().map(|d| layer.dir().join(d)).collect(),
            origin,
        },
        None => Value {
            value: nearest_node_modules(project_dir)
                .into_iter()
                .chain(roots.iter().map(|r| r.path.clone()))
                .collect(),
            origin: Origin::Default,
        },
    };
    CompileConfig {
        entries,
        templates,
        load_paths,
    }
}
