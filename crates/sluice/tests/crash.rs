//! Crashes and concurrency on one output root.
//!
//! - `kill -9` of `sluice sync` and `sluice build` at random moments (12 seeds in CI,
//!   `SLUICE_CRASH_SEEDS=200` for a deeper local run), each killed run switching profiles on
//!   a tree where sources changed too, so that it has real work to be caught in: the next run
//!   (of either profile) exits 0, its output is byte for byte what a fresh run writes into
//!   the empty output of a fresh copy of the sources, a file sluice did not write survives,
//!   and no temp file (`.*.sluice-tmp`), staging folder (`.static.sluice-staging-<pid>`) or
//!   intent journal is left.
//! - Two sluice processes on one output root never interleave: with `sluice watch` holding
//!   it, `--no-wait` fails at once (exit 1, naming the holder) and writes nothing; without
//!   it, `sluice build` waits with a message, writes nothing while the watch goes on
//!   writing, and builds once the watch stops; a sync and a build started together leave
//!   exactly what a fresh run of the one that went last leaves.
//!
//! The delays are random (from the seed) and scaled by how long an uninterrupted run took;
//! no assertion depends on timing: a run that finished before its kill is simply run again
//! on new changes with a shorter delay until a kill lands.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::compressed::assert_compressed_copies;
use support::{noise, tree_files, write_file};

const CONFIG: &str = r#"sources = ["media"]
output = "static"

[bundles.css.site]
files = ["css/d0/*.css", "css/site.scss"]
output = "bundles/site.css"

[bundles.js.app]
files = ["js/d0/*.js"]
output = "bundles/app.js"

[build]
compress = ["gzip"]
"#;

const FOREIGN: &str = "theirs/keep.txt";

/// xorshift64*: the seed's stream of choices.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn css(dir: usize, i: usize, version: u64, lines: usize) -> String {
    (0..lines)
        .map(|j| {
            format!(
                ".c{dir}-{i}-{j}-{version} {{ background: url(../../img/d{dir}/i{}.png); margin: {j}px; }}\n",
                j % IMAGES
            )
        })
        .collect()
}

fn js(dir: usize, i: usize, version: u64, lines: usize) -> String {
    (0..lines)
        .map(|j| format!("var v{dir}_{i}_{j} = {version} + {j};\n"))
        .collect()
}

const DIRS: usize = 6;
const IMAGES: usize = 25;
const STYLES: usize = 15;
const SCRIPTS: usize = 10;

/// The sources: about 300 files in 6 folders (images, stylesheets referencing them, scripts),
/// two bundles and an SCSS file with a partial.
fn initial_sources() -> BTreeMap<String, Vec<u8>> {
    let mut rng = Rng::new(1);
    let mut files = BTreeMap::new();
    for d in 0..DIRS {
        for i in 0..IMAGES {
            let len = 200 + rng.below(2000) as usize;
            files.insert(format!("img/d{d}/i{i}.png"), noise(len, rng.next()));
        }
        for i in 0..STYLES {
            let lines = 10 + rng.below(40) as usize;
            files.insert(
                format!("css/d{d}/c{i}.css"),
                css(d, i, 0, lines).into_bytes(),
            );
        }
        for i in 0..SCRIPTS {
            let lines = 10 + rng.below(40) as usize;
            files.insert(format!("js/d{d}/j{i}.js"), js(d, i, 0, lines).into_bytes());
        }
    }
    files.insert(
        "css/_vars.scss".into(),
        b"$brand: #c13832;\n$gap: 4px;\n".to_vec(),
    );
    files.insert(
        "css/site.scss".into(),
        b"@import \"vars\";\n.site { color: $brand; padding: $gap; }\n".to_vec(),
    );
    files
}

