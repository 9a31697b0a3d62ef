//! The record's log: what each save changed, appended beside the record file, so a build
//! that changed one stylesheet writes a few hundred bytes instead of the whole record (6 MB
//! at 20 000 sources). The record file is the base; the log (`out-<hash>.log`) holds frames,
//! each naming the base it follows (the xxh3 of the base file), checksummed (xxh3), with
//! every key a table changed and its new value or its removal, and the record's small fields
//! whole. Loading applies the frames in order and stops at the first one that is short,
//! damaged or follows another base: a run killed while appending loses only its own frame,
//! as a run killed before writing a whole record did (what it wrote is taken back from the
//! output journal). The next save cuts such a tail off before appending.
//!
//! A save writes a whole new base instead (and removes the log) when there is no base yet,
//! when a table changed blindly ([`super::tracked`]), or when the log would pass a quarter of
//! the base: loading then never replays more than that.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use super::codec::{Decoded, Malformed, Reader, Writer};
use super::file::{Entry, TableKey, get_totals, put_totals};
use super::tracked::{Table, Touched};
use super::{OutEntry, Record};

const MAGIC: &[u8] = b"sluice-record-log\n";
/// Frame header: the body's length and its xxh3, little-endian.
const HEADER: usize = 16;

/// The saved files a record was loaded from or last saved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// The xxh3 of the base file: the frames that follow it name it.
    pub id: u64,
    pub base_len: usize,
    /// How much of the log is good frames (0: no log, or none).
    pub log_len: usize,
}

impl Saved {
    /// Whether a log of `len` bytes is still worth replaying instead of a new base.
    fn fits(&self, len: usize) -> bool {
        len <= (self.base_len / 4).max(64 * 1024)
    }
}

impl Record {
    /// The frame for what changed since the last save, or `None` when a table changed
    /// blindly (a whole base is due).
    pub(super) fn encode_frame(&self, base: u64) -> Option<Vec<u8>> {
        let mut w = Writer::default();
        w.u64(base);
        w.str(&self.profile);
        w.str(&self.static_url);
        w.str(&self.codecs);
        match self.outputs.touched() {
            None => w.table(0),
            Some(touched) => put_changes(&mut w, &self.outputs, touched)?,
        }
        put_table_changes(&mut w, &self.sources)?;
        put_table_changes(&mut w, &self.compiles)?;
        put_table_changes(&mut w, &self.bundles)?;
        put_table_changes(&mut w, &self.collected)?;
        put_table_changes(&mut w, &self.plan)?;
        put_table_changes(&mut w, &self.contents)?;
        put_table_changes(&mut w, &self.integrity)?;
        put_table_changes(&mut w, &self.dirs)?;
        put_totals(&mut w, &self.totals);
        Some(framed(&w.buf))
    }

    /// Applies the good frames of `log` that follow base `id`; returns how many bytes of it
    /// they (and the magic) take.
    pub(super) fn apply_log(&mut self, log: &[u8], id: u64) -> usize {
        let Some(mut rest) = log.strip_prefix(MAGIC) else {
            return 0;
        };
        let mut good = MAGIC.len();
        while rest.len() >= HEADER {
            let (len, sum) = (le(&rest[..8]), le(&rest[8..16]));
            let Some(body) = usize::try_from(len)
                .ok()
                .and_then(|len| rest.get(HEADER..HEADER.checked_add(len)?))
            else {
                break;
            };
            if xxhash_rust::xxh3::xxh3_64(body) != sum {
                break;
            }
            match Frame::decode(body) {
                Ok(frame) if frame.base == id => frame.apply(self),
                _ => break,
            }
            good += HEADER + body.len();
            rest = &rest[HEADER + body.len()..];
        }
        good
    }

