//! The `sluice` binary: parses the command line, runs the engine, prints through [`term`].

mod app_record;
mod cli;
mod init;
mod term;

use std::process::ExitCode;

use clap::Parser;
use sluice_assets::derive::{DeriveReport, Derived, is_compiled_source};
use sluice_core::config::{Config, Overrides};
use sluice_core::sync::{Mirror, SyncJob, SyncOptions};
use sluice_core::watch::{DEFAULT_POLL, Watch, WatchOptions};
use sluice_core::{Error, sources::IgnoreRules};

use cli::{BuildArgs, Cli, Command, DevArgs, GlobalArgs, SyncArgs};
use term::Printer;

fn overrides(global: &GlobalArgs) -> Overrides {
    Overrides {
        config: global.config.clone(),
        sources: global.sources.clone(),
        output: global.output.clone(),
        ignore: global.ignore.clone(),
        no_default_ignore: global.no_default_ignore,
        django_settings: global.django_settings.clone(),
        python: global.python.clone(),
    }
}

fn sync_job<'a>(config: &'a Config, ignore: &'a IgnoreRules, args: &SyncArgs) -> SyncJob<'a> {
    SyncJob {
        roots: &config.sources.value,
        ignore,
        output: &config.output.value,
        state_dir: &config.state_dir,
        options: SyncOptions {
            force: args.force,
            clean: args.clean,
            link: args.link,
        },
    }
}

fn derive_job<'a>(config: &'a Config, args: &SyncArgs) -> sluice_assets::derive::DeriveJob<'a> {
    sluice_assets::derive::DeriveJob {
        roots: &config.sources.value,
        output: &config.output.value,
        state_dir: &config.state_dir,
        compilers: &config.compilers.value,
        bundles: &config.bundles,
        settings: &config.pipeline,
        force: args.force,
        clean: args.clean,
    }
}

/// `--poll[=MS]`, else `SLUICE_POLL` (`1`/`true` for the default interval, or milliseconds).
fn poll_interval(flag: Option<u64>) -> Option<std::time::Duration> {
    let ms = |n: u64| std::time::Duration::from_millis(n.max(10));
    if let Some(n) = flag {
        return Some(ms(n));
    }
    let value = std::env::var("SLUICE_POLL").ok()?;
    match value.trim() {
        "" | "0" | "false" | "no" => None,
        "1" | "true" | "yes" => Some(DEFAULT_POLL),
        other => other.parse().ok().map(ms),
    }
}

fn report_error(printer: &Printer, error: &Error) -> ExitCode {
    match error {
        Error::Config { message, location, hint } => {
            printer.error(message, location.as_deref(), hint.as_deref())
        }
        Error::Django { detail, .. } => printer.error(
            &format!("{error}:\n{detail}"),
            None,
            Some("check that the settings import with that Python (`python manage.py check`), or configure sluice in sluice.toml"),
        ),
        Error::Io { .. } => printer.error(&error.to_string(), None, None),
    }
    ExitCode::from(error.exit_code() as u8)
}

