//! The driving surface every role machine shares.
//!
//! A [`Connection`] is one stream pair (ours out, the peer's in) run by a
//! role: the c2s client and server today, s2s and components next. The
//! connection owns what is the same for all of them: the framing (how
//! elements travel, see [`Framing`]), the events waiting for the host, the
//! host's outstanding questions, any number of timers, the sticky error,
//! the stanza hooks and the rules of closing. A role only decides what
//! each received item means and what to answer, in intents (open our
//! stream, send, restart, close, keep alive) that the framing turns into
//! what travels.
//!
//! The host's loop, whatever the role and framing:
//!
//! 1. what arrives goes to [`Connection::handle_input`] (TCP bytes, or one
//!    WebSocket message) or [`Connection::handle_frame`] (BOSH), the end
//!    of input to [`Connection::handle_eof`], a fired timer to
//!    [`Connection::handle_timeout`];
//! 2. after every call it drains [`Connection::poll_event`] and
//!    [`Connection::poll_transmit`], answers each [`Event::Request`] by
//!    its token, and re-arms its timer from [`Connection::poll_timeout`].
//!
//! Time is only ever an argument. Errors are sticky: once the connection
//! has failed, the stream error is already queued for the wire and every
//! call returns the same error.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use jid::{BareJid, FullJid};

use super::framing::{Frame, Framing, Incoming, ReadError, Transmit, Wire};
use super::negotiation::sm::Managed;
use super::{Condition, Request, StreamError, StreamHeader};
use crate::sasl::TlsInfo;
use crate::xml::{Element, Limits};

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

/// Names one question a connection asked its host ([`Event::Request`]);
/// the answer carries it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(u64);

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why an answer to a question was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No question with this token is outstanding: it was never asked,
    /// already answered, or asked by another connection, or the answer
    /// does not fit the question. The connection goes on.
    #[error("no outstanding question {0} takes this answer")]
    UnknownToken(Token),
    /// The connection has ended, with this (sticky) error.
    #[error(transparent)]
    Ended(#[from] Error),
}

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
    /// The peer is authenticated (RFC 6120 §6.4.6). For a server, the
    /// authenticated identity; for a client, the identity it
    /// authenticated as.
    Authenticated {
        /// The authenticated bare JID.
        jid: BareJid,
        /// How.
        method: AuthMethod,
    },
    /// A resource is bound (RFC 6120 §7): the session's full JID. Stanzas
    /// may now flow.
    Online {
        /// The full JID of the session.
        jid: FullJid,
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
    /// Over WebSocket, the server closed the stream pointing to another
    /// endpoint (RFC 7395 §3.6.1). Reported only when it is not less
    /// secure than the current connection (`wss:` never moves to `ws:` or
    /// `http:`).
    SeeOtherUri {
        /// The endpoint, as the server gave it.
        uri: String,
    },
    /// A domain pair of a server-to-server stream was judged (XEP-0220):
    /// stanzas from `from` to `to` may flow on this stream once the
    /// verdict is [`Verdict::Valid`].
    Pair {
        /// The sending domain.
        from: BareJid,
        /// The receiving domain.
        to: BareJid,
        /// The verdict.
        verdict: Verdict,
    },
    /// The Authoritative Server answered a key verification the host asked
    /// for on this stream (XEP-0220 §2.1.2).
    Verified {
        /// What the host's request returned.
        token: Token,
        /// The answer.
        verdict: Verdict,
    },
    /// Stanzas the host sent that the peer is not known to have received,
    /// handed back by stream management (XEP-0198) so that the host can
    /// send them again or report them: as a stream that cannot be resumed
    /// ends (just before [`Event::Closed`]), or when a resumption fails.
    /// Nothing accepted is lost.
    Unsent(Vec<Element>),
    /// A resumable stream-management session broke (the connection was
    /// lost, or the peer stopped answering): keep it, with what the peer
    /// has not acknowledged, and resume it on a new connection (XEP-0198
    /// §5). Comes just before [`Event::Closed`], in place of
    /// [`Event::Unsent`]. A host that gives the session up takes the
    /// stanzas out with [`Session::into_unacknowledged`].
    ///
    /// [`Session::into_unacknowledged`]: crate::sm::Session::into_unacknowledged
    Suspended(Box<crate::sm::Session>),
    /// A stream-management session was resumed on this stream in place of
    /// resource binding (XEP-0198 §5): stanzas flow again as `jid`, and
    /// what the peer had not acknowledged has been sent again. Presence,
    /// roster and other session state carried over; nothing needs to be
    /// re-established.
    Resumed {
        /// The session's full JID.
        jid: FullJid,
    },
    /// The stream is over: `None` for a clean close, else the error.
    Closed(CloseReason),
    /// A question the host must answer, with the role's method for it,
    /// passing `token` back. Several may be outstanding, and they may be
    /// answered in any order.
    Request {
        /// Names this question in the answer.
        token: Token,
        /// What is asked.
        request: Request,
    },
}

/// The judgement on a dialback key (XEP-0220 §2.1, §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The key is good: the domain pair may carry stanzas.
    Valid,
    /// The key is not.
    Invalid,
    /// No judgement could be made, for the stanza error condition given
    /// (`item-not-found`, `remote-server-timeout`, ...).
    Error(crate::stanza::DefinedCondition),
}

/// How a peer was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// SASL (RFC 6120 §6) with this mechanism.
    Sasl(crate::sasl::Mechanism),
    /// Server Dialback (XEP-0220), for one domain pair.
    Dialback,
    /// The component handshake (XEP-0114 §3).
    ComponentHandshake,
}

/// What to do with bytes that arrive between STARTTLS and the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterStartTls {
    /// Fail the stream: they can only be injected (client side).
    Refuse,
    /// Drop them (server side).
    Discard,
}

/// A timer of a role or feature. Roles number their own; the connection
/// keeps any number of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(pub(crate) u16);

