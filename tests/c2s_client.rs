//! The c2s client machine against scripted server bytes: stripped
//! STARTTLS, injection after proceed, the legacy session, redirects,
//! remote errors, advertised limits, keepalives.

use std::time::{Duration, Instant};

use xmpp_sansio::c2s::{ClientConfig, ClientStream, TlsPolicy};
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::{self, Mechanism, TlsInfo};
use xmpp_sansio::stream::{Condition, Error, Event, SendError, StreamError};
use xmpp_sansio::xml::Element;

const SERVER_HEADER: &str = "<?xml version='1.0'?><stream:stream from='example.com' id='s1' version='1.0' \
    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

struct Scripted {
    c: ClientStream,
    now: Instant,
    out: String,
    events: Vec<Event>,
}

impl Scripted {
    fn new(config: ClientConfig, tls: Option<TlsInfo>) -> Scripted {
        let now = Instant::now();
        let mut s = Scripted {
            c: ClientStream::new(config, tls, Box::new(SeededRandom::new(9)), now),
            now,
            out: String::new(),
            events: Vec::new(),
        };
        s.drain();
        s
    }
    /// A client that skips TLS (as if direct TLS) and uses PLAIN, so that
    /// a script can play the server.
    fn plain() -> Scripted {
        let mut c = ClientConfig::new("juliet@example.com".parse().unwrap(), "pw");
        c.tls = TlsPolicy::Direct;
        c.sasl.preference = vec![Mechanism::Plain];
        Scripted::new(c, Some(TlsInfo::tls()))
    }
    fn feed(&mut self, data: &str) -> Result<(), Error> {
        let r = self.c.handle_input(data.as_bytes(), self.now);
        self.drain();
        r
    }
    fn drain(&mut self) {
        let mut out = Vec::new();
        self.c.poll_transmit(&mut out);
        self.out.push_str(&String::from_utf8(out).unwrap());
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }
    fn take_out(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
    /// Plays the server up to the bind request; returns the iq's id.
    fn negotiate_until_bind(&mut self, bind_features: &str) -> String {
        self.feed(SERVER_HEADER).unwrap();
        self.feed("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>").unwrap();
        let out = self.take_out();
        assert!(out.contains("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABwdw==</auth>"), "{out}");
        self.feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            .unwrap();
        assert!(
            self.take_out()
                .starts_with("<?xml version='1.0'?><stream:stream"),
            "restart"
        );
        self.feed(SERVER_HEADER).unwrap();
        self.feed(&format!(
            "<stream:features>{bind_features}</stream:features>"
        ))
        .unwrap();
        let out = self.take_out();
        assert!(
            out.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"),
            "{out}"
        );
        iq_id(&out)
    }
}

fn iq_id(out: &str) -> String {
    let at = out.find(" id='").expect("an id") + 5;
    out[at..at + out[at..].find('\'').unwrap()].to_owned()
}

fn bind_result(id: &str) -> String {
    format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <jid>juliet@example.com/balcony</jid></bind></iq>"
    )
}

