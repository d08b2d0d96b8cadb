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
use xmpp_sansio::stream::{
    Condition, Connection, Error, Event, Machine, Request, SendError, StreamError,
};
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
    config: ClientConfig,
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
            Event::Closed(_) if self.live == Some(i) => self.live = None,
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
            self.config.clone(),
            Some(tls_info()),
            Box::new(SeededRandom::new(seed)),
            now,
        );
        stream.set_scram_cache(scram_cache());
        if let Some(s) = self.suspended.take() {
            stream
                .resume_session(s)
                .expect("a new stream takes a session");
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
        World::setup(cuts, notices_cuts, client_config(), server_config(), None)
    }

    /// A world whose hosts start from `sessions` (the client's, the
    /// server's), as if a connection had broken before.
    fn setup(
        cuts: &[usize],
        notices_cuts: bool,
        client: ClientConfig,
        server: Arc<ServerConfig>,
        sessions: Option<(Session, Session)>,
    ) -> World {
        let now = Instant::now();
        let (client_session, server_session) = sessions.unzip();
        let mut w = World {
            client: ClientHost {
                stream: ClientStream::new(
                    client.clone(),
                    None,
                    Box::new(SeededRandom::new(0)),
                    now,
                ),
                config: client,
                to_send: (0..MESSAGES).map(|i| format!("c{i}")).collect(),
                received: Vec::new(),
                suspended: client_session,
                online: false,
                resumptions: 0,
                unsent_seen: 0,
            },
            server: ServerHost {
                config: server,
                streams: Vec::new(),
                live: None,
                fresh: None,
                detached: server_session,
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
        self.client.connect(self.now, self.connections as u64);
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

    /// Lets the delayed acknowledgement requests go out and be answered.
    fn answer_requests(&mut self) {
        self.now += Duration::from_secs(5);
        let _ = self.client.stream.handle_timeout(self.now);
        for s in &mut self.server.streams {
            let _ = s.handle_timeout(self.now);
        }
        self.run();
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
    w.answer_requests();
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
    let (total, enabled) = uncut_length();
    // First cut mid-conversation, after the session is enabled, then
    // every point of the second connection.
    let first = (enabled + total) / 2;
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

/// Everything a stream wrote from now on, as text.
fn drain<R: Machine>(c: &mut Connection<R>) -> String {
    let mut out = Vec::new();
    while c.poll_transmit(&mut out).is_some() {}
    String::from_utf8(out).unwrap()
}

fn events<R: Machine>(c: &mut Connection<R>) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// A world run to the end of its conversation on one connection, every
/// stanza acknowledged.
fn settled() -> World {
    let mut w = World::new(&[], true);
    w.run();
    w.check_exactly_once("uncut");
    w.answer_requests();
    w
}

#[test]
fn an_h_higher_than_what_was_sent_ends_the_stream_on_either_side() {
    // XEP-0198 §6: undefined-condition with handled-count-too-high.
    let mut w = settled();
    let err = w
        .client
        .stream
        .handle_input(b"<a xmlns='urn:xmpp:sm:3' h='99'/>", w.now)
        .unwrap_err();
    let Error::Local(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.condition, Condition::UndefinedCondition);
    let app = e.application.as_deref().expect("an application condition");
    assert!(app.is("handled-count-too-high", sm::NS));
    assert_eq!(app.attr("h"), Some("99"));
    assert_eq!(app.attr("send-count"), Some(MESSAGES.to_string().as_str()));
    let out = drain(&mut w.client.stream);
    assert!(
        out.contains("<handled-count-too-high xmlns='urn:xmpp:sm:3' h='99' send-count='4'/>"),
        "{out}"
    );
    // A stream error ends the session: nothing to resume, and what was
    // acknowledged is not handed back.
    let evs = events(&mut w.client.stream);
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Event::Suspended(_) | Event::Unsent(_))),
        "{evs:?}"
    );

    let server = w.server.streams.last_mut().unwrap();
    let err = server
        .handle_input(b"<a xmlns='urn:xmpp:sm:3' h='1000'/>", w.now)
        .unwrap_err();
    assert!(
        matches!(err, Error::Local(ref e) if e.condition == Condition::UndefinedCondition),
        "{err:?}"
    );
    // An <a/> without a number is malformed.
    let mut w = settled();
    let err = w
        .client
        .stream
        .handle_input(b"<a xmlns='urn:xmpp:sm:3' h='many'/>", w.now)
        .unwrap_err();
    assert!(
        matches!(err, Error::Local(ref e) if e.condition == Condition::BadFormat),
        "{err:?}"
    );
}

#[test]
fn a_stale_ack_changes_nothing_and_an_r_is_answered_with_the_count() {
    let mut w = settled();
    // The client has received three pushes and four echoes.
    w.client
        .stream
        .handle_input(
            b"<a xmlns='urn:xmpp:sm:3' h='1'/><r xmlns='urn:xmpp:sm:3'/>",
            w.now,
        )
        .unwrap();
    assert_eq!(
        drain(&mut w.client.stream),
        "<a xmlns='urn:xmpp:sm:3' h='7'/>"
    );
    assert!(!w.client.stream.is_closed());
}

/// Sessions as a host would have stored them: counters one step before
/// wrapping, read back through the `serde` feature.
fn sessions_about_to_wrap() -> (Session, Session) {
    let (max, near) = (u32::MAX, u32::MAX - 1);
    let client = format!(
        r#"{{"id":"wrap","jid":"{}","ledger":{{"handled":{near},"acked":{max},"queue":[],"max_queue":100}},"max":300,"location":null}}"#,
        full_jid()
    );
    // The server sent one stanza the client never acknowledged: it
    // comes again on resumption.
    let lost = "<message xmlns='jabber:client' to='juliet@example.com/balcony'><body>p-lost</body></message>";
    let server = format!(
        r#"{{"id":"wrap","jid":"{}","ledger":{{"handled":{max},"acked":{near},"queue":["{}"],"max_queue":100}},"max":300,"location":null}}"#,
        full_jid(),
        lost.replace('"', "\\\"")
    );
    (
        serde_json::from_str(&client).unwrap(),
        serde_json::from_str(&server).unwrap(),
    )
}

#[test]
fn counters_wrap_from_2_32_minus_1_to_0() {
    let mut w = World::setup(
        &[],
        true,
        client_config(),
        server_config(),
        Some(sessions_about_to_wrap()),
    );
    w.run();
    assert_eq!(w.client.resumptions, 1);
    // The stanza the server had not seen acknowledged arrives, once.
    let lost = w.client.received.iter().filter(|b| *b == "p-lost").count();
    assert_eq!(lost, 1);
    w.client.received.retain(|b| b != "p-lost");
    w.check_exactly_once("across the wrap");
    // Let the last requests be answered, then break the connection: the
    // counters have wrapped past zero, and nothing waits.
    w.answer_requests();
    let _ = w.client.stream.handle_eof(w.now);
    let session = events(&mut w.client.stream)
        .into_iter()
        .find_map(|e| match e {
            Event::Suspended(s) => Some(s),
            _ => None,
        })
        .expect("a resumable session");
    // 1 + 3 pushes + 4 echoes received, 4 messages sent.
    assert_eq!(session.ledger().handled(), (u32::MAX - 1).wrapping_add(8));
    assert_eq!(session.ledger().handled(), 6);
    assert_eq!(session.ledger().acked(), u32::MAX.wrapping_add(4));
    assert_eq!(session.ledger().pending(), 0);
    // Stored and read back, the session is the same.
    let json = serde_json::to_string(&*session).unwrap();
    assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), *session);
}

