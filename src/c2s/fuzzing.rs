//! Fuzz entry points for the c2s machines, shared by `fuzz/` and the
//! corpus replay test. Each drives one machine with peer bytes from the
//! fuzzer and a host that answers every request, and checks what a host
//! relies on: no panic, errors are sticky, and nothing is written after
//! the stream's closing tag.

use std::time::{Duration, Instant};

use super::{
    BindDecision, ClientConfig, ClientStream, ServerConfig, ServerStream, TlsPolicy, TlsRequirement,
};
use crate::random::SeededRandom;
use crate::sasl::{
    ChannelBinding, ChannelBindingType, Credentials, DecoyKey, ScramCredentials, ScramHash, TlsInfo,
};
use crate::sm;
use crate::stream::connection::Role;
use crate::stream::{AnswerError, Connection, Error, Event, Framing, Request};
use crate::xml::Element;

/// The account both machines use.
pub const USER: &str = "juliet";
/// Its password.
pub const PASSWORD: &str = "r0m30myr0m30";
/// The served domain.
pub const DOMAIN: &str = "example.com";
/// Seeds of the machines' random sources.
pub const CLIENT_SEED: u64 = 1;
/// See [`CLIENT_SEED`].
pub const SERVER_SEED: u64 = 2;

/// What both sides learn from the simulated TLS handshake.
pub fn tls_info() -> TlsInfo {
    TlsInfo::tls()
        .with_binding(ChannelBinding::new(
            ChannelBindingType::TlsExporter,
            vec![7u8; 32],
        ))
        .with_binding(ChannelBinding::new(
            ChannelBindingType::TlsServerEndPoint,
            vec![9u8; 32],
        ))
}

/// The server's stored record for [`USER`] with `hash` (derived once).
pub fn record(hash: ScramHash) -> ScramCredentials {
    static RECORDS: std::sync::OnceLock<[ScramCredentials; 3]> = std::sync::OnceLock::new();
    let all = RECORDS.get_or_init(|| {
        [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512].map(|h| {
            ScramCredentials::derive(h, PASSWORD, b"per-user-salt-16", 4096)
                .expect("valid parameters")
        })
    });
    all.iter()
        .find(|r| r.hash() == hash)
        .expect("every hash has a record")
        .clone()
}

/// Stream management as the harnesses use it: resumable, and an ack
/// requested after every stanza.
fn sm_config() -> sm::Config {
    sm::Config {
        request_after: 1,
        ..sm::Config::default()
    }
}

/// The client configuration of the fuzz and replay harnesses.
pub fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(
        format!("{USER}@{DOMAIN}").parse().expect("valid JID"),
        PASSWORD,
    );
    c.resource = Some("balcony".into());
    c.tls = TlsPolicy::Required;
    c.stream_management = Some(sm_config());
    c
}

/// The server configuration of the fuzz and replay harnesses.
pub fn server_config() -> ServerConfig {
    // A fixed decoy key, so that every run sees the same decoy salts.
    let mut c = ServerConfig::new(DOMAIN, DecoyKey::new([0x42; DecoyKey::LEN]));
    c.tls = TlsRequirement::Optional;
    c.stream_management = Some(sm_config());
    c
}

/// The SM-ID of the session the harnesses resume.
pub const SM_ID: &str = "fuzz-session";

fn harness_message(to: &str, body: &str) -> Element {
    Element::new("message", crate::ns::CLIENT)
        .with_attr("to", to)
        .with_child(Element::new("body", crate::ns::CLIENT).with_text(body))
}

fn full_jid() -> jid::FullJid {
    format!("{USER}@{DOMAIN}/balcony")
        .parse()
        .expect("valid JID")
}

/// The session the client harness resumes: it handled one stanza of the
/// server's and sent one the server has not acknowledged.
pub fn client_session() -> sm::Session {
    let mut ledger = sm::Ledger::new(100);
    ledger.received();
    ledger
        .sent(harness_message(DOMAIN, "sent before the break"))
        .expect("room");
    sm::Session::new(SM_ID.into(), full_jid(), ledger, Some(300), None)
}

/// The server harness's side of that session (for `previd` [`SM_ID`]):
/// two stanzas sent, of which the client handled the first.
pub fn server_session(previd: &str) -> Option<sm::Session> {
    if previd != SM_ID {
        return None;
    }
    let mut ledger = sm::Ledger::new(100);
    let to = full_jid();
    for body in ["handled before the break", "lost in the break"] {
        ledger
            .sent(harness_message(to.as_str(), body))
            .expect("room");
    }
    Some(sm::Session::new(SM_ID.into(), to, ledger, Some(300), None))
}

/// How far a machine got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// It reached the online state.
    pub online: bool,
    /// It ended, cleanly or not.
    pub closed: bool,
    /// Stanzas it delivered to the host.
    pub stanzas: usize,
}

/// Splits `data` into reads: the first byte picks a read size, so the
/// fuzzer explores chunkings too. A read never runs past the end of
/// `boundary` (STARTTLS's last element before the handshake): on a real
/// socket what follows it arrives through TLS, in later reads.
fn reads<'a>(data: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let (size, mut input) = match data.split_first() {
        Some((&b, rest)) => (usize::from(b % 64) + 1, rest),
        None => (1, data),
    };
    let mut out = Vec::new();
    while !input.is_empty() {
        let segment_end =
            memchr::memmem::find(input, boundary).map_or(input.len(), |i| i + boundary.len());
        let (segment, rest) = input.split_at(segment_end);
        out.extend(segment.chunks(size));
        input = rest;
    }
    out
}

const STARTTLS: &[u8] = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
const PROCEED: &[u8] = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/// The RFC 7395 close message.
const WS_CLOSE: &[u8] = b"<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>";

