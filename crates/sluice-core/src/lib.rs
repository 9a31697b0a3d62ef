//! The engine of sluice: sources → graph → outputs.
//!
//! This crate knows where a project's static media lives and how to mirror it into an output
//! root fast, incrementally and safely. It does no terminal output: the `sluice` binary wires
//! these pieces to a command line and prints what they report.
//!
//! - [`config`]: the resolved configuration (flags, `sluice.toml`, `[tool.sluice]`, Django
//!   settings through [`django`], defaults) and where each value came from;
//! - [`sources`]: source roots with Django's finder semantics, and their [`sources::SourceIndex`];
//! - [`sync`]: one incremental pass (the dev profile), recorded in [`state`];
//! - [`watch`]: keeping the output in step as files change (native events or polling);
//! - [`output`]: atomic writes into the output root;
//! - [`bundles`]: bundle definitions (django-pipeline's `PIPELINE`, `static-bundles.json`,
//!   `[bundles.*]` tables) and the django-pipeline settings that shape them;
//! - [`init`]: `sluice init`'s configuration text (only what sluice cannot find by itself);
//! - [`fnmatch`]: Python's `fnmatchcase`, which Django and django-pipeline match with.

pub mod bundles;
pub mod config;
pub mod django;
pub mod error;
pub mod fnmatch;
pub mod init;
pub mod output;
pub mod sources;
pub mod state;
pub mod sync;
pub mod watch;

pub use error::{Error, Result};
