//! The properties, one function per parser: raw bytes in, a panic when the property fails.
//! Inputs that are not UTF-8 where the parser takes text are skipped (the callers decode
//! first and report undecodable files themselves).

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use sluice_assets::bundle::glob::{Tree, could_match, glob as pipeline_glob, has_magic};
use sluice_assets::bundle::rewrite::{public_path, relative_to_output, rewrite_paths};
use sluice_assets::django_manifest::{
    CollectedFiles, ManifestOptions, content_hash, hashed_name, rewrite_file,
};
use sluice_assets::sourcemap::{MemberMap, MemberSpan, concat_map};
use sluice_core::fnmatch::{Pattern, fnmatchcase};

/// A logical path as the index makes them: relative, `/`-separated, no empty, `.` or `..`
/// segment, no backslash or NUL.
fn is_logical(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The collected files the Django rewrite target resolves against.
const COLLECTED: &[&str] = &[
    "css/site/a.css",
    "css/site/b.css",
    "css/img/b.png",
    "img/c.png",
    "js/app/a.js",
    "js/e.js",
    "fonts/d.woff2",
    "a b.png",
];

/// The lines of `text` none of Django's patterns can touch (no `url(`, `@import` or
/// `sourceMappingURL`, in any case).
fn untouchable_lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            !["url(", "@import", "sourcemappingurl"]
                .iter()
                .any(|p| lower.contains(p))
        })
        .collect()
}

/// Django's CSS/JS reference rewriting (ManifestStaticFilesStorage's `url_converter`): it
/// resolves references only to collected files (never outside STATIC_ROOT), and it changes
/// no line without a reference (`url(…)`, `@import`, `sourceMappingURL`); inside references
/// it writes Django's own forms (`url("…")`, unquoted paths), which sluice's Django tests
/// compare byte for byte.
pub fn django_rewrite(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = if pick % 2 == 0 {
        "css/site/a.css"
    } else {
        "js/app/a.js"
    };
    let hashes: HashMap<String, String> = COLLECTED
        .iter()
        .map(|n| (n.to_string(), content_hash(n.as_bytes())))
        .collect();
    let finals: HashMap<String, String> = hashes
        .iter()
        .filter(|(n, _)| n.ends_with(".css") || n.ends_with(".js"))
        .map(|(n, h)| (n.clone(), hashed_name(n, h)))
        .collect();
    let collected = CollectedFiles::new(hashes);
    let options = ManifestOptions::default();
    let Ok(Some((out, refs))) = rewrite_file(name, rest, &collected, &finals, &options) else {
        return;
    };
    let dirs: BTreeSet<&str> = COLLECTED
        .iter()
        .flat_map(|n| n.match_indices('/').map(|(i, _)| &n[..i]))
        .chain(["."])
        .collect();
    for r in &refs {
        assert!(
            COLLECTED.contains(&r.target.as_str()) || dirs.contains(r.target.as_str()),
            "a reference resolved outside the collected files: {r:?} in {text:?}"
        );
    }
    // Django's patterns let `\s*` after `url(` or `@import` cross a line end, and write a
    // percent-encoded line end in a path decoded: lines then join or split, as in Django.
    let lower = text.to_ascii_lowercase();
    let crosses_lines = ["url(", "@import"].iter().any(|p| {
        lower.match_indices(p).any(|(i, _)| {
            lower[i + p.len()..]
                .chars()
                .take_while(|c| c.is_whitespace() || *c == '"' || *c == '\'')
                .any(|c| c == '\n')
        })
    });
    if !text.contains('%') && !crosses_lines {
        assert_eq!(
            untouchable_lines(&out),
            untouchable_lines(text),
            "the rewrite changed lines without references"
        );
    }
}

/// django-pipeline's url rewriting (`rewrite_path_re.sub`): the rewriter sees only trimmed,
/// rewritable paths; with the identity it is idempotent; every path it sees resolves to a
/// normalised name (`..` only leading, where the engine refuses it).
pub fn pipeline_rewrite(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let css = pick % 2 == 0;
    let mut seen = Vec::new();
    let once = rewrite_paths(text, css, &mut |p| {
        seen.push(p.to_string());
        p.to_string()
    });
    let twice = rewrite_paths(&once, css, &mut |p| p.to_string());
    assert_eq!(once, twice, "rewriting with the identity is not idempotent");
    for path in &seen {
        assert!(!path.is_empty(), "an empty path was rewritten in {text:?}");
        assert_eq!(
            path.trim_matches(|c: char| c.is_ascii_whitespace()),
            path,
            "an untrimmed path was rewritten in {text:?}"
        );
        for skipped in ["#", "http:", "https:", "data:", "//"] {
            assert!(!path.starts_with(skipped), "{path:?} should be left alone");
        }
        let public = public_path(path, "css/site/a.css");
        // `posixpath.normpath` gives `.` for a path that cancels out.
        if public == "." {
            continue;
        }
        let segments: Vec<&str> = public.split('/').collect();
        let leading = segments.iter().take_while(|s| **s == "..").count();
        assert!(
            segments[leading..].iter().all(|s| *s != ".." && *s != "."),
            "{path:?} → {public:?} is not normalised"
        );
        let _ = relative_to_output(&public, "css/bundle.css", "/srv/static");
    }
}

