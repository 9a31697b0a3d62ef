//! `sluice dev` in a real browser (Debian's chromium, headless, over the DevTools protocol) on
//! the example site's real `runserver`:
//! - a stylesheet edit changes the computed style without a reload (a variable set before
//!   survives), an SCSS partial edit recompiles and swaps the compiled stylesheet
//!   django-pipeline links in DEBUG, an SCSS syntax error shows the overlay with file and line
//!   and its fix clears it (still no reload), a build problem shows the overlay and the next
//!   good change clears it, a script edit reloads the page, and a page whose sluice was
//!   restarted reconnects and reloads;
//! - the overlay shows a code frame and an editor link, no page CSS reaches it, breaking the
//!   file twice shows one error, and restoring the exact original bytes (nothing in the output
//!   changes) removes it without a reload;
//! - the example's home page is styled by its bundles (computed styles from the CSS and the
//!   SCSS, the Weir web font, background images through `url()`), kept as a screenshot.

mod support;

use std::ffi::OsString;
use std::fs;

use serde_json::Value;
use support::browser::{Browser, png_size};
use support::dev::{DevRun, leftovers};
use support::{cache_dir, copy_example_site, example_venv, venv_env};

/// The example site in a temporary folder and the environment `sluice dev` runs it with (its
/// virtualenv active).
fn example_site() -> (tempfile::TempDir, Vec<(&'static str, OsString)>) {
    let python = example_venv();
    let site = tempfile::tempdir().unwrap();
    copy_example_site(site.path());
    let mut env: Vec<(&str, OsString)> = venv_env(&python);
    env.push(("PYTHONDONTWRITEBYTECODE", "1".into()));
    (site, env)
}

/// Opens `url` and waits until the page is loaded and its live-reload client connected.
fn open(browser: &mut Browser, url: &str) {
    browser.navigate(url);
    browser.wait_until(
        "the page loads and its live-reload client connects",
        "document.readyState === 'complete' && !!window.__sluiceClient && window.__sluiceClient.connected",
    );
}

/// The overlay's text (it lives in a shadow root), or `null` when there is no overlay.
const OVERLAY_TEXT: &str = "(function () { var o = document.getElementById('sluice-error-overlay'); \
     return o ? o.shadowRoot.textContent : null; })()";

fn overlay_text(browser: &mut Browser) -> Option<String> {
    browser
        .eval(OVERLAY_TEXT)
        .and_then(|v| v.as_str().map(str::to_owned))
}

fn assert_nothing_left(run: &DevRun) {
    let left = leftovers(&run.marker);
    assert!(left.is_empty(), "processes left behind: {left:#?}");
}

#[test]
fn css_is_swapped_in_place_errors_overlay_and_scripts_reload() {
    // Every page loads the SCSS bundle; in DEBUG pipeline links its compiled member
    // (css/sass/site.css), which sluice compiles (pipeline's own compiler is a no-op there).
    let (site, env) = example_site();
    let root = site.path();
    // A fixed port, so that a second sluice can take over the page's origin below.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut run = DevRun::start_on(port, root, &[], &env);
    run.wait_event("ready");
    run.wait_event("backend_up");

    let mut browser = Browser::launch();
    open(&mut browser, &format!("http://127.0.0.1:{}/", run.port));
    let color = "getComputedStyle(document.querySelector('h1')).color";
    assert_ne!(
        browser.eval(color).unwrap(),
        "rgb(1, 2, 3)",
        "the edit below must change something"
    );
    browser.eval("window.__marker = 'kept'; true");

    // A stylesheet edit: the computed style changes, the page is the same page.
    let hero = root.join("media/css/home/hero.css");
    let mut css = fs::read_to_string(&hero).unwrap();
    css.push_str("\nh1 { color: rgb(1, 2, 3) !important; }\n");
    fs::write(&hero, css).unwrap();
    browser.wait_until(
        "the edited stylesheet applies",
        &format!("{color} === 'rgb(1, 2, 3)'"),
    );
    assert_eq!(
        browser.eval("window.__marker").unwrap(),
        "kept",
        "the page was not reloaded"
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('link[href*=\"css/home/hero.css?sluice=\"]').length")
            .unwrap(),
        1,
        "the <link> was swapped, once"
    );

    // An SCSS partial edit: sluice recompiles its importer, the stylesheet is swapped.
    let header = "getComputedStyle(document.querySelector('.site-header')).color";
    let vars = root.join("media/css/sass/_vars.scss");
    let text = fs::read_to_string(&vars).unwrap();
    fs::write(&vars, text.replace("$ink: #20123a;", "$ink: rgb(4, 5, 6);")).unwrap();
    browser.wait_until(
        "the recompiled stylesheet applies",
        &format!("{header} === 'rgb(4, 5, 6)'"),
    );
    assert_eq!(
        browser.eval("window.__marker").unwrap(),
        "kept",
        "an SCSS edit is a stylesheet swap, not a reload"
    );
    // A syntax error: the overlay names the file and line, the last good CSS stays; the
    // fix clears it, still without a reload.
    let site_scss = root.join("media/css/sass/site.scss");
    let good = fs::read_to_string(&site_scss).unwrap();
    fs::write(&site_scss, good.replace("color: $ink;", "color: $nope;")).unwrap();
    let line = good
        .lines()
        .position(|l| l.contains("color: $ink;"))
        .unwrap()
        + 1;
    browser.wait_until(
        "the error overlay names the SCSS file and line",
        &format!("({OVERLAY_TEXT} || '').includes('media/css/sass/site.scss:{line}:')"),
    );
    assert_eq!(browser.eval(header).unwrap(), "rgb(4, 5, 6)");
    fs::write(
        &site_scss,
        good.replace("color: $ink;", "color: $ink; margin: 0;"),
    )
    .unwrap();
    browser.wait_until(
        "the overlay clears when the SCSS is fixed",
        "!document.getElementById('sluice-error-overlay')",
    );
    assert_eq!(browser.eval("window.__marker").unwrap(), "kept");

    // A problem in a change set (a file in the output that sluice did not write, in the way of
    // a new source) shows the overlay; the next good change set clears it, still no reload.
    fs::write(root.join("static/css/home/new.css"), "/* not sluice's */").unwrap();
    fs::write(root.join("media/css/home/new.css"), "p { margin: 0 }").unwrap();
    browser.wait_until(
        "the error overlay shows the file",
        &format!("({OVERLAY_TEXT} || '').includes('static/css/home/new.css')"),
    );
    fs::remove_file(root.join("static/css/home/new.css")).unwrap();
    fs::write(root.join("media/css/home/new.css"), "p { margin: 1px }").unwrap();
    browser.wait_until(
        "the overlay clears on the next good change set",
        "!document.getElementById('sluice-error-overlay')",
    );
    assert_eq!(browser.eval("window.__marker").unwrap(), "kept");

    // A script edit reloads the page: the variable is gone, the new script ran.
    let init = root.join("media/js/home/init.js");
    let mut js = fs::read_to_string(&init).unwrap();
    js.push_str("\nwindow.__edited = 'yes';\n");
    fs::write(&init, js).unwrap();
    browser.wait_until(
        "the page reloads with the edited script",
        "document.readyState === 'complete' && window.__marker === undefined && window.__edited === 'yes'",
    );

    // sluice stops and starts again: the page reconnects by itself, sees a new sluice, and
    // reloads (whatever changed meanwhile is only in a fresh page).
    browser.eval("window.__marker = 'before restart'; true");
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0), "{:#?}", run.seen);
    let left = leftovers(&run.marker);
    assert!(left.is_empty(), "processes left behind: {left:#?}");
    let mut again = DevRun::start_on(port, root, &[], &env);
    again.wait_event("backend_up");
    browser.wait_until(
        "the page reloads from the new sluice",
        "document.readyState === 'complete' && window.__marker === undefined && \
         !!window.__sluiceClient && window.__sluiceClient.connected",
    );

    let profile = browser.profile();
    drop(browser);
    let chromium_left = support::browser::processes_mentioning(&profile);
    assert!(chromium_left.is_empty(), "chromium left {chromium_left:?}");
    again.signal("-INT");
    assert_eq!(again.wait_exit().code(), Some(0), "{:#?}", again.seen);
    let left = leftovers(&again.marker);
    assert!(left.is_empty(), "processes left behind: {left:#?}");
}

