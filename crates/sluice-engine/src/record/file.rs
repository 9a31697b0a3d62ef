//! The record's file: a header (what it is, the output root, the last profile), then three
//! length-prefixed sections — the sources, the outputs, the rest — so the two big tables
//! decode in parallel. Written whole, atomically; see [`super::codec`] for the encoding.

use std::path::{Path, PathBuf};

use super::codec::{Decoded, Malformed, Reader, Writer};
use super::*;

const MAGIC: &[u8] = b"sluice-record\n";
/// Bumped whenever the layout or the meaning of a field changes.
const VERSION: u64 = 4;

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
        w.table(self.sources.len());
        for (k, s) in &self.sources {
            w.key(k);
            w.meta(&s.meta);
            w.opt_digest(&s.md5);
        }
        w
    }

    fn encode_outputs(&self) -> Writer {
        let mut w = Writer::default();
        match self.outputs.undecoded() {
            // Never decoded in this run, so unchanged: written back as it was.
            Some(bytes) => w.buf.extend_from_slice(bytes),
            None => {
                w.table(self.outputs.len());
                for (k, o) in self.outputs.iter() {
                    w.key(k);
                    w.meta(&o.meta);
                    w.bool(o.link);
                    w.opt_meta(&o.source);
                    w.opt_digest(&o.key);
                    w.u64(o.kind as u64);
                }
            }
        }
        w
    }

    fn encode_rest(&self) -> Writer {
        let mut w = Writer::default();
        w.table(self.compiles.len());
        for (k, c) in &self.compiles {
            w.key(k);
            w.str(&c.output);
            w.opt_digest(&c.settings);
            w.u64(c.inputs.len() as u64);
            for (p, m) in &c.inputs {
                w.bytes(path_bytes(p));
                w.opt_meta(m);
            }
            for blob in [&c.code, &c.map] {
                w.bool(blob.is_some());
                if let Some(b) = blob {
                    w.digest(&b.key);
                    w.u64(b.len);
                }
            }
            w.bool(c.partial);
        }
        w.table(self.bundles.len());
        for (k, b) in &self.bundles {
            w.key(k);
            w.str(&b.def);
            w.u64(b.members.len() as u64);
            for m in &b.members {
                w.str(m);
            }
            w.u64(b.inputs.len() as u64);
            for (p, stamp) in &b.inputs {
                w.str(p);
                w.digest(stamp);
            }
            w.u64(b.outputs.len() as u64);
            for (p, blob) in &b.outputs {
                w.str(p);
                w.digest(&blob.key);
                w.u64(blob.len);
            }
        }
        w.table(self.collected.len());
        for (k, key) in &self.collected {
            w.key(k);
            w.digest(key);
        }
        w.table(self.plan.len());
        for (k, p) in &self.plan {
            w.key(k);
            w.str(&p.hashed);
            w.digest(&p.key);
            w.u64(p.len);
            w.u64(p.refs.len() as u64);
            for (target, kind) in &p.refs {
                w.str(target);
                w.u64(u64::from(*kind));
            }
        }
        w.u64(self.contents.len() as u64);
        for (k, c) in &self.contents {
            w.digest(k);
            w.opt_u64(c.br);
            w.opt_u64(c.gz);
            w.opt_u64(c.zst);
        }
        w.table(self.integrity.len());
        for (k, (name, sri)) in &self.integrity {
            w.key(k);
            w.str(name);
            w.str(sri);
        }
        w.table(self.dirs.len());
        for (k, mtime) in &self.dirs {
            w.key(k);
            w.i64(*mtime);
        }
        w.bool(self.totals.is_some());
        if let Some(t) = &self.totals {
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
        w
    }

    pub fn decode(bytes: &[u8]) -> Decoded<Record> {
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
        let (sources, rest) = rayon::join(
            || decode_sources(sources_bytes),
            || decode_rest(rest_bytes, bytes.len()),
        );
        let sources = sources?;
        let (compiles, bundles, collected, plan, contents, integrity, dirs, totals) = rest?;
        // Written in key order: collected in bulk, without a comparison per key and level.
        Ok(Record {
            output,
            profile,
            static_url,
            codecs,
            sources: sources.into_iter().collect(),
            outputs: Outputs::encoded(file.clone(), section),
            compiles: compiles.into_iter().collect(),
            bundles: bundles.into_iter().collect(),
            collected: collected.into_iter().collect(),
            plan: plan.into_iter().collect(),
            contents: contents.into_iter().collect(),
            integrity: integrity.into_iter().collect(),
            dirs: dirs.into_iter().collect(),
            totals,
            loaded_mtime_ns: None,
        })
    }
}

