//! sluice's asset rules: the parts of a build that must match what Django and whitenoise
//! would produce, byte for byte, so a site can switch to sluice without its templates,
//! caches or CDN noticing.
//!
//! - [`django_manifest`]: Django 6.1's `ManifestStaticFilesStorage` — hashed names, the
//!   rewriting of `url()`, `@import` and `sourceMappingURL` references in `*.css` / `*.js`,
//!   the dependency order that replaces Django's repeated passes, and `staticfiles.json`.
//! - [`compress`]: whitenoise 6.12's compression rules (which files, which encodings,
//!   when a compressed copy is worth keeping).
//!
//! Everything here is a pure function of bytes and names; reading and writing files is the
//! caller's job (`sluice-core`'s atomic output), so these rules are tested without a disk.

pub mod compress;
#[cfg(test)]
mod django_fixture;
pub mod django_manifest;
mod error;
mod python;

pub use error::Error;