/// `fnmatch.fnmatchcase`: the compiled pattern agrees with the one-shot function, a pattern
/// without magic matches exactly itself, `*` matches anything (newlines too, as Python's
/// DOTALL), and a literal stays matched when one of its characters becomes `?` or a prefix
/// becomes `*`.
pub fn fnmatch(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, name) = text.split_once('\n').unwrap_or((text, ""));
    let matched = fnmatchcase(name, pattern);
    assert_eq!(Pattern::new(pattern).matches(name), matched);
    assert!(fnmatchcase(name, "*"));
    if !pattern.contains(['*', '?', '[']) {
        assert_eq!(matched, name == pattern, "{pattern:?} vs {name:?}");
        assert!(fnmatchcase(
            &format!("{name}{pattern}"),
            &format!("*{pattern}")
        ));
        for (i, c) in pattern.char_indices() {
            let q = format!("{}?{}", &pattern[..i], &pattern[i + c.len_utf8()..]);
            assert!(fnmatchcase(pattern, &q), "{q:?} should match {pattern:?}");
        }
    }
}

/// django-pipeline's glob over the index: what it lists is in the tree and `could_match`
/// agrees (the watcher uses it to decide whether a new file changes a bundle), sorted.
pub fn glob(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let pattern = lines.next().unwrap_or("");
    let paths: Vec<&str> = lines.filter(|p| is_logical(p)).collect();
    let tree = Tree::new(paths.iter().copied());
    let found = pipeline_glob(&tree, pattern);
    assert!(
        found.windows(2).all(|w| w[0] <= w[1]),
        "unsorted: {found:?}"
    );
    if !has_magic(pattern) {
        return;
    }
    for f in &found {
        assert!(
            tree.is_file(f) || tree.is_dir(f),
            "{pattern:?} listed {f:?}, which is not in the tree"
        );
        if tree.is_file(f) {
            assert!(
                could_match(pattern, f),
                "{pattern:?} listed {f:?} but could_match says no"
            );
        }
    }
    for p in &paths {
        if tree.is_file(p) && could_match(pattern, p) {
            assert!(
                found.iter().any(|f| f == p),
                "could_match({pattern:?}, {p:?}) but glob missed it: {found:?}"
            );
        }
    }
}

/// A folder of this thread's own for files a loader must read from disk.
fn scratch() -> PathBuf {
    thread_local! {
        static DIR: PathBuf = {
            let dir = std::env::temp_dir().join(format!(
                "sluice-fuzz-{}-{:?}",
                std::process::id(),
                std::thread::current().id(),
            ));
            std::fs::create_dir_all(&dir).expect("a scratch folder");
            dir
        };
    }
    DIR.with(|d| d.clone())
}

/// An error's `file:line[:col]` location lies inside `text`.
fn location_inside(location: &str, file: &Path, text: &str) {
    let Some(rest) = location.strip_prefix(&*file.to_string_lossy()) else {
        return;
    };
    let mut numbers = rest.split(':').skip(1).map(|n| n.parse::<usize>());
    let lines: Vec<&str> = text.split('\n').collect();
    if let Some(line) = numbers.next() {
        let line = line.unwrap_or_else(|_| panic!("location {location:?} has no line number"));
        assert!(
            (1..=lines.len()).contains(&line),
            "line {line} of a {}-line file ({location})",
            lines.len()
        );
        if let Some(col) = numbers.next() {
            let col = col.unwrap_or_else(|_| panic!("location {location:?} has no column"));
            let width = lines[line - 1].chars().count();
            assert!(
                (1..=width + 1).contains(&col),
                "column {col} of a {width}-character line ({location})"
            );
        }
    }
}

