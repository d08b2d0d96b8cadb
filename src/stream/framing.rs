//! How a stream travels: the one place that knows what goes on the wire.
//!
//! Roles speak in intents (open our stream, send an element, restart,
//! close, keep alive); a framing turns them into what travels, and turns
//! what arrives into the same [`Incoming`] items whatever the transport:
//!
//! * [`Framing::Tcp`]: the XML stream of RFC 6120 §4 over TCP or TLS, a
//!   byte stream in any chunking;
//! * [`Framing::WebSocket`]: RFC 7395, one complete element per text
//!   message each way; `<open/>` and `<close/>` in
//!   `urn:ietf:params:xml:ns:xmpp-framing` instead of the stream header
//!   and closing tag (§3.4, §3.6); every message declares its namespaces
//!   (§3.3.3); a restart is a new `<open/>` (§3.7); no whitespace
//!   keepalives (§3.8) and no STARTTLS (§3.9);
//! * [`Framing::Elements`]: elements without bytes, for a BOSH session
//!   (XEP-0124, XEP-0206) to wrap in `<body/>`.

use std::collections::VecDeque;

use super::{HeaderError, StreamHeader, header::STREAM_CLOSE};
use crate::ns;
use crate::xml::{self, Element, FrameEvent, Framer, Limits, WriteError, Writer};

/// How a connection's stream travels, chosen by the host for each
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Framing {
    /// An XML stream over TCP, with TLS by STARTTLS or before the stream
    /// (RFC 6120 §4, §5; XEP-0368). Bytes arrive and leave in any
    /// chunking.
    #[default]
    Tcp,
    /// XMPP over WebSocket (RFC 7395): the host hands in one text message
    /// per [`handle_input`](super::Connection::handle_input) call and
    /// sends each [`Transmit::Message`] as one text message. `secure` says
    /// the WebSocket runs over TLS (`wss:`); it decides which
    /// `see-other-uri` redirects are followed (§3.6.1).
    WebSocket {
        /// The WebSocket connection is encrypted (`wss:`).
        secure: bool,
    },
    /// Elements without bytes, for a BOSH session machine: the host hands
    /// in [`Frame`]s with [`handle_frame`](super::Connection::handle_frame)
    /// and gets [`Transmit::Open`], [`Transmit::Element`] and
    /// [`Transmit::Close`] back.
    Elements,
}

/// What the host sends next; see
/// [`Connection::poll_transmit`](super::Connection::poll_transmit).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Transmit {
    /// [`Framing::Tcp`]: this many bytes were appended to the buffer;
    /// write them in order. One call hands over all that is pending.
    Bytes(usize),
    /// [`Framing::WebSocket`]: one complete text message of this many bytes
    /// was appended to the buffer; send it as one message.
    Message(usize),
    /// [`Framing::Elements`]: our stream opens (again, after a restart)
    /// with this header.
    Open(StreamHeader),
    /// [`Framing::Elements`]: one top-level element.
    Element(Element),
    /// [`Framing::Elements`]: our stream is closed.
    Close,
}

/// What a host hands in over [`Framing::Elements`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// The peer opens its stream (initially, or after a restart).
    Open(StreamHeader),
    /// One top-level element.
    Element(Element),
    /// The peer closed its stream.
    Close,
}

/// What the wire delivered, the same for every framing.
#[derive(Debug)]
pub(crate) enum Incoming {
    Open(StreamHeader),
    Element(Element),
    /// Whitespace between elements (TCP only).
    Whitespace,
    /// The peer closed its stream; over WebSocket, possibly pointing
    /// elsewhere (RFC 7395 §3.6.1).
    Close {
        see_other_uri: Option<String>,
    },
}

/// Why what arrived could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Xml(xml::Error),
    Header(HeaderError),
    /// A framing rule broke; the text says which.
    Framing(&'static str),
}

impl ReadError {
    pub(crate) fn to_stream_error(&self) -> super::StreamError {
        use super::{Condition, StreamError};
        match self {
            ReadError::Xml(e) => StreamError::new(e.condition()).with_text(&e.to_string()),
            ReadError::Header(e) => StreamError::new(e.condition()).with_text(&e.to_string()),
            ReadError::Framing(why) => StreamError::new(Condition::BadFormat).with_text(why),
        }
    }
}

/// A framing with its state: reading and writing. TCP, the framing of
/// nearly every stream, is kept inline (boxing it would cost every stream
/// an allocation); the others are boxed or small.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Wire {
    Tcp {
        framer: Framer,
        writer: Writer,
        out: Vec<u8>,
    },
    /// Boxed, so that TCP streams, the many, are no larger for it.
    WebSocket(Box<WebSocket>),
    Elements {
        limits: Limits,
        out: VecDeque<Transmit>,
    },
}

/// The most output buffer capacity a TCP stream keeps between writes.
const RETAINED_OUT: usize = 512;

