//! Two servers federating in memory by Server Dialback (XEP-0220): each
//! one's outgoing stream to the other, the incoming streams, the hosts
//! checking keys with the Authoritative Server over the reverse
//! connection; valid, invalid, timeout, error, multiplexed and spoofed
//! cases, in any chunking.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Link;
use jid::BareJid;
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::s2s::{
    DialbackSecret, IncomingStream, OutgoingStream, ServerConfig, TlsRequirement,
};
use xmpp_sansio::sasl::TlsInfo;
use xmpp_sansio::stanza::DefinedCondition;
use xmpp_sansio::stream::{Condition, Error, Event, Request, SendError, Token, Verdict};
use xmpp_sansio::xml::Element;

fn jid(s: &str) -> BareJid {
    s.parse().unwrap()
}

fn config(domains: &[&str], secret: &str, tls: TlsRequirement) -> Arc<ServerConfig> {
    let mut c = ServerConfig::new(domains, DialbackSecret::new(secret.as_bytes()));
    c.tls = tls;
    Arc::new(c)
}

/// One server: its outgoing stream to the other and the incoming stream
/// the other opened, the events each gave, and the verifications in
/// flight (our outgoing request's token, the incoming question's token).
struct Server {
    out: OutgoingStream,
    inc: IncomingStream,
    out_events: Vec<Event>,
    in_events: Vec<Event>,
    checks: Vec<(Token, Token)>,
    /// Answer dialback questions (false: let them time out).
    answers: bool,
}

impl Server {
    fn new(
        config: &Arc<ServerConfig>,
        local: &str,
        remote: &str,
        seed: u64,
        now: Instant,
    ) -> Server {
        Server {
            out: OutgoingStream::new(
                config.clone(),
                jid(local),
                jid(remote),
                None,
                Box::new(SeededRandom::new(seed)),
                now,
            ),
            inc: IncomingStream::new(
                config.clone(),
                None,
                Box::new(SeededRandom::new(seed + 100)),
                now,
            ),
            out_events: Vec::new(),
            in_events: Vec::new(),
            checks: Vec::new(),
            answers: true,
        }
    }

    /// The host: a key on the incoming stream is checked with the
    /// Authoritative Server over our outgoing stream, and its answer
    /// passed back.
    fn host(&mut self, now: Instant) -> bool {
        let mut progress = false;
        while let Some(ev) = self.inc.poll_event() {
            progress = true;
            if let Event::Request {
                token,
                request:
                    Request::Dialback {
                        from,
                        to,
                        stream_id,
                        key,
                    },
            } = &ev
                && self.answers
            {
                match self.out.verify(from, to, stream_id, key, now) {
                    Ok(ours) => self.checks.push((ours, *token)),
                    // No way to the Authoritative Server (XEP-0220 §2.5).
                    Err(_) => {
                        let failed = Verdict::Error(DefinedCondition::RemoteServerNotFound);
                        self.inc.dialback_verdict(*token, failed, now).unwrap();
                    }
                }
            }
            self.in_events.push(ev);
        }
        while let Some(ev) = self.out.poll_event() {
            progress = true;
            if let Event::Verified { token, verdict } = &ev
                && let Some(i) = self.checks.iter().position(|(o, _)| o == token)
            {
                let (_, question) = self.checks.swap_remove(i);
                self.inc
                    .dialback_verdict(question, verdict.clone(), now)
                    .unwrap();
            }
            self.out_events.push(ev);
        }
        progress
    }

