//! webpack's `~pkg/…` imports in LESS: `lessc` has no such prefix (less-loader resolves it
//! with webpack's resolver before less sees it), so sluice hands `lessc` a plugin of its own
//! (`less_tilde.js`, `--plugin=FILE`) whose file manager takes the `~` imports and looks
//! them up in the include paths (sluice's load paths), listing every place tried on a miss.
//! The source is never rewritten: lessc's errors and `--depends` name the real files.
//!
//! lessc loads a plugin from a file, so the plugin is written once per user into a private
//! folder under the system's temporary folder (mode 0700, refused when it is anyone else's
//! or a link), named by its content's hash, and written atomically (many processes may race).

use std::path::{Path, PathBuf};

/// The plugin's source.
pub const PLUGIN: &str = include_str!("less_tilde.js");

/// The plugin's file, written when it is not there (each compile looks: a long watch may
/// outlive a cleaner of the temporary folder); `None` when it cannot be written (lessc then
/// runs without it, and `~` imports fail with lessc's own error).
pub fn plugin_file() -> Option<PathBuf> {
    write_plugin(&std::env::temp_dir()).ok()
}

/// Writes the plugin into `sluice-<uid>` under `tmp` (unless it is there already).
fn write_plugin(tmp: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // This process's user: the owner of its `/proc/self`.
    let uid = std::fs::metadata("/proc/self")?.uid();
    let dir = tmp.join(format!("sluice-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is not a private folder of this user",
            dir.display()
        )));
    }
    use md5::{Digest, Md5};
    let hash: String = Md5::digest(PLUGIN.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let file = dir.join(format!("less-tilde-{hash}.js"));
    if std::fs::read(&file).is_ok_and(|b| b == PLUGIN.as_bytes()) {
        return Ok(file);
    }
    sluice_core::output::write_atomic(&file, PLUGIN.as_bytes())?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_written_once_into_a_private_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write_plugin(tmp.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), PLUGIN);
        assert_eq!(
            write_plugin(tmp.path()).unwrap(),
            file,
            "found, not written again"
        );
        let dir = file.parent().unwrap();
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            1,
            "no scratch left"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            write_plugin(tmp.path()).is_err(),
            "a folder others may write"
        );
    }
}
