//! A deterministic in-memory pair: a client machine wired to a server
//! machine, virtual time, seeded randomness, TLS simulated by handing both
//! sides the same channel-binding data.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xmpp_sansio::c2s::{BindDecision, ClientConfig, ClientStream, ServerConfig, ServerStream};
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::{Credentials, DecoyKey, ScramCredentials, ScramHash};
use xmpp_sansio::stream::{AnswerError, Event, Request};

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

pub struct Pair {
    pub client: ClientStream,
    pub server: ServerStream,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    /// Bytes the client wrote, and the server, in order.
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
        let now = Instant::now();
        Pair {
            client: ClientStream::new(client, None, Box::new(SeededRandom::new(CLIENT_SEED)), now),
            server: ServerStream::new(server, None, Box::new(SeededRandom::new(SERVER_SEED)), now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
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
            let mut out = Vec::new();
            self.client.poll_transmit(&mut out);
            if !out.is_empty() && !self.server_tls_pending {
                progress = true;
                self.to_server.extend_from_slice(&out);
                for c in out.chunks(self.chunk.max(1)) {
                    if let Err(e) = self.server.handle_input(c, self.now) {
                        self.server_error.get_or_insert(e);
                    }
                }
            }
            let mut out = Vec::new();
            self.server.poll_transmit(&mut out);
            if !out.is_empty() {
                progress = true;
                self.to_client.extend_from_slice(&out);
                for c in out.chunks(self.chunk.max(1)) {
                    if let Err(e) = self.client.handle_input(c, self.now) {
                        self.client_error.get_or_insert(e);
                    }
                }
            }
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

    pub fn client_online(&self) -> Option<String> {
        self.client_events.iter().find_map(|e| match e {
            Event::Online { jid } => Some(jid.clone()),
            _ => None,
        })
    }

    pub fn server_online(&self) -> Option<String> {
        self.server_events.iter().find_map(|e| match e {
            Event::Online { jid } => Some(jid.clone()),
            _ => None,
        })
    }
}
