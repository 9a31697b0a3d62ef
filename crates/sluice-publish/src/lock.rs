//! The publish lock: `PREFIX/.sluice-publish.lock`, taken with a conditional put before a
//! publish lists the prefix and deleted when it ends (failed or not), so that two publishes
//! to one prefix cannot interleave — the second stops with an error naming the first (when
//! it started, on which host) instead of racing it (the last manifest winning, one deleting
//! an object the other's manifest names).
//!
//! A lock older than [`EXPIRY`] is left by a publish that was killed: it is taken over (deleted,
//! then taken again with a conditional put). Two publishes that find the same expired lock at
//! the same moment are not told apart.

use crate::store::{Put, Store};
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
    for attempt in 0..2 {
        let bytes = body(now(), &who()).into_bytes();
        let md5 = md5_hex(&bytes);
        match store.put(LOCK_KEY, bytes, None, &md5, true).await? {
            Put::Done(_) => return Ok(()),
            Put::Exists => {}
        }
        let held = store.get(LOCK_KEY).await?;
        let holder = held.as_deref().and_then(parse);
        match holder {
            Some((since, who)) if !expired(since, now()) || attempt > 0 => {
                return Err(Error::Locked {
                    key: store.locate(LOCK_KEY),
                    since,
                    who,
                });
            }
            // Expired, or not a lock sluice can read: taken over.
            _ => store.delete(LOCK_KEY).await?,
        }
    }
    Err(Error::Locked {
        key: store.locate(LOCK_KEY),
        since: 0,
        who: "another publish".to_string(),
    })
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
