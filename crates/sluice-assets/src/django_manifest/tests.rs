//! Unit tests of the Django manifest rules, with Django's own fixtures and expected hashes
//! (`tests/staticfiles_tests/test_storage.py`, 6.1.3) and the quirks observed in real runs.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::django_fixture::DOCUMENTS;

fn documents() -> BTreeMap<String, Vec<u8>> {
    DOCUMENTS
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect()
}

fn files(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
        .collect()
}

fn plan_ok(files: &BTreeMap<String, Vec<u8>>) -> ManifestPlan {
    match plan(files, &ManifestOptions::default()) {
        Ok(plan) => plan,
        Err(error) => panic!("plan failed: {error}"),
    }
}

fn text(plan: &ManifestPlan, name: &str, originals: &BTreeMap<String, Vec<u8>>) -> String {
    let file = &plan.files[name];
    let bytes = file.rewritten.as_deref().unwrap_or(&originals[name]);
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn content_hash_is_md5_12() {
    assert_eq!(content_hash(b""), "d41d8cd98f00");
    assert_eq!(
        content_hash(b"@import url(\"other.d41d8cd98f00.css\");\n"),
        "5e0040571e1a"
    );
}

#[test]
fn hashed_name_like_django() {
    assert_eq!(
        hashed_name("css/base.css.map", "45783bef92ae"),
        "css/base.css.45783bef92ae.map"
    );
    assert_eq!(
        hashed_name("js/jquery.min.js", "5a9c7b15f57d"),
        "js/jquery.min.5a9c7b15f57d.js"
    );
    assert_eq!(
        hashed_name("LICENSE", "b36628aa7567"),
        "LICENSE.b36628aa7567"
    );
    assert_eq!(
        hashed_name("test/%2F.txt", "fd1cb434fc14"),
        "test/.txt.fd1cb434fc14"
    );
    assert_eq!(
        hashed_name(".hidden", "0123456789ab"),
        ".hidden.0123456789ab"
    );
    assert_eq!(
        hashed_name("cached/styles.css?spam=eggs", "5e0040571e1a"),
        "cached/styles.5e0040571e1a.css?spam=eggs"
    );
    assert_eq!(
        hashed_name("cached/styles.css#eggs", "5e0040571e1a"),
        "cached/styles.5e0040571e1a.css#eggs"
    );
    assert_eq!(
        hashed_name("fonts/font.eot?#iefix", "b9b105392eb8"),
        "fonts/font.b9b105392eb8.eot?#iefix"
    );
    assert_eq!(
        hashed_name("with%20space.png", "67519bdfa778"),
        "with space.67519bdfa778.png"
    );
    assert_eq!(hashed_name("a.css", ""), "a.css");
}

#[test]
fn adjustable_is_case_sensitive() {
    assert_eq!(adjustable("a/b.css"), Some(Adjustable::Css));
    assert_eq!(adjustable("a.js"), Some(Adjustable::Js));
    assert_eq!(adjustable("UPPER.CSS"), None);
    assert_eq!(adjustable("a.json"), None);
    assert_eq!(adjustable("a.css.map"), None);
}

#[test]
fn djangos_expected_hashes() {
    let originals = documents();
    let plan = plan_ok(&originals);
    let expected = [
        ("cached/styles.css", "cached/styles.5e0040571e1a.css"),
        ("cached/other.css", "cached/other.d41d8cd98f00.css"),
        (
            "cached/css/ignored.css",
            "cached/css/ignored.b71666be52dd.css",
        ),
        (
            "cached/css/fragments.css",
            "cached/css/fragments.7fe344dee895.css",
        ),
        ("cached/absolute.css", "cached/absolute.eb04def9f9a4.css"),
        ("absolute_root.css", "absolute_root.f821df1b64f7.css"),
        ("cached/relative.css", "cached/relative.c3e9e1ea6f2e.css"),
        ("cached/import.css", "cached/import.f53576679e5a.css"),
        (
            "cached/css/window.css",
            "cached/css/window.5d5c10836967.css",
        ),
        ("cached/url.css", "cached/url.902310b73412.css"),
        (
            "cached/styles_insensitive.css",
            "cached/styles_insensitive.3fa427592a53.css",
        ),
        (
            "cached/source_map.css",
            "cached/source_map.b2fceaf426aa.css",
        ),
        (
            "cached/source_map_tabs.css",
            "cached/source_map_tabs.b2fceaf426aa.css",
        ),
        (
            "cached/source_map_sensitive.css",
            "cached/source_map_sensitive.456683f2106f.css",
        ),
        (
            "cached/source_map_data_uri.css",
            "cached/source_map_data_uri.3166be10260d.css",
        ),
        ("cached/source_map.js", "cached/source_map.cd45b8534a87.js"),
        (
            "cached/source_map_trailing_whitespace.js",
            "cached/source_map_trailing_whitespace.cd45b8534a87.js",
        ),
        (
            "cached/source_map_sensitive.js",
            "cached/source_map_sensitive.5da96fdd3cb3.js",
        ),
        (
            "cached/source_map_data_uri.js",
            "cached/source_map_data_uri.a68d23cbf6dd.js",
        ),
        (
            "cached/source_map.css.map",
            "cached/source_map.css.99914b932bd3.map",
        ),
        ("styles_root.css", "styles_root.401f2509a628.css"),
        (
            "cached/img/relative.png",
            "cached/img/relative.acae32e4532b.png",
        ),
    ];
    for (name, hashed) in expected {
        assert_eq!(plan.files[name].hashed_name, hashed, "{name}");
    }
    // Every final name is the md5 of the final bytes.
    for (name, file) in &plan.files {
        let bytes = file.rewritten.as_deref().unwrap_or(&originals[name]);
        assert_eq!(hashed_name(name, &content_hash(bytes)), file.hashed_name);
    }
}

#[test]
fn djangos_expected_contents() {
    let originals = documents();
    let plan = plan_ok(&originals);
    let styles = text(&plan, "cached/styles.css", &originals);
    assert!(styles.contains("other.d41d8cd98f00.css") && !styles.contains("cached/other.css"));

    let ignored = text(&plan, "cached/css/ignored.css", &originals);
    for kept in [
        "#foobar",
        "http:foobar",
        "https:foobar",
        "data:foobar",
        "chrome:foobar",
        "//foobar",
        "url()",
        "/* @import url(\"non_exist.css\") */",
        "/* url(\"non_exist.png\") */",
        "@import url(\"non_exist.css\")",
        "url(\"non_exist.png\")",
        "@import url(other.css)",
        "content: \"url(non_exist.png)\";",
        "content: 'url(non_exist.png)';",
        "/*url(\"does.not.exist.png\")*/ url(\"/static/cached/img/relative.acae32e4532b.png\")",
        ".tw\\:bg-\\[url\\(\\'non_exist.png\\'\\)\\] { background: url(\"../img/relative.acae32e4532b.png\"); }",
    ] {
        assert!(
            ignored.contains(kept),
            "ignored.css lacks {kept:?}:\n{ignored}"
        );
    }

    let fragments = text(&plan, "cached/css/fragments.css", &originals);
    for kept in [
        "fonts/font.b9b105392eb8.eot?#iefix",
        "fonts/font.b8d603e42714.svg#webfontIyfZbseF",
        "fonts/font.b8d603e42714.svg#path/to/../../fonts/font.svg",
        "data:font/woff;charset=utf-8;base64,d09GRgABAAAAADJoAA0AAAAAR2QAAQAAAAAAAAAAAAA",
        "#default#VML",
    ] {
        assert!(
            fragments.contains(kept),
            "fragments.css lacks {kept:?}:\n{fragments}"
        );
    }

    let absolute = text(&plan, "cached/absolute.css", &originals);
    assert!(absolute.contains("/static/cached/styles.5e0040571e1a.css"));
    assert!(absolute.contains("/static/styles_root.401f2509a628.css"));
    assert!(absolute.contains("/static/cached/img/relative.acae32e4532b.png"));

    let relative = text(&plan, "cached/relative.css", &originals);
    assert!(relative.contains("url(\"img/relative.acae32e4532b.png\")"));
    assert!(relative.contains("../cached/styles.5e0040571e1a.css"));
    assert!(relative.contains("absolute.eb04def9f9a4.css#eggs"));

    let import = text(&plan, "cached/import.css", &originals);
    assert_eq!(import, "@import url(\"styles.5e0040571e1a.css\");\n");

    let nested = text(&plan, "cached/data_uri_with_nested_url.css", &originals);
    assert!(nested.contains("url(\"data:image/svg+xml,url(%23b) url(%23c)\")"));

    let map = text(&plan, "cached/source_map.css", &originals);
    assert!(map.contains("/*# sourceMappingURL=source_map.css.99914b932bd3.map */"));
    let tabs = text(&plan, "cached/source_map_tabs.css", &originals);
    assert!(tabs.contains("/*# sourceMappingURL=source_map.css.99914b932bd3.map */"));
    let sensitive = text(&plan, "cached/source_map_sensitive.css", &originals);
    assert!(sensitive.contains("/*# sOuRcEMaPpInGURL=source_map.css.map */"));
    let js = text(
        &plan,
        "cached/source_map_trailing_whitespace.js",
        &originals,
    );
    assert!(js.contains("//# sourceMappingURL=source_map.js.99914b932bd3.map\n"));

    // Django's ES-module patterns are opt-in: module.js is untouched.
    assert!(plan.files["cached/module.js"].rewritten.is_none());
}

#[test]
fn references_are_exposed() {
    let plan = plan_ok(&documents());
    let refs = &plan.files["cached/relative.css"].references;
    let targets: BTreeSet<(&str, ReferenceKind)> =
        refs.iter().map(|r| (r.target.as_str(), r.kind)).collect();
    assert_eq!(
        targets,
        BTreeSet::from([
            ("cached/absolute.css", ReferenceKind::Hashed),
            ("cached/img/relative.png", ReferenceKind::Hashed),
            ("cached/styles.css", ReferenceKind::Hashed),
        ])
    );
    let affected = plan.affected_by(["cached/other.css"]);
    for name in [
        "cached/other.css",
        "cached/styles.css",
        "cached/import.css",
        "cached/relative.css",
        "cached/absolute.css",
    ] {
        assert!(affected.contains(name), "{name} not in {affected:?}");
    }
    assert!(!affected.contains("cached/url.css"));
    assert!(!affected.contains("cached/css/window.css"));
}

#[test]
fn cycle_names_every_file() {
    let loop_files = files(&[
        ("foo.css", "@import url(\"bar.css\")\n"),
        ("bar.css", "@import url(\"foo.css\")\n"),
        ("baz.css", "body {\n    background-color: #fafafa;\n}\n"),
        ("uses_loop.css", "@import url(\"foo.css\");\n"),
    ]);
    let error = plan(&loop_files, &ManifestOptions::default()).unwrap_err();
    assert_eq!(
        error,
        Error::ReferenceCycle {
            files: vec!["bar.css".into(), "foo.css".into()]
        }
    );
    assert!(error.to_string().contains("bar.css, foo.css"), "{error}");

    let itself = files(&[("self.css", ".a{background:url(self.css)}")]);
    let error = plan(&itself, &ManifestOptions::default()).unwrap_err();
    assert_eq!(
        error,
        Error::ReferenceCycle {
            files: vec!["self.css".into()]
        }
    );
}

#[test]
fn missing_reference_has_djangos_note() {
    let faulty = files(&[("faulty.css", "@import url(\"missing.css\");\n")]);
    match plan(&faulty, &ManifestOptions::default()).unwrap_err() {
        Error::MissingReference {
            file,
            line,
            reference,
            target,
            django_note,
            ..
        } => {
            assert_eq!(file, "faulty.css");
            assert_eq!(line, 1);
            assert_eq!(reference, "url(\"missing.css\")");
            assert_eq!(target, "missing.css");
            assert_eq!(
                django_note,
                "'faulty.css' contains this reference 'url(\"missing.css\")' on line \n1: @import url(\"missing.css\");"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let second_line = files(&[("missing.css", "/* x */\n.x{background:url(\"nope.png\")}")]);
    let error = plan(&second_line, &ManifestOptions::default()).unwrap_err();
    let Error::MissingReference {
        django_note, line, ..
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(line, 2);
    assert_eq!(
        django_note,
        "'missing.css' contains this reference 'url(\"nope.png\")' on line \n2: .x{background:url(\"nope.png\")}"
    );
    // A long line shows only its number.
    let long = format!(".x{{background:url(\"nope.png\")}}{}", " ".repeat(80));
    let error = plan(&files(&[("l.css", &long)]), &ManifestOptions::default()).unwrap_err();
    let Error::MissingReference { django_note, .. } = error else {
        panic!("{error:?}")
    };
    assert!(django_note.ends_with("on line \n1"), "{django_note}");
}

#[test]
fn all_errors_are_reported_sorted() {
    let mut input = files(&[("b.css", "url(x.png)"), ("a.css", "url(y.png)")]);
    input.insert("c.js".into(), vec![0xff, 0xfe]);
    let error = plan(&input, &ManifestOptions::default()).unwrap_err();
    let files: Vec<&str> = error
        .errors()
        .iter()
        .map(|e| match e {
            Error::MissingReference { file, .. } | Error::NotUtf8 { file, .. } => file.as_str(),
            _ => "?",
        })
        .collect();
    assert_eq!(files, ["a.css", "b.css", "c.js"]);
    assert!(matches!(
        error.errors()[2],
        Error::NotUtf8 { valid_up_to: 0, .. }
    ));
}

#[test]
fn query_reference_to_css_uses_unprocessed_hash() {
    let input = files(&[
        ("css/dark.css", ".d{background:url(bg.png)}"),
        ("css/bg.png", "png"),
        (
            "css/site.css",
            "@import url(\"dark.css?v=1\");\n@import url(\"dark.css\");\n",
        ),
    ]);
    let plan = plan_ok(&input);
    let original = content_hash(input["css/dark.css"].as_slice());
    let dark = &plan.files["css/dark.css"];
    assert_ne!(dark.hash, original);
    let site = text(&plan, "css/site.css", &input);
    assert_eq!(
        site,
        format!(
            "@import url(\"dark.{original}.css?v=1\");\n@import url(\"{}\");\n",
            dark.hashed_name.trim_start_matches("css/")
        )
    );
    let kinds: BTreeSet<(&str, ReferenceKind)> = plan.files["css/site.css"]
        .references
        .iter()
        .map(|r| (r.target.as_str(), r.kind))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ("css/dark.css", ReferenceKind::Hashed),
            ("css/dark.css", ReferenceKind::Original)
        ])
    );
}

#[test]
fn url_forms_and_skips() {
    let input = files(&[
        ("img/x.png", "x"),
        ("img/with space.png", "s"),
        ("css/p.css", "p"),
        (
            "css/a.css",
            concat!(
                ".a{background:url(  ../img/x.png  )}\n",
                ".b{background:url('../img/x.png')}\n",
                "@IMPORT \"p.css\";\n",
                ".c{background:url(../img/with%20space.png)}\n",
                ".d{background:url(/elsewhere/x.png)}\n",
                ".e{background:url(/static/img/x.png?v=1#f)}\n",
                ".f{background:URL(../img/x.png)}\n",
                ".g{background:url(../img/)}\n",
                ".h{background:url(../img)}\n",
                "/* url(missing.png) */\n",
                ".i{content:\"url(missing.png)\"}\n",
            ),
        ),
    ]);
    let plan = plan_ok(&input);
    let x = content_hash(b"x");
    let s = content_hash(b"s");
    let p = content_hash(b"p");
    assert_eq!(
        text(&plan, "css/a.css", &input),
        format!(
            concat!(
                ".a{{background:url(\"../img/x.{x}.png\")}}\n",
                ".b{{background:url(\"../img/x.{x}.png\")}}\n",
                "@import url(\"p.{p}.css\");\n",
                ".c{{background:url(\"../img/with space.{s}.png\")}}\n",
                ".d{{background:url(/elsewhere/x.png)}}\n",
                ".e{{background:url(\"/static/img/x.{x}.png?v=1#f\")}}\n",
                ".f{{background:url(\"../img/x.{x}.png\")}}\n",
                ".g{{background:url(\"../img/\")}}\n",
                ".h{{background:url(\"../img\")}}\n",
                "/* url(missing.png) */\n",
                ".i{{content:\"url(missing.png)\"}}\n",
            ),
            x = x,
            s = s,
            p = p
        )
    );
}

#[test]
fn reference_failures_like_django() {
    let opts = ManifestOptions::default();
    // A space before the quote: the quote becomes part of the url.
    let error = plan(
        &files(&[("img.png", "i"), ("a.css", "url( 'img.png' )")]),
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::MissingReference { target, .. } if target == "'img.png'"),
        "{error:?}"
    );
    // Mismatched quotes fail from 6.0 on.
    let error = plan(
        &files(&[("img.png", "i"), ("a.css", "url(\"img.png')")]),
        &opts,
    )
    .unwrap_err();
    assert!(matches!(error, Error::MissingReference { .. }), "{error:?}");
    // Only lowercase schemes are skipped.
    let error = plan(&files(&[("a.css", "url(DATA:foo)")]), &opts).unwrap_err();
    assert!(matches!(error, Error::MissingReference { .. }), "{error:?}");
    // Outside STATIC_ROOT.
    let error = plan(&files(&[("a.css", "url(../../x.png)")]), &opts).unwrap_err();
    assert!(matches!(error, Error::MissingReference { .. }), "{error:?}");
}

#[test]
fn cdn_static_url_leaves_absolute_paths() {
    let input = files(&[("x.png", "x"), ("a.css", "url(/static/x.png) url(x.png)")]);
    let opts = ManifestOptions {
        static_url: "https://cdn.example.com/static/".into(),
    };
    let plan = plan(&input, &opts).unwrap();
    let x = content_hash(b"x");
    assert_eq!(
        text(&plan, "a.css", &input),
        format!("url(/static/x.png) url(\"x.{x}.png\")")
    );
}

#[test]
fn js_comments_and_strings_are_ignored_blocks() {
    let input = files(&[
        ("app.js.map", "{}"),
        (
            "app.js",
            "var s = `\n//# sourceMappingURL=nope.map\n`;\n//# sourceMappingURL=app.js.map",
        ),
    ]);
    let plan = plan_ok(&input);
    assert_eq!(
        text(&plan, "app.js", &input),
        "var s = `\n//# sourceMappingURL=nope.map\n`;\n//# sourceMappingURL=app.js.99914b932bd3.map"
    );
}

#[test]
fn dependency_chain_in_one_pass() {
    // Eight same-depth files chained against scandir order: Django may give up; the fixed
    // point is still well defined and each name is the hash of its final bytes.
    let mut entries = Vec::new();
    for i in 0..8 {
        let body = if i == 7 {
            ".end{}".to_string()
        } else {
            format!("@import url(\"c{}.css\");", i + 1)
        };
        entries.push((format!("c{i}.css"), body));
    }
    let input: BTreeMap<String, Vec<u8>> = entries
        .into_iter()
        .map(|(n, b)| (n, b.into_bytes()))
        .collect();
    let plan = plan_ok(&input);
    let mut expected_next = hashed_name("c7.css", &content_hash(b".end{}"));
    for i in (0..7).rev() {
        let body = format!("@import url(\"{expected_next}\");");
        let name = format!("c{i}.css");
        assert_eq!(text(&plan, &name, &input), body);
        expected_next = hashed_name(&name, &content_hash(body.as_bytes()));
        assert_eq!(plan.files[&name].hashed_name, expected_next);
    }
}

#[test]
fn rewrite_file_matches_plan() {
    let originals = documents();
    let plan = plan_ok(&originals);
    let collected = CollectedFiles::new(
        originals
            .iter()
            .map(|(n, b)| (n.clone(), content_hash(b)))
            .collect(),
    );
    let finals: std::collections::HashMap<String, String> = plan
        .files
        .iter()
        .map(|(n, f)| (n.clone(), f.hashed_name.clone()))
        .collect();
    for name in [
        "cached/relative.css",
        "cached/css/fragments.css",
        "cached/source_map.js",
    ] {
        let (content, refs) = rewrite_file(
            name,
            &originals[name],
            &collected,
            &finals,
            &ManifestOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(content, text(&plan, name, &originals));
        assert_eq!(refs, plan.files[name].references);
    }
    assert!(
        rewrite_file(
            "x.png",
            b"",
            &collected,
            &finals,
            &ManifestOptions::default()
        )
        .unwrap()
        .is_none()
    );
}

#[test]
fn staticfiles_json_like_python() {
    assert_eq!(
        staticfiles_json(&BTreeMap::new()),
        r#"{"paths": {}, "version": "1.1", "hash": "d75171398898"}"#
    );
    let paths: BTreeMap<String, String> = [
        ("b.txt", "b.1.txt"),
        ("a/ü.css", "a/ü.2.css"),
        ("😀\"\\\n\u{7f}", "x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        staticfiles_json(&paths),
        r#"{"paths": {"a/\u00fc.css": "a/\u00fc.2.css", "b.txt": "b.1.txt", "\ud83d\ude00\"\\\n\u007f": "x"}, "version": "1.1", "hash": "218b7df8e5cc"}"#
    );
}

#[test]
fn replan_of_affected_files_matches_a_full_plan() {
    let mut originals = documents();
    let before = plan_ok(&originals);
    // Change a file other CSS files reference (transitively), then re-plan only what it
    // affects, with the rest taken from the previous plan.
    let changed = "cached/img/relative.png";
    assert!(originals.contains_key(changed), "fixture has {changed}");
    originals.insert(changed.to_string(), b"new image bytes".to_vec());
    let affected = before.affected_by([changed]);
    assert!(affected.len() > 1, "{affected:?}");
    let contents: BTreeMap<&str, &[u8]> = affected
        .iter()
        .filter(|n| adjustable(n).is_some())
        .map(|n| (n.as_str(), originals[n].as_slice()))
        .collect();
    let hashes: HashMap<String, String> = originals
        .iter()
        .map(|(n, b)| (n.clone(), content_hash(b)))
        .collect();
    let after = replan(hashes, &contents, &before, &ManifestOptions::default()).unwrap();
    let full = plan_ok(&originals);
    assert_eq!(after.paths(), full.paths());
    for name in &affected {
        assert_eq!(after.files[name], full.files[name], "{name}");
    }
    // Nothing re-planned and nothing in the previous plan: a caller bug, reported.
    let empty: BTreeMap<&str, &[u8]> = BTreeMap::new();
    let hashes: HashMap<String, String> = originals
        .iter()
        .map(|(n, b)| (n.clone(), content_hash(b)))
        .collect();
    assert!(matches!(
        replan(
            hashes,
            &empty,
            &ManifestPlan::default(),
            &ManifestOptions::default()
        ),
        Err(Error::Internal(_))
    ));
}

#[test]
fn plain_names_are_hashed_as_the_general_path_would() {
    let general = |name: &str, hash: &str| {
        let parsed = python::urlsplit(&python::unquote(name));
        let clean = python::strip(&parsed.path).to_string();
        build_hashed_name(name, parsed, &clean, hash)
    };
    for name in [
        "css/site.css",
        "img/logo.png",
        "LICENSE",
        "a/.hidden",
        "..x.css",
        "a.b.c",
        "dir.d/file",
        "css/",
        "x.tar.gz",
        "deep/er/path/file.min.js",
        "fonts/a-b_c~d+e.woff2",
    ] {
        for hash in ["0123456789ab", ""] {
            assert_eq!(
                plain_hashed_name(name, hash),
                Some(general(name, hash)),
                "{name:?} {hash:?}"
            );
        }
    }
    for odd in [
        "a b.css",
        "a%20b.css",
        "a?b.css",
        "a#b",
        "x:y.css",
        "//cdn/x.css",
        "",
    ] {
        assert_eq!(plain_hashed_name(odd, "0123456789ab"), None, "{odd:?}");
    }
}
