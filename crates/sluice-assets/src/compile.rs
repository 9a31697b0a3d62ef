//! Compilers: a source file in a language browsers don't read → CSS or JS.
//!
//! - SCSS / Sass with dart-sass when npm's `sass-embedded` is installed in a `node_modules`
//!   ([`crate::dart_sass`]: the reference implementation, one process kept running), else
//!   with grass (cargo feature `scss`, on by default), in-process;
//! - TypeScript, TSX and JSX with oxc's transformer (types stripped, JSX compiled to
//!   `React.createElement` calls, no type checking), with a source map;
//! - LESS through the external `lessc` (run with an argv, never a shell), with sluice's
//!   plugin for webpack's `~pkg/…` imports ([`crate::less_tilde`]).
//!
//! Every compile returns the files it read (`@import` / `@use` partials included), each with
//! its fingerprint from *before* it was read and the md5 of the bytes read, so the caller can
//! recompile when any of them changes — also when one changes while the compile runs: a
//! fingerprint taken after the read would already describe the new bytes and hide the change.
//! Errors carry file, line and column.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use md5::{Digest, Md5};
use sluice_core::sources::FileMeta;

use oxc::allocator::Allocator;
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::parser::Parser;
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use oxc::transformer::{JsxRuntime, TransformOptions, Transformer};

use crate::Error;
use crate::dart_sass::DartSass;
use crate::minify::js_error;

/// A language sluice compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compiler {
    /// `.scss` (grass).
    Scss,
    /// `.sass`, the indented syntax (grass).
    Sass,
    /// `.ts`, `.mts`, `.cts` (oxc).
    TypeScript,
    /// `.tsx` (oxc).
    Tsx,
    /// `.jsx` (oxc).
    Jsx,
    /// `.less` (external `lessc`).
    Less,
}

impl Compiler {
    /// The compiler for a file, by extension; `None` for files that are copied as they are.
    /// `.d.ts` files (declarations only) are not compiled.
    pub fn for_path(path: &Path) -> Option<Compiler> {
        let name = path.file_name()?.to_str()?;
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "scss" => Some(Compiler::Scss),
            "sass" => Some(Compiler::Sass),
            "ts" | "mts" | "cts" if !name.to_ascii_lowercase().contains(".d.") => {
                Some(Compiler::TypeScript)
            }
            "tsx" => Some(Compiler::Tsx),
            "jsx" => Some(Compiler::Jsx),
            "less" => Some(Compiler::Less),
            _ => None,
        }
    }

    /// The extension of the output (`"css"` or `"js"`).
    pub fn output_extension(self) -> &'static str {
        match self {
            Compiler::Scss | Compiler::Sass | Compiler::Less => "css",
            Compiler::TypeScript | Compiler::Tsx | Compiler::Jsx => "js",
        }
    }

    /// Whether its compile gives a source map ([`Compiled::map`]).
    pub fn writes_map(self) -> bool {
        matches!(self, Compiler::TypeScript | Compiler::Tsx | Compiler::Jsx)
    }

    /// SCSS/Sass partials (`_name.scss`) are only ever imported, never compiled alone.
    pub fn is_partial(path: &Path) -> bool {
        matches!(
            Compiler::for_path(path),
            Some(Compiler::Scss | Compiler::Sass)
        ) && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('_'))
    }
}

/// A compiled file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The CSS or JS.
    pub code: String,
    /// A v3 source map (JSON) whose single source is the file name (TypeScript/TSX/JSX);
    /// `None` for SCSS (grass writes none) and LESS.
    pub map: Option<String>,
    /// Every file read: the file itself first, then partials and imports.
    pub inputs: Vec<Input>,
}

/// A file a compile read, as it was when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Its fingerprint, taken before the compiler read it: any later change shows as another
    /// fingerprint. `None` when it is not known to describe the bytes the compiler read: the
    /// file changed while the compiler ran (seen for LESS, which reads in its own process), or
    /// was read twice with different bytes.
    pub meta: Option<FileMeta>,
    /// The md5 of the bytes the compiler read; `None` when `meta` is.
    pub md5: Option<[u8; 16]>,
}

impl Input {
    /// A file read in this process: fingerprinted, then read (the order is the point).
    fn read(path: &Path) -> std::io::Result<(Input, Vec<u8>)> {
        let meta = sluice_core::sources::remote::fingerprint(path);
        let bytes = std::fs::read(path)?;
        let input = Input {
            path: path.to_path_buf(),
            md5: meta.map(|_| Md5::digest(&bytes).into()),
            meta,
        };
        Ok((input, bytes))
    }
}

