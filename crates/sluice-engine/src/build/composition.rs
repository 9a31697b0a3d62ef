//! What each bundle is made of, for the build report: every member's share of the bundle's
//! bytes, from the minified bundle's source map ([`sluice_assets::sourcemap::byte_shares`],
//! counted as source-map-explorer does); a bundle written as django-pipeline writes it (no
//! minifier, no map) counts each member's own size. The bytes no member accounts for (the JS
//! wrapper, separators, `.jst` templates, the `sourceMappingURL` comment) are `other`.

use sluice_assets::sourcemap::byte_shares;
use sluice_core::bundles::BundleKind;

/// One bundle's makeup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleMakeup {
    /// `css bundle "site"`.
    pub label: String,
    pub kind: BundleKind,
    /// The bundle's logical path.
    pub output: String,
    /// Where it is defined.
    pub origin: String,
    /// The shares come from its source map (else from the members' own sizes).
    pub mapped: bool,
    /// The bundle file's bytes.
    pub len: u64,
    pub members: Vec<MemberShare>,
    /// Bytes of the bundle no member accounts for.
    pub other: u64,
}

/// One member of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberShare {
    /// As the bundle lists it (a compiled member by its source: `css/x.scss`).
    pub listed: String,
    /// The collected file that was joined (`css/x.css` for `css/x.scss`).
    pub member: String,
    /// The joined file's own bytes.
    pub raw: u64,
    /// The bundle's bytes it accounts for.
    pub bytes: u64,
}

/// A compiled output among the collected files, and the source it was compiled from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledOutput {
    pub source: String,
    pub output: String,
    pub source_len: u64,
    pub len: u64,
}

/// A member as [`makeup`] takes it: listed name, joined file, its own size.
pub struct Member {
    pub listed: String,
    pub member: String,
    pub raw: u64,
}

/// `dir/rel` with `.` and `..` segments resolved (`..` above the root is dropped).
fn resolve(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The shares of `members` in the bundle `code` at `output`, through its source map when
/// there is one (`map`: JSON, its `sources` relative to the bundle's folder).
pub fn makeup(
    output: &str,
    code: &str,
    map: Option<&str>,
    members: &[Member],
) -> (Vec<u64>, u64, bool) {
    let len = code.len() as u64;
    if let Some(shares) = map.and_then(|m| byte_shares(code, m)) {
        let dir = output.rsplit_once('/').map_or("", |(d, _)| d);
        let mut bytes = vec![0u64; members.len()];
        let mut other = shares.unmapped;
        for (source, n) in shares.sources.iter().zip(&shares.bytes) {
            let logical = resolve(dir, source);
            match members
                .iter()
                .position(|m| m.member == logical || m.listed == logical)
            {
                Some(i) => bytes[i] += n,
                None => other += n,
            }
        }
        return (bytes, other, true);
    }
    // No map: each member counts its own bytes, scaled down should they add up to more than
    // the bundle (rewritten `url()`s can shorten a member).
    let own: u64 = members.iter().map(|m| m.raw).sum();
    if own <= len {
        return (members.iter().map(|m| m.raw).collect(), len - own, false);
    }
    let mut bytes: Vec<u64> = members
        .iter()
        .map(|m| (u128::from(m.raw) * u128::from(len) / u128::from(own)) as u64)
        .collect();
    // Rounding down leaves a few bytes: give them to the first members.
    let mut left = len - bytes.iter().sum::<u64>();
    for b in bytes.iter_mut() {
        if left == 0 {
            break;
        }
        *b += 1;
        left -= 1;
    }
    (bytes, 0, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(listed: &str, member: &str, raw: u64) -> Member {
        Member {
            listed: listed.into(),
            member: member.into(),
            raw,
        }
    }

    #[test]
    fn paths_resolve_against_the_bundle_folder() {
        assert_eq!(resolve("css/out/deep", "../../a.css"), "css/a.css");
        assert_eq!(resolve("js", "./app.ts"), "js/app.ts");
        assert_eq!(resolve("", "top.css"), "top.css");
        assert_eq!(resolve("a", "../../../x"), "x");
    }

    #[test]
    fn a_map_names_members_by_their_joined_file_or_their_source() {
        // "AAAA,ECAA": base.css from column 0, theme.scss's compiled CSS from column 2 of
        // line 0; app.ts would be named by its source — both forms resolve to a member.
        let code = "abcdef\n/*# sourceMappingURL=s.css.map */";
        let map = r#"{"version":3,"sources":["../base.css","theme.css","../x/unknown.css"],"names":[],"mappings":"AAAA,ECAA,ECAA"}"#;
        let members = [
            member("base.css", "base.css", 5),
            member("css/theme.scss", "css/theme.css", 40),
        ];
        let (bytes, other, mapped) = makeup("css/s.css", code, Some(map), &members);
        assert!(mapped);
        assert_eq!(bytes, [2, 2]);
        // The unknown source's 2 bytes, the newline and the comment.
        assert_eq!(other, code.len() as u64 - 4);
        assert_eq!(bytes.iter().sum::<u64>() + other, code.len() as u64);
    }

    #[test]
    fn without_a_map_members_count_their_own_size() {
        let members = [member("a.js", "a.js", 10), member("b.js", "b.js", 20)];
        let code = "x".repeat(45);
        assert_eq!(
            makeup("all.js", &code, None, &members),
            (vec![10, 20], 15, false)
        );
        let short = "x".repeat(20);
        let (bytes, other, _) = makeup("all.js", &short, None, &members);
        assert_eq!((bytes.iter().sum::<u64>(), other), (20, 0));
        assert_eq!(bytes, [7, 13]);
    }
}
