//! What `sluice config` and `sluice init` say.

use std::path::Path;

use owo_colors::OwoColorize;
use serde_json::json;
use sluice_core::config::Config;

use super::{Printer, lossy, shown};
use sluice_core::config::DevCommand;

impl Printer {
    /// `sluice init`: the change (a unified diff, on stdout with `--dry-run`), what was set,
    /// and the Django settings to set by hand.
    pub fn init_report(&self, report: &InitReport) {
        if !self.text() {
            self.json(&json!({
                "event": "init",
                "file": lossy(report.file),
                "written": report.written,
                "keys": report.keys,
                "diff": report.diff,
                "advice": report.advice,
            }));
            return;
        }
        let name = report.file.display();
        if self.quiet {
            if !report.written {
                anstream::print!("{}", report.diff);
            }
            return;
        }
        if !report.written {
            anstream::print!("{}", report.diff);
            if report.diff.is_empty() {
                say!(self, "{name} is up to date");
            }
        } else if report.diff.is_empty() {
            say!(self, "{} {name} is up to date", "✓".green());
        } else if report.keys.is_empty() {
            say!(
                self,
                "{} wrote {name}: no keys, sluice finds everything itself (the comments say what it found)",
                "✓".green()
            );
        } else {
            say!(
                self,
                "{} wrote {name}: {}",
                "✓".green(),
                report.keys.join(", ")
            );
        }
        if !report.advice.is_empty() {
            say!(self, "In the Django development settings, set:");
            for line in report.advice {
                say!(self, "    {line}");
            }
        }
    }

