//! The public server: `/__sluice/*` (client script, event stream, backend status), the output
//! under `STATIC_URL` (content types, ETag/304, `Range`, `HEAD`, `no-cache`, streamed; brought
//! up to date first when the caller gave a [`crate::Freshen`]), and everything else forwarded
//! to the backend, websocket upgrades included. HTML answers get the client script injected
//! as they stream through; other answers (chunked ones, server-sent events) pass untouched.
//! A request whose `Host` is not loopback or allowed ([`crate::hosts`]) gets no further.
//!
//! Built on hyper directly: one HTTP/1 connection to the backend per request (loopback connects
//! cost microseconds, and no pooled connection can outlive a backend restart).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use crate::hosts::{AllowedHosts, Refusal};
use crate::inject::InjectingBody;
pub use crate::inject::{SCRIPT_TAG, inject};
use crate::reload::{Hub, ReloadEvent};
use crate::statics::{FileBody, Opened, Ranged};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// The client script, served at `/__sluice/client.js`.
pub const CLIENT_JS: &str = include_str!("client.js");

pub(crate) struct Proxy {
    pub hub: Hub,
    /// `STATIC_URL` when it is a path on this server (`/static/`), else `None`.
    pub static_prefix: Option<String>,
    pub output: PathBuf,
    /// Where sluice's own `--link` symlinks in the output point (the source roots).
    pub link_roots: Vec<PathBuf>,
    pub fresh: Option<crate::Freshen>,
    pub backend: Option<SocketAddr>,
    pub hosts: AllowedHosts,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

fn empty() -> Body {
    Empty::new().map_err(|e| match e {}).boxed()
}

fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let body = body.into();
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Accepts connections until the runtime ends.
pub(crate) async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: try again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(proxy.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

impl Proxy {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let host = req
            .headers()
            .get(header::HOST)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        match self.hosts.check(host) {
            Ok(()) => {}
            Err(Refusal::Malformed) => {
                return respond(
                    StatusCode::BAD_REQUEST,
                    "text/plain; charset=utf-8",
                    "sluice dev: the request names no valid Host\n",
                );
            }
            Err(Refusal::NotAllowed(name)) => {
                return respond(
                    StatusCode::FORBIDDEN,
                    "text/plain; charset=utf-8",
                    format!(
                        "sluice dev: Host `{name}` is not allowed; add it to [dev] allowed_hosts (or Django's ALLOWED_HOSTS)\n"
                    ),
                );
            }
        }
        match req.uri().path() {
            "/__sluice/client.js" => {
                return respond(StatusCode::OK, "text/javascript; charset=utf-8", CLIENT_JS);
            }
            "/__sluice/events" => return self.events(),
            "/__sluice/status" => {
                let up = match self.backend {
                    Some(addr) => TcpStream::connect(addr).await.is_ok(),
                    None => false,
                };
                let body = format!("{{\"backend\": \"{}\"}}", if up { "up" } else { "down" });
                return respond(StatusCode::OK, "application/json", body);
            }
            _ => {}
        }
        if (req.method() == Method::GET || req.method() == Method::HEAD)
            && let Some(resp) = self.static_file(&req).await
        {
            return resp;
        }
        self.forward(req).await
    }

    /// The output file for a request under `STATIC_URL`, or `None` to let the backend answer.
    async fn static_file(&self, req: &Request<Incoming>) -> Option<Response<Body>> {
        let prefix = self.static_prefix.as_deref()?;
        let rest = req.uri().path().strip_prefix(prefix)?;
        let logical = logical_path(rest)?;
        if let Some(fresh) = &self.fresh {
            let (fresh, logical) = (fresh.clone(), logical.clone());
            let _ = tokio::task::spawn_blocking(move || fresh(&logical)).await;
        }
        let (output, roots, wanted) = (
            self.output.clone(),
            self.link_roots.clone(),
            logical.clone(),
        );
        let opened =
            tokio::task::spawn_blocking(move || crate::statics::open(&output, &wanted, &roots))
                .await
                .ok()?;
        let (file, meta) = match opened {
            Ok(Opened::File(file, meta)) => (file, meta),
            Ok(Opened::Outside) => {
                return Some(respond(
                    StatusCode::NOT_FOUND,
                    "text/plain; charset=utf-8",
                    "sluice dev: not served (a symlink out of the output that sluice did not make)\n",
                ));
            }
            Ok(Opened::Missing) | Err(_) => return None,
        };
        let len = meta.len();
        let tag = etag(&meta);
        let headers = req.headers();
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let not_modified = text(header::IF_NONE_MATCH)
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
        // Ranges are defined for GET only (RFC 9110 §14.2): HEAD answers as for the whole.
        let range = if req.method() == Method::GET
            && crate::statics::if_range_holds(text(header::IF_RANGE), &tag)
        {
            crate::statics::ranged(text(header::RANGE), len)
        } else {
            Ranged::Whole
        };
        let mut resp = if not_modified {
            let mut resp = Response::new(empty());
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            resp
        } else {
            let (status, start, count) = match range {
                Ranged::Whole => (StatusCode::OK, 0, len),
                Ranged::Part { start, end } => {
                    (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
                }
                Ranged::Unsatisfiable => (StatusCode::RANGE_NOT_SATISFIABLE, 0, 0),
            };
            let body = if req.method() == Method::HEAD || count == 0 {
                empty()
            } else {
                use std::io::{Seek, SeekFrom};
                let mut file = file;
                if start > 0 {
                    file.seek(SeekFrom::Start(start)).ok()?;
                }
                FileBody::new(tokio::fs::File::from_std(file), count)
                    .map_err(BoxError::from)
                    .boxed()
            };
            let mut resp = Response::new(body);
            *resp.status_mut() = status;
            let headers = resp.headers_mut();
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            let content_range = match range {
                Ranged::Whole => None,
                Ranged::Part { start, end } => Some(format!("bytes {start}-{end}/{len}")),
                Ranged::Unsatisfiable => Some(format!("bytes */{len}")),
            };
            if let Some(v) = content_range.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            if status != StatusCode::RANGE_NOT_SATISFIABLE {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&logical)),
                );
            }
            resp
        };
        let headers = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&tag) {
            headers.insert(header::ETAG, v);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Some(resp)
    }

    fn events(&self) -> Response<Body> {
        let mut events = self.hub.subscribe();
        let greeting = self.hub.greeting();
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        tokio::spawn(async move {
            if tx.send(greeting.into()).await.is_err() {
                return;
            }
            let mut ping = tokio::time::interval(Duration::from_secs(15));
            ping.tick().await;
            loop {
                let text = tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) => event.to_sse(),
                        // Too slow a reader missed events: a reload covers them all.
                        Err(broadcast::error::RecvError::Lagged(_)) => ReloadEvent::Reload.to_sse(),
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = ping.tick() => ": ping\n\n".to_string(),
                    _ = tx.closed() => return,
                };
                if tx.send(text.into()).await.is_err() {
                    return;
                }
            }
        });
        let mut resp = Response::new(BoxBody::new(ChannelBody(rx)));
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }

    /// The page shown while the backend is down: it asks `/__sluice/status` until the backend
    /// answers, then reloads.
    fn backend_down(&self, why: &str) -> Response<Body> {
        let page = DOWN_PAGE.replace("{why}", &html_escape(why));
        respond(StatusCode::BAD_GATEWAY, "text/html; charset=utf-8", page)
    }

    async fn forward(&self, mut req: Request<Incoming>) -> Response<Body> {
        let Some(addr) = self.backend else {
            return self.backend_down("sluice runs no backend");
        };
        let stream = match TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(_) => return self.backend_down("the backend is not answering (yet)"),
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(pair) => pair,
                Err(e) => return self.backend_down(&e.to_string()),
            };
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let upgrade = req.headers().contains_key(header::UPGRADE);
        let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));
        let head = req.method() == Method::HEAD;
        if !upgrade {
            // Injection needs the bytes as they are: no gzip from the backend.
            req.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        let mut resp = match sender.send_request(req).await {
            Ok(resp) => resp,
            Err(e) => return self.backend_down(&e.to_string()),
        };
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_side) = client_side {
                let backend_side = hyper::upgrade::on(&mut resp);
                tokio::spawn(async move {
                    let (Ok(client), Ok(backend)) = (client_side.await, backend_side.await) else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(
                        &mut TokioIo::new(client),
                        &mut TokioIo::new(backend),
                    )
                    .await;
                });
            }
            return resp.map(|_| empty());
        }
        if head && injectable(&resp) {
            // The GET answer will be longer by the script.
            let length = resp
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if let Some(length) = length {
                resp.headers_mut().insert(
                    header::CONTENT_LENGTH,
                    HeaderValue::from(length + SCRIPT_TAG.len()),
                );
            }
        }
        if head || !injectable(&resp) {
            return resp.map(|b| b.map_err(BoxError::from).boxed());
        }
        // Injected while it streams: the length grows by the script, a chunked answer stays
        // chunked.
        let (mut parts, body) = resp.into_parts();
        let length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match length {
            Some(length) => {
                parts.headers.insert(
                    header::CONTENT_LENGTH,
                    HeaderValue::from(length + SCRIPT_TAG.len() as u64),
                );
            }
            None => {
                parts.headers.remove(header::CONTENT_LENGTH);
            }
        }
        Response::from_parts(
            parts,
            InjectingBody::new(body).map_err(BoxError::from).boxed(),
        )
    }
}

