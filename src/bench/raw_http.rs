//! A minimal HTTP/1.1 streaming client on plain tokio sockets, for `http://` targets.
//!
//! Why it exists: with reqwest, every body read crosses hyper's connection task, a channel and
//! reqwest's body wrapper (two task wake-ups per chunk), which costs ~10 µs of CPU per read when
//! thousands of streams each deliver one chunk per read. Here the request task owns its socket:
//! one wake-up, one `read`, then straight into the SSE parser, and one reusable 8 KiB buffer per
//! connection. It does POST with a JSON body, a 200 status check, chunked, sized or
//! close-delimited bodies, and a keep-alive pool; nothing else (no TLS, redirects or proxies:
//! `https://` targets use the reqwest backend).

use std::sync::Mutex;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{ErrorKind, RequestError, RequestOutcome, RequestTemplate, StreamState, new_outcome};
use super::sse::MAX_LINE_BYTES;

/// Where requests go, parsed once, and the idle connections.
#[derive(Debug)]
pub struct RawPool {
    authority: String,
    path: String,
    keepalive: bool,
    idle: Mutex<Vec<TcpStream>>,
}

impl RawPool {
    /// `None` unless the URL is plain `http://host[:port]/path`.
    pub fn new(url: &str, keepalive: bool) -> Option<RawPool> {
        let rest = url.strip_prefix("http://")?;
        let (authority, path) = match rest.find('/') {
            Some(idx) => (&rest[..idx], &rest[idx..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let authority = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok())
            && !authority.ends_with(']')
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Some(RawPool { authority, path: path.to_owned(), keepalive, idle: Mutex::new(Vec::new()) })
    }

    fn take(&self) -> Option<TcpStream> {
        self.idle.lock().ok()?.pop()
    }

    fn give_back(&self, stream: TcpStream) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(stream);
        }
    }
}

fn error(kind: ErrorKind, message: impl Into<String>) -> RequestError {
    RequestError { kind, message: message.into() }
}