/// The connection's own timer: the peer must close within
/// [`CLOSE_GRACE`] of our close.
const CLOSE_TIMER: TimerId = TimerId(u16::MAX);
/// Stream management: time to request an acknowledgement.
const SM_REQUEST: TimerId = TimerId(u16::MAX - 1);
/// Stream management: our request must be answered by then.
const SM_ACK_DEADLINE: TimerId = TimerId(u16::MAX - 2);

/// Events one call may queue before the rest of its input waits for the
/// host to drain them ([`Connection::poll_event`] reads on).
const EVENT_BUDGET: usize = 32;

/// Capacity a connection's queues keep when they are empty: enough for the
/// one event a stanza makes, so that routing allocates nothing for it,
/// and no more, so that idle sessions hold little.
const RETAINED_QUEUE: usize = 1;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::c2s::client::Client {}
    impl Sealed for crate::c2s::server::Server {}
    impl Sealed for crate::s2s::incoming::Incoming {}
    impl Sealed for crate::s2s::outgoing::Outgoing {}
    impl Sealed for crate::component::connect::Connect {}
    impl Sealed for crate::component::accept::Accept {}
    #[cfg(test)]
    impl Sealed for super::tests::Asker {}
}

/// What a role does with what the connection reads. Roles are plain state
/// machines: they get the [`Core`] to write to and queue events on. The
/// crate's roles implement it; it is sealed and not part of the API.
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
    /// One of the role's timers fired.
    fn on_timer(&mut self, core: &mut Core, timer: TimerId, now: Instant) -> Result<(), Error>;
    /// The host wants to send `stanza`; the role may amend it, or refuse.
    fn on_send(&mut self, core: &mut Core, stanza: &mut Element) -> Result<(), SendError>;
    /// The largest element the peer accepts (XEP-0478), if it said.
    fn send_limit(&self) -> Option<usize> {
        None
    }
}

/// A role machine of this crate: the c2s client and server today. Sealed;
/// it lets a host write code that drives any [`Connection`]:
///
/// ```
/// use std::time::Instant;
/// use xmpp_sansio::stream::{Connection, Event, Machine};
///
/// /// Everything the connection has for the host right now.
/// fn drain<R: Machine>(conn: &mut Connection<R>, out: &mut Vec<u8>) -> Vec<Event> {
///     while conn.poll_transmit(out).is_some() {}
///     std::iter::from_fn(|| conn.poll_event()).collect()
/// }
/// ```
pub trait Machine: Role {}

impl<R: Role> Machine for R {}

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
    /// A server-to-server stream not (yet) authorized for the stanza's
    /// domain pair, or a stanza without `from` or `to`.
    #[error("the stream is not authorized for this domain pair")]
    Unauthorized,
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
    /// Stream management keeps as many unacknowledged stanzas as it may
    /// ([`sm::Config::max_queue`](crate::sm::Config::max_queue)); an
    /// acknowledgement has been requested. Send again once the peer
    /// acknowledged some.
    #[error("{queued} stanzas await acknowledgement")]
    Backlog {
        /// How many.
        queued: usize,
    },
}

/// A stanza [`Connection::send`] did not take, handed back with the
/// reason: nothing the host hands over is lost.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    /// Why.
    pub error: SendError,
    /// The stanza, as the host gave it.
    pub stanza: Element,
}

/// Input that waits: while a question that gates reading is open, while
/// TLS is being set up, or beyond one call's event budget.
#[derive(Debug)]
enum Held {
    Bytes(Vec<u8>),
    Message(Vec<u8>),
    Frame(Frame),
}

/// The shared state of a connection: what roles write to.
#[derive(Debug)]
pub struct Core {
    wire: Wire,
    events: VecDeque<Event>,
    /// Boxed: only an ended connection has one.
    error: Option<Box<Error>>,
    held: VecDeque<Held>,
    held_bytes: usize,
    /// After `<proceed/>` (client) or `<starttls/>` (server): no more XML
    /// until TLS is up.
    awaiting_tls: Option<AfterStartTls>,
    sent_close: bool,
    /// We closed the stream on purpose ([`Core::close`]): a session that
    /// ends then is over, not suspended.
    closing: bool,
    /// Our header, once sent; before that, the one to open with if we
    /// must fail before the role has answered the peer.
    sent_header: bool,
    fallback_header: Option<Box<StreamHeader>>,
    timers: Vec<(TimerId, Instant)>,
    /// When the peer last sent anything, whitespace and partial elements
    /// included.
    last_input: Option<Instant>,
    /// The `now` of the latest call, for reading on from `poll_event`.
    now: Option<Instant>,
    next_token: u64,
    /// Outstanding questions, and whether each holds input back.
    questions: Vec<(Token, bool)>,
    stanzas_in: u64,
    stanzas_out: u64,
    /// The namespace stanzas travel in on this stream.
    content_ns: &'static str,
    /// Stream management, once enabled: every stanza in and out passes
    /// it, and it decides what the end hands back.
    sm: Option<Box<Managed>>,
}

impl Core {
    pub(crate) fn new(framing: Framing, limits: Limits, content_ns: &'static str) -> Core {
        Core {
            wire: Wire::new(framing, limits, content_ns),
            events: VecDeque::new(),
            error: None,
            held: VecDeque::new(),
            held_bytes: 0,
            awaiting_tls: None,
            sent_close: false,
            closing: false,
            sent_header: false,
            fallback_header: None,
            timers: Vec::new(),
            last_input: None,
            now: None,
            next_token: 0,
            questions: Vec::new(),
            stanzas_in: 0,
            stanzas_out: 0,
            content_ns,
            sm: None,
        }
    }

    /// The sticky error, once the connection ended.
    pub(crate) fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// When the peer last sent anything (XEP-0478 counts all traffic).
    pub(crate) fn last_input(&self) -> Option<Instant> {
        self.last_input
    }

    /// Whether STARTTLS exists on this framing (not over WebSocket, RFC
    /// 7395 §3.9).
    pub(crate) fn allows_starttls(&self) -> bool {
        self.wire.allows_starttls()
    }

