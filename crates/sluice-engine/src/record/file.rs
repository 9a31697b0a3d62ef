//! The record's file: a header (what it is, the output root, the last profile), then three
//! length-prefixed sections — the sources, the outputs, the rest — so the two big tables
//! decode in parallel. Written whole, atomically, when a save does not go onto the log
//! ([`super::log`]); see [`super::codec`] for the encoding.

use std::path::{Path, PathBuf};

use super::codec::{Decoded, Malformed, Reader, Writer};
use super::tracked::Table;
use super::*;

const MAGIC: &[u8] = b"sluice-record\n";
/// Bumped whenever the layout or the meaning of a field changes. 5: the file is the base
/// of a log ([`super::log`]), so an older sluice, which would read it without the log, takes
/// it for nothing recorded.
const VERSION: u64 = 5;

fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

#[cfg(unix)]
fn path_from(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.buf.extend_from_slice(MAGIC);
        w.u64(VERSION);
        w.bytes(path_bytes(&self.output));
        w.str(&self.profile);
        w.str(&self.static_url);
        w.str(&self.codecs);
        let head = w;
        // Three sections, each length-prefixed, so the two big tables decode in parallel —
        // and are encoded in parallel.
        let ((sources, outputs), rest) = rayon::join(
            || rayon::join(|| self.encode_sources(), || self.encode_outputs()),
            || self.encode_rest(),
        );
        let mut w = head;
        w.bytes(&sources.buf);
        w.bytes(&outputs.buf);
        w.u64(xxhash_rust::xxh3::xxh3_64(&outputs.buf));
        w.bytes(&rest.buf);
        w.buf
    }

    fn encode_sources(&self) -> Writer {
        let mut w = Writer::default();
        put_table(&mut w, &self.sources);
        w
    }

    fn encode_outputs(&self) -> Writer {
        let mut w = Writer::default();
        match self.outputs.undecoded() {
            // Never decoded in this run, so unchanged: written back as it was.
            Some(bytes) => w.buf.extend_from_slice(bytes),
            None => put_table(&mut w, &self.outputs),
        }
        w
    }

    fn encode_rest(&self) -> Writer {
        let mut w = Writer::default();
        put_table(&mut w, &self.compiles);
        put_table(&mut w, &self.bundles);
        put_table(&mut w, &self.collected);
        put_table(&mut w, &self.plan);
        put_table(&mut w, &self.contents);
        put_table(&mut w, &self.integrity);
        put_table(&mut w, &self.dirs);
        put_totals(&mut w, &self.totals);
        w
    }

    #[cfg(test)]
    pub(super) fn decode(bytes: &[u8]) -> Decoded<Record> {
        Record::decode_shared(std::sync::Arc::new(bytes.to_vec()))
    }

    /// Decodes a record file's bytes, all but the outputs table, which decodes on first use
    /// ([`Outputs`]) from these bytes.
    pub fn decode_shared(file: std::sync::Arc<Vec<u8>>) -> Decoded<Record> {
        let bytes = file.as_slice();
        let body = bytes.strip_prefix(MAGIC).ok_or(Malformed)?;
        let mut r = Reader::new(body);
        if r.u64()? != VERSION {
            return Err(Malformed);
        }
        let output = path_from(r.bytes()?);
        let profile = r.string()?;
        let static_url = r.string()?;
        let codecs = r.string()?;

        let (sources_bytes, outputs_bytes) = (r.bytes()?, r.bytes()?);
        let (checksum, rest_bytes) = (r.u64()?, r.bytes()?);
        if !r.at_end() || xxhash_rust::xxh3::xxh3_64(outputs_bytes) != checksum {
            return Err(Malformed);
        }
        let start = outputs_bytes.as_ptr() as usize - bytes.as_ptr() as usize;
        let section = start..start + outputs_bytes.len();
        let (sources, rest) =
            rayon::join(|| decode_sources(sources_bytes), || decode_rest(rest_bytes));
        let sources = sources?;
        let (compiles, bundles, collected, plan, contents, integrity, dirs, totals) = rest?;
        Ok(Record {
            output,
            profile,
            static_url,
            codecs,
            sources: Table::loaded(sources),
            outputs: Outputs::encoded(file.clone(), section),
            compiles: Table::loaded(compiles),
            bundles: Table::loaded(bundles),
            collected: Table::loaded(collected),
            plan: Table::loaded(plan),
            contents: Table::loaded(contents),
            integrity: Table::loaded(integrity),
            dirs: Table::loaded(dirs),
            totals,
            ..Record::default()
        })
    }
}

