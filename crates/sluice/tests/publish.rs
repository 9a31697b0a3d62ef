//! `sluice publish` against a real S3 server (moto on loopback, SigV4 checked) and a folder:
//! keys, headers and bytes; what a no-change and a one-file publish upload, counted from the
//! server's own request log; old hashed objects kept; a publish that fails midway leaves the
//! old manifest; a wrong secret fails clearly; multipart for large files; `--dry-run`;
//! keep-last-N. Cost: moto's venv once (cached), then ~1 s per test.

mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::moto::moto;
use support::{copy_example_site, example_venv, sluice, tree_files, venv_env};

fn md5_hex(bytes: &[u8]) -> String {
    // The tests' own md5 (coreutils' md5sum), not sluice's.
    let out = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..32].to_string()
}

/// Runs sluice in `dir` with `env`; returns the exit code, the `publish` JSON event (or
/// `Null`) and stderr.
fn run(dir: &Path, args: &[&str], env: &[(&str, OsString)]) -> (i32, Value, String) {
    let out = sluice()
        .args(args)
        .current_dir(dir)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let event = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "publish")
        .unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), event, stderr)
}

fn ok(dir: &Path, args: &[&str], env: &[(&str, OsString)]) -> Value {
    let (code, event, stderr) = run(dir, args, env);
    assert_eq!(code, 0, "sluice {args:?} failed:\n{stderr}");
    event
}

