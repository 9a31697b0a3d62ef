//! Compile nodes: which sources are compiled ([`targets`], pure), whether a node is fresh
//! ([`fresh`]), and running the stale ones ([`run`]) through the cache.
//!
//! One rule for every profile, as every Django incumbent compiles what is asked for
//! (django-pipeline: bundle members; django-compressor: `{% compress %}` blocks;
//! django-sass-processor: `{% sass_src %}`): a source is compiled when a bundle lists it (or
//! its compiled name), a `[compile] entries` glob matches it, or a template references its
//! compiled name (`{% static "css/site.css" %}` → `css/site.scss`); what it imports is read
//! as part of its compile (a script's relative imports are asked for too: [`super::asked`]). Nothing else is compiled — a vendored package's `.less` or
//! `.scss` that nobody asks for is copied as it is, and a compiler missing for it is no
//! error. Partials (`_x.scss`) are never compiled alone. A compile whose output is empty (a
//! file of variables only) writes no file unless a bundle lists it. A source that needs a
//! django-pipeline compiler sluice does not run (es6, CoffeeScript, Stylus, LiveScript) and
//! is asked for is an error naming it, in `sync`, `watch`, `dev` and `build` alike.
//!
//! A compile reads the source where it is (not a copy in the output), with the load paths
//! (`[compile] load_paths`); every file it read is an input of the node, with its fingerprint. A stale
//! node is first looked for in the cache's actions by the md5 of what it reads, so a touch,
//! a branch switch and back, or another output root costs a few reads, not a compile.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sluice_assets::Error;
use sluice_assets::compile::{Compiler, compile};
use sluice_core::bundles::{CompilerKind, compiled_name};
use sluice_core::sources::{FileMeta, SourceFile};

use crate::cache::{Action, Cache, RULES_VERSION};
use crate::record::{BlobRef, CompileNode, Key};

/// One source to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub source: String,
    pub output: String,
    pub kind: CompilerKind,
    /// `None`: a django-pipeline compiler sluice does not run.
    pub compiler: Option<Compiler>,
    pub path: PathBuf,
}

/// The sources to compile: those a compiler in `compilers` takes that are `asked` for (by
/// their own name or their compiled name), partials and declaration files aside.
pub fn targets(
    sources: &BTreeMap<String, SourceFile>,
    compilers: &[CompilerKind],
    asked: &HashSet<String>,
) -> Vec<Target> {
    if compilers.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (logical, file) in sources {
        let Some((kind, output)) = compiled_name(logical, compilers) else {
            continue;
        };
        if !asked.contains(logical) && !asked.contains(&output) {
            continue;
        }
        let path = Path::new(logical.as_str());
        if Compiler::is_partial(path) {
            continue;
        }
        let compiler = Compiler::for_path(path);
        if compiler.is_none()
            && matches!(
                kind,
                CompilerKind::Sass | CompilerKind::Less | CompilerKind::TypeScript
            )
        {
            continue; // `.d.ts`: declarations, nothing to compile
        }
        out.push(Target {
            source: logical.clone(),
            output,
            kind,
            compiler,
            path: file.path.clone(),
        });
    }
    out
}

/// Whether a source the dev profile compiles is one a page loads itself: a change to its own
/// copy is no reason to reload a page (the outputs it affects are).
pub fn is_compiled_source(logical: &str, compilers: &[CompilerKind]) -> bool {
    Compiler::for_path(Path::new(logical)).is_some() && compiled_name(logical, compilers).is_some()
}

fn fingerprint(path: &Path) -> Option<FileMeta> {
    // Past the kernel's attribute cache on roots whose changes are made elsewhere.
    sluice_core::sources::remote::fingerprint(path)
}

/// Which program compiles Sass for `path` (dart-sass, or grass when none is installed): a
/// result of one is not the other's.
fn engine(compiler: Option<Compiler>, path: &Path, load_paths: &[PathBuf]) -> String {
    match compiler {
        Some(Compiler::Scss | Compiler::Sass) => {
            sluice_assets::compile::sass_engine(path, load_paths)
        }
        _ => String::new(),
    }
}

/// What a compile of `target` depends on besides the files it reads: the compiler (for Sass,
/// which program) and the load paths.
pub fn settings(target: &Target, load_paths: &[PathBuf]) -> Key {
    let paths: Vec<u8> = load_paths
        .iter()
        .flat_map(|p| p.as_os_str().as_encoded_bytes().iter().copied().chain([0]))
        .collect();
    Key::derive(&[
        RULES_VERSION.as_bytes(),
        format!("{:?} {:?}", target.kind, target.compiler).as_bytes(),
        engine(target.compiler, &target.path, load_paths).as_bytes(),
        &paths,
    ])
}