#[test]
fn a_full_queue_refuses_with_the_stanza_and_asks_for_an_ack() {
    let mut config = client_config();
    let sm = config.stream_management.as_mut().unwrap();
    sm.max_queue = 3;
    sm.request_after = 100;
    let mut w = World::setup(&[], true, config, server_config(), None);
    w.run();
    w.check_exactly_once("uncut");
    w.answer_requests();
    assert_eq!(w.client.stream.sm_pending(), Some(0));
    // Nothing reaches the server for now.
    for i in 0..3 {
        w.client
            .stream
            .send(message("echo@example.com", &format!("q{i}")))
            .unwrap();
    }
    assert_eq!(w.client.stream.sm_pending(), Some(3));
    let fourth = message("echo@example.com", "q3");
    let refused = w.client.stream.send(fourth.clone()).unwrap_err();
    assert_eq!(refused.error, SendError::Backlog { queued: 3 });
    assert_eq!(refused.stanza, fourth);
    // The request is due at once; it goes out with the time of the call
    // that runs it.
    assert_eq!(w.client.stream.poll_timeout(), Some(w.now));
    w.client.stream.handle_timeout(w.now).unwrap();
    let out = drain(&mut w.client.stream);
    assert!(out.ends_with("<r xmlns='urn:xmpp:sm:3'/>"), "{out}");
    assert_eq!(out.matches("<message").count(), 3, "{out}");
    // Once the server acknowledges, there is room again.
    let server = w.server.streams.last_mut().unwrap();
    server.handle_input(out.as_bytes(), w.now).unwrap();
    let back = drain(server);
    assert!(back.contains("<a xmlns='urn:xmpp:sm:3' h='7'/>"), "{back}");
    w.client
        .stream
        .handle_input(back.as_bytes(), w.now)
        .unwrap();
    assert_eq!(w.client.stream.sm_pending(), Some(0));
    w.client.stream.send(fourth).unwrap();
}