fn s3_env(pairs: Vec<(&'static str, String)>) -> Vec<(&'static str, OsString)> {
    pairs.into_iter().map(|(k, v)| (k, v.into())).collect()
}

fn uploaded(event: &Value) -> BTreeSet<String> {
    event["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap().to_string())
        .collect()
}

/// The keys the server saw PUT (or POSTed, for multipart) under `bucket/prefix/`.
fn puts(requests: &[(String, String)], bucket: &str, prefix: &str) -> BTreeSet<String> {
    let start = format!("/{bucket}/{prefix}/");
    requests
        .iter()
        .filter(|(m, _)| m == "PUT" || m == "POST")
        .filter_map(|(_, p)| p.strip_prefix(&start))
        .map(|p| p.split('?').next().unwrap_or(p).to_string())
        .collect()
}

#[test]
fn publishes_the_example_site_then_only_what_changed() {
    let s3 = moto();
    s3.bucket("site");
    let python = example_venv();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_example_site(root);
    // A stylesheet no bundle and no other file names, to edit later. The site's storage
    // (django-pipeline's manifest storage) compresses nothing: whitenoise's copies are asked for.
    std::fs::write(root.join("media/css/publish.css"), "body { color: red }\n").unwrap();
    let mut env: Vec<(&str, OsString)> = venv_env(&python);
    env.push(("PYTHONDONTWRITEBYTECODE", "1".into()));
    env.extend(s3_env(s3.env()));
    ok(root, &["build", "-q", "--compress", "gzip,br"], &env);
    let output = tree_files(&root.join("static"));
    let manifest: Value = serde_json::from_slice(&output["staticfiles.json"]).unwrap();
    let hashed_css = manifest["paths"]["css/publish.css"]
        .as_str()
        .unwrap()
        .to_string();

    let first = ok(
        root,
        &["publish", "s3://site/static", "--format", "json"],
        &env,
    );
    assert_eq!(first["uploaded"].as_u64().unwrap() as usize, output.len());
    let objects = s3.dump("site");
    // Every file of the output, with its bytes, its md5 in the metadata, and its headers.
    for (key, bytes) in &output {
        let o = &objects[&format!("static/{key}")];
        assert_eq!(o["md5"], md5_hex(bytes), "{key}");
        assert_eq!(o["metadata"]["sluice-md5"], md5_hex(bytes), "{key}");
    }
    assert!(objects.contains_key("static/.sluice-publish.json"));
    assert_eq!(objects.len(), output.len() + 1, "nothing else");
    let h = |key: &str| objects[&format!("static/{key}")].clone();
    let immutable = "public, max-age=31536000, immutable";
    assert_eq!(h(&hashed_css)["cache_control"], immutable);
    assert_eq!(h(&hashed_css)["content_type"], "text/css");
    assert_eq!(h(&hashed_css)["content_encoding"], Value::Null);
    assert_eq!(h("css/publish.css")["cache_control"], "public, max-age=60");
    assert_eq!(h("staticfiles.json")["content_type"], "application/json");
    // Compressed copies: the original's type, their encoding.
    let br = output
        .keys()
        .find(|k| k.ends_with(".js.br") && output.contains_key(k.trim_end_matches(".br")))
        .expect("a compressed script");
    assert_eq!(h(br)["content_type"], "text/javascript");
    assert_eq!(h(br)["content_encoding"], "br");
    let gz = output.keys().find(|k| k.ends_with(".css.gz")).unwrap();
    assert_eq!(h(gz)["content_encoding"], "gzip");
    assert_eq!(h(gz)["content_type"], "text/css");
    let png = output.keys().find(|k| k.ends_with(".png")).unwrap();
    assert_eq!(h(png)["content_type"], "image/png");

    // A publish with nothing changed: one listing, one read of the index, nothing uploaded.
    let mark = s3.mark();
    let again = ok(
        root,
        &["publish", "s3://site/static", "--format", "json"],
        &env,
    );
    let seen = s3.requests_since(mark, "site");
    assert_eq!(again["uploaded"], 0);
    assert_eq!(puts(&seen, "site", "static"), BTreeSet::new(), "{seen:?}");
    assert!(
        seen.len() <= 3,
        "a listing and the index, not a request per file: {seen:?}"
    );

    // One stylesheet edited: exactly it, its hashed copy, their compressed copies, the
    // manifest and sluice's record of the build (and the publish index).
    std::fs::write(
        root.join("media/css/publish.css"),
        format!("body {{ color: blue }}\n{}", "p { margin: 0 }\n".repeat(40)),
    )
    .unwrap();
    ok(root, &["build", "-q", "--compress", "gzip,br"], &env);
    let edited = tree_files(&root.join("static"));
    let manifest: Value = serde_json::from_slice(&edited["staticfiles.json"]).unwrap();
    let new_hashed = manifest["paths"]["css/publish.css"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_hashed, hashed_css);
    let mark = s3.mark();
    let third = ok(
        root,
        &["publish", "s3://site/static", "--format", "json"],
        &env,
    );
    let seen = s3.requests_since(mark, "site");
    let mut expected: BTreeSet<String> = ["css/publish.css", new_hashed.as_str()]
        .iter()
        .flat_map(|k| [k.to_string(), format!("{k}.gz"), format!("{k}.br")])
        .filter(|k| edited.contains_key(k))
        .collect();
    expected.extend(["staticfiles.json".to_string(), "sluice.json".to_string()]);
    assert!(
        expected.contains(&format!("{new_hashed}.br")),
        "compressed copies made"
    );
    assert_eq!(uploaded(&third), expected);
    expected.insert(".sluice-publish.json".into());
    expected.insert(".sluice-publish.lock".into());
    assert_eq!(
        puts(&seen, "site", "static"),
        expected,
        "what the server saw"
    );
    // The manifest went up after every file it names.
    let order: Vec<&str> = seen
        .iter()
        .filter(|(m, _)| m == "PUT")
        .map(|(_, p)| p.as_str())
        .collect();
    let manifest_at = order
        .iter()
        .position(|p| p.ends_with("/staticfiles.json"))
        .unwrap();
    let css_at = order.iter().position(|p| p.ends_with(&new_hashed)).unwrap();
    assert!(css_at < manifest_at, "{order:?}");
    // The old hashed objects stay (pages rendered with the old manifest still use them).
    let objects = s3.dump("site");
    assert!(objects.contains_key(&format!("static/{hashed_css}")));
    assert_eq!(
        objects["static/staticfiles.json"]["md5"],
        md5_hex(&edited["staticfiles.json"])
    );
}

/// A small hashed, compressed build in a temp folder (no Django).
fn small_site(files: &[(&str, &[u8])]) -> support::Project {
    let project = support::Project::with_bytes(files);
    project.run_ok(&["build", "-q"]);
    project
}

#[test]
fn a_wrong_secret_fails_with_a_clear_error_and_changes_nothing() {
    let s3 = moto();
    s3.bucket("secret");
    let site = small_site(&[("css/a.css", b"body { color: red }\n")]);
    let env = s3_env(s3.env_as(&s3.key, "not-the-secret"));
    let (code, _, stderr) = run(&site.root, &["publish", "s3://secret/static"], &env);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("listing s3://secret/static failed"),
        "{stderr}"
    );
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    assert!(
        stderr.contains("AWS_SECRET_ACCESS_KEY"),
        "the hint: {stderr}"
    );
    assert!(s3.dump("secret").is_empty());
}

#[test]
fn a_publish_that_fails_midway_leaves_the_old_manifest() {
    let s3 = moto();
    s3.bucket("midway");
    let site = small_site(&[
        ("css/a.css", b"body { color: red }\n"),
        ("css/b.css", b"p { color: red }\n"),
    ]);
    let env = s3_env(s3.env());
    ok(&site.root, &["publish", "s3://midway/static"], &env);
    let before = s3.dump("midway");
    site.write("media/css/a.css", "body { color: green }\n");
    site.write("media/css/b.css", "p { color: green }\n");
    site.run_ok(&["build", "-q"]);
    // A user the server refuses to store `css/b.css` for: the publish stops there, after
    // the hashed copies went up, before the manifest.
    let (key, secret) = s3.denied_put("midway/static/css/b.css");
    let denied = s3_env(s3.env_as(&key, &secret));
    let (code, _, stderr) = run(&site.root, &["publish", "s3://midway/static"], &denied);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("uploading s3://midway/static/css/b.css failed"),
        "{stderr}"
    );
    let after = s3.dump("midway");
    assert_eq!(
        after["static/staticfiles.json"], before["static/staticfiles.json"],
        "the old manifest is in force"
    );
    assert_eq!(
        after["static/.sluice-publish.json"],
        before["static/.sluice-publish.json"]
    );
    for (key, object) in &before {
        assert!(
            after.contains_key(key),
            "{key} of the old deploy is still there"
        );
        if !key.ends_with("a.css") && !key.ends_with("a.css.gz") && !key.ends_with("a.css.br") {
            assert_eq!(&after[key], object, "{key}");
        }
    }
    // The next publish (allowed) finishes the job, re-uploading nothing that went up.
    let event = ok(
        &site.root,
        &["publish", "s3://midway/static", "--format", "json"],
        &env,
    );
    let again = uploaded(&event);
    assert!(
        again.contains("css/b.css") && again.contains("staticfiles.json"),
        "{again:?}"
    );
    assert!(
        !again
            .iter()
            .any(|k| k.contains("a.") && k.ends_with(".css") && k != "css/a.css")
    );
    let out = tree_files(&site.path("static"));
    assert_eq!(
        s3.dump("midway")["static/staticfiles.json"]["md5"],
        md5_hex(&out["staticfiles.json"])
    );

    // The hashed copies the failed publish left were adopted by the one that finished
    // (sluice's md5 metadata says they are its own): a later publish keeping no earlier
    // deploy deletes them once no manifest names them.
    let green = support::manifest_paths(&out["staticfiles.json"])["css/a.css"].clone();
    site.write("media/css/a.css", "body { color: blue }\n");
    site.run_ok(&["build", "-q"]);
    ok(
        &site.root,
        &["publish", "s3://midway/static", "--keep", "0"],
        &env,
    );
    let objects = s3.dump("midway");
    assert!(
        !objects.contains_key(&format!("static/{green}")),
        "{green} left by the failed publish is still there: {:?}",
        objects.keys()
    );
    let blue =
        support::manifest_paths(&tree_files(&site.path("static"))["staticfiles.json"])["css/a.css"]
            .clone();
    assert!(objects.contains_key(&format!("static/{blue}")));
}

