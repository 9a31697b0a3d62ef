//! ES-module bundles: the rule that turns a bundle whose members are ES modules (or
//! TypeScript / JSX) into one script, by following the module graph — relative imports and
//! bare specifiers from `node_modules` (package.json `exports`, `module`, `main`) — with
//! tree-shaking, as an IIFE for a classic `<script>` (the default) or as an ES module.
//!
//! Why a crate of its own: the bundler (`rolldown` 1.2.5, the release built on the oxc 0.146
//! the rest of sluice pins) is the largest dependency sluice has; kept here, the crates that
//! change every day do not rebuild or relink more than they must, and nothing else in
//! sluice knows rolldown's API.
//!
//! The rule reads the files itself (the bundler resolves and loads modules from disk), and
//! reports every file it read ([`Bundled::modules`]) so the caller records each one as an
//! input of the bundle. Its async API runs on a current-thread tokio runtime made for the
//! call: bundles are built in parallel by the caller's threads, each with its own runtime.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rolldown::plugin::{
    HookLoadArgs, HookLoadOutput, HookLoadReturn, HookResolveIdArgs, HookResolveIdOutput,
    HookResolveIdReturn, HookUsage, Plugin, SharedLoadPluginContext,
};
use rolldown::{
    Bundler, BundlerOptions, InputItem, OutputFormat, Platform, RawMinifyOptions, ResolveOptions,
    SourceMapType,
};

/// What a module bundle is written as (the bundle definition's `format`).
pub use sluice_core::bundles::ModuleFormat as Format;

/// One bundle to make.
#[derive(Debug, Clone)]
pub struct Request {
    /// The entry files, absolute, in the order they run (more than one: each is imported for
    /// its effects, in order, by one entry the rule makes up).
    pub entries: Vec<PathBuf>,
    /// The project folder: where the bundler's relative paths start.
    pub cwd: PathBuf,
    /// Folders searched for packages after the `node_modules` folders above each importer
    /// (absolute; e.g. the project's nearest `node_modules`, for sources outside it).
    pub node_modules: Vec<PathBuf>,
    pub format: Format,
    pub minify: bool,
    /// The browsers the code must run in, as esbuild-style names (`chrome109`,
    /// `safari15.6`): newer syntax is lowered for them. Empty: current browsers (nothing
    /// lowered).
    pub targets: Vec<String>,
    /// The bundle's file name (`site.js`): its map is `site.js.map`, named by a
    /// `sourceMappingURL` comment at the end of the code.
    pub file_name: String,
    /// Whether to write a source map.
    pub map: bool,
}

/// A bundle made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundled {
    pub code: String,
    /// The source map (JSON): one source per original module, with its text; each source
    /// named by the caller's `name` function.
    pub map: Option<String>,
    /// Every file the bundler read (modules, whether or not tree-shaking kept any of their
    /// code), absolute and sorted.
    pub modules: Vec<PathBuf>,
    /// The bundler's warnings, one line each.
    pub warnings: Vec<String>,
}

