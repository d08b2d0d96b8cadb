//! Reads a captured XMPP stream and prints what the framer sees, one JSON
//! object per line. For people debugging captures, and for scripts.
//!
//! ```text
//! cargo run --example inspect -- [--chunk N] [FILE]
//! ```
//!
//! Reads FILE (or standard input) incrementally, feeding it in N-byte
//! chunks (default 4096), so memory stays within the framer's limits
//! whatever the input. Output lines:
//!
//! ```text
//! {"event":"stream-open","xmlns":"jabber:client","to":"example.com","version":"1.0",...}
//! {"event":"stanza","ns":"jabber:client","name":"message","bytes":123,"xml":"<message ...>...</message>"}
//! {"event":"whitespace"}
//! {"event":"stream-close"}
//! {"event":"error","condition":"not-well-formed","detail":"...","offset":4711}
//! ```
//!
//! * `stream-open` carries the header's attributes under their qualified
//!   names (`xml:lang`) and the content namespace as `xmlns`.
//! * `stanza` is any top-level element: `ns` and `name` are its namespace
//!   and local name, `bytes` its size on the wire, `xml` how this crate's
//!   writer serializes it in the stream's namespace context.
//! * `whitespace` marks the start of a run of whitespace between elements
//!   (a keepalive).
//! * `error` is the RFC 6120 stream error condition the input earns,
//!   with a human-readable detail and `offset`: the byte offset in the
//!   capture of the first byte of the top-level item the error lies in
//!   (the `<` of the element, stream header, XML declaration or closing
//!   tag, or the first byte of text outside any element). It is the same
//!   whatever `--chunk` is. The exit status is then 1. A capture that
//!   ends inside an element is `not-well-formed` too, at the offset of
//!   that element.
//!
//! After a SASL `<success/>` or a STARTTLS `<proceed/>` the stream
//! restarts (RFC 6120 §6.4.6, §5.4.3.3), as it would on the wire.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use xmpp_sansio::ns;
use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits, Writer};

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn field(out: &mut String, key: &str, value: &str) {
    out.push(',');
    json_str(out, key);
    out.push(':');
    json_str(out, value);
}

fn stream_open(header: &Element, content_ns: &str) -> String {
    let mut line = String::from("{\"event\":\"stream-open\"");
    if !content_ns.is_empty() {
        field(&mut line, "xmlns", content_ns);
    }
    for a in header.attrs() {
        let key = match a.ns {
            "" => a.name.to_owned(),
            ns::XML => format!("xml:{}", a.name),
            other => format!("{{{other}}}{}", a.name),
        };
        field(&mut line, &key, a.value);
    }
    line.push('}');
    line
}

fn usage() -> ExitCode {
    eprintln!("usage: inspect [--chunk N] [FILE]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut chunk = 4096usize;
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--chunk" => match args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0) {
                Some(n) => chunk = n,
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ if path.is_none() => path = Some(arg),
            _ => return usage(),
        }
    }
    let mut source: Box<dyn Read> = match &path {
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("inspect: {p}: {e}");
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut framer = Framer::new(Limits::default());
    let mut writer = Writer::standalone();
    let mut buf = vec![0u8; chunk];
    let mut line = String::new();
    let failed = 'read: loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break 'read framer.finish().err(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("inspect: read error: {e}");
                return ExitCode::from(2);
            }
        };
        let mut input = &buf[..n];
        loop {
            let event = match framer.next_event(&mut input) {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => break 'read Some(e),
            };
            line.clear();
            match event {
                FrameEvent::StreamOpen(open) => {
                    line.push_str(&stream_open(&open.header, open.content_ns()));
                    writer = Writer::new(open.scope);
                }
                FrameEvent::Element(el) => {
                    line.push_str("{\"event\":\"stanza\"");
                    field(&mut line, "ns", el.ns());
                    field(&mut line, "name", el.name());
                    line.push_str(&format!(",\"bytes\":{}", framer.item_bytes()));
                    let xml = writer.to_string(&el).expect("parsed elements are writable");
                    field(&mut line, "xml", &xml);
                    line.push('}');
                    if el.is("success", ns::SASL) || el.is("proceed", ns::TLS) {
                        framer.reset();
                    }
                }
                FrameEvent::Whitespace => line.push_str("{\"event\":\"whitespace\"}"),
                FrameEvent::StreamClose => line.push_str("{\"event\":\"stream-close\"}"),
                _ => continue,
            }
            if writeln!(out, "{line}").is_err() {
                return ExitCode::from(2);
            }
        }
    };
    if let Some(e) = failed {
        line.clear();
        line.push_str("{\"event\":\"error\"");
        field(&mut line, "condition", e.condition().as_str());
        field(&mut line, "detail", &e.to_string());
        let offset = framer.error_offset().unwrap_or(framer.consumed());
        line.push_str(&format!(",\"offset\":{offset}}}"));
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        return ExitCode::from(1);
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