    fn pairs(events: &[Event]) -> Vec<(String, String, Verdict)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Pair { from, to, verdict } => {
                    Some((from.to_string(), to.to_string(), verdict.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// Servers A and B, each with a stream to the other; TLS (when used) is
/// simulated by handing both ends the same data.
struct Federation {
    a: Server,
    b: Server,
    now: Instant,
    links: [Link; 4],
    tls: [bool; 4],
    /// The TLS layers verified each peer's certificate for its domain.
    certificates: bool,
    errors: Vec<Error>,
}

impl Federation {
    fn new(
        a: &Arc<ServerConfig>,
        b: &Arc<ServerConfig>,
        a_domain: &str,
        b_domain: &str,
    ) -> Federation {
        let now = Instant::now();
        Federation {
            a: Server::new(a, a_domain, b_domain, 1, now),
            b: Server::new(b, b_domain, a_domain, 2, now),
            now,
            links: Default::default(),
            tls: [false; 4],
            certificates: false,
            errors: Vec::new(),
        }
    }

    fn chunked(mut self, chunk: usize) -> Federation {
        for l in &mut self.links {
            l.chunk = chunk;
        }
        self
    }

    fn run(&mut self) {
        for _ in 0..1000 {
            let now = self.now;
            let [l0, l1, l2, l3] = &mut self.links;
            let moves = [
                // A's outgoing stream to B's incoming one, and back.
                l0.carry(&mut self.a.out, &mut self.b.inc, now),
                l1.carry(&mut self.b.inc, &mut self.a.out, now),
                // B's outgoing stream to A's incoming one, and back.
                l2.carry(&mut self.b.out, &mut self.a.inc, now),
                l3.carry(&mut self.a.inc, &mut self.b.out, now),
            ];
            let mut progress = false;
            for (moved, error) in moves {
                progress |= moved;
                self.errors.extend(error);
            }
            progress |= self.a.host(now);
            progress |= self.b.host(now);
            progress |= self.handshakes();
            if !progress {
                return;
            }
        }
        panic!("the federation did not settle");
    }

    /// Runs the TLS handshake of a STARTTLS both ends of a link asked for.
    fn handshakes(&mut self) -> bool {
        let starttls = |events: &[Event]| events.iter().filter(|e| **e == Event::StartTls).count();
        let mut done = false;
        let pairs = [
            (starttls(&self.a.out_events), starttls(&self.b.in_events), 0),
            (starttls(&self.b.out_events), starttls(&self.a.in_events), 2),
        ];
        for (out_n, in_n, i) in pairs {
            if out_n == 1 && in_n == 1 && !self.tls[i] {
                self.tls[i] = true;
                done = true;
                let (out, inc, peer) = if i == 0 {
                    (&mut self.a.out, &mut self.b.inc, "a.example")
                } else {
                    (&mut self.b.out, &mut self.a.inc, "b.example")
                };
                let mut info = TlsInfo::tls();
                if self.certificates {
                    info = info.with_verified_peer(peer);
                }
                inc.tls_established(info, self.now).unwrap();
                out.tls_established(TlsInfo::tls(), self.now).unwrap();
            }
        }
        done
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        for r in [
            self.a.out.handle_timeout(self.now),
            self.a.inc.handle_timeout(self.now),
            self.b.out.handle_timeout(self.now),
            self.b.inc.handle_timeout(self.now),
        ] {
            if let Err(e) = r {
                self.errors.push(e);
            }
        }
        self.run();
    }
}

fn message(from: &str, to: &str, body: &str) -> Element {
    Element::new("message", ns::SERVER)
        .with_attr("from", from)
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::SERVER).with_text(body))
}

fn stanzas(events: &[Event]) -> Vec<&Element> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stanza(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn both_directions_verify_by_dialback_in_any_chunking() {
    for tls in [TlsRequirement::Unavailable, TlsRequirement::Required] {
        for chunk in [usize::MAX, 7, 1] {
            let a = config(&["a.example"], "secret of a", tls);
            let b = config(&["b.example"], "secret of b", tls);
            let mut f = Federation::new(&a, &b, "a.example", "b.example").chunked(chunk);
            f.run();
            assert!(f.errors.is_empty(), "{tls:?}/{chunk}: {:?}", f.errors);
            assert_eq!(
                Server::pairs(&f.a.out_events),
                [("a.example".into(), "b.example".into(), Verdict::Valid)],
                "{tls:?}/{chunk}"
            );
            assert_eq!(
                Server::pairs(&f.b.out_events),
                [("b.example".into(), "a.example".into(), Verdict::Valid)]
            );
            assert_eq!(
                f.b.inc.verified_pairs(),
                [(jid("a.example"), jid("b.example"))]
            );
            if tls == TlsRequirement::Required {
                assert!(f.tls[0] && f.tls[2]);
            }
            // A stanza from a user of A reaches B's host, and back.
            f.a.out
                .send(message("juliet@a.example/balcony", "romeo@b.example", "hi"))
                .unwrap();
            f.b.out
                .send(message("romeo@b.example/orchard", "juliet@a.example", "ho"))
                .unwrap();
            f.run();
            let got = stanzas(&f.b.in_events);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].attr("from"), Some("juliet@a.example/balcony"));
            assert_eq!(stanzas(&f.a.in_events).len(), 1);
        }
    }
}

#[test]
fn a_stanza_the_receiving_server_did_not_authorize_is_not_sent() {
    let a = config(
        &["a.example", "chat.a.example"],
        "sa",
        TlsRequirement::Unavailable,
    );
    let b = config(&["b.example"], "sb", TlsRequirement::Unavailable);
    let mut f = Federation::new(&a, &b, "a.example", "b.example");
    // Before anything is verified.
    let early = message("juliet@a.example/x", "romeo@b.example", "early");
    assert_eq!(f.a.out.send(early).unwrap_err().error, SendError::NotOnline);
    f.run();
    for (from, to) in [
        ("juliet@chat.a.example", "romeo@b.example"),
        ("juliet@a.example", "romeo@c.example"),
        ("mallory@evil.example", "romeo@b.example"),
    ] {
        let refused = f.a.out.send(message(from, to, "x")).unwrap_err();
        assert_eq!(refused.error, SendError::Unauthorized, "{from} -> {to}");
    }
    // Sender multiplexing (XEP-0220 §2.7.1): a second domain of A.
    f.a.out.authorize(jid("chat.a.example"), f.now).unwrap();
    assert_eq!(
        f.a.out.authorize(jid("evil.example"), f.now),
        Err(SendError::Unauthorized)
    );
    f.run();
    assert_eq!(
        Server::pairs(&f.a.out_events),
        [
            ("a.example".into(), "b.example".into(), Verdict::Valid),
            ("chat.a.example".into(), "b.example".into(), Verdict::Valid)
        ]
    );
    f.a.out
        .send(message("room@chat.a.example/nick", "romeo@b.example", "hi"))
        .unwrap();
    f.run();
    assert_eq!(stanzas(&f.b.in_events).len(), 1);
}

#[test]
fn an_impostor_gets_invalid_and_its_stream_closes() {
    // The impostor claims a.example but does not know A's secret; B asks
    // the real A, which says invalid.
    let real_a = config(
        &["a.example"],
        "the real secret",
        TlsRequirement::Unavailable,
    );
    let fake_a = config(&["a.example"], "a guess", TlsRequirement::Unavailable);
    let b = config(&["b.example"], "sb", TlsRequirement::Unavailable);
    let mut f = Federation::new(&real_a, &b, "a.example", "b.example");
    // Replace A's outgoing stream by the impostor's.
    f.a.out = OutgoingStream::new(
        fake_a,
        jid("a.example"),
        jid("b.example"),
        None,
        Box::new(SeededRandom::new(66)),
        f.now,
    );
    f.run();
    assert_eq!(
        Server::pairs(&f.a.out_events),
        [("a.example".into(), "b.example".into(), Verdict::Invalid)]
    );
    assert_eq!(
        Server::pairs(&f.b.in_events),
        [("a.example".into(), "b.example".into(), Verdict::Invalid)]
    );
    // XEP-0220 §2.2.1: nothing verified or pending, so B closes.
    assert!(f.b.inc.is_closed());
    assert_eq!(f.b.inc.verified_pairs(), []);
}

#[test]
fn no_verdict_in_time_is_a_timeout_error() {
    let a = config(&["a.example"], "sa", TlsRequirement::Unavailable);
    let b = config(&["b.example"], "sb", TlsRequirement::Unavailable);
    let mut f = Federation::new(&a, &b, "a.example", "b.example");
    f.b.answers = false;
    f.run();
    assert!(Server::pairs(&f.a.out_events).is_empty());
    f.advance(Duration::from_secs(31));
    assert_eq!(
        Server::pairs(&f.a.out_events),
        [(
            "a.example".into(),
            "b.example".into(),
            Verdict::Error(DefinedCondition::RemoteServerTimeout)
        )]
    );
    // The late answer is refused as an unknown question.
    let token = f.b.in_events.iter().find_map(|e| match e {
        Event::Request { token, .. } => Some(*token),
        _ => None,
    });
    assert!(
        f.b.inc
            .dialback_verdict(token.unwrap(), Verdict::Valid, f.now)
            .is_err()
    );
}

#[test]
fn a_stream_to_a_domain_not_served_is_host_unknown() {
    let a = config(&["a.example"], "sa", TlsRequirement::Unavailable);
    let b = config(&["b.example"], "sb", TlsRequirement::Unavailable);
    // A thinks B serves c.example too; B's answer to the key it gets on
    // its own stream to A then finds no way to A's Authoritative Server.
    let mut f = Federation::new(&a, &b, "a.example", "b.example");
    f.a.out = OutgoingStream::new(
        a,
        jid("a.example"),
        jid("c.example"),
        None,
        Box::new(SeededRandom::new(5)),
        f.now,
    );
    f.run();
    // B answers the header for c.example with host-unknown.
    assert!(
        f.errors
            .iter()
            .any(|e| matches!(e, Error::Remote(s) if s.condition == Condition::HostUnknown)),
        "{:?}",
        f.errors
    );
}

/// B's incoming stream after A's header, for scripted bytes.
fn scripted_incoming() -> (IncomingStream, Instant) {
    let b = config(&["b.example"], "sb", TlsRequirement::Unavailable);
    let now = Instant::now();
    let mut inc = IncomingStream::new(b, None, Box::new(SeededRandom::new(3)), now);
    inc.handle_input(
        b"<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
          xmlns:stream='http://etherx.jabber.org/streams' from='a.example' to='b.example' version='1.0'>",
        now,
    )
    .unwrap();
    (inc, now)
}

fn failed_with(r: Result<(), Error>, condition: Condition) -> bool {
    matches!(r, Err(Error::Local(ref e)) if e.condition == condition)
}

#[test]
fn spoofed_and_unsolicited_input_is_refused() {
    // A stanza before any pair is verified.
    let (mut inc, now) = scripted_incoming();
    let r = inc.handle_input(
        b"<message from='juliet@a.example' to='romeo@b.example'><body>x</body></message>",
        now,
    );
    assert!(failed_with(r, Condition::NotAuthorized));
    // An unsolicited verdict (XEP-0220 §3.1) grants nothing.
    let (mut inc, now) = scripted_incoming();
    let r = inc.handle_input(
        b"<db:result from='a.example' to='b.example' type='valid'/>",
        now,
    );
    assert!(failed_with(r, Condition::NotAuthorized));
    assert_eq!(inc.verified_pairs(), []);
    // A key for a domain B does not serve: a dialback error, the stream
    // goes on.
    let (mut inc, now) = scripted_incoming();
    inc.handle_input(
        b"<db:result from='a.example' to='c.example'>k</db:result>",
        now,
    )
    .unwrap();
    let mut out = Vec::new();
    while inc.poll_transmit(&mut out).is_some() {}
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.ends_with("<db:result from='c.example' to='a.example' type='error'><error type='cancel'>\
                       <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>"),
        "{out}"
    );
    assert!(!inc.is_closed());