/// Notes `input` among `seen`: a file read again with other bytes changed in between, and is
/// known by neither reading.
fn note_read(seen: &mut Vec<Input>, input: Input) {
    match seen.iter_mut().find(|i| i.path == input.path) {
        Some(first) if first.md5 != input.md5 => {
            first.meta = None;
            first.md5 = None;
        }
        Some(_) => {}
        None => seen.push(input),
    }
}

/// Compile `path` with `compiler`. `load_paths` are searched for SCSS `@use`/`@import`
/// and LESS `@import` (after the importing file's folder). Sass compiles with dart-sass when
/// one is installed ([`crate::dart_sass`]), else with grass.
pub fn compile(compiler: Compiler, path: &Path, load_paths: &[PathBuf]) -> Result<Compiled, Error> {
    match compiler {
        Compiler::Scss | Compiler::Sass => match DartSass::find(path, load_paths) {
            Some(sass) => crate::dart_sass::compile(&sass, path, load_paths),
            None => compile_with_grass(path, load_paths),
        },
        Compiler::TypeScript | Compiler::Tsx | Compiler::Jsx => compile_script(compiler, path),
        Compiler::Less => compile_less(path, load_paths, &find_lessc(path)),
    }
}

/// Which Sass compiler compiles `path`, for cache keys and messages: dart-sass's identity
/// (its snapshot and stamp), or `grass`.
pub fn sass_engine(path: &Path, load_paths: &[PathBuf]) -> String {
    match DartSass::find(path, load_paths) {
        Some(sass) => sass.identity(),
        None => format!("grass {}", GRASS_VERSION),
    }
}

/// The grass release sluice is built with (the fallback Sass compiler).
pub const GRASS_VERSION: &str = "0.13.4";

fn read(path: &Path) -> Result<(Input, String), Error> {
    let error = |message: String| Error::Read {
        file: path.display().to_string(),
        message,
    };
    let (input, bytes) = Input::read(path).map_err(|e| error(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| error(e.to_string()))?;
    Ok((input, text))
}

/// Where grass's look-up of `path` really is, with webpack's `~` prefix
/// (`~@mozilla-protocol/core/…`: a package in a load path): a path whose folder is a load
/// path and whose next part starts with `~` is that load path's package; `~` anywhere else
/// (relative to the importing file) is no place at all (`None`).
pub fn sass_place(path: &Path, load_paths: &[PathBuf]) -> Option<PathBuf> {
    use std::path::Component;
    let parts: Vec<Component> = path.components().collect();
    let Some(at) = parts.iter().position(
        |c| matches!(c, Component::Normal(n) if n.to_str().is_some_and(|n| n.starts_with('~'))),
    ) else {
        return Some(path.to_path_buf());
    };
    let base: PathBuf = parts[..at].iter().collect();
    if !load_paths.contains(&base) {
        return None;
    }
    let first = parts[at].as_os_str().to_str()?.trim_start_matches('~');
    let mut out = base.join(first);
    out.extend(&parts[at + 1..]);
    Some(out)
}

/// The places a failed look-up tried, for its message: each candidate without its
/// extension and its partial `_`, in order, once.
fn places_tried(tried: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in tried {
        let mut place = path.clone();
        for _ in 0..2 {
            if place
                .extension()
                .is_some_and(|e| ["scss", "sass", "css", "import"].iter().any(|x| e == *x))
            {
                place.set_extension("");
            }
        }
        let stem = place
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix('_'))
            .map(std::ffi::OsString::from);
        if let Some(stem) = stem {
            place.set_file_name(stem);
        }
        let place = place.display().to_string();
        if !out.contains(&place) {
            out.push(place);
        }
    }
    out
}