/// Loads a project whose only file is `file_name` holding `text`. Django is never asked (the
/// Python is `false`), so a fuzzed file cannot run anything.
fn load_project(file_name: &str, text: &str) {
    use sluice_core::config::{Config, Overrides};
    let dir = scratch();
    for stale in ["sluice.toml", "pyproject.toml"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let file = dir.join(file_name);
    std::fs::write(&file, text).expect("the scratch file is written");
    let overrides = Overrides {
        python: Some("false".into()),
        ..Overrides::default()
    };
    match Config::load(&dir, &overrides) {
        Ok(config) => {
            for def in &config.bundles {
                assert!(
                    is_logical(&def.output),
                    "a bundle output outside the output folder was accepted: {:?}",
                    def.output
                );
            }
        }
        Err(sluice_core::Error::Config {
            message,
            location: Some(location),
            ..
        }) => {
            assert!(!message.is_empty());
            location_inside(&location, &file, text);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// `sluice.toml`: loads or fails with a message whose location is inside the file; a loaded
/// configuration's bundle outputs stay inside the output folder.
pub fn config_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        load_project("sluice.toml", text);
    }
}

/// `[tool.sluice]` in `pyproject.toml`: as [`config_toml`].
pub fn pyproject_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        load_project("pyproject.toml", text);
    }
}

/// bedrock's `static-bundles.json`: loads or fails at a place inside the file; a loaded
/// bundle's output stays inside the output folder.
pub fn static_bundles(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = scratch().join("static-bundles.json");
    std::fs::write(&file, text).expect("the scratch file is written");
    match sluice_core::bundles::from_static_bundles(&file) {
        Ok(defs) => {
            for def in defs {
                assert!(is_logical(&def.output), "accepted {:?}", def.output);
            }
        }
        Err(sluice_core::Error::Config {
            location: Some(location),
            ..
        }) => location_inside(&location, &file, text),
        Err(e) => panic!("not a configuration error: {e}"),
    }
}

/// The dev server's path decoding below `STATIC_URL`: what it accepts is a logical path that
/// stays inside the output when joined to it, and every logical path, percent-encoded, decodes
/// back to itself.
pub fn proxy_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let root = Path::new("/srv/static");
    if let Some(path) = sluice_dev::proxy::logical_path(text) {
        assert!(is_logical(&path), "{text:?} decoded to {path:?}");
        let joined = root.join(&path);
        assert!(
            joined.starts_with(root)
                && joined
                    .strip_prefix(root)
                    .is_ok_and(|p| p.components().all(|c| matches!(c, Component::Normal(_)))),
            "{text:?} leaves the output: {joined:?}"
        );
    }
    if is_logical(text) {
        let encoded: String = text
            .bytes()
            .map(|b| match b {
                b'/' => "/".to_string(),
                b if b.is_ascii_alphanumeric() => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        assert_eq!(
            sluice_dev::proxy::logical_path(&encoded).as_deref(),
            Some(text),
            "{encoded:?} does not decode to {text:?}"
        );
    }
}

/// The live-reload client's injection into HTML: the script goes right before the last
/// `</body>` (any case) of the run that starts at the first one, each at most
/// `HOLD_LIMIT` bytes after the one before (the streaming injector holds no more back), else
/// at the end; every other byte of the page is kept in order; and the page streamed in two
/// chunks, cut anywhere, gets the same answer.
pub fn inject(data: &[u8]) {
    use sluice_dev::inject::{HOLD_LIMIT, Injector};
    let tag = sluice_dev::proxy::SCRIPT_TAG.as_bytes();
    let out = sluice_dev::proxy::inject(data);
    let ends: Vec<usize> = data
        .windows(7)
        .enumerate()
        .filter(|(_, w)| w.eq_ignore_ascii_case(b"</body>"))
        .map(|(i, _)| i)
        .collect();
    let at = match ends.first() {
        None => data.len(),
        Some(&first) => {
            let mut at = first;
            for &next in &ends[1..] {
                if next - at > HOLD_LIMIT {
                    break;
                }
                at = next;
            }
            at
        }
    };
    let cut = data
        .first()
        .map_or(0, |&b| usize::from(b) * data.len() / 256);
    let mut injector = Injector::new();
    let mut streamed = injector.feed(&data[..cut]);
    streamed.extend(injector.feed(&data[cut..]));
    streamed.extend(injector.finish());
    assert_eq!(
        streamed, out,
        "streaming in two chunks (cut at {cut}) differs"
    );
    assert_eq!(out.len(), data.len() + tag.len());
    assert_eq!(
        &out[..at],
        &data[..at],
        "bytes before the insertion point changed"
    );
    assert_eq!(
        &out[at..at + tag.len()],
        tag,
        "the script is not at the insertion point"
    );
    assert_eq!(
        &out[at + tag.len()..],
        &data[at..],
        "bytes after it changed"
    );
}

/// Source maps: any JSON decodes or is refused without a panic, and lookups stay in bounds;
/// the bundle map sluice writes for spans cut from the input decodes back to those spans
/// (each line of the first member maps to its own line, column 0).
pub fn sourcemap(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        if let Some((map, _)) = MemberMap::parse(text) {
            for line in 0..64 {
                let segments = map.line(line);
                assert!(segments.windows(2).all(|w| w[0] <= w[1]));
                let _ = map.lookup(line, 0);
                let _ = map.lookup(line, u32::MAX);
            }
        }
        return;
    }
    // Up to 8 spans, in order and apart, from pairs of bytes (gap, length).
    let mut spans = Vec::new();
    let mut line = 0u32;
    for (i, pair) in rest.chunks_exact(2).take(8).enumerate() {
        line += u32::from(pair[0] % 4);
        let count = u32::from(pair[1] % 16) + 1;
        spans.push(MemberSpan {
            source: format!("m{i}.css"),
            first_line: line,
            line_count: count,
            content: None,
            map: None,
        });
        line += count;
    }
    let lines = line + u32::from(pick % 3);
    let json = concat_map("bundle.css", &spans, lines);
    let value: serde_json::Value = serde_json::from_str(&json).expect("the map is JSON");
    assert_eq!(value["version"], 3);
    assert_eq!(value["sources"].as_array().map(Vec::len), Some(spans.len()));
    let (map, _) = MemberMap::parse(&json).expect("the map decodes");
    if let Some(first) = spans.first() {
        for l in 0..first.line_count {
            assert_eq!(
                map.lookup(first.first_line + l, 0),
                Some((l, 0)),
                "line {} of the bundle in {json}",
                first.first_line + l
            );
        }
        for l in 0..first.first_line {
            assert_eq!(map.lookup(l, 0), None, "line {l} is outside every member");
        }
    }
}