fn run(cli: &Cli, printer: &Printer) -> Result<ExitCode, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("read", ".", e))?;
    if let Command::Init(args) = &cli.command {
        // Reads no configuration file: it writes one.
        return init::run(&cwd, &overrides(&cli.global), args, printer);
    }
    let config = Config::load(&cwd, &overrides(&cli.global))?;
    match &cli.command {
        Command::Config => {
            printer.config(&config);
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync(args) => {
            let ignore = IgnoreRules::new(&config.ignore.value);
            let job = sync_job(&config, &ignore, args);
            let progress = printer.progress("sync");
            let mut mirror = Mirror::new(&job)?;
            let report = mirror.full_pass(&progress)?;
            mirror.save()?;
            printer.sync_report(&report, &config);
            let mut derived = Derived::new(&derive_job(&config, args), mirror.files().keys());
            let built = derived.full_pass();
            derived.save()?;
            printer.derive_report(&built, &config);
            record_dev(&config, args.force, printer)?;
            let clean = report.ok()
                && report.conflicts.is_empty()
                && built.errors.is_empty()
                && built.conflicts.is_empty();
            // The process ends here: freeing a 100 000-file index and state piece by piece
            // costs tens of milliseconds the kernel saves us at exit.
            std::mem::forget(mirror);
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Build(args) => build(&config, args, printer),
        Command::Init(_) => unreachable!("handled before the configuration is read"),
        Command::Dev(args) => dev(&config, args, printer),
        Command::Watch(args) => {
            let ignore = IgnoreRules::new(&config.ignore.value);
            let job = sync_job(&config, &ignore, &args.sync);
            let mut mirror = Mirror::new(&job)?;
            let watch = Watch::new();
            let stopper = watch.stopper();
            // Ctrl-C, SIGTERM and SIGHUP end the watch cleanly, with the state saved.
            if let Err(error) = ctrlc::set_handler(move || stopper.stop()) {
                printer.warn(&format!("cannot handle Ctrl-C: {error}"));
            }
            let progress = printer.progress("sync");
            let report = mirror.full_pass(&progress)?;
            printer.sync_report(&report, &config);
            let mut derived = Derived::new(&derive_job(&config, &args.sync), mirror.files().keys());
            printer.derive_report(&derived.full_pass(), &config);
            derived.save()?;
            record_dev(&config, args.sync.force, printer)?;
            let options = WatchOptions {
                poll: poll_interval(args.poll),
                ..WatchOptions::default()
            };
            watch.run(&mut mirror, &report, &options, &mut |notice| {
                printer.watch_notice(&notice, &config);
                if let sluice_core::watch::Notice::Changed(report) = &notice {
                    printer.derive_report(&derived.update(&report.changed), &config);
                    if let Err(e) = derived.save() {
                        printer.warn(&e.to_string());
                    }
                }
            })?;
            printer.stopped();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `sluice.json` after a dev-profile pass (see [`app_record`]).
fn record_dev(config: &Config, force: bool, printer: &Printer) -> Result<(), Error> {
    if let Some(warning) = app_record::after_dev_pass(config, force)? {
        printer.warn(&warning);
    }
    Ok(())
}

/// The problems of a pass or change set, as the browser overlay shows them.
fn overlay_errors(
    errors: &[sluice_core::sync::FileError],
    conflicts: &[sluice_core::sync::OutputConflict],
    config: &Config,
) -> Vec<sluice_dev::BuildError> {
    let shown = |p: &std::path::Path| {
        p.strip_prefix(&config.project_dir)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let errors = errors.iter().map(|e| sluice_dev::BuildError {
        message: e.message.clone(),
        file: Some(shown(&e.path)),
        line: None,
        column: None,
    });
    let conflicts = conflicts.iter().map(|c| sluice_dev::BuildError {
        message: "in the way: a file sluice did not write is there; left untouched (move it away, or restart with --force)".into(),
        file: Some(shown(&c.output)),
        line: None,
        column: None,
    });
    errors.chain(conflicts).collect()
}

/// The dev profile's errors in force, as the browser overlay shows them.
fn overlay_derived(derived: &Derived, config: &Config) -> Vec<sluice_dev::BuildError> {
    derived
        .errors()
        .into_iter()
        .map(|e| match e {
            sluice_assets::Error::Syntax {
                file,
                line,
                column,
                message,
                ..
            } => sluice_dev::BuildError {
                message: message.clone(),
                file: Some(
                    std::path::Path::new(file)
                        .strip_prefix(&config.project_dir)
                        .map_or_else(|_| file.clone(), |p| p.display().to_string()),
                ),
                line: Some(*line),
                column: Some(*column),
            },
            other => sluice_dev::BuildError {
                message: other.to_string(),
                file: None,
                line: None,
                column: None,
            },
        })
        .collect()
}

/// What the browsers hear of a change set: the mirror's changes without the sources the dev
/// profile compiles (a page loads their compiled output, not them), plus the derived outputs.
fn browser_changes(mirrored: &[String], derived: &DeriveReport, config: &Config) -> Vec<String> {
    let mut changed: Vec<String> = mirrored
        .iter()
        .filter(|p| !is_compiled_source(p, &config.compilers.value))
        .chain(derived.changed.iter())
        .cloned()
        .collect();
    changed.sort();
    changed.dedup();
    changed
}

/// `sluice dev`: `watch` plus the backend and the live-reload proxy.
fn dev(config: &Config, args: &DevArgs, printer: &Printer) -> Result<ExitCode, Error> {
    use sluice_core::config::DevCommand;
    use sluice_dev::{BackendCommand, BackendSpec, DevOptions, DevServer, Ending};
    use std::io::IsTerminal;
    use std::sync::Arc;

    let (command, default) = if !args.command.is_empty() {
        (BackendCommand::Argv(args.command.clone()), false)
    } else {
        match &config.dev.command {
            Some(c) => match &c.value {
                DevCommand::Argv(argv) => (
                    BackendCommand::Argv(argv.clone()),
                    c.origin == sluice_core::config::Origin::Default,
                ),
                DevCommand::Shell(line) => (BackendCommand::Shell(line.clone()), false),
            },
            None => {
                return Err(Error::config(
                    "no backend to run: no manage.py here, no Django settings module known, no [dev] command",
                )
                .with_hint(
                    "pass it after `--` (sluice dev -- gunicorn -b 127.0.0.1:{port} app), or set [dev] command in sluice.toml",
                ));
            }
        }
    };
    let color = printer.text() && std::io::stderr().is_terminal();
    let command = match command {
        // runserver colours its log only on a terminal unless told to.
        BackendCommand::Argv(mut argv) if default && color => {
            argv.push("--force-color".into());
            BackendCommand::Argv(argv)
        }
        other => other,
    };
    let to_error = |e: sluice_dev::Error| match e {
        sluice_dev::Error::Listen { .. } => Error::config(e.to_string())
            .with_hint("choose another port with --port (0 picks a free one)"),
        sluice_dev::Error::Spawn { .. } => Error::config(e.to_string()).with_hint(
            "check [dev] command (sluice config shows it), or pass the command after `--`",
        ),
        sluice_dev::Error::Io { .. } => Error::config(e.to_string()),
    };
    let backend = BackendSpec {
        command,
        cwd: config.project_dir.clone(),
        env: Vec::new(),
        port: sluice_dev::supervisor::free_port().map_err(to_error)?,
        restart: !args.no_restart,
        color,
    };
    let options = DevOptions {
        backend: Some(backend),
        host: args.host.clone().unwrap_or(config.dev.host.value.clone()),
        port: args.port.unwrap_or(config.dev.port.value),
        static_url: config.static_url.value.clone(),
        output: config.output.value.clone(),
        stdin: true,
    };

    let ignore = IgnoreRules::new(&config.ignore.value);
    let job = sync_job(config, &ignore, &args.watch.sync);
    let mut mirror = Mirror::new(&job)?;
    let watch = Watch::new();
    let stopper = watch.stopper();
    let reporter = {
        let (printer, config) = (*printer, config.clone());
        Arc::new(move |event: sluice_dev::Event| printer.dev_event(&event, &config))
    };
    let server =
        DevServer::start(options, reporter, Arc::new(move || stopper.stop())).map_err(to_error)?;
    let hub = server.hub();

    let watched = (|| -> Result<(), Error> {
        let progress = printer.progress("sync");
        let report = mirror.full_pass(&progress)?;
        printer.sync_report(&report, config);
        let mut derived =
            Derived::new(&derive_job(config, &args.watch.sync), mirror.files().keys());
        printer.derive_report(&derived.full_pass(), config);
        derived.save()?;
        record_dev(config, args.watch.sync.force, printer)?;
        // Problems of the first pass show in the browser from its first page on.
        let mut errors = overlay_errors(&report.errors, &report.conflicts, config);
        errors.extend(overlay_derived(&derived, config));
        hub.changed(&[], errors);
        let options = WatchOptions {
            poll: poll_interval(args.watch.poll),
            ..WatchOptions::default()
        };
        watch.run(&mut mirror, &report, &options, &mut |notice| {
            printer.watch_notice(&notice, config);
            if let sluice_core::watch::Notice::Changed(report) = &notice {
                let built = derived.update(&report.changed);
                printer.derive_report(&built, config);
                if let Err(e) = derived.save() {
                    printer.warn(&e.to_string());
                }
                let mut errors = overlay_errors(&report.errors, &report.conflicts, config);
                errors.extend(overlay_derived(&derived, config));
                let sent = hub.changed(&browser_changes(&report.changed, &built, config), errors);
                printer.reload_sent(&sent);
            }
        })
    })();
    // Whatever happened to the watch, the backend goes down with it.
    let ending = server.finish();
    watched?;
    printer.stopped();
    match ending {
        Ok(Ending::Stopped) => Ok(ExitCode::SUCCESS),
        Ok(Ending::Exited(code)) => Ok(ExitCode::from(code.clamp(0, 255) as u8)),
        Err(e) => Err(to_error(e)),
    }
}

/// The browsers minified bundles support; a query browserslist rejects is a configuration
/// error naming where it came from.
fn browser_targets(config: &Config) -> Result<sluice_assets::minify::Targets, Error> {
    let configured = config.browserslist.as_ref();
    sluice_assets::minify::browser_targets(
        &config.project_dir,
        configured.map(|v| v.value.as_slice()),
    )
    .map_err(|e| {
        let (origin, message) = match e {
            sluice_assets::Error::Browserslist { origin, message } => (origin, message),
            other => (String::new(), other.to_string()),
        };
        let location = match (configured, origin.as_str()) {
            (Some(v), _) => v.origin.to_string(),
            (None, ".browserslistrc" | "package.json") => {
                config.project_dir.join(&origin).display().to_string()
            }
            (None, other) => other.to_string(),
        };
        Error::config(format!("invalid browserslist query: {message}"))
            .with_location(location)
            .with_hint("fix the query (https://browsersl.ist shows what a query selects)")
    })
}

/// `sluice build`: production output through `sluice_assets::build`.
fn build(config: &Config, args: &BuildArgs, printer: &Printer) -> Result<ExitCode, Error> {
    use sluice_assets::build::{BuildJob, BuildOptions, BundleJob, build};
    use sluice_assets::bundle::{Minifier, TargetedMinifier};
    use sluice_assets::compress::Codecs;
    let codecs = if args.no_compress {
        Codecs::NONE
    } else {
        Codecs::from_names(args.compress.iter().map(String::as_str)).map_err(Error::config)?
    };
    let minifier = if !args.no_minify && config.minify.value {
        Some(TargetedMinifier {
            targets: browser_targets(config)?,
        })
    } else {
        None
    };
    let ignore = IgnoreRules::new(&config.ignore.value);
    let job = BuildJob {
        roots: &config.sources.value,
        ignore: &ignore,
        output: &config.output.value,
        state_dir: &config.state_dir,
        static_url: &config.static_url.value,
        options: BuildOptions {
            hash: !args.no_hash,
            keep_only_hashed: args.keep_only_hashed,
            codecs,
            force: args.force,
            clean: args.clean,
        },
        bundles: BundleJob {
            defs: &config.bundles,
            settings: Some(&config.pipeline),
            compilers: &config.compilers.value,
            minifier: minifier.as_ref().map(|m| m as &dyn Minifier),
            // django-pipeline compiles bundle members only (its collectstatic output is the
            // reference there); elsewhere every source a compiler takes is compiled, as the
            // dev profile does (`compile = false` turns compiling off).
            compile_all: !matches!(
                config.compilers.origin,
                sluice_core::config::Origin::Django(_)
            ),
        },
    };
    let progress = printer.progress("build");
    match build(&job, &progress) {
        Ok(report) => {
            if let Some(warning) =
                app_record::after_build(config, &report, !args.no_hash, args.force)?
            {
                printer.warn(&warning);
            }
            printer.build_report(&report, config);
            Ok(ExitCode::SUCCESS)
        }
        Err(sluice_assets::build::BuildError::Core(error)) => Err(error),
        Err(error) => {
            printer.build_failed(&error, config);
            Ok(ExitCode::from(error.exit_code() as u8))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer {
        format: cli.global.format,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        prefixed: matches!(cli.command, Command::Dev(_)),
    };
    match run(&cli, &printer) {
        Ok(code) => code,
        Err(error) => report_error(&printer, &error),
    }
}