#[test]
fn a_large_file_goes_up_in_parts_and_a_dry_run_changes_nothing() {
    let s3 = moto();
    s3.bucket("large");
    let big = support::noise(17 << 20, 7);
    let site = small_site(&[("img/huge.png", big.as_slice()), ("css/a.css", b"a{}\n")]);
    let env = s3_env(s3.env());
    let mark = s3.mark();
    let dry = ok(
        &site.root,
        &["publish", "s3://large/s", "--dry-run", "--format", "json"],
        &env,
    );
    assert_eq!(dry["dry_run"], true);
    assert!(uploaded(&dry).contains("img/huge.png"));
    let seen = s3.requests_since(mark, "large");
    assert_eq!(puts(&seen, "large", "s"), BTreeSet::new(), "{seen:?}");
    assert!(s3.dump("large").is_empty());

    let mark = s3.mark();
    ok(&site.root, &["publish", "s3://large/s"], &env);
    let seen = s3.requests_since(mark, "large");
    let parts = seen
        .iter()
        .filter(|(m, p)| m == "PUT" && p.contains("huge.png") && p.contains("partNumber="))
        .count();
    assert!(parts >= 2, "a multipart upload: {seen:?}");
    let objects = s3.dump("large");
    assert_eq!(objects["s/img/huge.png"]["md5"], md5_hex(&big));
    assert_eq!(
        objects["s/img/huge.png"]["metadata"]["sluice-md5"],
        md5_hex(&big)
    );
}

