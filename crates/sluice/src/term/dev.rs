//! What `sluice dev` says: the backend's lines (prefixed `web │`) and its life cycle, and
//! what the browsers were sent.

use owo_colors::OwoColorize;
use serde_json::json;
use sluice_core::config::Config;

use super::{Printer, duration, shown};
use std::io::Write;

use super::{BACKEND_TAG, TAG_WIDTH};

impl Printer {
    /// What the dev server reports: the backend's lines (prefixed `web │`) and its life cycle.
    pub fn dev_event(&self, event: &sluice_dev::Event, config: &Config) {
        use sluice_dev::{Event, Stream};
        if !self.text() {
            let value = match event {
                Event::Listening { addr } => json!({
                    "event": "listening",
                    "url": format!("http://{addr}/"),
                    "port": addr.port(),
                }),
                Event::Exposed { addr } => json!({
                    "event": "warning",
                    "message": exposed(addr),
                }),
                Event::BackendStarted { pid, port, argv } => {
                    json!({"event": "backend_started", "pid": pid, "port": port, "argv": argv})
                }
                Event::BackendUp {
                    port,
                    public,
                    after,
                } => json!({
                    "event": "backend_up", "port": port, "url": format!("http://{public}/"),
                    "elapsed_ms": after.as_secs_f64() * 1000.0,
                }),
                Event::Line { stream, text } => json!({
                    "event": "output",
                    "stream": if *stream == Stream::Stdout { "stdout" } else { "stderr" },
                    "line": String::from_utf8_lossy(text),
                }),
                Event::BackendExited { code, restart_in } => json!({
                    "event": "backend_exited",
                    "code": code,
                    "restart_in_ms": restart_in.map(|d| d.as_millis() as u64),
                }),
                Event::SpawnFailed { message } => json!({"event": "error", "message": message}),
                Event::Stopping { signal } => json!({"event": "stopping", "signal": signal}),
                Event::Escalated { signal } => json!({"event": "escalated", "signal": signal}),
                Event::BackendStopped { code } => json!({"event": "backend_stopped", "code": code}),
            };
            self.json(&value);
            return;
        }
        let info = |text: String| {
            if !self.quiet {
                say!(self, "{} {text}", "●".cyan().bold());
            }
        };
        match event {
            Event::Listening { addr } => info(format!(
                "listening on http://{addr}/ — {} from {}, everything else from the backend",
                config.static_url.value,
                shown(&config.output.value, &config.project_dir)
            )),
            Event::Exposed { addr } => self.warn(&exposed(addr)),
            Event::BackendStarted { pid, port, argv } => info(format!(
                "started {} (pid {pid}, port {port})",
                argv.join(" ").bold()
            )),
            // The last line of the start: the address to open (the backend's own has no
            // live reload).
            Event::BackendUp { public, after, .. } => {
                if !self.quiet {
                    say!(
                        self,
                        "{} ready: open {} (backend up after {})",
                        "✓".green().bold(),
                        format!("http://{public}/").bold().underline(),
                        duration(*after)
                    );
                }
            }
            Event::Line { text, .. } => {
                let tag = format!("{BACKEND_TAG:>TAG_WIDTH$} │");
                let line = String::from_utf8_lossy(text);
                let mut err = anstream::stderr().lock();
                let _ = writeln!(err, "{} {line}", tag.magenta());
            }
            Event::BackendExited { code, restart_in } => match restart_in {
                Some(delay) => self.warn(&format!(
                    "the backend exited with code {code}; restarting in {}",
                    duration(*delay)
                )),
                None if *code == 0 => info("the backend exited (code 0)".into()),
                None => self.warn(&format!("the backend exited with code {code}")),
            },
            Event::SpawnFailed { message } => self.error(message, None, None),
            Event::Stopping { signal } => info(format!(
                "{signal}: stopping the backend (again to hurry it)"
            )),
            Event::Escalated { signal } => self.warn(&format!(
                "the backend's processes did not stop in time: {signal} to its process group"
            )),
            Event::BackendStopped { .. } => info("backend stopped".into()),
        }
    }

    /// Live-reload events sent to the browsers (JSON always, text with `-v`).
    pub fn reload_sent(&self, sent: &[sluice_dev::ReloadEvent]) {
        use sluice_dev::ReloadEvent;
        for event in sent {
            let (kind, detail) = match event {
                ReloadEvent::Css(urls) => ("css", json!(urls)),
                ReloadEvent::Reload => ("reload", json!(null)),
                ReloadEvent::Errors(errors) => (
                    "errors",
                    json!(
                        errors
                            .iter()
                            .map(|e| match e.location().as_str() {
                                "" => e.message.clone(),
                                at => format!("{at}: {}", e.message),
                            })
                            .collect::<Vec<_>>()
                    ),
                ),
                ReloadEvent::Clear => ("clear", json!(null)),
            };
            if !self.text() {
                self.json(&json!({"event": "browser", "kind": kind, "detail": detail}));
            } else if self.verbose && !self.quiet {
                say!(self, "{} browser: {kind} {detail}", "↻".cyan());
            }
        }
    }
}

/// The one line said when `sluice dev` listens beyond loopback.
fn exposed(addr: &std::net::SocketAddr) -> String {
    format!(
        "listening on {addr}, not only loopback: other machines can reach this development server (it answers loopback names and [dev] allowed_hosts only)"
    )
}