#[test]
fn the_overlay_has_a_code_frame_an_undo_clears_it_and_a_repeat_is_one_error() {
    let (site, env) = example_site();
    let root = site.path();
    // File names in the overlay open the editor.
    fs::write(
        root.join("sluice.toml"),
        "[dev]\neditor_url = \"vscode://file/{path}:{line}:{column}\"\n",
    )
    .unwrap();
    let mut run = DevRun::start(root, &[], &env);
    run.wait_event("ready");
    run.wait_event("backend_up");
    let mut browser = Browser::launch();
    open(&mut browser, &format!("http://127.0.0.1:{}/", run.port));
    browser.eval("window.__marker = 'kept'; true");
    // Page CSS that would hide or restyle anything it reaches.
    browser.eval(
        "var s = document.createElement('style'); s.textContent = 'sluice-error-overlay, div, \
         pre, section, a, span { display: none !important; color: rgb(255, 0, 0) !important; \
         font-size: 2px !important; }'; document.head.appendChild(s); true",
    );

    // Break the SCSS: one error, with the line, a caret under the column and a line either
    // side, and the file as an editor link.
    let scss = root.join("media/css/sass/site.scss");
    let good = fs::read(&scss).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let broken = text.replacen("color: $ink;", "color: $nope;", 1);
    let lines: Vec<&str> = broken.lines().collect();
    let at = lines.iter().position(|l| l.contains("$nope")).unwrap();
    let (line, column) = (at + 1, lines[at].find("$nope").unwrap() + 1);
    fs::write(&scss, &broken).unwrap();
    browser.wait_until(
        "the overlay shows the SCSS error",
        "!!document.getElementById('sluice-error-overlay') && window.__sluiceClient.errors.length === 1 && \
         document.getElementById('sluice-error-overlay').shadowRoot.querySelectorAll('.error').length === 1",
    );
    run.wait_for("the change set of the break", |e| {
        e["event"] == "change" && e["changed"] == serde_json::json!(["css/sass/site.scss"])
    });
    let rows: Vec<String> = serde_json::from_value(
        browser
            .eval(
                "[...document.getElementById('sluice-error-overlay').shadowRoot\
                 .querySelectorAll('.frame > div')].map(d => d.textContent)",
            )
            .unwrap(),
    )
    .unwrap();
    let gutter = |n: usize| format!("{n:>width$}", width = (line + 1).to_string().len());
    assert_eq!(
        rows,
        [
            format!("{}{}", gutter(line - 1), lines[at - 1]),
            format!("{}{}", gutter(line), lines[at]),
            format!("{}^", " ".repeat(column - 1)),
            format!("{}{}", gutter(line + 1), lines[at + 1]),
        ],
        "the code frame"
    );
    let shadow = |expr: &str| {
        format!("document.getElementById('sluice-error-overlay').shadowRoot.querySelector({expr})")
    };
    let link = browser
        .eval(&format!("{}.getAttribute('href')", shadow("'a.where'")))
        .unwrap();
    assert_eq!(
        link,
        format!("vscode://file{}:{line}:{column}", scss.display()),
        "the file opens in the editor"
    );
    assert_eq!(
        browser
            .eval(&format!("{}.textContent", shadow("'a.where'")))
            .unwrap(),
        format!("media/css/sass/site.scss:{line}:{column}")
    );
    // No page CSS reaches the overlay.
    assert_eq!(
        browser
            .eval("getComputedStyle(document.getElementById('sluice-error-overlay')).display")
            .unwrap(),
        "block"
    );
    let message = shadow("'.message'");
    assert_eq!(
        browser
            .eval(&format!("getComputedStyle({message}).color"))
            .unwrap(),
        "rgb(250, 250, 250)"
    );
    assert_eq!(
        browser
            .eval(&format!("getComputedStyle({message}).fontSize"))
            .unwrap(),
        "14px"
    );

    // Save it again, still broken the same way (one more line at its end): still one error.
    // A stylesheet edit after it is a marker: once the browser applied it, it has had every
    // event sent before.
    fs::write(&scss, format!("{broken}\n// still broken\n")).unwrap();
    run.wait_for("the change set of the second break", |e| {
        e["event"] == "change" && e["changed"] == serde_json::json!(["css/sass/site.scss"])
    });
    let hero = root.join("media/css/home/hero.css");
    let mut css = fs::read_to_string(&hero).unwrap();
    css.push_str("\n.hero { outline: 3px solid rgb(7, 8, 9); }\n");
    fs::write(&hero, css).unwrap();
    browser.wait_until(
        "the stylesheet edit after the second break applies",
        "getComputedStyle(document.querySelector('.hero')).outlineColor === 'rgb(7, 8, 9)'",
    );
    assert_eq!(
        browser.eval("window.__sluiceClient.errors.length").unwrap(),
        1
    );
    assert_eq!(
        browser
            .eval(&format!(
                "{}.length",
                "document.getElementById('sluice-error-overlay').shadowRoot.querySelectorAll('.error')"
            ))
            .unwrap(),
        1,
        "{:?}",
        overlay_text(&mut browser)
    );

    // Undo: the exact original bytes. The compiled output is the last good one, so nothing in
    // the output changes, and still the overlay goes, without a reload.
    fs::write(&scss, &good).unwrap();
    browser.wait_until(
        "the overlay goes when the original bytes are back",
        "!document.getElementById('sluice-error-overlay') && window.__sluiceClient.errors.length === 0",
    );
    assert_eq!(browser.eval("window.__marker").unwrap(), "kept");
    run.wait_for("the browsers told to clear the overlay", |e| {
        e["event"] == "browser" && e["kind"] == "clear"
    });

    drop(browser);
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0), "{:#?}", run.seen);
    assert_nothing_left(&run);
}

