//! The `[dev]` table of `sluice dev`, resolved: the backend command, the public port, the
//! host, and the hosts requests may name (`allowed_hosts`, else Django's `ALLOWED_HOSTS`).

use std::path::Path;

use serde::Deserialize;

use super::DjangoProject;
use super::files::Layer;
use crate::error::{Error, Result};
use crate::origin::{Origin, Value};

/// `command = ["python", "manage.py", "runserver", "127.0.0.1:{port}"]`, or a string with
/// `shell = true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum CommandSpec {
    Argv(Vec<String>),
    Line(String),
}

/// The keys of the `[dev]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DevKeys {
    pub(crate) command: Option<CommandSpec>,
    pub(crate) shell: Option<bool>,
    pub(crate) port: Option<u16>,
    pub(crate) host: Option<String>,
    pub(crate) editor_url: Option<String>,
    pub(crate) allowed_hosts: Option<Vec<String>>,
}

/// How `sluice dev` starts the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevCommand {
    /// Program and arguments, run without a shell; `{port}` is replaced by the backend's port.
    Argv(Vec<String>),
    /// A command line for `/bin/sh -c` (`command = "..."` with `shell = true`).
    Shell(String),
}

/// The `[dev]` table, resolved.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// `None` when nothing is configured and the project has no `manage.py`.
    pub command: Option<Value<DevCommand>>,
    /// The public port of `sluice dev` (the backend gets a free one of its own).
    pub port: Value<u16>,
    pub host: Value<String>,
    /// `[dev] editor_url`: a URL template that opens a file in the developer's editor
    /// (`vscode://file/{path}:{line}:{column}`), for the browser overlay's file links.
    pub editor_url: Option<Value<String>>,
    /// Hosts a request may name besides loopback ones (`localhost`, `*.localhost`,
    /// `127.0.0.0/8`, `[::1]`), as Django's `ALLOWED_HOSTS` patterns: `[dev] allowed_hosts`,
    /// else Django's `ALLOWED_HOSTS` when sluice reads the settings, else none.
    pub allowed_hosts: Value<Vec<String>>,
}

/// The port `sluice dev` listens on when neither flag nor file says: `$PORT`, else 8000.
pub const DEFAULT_DEV_PORT: u16 = 8000;

/// The `[dev]` table. Without a `command`: `manage.py runserver` when the project has a
/// `manage.py`, else `python -m django runserver --settings=MODULE` when a settings module is
/// known, else none.
pub(crate) fn resolve_dev(
    layers: &[Layer],
    project_dir: &Path,
    python: &Value<String>,
    settings_module: Option<&str>,
    django: Option<&DjangoProject>,
) -> Result<DevConfig> {
    let dev_pick = |key: &str, has: &dyn Fn(&DevKeys) -> bool| {
        layers
            .iter()
            .find(|l| l.keys.dev.as_ref().is_some_and(has))
            .map(|l| {
                (
                    l.keys.dev.as_ref().cloned().unwrap_or_default(),
                    l.table_origin("dev", key),
                )
            })
    };
    let command = match dev_pick("command", &|d| d.command.is_some()) {
        Some((keys, origin)) => {
            let shell = keys.shell.unwrap_or(false);
            let command = match (keys.command, shell) {
                (Some(CommandSpec::Argv(argv)), false) if !argv.is_empty() => {
                    DevCommand::Argv(argv)
                }
                (Some(CommandSpec::Argv(_)), false) => {
                    return Err(
                        Error::config("[dev] command is empty").with_location(origin.to_string())
                    );
                }
                (Some(CommandSpec::Line(line)), true) if !line.trim().is_empty() => {
                    DevCommand::Shell(line)
                }
                (Some(CommandSpec::Line(_)), false) => {
                    return Err(Error::config(
                        "[dev] command is a string, which would need a shell to run",
                    )
                    .with_location(origin.to_string())
                    .with_hint(
                        "give the program and its arguments as a list, or add `shell = true` to run the string with /bin/sh",
                    ));
                }
                _ => {
                    return Err(
                        Error::config("[dev] shell = true needs `command` as one string")
                            .with_location(origin.to_string()),
                    );
                }
            };
            Some(Value {
                value: command,
                origin,
            })
        }
        None if project_dir.join("manage.py").is_file() => Some(Value {
            value: DevCommand::Argv(vec![
                python.value.clone(),
                "manage.py".into(),
                "runserver".into(),
                "127.0.0.1:{port}".into(),
            ]),
            origin: Origin::Default,
        }),
        None => settings_module.map(|module| Value {
            value: DevCommand::Argv(vec![
                python.value.clone(),
                "-m".into(),
                "django".into(),
                "runserver".into(),
                format!("--settings={module}"),
                "127.0.0.1:{port}".into(),
            ]),
            origin: Origin::Default,
        }),
    };
    let port = if let Some((keys, origin)) = dev_pick("port", &|d| d.port.is_some()) {
        Value {
            value: keys.port.unwrap_or(DEFAULT_DEV_PORT),
            origin,
        }
    } else if let Ok(text) = std::env::var("PORT") {
        let value = text.trim().parse::<u16>().map_err(|_| {
            Error::config(format!("$PORT is `{text}`, not a port number"))
                .with_hint("unset PORT, or pass --port N")
        })?;
        Value {
            value,
            origin: Origin::Env("PORT"),
        }
    } else {
        Value {
            value: DEFAULT_DEV_PORT,
            origin: Origin::Default,
        }
    };
    let host = match dev_pick("host", &|d| d.host.is_some()) {
        Some((keys, origin)) => Value {
            value: keys.host.unwrap_or_default(),
            origin,
        },
        None => Value {
            value: "127.0.0.1".into(),
            origin: Origin::Default,
        },
    };
    let editor_url = match dev_pick("editor_url", &|d| d.editor_url.is_some()) {
        Some((keys, origin)) => {
            let template = keys.editor_url.unwrap_or_default();
            if !template.contains("{path}") {
                return Err(Error::config(format!(
                    "[dev] editor_url `{template}` has no {{path}}"
                ))
                .with_location(origin.to_string())
                .with_hint(
                    "write where the file's path goes, e.g. \"vscode://file/{path}:{line}:{column}\"",
                ));
            }
            Some(Value {
                value: template,
                origin,
            })
        }
        None => None,
    };
    let allowed_hosts = match dev_pick("allowed_hosts", &|d| d.allowed_hosts.is_some()) {
        Some((keys, origin)) => Value {
            value: keys.allowed_hosts.unwrap_or_default(),
            origin,
        },
        None => match django.and_then(|d| Some((d, d.settings.allowed_hosts.clone()?))) {
            Some((d, hosts)) => Value {
                value: hosts,
                origin: Origin::Django(d.module.value.clone()),
            },
            None => Value {
                value: Vec::new(),
                origin: Origin::Default,
            },
        },
    };
    Ok(DevConfig {
        command,
        port,
        host,
        editor_url,
        allowed_hosts,
    })
}
