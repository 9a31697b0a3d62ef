//! `sluice.json`, the record sluice leaves in the output root for its Django app: the bundle
//! list after a dev-profile pass, the bundles and each stylesheet's and script's sha384 after a
//! build; never over a file of the same name that sluice did not write (it is an output like
//! any other: such a file is a conflict).

mod support;

use std::fs;

use support::{Project, assert_record_digests, sha384_sri, tree_files};

const BUNDLES: &str = "sources = [\"media\"]\noutput = \"static\"\n\n[bundles.css.site]\nfiles = [\"css/*.css\"]\noutput = \"css/site.min.css\"\n\n[bundles.js.app]\nfiles = [\"js/*.js\"]\noutput = \"js/app.min.js\"\n";

fn site() -> Project {
    let p = Project::new(&[
        ("css/a.css", "a { color: red; }\n"),
        ("css/b.css", "b { background: url(../img/x.png); }\n"),
        ("img/x.png", "png"),
        ("js/a.js", "var a = 1;\n"),
    ]);
    p.write("sluice.toml", BUNDLES);
    p
}

fn record(p: &Project) -> serde_json::Value {
    serde_json::from_slice(&fs::read(p.path("static/sluice.json")).unwrap()).unwrap()
}

#[test]
fn sync_lists_the_bundles_and_a_foreign_record_is_a_conflict() {
    let p = site();
    p.run_ok(&["sync", "-q"]);
    let r = record(&p);
    assert_eq!(r["profile"], "dev");
    assert_eq!(r["bundles"]["css"]["site"], "css/site.min.css");
    assert_eq!(r["bundles"]["js"]["app"], "js/app.min.js");
    let written = fs::metadata(p.path("static/sluice.json"))
        .unwrap()
        .modified()
        .unwrap();
    // Nothing changed: not rewritten (and, as the sync tests trace, not even opened).
    p.run_ok(&["sync", "-q"]);
    let again = fs::metadata(p.path("static/sluice.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(written, again);

    // Another program's sluice.json (a new file: an in-place edit of an output is not
    // noticed until its inputs change): a conflict (exit 1), left alone; --force takes it over.
    fs::remove_file(p.path("static/sluice.json")).unwrap();
    p.write("static/sluice.json", "{\"name\": \"not ours\"}\n");
    let out = p.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sluice.json: in the way, not written by sluice"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(p.path("static/sluice.json")).unwrap(),
        "{\"name\": \"not ours\"}\n"
    );
    p.run_ok(&["sync", "--force", "-q"]);
    assert_eq!(record(&p)["profile"], "dev");

    // A project without bundles gets no record from the dev profile.
    let plain = Project::new(&[("css/a.css", "a {}\n")]);
    plain.run_ok(&["sync", "-q"]);
    assert!(!plain.path("static/sluice.json").exists());
}

#[test]
fn build_records_the_digest_of_every_stylesheet_and_script() {
    let p = site();
    p.run_ok(&["build", "-q"]);
    let out = tree_files(&p.path("static"));
    assert_record_digests(&out["sluice.json"], &out);
    let r = record(&p);
    assert_eq!(r["profile"], "build");
    assert_eq!(r["bundles"]["css"]["site"], "css/site.min.css");
    let manifest = support::manifest_paths(&out["staticfiles.json"]);
    let site_css = &manifest["css/site.min.css"];
    assert_eq!(r["files"]["css/site.min.css"]["name"], site_css.as_str());
    assert_eq!(
        r["files"]["css/site.min.css"]["integrity"],
        sha384_sri(&out[site_css.as_str()]).as_str()
    );
    // Every CSS/JS file and no other.
    let listed: Vec<&String> = r["files"].as_object().unwrap().keys().collect();
    assert_eq!(
        listed,
        [
            "css/a.css",
            "css/b.css",
            "css/site.min.css",
            "js/a.js",
            "js/app.min.js"
        ]
    );

    // A changed member: the bundle's new hashed name gets the new digest.
    p.write("media/css/a.css", "a { color: blue; }\n");
    p.run_ok(&["build", "-q"]);
    let out = tree_files(&p.path("static"));
    assert_record_digests(&out["sluice.json"], &out);
    assert_ne!(
        record(&p)["files"]["css/site.min.css"]["name"],
        site_css.as_str()
    );

    // Without hashing, the names are the logical ones.
    p.run_ok(&["build", "-q", "--no-hash"]);
    let out = tree_files(&p.path("static"));
    assert_record_digests(&out["sluice.json"], &out);
    assert_eq!(
        record(&p)["files"]["js/app.min.js"]["name"],
        "js/app.min.js"
    );
}
