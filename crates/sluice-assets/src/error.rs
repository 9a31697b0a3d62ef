//! The crate's one error type.

/// What can go wrong while computing Django manifest names or joining bundles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A `*.css` / `*.js` file is not valid UTF-8 (Django raises `UnicodeDecodeError`).
    #[error(
        "{file}: not valid UTF-8 (first bad byte at offset {valid_up_to}); \
         Django decodes *.css and *.js files as UTF-8 to rewrite their references"
    )]
    NotUtf8 {
        /// The file's name.
        file: String,
        /// Byte offset of the first invalid sequence.
        valid_up_to: usize,
    },
    /// A reference points at a file that was not collected.
    #[error(
        "{file}:{line}: the file '{target}' could not be found \
         ({} contains this reference {})",
        crate::python::repr(.file),
        crate::python::repr(.reference)
    )]
    MissingReference {
        /// The file containing the reference.
        file: String,
        /// 1-based line of the match's start.
        line: usize,
        /// The whole matched text, e.g. `url("nope.png")`.
        reference: String,
        /// The path Django looked for (normalised, relative to STATIC_ROOT).
        target: String,
        /// Django 6.1's note, byte for byte:
        /// `'x.css' contains this reference 'url("nope.png")' on line \n2: <line>`.
        django_note: String,
    },
    /// Files that reference each other in a cycle (Django: "Max post-process passes
    /// exceeded"). Sorted; a file that references itself is a cycle of one.
    #[error(
        "reference cycle between {}: each file's hashed name depends on the others' \
         (Django fails with \"Max post-process passes exceeded\"); break the cycle",
        .files.join(", ")
    )]
    ReferenceCycle {
        /// The files in the cycle, sorted.
        files: Vec<String>,
    },
    /// A syntax error in CSS, JS, SCSS, TypeScript or LESS, at a position in a member
    /// file (a bundle's error names the member and the member's own line).
    #[error("{file}:{line}:{column}: {message}{}", crate::error::show_line(.source_line, *.column))]
    Syntax {
        /// The file (a bundle member's `source`, or the compiled file's path).
        file: String,
        /// 1-based line in `file`.
        line: u32,
        /// 1-based column (in characters).
        column: u32,
        /// What is wrong.
        message: String,
        /// The text of that line (empty when unknown).
        source_line: String,
    },
    /// The project's browserslist queries could not be resolved.
    #[error("browserslist from {origin}: {message}")]
    Browserslist {
        /// Where the queries came from (config key, `.browserslistrc`, `package.json`).
        origin: String,
        /// The resolver's complaint.
        message: String,
    },
    /// An external compiler (e.g. `lessc`) is not installed.
    #[error("{file}: needs `{program}`, which was not found on PATH; install it with {install}")]
    ToolMissing {
        /// The file that needs it.
        file: String,
        /// The program's name.
        program: String,
        /// How to install it: commands in backticks.
        install: String,
    },
    /// An external compiler failed without a position we could read.
    #[error("{file}: {program} failed: {message}")]
    ToolFailed {
        /// The file being compiled.
        file: String,
        /// The program's name.
        program: String,
        /// Its error output.
        message: String,
    },
    /// A source file could not be read.
    #[error("{file}: {message}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// A bundle could not be built: a pattern that finds nothing, a member that cannot be
    /// read or is not UTF-8, an invalid setting.
    #[error("{bundle} ({origin}): {message}")]
    Bundle {
        /// `css bundle "site"`.
        bundle: String,
        /// Where the bundle is defined.
        origin: String,
        message: String,
    },
    /// A compiled output not used because a source file of the same logical path wins
    /// (a warning, not an error).
    #[error(
        "{output}: the output of compiling {compiled_from} is not used; the source file \
         {used} has the same name and wins (rename one of them)"
    )]
    CompiledShadowed {
        /// The logical path both have.
        output: String,
        /// The file that was compiled.
        compiled_from: String,
        /// The source file that is used instead.
        used: String,
    },
    /// Sass compiled with grass because no dart-sass is installed (a warning, not an error).
    #[error(
        "{file}{more}: compiled with grass {grass}, whose output differs from dart-sass's in \
         places (docs/build.md); for dart-sass: npm install sass-embedded"
    )]
    SassFallback {
        /// The first file compiled so.
        file: String,
        /// ` (and N more)`, or empty.
        more: String,
        grass: String,
    },
    /// More than one of the above, sorted by file.
    #[error("{} errors:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Several(Vec<Error>),
    /// A broken invariant inside the planner (a bug in sluice, not in the input).
    #[error("internal error in the manifest planner: {0}")]
    Internal(String),
}

impl Error {
    /// The individual errors (one, or the members of [`Error::Several`]).
    pub fn errors(&self) -> &[Error] {
        match self {
            Error::Several(errors) => errors,
            other => std::slice::from_ref(other),
        }
    }

    pub fn from_list(mut errors: Vec<Error>) -> Option<Error> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Error::Several(errors)),
        }
    }
}

/// The source line under an error message, with a caret under the 1-based `column`.
pub(crate) fn show_line(source_line: &str, column: u32) -> String {
    if source_line.is_empty() {
        return String::new();
    }
    // Keep tabs so the caret lines up however the terminal renders them.
    let pad: String = source_line
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("\n  {source_line}\n  {pad}^")
}