/// Whether `node` is the up-to-date compile of `target` with these `settings`: same
/// output, every input unchanged, its result in the cache.
pub fn fresh(node: Option<&CompileNode>, target: &Target, settings: &Key, cache: &Cache) -> bool {
    let Some(node) = node else {
        return false;
    };
    if node.settings != Some(*settings) {
        return false;
    }
    let inputs_same = node
        .inputs
        .iter()
        .all(|(p, m)| m.is_some() && fingerprint(p) == *m);
    if node.output != target.output || !inputs_same || node.inputs.is_empty() {
        return false;
    }
    if node.partial {
        return true;
    }
    let writes_map = target.compiler.is_some_and(Compiler::writes_map);
    node.code.is_some_and(|c| cache.has(&c))
        && (!writes_map || node.map.is_some_and(|m| cache.has(&m)))
}

/// What running the stale nodes did.
#[derive(Debug, Default)]
pub struct Ran {
    /// Compiles that ran (results found in the cache not counted).
    pub compiled: usize,
    /// Sources that failed, with the error (naming the source file, or the file the error is
    /// in, and its place); partials are not failures.
    pub failed: Vec<(String, Error)>,
    /// Sources that compiled (or were found in the cache), and partials.
    pub ok: Vec<String>,
    /// Sources whose result (or partial/failed state) is not what it was.
    pub changed: BTreeSet<String>,
}

struct Success {
    code: BlobRef,
    map: Option<BlobRef>,
    /// Every file the compile read (the source first), with its fingerprint from before it
    /// was read: a file changed while the compile ran then no longer matches, and the node is
    /// stale instead of fresh with the old bytes' result.
    inputs: Vec<(PathBuf, Option<FileMeta>)>,
    ran: bool,
}

/// A discovered input as a cached action was checked against: its fingerprint (taken first)
/// and the md5 of its bytes.
type Looked = (Option<FileMeta>, Option<Key>);

/// The action key of compiling `target` whose bytes have md5 `source_md5`; its paths are
/// [`Cache::portable`], so that machines sharing a cache share it.
fn action_key(
    target: &Target,
    compiler: Compiler,
    source_md5: &Key,
    load_paths: &[PathBuf],
    cache: &Cache,
) -> Key {
    let paths: Vec<u8> = load_paths
        .iter()
        .flat_map(|p| {
            let p = cache.portable(p);
            let bytes = p.as_os_str().as_encoded_bytes().to_vec();
            bytes.into_iter().chain([0])
        })
        .collect();
    Key::derive(&[
        b"compile",
        RULES_VERSION.as_bytes(),
        format!("{compiler:?}").as_bytes(),
        engine(Some(compiler), &target.path, load_paths).as_bytes(),
        cache.portable(&target.path).as_os_str().as_encoded_bytes(),
        &source_md5.0,
        &paths,
    ])
}

/// The other inputs of the action that keeps a compile's result under the md5 of its source:
/// what the compiler read, by the md5 of the bytes it read. `None` (keep no action) unless it
/// read the source as the key has it and knows what it read of every other file: a file that
/// changed under the compile would otherwise tie these bytes to a result made of others.
fn action_inputs(
    source: &Path,
    source_md5: &Key,
    read: &[sluice_assets::compile::Input],
) -> Option<Vec<(PathBuf, Key)>> {
    if !read
        .iter()
        .any(|i| i.path == source && i.md5 == Some(source_md5.0))
    {
        return None;
    }
    read.iter()
        .filter(|i| i.path != source)
        .map(|i| Some((i.path.clone(), Key(i.md5?))))
        .collect()
}

/// The node of a successful compile: its inputs with the fingerprints they had when read.
fn compiled_node(target: &Target, success: &Success, load_paths: &[PathBuf]) -> CompileNode {
    CompileNode {
        output: target.output.clone(),
        settings: Some(settings(target, load_paths)),
        inputs: success.inputs.clone(),
        code: Some(success.code),
        map: success.map,
        partial: false,
    }
}

