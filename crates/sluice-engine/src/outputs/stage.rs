//! All or nothing: a profile that must not leave a half-made output (build) writes every new
//! file into a staging folder beside the output root (beside the folder a symlinked root leads
//! to), and moves them into place only once
//! the whole pass succeeded — a folder the output does not have yet moves in whole, in one
//! rename (a build into a missing output root is a single rename). On any error the staging
//! folder goes and the output root is exactly as it was.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rayon::prelude::*;
use sluice_core::output::output_path;
use sluice_core::sources::FileMeta;

/// Folders known to exist, so each is created once (`create_dir_all` costs a `mkdir` and a
/// `stat` per call, per file).
#[derive(Default)]
struct Folders(Mutex<HashSet<PathBuf>>);

impl Folders {
    fn ensure(&self, dir: &Path) -> io::Result<()> {
        let known = |d: &Path| self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(d);
        if known(dir) {
            return Ok(());
        }
        fs::create_dir_all(dir)?;
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut d = Some(dir);
        while let Some(dir) = d {
            if !set.insert(dir.to_path_buf()) {
                break;
            }
            d = dir.parent();
        }
        Ok(())
    }
}

/// Where new outputs wait until the whole pass succeeded.
pub struct Staging {
    root: PathBuf,
    created: OnceLock<io::Result<()>>,
    folders: Folders,
}

