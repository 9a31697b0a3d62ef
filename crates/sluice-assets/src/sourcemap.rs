//! Source maps shared by bundling and minification.
//!
//! A bundle is its members joined with a separator (django-pipeline's rules); the bundle
//! step knows where each member starts and hands that to the minifier as [`MemberSpan`]s,
//! so a minified bundle's map points into the member files, not into the joined text.
//! Joining never adds or removes newlines inside a member, so a member's line `n` is the
//! bundle's line `first_line + n`; columns are unchanged except where a CSS `url()` was
//! rewritten on that line.

/// Where one member file sits inside a joined bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpan {
    /// The member's name as written into the map's `sources` (a URL relative to the
    /// folder of the `.map` file, e.g. `../../css/base/reset.css`).
    pub source: String,
    /// 0-based line of the bundle on which the member's first line starts.
    pub first_line: u32,
    /// How many lines of the bundle belong to the member (at least 1).
    pub line_count: u32,
    /// The member's own text, for the map's `sourcesContent` (dev maps carry it so the
    /// browser shows sources without fetching them).
    pub content: Option<String>,
}
