//! npm packages and node for sluice-assets' tests: packages are installed once with the real
//! `npm` into `~/.cache/sluice-tests/npm/<set>/` (or `$SLUICE_TEST_CACHE/npm/…`), never into
//! the repository, and reused by later runs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cache folder: `$SLUICE_TEST_CACHE`, else `~/.cache/sluice-tests` (the same rule as
/// the `sluice` crate's test support).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLUICE_TEST_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("sluice-tests"),
        None => std::env::temp_dir().join("sluice-tests"),
    }
}

/// `node_modules` of a cached install of `packages` (pinned `name@version` specs).
/// Installs with `npm install` on first use; a lock file serialises concurrent tests.
pub fn npm_packages(set: &str, packages: &[&str]) -> PathBuf {
    let dir = cache_dir().join("npm").join(set);
    let modules = dir.join("node_modules");
    let stamp = dir.join(".installed");
    let wanted = packages.join(" ");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return modules;
    }
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let lock = std::fs::File::create(dir.join(".lock")).expect("lock file");
    lock.lock().expect("lock the npm cache");
    if !std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n").expect("package.json");
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .args(packages)
            .output()
            .unwrap_or_else(|e| panic!("cannot run npm (needed to fetch test inputs): {e}"));
        assert!(
            out.status.success(),
            "npm install {wanted} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&stamp, &wanted).expect("stamp");
    }
    modules
}

/// Runs `node` with `args`, returning stdout; panics with its output when it fails.
pub fn node(args: &[&str], cwd: &Path) -> String {
    let out = Command::new("node")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    assert!(
        out.status.success(),
        "node {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A v3 source map, decoded: for each generated line, its segments
/// `(generated column, source index, original line, original column)`.
pub struct DecodedMap {
    pub sources: Vec<String>,
    pub lines: Vec<Vec<(u32, u32, u32, u32)>>,
    pub json: serde_json::Value,
}

impl DecodedMap {
    pub fn parse(map: &str) -> DecodedMap {
        let json: serde_json::Value = serde_json::from_str(map).expect("map is JSON");
        assert_eq!(json["version"], 3);
        let sources = json["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .map(|s| s.as_str().expect("source").to_string())
            .collect();
        let mappings = json["mappings"].as_str().expect("mappings");
        let (mut src, mut oline, mut ocol) = (0i64, 0i64, 0i64);
        let mut lines = Vec::new();
        for line in mappings.split(';') {
            let mut gcol = 0i64;
            let mut segments = Vec::new();
            for seg in line.split(',').filter(|s| !s.is_empty()) {
                let v = vlq(seg);
                gcol += v[0];
                if v.len() >= 4 {
                    src += v[1];
                    oline += v[2];
                    ocol += v[3];
                    segments.push((gcol as u32, src as u32, oline as u32, ocol as u32));
                }
            }
            lines.push(segments);
        }
        DecodedMap {
            sources,
            lines,
            json,
        }
    }

    /// The original `(source, line, column)` (0-based) of a generated position: the last
    /// segment at or before it on its line.
    pub fn lookup(&self, line: u32, column: u32) -> Option<(&str, u32, u32)> {
        let seg = self
            .lines
            .get(line as usize)?
            .iter()
            .rev()
            .find(|s| s.0 <= column)?;
        Some((self.sources[seg.1 as usize].as_str(), seg.2, seg.3))
    }
}

fn vlq(segment: &str) -> Vec<i64> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut value, mut shift) = (0i64, 0);
    for b in segment.bytes() {
        let d = B64.iter().position(|&c| c == b).expect("base64 digit") as i64;
        value += (d & 31) << shift;
        if d & 32 != 0 {
            shift += 5;
        } else {
            out.push(if value & 1 == 1 {
                -(value >> 1)
            } else {
                value >> 1
            });
            value = 0;
            shift = 0;
        }
    }
    out
}

/// 0-based (line, column in UTF-16 units… here: bytes, inputs are ASCII) of the first
/// occurrence of `needle` in `text`.
pub fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"));
    let line = text[..at].matches('\n').count() as u32;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, (at - start) as u32)
}
