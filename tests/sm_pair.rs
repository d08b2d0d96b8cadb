//! Stream management (XEP-0198) through the real machines, in memory: a
//! client host and a server host that keep their sessions across
//! connections, with the connection cut at every byte of the exchange and
//! resumed, and the protocol's edge cases (counter wrap, a full queue, an
//! `h` too high, misuse).

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{DOMAIN, USER, record, tls_info, users};
use xmpp_sansio::c2s::{
    BindDecision, ClientConfig, ClientStream, ServerConfig, ServerStream, TlsPolicy,
};
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::{Credentials, SaltedPasswordCache, ScramHash};
use xmpp_sansio::sm::{self, Session};
use xmpp_sansio::stanza::{Message, MessageType};
use xmpp_sansio::stream::{Condition, Connection, Event, Machine, Request, SendError, StreamError};
use xmpp_sansio::xml::Element;

fn sm_config() -> sm::Config {
    let mut c = sm::Config::default();
    c.request_after = 2;
    c.request_delay = Duration::from_secs(1);
    c
}

fn client_config() -> ClientConfig {
    let mut c = common::client_config();
    c.tls = TlsPolicy::Direct;
    c.stream_management = Some(sm_config());
    c
}

fn server_config() -> Arc<ServerConfig> {
    let mut c = common::server_config();
    c.stream_management = Some(sm_config());
    Arc::new(c)
}

fn body(el: &Element) -> Option<String> {
    Message::try_from(el.clone())
        .ok()
        .and_then(|m| m.body().map(|b| b.into_owned()))
}

fn message(to: &str, text: &str) -> Element {
    Message::new(MessageType::Chat)
        .with_to(to)
        .with_body(text)
        .into_element()
}

/// Moves what `from` has into `to`, at most `budget` bytes when there is
/// a budget: past it the connection is cut and the rest is lost.
/// Returns whether bytes moved, and whether the cut happened.
fn carry<A: Machine, B: Machine>(
    from: &mut Connection<A>,
    to: &mut Connection<B>,
    budget: &mut Option<usize>,
    now: Instant,
) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    while from.poll_transmit(&mut buf).is_some() {}
    if buf.is_empty() {
        return (buf, false);
    }
    if std::env::var_os("SM_TRACE").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&buf));
    }
    let mut cut = false;
    if let Some(left) = budget {
        if buf.len() > *left {
            buf.truncate(*left);
            cut = true;
        }
        *left -= buf.len();
    }
    if !buf.is_empty() {
        let _ = to.handle_input(&buf, now);
    }
    (buf, cut)
}

/// A cache of the account's salted passwords, derived once per process:
/// the runs here log in thousands of times.
fn scram_cache() -> SaltedPasswordCache {
    static SALTED: OnceLock<Vec<(ScramHash, Vec<u8>)>> = OnceLock::new();
    let salted = SALTED.get_or_init(|| {
        // One real login leaves the cache.
        let mut pair = common::Pair::standard();
        pair.run();
        let cache = pair.client.take_scram_cache().expect("a SCRAM login");
        [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512]
            .into_iter()
            .filter_map(|hash| {
                let r = record(hash);
                let bytes = cache.get(hash, r.salt(), r.iterations())?;
                Some((hash, bytes.to_vec()))
            })
            .collect()
    });
    let mut cache = SaltedPasswordCache::new();
    for (hash, bytes) in salted {
        let r = record(*hash);
        cache.insert(*hash, r.salt(), r.iterations(), bytes);
    }
    cache
}

/// The client's application: sends its messages once online, records
/// what arrives, keeps a suspended session for the next connection.
struct ClientHost {
    stream: ClientStream,
    to_send: VecDeque<String>,
    received: Vec<String>,
    suspended: Option<Session>,
    online: bool,
    resumptions: usize,
    unsent_seen: usize,
}

/// The server's application: echoes each message back, pushes its own,
/// keeps sessions of broken streams, and an offline store.
struct ServerHost {
    config: Arc<ServerConfig>,
    /// Every stream, old ones included until they are done.
    streams: Vec<ServerStream>,
    /// The stream the user is online on.
    live: Option<usize>,
    /// A stream online whose client has not spoken yet.
    fresh: Option<usize>,
    detached: Option<Session>,
    offline: Vec<Element>,
    received: Vec<String>,
    pushes: VecDeque<String>,
    /// Whether the server notices a cut connection (reads EOF) or keeps
    /// the old stream open until the client resumes.
    notices_cuts: bool,
}