/// Compiles `.scss`/`.sass` with grass, in-process (the fallback when no dart-sass is
/// installed; `~pkg/…` resolves in the load paths, as with dart-sass).
#[cfg(feature = "scss")]
pub fn compile_with_grass(path: &Path, load_paths: &[PathBuf]) -> Result<Compiled, Error> {
    use std::cell::RefCell;

    /// grass's file system, noting every file it reads as it was when read, and every place
    /// its current look-up tried; `~` prefixes resolve in the load paths.
    #[derive(Debug, Default)]
    struct Recording {
        read: RefCell<Vec<Input>>,
        tried: RefCell<Vec<PathBuf>>,
        load_paths: Vec<PathBuf>,
    }
    impl grass::Fs for Recording {
        fn is_dir(&self, path: &Path) -> bool {
            sass_place(path, &self.load_paths).is_some_and(|p| p.is_dir())
        }
        fn is_file(&self, path: &Path) -> bool {
            let Some(place) = sass_place(path, &self.load_paths) else {
                return false;
            };
            let found = place.is_file();
            self.tried.borrow_mut().push(place);
            found
        }
        fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            let place = sass_place(path, &self.load_paths).unwrap_or_else(|| path.to_path_buf());
            let (input, bytes) = Input::read(&place)?;
            note_read(&mut self.read.borrow_mut(), input);
            self.tried.borrow_mut().clear();
            Ok(bytes)
        }
        fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
            Ok(sass_place(path, &self.load_paths).unwrap_or_else(|| path.to_path_buf()))
        }
    }

    let fs = Recording {
        load_paths: load_paths.to_vec(),
        ..Recording::default()
    };
    let syntax = if Compiler::for_path(path) == Some(Compiler::Sass) {
        grass::InputSyntax::Sass
    } else {
        grass::InputSyntax::Scss
    };
    let options = grass::Options::default()
        .fs(&fs)
        .load_paths(load_paths)
        .input_syntax(syntax)
        .quiet(true)
        .style(grass::OutputStyle::Expanded);
    let result = grass::from_path(path, &options);
    let tried = places_tried(&fs.tried.borrow());
    let inputs = fs.read.into_inner();
    match result {
        Ok(code) => Ok(Compiled {
            code,
            map: None,
            inputs,
        }),
        Err(e) => Err(match e.kind() {
            grass::ErrorKind::ParseError { message, loc, .. } => {
                let source_line = loc
                    .file
                    .source_line(loc.begin.line)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                let column = source_line
                    .get(..loc.begin.column)
                    .map_or(loc.begin.column, |s| s.chars().count());
                let message = if message.starts_with("Can't find stylesheet") && !tried.is_empty() {
                    format!(
                        "{message} Looked for it (as .sass, .scss, .css, a `_` partial or an \
                         `index` file) at: {}",
                        tried.join(", ")
                    )
                } else {
                    message
                };
                Error::Syntax {
                    file: loc.file.name().to_string(),
                    line: loc.begin.line as u32 + 1,
                    column: column as u32 + 1,
                    message,
                    source_line,
                }
            }
            grass::ErrorKind::IoError(io) => Error::Read {
                file: path.display().to_string(),
                message: io.to_string(),
            },
            grass::ErrorKind::FromUtf8Error(message) => Error::Read {
                file: path.display().to_string(),
                message,
            },
            other => Error::Read {
                file: path.display().to_string(),
                message: format!("{other:?}"),
            },
        }),
    }
}

#[cfg(not(feature = "scss"))]
pub fn compile_with_grass(path: &Path, _load_paths: &[PathBuf]) -> Result<Compiled, Error> {
    Err(Error::ToolMissing {
        file: path.display().to_string(),
        program: "grass (sluice's `scss` feature)".into(),
        install: "`cargo install sluice --features scss`".into(),
    })
}

fn compile_script(compiler: Compiler, path: &Path) -> Result<Compiled, Error> {
    let (input, code) = read(path)?;
    let file = path.display().to_string();
    let source_type = match compiler {
        Compiler::Tsx => SourceType::tsx(),
        Compiler::Jsx => SourceType::jsx(),
        _ => SourceType::from_path(path).unwrap_or_else(|_| SourceType::ts()),
    };
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, &code, source_type).parse();
    if let Some(first) = parsed.diagnostics.errors().next() {
        return Err(js_error(&code, &file, &[], first));
    }
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new().with_enum_eval(true).build(&program);
    if let Some(first) = semantic.diagnostics.errors().next() {
        return Err(js_error(&code, &file, &[], first));
    }
    let scoping = semantic.semantic.into_scoping();
    let mut options = TransformOptions::default();
    // Classic runtime: `React.createElement`, which works in a plain <script> (the
    // automatic runtime adds an `import` from `react/jsx-runtime`, which needs a bundler).
    options.jsx.runtime = JsxRuntime::Classic;
    let ret =
        Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
    if let Some(first) = ret.diagnostics.errors().next() {
        return Err(js_error(&code, &file, &[], first));
    }
    let source_name = path
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| path.to_path_buf());
    let out = Codegen::new()
        .with_options(CodegenOptions {
            source_map_path: Some(source_name),
            ..CodegenOptions::default()
        })
        .with_source_text(&code)
        .build(&program);
    Ok(Compiled {
        code: out.code,
        map: out.map.map(|m| m.to_json_string()),
        inputs: vec![input],
    })
}

