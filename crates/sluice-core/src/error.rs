//! The one error type of the engine. The binary renders it; the variants say which exit code
//! applies (configuration and usage errors are 2, everything found while building is 1).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid configuration, with the place it came from when there is one.
    #[error("{message}")]
    Config {
        message: String,
        /// `file:line:col` or a file name, when the problem is in a file.
        location: Option<String>,
        hint: Option<String>,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another sluice process is writing into the same output root (and `--no-wait` was
    /// given, so this one does not wait for it).
    #[error("another sluice ({holder}) is writing into {}", .output.display())]
    Busy { output: PathBuf, holder: String },
    /// The project's Python failed to report its Django settings.
    #[error("could not read the Django settings `{module}` with {python}")]
    Django {
        module: String,
        python: String,
        detail: String,
    },
}

impl Error {
    pub fn config(message: impl Into<String>) -> Error {
        Error::Config {
            message: message.into(),
            location: None,
            hint: None,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn with_location(self, location: impl Into<String>) -> Error {
        match self {
            Error::Config { message, hint, .. } => Error::Config {
                message,
                location: Some(location.into()),
                hint,
            },
            other => other,
        }
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        match self {
            Error::Config {
                message, location, ..
            } => Error::Config {
                message,
                location,
                hint: Some(hint.into()),
            },
            other => other,
        }
    }

    /// The process exit code this error calls for: 2 for configuration, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. } | Error::Django { .. } => 2,
            Error::Io { .. } | Error::Busy { .. } => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One file that could not be handled (the rest of the pass went on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub message: String,
}

impl FileError {
    /// An I/O error on `path`, said the way a person reads it.
    pub fn io(path: impl Into<PathBuf>, e: &std::io::Error) -> FileError {
        FileError {
            path: path.into(),
            message: describe_io(e),
        }
    }
}

/// The error of writing the output file `dest`: one only a write can meet (a full or
/// read-only file system, a quota) names the output file, since the message is shown beside
/// its source; others as [`describe_io`] says them.
pub fn describe_write(dest: &std::path::Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        StorageFull | ReadOnlyFilesystem | QuotaExceeded | FileTooLarge => {
            format!("cannot write {}: {e}", dest.display())
        }
        _ => describe_io(e),
    }
}

/// An I/O error as a message: permission problems say so, a file that disappeared while
/// sluice worked says that.
pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!("permission denied ({e})"),
        std::io::ErrorKind::NotFound => "vanished while sluice worked on it".to_owned(),
        _ => e.to_string(),
    }
}