fn full_jid() -> String {
    format!("{USER}@{DOMAIN}/balcony")
}

impl ServerHost {
    fn route(&mut self, stanza: Element) {
        if let Some(i) = self.live {
            match self.streams[i].send(stanza) {
                Ok(()) => return,
                Err(refused) => {
                    assert!(
                        matches!(refused.error, SendError::Closed | SendError::Backlog { .. }),
                        "{refused}"
                    );
                    self.offline.push(refused.stanza);
                    return;
                }
            }
        }
        if let Some(s) = &mut self.detached {
            if let Err(full) = s.enqueue(stanza) {
                self.offline.push(*full.stanza);
            }
            return;
        }
        self.offline.push(stanza);
    }

    /// Handles the events of every stream; whether there were any.
    fn poll(&mut self, now: Instant) -> bool {
        let mut progress = false;
        for i in 0..self.streams.len() {
            while let Some(ev) = self.streams[i].poll_event() {
                progress = true;
                self.on_event(i, ev, now);
            }
        }
        progress
    }

    fn on_event(&mut self, i: usize, ev: Event, now: Instant) {
        match ev {
            Event::Request {
                token,
                request: Request::Credentials(req),
            } => {
                let record = users()[USER]
                    .iter()
                    .find(|r| Some(r.hash()) == req.scram_hash().or(Some(ScramHash::Sha256)))
                    .cloned();
                let _ =
                    self.streams[i].provide_credentials(token, record.map(Credentials::Scram), now);
            }
            Event::Request {
                token,
                request: Request::Bind { requested, .. },
            } => {
                // A new session for the resource replaces the old one
                // (RFC 6120 §7.7.2.2): its stream ends, and what it
                // could not deliver comes back as Unsent.
                if let Some(old) = self.live.take()
                    && old != i
                {
                    self.streams[old].fail(StreamError::new(Condition::Conflict));
                    while let Some(ev) = self.streams[old].poll_event() {
                        self.on_event(old, ev, now);
                    }
                }
                let resource = requested.unwrap_or_else(|| "balcony".into());
                let _ = self.streams[i].bind(token, BindDecision::Accept(resource), now);
            }
            Event::Request {
                token,
                request: Request::Resume { previd, .. },
            } => {
                let session = if self.detached.as_ref().is_some_and(|s| s.id() == previd) {
                    self.detached.take()
                } else {
                    // Still open on an older stream that did not notice
                    // the cut: take it over (that stream ends with
                    // `conflict`).
                    let old = (0..self.streams.len())
                        .find(|&j| j != i && self.streams[j].sm_id() == Some(previd.as_str()));
                    old.and_then(|j| self.streams[j].take_session())
                };
                let _ = self.streams[i].resume(token, session, now);
            }
            Event::Online { .. } => {
                // Like a server waiting for initial presence, this one
                // routes to the session once the client has spoken: by
                // then it has enabled stream management, which protects
                // only what comes after.
                self.fresh = Some(i);
                // A session the client never learnt of cannot be resumed:
                // its stanzas are delivered on the new one.
                if let Some(s) = self.detached.take() {
                    self.offline.extend(s.into_unacknowledged());
                }
            }
            Event::Resumed { .. } => self.live = Some(i),
            Event::Stanza(el) => {
                if self.fresh == Some(i) {
                    self.fresh = None;
                    self.live = Some(i);
                    for stanza in std::mem::take(&mut self.offline) {
                        self.route(stanza);
                    }
                }
                if let Some(b) = body(&el) {
                    self.received.push(b.clone());
                    self.route(message(&full_jid(), &format!("echo {b}")));
                }
            }
            Event::Suspended(s) => {
                assert!(self.detached.is_none(), "one session at a time");
                self.detached = Some(*s);
                if self.live == Some(i) {
                    self.live = None;
                }
            }
            Event::Unsent(v) => self.offline.extend(v),
            Event::Closed(_) => {
                if self.live == Some(i) {
                    self.live = None;
                }
            }
            _ => {}
        }
    }

    /// Sends one push when online.
    fn push_one(&mut self) -> bool {
        if self.live.is_none() {
            return false;
        }
        match self.pushes.pop_front() {
            Some(p) => {
                self.route(message(&full_jid(), &p));
                true
            }
            None => false,
        }
    }
}

impl ClientHost {
    fn connect(&mut self, now: Instant, seed: u64) {
        let mut stream = ClientStream::new(
            client_config(),
            Some(tls_info()),
            Box::new(SeededRandom::new(seed)),
            now,
        );
        stream.set_scram_cache(scram_cache());
        if let Some(s) = self.suspended.take() {
            stream.resume_session(s);
        }
        self.stream = stream;
        self.online = false;
    }