type Rest = (
    BTreeMap<String, CompileNode>,
    BTreeMap<String, BundleNode>,
    BTreeMap<String, Key>,
    BTreeMap<String, PlanFact>,
    BTreeMap<Key, Compressed>,
    BTreeMap<String, (String, String)>,
    BTreeMap<String, i64>,
    Option<Totals>,
);

fn decode_sources(bytes: &[u8]) -> Decoded<BTreeMap<String, SourceFact>> {
    let mut r = Reader::new(bytes);
    let sources = get_table(&mut r)?;
    r.at_end().then_some(sources).ok_or(Malformed)
}

pub(super) fn decode_outputs(bytes: &[u8]) -> Decoded<BTreeMap<String, OutEntry>> {
    let mut r = Reader::new(bytes);
    let outputs = get_table(&mut r)?;
    r.at_end().then_some(outputs).ok_or(Malformed)
}

fn decode_rest(bytes: &[u8]) -> Decoded<Rest> {
    let mut r = Reader::new(bytes);
    let rest = (
        get_table(&mut r)?,
        get_table(&mut r)?,
        get_table(&mut r)?,
        get_table(&mut r)?,
        get_table(&mut r)?,
        get_table(&mut r)?,
        get_table(&mut r)?,
        get_totals(&mut r)?,
    );
    r.at_end().then_some(rest).ok_or(Malformed)
}

/// A table: its length, then each key and value, in key order.
pub(super) fn put_table<K: TableKey, V: Entry>(w: &mut Writer, table: &BTreeMap<K, V>) {
    w.table(table.len());
    for (k, v) in table {
        k.put(w);
        v.put(w);
    }
}

/// Decodes a table written in key order: collected in bulk, without a comparison per key
/// and level.
pub(super) fn get_table<K: TableKey, V: Entry>(r: &mut Reader) -> Decoded<BTreeMap<K, V>> {
    let len = r.table()?;
    // Sized once: 50 000 outputs grown by doubling were copied twice over.
    let mut entries = Vec::with_capacity(len);
    for _ in 0..len {
        let k = K::get(r)?;
        entries.push((k, V::get(r)?));
    }
    Ok(entries.into_iter().collect())
}

pub(super) fn put_totals(w: &mut Writer, totals: &Option<Totals>) {
    w.bool(totals.is_some());
    if let Some(t) = totals {
        for v in [t.outputs, t.raw, t.gzip, t.brotli, t.zstd] {
            w.u64(v);
        }
        w.bool(t.manifest);
        w.u64(t.largest.len() as u64);
        for (name, raw, gzip, brotli) in &t.largest {
            w.str(name);
            w.u64(*raw);
            w.opt_u64(*gzip);
            w.opt_u64(*brotli);
        }
    }
}

pub(super) fn get_totals(r: &mut Reader) -> Decoded<Option<Totals>> {
    if !r.bool()? {
        return Ok(None);
    }
    let mut sums = [0u64; 5];
    for v in &mut sums {
        *v = r.u64()?;
    }
    let [outputs, raw, gzip, brotli, zstd] = sums;
    let manifest = r.bool()?;
    let mut largest = Vec::new();
    for _ in 0..r.usize()?.min(1 << 10) {
        largest.push((r.string()?, r.u64()?, r.opt_u64()?, r.opt_u64()?));
    }
    Ok(Some(Totals {
        outputs,
        raw,
        gzip,
        brotli,
        zstd,
        manifest,
        largest,
    }))
}

/// A table's key: a path, front-coded against the key before it, or a content's md5.
pub(super) trait TableKey: Ord + Clone + Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader) -> Decoded<Self>;
}

impl TableKey for String {
    fn put(&self, w: &mut Writer) {
        w.key(self);
    }
    fn get(r: &mut Reader) -> Decoded<String> {
        r.key()
    }
}

impl TableKey for Key {
    fn put(&self, w: &mut Writer) {
        w.digest(self);
    }
    fn get(r: &mut Reader) -> Decoded<Key> {
        r.digest()
    }
}

/// A table's value.
pub(super) trait Entry: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader) -> Decoded<Self>;
}

impl Entry for SourceFact {
    fn put(&self, w: &mut Writer) {
        w.meta(&self.meta);
        w.opt_digest(&self.md5);
    }
    fn get(r: &mut Reader) -> Decoded<SourceFact> {
        Ok(SourceFact {
            meta: r.meta()?,
            md5: r.opt_digest()?,
        })
    }
}

impl Entry for OutEntry {
    fn put(&self, w: &mut Writer) {
        w.meta(&self.meta);
        w.bool(self.link);
        w.opt_meta(&self.source);
        w.opt_digest(&self.key);
        w.u64(self.kind as u64);
    }
    fn get(r: &mut Reader) -> Decoded<OutEntry> {
        Ok(OutEntry {
            meta: r.meta()?,
            link: r.bool()?,
            source: r.opt_meta()?,
            key: r.opt_digest()?,
            kind: OutKind::from_u8(u8::try_from(r.u64()?).map_err(|_| Malformed)?)
                .ok_or(Malformed)?,
        })
    }
}

