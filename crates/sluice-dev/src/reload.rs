//! The live-reload channel: what the browser is told after a change set, as server-sent events.
//!
//! The watch loop calls [`Hub::changed`] with what changed and the errors in force after the
//! change set; every `/__sluice/events` stream gets the events. The hub keeps the errors in
//! force (one per file and position) and tells the browsers whenever that set changes: the
//! whole set when there are errors, `clear` when there are none any more — also when no output
//! changed (undoing a typo restores the last good bytes, so nothing else would be sent). A page
//! that loads while the build is broken gets the errors in force at once.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::broadcast;

/// One numbered line of source text, for the overlay's code frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// 1-based.
    pub number: u32,
    pub text: String,
}

/// One problem to show in the browser overlay. `file`, `line` and `column` are known for
/// compile errors; a file the watch could not copy has only a file. The caller fills `frame`
/// (the lines around `line`) and `link` (a URL that opens the file in the developer's editor):
/// this crate knows no files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildError {
    pub message: String,
    /// The file as shown to the developer (relative to the project).
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The source lines around `line`, in order; empty when unknown.
    pub frame: Vec<SourceLine>,
    /// Opens `file` in an editor (`[dev] editor_url`), when configured.
    pub link: Option<String>,
}

impl BuildError {
    /// `file:line:column`, as far as known (empty without a file).
    pub fn location(&self) -> String {
        let Some(file) = &self.file else {
            return String::new();
        };
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{file}:{line}:{column}"),
            (Some(line), None) => format!("{file}:{line}"),
            _ => file.clone(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "frame": self.frame.iter().map(|l| json!({"line": l.number, "text": l.text})).collect::<Vec<_>>(),
            "link": self.link,
        })
    }
}

/// The errors with one per file and position (the first kept, order kept): one mistake met
/// twice (a compile and the bundle that includes it, or the same error in two passes) shows
/// once. Errors without a file are told apart by their message.
pub fn dedupe(errors: Vec<BuildError>) -> Vec<BuildError> {
    let mut seen = std::collections::HashSet::new();
    errors
        .into_iter()
        .filter(|e| {
            let key = match &e.file {
                Some(file) => (Some(file.clone()), e.line, e.column, None),
                None => (None, None, None, Some(e.message.clone())),
            };
            seen.insert(key)
        })
        .collect()
}

/// What a browser is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadEvent {
    /// Stylesheets changed: swap the `<link>`s with these URLs, no reload.
    Css(Vec<String>),
    /// Anything else changed: reload the page.
    Reload,
    /// The errors in force now (replacing those shown before): show the overlay.
    Errors(Vec<BuildError>),
    /// No error is in force any more: remove the overlay.
    Clear,
}

