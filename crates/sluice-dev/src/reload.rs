//! The live-reload channel: what the browser is told after a change set, as server-sent events.
//!
//! The watch loop (or, later, a compile step) calls [`Hub::changed`] / [`Hub::error`]; every
//! `/__sluice/events` stream gets the event. Build errors are also kept until the next good
//! change set, so a page that loads (or reloads) while the build is broken shows them at once.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::broadcast;

/// One problem to show in the browser overlay. `file`, `line` and `column` are known for
/// compile errors; a file the watch could not copy has only a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// What a browser is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadEvent {
    /// Stylesheets changed: swap the `<link>`s with these URLs, no reload.
    Css(Vec<String>),
    /// Anything else changed: reload the page.
    Reload,
    /// The build failed: show the overlay.
    Error(BuildError),
}

impl ReloadEvent {
    /// The event in server-sent-events framing: `event: NAME\ndata: JSON\n\n`.
    pub fn to_sse(&self) -> String {
        let (name, data) = match self {
            ReloadEvent::Css(urls) => ("css", json!(urls)),
            ReloadEvent::Reload => ("reload", json!({})),
            ReloadEvent::Error(e) => (
                "error",
                json!({"message": e.message, "file": e.file, "line": e.line, "column": e.column}),
            ),
        };
        format!("event: {name}\ndata: {data}\n\n")
    }
}

/// The event for a set of changed logical paths: `css` when every one of them is a stylesheet
/// (data: their URLs under `static_url`), `reload` otherwise; `None` for nothing. A source map
/// written with its stylesheet (`site.css.map` beside `site.css`, as a compile step does)
/// does not turn a stylesheet swap into a reload.
pub fn classify(static_url: &str, changed: &[String]) -> Option<ReloadEvent> {
    if changed.is_empty() {
        return None;
    }
    let with_its_css = |p: &String| {
        p.strip_suffix(".map")
            .is_some_and(|css| css.ends_with(".css") && changed.iter().any(|c| c == css))
    };
    if changed
        .iter()
        .all(|p| p.ends_with(".css") || with_its_css(p))
    {
        let base = static_url.trim_end_matches('/');
        let urls = changed
            .iter()
            .filter(|p| p.ends_with(".css"))
            .map(|p| format!("{base}/{p}"))
            .collect();
        Some(ReloadEvent::Css(urls))
    } else {
        Some(ReloadEvent::Reload)
    }
}

/// The hub every event stream subscribes to. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<ReloadEvent>,
    errors: Arc<Mutex<Vec<BuildError>>>,
    static_url: Arc<str>,
    /// Tells a client, on reconnection, whether it talks to the same sluice (else it reloads).
    instance: Arc<str>,
}

impl Hub {
    pub fn new(static_url: &str) -> Hub {
        let (tx, _) = broadcast::channel(256);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Hub {
            tx,
            errors: Arc::default(),
            static_url: static_url.into(),
            instance: format!("{}-{nanos:x}", std::process::id()).into(),
        }
    }

    /// A change set was applied with these errors: broadcast them, or, when there are none,
    /// clear the overlay and tell the browsers what to refresh. Returns the events sent.
    pub fn changed(&self, changed: &[String], errors: Vec<BuildError>) -> Vec<ReloadEvent> {
        let mut sent = Vec::new();
        if errors.is_empty() {
            self.lock_errors().clear();
            sent.extend(classify(&self.static_url, changed));
        } else {
            // The good part of the change set still lands in the browser, then the overlay.
            sent.extend(classify(&self.static_url, changed));
            let mut kept = self.lock_errors();
            kept.clear();
            kept.extend(errors.iter().cloned());
            sent.extend(errors.into_iter().map(ReloadEvent::Error));
        }
        for event in &sent {
            let _ = self.tx.send(event.clone());
        }
        sent
    }

    /// One error from outside a change set (e.g. a compile step).
    pub fn error(&self, error: BuildError) {
        self.lock_errors().push(error.clone());
        let _ = self.tx.send(ReloadEvent::Error(error));
    }

    fn lock_errors(&self) -> std::sync::MutexGuard<'_, Vec<BuildError>> {
        self.errors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a new stream starts with: its `hello` and the errors in force.
    pub(crate) fn greeting(&self) -> String {
        let mut text = format!(
            "retry: 500\nevent: hello\ndata: {}\n\n",
            json!({"instance": &*self.instance})
        );
        for error in self.lock_errors().iter() {
            text.push_str(&ReloadEvent::Error(error.clone()).to_sse());
        }
        text
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ReloadEvent> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stylesheets_alone_are_swapped_anything_else_reloads() {
        assert_eq!(
            classify("/static/", &paths(&["css/a.css", "pages/b.css"])),
            Some(ReloadEvent::Css(paths(&[
                "/static/css/a.css",
                "/static/pages/b.css"
            ])))
        );
        assert_eq!(
            classify("/static/", &paths(&["css/a.css", "js/a.js"])),
            Some(ReloadEvent::Reload)
        );
        assert_eq!(
            classify("/static/", &paths(&["css/a.css.map"])),
            Some(ReloadEvent::Reload)
        );
        assert_eq!(
            classify("/static/", &paths(&["css/a.css", "css/a.css.map"])),
            Some(ReloadEvent::Css(paths(&["/static/css/a.css"])))
        );
        assert_eq!(
            classify("/static/", &paths(&["css/a.css", "css/b.css.map"])),
            Some(ReloadEvent::Reload)
        );
        assert_eq!(classify("/static/", &[]), None);
    }

    #[test]
    fn sse_framing() {
        assert_eq!(
            ReloadEvent::Css(paths(&["/s/a.css"])).to_sse(),
            "event: css\ndata: [\"/s/a.css\"]\n\n"
        );
        let error = ReloadEvent::Error(BuildError {
            message: "expected \"}\"\nhere".into(),
            file: Some("css/site.scss".into()),
            line: Some(3),
            column: Some(7),
        });
        let text = error.to_sse();
        assert!(text.starts_with("event: error\ndata: {"), "{text}");
        // One data line: JSON escapes the newline of the message.
        assert_eq!(text.matches('\n').count(), 3, "{text}");
        let data: serde_json::Value =
            serde_json::from_str(text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap())
                .unwrap();
        assert_eq!(data["file"], "css/site.scss");
        assert_eq!(data["line"], 3);
        assert_eq!(data["column"], 7);
        assert_eq!(data["message"], "expected \"}\"\nhere");
    }

    #[test]
    fn errors_are_replayed_until_a_good_change_set() {
        let hub = Hub::new("/static/");
        let broken = BuildError {
            message: "cannot read".into(),
            file: Some("css/a.css".into()),
            line: None,
            column: None,
        };
        let sent = hub.changed(&[], vec![broken.clone()]);
        assert_eq!(sent, vec![ReloadEvent::Error(broken)]);
        assert!(hub.greeting().contains("event: error"));
        let sent = hub.changed(&paths(&["css/a.css"]), Vec::new());
        assert_eq!(sent.len(), 1);
        assert!(!hub.greeting().contains("event: error"));
    }
}
