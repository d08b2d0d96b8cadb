//! The component protocol (XEP-0114) in memory: our component against our
//! accepting side, the handshake, the errors, stanzas both ways, the
//! `from` rule, in any chunking.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Link;
use xmpp_sansio::component::{
    AcceptConfig, AcceptStream, ComponentConfig, ComponentDecision, ComponentStream,
};
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::stream::{AuthMethod, Condition, Error, Event, Request, SendError};
use xmpp_sansio::xml::Element;

const NAME: &str = "gw.example.org";

struct Pair {
    component: ComponentStream,
    server: AcceptStream,
    now: Instant,
    up: Link,
    down: Link,
    component_events: Vec<Event>,
    server_events: Vec<Event>,
    errors: Vec<Error>,
    decision: ComponentDecision,
}

impl Pair {
    fn new(secret: &str, config: AcceptConfig) -> Pair {
        let now = Instant::now();
        Pair {
            component: ComponentStream::new(
                ComponentConfig::new(NAME.parse().unwrap(), secret),
                Box::new(SeededRandom::new(1)),
                now,
            ),
            server: AcceptStream::new(Arc::new(config), Box::new(SeededRandom::new(2)), now),
            now,
            up: Link::default(),
            down: Link::default(),
            component_events: Vec::new(),
            server_events: Vec::new(),
            errors: Vec::new(),
            decision: ComponentDecision::Accept,
        }
    }

    fn standard() -> Pair {
        Pair::new("s3cr3t", AcceptConfig::new(&[(NAME, "s3cr3t")]))
    }

    fn run(&mut self) {
        for _ in 0..100 {
            let (a, e1) = self
                .up
                .carry(&mut self.component, &mut self.server, self.now);
            let (b, e2) = self
                .down
                .carry(&mut self.server, &mut self.component, self.now);
            self.errors.extend(e1.into_iter().chain(e2));
            let mut progress = a || b;
            while let Some(ev) = self.server.poll_event() {
                progress = true;
                if let Event::Request {
                    token,
                    request: Request::Component { .. },
                } = &ev
                    && let Err(e) = self.server.attach(*token, self.decision, self.now)
                {
                    self.errors.push(common::ended(e));
                }
                self.server_events.push(ev);
            }
            while let Some(ev) = self.component.poll_event() {
                progress = true;
                self.component_events.push(ev);
            }
            if !progress {
                return;
            }
        }
        panic!("did not settle");
    }

    fn online(&self) -> bool {
        self.component_events.contains(&Event::Authenticated {
            jid: NAME.parse().unwrap(),
            method: AuthMethod::ComponentHandshake,
        })
    }
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

fn message(from: &str, to: &str, body: &str) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("from", from)
        .with_attr("to", to)
        .with_child(Element::new("body", ns::CLIENT).with_text(body))
}

fn failed(errors: &[Error], condition: Condition) -> bool {
    errors
        .iter()
        .any(|e| matches!(e, Error::Local(s) | Error::Remote(s) if s.condition == condition))
}

#[test]
fn handshake_then_stanzas_both_ways_in_any_chunking() {
    for chunk in [usize::MAX, 5, 1] {
        let mut p = Pair::standard();
        p.up.chunk = chunk;
        p.down.chunk = chunk;
        p.run();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.online(), "chunk {chunk}");
        assert!(p.component.is_online());
        assert_eq!(p.server.component().map(|c| c.as_str()), Some(NAME));
        // The handshake on the wire is the hex SHA-1 of id and secret.
        let up = String::from_utf8(p.up.log.clone()).unwrap();
        assert!(
            up.starts_with("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept'"),
            "{up}"
        );
        assert!(up.contains("<handshake>"), "{up}");

        // From a user of the server to the component (a client stanza
        // moves into jabber:component:accept), and back.
        p.server
            .send(message(
                "juliet@example.org/balcony",
                "romeo@gw.example.org",
                "hi",
            ))
            .unwrap();
        p.component
            .send(message(
                "romeo@gw.example.org",
                "juliet@example.org/balcony",
                "ho",
            ))
            .unwrap();
        p.run();
        let to_component = stanzas(&p.component_events);
        assert_eq!(to_component.len(), 1);
        assert_eq!(to_component[0].ns(), ns::COMPONENT_ACCEPT);
        assert_eq!(
            to_component[0].attr("from"),
            Some("juliet@example.org/balcony")
        );
        let to_server = stanzas(&p.server_events);
        assert_eq!(to_server[0].attr("from"), Some("romeo@gw.example.org"));
    }
}

#[test]
fn a_wrong_secret_is_not_authorized() {
    let mut p = Pair::new("guess", AcceptConfig::new(&[(NAME, "s3cr3t")]));
    p.run();
    assert!(!p.online());
    assert!(
        failed(&p.errors, Condition::NotAuthorized),
        "{:?}",
        p.errors
    );
    assert!(p.component.is_closed() && p.server.is_closed());
}

