//! Which source roots will never hear of their changes: the file systems where a change made
//! elsewhere (on the host of a Docker Desktop bind mount, on another NFS client, in Windows
//! under WSL2's `/mnt/c`) raises no inotify event here. The kernel only reports what passes
//! through its own VFS; on these file systems the writer is on the other side, so a watch there
//! stays silent and the root must be verified (polled) instead.
//!
//! The file system type comes from `statfs`; for FUSE (Docker Desktop's grpcfuse and virtiofs,
//! osxfs, bindfs, sshfs, vmhgfs-fuse, …) the subtype and the mount's source come from
//! `/proc/self/mountinfo`. [`slow_kind`] decides from those facts alone (pure); [`probe`] gets
//! them for a folder.

use std::path::{Path, PathBuf};

/// What is known of the file system a folder is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `statfs`'s `f_type`.
    pub magic: u64,
    /// The type as `/proc/self/mountinfo` names it (`fuse.sshfs`, `nfs4`, `ext4`), when found.
    pub fstype: Option<String>,
    /// Where it is mounted and what from, when found.
    pub mount_point: Option<PathBuf>,
    pub source: Option<String>,
}

/// Why a root is verified by polling rather than watched with inotify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slow {
    /// The file system, as a person would name it (`fuse.sshfs`, `nfs`, `9p`, `vboxsf`).
    pub fs: String,
    /// One line: what it is and why events will not come.
    pub reason: String,
}

// `statfs` magic numbers (linux/magic.h, and the out-of-tree modules' own headers).
const NFS: u64 = 0x6969;
const SMB: u64 = 0x517B;
const CIFS: u64 = 0xFF53_4D42;
const SMB2: u64 = 0xFE53_4D42;
const V9FS: u64 = 0x0102_1997;
const FUSE: u64 = 0x6573_5546;
const VBOXSF: u64 = 0x786F_4256;
const VMHGFS: u64 = 0xBACB_ACBC;
const PRL_FS: u64 = 0x7C7C_6673;
const CODA: u64 = 0x7375_7245;
const AFS: u64 = 0x5346_414F;
const KAFS: u64 = 0x6B41_4653;
const CEPH: u64 = 0x00C3_6400;
const LUSTRE: u64 = 0x0BD0_0BD0;
const GFS2: u64 = 0x0116_1970;

/// The file systems whose changes are made elsewhere, by `statfs` magic: each with its name
/// and who the other side is.
const REMOTE: [(u64, &str, &str); 14] = [
    (NFS, "nfs", "another NFS client or the server"),
    (SMB, "smbfs", "the SMB server or another client"),
    (CIFS, "cifs", "the SMB server or another client"),
    (SMB2, "smb3", "the SMB server or another client"),
    (
        V9FS,
        "9p",
        "the 9p host (WSL2's /mnt/c is Windows; a VM's share is its host)",
    ),
    (VBOXSF, "vboxsf", "the VirtualBox host"),
    (VMHGFS, "vmhgfs", "the VMware host"),
    (PRL_FS, "prl_fs", "the Parallels host"),
    (CODA, "coda", "the Coda servers"),
    (AFS, "afs", "the AFS servers"),
    (KAFS, "afs", "the AFS servers"),
    (CEPH, "ceph", "other Ceph clients"),
    (LUSTRE, "lustre", "other Lustre clients"),
    (GFS2, "gfs2", "the other nodes of the cluster"),
];

/// FUSE file systems whose every writer goes through this kernel (a local disk through a
/// FUSE driver, a container's own root file system): their events come as on any disk.
const LOCAL_FUSE: [&str; 4] = [
    "fuseblk",
    "fuse.fuse-overlayfs",
    "fuse.ntfs-3g",
    "fuse.exfat",
];

