//! Sass with dart-sass itself, the reference implementation, over the Embedded Sass protocol.
//!
//! Why: grass (in-process, the fallback) differs from dart-sass on real code — declarations
//! after a nested rule hoisted into the parent rule, colours rounded differently — and
//! bedrock's build, like most, is dart-sass's. npm's `sass-embedded` package ships, in its
//! platform package (`sass-embedded-linux-x64`, …), a self-contained `dart` runtime and
//! `sass.snapshot`: no node at run time. sluice starts `dart sass.snapshot --embedded` and
//! speaks the protocol (length-delimited protobuf over stdin/stdout, messages of
//! `embedded_sass.proto` 3.x declared here with `prost`, only the fields sluice uses); the
//! `sass-embedded` crate was not used: it pins prost 0.11, `atty` and its own threads and
//! channels for a general API, where sluice needs one request at a time.
//!
//! Processes are kept in a pool for the life of sluice (a `watch` or `dev` compiles with a
//! warm compiler; parallel compiles each take one), so a compile costs a request, not a start.
//! Imports that do not resolve beside the importing file go to one *file importer* of
//! sluice's: it looks in the load paths in order (`~pkg/…` as `pkg/…`) and answers with the
//! folder's `file:` URL, leaving partials, extensions and index files to dart-sass; the
//! places it tried are kept for a "can't find" error. Every loaded URL is an input of the
//! compile; the files were read by another process, so each is known only if it did not
//! change since the compile started (as for `lessc`).

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::SystemTime;

use prost::Message;

use crate::Error;
use crate::compile::{Compiled, read_by_child};

