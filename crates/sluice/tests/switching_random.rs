//! Random sequences on one output root: source edits (add, edit, delete, rename a stylesheet,
//! a script, an image or an SCSS partial) interleaved with `sluice sync`, `sluice build`,
//! `sluice build --no-minify`, other variants (`sync --link`, `build --no-hash`,
//! `--keep-only-hashed`, `--no-compress`, `--compress gzip`) and short `sluice watch` sessions
//! (during which more edits happen). After every command the output is byte for byte what the same command writes into
//! the empty output of a fresh copy of the sources (and a file sluice did not write is still
//! there); every compressed copy decompresses to its sibling; no temp file or staging folder
//! is left. Case count: 12 in CI (`PROPTEST_CASES=200` for a deeper local run).

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime};

use proptest::prelude::*;
use serde_json::Value;
use support::compressed::assert_compressed_copies;
use support::{noise, tree_files, write_file};

const PATIENCE: Duration = Duration::from_secs(20);

/// A file sluice did not write, in the output from the start.
const FOREIGN: &str = "theirs.txt";

const CONFIG: &str = r#"sources = ["media"]
output = "static"

[bundles.css.site]
files = ["css/*.css"]
output = "bundles/site.css"

[bundles.js.app]
files = ["js/*.js"]
output = "bundles/app.js"

[build]
compress = ["gzip", "br", "zstd"]
"#;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Css,
    Js,
    Img,
    Partial,
}

impl Kind {
    /// The paths a file of this kind may have: two in its bundle's glob (or, for partials,
    /// imported by `css/site.scss`), one in a subfolder outside it.
    fn slots(self) -> [&'static str; 3] {
        match self {
            Kind::Css => ["css/a.css", "css/b.css", "css/sub/c.css"],
            Kind::Js => ["js/a.js", "js/b.js", "js/sub/c.js"],
            Kind::Img => ["img/a.png", "img/b.png", "img/sub/c.png"],
            Kind::Partial => ["css/_p0.scss", "css/_p1.scss", "css/_p2.scss"],
        }
    }

    /// The bytes of a write: small or large (worth compressing), always valid.
    fn content(self, slot: usize, seed: u8) -> Vec<u8> {
        let n = if seed.is_multiple_of(4) {
            1
        } else {
            10 + seed as usize % 40
        };
        match self {
            Kind::Css => (0..n)
                .map(|i| {
                    format!(
                        ".r{seed}-{i} {{ margin: {i}px; background: url(\"/static/img/fixed.png\"); }}\n"
                    )
                })
                .collect::<String>()
                .into_bytes(),
            Kind::Js => (0..n)
                .map(|i| format!("var v{seed}_{i} = {i} + {seed};\nconsole.log(v{seed}_{i});\n"))
                .collect::<String>()
                .into_bytes(),
            Kind::Img => noise(50 + seed as usize * 3, u64::from(seed) + 7),
            Kind::Partial => format!(
                "$p{slot}: #{:06x};\n.p{slot}-{seed} {{ color: $p{slot}; width: {n}px; }}\n",
                u32::from(seed) * 65_793
            )
            .into_bytes(),
        }
    }
}

#[derive(Clone, Debug)]
enum FileOp {
    /// Adds or edits.
    Write(Kind, usize, u8),
    Delete(Kind, usize),
    /// Onto another path of the same kind (replacing what is there).
    Rename(Kind, usize, usize),
}

#[derive(Clone, Debug)]
enum Op {
    File(FileOp),
    Sync,
    Build,
    BuildNoMinify,
    /// Another variant of a profile, from [`VARIANTS`].
    Variant(usize),
    /// `sluice watch`: start, converge, these edits, converge, Ctrl-C.
    Watch(Vec<FileOp>),
}

/// The other options a profile has, switched between too.
const VARIANTS: [&[&str]; 5] = [
    &["sync", "--link"],
    &["build", "--no-hash"],
    &["build", "--keep-only-hashed"],
    &["build", "--no-compress"],
    &["build", "--compress", "gzip"],
];

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Css),
        Just(Kind::Js),
        Just(Kind::Img),
        Just(Kind::Partial)
    ]
}