/// An HTML answer with a body whose bytes are plain (no `Content-Encoding` but identity).
fn injectable(resp: &Response<Incoming>) -> bool {
    let headers = resp.headers();
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        });
    let plain = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim().eq_ignore_ascii_case("identity"));
    let status = resp.status();
    html && plain && status != StatusCode::NOT_MODIFIED && status != StatusCode::NO_CONTENT
}

/// The logical path of a URL path below `STATIC_URL`: percent-decoded, and refused (`None`)
/// when it could leave the output folder or is not a plain relative path.
pub fn logical_path(rest: &str) -> Option<String> {
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let path = String::from_utf8(out).ok()?;
    let bad = path.is_empty()
        || path.contains('\0')
        || path.contains('\\')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    (!bad).then_some(path)
}

/// A validator that changes whenever the file is rewritten: size and modification time (ns).
fn etag(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{mtime:x}\"", meta.len())
}

/// The `Content-Type` of a static file, with `charset=utf-8` for text.
pub fn content_type(logical: &str) -> &'static str {
    let ext = logical.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "map" | "json" => "application/json",
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "wasm" => "application/wasm",
        _ => mime_guess::from_ext(ext)
            .first_raw()
            .unwrap_or("application/octet-stream"),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const DOWN_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Waiting for the backend · sluice</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:3em;color:#333}code{color:#555}</style></head>
<body><h1>Waiting for the backend…</h1><p><code>{why}</code></p>
<p>This page reloads itself when the backend answers; its output is in sluice's terminal.</p>
<script>
(function poll() {
  fetch("/__sluice/status", {cache: "no-store"}).then(function (r) { return r.json(); })
    .then(function (s) { if (s.backend === "up") location.reload(); else setTimeout(poll, 300); },
          function () { setTimeout(poll, 1000); });
})();
</script></body></html>
"#;

/// A response body fed by a channel: the event stream.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_paths_never_leave_the_output() {
        assert_eq!(
            logical_path("css/a%20b.css").as_deref(),
            Some("css/a b.css")
        );
        for bad in [
            "../x",
            "css/../../x",
            "%2e%2e/x",
            "a//b",
            "/etc/passwd",
            "a\\b",
            "",
            "a/%00",
            "%zz",
            "css/",
        ] {
            assert_eq!(logical_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("b.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.png"), "image/png");
        assert_eq!(content_type("x.woff2"), "font/woff2");
        assert_eq!(content_type("x.unknownext"), "application/octet-stream");
    }
}