    /// Opens our stream (again, after a restart) with `header`; elements
    /// are written in its namespace context from now on.
    pub(crate) fn send_header(&mut self, header: &StreamHeader) {
        self.wire.open(header);
        self.sent_header = true;
        // Only needed until our header is out; roles set it again when the
        // stream restarts.
        self.fallback_header = None;
    }

    /// The header to open our stream with if the connection fails before
    /// the role sent one (RFC 6120 §4.9.1.2: a stream error needs a
    /// stream to be sent in).
    pub(crate) fn set_fallback_header(&mut self, header: StreamHeader) {
        self.fallback_header = Some(Box::new(header));
    }

    /// Writes a top-level element of the role's own (negotiation, errors,
    /// keepalives). A stanza counts for stream management like the
    /// host's.
    /// Nothing is written after our closing tag.
    pub(crate) fn send(&mut self, el: &Element) -> Result<(), crate::xml::WriteError> {
        if self.sent_close {
            return Ok(());
        }
        let counted = self.sm.as_deref().is_some_and(|m| !m.pending) && self.is_stanza(el);
        if counted
            && self
                .sm
                .as_deref()
                .is_some_and(|m| m.session.ledger().is_full())
        {
            // The peer acknowledges nothing while the stream keeps
            // answering it: the queue stays bounded.
            self.fail(
                StreamError::new(Condition::ResourceConstraint)
                    .with_text("too many unacknowledged stanzas"),
            );
            return Ok(());
        }
        self.wire.send(el)?;
        if counted {
            if let Some(m) = &mut self.sm {
                m.session.ledger_mut().push(el.clone());
            }
            self.sm_after_send();
        }
        Ok(())
    }

    /// Writes a stanza again on resumption: stream management counted it
    /// when it first went out.
    pub(crate) fn resend(&mut self, el: &Element) {
        if !self.sent_close {
            // It was written once, in the same content namespace.
            let _ = self.wire.send(el);
        }
    }

    /// Whether `el` is a stanza of this stream (RFC 6120 §8).
    fn is_stanza(&self, el: &Element) -> bool {
        el.ns() == self.content_ns && matches!(el.name(), "message" | "presence" | "iq")
    }

    /// Starts managing the stream (XEP-0198): from now on every stanza
    /// counts.
    pub(crate) fn manage(&mut self, managed: Managed) {
        self.sm = Some(Box::new(managed));
    }

    /// The stream-management session, once enabled.
    pub(crate) fn managed(&self) -> Option<&Managed> {
        self.sm.as_deref()
    }

    /// After a stanza went out: request an acknowledgement at once when
    /// enough wait, else within the configured delay. The request goes
    /// out from [`Connection::handle_timeout`], whose `now` is fresh, so
    /// that its deadline is measured from when it was sent (a send has no
    /// time of its own; the last call's may be long past).
    pub(crate) fn sm_after_send(&mut self) {
        let Some(m) = self.sm.as_deref().filter(|m| !m.pending && !m.enabling) else {
            return;
        };
        let pending = m.session.ledger().pending();
        if m.requested || pending == 0 {
            return;
        }
        let Some(now) = self.now else {
            return;
        };
        let at = if pending >= m.config.request_after.max(1) {
            now
        } else {
            now + m.config.request_delay
        };
        let due = self
            .timers
            .iter()
            .find(|(t, _)| *t == SM_REQUEST)
            .map(|(_, a)| *a);
        if due.is_none_or(|d| at < d) {
            self.set_timer(SM_REQUEST, Some(at));
        }
    }

    /// Sends `<r/>` unless one is out, with its deadline. Also a keepalive
    /// that proves the peer alive.
    pub(crate) fn sm_request(&mut self, now: Instant) {
        let Some(m) = self.sm.as_deref_mut().filter(|m| !m.pending && !m.enabling) else {
            return;
        };
        if m.requested || self.sent_close {
            return;
        }
        m.requested = true;
        let deadline = m.config.ack_timeout.map(|t| now + t);
        let _ = self.wire.send(&crate::sm::Nonza::R.to_element());
        self.set_timer(SM_REQUEST, None);
        self.set_timer(SM_ACK_DEADLINE, deadline);
    }

    /// A stream-management element while managed: `<r/>` is answered,
    /// `<a/>` acknowledges. `None` for the others (the role's).
    fn sm_control(&mut self, el: &Element) -> Option<Result<(), Error>> {
        let m = self.sm.as_deref_mut()?;
        match el.name() {
            "r" => {
                // Our closing tag said the last word (after an <a/>).
                if !self.sent_close {
                    let a = crate::sm::Nonza::A {
                        h: m.session.ledger().handled(),
                    };
                    let _ = self.wire.send(&a.to_element());
                }
                Some(Ok(()))
            }
            "a" => {
                let acked = match crate::sm::Nonza::parse(el.as_ref()) {
                    Some(crate::sm::Nonza::A { h }) => m
                        .session
                        .ledger_mut()
                        .acknowledged(h)
                        .map_err(|e| e.stream_error()),
                    _ => Err(StreamError::new(Condition::BadFormat)
                        .with_text("<a/> without a valid 'h'")),
                };
                if let Err(e) = acked {
                    return Some(Err(self.fail(e)));
                }
                m.requested = false;
                self.set_timer(SM_ACK_DEADLINE, None);
                self.sm_after_send();
                Some(Ok(()))
            }
            _ => None,
        }
    }

    /// Writes what the host sent while `<enable/>` awaited its answer:
    /// counted when stream management is in force, plain otherwise. After
    /// our close nothing more is written: without a session they come
    /// back at once as unsent; with one, at the end.
    pub(crate) fn release_held(&mut self, held: Vec<Element>) {
        if self.sent_close {
            match &mut self.sm {
                Some(m) => m.held = held,
                None if !held.is_empty() => self.emit(Event::Unsent(held)),
                None => {}
            }
            return;
        }
        for stanza in held {
            // Each was written once already, to check it.
            let _ = self.wire.send(&stanza);
            if let Some(m) = &mut self.sm {
                m.session.ledger_mut().push(stanza);
            }
        }
        self.sm_after_send();
    }