/// Compiles `target`, or finds the result in the cache; with the source's fingerprint from
/// before anything read it (what a failed node keeps).
fn compile_one(
    target: &Target,
    cache: &Cache,
    load_paths: &[PathBuf],
) -> (Option<FileMeta>, Result<Success, Error>) {
    let source_meta = fingerprint(&target.path);
    let result = compile_read(target, source_meta, cache, load_paths);
    (source_meta, result)
}

/// [`compile_one`] once the source is fingerprinted. Every fingerprint is taken before the
/// bytes it stands for are read, never after.
fn compile_read(
    target: &Target,
    source_meta: Option<FileMeta>,
    cache: &Cache,
    load_paths: &[PathBuf],
) -> Result<Success, Error> {
    let file = target.path.display().to_string();
    let Some(compiler) = target.compiler else {
        return Err(Error::ToolFailed {
            file,
            program: target.kind.name().to_string(),
            message: "sluice does not run this django-pipeline compiler; compile the file \
                      beside its source and set `compile = false`"
                .to_string(),
        });
    };
    let bytes = fs::read(&target.path).map_err(|e| Error::Read {
        file: file.clone(),
        message: sluice_core::error::describe_io(&e),
    })?;
    let source_md5 = Key::of(&bytes);
    let key = action_key(target, compiler, &source_md5, load_paths, cache);
    // Each discovered input fingerprinted before it is read, and read once.
    let seen: std::sync::Mutex<BTreeMap<PathBuf, Looked>> = Default::default();
    let md5_now = |p: &Path| {
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        let local = cache.local(p);
        seen.entry(local.clone())
            .or_insert_with(|| {
                let meta = fingerprint(&local);
                (meta, fs::read(&local).ok().map(|b| Key::of(&b)))
            })
            .1
    };
    if let Some(action) = cache.find_action(&key, &md5_now) {
        let seen = seen.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut inputs = vec![(target.path.clone(), source_meta)];
        inputs.extend(action.inputs.iter().map(|(p, _)| {
            let local = cache.local(p);
            let meta = seen.get(&local).and_then(|(m, _)| *m);
            (local, meta)
        }));
        let code = action.output("code");
        let map = action.output("map");
        if let Some(code) = code.filter(|c| cache.present(c))
            && map.is_none_or(|m| cache.present(&m))
        {
            return Ok(Success {
                code,
                map,
                inputs,
                ran: false,
            });
        }
    }
    let compiled = compile(compiler, &target.path, load_paths)?;
    let stored = |bytes: &[u8]| {
        cache.put(bytes).map_err(|e| Error::Read {
            file: file.clone(),
            message: format!("cannot keep the compiled output in the cache: {e}"),
        })
    };
    let code = stored(compiled.code.as_bytes())?;
    let map = match &compiled.map {
        Some(json) => Some(stored(json.as_bytes())?),
        None => None,
    };
    if let Some(discovered) = action_inputs(&target.path, &source_md5, &compiled.inputs) {
        let discovered = discovered
            .into_iter()
            .map(|(p, md5)| (cache.portable(&p), md5))
            .collect();
        let mut outputs = vec![("code".to_string(), code)];
        outputs.extend(map.map(|m| ("map".to_string(), m)));
        // A cache that cannot keep an action costs a compile next time, nothing more.
        let _ = cache.put_action(
            &key,
            &Action {
                inputs: discovered,
                outputs,
            },
        );
    }
    Ok(Success {
        code,
        map,
        inputs: compiled
            .inputs
            .into_iter()
            .map(|i| (i.path, i.meta))
            .collect(),
        ran: true,
    })
}

/// A compile that ran: its target, the source's fingerprint from before it was read, and what
/// it gave.
type Attempt<'t> = (&'t Target, Option<FileMeta>, Result<Success, Error>);

