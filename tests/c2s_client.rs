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
        jid: "juliet@example.com/balcony".parse().unwrap()
    }));

    let mut t = Scripted::plain();
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>");
    t.feed(&bind_result(&id)).unwrap();
    assert!(t.take_out().is_empty());
    assert!(t.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".parse().unwrap()
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
    // A refused stanza comes back with the reason.
    let early = Element::new("presence", ns::CLIENT).with_attr("id", "early");
    let refused = t.c.send(early.clone()).unwrap_err();
    assert_eq!(refused.error, SendError::NotOnline);
    assert_eq!(refused.stanza, early);
    let id = t.negotiate_until_bind("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>200</max-bytes></limits>");
    t.feed(&bind_result(&id)).unwrap();
    let big = Element::new("message", ns::CLIENT)
        .with_attr("to", "romeo@example.net")
        .with_child(Element::new("body", ns::CLIENT).with_text(&"x".repeat(300)));
    let refused = t.c.send(big.clone()).unwrap_err();
    assert!(matches!(
        refused.error,
        SendError::TooLarge { limit: 200, .. }
    ));
    assert_eq!(refused.stanza, big);
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
        t.c.send(Element::new("presence", ns::CLIENT))
            .map_err(|r| r.error),
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

// --- Channel binding: which flag goes out, and the one retry --------------------

/// A client over TLS whose host can supply tls-exporter data (`bind`) or
/// no binding data at all.
fn scram_client(bind: bool) -> Scripted {
    let mut c = ClientConfig::new("juliet@example.com".parse().unwrap(), "pw");
    c.tls = TlsPolicy::Direct;
    let mut tls = TlsInfo::tls();
    if bind {
        tls = tls.with_binding(sasl::ChannelBinding::new(
            sasl::ChannelBindingType::TlsExporter,
            vec![7; 32],
        ));
    }
    Scripted::new(c, Some(tls))
}

/// `<stream:features/>` with these mechanisms and, if given, an XEP-0440
/// list.
fn sasl_features(mechanisms: &[&str], bindings: Option<&[&str]>) -> String {
    let mut f =
        String::from("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
    for m in mechanisms {
        f.push_str(&format!("<mechanism>{m}</mechanism>"));
    }
    f.push_str("</mechanisms>");
    if let Some(types) = bindings {
        f.push_str("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>");
        for t in types {
            f.push_str(&format!("<channel-binding type='{t}'/>"));
        }
        f.push_str("</sasl-channel-binding>");
    }
    f.push_str("</stream:features>");
    f
}

/// The `<auth/>`s in `out`: mechanism and decoded initial response.
fn auths(out: &str) -> Vec<(String, String)> {
    use base64::Engine;
    out.match_indices("<auth ")
        .map(|(at, _)| {
            let tag = &out[at..];
            let m = tag.find("mechanism='").unwrap() + 11;
            let mechanism = tag[m..m + tag[m..].find('\'').unwrap()].to_owned();
            let text = &tag[tag.find('>').unwrap() + 1..tag.find("</auth>").unwrap()];
            let data = base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap();
            (mechanism, String::from_utf8(data).unwrap())
        })
        .collect()
}

const NOT_AUTHORIZED: &str = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>\
    <text>Invalid channel binding</text></failure>";

/// ejabberd before 24.02: -PLUS offered, no XEP-0440 list.
const OLD_EJABBERD: &[&str] = &[
    "SCRAM-SHA-1",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-512-PLUS",
    "PLAIN",
];

#[test]
fn plus_without_a_list_is_retried_once_with_y() {
    let mut t = scram_client(true);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(OLD_EJABBERD, None)).unwrap();
    let first = auths(&t.take_out());
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, "SCRAM-SHA-512-PLUS");
    assert!(
        first[0].1.starts_with("p=tls-exporter,,n=juliet,r="),
        "{first:?}"
    );
    // Refused before any challenge: the strongest SCRAM without -PLUS,
    // with `y` (never `n`, never PLAIN).
    t.feed(NOT_AUTHORIZED).unwrap();
    let second = auths(&t.take_out());
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].0, "SCRAM-SHA-512");
    assert!(second[0].1.starts_with("y,,n=juliet,r="), "{second:?}");
    assert!(!t.c.is_closed());
    // Only once: a second refusal is final.
    let r = t.feed(NOT_AUTHORIZED);
    assert!(
        matches!(
            r,
            Err(Error::AuthenticationFailed {
                condition: sasl::Condition::NotAuthorized,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(auths(&t.take_out()).is_empty());
}

#[test]
fn a_failure_after_a_challenge_is_final() {
    let mut t = scram_client(true);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(OLD_EJABBERD, None)).unwrap();
    let first = auths(&t.take_out());
    let nonce = first[0].1.split("r=").nth(1).unwrap().to_owned();
    // A server-first message: the exchange got as far as the password.
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let server_first = format!("r={nonce}srv,s={},i=4096", b64("salt-of-juliet"));
    t.feed(&format!(
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
        b64(&server_first)
    ))
    .unwrap();
    assert!(t.take_out().contains("<response "));
    // A wrong password: no second attempt.
    let r = t.feed(NOT_AUTHORIZED);
    assert!(
        matches!(r, Err(Error::AuthenticationFailed { .. })),
        "{r:?}"
    );
    assert!(auths(&t.take_out()).is_empty());
}

#[test]
fn no_retry_when_only_plain_is_left() {
    let mut t = scram_client(true);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(&["SCRAM-SHA-1-PLUS", "PLAIN"], None))
        .unwrap();
    assert_eq!(auths(&t.take_out())[0].0, "SCRAM-SHA-1-PLUS");
    let r = t.feed(NOT_AUTHORIZED);
    assert!(
        matches!(r, Err(Error::AuthenticationFailed { .. })),
        "{r:?}"
    );
    let out = t.take_out();
    assert!(auths(&out).is_empty(), "PLAIN after SCRAM: {out}");
}

#[test]
fn with_a_list_the_client_binds_to_an_advertised_type_and_does_not_retry() {
    let mut t = scram_client(true);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(
        OLD_EJABBERD,
        Some(&["tls-server-end-point", "tls-exporter"]),
    ))
    .unwrap();
    let first = auths(&t.take_out());
    assert_eq!(first[0].0, "SCRAM-SHA-512-PLUS");
    assert!(first[0].1.starts_with("p=tls-exporter,,"), "{first:?}");
    // The type was not a guess: a refusal is final.
    assert!(t.feed(NOT_AUTHORIZED).is_err());
    assert!(auths(&t.take_out()).is_empty());
}