    // After a.example is verified: spoofed senders and wrong targets.
    for (stanza, condition) in [
        (
            "<message from='mallory@evil.example' to='romeo@b.example'/>",
            Condition::InvalidFrom,
        ),
        (
            "<message from='juliet@a.example' to='romeo@c.example'/>",
            Condition::HostUnknown,
        ),
        (
            "<message from='juliet@a.example'/>",
            Condition::ImproperAddressing,
        ),
        (
            "<message to='romeo@b.example'/>",
            Condition::ImproperAddressing,
        ),
    ] {
        let (mut inc, now) = scripted_incoming();
        inc.handle_input(
            b"<db:result from='a.example' to='b.example'>k</db:result>",
            now,
        )
        .unwrap();
        let token = std::iter::from_fn(|| inc.poll_event())
            .find_map(|e| match e {
                Event::Request { token, .. } => Some(token),
                _ => None,
            })
            .unwrap();
        inc.dialback_verdict(token, Verdict::Valid, now).unwrap();
        inc.handle_input(
            b"<message from='juliet@a.example' to='romeo@b.example'><body>ok</body></message>",
            now,
        )
        .unwrap();
        let r = inc.handle_input(stanza.as_bytes(), now);
        assert!(failed_with(r, condition), "{stanza}");
    }
}

