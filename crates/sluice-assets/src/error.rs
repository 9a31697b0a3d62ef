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

    pub(crate) fn from_list(mut errors: Vec<Error>) -> Option<Error> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Error::Several(errors)),
        }
    }
}