#[test]
fn a_folder_destination_keeps_the_last_deploys_hashed_names() {
    let site = small_site(&[("css/a.css", b"body { color: red }\n")]);
    let cdn = tempfile::tempdir().unwrap();
    let url = format!("file://{}", cdn.path().display());
    let hashed = |site: &support::Project| -> String {
        let m: Value =
            serde_json::from_slice(&std::fs::read(site.path("static/staticfiles.json")).unwrap())
                .unwrap();
        m["paths"]["css/a.css"].as_str().unwrap().to_string()
    };
    let mut names = Vec::new();
    for colour in ["red", "green", "blue", "black"] {
        site.write("media/css/a.css", format!("body {{ color: {colour} }}\n"));
        site.run_ok(&["build", "-q"]);
        names.push(hashed(&site));
        site.run_ok(&["publish", &url, "--keep", "1"]);
    }
    let there = |name: &str| cdn.path().join(name).is_file();
    // The current deploy's and the one before it stay; older hashed names went.
    assert!(there(&names[3]) && there(&names[2]));
    assert!(!there(&names[1]) && !there(&names[0]));
    assert_eq!(
        std::fs::read(cdn.path().join("staticfiles.json")).unwrap(),
        std::fs::read(site.path("static/staticfiles.json")).unwrap()
    );
    // A file sluice did not put there is never deleted.
    std::fs::write(cdn.path().join("robots.txt"), "x").unwrap();
    site.run_ok(&["publish", &url, "--keep", "1"]);
    assert!(there("robots.txt"));
}

#[test]
fn serve_compressed_puts_the_gzip_bytes_under_the_original_key() {
    let s3 = moto();
    s3.bucket("negotiate");
    let css = "body { color: red }\n".repeat(50);
    let site = small_site(&[("css/a.css", css.as_bytes())]);
    let toml = site.path("sluice.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[publish]\nserve_compressed = \"gzip\"\n");
    std::fs::write(&toml, text).unwrap();
    ok(
        &site.root,
        &["publish", "s3://negotiate/s"],
        &s3_env(s3.env()),
    );
    let out = tree_files(&site.path("static"));
    let objects = s3.dump("negotiate");
    let a = &objects["s/css/a.css"];
    assert_eq!(a["md5"], md5_hex(&out["css/a.css.gz"]), "the .gz bytes");
    assert_eq!(a["content_encoding"], "gzip");
    assert_eq!(a["content_type"], "text/css");
    // The copies themselves are there as they are, for CDNs that do negotiate.
    assert_eq!(
        objects["s/css/a.css.gz"]["md5"],
        md5_hex(&out["css/a.css.gz"])
    );
    assert_eq!(
        objects["s/css/a.css.br"]["md5"],
        md5_hex(&out["css/a.css.br"])
    );
}

/// A project of compressible stylesheets whose build uses the shared cache at `url`.
fn fleet_machine(url: &str) -> support::Project {
    let files: Vec<(String, String)> = (0..4)
        .map(|i| {
            (
                format!("css/c{i}.css"),
                support::compressible_css(&format!("c{i}"), 40),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_bytes()))
        .collect();
    let project = support::Project::with_bytes(&files);
    let toml = project.path("sluice.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(&format!("\n[cache]\nremote = \"{url}\"\n"));
    std::fs::write(&toml, text).unwrap();
    project
}

