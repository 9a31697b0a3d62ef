//! One writer per output root: an exclusive `flock` on `.sluice/out-<hash>.lock`, held for as
//! long as a command may write there (a whole `watch` or `dev` session). A second command on
//! the same output root waits for it, saying who holds it, or fails at once with `--no-wait`.
//! The kernel drops the lock when its process dies, however it dies.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use sluice_core::Error;

use crate::record::stem;

#[derive(Debug)]
pub struct OutputLock {
    _file: File,
    path: PathBuf,
}

/// Whether to wait for another sluice that holds the output root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Wait,
    NoWait,
}

fn flock(file: &File, blocking: bool) -> std::io::Result<()> {
    let op = libc::LOCK_EX | if blocking { 0 } else { libc::LOCK_NB };
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl OutputLock {
    /// Takes the lock of `output`. `what` says who this is (`sluice watch`), for the one
    /// waiting; `waiting` is told the holder before this waits.
    pub fn acquire(
        state_dir: &Path,
        output: &Path,
        what: &str,
        wait: Wait,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<OutputLock, Error> {
        sluice_core::output::ensure_state_dir(state_dir)?;
        let path = state_dir.join(format!("{}.lock", stem(output)));
        fs::create_dir_all(state_dir).map_err(|e| Error::io("create", state_dir, e))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        if let Err(e) = flock(&file, false) {
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(Error::io("lock", &path, e));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another process".to_string(),
                h => h.to_string(),
            };
            if wait == Wait::NoWait {
                return Err(Error::Busy {
                    output: output.to_path_buf(),
                    holder,
                });
            }
            waiting(&holder);
            flock(&file, true).map_err(|e| Error::io("lock", &path, e))?;
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}: {what}", std::process::id());
        Ok(OutputLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_without_waiting_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("static");
        let first =
            OutputLock::acquire(dir.path(), &out, "sluice watch", Wait::NoWait, &mut |_| {})
                .unwrap();
        // flock locks belong to the open file: a second open in this process conflicts too.
        let second =
            OutputLock::acquire(dir.path(), &out, "sluice build", Wait::NoWait, &mut |_| {});
        match second {
            Err(Error::Busy { holder, .. }) => {
                assert!(holder.contains("sluice watch"), "{holder}");
                assert!(holder.contains(&std::process::id().to_string()));
            }
            other => panic!("{other:?}"),
        }
        // Another output root has its own lock.
        OutputLock::acquire(
            dir.path(),
            &dir.path().join("other"),
            "x",
            Wait::NoWait,
            &mut |_| {},
        )
        .unwrap();
        drop(first);
        OutputLock::acquire(dir.path(), &out, "sluice build", Wait::NoWait, &mut |_| {}).unwrap();
    }
}