/// Why a bundle could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A syntax error (or an unresolved import) at a place in a module.
    At {
        file: PathBuf,
        /// 1-based.
        line: u32,
        /// 1-based, in characters.
        column: u32,
        message: String,
        /// The text of that line.
        source_line: String,
    },
    /// Anything else (no entry, the runtime could not start, …).
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::At {
                file,
                line,
                column,
                message,
                ..
            } => write!(f, "{}:{line}:{column}: {message}", file.display()),
            Error::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Whether a script uses ES-module syntax (`import` / `export` declarations; `import()` and
/// `import.meta` do not count): the test that makes a bundle a module bundle. A file that
/// does not parse is not called a module here (the concatenating rule reports its error).
pub fn uses_modules(code: &str, path: &str) -> bool {
    if !code.contains("import") && !code.contains("export") {
        return false;
    }
    let allocator = oxc::allocator::Allocator::default();
    let source_type = oxc::span::SourceType::from_path(path)
        .unwrap_or_else(|_| oxc::span::SourceType::mjs())
        .with_module(true);
    let parsed = oxc::parser::Parser::new(&allocator, code, source_type).parse();
    !parsed.panicked && parsed.module_record.has_module_syntax
}

/// The id of the module made up to run several entries in order.
const ENTRY_ID: &str = "\0sluice:entries";

/// Makes the bundle. `name` says how a module (an absolute path) is named in the map's
/// `sources`.
pub fn bundle(request: &Request, name: &dyn Fn(&Path) -> String) -> Result<Bundled, Error> {
    if request.entries.is_empty() {
        return Err(Error::Other("the bundle has no entry".into()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the bundler's runtime: {e}")))?;
    runtime.block_on(run(request, name))
}

async fn run(request: &Request, name: &dyn Fn(&Path) -> String) -> Result<Bundled, Error> {
    let (input, plugins): (String, Vec<rolldown::plugin::__inner::SharedPluginable>) =
        match request.entries.as_slice() {
            [one] => (one.to_string_lossy().into_owned(), Vec::new()),
            several => (
                ENTRY_ID.to_string(),
                vec![Arc::new(Entries {
                    code: entries_module(several),
                })],
            ),
        };
    let mut modules = vec!["node_modules".to_string()];
    modules.extend(
        request
            .node_modules
            .iter()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    // The map's sources are relative to the output folder the bundler is told; any
    // absolute folder serves, since they are made absolute again below.
    let dir = request.cwd.join(".sluice-esm-out");
    let options = BundlerOptions {
        input: Some(vec![InputItem {
            name: None,
            import: input,
        }]),
        cwd: Some(request.cwd.clone()),
        dir: Some(dir.to_string_lossy().into_owned()),
        platform: Some(Platform::Browser),
        format: Some(match request.format {
            Format::Iife => OutputFormat::Iife,
            Format::Esm => OutputFormat::Esm,
        }),
        sourcemap: request.map.then_some(SourceMapType::Hidden),
        minify: Some(RawMinifyOptions::Bool(request.minify)),
        transform: Some(rolldown_common::BundlerTransformOptions {
            target: (!request.targets.is_empty())
                .then(|| rolldown_common::Either::Right(request.targets.clone())),
            // JSX as sluice compiles a `.jsx`/`.tsx` file: `React.createElement` (the automatic
            // runtime would import `react/jsx-runtime`, which a project may not have).
            jsx: Some(rolldown_common::Either::Right(
                rolldown_common::JsxOptions {
                    runtime: Some("classic".into()),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
        resolve: Some(ResolveOptions {
            modules: Some(modules),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut bundler =
        Bundler::with_plugins(options, plugins).map_err(|e| diagnostics(e.into_vec(), request))?;
    let output = bundler
        .generate()
        .await
        .map_err(|e| diagnostics(e.into_vec(), request));
    let mut read: Vec<PathBuf> = bundler
        .watch_files()
        .iter()
        .map(|f| PathBuf::from(f.as_str()))
        .filter(|p| p.is_absolute())
        .collect();
    read.sort();
    read.dedup();
    let _ = bundler.close().await;
    let output = output?;
    // An import that resolves to nothing is a warning for rolldown (it leaves it external);
    // in a bundle for the browser it is an error.
    let (unresolved, warnings): (Vec<_>, Vec<_>) = output
        .warnings
        .into_iter()
        .partition(|w| matches!(w.kind(), rolldown_error::EventKind::UnresolvedImport));
    if !unresolved.is_empty() {
        return Err(diagnostics(unresolved, request));
    }
    let opts = rolldown_error::DiagnosticOptions {
        cwd: request.cwd.clone(),
    };
    let warnings = warnings.iter().map(|w| w.to_message_with(&opts)).collect();
    let chunk = output
        .assets
        .iter()
        .find_map(|o| match o {
            rolldown_common::Output::Chunk(c) if c.is_entry => Some(c.clone()),
            _ => None,
        })
        .ok_or_else(|| Error::Other("the bundler wrote no entry chunk".into()))?;
    let mut code = chunk.code.clone();
    let map = match (&chunk.map, request.map) {
        (Some(map), true) => {
            let mut map = map.clone();
            let sources: Vec<String> = map
                .get_sources()
                .map(|s| name(&normalize(&dir.join(s))))
                .collect();
            map.set_sources(sources);
            if !code.ends_with('\n') {
                code.push('\n');
            }
            code.push_str(&format!("//# sourceMappingURL={}.map\n", request.file_name));
            Some(map.to_json_string())
        }
        _ => None,
    };
    Ok(Bundled {
        code,
        map,
        modules: read,
        warnings,
    })
}

/// The made-up entry: each file imported for its effects, in order.
fn entries_module(entries: &[PathBuf]) -> String {
    entries
        .iter()
        .map(|p| {
            let quoted = serde_json::to_string(&p.to_string_lossy()).unwrap_or_default();
            format!("import {quoted};\n")
        })
        .collect()
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The bundler's errors as sluice's: the first error with a place in a module becomes
/// [`Error::At`] (file, line, column), the others are listed in its message.
fn diagnostics(all: Vec<rolldown_error::BuildDiagnostic>, request: &Request) -> Error {
    let opts = rolldown_error::DiagnosticOptions {
        cwd: request.cwd.clone(),
    };
    let mut located = None;
    let mut messages = Vec::new();
    for d in &all {
        let message = d.to_message_with(&opts);
        if located.is_none()
            && let Some((file, line, column, _)) =
                d.to_diagnostic_with(&opts).get_primary_location()
        {
            located = Some((file, line, column, message));
            continue;
        }
        messages.push(message);
    }
    match located {
        Some((file, line, column, message)) => {
            let file = PathBuf::from(&file);
            let file = if file.is_absolute() {
                file
            } else {
                request.cwd.join(file)
            };
            let source_line = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.lines().nth(line.saturating_sub(1)).map(str::to_string))
                .unwrap_or_default();
            let mut message = message;
            for m in messages {
                message.push_str("; ");
                message.push_str(&m);
            }
            Error::At {
                file,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column + 1).unwrap_or(u32::MAX),
                message,
                source_line,
            }
        }
        None if messages.is_empty() => Error::Other("the bundler failed without a message".into()),
        None => Error::Other(messages.join("; ")),
    }
}

/// Serves the made-up entry module.
#[derive(Debug)]
struct Entries {
    code: String,
}

impl Plugin for Entries {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("sluice:entries")
    }

    async fn resolve_id(
        &self,
        _ctx: &rolldown::plugin::PluginContext,
        args: &HookResolveIdArgs<'_>,
    ) -> HookResolveIdReturn {
        Ok((args.specifier == ENTRY_ID).then(|| HookResolveIdOutput::from_id(ENTRY_ID)))
    }

    async fn load(&self, _ctx: SharedLoadPluginContext, args: &HookLoadArgs<'_>) -> HookLoadReturn {
        Ok((args.id == ENTRY_ID).then(|| HookLoadOutput {
            code: self.code.as_str().into(),
            ..Default::default()
        }))
    }

    fn register_hook_usage(&self) -> HookUsage {
        HookUsage::ResolveId | HookUsage::Load
    }
}

#[cfg(test)]
mod tests;