/// `sluice build --format json` with `env`: the build event and the shared cache's event.
fn build_json(
    project: &support::Project,
    args: &[&str],
    env: &[(&str, OsString)],
) -> (Value, Value, String) {
    let out = sluice()
        .args([&["build", "--format", "json"], args].concat())
        .current_dir(&project.root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    (find("build"), find("remote_cache"), stdout)
}

#[test]
fn two_machines_share_one_cache_and_a_tampered_entry_is_rebuilt() {
    let s3 = moto();
    s3.bucket("fleet");
    let env = s3_env(s3.env());
    let url = "s3://fleet/cache";
    // Machine one, allowed to write: compresses everything and shares it.
    let one = fleet_machine(url);
    let (build, cache, _) = build_json(&one, &["--cache-write"], &env);
    let made = build["compressed"].as_u64().unwrap();
    assert!(made >= 8, "{build}");
    assert_eq!(cache["written"], made, "{cache}");
    let entries: Vec<String> = s3.dump("fleet").keys().cloned().collect();
    assert!(
        entries.iter().all(|k| k.starts_with("cache/sluice-")),
        "{entries:?}"
    );

    // Machine two, cold, read-only: compresses nothing, writes nothing, same bytes.
    let two = fleet_machine(url);
    let mark = s3.mark();
    let (build, cache, _) = build_json(&two, &[], &env);
    assert_eq!(build["compressed"], 0, "{build}");
    assert_eq!(cache["hits"], made);
    let seen = s3.requests_since(mark, "fleet");
    assert!(
        seen.iter().all(|(m, _)| m == "GET"),
        "a read-only run writes nothing: {seen:?}"
    );
    // One listing and machine one's pack: no request per entry.
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[1].1.contains("/packs/"), "{seen:?}");
    let (a, b) = (
        tree_files(&one.path("static")),
        tree_files(&two.path("static")),
    );
    assert_eq!(a, b);

    // A poisoned cache: every Brotli entry replaced, the pack damaged. A third machine
    // ignores the pack, rejects every Brotli entry, compresses those again and ships
    // correct copies.
    let packs: Vec<&String> = entries.iter().filter(|k| k.contains("/packs/")).collect();
    assert_eq!(packs.len(), 1, "{entries:?}");
    s3.put("fleet", packs[0], "not a pack");
    for key in entries.iter().filter(|k| k.ends_with(".br")) {
        s3.put("fleet", key, "not brotli at all");
    }
    let three = fleet_machine(url);
    let (build, _, _) = build_json(&three, &[], &env);
    let brs = entries.iter().filter(|k| k.ends_with(".br")).count() as u64;
    assert_eq!(build["compressed"], brs, "{build}");
    assert_eq!(tree_files(&three.path("static")), a);
}

/// A cold build offers thousands of entries at once. Opened all together, their connections
/// overflowed the server's accept queue, a connect timed out, and the first error turned the
/// cache off: at 5 000 files a second machine compressed nearly everything again. Written a
/// few at a time, every entry arrives and the second machine compresses nothing.
#[test]
fn thousands_of_entries_written_at_once_all_reach_the_shared_cache() {
    let s3 = moto();
    s3.bucket("many");
    let env = s3_env(s3.env());
    let url = "s3://many/cache";
    let machine = || {
        let files: Vec<(String, String)> = (0..3000)
            .map(|i| {
                (
                    format!("svg/{}/i{i}.svg", i % 60),
                    format!("<svg id=\"{i}\"/>"),
                )
            })
            .collect();
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_bytes()))
            .collect();
        let project = support::Project::with_bytes(&files);
        let toml = project.path("sluice.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(&toml, format!("{text}\n[cache]\nremote = \"{url}\"\n")).unwrap();
        project
    };
    let one = machine();
    let (build, cache, out) = build_json(&one, &["--cache-write"], &env);
    let made = build["compressed"].as_u64().unwrap();
    assert!(made >= 3000, "{build}");
    assert!(!out.contains("\"warning\""), "{out}");
    assert_eq!(cache["written"], made, "{cache}");
    let two = machine();
    let (build, cache, out) = build_json(&two, &[], &env);
    assert_eq!(build["compressed"], 0, "{out}");
    assert_eq!(cache["hits"], made, "{out}");
}

#[test]
fn an_unreachable_cache_is_one_warning_not_a_failed_build() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let s3 = moto();
    let mut env = s3_env(s3.env());
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push((
        "AWS_ENDPOINT_URL",
        format!("http://127.0.0.1:{port}").into(),
    ));
    let project = fleet_machine("s3://nowhere/cache");
    let (build, _, stdout) = build_json(&project, &["--cache-write"], &env);
    assert!(build["compressed"].as_u64().unwrap() >= 8, "{build}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"warning\""))
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(
        warnings[0].contains("the shared cache s3://nowhere/cache is not usable"),
        "{stdout}"
    );
}

