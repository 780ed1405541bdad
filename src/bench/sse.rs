//! An incremental Server-Sent Events parser for streamed completions.
//!
//! It owns framing only: bytes in (in whatever pieces the socket delivers them), complete event
//! payloads out. It does not parse JSON and does not read clocks; the caller stamps each payload
//! with the time the bytes that completed it came off the socket.
//!
//! Robust where the reference client is not: `:` comments, `event:`/`id:`/`retry:` fields,
//! `data:` with or without the space, CRLF or CR line ends, events split across reads, multi-line
//! `data` fields (joined with `\n`, as the SSE specification says).
//!
//! [`LineParser`] is the line framing of the `tgi` and `tensorrt-llm` backends: every non-empty
//! line is one payload (a `data:` prefix, with or without its space, is removed), `:` comment
//! lines and the other SSE fields are skipped, and multi-line `data` is never joined.

/// The longest line, event or body the client keeps (8 MiB): a server that streams a longer
/// one fails the request (`StreamState`) instead of growing the client's memory without bound.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// What one complete event carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseEvent {
    /// A `data` payload (the `data:` lines of one event, joined with `\n`).
    Data(String),
    /// The OpenAI end-of-stream marker `data: [DONE]`.
    Done,
}

/// Incremental parser state: a partial line and the data lines of the event being read.
#[derive(Debug, Default)]
pub struct SseParser {
    splitter: LineSplitter,
    event: EventLines,
}

/// The `data` lines of the event being read.
#[derive(Debug, Default)]
struct EventLines {
    data: String,
    has_data: bool,
    overflowed: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the body; complete events are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        let event = &mut self.event;
        self.splitter.feed(bytes, &mut |line| event.line(line, out));
    }

    /// Ends the stream: a pending line and a pending event without a trailing blank line are
    /// still delivered (a server that closes right after its last `data:` line loses nothing).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        let event = &mut self.event;
        self.splitter.finish(&mut |line| event.line(line, out));
        self.event.dispatch(out);
    }

    /// Whether a line or an event exceeded [`MAX_LINE_BYTES`] (its bytes were dropped).
    pub fn overflowed(&self) -> bool {
        self.splitter.overflowed || self.event.overflowed
    }
}

impl EventLines {
    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches([' ', '\t']);
        if text.is_empty() {
            self.dispatch(out);
        } else if let Some(value) = text.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            if self.data.len() + value.len() >= MAX_LINE_BYTES {
                self.overflowed = true;
                return;
            }
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        // Comments (`:`), `event:`, `id:`, `retry:` and unknown fields carry nothing we measure.
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        if data.trim() == "[DONE]" {
            out.push(SseEvent::Done);
        } else {
            out.push(SseEvent::Data(data));
        }
    }
}

/// Splits a body into lines, whatever the line end (LF, CRLF or CR), across reads: the framing
/// of both parsers.
#[derive(Debug, Default)]
struct LineSplitter {
    line: Vec<u8>,
    last_was_cr: bool,
    /// A line exceeded [`MAX_LINE_BYTES`]; its bytes were dropped.
    overflowed: bool,
}

impl LineSplitter {
    fn feed(&mut self, bytes: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        let mut start = 0;
        for (idx, &byte) in bytes.iter().enumerate() {
            if byte == b'\n' || byte == b'\r' {
                let skip_lf = byte == b'\n' && self.last_was_cr && start == idx && self.line.is_empty();
                self.last_was_cr = byte == b'\r';
                if skip_lf {
                    // Second half of a CRLF whose CR ended the previous line.
                    start = idx + 1;
                    continue;
                }
                if self.line.is_empty() {
                    if idx - start <= MAX_LINE_BYTES {
                        on_line(&bytes[start..idx]);
                    } else {
                        self.overflowed = true;
                    }
                } else {
                    self.push(&bytes[start..idx]);
                    if !self.line.is_empty() {
                        on_line(&self.line);
                    }
                    self.line.clear();
                }
                start = idx + 1;
            } else if self.last_was_cr {
                self.last_was_cr = false;
            }
        }
        self.push(&bytes[start..]);
    }

    /// Keeps the start of an unfinished line, up to the bound.
    fn push(&mut self, bytes: &[u8]) {
        if self.line.len() + bytes.len() > MAX_LINE_BYTES {
            self.overflowed = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn finish(&mut self, on_line: &mut dyn FnMut(&[u8])) {
        if !self.line.is_empty() {
            on_line(&self.line);
            self.line.clear();
        }
    }
}

/// Line framing for `generate_stream` bodies (TGI, Triton/TensorRT-LLM): one payload per line.
#[derive(Debug, Default)]
pub struct LineParser {
    splitter: LineSplitter,
}

impl LineParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the body; complete payloads are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        self.splitter.feed(bytes, &mut |line| line_payload(line, out));
    }

    /// Ends the stream: a last line without a line end is still delivered.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        self.splitter.finish(&mut |line| line_payload(line, out));
    }

    /// Whether a line exceeded [`MAX_LINE_BYTES`] (its bytes were dropped).
    pub fn overflowed(&self) -> bool {
        self.splitter.overflowed
    }
}

