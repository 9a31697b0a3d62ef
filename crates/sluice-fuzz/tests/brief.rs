//! The brief fuzz run of `cargo test`: every target replays its committed corpus
//! (`fuzz/corpus/<name>/`: seeds and what libFuzzer found) and then runs on seeded mutants of
//! it. `SLUICE_FUZZ_ITERATIONS` sets how many (default: a few thousand, about a second per
//! target; the loaders and the record, which write files per input, get a tenth).

use std::path::Path;

use sluice_fuzz::{TARGETS, Target, mutate};

fn corpus(target: &Target) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target.name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn iterations(target: &Target) -> usize {
    let base = std::env::var("SLUICE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let loads_files = [
        "config_toml",
        "pyproject_toml",
        "static_bundles",
        "record_log",
    ];
    if loads_files.contains(&target.name) {
        base / 10
    } else {
        base
    }
}

#[test]
fn every_target_keeps_its_property_on_its_corpus_and_mutants() {
    let mut ran = Vec::new();
    for (i, target) in TARGETS.iter().enumerate() {
        let seeds = corpus(target);
        assert!(!seeds.is_empty(), "{}: no corpus", target.name);
        let n = mutate::run(target, &seeds, iterations(target), 0x5eed + i as u64);
        ran.push(format!("{} {n}", target.name));
    }
    eprintln!("ran: {}", ran.join(", "));
}

#[test]
fn every_target_has_a_cargo_fuzz_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    for target in TARGETS {
        let file = dir.join("fuzz_targets").join(format!("{}.rs", target.name));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("target(\"{}\")", target.name)),
            "{}",
            file.display()
        );
        assert!(manifest.contains(&format!("name = \"{}\"", target.name)));
    }
}