/// A project with a Sass file and its partial, TypeScript, and minified CSS and JS bundles
/// (classic and ES-module), whose build uses the shared cache at `url`.
fn fleet_assets_machine(url: &str) -> support::Project {
    let p = support::Project::new(&[
        ("css/_vars.scss", "$main: #123456;\n"),
        (
            "css/theme.scss",
            "@import \"vars\";\n.theme {\n  color: $main;\n  .inner { margin: 0px 0px; }\n}\n",
        ),
        (
            "css/base.css",
            ".base {\n  margin: 0px 0px;\n  color: #ffffff;\n}\n",
        ),
        (
            "js/lib.js",
            "var libValue = 40;\nfunction libAdd(first, second) {\n  return first + second;\n}\n",
        ),
        (
            "js/app.ts",
            "const answer: number = libAdd(libValue, 2);\n(window as any).answer = answer;\n",
        ),
        (
            "js/mod/util.js",
            "export function twice(n) { return n * 2; }\nexport function unused() { return 1; }\n",
        ),
        (
            "js/mod/main.js",
            "import { twice } from './util.js';\nwindow.twice = twice(21);\n",
        ),
    ]);
    p.write(
        "sluice.toml",
        format!(
            "sources = [\"media\"]\noutput = \"static\"\n\n\
             [bundles.css.site]\nfiles = [\"css/base.css\", \"css/theme.scss\"]\n\
             output = \"css/site.min.css\"\n\n\
             [bundles.js.app]\nfiles = [\"js/lib.js\", \"js/app.ts\"]\noutput = \"js/app.min.js\"\n\n\
             [bundles.js.mod]\nentry = \"js/mod/main.js\"\noutput = \"js/mod.min.js\"\n\n\
             [cache]\nremote = \"{url}\"\n"
        ),
    );
    p.write(".browserslistrc", "chrome 100\n");
    p
}

