//! `minify css|js IN OUT`: minify one file with sluice's minifiers and write OUT and
//! OUT.map (the browser targets are the defaults, or `.browserslistrc` / `package.json` in
//! the current folder). Used by `bench/run --only minify`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, input, output] = args.as_slice() else {
        eprintln!("usage: minify css|js IN OUT");
        return ExitCode::from(2);
    };
    let run = || -> Result<(), String> {
        let code = std::fs::read_to_string(input).map_err(|e| format!("{input}: {e}"))?;
        let name = Path::new(output)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("out");
        let out = match kind.as_str() {
            "css" => {
                let targets = sluice_assets::minify::browser_targets(Path::new("."), None)
                    .map_err(|e| e.to_string())?;
                sluice_assets::minify::minify_css(&code, name, &[], &targets)
            }
            "js" => sluice_assets::minify::minify_js(&code, name, &[]),
            other => return Err(format!("unknown kind {other:?}: css or js")),
        }
        .map_err(|e| e.to_string())?;
        std::fs::write(output, &out.code).map_err(|e| format!("{output}: {e}"))?;
        std::fs::write(format!("{output}.map"), &out.map).map_err(|e| format!("{output}.map: {e}"))
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
