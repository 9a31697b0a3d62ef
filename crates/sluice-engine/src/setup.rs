//! What the engine is given: the project ([`Setup`], from the resolved configuration) and the
//! profile, the set of rules and options a command wants.
//!
//! - **dev** (`sync`, `watch`, `dev`): copy (or link) every source, compile, unminified
//!   bundles with source maps; no hashing, no compression; written as it goes, latency first.
//! - **build**: the same, plus minified bundles (or plain ones), Django manifest names,
//!   compression; staged and committed whole, throughput first.

use std::path::PathBuf;

use sluice_assets::compress::Codecs;
use sluice_assets::minify::Targets;
use sluice_core::budget::Budget;
use sluice_core::bundles::{BundleDef, CompilerKind, PipelineSettings};
use sluice_core::sources::{IgnoreRules, SourceRoot};

/// The project, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Setup {
    pub roots: Vec<SourceRoot>,
    pub ignore: IgnoreRules,
    /// The output root (Django's `STATIC_ROOT`).
    pub output: PathBuf,
    /// `.sluice/`: records, lock, cache.
    pub state_dir: PathBuf,
    /// Django's `STATIC_URL`.
    pub static_url: String,
    pub bundles: Vec<BundleDef>,
    pub pipeline: PipelineSettings,
    /// Compilers in effect (`PIPELINE["COMPILERS"]`, sluice's defaults, or none).
    pub compilers: Vec<CompilerKind>,
    /// What is compiled besides bundle members, and the compilers' load paths.
    pub compile: CompileRule,
}

/// What the compile rule is given: a source is compiled when a bundle lists it (or its
/// compiled name), an `entries` glob matches it (or its compiled name), or a template
/// references its compiled name; nothing else is.
#[derive(Debug, Clone, Default)]
pub struct CompileRule {
    /// `[compile] entries`: globs over logical paths (django-pipeline's glob).
    pub entries: Vec<String>,
    /// The template folders whose `static` references are compiled.
    pub templates: Vec<PathBuf>,
    /// Where imports are looked for after the importing file's folder.
    pub load_paths: Vec<PathBuf>,
}

/// What `sluice build` produces.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Django manifest names, rewritten `*.css`/`*.js` and `staticfiles.json`; off gives
    /// plain `collectstatic` output.
    pub hash: bool,
    /// Only the hashed copies (whitenoise's `WHITENOISE_KEEP_ONLY_HASHED_FILES`).
    pub keep_only_hashed: bool,
    /// Which compressed copies to add; all off for none.
    pub codecs: Codecs,
    /// Minify bundles for these browsers; `None` writes them as django-pipeline does with no
    /// compressor.
    pub minify: Option<Targets>,
    /// Size limits checked before anything moves into the output (`[build.budgets]`).
    pub budgets: Vec<Budget>,
    /// Gather what the build report shows (`sluice build --report`):
    /// [`crate::report::BuildReport::analysis`].
    pub analyse: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            hash: true,
            keep_only_hashed: false,
            codecs: Codecs::default(),
            minify: None,
            budgets: Vec::new(),
            analyse: false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Profile {
    Dev {
        /// Symlink sources instead of copying them (`collectstatic --link`).
        link: bool,
    },
    Build(BuildOptions),
}

impl Profile {
    /// What distinguishes this profile's outputs, stored in the record.
    pub fn key(&self, static_url: &str) -> String {
        match self {
            Profile::Dev { link } => format!("dev link={link}"),
            Profile::Build(o) => format!(
                "build hash={} keep_only_hashed={} codecs={} minify={:?} static_url={static_url}",
                o.hash,
                o.keep_only_hashed,
                codecs_key(&o.codecs),
                o.minify.as_ref().map(|t| &t.queries)
            ),
        }
    }
}

/// How a command runs the engine.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Overwrite files in the way that sluice did not write.
    pub force: bool,
    /// Remove everything sluice wrote before (any profile), then start from scratch.
    pub clean: bool,
    /// Wait for another sluice writing into the same output root (else fail at once).
    pub wait: bool,
    /// Who this is, for one that has to wait (`sluice watch`).
    pub command: String,
    /// Walk the sources while the record loads ([`sluice_core::sources::Index::walk_ahead`]):
    /// for a command whose first step is a full pass and that watches nothing (`build`,
    /// `sync`).
    pub walk_ahead: bool,
}

/// What the compression decisions of a record were made with (`"br,gz"`).
pub fn codecs_key(codecs: &Codecs) -> String {
    let mut parts = Vec::new();
    if codecs.brotli {
        parts.push("br".to_string());
    }
    if codecs.gzip {
        parts.push("gz".to_string());
    }
    #[cfg(feature = "zstd")]
    if let Some(level) = codecs.zstd {
        parts.push(format!("zst{level}"));
    }
    parts.join(",")
}
