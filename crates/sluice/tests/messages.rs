//! What users see, as snapshots (`insta`, as uv and ruff do): `--help` of every command, the
//! summary lines of `sync`, `build`, `watch` and `dev`, and the errors a newcomer meets. A change
//! of wording shows up as a snapshot diff and is reviewed like code (`cargo insta review`, or
//! `INSTA_UPDATE=always` then `git diff`). Timings, temporary paths, ports and pids are
//! replaced by placeholders; everything else is the real binary's real output.

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use support::dev::PATIENCE;
use support::{Project, sluice};

/// Placeholders for what changes from run to run; `root` is the temporary project.
fn filters(root: Option<&Path>) -> Vec<(String, String)> {
    let mut filters = Vec::new();
    // The temporary project, however it is spelled (through symlinks too).
    for path in root
        .into_iter()
        .flat_map(|r| [r.to_path_buf(), fs::canonicalize(r).unwrap()])
    {
        filters.push((
            regex_escape(&path.display().to_string()),
            "[PROJECT]".into(),
        ));
    }
    filters.extend(
        [
            // Durations as term.rs prints them: `0.4 ms`, `12 ms`, `1.2 s`.
            (r"\b\d+(\.\d+)? (ms|s)\b", "[TIME]"),
            (r"\(pid \d+, port \d+\)", "(pid [PID], port [BACKEND_PORT])"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r"on port \d+\)", "on port [BACKEND_PORT])"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
    );
    filters
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Asserts the snapshot `name` of `text`, with the placeholders of [`filters`].
fn snapshot(name: &str, root: &Path, text: &str) {
    snapshot_in(name, Some(root), text);
}

fn snapshot_in(name: &str, root: Option<&Path>, text: &str) {
    let filters = filters(root);
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in &filters {
        settings.add_filter(pattern, replacement.as_str());
    }
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_of_every_command() {
    for command in [
        &[][..],
        &["sync"],
        &["watch"],
        &["build"],
        &["dev"],
        &["config"],
        &["report"],
        &["publish"],
    ] {
        let out = sluice()
            .args(command)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(out.status.success());
        let name = match command.first() {
            Some(c) => format!("help_{c}"),
            None => "help".to_string(),
        };
        snapshot_in(&name, None, &String::from_utf8_lossy(&out.stdout));
    }
}

/// A project with a plain file, an SCSS source with its partial and a bundle of both.
fn small_project() -> Project {
    let p = Project::new(&[
        ("css/base.css", "body { margin: 0 }\n"),
        ("css/_vars.scss", "$ink: #20123a;\n"),
        (
            "css/site.scss",
            "@import 'vars';\n.site-header {\n  color: $ink;\n}\n",
        ),
        ("js/app.js", "window.app = 1;\n"),
    ]);
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = [\"css/base.css\", \"css/site.scss\"]\noutput = \"css/site.min.css\"\n",
    );
    p
}

#[test]
fn sync_summary_lines() {
    let p = small_project();
    let out = p.run_ok(&["sync"]);
    snapshot("sync_first", &p.root, &stderr(&out));
    let out = p.run_ok(&["sync"]);
    snapshot("sync_again", &p.root, &stderr(&out));
    p.write("media/css/_vars.scss", "$ink: #000;\n");
    let out = p.run_ok(&["sync"]);
    snapshot("sync_partial_changed", &p.root, &stderr(&out));
}

#[test]
fn build_summary_lines() {
    let p = small_project();
    let out = p.run_ok(&["build"]);
    snapshot("build", &p.root, &stderr(&out));
}

#[test]
fn outputs_over_budget_are_a_table() {
    let p = small_project();
    p.write(
        "sluice.toml",
        "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = [\"css/base.css\", \"css/site.scss\"]\noutput = \"css/site.min.css\"\n\n[build.budgets]\n\"css/site.min.css\" = \"20 B br\"\n\"js/**/*.js\" = \"1 kB gzip total\"\n\"img/*.png\" = \"1 MB\"\n",
    );
    let out = p.run(&["build"]);
    assert_eq!(out.status.code(), Some(1));
    snapshot("build_over_budget", &p.root, &stderr(&out));
}

#[test]
fn a_file_in_the_way_says_how_to_overwrite_it() {
    let p = small_project();
    // Not written by sluice: a copy's and a compiled output's place taken.
    p.write("static/js/app.js", "mine\n");
    p.write("static/css/site.css", "mine too\n");
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    snapshot("sync_in_the_way", &p.root, &stderr(&out));
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let p = small_project();
    p.write(
        "media/css/site.scss",
        "@import 'vars';\n.site-header {\n  color: $nope;\n}\n",
    );
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    snapshot("sync_syntax_error", &p.root, &stderr(&out));
}

#[test]
fn a_missing_source_folder_names_where_it_was_given() {
    let p = Project::new(&[("a.css", "a {}\n")]);
    let out = p.run(&["sync", "--source", "medai"]);
    assert_eq!(out.status.code(), Some(2));
    snapshot("source_from_the_flag", &p.root, &stderr(&out));

    p.write(
        "sluice.toml",
        "output = \"static\"\nsources = [\"assets\"]\n",
    );
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(2));
    snapshot("source_from_the_file", &p.root, &stderr(&out));
}

#[test]
fn a_missing_staticfiles_dir_names_the_django_setting() {
    let (_, line) = support::python_for_django();
    let python = support::venv(&[line.requirement()]);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    support::put(root, "manage.py", support::PROJ_MANAGE_PY);
    support::put(root, "proj/__init__.py", "");
    support::put(
        root,
        "proj/settings.py",
        "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent.parent\n\
         SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.staticfiles']\n\
         STATIC_URL = '/static/'\nSTATIC_ROOT = BASE_DIR / 'static'\n\
         STATICFILES_DIRS = [BASE_DIR / 'assets']\n",
    );
    let out = sluice()
        .arg("sync")
        .current_dir(root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .envs(support::venv_env(&python))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    snapshot("source_from_django", root, &stderr(&out));
}

#[test]
fn outside_a_project_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let markers = ["manage.py", "sluice.toml", "pyproject.toml"];
    let above: Vec<_> = dir
        .path()
        .ancestors()
        .flat_map(|a| markers.iter().map(move |m| a.join(m)))
        .filter(|p| p.exists())
        .collect();
    assert!(
        above.is_empty(),
        "this test needs a temporary folder with no project above it; found {above:?} \
         (set TMPDIR elsewhere)"
    );
    let out = sluice()
        .arg("sync")
        .current_dir(dir.path())
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    snapshot("outside_a_project", dir.path(), &stderr(&out));
}

/// sluice's stderr lines as they come, from a child started with `stderr` piped.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Reads lines into `seen` until one satisfies `test`.
fn until(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, test: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = test(&line);
                seen.push(line);
                if done {
                    return;
                }
            }
            Err(_) => panic!("no such line within {PATIENCE:?}; saw {seen:#?}"),
        }
    }
}