#[test]
fn an_unanswered_request_ends_the_stream_resumable() {
    let mut w = settled();
    w.client
        .stream
        .send(message("echo@example.com", "into the void"))
        .unwrap();
    // The request goes out within the delay; its answer never comes.
    w.now += Duration::from_secs(1);
    w.client.stream.handle_timeout(w.now).unwrap();
    assert!(drain(&mut w.client.stream).ends_with("<r xmlns='urn:xmpp:sm:3'/>"));
    let deadline = w.client.stream.poll_timeout().unwrap();
    assert_eq!(deadline, w.now + Duration::from_secs(60));
    let err = w.client.stream.handle_timeout(deadline).unwrap_err();
    assert!(
        matches!(err, Error::Local(ref e) if e.condition == Condition::ConnectionTimeout),
        "{err:?}"
    );
    let evs = events(&mut w.client.stream);
    let Some(Event::Suspended(s)) = evs.iter().find(|e| matches!(e, Event::Suspended(_))) else {
        panic!("{evs:?}")
    };
    assert_eq!(s.ledger().pending(), 1);
    assert_eq!(s.id(), w.server.streams[0].sm_id().unwrap());
    assert!(matches!(evs.last(), Some(Event::Closed(_))));
}

#[test]
fn a_clean_close_acknowledges_first_and_ends_the_session() {
    let mut w = settled();
    w.client
        .stream
        .send(message("echo@example.com", "last words"))
        .unwrap();
    w.client.stream.close(w.now);
    let out = drain(&mut w.client.stream);
    // XEP-0198 §4: the client says what it handled before closing, and
    // asks the server to do the same before its close.
    assert!(
        out.ends_with(
            "<a xmlns='urn:xmpp:sm:3' h='7'/><r xmlns='urn:xmpp:sm:3'/></stream:stream>"
        ),
        "{out}"
    );
    let server = w.server.streams.last_mut().unwrap();
    server.handle_input(out.as_bytes(), w.now).unwrap();
    let back = drain(server);
    assert!(
        back.ends_with("<a xmlns='urn:xmpp:sm:3' h='5'/></stream:stream>"),
        "{back}"
    );
    // Both sessions end: everything was acknowledged, so nothing is
    // handed back and nothing is kept to resume.
    let evs = events(server);
    assert!(evs.iter().any(|e| matches!(e, Event::Stanza(_))));
    let quiet = |evs: &[Event]| {
        !evs.iter()
            .any(|e| matches!(e, Event::Suspended(_) | Event::Unsent(_)))
    };
    assert!(quiet(&evs), "{evs:?}");
    w.client.stream.handle_input(back.as_bytes(), w.now).unwrap();
    let evs = events(&mut w.client.stream);
    assert!(quiet(&evs), "{evs:?}");
    assert_eq!(evs.last(), Some(&Event::Closed(None)));
}

const HEADER: &[u8] = b"<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

/// A server stream whose client logged in with PLAIN over (simulated)
/// direct TLS and has not bound yet.
fn authenticated_server(config: Arc<ServerConfig>) -> (ServerStream, Instant) {
    use base64::Engine;
    let now = Instant::now();
    let mut s = ServerStream::new(
        config,
        Some(tls_info()),
        Box::new(SeededRandom::new(7)),
        now,
    );
    s.handle_input(HEADER, now).unwrap();
    let plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{}", common::PASSWORD));
    let auth =
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>");
    s.handle_input(auth.as_bytes(), now).unwrap();
    let token = events(&mut s)
        .into_iter()
        .find_map(|e| match e {
            Event::Request { token, .. } => Some(token),
            _ => None,
        })
        .unwrap();
    let record = record(ScramHash::Sha256);
    s.provide_credentials(token, Some(Credentials::Scram(record)), now)
        .unwrap();
    s.handle_input(HEADER, now).unwrap();
    let out = drain(&mut s);
    assert!(out.contains("<sm xmlns='urn:xmpp:sm:3'/>"), "{out}");
    events(&mut s);
    (s, now)
}