/// Makes 20 to 150 changes to the sources (edits; additions and removals of files nothing
/// refers to; the partial now and then): enough writes for a kill to land among them.
fn mutate(files: &mut BTreeMap<String, Vec<u8>>, rng: &mut Rng, round: u64) {
    for _ in 0..20 + rng.below(131) {
        let d = rng.below(DIRS as u64) as usize;
        match rng.below(10) {
            0..=3 => {
                let i = rng.below(STYLES as u64) as usize;
                let lines = 10 + rng.below(40) as usize;
                files.insert(
                    format!("css/d{d}/c{i}.css"),
                    css(d, i, round, lines).into_bytes(),
                );
            }
            4..=5 => {
                let i = rng.below(SCRIPTS as u64) as usize;
                let lines = 10 + rng.below(40) as usize;
                files.insert(
                    format!("js/d{d}/j{i}.js"),
                    js(d, i, round, lines).into_bytes(),
                );
            }
            6 => {
                let i = rng.below(IMAGES as u64) as usize;
                let len = 200 + rng.below(2000) as usize;
                files.insert(format!("img/d{d}/i{i}.png"), noise(len, rng.next()));
            }
            7 => {
                files.insert(
                    format!("extra/d{d}/x{}.txt", rng.below(5)),
                    format!("extra {round}\n")
                        .repeat(1 + rng.below(200) as usize)
                        .into_bytes(),
                );
            }
            8 => {
                let gone = format!("extra/d{d}/x{}.txt", rng.below(5));
                files.remove(&gone);
            }
            _ => {
                files.insert(
                    "css/_vars.scss".into(),
                    format!(
                        "$brand: #{:06x};\n$gap: {}px;\n",
                        rng.below(1 << 24),
                        round % 9
                    )
                    .into_bytes(),
                );
            }
        }
    }
}

/// Makes `media/` hold exactly `files`; each write is renamed into place with an mtime of its
/// own (one second after the last), so that no edit can look like the recorded file.
fn write_sources(root: &Path, files: &BTreeMap<String, Vec<u8>>, clock: &mut u64) {
    let media = root.join("media");
    let on_disk = if media.is_dir() {
        tree_files(&media)
    } else {
        BTreeMap::new()
    };
    for gone in on_disk.keys().filter(|k| !files.contains_key(*k)) {
        fs::remove_file(media.join(gone)).unwrap();
    }
    for (logical, bytes) in files {
        if on_disk.get(logical) == Some(bytes) {
            continue;
        }
        let path = media.join(logical);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = path.with_file_name(format!(".{name}.saving"));
        write_file(&tmp, bytes);
        *clock += 1;
        let mtime = filetime::FileTime::from_unix_time(*clock as i64, 0);
        filetime::set_file_mtime(&tmp, mtime).unwrap();
        fs::rename(&tmp, &path).unwrap();
    }
}

fn command(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args)
        .current_dir(root)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("VIRTUAL_ENV")
        .env_remove("SLUICE_POLL");
    cmd
}

fn run_ok(root: &Path, args: &[&str], what: &str) -> Duration {
    let started = Instant::now();
    let out = command(root, args).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: sluice {args:?} exited with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// What `args` writes into the empty output of a fresh project holding `files`.
fn fresh(files: &BTreeMap<String, Vec<u8>>, args: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("sluice.toml"), CONFIG).unwrap();
    for (logical, bytes) in files {
        write_file(&dir.path().join("media").join(logical), bytes);
    }
    run_ok(dir.path(), args, "a fresh run");
    tree_files(&dir.path().join("static"))
}

/// Whether a run's intent journal is in `.sluice/` (it is writing into the output).
fn intent_exists(root: &Path) -> bool {
    fs::read_dir(root.join(".sluice"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".intent"))
}

/// Temp files in the output, staging folders beside it, an intent journal in `.sluice/`.
fn leftovers(root: &Path) -> Vec<String> {
    support::sluice_leftovers(root, &root.join("static"))
}

const SYNC: &[&str] = &["sync", "-q"];
const BUILD: &[&str] = &["build", "-q"];