#[test]
fn an_unknown_name_is_host_unknown_and_a_second_claim_a_conflict() {
    let mut p = Pair::new(
        "s3cr3t",
        AcceptConfig::new(&[("other.example.org", "s3cr3t")]),
    );
    p.run();
    assert!(failed(&p.errors, Condition::HostUnknown), "{:?}", p.errors);
    let mut p = Pair::standard();
    p.decision = ComponentDecision::Conflict;
    p.run();
    assert!(!p.online());
    assert!(failed(&p.errors, Condition::Conflict), "{:?}", p.errors);
}

#[test]
fn a_component_sends_only_from_its_own_domain() {
    let mut p = Pair::standard();
    p.run();
    for (from, to) in [
        ("juliet@example.org", "romeo@example.org"),
        ("irc.gw.example.org", "romeo@example.org"),
    ] {
        let refused = p.component.send(message(from, to, "x")).unwrap_err();
        assert_eq!(refused.error, SendError::Unauthorized, "{from}");
    }
    let no_to = Element::new("message", ns::CLIENT).with_attr("from", NAME);
    assert_eq!(
        p.component.send(no_to).unwrap_err().error,
        SendError::Unauthorized
    );
    // Subdomains when the server opts in.
    let mut config = AcceptConfig::new(&[(NAME, "s3cr3t")]);
    config.subdomains = true;
    let mut p = Pair::new("s3cr3t", config);
    p.run();
    let accept_sub = p.server.handle_input(
        b"<message from='bot@irc.gw.example.org' to='romeo@example.org'/>",
        p.now,
    );
    assert_eq!(accept_sub, Ok(()));
}

/// The accepting side against scripted (hostile) component bytes.
fn scripted() -> (AcceptStream, Instant) {
    let now = Instant::now();
    let mut s = AcceptStream::new(
        Arc::new(AcceptConfig::new(&[(NAME, "s3cr3t")])),
        Box::new(SeededRandom::new(9)),
        now,
    );
    s.handle_input(
        b"<stream:stream xmlns='jabber:component:accept' \
          xmlns:stream='http://etherx.jabber.org/streams' to='gw.example.org'>",
        now,
    )
    .unwrap();
    (s, now)
}

fn local(r: Result<(), Error>, condition: Condition) -> bool {
    matches!(r, Err(Error::Local(ref e)) if e.condition == condition)
}

#[test]
fn hostile_components_are_refused() {
    // Stanzas before the handshake.
    let (mut s, now) = scripted();
    let r = s.handle_input(
        b"<message from='gw.example.org' to='juliet@example.org'/>",
        now,
    );
    assert!(local(r, Condition::NotAuthorized));
    // A spoofed `from` after a good handshake.
    let (mut s, now) = scripted();
    let mut out = Vec::new();
    while s.poll_transmit(&mut out).is_some() {}
    let header = String::from_utf8(out).unwrap();
    let id = header
        .split("id='")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let digest = xmpp_sansio::component::handshake(id, "s3cr3t");
    s.handle_input(format!("<handshake>{digest}</handshake>").as_bytes(), now)
        .unwrap();
    let token = std::iter::from_fn(|| s.poll_event())
        .find_map(|e| match e {
            Event::Request { token, .. } => Some(token),
            _ => None,
        })
        .unwrap();
    s.attach(token, ComponentDecision::Accept, now).unwrap();
    s.handle_input(
        b"<message from='romeo@gw.example.org' to='juliet@example.org'/>",
        now,
    )
    .unwrap();
    let r = s.handle_input(
        b"<message from='admin@example.org' to='juliet@example.org'/>",
        now,
    );
    assert!(local(r, Condition::InvalidFrom));
    // A wrong handshake.
    let (mut s, now) = scripted();
    let _ = s.handle_input(b"<handshake>00</handshake>", now);
    assert!(s.is_closed());
    // A client namespace on the component port.
    let now = Instant::now();
    let mut s = AcceptStream::new(
        Arc::new(AcceptConfig::new(&[(NAME, "s3cr3t")])),
        Box::new(SeededRandom::new(9)),
        now,
    );
    let r = s.handle_input(
        b"<stream:stream xmlns='jabber:client' \
          xmlns:stream='http://etherx.jabber.org/streams' to='gw.example.org'>",
        now,
    );
    assert!(local(r, Condition::InvalidNamespace));
    // No handshake in time.
    let (mut s, now) = scripted();
    let r = s.handle_timeout(now + Duration::from_secs(31));
    assert!(local(r, Condition::ConnectionTimeout));
}