#[test]
fn stripped_starttls_stops_before_credentials_go_out() {
    let mut t = Scripted::new(
        ClientConfig::new("juliet@example.com".parse().unwrap(), "pw"),
        None,
    );
    t.feed(SERVER_HEADER).unwrap();
    let r = t.feed("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
    assert!(
        matches!(r, Err(Error::Negotiation(ref w)) if w.contains("STARTTLS")),
        "{r:?}"
    );
    let out = t.take_out();
    assert!(!out.contains("auth"), "{out}");
    assert!(out.ends_with("</stream:stream>"), "{out}");
}

#[test]
fn bytes_after_proceed_are_refused_as_injection() {
    let mut t = Scripted::new(
        ClientConfig::new("juliet@example.com".parse().unwrap(), "pw"),
        None,
    );
    t.feed(SERVER_HEADER).unwrap();
    t.feed(
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
    )
    .unwrap();
    assert!(
        t.take_out()
            .ends_with("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    );
    let r = t.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:features/>");
    assert!(
        matches!(r, Err(Error::Local(ref e)) if e.condition == Condition::PolicyViolation),
        "{r:?}"
    );
    // Also when the injected bytes come in a later read.
    let mut t = Scripted::new(
        ClientConfig::new("juliet@example.com".parse().unwrap(), "pw"),
        None,
    );
    t.feed(SERVER_HEADER).unwrap();
    t.feed(
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
    )
    .unwrap();
    t.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .unwrap();
    assert!(t.events.contains(&Event::StartTls));
    assert!(
        t.feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            .is_err()
    );
}

#[test]
fn legacy_session_only_when_not_optional() {
    let mut t = Scripted::plain();
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>");
    t.feed(&bind_result(&id)).unwrap();
    let out = t.take_out();
    assert!(
        out.contains("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"),
        "{out}"
    );
    assert!(!t.events.iter().any(|e| matches!(e, Event::Online { .. })));
    t.feed(&format!("<iq type='result' id='{}'/>", iq_id(&out)))
        .unwrap();
    assert!(t.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".into()
    }));

    let mut t = Scripted::plain();
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>");
    t.feed(&bind_result(&id)).unwrap();
    assert!(t.take_out().is_empty());
    assert!(t.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".into()
    }));
}

#[test]
fn bind_errors_and_bad_results_fail_negotiation() {
    let mut t = Scripted::plain();
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>");
    let r = t.feed(&format!("<iq type='error' id='{id}'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"));
    assert!(matches!(r, Err(Error::Negotiation(_))), "{r:?}");
    let mut t = Scripted::plain();
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>");
    let r = t.feed(&format!("<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>not a jid@@</jid></bind></iq>"));
    assert!(matches!(r, Err(Error::Negotiation(_))), "{r:?}");
}

#[test]
fn sasl_failure_carries_condition_and_text() {
    let mut t = Scripted::plain();
    t.feed(SERVER_HEADER).unwrap();
    t.feed("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>").unwrap();
    let r = t.feed("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><account-disabled/><text xml:lang='en'>Call 212-555-1212 for information.</text></failure>");
    assert_eq!(
        r,
        Err(Error::AuthenticationFailed {
            condition: sasl::Condition::AccountDisabled,
            text: Some("Call 212-555-1212 for information.".into())
        })
    );
}

#[test]
fn see_other_host_and_remote_errors_are_reported() {
    let mut t = Scripted::plain();
    t.feed(SERVER_HEADER).unwrap();
    let r = t.feed("<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:41D0:1:A49b::1]:9222</see-other-host></stream:error></stream:stream>");
    assert!(
        matches!(r, Err(Error::Remote(ref e)) if e.condition == Condition::SeeOtherHost),
        "{r:?}"
    );
    assert!(t.events.contains(&Event::SeeOtherHost {
        host: "[2001:41D0:1:A49b::1]:9222".into()
    }));
    assert!(
        t.take_out().ends_with("</stream:stream>"),
        "we close our stream too"
    );

    let mut t = Scripted::plain();
    t.feed(SERVER_HEADER).unwrap();
    let r = t.feed("<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    assert_eq!(
        r,
        Err(Error::Remote(StreamError::new(Condition::SystemShutdown)))
    );
}

#[test]
fn server_headers_the_client_cannot_use() {
    for (header, condition) in [
        (
            SERVER_HEADER.replace("id='s1' version='1.0'", "id='s1'"),
            Condition::UnsupportedVersion,
        ),
        (
            SERVER_HEADER.replace("jabber:client", "jabber:server"),
            Condition::InvalidNamespace,
        ),
    ] {
        let mut t = Scripted::plain();
        let r = t.feed(&header);
        assert!(
            matches!(r, Err(Error::Local(ref e)) if e.condition == condition),
            "{header}: {r:?}"
        );
    }
}