    fn poll(&mut self) -> bool {
        let mut progress = false;
        while let Some(ev) = self.stream.poll_event() {
            progress = true;
            match ev {
                Event::Online { .. } => self.online = true,
                Event::Resumed { .. } => {
                    self.online = true;
                    self.resumptions += 1;
                }
                Event::Stanza(el) => {
                    if let Some(b) = body(&el) {
                        self.received.push(b);
                    }
                }
                Event::Suspended(s) => self.suspended = Some(*s),
                Event::Unsent(v) => {
                    self.unsent_seen += v.len();
                    for el in v.iter().rev() {
                        self.to_send.push_front(body(el).expect("a message"));
                    }
                }
                _ => {}
            }
        }
        progress
    }

    fn send_one(&mut self) -> bool {
        if !self.online || self.stream.is_closed() {
            return false;
        }
        let Some(text) = self.to_send.pop_front() else {
            return false;
        };
        match self.stream.send(message(&format!("echo@{DOMAIN}"), &text)) {
            Ok(()) => true,
            Err(r) => {
                self.to_send.push_front(body(&r.stanza).unwrap());
                false
            }
        }
    }
}

struct World {
    client: ClientHost,
    server: ServerHost,
    now: Instant,
    /// Byte budgets of successive connections; connections past the list
    /// are not cut.
    cuts: VecDeque<usize>,
    connections: usize,
    /// Bytes carried on the current connection.
    carried: usize,
    /// Everything carried, in order.
    log: Vec<u8>,
}

const MESSAGES: usize = 4;
const PUSHES: usize = 3;

impl World {
    fn new(cuts: &[usize], notices_cuts: bool) -> World {
        let now = Instant::now();
        let mut stream = ClientStream::new(
            client_config(),
            Some(tls_info()),
            Box::new(SeededRandom::new(1)),
            now,
        );
        stream.set_scram_cache(scram_cache());
        let mut w = World {
            client: ClientHost {
                stream,
                to_send: (0..MESSAGES).map(|i| format!("c{i}")).collect(),
                received: Vec::new(),
                suspended: None,
                online: false,
                resumptions: 0,
                unsent_seen: 0,
            },
            server: ServerHost {
                config: server_config(),
                streams: Vec::new(),
                live: None,
                fresh: None,
                detached: None,
                offline: Vec::new(),
                received: Vec::new(),
                pushes: (0..PUSHES).map(|i| format!("p{i}")).collect(),
                notices_cuts,
            },
            now,
            cuts: cuts.iter().copied().collect(),
            connections: 0,
            carried: 0,
            log: Vec::new(),
        };
        w.connect();
        w
    }

    fn connect(&mut self) {
        self.connections += 1;
        self.carried = 0;
        if self.connections > 1 {
            self.client.connect(self.now, self.connections as u64);
        }
        let stream = ServerStream::new(
            self.server.config.clone(),
            Some(tls_info()),
            Box::new(SeededRandom::new(100 + self.connections as u64)),
            self.now,
        );
        self.server.streams.push(stream);
    }

    /// Runs until everything is delivered (or nothing moves any more).
    fn run(&mut self) {
        let mut quiet = 0;
        for _ in 0..10_000 {
            let mut budget = self
                .cuts
                .front()
                .copied()
                .map(|b| b.saturating_sub(self.carried));
            let server = self.server.streams.last_mut().unwrap();
            let (up, cut_up) = carry(&mut self.client.stream, server, &mut budget, self.now);
            let (down, cut_down) = if cut_up {
                (Vec::new(), false)
            } else {
                carry(server, &mut self.client.stream, &mut budget, self.now)
            };
            self.carried += up.len() + down.len();
            self.log.extend_from_slice(&up);
            self.log.extend_from_slice(&down);
            let mut progress = !up.is_empty() || !down.is_empty();
            progress |= self.server.poll(self.now);
            progress |= self.client.poll();
            progress |= self.client.send_one();
            progress |= self.server.push_one();
            if cut_up || cut_down {
                self.cut();
                progress = true;
            }
            if self.client.stream.is_closed() && !progress {
                // The client noticed on its own (an ack timeout): the
                // transport goes too.
                self.cut();
                progress = true;
            }
            if progress {
                quiet = 0;
                continue;
            }
            if self.done() {
                return;
            }
            // Let the acknowledgement timers run.
            quiet += 1;
            if quiet > 5 {
                return;
            }
            self.now += Duration::from_secs(1);
            let _ = self.client.stream.handle_timeout(self.now);
            for s in &mut self.server.streams {
                let _ = s.handle_timeout(self.now);
            }
        }
        panic!("the world did not settle");
    }

