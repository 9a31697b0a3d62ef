//! sluice's asset rules: the parts of a build that must match what Django and whitenoise
//! would produce, byte for byte, so a site can switch to sluice without its templates,
//! caches or CDN noticing.
//!
//! - [`django_manifest`]: Django 6.1's `ManifestStaticFilesStorage` — hashed names, the
//!   rewriting of `url()`, `@import` and `sourceMappingURL` references in `*.css` / `*.js`,
//!   the dependency order that replaces Django's repeated passes, and `staticfiles.json`.
//! - [`bundle`]: django-pipeline's bundles (glob, joining, url rewriting, templates,
//!   data URIs) and the seam where minification plugs in;
//! - [`compress`]: whitenoise 6.12's compression rules (which files, which encodings,
//!   when a compressed copy is worth keeping).
//! - [`integrity`]: `sha384` subresource integrity and `sluice.json`, the record of bundles
//!   and digests that sluice's Django app reads from the output root.
//!
//! - [`minify`]: CSS (lightningcss) and JS (oxc) minification of bundles, with source
//!   maps that point into the member files.
//! - [`compile`]: SCSS/Sass (grass), TypeScript/TSX/JSX (oxc) and LESS (external `lessc`)
//!   to CSS/JS, with the list of files each compile read.
//!
//! The rules are pure functions of bytes and names (a compiler reads the files it imports),
//! tested without the engine; they know nothing of records, caches or output roots:
//! `sluice-engine` runs them.

pub mod bundle;
pub mod compile;
pub mod compress;
pub mod dart_sass;
#[cfg(test)]
mod django_fixture;
pub mod django_manifest;
mod error;
pub mod integrity;
pub mod less_tilde;
pub mod minify;
mod python;
pub mod sourcemap;

pub use error::Error;
