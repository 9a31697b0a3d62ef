//! The one error type of publishing: what failed, on which object or file, and why.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The destination is not one sluice can publish to.
    #[error("{0}")]
    Url(String),
    /// A local file of the build output could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The build output is not a build (no files, a broken `staticfiles.json`).
    #[error("{0}")]
    Output(String),
    /// Another publish to the same prefix holds its lock.
    #[error(
        "another publish to this prefix is under way: {key} was taken {} by {who}",
        taken(*since)
    )]
    Locked {
        key: String,
        since: u64,
        who: String,
    },
    /// The object store refused or failed a request (after its retries).
    #[error("{what} failed: {message}")]
    Store { what: String, message: String },
}

impl Error {
    pub(crate) fn store(what: impl Into<String>, error: &object_store::Error) -> Error {
        Error::Store {
            what: what.into(),
            message: describe(error),
        }
    }

    /// What to do about it, when sluice can tell.
    pub fn hint(&self) -> Option<&'static str> {
        if let Error::Locked { .. } = self {
            return Some(
                "run one publish at a time; if none is running (a killed one left the lock), delete that object, or wait: a lock older than an hour is taken over",
            );
        }
        let Error::Store { message, .. } = self else {
            return None;
        };
        if message.contains("SignatureDoesNotMatch") || message.contains("InvalidAccessKeyId") {
            Some(
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_REGION): the store refused the request's signature or key",
            )
        } else if message.contains("AccessDenied") || message.contains("403 Forbidden") {
            Some("the store refused the request: check that these credentials may write there")
        } else if message.contains("NoSuchBucket") {
            Some("create the bucket first, or check the bucket name in the URL")
        } else if message.contains("connect") || message.contains("error sending request") {
            Some(
                "check the endpoint (AWS_ENDPOINT_URL or [publish] endpoint) and that the store is reachable",
            )
        } else {
            None
        }
    }
}

/// When a lock was taken, for its error message.
fn taken(since: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{} s ago", now.saturating_sub(since))
}

/// An object_store error with its whole chain of causes on one line (reqwest hides the
/// useful part — connection refused, the S3 error code — a few sources down).
fn describe(error: &object_store::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
