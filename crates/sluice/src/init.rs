//! `sluice init`: reads what sluice finds by itself (Django's answer included), asks
//! `sluice_core::init` for the configuration text, and writes it (or prints the diff).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sluice_core::Error;
use sluice_core::config::{Discovery, Overrides};
use sluice_core::init::{InitInput, MergeError, Target, dropped_keys, merge, plan, unified_diff};
use sluice_core::output::write_atomic;

use crate::cli::InitArgs;
use crate::term::{InitReport, Printer};

/// `static-bundles.json` at the top of the project's own source folders.
fn static_bundles(discovery: &Discovery) -> Vec<String> {
    let Some(django) = &discovery.django else {
        return Vec::new();
    };
    let s = &django.settings;
    let roots: Vec<&PathBuf> = s
        .staticfiles_dirs
        .iter()
        .map(|(_, p)| p)
        .chain(s.app_static_dirs.iter().map(|(_, p)| p))
        .collect();
    roots
        .into_iter()
        .map(|root| root.join("static-bundles.json"))
        .filter(|f| f.is_file())
        .filter_map(|f| {
            f.strip_prefix(&discovery.project_dir)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .collect()
}

pub fn run(
    cwd: &Path,
    overrides: &Overrides,
    args: &InitArgs,
    printer: &Printer,
) -> Result<ExitCode, Error> {
    let discovery = Discovery::load(cwd, overrides)?;
    let dir = &discovery.project_dir;
    let target = if !dir.join("sluice.toml").is_file() && dir.join("pyproject.toml").is_file() {
        Target::Pyproject
    } else {
        Target::SluiceToml
    };
    let found = static_bundles(&discovery);
    let planned = plan(&InitInput {
        project_dir: dir,
        python: &discovery.python,
        manage_py_module: discovery.manage_py_module.as_deref(),
        django: discovery.django.as_ref(),
        static_bundles: &found,
        target,
    });
    let file = dir.join(target.file_name());
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &file, e)),
    };
    let new =
        merge(existing.as_deref(), target, &planned.text, args.force).map_err(|e| match e {
            MergeError::Exists => Error::config(format!(
                "{} has sluice configuration already",
                file.display()
            ))
            .with_location(file.display().to_string())
            .with_hint("`sluice init --force` replaces it (`--dry-run` shows how)"),
            MergeError::Unsafe(why) => Error::config(why)
                .with_location(file.display().to_string())
                .with_hint("remove [tool.sluice] by hand, then run `sluice init` again"),
        })?;
    let name = target.file_name();
    let diff = match &existing {
        Some(old) => unified_diff(&format!("a/{name}"), &format!("b/{name}"), old, &new),
        None => unified_diff("/dev/null", &format!("b/{name}"), "", &new),
    };
    let dropped = existing
        .as_deref()
        .map(|old| dropped_keys(old, &new, target))
        .unwrap_or_default();
    if !dropped.is_empty() {
        printer.warn(&format!(
            "{}: the new configuration no longer has {} (restore them by hand if you need them)",
            if args.dry_run {
                "would replace"
            } else {
                "replaced"
            },
            dropped.join(", ")
        ));
    }
    let write = !args.dry_run && existing.as_deref() != Some(new.as_str());
    if write {
        write_atomic(&file, new.as_bytes()).map_err(|e| Error::io("write", &file, e))?;
    }
    printer.init_report(&InitReport {
        file: &file,
        written: !args.dry_run,
        keys: &planned.keys,
        diff: &diff,
        advice: &planned.advice,
    });
    Ok(ExitCode::SUCCESS)
}