/// Whether changes on this file system are made where inotify cannot see them, and why.
pub fn slow_kind(mount: &Mount) -> Option<Slow> {
    let fstype = mount.fstype.as_deref();
    let place = match (&mount.source, &mount.mount_point) {
        (Some(source), Some(point)) if !source.is_empty() && source != "none" => {
            format!(" ({source} mounted at {})", point.display())
        }
        (_, Some(point)) => format!(" (mounted at {})", point.display()),
        _ => String::new(),
    };
    if mount.magic == FUSE || fstype.is_some_and(|t| t == "fuse" || t.starts_with("fuse.")) {
        if fstype.is_some_and(|t| LOCAL_FUSE.contains(&t)) {
            return None;
        }
        let fs = fstype.unwrap_or("fuse").to_string();
        let other = match fs.as_str() {
            "virtiofs" => "the VM's host (Docker Desktop, OrbStack, Lima)",
            "fuse.grpcfuse" | "fuse.osxfs" => "the Docker Desktop host",
            "fuse.sshfs" => "the SSH server",
            "fuse.vmhgfs-fuse" => "the VMware host",
            _ => "the FUSE daemon's backing store (the folder or service it serves)",
        };
        return Some(Slow {
            reason: format!(
                "a {fs} mount{place}: changes made by {other} raise no file events here"
            ),
            fs,
        });
    }
    if let Some(&(_, name, other)) = REMOTE.iter().find(|(m, ..)| *m == mount.magic) {
        let fs = fstype.unwrap_or(name).to_string();
        return Some(Slow {
            reason: format!(
                "a {fs} mount{place}: changes made by {other} raise no file events here"
            ),
            fs,
        });
    }
    // A type only mountinfo names (statfs gave a magic sluice does not know).
    let fs = fstype?;
    let family = fs.split('.').next().unwrap_or(fs);
    let remote = [
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "vboxsf", "vmhgfs", "virtiofs", "prl_fs",
        "ceph", "afs", "coda", "lustre", "gfs2",
    ];
    remote.contains(&family).then(|| Slow {
        fs: fs.to_string(),
        reason: format!("a {fs} mount{place}: changes made elsewhere raise no file events here"),
    })
}

/// One line of `/proc/self/mountinfo`, the parts sluice needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountLine {
    /// `major:minor` of the device.
    pub dev: (u32, u32),
    pub mount_point: PathBuf,
    pub fstype: String,
    pub source: String,
}

/// Parses `/proc/self/mountinfo` (proc(5)): `id parent major:minor root mount-point options
/// [optional fields…] - fstype source super-options`, with `\040`-style escapes in paths.
pub fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let (major, minor) = fields.get(2)?.split_once(':')?;
            let mount_point = PathBuf::from(unescape(fields.get(4)?));
            let mut rest = after.split(' ');
            let fstype = rest.next()?.to_string();
            let source = unescape(rest.next().unwrap_or(""));
            Some(MountLine {
                dev: (major.parse().ok()?, minor.parse().ok()?),
                mount_point,
                fstype,
                source,
            })
        })
        .collect()
}

/// mountinfo's octal escapes (`\040` for a space, `\134` for a backslash) undone.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(code) = field
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(code);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount `path` is on: the entry of its device whose mount point is the longest prefix
/// of `path` (bind mounts share a device), else the longest prefix of any.
pub fn mount_of<'a>(lines: &'a [MountLine], path: &Path, dev: (u32, u32)) -> Option<&'a MountLine> {
    let under = |l: &&MountLine| path.starts_with(&l.mount_point);
    let longest = |a: &&MountLine, b: &&MountLine| {
        a.mount_point
            .as_os_str()
            .len()
            .cmp(&b.mount_point.as_os_str().len())
    };
    lines
        .iter()
        .filter(|l| l.dev == dev)
        .filter(under)
        .max_by(longest)
        .or_else(|| lines.iter().filter(under).max_by(longest))
}

