//! Opening a page in the user's browser: `$BROWSER` (the first of its `:`-separated
//! commands; `%s` stands for the page, else the page is the last argument), else `xdg-open`
//! where there is a display (X11 or Wayland), or macOS's `open`. Always an argv, never a
//! shell; the browser is left running.

use std::path::Path;
use std::process::{Command, Stdio};

/// The command that would open `page` here, as an argv; `None` where there is no browser.
pub fn browser_command(
    page: &Path,
    browser: Option<&str>,
    has_display: bool,
    macos: bool,
) -> Option<Vec<String>> {
    let page = page.display().to_string();
    if let Some(first) = browser.and_then(|b| b.split(':').map(str::trim).find(|c| !c.is_empty())) {
        let mut argv: Vec<String> = first.split_whitespace().map(str::to_string).collect();
        if argv.iter().any(|a| a.contains("%s")) {
            for a in &mut argv {
                *a = a.replace("%s", &page);
            }
        } else {
            argv.push(page);
        }
        return Some(argv);
    }
    if macos {
        return Some(vec!["open".into(), page]);
    }
    has_display.then(|| vec!["xdg-open".into(), page])
}

/// Opens `page` with [`browser_command`] for this environment; returns the program that
/// was started (`None`: no browser here, or it could not be started).
pub fn open(page: &Path) -> Option<String> {
    let browser = std::env::var("BROWSER").ok();
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    let argv = browser_command(page, browser.as_deref(), display, cfg!(target_os = "macos"))?;
    let (program, args) = argv.split_first()?;
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .map(|_| program.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_variable_display_or_nothing() {
        let page = Path::new("/p/report.html");
        let argv = |b: Option<&str>, display, mac| browser_command(page, b, display, mac);
        assert_eq!(
            argv(Some("firefox --new-tab:chromium"), false, false),
            Some(vec![
                "firefox".into(),
                "--new-tab".into(),
                "/p/report.html".into()
            ])
        );
        assert_eq!(
            argv(Some(" :w3m -T text/html %s"), false, false),
            Some(vec![
                "w3m".into(),
                "-T".into(),
                "text/html".into(),
                "/p/report.html".into()
            ])
        );
        assert_eq!(
            argv(None, true, false),
            Some(vec!["xdg-open".into(), "/p/report.html".into()])
        );
        assert_eq!(argv(None, false, true).unwrap()[0], "open");
        assert_eq!(argv(None, false, false), None);
        assert_eq!(argv(Some(""), false, false), None);
    }
}