/// Sends one request and reads its stream to the end (same contract as `client::send`).
pub async fn send(pool: &RawPool, template: &RequestTemplate, body: &[u8]) -> RequestOutcome {
    let mut request = Vec::with_capacity(body.len() + 256);
    request.extend_from_slice(
        format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: */*\r\nContent-Length: {}\r\n",
            pool.path,
            pool.authority,
            body.len()
        )
        .as_bytes(),
    );
    if let Some(key) = &template.api_key {
        request.extend_from_slice(format!("Authorization: Bearer {key}\r\n").as_bytes());
    }
    if !pool.keepalive {
        request.extend_from_slice(b"Connection: close\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);

    let mut outcome = new_outcome();
    let mut buffer = Vec::with_capacity(8 * 1024);
    // A pooled connection may have been closed by the server while idle: if it fails before a
    // single response byte, resend once on a new connection (the clock keeps running).
    let mut stream = None;
    if let Some(mut pooled) = pool.take() {
        if pooled.write_all(&request).await.is_ok() && read_more(&mut pooled, &mut buffer).await.unwrap_or(0) > 0 {
            stream = Some(pooled);
        } else {
            buffer.clear();
        }
    }
    let mut stream = match stream {
        Some(stream) => stream,
        None => {
            let connect_start = Instant::now();
            let mut fresh = match TcpStream::connect(&pool.authority).await {
                Ok(fresh) => {
                    outcome.connect = Some(connect_start.elapsed());
                    fresh
                }
                Err(err) => {
                    outcome.error = Some(error(ErrorKind::Connect, format!("connect to {}: {err}", pool.authority)));
                    return outcome;
                }
            };
            let _ = fresh.set_nodelay(true);
            if let Err(err) = fresh.write_all(&request).await {
                outcome.error = Some(error(ErrorKind::Stream, format!("sending the request: {err}")));
                return outcome;
            }
            fresh
        }
    };
    match read_response(&mut stream, &mut buffer, template, &mut outcome).await {
        Ok(reusable) => {
            if reusable && pool.keepalive {
                pool.give_back(stream);
            }
        }
        Err(err) => outcome.error = Some(err),
    }
    outcome
}

/// Reads once, appending to `buffer`; returns the byte count (0 = EOF).
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    if buffer.capacity() - buffer.len() < 4096 {
        buffer.reserve(8 * 1024);
    }
    stream.read_buf(buffer).await
}

/// The longest response head read (status line and headers).
const MAX_HEAD_BYTES: usize = 1 << 20;

enum Framing {
    Chunked,
    Length(u64),
    Close,
}

/// Reads head and body; returns whether the connection can be reused.
async fn read_response(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    template: &RequestTemplate,
    outcome: &mut RequestOutcome,
) -> Result<bool, RequestError> {
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(error(ErrorKind::Parse, format!("a response head over {MAX_HEAD_BYTES} bytes")));
        }
        let n = read_more(stream, buffer).await.map_err(|err| error(ErrorKind::Stream, err.to_string()))?;
        if n == 0 {
            return Err(error(ErrorKind::Stream, "connection closed before the response head"));
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| error(ErrorKind::Parse, "malformed status line"))?;
    if status != 200 {
        // The error's own message (e.g. a context-length error) helps classify it.
        let message = error_message(stream, buffer, head_end, &head).await;
        return Err(error(ErrorKind::HttpStatus, format!("HTTP {status}{message}")));
    }
    let mut framing = Framing::Close;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked") {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("content-length") && !matches!(framing, Framing::Chunked) {
            framing = Framing::Length(value.parse().map_err(|_| error(ErrorKind::Parse, "bad content-length"))?);
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    buffer.drain(..head_end + 4);
    let mut body = StreamState::new(template.api);
    let now = Instant::now();
    match framing {
        Framing::Length(mut remaining) => {
            let mut stamp = now;
            loop {
                let take = (remaining as usize).min(buffer.len());
                body.feed(&buffer[..take], stamp, outcome)?;
                buffer.drain(..take);
                remaining -= take as u64;
                if remaining == 0 {
                    break;
                }
                let n = read_more(stream, buffer).await.map_err(|err| error(ErrorKind::Stream, err.to_string()))?;
                stamp = Instant::now();
                if n == 0 {
                    return Err(error(ErrorKind::Stream, "connection closed inside the body"));
                }
            }
            body.finish(outcome);
            Ok(!close && buffer.is_empty())
        }
        Framing::Close => {
            body.feed(buffer, now, outcome)?;
            buffer.clear();
            loop {
                let n = read_more(stream, buffer).await.map_err(|err| error(ErrorKind::Stream, err.to_string()))?;
                if n == 0 {
                    break;
                }
                body.feed(buffer, Instant::now(), outcome)?;
                buffer.clear();
            }
            body.finish(outcome);
            Ok(false)
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::default();
            let mut data = Vec::new();
            let mut stamp = now;
            loop {
                let consumed =
                    decoder.decode(buffer, &mut data).map_err(|message| error(ErrorKind::Stream, message))?;
                buffer.drain(..consumed);
                if !data.is_empty() {
                    body.feed(&data, stamp, outcome)?;
                    data.clear();
                }
                if decoder.done {
                    break;
                }
                if buffer.len() > MAX_LINE_BYTES {
                    return Err(error(ErrorKind::Parse, format!("a chunk header over {MAX_LINE_BYTES} bytes")));
                }
                let n = read_more(stream, buffer).await.map_err(|err| error(ErrorKind::Stream, err.to_string()))?;
                stamp = Instant::now();
                if n == 0 {
                    return Err(error(ErrorKind::Stream, "connection closed inside the chunked body"));
                }
            }
            body.finish(outcome);
            Ok(!close && buffer.is_empty())
        }
    }
}

/// `": <message>"` from a short JSON error body with a `content-length` (`error.message`,
/// `message` or `detail`), read for at most a second; empty when there is none.
async fn error_message(stream: &mut TcpStream, buffer: &mut Vec<u8>, head_end: usize, head: &str) -> String {
    let length = head.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok()).flatten()
    });
    let Some(length) = length.filter(|&n| n <= 64 * 1024) else { return String::new() };
    let want = head_end + 4 + length;
    let read = async {
        while buffer.len() < want {
            if read_more(stream, buffer).await.unwrap_or(0) == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), read).await;
    let body = &buffer[(head_end + 4).min(buffer.len())..want.min(buffer.len())];
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return String::new() };
    let message = value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .or_else(|| value.get("detail"))
        .and_then(serde_json::Value::as_str);
    message.map(|m| format!(": {}", m.lines().next().unwrap_or(""))).unwrap_or_default()
}

/// Incremental decoder of a chunked transfer-encoded body.
#[derive(Debug, Default)]
struct ChunkedDecoder {
    /// Bytes left in the current chunk's data, then its CRLF (`None` = expecting a size line).
    remaining: Option<u64>,
    /// Inside the trailer section after the last (zero-size) chunk.
    trailer: bool,
    done: bool,
}

impl ChunkedDecoder {
    /// Decodes what it can from `input`, appending data to `out`; returns bytes consumed.
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
        let mut pos = 0;
        while !self.done && pos < input.len() {
            match self.remaining {
                Some(0) => {
                    // The CRLF after a chunk's data.
                    if input.len() - pos < 2 {
                        break;
                    }
                    if &input[pos..pos + 2] != b"\r\n" {
                        return Err("malformed chunk terminator".into());
                    }
                    pos += 2;
                    self.remaining = None;
                }
                Some(left) => {
                    let take = (left as usize).min(input.len() - pos);
                    out.extend_from_slice(&input[pos..pos + take]);
                    pos += take;
                    self.remaining = Some(left - take as u64);
                }
                None => {
                    let Some(line_end) = input[pos..].windows(2).position(|w| w == b"\r\n") else { break };
                    let line = &input[pos..pos + line_end];
                    pos += line_end + 2;
                    if self.trailer {
                        if line.is_empty() {
                            self.done = true;
                        }
                        continue;
                    }
                    let text = std::str::from_utf8(line).map_err(|_| "malformed chunk size".to_string())?;
                    let size_text = text.split(';').next().unwrap_or("").trim();
                    let size =
                        u64::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {size_text:?}"))?;
                    if size == 0 {
                        self.trailer = true;
                    } else {
                        self.remaining = Some(size);
                    }
                }
            }
        }
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_body_split_anywhere() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for split in 0..body.len() {
            let mut decoder = ChunkedDecoder::default();
            let mut out = Vec::new();
            let mut pending = body[..split].to_vec();
            let used = decoder.decode(&pending, &mut out).expect("decode");
            pending.drain(..used);
            pending.extend_from_slice(&body[split..]);
            let used = decoder.decode(&pending, &mut out).expect("decode");
            assert_eq!(used, pending.len(), "split {split}");
            assert!(decoder.done, "split {split}");
            assert_eq!(out, b"hello, world");
        }
    }

    #[test]
    fn urls() {
        let pool = RawPool::new("http://127.0.0.1:8000/v1/completions", true).expect("http");
        assert_eq!((pool.authority.as_str(), pool.path.as_str()), ("127.0.0.1:8000", "/v1/completions"));
        let pool = RawPool::new("http://example.org/x", true).expect("http");
        assert_eq!(pool.authority, "example.org:80");
        assert!(RawPool::new("https://example.org/x", true).is_none());
    }
}