/// The file system of the folder `path` (`None` when it cannot be looked at).
pub fn probe(path: &Path) -> Option<Mount> {
    let fs = rustix::fs::statfs(path).ok()?;
    let magic = fs.f_type as u64;
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let line = std::fs::metadata(&real).ok().and_then(|meta| {
        use std::os::unix::fs::MetadataExt;
        let dev = meta.dev();
        let dev = (rustix::fs::major(dev), rustix::fs::minor(dev));
        let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let lines = parse_mountinfo(&text);
        mount_of(&lines, &real, dev).cloned()
    });
    Some(Mount {
        magic,
        fstype: line.as_ref().map(|l| l.fstype.clone()),
        mount_point: line.as_ref().map(|l| l.mount_point.clone()),
        source: line.map(|l| l.source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(magic: u64, fstype: Option<&str>) -> Mount {
        Mount {
            magic,
            fstype: fstype.map(String::from),
            mount_point: Some("/app".into()),
            source: Some("grpcfuse".into()),
        }
    }

    #[test]
    fn remote_and_fuse_file_systems_are_slow() {
        for (magic, fstype, fs) in [
            (FUSE, Some("fuse.grpcfuse"), "fuse.grpcfuse"),
            (FUSE, Some("fuse.osxfs"), "fuse.osxfs"),
            (FUSE, Some("virtiofs"), "virtiofs"),
            (FUSE, Some("fuse"), "fuse"),
            (FUSE, Some("fuse.sshfs"), "fuse.sshfs"),
            (FUSE, None, "fuse"),
            (NFS, Some("nfs4"), "nfs4"),
            (NFS, None, "nfs"),
            (CIFS, Some("cifs"), "cifs"),
            (SMB2, None, "smb3"),
            (V9FS, Some("9p"), "9p"),
            (VBOXSF, Some("vboxsf"), "vboxsf"),
            (VMHGFS, None, "vmhgfs"),
            (CEPH, Some("ceph"), "ceph"),
            (0x1234, Some("nfs4"), "nfs4"),
        ] {
            let slow = slow_kind(&mount(magic, fstype)).unwrap_or_else(|| panic!("{fs}"));
            assert_eq!(slow.fs, fs);
            assert!(
                slow.reason.contains("raise no file events"),
                "{}",
                slow.reason
            );
        }
        let reason = slow_kind(&mount(FUSE, Some("fuse.grpcfuse")))
            .unwrap()
            .reason;
        assert!(reason.contains("grpcfuse mounted at /app"), "{reason}");
        assert!(reason.contains("Docker Desktop"), "{reason}");
    }

    #[test]
    fn local_disks_are_not() {
        const EXT4: u64 = 0xEF53;
        const TMPFS: u64 = 0x0102_1994;
        const OVERLAY: u64 = 0x794C_7630;
        for (magic, fstype) in [
            (EXT4, Some("ext4")),
            (TMPFS, Some("tmpfs")),
            (OVERLAY, Some("overlay")),
            (EXT4, None),
            (FUSE, Some("fuseblk")),
            (FUSE, Some("fuse.fuse-overlayfs")),
        ] {
            assert_eq!(slow_kind(&mount(magic, fstype)), None, "{fstype:?}");
        }
    }

    #[test]
    fn mountinfo_lines_and_the_mount_of_a_path() {
        let text = "\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
45 22 0:40 / /tmp/a\\040b rw,nosuid - fuse /tmp/src rw,user_id=0
46 22 0:41 / /mnt/host rw master:3 - fuse.grpcfuse grpcfuse rw
47 46 254:1 /srv /mnt/host/bind rw - ext4 /dev/vda1 rw
";
        let lines = parse_mountinfo(text);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1].mount_point, Path::new("/tmp/a b"));
        assert_eq!(lines[1].fstype, "fuse");
        assert_eq!(lines[1].source, "/tmp/src");
        assert_eq!(lines[2].dev, (0, 41));
        let of = |p: &str, dev| mount_of(&lines, Path::new(p), dev).map(|l| l.fstype.as_str());
        assert_eq!(of("/mnt/host/media", (0, 41)), Some("fuse.grpcfuse"));
        assert_eq!(of("/tmp/a b/media", (0, 40)), Some("fuse"));
        // A bind mount of the root disk inside the FUSE mount: the device decides.
        assert_eq!(of("/mnt/host/bind/x", (254, 1)), Some("ext4"));
        assert_eq!(of("/home/x", (254, 1)), Some("ext4"));
    }
}
