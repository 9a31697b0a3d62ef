//! Subresource integrity, and `sluice.json`: the record sluice leaves in the output root for its
//! Django app (`python/sluice/django`).
//!
//! The record says which file each bundle is (`bundles`: kind → name → logical output path),
//! and after `sluice build` the name a page loads for every stylesheet and script with its
//! `sha384` in the `integrity` attribute's form (`files`: logical path → hashed name and
//! `sha384-<base64>`). It sits beside `staticfiles.json` so it deploys with the build output
//! (whitenoise, a CDN or object storage) and is read through Django's staticfiles storage.
//! The development profile writes it without `files`: its outputs change under a running page,
//! and a stale digest would make the browser refuse the file.
//!
//! Everything here is pure: bytes and names in, JSON text out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha384};
use sluice_core::bundles::BundleDef;

/// The record's file name in the output root.
pub const RECORD_NAME: &str = "sluice.json";

/// The record's format version (`"sluice"` key); a reader refuses others.
pub const RECORD_VERSION: u32 = 1;

/// `sha384-<base64>`, the value of an `integrity` attribute (W3C Subresource Integrity).
pub fn sri(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        crate::bundle::datauri::base64(&Sha384::digest(bytes))
    )
}

/// Whether a page can load `logical` with an `integrity` attribute (`<link rel=stylesheet>`,
/// `<script>`): the files the record lists after a build.
pub fn takes_integrity(logical: &str) -> bool {
    [".css", ".js", ".mjs"].iter().any(|s| logical.ends_with(s))
}

/// Which profile wrote the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Build,
}

/// One file a page can load with integrity: under which name, with which digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIntegrity {
    /// The name the storage serves (the hashed name after a hashing build).
    pub name: String,
    pub integrity: String,
}

/// `sluice.json`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub sluice: u32,
    pub profile: Profile,
    /// `css`/`js` → bundle name → logical output path.
    pub bundles: BTreeMap<String, BTreeMap<String, String>>,
    /// Logical path → what a page loads and its digest (empty in the dev profile).
    #[serde(default)]
    pub files: BTreeMap<String, FileIntegrity>,
}

impl Record {
    /// A record of `bundles` with no digests yet.
    pub fn new(profile: Profile, bundles: &[BundleDef]) -> Record {
        let mut by_kind: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for def in bundles {
            by_kind
                .entry(def.kind.as_str().to_string())
                .or_default()
                .insert(def.name.clone(), def.output.clone());
        }
        Record {
            sluice: RECORD_VERSION,
            profile,
            bundles: by_kind,
            files: BTreeMap::new(),
        }
    }

    /// Records `logical`, served as `name`, with the digest of `bytes`.
    pub fn add(&mut self, logical: &str, name: &str, bytes: &[u8]) {
        self.add_digest(logical, name, sri(bytes));
    }

    /// Records a digest already known (see [`Record::known_digest`]).
    pub fn add_digest(&mut self, logical: &str, name: &str, integrity: String) {
        self.files.insert(
            logical.to_string(),
            FileIntegrity {
                name: name.to_string(),
                integrity,
            },
        );
    }

    /// The digest this record holds for the file served as `name`, when `name` carries its
    /// content's hash (it differs from `logical`): a hashed name never changes content, so
    /// the next build need not read it again.
    pub fn known_digest(&self, logical: &str, name: &str) -> Option<&str> {
        if logical == name {
            return None;
        }
        self.files
            .get(logical)
            .filter(|f| f.name == name)
            .map(|f| f.integrity.as_str())
    }

    /// The record's text: sorted keys, one entry per line, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// A record sluice wrote, or `None` for anything else (another program's file).
    pub fn parse(text: &[u8]) -> Option<Record> {
        serde_json::from_slice::<Record>(text)
            .ok()
            .filter(|r| r.sluice == RECORD_VERSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::bundles::BundleKind;
    use sluice_core::config::Origin;

    #[test]
    fn sri_is_sha384_in_base64() {
        // The W3C SRI examples' digest of `alert('Hello, world.');`.
        assert_eq!(
            sri(b"alert('Hello, world.');"),
            "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
        );
        assert_eq!(
            sri(b""),
            "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
        );
    }

    #[test]
    fn record_lists_bundles_and_digests_sorted() {
        let def = |kind, name: &str, output: &str| BundleDef {
            kind,
            name: name.into(),
            files: vec![],
            output: output.into(),
            datauri: false,
            modules: Default::default(),
            origin: Origin::Default,
        };
        let bundles = [
            def(BundleKind::Js, "site", "js/BUNDLES/site.js"),
            def(BundleKind::Css, "site", "css/BUNDLES/site.css"),
            def(BundleKind::Css, "about", "css/about.css"),
        ];
        let mut record = Record::new(Profile::Build, &bundles);
        record.add(
            "js/BUNDLES/site.js",
            "js/BUNDLES/site.0123456789ab.js",
            b"x",
        );
        let text = record.to_json();
        assert_eq!(
            text,
            format!(
                r#"{{
  "sluice": 1,
  "profile": "build",
  "bundles": {{
    "css": {{
      "about": "css/about.css",
      "site": "css/BUNDLES/site.css"
    }},
    "js": {{
      "site": "js/BUNDLES/site.js"
    }}
  }},
  "files": {{
    "js/BUNDLES/site.js": {{
      "name": "js/BUNDLES/site.0123456789ab.js",
      "integrity": "{}"
    }}
  }}
}}
"#,
                sri(b"x")
            )
        );
        let parsed = Record::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, record);
        // A hashed name keeps its digest; an unhashed one (or another name) is read again.
        assert_eq!(
            parsed.known_digest("js/BUNDLES/site.js", "js/BUNDLES/site.0123456789ab.js"),
            Some(sri(b"x").as_str())
        );
        assert_eq!(
            parsed.known_digest("js/BUNDLES/site.js", "js/BUNDLES/site.ffffffffffff.js"),
            None
        );
        let mut plain = Record::new(Profile::Build, &[]);
        plain.add("a.js", "a.js", b"1");
        assert_eq!(plain.known_digest("a.js", "a.js"), None);
        // Someone else's sluice.json is not ours.
        assert_eq!(Record::parse(br#"{"name": "my-package"}"#), None);
        assert_eq!(Record::parse(b"not json"), None);
        assert!(takes_integrity("a/b.mjs") && !takes_integrity("a/b.js.map"));
    }
}
