//! Fuzz properties: every parser of sluice that takes user bytes, each with what it must keep
//! for any input — not just "does not panic".
//!
//! One [`Target`] per parser: its name (the cargo-fuzz target in `fuzz/` and the corpus
//! folder `fuzz/corpus/<name>/`), the property (a function of the raw bytes that panics when
//! the property fails), and a dictionary of tokens that steer mutation toward the syntax the
//! parser cares about. libFuzzer runs them for hours (`fuzz/README.md`); the tests of this
//! crate replay the committed corpora and run each target briefly with [`mutate`]'s
//! coverage-blind mutator, so `cargo test` keeps every finding fixed.

pub mod mutate;
mod props;

pub use props::*;

/// One fuzzed parser.
pub struct Target {
    /// The cargo-fuzz target and corpus folder name.
    pub name: &'static str,
    /// The property: panics when it fails for these bytes.
    pub check: fn(&[u8]),
    /// Tokens worth inserting.
    pub dict: &'static [&'static str],
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "django_rewrite",
        check: props::django_rewrite,
        dict: &[
            "url(",
            ")",
            "'",
            "\"",
            "@import ",
            "sourceMappingURL=",
            "/*# ",
            "//# ",
            " */",
            "import ",
            "export ",
            " from ",
            "\n",
            "../",
            "./",
            "/static/",
            "img/c.png",
            "css/img/b.png",
            "js/e.js",
            "?v=1",
            "#frag",
            "data:",
            "http://x/",
            "//cdn/",
        ],
    },
    Target {
        name: "pipeline_rewrite",
        check: props::pipeline_rewrite,
        dict: &[
            "url(",
            ")",
            "'",
            "\"",
            " ",
            "sourceMappingURL=",
            "//# ",
            "/*# ",
            "../",
            "./",
            "/",
            "data:",
            "http:",
            "https:",
            "#",
            "//",
            "\t",
            "\n",
        ],
    },
    Target {
        name: "fnmatch",
        check: props::fnmatch,
        dict: &["*", "?", "[", "]", "[!", "-", "\0", "/", "\\", ".", "**"],
    },
    Target {
        name: "glob",
        check: props::glob,
        dict: &[
            "*", "?", "[", "]", "[!", "/", ".", "\n", "..", "**", "css/", ".hidden",
        ],
    },
    Target {
        name: "config_toml",
        check: props::config_toml,
        dict: &[
            "[build]",
            "[dev]",
            "[compile]",
            "[bundles.css.x]",
            "[bundles.js.y]",
            "[sources]",
            "output = ",
            "files = [",
            "]",
            "\"",
            "'",
            "=",
            "\n",
            "true",
            "false",
            "hash",
            "minify",
            "compress",
            "ignore",
            "entries",
            "load_paths",
            "poll",
            "port = ",
            "command = ",
            "static_bundles",
            "{",
            "}",
            "../",
            "/",
            "entry = ",
            "format = \"esm\"",
        ],
    },
    Target {
        name: "pyproject_toml",
        check: props::pyproject_toml,
        dict: &[
            "[tool.sluice]",
            "[tool.sluice.build]",
            "[tool.sluice.bundles.css.x]",
            "[project]",
            "output = ",
            "files = [",
            "]",
            "\"",
            "=",
            "\n",
            "true",
            "hash",
            "../",
        ],
    },
    Target {
        name: "static_bundles",
        check: props::static_bundles,
        dict: &[
            "{",
            "}",
            "[",
            "]",
            "\"css\"",
            "\"js\"",
            "\"name\"",
            "\"files\"",
            ":",
            ",",
            "\"",
            "../",
            ".es6.js",
            "/",
            "\\u002e",
            "\\\"",
        ],
    },
    Target {
        name: "proxy_path",
        check: props::proxy_path,
        dict: &[
            "%2e", "%2E", "%2f", "%2F", "%00", "%5c", "..", "/", ".", "%", "%25", "%c0%ae",
        ],
    },
    Target {
        name: "inject",
        check: props::inject,
        dict: &[
            "</body>", "</BODY>", "</bOdY>", "<body>", "<html>", "</html>", "<", ">",
        ],
    },
    Target {
        name: "sourcemap",
        check: props::sourcemap,
        dict: &[
            "{\"version\":3,",
            "\"sources\":[\"a.ts\"],",
            "\"names\":[],",
            "\"mappings\":\"",
            "AAAA",
            ";",
            ",",
            "\"}",
            "\"sourcesContent\":[\"x\"],",
            "gCAAA",
            "+/",
            "\"file\":\"b\",",
        ],
    },
    Target {
        name: "record_log",
        check: props::record_log,
        dict: &[
            "\x00",
            "\x01",
            "\x02",
            "\x7f",
            "\u{80}\x01",
            "\x05build",
            "\x08/static/",
            "\x09css/a.css",
            "\x01\x00\x09css/a.css\x01",
            "\x01\x00\x16css/a.0cc175b9c0f1.css\x00",
            "0123456789abcdef",
        ],
    },
];

/// The target of this name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
