//! Outputs: what may be written into an output root and how.
//!
//! - [`decide`]: the one pure decision, given what a pass wants at a path, what the record
//!   says and what is there;
//! - [`stage`]: staging and committing a whole build;
//! - [`remove`]: many recorded outputs removed at once (a profile switch);
//! - [`lock`]: one writer per output root;
//! - [`journal`]: what a killed run meant to write, taken back by the next one.

pub mod decide;
pub mod journal;
pub mod lock;
pub mod remove;
pub mod stage;