#[test]
fn the_authoritative_server_answers_verify_from_its_secret() {
    let (mut inc, now) = scripted_incoming();
    let secret = DialbackSecret::new(b"sb");
    let key = secret.key("c.example", "b.example", "S1");
    let mut out = Vec::new();
    while inc.poll_transmit(&mut out).is_some() {}
    out.clear();
    for (k, verdict) in [(key.as_str(), "valid"), ("0000", "invalid")] {
        inc.handle_input(
            format!("<db:verify from='c.example' to='b.example' id='S1'>{k}</db:verify>")
                .as_bytes(),
            now,
        )
        .unwrap();
        while inc.poll_transmit(&mut out).is_some() {}
        let s = String::from_utf8(std::mem::take(&mut out)).unwrap();
        assert_eq!(
            s,
            format!("<db:verify from='b.example' to='c.example' id='S1' type='{verdict}'/>")
        );
    }
    // An unsolicited verification answer on an outgoing stream.
    let a = config(&["a.example"], "sa", TlsRequirement::Unavailable);
    let now = Instant::now();
    let mut out_stream = OutgoingStream::new(
        a,
        jid("a.example"),
        jid("b.example"),
        None,
        Box::new(SeededRandom::new(4)),
        now,
    );
    out_stream
        .handle_input(
            b"<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
              xmlns:stream='http://etherx.jabber.org/streams' from='b.example' id='X' version='1.0'>\
              <stream:features/>",
            now,
        )
        .unwrap();
    let r = out_stream.handle_input(
        b"<db:verify from='b.example' to='a.example' id='Y' type='valid'/>",
        now,
    );
    assert!(failed_with(r, Condition::NotAuthorized));
}