    /// Appends what changed to the log, if a frame will do; `Ok(false)`: a whole base is due.
    pub(super) fn append_frame(&mut self, log: &Path) -> std::io::Result<bool> {
        let Some(saved) = self.saved else {
            return Ok(false);
        };
        let Some(frame) = self.encode_frame(saved.id) else {
            return Ok(false);
        };
        let start = saved.log_len;
        let mut bytes = Vec::with_capacity(MAGIC.len() + frame.len());
        if start == 0 {
            bytes.extend_from_slice(MAGIC);
        }
        bytes.extend_from_slice(&frame);
        if !saved.fits(start + bytes.len()) {
            return Ok(false);
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(log)?;
        // A tail no load took (a killed append, another base's frames) goes first.
        if file.metadata()?.len() != start as u64 {
            file.set_len(start as u64)?;
        }
        file.seek(SeekFrom::Start(start as u64))?;
        file.write_all(&bytes)?;
        self.saved = Some(Saved {
            log_len: start + bytes.len(),
            ..saved
        });
        Ok(true)
    }
}

/// A log holding one frame, for the record file `base`, whose body after the base's id is
/// `rest`, checksummed: lets a fuzzer reach the frame decoder past the checksum.
pub fn log_of_one_frame(base: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(xxhash_rust::xxh3::xxh3_64(base));
    w.buf.extend_from_slice(rest);
    [MAGIC, &framed(&w.buf)].concat()
}

/// A frame: its body's length and xxh3 (the header), then the body.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.extend_from_slice(&(body.len() as u64).to_le_bytes());
    frame.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(body).to_le_bytes());
    frame.extend_from_slice(body);
    frame
}

fn le(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(bytes);
    u64::from_le_bytes(b)
}

fn put_table_changes<K: TableKey, V: Entry>(w: &mut Writer, table: &Table<K, V>) -> Option<()> {
    put_changes(w, table, table.touched())
}

/// Each changed key, in order, with its value now or its removal.
fn put_changes<K: TableKey, V: Entry>(
    w: &mut Writer,
    map: &BTreeMap<K, V>,
    touched: &Touched<K>,
) -> Option<()> {
    let Touched::Keys(keys) = touched else {
        return None;
    };
    w.table(keys.len());
    for k in keys {
        k.put(w);
        match map.get(k) {
            Some(v) => {
                w.bool(true);
                v.put(w);
            }
            None => w.bool(false),
        }
    }
    Some(())
}

type Changes<K, V> = Vec<(K, Option<V>)>;

fn get_changes<K: TableKey, V: Entry>(r: &mut Reader) -> Decoded<Changes<K, V>> {
    let mut changes = Vec::new();
    for _ in 0..r.table()? {
        let k = K::get(r)?;
        let v = if r.bool()? { Some(V::get(r)?) } else { None };
        changes.push((k, v));
    }
    Ok(changes)
}

/// One save's changes, decoded whole before any is applied.
struct Frame {
    base: u64,
    profile: String,
    static_url: String,
    codecs: String,
    outputs: Changes<String, OutEntry>,
    sources: Changes<String, super::SourceFact>,
    compiles: Changes<String, super::CompileNode>,
    bundles: Changes<String, super::BundleNode>,
    collected: Changes<String, super::Key>,
    plan: Changes<String, super::PlanFact>,
    contents: Changes<super::Key, super::Compressed>,
    integrity: Changes<String, (String, String)>,
    dirs: Changes<String, i64>,
    totals: Option<super::Totals>,
}

impl Frame {
    fn decode(body: &[u8]) -> Decoded<Frame> {
        let mut r = Reader::new(body);
        let frame = Frame {
            base: r.u64()?,
            profile: r.string()?,
            static_url: r.string()?,
            codecs: r.string()?,
            outputs: get_changes(&mut r)?,
            sources: get_changes(&mut r)?,
            compiles: get_changes(&mut r)?,
            bundles: get_changes(&mut r)?,
            collected: get_changes(&mut r)?,
            plan: get_changes(&mut r)?,
            contents: get_changes(&mut r)?,
            integrity: get_changes(&mut r)?,
            dirs: get_changes(&mut r)?,
            totals: get_totals(&mut r)?,
        };
        r.at_end().then_some(frame).ok_or(Malformed)
    }