    pub fn config(&self, config: &Config, sass: &str) {
        let base = &config.project_dir;
        let roots: Vec<serde_json::Value> = config
            .sources
            .value
            .iter()
            .map(|r| json!({"path": lossy(&r.path), "prefix": r.prefix, "ignore": r.ignore}))
            .collect();
        if !self.text() {
            let origin = |o: &sluice_core::config::Origin| o.to_string();
            let opt = |v: &Option<sluice_core::config::Value<String>>| {
                v.as_ref()
                    .map(|v| json!({"value": v.value, "origin": origin(&v.origin)}))
            };
            self.json(&json!({
                "project_dir": lossy(&config.project_dir),
                "config_files": config.config_files.iter().map(|p| lossy(p)).collect::<Vec<_>>(),
                "state_dir": lossy(&config.state_dir),
                "sources": {"value": roots, "origin": origin(&config.sources.origin)},
                "output": {"value": lossy(&config.output.value), "origin": origin(&config.output.origin)},
                "static_url": {"value": config.static_url.value, "origin": origin(&config.static_url.origin)},
                "ignore": {"value": config.ignore.value, "origin": origin(&config.ignore.origin)},
                "python": {"value": config.python.value, "origin": origin(&config.python.origin)},
                "dev": {
                    "command": config.dev.command.as_ref().map(|c| json!({
                        "value": match &c.value {
                            DevCommand::Argv(argv) => json!(argv),
                            DevCommand::Shell(line) => json!(line),
                        },
                        "shell": matches!(c.value, DevCommand::Shell(_)),
                        "origin": origin(&c.origin),
                    })),
                    "port": {"value": config.dev.port.value, "origin": origin(&config.dev.port.origin)},
                    "host": {"value": config.dev.host.value, "origin": origin(&config.dev.host.origin)},
                    "editor_url": config.dev.editor_url.as_ref().map(|e| json!({
                        "value": e.value, "origin": origin(&e.origin),
                    })),
                    "allowed_hosts": {
                        "value": config.dev.allowed_hosts.value,
                        "origin": origin(&config.dev.allowed_hosts.origin),
                    },
                },
                "django": config.django.as_ref().map(|d| json!({
                    "settings": {"value": d.module.value, "origin": origin(&d.module.origin)},
                    "version": d.settings.django_version,
                    "storage": d.settings.storage,
                    "finders": d.settings.finders,
                    "pipeline": d.settings.pipeline.is_some(),
                    "cached": d.freshness == sluice_core::django::Freshness::Cached,
                })),
                "bundles": config.bundles.iter().map(|b| json!({
                    "kind": b.kind.as_str(), "name": b.name, "files": b.files,
                    "output": b.output, "datauri": b.datauri, "origin": origin(&b.origin),
                    "modules": (b.kind == sluice_core::bundles::BundleKind::Js).then(|| json!({
                        "always": b.modules.mode == sluice_core::bundles::ModuleMode::Always,
                        "format": b.modules.format.as_str(),
                    })),
                })).collect::<Vec<_>>(),
                "compilers": {
                    "value": config.compilers.value.iter().map(|k| k.name()).collect::<Vec<_>>(),
                    "origin": origin(&config.compilers.origin),
                    "unknown": config.unknown_compilers,
                },
                "compile": {
                    "entries": {"value": config.compile.entries.value, "origin": origin(&config.compile.entries.origin)},
                    "templates": {"value": config.compile.templates.value, "origin": origin(&config.compile.templates.origin)},
                    "load_paths": {"value": config.compile.load_paths.value, "origin": origin(&config.compile.load_paths.origin)},
                    "sass": sass,
                },
                "minify": {"value": config.build.minify.value, "origin": origin(&config.build.minify.origin)},
                "browserslist": config.build.browserslist.as_ref().map(|b| json!({
                    "value": b.value, "origin": origin(&b.origin),
                })),
                "build": {
                    "hash": {"value": config.build.hash.value, "origin": origin(&config.build.hash.origin)},
                    "compress": {"value": config.build.compress.value, "origin": origin(&config.build.compress.origin)},
                    "keep_only_hashed": {"value": config.build.keep_only_hashed.value, "origin": origin(&config.build.keep_only_hashed.origin)},
                    "budgets": config.build.budgets.iter().map(|b| json!({
                        "pattern": b.pattern.as_str(), "limit": b.limit.text,
                        "limit_bytes": b.limit.bytes, "measure": b.limit.measure.as_str(),
                        "total": b.limit.total, "origin": origin(&b.origin),
                    })).collect::<Vec<_>>(),
                },
                "publish": {
                    "url": opt(&config.publish.url),
                    "max_age": {"value": config.publish.max_age.value, "origin": origin(&config.publish.max_age.origin)},
                    "keep": {"value": config.publish.keep.value, "origin": origin(&config.publish.keep.origin)},
                    "concurrency": {"value": config.publish.concurrency.value, "origin": origin(&config.publish.concurrency.origin)},
                    "retries": {"value": config.publish.retries.value, "origin": origin(&config.publish.retries.origin)},
                    "endpoint": opt(&config.publish.endpoint),
                    "region": opt(&config.publish.region),
                    "serve_compressed": opt(&config.publish.serve_compressed),
                },
                "cache": {
                    "remote": opt(&config.cache.remote),
                    "write": {"value": config.cache.write.value, "origin": origin(&config.cache.write.origin)},
                },
                "poll": config.poll.as_ref().map(|p| json!({
                    "value": poll_text(p.value), "origin": origin(&p.origin),
                })),
                "warnings": config.warnings,
            }));
            return;
        }
        let row = |key: &str, value: String, origin: String| {
            anstream::println!(
                "{:<11} {value}  {}",
                key.bold(),
                format!("({origin})").dimmed()
            );
        };

        anstream::println!("{:<11} {}", "project".bold(), base.display());
        let files: Vec<String> = config.config_files.iter().map(|f| shown(f, base)).collect();
        anstream::println!(
            "{:<11} {}",
            "config".bold(),
            if files.is_empty() {
                "none".to_string()
            } else {
                files.join(", ")
            }
        );
        if let Some(d) = &config.django {
            let cached = if d.freshness == sluice_core::django::Freshness::Cached {
                ", cached"
            } else {
                ""
            };
            row(
                "django",
                format!(
                    "{} (Django {}{cached})",
                    d.module.value, d.settings.django_version
                ),
                d.module.origin.to_string(),
            );
            if let Some(storage) = &d.settings.storage {
                anstream::println!("{:<11} {storage}", "storage".bold());
            }
        }
        row(
            "python",
            config.python.value.clone(),
            config.python.origin.to_string(),
        );
        anstream::println!(
            "{:<11} {}",
            "sources".bold(),
            format!("({})", config.sources.origin).dimmed()
        );
        for root in &config.sources.value {
            let mount = root
                .prefix
                .as_ref()
                .map(|p| format!("{p}/ ← "))
                .unwrap_or_default();
            let own = if root.ignore.is_empty() {
                String::new()
            } else {
                format!("  (also ignoring {})", root.ignore.join(" "))
                    .dimmed()
                    .to_string()
            };
            anstream::println!("  {mount}{}{own}", shown(&root.path, base));
        }
        row(
            "output",
            shown(&config.output.value, base),
            config.output.origin.to_string(),
        );
        row(
            "static_url",
            config.static_url.value.clone(),
            config.static_url.origin.to_string(),
        );
        row(
            "ignore",
            config.ignore.value.join(" "),
            config.ignore.origin.to_string(),
        );
        if let Some(command) = &config.dev.command {
            let text = match &command.value {
                DevCommand::Argv(argv) => argv.join(" "),
                DevCommand::Shell(line) => format!("sh -c {line:?}"),
            };
            row("dev", text, command.origin.to_string());
        }
        row(
            "dev.listen",
            format!("{}:{}", config.dev.host.value, config.dev.port.value),
            if config.dev.port.origin == config.dev.host.origin {
                config.dev.port.origin.to_string()
            } else {
                format!("{}; {}", config.dev.host.origin, config.dev.port.origin)
            },
        );
        let hosts = &config.dev.allowed_hosts;
        row(
            "dev.hosts",
            if hosts.value.is_empty() {
                "loopback only".to_string()
            } else {
                format!("loopback, {}", hosts.value.join(", "))
            },
            hosts.origin.to_string(),
        );
        if let Some(editor) = &config.dev.editor_url {
            row(
                "dev.editor",
                editor.value.clone(),
                editor.origin.to_string(),
            );
        }
        if let Some(poll) = &config.poll {
            row("poll", poll_text(poll.value), poll.origin.to_string());
        }
        let kinds: Vec<&str> = config.compilers.value.iter().map(|k| k.name()).collect();
        let mut compilers = if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(" ")
        };
        if !config.unknown_compilers.is_empty() {
            compilers.push_str(&format!(
                " (not supported: {})",
                config.unknown_compilers.join(", ")
            ));
        }
        row("compilers", compilers, config.compilers.origin.to_string());
        let c = &config.compile;
        let list = |items: Vec<String>, empty: &str| {
            if items.is_empty() {
                empty.to_string()
            } else {
                items.join(", ")
            }
        };
        row(
            "compile.entries",
            list(
                c.entries.value.clone(),
                "none (bundle members and template references)",
            ),
            c.entries.origin.to_string(),
        );
        let paths = |v: &[std::path::PathBuf]| v.iter().map(|p| p.display().to_string()).collect();
        row(
            "compile.templates",
            list(paths(&c.templates.value), "none"),
            c.templates.origin.to_string(),
        );
        row(
            "compile.load_paths",
            list(paths(&c.load_paths.value), "none"),
            c.load_paths.origin.to_string(),
        );
        let found = if sass.starts_with("dart-sass") {
            "found in node_modules"
        } else {
            "default"
        };
        row("compile.sass", sass.to_string(), found.to_string());
        row(
            "minify",
            config.build.minify.value.to_string(),
            config.build.minify.origin.to_string(),
        );
        match &config.build.browserslist {
            Some(b) => row("browserslist", b.value.join(", "), b.origin.to_string()),
            None => row(
                "browserslist",
                "not set: .browserslistrc, else package.json, else defaults".to_string(),
                "default".to_string(),
            ),
        }
        let b = &config.build;
        row("hash", b.hash.value.to_string(), b.hash.origin.to_string());
        row(
            "compress",
            if b.compress.value.is_empty() {
                "none".to_string()
            } else {
                b.compress.value.join(",")
            },
            b.compress.origin.to_string(),
        );
        row(
            "keep_only_hashed",
            b.keep_only_hashed.value.to_string(),
            b.keep_only_hashed.origin.to_string(),
        );
        for b in &b.budgets {
            row(
                "budget",
                format!("{} ≤ {}", b.pattern.as_str(), b.limit.text),
                b.origin.to_string(),
            );
        }
        let p = &config.publish;
        let text_row =
            |key: &str, v: &Option<sluice_core::config::Value<String>>, none: &str| match v {
                Some(v) => row(key, v.value.clone(), v.origin.to_string()),
                None => row(key, none.to_string(), "default".to_string()),
            };
        text_row("publish.url", &p.url, "none (given to `sluice publish`)");
        row(
            "publish.max_age",
            p.max_age.value.to_string(),
            p.max_age.origin.to_string(),
        );
        row(
            "publish.keep",
            p.keep.value.to_string(),
            p.keep.origin.to_string(),
        );
        row(
            "publish.concurrency",
            p.concurrency.value.to_string(),
            p.concurrency.origin.to_string(),
        );
        row(
            "publish.retries",
            p.retries.value.to_string(),
            p.retries.origin.to_string(),
        );
        text_row(
            "publish.endpoint",
            &p.endpoint,
            "AWS_ENDPOINT_URL, else AWS",
        );
        text_row(
            "publish.region",
            &p.region,
            "AWS_REGION / AWS_DEFAULT_REGION, else us-east-1",
        );
        text_row("publish.serve_compressed", &p.serve_compressed, "no");
        text_row(
            "cache.remote",
            &config.cache.remote,
            "none (local cache only)",
        );
        row(
            "cache.write",
            config.cache.write.value.to_string(),
            config.cache.write.origin.to_string(),
        );
        for warning in &config.warnings {
            self.warn(warning);
        }
        anstream::println!("{:<11} {}", "bundles".bold(), config.bundles.len());
        for b in &config.bundles {
            let modules = match b.modules.mode {
                sluice_core::bundles::ModuleMode::Always => {
                    format!(" ES modules, {}", b.modules.format.as_str())
                }
                sluice_core::bundles::ModuleMode::Detect => String::new(),
            };
            anstream::println!(
                "  {} {} → {}{}  {}",
                b.kind,
                b.name,
                b.output,
                modules,
                format!("({})", b.origin).dimmed()
            );
        }
        anstream::println!("{:<11} {}", "state".bold(), shown(&config.state_dir, base));
    }
}

/// What `sluice init` did, for [`Printer::init_report`].
pub struct InitReport<'a> {
    pub file: &'a Path,
    /// Whether the file was written (not with `--dry-run`).
    pub written: bool,
    pub keys: &'a [String],
    pub diff: &'a str,
    pub advice: &'a [String],
}

/// The `poll` key as `sluice config` shows it.
fn poll_text(poll: sluice_core::config::PollSetting) -> String {
    use sluice_core::config::PollSetting;
    match poll {
        PollSetting::Never => "never by file system (file events everywhere)".into(),
        PollSetting::Always(None) => "every source folder".into(),
        PollSetting::Always(Some(ms)) => format!("every source folder, every {ms} ms"),
    }
}
