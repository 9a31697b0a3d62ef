//! Packs of the shared build cache: every entry one build used, in one object
//! (`packs/<seconds>-<md5>.pack`), so that the next cold build of a machine in the fleet
//! fetches one object instead of an object per entry (a GET per entry to the store is what a
//! cold build with a warm shared cache spent its time on).
//!
//! A pack is a cache of the cache: its entries are the same as the entries beside it, checked
//! by the engine the same way when used (a compressed copy decompresses to its content, a
//! result has the md5 that names it); it is written only by runs allowed to write, and a
//! reader takes the newest one (by the writer's clock, in its name) and asks for the
//! entries it lacks one by one.
//!
//! Format: `sluice-pack 1\n`, then per entry a `u32` name length, the name, a `u64` byte
//! length and the bytes (little-endian); names sorted, so the same entries make the same pack.

use std::collections::BTreeMap;

const MAGIC: &[u8] = b"sluice-pack 1\n";

/// The folder of the packs, under the version's folder.
pub const FOLDER: &str = "packs/";

/// The bytes of a pack of `entries`.
pub fn encode(entries: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let size: usize = entries.iter().map(|(n, b)| 12 + n.len() + b.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + size);
    out.extend_from_slice(MAGIC);
    for (name, bytes) in entries {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// The entries of a pack; `None` when it is not one (damaged, cut short, another format).
pub fn decode(bytes: &[u8]) -> Option<BTreeMap<String, Vec<u8>>> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        if rest.len() < n {
            return None;
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    };
    let mut entries = BTreeMap::new();
    while let Some(len) = take(4) {
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let name = String::from_utf8(take(len)?.to_vec()).ok()?;
        let size = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let body = take(usize::try_from(size).ok()?)?.to_vec();
        entries.insert(name, body);
    }
    // A partial length at the end is a pack cut short.
    rest.is_empty().then_some(entries)
}

/// The name of a pack of `bytes` written at `seconds` (since the epoch): newest sorts last.
pub fn name(seconds: u64, bytes: &[u8]) -> String {
    format!("{FOLDER}{seconds:020}-{}.pack", crate::md5_hex(bytes))
}

/// The newest pack among listed keys.
pub fn newest<'a>(keys: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    keys.filter(|k| k.starts_with(FOLDER) && k.ends_with(".pack"))
        .max()
}

/// The md5 in a pack's name (what its bytes hash to).
pub fn md5_of(name: &str) -> Option<&str> {
    name.strip_suffix(".pack")?.rsplit('-').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_round_trip_and_damaged_ones_are_refused() {
        let mut entries = BTreeMap::new();
        entries.insert("ab12.br".to_string(), b"brotli bytes".to_vec());
        entries.insert("ab12.gz.none".to_string(), Vec::new());
        entries.insert("cd34.action".to_string(), vec![0, 1, 2]);
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes), Some(entries.clone()));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None, "cut short");
        assert_eq!(decode(&bytes[..MAGIC.len() + 2]), None, "cut in a length");
        assert_eq!(decode(b"not a pack"), None);
        assert_eq!(decode(MAGIC), Some(BTreeMap::new()));
        // The same entries make the same pack.
        assert_eq!(encode(&entries.clone()), bytes);
    }

    #[test]
    fn the_newest_pack_is_the_one_written_last() {
        let keys = [
            name(1_700_000_000, b"old"),
            name(1_800_000_000, b"new"),
            "ab/ab12.br".to_string(),
            name(999, b"older"),
        ];
        assert_eq!(newest(keys.iter()), Some(&keys[1]));
        assert_eq!(md5_of(&keys[1]), Some(crate::md5_hex(b"new").as_str()));
        assert_eq!(newest(keys[2..3].iter()), None);
    }
}
