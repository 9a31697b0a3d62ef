//! Serving one file of the output: where a request's path may lead (never out of the output
//! root through a symlink sluice did not make), which bytes a `Range` asks for (RFC 9110,
//! one range), and a body that streams the file instead of reading it whole.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::io::{AsyncRead, ReadBuf};

/// Where a static file's logical path leads.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The file to serve.
    File(PathBuf),
    /// Nothing there (or not a file): the backend may answer.
    Missing,
    /// A symlink leads out of the output root, and sluice did not make it: `404`.
    Outside,
}

/// Follows `logical` (already free of `..`, see [`crate::proxy::logical_path`]) from the
/// output root one component at a time. A symlink on the way is followed when it stays in the
/// root, or when it is one of sluice's own `--link` links: an absolute target inside one of
/// `link_roots` (the source roots, whose files those links point at by their path).
pub fn resolve(output: &Path, logical: &str, link_roots: &[PathBuf]) -> io::Result<Resolved> {
    let root = match std::fs::canonicalize(output) {
        Ok(root) => root,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Resolved::Missing),
        Err(e) => return Err(e),
    };
    let mut at = root.clone();
    let mut parts = logical.split('/');
    while let Some(part) = parts.next() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(Resolved::Missing);
            }
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let target = std::fs::read_link(&at)?;
        if target.is_absolute() && link_roots.iter().any(|r| lexically_inside(&target, r)) {
            // sluice's own link to a source: the source side is the developer's own tree.
            for rest in parts.by_ref() {
                at.push(rest);
            }
            break;
        }
        at = match std::fs::canonicalize(&at) {
            Ok(real) => real,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Resolved::Missing),
            Err(e) => return Err(e),
        };
        if !at.starts_with(&root) {
            return Ok(Resolved::Outside);
        }
    }
    match std::fs::metadata(&at) {
        Ok(meta) if meta.is_file() => Ok(Resolved::File(at)),
        Ok(_) => Ok(Resolved::Missing),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(Resolved::Missing)
        }
        Err(e) => Err(e),
    }
}

/// A static file opened for serving, or why not.
#[derive(Debug)]
pub enum Opened {
    File(std::fs::File, std::fs::Metadata),
    Missing,
    Outside,
}

/// [`resolve`], then the file opened (its metadata from the open file).
pub fn open(output: &Path, logical: &str, link_roots: &[PathBuf]) -> io::Result<Opened> {
    Ok(match resolve(output, logical, link_roots)? {
        Resolved::File(path) => {
            let file = std::fs::File::open(path)?;
            let meta = file.metadata()?;
            Opened::File(file, meta)
        }
        Resolved::Missing => Opened::Missing,
        Resolved::Outside => Opened::Outside,
    })
}

/// `path` below `root`, comparing components only (no `..` in `path` can climb back out).
fn lexically_inside(path: &Path, root: &Path) -> bool {
    path.starts_with(root)
        && path
            .components()
            .all(|c| !matches!(c, Component::ParentDir | Component::CurDir))
}

/// What a request's `Range` asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// The whole file (`200`): no `Range`, one sluice ignores (several ranges, another unit,
    /// bad syntax, a stale `If-Range`) or a file of no bytes.
    Whole,
    /// Bytes `start..=end` (`206`).
    Part { start: u64, end: u64 },
    /// No byte of the file is in the range (`416`).
    Unsatisfiable,
}

/// The answer to `Range: range` (RFC 9110 §14.1.2, one range) for a file of `len` bytes.
pub fn ranged(range: Option<&str>, len: u64) -> Ranged {
    let Some(range) = range else {
        return Ranged::Whole;
    };
    let Some((unit, spec)) = range.trim().split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') || len == 0 {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last `n` bytes.
        return match number(last) {
            Some(0) => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part {
                start: len - n.min(len),
                end: len - 1,
            },
            None => Ranged::Whole,
        };
    }
    let Some(start) = number(first) else {
        return Ranged::Whole;
    };
    let end = match last {
        "" => len - 1,
        last => match number(last) {
            Some(end) if end >= start => end.min(len - 1),
            // Big numbers: still "to the end".
            None if last.bytes().all(|b| b.is_ascii_digit()) => len - 1,
            _ => return Ranged::Whole,
        },
    };
    if start >= len {
        Ranged::Unsatisfiable
    } else {
        Ranged::Part { start, end }
    }
}

/// Whether `If-Range: value` still names the file whose ETag is `tag` (a date never does:
/// sluice sends no `Last-Modified`).
pub fn if_range_holds(value: Option<&str>, tag: &str) -> bool {
    value.is_none_or(|v| v.trim() == tag)
}