fn file_op() -> impl Strategy<Value = FileOp> {
    prop_oneof![
        3 => (kind(), 0..3usize, any::<u8>()).prop_map(|(k, s, seed)| FileOp::Write(k, s, seed)),
        1 => (kind(), 0..3usize).prop_map(|(k, s)| FileOp::Delete(k, s)),
        2 => (kind(), 0..3usize, 0..3usize).prop_map(|(k, a, b)| FileOp::Rename(k, a, b)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => file_op().prop_map(Op::File),
        2 => Just(Op::Sync),
        2 => Just(Op::Build),
        1 => Just(Op::BuildNoMinify),
        1 => (0..VARIANTS.len()).prop_map(Op::Variant),
        1 => proptest::collection::vec(file_op(), 0..4).prop_map(Op::Watch),
    ]
}

/// The sources (logical path → bytes), and the project on disk that holds them.
struct Sources {
    files: BTreeMap<String, Vec<u8>>,
    media: PathBuf,
    /// Every write gets an mtime of its own, a second after the last: a file edited twice
    /// within one timestamp tick, to the same length, on a reused inode, would otherwise be
    /// indistinguishable from the one sluice recorded (a limit of every mtime-based tool, not
    /// what this test is about).
    clock: SystemTime,
}

impl Sources {
    fn new(media: PathBuf) -> Sources {
        let mut s = Sources {
            files: BTreeMap::new(),
            media,
            clock: SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000),
        };
        s.put("img/fixed.png", noise(300, 1));
        s.put("js/fixed.js", b"window.fixed = true;\n".to_vec());
        s.put("css/a.css", Kind::Css.content(0, 3));
        s.put("css/_p0.scss", Kind::Partial.content(0, 5));
        s.sync_main();
        s
    }

    fn put(&mut self, logical: &str, bytes: Vec<u8>) {
        let path = self.media.join(logical);
        // Written beside (under a hidden name, which sluice ignores) and renamed into place,
        // as editors save.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = path.with_file_name(format!(".{name}.saving"));
        write_file(&tmp, &bytes);
        self.clock += Duration::from_secs(1);
        filetime::set_file_mtime(&tmp, filetime::FileTime::from_system_time(self.clock)).unwrap();
        fs::rename(&tmp, &path).unwrap();
        self.files.insert(logical.to_string(), bytes);
    }

    /// `css/site.scss` imports exactly the partials there are (rewritten only when that
    /// changes).
    fn sync_main(&mut self) {
        let mut main = String::new();
        for (slot, partial) in Kind::Partial.slots().iter().enumerate() {
            if self.files.contains_key(*partial) {
                main.push_str(&format!("@import \"p{slot}\";\n"));
            }
        }
        main.push_str(".site { color: red; }\n");
        if self.files.get("css/site.scss").map(Vec::as_slice) != Some(main.as_bytes()) {
            self.put("css/site.scss", main.into_bytes());
        }
    }

    fn apply(&mut self, op: &FileOp) {
        match *op {
            FileOp::Write(kind, slot, seed) => {
                self.put(kind.slots()[slot], kind.content(slot, seed));
            }
            FileOp::Delete(kind, slot) => {
                let logical = kind.slots()[slot];
                if self.files.remove(logical).is_some() {
                    fs::remove_file(self.media.join(logical)).unwrap();
                }
            }
            FileOp::Rename(kind, from, to) => {
                let (from, to) = (kind.slots()[from], kind.slots()[to]);
                if from == to {
                    return;
                }
                if let Some(bytes) = self.files.remove(from) {
                    let dest = self.media.join(to);
                    fs::create_dir_all(dest.parent().unwrap()).unwrap();
                    fs::rename(self.media.join(from), dest).unwrap();
                    self.files.insert(to.to_string(), bytes);
                }
            }
        }
        if matches!(op, FileOp::Write(Kind::Partial, ..))
            || matches!(
                op,
                FileOp::Delete(Kind::Partial, _) | FileOp::Rename(Kind::Partial, ..)
            )
        {
            self.sync_main();
        }
    }

    /// What `args` writes into the empty output of a fresh project with these sources.
    fn fresh(&self, args: &[&str]) -> BTreeMap<String, Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("sluice.toml"), CONFIG).unwrap();
        for (logical, bytes) in &self.files {
            write_file(&dir.path().join("media").join(logical), bytes);
        }
        let out = sluice(dir.path(), args);
        assert!(
            out.status.success(),
            "fresh {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tree_files(&dir.path().join("static"))
    }
}

fn sluice(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .env_remove("SLUICE_POLL")
        .output()
        .unwrap()
}

/// The output without the foreign file, which must be there unchanged; `None` while it
/// changes under the reader.
fn output(root: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Option<()> {
        for entry in fs::read_dir(dir).ok()? {
            let entry = entry.ok()?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            if fs::metadata(&path).ok()?.is_dir() {
                walk(&path, &key, out)?;
            } else {
                out.insert(key, fs::read(&path).ok()?);
            }
        }
        Some(())
    }
    let mut out = BTreeMap::new();
    walk(&root.join("static"), "", &mut out)?;
    let foreign = out.remove(FOREIGN);
    assert_eq!(
        foreign.as_deref(),
        Some(&b"keep\n"[..]),
        "the file sluice did not write"
    );
    Some(out)
}

