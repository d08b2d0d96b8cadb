//! The driving surface every role machine shares.
//!
//! A [`Connection`] is one XML stream pair (ours out, the peer's in) run by
//! a role: the c2s client, the c2s server, and later the s2s and
//! component roles. The connection owns what is the same for all of them:
//! the [`Framer`] and [`Writer`], the bytes waiting to be written, the
//! events waiting for the host, timers, the sticky error, and the rules of
//! closing. A role only decides what each received item means and what to
//! answer.
//!
//! The host's loop, whatever the role:
//!
//! 1. bytes from the socket go to [`Connection::handle_input`], the end of
//!    input to [`Connection::handle_eof`], a fired timer to
//!    [`Connection::handle_timeout`];
//! 2. after every call it drains [`Connection::poll_event`] and
//!    [`Connection::poll_transmit`], and re-arms its timer from
//!    [`Connection::poll_timeout`].
//!
//! Time is only ever an argument. Errors are sticky: once the connection
//! has failed, the stream error is already queued for the wire and every
//! call returns the same error.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Condition, StreamError, StreamHeader, header::STREAM_CLOSE};
use crate::sasl::TlsInfo;
use crate::xml::{Element, FrameEvent, Framer, Limits, Writer};

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This side ended the stream with this error; it has been queued for
    /// the wire.
    #[error("stream error sent: {0}")]
    Local(StreamError),
    /// The peer ended the stream with this error.
    #[error("stream error received: {0}")]
    Remote(StreamError),
    /// Authentication failed (RFC 6120 §6.4.5).
    #[error("authentication failed: {condition}{}", text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    AuthenticationFailed {
        /// The SASL failure condition.
        condition: crate::sasl::Condition,
        /// The server's descriptive text, if any.
        text: Option<String>,
    },
    /// Negotiation could not go on: the peer lacks something this side
    /// requires (TLS, a usable SASL mechanism, resource binding), or
    /// refused a step. The stream was closed.
    #[error("negotiation failed: {0}")]
    Negotiation(String),
    /// The transport ended without the stream being closed.
    #[error("the connection ended before the stream was closed")]
    ConnectionLost,
    /// The stream was closed cleanly; nothing more can be sent or read.
    #[error("the stream is closed")]
    Closed,
}

/// How a stream ended, as reported by [`Event::Closed`].
pub type CloseReason = Option<Error>;

/// What a connection tells its host.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The TLS handshake must start now (STARTTLS, RFC 6120 §5.4.3.3):
    /// write out everything [`Connection::poll_transmit`] still holds,
    /// then run the handshake on the socket and call
    /// [`Connection::tls_established`]. Bytes read before the handshake
    /// must not be fed to the connection.
    StartTls,
    /// SASL succeeded (RFC 6120 §6.4.6). For a server, the authenticated
    /// identity; for a client, the identity it authenticated as.
    Authenticated {
        /// The authenticated bare JID.
        jid: String,
        /// The SASL mechanism that was used.
        mechanism: crate::sasl::Mechanism,
    },
    /// A resource is bound (RFC 6120 §7): the session's full JID. Stanzas
    /// may now flow.
    Online {
        /// The full JID of the session.
        jid: String,
    },
    /// A stanza, or another top-level element, after negotiation.
    Stanza(Element),
    /// The peer asks to be redirected (client) with `see-other-host`
    /// (RFC 6120 §4.9.3.19): reconnect there with the same `to`, TLS
    /// policy and certificate identity check.
    SeeOtherHost {
        /// The host, optionally with a port, as the server gave it.
        host: String,
    },
    /// The stream is over: `None` for a clean close, else the error.
    Closed(CloseReason),
    /// A role-specific request the host must answer (credentials, a
    /// resource binding decision, ...).
    Request(super::Request),
}

/// What to do with bytes that arrive between STARTTLS and the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterStartTls {
    /// Fail the stream: they can only be injected (client side).
    Refuse,
    /// Drop them (server side).
    Discard,
}

/// The timers a connection keeps; [`Connection::poll_timeout`] gives the
/// earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timer {
    /// Negotiation must be finished by then.
    Negotiation,
    /// Send a keepalive or ping (client), or check whether the peer has
    /// gone idle (server).
    Keepalive,
    /// The peer must have answered a ping, or closed after our close.
    Deadline,
}

const TIMERS: usize = 3;