    /// The connection breaks: the client reads EOF; the server too if it
    /// notices. Then the client reconnects.
    fn cut(&mut self) {
        self.cuts.pop_front();
        let _ = self.client.stream.handle_eof(self.now);
        if self.server.notices_cuts {
            let _ = self.server.streams.last_mut().unwrap().handle_eof(self.now);
        }
        self.server.poll(self.now);
        self.client.poll();
        self.connect();
    }

    fn done(&self) -> bool {
        self.client.to_send.is_empty()
            && self.server.pushes.is_empty()
            && self.client.received.len() >= MESSAGES + PUSHES
            && self.server.received.len() >= MESSAGES
    }

    /// Every message arrived exactly once, on each side.
    fn check_exactly_once(&self, what: &str) {
        let mut got = self.server.received.clone();
        got.sort();
        let want: Vec<String> = (0..MESSAGES).map(|i| format!("c{i}")).collect();
        assert_eq!(got, want, "server, {what}");
        let mut got = self.client.received.clone();
        got.sort();
        let mut want: Vec<String> = (0..MESSAGES)
            .map(|i| format!("echo c{i}"))
            .chain((0..PUSHES).map(|i| format!("p{i}")))
            .collect();
        want.sort();
        assert_eq!(got, want, "client, {what}");
    }
}

/// The bytes of a whole uncut exchange, and where in them the client
/// has received `<enabled/>`.
fn uncut_length() -> (usize, usize) {
    let mut w = World::new(&[], true);
    w.run();
    w.check_exactly_once("uncut");
    assert_eq!(w.connections, 1);
    let log = String::from_utf8(w.log).unwrap();
    let enabled = log.find("<enabled ").unwrap();
    let enabled_end = enabled + log[enabled..].find("/>").unwrap() + 2;
    (w.carried, enabled_end)
}

#[test]
fn an_uncut_exchange_acknowledges_everything() {
    let mut w = World::new(&[], true);
    w.run();
    w.check_exactly_once("uncut");
    let client = &w.client.stream;
    let server = w.server.streams.last().unwrap();
    assert!(client.sm_id().is_some());
    assert_eq!(client.sm_id(), server.sm_id());
    // The last acknowledgement requests were answered.
    w.now += Duration::from_secs(5);
    let _ = w.client.stream.handle_timeout(w.now);
    let _ = w.server.streams[0].handle_timeout(w.now);
    w.run();
    assert_eq!(w.client.stream.sm_pending(), Some(0));
    assert_eq!(w.server.streams.last().unwrap().sm_pending(), Some(0));
}

/// Cut at every byte of the first connection, the server noticing (or
/// not) and the client resuming on the next: nothing lost, nothing twice.
#[test]
fn a_cut_at_every_byte_loses_and_duplicates_nothing() {
    let (total, enabled) = uncut_length();
    for notices in [true, false] {
        for k in 0..total {
            let mut w = World::new(&[k], notices);
            w.run();
            let what = format!("cut after {k} of {total} bytes, server notices: {notices}");
            // Before the client learnt of the session, what it held comes
            // back as Unsent and goes out on the next one; once it has,
            // the next connection resumes.
            w.check_exactly_once(&what);
            let expected = usize::from(k >= enabled);
            assert_eq!(w.client.resumptions, expected, "{what}");
        }
    }
}

/// The second connection is cut too, at every byte: during the
/// resumption itself, and after.
#[test]
fn a_cut_during_resumption_loses_and_duplicates_nothing() {
    let (total, _) = uncut_length();
    // First cut mid-conversation, then every point of the second
    // connection.
    let first = total * 3 / 4;
    let second = {
        let mut w = World::new(&[first], true);
        w.run();
        w.check_exactly_once("one cut");
        assert_eq!(w.client.resumptions, 1);
        w.carried
    };
    for notices in [true, false] {
        for k in 0..second {
            let mut w = World::new(&[first, k], notices);
            w.run();
            let what = format!("second cut after {k} of {second} bytes, notices: {notices}");
            w.check_exactly_once(&what);
            // The session is known from the first connection on: it is
            // always resumed, never handed back.
            assert_eq!(w.client.unsent_seen, 0, "{what}");
            assert!(w.client.resumptions >= 1, "{what}");
        }
    }
}
