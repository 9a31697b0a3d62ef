//! The `[publish]` and `[cache]` tables, resolved: where and how `sluice publish` uploads the
//! build output, and the build cache a CI fleet shares.
//! Credentials are never read from a file: they come from the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …), like every AWS tool's.

use super::files::{Layer, pick_in_table};
use crate::error::{Error, Result};
use crate::origin::{Origin, Value};

#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// The destination when the command line names none (`s3://bucket/prefix`, `file:///…`).
    pub url: Option<Value<String>>,
    /// `Cache-Control: public, max-age=N` for names without a hash (default 60).
    pub max_age: Value<u64>,
    /// How many earlier deploys' hashed names stay besides the current one's (default 3).
    pub keep: Value<u64>,
    /// Uploads at once (default 16).
    pub concurrency: Value<u64>,
    /// Retries of a failed request, with backoff (default 3).
    pub retries: Value<u64>,
    /// The S3 endpoint (MinIO, R2, a test server); else `AWS_ENDPOINT_URL`, else AWS.
    pub endpoint: Option<Value<String>>,
    /// The region; else `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<Value<String>>,
    /// `"gzip"` or `"br"`: also upload that compressed copy's bytes under the original key
    /// (with its `Content-Encoding`), for CDNs that cannot choose by `Accept-Encoding`.
    pub serve_compressed: Option<Value<String>>,
}

const KEYS: [&str; 8] = [
    "url",
    "max_age",
    "keep",
    "concurrency",
    "retries",
    "endpoint",
    "region",
    "serve_compressed",
];

fn pick<T>(
    layers: &[Layer],
    key: &str,
    read: impl Fn(&toml::Value) -> Option<T>,
    expected: &str,
) -> Result<Option<Value<T>>> {
    pick_in_table(
        layers,
        "publish",
        |k| k._publish.as_ref(),
        key,
        read,
        expected,
    )
}

fn string(value: &toml::Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn count(value: &toml::Value) -> Option<u64> {
    value.as_integer().and_then(|n| u64::try_from(n).ok())
}

pub(crate) fn resolve_publish(layers: &[Layer]) -> Result<PublishConfig> {
    for layer in layers {
        for key in layer.keys._publish.iter().flat_map(|t| t.keys()) {
            if !KEYS.contains(&key.as_str()) {
                return Err(Error::config(format!("unknown key `{key}` in [publish]"))
                    .with_location(layer.table_origin("publish", key).to_string())
                    .with_hint(format!("the keys of [publish] are {}", KEYS.join(", "))));
            }
        }
    }
    let or = |v: Option<Value<u64>>, n: u64| {
        v.unwrap_or(Value {
            value: n,
            origin: Origin::Default,
        })
    };
    let number = "a whole number, 0 or more";
    let concurrency = or(pick(layers, "concurrency", count, number)?, 16);
    if concurrency.value == 0 {
        return Err(
            Error::config("`concurrency` in [publish] must be 1 or more")
                .with_location(concurrency.origin.to_string()),
        );
    }
    let serve_compressed = pick(layers, "serve_compressed", string, "\"gzip\" or \"br\"")?;
    if let Some(v) = &serve_compressed
        && !matches!(v.value.as_str(), "gzip" | "br")
    {
        return Err(Error::config(format!(
            "`serve_compressed` in [publish] is `{}`, not \"gzip\" or \"br\"",
            v.value
        ))
        .with_location(v.origin.to_string()));
    }
    Ok(PublishConfig {
        url: pick(layers, "url", string, "a URL string (s3://bucket/prefix)")?,
        max_age: or(pick(layers, "max_age", count, number)?, 60),
        keep: or(pick(layers, "keep", count, number)?, 3),
        concurrency,
        retries: or(pick(layers, "retries", count, number)?, 3),
        endpoint: pick(layers, "endpoint", string, "a URL string")?,
        region: pick(layers, "region", string, "a string")?,
        serve_compressed,
    })
}

/// The `[cache]` table: the shared build cache behind `.sluice/cache/`.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// `s3://bucket/sluice-cache` (or `file:///…`); reached like `[publish]`'s destination
    /// (its endpoint and region, the AWS variables).
    pub remote: Option<Value<String>>,
    /// Whether runs write to it (`--cache-write` does the same): CI's main-branch builds,
    /// not pull requests.
    pub write: Value<bool>,
}

pub(crate) fn resolve_cache(layers: &[Layer]) -> Result<CacheConfig> {
    let mut remote = None;
    let mut write = None;
    for layer in layers {
        let Some(table) = layer.keys._cache.as_ref() else {
            continue;
        };
        for (key, value) in table {
            let at = layer.table_origin("cache", key);
            match key.as_str() {
                "remote" if remote.is_none() => match value.as_str() {
                    Some(url) => {
                        remote = Some(Value {
                            value: url.to_string(),
                            origin: at,
                        })
                    }
                    None => {
                        return Err(Error::config("`remote` in [cache] must be a URL string")
                            .with_location(at.to_string()));
                    }
                },
                "write" if write.is_none() => match value.as_bool() {
                    Some(on) => {
                        write = Some(Value {
                            value: on,
                            origin: at,
                        })
                    }
                    None => {
                        return Err(Error::config("`write` in [cache] must be true or false")
                            .with_location(at.to_string()));
                    }
                },
                "remote" | "write" => {}
                other => {
                    return Err(Error::config(format!("unknown key `{other}` in [cache]"))
                        .with_location(at.to_string())
                        .with_hint("the keys of [cache] are remote, write"));
                }
            }
        }
    }
    Ok(CacheConfig {
        remote,
        write: write.unwrap_or(Value {
            value: false,
            origin: Origin::Default,
        }),
    })
}