type Rest = (
    Vec<(String, CompileNode)>,
    Vec<(String, BundleNode)>,
    Vec<(String, Key)>,
    Vec<(String, PlanFact)>,
    Vec<(Key, Compressed)>,
    Vec<(String, (String, String))>,
    Vec<(String, i64)>,
    Option<Totals>,
);

fn decode_sources(bytes: &[u8]) -> Decoded<Vec<(String, SourceFact)>> {
    let mut r = Reader::new(bytes);
    let mut sources = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
        let meta = r.meta()?;
        let md5 = r.opt_digest()?;
        sources.push((k, SourceFact { meta, md5 }));
    }
    r.at_end().then_some(sources).ok_or(Malformed)
}

pub(super) fn decode_outputs(bytes: &[u8]) -> Decoded<Vec<(String, OutEntry)>> {
    let mut r = Reader::new(bytes);
    let mut outputs = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
        let entry = OutEntry {
            meta: r.meta()?,
            link: r.bool()?,
            source: r.opt_meta()?,
            key: r.opt_digest()?,
            kind: OutKind::from_u8(u8::try_from(r.u64()?).map_err(|_| Malformed)?)
                .ok_or(Malformed)?,
        };
        outputs.push((k, entry));
    }
    r.at_end().then_some(outputs).ok_or(Malformed)
}

fn decode_rest(bytes: &[u8], whole: usize) -> Decoded<Rest> {
    let mut r = Reader::new(bytes);
    let mut compiles = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
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
        let partial = r.bool()?;
        compiles.push((
            k,
            CompileNode {
                output,
                settings,
                inputs,
                code,
                map,
                partial,
            },
        ));
    }
    let mut bundles = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
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
        let mut outs = Vec::new();
        for _ in 0..r.usize()?.min(1 << 20) {
            let p = r.string()?;
            let key = r.digest()?;
            outs.push((p, BlobRef { key, len: r.u64()? }));
        }
        bundles.push((
            k,
            BundleNode {
                def,
                members,
                inputs,
                outputs: outs,
            },
        ));
    }
    let mut collected = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
        collected.push((k, r.digest()?));
    }
    let mut plan = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
        let hashed = r.string()?;
        let key = r.digest()?;
        let len = r.u64()?;
        let mut refs = Vec::new();
        for _ in 0..r.usize()?.min(1 << 20) {
            let target = r.string()?;
            let kind = u8::try_from(r.u64()?).map_err(|_| Malformed)?;
            refs.push((target, kind));
        }
        plan.push((
            k,
            PlanFact {
                hashed,
                key,
                len,
                refs,
            },
        ));
    }
    let mut contents = Vec::new();
    for _ in 0..r.usize()?.min(whole) {
        let k = r.digest()?;
        let c = Compressed {
            br: r.opt_u64()?,
            gz: r.opt_u64()?,
            zst: r.opt_u64()?,
        };
        contents.push((k, c));
    }
    let mut integrity = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
        let name = r.string()?;
        integrity.push((k, (name, r.string()?)));
    }
    let mut dirs = Vec::new();
    for _ in 0..r.table()? {
        let k = r.key()?;
        dirs.push((k, r.i64()?));
    }
    let totals = if r.bool()? {
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
        Some(Totals {
            outputs,
            raw,
            gzip,
            brotli,
            zstd,
            manifest,
            largest,
        })
    } else {
        None
    };
    if !r.at_end() {
        return Err(Malformed);
    }
    Ok((
        compiles, bundles, collected, plan, contents, integrity, dirs, totals,
    ))
}