/// Compiles, bundles and minified bundles with their maps go through the shared cache too:
/// a second machine (another folder, cold) compiles, bundles and minifies nothing and ships
/// the same bytes; a run that may not write offers nothing.
#[test]
fn a_second_machine_compiles_bundles_and_minifies_nothing() {
    let s3 = moto();
    s3.bucket("fleet-assets");
    let env = s3_env(s3.env());
    let url = "s3://fleet-assets/cache";

    // A pull-request build (read-only) on an empty cache writes nothing.
    let pr = fleet_assets_machine(url);
    let mark = s3.mark();
    let (build, _, _) = build_json(&pr, &[], &env);
    assert_eq!(build["compiled"], 2, "{build}");
    let seen = s3.requests_since(mark, "fleet-assets");
    assert!(
        seen.iter().all(|(m, _)| m == "GET"),
        "a read-only run writes nothing: {seen:?}"
    );
    assert!(s3.dump("fleet-assets").is_empty());

    let one = fleet_assets_machine(url);
    let (build, cache, _) = build_json(&one, &["--cache-write"], &env);
    assert_eq!(build["compiled"], 2, "{build}");
    assert_eq!(build["bundles_built"], 3, "{build}");
    assert_eq!(build["minified"], true, "{build}");
    let entries: Vec<String> = s3.dump("fleet-assets").keys().cloned().collect();
    let actions = entries.iter().filter(|k| k.ends_with(".action")).count();
    // Two compiles and three minified bundles, and a second name for the two whose
    // discovered inputs (the Sass partial, the imported module) are checked by md5.
    assert_eq!(actions, 7, "{entries:?}");
    assert!(cache["written"].as_u64().unwrap() as usize >= entries.len() - 1);

    let two = fleet_assets_machine(url);
    let (build, cache, _) = build_json(&two, &[], &env);
    assert_eq!(build["compiled"], 0, "{build}");
    assert_eq!(build["bundles_built"], 0, "{build}");
    assert_eq!(build["compressed"], 0, "{build}");
    assert_eq!(cache["written"], 0, "{cache}");
    let (a, b) = (
        tree_files(&one.path("static")),
        tree_files(&two.path("static")),
    );
    assert!(a.contains_key("js/mod.min.js.map") && a.contains_key("css/site.min.css"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_eq!(a, b);
    assert_eq!(a, tree_files(&pr.path("static")));

    // Only a partial and an imported module change (not the files the keys name): the
    // entries under those keys stay the first version, and the second names serve the new.
    for machine in [&one, &two] {
        machine.write("media/css/_vars.scss", "$main: #654321;\n");
        machine.write(
            "media/js/mod/util.js",
            "export function twice(n) { return n + n; }\n",
        );
    }
    let (build, _, _) = build_json(&one, &["--cache-write"], &env);
    assert_eq!(build["compiled"], 1, "{build}");
    assert_eq!(build["bundles_built"], 2, "{build}");
    let (build, _, _) = build_json(&two, &[], &env);
    assert_eq!(build["compiled"], 0, "{build}");
    assert_eq!(build["bundles_built"], 0, "{build}");
    let b = tree_files(&two.path("static"));
    assert_eq!(tree_files(&one.path("static")), b);
    let css = String::from_utf8_lossy(&b["css/site.min.css"]).into_owned();
    assert!(css.contains("#654321"), "{css}");
}

/// Conditional puts: a second writer that did not see an entry in its listing (it listed
/// before the first one wrote) gets a `412` from the server, counts it as success, and the
/// first writer's bytes stay. Run in a child process of this test binary, which reaches
/// the server with the test user's environment (as sluice does).
#[test]
fn a_second_writer_gets_412_and_the_first_writers_entry_stays() {
    use sluice_engine::cache::Remote;
    let name = "ab1f0000000000000000000000000000.action";
    if std::env::var_os("SLUICE_TEST_412_CHILD").is_some() {
        let connection = sluice_publish::store::Connection {
            endpoint: None,
            region: None,
            retries: 1,
        };
        let open = || {
            sluice_publish::cache::RemoteCache::open(
                "s3://race/cache",
                &connection,
                sluice_engine::cache::RULES_VERSION,
                true,
            )
            .unwrap()
        };
        let (first, second) = (open(), open());
        // The second lists (nothing there yet) before the first writes.
        assert!(!second.has(name));
        first.put(name, b"first");
        let summary = first.finish();
        assert_eq!((summary.written, summary.raced), (1, 0), "{summary:?}");
        second.put(name, b"second");
        let summary = second.finish();
        assert_eq!((summary.written, summary.raced), (0, 1), "{summary:?}");
        assert!(summary.warning.is_none(), "{summary:?}");
        return;
    }
    let s3 = moto();
    s3.bucket("race");
    let mark = s3.mark();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_second_writer_gets_412_and_the_first_writers_entry_stays",
            "--nocapture",
        ])
        .env("SLUICE_TEST_412_CHILD", "1")
        .envs(s3.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let puts = s3
        .requests_since(mark, "race")
        .into_iter()
        .filter(|(m, p)| m == "PUT" && p.contains(name))
        .count();
    assert_eq!(puts, 2, "both writers tried");
    // The entry, and the first writer's pack; the second leaves none (the entry it offered
    // is not the one that stays).
    let objects = s3.dump("race");
    assert_eq!(objects.len(), 2, "{objects:?}");
    let (key, object) = objects.iter().find(|(k, _)| k.contains("/ab/")).unwrap();
    assert!(key.ends_with(&format!("/ab/{name}")), "{key}");
    assert_eq!(object["md5"], md5_hex(b"first"), "{object}");
    assert!(objects.keys().any(|k| k.contains("/packs/")), "{objects:?}");
}

/// `sluice config` shows `[publish]` and `[cache]`, each value with where it came from.
#[test]
fn config_shows_publish_and_cache_with_their_origins() {
    let project = small_site(&[("css/a.css", b"a{}")]);
    let toml = project.path("sluice.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(
        "\n[publish]\nkeep = 5\nregion = \"eu-west-1\"\n\n[cache]\nremote = \"s3://b/c\"\n",
    );
    std::fs::write(&toml, text).unwrap();
    let out = project.run_ok(&["config", "--format", "json"]);
    let config: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap();
    let (publish, cache) = (&config["publish"], &config["cache"]);
    assert_eq!(publish["keep"]["value"], 5, "{publish}");
    assert!(
        publish["keep"]["origin"]
            .as_str()
            .unwrap()
            .contains("sluice.toml"),
        "{publish}"
    );
    assert_eq!(publish["region"]["value"], "eu-west-1");
    assert_eq!(publish["max_age"]["value"], 60);
    assert_eq!(publish["max_age"]["origin"], "default");
    assert_eq!(publish["url"], Value::Null);
    assert_eq!(cache["remote"]["value"], "s3://b/c");
    assert!(
        cache["remote"]["origin"]
            .as_str()
            .unwrap()
            .contains("sluice.toml")
    );
    assert_eq!(cache["write"]["value"], false);
    assert_eq!(cache["write"]["origin"], "default");
    let text = String::from_utf8(project.run_ok(&["config"]).stdout).unwrap();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .to_string()
    };
    assert!(line("publish.keep").contains("5"), "{text}");
    assert!(line("publish.keep").contains("sluice.toml"), "{text}");
    assert!(line("cache.remote").contains("s3://b/c"), "{text}");
    assert!(line("cache.write").contains("(default)"), "{text}");
}