#[test]
fn the_example_home_page_is_styled_by_its_bundles() {
    let (site, env) = example_site();
    let mut run = DevRun::start(site.path(), &[], &env);
    run.wait_event("ready");
    run.wait_event("backend_up");
    let mut browser = Browser::launch();
    browser.viewport(1280, 900);
    open(&mut browser, &format!("http://127.0.0.1:{}/", run.port));
    browser.wait_until(
        "the fonts the page uses are loaded",
        "document.fonts.ready.then(() => document.fonts.status === 'loaded')",
    );
    let style = |browser: &mut Browser, selector: &str, property: &str| -> String {
        browser
            .eval(&format!(
                "getComputedStyle(document.querySelector('{selector}'))['{property}']"
            ))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no {selector}"))
    };

    // Computed styles from the plain CSS bundles, the SCSS one and the pages app's stylesheet.
    assert_eq!(
        style(&mut browser, "body", "fontSize"),
        "17px",
        "base/type.css"
    );
    assert_eq!(
        style(&mut browser, ".card", "borderRadius"),
        "14px",
        "base/cards.css"
    );
    assert_eq!(
        style(&mut browser, ".site-header", "position"),
        "sticky",
        "sass/site.scss"
    );
    assert_eq!(
        style(&mut browser, ".button-accent", "backgroundColor"),
        "rgb(255, 79, 94)",
        "the SCSS button mixin"
    );
    assert_eq!(
        style(&mut browser, ".site-header", "color"),
        "rgb(32, 18, 58)",
        "$ink"
    );
    assert!(
        style(&mut browser, ".pages-badge", "backgroundImage")
            .contains("/static/pages/img/badge.png"),
        "the pages app's stylesheet"
    );

    // The web font: declared by the bundle, used by the headings, loaded from the output.
    assert!(
        style(&mut browser, "h1", "fontFamily").starts_with("Weir"),
        "{}",
        style(&mut browser, "h1", "fontFamily")
    );
    assert_eq!(
        browser
            .eval(
                "[...document.fonts].filter(f => f.family.replace(/\"/g, '') === 'Weir')\
                 .map(f => f.status)"
            )
            .unwrap(),
        serde_json::json!(["loaded"])
    );
    assert_eq!(
        browser
            .eval("document.fonts.check('700 40px Weir')")
            .unwrap(),
        true
    );
    let fetched = |browser: &mut Browser, path: &str| -> Value {
        browser
            .eval(&format!(
                "performance.getEntriesByType('resource').filter(e => e.name.endsWith('{path}'))\
                 .map(e => [e.initiatorType, e.responseStatus, e.decodedBodySize > 0])"
            ))
            .unwrap()
    };
    assert_eq!(
        fetched(&mut browser, "/static/fonts/weir-bold.woff2"),
        serde_json::json!([["css", 200, true]])
    );

    // Background images through url(): fetched for the stylesheet, and real pictures.
    assert!(
        style(&mut browser, ".hero", "backgroundImage").contains("/static/img/home/hero-waves.svg")
    );
    for picture in [
        "/static/img/home/hero-waves.svg",
        "/static/img/home/feature-sync.png",
        "/static/img/icons/check.svg",
    ] {
        browser.wait_until(
            &format!("{picture} is fetched"),
            &format!(
                "performance.getEntriesByType('resource').some(e => e.name.endsWith('{picture}') && e.responseEnd > 0)"
            ),
        );
        assert_eq!(
            fetched(&mut browser, picture),
            serde_json::json!([["css", 200, true]]),
            "{picture}"
        );
        let width = browser
            .eval(&format!(
                "new Promise(done => {{ var i = new Image(); i.onload = () => done(i.naturalWidth); \
                 i.onerror = () => done(0); i.src = '{picture}'; }})"
            ))
            .unwrap();
        assert!(
            width.as_u64().unwrap_or(0) > 0,
            "{picture} decodes: {width}"
        );
    }

    // The page as it looks, kept for people to see.
    let shot = cache_dir().join("artefacts").join("example-home.png");
    let height = browser.screenshot_page(1280, &shot);
    let png = fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1280, height));
    assert!(
        height > 1500,
        "the whole page, not the first screen: {height}"
    );
    eprintln!("screenshot of the example's home page: {}", shot.display());

    drop(browser);
    run.signal("-INT");
    assert_eq!(run.wait_exit().code(), Some(0), "{:#?}", run.seen);
    assert_nothing_left(&run);
}
