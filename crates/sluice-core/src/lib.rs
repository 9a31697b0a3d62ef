//! The first stage of sluice (sources → graph → outputs): the project and its sources.
//!
//! This crate knows what a project is and where its static media lives; the engine
//! (`sluice-engine`) turns that into outputs with the rules of `sluice-assets`. It does no
//! terminal output: the `sluice` binary wires the pieces to a command line and prints what
//! they report.
//!
//! - [`config`]: the resolved configuration (flags, `sluice.toml`, `[tool.sluice]`, Django
//!   settings through [`django`], defaults) and where each value came from;
//! - [`sources`]: source roots with Django's finder semantics, their walk, and the
//!   [`sources::Index`] a watch keeps up to date change set by change set;
//! - [`watch`]: file events (native or polled) turned into change sets;
//! - [`output`]: atomic file writes, recognisable temp files, the state folder;
//! - [`progress`]: how long work reports its progress;
//! - [`bundles`]: bundle definitions (django-pipeline's `PIPELINE`, `static-bundles.json`,
//!   `[bundles.*]` tables) and the django-pipeline settings that shape them;
//! - [`init`]: `sluice init`'s configuration text (only what sluice cannot find by itself);
//! - [`fnmatch`]: Python's `fnmatchcase`, which Django and django-pipeline match with;
//! - [`templates`]: the `static` references in the project's templates (what is compiled);
//! - [`budget`]: size budgets (`[build.budgets]`): limits, measures, output patterns.

pub mod budget;
pub mod bundles;
pub mod config;
pub mod django;
pub mod error;
pub mod fnmatch;
pub mod init;
pub mod node_modules;
pub mod origin;
pub mod output;
pub mod progress;
pub mod sources;
pub mod templates;
pub mod watch;

pub use error::{Error, Result};
