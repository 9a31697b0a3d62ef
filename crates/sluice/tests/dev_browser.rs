//! `sluice dev` in a real browser (Debian's chromium, headless, over the DevTools protocol) on
//! the example site's real `runserver`: a stylesheet edit changes the computed style without a
//! reload (a variable set before survives), an SCSS partial edit recompiles and swaps the
//! compiled stylesheet django-pipeline links in DEBUG, an SCSS syntax error shows the overlay with
//! file and line and its fix clears it (still no reload), a build problem shows the overlay and the next good
//! change clears it, a script edit reloads the page, and a page whose sluice was restarted
//! reconnects and reloads.

mod support;

use std::ffi::OsString;
use std::fs;

use support::browser::Browser;
use support::dev::{DevRun, leftovers};
use support::{copy_example_site, example_venv, venv_env};

#[test]
fn css_is_swapped_in_place_errors_overlay_and_scripts_reload() {
    let python = example_venv();
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    copy_example_site(root);
    // The home page also loads the SCSS bundle; in DEBUG pipeline links its compiled member
    // (css/sass/site.css), which sluice compiles. Pipeline's own compiler runs a no-op.
    let home = root.join("pages/templates/pages/home.html");
    let page = fs::read_to_string(&home).unwrap().replace(
        "{% stylesheet 'home' %}",
        "{% stylesheet 'home' %}{% stylesheet 'site-sass' %}",
    );
    fs::write(&home, page).unwrap();
    let mut env: Vec<(&str, OsString)> = venv_env(&python);
    env.push(("PYTHONDONTWRITEBYTECODE", "1".into()));
    env.push(("EXAMPLE_SASS_BINARY", "true".into()));
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
    browser.navigate(&format!("http://127.0.0.1:{}/", run.port));
    browser.wait_until(
        "the page loads and its live-reload client connects",
        "document.readyState === 'complete' && !!window.__sluiceClient && window.__sluiceClient.connected",
    );
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
        &format!(
            "!!document.getElementById('sluice-error-overlay') && \
             document.getElementById('sluice-error-overlay').textContent.includes('media/css/sass/site.scss:{line}:')"
        ),
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
        "!!document.getElementById('sluice-error-overlay') && \
         document.getElementById('sluice-error-overlay').textContent.includes('static/css/home/new.css')",
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
