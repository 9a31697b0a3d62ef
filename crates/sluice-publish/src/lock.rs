//! The publish lock: `PREFIX/.sluice-publish.lock`, taken with a conditional put before a
//! publish lists the prefix and deleted when it ends (failed or not), so that two publishes
//! to one prefix cannot interleave — the second stops with an error naming the first (when
//! it started, on which host) instead of racing it (the last manifest winning, one deleting
//! an object the other's manifest names).
//!
//! A lock older than [`EXPIRY_SECS`] is left by a publish that was killed: it is taken over
//! with a put conditional on the ETag it was read with (`If-Match`), so of two publishes that
//! find the same expired lock at the same moment one takes it and the other stops, naming it.
//! (A `file://` folder cannot put on an ETag: there the lock is deleted and taken again.)

use crate::store::{Put, Store, Versioned};
use crate::{Error, md5_hex};

pub const LOCK_KEY: &str = ".sluice-publish.lock";

/// How long a lock holds: past this, its publish is taken to be gone.
pub const EXPIRY_SECS: u64 = 3600;

/// The lock's bytes: when it was taken (seconds since the epoch) and by whom.
pub fn body(now: u64, who: &str) -> String {
    format!("sluice-publish-lock 1\n{now}\n{who}\n")
}

/// When a lock was taken and by whom; `None` when it is not a lock sluice wrote.
pub fn parse(bytes: &[u8]) -> Option<(u64, String)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    (lines.next()? == "sluice-publish-lock 1").then_some(())?;
    let since = lines.next()?.parse().ok()?;
    Some((since, lines.next().unwrap_or("").to_string()))
}

/// Whether a lock taken at `since` no longer holds at `now`.
pub fn expired(since: u64, now: u64) -> bool {
    now.saturating_sub(since) >= EXPIRY_SECS
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn who() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown host".to_string());
    format!("{host}, pid {}", std::process::id())
}

/// Takes the lock of `store`'s prefix, or says who holds it.
pub async fn take(store: &Store) -> Result<(), Error> {
    for _ in 0..2 {
        let bytes = body(now(), &who()).into_bytes();
        let md5 = md5_hex(&bytes);
        if let Put::Done(_) = store.put(LOCK_KEY, bytes, None, &md5, true).await? {
            return Ok(());
        }
        let Some(held) = store.get_versioned(LOCK_KEY).await? else {
            continue; // given back meanwhile: try again
        };
        if let Some((since, who)) = parse(&held.bytes)
            && !expired(since, now())
        {
            return Err(locked(store, since, who));
        }
        // Expired, or not a lock sluice can read: taken over.
        return take_over(store, &held).await;
    }
    Err(locked(store, 0, "another publish".to_string()))
}

/// Takes over the lock `held` (read with its ETag), unless another publish replaced it
/// first: then says who holds it now.
pub async fn take_over(store: &Store, held: &Versioned) -> Result<(), Error> {
    let bytes = body(now(), &who()).into_bytes();
    let md5 = md5_hex(&bytes);
    match store.replace_if(LOCK_KEY, bytes, &md5, held).await? {
        Put::Done(_) => Ok(()),
        Put::Exists => {
            let now_held = store.get(LOCK_KEY).await?;
            let (since, who) =
                (now_held.as_deref().and_then(parse)).unwrap_or((0, "another publish".to_string()));
            Err(locked(store, since, who))
        }
    }
}

fn locked(store: &Store, since: u64, who: String) -> Error {
    Error::Locked {
        key: store.locate(LOCK_KEY),
        since,
        who,
    }
}

/// Gives the lock back.
pub async fn release(store: &Store) -> Result<(), Error> {
    store.delete(LOCK_KEY).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_say_when_and_who_and_expire() {
        let b = body(1_000, "ci-7, pid 42");
        assert_eq!(
            parse(b.as_bytes()),
            Some((1_000, "ci-7, pid 42".to_string()))
        );
        assert_eq!(parse(b"something else"), None);
        assert!(!expired(1_000, 1_000 + EXPIRY_SECS - 1));
        assert!(expired(1_000, 1_000 + EXPIRY_SECS));
        // A clock behind the lock's: not expired.
        assert!(!expired(1_000, 10));
    }
}