/// The state of a WebSocket framing.
#[derive(Debug)]
pub(crate) struct WebSocket {
    secure: bool,
    framer: Framer,
    writer: Writer,
    content_ns: &'static str,
    out: VecDeque<Vec<u8>>,
}

/// Where the last element sent ends, to take it back (XEP-0478 limits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark(usize);

impl Wire {
    pub(crate) fn new(framing: Framing, limits: Limits, content_ns: &'static str) -> Wire {
        match framing {
            Framing::Tcp => Wire::Tcp {
                framer: Framer::new(limits),
                writer: Writer::standalone(),
                out: Vec::new(),
            },
            Framing::WebSocket { secure } => Wire::WebSocket(Box::new(WebSocket {
                secure,
                framer: Framer::for_fragments(limits),
                writer: Writer::standalone(),
                content_ns,
                out: VecDeque::new(),
            })),
            Framing::Elements => Wire::Elements {
                limits,
                out: VecDeque::new(),
            },
        }
    }

    /// Whether STARTTLS can happen on this framing (RFC 7395 §3.9: not
    /// over WebSocket, where TLS is the WebSocket's).
    pub(crate) fn allows_starttls(&self) -> bool {
        matches!(self, Wire::Tcp { .. })
    }

    /// Whether the framing counts bytes (TCP, WebSocket) rather than
    /// elements.
    pub(crate) fn limits(&self) -> &Limits {
        match self {
            Wire::Tcp { framer, .. } => framer.limits(),
            Wire::WebSocket(ws) => ws.framer.limits(),
            Wire::Elements { limits, .. } => limits,
        }
    }

    pub(crate) fn set_limits(&mut self, new: Limits) {
        match self {
            Wire::Tcp { framer, .. } => framer.set_limits(new),
            Wire::WebSocket(ws) => ws.framer.set_limits(new),
            Wire::Elements { limits, .. } => *limits = new,
        }
    }

    /// Our stream opens (again): the header, or `<open/>`.
    pub(crate) fn open(&mut self, header: &StreamHeader) {
        match self {
            Wire::Tcp { writer, out, .. } => {
                header.write(out);
                *writer = Writer::new(header.scope());
            }
            Wire::WebSocket(ws) => {
                let mut msg = Vec::new();
                Writer::standalone()
                    .write(&header.to_framing_open(), &mut msg)
                    .expect("a header element with cleaned values is writable");
                ws.out.push_back(msg);
                ws.writer = Writer::declaring(header.scope());
            }
            Wire::Elements { out, .. } => out.push_back(Transmit::Open(header.clone())),
        }
    }

    /// Writes one top-level element; returns where it starts, to take it
    /// back, and its size on the wire (`None` for element framing).
    pub(crate) fn send(&mut self, el: &Element) -> Result<(Mark, Option<usize>), WriteError> {
        match self {
            Wire::Tcp { writer, out, .. } => {
                let before = out.len();
                writer.write(el, out)?;
                Ok((Mark(before), Some(out.len() - before)))
            }
            Wire::WebSocket(ws) => {
                let mut msg = Vec::new();
                ws.writer.write(el, &mut msg)?;
                let size = msg.len();
                ws.out.push_back(msg);
                Ok((Mark(0), Some(size)))
            }
            Wire::Elements { out, .. } => {
                // Checked as the writer would, so that what a BOSH
                // session later serializes cannot fail.
                Writer::standalone().write(el, &mut Vec::new())?;
                out.push_back(Transmit::Element(el.clone()));
                Ok((Mark(0), None))
            }
        }
    }

    /// Takes back the element [`send`](Self::send) just wrote.
    pub(crate) fn retract(&mut self, mark: Mark) {
        match self {
            Wire::Tcp { out, .. } => out.truncate(mark.0),
            Wire::WebSocket(ws) => {
                ws.out.pop_back();
            }
            Wire::Elements { out, .. } => {
                out.pop_back();
            }
        }
    }

    /// A whitespace keepalive (RFC 6120 §4.6.1), where the framing has one.
    pub(crate) fn keepalive(&mut self) -> bool {
        match self {
            Wire::Tcp { out, .. } => {
                out.push(b' ');
                true
            }
            // RFC 7395 §3.8; BOSH has its own empty requests.
            Wire::WebSocket(_) | Wire::Elements { .. } => false,
        }
    }

    /// Our stream closes: `</stream:stream>`, `<close/>`.
    pub(crate) fn close(&mut self) {
        match self {
            Wire::Tcp { out, .. } => out.extend_from_slice(STREAM_CLOSE),
            Wire::WebSocket(ws) => {
                let mut msg = Vec::new();
                Writer::standalone()
                    .write(&Element::new("close", ns::FRAMING), &mut msg)
                    .expect("valid element");
                ws.out.push_back(msg);
            }
            Wire::Elements { out, .. } => out.push_back(Transmit::Close),
        }
    }

