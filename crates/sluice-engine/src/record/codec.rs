//! The ownership record's binary encoding: LEB128 varints, length-prefixed strings, and the
//! sorted keys of a table front-coded (each key stores how many bytes it shares with the one
//! before it), which makes 100 000 paths with long shared folders a few megabytes that
//! decode in milliseconds. Decoding never panics: a short or malformed file is an error,
//! which the record takes for "nothing recorded".

use sluice_core::sources::FileMeta;

use super::Key;

/// The file ended early or holds what no writer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

pub type Decoded<T> = Result<T, Malformed>;

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
    last_key: Vec<u8>,
}

impl Writer {
    pub fn u64(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Starts a table: the next key is coded against nothing.
    pub fn table(&mut self, len: usize) {
        self.u64(len as u64);
        self.last_key.clear();
    }

    /// A key of the current table (keys must come in sorted order to code well; any order
    /// decodes correctly).
    pub fn key(&mut self, k: &str) {
        let k = k.as_bytes();
        let shared = self
            .last_key
            .iter()
            .zip(k)
            .take_while(|(a, b)| a == b)
            .count();
        self.u64(shared as u64);
        self.bytes(&k[shared..]);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&k[shared..]);
    }

    pub fn digest(&mut self, k: &Key) {
        self.buf.extend_from_slice(&k.0);
    }

    pub fn opt_digest(&mut self, k: &Option<Key>) {
        self.bool(k.is_some());
        if let Some(k) = k {
            self.digest(k);
        }
    }

    pub fn meta(&mut self, m: &FileMeta) {
        self.u64(m.len);
        self.i64(m.mtime_ns);
        self.u64(m.ino);
    }

    pub fn opt_meta(&mut self, m: &Option<FileMeta>) {
        self.bool(m.is_some());
        if let Some(m) = m {
            self.meta(m);
        }
    }

    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => self.u64(v + 1),
            None => self.u64(0),
        }
    }
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    last_key: Vec<u8>,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader {
            buf,
            pos: 0,
            last_key: Vec::new(),
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Malformed)?;
        let slice = self.buf.get(self.pos..end).ok_or(Malformed)?;
        self.pos = end;
        Ok(slice)
    }

    pub fn u64(&mut self) -> Decoded<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first().ok_or(Malformed)?;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Malformed)
    }

    pub fn i64(&mut self) -> Decoded<i64> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub fn usize(&mut self) -> Decoded<usize> {
        usize::try_from(self.u64()?).map_err(|_| Malformed)
    }

    pub fn bool(&mut self) -> Decoded<bool> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed),
        }
    }

    pub fn bytes(&mut self) -> Decoded<&'a [u8]> {
        let n = self.usize()?;
        self.take(n)
    }

    pub fn string(&mut self) -> Decoded<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| Malformed)
    }

    /// A table's length; resets the key coding.
    pub fn table(&mut self) -> Decoded<usize> {
        self.last_key.clear();
        let n = self.usize()?;
        // Every entry takes at least one byte: a corrupt length cannot make us allocate.
        if n > self.buf.len() - self.pos {
            return Err(Malformed);
        }
        Ok(n)
    }

    pub fn key(&mut self) -> Decoded<String> {
        let shared = self.usize()?;
        if shared > self.last_key.len() {
            return Err(Malformed);
        }
        let rest = self.bytes()?;
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(rest);
        String::from_utf8(self.last_key.clone()).map_err(|_| Malformed)
    }

    pub fn digest(&mut self) -> Decoded<Key> {
        let bytes = self.take(16)?;
        let mut k = [0u8; 16];
        k.copy_from_slice(bytes);
        Ok(Key(k))
    }

    pub fn opt_digest(&mut self) -> Decoded<Option<Key>> {
        Ok(if self.bool()? {
            Some(self.digest()?)
        } else {
            None
        })
    }

    pub fn meta(&mut self) -> Decoded<FileMeta> {
        Ok(FileMeta {
            len: self.u64()?,
            mtime_ns: self.i64()?,
            ino: self.u64()?,
        })
    }

    pub fn opt_meta(&mut self) -> Decoded<Option<FileMeta>> {
        Ok(if self.bool()? {
            Some(self.meta()?)
        } else {
            None
        })
    }

    pub fn opt_u64(&mut self) -> Decoded<Option<u64>> {
        Ok(match self.u64()? {
            0 => None,
            n => Some(n - 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let mut w = Writer::default();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            w.u64(v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 1_700_000_000_123_456_789] {
            w.i64(v);
        }
        w.table(3);
        for k in ["css/a.css", "css/ab.css", "img/x.png"] {
            w.key(k);
        }
        w.opt_u64(None);
        w.opt_u64(Some(0));
        w.str("é✓");
        let mut r = Reader::new(&w.buf);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.u64().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 1_700_000_000_123_456_789] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.table().unwrap(), 3);
        for k in ["css/a.css", "css/ab.css", "img/x.png"] {
            assert_eq!(r.key().unwrap(), k);
        }
        assert_eq!(r.opt_u64().unwrap(), None);
        assert_eq!(r.opt_u64().unwrap(), Some(0));
        assert_eq!(r.string().unwrap(), "é✓");
        assert!(r.at_end());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut w = Writer::default();
        w.table(2);
        w.key("a/b");
        w.key("a/c");
        w.str("text");
        for end in 0..w.buf.len() {
            let mut r = Reader::new(&w.buf[..end]);
            let ok = (|| -> Decoded<()> {
                r.table()?;
                r.key()?;
                r.key()?;
                r.string()?;
                Ok(())
            })();
            assert_eq!(ok, Err(Malformed), "cut at {end}");
        }
    }
}
