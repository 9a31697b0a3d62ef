//! Every command and flag, with its help text, in one place: `--help`, the README and the code
//! cannot drift apart.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Static media for big Django sites: instant in development, complete in production",
    long_about = "Static media for big Django sites: instant in development, complete in production.\n\n\
        sluice reads the configuration you already have (Django's STATICFILES_DIRS, STATIC_ROOT and \
        installed apps, or sluice.toml / [tool.sluice] in pyproject.toml) and keeps STATIC_ROOT a \
        mirror of your media folders (sync), or fills it for production with Django's manifest \
        names and whitenoise's compressed copies (build).",
    after_help = "Exit codes: 0 ok, 1 build error (a file could not be handled, a conflict, an output over its size budget), 2 usage or configuration error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Read this configuration file (sluice.toml format, or a pyproject.toml with [tool.sluice])
    /// instead of looking for one from the current folder up.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A source folder, optionally mounted under PREFIX in the output (like a
    /// ("prefix", "dir") entry of STATICFILES_DIRS). Repeatable; the first folder that has a
    /// file wins. Replaces the configured sources.
    #[arg(long = "source", global = true, value_name = "DIR[=PREFIX]", value_parser = parse_source)]
    pub sources: Vec<(PathBuf, Option<String>)>,

    /// The output folder (Django's STATIC_ROOT).
    #[arg(long, global = true, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Ignore files and folders matching this pattern (fnmatch, like collectstatic -i). Repeatable.
    #[arg(short = 'i', long = "ignore", global = true, value_name = "PATTERN")]
    pub ignore: Vec<String>,

    /// Don't ignore Django's default patterns 'CVS', '.*' and '*~'.
    #[arg(long, global = true)]
    pub no_default_ignore: bool,

    /// The Django settings module to read (default: DJANGO_SETTINGS_MODULE, else the one
    /// manage.py names).
    #[arg(long, global = true, value_name = "MODULE")]
    pub django_settings: Option<String>,

    /// The Python that runs the project (default: the active virtualenv, ./.venv, python3).
    #[arg(long, global = true, value_name = "PATH")]
    pub python: Option<String>,

    /// Output format: text for people, json for machines.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more: every shadowed file, every conflict.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When another sluice is writing into the same output folder, stop at once (exit 1)
    /// instead of waiting for it.
    #[arg(long, global = true)]
    pub no_wait: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make the output a mirror of the sources in one incremental pass, then exit.
    ///
    /// Only what changed since the last pass is copied; outputs whose source is gone are
    /// removed; files in the output that sluice did not write are left alone and reported.
    /// The SCSS, LESS and TypeScript sources asked for (bundle members, `[compile] entries`,
    /// the templates' `{% static %}` references) are compiled beside their copy and the
    /// bundles written unminified with source maps, as django-pipeline makes them in
    /// development.
    Sync(SyncArgs),
    /// Sync, then keep the output in step with the sources until Ctrl-C.
    ///
    /// Uses the kernel's file events (inotify), except for source folders on file systems
    /// whose changes are made elsewhere (a Docker Desktop bind mount, NFS, SMB, WSL2's /mnt/c,
    /// FUSE): those are polled, within a small CPU and I/O budget. Falls back to polling, with
    /// a warning, when file events are unavailable or the kernel's watch limit is reached.
    Watch(WatchArgs),
    /// Production output: bundles, Django manifest names, staticfiles.json, compressed copies.
    ///
    /// Builds the bundles (django-pipeline's PIPELINE, static-bundles.json or [bundles.*]
    /// tables) as django-pipeline joins them, collects every source into the output as
    /// collectstatic does, writes a hashed copy of
    /// each file with *.css/*.js references rewritten as Django's ManifestStaticFilesStorage
    /// does (byte-identical, both copies kept) and staticfiles.json, then .br/.gz copies with
    /// whitenoise's rules. Incremental: unchanged files are neither read nor rewritten, and
    /// compressed copies are cached in .sluice/. On any error (a missing reference, a cycle,
    /// non-UTF-8 CSS/JS, a file in the way, an output over its [build.budgets] limit) the
    /// output is left exactly as it was.
    Build(BuildArgs),
    /// Watch, run the backend, and serve both with live reload, in one terminal, until Ctrl-C.
    ///
    /// The backend (the command after `--`, else `[dev] command`, else in a Django project
    /// `python manage.py runserver 127.0.0.1:{port}` with the project's Python) runs in its
    /// own process group on a free loopback port, given to it as $PORT and `{port}` (a command
    /// naming its own address, `runserver 8711`, is proxied there; runserver, gunicorn,
    /// uvicorn, daphne, flask and hypercorn given none get `127.0.0.1:{port}` added). sluice
    /// listens on --port, serves STATIC_URL straight from the output, forwards everything else
    /// (websockets too), and injects a script into HTML pages: stylesheet changes are swapped
    /// in place, any other change reloads the page, errors show as an overlay with the source
    /// line until they are fixed (`[dev] editor_url` makes their files links to your editor).
    /// On polled source folders (a Docker Desktop bind mount, a network share) a static file
    /// is served only after its inputs (its source, a bundle's members, a compiled file's
    /// imports) were checked and what changed rebuilt, and the files the browser loaded are
    /// polled often, so edits made there reload the page too. Open sluice's address, not the backend's: the last line of the start says it. The
    /// backend's lines are prefixed `web │`, sluice's `sluice │`. A backend that exits is
    /// restarted with backoff. Ctrl-C stops the backend's whole group (SIGINT, then SIGTERM,
    /// then SIGKILL). sluice's stdin goes to the backend, so `breakpoint()` (pdb) works in a
    /// view.
    Dev(DevArgs),
    /// Upload the build output to object storage (s3://bucket/prefix, or file:///path).
    ///
    /// Run after `sluice build`. One listing of the destination says what is there: hashed
    /// names (staticfiles.json's values, and their .br/.gz copies) that exist are skipped
    /// without being read; other files are compared by the md5 sluice stores in each
    /// object's metadata, never by ETag. Content-Type per file (whitenoise's table),
    /// Cache-Control `public, max-age=31536000, immutable` for hashed names and `[publish]
    /// max_age` (default: 60) seconds for the others, Content-Encoding on compressed copies.
    /// Every file goes up before staticfiles.json, which goes last: a publish that fails
    /// leaves the previous deploy working. Objects an earlier publish uploaded that are gone from the build are
    /// then deleted, except hashed names the last `--keep` deploys' manifests name.
    /// Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN); endpoint and
    /// region: [publish] endpoint/region, else AWS_ENDPOINT_URL, AWS_REGION.
    Publish(PublishArgs),
    /// Print the resolved configuration and where each value came from.
    Config,
    /// Open the last build report (`sluice build --report` writes it) in a browser.
    ///
    /// Uses $BROWSER, else xdg-open (macOS: open) when there is a display; prints the
    /// report's path either way, so where there is no browser you can copy it elsewhere.
    Report,
    /// Write sluice's configuration for this project, from its Django settings.
    ///
    /// Writes [tool.sluice] into pyproject.toml (sluice.toml where there is no pyproject.toml):
    /// only what sluice would not find by itself (a settings module manage.py does not name,
    /// given with --django-settings; a Python given with --python; an output folder when
    /// STATIC_ROOT is unset), with comments saying what it reads from Django. Prints the
    /// django-pipeline development settings to set. Existing sluice configuration is never
    /// replaced without --force.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace existing sluice configuration (sluice.toml, or [tool.sluice] and its sub-tables).
    #[arg(long)]
    pub force: bool,
    /// Print the change as a unified diff instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Where to: s3://bucket/prefix, or file:///path (default: [publish] url).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Print what would be uploaded and deleted, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the hashed names of this many earlier deploys besides the current one
    /// (default: [publish] keep, else 3).
    #[arg(long, value_name = "N")]
    pub keep: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub watch: WatchArgs,
    /// The port to serve on (default: [dev] port, else $PORT, else 8000; 0 picks a free one).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// The address to serve on (default: [dev] host, else 127.0.0.1). Anything but loopback
    /// shows your development site to the network (sluice warns); requests are answered only
    /// for loopback names and [dev] allowed_hosts (default: Django's ALLOWED_HOSTS).
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// When the backend exits, stop (with its exit code) instead of restarting it.
    #[arg(long)]
    pub no_restart: bool,
    /// The backend command and its arguments (no shell; `{port}` is replaced by its port),
    /// instead of [dev] command and the runserver default.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Django manifest names and staticfiles.json (the default, unless the project's
    /// STORAGES["staticfiles"] or [build] hash says otherwise).
    #[arg(long, conflicts_with = "no_hash")]
    pub hash: bool,
    /// Plain collectstatic output: no hashed copies, no staticfiles.json.
    #[arg(long)]
    pub no_hash: bool,
    /// Keep only the hashed copies (like WHITENOISE_KEEP_ONLY_HASHED_FILES).
    #[arg(long, conflicts_with = "no_hash")]
    pub keep_only_hashed: bool,
    /// Compressed copies to add, comma-separated: gzip, br, zstd (`.zst`, level 19; not a
    /// whitenoise format). Default: what the project's STORAGES["staticfiles"] backend
    /// makes (whitenoise: gzip,br; Django's and django-pipeline's: none), else [build]
    /// compress, else gzip,br.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub compress: Option<Vec<String>>,
    /// No compressed copies.
    #[arg(long, conflicts_with = "compress")]
    pub no_compress: bool,
    /// Overwrite output files that sluice did not write (an error otherwise).
    #[arg(long)]
    pub force: bool,
    /// Remove everything an earlier build wrote and start from scratch.
    #[arg(long)]
    pub clean: bool,
    /// Write bundles as django-pipeline does with no compressor (CSS_COMPRESSOR and
    /// JS_COMPRESSOR = None): joined, not minified, no source map. Same as
    /// `[build] minify = false`.
    #[arg(long)]
    pub no_minify: bool,
    /// Also write the build report, one self-contained HTML page of what ships: a zoomable
    /// treemap of folders, bundles and their members sized raw, minified, gzip or Brotli;
    /// members shared by bundles; what compiled sources add; what changed since the previous
    /// report; the largest files; files compression did not pay for; the budgets. FILE
    /// defaults to .sluice/report.html; `sluice report` opens it. Written also when a
    /// budget fails (then it shows what would have shipped).
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub report: Option<Option<PathBuf>>,
    /// Write what this build computes to the shared cache ([cache] remote), as `[cache]
    /// write = true` does: for trusted builds (the main branch), not pull requests, which
    /// only read it.
    #[arg(long)]
    pub cache_write: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Overwrite output files that sluice did not write (reported as conflicts otherwise).
    #[arg(long)]
    pub force: bool,
    /// Remove everything sluice wrote before and start from scratch.
    #[arg(long)]
    pub clean: bool,
    /// Symlink each output to its source instead of copying it (like collectstatic --link).
    #[arg(long)]
    pub link: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub sync: SyncArgs,
    /// Poll every source folder, at most every MS milliseconds (default 500), instead of
    /// using file events. SLUICE_POLL=1 (or =MS) does the same. Without it, folders on file
    /// systems whose changes are made elsewhere (Docker Desktop's shares, NFS, SMB, 9p/WSL2's
    /// /mnt/c, FUSE, VirtualBox/VMware shared folders) are polled, and the others use file
    /// events; a line says which folder is polled and why.
    #[arg(long, value_name = "MS", num_args = 0..=1, require_equals = true, default_missing_value = "500")]
    pub poll: Option<u64>,
    /// Never choose polling by a folder's file system: file events everywhere (changes made
    /// on the other side of a network or VM share are then missed). `poll = false` in the
    /// configuration does the same.
    #[arg(long, conflicts_with = "poll")]
    pub no_poll: bool,
}

fn parse_source(text: &str) -> Result<(PathBuf, Option<String>), String> {
    match text.rsplit_once('=') {
        Some((dir, prefix)) if !dir.is_empty() => {
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                return Err("the prefix after `=` is empty".into());
            }
            Ok((PathBuf::from(dir), Some(prefix.to_owned())))
        }
        _ if text.is_empty() => Err("the folder is empty".into()),
        _ => Ok((PathBuf::from(text), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_flags() {
        assert_eq!(parse_source("media"), Ok(("media".into(), None)));
        assert_eq!(
            parse_source("vendor/static=vendor/"),
            Ok(("vendor/static".into(), Some("vendor".into())))
        );
        assert!(parse_source("media=").is_err());
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
