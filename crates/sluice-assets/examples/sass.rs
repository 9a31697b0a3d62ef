//! `sass dart|grass RUNS FILE LOAD_PATH...`: compiles FILE RUNS times with dart-sass (over the
//! Embedded Sass protocol, found in a `node_modules` among the load paths) or grass, in one
//! process, and prints one JSON line: the first compile's seconds (dart-sass: with its start)
//! and the later ones' (a warm compiler, as in `sluice watch`). Used by `bench/run --only sass`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use sluice_assets::compile::compile_with_grass;
use sluice_assets::dart_sass::{self, DartSass};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, engine, runs, file, load @ ..] = args.as_slice() else {
        eprintln!("usage: sass dart|grass RUNS FILE LOAD_PATH...");
        return ExitCode::from(2);
    };
    let Ok(runs) = runs.parse::<usize>() else {
        eprintln!("RUNS must be a number");
        return ExitCode::from(2);
    };
    let file = PathBuf::from(file);
    let load: Vec<PathBuf> = load.iter().map(PathBuf::from).collect();
    let dart = match engine.as_str() {
        "dart" => match DartSass::find(&file, &load) {
            Some(d) => Some(d),
            None => {
                eprintln!("no dart-sass (npm's sass-embedded) in a node_modules");
                return ExitCode::from(1);
            }
        },
        "grass" => None,
        other => {
            eprintln!("unknown engine {other:?}: dart or grass");
            return ExitCode::from(2);
        }
    };
    let mut seconds = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let result = match &dart {
            Some(d) => dart_sass::compile(d, &file, &load),
            None => compile_with_grass(&file, &load),
        };
        match result {
            Ok(out) => bytes = out.code.len(),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    let list: Vec<String> = seconds.iter().map(|s| format!("{s:.6}")).collect();
    println!("{{\"bytes\": {bytes}, \"seconds\": [{}]}}", list.join(", "));
    ExitCode::SUCCESS
}