#[test]
fn kill_9_at_random_moments_then_the_next_run_converges() {
    let seeds: u64 = std::env::var("SLUICE_CRASH_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("sluice.toml"), CONFIG).unwrap();
    write_file(&root.join("static").join(FOREIGN), "keep\n");
    let mut files = initial_sources();
    let mut clock = 1_600_000_000;
    write_sources(root, &files, &mut clock);
    // How long uninterrupted switches take here, to spread the kills over a run's length.
    run_ok(root, SYNC, "the first sync");
    run_ok(root, BUILD, "the first build");
    run_ok(root, SYNC, "a sync after a build");
    let mut budget_build = run_ok(root, BUILD, "a build after a sync");
    let mut budget_sync = run_ok(root, SYNC, "a sync after a build");
    eprintln!("uninterrupted: build {budget_build:?}, sync {budget_sync:?}");
    let mut last = SYNC;
    let mut kills = Vec::new();
    for seed in 0..seeds {
        let mut rng = Rng::new(seed + 100);
        // The killed run switches profiles: it has the other profile's outputs to replace.
        let killed = if last == SYNC { BUILD } else { SYNC };
        let budget = if killed == BUILD {
            &mut budget_build
        } else {
            &mut budget_sync
        };
        let mut attempt = 0;
        // Even seeds: a kill at a random moment of the whole run. Odd seeds: at a random
        // moment once it started writing into the output (its intent journal exists: the
        // dev profile's copies, the build's commit).
        let while_writing = seed % 2 == 1;
        let (moment, leftover) = loop {
            attempt += 1;
            mutate(&mut files, &mut rng, seed * 100 + attempt);
            write_sources(root, &files, &mut clock);
            let mut child = command(root, killed)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let moment = if while_writing {
                while !intent_exists(root) && child.try_wait().unwrap().is_none() {
                    std::thread::yield_now();
                }
                let delay = Duration::from_micros(rng.below(3000));
                std::thread::sleep(delay);
                format!("{delay:?} into its writes")
            } else {
                let delay = Duration::from_micros(rng.below(budget.as_micros() as u64 + 1));
                std::thread::sleep(delay);
                format!("{delay:?} after its start")
            };
            let _ = child.kill();
            let status = child.wait().unwrap();
            use std::os::unix::process::ExitStatusExt;
            if status.signal() == Some(9) {
                break (moment, leftovers(root));
            }
            assert!(status.success(), "seed {seed}: {killed:?} {status}");
            // It finished first: more changes, an earlier kill.
            *budget /= 2;
        };
        kills.push(format!(
            "seed {seed}: {} killed {moment} (attempt {attempt}), leaving {leftover:?}",
            killed[0]
        ));
        // The next run, of either profile.
        let next = if rng.below(2) == 0 { SYNC } else { BUILD };
        let what = format!("seed {seed}: {} after a killed {}", next[0], killed[0]);
        run_ok(root, next, &what);
        let left = leftovers(root);
        assert!(left.is_empty(), "{what}: left behind: {left:?}");
        let mut have = tree_files(&root.join("static"));
        assert_eq!(
            have.remove(FOREIGN).as_deref(),
            Some(&b"keep\n"[..]),
            "{what}: the file sluice did not write"
        );
        let want = fresh(&files, next);
        support::assert_same_tree("a fresh run", &want, &what, &have);
        assert_compressed_copies(&what, &have);
        last = next;
    }
    eprintln!("{}", kills.join("\n"));
}

/// Reads `child`'s stderr lines into a channel.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn wait_for_file(path: &Path, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_to_string(path).ok().as_deref() != Some(text) {
        assert!(
            Instant::now() < deadline,
            "{} never became {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_second_sluice_on_one_output_root_waits_or_fails_and_never_interleaves() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("sluice.toml"), CONFIG).unwrap();
    let mut files = initial_sources();
    let mut clock = 1_600_000_000;
    write_sources(root, &files, &mut clock);

    let mut watch = command(root, &["watch", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let events = support::json_lines(watch.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .expect("sluice watch becomes ready");
        if event["event"] == "ready" {
            break;
        }
    }
    let watch_pid = watch.id().to_string();
    let before = tree_files(&root.join("static"));

    // --no-wait: exit 1 at once, naming who holds the output root; nothing written.
    for args in [&["sync", "--no-wait"][..], &["build", "--no-wait"][..]] {
        let out = command(root, args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("sluice watch") && stderr.contains(&watch_pid),
            "{args:?}: {stderr}"
        );
        assert_eq!(tree_files(&root.join("static")), before, "{args:?} wrote");
    }

    // Without it, a build waits for the watch, saying so.
    let mut build = command(root, &["build"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut build);
    let waiting = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the build says why it waits");
    assert!(
        waiting.contains("waiting for")
            && waiting.contains("sluice watch")
            && waiting.contains(&watch_pid)
            && waiting.contains("--no-wait"),
        "{waiting}"
    );
    // The watch goes on writing; the waiting build writes nothing, stages nothing.
    files.insert(
        "css/d3/c1.css".into(),
        b".edited { color: red; }\n".to_vec(),
    );
    write_sources(root, &files, &mut clock);
    wait_for_file(
        &root.join("static/css/d3/c1.css"),
        ".edited { color: red; }\n",
    );
    assert!(
        build.try_wait().unwrap().is_none(),
        "the build did not wait"
    );
    assert!(!root.join("static/staticfiles.json").exists());
    assert!(
        !fs::read_dir(root).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("staging")),
        "the waiting build staged files"
    );

    // Once the watch stops, the build runs, and its output is a fresh build's.
    assert!(
        Command::new("kill")
            .args(["-INT", &watch_pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(watch.wait().unwrap().code(), Some(0));
    let status = build.wait().unwrap();
    let rest: Vec<String> = lines.iter().collect();
    assert!(status.success(), "{status}: {rest:#?}");
    support::assert_same_tree(
        "a fresh build",
        &fresh(&files, BUILD),
        "the build that waited",
        &tree_files(&root.join("static")),
    );
    assert!(leftovers(root).is_empty(), "{:?}", leftovers(root));
}

/// A sync and a build started together, round after round: both exit 0 and the output is
/// exactly a fresh run of the one that went last (interleaved writes would match neither).
#[test]
fn a_sync_and_a_build_started_together_do_not_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("sluice.toml"), CONFIG).unwrap();
    let mut files = initial_sources();
    let mut clock = 1_600_000_000;
    write_sources(root, &files, &mut clock);
    run_ok(root, BUILD, "the first build");
    let mut rng = Rng::new(7);
    let mut waited = 0;
    for round in 0..4 {
        mutate(&mut files, &mut rng, 1000 + round);
        write_sources(root, &files, &mut clock);
        let spawn = |args: &[&str]| {
            command(root, args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (sync, build) = (spawn(&["sync"]), spawn(&["build"]));
        for (name, child) in [("sync", sync), ("build", build)] {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: {name}: {stderr}");
            waited += usize::from(stderr.contains("waiting for"));
        }
        // Which went last: a build leaves staticfiles.json, a sync removes it.
        let last = if root.join("static/staticfiles.json").exists() {
            "build"
        } else {
            "sync"
        };
        let args = if last == "sync" { SYNC } else { BUILD };
        support::assert_same_tree(
            &format!("a fresh {last}"),
            &fresh(&files, args),
            &format!("round {round}: a sync and a build at once, {last} last"),
            &tree_files(&root.join("static")),
        );
        assert!(leftovers(root).is_empty(), "{:?}", leftovers(root));
    }
    eprintln!("{waited} of 4 rounds had one run wait for the other");
}