#[test]
fn advertised_limits_keepalives_and_sending_rules() {
    let mut t = Scripted::plain();
    assert_eq!(
        t.c.send(Element::new("presence", ns::CLIENT)),
        Err(SendError::NotOnline)
    );
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>200</max-bytes></limits>");
    t.feed(&bind_result(&id)).unwrap();
    let big = Element::new("message", ns::CLIENT)
        .with_attr("to", "romeo@example.net")
        .with_child(Element::new("body", ns::CLIENT).with_text(&"x".repeat(300)));
    assert!(matches!(
        t.c.send(big),
        Err(SendError::TooLarge { limit: 200, .. })
    ));
    t.c.send(Element::new("presence", ns::CLIENT)).unwrap();
    t.drain();
    assert_eq!(t.take_out(), "<presence/>");
    // Whitespace keepalive after the configured silence (RFC 6120 §4.6.1).
    let next = t.c.poll_timeout().unwrap();
    assert_eq!(next, t.now + Duration::from_secs(90));
    t.now = next;
    t.c.handle_timeout(t.now).unwrap();
    t.drain();
    assert_eq!(t.take_out(), " ");
    // Stanzas from the server are events.
    t.feed("<message from='romeo@example.net/orchard' type='chat'><body>hi</body></message>")
        .unwrap();
    assert!(matches!(t.events.last(), Some(Event::Stanza(m)) if m.name() == "message"));
    // The peer closes: we answer and are done.
    t.feed("</stream:stream>").unwrap();
    assert_eq!(t.take_out(), "</stream:stream>");
    assert_eq!(t.events.last(), Some(&Event::Closed(None)));
    assert_eq!(
        t.c.send(Element::new("presence", ns::CLIENT)),
        Err(SendError::Closed)
    );
    assert_eq!(t.c.handle_eof(t.now), Err(Error::Closed));
}

#[test]
fn connection_lost_without_a_close() {
    let mut t = Scripted::plain();
    t.feed(SERVER_HEADER).unwrap();
    assert_eq!(t.c.handle_eof(t.now), Err(Error::ConnectionLost));
    t.drain();
    assert_eq!(
        t.events.last(),
        Some(&Event::Closed(Some(Error::ConnectionLost)))
    );
}

#[test]
fn ping_keepalive_detects_a_dead_server() {
    let mut c = ClientConfig::new("juliet@example.com".parse().unwrap(), "pw");
    c.tls = TlsPolicy::Direct;
    c.sasl.preference = vec![Mechanism::Plain];
    c.keepalive = Some(Duration::from_secs(60));
    c.ping_timeout = Some(Duration::from_secs(10));
    let mut t = Scripted::new(c, Some(TlsInfo::tls()));
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>");
    t.feed(&bind_result(&id)).unwrap();
    // First ping, answered: not a stanza for the host.
    t.now += Duration::from_secs(60);
    t.c.handle_timeout(t.now).unwrap();
    t.drain();
    let out = t.take_out();
    assert!(
        out.contains("<ping xmlns='urn:xmpp:ping'/>") && out.contains("to='example.com'"),
        "{out}"
    );
    let before = t.events.len();
    t.feed(&format!(
        "<iq type='result' id='{}' from='example.com'/>",
        iq_id(&out)
    ))
    .unwrap();
    assert_eq!(t.events.len(), before);
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(60)));
    // Second ping, never answered.
    t.now += Duration::from_secs(60);
    t.c.handle_timeout(t.now).unwrap();
    t.now += Duration::from_secs(10);
    let r = t.c.handle_timeout(t.now);
    assert!(
        matches!(r, Err(Error::Local(ref e)) if e.condition == Condition::ConnectionTimeout),
        "{r:?}"
    );
}

#[test]
fn a_resource_xml_cannot_carry_fails_negotiation_instead_of_panicking() {
    let mut c = ClientConfig::new("juliet@example.com".parse().unwrap(), "pw");
    c.tls = TlsPolicy::Direct;
    c.sasl.preference = vec![Mechanism::Plain];
    c.resource = Some("bad\u{1}resource".into());
    let mut t = Scripted::new(c, Some(TlsInfo::tls()));
    t.feed(SERVER_HEADER).unwrap();
    t.feed("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>").unwrap();
    t.feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        .unwrap();
    t.feed(SERVER_HEADER).unwrap();
    let r = t.feed(
        "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
    );
    assert!(
        matches!(r, Err(Error::Negotiation(ref w)) if w.contains("resource")),
        "{r:?}"
    );
}