fn timer_index(t: Timer) -> usize {
    match t {
        Timer::Negotiation => 0,
        Timer::Keepalive => 1,
        Timer::Deadline => 2,
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::c2s::Client {}
    impl Sealed for crate::c2s::Server {}
}

/// What a role does with what the connection reads. Roles are plain
/// state machines: they get the [`Core`] to write to and queue events on.
/// The crate's roles implement it; it is sealed.
pub trait Role: sealed::Sealed + Sized + std::fmt::Debug {
    /// The peer's stream header arrived.
    fn on_stream_open(
        &mut self,
        core: &mut Core,
        header: StreamHeader,
        now: Instant,
    ) -> Result<(), Error>;
    /// A top-level element arrived.
    fn on_element(&mut self, core: &mut Core, element: Element, now: Instant) -> Result<(), Error>;
    /// The host finished the TLS handshake.
    fn on_tls(&mut self, core: &mut Core, info: TlsInfo, now: Instant) -> Result<(), Error>;
    /// A timer fired.
    fn on_timer(&mut self, core: &mut Core, timer: Timer, now: Instant) -> Result<(), Error>;
    /// The host wants to send `stanza`; returns it (possibly amended) or
    /// refuses.
    fn on_send(&mut self, core: &mut Core, stanza: Element) -> Result<Element, SendError>;
    /// The largest element the peer accepts (XEP-0478), if it said.
    fn send_limit(&self) -> Option<usize> {
        None
    }
}

/// Why [`Connection::send`] refused a stanza.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Stanzas can be sent only once the stream is online.
    #[error("the stream is not online yet")]
    NotOnline,
    /// The stream is closing or closed.
    #[error("the stream is closed")]
    Closed,
    /// The stanza is larger than the peer accepts (XEP-0478).
    #[error("stanza of {size} bytes exceeds the peer's limit of {limit}")]
    TooLarge {
        /// The stanza's size on the wire.
        size: usize,
        /// What the peer advertised.
        limit: usize,
    },
    /// The element cannot be written as XML.
    #[error(transparent)]
    Invalid(#[from] crate::xml::WriteError),
}

/// The shared state of a connection: what roles write to.
#[derive(Debug)]
pub struct Core {
    framer: Framer,
    writer: Writer,
    out: Vec<u8>,
    events: VecDeque<Event>,
    error: Option<Error>,
    /// Input held back while the role waits for the host or for TLS.
    held: Vec<u8>,
    paused: bool,
    /// After `<proceed/>` (client) or `<starttls/>` (server): no more XML
    /// until TLS is up.
    awaiting_tls: Option<AfterStartTls>,
    sent_close: bool,
    /// Our header, once sent; before that, the one to open with if we
    /// must fail before the role has answered the peer.
    sent_header: bool,
    fallback_header: Option<StreamHeader>,
    timers: [Option<Instant>; TIMERS],
    /// When the peer last sent anything, whitespace and partial elements
    /// included.
    last_input: Option<Instant>,
}

impl Core {
    pub(crate) fn new(limits: Limits) -> Core {
        Core {
            framer: Framer::new(limits),
            writer: Writer::standalone(),
            out: Vec::new(),
            events: VecDeque::new(),
            error: None,
            held: Vec::new(),
            paused: false,
            awaiting_tls: None,
            sent_close: false,
            sent_header: false,
            fallback_header: None,
            timers: [None; TIMERS],
            last_input: None,
        }
    }

    /// When the peer last sent any bytes (XEP-0478 counts all traffic).
    pub(crate) fn last_input(&self) -> Option<Instant> {
        self.last_input
    }

    /// Writes our stream header; elements are written in its namespace
    /// context from now on.
    pub(crate) fn send_header(&mut self, header: &StreamHeader) {
        header.write(&mut self.out);
        self.writer = Writer::new(header.scope());
        self.sent_header = true;
    }

    /// The header to open our stream with if the connection fails before
    /// the role sent one (RFC 6120 §4.9.1.2: a stream error needs a
    /// stream to be sent in).
    pub(crate) fn set_fallback_header(&mut self, header: StreamHeader) {
        self.fallback_header = Some(header);
    }

    /// Writes a top-level element.
    pub(crate) fn send(&mut self, el: &Element) -> Result<(), crate::xml::WriteError> {
        self.writer.write(el, &mut self.out)
    }

    /// Writes a whitespace keepalive (RFC 6120 §4.6.1).
    pub(crate) fn send_whitespace(&mut self) {
        self.out.push(b' ');
    }

    /// Writes our closing tag (once).
    pub(crate) fn send_close(&mut self) {
        if !self.sent_close {
            self.sent_close = true;
            self.out.extend_from_slice(STREAM_CLOSE);
        }
    }

    /// Queues an event for the host.
    pub(crate) fn emit(&mut self, ev: Event) {
        self.events.push_back(ev);
    }

    /// Expects a new stream header (stream restart, RFC 6120 §4.3.3).
    pub(crate) fn restart(&mut self) {
        self.framer.reset();
        // Both sides open new streams (RFC 6120 §4.3.3); until ours is
        // out, a failure opens it with the fallback header.
        self.sent_header = false;
    }

    /// Replaces the reading limits.
    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.framer.set_limits(limits);
    }

    /// The reading limits in force.
    pub(crate) fn limits(&self) -> &Limits {
        self.framer.limits()
    }

    /// Stops reading until [`Core::resume`]; input is held meanwhile.
    pub(crate) fn pause(&mut self) {
        self.paused = true;
    }

    /// Reading may go on.
    pub(crate) fn resume(&mut self) {
        self.paused = false;
    }

    /// No XML may be read until TLS is established; what arrives before
    /// is handled per `then`.
    pub(crate) fn await_tls(&mut self, then: AfterStartTls) {
        self.awaiting_tls = Some(then);
    }

    pub(crate) fn set_timer(&mut self, t: Timer, at: Option<Instant>) {
        self.timers[timer_index(t)] = at;
    }

    /// Ends the stream with a stream error: the error and the closing tag
    /// go on the wire, the host is told, and the error becomes sticky.
    pub(crate) fn fail(&mut self, err: StreamError) -> Error {
        if let Some(e) = &self.error {
            return e.clone();
        }
        if !self.sent_close {
            // A stream error can only be sent inside our stream.
            if !self.sent_header
                && let Some(h) = self.fallback_header.take()
            {
                self.send_header(&h);
            }
            // Text or an application element the host supplied may not be
            // writable; the condition alone always is.
            if self.writer.write(&err.to_element(), &mut self.out).is_err() {
                let bare = StreamError::new(err.condition).to_element();
                self.writer
                    .write(&bare, &mut self.out)
                    .expect("a defined condition is writable");
            }
        }
        self.send_close();
        self.finish(Some(Error::Local(err)))
    }

    /// Ends the connection with `reason` (already on the wire, if any).
    pub(crate) fn finish(&mut self, reason: Option<Error>) -> Error {
        if let Some(e) = &self.error {
            return e.clone();
        }
        let sticky = reason.clone().unwrap_or(Error::Closed);
        self.error = Some(sticky.clone());
        self.timers = [None; TIMERS];
        self.held = Vec::new();
        self.events.push_back(Event::Closed(reason));
        sticky
    }

    /// Whether we sent `</stream:stream>`.
    pub(crate) fn close_sent(&self) -> bool {
        self.sent_close
    }
}