impl Staging {
    pub fn beside(output: &Path) -> Staging {
        // Beside the real folder: a STATIC_ROOT that is a symlink may lead onto another
        // filesystem (a mounted volume), where no rename from here could reach.
        let real = fs::canonicalize(output);
        let output = real.as_deref().unwrap_or(output);
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let parent = output.parent().unwrap_or(Path::new("."));
        Staging {
            root: parent.join(format!(".{name}.sluice-staging-{}", std::process::id())),
            created: OnceLock::new(),
            folders: Folders::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        output_path(&self.root, rel)
    }

    /// Removes staging folders left by killed runs. Only call it with the output root's lock
    /// held: then no other staging folder of this output root can be in use.
    pub fn remove_abandoned(&self) {
        let (Some(parent), Some(name)) = (self.root.parent(), self.root.file_name()) else {
            return;
        };
        let name = name.to_string_lossy();
        let Some(prefix) = name.strip_suffix(&std::process::id().to_string()) else {
            return;
        };
        for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = entry_name.strip_prefix(prefix) else {
                continue;
            };
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Writes one staged file and returns its metadata, which a rename into place keeps.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> io::Result<FileMeta> {
        let path = self.prepare(rel)?;
        let mut file = fs::File::create(path)?;
        io::Write::write_all(&mut file, bytes)?;
        Ok(FileMeta::of(&file.metadata()?))
    }

    /// Stages a copy of `file` (a source, a cache entry) as `rel`. A copy, not a hard link:
    /// an edit made in the output later cannot reach the file it came from.
    pub fn copy(&self, file: &Path, rel: &str) -> io::Result<FileMeta> {
        let path = self.prepare(rel)?;
        fs::copy(file, &path)?;
        Ok(FileMeta::of(&fs::symlink_metadata(&path)?))
    }

    /// Stages `rel` as a second name of the already staged `existing` (same bytes: the
    /// unhashed and hashed copies of a file Django does not rewrite, and their compressed
    /// copies), so the content is written once. Falls back to copying where the file system
    /// has no hard links.
    pub fn link(&self, existing: &str, rel: &str) -> io::Result<FileMeta> {
        let path = self.prepare(rel)?;
        let from = self.path(existing);
        match fs::hard_link(&from, &path) {
            Ok(()) => Ok(FileMeta::of(&fs::symlink_metadata(&path)?)),
            Err(_) => {
                fs::copy(&from, &path)?;
                Ok(FileMeta::of(&fs::symlink_metadata(&path)?))
            }
        }
    }

    fn prepare(&self, rel: &str) -> io::Result<PathBuf> {
        if let Err(e) = self.created.get_or_init(|| fs::create_dir_all(&self.root)) {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            self.folders.ensure(parent)?;
        }
        Ok(path)
    }

    pub fn remove(&self) {
        if self.created.get().is_some() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    /// Moves the staged `paths` into `output` (which did not exist when the pass started if
    /// `output_missing`: then the staging folder becomes it). Returns the paths that could
    /// not be moved, with why.
    pub fn move_in(
        &self,
        output: &Path,
        paths: &[&str],
        output_missing: bool,
    ) -> HashMap<String, io::Error> {
        if paths.is_empty() {
            return HashMap::new();
        }
        let units = if output_missing {
            vec![String::new()]
        } else {
            let mut sorted = paths.to_vec();
            sorted.sort_unstable();
            move_units(&sorted, |dir| output_path(output, dir).is_dir())
        };
        let failed: Vec<(String, io::Error)> = units
            .par_iter()
            .filter_map(|unit| {
                let (from, to) = if unit.is_empty() {
                    (self.root.clone(), output.to_path_buf())
                } else {
                    (self.path(unit), output_path(output, unit))
                };
                fs::rename(&from, &to).err().map(|e| (unit.clone(), e))
            })
            .collect();
        let mut out = HashMap::new();
        if failed.is_empty() {
            return out;
        }
        for path in paths {
            let under = |unit: &str| {
                unit.is_empty()
                    || *path == unit
                    || path
                        .strip_prefix(unit)
                        .is_some_and(|rest| rest.starts_with('/'))
            };
            if let Some((_, e)) = failed.iter().find(|(unit, _)| under(unit)) {
                out.insert(path.to_string(), io::Error::new(e.kind(), e.to_string()));
            }
        }
        out
    }
}

/// What to rename to move the staged `paths` (sorted) into the output: the topmost folder
/// of each path that the output lacks (`is_dir` answers for the output), moved whole, else
/// the file itself. Paths under one folder are contiguous in sorted order, so each folder
/// is found once.
pub fn move_units(paths: &[&str], mut is_dir: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut known: HashMap<String, bool> = HashMap::new();
    let mut units: Vec<String> = Vec::new();
    for path in paths {
        if let Some(last) = units.last()
            && path
                .strip_prefix(last.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        {
            continue;
        }
        let missing = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .find(|dir| {
                !*known
                    .entry((*dir).to_string())
                    .or_insert_with(|| is_dir(dir))
            });
        units.push(missing.unwrap_or(path).to_string());
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_folders_move_whole() {
        let existing = ["css", "img"];
        let units = move_units(
            &[
                "app.js",
                "css/a.css",
                "css/new/b.css",
                "css/new/c/d.css",
                "css/new2/e.css",
                "fonts/x.woff",
                "fonts/y/z.woff",
                "img/p.png",
            ],
            |dir| existing.contains(&dir),
        );
        assert_eq!(
            units,
            [
                "app.js",
                "css/a.css",
                "css/new",
                "css/new2",
                "fonts",
                "img/p.png"
            ]
        );
        // A name that only starts like a moved folder is not inside it.
        let units = move_units(&["a/x", "a.b/y", "ab"], |_| false);
        assert_eq!(units, ["a", "a.b", "ab"]);
    }

    #[test]
    fn staged_files_move_in_and_abandoned_staging_goes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("static");
        fs::create_dir_all(out.join("css")).unwrap();
        let left = dir.path().join(".static.sluice-staging-1");
        fs::create_dir_all(left.join("x")).unwrap();
        let staging = Staging::beside(&out);
        staging.remove_abandoned();
        assert!(!left.exists());
        staging.write("css/a.css", b"a").unwrap();
        staging.link("css/a.css", "css/a.0cc1.css").unwrap();
        staging.write("js/new/b.js", b"b").unwrap();
        let failed = staging.move_in(&out, &["css/a.css", "css/a.0cc1.css", "js/new/b.js"], false);
        assert!(failed.is_empty(), "{failed:?}");
        staging.remove();
        assert_eq!(fs::read(out.join("css/a.0cc1.css")).unwrap(), b"a");
        assert_eq!(fs::read(out.join("js/new/b.js")).unwrap(), b"b");
        assert!(!staging.root().exists());
    }
}
