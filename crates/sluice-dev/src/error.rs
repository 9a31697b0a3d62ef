//! The one error type of sluice-dev.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The public address could not be bound (in use, not allowed, not an address).
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: io::Error },
    /// The backend could not be started at all (not found, not executable).
    #[error("cannot start the backend `{command}`: {source}")]
    Spawn { command: String, source: io::Error },
    /// Anything else the operating system refused.
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