fn check_output(out: &[u8], closed_before: &mut bool) {
    assert!(
        !*closed_before || out.is_empty(),
        "bytes written after the closing tag"
    );
    if out.ends_with(crate::stream::header::STREAM_CLOSE) || out == WS_CLOSE {
        *closed_before = true;
    }
}

/// The WebSocket messages in `data`, separated by NUL (which XML never
/// contains).
fn messages(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == 0).collect()
}

/// The client configuration of the WebSocket harnesses: TLS is the
/// WebSocket's (`wss:`).
pub fn websocket_client_config() -> ClientConfig {
    let mut c = client_config();
    c.tls = TlsPolicy::Direct;
    c
}

/// The framing of the WebSocket harnesses.
pub const WSS: Framing = Framing::WebSocket { secure: true };

/// Feeds the NUL-separated messages in `data` to a [`ServerStream`] over
/// WebSocket (RFC 7395), one message per call.
pub fn websocket_server(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut s = ServerStream::with_framing(
        std::sync::Arc::new(server_config()),
        WSS,
        Some(tls_info()),
        Box::new(SeededRandom::new(SERVER_SEED)),
        now,
    );
    drive(&mut s, messages(data), now, |s, ev| serve(s, ev, now))
}

/// Feeds the NUL-separated messages in `data` to a [`ClientStream`] over
/// WebSocket, one message per call.
pub fn websocket_client(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut c = ClientStream::with_framing(
        websocket_client_config(),
        WSS,
        Some(tls_info()),
        Box::new(SeededRandom::new(CLIENT_SEED)),
        now,
    );
    c.resume_session(client_session())
        .expect("a new stream takes a session");
    drive(&mut c, messages(data), now, |_, _| Ok(()))
}

/// Feeds the reads to `conn`, lets `host` answer each event, and checks
/// the invariants after every call.
fn drive<R: Role>(
    conn: &mut Connection<R>,
    reads: Vec<&[u8]>,
    now: Instant,
    mut host: impl FnMut(&mut Connection<R>, Event) -> Result<(), Error>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut closed = false;
    let mut error: Option<Error> = None;
    for chunk in reads {
        let r = conn.handle_input(chunk, now);
        if let (Err(e), Some(prev)) = (&r, &error) {
            assert_eq!(e, prev, "error not sticky");
        }
        if let Err(e) = r {
            error.get_or_insert(e);
        }
        loop {
            let mut out = Vec::new();
            while conn.poll_transmit(&mut out).is_some() {
                check_output(&out, &mut closed);
                out.clear();
            }
            let Some(ev) = conn.poll_event() else { break };
            let r = match ev {
                Event::Online { .. } | Event::Resumed { .. } => {
                    outcome.online = true;
                    Ok(())
                }
                Event::Stanza(_) => {
                    outcome.stanzas += 1;
                    Ok(())
                }
                Event::Closed(_) => {
                    outcome.closed = true;
                    Ok(())
                }
                ev => host(conn, ev),
            };
            if let Err(e) = r {
                error.get_or_insert(e);
            }
        }
    }
    let _ = conn.handle_timeout(now + Duration::from_secs(3600));
    let _ = conn.handle_eof(now);
    outcome.closed |= conn.is_closed();
    outcome
}

/// The harness answers only the questions it is asked, by their tokens.
fn answered(r: Result<(), AnswerError>) -> Result<(), Error> {
    match r {
        Ok(()) => Ok(()),
        Err(AnswerError::Ended(e)) => Err(e),
        Err(e @ AnswerError::UnknownToken(_)) => panic!("{e}"),
    }
}

/// Feeds `data` (after its read-size byte) to a [`ServerStream`] as
/// client bytes.
pub fn server(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut s = ServerStream::new(
        std::sync::Arc::new(server_config()),
        None,
        Box::new(SeededRandom::new(SERVER_SEED)),
        now,
    );
    drive(&mut s, reads(data, STARTTLS), now, |s, ev| {
        serve(s, ev, now)
    })
}

/// The server host of the harnesses: TLS at once, the harness account's
/// records, any resource but "taken".
fn serve(s: &mut ServerStream, ev: Event, now: Instant) -> Result<(), Error> {
    match ev {
        Event::StartTls => s.tls_established(tls_info(), now),
        Event::Request {
            token,
            request: Request::Credentials(req),
        } => {
            let known = req.authcid() == Some(USER);
            let hash = req.scram_hash().unwrap_or(ScramHash::Sha256);
            answered(s.provide_credentials(
                token,
                known.then(|| Credentials::Scram(record(hash))),
                now,
            ))
        }
        Event::Request {
            token,
            request: Request::Bind { requested, .. },
        } => {
            let decision = match requested.as_deref() {
                Some("taken") => BindDecision::Conflict,
                Some(r) => BindDecision::Accept(r.to_owned()),
                None => BindDecision::Accept("generated".into()),
            };
            answered(s.bind(token, decision, now))
        }
        Event::Request {
            token,
            request: Request::Resume { previd, .. },
        } => answered(
            s.resume(token, server_session(&previd), now)
                .map_err(|r| r.error),
        ),
        _ => Ok(()),
    }
}

/// Feeds `data` (after its read-size byte) to a [`ClientStream`] as
/// server bytes.
pub fn client(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut c = ClientStream::new(
        client_config(),
        None,
        Box::new(SeededRandom::new(CLIENT_SEED)),
        now,
    );
    c.resume_session(client_session())
        .expect("a new stream takes a session");
    drive(&mut c, reads(data, PROCEED), now, |c, ev| match ev {
        Event::StartTls => c.tls_established(tls_info(), now),
        _ => Ok(()),
    })
}