/// Names with a space, a `%`, a `+` and non-ASCII letters reach the bucket as those very
/// keys (not percent-encoded twice, not mangled), with their bytes; a no-change publish then
/// finds them all and uploads nothing.
#[test]
fn keys_with_spaces_percent_signs_and_non_ascii_round_trip() {
    let s3 = moto();
    s3.bucket("names");
    let names = [
        "img/a b.svg",
        "img/100%.svg",
        "img/c+d.svg",
        "img/café–ünïcode.svg",
    ];
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| {
            (
                *n,
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n".as_slice(),
            )
        })
        .collect();
    let site = small_site(&files);
    let env = s3_env(s3.env());
    ok(&site.root, &["publish", "s3://names/static"], &env);
    let objects = s3.dump("names");
    let out = tree_files(&site.path("static"));
    for name in names {
        let key = format!("static/{name}");
        assert!(
            objects.contains_key(&key),
            "{key} not in {:?}",
            objects.keys()
        );
        assert_eq!(objects[&key]["md5"], md5_hex(&out[name]), "{key}");
    }
    let mark = s3.mark();
    let event = ok(
        &site.root,
        &["publish", "s3://names/static", "--format", "json"],
        &env,
    );
    assert!(uploaded(&event).is_empty(), "{event}");
    let seen = s3.requests_since(mark, "names");
    assert!(seen.iter().all(|(m, _)| m == "GET"), "{seen:?}");

    // A folder destination: files of those very names.
    let dest = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dest.path().display());
    ok(&site.root, &["publish", &url], &[]);
    for name in names {
        assert_eq!(
            std::fs::read(dest.path().join(name)).ok().as_ref(),
            Some(&out[name]),
            "{name}"
        );
    }
    let event = ok(&site.root, &["publish", &url, "--format", "json"], &[]);
    assert!(uploaded(&event).is_empty(), "{event}");
}

/// Two publishes to one prefix: the second finds the first's lock and stops, naming it, with
/// nothing uploaded; a lock a killed publish left (older than an hour) is taken over; a
/// publish leaves no lock behind, and a no-change publish takes none.
#[test]
fn a_publish_finds_another_ones_lock_and_stops() {
    let s3 = moto();
    s3.bucket("locked");
    let site = small_site(&[("css/a.css", b"a { color: red }\n")]);
    let env = s3_env(s3.env());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lock = "static/.sluice-publish.lock";
    s3.put(
        "locked",
        lock,
        &format!("sluice-publish-lock 1\n{}\nci-3, pid 77\n", now - 5),
    );
    let (code, _, stderr) = run(&site.root, &["publish", "s3://locked/static"], &env);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("another publish to this prefix is under way")
            && stderr.contains("s3://locked/static/.sluice-publish.lock")
            && stderr.contains("ci-3, pid 77"),
        "{stderr}"
    );
    assert_eq!(
        s3.dump("locked").keys().collect::<Vec<_>>(),
        vec![lock],
        "nothing uploaded"
    );

    // Left by a publish killed two hours ago: taken over — with a put conditional on the
    // ETag the expired lock was read with, never by deleting it first (a second publish that
    // found the same expired lock would delete the first's new lock and take it too).
    s3.put(
        "locked",
        lock,
        &format!("sluice-publish-lock 1\n{}\nci-3, pid 77\n", now - 7200),
    );
    let mark = s3.mark();
    ok(&site.root, &["publish", "s3://locked/static"], &env);
    let seen = s3.requests_since(mark, "locked");
    let at = format!("/locked/{lock}");
    let first = (seen.iter().position(|(m, p)| m == "PUT" && *p == at))
        .unwrap_or_else(|| panic!("the lock was never asked for: {seen:?}"));
    let take: Vec<(&str, &str)> = (seen[first..].iter().take(3))
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        take,
        [
            ("PUT", at.as_str()),
            ("GET", at.as_str()),
            ("PUT", at.as_str())
        ],
        "take (refused), read the expired lock, take it over: nothing deleted between"
    );
    let objects = s3.dump("locked");
    assert!(
        objects.contains_key("static/staticfiles.json"),
        "{objects:?}"
    );
    assert!(!objects.contains_key(lock), "the lock is given back");

    let mark = s3.mark();
    ok(&site.root, &["publish", "s3://locked/static"], &env);
    let seen = s3.requests_since(mark, "locked");
    assert!(seen.iter().all(|(m, _)| m == "GET"), "{seen:?}");
}