/// The protocol's messages (the subset sluice sends and reads).
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct InboundMessage {
        #[prost(oneof = "inbound::Message", tags = "2, 5, 7")]
        pub message: Option<inbound::Message>,
    }

    pub mod inbound {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Message {
            #[prost(message, tag = "2")]
            CompileRequest(super::CompileRequest),
            #[prost(message, tag = "5")]
            FileImportResponse(super::FileImportResponse),
            #[prost(message, tag = "7")]
            VersionRequest(super::VersionRequest),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct VersionRequest {
        #[prost(uint32, tag = "1")]
        pub id: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CompileRequest {
        #[prost(string, tag = "3")]
        pub path: String,
        /// 0: expanded.
        #[prost(int32, tag = "4")]
        pub style: i32,
        #[prost(message, repeated, tag = "6")]
        pub importers: Vec<Importer>,
        #[prost(bool, tag = "13")]
        pub charset: bool,
        #[prost(bool, tag = "14")]
        pub silent: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Importer {
        #[prost(uint32, tag = "3")]
        pub file_importer_id: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileImportResponse {
        #[prost(uint32, tag = "1")]
        pub id: u32,
        #[prost(oneof = "file_import::Result", tags = "2, 3")]
        pub result: Option<file_import::Result>,
        #[prost(bool, tag = "4")]
        pub containing_url_unused: bool,
    }

    pub mod file_import {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Result {
            #[prost(string, tag = "2")]
            FileUrl(String),
            #[prost(string, tag = "3")]
            Error(String),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OutboundMessage {
        #[prost(oneof = "outbound::Message", tags = "1, 2, 3, 6, 8")]
        pub message: Option<outbound::Message>,
    }

    pub mod outbound {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Message {
            #[prost(message, tag = "1")]
            Error(super::ProtocolError),
            #[prost(message, tag = "2")]
            CompileResponse(super::CompileResponse),
            #[prost(message, tag = "3")]
            LogEvent(super::LogEvent),
            #[prost(message, tag = "6")]
            FileImportRequest(super::FileImportRequest),
            #[prost(message, tag = "8")]
            VersionResponse(super::VersionResponse),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProtocolError {
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        #[prost(uint32, tag = "2")]
        pub id: u32,
        #[prost(string, tag = "3")]
        pub message: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogEvent {
        #[prost(string, tag = "3")]
        pub message: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct VersionResponse {
        #[prost(uint32, tag = "5")]
        pub id: u32,
        #[prost(string, tag = "1")]
        pub protocol_version: String,
        #[prost(string, tag = "2")]
        pub compiler_version: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileImportRequest {
        #[prost(uint32, tag = "1")]
        pub id: u32,
        #[prost(uint32, tag = "3")]
        pub importer_id: u32,
        #[prost(string, tag = "4")]
        pub url: String,
        #[prost(bool, tag = "5")]
        pub from_import: bool,
        #[prost(string, optional, tag = "6")]
        pub containing_url: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CompileResponse {
        #[prost(oneof = "compile_response::Result", tags = "2, 3")]
        pub result: Option<compile_response::Result>,
        #[prost(string, repeated, tag = "4")]
        pub loaded_urls: Vec<String>,
    }

    pub mod compile_response {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Result {
            #[prost(message, tag = "2")]
            Success(super::CompileSuccess),
            #[prost(message, tag = "3")]
            Failure(super::CompileFailure),
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CompileSuccess {
        #[prost(string, tag = "1")]
        pub css: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CompileFailure {
        #[prost(string, tag = "1")]
        pub message: String,
        #[prost(message, optional, tag = "2")]
        pub span: Option<SourceSpan>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SourceSpan {
        #[prost(string, tag = "1")]
        pub text: String,
        #[prost(message, optional, tag = "2")]
        pub start: Option<SourceLocation>,
        #[prost(string, tag = "4")]
        pub url: String,
        #[prost(string, tag = "5")]
        pub context: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SourceLocation {
        #[prost(uint32, tag = "1")]
        pub offset: u32,
        #[prost(uint32, tag = "2")]
        pub line: u32,
        #[prost(uint32, tag = "3")]
        pub column: u32,
    }
}

/// A dart-sass found on disk: the `dart` runtime and the `sass.snapshot` beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DartSass {
    pub dart: PathBuf,
    pub snapshot: PathBuf,
}

impl DartSass {
    /// The dart-sass of npm's `sass-embedded` platform package in `node_modules`
    /// (`sass-embedded-linux-x64/dart-sass/src/`), if installed there.
    pub fn in_node_modules(node_modules: &Path) -> Option<DartSass> {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            other => other,
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            "arm" => "arm",
            "riscv64" => "riscv64",
            other => other,
        };
        let exe = if os == "win32" { "dart.exe" } else { "dart" };
        [
            format!("sass-embedded-{os}-{arch}"),
            format!("sass-embedded-{os}-musl-{arch}"),
        ]
        .iter()
        .map(|pkg| node_modules.join(pkg).join("dart-sass/src"))
        .map(|src| DartSass {
            dart: src.join(exe),
            snapshot: src.join("sass.snapshot"),
        })
        .find(|d| d.dart.is_file() && d.snapshot.is_file())
    }

    /// The dart-sass for compiling `file`: in a `node_modules` among the load paths, else in
    /// the nearest `node_modules` above the file.
    pub fn find(file: &Path, load_paths: &[PathBuf]) -> Option<DartSass> {
        let named = load_paths
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "node_modules"));
        let above = file
            .ancestors()
            .skip(1)
            .map(|d| d.join("node_modules"))
            .filter(|d| d.is_dir());
        named
            .cloned()
            .chain(above)
            .find_map(|m| DartSass::in_node_modules(&m))
    }

    /// What distinguishes its results from another compiler's (for cache keys).
    pub fn identity(&self) -> String {
        let stamp = std::fs::metadata(&self.snapshot)
            .ok()
            .map(|m| format!("{:?}", sluice_core::sources::FileMeta::of(&m)))
            .unwrap_or_default();
        format!("dart-sass {} {stamp}", self.snapshot.display())
    }
}

/// A running `dart sass.snapshot --embedded`.
struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u32,
}

impl Process {
    fn start(sass: &DartSass) -> std::io::Result<Process> {
        let mut child = Command::new(&sass.dart)
            .arg(&sass.snapshot)
            .arg("--embedded")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut process = Process {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            next_id: 1,
        };
        // The messages here are protocol 3's: an older `sass-embedded` speaks another.
        let version = process.version()?;
        if !version.protocol_version.starts_with("3.") {
            return Err(std::io::Error::other(format!(
                "it speaks the Embedded Sass protocol {}, sluice speaks 3.x: install a \
                 current sass-embedded",
                version.protocol_version
            )));
        }
        Ok(process)
    }

    fn version(&mut self) -> std::io::Result<proto::VersionResponse> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(
            0,
            proto::inbound::Message::VersionRequest(proto::VersionRequest { id }),
        )?;
        loop {
            match self.receive()? {
                (_, proto::outbound::Message::VersionResponse(v)) => return Ok(v),
                (_, proto::outbound::Message::Error(e)) => {
                    return Err(std::io::Error::other(e.message));
                }
                _ => {}
            }
        }
    }

    fn send(&mut self, compilation: u32, message: proto::inbound::Message) -> std::io::Result<()> {
        let body = proto::InboundMessage {
            message: Some(message),
        }
        .encode_to_vec();
        let mut id = Vec::new();
        prost::encoding::encode_varint(u64::from(compilation), &mut id);
        let mut frame = Vec::with_capacity(body.len() + 10);
        prost::encoding::encode_varint((id.len() + body.len()) as u64, &mut frame);
        frame.extend(id);
        frame.extend(body);
        self.stdin.write_all(&frame)?;
        self.stdin.flush()
    }

    fn receive(&mut self) -> std::io::Result<(u32, proto::outbound::Message)> {
        let len = read_varint(&mut self.stdout)?;
        let mut frame = vec![0; usize::try_from(len).map_err(std::io::Error::other)?];
        self.stdout.read_exact(&mut frame)?;
        let mut slice = frame.as_slice();
        let compilation =
            prost::encoding::decode_varint(&mut slice).map_err(std::io::Error::other)?;
        let message = proto::OutboundMessage::decode(slice)
            .map_err(std::io::Error::other)?
            .message
            .ok_or_else(|| std::io::Error::other("an empty message"))?;
        Ok((compilation as u32, message))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_varint(r: &mut impl Read) -> std::io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8];
        r.read_exact(&mut byte)?;
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(std::io::Error::other("a varint too long"))
}

/// Idle compilers, by the dart-sass they run.
static POOL: Mutex<Vec<(DartSass, Process)>> = Mutex::new(Vec::new());

fn take(sass: &DartSass) -> std::io::Result<Process> {
    let idle = {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .position(|(s, _)| s == sass)
            .map(|i| pool.swap_remove(i).1)
    };
    match idle {
        Some(p) => Ok(p),
        None => Process::start(sass),
    }
}

fn give_back(sass: &DartSass, process: Process) {
    POOL.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((sass.clone(), process));
}

/// The compiler's version (`VersionResponse.compiler_version`), asking a pooled process.
pub fn version(sass: &DartSass) -> std::io::Result<String> {
    let mut process = take(sass)?;
    let version = process.version()?;
    give_back(sass, process);
    Ok(version.compiler_version)
}

/// The `file:` URL of an absolute path (percent-encoding what a URL path cannot hold).
pub fn file_url(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a `file:` URL; `None` for other schemes.
pub fn url_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = rest.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out).into_owned()))
}

/// Whether Sass would find a stylesheet for `base` (a path without the partial `_` or, for
/// an extension-less URL, any extension): Sass's resolution of a file URL, existence only.
pub fn resolves(base: &Path, from_import: bool) -> bool {
    let Some(name) = base.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let dir = base.parent().unwrap_or(Path::new(""));
    let exists = |n: &str| dir.join(n).is_file() || dir.join(format!("_{n}")).is_file();
    let ext = base.extension().and_then(|e| e.to_str());
    if matches!(ext, Some("scss" | "sass" | "css")) {
        return exists(name);
    }
    let imports = if from_import {
        &["import.sass", "import.scss", "import.css"][..]
    } else {
        &[]
    };
    let plain = ["sass", "scss", "css"];
    if imports
        .iter()
        .chain(plain.iter())
        .any(|e| exists(&format!("{name}.{e}")))
    {
        return true;
    }
    base.is_dir() && resolves(&base.join("index"), from_import)
}

/// Where sluice's file importer sends `url` (not found beside the importing file): the first
/// load path that has it, `~pkg/…` as `pkg/…`; with every place tried.
pub fn import_place(
    url: &str,
    from_import: bool,
    load_paths: &[PathBuf],
    tried: &mut Vec<PathBuf>,
) -> Option<PathBuf> {
    let rel = url.strip_prefix('~').unwrap_or(url);
    if rel.is_empty() || rel.starts_with('/') || rel.contains(':') {
        return None;
    }
    let rel = rel.replace("%20", " ");
    for root in load_paths {
        let place = root.join(&rel);
        tried.push(place.clone());
        if resolves(&place, from_import) {
            return Some(place);
        }
    }
    None
}

/// The 1-based line `line0` (0-based) of `text`.
fn line_of(text: &str, line0: u32) -> String {
    text.lines()
        .nth(line0 as usize)
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string()
}

/// Compiles `path` with dart-sass; `load_paths` are searched (in order, after the importing
/// file's folder) by sluice's importer.
pub fn compile(sass: &DartSass, path: &Path, load_paths: &[PathBuf]) -> Result<Compiled, Error> {
    let file = path.display().to_string();
    let failed = |message: String| Error::ToolFailed {
        file: file.clone(),
        program: format!("dart-sass ({})", sass.dart.display()),
        message,
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let before = std::fs::metadata(&absolute).ok();
    let started = SystemTime::now();
    let mut process = take(sass).map_err(|e| failed(format!("cannot start it: {e}")))?;
    let compilation = process.next_id;
    process.next_id += 1;
    let request = proto::CompileRequest {
        path: absolute.to_string_lossy().into_owned(),
        style: 0,
        importers: vec![proto::Importer {
            file_importer_id: 1,
        }],
        charset: true,
        silent: true,
    };
    let mut tried: Vec<PathBuf> = Vec::new();
    let response = (|| -> std::io::Result<proto::CompileResponse> {
        process.send(
            compilation,
            proto::inbound::Message::CompileRequest(request),
        )?;
        loop {
            match process.receive()? {
                (_, proto::outbound::Message::CompileResponse(r)) => return Ok(r),
                (_, proto::outbound::Message::FileImportRequest(r)) => {
                    // A failed import's places: those of its last look-up (relative first).
                    tried.clear();
                    if let Some(dir) = r
                        .containing_url
                        .as_deref()
                        .and_then(url_path)
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                        && !r.url.starts_with('~')
                    {
                        tried.push(dir.join(&r.url));
                    }
                    let place = import_place(&r.url, r.from_import, load_paths, &mut tried);
                    let result = place.map(|p| proto::file_import::Result::FileUrl(file_url(&p)));
                    let reply = proto::FileImportResponse {
                        id: r.id,
                        result,
                        containing_url_unused: r.url.starts_with('~'),
                    };
                    process.send(
                        compilation,
                        proto::inbound::Message::FileImportResponse(reply),
                    )?;
                }
                (_, proto::outbound::Message::Error(e)) => {
                    return Err(std::io::Error::other(format!(
                        "protocol error: {}",
                        e.message
                    )));
                }
                _ => {}
            }
        }
    })();
    let response = match response {
        Ok(r) => {
            give_back(sass, process);
            r
        }
        // The process is dropped (killed): the next compile starts a new one.
        Err(e) => return Err(failed(e.to_string())),
    };
    let mut inputs = vec![read_by_child(&absolute, started, before.as_ref())];
    for url in &response.loaded_urls {
        if let Some(p) = url_path(url)
            && p != absolute
        {
            inputs.push(read_by_child(&p, started, None));
        }
    }
    match response.result {
        Some(proto::compile_response::Result::Success(s)) => {
            let mut code = s.css;
            if !code.is_empty() {
                code.push('\n'); // as the `sass` command writes it
            }
            Ok(Compiled {
                code,
                map: None,
                inputs,
            })
        }
        Some(proto::compile_response::Result::Failure(f)) => {
            let span = f.span.unwrap_or_default();
            let start = span.start.unwrap_or_default();
            let at = url_path(&span.url).unwrap_or_else(|| absolute.clone());
            let source_line = std::fs::read_to_string(&at)
                .map(|t| line_of(&t, start.line))
                .unwrap_or_default();
            let mut message = f.message;
            if message.starts_with("Can't find stylesheet") && !tried.is_empty() {
                let places: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                message = format!(
                    "{message} Looked for it (as .sass, .scss, .css, a `_` partial or an \
                     `index` file) at: {}",
                    places.join(", ")
                );
            }
            Err(Error::Syntax {
                file: at.display().to_string(),
                line: start.line + 1,
                column: start.column + 1,
                message,
                source_line,
            })
        }
        None => Err(failed("no result".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_round_trip() {
        let path = Path::new("/p/node modules/@moz/ü.scss");
        let url = file_url(path);
        assert_eq!(url, "file:///p/node%20modules/@moz/%C3%BC.scss");
        assert_eq!(url_path(&url).as_deref(), Some(path));
        assert_eq!(url_path("https://x/y"), None);
    }

    #[test]
    fn the_importer_looks_in_the_load_paths_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(b.join("@moz/core/lib")).unwrap();
        std::fs::write(b.join("@moz/core/lib/_index.scss"), "").unwrap();
        std::fs::create_dir_all(a.join("pkg")).unwrap();
        std::fs::write(a.join("pkg/_x.scss"), "").unwrap();
        let load = [a.clone(), b.clone()];
        let mut tried = Vec::new();
        assert_eq!(
            import_place("~@moz/core/lib", false, &load, &mut tried),
            Some(b.join("@moz/core/lib"))
        );
        assert_eq!(tried, [a.join("@moz/core/lib"), b.join("@moz/core/lib")]);
        assert_eq!(
            import_place("pkg/x", false, &load, &mut Vec::new()),
            Some(a.join("pkg/x"))
        );
        assert_eq!(
            import_place("pkg/x.scss", false, &load, &mut Vec::new()),
            Some(a.join("pkg/x.scss"))
        );
        assert_eq!(import_place("nope", false, &load, &mut Vec::new()), None);
        assert_eq!(
            import_place("http://x", false, &load, &mut Vec::new()),
            None
        );
    }
}
