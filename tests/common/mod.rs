//! A deterministic in-memory pair: a client machine wired to a server
//! machine, virtual time, seeded randomness, TLS simulated by handing both
//! sides the same channel-binding data.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xmpp_sansio::c2s::{BindDecision, ClientConfig, ClientStream, ServerConfig, ServerStream};
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::{Credentials, DecoyKey, ScramCredentials, ScramHash, TlsInfo};
use xmpp_sansio::stream::{
    AnswerError, Connection, Error, Event, Frame, Framing, Machine, Request, Transmit,
};

// The same account, records and simulated TLS as the fuzz harnesses, so
// that recorded sessions and these tests agree.
pub use xmpp_sansio::c2s::fuzzing::{
    CLIENT_SEED, DOMAIN, PASSWORD, SERVER_SEED, USER, record, tls_info,
};

pub fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(format!("{USER}@{DOMAIN}").parse().unwrap(), PASSWORD);
    c.resource = Some("balcony".into());
    c
}

pub fn server_config() -> ServerConfig {
    ServerConfig::new(DOMAIN, DecoyKey::new([0x42; DecoyKey::LEN]))
}

/// The server host's user database: stored SCRAM records only.
pub fn users() -> HashMap<String, Vec<ScramCredentials>> {
    let records = [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512].map(record);
    HashMap::from([(USER.to_owned(), records.to_vec())])
}

/// The error an answer ran into; the pair only answers what it is asked.
pub fn ended(e: AnswerError) -> xmpp_sansio::stream::Error {
    match e {
        AnswerError::Ended(e) => e,
        e => panic!("{e}"),
    }
}

/// One direction of an in-memory connection: carries what one machine
/// sends to another, the way its framing travels (bytes in chunks, one
/// WebSocket message per call, or frames), and keeps a log.
#[derive(Debug)]
pub struct Link {
    /// Deliver bytes in chunks of this size (1 = byte by byte).
    pub chunk: usize,
    /// Everything carried, as written (bytes and messages).
    pub log: Vec<u8>,
    /// Each WebSocket message carried.
    pub messages: Vec<Vec<u8>>,
    /// Each element-framing frame carried.
    pub frames: Vec<Transmit>,
}

impl Default for Link {
    fn default() -> Link {
        Link {
            chunk: usize::MAX,
            log: Vec::new(),
            messages: Vec::new(),
            frames: Vec::new(),
        }
    }
}

impl Link {
    /// Moves all `from` has to send into `to`; whether anything moved,
    /// and the error `to` ran into, if any.
    pub fn carry<A: Machine, B: Machine>(
        &mut self,
        from: &mut Connection<A>,
        to: &mut Connection<B>,
        now: Instant,
    ) -> (bool, Option<Error>) {
        let mut moved = false;
        let mut error = None;
        let mut buf = Vec::new();
        while let Some(t) = from.poll_transmit(&mut buf) {
            moved = true;
            let r = match &t {
                Transmit::Bytes(_) => {
                    self.log.extend_from_slice(&buf);
                    buf.chunks(self.chunk.max(1))
                        .map(|c| to.handle_input(c, now))
                        .find(Result::is_err)
                        .unwrap_or(Ok(()))
                }
                Transmit::Message(_) => {
                    self.log.extend_from_slice(&buf);
                    self.messages.push(buf.clone());
                    to.handle_input(&buf, now)
                }
                Transmit::Open(h) => to.handle_frame(Frame::Open(h.clone()), now),
                Transmit::Element(el) => to.handle_frame(Frame::Element(el.clone()), now),
                Transmit::Close => to.handle_frame(Frame::Close, now),
                other => panic!("unknown transmit {other:?}"),
            };
            if !matches!(t, Transmit::Bytes(_) | Transmit::Message(_)) {
                self.frames.push(t);
            }
            if let Err(e) = r {
                error.get_or_insert(e);
            }
            buf.clear();
        }
        (moved, error)
    }
}

pub struct Pair {
    pub client: ClientStream,
    pub server: ServerStream,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    /// What the client sent, and the server, in order.
    pub up: Link,
    pub down: Link,
    /// Bytes the client wrote, and the server, in order (the links' logs).
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
    pub users: HashMap<String, Vec<ScramCredentials>>,
    pub bound: Vec<String>,
    /// Deliver bytes in chunks of this size (1 = byte by byte).
    pub chunk: usize,
    server_tls_pending: bool,
    client_tls_pending: bool,
    pub client_error: Option<xmpp_sansio::stream::Error>,
    pub server_error: Option<xmpp_sansio::stream::Error>,
}

impl Pair {
    pub fn new(client: ClientConfig, server: ServerConfig) -> Pair {
        Pair::sharing(client, Arc::new(server))
    }

    /// A pair whose server uses a configuration other sessions share.
    pub fn sharing(client: ClientConfig, server: Arc<ServerConfig>) -> Pair {
        Pair::over(Framing::Tcp, client, server, None)
    }