#[test]
fn target_multiplexing_only_toward_a_peer_that_announced_dialback_errors() {
    let a = config(&["a.example"], "sa", TlsRequirement::Unavailable);
    let b = config(
        &["b.example", "chat.b.example"],
        "sb",
        TlsRequirement::Unavailable,
    );
    let mut f = Federation::new(&a, &b, "a.example", "b.example");
    // Before the features: not known to be supported.
    assert_eq!(
        f.a.out
            .authorize_pair(jid("a.example"), jid("chat.b.example"), f.now),
        Err(SendError::Unauthorized)
    );
    f.run();
    // B announced <dialback><errors/></dialback> (XEP-0220 §2.7.2).
    f.a.out
        .authorize_pair(jid("a.example"), jid("chat.b.example"), f.now)
        .unwrap();
    f.run();
    assert_eq!(
        Server::pairs(&f.a.out_events),
        [
            ("a.example".into(), "b.example".into(), Verdict::Valid),
            ("a.example".into(), "chat.b.example".into(), Verdict::Valid)
        ]
    );
    f.a.out
        .send(message("juliet@a.example/x", "room@chat.b.example", "hi"))
        .unwrap();
    f.run();
    assert_eq!(
        stanzas(&f.b.in_events)[0].attr("to"),
        Some("room@chat.b.example")
    );
    // A peer without the feature gets no target multiplexing.
    let now = Instant::now();
    let mut out = OutgoingStream::new(
        config(&["a.example"], "sa", TlsRequirement::Unavailable),
        jid("a.example"),
        jid("b.example"),
        None,
        Box::new(SeededRandom::new(8)),
        now,
    );
    out.handle_input(
        b"<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
          xmlns:stream='http://etherx.jabber.org/streams' from='b.example' id='X' version='1.0'>\
          <stream:features/>",
        now,
    )
    .unwrap();
    assert_eq!(
        out.authorize_pair(jid("a.example"), jid("chat.b.example"), now),
        Err(SendError::Unauthorized)
    );
}

