//! The `sluice` binary: parses the command line, runs the engine, prints through [`term`].

mod cli;
mod term;

use std::process::ExitCode;

use clap::Parser;
use sluice_core::config::{Config, Overrides};
use sluice_core::sync::{Mirror, SyncJob, SyncOptions};
use sluice_core::watch::{DEFAULT_POLL, Watch, WatchOptions};
use sluice_core::{Error, sources::IgnoreRules};

use cli::{BuildArgs, Cli, Command, GlobalArgs, SyncArgs};
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
            let clean = report.ok() && report.conflicts.is_empty();
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
            let options = WatchOptions {
                poll: poll_interval(args.poll),
                ..WatchOptions::default()
            };
            watch.run(&mut mirror, &report, &options, &mut |notice| {
                printer.watch_notice(&notice, &config)
            })?;
            printer.stopped();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `sluice build`: production output through `sluice_assets::build`.
fn build(config: &Config, args: &BuildArgs, printer: &Printer) -> Result<ExitCode, Error> {
    use sluice_assets::build::{BuildJob, BuildOptions, BundleJob, build};
    use sluice_assets::compress::Codecs;
    let codecs = if args.no_compress {
        Codecs::NONE
    } else {
        Codecs::from_names(args.compress.iter().map(String::as_str)).map_err(Error::config)?
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
            // Minification plugs in here (`sluice_assets::bundle::Minifier`); until it
            // exists, bundles are written unminified whatever `--no-minify` / `minify` say.
            minifier: None,
        },
    };
    let _minify = !args.no_minify && config.minify.value;
    let progress = printer.progress("build");
    match build(&job, &progress) {
        Ok(report) => {
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
    };
    match run(&cli, &printer) {
        Ok(code) => code,
        Err(error) => report_error(&printer, &error),
    }
}
