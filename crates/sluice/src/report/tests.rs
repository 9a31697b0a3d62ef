//! The report's document from a build's analysis: kinds, shares, shared members, compiled
//! contributions, compression that did not pay, changes since the previous report, and the
//! data kept for the next one.

use std::path::Path;

use sluice_core::bundles::BundleKind;
use sluice_engine::build::composition::{BundleMakeup, CompiledOutput, MemberShare};
use sluice_engine::record::Key;

use super::*;

fn ship(logical: &str, raw: u64, gzip: Option<u64>, brotli: Option<u64>) -> Shipped {
    Shipped {
        logical: logical.into(),
        served: logical.replacen('.', ".0123456789ab.", 1),
        raw,
        gzip,
        brotli,
        key: Some(Key::of(logical.as_bytes())),
    }
}

fn share(listed: &str, member: &str, raw: u64, bytes: u64) -> MemberShare {
    MemberShare {
        listed: listed.into(),
        member: member.into(),
        raw,
        bytes,
    }
}

fn analysis() -> Analysis {
    Analysis {
        shipped: vec![
            ship("css/base.css", 50, Some(30), Some(25)),
            ship("css/other.min.css", 60, Some(45), Some(40)),
            ship("css/site.min.css", 100, Some(40), Some(20)),
            ship("css/site.min.css.map", 300, Some(100), Some(90)),
            ship("css/theme.css", 30, None, None),
            ship("css/theme.scss", 40, None, None),
            ship("data/x.json", 200, None, None),
            ship("img/a.png", 500, None, None),
        ],
        bundles: vec![
            BundleMakeup {
                label: "css bundle \"site\"".into(),
                kind: BundleKind::Css,
                output: "css/site.min.css".into(),
                origin: "sluice.toml:3".into(),
                mapped: true,
                len: 100,
                members: vec![
                    share("css/base.css", "css/base.css", 50, 45),
                    share("css/theme.scss", "css/theme.css", 30, 25),
                ],
                other: 30,
            },
            BundleMakeup {
                label: "css bundle \"other\"".into(),
                kind: BundleKind::Css,
                output: "css/other.min.css".into(),
                origin: "sluice.toml:7".into(),
                mapped: true,
                len: 60,
                members: vec![share("css/base.css", "css/base.css", 50, 40)],
                other: 20,
            },
        ],
        compiled: vec![CompiledOutput {
            source: "css/theme.scss".into(),
            output: "css/theme.css".into(),
            source_len: 40,
            len: 30,
        }],
        gzip: true,
        brotli: true,
    }
}

fn context<'a>(html: &'a Path, generated_ms: u64) -> Context<'a> {
    Context {
        project: Path::new("/p"),
        output: Path::new("/p/static"),
        html,
        hashed: true,
        minified: true,
        shipped: true,
        generated_ms,
    }
}