    fn apply(self, record: &mut Record) {
        record.profile = self.profile;
        record.static_url = self.static_url;
        record.codecs = self.codecs;
        record.totals = self.totals;
        for (k, v) in self.outputs {
            record.outputs.apply(k, v);
        }
        fn each<K: Ord + Clone, V>(table: &mut Table<K, V>, changes: Changes<K, V>) {
            for (k, v) in changes {
                table.apply(k, v);
            }
        }
        each(&mut record.sources, self.sources);
        each(&mut record.compiles, self.compiles);
        each(&mut record.bundles, self.bundles);
        each(&mut record.collected, self.collected);
        each(&mut record.plan, self.plan);
        each(&mut record.contents, self.contents);
        each(&mut record.integrity, self.integrity);
        each(&mut record.dirs, self.dirs);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::*;

    const OUT: &str = "/srv/static";

    fn meta(n: u64) -> FileMeta {
        FileMeta {
            len: n,
            mtime_ns: 1_700_000_000_000_000_000 + i64::try_from(n).unwrap(),
            ino: n,
        }
    }

    fn out(n: u64) -> OutEntry {
        OutEntry {
            meta: meta(n),
            link: false,
            source: None,
            key: Some(Key::of(&n.to_le_bytes())),
            kind: OutKind::Hashed,
        }
    }

    fn fact(n: u64) -> SourceFact {
        SourceFact {
            meta: meta(n),
            md5: Some(Key::of(&n.to_le_bytes())),
        }
    }

    /// A record of `n` sources and outputs, saved whole in `dir`.
    fn saved(dir: &Path, n: u64) -> Record {
        let mut r = Record::new(Path::new(OUT));
        r.profile = "build hash".into();
        for i in 0..n {
            r.sources.insert(format!("css/s{i:05}.css"), fact(i));
            r.outputs
                .insert(format!("css/s{i:05}.0123456789ab.css"), out(i));
            r.collected
                .insert(format!("css/s{i:05}.css"), Key::of(b"c"));
        }
        r.save(dir).unwrap();
        r
    }

    fn files(dir: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
        let out = Path::new(OUT);
        (
            std::fs::read(Record::file(dir, out)).unwrap(),
            std::fs::read(Record::log_file(dir, out)).ok(),
        )
    }

    /// What the saved files hold, as a whole record's bytes.
    fn reloaded(dir: &Path) -> Vec<u8> {
        Record::load(dir, Path::new(OUT)).encode()
    }

    #[test]
    fn a_save_appends_what_changed_and_a_load_replays_it() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path(), 200);
        let (base, log) = files(dir.path());
        assert_eq!(log, None);

        let mut r = Record::load(dir.path(), Path::new(OUT));
        r.sources.insert("css/new.css".into(), fact(7));
        r.sources.remove("css/s00003.css");
        r.outputs.insert("css/new.0123456789ab.css".into(), out(7));
        r.outputs.remove("css/s00004.0123456789ab.css");
        *r.collected.get_mut("css/s00005.css").unwrap() = Key::of(b"d");
        r.contents.insert(Key::of(b"d"), Compressed::default());
        r.profile = "dev".into();
        r.totals = Some(Totals {
            outputs: 9,
            ..Totals::default()
        });
        r.save(dir.path()).unwrap();
        let (base_now, log) = files(dir.path());
        assert_eq!(base_now, base, "the base is not written again");
        let log = log.expect("a log");
        assert!(log.len() < 600, "{} bytes for six changes", log.len());
        assert_eq!(reloaded(dir.path()), r.encode());