fn bind_request(s: &mut ServerStream, now: Instant) {
    s.handle_input(
        b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
        now,
    )
    .unwrap();
    let token = events(s)
        .into_iter()
        .find_map(|e| match e {
            Event::Request {
                token,
                request: Request::Bind { .. },
            } => Some(token),
            _ => None,
        })
        .unwrap();
    s.bind(token, BindDecision::Accept("balcony".into()), now)
        .unwrap();
}

const ENABLE: &[u8] = b"<enable xmlns='urn:xmpp:sm:3' resume='true'/>";

#[test]
fn the_server_enforces_the_order_and_one_enable() {
    let (mut s, now) = authenticated_server(server_config());
    // XEP-0198 §3: not before binding.
    s.handle_input(ENABLE, now).unwrap();
    assert_eq!(
        drain(&mut s),
        "<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
    );
    bind_request(&mut s, now);
    drain(&mut s);
    s.handle_input(ENABLE, now).unwrap();
    let out = drain(&mut s);
    assert!(
        out.starts_with("<enabled xmlns='urn:xmpp:sm:3' id='"),
        "{out}"
    );
    assert!(out.ends_with(" resume='true' max='300'/>"), "{out}");
    assert!(s.sm_id().is_some_and(|id| out.contains(id)));
    // Resumption takes binding's place, so not now.
    s.handle_input(b"<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>", now)
        .unwrap();
    assert!(drain(&mut s).contains("<unexpected-request"));
    // A second <enable/> is a stream error.
    let err = s.handle_input(ENABLE, now).unwrap_err();
    assert!(
        matches!(err, Error::Local(ref e) if e.condition == Condition::PolicyViolation),
        "{err:?}"
    );
}

#[test]
fn a_server_without_resumption_enables_acks_only() {
    let mut config = common::server_config();
    let mut sm = sm_config();
    sm.resume = false;
    config.stream_management = Some(sm);
    let (mut s, now) = authenticated_server(Arc::new(config));
    s.handle_input(b"<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>", now)
        .unwrap();
    assert!(drain(&mut s).contains("<feature-not-implemented"));
    bind_request(&mut s, now);
    drain(&mut s);
    s.handle_input(ENABLE, now).unwrap();
    assert_eq!(drain(&mut s), "<enabled xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(s.sm_id(), None);
    assert_eq!(s.sm_pending(), Some(0));
    // Broken, the stream hands back what was not acknowledged.
    s.send(message(&full_jid(), "unacked")).unwrap();
    s.handle_eof(now).unwrap_err();
    let evs = events(&mut s);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Unsent(v) if v.len() == 1)),
        "{evs:?}"
    );
}

#[test]
fn resuming_an_unknown_or_foreign_session_fails_and_binding_follows() {
    // A session of another user, as a confused host might hand in.
    let (_, server_session) = sessions_about_to_wrap();
    let foreign: Session = serde_json::from_str(
        &serde_json::to_string(&server_session)
            .unwrap()
            .replace("juliet@", "romeo@"),
    )
    .unwrap();
    for session in [None, Some(foreign)] {
        let (mut s, now) = authenticated_server(server_config());
        s.handle_input(b"<resume xmlns='urn:xmpp:sm:3' previd='wrap' h='0'/>", now)
            .unwrap();
        let token = events(&mut s)
            .into_iter()
            .find_map(|e| match e {
                Event::Request {
                    token,
                    request: Request::Resume { jid, previd },
                } => {
                    assert_eq!(jid.as_str(), "juliet@example.com");
                    assert_eq!(previd, "wrap");
                    Some(token)
                }
                _ => None,
            })
            .unwrap();
        let foreign = session.is_some();
        s.resume(token, session, now).unwrap();
        assert_eq!(
            drain(&mut s),
            "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
        );
        // The foreign session's stanza is not lost: it comes back.
        let evs = events(&mut s);
        assert_eq!(
            evs.iter()
                .any(|e| matches!(e, Event::Unsent(v) if v.len() == 1)),
            foreign,
            "{evs:?}"
        );
        // RFC 6120 binding goes on as if nothing happened.
        bind_request(&mut s, now);
        assert!(drain(&mut s).contains("<jid>juliet@example.com/balcony</jid>"));
        assert!(
            events(&mut s)
                .iter()
                .any(|e| matches!(e, Event::Online { .. }))
        );
    }
}