/// Compiles the `stale` targets (in parallel), updating their nodes in `nodes`. A failed
/// compile keeps the node's last good result and is tried again when its source, anything it
/// read last time, or the file the error is in changes; a failed source that another node's
/// last good compile read, and that no bundle lists (`members`), is a partial.
pub fn run(
    stale: &[&Target],
    nodes: &mut crate::record::Table<String, CompileNode>,
    cache: &Cache,
    load_paths: &[PathBuf],
    roots: &[sluice_core::sources::SourceRoot],
    members: &HashSet<String>,
) -> Ran {
    let mut ran = Ran::default();
    if stale.is_empty() {
        return ran;
    }
    let results: Vec<Attempt> = stale
        .par_iter()
        .map(|t| {
            let (source_meta, result) = compile_one(t, cache, load_paths);
            (*t, source_meta, result)
        })
        .collect();
    // Successes first: a failure is then judged knowing what this pass's compiles read.
    let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(|(.., r)| r.is_ok());
    for (target, _, result) in ok {
        let Ok(success) = result else { continue };
        ran.compiled += usize::from(success.ran);
        ran.ok.push(target.source.clone());
        let node = compiled_node(target, &success, load_paths);
        let previous = nodes.insert(target.source.clone(), node);
        if previous.is_none_or(|p| {
            p.code != Some(success.code)
                || p.map != success.map
                || p.partial
                || p.output != target.output
        }) {
            ran.changed.insert(target.source.clone());
        }
    }
    for (target, source_meta, result) in failed {
        let Err(error) = result else { continue };
        let previous = nodes.get(&target.source).cloned().unwrap_or_default();
        let same_output = previous.output == target.output;
        let member = members.contains(&target.source) || members.contains(&target.output);
        let imported = !member
            && nodes.iter().any(|(other, n)| {
                *other != target.source
                    && n.code.is_some()
                    && !n.partial
                    && n.inputs.iter().any(|(p, _)| *p == target.path)
            });
        let node = if imported {
            // No output of its own, no error while its importers compile; tried again when
            // it changes.
            CompileNode {
                output: target.output.clone(),
                settings: Some(settings(target, load_paths)),
                inputs: vec![(target.path.clone(), source_meta)],
                code: None,
                map: None,
                partial: true,
            }
        } else {
            let mut inputs: Vec<(PathBuf, Option<FileMeta>)> = if same_output {
                previous.inputs.clone()
            } else {
                Vec::new()
            };
            let mut retry = vec![target.path.clone()];
            if let Error::Syntax { file, .. } | Error::Read { file, .. } = &error {
                let at = PathBuf::from(file);
                // In the sources or a load path (a package's file in `node_modules`).
                if roots.iter().any(|r| at.starts_with(&r.path))
                    || load_paths.iter().any(|l| at.starts_with(l))
                {
                    retry.push(at);
                }
            }
            for path in retry {
                inputs.retain(|(p, _)| *p != path);
                inputs.push((path, None));
            }
            CompileNode {
                output: target.output.clone(),
                settings: Some(settings(target, load_paths)),
                inputs,
                code: if same_output { previous.code } else { None },
                map: if same_output { previous.map } else { None },
                partial: false,
            }
        };
        if previous.partial != node.partial || previous.code != node.code {
            ran.changed.insert(target.source.clone());
        }
        let partial = node.partial;
        nodes.insert(target.source.clone(), node);
        if partial {
            ran.ok.push(target.source.clone());
        } else {
            ran.failed.push((target.source.clone(), error));
        }
    }
    ran
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(names: &[&str]) -> BTreeMap<String, SourceFile> {
        names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    SourceFile {
                        root: 0,
                        path: PathBuf::from("/src").join(n),
                        meta: FileMeta {
                            len: 0,
                            mtime_ns: 0,
                            ino: 0,
                        },
                    },
                )
            })
            .collect()
    }

    /// `css/site.scss` importing `css/_p.scss`, under `media/` in `dir`.
    fn scss_project(dir: &Path) -> (Target, PathBuf, Vec<PathBuf>) {
        let media = dir.join("media");
        fs::create_dir_all(media.join("css")).unwrap();
        let path = media.join("css/site.scss");
        fs::write(&path, "@import \"p\";\n.site { color: red; }\n").unwrap();
        let partial = media.join("css/_p.scss");
        fs::write(&partial, ".p { width: 1px; }\n").unwrap();
        let target = Target {
            source: "css/site.scss".into(),
            output: "css/site.css".into(),
            kind: CompilerKind::Sass,
            compiler: Some(Compiler::Scss),
            path,
        };
        (target, partial, vec![media])
    }

    /// The race a watch lost: an editor saved the partial after the compile had read it and
    /// before the node was recorded. The node must describe the bytes the compile read (and
    /// so be stale now), not the file as it was when the node was made (then it would look
    /// fresh, and the old CSS would stay until the next edit).
    #[test]
    fn an_input_saved_while_its_compile_runs_leaves_the_node_stale() {
        let dir = tempfile::tempdir().unwrap();
        let (target, partial, load_paths) = scss_project(dir.path());
        let cache = Cache::new(&dir.path().join(".sluice"));
        let success = compile_one(&target, &cache, &load_paths).1.unwrap();
        let css = String::from_utf8(cache.read(&success.code).unwrap()).unwrap();
        assert!(css.contains("width: 1px"), "{css}");
        // Saved as editors do (beside, then renamed over), with its own mtime.
        let saving = partial.with_file_name("._p.scss.saving");
        fs::write(&saving, ".p { width: 2px; }\n").unwrap();
        filetime::set_file_mtime(
            &saving,
            filetime::FileTime::from_unix_time(1_700_000_000, 0),
        )
        .unwrap();
        fs::rename(&saving, &partial).unwrap();
        let node = compiled_node(&target, &success, &load_paths);
        let settings = settings(&target, &load_paths);
        assert!(
            !fresh(Some(&node), &target, &settings, &cache),
            "the node claims the new partial: {:?}",
            node.inputs
        );
        // Compiled again, it is fresh, with the new bytes.
        let again = compile_one(&target, &cache, &load_paths).1.unwrap();
        let node = compiled_node(&target, &again, &load_paths);
        assert!(fresh(Some(&node), &target, &settings, &cache));
        let css = String::from_utf8(cache.read(&again.code).unwrap()).unwrap();
        assert!(css.contains("width: 2px"), "{css}");
    }

    /// The cache's actions tie a source's bytes to a result: only when the compile read the
    /// bytes the key was made of, and knows what it read of everything else.
    #[test]
    fn no_action_is_kept_for_bytes_the_compile_did_not_read() {
        use sluice_assets::compile::Input;
        let meta = Some(FileMeta {
            len: 1,
            mtime_ns: 1,
            ino: 1,
        });
        let source = Path::new("/src/css/site.scss");
        let input = |path: &str, md5: Option<[u8; 16]>| Input {
            path: PathBuf::from(path),
            meta: md5.and(meta),
            md5,
        };
        let keyed = Key::of(b"@import 'p';");
        let read = [
            input("/src/css/site.scss", Some(keyed.0)),
            input("/src/css/_p.scss", Some([7; 16])),
        ];
        assert_eq!(
            action_inputs(source, &keyed, &read),
            Some(vec![(PathBuf::from("/src/css/_p.scss"), Key([7; 16]))])
        );
        // The source changed between the read the key was made of and the compiler's.
        let other = [
            input("/src/css/site.scss", Some(Key::of(b"").0)),
            read[1].clone(),
        ];
        assert_eq!(action_inputs(source, &keyed, &other), None);
        // A partial changed while the compiler read it (LESS: while lessc ran).
        let unknown = [read[0].clone(), input("/src/css/_p.scss", None)];
        assert_eq!(action_inputs(source, &keyed, &unknown), None);
    }

    #[test]
    fn targets_are_what_is_asked_for_and_skip_partials() {
        let s = sources(&[
            "css/site.scss",
            "css/_vars.scss",
            "css/plain.css",
            "js/app.ts",
            "js/types.d.ts",
            "css/old.less",
            "js/legacy.coffee",
            "vendor/pkg/less/unused.less",
        ]);
        let names = |t: Vec<Target>| -> Vec<(String, String)> {
            t.into_iter().map(|t| (t.source, t.output)).collect()
        };
        let asked: HashSet<String> = [
            "css/site.css", // by compiled name (a template's reference)
            "js/app.ts",    // by its own name (a bundle member)
            "css/old.css",
            "css/_vars.css", // a partial: never alone
            "js/types.d.js", // declarations: nothing to compile
            "js/legacy.js",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(
            names(targets(&s, CompilerKind::DEFAULT, &asked)),
            [
                ("css/old.less".to_string(), "css/old.css".to_string()),
                ("css/site.scss".into(), "css/site.css".into()),
                ("js/app.ts".into(), "js/app.js".into()),
            ]
        );
        assert_eq!(targets(&s, &[CompilerKind::Sass], &asked).len(), 1);
        assert!(targets(&s, &[], &asked).is_empty());
        // Nothing asked, nothing compiled: the vendored `.less` included.
        assert!(targets(&s, CompilerKind::DEFAULT, &HashSet::new()).is_empty());
        // A compiler sluice does not run is a target when asked for: compiling it is the error.
        let coffee = targets(&s, &[CompilerKind::CoffeeScript], &asked);
        assert_eq!(coffee.len(), 1);
        assert_eq!(coffee[0].compiler, None);
    }
}