/// The `lessc` to run for `file`: `node_modules/.bin/lessc` in the file's folder or one
/// above it (a project's own install), else `lessc` from PATH.
pub fn find_lessc(file: &Path) -> PathBuf {
    let start = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    start
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("node_modules/.bin/lessc"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("lessc"))
}

/// Compile a LESS file with the given `lessc` program.
pub fn compile_less(path: &Path, load_paths: &[PathBuf], lessc: &Path) -> Result<Compiled, Error> {
    let file = path.display().to_string();
    let mut base = Command::new(lessc);
    base.arg("--no-color");
    // `~pkg/…` imports, looked up in the load paths ([`crate::less_tilde`]).
    if let Some(plugin) = crate::less_tilde::plugin_file() {
        let mut arg = std::ffi::OsString::from("--plugin=");
        arg.push(plugin);
        base.arg(arg);
    }
    if !load_paths.is_empty() {
        let joined = std::env::join_paths(load_paths).map_err(|e| Error::ToolFailed {
            file: file.clone(),
            program: "lessc".into(),
            message: e.to_string(),
        })?;
        let mut arg = std::ffi::OsString::from("--include-path=");
        arg.push(joined);
        base.arg(arg);
    }
    let run = |extra: &[&str], output: Option<&str>| -> Result<std::process::Output, Error> {
        let mut cmd = Command::new(base.get_program());
        cmd.args(base.get_args()).args(extra).arg(path).args(output);
        cmd.output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ToolMissing {
                file: file.clone(),
                program: lessc.display().to_string(),
                install: "`npm install -g less` or `apt-get install node-less`".into(),
            },
            _ => Error::ToolFailed {
                file: file.clone(),
                program: lessc.display().to_string(),
                message: e.to_string(),
            },
        })
    };
    let before = std::fs::metadata(path).ok();
    let started = SystemTime::now();
    let out = run(&[], None)?;
    if !out.status.success() {
        return Err(less_error(
            &file,
            &String::from_utf8_lossy(&out.stderr),
            &String::from_utf8_lossy(&out.stdout),
        ));
    }
    let code = String::from_utf8(out.stdout).map_err(|e| Error::ToolFailed {
        file: file.clone(),
        program: "lessc".into(),
        message: e.to_string(),
    })?;
    // `lessc --depends FILE OUT` prints `OUT: dep dep …` (the files it imported) and
    // writes nothing.
    let deps = run(&["--depends"], Some("deps.css"))?;
    let mut inputs = vec![read_by_child(path, started, before.as_ref())];
    if deps.status.success() {
        let text = String::from_utf8_lossy(&deps.stdout);
        if let Some((_, list)) = text.split_once(": ") {
            inputs.extend(
                list.split_whitespace()
                    .map(|dep| read_by_child(Path::new(dep), started, None)),
            );
        }
    }
    Ok(Compiled {
        code,
        map: None,
        inputs,
    })
}

/// The kernel stamps changes with a clock that may lag the one `SystemTime::now` reads by a
/// tick: a change made just after a compile started can look a little older.
const CLOCK_TICK: Duration = Duration::from_millis(20);

/// A file another process (lessc) read while it ran from `started`, known only when it did
/// not change since: as `before` (stat'ed before the run) says, or with a status-change time
/// (which, unlike the mtime, nobody can set) older than `started`, with a tick to spare.
/// Read first, stat'ed after: a change in between shows in the stat.
pub(crate) fn read_by_child(
    path: &Path,
    started: SystemTime,
    before: Option<&std::fs::Metadata>,
) -> Input {
    let unknown = Input {
        path: path.to_path_buf(),
        meta: None,
        md5: None,
    };
    let Ok(bytes) = std::fs::read(path) else {
        return unknown;
    };
    let Ok(after) = std::fs::metadata(path) else {
        return unknown;
    };
    let unchanged = match before {
        Some(before) => {
            FileMeta::of(before) == FileMeta::of(&after) && changed_at(before) == changed_at(&after)
        }
        None => changed_at(&after).is_some_and(|at| at + CLOCK_TICK < started),
    };
    if !unchanged {
        return unknown;
    }
    Input {
        path: path.to_path_buf(),
        meta: Some(FileMeta::of(&after)),
        md5: Some(Md5::digest(&bytes).into()),
    }
}