#[test]
fn sasl_external_when_the_host_verified_the_peer_certificate() {
    let a = config(&["a.example"], "sa", TlsRequirement::Required);
    let b = config(&["b.example"], "sb", TlsRequirement::Required);
    let mut f = Federation::new(&a, &b, "a.example", "b.example");
    f.certificates = true;
    f.run();
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    // XEP-0178: EXTERNAL, and no dialback question at all.
    let external = Event::Authenticated {
        jid: jid("a.example"),
        method: xmpp_sansio::stream::AuthMethod::Sasl(xmpp_sansio::sasl::Mechanism::External),
    };
    assert!(f.b.in_events.contains(&external), "{:?}", f.b.in_events);
    assert!(
        !f.b.in_events
            .iter()
            .any(|e| matches!(e, Event::Request { .. })),
        "{:?}",
        f.b.in_events
    );
    assert_eq!(
        Server::pairs(&f.a.out_events),
        [("a.example".into(), "b.example".into(), Verdict::Valid)]
    );
    f.a.out
        .send(message("juliet@a.example/x", "romeo@b.example", "hi"))
        .unwrap();
    f.run();
    assert_eq!(stanzas(&f.b.in_events).len(), 1);
}

#[test]
fn external_for_another_domain_fails_and_dialback_remains() {
    let b = config(&["b.example"], "sb", TlsRequirement::Required);
    let now = Instant::now();
    let mut inc = IncomingStream::new(b, None, Box::new(SeededRandom::new(3)), now);
    let header = b"<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
          xmlns:stream='http://etherx.jabber.org/streams' from='a.example' to='b.example' version='1.0'>";
    inc.handle_input(header, now).unwrap();
    inc.handle_input(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", now)
        .unwrap();
    // The host's TLS layer verified a certificate for a.example.
    inc.tls_established(TlsInfo::tls().with_verified_peer("a.example"), now)
        .unwrap();
    let mut out = Vec::new();
    while inc.poll_transmit(&mut out).is_some() {}
    out.clear();
    inc.handle_input(header, now).unwrap();
    while inc.poll_transmit(&mut out).is_some() {}
    let features = String::from_utf8(std::mem::take(&mut out)).unwrap();
    assert!(
        features.contains("<mechanism>EXTERNAL</mechanism>"),
        "{features}"
    );
    // An authzid naming another domain (base64 of "evil.example").
    inc.handle_input(
        b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>ZXZpbC5leGFtcGxl</auth>",
        now,
    )
    .unwrap();
    while inc.poll_transmit(&mut out).is_some() {}
    assert_eq!(
        String::from_utf8(std::mem::take(&mut out)).unwrap(),
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
    );
    assert_eq!(inc.verified_pairs(), []);
    // Dialback still works on the same stream.
    inc.handle_input(
        b"<db:result from='a.example' to='b.example'>k</db:result>",
        now,
    )
    .unwrap();
    assert!(std::iter::from_fn(|| inc.poll_event()).any(|e| matches!(
        e,
        Event::Request {
            request: Request::Dialback { .. },
            ..
        }
    )));
    // No EXTERNAL offered when the certificate was verified for someone
    // else.
    let b = config(&["b.example"], "sb", TlsRequirement::Required);
    let mut inc = IncomingStream::new(b, None, Box::new(SeededRandom::new(3)), now);
    inc.handle_input(header, now).unwrap();
    inc.handle_input(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", now)
        .unwrap();
    inc.tls_established(TlsInfo::tls().with_verified_peer("other.example"), now)
        .unwrap();
    while inc.poll_transmit(&mut out).is_some() {}
    out.clear();
    inc.handle_input(header, now).unwrap();
    while inc.poll_transmit(&mut out).is_some() {}
    let features = String::from_utf8(out).unwrap();
    assert!(!features.contains("EXTERNAL"), "{features}");
}