#[test]
fn a_list_without_a_usable_type_fails_negotiation() {
    for list in [
        &["tls-unique"][..],
        &["tls-unique", "tls-server-end-point"],
        &["tls-server-end-point"],
    ] {
        let mut t = scram_client(true);
        t.feed(SERVER_HEADER).unwrap();
        let r = t.feed(&sasl_features(OLD_EJABBERD, Some(list)));
        assert!(
            matches!(r, Err(Error::Negotiation(ref why)) if why.contains("downgrade")),
            "{list:?}: {r:?}"
        );
        let out = t.take_out();
        assert!(auths(&out).is_empty(), "{list:?}: {out}");
        assert!(out.ends_with("</stream:stream>"), "{out}");
    }
}

#[test]
fn n_only_without_binding_data_and_y_when_no_plus_is_offered() {
    // The host has no binding data: `n`, and no retry to make.
    let mut t = scram_client(false);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(OLD_EJABBERD, None)).unwrap();
    let first = auths(&t.take_out());
    assert_eq!(first[0].0, "SCRAM-SHA-512");
    assert!(first[0].1.starts_with("n,,"), "{first:?}");
    assert!(t.feed(NOT_AUTHORIZED).is_err());
    assert!(auths(&t.take_out()).is_empty());
    // The host could bind but nothing -PLUS is offered: `y`.
    let mut t = scram_client(true);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(&["SCRAM-SHA-256", "PLAIN"], None))
        .unwrap();
    let first = auths(&t.take_out());
    assert_eq!(first[0].0, "SCRAM-SHA-256");
    assert!(first[0].1.starts_with("y,,"), "{first:?}");
}

#[test]
fn a_wrong_downgrade_hash_from_the_server_ends_the_attempt() {
    // XEP-0474: whenever server-first carries `h=`, it must match what
    // was offered; here it was made for another list.
    let mut t = scram_client(true);
    t.feed(SERVER_HEADER).unwrap();
    t.feed(&sasl_features(OLD_EJABBERD, None)).unwrap();
    let first = auths(&t.take_out());
    let nonce = first[0].1.split("r=").nth(1).unwrap().to_owned();
    use base64::Engine;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let server_first = format!(
        "r={nonce}srv,s={},i=4096,h={}",
        b64(b"salt-of-juliet"),
        b64(&[0u8; 64])
    );
    let r = t.feed(&format!(
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
        b64(server_first.as_bytes())
    ));
    assert!(
        matches!(r, Err(Error::Negotiation(ref why)) if why.contains("downgrade protection hash mismatch")),
        "{r:?}"
    );
    let out = t.take_out();
    assert!(
        out.contains("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
        "{out}"
    );
    assert!(!out.contains("<response"), "{out}");
}
