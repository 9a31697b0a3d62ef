//! The `sluice` binary: parses the command line, wires each command to the engine with its
//! profile, prints through [`term`].

mod cli;
mod init;
mod overlay;
mod report;
mod term;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sluice_core::Error;
use sluice_core::config::{Config, Overrides};
use sluice_core::progress::Silent;
use sluice_core::sources::FileMeta;
use sluice_core::sources::{IgnoreRules, SourceRoot};
use sluice_core::watch::{
    self, DEFAULT_POLL, Feedback, Notice, PollMode, Start, Target, Watch, WatchOptions,
};
use sluice_engine::graph::compile::is_compiled_source;
use sluice_engine::report::{ChangeReport, DeriveReport, DevChange};
use sluice_engine::{BuildOptions, Engine, Profile, RunOptions, Setup};

use cli::{BuildArgs, Cli, Command, DevArgs, GlobalArgs, PublishArgs, WatchArgs};
use overlay::{overlay_derived, overlay_errors};
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

/// The project as the engine needs it.
fn setup(config: &Config) -> Setup {
    Setup {
        roots: config.sources.value.clone(),
        ignore: IgnoreRules::new(&config.ignore.value),
        output: config.output.value.clone(),
        state_dir: config.state_dir.clone(),
        static_url: config.static_url.value.clone(),
        bundles: config.bundles.clone(),
        pipeline: config.pipeline.clone(),
        compilers: config.compilers.value.clone(),
        // What is compiled: bundle members, `[compile] entries`, the templates' `static`
        // references (and what they import). The same rule in every command.
        compile: sluice_engine::CompileRule {
            entries: config.compile.entries.value.clone(),
            templates: config.compile.templates.value.clone(),
            load_paths: config.compile.load_paths.value.clone(),
        },
    }
}

/// Opens the engine on the configured output root for `profile`, waiting (with a message)
/// for another sluice that writes there unless `--no-wait`.
fn open(
    config: &Config,
    profile: Profile,
    force: bool,
    clean: bool,
    command: &str,
    no_wait: bool,
    printer: &Printer,
) -> Result<Engine, Error> {
    let options = RunOptions {
        force,
        clean,
        wait: !no_wait,
        command: command.to_string(),
        walk_ahead: matches!(command, "sluice build" | "sluice sync"),
    };
    let output = config.output.value.clone();
    Engine::open(setup(config), profile, options, &mut |holder| {
        printer.warn(&format!(
            "waiting for {holder}, which is writing into {} (pass --no-wait to stop instead)",
            output.display()
        ))
    })
}

/// How `watch` and `dev` choose between file events and polling, and the shortest time
/// between two sweeps: `--poll[=MS]` / `--no-poll`, else `SLUICE_POLL` (`1`/`true` for the
/// default interval, or milliseconds; `0`/`false`/empty count as unset), else the `poll` key,
/// else by each root's file system.
fn poll_mode(args: &WatchArgs, config: &Config) -> (PollMode, std::time::Duration) {
    use sluice_core::config::PollSetting;
    let ms = |n: u64| std::time::Duration::from_millis(n.max(10));
    if let Some(n) = args.poll {
        return (PollMode::Always, ms(n));
    }
    if args.no_poll {
        return (PollMode::Never, DEFAULT_POLL);
    }
    if let Ok(value) = std::env::var("SLUICE_POLL") {
        match value.trim() {
            "" | "0" | "false" | "no" => {}
            "1" | "true" | "yes" => return (PollMode::Always, DEFAULT_POLL),
            other => {
                if let Ok(n) = other.parse() {
                    return (PollMode::Always, ms(n));
                }
            }
        }
    }
    match config.poll.as_ref().map(|v| v.value) {
        Some(PollSetting::Always(n)) => (PollMode::Always, n.map_or(DEFAULT_POLL, ms)),
        Some(PollSetting::Never) => (PollMode::Never, DEFAULT_POLL),
        None => (PollMode::Auto, DEFAULT_POLL),
    }
}

/// Registers the roots whose changes are made elsewhere: stats there go past the kernel's
/// attribute cache.
fn remote_roots(plan: &[watch::RootWatch]) {
    sluice_core::sources::remote::set_remote_roots(
        plan.iter()
            .filter(|r| r.remote)
            .map(|r| r.path.clone())
            .collect(),
    );
}

