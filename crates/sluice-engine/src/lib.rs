//! The engine of sluice: **sources → graph → outputs**, one computation that every command
//! runs with a different profile.
//!
//! - **Sources** (`sluice-core`): the ordered roots with Django's finder semantics and their
//!   index, kept up to date change set by change set.
//! - **Graph** ([`graph`]): one node per derived output, made by a rule of `sluice-assets`
//!   from inputs — compile, bundle — with an edge for every input the rule read (discovered
//!   ones included), so a change set re-runs exactly the nodes it makes stale.
//! - **Outputs** ([`outputs`]): what each profile wants at each path ([`dev`]: copies,
//!   compiled files, dev bundles; [`build`]: plus minified bundles, Django names,
//!   compression), decided against the one ownership [`record`] per output root by one pure
//!   function, written atomically (staged and committed whole in the build profile), under
//!   one lock, with an intent journal that makes a killed run's writes recoverable.
//! - **Results** ([`cache`]): content-addressed, keyed by inputs, settings and sluice's
//!   version; switching profiles or branches costs only what was never computed before.
//!
//! The binary (`sluice`) wires each command to [`Engine`] and prints its reports.

pub mod build;
pub mod cache;
pub mod dev;
mod engine;
pub mod graph;
pub mod outputs;
pub mod record;
pub mod report;
pub mod setup;

pub use engine::Engine;
pub use setup::{BuildOptions, CompileRule, Profile, RunOptions, Setup};