    /// Takes the stream-management session off this stream, which then
    /// ends without handing back its stanzas.
    pub(crate) fn take_managed(&mut self) -> Option<Managed> {
        self.set_timer(SM_REQUEST, None);
        self.set_timer(SM_ACK_DEADLINE, None);
        self.sm.take().map(|m| *m)
    }

    /// Keeps the stream alive with whitespace (RFC 6120 §4.6.1) where the
    /// framing has it; `false` where it does not (WebSocket, BOSH), and the
    /// role pings instead.
    pub(crate) fn send_whitespace(&mut self) -> bool {
        self.wire.keepalive()
    }

    /// Closes our stream (once).
    pub(crate) fn send_close(&mut self) {
        if !self.sent_close {
            self.sent_close = true;
            self.wire.close();
        }
    }

    /// Queues an event for the host.
    pub(crate) fn emit(&mut self, ev: Event) {
        self.events.push_back(ev);
    }

    /// A stanza for the host: every stanza in passes here.
    pub(crate) fn deliver(&mut self, stanza: Element) {
        self.stanzas_in += 1;
        self.events.push_back(Event::Stanza(stanza));
    }

    /// A token no other question or request of this connection has.
    pub(crate) fn new_token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// Closes our stream and gives the peer [`CLOSE_GRACE`] to close its.
    pub(crate) fn close(&mut self, now: Instant) {
        if self.error.is_none() && !self.sent_close {
            // XEP-0198 §4: say what we handled before closing, so that the
            // peer does not send it again elsewhere, and ask the same of
            // the peer before its close, so that what it handled does not
            // come back as unsent.
            if let Some(m) = self.sm.as_deref().filter(|m| !m.pending && !m.enabling) {
                let a = crate::sm::Nonza::A {
                    h: m.session.ledger().handled(),
                };
                let _ = self.wire.send(&a.to_element());
                let _ = self.wire.send(&crate::sm::Nonza::R.to_element());
            }
            self.closing = true;
            self.send_close();
            self.set_timer(CLOSE_TIMER, Some(now + CLOSE_GRACE));
        }
    }

    /// Asks the host `request`; `gating` holds input back until the
    /// answer (what is read next depends on it).
    pub(crate) fn ask(&mut self, request: Request, gating: bool) -> Token {
        let token = self.new_token();
        self.questions.push((token, gating));
        self.events.push_back(Event::Request { token, request });
        token
    }

    /// Takes the answer to `token`: an error if no such question is open.
    pub(crate) fn answer(&mut self, token: Token) -> Result<(), AnswerError> {
        if let Some(e) = &self.error {
            return Err(AnswerError::Ended((**e).clone()));
        }
        let i = self
            .questions
            .iter()
            .position(|(t, _)| *t == token)
            .ok_or(AnswerError::UnknownToken(token))?;
        self.questions.swap_remove(i);
        if self.questions.is_empty() {
            self.questions = Vec::new();
        }
        Ok(())
    }

    fn gated(&self) -> bool {
        self.questions.iter().any(|(_, gating)| *gating)
    }

    /// Expects a new stream header (stream restart, RFC 6120 §4.3.3).
    pub(crate) fn restart(&mut self) {
        self.wire.restart();
        // Both sides open new streams (RFC 6120 §4.3.3); until ours is
        // out, a failure opens it with the fallback header.
        self.sent_header = false;
    }

