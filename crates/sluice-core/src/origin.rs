//! Where a configuration value came from: every resolved value carries its origin, so
//! `sluice config` and every configuration error can say which flag, file and line, or
//! Django setting it was.

use std::fmt;
use std::path::PathBuf;

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