    /// The peer's stream restarts: what follows is a new header.
    pub(crate) fn restart(&mut self) {
        if let Wire::Tcp { framer, .. } = self {
            framer.reset();
        }
    }

    /// The next thing to send.
    pub(crate) fn poll(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        match self {
            Wire::Tcp { out, .. } => {
                let n = out.len();
                if n == 0 {
                    return None;
                }
                if buf.is_empty() {
                    // No copy: the host's empty buffer takes our place.
                    std::mem::swap(buf, out);
                    // Kept for the next stanza if it is stanza-sized; a
                    // large one is not worth holding while idle.
                    if out.capacity() > RETAINED_OUT {
                        *out = Vec::new();
                    }
                } else {
                    buf.append(out);
                    if out.capacity() > RETAINED_OUT {
                        *out = Vec::new();
                    }
                }
                Some(Transmit::Bytes(n))
            }
            Wire::WebSocket(ws) => {
                let msg = ws.out.pop_front()?;
                let n = msg.len();
                if buf.is_empty() {
                    *buf = msg;
                } else {
                    buf.extend_from_slice(&msg);
                }
                Some(Transmit::Message(n))
            }
            Wire::Elements { out, .. } => out.pop_front(),
        }
    }

    /// Reads the next item from TCP bytes, advancing `input`.
    pub(crate) fn read_bytes(&mut self, input: &mut &[u8]) -> Result<Option<Incoming>, ReadError> {
        let Wire::Tcp { framer, .. } = self else {
            unreachable!("bytes are read on TCP only")
        };
        let Some(ev) = framer.next_event(input).map_err(ReadError::Xml)? else {
            return Ok(None);
        };
        Ok(Some(match ev {
            FrameEvent::StreamOpen(open) => {
                Incoming::Open(StreamHeader::from_open(&open).map_err(ReadError::Header)?)
            }
            FrameEvent::Element(el) => Incoming::Element(el),
            FrameEvent::Whitespace => Incoming::Whitespace,
            FrameEvent::StreamClose => Incoming::Close {
                see_other_uri: None,
            },
        }))
    }

    /// Reads one WebSocket message (RFC 7395 §3.3.3): one complete
    /// element, standing alone.
    pub(crate) fn read_message(&mut self, message: &[u8]) -> Result<Incoming, ReadError> {
        let Wire::WebSocket(ws) = self else {
            unreachable!("messages are read on WebSocket only")
        };
        let WebSocket {
            framer, content_ns, ..
        } = &mut **ws;
        let body = strip_declaration(message)?;
        if body.first() != Some(&b'<') {
            return Err(ReadError::Framing(
                "a WebSocket message must start with '<' (RFC 7395 §3.3.3)",
            ));
        }
        let mut input = body;
        let el = loop {
            match framer.next_event(&mut input).map_err(ReadError::Xml)? {
                Some(FrameEvent::Element(el)) => break el,
                Some(_) => {}
                None => {
                    return Err(ReadError::Xml(xml::Error::UnexpectedEof));
                }
            }
        };
        if input.iter().any(|b| !b" \t\r\n".contains(b)) {
            return Err(ReadError::Framing(
                "one element per WebSocket message (RFC 7395 §3.3.3)",
            ));
        }
        if el.ns() == ns::FRAMING {
            return match el.name() {
                "open" => Ok(Incoming::Open(
                    StreamHeader::from_framing_open(&el, content_ns).map_err(ReadError::Header)?,
                )),
                "close" => Ok(Incoming::Close {
                    see_other_uri: el.attr("see-other-uri").map(str::to_owned),
                }),
                _ => Err(ReadError::Framing("unknown framing element")),
            };
        }
        Ok(Incoming::Element(el))
    }

    /// Whether a `see-other-uri` may be followed: never to a less secure
    /// scheme than the current connection's (RFC 7395 §3.6.1).
    pub(crate) fn may_redirect_to(&self, uri: &str) -> bool {
        let scheme = uri
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let secure_target = matches!(scheme.as_str(), "wss" | "https");
        let known = secure_target || matches!(scheme.as_str(), "ws" | "http");
        match self {
            Wire::WebSocket(ws) => known && (secure_target || !ws.secure),
            _ => false,
        }
    }
}

/// Skips an XML declaration at the start of a WebSocket message, which
/// RFC 7395 §3.3.3 allows but does not recommend.
fn strip_declaration(message: &[u8]) -> Result<&[u8], ReadError> {
    let Some(rest) = message.strip_prefix(b"<?xml") else {
        return Ok(message);
    };
    if !rest.first().is_some_and(|b| b" \t\r\n".contains(b)) {
        return Err(ReadError::Xml(xml::Error::ProcessingInstruction));
    }
    let end = memchr::memmem::find(rest, b"?>").ok_or(ReadError::Xml(xml::Error::UnexpectedEof))?;
    Ok(&rest[end + 2..])
}