        // A second save with nothing changed but the small fields, then one more change.
        let mut again = Record::load(dir.path(), Path::new(OUT));
        again.outputs.insert("css/z.css".into(), out(9));
        again.save(dir.path()).unwrap();
        assert_eq!(files(dir.path()).0, base);
        assert_eq!(reloaded(dir.path()), again.encode());
        assert!(!again.encode().is_empty());
    }

    #[test]
    fn a_frame_cut_short_is_lost_alone_and_the_next_save_cuts_it_off() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path(), 50);
        let mut r = Record::load(dir.path(), Path::new(OUT));
        r.sources.insert("a.css".into(), fact(1));
        r.save(dir.path()).unwrap();
        let first = r.encode();
        r.sources.insert("b.css".into(), fact(2));
        r.save(dir.path()).unwrap();
        let log_path = Record::log_file(dir.path(), Path::new(OUT));
        let log = std::fs::read(&log_path).unwrap();
        for cut in [1, 5, 17] {
            std::fs::write(&log_path, &log[..log.len() - cut]).unwrap();
            assert_eq!(reloaded(dir.path()), first, "cut {cut}");
        }
        let mut next = Record::load(dir.path(), Path::new(OUT));
        next.sources.insert("c.css".into(), fact(3));
        next.save(dir.path()).unwrap();
        let loaded = Record::load(dir.path(), Path::new(OUT));
        assert!(loaded.sources.contains_key("a.css") && loaded.sources.contains_key("c.css"));
        assert!(!loaded.sources.contains_key("b.css"));
        assert_eq!(loaded.encode(), next.encode());
    }

    #[test]
    fn a_blind_change_or_a_long_log_writes_a_whole_record_and_old_frames_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path(), 50);
        let (base, _) = files(dir.path());
        let mut r = Record::load(dir.path(), Path::new(OUT));
        r.plan.insert(
            "x.css".into(),
            PlanFact {
                hashed: "x.1.css".into(),
                key: Key::of(b"x"),
                len: 1,
                refs: Vec::new(),
            },
        );
        r.save(dir.path()).unwrap();
        let old_log = files(dir.path()).1.expect("a log");

        // A change the table cannot name key by key.
        r.sources.values_mut().for_each(|f| f.md5 = None);
        r.save(dir.path()).unwrap();
        let (new_base, log) = files(dir.path());
        assert_ne!(new_base, base);
        assert_eq!(log, None, "a whole record removes the log");
        assert_eq!(reloaded(dir.path()), r.encode());
        // The old base's frames, put back, are not replayed on the new base.
        std::fs::write(Record::log_file(dir.path(), Path::new(OUT)), &old_log).unwrap();
        assert_eq!(reloaded(dir.path()), r.encode());

        // Frames past a quarter of the base (at least 64 KiB): a whole record again.
        let mut wholes = 0;
        for round in 0..40 {
            let mut r = Record::load(dir.path(), Path::new(OUT));
            for i in 0..200 {
                r.sources
                    .insert(format!("new/{round:03}/{i:04}.css"), fact(i));
            }
            let before = files(dir.path()).0;
            r.save(dir.path()).unwrap();
            let (after, log) = files(dir.path());
            if after != before {
                wholes += 1;
                assert_eq!(log, None);
            } else {
                assert!(log.unwrap().len() <= (after.len() / 4).max(64 * 1024));
            }
            assert_eq!(reloaded(dir.path()), r.encode());
        }
        assert!(wholes >= 1, "the log never grew into a whole record");
    }

    #[test]
    fn outputs_changed_in_the_log_wait_for_the_table_to_be_decoded() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path(), 20);
        let mut r = Record::load(dir.path(), Path::new(OUT));
        r.outputs.insert("img/a.png".into(), out(1));
        r.outputs.remove("css/s00001.0123456789ab.css");
        r.save(dir.path()).unwrap();
        // Loaded, saved with a change elsewhere (outputs never decoded), loaded again.
        let mut r2 = Record::load(dir.path(), Path::new(OUT));
        r2.sources.insert("b.css".into(), fact(2));
        r2.save(dir.path()).unwrap();
        let loaded = Record::load(dir.path(), Path::new(OUT));
        assert!(loaded.outputs.contains_key("img/a.png"));
        assert!(!loaded.outputs.contains_key("css/s00001.0123456789ab.css"));
        assert_eq!(loaded.outputs.len(), 20);
        assert_eq!(loaded.encode(), r2.encode());
    }
}