impl Entry for CompileNode {
    fn put(&self, w: &mut Writer) {
        w.str(&self.output);
        w.opt_digest(&self.settings);
        w.u64(self.inputs.len() as u64);
        for (p, m) in &self.inputs {
            w.bytes(path_bytes(p));
            w.opt_meta(m);
        }
        for blob in [&self.code, &self.map] {
            w.bool(blob.is_some());
            if let Some(b) = blob {
                w.digest(&b.key);
                w.u64(b.len);
            }
        }
        w.bool(self.partial);
    }
    fn get(r: &mut Reader) -> Decoded<CompileNode> {
        let output = r.string()?;
        let settings = r.opt_digest()?;
        let n = r.usize()?;
        let mut inputs = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let p = path_from(r.bytes()?);
            inputs.push((p, r.opt_meta()?));
        }
        let mut blobs = [None, None];
        for blob in &mut blobs {
            if r.bool()? {
                *blob = Some(BlobRef {
                    key: r.digest()?,
                    len: r.u64()?,
                });
            }
        }
        let [code, map] = blobs;
        Ok(CompileNode {
            output,
            settings,
            inputs,
            code,
            map,
            partial: r.bool()?,
        })
    }
}

impl Entry for BundleNode {
    fn put(&self, w: &mut Writer) {
        w.str(&self.def);
        w.u64(self.members.len() as u64);
        for m in &self.members {
            w.str(m);
        }
        w.u64(self.inputs.len() as u64);
        for (p, stamp) in &self.inputs {
            w.str(p);
            w.digest(stamp);
        }
        w.u64(self.outputs.len() as u64);
        for (p, blob) in &self.outputs {
            w.str(p);
            w.digest(&blob.key);
            w.u64(blob.len);
        }
    }
    fn get(r: &mut Reader) -> Decoded<BundleNode> {
        let def = r.string()?;
        let mut members = Vec::new();
        for _ in 0..r.usize()?.min(1 << 20) {
            members.push(r.string()?);
        }
        let mut inputs = Vec::new();
        for _ in 0..r.usize()?.min(1 << 20) {
            let p = r.string()?;
            inputs.push((p, r.digest()?));
        }
        let mut outputs = Vec::new();
        for _ in 0..r.usize()?.min(1 << 20) {
            let p = r.string()?;
            let key = r.digest()?;
            outputs.push((p, BlobRef { key, len: r.u64()? }));
        }
        Ok(BundleNode {
            def,
            members,
            inputs,
            outputs,
        })
    }
}

impl Entry for Key {
    fn put(&self, w: &mut Writer) {
        w.digest(self);
    }
    fn get(r: &mut Reader) -> Decoded<Key> {
        r.digest()
    }
}

impl Entry for PlanFact {
    fn put(&self, w: &mut Writer) {
        w.str(&self.hashed);
        w.digest(&self.key);
        w.u64(self.len);
        w.u64(self.refs.len() as u64);
        for (target, kind) in &self.refs {
            w.str(target);
            w.u64(u64::from(*kind));
        }
    }
    fn get(r: &mut Reader) -> Decoded<PlanFact> {
        let hashed = r.string()?;
        let key = r.digest()?;
        let len = r.u64()?;
        let mut refs = Vec::new();
        for _ in 0..r.usize()?.min(1 << 20) {
            let target = r.string()?;
            let kind = u8::try_from(r.u64()?).map_err(|_| Malformed)?;
            refs.push((target, kind));
        }
        Ok(PlanFact {
            hashed,
            key,
            len,
            refs,
        })
    }
}

impl Entry for Compressed {
    fn put(&self, w: &mut Writer) {
        w.opt_u64(self.br);
        w.opt_u64(self.gz);
        w.opt_u64(self.zst);
    }
    fn get(r: &mut Reader) -> Decoded<Compressed> {
        Ok(Compressed {
            br: r.opt_u64()?,
            gz: r.opt_u64()?,
            zst: r.opt_u64()?,
        })
    }
}

impl Entry for (String, String) {
    fn put(&self, w: &mut Writer) {
        w.str(&self.0);
        w.str(&self.1);
    }
    fn get(r: &mut Reader) -> Decoded<(String, String)> {
        Ok((r.string()?, r.string()?))
    }
}

impl Entry for i64 {
    fn put(&self, w: &mut Writer) {
        w.i64(*self);
    }
    fn get(r: &mut Reader) -> Decoded<i64> {
        r.i64()
    }
}
