//! Putting the live-reload `<script>` into an HTML answer while it streams through.
//!
//! The script goes before the document's closing `</body>` (any case), else at its end. A page
//! may mention `</body>` before its real end (in a script's string, say), so the tag that
//! counts is the last of a run of `</body>`s each at most [`HOLD_LIMIT`] bytes after the one
//! before: only the bytes from the current candidate on are held back, never the whole page,
//! and the answer is the same however the backend cuts its body into chunks.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};

/// What is injected into HTML answers.
pub const SCRIPT_TAG: &str = "<script src=\"/__sluice/client.js\"></script>";

/// How far after one `</body>` a later one still replaces it as the insertion point.
pub const HOLD_LIMIT: usize = 256 * 1024;

const END_TAG: &[u8] = b"</body>";

/// The streaming injector: feed it the body's chunks, then [`Injector::finish`].
#[derive(Debug, Default)]
pub struct Injector {
    /// Bytes not passed on yet: from the candidate `</body>` on, or (without one) the last
    /// few bytes, which may begin a tag cut by a chunk boundary.
    held: Vec<u8>,
    candidate: bool,
    done: bool,
}

fn find_end_tag(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(END_TAG.len())
        .position(|w| w.eq_ignore_ascii_case(END_TAG))
}

impl Injector {
    pub fn new() -> Injector {
        Injector::default()
    }

    /// The bytes that can be passed on once `chunk` has arrived.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.done {
            return chunk.to_vec();
        }
        self.held.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            if !self.candidate {
                match find_end_tag(&self.held) {
                    Some(at) => {
                        out.extend(self.held.drain(..at));
                        self.candidate = true;
                    }
                    None => {
                        let keep = self.held.len().min(END_TAG.len() - 1);
                        out.extend(self.held.drain(..self.held.len() - keep));
                        return out;
                    }
                }
            }
            // `held` starts with the candidate tag.
            match find_end_tag(&self.held[END_TAG.len()..]) {
                Some(next) if next + END_TAG.len() <= HOLD_LIMIT => {
                    // A later tag close enough: it is the candidate now.
                    out.extend(self.held.drain(..next + END_TAG.len()));
                }
                Some(_) => return self.commit(out),
                // A later tag would start past the limit: the candidate is the one.
                None if self.held.len() - (END_TAG.len() - 1) > HOLD_LIMIT => {
                    return self.commit(out);
                }
                None => return out,
            }
        }
    }

    fn commit(&mut self, mut out: Vec<u8>) -> Vec<u8> {
        out.extend_from_slice(SCRIPT_TAG.as_bytes());
        out.append(&mut self.held);
        self.done = true;
        out
    }

    /// The last bytes, once the body has ended.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut out = Vec::new();
        if self.candidate {
            out.extend_from_slice(SCRIPT_TAG.as_bytes());
            out.append(&mut self.held);
        } else {
            out.append(&mut self.held);
            out.extend_from_slice(SCRIPT_TAG.as_bytes());
        }
        out
    }
}

/// `html` with [`SCRIPT_TAG`] injected, all at once (what the streaming injector gives).
pub fn inject(html: &[u8]) -> Vec<u8> {
    let mut injector = Injector::new();
    let mut out = injector.feed(html);
    out.extend(injector.finish());
    out
}

/// A body passed through an [`Injector`], frame by frame as the backend sends them.
pub struct InjectingBody<B> {
    inner: B,
    injector: Injector,
    /// A trailers frame that arrived: sent after the injector's last bytes.
    trailers: Option<Frame<Bytes>>,
    ended: bool,
}

impl<B> InjectingBody<B> {
    pub fn new(inner: B) -> InjectingBody<B> {
        InjectingBody {
            inner,
            injector: Injector::new(),
            trailers: None,
            ended: false,
        }
    }
}

impl<B> Body for InjectingBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(this.trailers.take().map(Ok));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let out = this.injector.feed(&data);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out.into()))));
                        }
                    }
                    Err(other) => {
                        this.trailers = Some(other);
                        this.ended = true;
                        let out = this.injector.finish();
                        return Poll::Ready(Some(Ok(Frame::data(out.into()))));
                    }
                },
                Poll::Ready(None) => {
                    this.ended = true;
                    let out = this.injector.finish();
                    return Poll::Ready(Some(Ok(Frame::data(out.into()))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(chunks: &[&[u8]]) -> Vec<u8> {
        let mut injector = Injector::new();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(injector.feed(chunk));
        }
        out.extend(injector.finish());
        out
    }

    #[test]
    fn script_goes_before_the_last_body_end() {
        assert_eq!(
            String::from_utf8(inject(b"<p>a</p></BODY></html>")).unwrap(),
            format!("<p>a</p>{SCRIPT_TAG}</BODY></html>")
        );
        assert_eq!(
            String::from_utf8(inject(b"<i>\"</body>\"</i></body>")).unwrap(),
            format!("<i>\"</body>\"</i>{SCRIPT_TAG}</body>")
        );
        assert_eq!(
            String::from_utf8(inject(b"fragment")).unwrap(),
            format!("fragment{SCRIPT_TAG}")
        );
        assert_eq!(inject(b""), SCRIPT_TAG.as_bytes());
    }

    #[test]
    fn any_chunking_gives_the_same_answer() {
        let page = b"<html><body><script>var s = '</body>';</script><p>x</p></Body>\n</html>\n";
        let whole = inject(page);
        for cut in 0..=page.len() {
            assert_eq!(
                streamed(&[&page[..cut], &page[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        let bytewise: Vec<&[u8]> = page.chunks(1).collect();
        assert_eq!(streamed(&bytewise), whole);
    }

    #[test]
    fn held_back_bytes_are_bounded() {
        // A `</body>` far before the next one: the first counts, and the page streams on.
        let mut page = b"<body>".to_vec();
        page.extend_from_slice(b"</body>");
        page.extend(std::iter::repeat_n(b'x', HOLD_LIMIT + 10));
        page.extend_from_slice(b"</body>");
        let mut injector = Injector::new();
        let mut out = Vec::new();
        let mut most_held = 0;
        for chunk in page.chunks(4096) {
            out.extend(injector.feed(chunk));
            most_held = most_held.max(injector.held.len());
        }
        out.extend(injector.finish());
        assert!(
            most_held <= HOLD_LIMIT + 4096 + END_TAG.len(),
            "{most_held}"
        );
        let mut want = b"<body>".to_vec();
        want.extend_from_slice(SCRIPT_TAG.as_bytes());
        want.extend_from_slice(&page[6..]);
        assert_eq!(out, want);
        assert_eq!(inject(&page), want);
        // Streaming a page with no `</body>` holds back a few bytes only.
        let mut injector = Injector::new();
        let passed = injector.feed(&[b'a'; 10_000]);
        assert_eq!(passed.len(), 10_000 - (END_TAG.len() - 1));
    }
}
