//! The `[build]` table, resolved: what `sluice build` produces unless its flags say otherwise.
//!
//! Hashing, compression and keeping only hashed copies follow the project's
//! `STORAGES["staticfiles"]` backend, as its `collectstatic` would: Django's
//! `StaticFilesStorage` (plain copies), `ManifestStaticFilesStorage` (hashed names),
//! whitenoise's `CompressedStaticFilesStorage` (compressed, no hashes) and
//! `CompressedManifestStaticFilesStorage` (both; `WHITENOISE_KEEP_ONLY_HASHED_FILES`),
//! django-pipeline's storages (the same by what they inherit; `GZIPMixin` adds `.gz`). Keys in
//! the file win over the storage; flags win over both.
//!
//! `[build.budgets]` maps outputs (or patterns) to size limits ([`crate::budget`]); the first
//! file that has the table gives all of them, each with its file and line.

use super::DjangoProject;
use super::files::{Layer, pick_in_table};
use crate::budget::{Budget, OutputGlob, parse_limit};
use crate::error::{Error, Result};
use crate::origin::{Origin, Value};

#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// Minified bundles (default on).
    pub minify: Value<bool>,
    /// The browsers minified bundles must support. `None`: not configured
    /// (`.browserslistrc`, `package.json`, else browserslist's `defaults`).
    pub browserslist: Option<Value<Vec<String>>>,
    /// Django's manifest names and `staticfiles.json`.
    pub hash: Value<bool>,
    /// The compressed copies to add: `gzip`, `br`, `zstd`.
    pub compress: Value<Vec<String>>,
    /// Only the hashed copies.
    pub keep_only_hashed: Value<bool>,
    /// Size limits that fail the build, by pattern (sorted).
    pub budgets: Vec<Budget>,
}

const KEYS: [&str; 6] = [
    "minify",
    "browserslist",
    "hash",
    "compress",
    "keep_only_hashed",
    "budgets",
];

fn origin(layer: &Layer, key: &str) -> Origin {
    layer.table_origin("build", key)
}

/// The first layer's value of `key` in `[build]`, read by `read` (an error message when the
/// value has the wrong type).
fn pick<T>(
    layers: &[Layer],
    key: &str,
    read: impl Fn(&toml::Value) -> Option<T>,
    expected: &str,
) -> Result<Option<Value<T>>> {
    pick_in_table(layers, "build", |k| k._build.as_ref(), key, read, expected)
}

/// `[build.budgets]` of the first layer that has it: each entry with its line (the line of
/// `budgets` itself for an inline table).
fn budgets(layers: &[Layer]) -> Result<Vec<Budget>> {
    for layer in layers {
        let Some(value) = layer.keys._build.as_ref().and_then(|t| t.get("budgets")) else {
            continue;
        };
        let table_origin = origin(layer, "budgets");
        let Some(table) = value.as_table() else {
            return Err(Error::config(
                "`budgets` in [build] must be a table of output patterns and limits, \
                 e.g. \"css/site.min.css\" = \"40 kB br\"",
            )
            .with_location(table_origin.to_string()));
        };
        let mut out = Vec::with_capacity(table.len());
        for (pattern, limit) in table {
            let origin = [
                format!("\"{pattern}\""),
                format!("'{pattern}'"),
                pattern.clone(),
            ]
            .iter()
            .map(|key| layer.table_origin("build.budgets", key))
            .find(|o| matches!(o, Origin::File(_, Some(_))))
            .unwrap_or_else(|| table_origin.clone());
            let fail = |message: String| {
                Err(Error::config(format!("budget {pattern:?}: {message}"))
                    .with_location(origin.to_string())
                    .with_hint(
                        "a budget is `\"OUTPUT OR PATTERN\" = \"SIZE UNIT [raw|gzip|br] [total]\"`, \
                         e.g. \"js/**/*.js\" = \"200 kB gzip\"",
                    ))
            };
            let Some(text) = limit.as_str() else {
                return fail("the limit must be a string such as \"40 kB br\"".into());
            };
            let pattern_glob = match OutputGlob::new(pattern) {
                Ok(glob) => glob,
                Err(message) => return fail(message),
            };
            let limit = match parse_limit(text) {
                Ok(limit) => limit,
                Err(message) => return fail(message),
            };
            out.push(Budget {
                pattern: pattern_glob,
                limit,
                origin,
            });
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

fn strings(value: &toml::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|q| q.as_str().map(str::to_string))
        .collect()
}

pub(crate) fn resolve_build(
    layers: &[Layer],
    django: Option<&DjangoProject>,
) -> Result<BuildConfig> {
    for layer in layers {
        for key in layer.keys._build.iter().flat_map(|t| t.keys()) {
            if !KEYS.contains(&key.as_str()) {
                return Err(Error::config(format!("unknown key `{key}` in [build]"))
                    .with_location(origin(layer, key).to_string())
                    .with_hint(format!("the keys of [build] are {}", KEYS.join(", "))));
            }
        }
    }
    fn default<T>(value: T) -> Value<T> {
        Value {
            value,
            origin: Origin::Default,
        }
    }
    let minify = pick(layers, "minify", toml::Value::as_bool, "true or false")?
        .unwrap_or_else(|| default(true));
    let browserslist = pick(
        layers,
        "browserslist",
        strings,
        "a list of browserslist queries (strings)",
    )?;

    // What the storage backend does, when there is a Django project.
    let storage = django.and_then(|d| {
        let features = d.settings.storage_features.as_ref()?;
        features.error.is_none().then(|| {
            (
                features,
                Origin::Django(format!(
                    "{} (STORAGES[\"staticfiles\"] = {})",
                    d.module.value,
                    d.settings.storage.as_deref().unwrap_or("?")
                )),
            )
        })
    });
    let from_storage = |get: &dyn Fn(&crate::django::StorageFeatures) -> bool| {
        storage.as_ref().map(|(f, origin)| Value {
            value: get(f),
            origin: origin.clone(),
        })
    };
    let hash = match pick(layers, "hash", toml::Value::as_bool, "true or false")? {
        Some(v) => v,
        None => from_storage(&|f| f.hashed).unwrap_or_else(|| default(true)),
    };
    let compress = match pick(
        layers,
        "compress",
        strings,
        "a list of encodings (\"gzip\", \"br\", \"zstd\")",
    )? {
        Some(v) => v,
        None => match &storage {
            Some((f, origin)) => Value {
                value: if f.compressed {
                    vec!["gzip".into(), "br".into()]
                } else if f.gzip {
                    vec!["gzip".into()]
                } else {
                    Vec::new()
                },
                origin: origin.clone(),
            },
            None => default(vec!["gzip".into(), "br".into()]),
        },
    };
    let keep_only_hashed = match pick(
        layers,
        "keep_only_hashed",
        toml::Value::as_bool,
        "true or false",
    )? {
        Some(v) => v,
        None => from_storage(&|f| f.keep_only_hashed).unwrap_or_else(|| default(false)),
    };
    Ok(BuildConfig {
        minify,
        browserslist,
        hash,
        compress,
        keep_only_hashed,
        budgets: budgets(layers)?,
    })
}