/// A stream run by role `R`: the one driving surface of every machine.
#[derive(Debug)]
pub struct Connection<R: Role> {
    pub(crate) core: Core,
    pub(crate) role: R,
}

impl<R: Role> Connection<R> {
    /// Feeds bytes read from the transport (after TLS decryption).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        if let Some(e) = &self.core.error {
            return Err(e.clone());
        }
        if !data.is_empty() {
            self.core.last_input = Some(now);
        }
        if self.core.paused || !self.core.held.is_empty() {
            // Keep order: held bytes go first. Bounded like any element.
            if self.core.held.len() + data.len() > self.core.limits().max_stanza_bytes {
                return Err(self.core.fail(
                    StreamError::new(Condition::PolicyViolation)
                        .with_text("too much data while paused"),
                ));
            }
            self.core.held.extend_from_slice(data);
            if self.core.paused {
                return Ok(());
            }
            let held = std::mem::take(&mut self.core.held);
            return self.process(&held, now);
        }
        self.process(data, now)
    }

    fn process(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        let mut input = data;
        while !input.is_empty() {
            match self.core.awaiting_tls {
                // RFC 6120 §5.4.3.3: after <proceed/> only TLS follows; XML
                // here was injected before the handshake.
                Some(AfterStartTls::Refuse) => {
                    return Err(self.core.fail(
                        StreamError::new(Condition::PolicyViolation)
                            .with_text("data after STARTTLS proceed"),
                    ));
                }
                // The receiving side drops what the initiator sent before
                // the handshake (RFC 6120 §5.4.3.3).
                Some(AfterStartTls::Discard) => return Ok(()),
                None => {}
            }
            if self.core.paused {
                self.core.held.extend_from_slice(input);
                return Ok(());
            }
            let ev = match self.core.framer.next_event(&mut input) {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => {
                    let err = StreamError::new(e.condition()).with_text(&e.to_string());
                    return Err(self.core.fail(err));
                }
            };
            let r = match ev {
                FrameEvent::StreamOpen(open) => match StreamHeader::from_open(&open) {
                    Ok(h) => self.role.on_stream_open(&mut self.core, h, now),
                    Err(e) => Err(self
                        .core
                        .fail(StreamError::new(e.condition()).with_text(&e.to_string()))),
                },
                FrameEvent::Element(el) => {
                    if let Some(se) = StreamError::from_element(el.as_ref()) {
                        // The peer failed the stream (RFC 6120 §4.9.1.1):
                        // close ours too.
                        self.core.send_close();
                        if se.condition == Condition::SeeOtherHost
                            && let Some(host) = se.other_host.clone()
                        {
                            self.core.emit(Event::SeeOtherHost { host });
                        }
                        return Err(self.core.finish(Some(Error::Remote(se))));
                    }
                    self.role.on_element(&mut self.core, el, now)
                }
                FrameEvent::Whitespace => Ok(()),
                FrameEvent::StreamClose => {
                    // RFC 6120 §4.4: answer a close with ours.
                    self.core.send_close();
                    self.core.finish(None);
                    return Ok(());
                }
            };
            r?;
            if let Some(e) = &self.core.error {
                return Err(e.clone());
            }
        }
        Ok(())
    }

    /// Reports that the transport will deliver no more bytes.
    pub fn handle_eof(&mut self, _now: Instant) -> Result<(), Error> {
        if let Some(e) = &self.core.error {
            return Err(e.clone());
        }
        // A stream that ended cleanly returned `Closed` above; any other
        // end of input comes before the peer's closing tag.
        Err(self.core.finish(Some(Error::ConnectionLost)))
    }

    /// Runs the timers that are due at `now`. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if let Some(e) = &self.core.error {
            return Err(e.clone());
        }
        for t in [Timer::Negotiation, Timer::Deadline, Timer::Keepalive] {
            let i = timer_index(t);
            if self.core.timers[i].is_some_and(|at| at <= now) {
                self.core.timers[i] = None;
                self.role.on_timer(&mut self.core, t, now)?;
                if let Some(e) = &self.core.error {
                    return Err(e.clone());
                }
            }
        }
        Ok(())
    }

    /// The next event for the host, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.core.events.pop_front()
    }

    /// Appends the bytes to write to the transport to `buf`; returns how
    /// many were appended.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.core.out.len();
        buf.append(&mut self.core.out);
        n
    }

    /// When [`Connection::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.iter().flatten().min().copied()
    }

    /// Sends a stanza.
    pub fn send(&mut self, stanza: Element) -> Result<(), SendError> {
        if self.core.error.is_some() || self.core.sent_close {
            return Err(SendError::Closed);
        }
        let stanza = self.role.on_send(&mut self.core, stanza)?;
        let before = self.core.out.len();
        self.core.send(&stanza)?;
        // Measured as written, so the stanza is serialized once.
        let size = self.core.out.len() - before;
        if let Some(limit) = self.role.send_limit()
            && size > limit
        {
            self.core.out.truncate(before);
            return Err(SendError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Closes the stream (RFC 6120 §4.4): our closing tag is queued; the
    /// connection ends when the peer closes too, or at the deadline.
    pub fn close(&mut self, now: Instant) {
        if self.core.error.is_some() || self.core.sent_close {
            return;
        }
        self.core.send_close();
        self.core
            .set_timer(Timer::Deadline, Some(now + CLOSE_GRACE));
    }

    /// Ends the stream with a stream error the host decided on (RFC 6120
    /// §4.9): `system-shutdown`, `see-other-host` (a server redirecting a
    /// client, §4.9.3.19), `conflict` (a new session replaces this one),
    /// `reset`, `resource-constraint`, `policy-violation`, ... The error and
    /// the closing tag are queued for the wire.
    pub fn fail(&mut self, error: StreamError) -> Error {
        self.core.fail(error)
    }

    /// Reports that the TLS handshake the connection asked for (or that
    /// the host did before the stream, for direct TLS) is complete, with
    /// the channel-binding data the TLS library offers.
    pub fn tls_established(&mut self, info: TlsInfo, now: Instant) -> Result<(), Error> {
        if let Some(e) = &self.core.error {
            return Err(e.clone());
        }
        self.core.awaiting_tls = None;
        self.role.on_tls(&mut self.core, info, now)?;
        if !self.core.held.is_empty() && !self.core.paused {
            let held = std::mem::take(&mut self.core.held);
            return self.process(&held, now);
        }
        Ok(())
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        // Every way a connection ends leaves its sticky error.
        self.core.error.is_some()
    }
}

/// How long to wait for the peer's closing tag after ours.
pub const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);