/// How long a request for a static file waits for its check before it is served as it is
/// (a first pass over a slow mount can take that long).
const FRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

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
        Error::Busy { .. } => printer.error(
            &error.to_string(),
            None,
            Some("wait for it to finish, or drop --no-wait to wait for it"),
        ),
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
    if !matches!(cli.command, Command::Config | Command::Report) {
        config.check_sources()?;
        for warning in &config.warnings {
            printer.warn(warning);
        }
    }
    match &cli.command {
        Command::Config => {
            // Which Sass compiler a project file would get (dart-sass when installed).
            let probe = config.project_dir.join("x.scss");
            let sass =
                sluice_assets::dart_sass::DartSass::find(&probe, &config.compile.load_paths.value);
            let sass = match sass {
                Some(d) => format!("dart-sass ({})", d.snapshot.display()),
                None => format!(
                    "grass {} (no sass-embedded in node_modules)",
                    sluice_assets::compile::GRASS_VERSION
                ),
            };
            printer.config(&config, &sass);
            Ok(ExitCode::SUCCESS)
        }
        Command::Report => open_report(&config, printer),
        Command::Sync(args) => {
            let profile = Profile::Dev { link: args.link };
            let no_wait = cli.global.no_wait;
            let mut engine = open(
                &config,
                profile,
                args.force,
                args.clean,
                "sluice sync",
                no_wait,
                printer,
            )?;
            let progress = printer.progress("sync");
            let report = engine.dev_pass(&progress)?;
            engine.save()?;
            printer.sync_report(&report.sync, &config);
            printer.derive_report(&report.derived, &config);
            let clean = report.sync.ok()
                && report.sync.conflicts.is_empty()
                && report.derived.errors.is_empty()
                && report.derived.conflicts.is_empty();
            // The process ends here: freeing a 100 000-file index and record piece by piece
            // costs tens of milliseconds the kernel saves us at exit.
            std::mem::forget(engine);
            std::mem::forget(report);
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Build(args) => build(&config, args, cli.global.no_wait, printer),
        Command::Publish(args) => publish(&config, args, printer),
        Command::Init(_) => unreachable!("handled before the configuration is read"),
        Command::Dev(args) => dev(&config, args, cli.global.no_wait, printer),
        Command::Watch(args) => {
            let profile = Profile::Dev {
                link: args.sync.link,
            };
            let mut engine = open(
                &config,
                profile,
                args.sync.force,
                args.sync.clean,
                "sluice watch",
                cli.global.no_wait,
                printer,
            )?;
            let watch = Watch::new();
            let stopper = watch.stopper();
            // Ctrl-C, SIGTERM and SIGHUP end the watch cleanly, with the state saved.
            if let Err(error) = ctrlc::set_handler(move || stopper.stop()) {
                printer.warn(&format!("cannot handle Ctrl-C: {error}"));
            }
            let (mode, interval) = poll_mode(args, &config);
            let plan = watch::plan(engine.index().roots(), mode);
            remote_roots(&plan);
            let progress = printer.progress("sync");
            let report = engine.dev_pass(&progress)?;
            engine.save()?;
            printer.sync_report(&report.sync, &config);
            printer.derive_report(&report.derived, &config);
            let options = WatchOptions {
                interval,
                mode,
                ..WatchOptions::default()
            };
            let mut start = Start::new(plan, &report.sync.index, engine.index());
            // Template folders (a new `static` reference is compiled) and the folders of
            // packages' files the compiles read.
            start.dirs.extend(engine.extra_watch_folders());
            drop(report);
            let mut target = Watched { engine };
            watch.run(&mut target, start, &options, &mut |notice| {
                printer.watch_notice(&notice, &config);
                if let Notice::Changed(report) = &notice {
                    printer.change_report(&report.change, &config);
                    printer.derive_report(&report.derived, &config);
                }
            })?;
            printer.stopped();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A watch's side of the engine: change sets in, reports out.
struct Watched {
    engine: Engine,
}

impl Target for Watched {
    type Report = DevChange;

    fn roots(&self) -> &[SourceRoot] {
        self.engine.index().roots()
    }

    fn ignore(&self) -> &IgnoreRules {
        self.engine.index().ignore()
    }

    fn rescan(&mut self) -> Result<DevChange, Error> {
        let report = self.engine.dev_pass(&Silent)?;
        Ok(DevChange {
            change: ChangeReport::from_sync(report.sync),
            derived: report.derived,
            in_force: self.engine.errors_in_force().into_iter().cloned().collect(),
        })
    }

    fn apply(&mut self, changed: &[PathBuf]) -> DevChange {
        self.engine.dev_update(changed)
    }

    fn inputs(&self, logical: &str) -> Vec<(PathBuf, Option<FileMeta>)> {
        self.engine.inputs_of(logical)
    }

    fn merge(&self, into: &mut DevChange, more: DevChange) {
        into.change.merge(more.change);
        let d = &mut into.derived;
        d.changed.extend(more.derived.changed);
        d.changed.sort();
        d.changed.dedup();
        d.compiled += more.derived.compiled;
        d.bundled += more.derived.bundled;
        d.errors.extend(more.derived.errors);
        d.conflicts.extend(more.derived.conflicts);
        d.warnings.extend(more.derived.warnings);
        into.in_force = more.in_force;
    }

    fn feedback(&self, report: &DevChange) -> Feedback {
        let d = &report.derived;
        Feedback {
            new_dirs: report.change.new_dirs.clone(),
            missing_roots: report.change.missing_roots.clone(),
            eventful: report.change.eventful()
                || !d.changed.is_empty()
                || !d.errors.is_empty()
                || !d.conflicts.is_empty(),
            wrote: !report.change.changed.is_empty() || !d.changed.is_empty(),
            failed: report
                .change
                .errors
                .iter()
                .map(|e| e.path.clone())
                .collect(),
        }
    }

    fn save(&mut self) -> Result<(), Error> {
        self.engine.save()
    }
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

/// Where the backend will listen: the command as it runs (with the address argument sluice
/// adds to a server that names none, said in one line), the host to connect to, and the
/// port when the command names its own (else sluice picks a free one).
fn backend_address(
    command: sluice_dev::BackendCommand,
    public_port: u16,
    printer: &Printer,
) -> Result<(sluice_dev::BackendCommand, std::net::IpAddr, Option<u16>), Error> {
    use sluice_dev::BackendCommand;
    use sluice_dev::address::{Listens, plan};
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    let BackendCommand::Argv(argv) = command else {
        return Ok((command, loopback, None));
    };
    let (argv, listens) = plan(&argv);
    match listens {
        Listens::Placeholder { host, added } => {
            if let Some(added) = added {
                printer.note(&format!(
                    "the backend listens where sluice tells it: `{added}` added to its command \
                     (sluice's own address is the one to open)"
                ));
            }
            Ok((BackendCommand::Argv(argv), host, None))
        }
        Listens::Named { port, .. } if public_port != 0 && port == public_port => {
            Err(Error::config(format!(
                "the backend command listens on port {port}, which is sluice's own address"
            ))
            .with_hint(format!(
                "drop the address from the command (sluice gives the backend a free port), \
                 or run sluice elsewhere: sluice dev --port {} -- {}",
                port.wrapping_add(1),
                argv.join(" ")
            )))
        }
        Listens::Named { host, port } => Ok((BackendCommand::Argv(argv), host, Some(port))),
        Listens::Unknown => Ok((BackendCommand::Argv(argv), loopback, None)),
    }
}

/// `sluice dev`: `watch` plus the backend and the live-reload proxy.
fn dev(
    config: &Config,
    args: &DevArgs,
    no_wait: bool,
    printer: &Printer,
) -> Result<ExitCode, Error> {
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
    let public_port = args.port.unwrap_or(config.dev.port.value);
    let (command, host, port) = backend_address(command, public_port, printer)?;
    let port = match port {
        Some(port) => port,
        None => sluice_dev::supervisor::free_port().map_err(to_error)?,
    };
    let backend = BackendSpec {
        command,
        cwd: config.project_dir.clone(),
        env: Vec::new(),
        host,
        port,
        restart: !args.no_restart,
        color,
    };
    let sync = &args.watch.sync;
    let profile = Profile::Dev { link: sync.link };
    let mut engine = open(
        config,
        profile,
        sync.force,
        sync.clean,
        "sluice dev",
        no_wait,
        printer,
    )?;
    let watch = Watch::new();
    let stopper = watch.stopper();
    let (mode, interval) = poll_mode(&args.watch, config);
    let plan = watch::plan(engine.index().roots(), mode);
    remote_roots(&plan);
    // On polled roots a static file is served only once its inputs were checked.
    let freshness = watch.freshness(&plan);
    let fresh: Option<sluice_dev::Freshen> = freshness.active().then(|| {
        let freshness = freshness.clone();
        Arc::new(move |logical: &str| {
            freshness.check(logical, FRESH_WAIT);
        }) as sluice_dev::Freshen
    });
    let options = DevOptions {
        backend: Some(backend),
        host: args.host.clone().unwrap_or(config.dev.host.value.clone()),
        port: public_port,
        static_url: config.static_url.value.clone(),
        output: config.output.value.clone(),
        // sluice's own `--link` links point into the source roots.
        link_roots: if sync.link {
            engine
                .index()
                .roots()
                .iter()
                .map(|r| r.path.clone())
                .collect()
        } else {
            Vec::new()
        },
        allowed_hosts: config.dev.allowed_hosts.value.clone(),
        stdin: true,
        fresh,
    };
    let reporter = {
        let (printer, config) = (*printer, config.clone());
        Arc::new(move |event: sluice_dev::Event| printer.dev_event(&event, &config))
    };
    let server =
        DevServer::start(options, reporter, Arc::new(move || stopper.stop())).map_err(to_error)?;
    let hub = server.hub();

    let watched = (|| -> Result<(), Error> {
        let progress = printer.progress("sync");
        let report = engine.dev_pass(&progress)?;
        engine.save()?;
        printer.sync_report(&report.sync, config);
        printer.derive_report(&report.derived, config);
        // Problems of the first pass show in the browser from its first page on.
        let mut errors = overlay_errors(&report.sync.errors, &report.sync.conflicts, config);
        errors.extend(overlay_derived(engine.errors_in_force(), config));
        hub.changed(&[], errors);
        let options = WatchOptions {
            interval,
            mode,
            ..WatchOptions::default()
        };
        let mut start = Start::new(plan, &report.sync.index, engine.index());
        // Template folders (a new `static` reference is compiled) and the folders of
        // packages' files the compiles read.
        start.dirs.extend(engine.extra_watch_folders());
        drop(report);
        let mut target = Watched { engine };
        watch.run(&mut target, start, &options, &mut |notice| {
            printer.watch_notice(&notice, config);
            if let Notice::Changed(report) = &notice {
                printer.change_report(&report.change, config);
                printer.derive_report(&report.derived, config);
                let mut errors =
                    overlay_errors(&report.change.errors, &report.change.conflicts, config);
                errors.extend(overlay_derived(&report.in_force, config));
                let changed = browser_changes(&report.change.changed, &report.derived, config);
                let sent = hub.changed(&changed, errors);
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
    let configured = config.build.browserslist.as_ref();
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

/// The shared build cache of `[cache] remote`, when there is one (a URL it cannot use is
/// one warning: the build goes on with the local cache).
fn remote_cache(
    config: &Config,
    write: bool,
    printer: &Printer,
) -> Option<std::sync::Arc<sluice_publish::cache::RemoteCache>> {
    let url = config.cache.remote.as_ref()?;
    let p = &config.publish;
    let connection = sluice_publish::store::Connection {
        endpoint: p.endpoint.as_ref().map(|v| v.value.clone()),
        region: p.region.as_ref().map(|v| v.value.clone()),
        retries: p.retries.value as usize,
    };
    let write = write || config.cache.write.value;
    match sluice_publish::cache::RemoteCache::open(
        &url.value,
        &connection,
        sluice_engine::cache::RULES_VERSION,
        write,
    ) {
        Ok(cache) => Some(std::sync::Arc::new(cache)),
        Err(e) => {
            printer.warn(&format!(
                "the shared cache {} is not usable ({e}); building with the local cache only",
                url.value
            ));
            None
        }
    }
}

/// `sluice build`: the engine with the build profile.
fn build(
    config: &Config,
    args: &BuildArgs,
    no_wait: bool,
    printer: &Printer,
) -> Result<ExitCode, Error> {
    use sluice_assets::compress::Codecs;
    let b = &config.build;
    let codecs = if args.no_compress {
        Codecs::NONE
    } else {
        let names = args.compress.as_ref().unwrap_or(&b.compress.value);
        let codecs = Codecs::from_names(names.iter().map(String::as_str));
        codecs.map_err(|message| match &args.compress {
            Some(_) => Error::config(message),
            None => Error::config(message).with_location(b.compress.origin.to_string()),
        })?
    };
    let minify = if !args.no_minify && config.build.minify.value {
        Some(browser_targets(config)?)
    } else {
        None
    };
    let hash = if args.no_hash {
        false
    } else {
        args.hash || args.keep_only_hashed || b.hash.value
    };
    let report_page = match &args.report {
        None => None,
        Some(None) => Some(config.state_dir.join(report::DEFAULT_HTML)),
        Some(Some(file)) => {
            Some(std::path::absolute(file).map_err(|e| Error::io("resolve", file, e))?)
        }
    };
    let minified = minify.is_some();
    let profile = Profile::Build(BuildOptions {
        hash,
        keep_only_hashed: args.keep_only_hashed || (hash && b.keep_only_hashed.value),
        codecs,
        minify,
        budgets: b.budgets.clone(),
        analyse: report_page.is_some(),
    });
    let mut engine = open(
        config,
        profile,
        args.force,
        args.clean,
        "sluice build",
        no_wait,
        printer,
    )?;
    let remote = remote_cache(config, args.cache_write, printer);
    if let Some(remote) = &remote {
        engine.set_remote_cache(remote.clone());
    }
    let progress = printer.progress("build");
    let page = |analysis: Option<&sluice_engine::build::Analysis>,
                verdicts: &[sluice_engine::build::Verdict],
                shipped: bool|
     -> Result<Option<PathBuf>, Error> {
        let (Some(html), Some(analysis)) = (&report_page, analysis) else {
            return Ok(None);
        };
        let generated_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let ctx = report::Context {
            project: &config.project_dir,
            output: &config.output.value,
            html,
            hashed: hash,
            minified,
            shipped,
            generated_ms,
        };
        let previous = report::previous(&config.state_dir);
        let document = report::document(analysis, verdicts, previous.as_ref(), &ctx);
        report::write(&document, &config.state_dir)
            .map(Some)
            .map_err(|e| Error::io("write", html, e))
    };
    let result = engine.build(&progress);
    // The process ends here: the kernel frees the record and index faster than their drops.
    std::mem::forget(engine);
    if let Some(remote) = &remote {
        let summary = remote.finish();
        if let Some(warning) = &summary.warning {
            printer.warn(warning);
        }
        printer.cache_summary(summary.hits, summary.written, summary.raced);
    }
    match result {
        Ok(report) => {
            let written = page(report.analysis.as_ref(), &report.budgets, true)?;
            printer.build_report(&report, config, written.as_deref());
            std::mem::forget(report);
            Ok(ExitCode::SUCCESS)
        }
        Err(sluice_engine::report::BuildError::Core(error)) => Err(error),
        Err(error) => {
            let written = match &error {
                sluice_engine::report::BuildError::Budgets(failure) => {
                    page(failure.analysis.as_ref(), &failure.verdicts, false)?
                }
                _ => None,
            };
            printer.build_failed(&error, config, written.as_deref());
            Ok(ExitCode::from(error.exit_code() as u8))
        }
    }
}

/// `sluice publish`: the build output into object storage.
fn publish(config: &Config, args: &PublishArgs, printer: &Printer) -> Result<ExitCode, Error> {
    let p = &config.publish;
    let url = match (&args.url, &p.url) {
        (Some(url), _) => url.clone(),
        (None, Some(v)) => v.value.clone(),
        (None, None) => {
            return Err(
                Error::config("no destination: `sluice publish` needs a URL").with_hint(
                    "pass one (sluice publish s3://bucket/static), or set [publish] url",
                ),
            );
        }
    };
    let settings = sluice_publish::Settings {
        max_age: p.max_age.value,
        keep: args.keep.unwrap_or(p.keep.value) as usize,
        concurrency: p.concurrency.value as usize,
        serve_compressed: p.serve_compressed.as_ref().map(|v| v.value.clone()),
        connection: sluice_publish::store::Connection {
            endpoint: p.endpoint.as_ref().map(|v| v.value.clone()),
            region: p.region.as_ref().map(|v| v.value.clone()),
            retries: p.retries.value as usize,
        },
    };
    let request = sluice_publish::Request {
        url,
        output: config.output.value.clone(),
        settings,
        dry_run: args.dry_run,
    };
    let progress = printer.progress("publish");
    match sluice_publish::publish(&request, &progress) {
        Ok(report) => {
            printer.publish_report(&report);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            let usage = matches!(error, sluice_publish::Error::Url(_));
            printer.error(&error.to_string(), None, error.hint());
            Ok(ExitCode::from(if usage { 2 } else { 1 }))
        }
    }
}

/// `sluice report`: the last build report, opened in a browser when there is one.
fn open_report(config: &Config, printer: &Printer) -> Result<ExitCode, Error> {
    let page = report::last_page(&config.state_dir);
    if !page.is_file() {
        return Err(Error::config(format!(
            "no build report yet ({} does not exist)",
            page.display()
        ))
        .with_hint("run `sluice build --report` first"));
    }
    let opened = report::open::open(&page);
    printer.report_opened(&page, opened.as_deref());
    Ok(ExitCode::SUCCESS)
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
