//! The slow, event-less mount of the tests: Debian's `bindfs` over a folder. Changes made in
//! the folder underneath raise no file event on the mount (as on a Docker Desktop bind mount,
//! where the host writes), and the kernel answers stats from its FUSE attribute cache for a
//! second. The harness installs `bindfs` with `apt-get` when it is missing; where FUSE cannot
//! be had (no `/dev/fuse`, no root, no package) the tests fail with the reason.
//!
//! A [`Mount`] is unmounted when dropped (a failed assertion too).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Makes sure `bindfs` and `fusermount3` (and `strace`, which one test runs sluice under) can be
/// run, installing them once per test process.
fn ensure_bindfs() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        if !Path::new("/dev/fuse").exists() {
            return Err(
                "/dev/fuse does not exist: this machine has no FUSE (load the fuse \
                        module, or give the container --device /dev/fuse)"
                    .into(),
            );
        }
        let have = |tool: &str| {
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
        };
        if have("bindfs") && have("fusermount3") && have("strace") {
            return Ok(());
        }
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "bindfs", "fuse3", "strace"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
        };
        let mut out = install();
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            let _ = Command::new("apt-get").args(["update", "-qq"]).status();
            out = install();
        }
        match out {
            Ok(o) if o.status.success() && have("bindfs") => Ok(()),
            Ok(o) => Err(format!(
                "bindfs is missing and `apt-get install bindfs fuse3 strace` failed (run the tests as \
                 root, or install them): {}",
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!(
                "bindfs is missing and apt-get could not run ({e}): install bindfs and fuse3"
            )),
        }
    });
    if let Err(reason) = ready {
        panic!("the slow-mount tests need FUSE: {reason}");
    }
}

/// A `bindfs` mount of `under` at `at`, unmounted on drop.
pub struct Mount {
    pub at: PathBuf,
    pub under: PathBuf,
}

fn mounted(at: &Path) -> bool {
    let at = at.to_string_lossy().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mountinfo")
        .is_ok_and(|t| t.lines().any(|l| l.split(' ').nth(4) == Some(at.as_str())))
}

impl Mount {
    /// Mounts `under` (created if missing) at `at` (created if missing).
    pub fn bindfs(under: &Path, at: &Path) -> Mount {
        ensure_bindfs();
        std::fs::create_dir_all(under).unwrap();
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("bindfs")
            .arg(under)
            .arg(at)
            .output()
            .expect("bindfs runs");
        assert!(
            out.status.success(),
            "bindfs {} {} failed: {}",
            under.display(),
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !mounted(at) {
            assert!(
                Instant::now() < deadline,
                "bindfs did not mount {}",
                at.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Mount {
            at: at.to_path_buf(),
            under: under.to_path_buf(),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        for (tool, args) in [
            ("fusermount3", vec!["-u"]),
            ("fusermount3", vec!["-uz"]),
            ("umount", vec!["-l"]),
        ] {
            if !mounted(&self.at) {
                return;
            }
            let _ = Command::new(tool).args(&args).arg(&self.at).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while mounted(&self.at) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