/// One line of a `generate_stream` body: skipped, `[DONE]`, or a payload.
fn line_payload(line: &[u8], out: &mut Vec<SseEvent>) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() || text.starts_with(':') {
        return;
    }
    let payload = match text.strip_prefix("data:") {
        Some(value) => value.trim_start(),
        // Other SSE fields carry nothing we measure; a bare line is a payload (JSON lines).
        None if ["event:", "id:", "retry:"].iter().any(|field| text.starts_with(field)) => return,
        None => text,
    };
    if payload == "[DONE]" {
        out.push(SseEvent::Done);
    } else if !payload.is_empty() {
        out.push(SseEvent::Data(payload.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_pieces(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = LineParser::new();
        let mut out = Vec::new();
        for piece in pieces {
            parser.feed(piece, &mut out);
        }
        parser.finish(&mut out);
        out
    }

    /// Issue 17 item 7: a line longer than the bound is dropped and flagged, in whatever pieces
    /// it arrives, so memory stays bounded; shorter lines around it are unaffected.
    #[test]
    fn over_long_lines_and_events_are_dropped_and_flagged() {
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        for pieces in [vec![&long[..]], long.chunks(1 << 16).collect::<Vec<_>>()] {
            let mut parser = SseParser::new();
            let mut out = Vec::new();
            parser.feed(b"data: {\"a\":1}\n\ndata: ", &mut out);
            for piece in &pieces {
                parser.feed(piece, &mut out);
                assert!(parser.splitter.line.len() <= MAX_LINE_BYTES);
            }
            parser.feed(b"\n\n", &mut out);
            parser.finish(&mut out);
            assert!(parser.overflowed());
            assert_eq!(out, vec![data("{\"a\":1}")]);
        }
        // Many short `data:` lines of one event add up to the bound too.
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let line = format!("data: {}\n", "y".repeat(1 << 20));
        for _ in 0..9 {
            parser.feed(line.as_bytes(), &mut out);
        }
        assert!(parser.overflowed() && parser.event.data.len() < MAX_LINE_BYTES);
        let mut lines = LineParser::new();
        lines.feed(&long, &mut out);
        lines.feed(b"\n", &mut out);
        assert!(lines.overflowed());
        assert!(!LineParser::new().overflowed());
    }

    #[test]
    fn lines_tgi_style_without_space_and_comments() {
        let body = b":\n\ndata:{\"index\":1}\n\n: ping\ndata:{\"index\":2}\n\n";
        assert_eq!(lines_pieces(&[body]), vec![data("{\"index\":1}"), data("{\"index\":2}")]);
    }

    #[test]
    fn lines_triton_style_with_space_crlf_and_bare_json() {
        let body = b"data: {\"text_output\":\"a\"}\r\n\r\n{\"text_output\":\"b\"}\r\nevent: x\r\nid: 3\r\n";
        assert_eq!(lines_pieces(&[body]), vec![data("{\"text_output\":\"a\"}"), data("{\"text_output\":\"b\"}")]);
    }

    #[test]
    fn lines_split_at_every_byte_and_crlf_across_reads() {
        let body = b"data:{\"a\":1}\r\n\r\ndata: {\"a\":2}\r\n\r\ndata: [DONE]\r\n";
        let pieces: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(lines_pieces(&pieces), vec![data("{\"a\":1}"), data("{\"a\":2}"), SseEvent::Done]);
        let split = lines_pieces(&[b"data:{\"a\":1}\r", b"\ndata:{\"a\":2}"]);
        assert_eq!(split, vec![data("{\"a\":1}"), data("{\"a\":2}")]);
    }

    #[test]
    fn lines_multi_line_data_is_not_joined() {
        assert_eq!(lines_pieces(&[b"data: 1\ndata: 2\n\n"]), vec![data("1"), data("2")]);
    }

    fn parse_pieces(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for piece in pieces {
            parser.feed(piece, &mut out);
        }
        parser.finish(&mut out);
        out
    }

    fn data(text: &str) -> SseEvent {
        SseEvent::Data(text.to_owned())
    }

    #[test]
    fn plain_events_and_done() {
        let events = parse_pieces(&[b"data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n"]);
        assert_eq!(events, vec![data("{\"a\":1}"), data("{\"a\":2}"), SseEvent::Done]);
    }

    #[test]
    fn comments_and_event_lines_are_ignored() {
        let events = parse_pieces(&[b": keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: {\"x\":true}\n\n"]);
        assert_eq!(events, vec![data("{\"x\":true}")]);
    }

    #[test]
    fn data_without_space() {
        assert_eq!(parse_pieces(&[b"data:{\"x\":1}\n\n"]), vec![data("{\"x\":1}")]);
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let events = parse_pieces(&[b"data: 1\r\n\r\ndata: 2\r\rdata: [DONE]\r\n\r\n"]);
        assert_eq!(events, vec![data("1"), data("2"), SseEvent::Done]);
    }

    #[test]
    fn crlf_split_between_reads() {
        let events = parse_pieces(&[b"data: 1\r", b"\n\r", b"\ndata: 2\r\n", b"\r\n"]);
        assert_eq!(events, vec![data("1"), data("2")]);
    }

    #[test]
    fn event_split_at_every_byte() {
        let body = b"data: {\"choices\":[{\"text\":\"hi\"}]}\n\ndata: [DONE]\n\n";
        let pieces: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(parse_pieces(&pieces), vec![data("{\"choices\":[{\"text\":\"hi\"}]}"), SseEvent::Done]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        assert_eq!(parse_pieces(&[b"data: {\"a\":\ndata: 1}\n\n"]), vec![data("{\"a\":\n1}")]);
    }

    #[test]
    fn missing_final_blank_line_still_delivers() {
        assert_eq!(parse_pieces(&[b"data: last"]), vec![data("last")]);
    }

    #[test]
    fn usage_on_a_token_chunk_is_one_event() {
        let body = b"data: {\"choices\":[{\"text\":\"\",\"finish_reason\":\"length\"}],\"usage\":{\"completion_tokens\":4}}\n\n";
        let events = parse_pieces(&[body]);
        assert_eq!(events.len(), 1);
    }
}