    /// Replaces the reading limits.
    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.wire.set_limits(limits);
    }

    /// The reading limits in force.
    pub(crate) fn limits(&self) -> &Limits {
        self.wire.limits()
    }

    /// No XML may be read until TLS is established; what arrives before
    /// is handled per `then`.
    pub(crate) fn await_tls(&mut self, then: AfterStartTls) {
        self.awaiting_tls = Some(then);
    }

    /// Sets (or with `None` clears) one of the role's timers.
    pub(crate) fn set_timer(&mut self, id: TimerId, at: Option<Instant>) {
        self.timers.retain(|(t, _)| *t != id);
        if let Some(at) = at {
            self.timers.push((id, at));
        }
    }

    /// Ends the stream with a stream error: the error and the closing tag
    /// go on the wire, the host is told, and the error becomes sticky.
    pub(crate) fn fail(&mut self, err: StreamError) -> Error {
        if let Some(e) = &self.error {
            return (**e).clone();
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
            if self.wire.send(&err.to_element()).is_err() {
                let bare = StreamError::new(err.condition).to_element();
                self.wire
                    .send(&bare)
                    .expect("a defined condition is writable");
            }
        }
        self.send_close();
        self.finish(Some(Error::Local(err)))
    }

    /// Ends the connection with `reason` (already on the wire, if any).
    pub(crate) fn finish(&mut self, reason: Option<Error>) -> Error {
        if let Some(e) = &self.error {
            return (**e).clone();
        }
        let sticky = reason.clone().unwrap_or(Error::Closed);
        self.error = Some(Box::new(sticky.clone()));
        self.timers = Vec::new();
        self.held = VecDeque::new();
        self.held_bytes = 0;
        self.questions = Vec::new();
        if let Some(m) = self.sm.take() {
            // A broken connection, or a peer that stopped answering, leaves
            // the session resumable; a closed stream or a stream error
            // ends it (XEP-0198 §5).
            // A `connection-timeout` either way says the connection looked
            // dead, not that the session is over.
            let broken = !self.closing
                && match &reason {
                    Some(Error::ConnectionLost) => true,
                    Some(Error::Local(e) | Error::Remote(e)) => {
                        e.condition == Condition::ConnectionTimeout
                    }
                    _ => false,
                };
            if m.pending || (m.resumable && broken) {
                self.events.push_back(Event::Suspended(Box::new(m.session)));
            } else {
                let mut unsent = m.session.into_unacknowledged();
                unsent.extend(m.held);
                if !unsent.is_empty() {
                    self.events.push_back(Event::Unsent(unsent));
                }
            }
        }
        self.events.push_back(Event::Closed(reason));
        sticky
    }

    /// Whether we closed our stream.
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
    /// Feeds what the transport delivered: with [`Framing::Tcp`], bytes
    /// read (after TLS decryption) in any chunking; with
    /// [`Framing::WebSocket`], the payload of one text message.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        self.core.now = Some(now);
        if let Some(e) = &self.core.error {
            return Err((**e).clone());
        }
        if data.is_empty() {
            return self.read_on(now);
        }
        self.core.last_input = Some(now);
        let item = match self.core.wire {
            super::framing::Wire::WebSocket(_) => Held::Message(data.to_vec()),
            super::framing::Wire::Tcp { .. } => {
                if self.core.held.is_empty() && !self.waiting() {
                    // The common case: read in place, hold only what the
                    // event budget leaves over.
                    return self.read_bytes(data, now);
                }
                Held::Bytes(data.to_vec())
            }
            super::framing::Wire::Elements { .. } => {
                return Err(self.core.fail(
                    StreamError::new(Condition::InternalServerError)
                        .with_text("bytes handed to an element framing"),
                ));
            }
        };
        self.hold_back(item)?;
        self.read_on(now)
    }

    /// Hands in what arrived over [`Framing::Elements`] (a BOSH session's
    /// unwrapped body).
    pub fn handle_frame(&mut self, frame: Frame, now: Instant) -> Result<(), Error> {
        self.core.now = Some(now);
        if let Some(e) = &self.core.error {
            return Err((**e).clone());
        }
        if !matches!(self.core.wire, super::framing::Wire::Elements { .. }) {
            return Err(self.core.fail(
                StreamError::new(Condition::InternalServerError)
                    .with_text("a frame handed to a byte framing"),
            ));
        }
        self.core.last_input = Some(now);
        self.hold_back(Held::Frame(frame))?;
        self.read_on(now)
    }

    /// Whether input must wait (a gating question, TLS being set up).
    fn waiting(&self) -> bool {
        self.core.gated() || self.core.awaiting_tls.is_some()
    }

    /// Queues input behind what already waits, within the element limit.
    fn hold_back(&mut self, item: Held) -> Result<(), Error> {
        let size = match &item {
            Held::Bytes(b) | Held::Message(b) => b.len(),
            Held::Frame(_) => 1,
        };
        if self.core.held_bytes + size > self.core.limits().max_stanza_bytes.max(4096) {
            return Err(self.core.fail(
                StreamError::new(Condition::PolicyViolation)
                    .with_text("too much data while waiting for the host"),
            ));
        }
        self.core.held_bytes += size;
        match (self.core.held.back_mut(), item) {
            (Some(Held::Bytes(prev)), Held::Bytes(more)) => prev.extend_from_slice(&more),
            (_, item) => self.core.held.push_back(item),
        }
        Ok(())
    }

    /// Reads what waits, as far as questions, TLS and the event budget
    /// allow.
    fn read_on(&mut self, now: Instant) -> Result<(), Error> {
        loop {
            // Failures were returned where they happened; what is left is
            // a clean close.
            if self.core.error.is_some() {
                return Ok(());
            }
            if let Some(AfterStartTls::Discard) = self.core.awaiting_tls {
                // The receiving side drops what the initiator sent before
                // the handshake (RFC 6120 §5.4.3.3).
                self.core.held.clear();
                self.core.held_bytes = 0;
            }
            if self.waiting() || self.core.events.len() >= EVENT_BUDGET {
                if let Some(AfterStartTls::Refuse) = self.core.awaiting_tls
                    && !self.core.held.is_empty()
                {
                    return Err(self.injected());
                }
                return Ok(());
            }
            let Some(item) = self.core.held.pop_front() else {
                if self.core.held.capacity() > 0 {
                    self.core.held = VecDeque::new();
                }
                return Ok(());
            };
            match item {
                Held::Bytes(bytes) => {
                    self.core.held_bytes -= bytes.len();
                    self.read_bytes(&bytes, now)?;
                }
                Held::Message(msg) => {
                    self.core.held_bytes -= msg.len();
                    let r = self.core.wire.read_message(&msg);
                    self.dispatch(r, now)?;
                }
                Held::Frame(frame) => {
                    self.core.held_bytes -= 1;
                    let incoming = match frame {
                        Frame::Open(h) => Incoming::Open(h),
                        Frame::Element(el) => Incoming::Element(el),
                        Frame::Close => Incoming::Close {
                            see_other_uri: None,
                        },
                    };
                    self.dispatch(Ok(incoming), now)?;
                }
            }
        }
    }

    /// Reads TCP bytes item by item; what is left when reading must wait
    /// goes to the front of the held input.
    fn read_bytes(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        let mut input = data;
        while !input.is_empty() {
            if self.core.error.is_some() {
                break;
            }
            match self.core.awaiting_tls {
                // RFC 6120 §5.4.3.3: after <proceed/> only TLS follows; XML
                // here was injected before the handshake.
                Some(AfterStartTls::Refuse) => return Err(self.injected()),
                Some(AfterStartTls::Discard) => return Ok(()),
                None => {}
            }
            if self.waiting() || self.core.events.len() >= EVENT_BUDGET {
                self.core.held_bytes += input.len();
                self.core.held.push_front(Held::Bytes(input.to_vec()));
                return Ok(());
            }
            match self.core.wire.read_bytes(&mut input) {
                Ok(None) => break,
                r => self.dispatch(r.map(|item| item.expect("matched above")), now)?,
            }
        }
        Ok(())
    }

    fn injected(&mut self) -> Error {
        self.core.fail(
            StreamError::new(Condition::PolicyViolation).with_text("data after STARTTLS proceed"),
        )
    }

    /// Hands one item to the role.
    fn dispatch(&mut self, item: Result<Incoming, ReadError>, now: Instant) -> Result<(), Error> {
        let item = match item {
            Ok(item) => item,
            Err(e) => return Err(self.core.fail(e.to_stream_error())),
        };
        match item {
            Incoming::Open(h) => self.role.on_stream_open(&mut self.core, h, now)?,
            Incoming::Element(el) => {
                if let Some(se) = StreamError::from_element(el.as_ref()) {
                    // The peer failed the stream (RFC 6120 §4.9.1.1): close
                    // ours too.
                    self.core.send_close();
                    if se.condition == Condition::SeeOtherHost
                        && let Some(host) = se.other_host.clone()
                    {
                        self.core.emit(Event::SeeOtherHost { host });
                    }
                    return Err(self.core.finish(Some(Error::Remote(se))));
                }
                if self
                    .core
                    .sm
                    .as_deref()
                    .is_some_and(|m| !m.pending && !m.enabling)
                {
                    if el.ns() == crate::sm::NS {
                        if let Some(r) = self.core.sm_control(&el) {
                            return r;
                        }
                    } else if self.core.is_stanza(&el)
                        && let Some(m) = &mut self.core.sm
                    {
                        // Handled: the host is given it, or the role
                        // answers it (XEP-0198 §4).
                        m.session.ledger_mut().received();
                    }
                }
                self.role.on_element(&mut self.core, el, now)?;
            }
            Incoming::Whitespace => {}
            Incoming::Close { see_other_uri } => {
                if let Some(uri) = see_other_uri
                    && self.core.wire.may_redirect_to(&uri)
                {
                    self.core.emit(Event::SeeOtherUri { uri });
                }
                // XEP-0198 §4: what we handled, before our close.
                if !self.core.sent_close
                    && let Some(m) = self
                        .core
                        .sm
                        .as_deref()
                        .filter(|m| !m.pending && !m.enabling)
                {
                    let a = crate::sm::Nonza::A {
                        h: m.session.ledger().handled(),
                    };
                    let _ = self.core.wire.send(&a.to_element());
                }
                // RFC 6120 §4.4, RFC 7395 §3.6: answer a close with ours.
                self.core.send_close();
                self.core.finish(None);
                return Ok(());
            }
        }
        match &self.core.error {
            Some(e) => Err((**e).clone()),
            None => Ok(()),
        }
    }

    /// Reports that the transport will deliver no more.
    pub fn handle_eof(&mut self, _now: Instant) -> Result<(), Error> {
        if let Some(e) = &self.core.error {
            return Err((**e).clone());
        }
        // A stream that ended cleanly returned `Closed` above; any other
        // end of input comes before the peer's closing tag.
        Err(self.core.finish(Some(Error::ConnectionLost)))
    }

    /// Runs every timer due at `now`. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.core.now = Some(now);
        loop {
            if let Some(e) = &self.core.error {
                return Err((**e).clone());
            }
            let Some(i) = self
                .core
                .timers
                .iter()
                .enumerate()
                .filter(|(_, (_, at))| *at <= now)
                .min_by_key(|(_, (_, at))| *at)
                .map(|(i, _)| i)
            else {
                return Ok(());
            };
            let (id, _) = self.core.timers.swap_remove(i);
            match id {
                CLOSE_TIMER => return Err(self.core.finish(Some(Error::ConnectionLost))),
                SM_REQUEST => {
                    if !self.core.sent_close {
                        self.core.sm_request(now);
                    }
                    continue;
                }
                SM_ACK_DEADLINE => {
                    return Err(self.core.fail(
                        StreamError::new(Condition::ConnectionTimeout)
                            .with_text("no acknowledgement (XEP-0198)"),
                    ));
                }
                _ => {}
            }
            self.role.on_timer(&mut self.core, id, now)?;
        }
    }

    /// The next event for the host, if any. Input held back because one
    /// call produced many events is read on as the queue empties.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.core.events.is_empty()
            && !self.core.held.is_empty()
            && self.core.error.is_none()
            && let Some(now) = self.core.now
        {
            // A failure queues its own Closed event.
            let _ = self.read_on(now);
        }
        let ev = self.core.events.pop_front();
        if ev.is_none() && self.core.events.capacity() > RETAINED_QUEUE {
            self.core.events.shrink_to(RETAINED_QUEUE);
        }
        ev
    }

    /// The next thing to send. With [`Framing::Tcp`] it appends every
    /// pending byte to `buf` ([`Transmit::Bytes`]; into an empty `buf`
    /// without a copy); with [`Framing::WebSocket`], one message per call
    /// ([`Transmit::Message`]); with [`Framing::Elements`], one frame per
    /// call, `buf` untouched. Call it until it returns `None`.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.core.wire.poll(buf)
    }

    /// When [`Connection::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.iter().map(|(_, at)| *at).min()
    }

    /// Sends a stanza. A stanza that is refused comes back in [`Refused`]:
    /// what the host hands over is either written or handed back.
    // The stanza comes back by value: boxing it would allocate on the very
    // path that must not lose it.
    #[allow(clippy::result_large_err)]
    pub fn send(&mut self, mut stanza: Element) -> Result<(), Refused> {
        if self.core.error.is_some() || self.core.sent_close {
            return Err(Refused {
                error: SendError::Closed,
                stanza,
            });
        }
        if let Err(error) = self.role.on_send(&mut self.core, &mut stanza) {
            return Err(Refused { error, stanza });
        }
        if let Some(m) = self.core.sm.as_deref().filter(|m| !m.pending)
            && m.session.ledger().pending() + m.held.len() >= m.session.ledger().max_queue()
        {
            let queued = m.session.ledger().pending() + m.held.len();
            // An acknowledgement is asked for at once (by the timer, with
            // a fresh time).
            if !m.requested
                && let Some(now) = self.core.now
            {
                self.core.set_timer(SM_REQUEST, Some(now));
            }
            return Err(Refused {
                error: SendError::Backlog { queued },
                stanza,
            });
        }
        let (mark, size) = match self.core.wire.send(&stanza) {
            Ok(sent) => sent,
            Err(e) => {
                return Err(Refused {
                    error: e.into(),
                    stanza,
                });
            }
        };
        // Measured as written, so the stanza is serialized once.
        if let (Some(limit), Some(size)) = (self.role.send_limit(), size)
            && size > limit
        {
            self.core.wire.retract(mark);
            return Err(Refused {
                error: SendError::TooLarge { size, limit },
                stanza,
            });
        }
        self.core.stanzas_out += 1;
        if let Some(m) = self.core.sm.as_deref_mut().filter(|m| !m.pending) {
            if m.enabling {
                // Held until the server answers <enable/>: a stream that
                // breaks before has sent nothing that could arrive twice.
                self.core.wire.retract(mark);
                m.held.push(stanza);
                return Ok(());
            }
            m.session.ledger_mut().push(stanza);
            self.core.sm_after_send();
        }
        Ok(())
    }

    /// Closes the stream (RFC 6120 §4.4): our closing tag is queued; the
    /// connection ends when the peer closes too, or after [`CLOSE_GRACE`].
    pub fn close(&mut self, now: Instant) {
        self.core.close(now);
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
        self.core.now = Some(now);
        if let Some(e) = &self.core.error {
            return Err((**e).clone());
        }
        self.core.awaiting_tls = None;
        self.role.on_tls(&mut self.core, info, now)?;
        self.read_on(now)
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        // Every way a connection ends leaves its sticky error.
        self.core.error.is_some()
    }

    /// The stream-management session's id (XEP-0198 `SM-ID`), once enabled
    /// or resumed with resumption allowed. A server host finds the stream
    /// a [`Request::Resume`](super::Request::Resume) names by it.
    pub fn sm_id(&self) -> Option<&str> {
        self.core
            .managed()
            .filter(|m| m.resumable && !m.pending)
            .map(|m| m.session.id())
    }

    /// How many stanzas sent on this stream await the peer's
    /// acknowledgement, once stream management is enabled.
    pub fn sm_pending(&self) -> Option<usize> {
        self.core
            .managed()
            .filter(|m| !m.pending)
            .map(|m| m.session.ledger().pending())
    }

    /// Takes the resumable stream-management session off this stream to
    /// resume it on another (XEP-0198 §5): a server host does this when a
    /// client resumes while its old stream is still open. This stream
    /// ends with `conflict` and hands nothing back; the session carries
    /// its unacknowledged stanzas. `None`, and the stream goes on, when
    /// there is no resumable session.
    pub fn take_session(&mut self) -> Option<crate::sm::Session> {
        if !self
            .core
            .managed()
            .is_some_and(|m| m.resumable && !m.pending)
            || self.core.error.is_some()
        {
            return None;
        }
        let m = self.core.take_managed()?;
        self.core.fail(
            StreamError::new(Condition::Conflict)
                .with_text("the session was resumed on another stream"),
        );
        Some(m.session)
    }

    /// How many stanzas the host was given ([`Event::Stanza`]) and how many
    /// it sent, on this stream.
    pub fn stanza_counts(&self) -> (u64, u64) {
        (self.core.stanzas_in, self.core.stanzas_out)
    }

    /// Takes an answer: the sticky error once the connection ended, a
    /// typed error for a token that names no open question.
    pub(crate) fn take_answer(&mut self, token: Token) -> Result<(), AnswerError> {
        self.core.answer(token)
    }

    /// Reads on after an answer.
    pub(crate) fn after_answer(&mut self, now: Instant) -> Result<(), AnswerError> {
        self.core.now = Some(now);
        self.read_on(now).map_err(AnswerError::Ended)
    }
}

