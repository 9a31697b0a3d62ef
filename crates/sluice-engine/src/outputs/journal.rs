//! Crash safety: before a pass writes into the output root, it notes the paths it is about to
//! write in `.sluice/out-<hash>.intent`; once the record that names them is saved, the note
//! goes. A process killed in between (`kill -9`, a power cut) leaves the note, and the next
//! run, holding the lock, takes every file it names as sluice's (its bytes unknown, so they
//! are checked, replaced or removed as the profile wants, never called foreign) and removes
//! the temp files left in their folders. What was written is never lost track of, and no temp
//! file outlives the next run.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use sluice_core::output::{output_path, sweep_temps};
use sluice_core::sources::FileMeta;

use crate::record::{OutEntry, OutKind, Record, parent_dir, stem};

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Whether the note exists (this run wrote it, or a killed one left it).
    open: bool,
}

impl Journal {
    pub fn new(state_dir: &Path, output: &Path) -> Journal {
        let path = state_dir.join(format!("{}.intent", stem(output)));
        let open = path.exists();
        Journal { path, open }
    }

    /// Notes that `paths` (logical paths in the output root) are about to be written.
    pub fn note<'a>(&mut self, paths: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
        let mut text = String::new();
        for p in paths {
            text.push_str(p);
            text.push('\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(text.as_bytes())?;
        self.open = true;
        Ok(())
    }

    /// After the record naming everything noted was saved.
    pub fn clear(&mut self) {
        if self.open {
            let _ = fs::remove_file(&self.path);
            self.open = false;
        }
    }

    /// What a killed run meant to write: each existing file it names becomes sluice's in
    /// `record` (unknown bytes), and the temp files in their folders go. Returns how many files
    /// were taken back.
    pub fn recover(&mut self, record: &mut Record) -> usize {
        if !self.open {
            return 0;
        }
        let text = fs::read_to_string(&self.path).unwrap_or_default();
        let output = record.output.clone();
        let mut folders = BTreeSet::new();
        let mut taken = 0;
        for logical in text.lines().filter(|l| !l.is_empty()) {
            folders.insert(parent_dir(logical).to_string());
            let Ok(meta) = fs::symlink_metadata(output_path(&output, logical)) else {
                continue;
            };
            if meta.is_dir() {
                continue;
            }
            let now = FileMeta::of(&meta);
            if record.outputs.get(logical).is_some_and(|e| e.meta == now) {
                continue;
            }
            record.outputs.insert(
                logical.to_string(),
                OutEntry {
                    meta: now,
                    link: meta.file_type().is_symlink(),
                    source: None,
                    key: None,
                    kind: OutKind::Dev,
                },
            );
            taken += 1;
        }
        for folder in folders {
            sweep_temps(&output_path(&output, &folder));
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_killed_run_wrote_becomes_ours_and_its_temp_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let (state, out) = (dir.path().join(".sluice"), dir.path().join("static"));
        fs::create_dir_all(out.join("css")).unwrap();
        fs::create_dir_all(&state).unwrap();
        let mut journal = Journal::new(&state, &out);
        journal
            .note(["css/a.css", "css/b.css", "js/never.js"])
            .unwrap();
        fs::write(out.join("css/a.css"), b"a").unwrap();
        fs::write(out.join("css/.b.css.999-1.sluice-tmp"), b"half").unwrap();
        fs::write(out.join("css/foreign.css"), b"f").unwrap();
        // The process dies here; the next one starts.
        let mut next = Journal::new(&state, &out);
        let mut record = Record::new(&out);
        assert_eq!(next.recover(&mut record), 1);
        assert!(record.outputs.contains_key("css/a.css"));
        assert!(!record.outputs.contains_key("css/foreign.css"));
        let mut names: Vec<String> = fs::read_dir(out.join("css"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.css", "foreign.css"]);
        next.clear();
        assert!(!Journal::new(&state, &out).open);
    }
}