#[test]
fn files_bundles_members_and_what_did_not_compress() {
    let html = Path::new("/p/.sluice/report.html");
    let doc = document(&analysis(), &[], None, &context(html, 1));
    let kinds: Vec<(&str, &str)> = doc
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("css/base.css", "file"),
            ("css/other.min.css", "bundle"),
            ("css/site.min.css", "bundle"),
            ("css/site.min.css.map", "map"),
            ("css/theme.css", "compiled"),
            ("css/theme.scss", "file"),
            ("data/x.json", "file"),
            ("img/a.png", "file"),
        ]
    );
    // A file without a compressed copy counts its own bytes in gzip and Brotli.
    let png = &doc.files[7];
    assert_eq!(
        (png.sizes, png.compressible),
        (
            Sizes {
                raw: 500,
                min: 500,
                gzip: 500,
                br: 500
            },
            false
        )
    );

    let site = &doc.bundles[0];
    assert_eq!(site.output, "css/site.min.css");
    // Members' compressed bytes in proportion to their minified ones; the parts add up.
    assert_eq!(
        site.members[0].sizes,
        Sizes {
            raw: 50,
            min: 45,
            gzip: 18,
            br: 9
        }
    );
    assert_eq!(site.members[1].sizes.min, 25);
    assert_eq!(site.members[1].file, "css/theme.css");
    assert_eq!(
        site.other,
        Sizes {
            raw: 30,
            min: 30,
            gzip: 12,
            br: 6
        }
    );
    assert_eq!(
        site.sizes,
        Sizes {
            raw: 110,
            min: 100,
            gzip: 40,
            br: 20
        }
    );
    assert!((site.members[0].share - 0.45).abs() < 1e-9);
    assert_eq!(site.members[0].also_in, ["css/other.min.css"]);
    assert!(site.members[1].also_in.is_empty());
    // A bundle file's raw bytes are its members' before minifying.
    assert_eq!(doc.files[2].sizes.raw, 110);
    assert_eq!(doc.files[2].sizes.min, 100);

    assert_eq!(
        doc.shared,
        [SharedMember {
            path: "css/base.css".into(),
            bundles: vec!["css/site.min.css".into(), "css/other.min.css".into()],
            bytes: 85,
        }]
    );
    assert_eq!(doc.compiled[0].bundles.len(), 1);
    assert_eq!(doc.compiled[0].bundles[0].bundle, "css/site.min.css");
    assert_eq!(doc.compiled[0].bundles[0].sizes.min, 25);
    // JSON is worth compressing and got no copy; the PNG is never compressed; the compiled
    // CSS and its source got none either (too small to pay).
    assert_eq!(
        doc.uncompressed.not_paid,
        [
            ("data/x.json".to_string(), 200),
            ("css/theme.scss".to_string(), 40),
            ("css/theme.css".to_string(), 30),
        ]
    );
    assert_eq!(
        (
            doc.uncompressed.skipped_files,
            doc.uncompressed.skipped_bytes
        ),
        (1, 500)
    );
    assert_eq!(doc.encodings, ["gzip", "br"]);
    assert!(doc.changes.is_none());
}

#[test]
fn changes_since_the_previous_report_of_the_same_output() {
    let html = Path::new("/p/.sluice/report.html");
    let before = document(&analysis(), &[], None, &context(html, 1000));
    let mut now = analysis();
    now.shipped.retain(|s| s.logical != "data/x.json");
    now.shipped.push(ship("js/new.js", 70, None, None));
    for s in &mut now.shipped {
        match s.logical.as_str() {
            "css/site.min.css" => s.raw = 130,
            "css/site.min.css.map" => s.raw = 400,
            "img/a.png" => s.raw = 490,
            _ => {}
        }
    }
    now.bundles[0].len = 130;
    now.bundles[0].other = 60;
    let doc = document(&now, &[], Some(&before), &context(html, 2000));
    let changes = doc.changes.expect("compared");
    assert_eq!(changes.since_ms, 1000);
    let bundles: Vec<&str> = changes.bundles.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(bundles, ["css/site.min.css"]);
    assert_eq!(changes.bundles[0].before.map(|s| s.min), Some(100));
    assert_eq!(changes.bundles[0].after.map(|s| s.min), Some(130));
    // Files, the largest change first; maps are left out, unchanged files too.
    let files: Vec<(&str, Option<u64>, Option<u64>)> = changes
        .files
        .iter()
        .map(|c| {
            (
                c.path.as_str(),
                c.before.map(|s| s.min),
                c.after.map(|s| s.min),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("data/x.json", Some(200), None),
            ("js/new.js", None, Some(70)),
            ("img/a.png", Some(500), Some(490)),
        ]
    );
    // Another output root: nothing to compare with.
    let elsewhere = Context {
        output: Path::new("/p/other"),
        ..context(html, 3000)
    };
    assert!(
        document(&now, &[], Some(&before), &elsewhere)
            .changes
            .is_none()
    );
}

#[test]
fn the_data_is_kept_for_the_next_report_only_when_the_build_shipped() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("out/report.html");
    let mut doc = document(&analysis(), &[], None, &context(&html, 5));
    doc.shipped = false;
    write(&doc, dir.path()).unwrap();
    assert!(html.is_file());
    assert!(previous(dir.path()).is_none());
    assert_eq!(last_page(dir.path()), dir.path().join(DEFAULT_HTML));
    doc.shipped = true;
    write(&doc, dir.path()).unwrap();
    assert_eq!(previous(dir.path()), Some(doc));
    assert_eq!(last_page(dir.path()), html);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<script type=\"application/json\" id=\"sluice-report-data\">"));
    assert!(page.contains("default-src 'none'"));
}