    /// A pair over `framing`; `tls` is what both ends know of a TLS layer
    /// below the stream (direct TLS, `wss:`).
    pub fn over(
        framing: Framing,
        client: ClientConfig,
        server: Arc<ServerConfig>,
        tls: Option<TlsInfo>,
    ) -> Pair {
        let now = Instant::now();
        Pair {
            client: ClientStream::with_framing(
                client,
                framing,
                tls.clone(),
                Box::new(SeededRandom::new(CLIENT_SEED)),
                now,
            ),
            server: ServerStream::with_framing(
                server,
                framing,
                tls,
                Box::new(SeededRandom::new(SERVER_SEED)),
                now,
            ),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            up: Link::default(),
            down: Link::default(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            users: users(),
            bound: Vec::new(),
            chunk: usize::MAX,
            server_tls_pending: false,
            client_tls_pending: false,
            client_error: None,
            server_error: None,
        }
    }

    pub fn standard() -> Pair {
        Pair::new(client_config(), server_config())
    }

    /// Moves bytes and answers requests until nothing changes.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            let mut progress = false;
            self.up.chunk = self.chunk;
            self.down.chunk = self.chunk;
            if !self.server_tls_pending {
                let (moved, e) = self.up.carry(&mut self.client, &mut self.server, self.now);
                progress |= moved;
                if let Some(e) = e {
                    self.server_error.get_or_insert(e);
                }
            }
            let (moved, e) = self
                .down
                .carry(&mut self.server, &mut self.client, self.now);
            progress |= moved;
            if let Some(e) = e {
                self.client_error.get_or_insert(e);
            }
            self.to_server.clone_from(&self.up.log);
            self.to_client.clone_from(&self.down.log);
            while let Some(ev) = self.server.poll_event() {
                progress = true;
                match &ev {
                    Event::StartTls => self.server_tls_pending = true,
                    Event::Request {
                        token,
                        request: Request::Credentials(req),
                    } => {
                        // PLAIN is verified against any stored record.
                        let hash = req.scram_hash().or(Some(ScramHash::Sha256));
                        let record = req
                            .authcid()
                            .and_then(|u| self.users.get(u))
                            .and_then(|rs| rs.iter().find(|r| Some(r.hash()) == hash).cloned());
                        let creds = record.map(Credentials::Scram);
                        if let Err(e) = self.server.provide_credentials(*token, creds, self.now) {
                            self.server_error.get_or_insert(ended(e));
                        }
                    }
                    Event::Request {
                        token,
                        request: Request::Bind { requested, .. },
                    } => {
                        let resource = requested.clone().unwrap_or_else(|| "generated".to_owned());
                        let decision = if self.bound.contains(&resource) {
                            BindDecision::Conflict
                        } else {
                            self.bound.push(resource.clone());
                            BindDecision::Accept(resource)
                        };
                        if let Err(e) = self.server.bind(*token, decision, self.now) {
                            self.server_error.get_or_insert(ended(e));
                        }
                    }
                    Event::Request {
                        token,
                        request: Request::Resume { previd, .. },
                    } => {
                        // The one session the harnesses know.
                        let session = xmpp_sansio::c2s::fuzzing::server_session(previd);
                        if let Err(e) = self
                            .server
                            .resume(*token, session, self.now)
                            .map_err(|r| r.error)
                        {
                            self.server_error.get_or_insert(ended(e));
                        }
                    }
                    _ => {}
                }
                self.server_events.push(ev);
            }
            while let Some(ev) = self.client.poll_event() {
                progress = true;
                if ev == Event::StartTls {
                    self.client_tls_pending = true;
                }
                self.client_events.push(ev);
            }
            if self.client_tls_pending && self.server_tls_pending {
                // Both sides reached the handshake: "run" it.
                self.server_tls_pending = false;
                self.client_tls_pending = false;
                if let Err(e) = self.server.tls_established(tls_info(), self.now) {
                    self.server_error.get_or_insert(e);
                }
                if let Err(e) = self.client.tls_established(tls_info(), self.now) {
                    self.client_error.get_or_insert(e);
                }
                progress = true;
            }
            if !progress {
                return;
            }
        }
        panic!("the pair did not settle");
    }

    /// Advances virtual time and fires due timers on both sides.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        if let Err(e) = self.client.handle_timeout(self.now) {
            self.client_error.get_or_insert(e);
        }
        if let Err(e) = self.server.handle_timeout(self.now) {
            self.server_error.get_or_insert(e);
        }
        self.run();
    }

    /// The client's full JID once online, bound or resumed.
    pub fn client_online(&self) -> Option<String> {
        self.client_events.iter().find_map(|e| match e {
            Event::Online { jid } | Event::Resumed { jid } => Some(jid.to_string()),
            _ => None,
        })
    }

    pub fn server_online(&self) -> Option<String> {
        self.server_events.iter().find_map(|e| match e {
            Event::Online { jid } => Some(jid.to_string()),
            _ => None,
        })
    }
}