/// A record with an entry in every table, as the base the fuzzed log follows.
fn sample_record(output: &Path) -> sluice_engine::record::Record {
    use sluice_core::sources::FileMeta;
    use sluice_engine::record::*;
    let meta = FileMeta {
        len: 3,
        mtime_ns: 1_700_000_000_123_456_789,
        ino: 42,
    };
    let mut r = Record::new(output);
    r.profile = "build hash=true".into();
    r.static_url = "/static/".into();
    r.codecs = "br,gz".into();
    let md5 = Some(Key::of(b"a"));
    r.sources
        .insert("css/a.css".into(), SourceFact { meta, md5 });
    r.outputs.insert(
        "css/a.0cc175b9c0f1.css".into(),
        OutEntry {
            meta,
            link: false,
            source: None,
            key: md5,
            kind: OutKind::Hashed,
        },
    );
    r.compiles.insert(
        "css/x.scss".into(),
        CompileNode {
            output: "css/x.css".into(),
            inputs: vec![("/src/css/x.scss".into(), Some(meta))],
            ..CompileNode::default()
        },
    );
    r.bundles.insert(
        "dev\0css/all.css".into(),
        BundleNode {
            def: "css\0all".into(),
            members: vec!["css/a.css".into()],
            ..BundleNode::default()
        },
    );
    r.collected.insert("css/a.css".into(), Key::of(b"a"));
    r.contents.insert(Key::of(b"a"), Compressed::default());
    r.integrity.insert(
        "css/a.css".into(),
        ("css/a.0cc175b9c0f1.css".into(), "sha384-x".into()),
    );
    r.dirs.insert("css".into(), 5);
    r
}

/// The ownership record's log, past its checksum (the fuzzed bytes are a frame's body after
/// the base's id): a load applies the frame or refuses it, never panics; and what it made of
/// it, once saved (onto the log), loads back the same.
pub fn record_log(data: &[u8]) {
    use sluice_engine::record::{Record, log};
    let dir = scratch().join("record");
    let output = Path::new("/nonexistent/sluice-fuzz-output");
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let base = sample_record(output).encode();
    std::fs::write(Record::file(&dir, output), &base).expect("the base is written");
    let log_file = Record::log_file(&dir, output);
    std::fs::write(&log_file, log::log_of_one_frame(&base, data)).expect("the log is written");
    let mut loaded = Record::load(&dir, output);
    loaded.save(&dir).expect("the record saves");
    let again = Record::load(&dir, output);
    assert_eq!(
        again.encode(),
        loaded.encode(),
        "a saved record loads back the same"
    );
}