/// How long to wait for the peer's closing tag after ours.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns;

    /// A role that asks its host about every `<ask/>` it reads, holding
    /// input back for `<ask gate='1'/>`, and hands everything else over.
    #[derive(Debug, Default)]
    pub(super) struct Asker {
        asked: Vec<(Token, String)>,
        answers: Vec<(String, String)>,
    }

    impl Role for Asker {
        fn on_stream_open(
            &mut self,
            core: &mut Core,
            _: StreamHeader,
            _: Instant,
        ) -> Result<(), Error> {
            core.send_header(&StreamHeader::new(ns::CLIENT));
            Ok(())
        }
        fn on_element(&mut self, core: &mut Core, el: Element, _: Instant) -> Result<(), Error> {
            if el.name() == "ask" {
                let what = el.attr("what").unwrap_or_default().to_owned();
                let request = Request::Bind {
                    jid: what.parse().expect("a domain"),
                    requested: None,
                };
                let token = core.ask(request, el.attr("gate").is_some());
                self.asked.push((token, what));
            } else {
                core.deliver(el);
            }
            Ok(())
        }
        fn on_tls(&mut self, _: &mut Core, _: TlsInfo, _: Instant) -> Result<(), Error> {
            Ok(())
        }
        fn on_timer(&mut self, _: &mut Core, _: TimerId, _: Instant) -> Result<(), Error> {
            Ok(())
        }
        fn on_send(&mut self, _: &mut Core, _: &mut Element) -> Result<(), SendError> {
            Ok(())
        }
    }

    impl Connection<Asker> {
        fn new_asker() -> Self {
            Connection {
                core: Core::new(Framing::Tcp, Limits::default(), ns::CLIENT),
                role: Asker::default(),
            }
        }
        fn answer(&mut self, token: Token, answer: &str, now: Instant) -> Result<(), AnswerError> {
            self.take_answer(token)?;
            let what = self.role.asked.iter().find(|(t, _)| *t == token).unwrap();
            self.role.answers.push((what.1.clone(), answer.to_owned()));
            self.after_answer(now)
        }
        fn events(&mut self) -> Vec<Event> {
            std::iter::from_fn(|| self.poll_event()).collect()
        }
    }

    const HEADER: &[u8] = b"<stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    fn tokens(events: &[Event]) -> Vec<Token> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Request { token, .. } => Some(*token),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn two_questions_answered_out_of_order_hold_nothing_back() {
        let now = Instant::now();
        let mut c = Connection::new_asker();
        c.handle_input(HEADER, now).unwrap();
        c.handle_input(
            b"<ask what='a.example'/><ask what='b.example'/><message/>",
            now,
        )
        .unwrap();
        let events = c.events();
        let asked = tokens(&events);
        assert_eq!(asked.len(), 2);
        assert_ne!(asked[0], asked[1]);
        // Neither question holds back what follows.
        assert!(matches!(events.last(), Some(Event::Stanza(m)) if m.name() == "message"));
        // Answered in the other order.
        c.answer(asked[1], "valid", now).unwrap();
        c.answer(asked[0], "invalid", now).unwrap();
        assert_eq!(
            c.role.answers,
            [
                ("b.example".to_owned(), "valid".to_owned()),
                ("a.example".to_owned(), "invalid".to_owned())
            ]
        );
        // A repeated or invented token is a typed error; the stream lives.
        assert_eq!(
            c.answer(asked[0], "again", now),
            Err(AnswerError::UnknownToken(asked[0]))
        );
        assert_eq!(
            c.answer(Token(999), "made up", now),
            Err(AnswerError::UnknownToken(Token(999)))
        );
        assert!(!c.is_closed());
        // After the end, the sticky error.
        c.handle_input(b"</stream:stream>", now).unwrap();
        assert_eq!(
            c.answer(asked[0], "late", now),
            Err(AnswerError::Ended(Error::Closed))
        );
    }

    #[test]
    fn a_gating_question_holds_input_until_its_answer() {
        let now = Instant::now();
        let mut c = Connection::new_asker();
        c.handle_input(HEADER, now).unwrap();
        c.handle_input(b"<ask what='x' gate='1'/><message/>", now)
            .unwrap();
        // Split input keeps its order behind the question too.
        c.handle_input(b"<presence/><iq", now).unwrap();
        let events = c.events();
        assert_eq!(events.len(), 1, "{events:?}");
        let token = tokens(&events)[0];
        c.handle_input(b"/>", now).unwrap();
        assert!(c.events().is_empty());
        c.answer(token, "ok", now).unwrap();
        let names: Vec<String> = c
            .events()
            .iter()
            .filter_map(|e| match e {
                Event::Stanza(s) => Some(s.name().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["message", "presence", "iq"]);
        assert_eq!(c.stanza_counts(), (3, 0));
    }

    /// Stream management attached to a stream: it counts what goes in
    /// and out, and what was never acknowledged comes back at the end.
    fn managed(resumable: bool) -> Managed {
        let session = crate::sm::Session::new(
            "id".to_owned(),
            "a@b/c".parse().unwrap(),
            crate::sm::Ledger::new(10),
            None,
            None,
        );
        let config = crate::sm::Config {
            request_after: 100,
            ..crate::sm::Config::default()
        };
        Managed::new(session, resumable, config)
    }

    #[test]
    fn stream_management_sees_every_stanza_and_hands_back_the_unacknowledged_at_the_end() {
        let now = Instant::now();
        let mut c = Connection::new_asker();
        c.handle_input(HEADER, now).unwrap();
        c.core.manage(managed(false));
        c.handle_input(b"<message/><presence/><r xmlns='urn:xmpp:sm:3'/>", now)
            .unwrap();
        let mut out = Vec::new();
        c.poll_transmit(&mut out);
        assert!(String::from_utf8_lossy(&out).ends_with("<a xmlns='urn:xmpp:sm:3' h='2'/>"));
        let a = Element::new("message", ns::CLIENT).with_attr("id", "a");
        let b = Element::new("message", ns::CLIENT).with_attr("id", "b");
        c.send(a.clone()).unwrap();
        c.send(b.clone()).unwrap();
        // A refused stanza is handed back at once, not kept.
        let bad = Element::new("bad name", ns::CLIENT);
        let refused = c.send(bad.clone()).unwrap_err();
        assert_eq!(refused.stanza, bad);
        assert_eq!(c.sm_pending(), Some(2));
        // Not resumable: a lost connection hands the stanzas back.
        c.handle_eof(now).unwrap_err();
        let events = c.events();
        let n = events.len();
        assert_eq!(events[n - 2], Event::Unsent(vec![a, b]));
        assert_eq!(events[n - 1], Event::Closed(Some(Error::ConnectionLost)));
    }

    #[test]
    fn a_resumable_session_is_suspended_when_the_connection_breaks_and_ends_when_closed() {
        let now = Instant::now();
        let a = Element::new("message", ns::CLIENT).with_attr("id", "a");
        for clean in [false, true] {
            let mut c = Connection::new_asker();
            c.handle_input(HEADER, now).unwrap();
            c.core.manage(managed(true));
            c.send(a.clone()).unwrap();
            if clean {
                c.handle_input(b"</stream:stream>", now).unwrap();
            } else {
                c.handle_eof(now).unwrap_err();
            }
            let events = c.events();
            let n = events.len();
            match &events[n - 2] {
                Event::Suspended(s) if !clean => {
                    assert!(s.ledger().unacknowledged().eq([&a]));
                }
                Event::Unsent(u) if clean => assert_eq!(u, std::slice::from_ref(&a)),
                other => panic!("{clean}: {other:?}"),
            }
        }
    }

    #[test]
    fn one_call_queues_a_bounded_number_of_events() {
        let now = Instant::now();
        let mut c = Connection::new_asker();
        c.handle_input(HEADER, now).unwrap();
        let burst = "<message/>".repeat(1000);
        c.handle_input(burst.as_bytes(), now).unwrap();
        assert!(c.core.events.len() <= EVENT_BUDGET);
        // Draining reads on: every stanza arrives, in order, once.
        let mut n = 0;
        while let Some(ev) = c.poll_event() {
            assert!(c.core.events.len() <= EVENT_BUDGET);
            if matches!(ev, Event::Stanza(_)) {
                n += 1;
            }
        }
        assert_eq!(n, 1000);
        assert!(c.core.held.is_empty());
    }
}
