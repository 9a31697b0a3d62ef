//! What the compile rule asks for besides its entries: the modules a compiled script imports.
//! A `.ts`/`.tsx`/`.jsx` file compiles to a `.js` of its own (its `import`s stay), so a page
//! that loads `js/app.js` also loads what `app.ts` imports by a relative path
//! (`./util.js` → `js/util.ts`): those are compiled too. (Sass and LESS imports are read into
//! their importer's compile and need nothing of their own.)
//!
//! The specifiers are found with a literal matcher (`from "…"`, `import "…"`, `import("…")`
//! whose string starts with `./` or `../`); bare package names are a bundler's business.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use sluice_assets::compile::Compiler;
use sluice_core::sources::{FileMeta, SourceFile};

/// The relative module specifiers of a script's text, in order.
pub fn relative_imports(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for keyword in ["from", "import"] {
        for (at, _) in text.match_indices(keyword) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || b"_$.".contains(&bytes[at - 1]))
            {
                continue;
            }
            let mut i = at + keyword.len();
            while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            if keyword == "import" && bytes.get(i) == Some(&b'(') {
                i += 1;
                while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                    i += 1;
                }
            }
            let Some(&quote) = bytes.get(i).filter(|q| b"\"'`".contains(q)) else {
                continue;
            };
            let start = i + 1;
            let Some(len) = bytes[start..]
                .iter()
                .position(|b| *b == quote || *b == b'\n')
            else {
                continue;
            };
            let spec = &text[start..start + len];
            if bytes[start + len] == quote && (spec.starts_with("./") || spec.starts_with("../")) {
                out.push(spec.to_string());
            }
        }
    }
    out
}

/// The logical path `spec` names from the script at `importer` (`..` past the top: `None`).
pub fn resolve(importer: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop();
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// What a script's imports ask for: the named file and, without an extension, its `.js`.
fn names(target: String) -> Vec<String> {
    let file = target.rsplit('/').next().unwrap_or(&target);
    if file.contains('.') {
        vec![target]
    } else {
        vec![format!("{target}.js"), target]
    }
}

/// The scripts' imports already read, by source path and fingerprint.
pub type Seen = BTreeMap<std::path::PathBuf, (FileMeta, Vec<String>)>;

/// Where [`Seen`] is kept between runs (a no-op run reads no script).
fn seen_file(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("script-imports.json")
}

/// What an earlier run kept of the scripts' imports (nothing when there is none).
pub fn load_seen(state_dir: &Path) -> Seen {
    std::fs::read(seen_file(state_dir))
        .ok()
        .and_then(|b| {
            serde_json::from_slice::<Vec<(std::path::PathBuf, FileMeta, Vec<String>)>>(&b).ok()
        })
        .map(|list| list.into_iter().map(|(p, m, s)| (p, (m, s))).collect())
        .unwrap_or_default()
}

/// Keeps `seen` for the next run (a cache that cannot be written costs reads, nothing more).
pub fn save_seen(state_dir: &Path, seen: &Seen) {
    let list: Vec<(&std::path::PathBuf, &FileMeta, &Vec<String>)> =
        seen.iter().map(|(p, (m, s))| (p, m, s)).collect();
    if let Ok(bytes) = serde_json::to_vec(&list) {
        let _ = sluice_core::output::write_atomic(&seen_file(state_dir), &bytes);
    }
}

/// `asked` grown by the relative imports of every asked-for script that compiles, and of
/// theirs; `compiled` maps a source's logical path to its compiled name; each script is read
/// once per fingerprint (`seen`).
pub fn follow_scripts(
    asked: &mut HashSet<String>,
    sources: &BTreeMap<String, SourceFile>,
    compiled: &BTreeMap<String, String>,
    seen: &mut Seen,
) {
    let mut queue: Vec<String> = compiled
        .iter()
        .filter(|(s, o)| asked.contains(*s) || asked.contains(*o))
        .map(|(s, _)| s.clone())
        .collect();
    let mut done: HashSet<String> = HashSet::new();
    let by_output: BTreeMap<&String, &String> = compiled.iter().map(|(s, o)| (o, s)).collect();
    while let Some(source) = queue.pop() {
        if !done.insert(source.clone()) {
            continue;
        }
        let Some(file) = sources.get(&source) else {
            continue;
        };
        if !matches!(
            Compiler::for_path(Path::new(&source)),
            Some(Compiler::TypeScript | Compiler::Tsx | Compiler::Jsx)
        ) {
            continue;
        }
        let specs = match seen.get(&file.path) {
            Some((meta, specs)) if *meta == file.meta => specs.clone(),
            _ => {
                let specs = std::fs::read(&file.path)
                    .map(|b| relative_imports(&String::from_utf8_lossy(&b)))
                    .unwrap_or_default();
                seen.insert(file.path.clone(), (file.meta, specs.clone()));
                specs
            }
        };
        for spec in specs {
            let Some(target) = resolve(&source, &spec) else {
                continue;
            };
            for name in names(target) {
                let next = by_output
                    .get(&name)
                    .map(|s| (*s).clone())
                    .or_else(|| compiled.contains_key(&name).then(|| name.clone()));
                asked.insert(name);
                if let Some(next) = next {
                    queue.push(next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_specifiers_are_found() {
        let text = "import { a } from './util.js';\nimport b from \"../lib/b\";\n\
                    import './side-effect.js';\nconst c = await import('./lazy.js');\n\
                    export * from './re.js';\nimport d from 'lodash-es';\n\
                    const s = 'from ./not';\nmyimport('./no.js');";
        assert_eq!(
            relative_imports(text),
            [
                "./util.js",
                "../lib/b",
                "./re.js",
                "./side-effect.js",
                "./lazy.js"
            ]
        );
        assert_eq!(
            resolve("js/app.ts", "./util.js").as_deref(),
            Some("js/util.js")
        );
        assert_eq!(
            resolve("js/a/app.ts", "../lib/b").as_deref(),
            Some("js/lib/b")
        );
        assert_eq!(resolve("app.ts", "../x.js"), None);
    }

    #[test]
    fn an_asked_script_asks_for_what_it_imports() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            let meta = FileMeta::of(&std::fs::metadata(&path).unwrap());
            (
                name.to_string(),
                SourceFile {
                    root: 0,
                    path,
                    meta,
                },
            )
        };
        let sources: BTreeMap<String, SourceFile> = [
            write("js/app.ts", "import { u } from './util.js';\n"),
            write("js/util.ts", "import './deep';\n"),
            write("js/deep.tsx", "export {};\n"),
            write("js/alone.ts", "export {};\n"),
        ]
        .into_iter()
        .collect();
        let compiled: BTreeMap<String, String> = [
            ("js/app.ts", "js/app.js"),
            ("js/util.ts", "js/util.js"),
            ("js/deep.tsx", "js/deep.js"),
            ("js/alone.ts", "js/alone.js"),
        ]
        .iter()
        .map(|(s, o)| (s.to_string(), o.to_string()))
        .collect();
        let mut asked: HashSet<String> = ["js/app.js".to_string()].into();
        let mut seen = Seen::new();
        follow_scripts(&mut asked, &sources, &compiled, &mut seen);
        assert!(asked.contains("js/util.js"), "{asked:?}");
        assert!(asked.contains("js/deep.js"), "{asked:?}");
        assert!(!asked.contains("js/alone.js"), "{asked:?}");
        assert_eq!(seen.len(), 3);
    }
}
