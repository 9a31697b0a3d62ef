//! The `sluice` binary: parses the command line, runs the engine, prints through [`term`].

mod cli;
mod term;

use std::process::ExitCode;

use clap::Parser;
use sluice_core::config::{Config, Overrides};
use sluice_core::sync::{SyncJob, SyncOptions, sync};
use sluice_core::{Error, sources::IgnoreRules};

use cli::{Cli, Command, GlobalArgs};
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
            let job = SyncJob {
                roots: &config.sources.value,
                ignore: &ignore,
                output: &config.output.value,
                state_dir: &config.state_dir,
                options: SyncOptions {
                    force: args.force,
                    clean: args.clean,
                    link: args.link,
                },
            };
            let progress = printer.progress("sync");
            let report = sync(&job, &progress)?;
            printer.sync_report(&report, &config);
            let clean = report.ok() && report.conflicts.is_empty();
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
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