/// No temp file in the output, no staging folder beside it.
fn assert_no_leftovers(root: &Path) {
    let beside: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sluice-staging"))
        .collect();
    assert!(beside.is_empty(), "staging left: {beside:?}");
    let temps: Vec<String> = tree_files(&root.join("static"))
        .into_keys()
        .filter(|k| k.ends_with(".sluice-tmp"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
}

struct Watching {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

impl Watching {
    fn start(root: &Path) -> Watching {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["watch", "--format", "json"])
            .current_dir(root)
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("VIRTUAL_ENV")
            .env_remove("SLUICE_POLL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let events = support::json_lines(child.stdout.take().unwrap());
        let mut w = Watching {
            child,
            events,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = w
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `ready` within {PATIENCE:?}: {:#?}", w.seen));
            let ready = event["event"] == "ready";
            w.seen.push(event);
            if ready {
                return w;
            }
        }
    }

    /// Ctrl-C: exit 0 and a `stopped` event.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        while let Ok(event) = self.events.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(event);
        }
        assert_eq!(status.code(), Some(0), "{:#?}", self.seen);
        assert!(
            self.seen.iter().any(|e| e["event"] == "stopped"),
            "{:#?}",
            self.seen
        );
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the output is `want`; panics with the difference after [`PATIENCE`].
fn converges(root: &Path, want: &BTreeMap<String, Vec<u8>>, label: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let have = output(root);
        if have.as_ref() == Some(want) {
            return;
        }
        if Instant::now() > deadline {
            let have = have.unwrap_or_default();
            support::assert_same_tree(label, want, "the watched output", &have);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run_sequence(ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("sluice.toml"), CONFIG).unwrap();
    write_file(&root.join("static").join(FOREIGN), "keep\n");
    let mut sources = Sources::new(root.join("media"));
    for (i, op) in ops.iter().enumerate() {
        let command: &[&str] = match op {
            Op::File(file_op) => {
                sources.apply(file_op);
                continue;
            }
            Op::Sync => &["sync"],
            Op::Build => &["build"],
            Op::BuildNoMinify => &["build", "--no-minify"],
            Op::Variant(v) => VARIANTS[*v],
            Op::Watch(edits) => {
                let watching = Watching::start(root);
                converges(root, &sources.fresh(&["sync"]), "a fresh sync");
                for edit in edits {
                    sources.apply(edit);
                }
                converges(root, &sources.fresh(&["sync"]), "a fresh sync");
                watching.stop();
                assert_no_leftovers(root);
                assert_sources_untouched(&sources, i);
                continue;
            }
        };
        let out = sluice(root, command);
        assert!(
            out.status.success(),
            "op {i} sluice {command:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = sources.fresh(command);
        let have = output(root).expect("nothing else writes");
        support::assert_same_tree(
            &format!("a fresh {command:?}"),
            &want,
            &format!("op {i}: {command:?} after the earlier ops"),
            &have,
        );
        assert_compressed_copies(&format!("op {i}"), &have);
        assert_no_leftovers(root);
        assert_sources_untouched(&sources, i);
    }
}

/// sluice never writes into the sources: they hold exactly what the test wrote, nothing
/// added, nothing changed.
fn assert_sources_untouched(sources: &Sources, op: usize) {
    let on_disk = tree_files(&sources.media);
    assert!(
        on_disk == sources.files,
        "op {op}: the sources changed: {:?}",
        on_disk
            .keys()
            .chain(sources.files.keys())
            .filter(|k| on_disk.get(*k) != sources.files.get(*k))
            .collect::<Vec<_>>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(12),
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_sequences_on_one_output_root_equal_fresh_runs(
        ops in proptest::collection::vec(op(), 1..14)
    ) {
        run_sequence(&ops);
    }
}

/// The same sequence, spelled out: every kind of edit between every pair of profiles.
#[test]
fn a_fixed_sequence_through_every_profile() {
    use FileOp::*;
    run_sequence(&[
        Op::Build,
        Op::File(Write(Kind::Partial, 1, 40)),
        Op::Sync,
        Op::File(Rename(Kind::Css, 0, 1)),
        Op::File(Write(Kind::Js, 0, 9)),
        Op::BuildNoMinify,
        Op::Watch(vec![
            Write(Kind::Partial, 0, 77),
            Rename(Kind::Partial, 1, 2),
            Delete(Kind::Js, 0),
        ]),
        Op::File(Write(Kind::Img, 2, 3)),
        Op::Build,
        Op::File(Delete(Kind::Partial, 0)),
        Op::Build,
        Op::Sync,
    ]);
}
