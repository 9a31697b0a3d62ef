//! The watch module's unit tests.

use super::*;

#[test]
fn scratch_names() {
    for name in [
        "4913",
        "site.css___jb_tmp___",
        "site.css___jb_old___",
        ".site.css.swp",
        "tmpbbjz4ccn",
        "tmp_8k2q0zz",
    ] {
        assert!(is_scratch(name), "{name}");
    }
    for name in [
        "site.css",
        "tmp",
        "tmpfile.css",
        "tmpABCDEFGH",
        "tmpabcdefghi",
    ] {
        assert!(!is_scratch(name), "{name}");
    }
}

#[test]
fn roots_whose_changes_are_made_elsewhere_are_polled_unless_forbidden() {
    let slow = || {
        Some(mounts::Slow {
            fs: "fuse.grpcfuse".into(),
            reason: "a fuse.grpcfuse mount".into(),
        })
    };
    let path = Path::new("/app/media");
    let auto = decide(path, PollMode::Auto, slow());
    assert!(auto.polled && auto.remote);
    assert_eq!(auto.why.as_deref(), Some("a fuse.grpcfuse mount"));
    let local = decide(path, PollMode::Auto, None);
    assert!(!local.polled && !local.remote && local.why.is_none());
    let never = decide(path, PollMode::Never, slow());
    assert!(!never.polled && never.remote && never.why.is_some());
    let always = decide(path, PollMode::Always, None);
    assert!(always.polled && !always.remote);
    let d = Duration::from_millis(500);
    assert_eq!(
        kind(&[auto.clone(), local.clone()], d),
        BackendKind::Mixed(d)
    );
    assert_eq!(kind(&[auto, always], d), BackendKind::Poll(d));
    assert_eq!(kind(&[local, never], d), BackendKind::Native);
}

#[test]
fn close_write_and_moves_settle_creates_do_not() {
    use notify::event::{ModifyKind, RemoveKind, RenameMode};
    assert!(settles(&EventKind::Access(AccessKind::Close(
        AccessMode::Write
    ))));
    assert!(settles(&EventKind::Modify(ModifyKind::Name(
        RenameMode::To
    ))));
    assert!(settles(&EventKind::Remove(RemoveKind::File)));
    assert!(!settles(&EventKind::Create(CreateKind::File)));
}
