//! The publish index: one JSON object, `.sluice-publish.json` under the destination's prefix,
//! written after each publish's manifest. It says, for every object sluice uploaded there,
//! the md5 of its bytes and the size and ETag it had then (so one listing tells which
//! objects are still the ones it describes, without a request per object), and which hashed
//! names the last deploys' manifests named (so none of those is deleted while pages
//! rendered with them may still be served).
//!
//! The same md5 is in each object's own metadata (`x-amz-meta-sluice-md5`), which is what
//! counts when the index is missing, stale or was written by a publish that failed before
//! its end.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The index's key under the prefix (hidden: Django's finders and sluice skip `.*`).
pub const INDEX_KEY: &str = ".sluice-publish.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub version: u32,
    /// Every object sluice uploaded and has not deleted since, by key.
    pub objects: BTreeMap<String, Indexed>,
    /// The hashed names of the last deploys' manifests, newest first.
    pub deploys: Vec<Deploy>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indexed {
    pub md5: String,
    pub etag: Option<String>,
    pub size: u64,
    pub hashed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deploy {
    /// The md5 of the deploy's `staticfiles.json`.
    pub manifest: String,
    /// Its hashed names and their compressed copies.
    pub hashed: Vec<String>,
}

impl Index {
    /// The index in `bytes`; one that does not parse (another version, damaged) counts as
    /// none: every object is then judged by its own metadata.
    pub fn parse(bytes: &[u8]) -> Index {
        serde_json::from_slice::<Index>(bytes)
            .ok()
            .filter(|i| i.version == 1)
            .unwrap_or_default()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Records a deploy as the newest, keeping it and the `keep` before it.
    pub fn push_deploy(&mut self, deploy: Deploy, keep: usize) {
        self.deploys.retain(|d| d.manifest != deploy.manifest);
        self.deploys.insert(0, deploy);
        self.deploys.truncate(keep + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_a_damaged_index_is_none() {
        let mut index = Index {
            version: 1,
            ..Index::default()
        };
        index.objects.insert(
            "a.css".into(),
            Indexed {
                md5: "m".into(),
                etag: Some("\"e\"".into()),
                size: 3,
                hashed: false,
            },
        );
        assert_eq!(Index::parse(&index.to_bytes()), index);
        assert_eq!(Index::parse(b"{not json"), Index::default());
        assert_eq!(
            Index::parse(br#"{"version":9,"objects":{},"deploys":[]}"#),
            Index::default()
        );
    }

    #[test]
    fn keeps_the_current_deploy_and_the_last_n() {
        let mut index = Index::default();
        for m in ["1", "2", "3", "4"] {
            let deploy = Deploy {
                manifest: m.into(),
                hashed: vec![],
            };
            index.push_deploy(deploy, 2);
        }
        let names: Vec<&str> = index.deploys.iter().map(|d| d.manifest.as_str()).collect();
        assert_eq!(names, ["4", "3", "2"]);
        // Publishing the same manifest again does not push the others out.
        index.push_deploy(
            Deploy {
                manifest: "4".into(),
                hashed: vec![],
            },
            2,
        );
        assert_eq!(index.deploys.len(), 3);
    }
}
