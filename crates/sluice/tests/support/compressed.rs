//! The compressed copies in an output tree: every `x.gz`, `x.br` and `x.zst` must decompress
//! to the bytes of `x` beside it (whitenoise serves it in place of `x`), so a compressed copy
//! that outlived its file or disagrees with it is a failure.

use std::collections::BTreeMap;
use std::io::Read;

/// The encodings sluice writes, by suffix.
const SUFFIXES: [&str; 3] = [".gz", ".br", ".zst"];

/// Decompresses `bytes` as the encoding its `name` says, or says why it cannot.
pub fn decompress(name: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)
    } else if name.ends_with(".br") {
        brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out)
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(bytes).and_then(|mut d| d.read_to_end(&mut out))
    } else {
        return Err(format!("{name} is not a compressed copy"));
    };
    result.map(|_| out).map_err(|e| format!("{name}: {e}"))
}

/// Panics unless every compressed copy in `tree` decompresses to its sibling (which must be
/// there); returns how many there are. Only for trees whose sources have no name ending in
/// one of the suffixes.
pub fn assert_compressed_copies(label: &str, tree: &BTreeMap<String, Vec<u8>>) -> usize {
    let mut checked = 0;
    for (name, bytes) in tree {
        let Some(suffix) = SUFFIXES.iter().find(|s| name.ends_with(*s)) else {
            continue;
        };
        let original = &name[..name.len() - suffix.len()];
        let Some(expected) = tree.get(original) else {
            panic!("{label}: {name} has no {original} beside it");
        };
        let data = decompress(name, bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(
            data == *expected,
            "{label}: {name} decompresses to {} bytes that are not those of {original} ({} bytes)",
            data.len(),
            expected.len()
        );
        checked += 1;
    }
    checked
}

/// Panics unless `expected` (whitenoise's `collectstatic`) and `actual` (sluice's build of
/// the same files) have the same file names, but for the one known
/// difference: sluice's Brotli streams come from the `brotli` crate (a port of Google's C
/// encoder 1.0), Python's `brotli` 1.2 is a newer C encoder, and on tiny files they differ by
/// a few bytes, which can cross whitenoise's 95 % line — so a `.br` of a file under 200
/// bytes whose ratio is borderline may be on one side only.
pub fn assert_same_names_modulo_brotli(
    expected: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) {
    let only_expected: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let only_actual: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    for name in only_expected.iter().chain(&only_actual) {
        let base = name.strip_suffix(".br").unwrap_or_else(|| {
            panic!(
                "only in one tree: {name}\nonly collectstatic: {only_expected:?}\nonly sluice: {only_actual:?}"
            )
        });
        let original = expected[base].len();
        let ours = sluice_assets::compress::brotli(&expected[base]).len();
        let python = expected.get(*name).map(Vec::len);
        assert!(
            original < 200 && python.is_none_or(|p| p.abs_diff(ours) <= 8),
            "{name}: {original} bytes, brotli crate {ours}, Python brotli {python:?}"
        );
        let ratio = ours as f64 / original as f64;
        assert!(
            (0.85..1.05).contains(&ratio),
            "{name}: not borderline ({ratio})"
        );
    }
}