/// When a file's status last changed (its ctime): moved by every write, rename and `touch`.
#[cfg(unix)]
fn changed_at(meta: &std::fs::Metadata) -> Option<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let secs = u64::try_from(meta.ctime()).ok()?;
    let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

#[cfg(not(unix))]
fn changed_at(meta: &std::fs::Metadata) -> Option<SystemTime> {
    meta.modified().ok()
}

/// lessc's `NameError: message in /path/file.less on line 3, column 5:` followed by
/// numbered context lines, as an [`Error::Syntax`].
pub fn less_error(file: &str, stderr: &str, stdout: &str) -> Error {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let re =
        regex::Regex::new(r"(?m)^(\w*Error): (.*?)(?: in (.+?))? on line (\d+), column (\d+):")
            .ok();
    if let Some(c) = re.as_ref().and_then(|re| re.captures(text)) {
        let line: u32 = c[4].parse().unwrap_or(1);
        let column: u32 = c[5].parse().unwrap_or(0);
        let at = c.get(3).map_or(file, |m| m.as_str()).to_string();
        let prefix = format!("{line} ");
        let source_line = text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or("")
            .to_string();
        return Error::Syntax {
            file: at,
            line,
            column: column + 1,
            message: format!("{}: {}", &c[1], c[2].trim_end_matches('.')),
            source_line,
        };
    }
    Error::ToolFailed {
        file: file.to_string(),
        program: "lessc".into(),
        message: text.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compilers_by_extension() {
        assert_eq!(
            Compiler::for_path(Path::new("a/b.scss")),
            Some(Compiler::Scss)
        );
        assert_eq!(
            Compiler::for_path(Path::new("b.SASS")),
            Some(Compiler::Sass)
        );
        assert_eq!(
            Compiler::for_path(Path::new("b.ts")),
            Some(Compiler::TypeScript)
        );
        assert_eq!(Compiler::for_path(Path::new("b.d.ts")), None);
        assert_eq!(Compiler::for_path(Path::new("b.tsx")), Some(Compiler::Tsx));
        assert_eq!(Compiler::for_path(Path::new("b.jsx")), Some(Compiler::Jsx));
        assert_eq!(
            Compiler::for_path(Path::new("b.less")),
            Some(Compiler::Less)
        );
        assert_eq!(Compiler::for_path(Path::new("b.js")), None);
        assert_eq!(Compiler::Less.output_extension(), "css");
        assert_eq!(Compiler::Tsx.output_extension(), "js");
        assert!(Compiler::is_partial(Path::new("x/_vars.scss")));
        assert!(!Compiler::is_partial(Path::new("x/_vars.js")));
    }

    #[test]
    fn a_tilde_import_is_a_package_in_a_load_path() {
        let modules = PathBuf::from("/p/node_modules");
        let load = [modules.clone(), PathBuf::from("/p/media")];
        assert_eq!(
            sass_place(Path::new("/p/node_modules/~@moz/core/lib"), &load),
            Some(modules.join("@moz/core/lib"))
        );
        assert_eq!(
            sass_place(Path::new("/p/media/css/~@moz/core/lib"), &load),
            None
        );
        assert_eq!(
            sass_place(Path::new("/p/media/css/x"), &load),
            Some(PathBuf::from("/p/media/css/x"))
        );
        assert_eq!(
            places_tried(&[
                PathBuf::from("/a/x.import.scss"),
                PathBuf::from("/a/_x.import.scss"),
                PathBuf::from("/a/x.scss"),
                PathBuf::from("/a/_x.css"),
                PathBuf::from("/a/x/index.scss"),
            ]),
            ["/a/x", "/a/x/index"]
        );
    }

    /// `~pkg/…` and bare `pkg/…` resolve in the load paths (a `node_modules`), `@use … with`
    /// and `@forward` included; every file read is an input; a look-up that fails names
    /// every place it tried, at the `@use`'s line and column.
    #[cfg(feature = "scss")]
    #[test]
    fn packages_resolve_in_the_load_paths_and_a_missing_one_lists_the_places_tried() {
        let dir = tempfile::tempdir().unwrap();
        let modules = dir.path().join("node_modules");
        let lib = modules.join("@moz/core/css/includes");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("_lib.scss"), "@forward 'tokens';\n").unwrap();
        std::fs::write(
            lib.join("_tokens.scss"),
            "$brand: red !default;\n@mixin b { color: $brand; }\n",
        )
        .unwrap();
        std::fs::create_dir_all(modules.join("pkg/scss")).unwrap();
        std::fs::write(modules.join("pkg/scss/_index.scss"), ".pkg { a: b; }\n").unwrap();
        let media = dir.path().join("media");
        std::fs::create_dir_all(media.join("css")).unwrap();
        let site = media.join("css/site.scss");
        std::fs::write(
            &site,
            "@use '~@moz/core/css/includes/lib' as * with ($brand: blue);\n\
             @use 'pkg/scss';\n.site { @include b; }\n",
        )
        .unwrap();
        let load = [modules.clone(), media.clone()];
        let out = compile(Compiler::Scss, &site, &load).unwrap();
        assert_eq!(
            out.code,
            ".pkg {\n  a: b;\n}\n\n.site {\n  color: blue;\n}\n"
        );
        let read: Vec<&Path> = out.inputs.iter().map(|i| i.path.as_path()).collect();
        assert!(
            read.contains(&lib.join("_tokens.scss").as_path()),
            "{read:?}"
        );
        assert!(out.inputs.iter().all(|i| i.meta.is_some()), "{read:?}");

        std::fs::write(&site, "@use '~@moz/core/missing';\n").unwrap();
        match compile(Compiler::Scss, &site, &load) {
            Err(Error::Syntax {
                file,
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(
                    (file.as_str(), line, column),
                    (site.to_str().unwrap(), 1, 1)
                );
                let place = modules.join("@moz/core/missing");
                assert!(message.contains(place.to_str().unwrap()), "{message}");
                assert!(message.contains("Can't find stylesheet"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_file_read_twice_with_other_bytes_is_known_by_neither_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_p.scss");
        std::fs::write(&path, "a").unwrap();
        let mut seen = Vec::new();
        note_read(&mut seen, Input::read(&path).unwrap().0);
        note_read(&mut seen, Input::read(&path).unwrap().0);
        assert!(seen[0].meta.is_some() && seen[0].md5.is_some());
        std::fs::write(&path, "bb").unwrap();
        note_read(&mut seen, Input::read(&path).unwrap().0);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].meta, seen[0].md5), (None, None));
    }

    /// lessc reads in its own process: what it read is known only of files that did not
    /// change while it ran (an mtime set back to the past does not hide a change).
    #[test]
    fn a_file_another_process_read_is_known_only_if_unchanged_since_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vars.less");
        std::fs::write(&path, "@w: 1px;").unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);
        let known = read_by_child(&path, later, None);
        assert!(known.meta.is_some() && known.md5.is_some(), "{known:?}");

        let started = SystemTime::now();
        std::fs::write(&path, "@w: 2px;").unwrap();
        filetime::set_file_mtime(&path, filetime::FileTime::from_unix_time(1_600_000_000, 0))
            .unwrap();
        assert_eq!(read_by_child(&path, started, None).meta, None);

        // Stat'ed before the run: unchanged is known, however recent.
        let before = std::fs::metadata(&path).unwrap();
        let input = read_by_child(&path, SystemTime::now(), Some(&before));
        assert_eq!(input.meta, Some(FileMeta::of(&before)));
        std::fs::write(&path, "@w: 3px;").unwrap();
        filetime::set_file_mtime(&path, filetime::FileTime::from_unix_time(1_600_000_000, 0))
            .unwrap();
        assert_eq!(read_by_child(&path, started, Some(&before)).meta, None);
    }

    #[test]
    fn lessc_error_is_parsed() {
        let stderr = "ParseError: Unrecognised input. Possibly missing something in /p/site.less on line 3, column 5:\n2 a {\n3   b: ;;}\n4 \n";
        match less_error("site.less", stderr, "") {
            Error::Syntax {
                file,
                line,
                column,
                message,
                source_line,
            } => {
                assert_eq!((file.as_str(), line, column), ("/p/site.less", 3, 6));
                assert!(
                    message.starts_with("ParseError: Unrecognised input"),
                    "{message}"
                );
                assert_eq!(source_line, "  b: ;;}");
            }
            other => panic!("{other:?}"),
        }
    }
}
