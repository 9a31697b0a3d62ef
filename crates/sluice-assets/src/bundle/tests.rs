use std::collections::BTreeMap;

use sluice_core::bundles::{BundleDef, BundleKind, CompilerKind, PipelineSettings};
use sluice_core::config::Origin;

use super::*;

fn def(kind: BundleKind, files: &[&str], output: &str) -> BundleDef {
    BundleDef {
        kind,
        name: "site".into(),
        files: files.iter().map(|s| s.to_string()).collect(),
        output: output.into(),
        datauri: false,
        modules: Default::default(),
        origin: Origin::Default,
    }
}

struct Files(BTreeMap<String, Vec<u8>>);

impl Files {
    fn new(files: &[(&str, &str)]) -> Files {
        Files(
            files
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    fn assemble(
        &self,
        def: &BundleDef,
        settings: &PipelineSettings,
        compilers: &[CompilerKind],
    ) -> Result<Assembled, Error> {
        let tree = Tree::new(self.0.keys().map(String::as_str));
        let read = |p: &str| {
            self.0
                .get(p)
                .cloned()
                .ok_or_else(|| "no such file".to_string())
        };
        let size = |p: &str| self.0.get(p).map(|b| b.len() as u64);
        // A compiled output's map is the file `<output>.map` of the set, when there is one.
        let source_map = |p: &str| {
            let bytes = self.0.get(&format!("{p}.map"))?;
            String::from_utf8(bytes.clone()).ok()
        };
        let ctx = Context {
            settings,
            compilers,
            root: "/srv/static",
            tree: &tree,
            read: &read,
            size: &size,
            source_map: &source_map,
        };
        assemble(def, &ctx)
    }
}

#[test]
fn css_is_joined_with_newlines_and_urls_follow_the_output() {
    let files = Files::new(&[
        ("css/b.css", "b{background:url(../img/b.png)}"),
        ("css/a.css", "a{background:url('img/a.png')}\n"),
        (
            "css/sub/c.css",
            "c{x:url(\"/abs.png\") url(#f) url(data:x)}",
        ),
    ]);
    let d = def(
        BundleKind::Css,
        &["css/*.css", "css/sub/c.css", "css/a.css"],
        "out/all/site.css",
    );
    let a = files
        .assemble(&d, &PipelineSettings::default(), &[])
        .unwrap();
    assert_eq!(
        a.code,
        "a{background:url('../../css/img/a.png')}\n\nb{background:url(../../img/b.png)}\nc{x:url(\"/abs.png\") url(#f) url(data:x)}"
    );
    assert_eq!(
        a.spans
            .iter()
            .map(|s| (s.source.as_str(), s.first_line, s.line_count))
            .collect::<Vec<_>>(),
        [
            ("../../css/a.css", 0, 2),
            ("../../css/b.css", 2, 1),
            ("../../css/sub/c.css", 3, 1)
        ]
    );
    assert_eq!(a.inputs, ["css/a.css", "css/b.css", "css/sub/c.css"]);
}

#[test]
fn js_is_joined_with_semicolons_and_wrapped() {
    let files = Files::new(&[
        ("js/a.js", "var a = 1\n//# sourceMappingURL=a.js.map"),
        ("js/b.js", "(b)()"),
        ("js/t/x.jst", "<p>'x'</p>\n"),
    ]);
    let d = def(
        BundleKind::Js,
        &["js/a.js", "js/b.js", "js/t/*.jst"],
        "js/out/all.js",
    );
    let settings = PipelineSettings {
        template_func: "_.template".into(),
        ..PipelineSettings::default()
    };
    let a = files.assemble(&d, &settings, &[]).unwrap();
    assert_eq!(
        a.code,
        "(function() {\nvar a = 1\n//# sourceMappingURL=../a.js.map\n;(b)()window.JST = window.JST || {};\n\nwindow.JST['x'] = _.template('<p>\\'x\\'</p>\\n');\n\n}).call(this);"
    );
    assert_eq!(a.spans[0].first_line, 1);
    assert_eq!(a.spans[1].first_line, 3);
    let unwrapped = PipelineSettings {
        disable_wrapper: true,
        ..PipelineSettings::default()
    };
    let d = def(BundleKind::Js, &["js/a.js", "js/b.js"], "js/all.js");
    let a = files.assemble(&d, &unwrapped, &[]).unwrap();
    assert_eq!(a.code, "var a = 1\n//# sourceMappingURL=a.js.map\n;(b)()");
    assert_eq!(a.spans[1].first_line, 2);
}

#[test]
fn missing_members_name_bundle_and_pattern() {
    let files = Files::new(&[("css/a.css", "a"), ("css/sub/x.css", "x")]);
    let s = PipelineSettings::default();
    for (pattern, expected) in [
        (
            "css/nope.css",
            "pattern \"css/nope.css\" names a file that does not exist",
        ),
        ("css/*.less", "pattern \"css/*.less\" matches no file"),
        (
            "css/*",
            "pattern \"css/*\" matches the folder \"css/sub\", not a file",
        ),
    ] {
        let d = def(BundleKind::Css, &["css/a.css", pattern], "all.css");
        let message = files.assemble(&d, &s, &[]).unwrap_err().to_string();
        assert!(
            message.starts_with("css bundle \"site\" (default): "),
            "{message}"
        );
        assert!(message.ends_with(expected), "{message}");
    }
    let files = Files(BTreeMap::from([("css/a.css".to_string(), vec![0xff])]));
    let d = def(BundleKind::Css, &["css/a.css"], "all.css");
    let message = files.assemble(&d, &s, &[]).unwrap_err().to_string();
    assert!(message.contains("not valid UTF-8"), "{message}");
}

#[test]
fn compiled_members_use_the_compiled_name() {
    let files = Files::new(&[("css/a.scss", "$x: 1;"), ("css/a.css", "a{}")]);
    let d = def(BundleKind::Css, &["css/a.scss"], "all.css");
    let s = PipelineSettings::default();
    let a = files.assemble(&d, &s, &[CompilerKind::Sass]).unwrap();
    assert_eq!(a.code, "a{}");
    assert_eq!(a.inputs, ["css/a.scss", "css/a.css"]);
    // Without the compiler the source is joined as it is (django-pipeline with no COMPILERS).
    assert_eq!(files.assemble(&d, &s, &[]).unwrap().code, "$x: 1;");
}

#[test]
fn a_compiled_member_with_a_map_is_named_by_its_source() {
    // `x.ts` compiled by oxc: two lines, the second mapped to the source's third line.
    let ts = "let a: number = 1;\n\nwindow.b = a;\n";
    let map = serde_json::json!({
        "version": 3, "sources": ["x.ts"], "sourcesContent": [ts], "names": [],
        "mappings": "AAAA;AAEA",
    })
    .to_string();
    let files = Files::new(&[
        ("js/x.ts", ts),
        (
            "js/x.js",
            "let a = 1;\nwindow.b = a;\n//# sourceMappingURL=x.js.map\n",
        ),
        ("js/x.js.map", &map),
        ("js/y.js", "var y;"),
    ]);
    let mut d = def(BundleKind::Js, &["js/y.js", "js/x.ts"], "out/all.js");
    d.name = "all".into();
    let s = PipelineSettings {
        disable_wrapper: true,
        ..PipelineSettings::default()
    };
    let a = files.assemble(&d, &s, &[CompilerKind::TypeScript]).unwrap();
    // The member's own map comment is dropped, the rest is the compiler's output.
    assert_eq!(a.code, "var y;\n;let a = 1;\nwindow.b = a;\n");
    assert_eq!(a.spans[0].source, "../js/y.js");
    assert_eq!(a.spans[1].source, "../js/x.ts");
    assert_eq!(a.spans[1].content.as_deref(), Some(ts));
    let own = a.spans[1].map.as_ref().expect("the member's map");
    assert_eq!(own.lookup(1, 3), Some((2, 0)));
    assert_eq!(a.members, ["js/y.js", "js/x.js"]);
    // Without a map the compiled output is the member, as for SCSS.
    let files = Files::new(&[("js/x.ts", ts), ("js/x.js", "let a = 1;\n")]);
    let d = def(BundleKind::Js, &["js/x.ts"], "all.js");
    let a = files.assemble(&d, &s, &[CompilerKind::TypeScript]).unwrap();
    assert_eq!(a.spans[0].source, "js/x.js");
    assert!(a.spans[0].map.is_none());
}

#[test]
fn datauri_embeds_small_images_under_embed() {
    let files = Files::new(&[
        (
            "css/a.css",
            "a{b:url(../img/embed/dot.png)} c{d:url(\"../img/embed/dot.png\")} e{f:url(../img/big.png)}",
        ),
        ("img/embed/dot.png", "foo"),
        ("img/big.png", "foo"),
    ]);
    let mut d = def(BundleKind::Css, &["css/a.css"], "css/all.css");
    d.datauri = true;
    let a = files
        .assemble(&d, &PipelineSettings::default(), &[])
        .unwrap();
    assert_eq!(
        a.code,
        "a{b:url(__EMBED__img/embed/dot.png)} c{d:url(\"__EMBED__img/embed/dot.png\")} e{f:url(../img/big.png)}"
    );
    assert!(a.inputs.contains(&"img/embed/dot.png".to_string()));
    let read = |p: &str| files.0.get(p).cloned();
    let (out, _) = finish(&a, None, &read).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        String::from_utf8(out[0].1.clone()).unwrap(),
        "a{b:url(\"data:image/png;charset=utf-8;base64,Zm9v\")} c{d:url(\"__EMBED__img/embed/dot.png\")} e{f:url(../img/big.png)}"
    );
}

struct Upper;

impl Minifier for Upper {
    fn minify(
        &self,
        _: BundleKind,
        code: &str,
        spans: &[MemberSpan],
    ) -> Result<Minified, crate::Error> {
        Ok(Minified {
            code: code.to_uppercase(),
            map: format!("{{\"sources\":{}}}", spans.len()),
            warnings: Vec::new(),
        })
    }
}

#[test]
fn minified_bundles_get_a_map_beside_them() {
    let files = Files::new(&[("js/a.js", "a()")]);
    let settings = PipelineSettings {
        disable_wrapper: true,
        ..PipelineSettings::default()
    };
    let a = files
        .assemble(
            &def(BundleKind::Js, &["js/a.js"], "js/all.min.js"),
            &settings,
            &[],
        )
        .unwrap();
    let (out, _) = finish(&a, Some(&Upper), &|_: &str| None).unwrap();
    assert_eq!(
        out[0],
        (
            "js/all.min.js".to_string(),
            b"A()\n//# sourceMappingURL=all.min.js.map".to_vec()
        )
    );
    assert_eq!(
        out[1],
        (
            "js/all.min.js.map".to_string(),
            b"{\"file\":\"all.min.js\",\"sources\":1}".to_vec()
        )
    );
    let files = Files::new(&[("a.css", "a{}")]);
    let a = files
        .assemble(&def(BundleKind::Css, &["a.css"], "all.css"), &settings, &[])
        .unwrap();
    let (out, _) = finish(&a, Some(&Upper), &|_: &str| None).unwrap();
    assert_eq!(
        out[0].1,
        b"A{}\n/*# sourceMappingURL=all.css.map */".to_vec()
    );
}

#[test]
fn which_bundles_a_change_affects() {
    let defs = [
        def(BundleKind::Css, &["css/*.css"], "a.css"),
        def(BundleKind::Css, &["css/sub/x.scss"], "b.css"),
        def(BundleKind::Js, &["js/**/*.js"], "c.js"),
    ];
    let inputs = vec![
        vec!["css/a.css".to_string(), "img/embed/x.png".to_string()],
        vec!["css/sub/x.scss".to_string(), "css/sub/x.css".to_string()],
        vec![],
    ];
    assert_eq!(affected(&defs, &inputs, "css/new.css"), [0]);
    assert_eq!(affected(&defs, &inputs, "img/embed/x.png"), [0]);
    assert_eq!(affected(&defs, &inputs, "css/sub/x.css"), [1]);
    assert_eq!(affected(&defs, &inputs, "js/lib/y.js"), [2]);
    assert!(affected(&defs, &inputs, "js/y.js").is_empty());
    assert!(affected(&defs, &inputs, "css/.hidden.css").is_empty());
}

#[test]
fn wrapper_formatting() {
    assert_eq!(wrap("(%s) 100%%", "x").unwrap(), "(x) 100%");
    assert!(wrap("no", "x").is_err());
    assert!(wrap("%s %s", "x").is_err());
    assert!(wrap("%d", "x").is_err());
}

mod dev {
    use super::super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn dev_bundles_link_their_map() {
        let assembled = Assembled {
            kind: BundleKind::Css,
            output: "css/all.css".into(),
            datauri: false,
            code: "a{}\nb{}".into(),
            spans: vec![
                crate::sourcemap::MemberSpan {
                    source: "a.css".into(),
                    first_line: 0,
                    line_count: 1,
                    content: Some("a{}".into()),
                    map: None,
                },
                crate::sourcemap::MemberSpan {
                    source: "b.css".into(),
                    first_line: 1,
                    line_count: 1,
                    content: Some("b{}".into()),
                    map: None,
                },
            ],
            members: s(&["css/a.css", "css/b.css"]),
            sources: s(&["css/a.css", "css/b.css"]),
            inputs: s(&["css/a.css", "css/b.css"]),
        };
        let files = dev_bundle(&assembled, &|_| None).unwrap();
        assert_eq!(files[0].0, "css/all.css");
        assert_eq!(
            String::from_utf8(files[0].1.clone()).unwrap(),
            "a{}\nb{}\n/*# sourceMappingURL=all.css.map */\n"
        );
        assert_eq!(files[1].0, "css/all.css.map");
        let map: serde_json::Value = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(map["file"], "all.css");
        assert_eq!(map["mappings"], "AAAA;ACAA");
        assert_eq!(map["sourcesContent"], serde_json::json!(["a{}", "b{}"]));
    }
}