/// The rest of the lines, once the child is gone.
fn rest(child: &mut std::process::Child, rx: mpsc::Receiver<String>, seen: &mut Vec<String>) {
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    seen.extend(rx.iter());
}

fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn watch_summary_lines() {
    let p = small_project();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("watch")
        .current_dir(&p.root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("SLUICE_POLL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    until(&rx, &mut seen, |l| l.contains("watching"));
    p.write("media/js/app.js", "window.app = 2;\n");
    until(&rx, &mut seen, |l| l.contains("js/app.js →"));
    p.write("media/css/_vars.scss", "$ink: #000;\n");
    until(&rx, &mut seen, |l| l.contains("compiled"));
    interrupt(&child);
    rest(&mut child, rx, &mut seen);
    snapshot("watch", &p.root, &(seen.join("\n") + "\n"));
}

/// A backend that names its own address as runserver does, then serves a page.
const RUNSERVER_LIKE: &str = r#"
import http.server, os, signal, sys
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
port = int(os.environ["PORT"])
print("Performing system checks...", flush=True)
print(f"Starting development server at http://127.0.0.1:{port}/", flush=True)
print("Quit the server with CONTROL-C.", flush=True)

class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Page).serve_forever()
"#;

#[test]
fn dev_summary_lines() {
    let p = small_project();
    p.write("backend.py", RUNSERVER_LIKE);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["dev", "--port", "0", "--", "python3", "backend.py"])
        .current_dir(&p.root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("SLUICE_POLL")
        .env_remove("PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    until(&rx, &mut seen, |l| l.contains("ready: open"));
    let ready = seen.len();
    p.write("media/css/base.css", "body { margin: 1px }\n");
    until(&rx, &mut seen, |l| l.contains("bundled"));
    interrupt(&child);
    rest(&mut child, rx, &mut seen);

    // The start is two threads' lines interleaved: the watcher's (sync, compile, watch) and
    // the backend's (started, its output, ready). Each is in order; shown apart.
    let backend = |l: &&String| {
        l.starts_with("   web │") || l.contains("● started") || l.contains("ready: open")
    };
    let start = &seen[..ready];
    let (theirs, ours): (Vec<&String>, Vec<&String>) = start.iter().partition(backend);
    let text = format!(
        "--- sluice's own lines\n{}\n--- the backend's, and the line that ends the start\n{}\n--- an edit, then Ctrl-C\n{}\n",
        ours.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        theirs
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        seen[ready..].join("\n"),
    );
    snapshot("dev", &p.root, &text);
}