impl ReloadEvent {
    /// The event's name in the stream.
    pub fn name(&self) -> &'static str {
        match self {
            ReloadEvent::Css(_) => "css",
            ReloadEvent::Reload => "reload",
            ReloadEvent::Errors(_) => "errors",
            ReloadEvent::Clear => "clear",
        }
    }

    /// The event in server-sent-events framing: `event: NAME\ndata: JSON\n\n`.
    pub fn to_sse(&self) -> String {
        let data = match self {
            ReloadEvent::Css(urls) => json!(urls),
            ReloadEvent::Reload | ReloadEvent::Clear => json!({}),
            ReloadEvent::Errors(errors) => {
                json!(errors.iter().map(BuildError::to_json).collect::<Vec<_>>())
            }
        };
        format!("event: {}\ndata: {data}\n\n", self.name())
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

/// The events for a change set, given the errors in force before and after it: `clear` when
/// the last error went (first, so a swapped stylesheet is not hidden behind the overlay), what
/// to refresh, then the errors when their set changed.
pub fn events_for(
    static_url: &str,
    changed: &[String],
    before: &[BuildError],
    after: &[BuildError],
) -> Vec<ReloadEvent> {
    let mut events = Vec::new();
    if after.is_empty() && !before.is_empty() {
        events.push(ReloadEvent::Clear);
    }
    events.extend(classify(static_url, changed));
    if !after.is_empty() && after != before {
        events.push(ReloadEvent::Errors(after.to_vec()));
    }
    events
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

    /// A change set was applied, and `errors` are the problems in force after it (all of them,
    /// not only the new ones). Tells the browsers what to refresh and what the overlay shows
    /// (see [`events_for`]). Returns the events sent.
    pub fn changed(&self, changed: &[String], errors: Vec<BuildError>) -> Vec<ReloadEvent> {
        let errors = dedupe(errors);
        let mut kept = self.lock_errors();
        let sent = events_for(&self.static_url, changed, &kept, &errors);
        *kept = errors;
        // Sent with the lock held: a stream that subscribes meanwhile gets a greeting that
        // agrees with the events after it.
        for event in &sent {
            let _ = self.tx.send(event.clone());
        }
        sent
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
        let errors = self.lock_errors();
        if !errors.is_empty() {
            text.push_str(&ReloadEvent::Errors(errors.clone()).to_sse());
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

    fn error(file: &str, line: u32, message: &str) -> BuildError {
        BuildError {
            message: message.into(),
            file: Some(file.into()),
            line: Some(line),
            column: Some(7),
            ..BuildError::default()
        }
    }

    #[test]
    fn sse_framing() {
        assert_eq!(
            ReloadEvent::Css(paths(&["/s/a.css"])).to_sse(),
            "event: css\ndata: [\"/s/a.css\"]\n\n"
        );
        assert_eq!(ReloadEvent::Clear.to_sse(), "event: clear\ndata: {}\n\n");
        let mut broken = error("css/site.scss", 3, "expected \"}\"\nhere");
        broken.frame = vec![
            SourceLine {
                number: 2,
                text: "a {".into(),
            },
            SourceLine {
                number: 3,
                text: "  color: $x;".into(),
            },
        ];
        broken.link = Some("vscode://file/p/css/site.scss:3:7".into());
        let text = ReloadEvent::Errors(vec![broken]).to_sse();
        assert!(text.starts_with("event: errors\ndata: ["), "{text}");
        // One data line: JSON escapes the newline of the message.
        assert_eq!(text.matches('\n').count(), 3, "{text}");
        let data: serde_json::Value =
            serde_json::from_str(text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap())
                .unwrap();
        let e = &data[0];
        assert_eq!(e["file"], "css/site.scss");
        assert_eq!(e["line"], 3);
        assert_eq!(e["column"], 7);
        assert_eq!(e["message"], "expected \"}\"\nhere");
        assert_eq!(e["frame"][1]["line"], 3);
        assert_eq!(e["frame"][1]["text"], "  color: $x;");
        assert_eq!(e["link"], "vscode://file/p/css/site.scss:3:7");
    }

    #[test]
    fn locations() {
        assert_eq!(error("a.scss", 3, "x").location(), "a.scss:3:7");
        let no_column = BuildError {
            column: None,
            ..error("a.scss", 3, "x")
        };
        assert_eq!(no_column.location(), "a.scss:3");
        assert_eq!(BuildError::default().location(), "");
    }

    #[test]
    fn errors_are_replayed_until_a_good_change_set() {
        let hub = Hub::new("/static/");
        let broken = BuildError {
            message: "cannot read".into(),
            file: Some("css/a.css".into()),
            ..BuildError::default()
        };
        let sent = hub.changed(&[], vec![broken.clone()]);
        assert_eq!(sent, vec![ReloadEvent::Errors(vec![broken])]);
        assert!(hub.greeting().contains("event: errors"));
        let sent = hub.changed(&paths(&["css/a.css"]), Vec::new());
        assert_eq!(
            sent,
            vec![
                ReloadEvent::Clear,
                ReloadEvent::Css(paths(&["/static/css/a.css"]))
            ]
        );
        assert!(!hub.greeting().contains("event: errors"));
    }

    #[test]
    fn the_end_of_an_error_is_sent_even_when_no_output_changed() {
        // Undoing a typo restores the last good bytes: no output changes, yet the overlay
        // must go.
        let hub = Hub::new("/static/");
        hub.changed(&[], vec![error("css/site.scss", 3, "undefined variable")]);
        assert_eq!(hub.changed(&[], Vec::new()), vec![ReloadEvent::Clear]);
        // Nothing in force, nothing changed: nothing to say.
        assert_eq!(hub.changed(&[], Vec::new()), vec![]);
    }

    #[test]
    fn one_error_per_file_and_position() {
        let hub = Hub::new("/static/");
        let a = error("css/site.scss", 3, "undefined variable");
        // The same error met twice in one change set (a compile and its bundle) is one.
        let sent = hub.changed(&[], vec![a.clone(), a.clone()]);
        assert_eq!(sent, vec![ReloadEvent::Errors(vec![a.clone()])]);
        // Breaking the file again the same way: the set in force is the same, nothing new
        // is sent (the overlay keeps showing one error).
        assert_eq!(hub.changed(&[], vec![a.clone()]), vec![]);
        // Another mistake replaces the set: the browsers get the whole new set.
        let b = error("css/site.scss", 5, "expected }");
        assert_eq!(
            hub.changed(&paths(&["js/a.js"]), vec![b.clone()]),
            vec![ReloadEvent::Reload, ReloadEvent::Errors(vec![b.clone()])]
        );
        // Errors without a file differ by their message.
        let loose = |m: &str| BuildError {
            message: m.into(),
            ..BuildError::default()
        };
        assert_eq!(
            dedupe(vec![loose("x"), loose("y"), loose("x"), b.clone(), b]).len(),
            3
        );
    }
}