/// A file's bytes from where it was opened (and sought), `left` of them, in chunks.
pub struct FileBody {
    file: tokio::fs::File,
    left: u64,
}

const CHUNK: u64 = 64 * 1024;

impl FileBody {
    pub fn new(file: tokio::fs::File, len: u64) -> FileBody {
        FileBody { file, left: len }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let mut buf = vec![0u8; self.left.min(CHUNK) as usize];
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut self.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    // The file got shorter while it was sent: end the answer as broken.
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file got shorter while it was sent",
                    ))));
                }
                self.left -= n as u64;
                buf.truncate(n);
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_as_rfc_9110_says() {
        use Ranged::*;
        let len = 1000;
        assert_eq!(ranged(None, len), Whole);
        assert_eq!(
            ranged(Some("bytes=0-499"), len),
            Part { start: 0, end: 499 }
        );
        assert_eq!(
            ranged(Some("bytes=500-"), len),
            Part {
                start: 500,
                end: 999
            }
        );
        assert_eq!(
            ranged(Some("bytes=-200"), len),
            Part {
                start: 800,
                end: 999
            }
        );
        assert_eq!(
            ranged(Some("bytes=-5000"), len),
            Part { start: 0, end: 999 }
        );
        assert_eq!(
            ranged(Some("bytes=990-5000"), len),
            Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(ranged(Some("Bytes = 1-1"), len), Part { start: 1, end: 1 });
        assert_eq!(
            ranged(Some("bytes=0-99999999999999999999999"), len),
            Part { start: 0, end: 999 }
        );
        assert_eq!(ranged(Some("bytes=1000-"), len), Unsatisfiable);
        assert_eq!(ranged(Some("bytes=1000-2000"), len), Unsatisfiable);
        assert_eq!(ranged(Some("bytes=-0"), len), Unsatisfiable);
        // Ignored: the whole file.
        for ignored in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes",
            "bytes=+1-2",
        ] {
            assert_eq!(ranged(Some(ignored), len), Whole, "{ignored}");
        }
        assert_eq!(ranged(Some("bytes=0-"), 0), Whole);
        assert!(if_range_holds(None, "\"a\""));
        assert!(if_range_holds(Some("\"a\""), "\"a\""));
        assert!(!if_range_holds(Some("\"b\""), "\"a\""));
        assert!(!if_range_holds(
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            "\"a\""
        ));
    }

    #[test]
    fn symlinks_out_of_the_output_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (out, src, secret) = (
            dir.path().join("out"),
            dir.path().join("src"),
            dir.path().join("secret"),
        );
        for d in [&out, &src, &secret] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
        }
        std::fs::write(out.join("a.css"), "a").unwrap();
        std::fs::write(src.join("b.css"), "b").unwrap();
        std::fs::write(secret.join("key"), "k").unwrap();
        use std::os::unix::fs::symlink;
        symlink("a.css", out.join("same.css")).unwrap();
        symlink(src.join("b.css"), out.join("linked.css")).unwrap();
        symlink(secret.join("key"), out.join("key")).unwrap();
        symlink(&secret, out.join("dir")).unwrap();
        symlink("../secret/key", out.join("rel")).unwrap();
        let roots = [src.clone()];
        let real_out = std::fs::canonicalize(&out).unwrap();
        assert_eq!(
            resolve(&out, "a.css", &roots).unwrap(),
            Resolved::File(real_out.join("a.css"))
        );
        assert_eq!(
            resolve(&out, "same.css", &roots).unwrap(),
            Resolved::File(real_out.join("a.css"))
        );
        assert_eq!(
            resolve(&out, "linked.css", &roots).unwrap(),
            Resolved::File(real_out.join("linked.css"))
        );
        for outside in ["key", "dir/key", "rel"] {
            assert_eq!(
                resolve(&out, outside, &roots).unwrap(),
                Resolved::Outside,
                "{outside}"
            );
        }
        // Without `--link` roots, a link to a source is outside too.
        assert_eq!(resolve(&out, "linked.css", &[]).unwrap(), Resolved::Outside);
        assert_eq!(resolve(&out, "sub", &roots).unwrap(), Resolved::Missing);
        assert_eq!(
            resolve(&out, "nope.css", &roots).unwrap(),
            Resolved::Missing
        );
        assert_eq!(resolve(&out, "a.css/x", &roots).unwrap(), Resolved::Missing);
    }
}
