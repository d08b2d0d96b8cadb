//! The c2s server machine against scripted client bytes: every stream
//! error the receiving side detects, feature lists per stage, limits.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use xmpp_sansio::c2s::{ServerConfig, ServerStream, TlsRequirement};
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::stream::{AnswerError, Condition, Error, Event, Request, StreamError, Token};

const HEADER: &str = "<?xml version='1.0'?><stream:stream to='example.com' version='1.0' \
    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
const TAG: &str = "<stream:stream to='example.com' version='1.0' \
    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

struct Scripted {
    s: ServerStream,
    now: Instant,
    out: String,
    events: Vec<Event>,
}

impl Scripted {
    fn new(config: ServerConfig) -> Scripted {
        let now = Instant::now();
        Scripted {
            s: ServerStream::new(Arc::new(config), None, Box::new(SeededRandom::new(5)), now),
            now,
            out: String::new(),
            events: Vec::new(),
        }
    }
    fn feed(&mut self, data: &str) -> Result<(), Error> {
        let r = self.s.handle_input(data.as_bytes(), self.now);
        self.drain();
        r
    }
    fn drain(&mut self) {
        let mut out = Vec::new();
        self.s.poll_transmit(&mut out);
        self.out.push_str(&String::from_utf8(out).unwrap());
        while let Some(e) = self.s.poll_event() {
            self.events.push(e);
        }
    }
    fn take_out(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

fn local(e: Result<(), Error>) -> Condition {
    match e {
        Err(Error::Local(StreamError { condition, .. })) => condition,
        other => panic!("expected a stream error, got {other:?}"),
    }
}

#[test]
fn header_errors_are_sent_inside_a_response_stream() {
    let cases = [
        (
            TAG.replace("example.com", "elsewhere.example"),
            Condition::HostUnknown,
        ),
        (TAG.replace(" to='example.com'", ""), Condition::HostUnknown),
        (
            TAG.replace("jabber:client", "jabber:server"),
            Condition::InvalidNamespace,
        ),
        (
            TAG.replace(" version='1.0'", ""),
            Condition::UnsupportedVersion,
        ),
        (
            TAG.replace("streams'", "streamz'"),
            Condition::InvalidNamespace,
        ),
        (
            TAG.replace("<stream:stream", "<s:stream")
                .replace("xmlns:stream", "xmlns:s"),
            Condition::BadNamespacePrefix,
        ),
        (
            TAG.replace("version='1.0'", "version='x'"),
            Condition::UnsupportedVersion,
        ),
        ("<!DOCTYPE x>".to_owned(), Condition::RestrictedXml),
        (
            "<?xml version='1.0' encoding='ISO-8859-1'?>".to_owned(),
            Condition::UnsupportedEncoding,
        ),
    ];
    for (input, condition) in cases {
        let mut t = Scripted::new(server_config());
        assert_eq!(local(t.feed(&input)), condition, "{input}");
        let out = t.take_out();
        assert!(
            out.contains(&format!(
                "<{} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>",
                condition.as_str()
            )),
            "{out}"
        );
        assert!(out.ends_with("</stream:stream>"), "{out}");
        // What went out is itself a well-formed stream with an error.
        let mut f = xmpp_sansio::xml::Framer::new(Default::default());
        let mut input = out.as_bytes();
        let mut saw_error = false;
        while let Some(ev) = f
            .next_event(&mut input)
            .unwrap_or_else(|e| panic!("{e}: {out}"))
        {
            if let xmpp_sansio::xml::FrameEvent::Element(el) = ev {
                saw_error |= el.is("error", xmpp_sansio::ns::STREAM);
            }
        }
        assert!(saw_error && f.is_closed(), "{out}");
        assert!(t.events.iter().any(|e| matches!(e, Event::Closed(Some(_)))));
    }
    // A version without a header version (0.9) is answered without one.
    let mut t = Scripted::new(server_config());
    let _ = t.feed(&TAG.replace(" version='1.0'", ""));
    let out = t.take_out();
    let tag = &out[out.find("<stream:stream").unwrap()..];
    let tag = &tag[..tag.find('>').unwrap()];
    assert!(!tag.contains("version="), "{tag}");
}

#[test]
fn features_per_stage() {
    // TLS required: only STARTTLS before TLS.
    let mut t = Scripted::new(server_config());
    t.feed(HEADER).unwrap();
    let out = t.take_out();
    assert!(out.contains(" xml:lang='en'>"), "RFC 6120 §4.7.4: {out}");
    assert!(
        out.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"),
        "{out}"
    );
    assert!(!out.contains("mechanisms"), "{out}");
    assert!(
        out.contains("<max-bytes>16384</max-bytes>"),
        "XEP-0478 before auth: {out}"
    );
    // TLS optional: mechanisms too, but never PLAIN in plaintext.
    let mut c = server_config();
    c.tls = TlsRequirement::Optional;
    let mut t = Scripted::new(c);
    t.feed(HEADER).unwrap();
    let out = t.take_out();
    assert!(
        out.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        "{out}"
    );
    assert!(
        out.contains("<mechanism>SCRAM-SHA-256</mechanism>"),
        "{out}"
    );
    assert!(!out.contains("PLAIN"), "{out}");
    assert!(
        !out.contains("-PLUS"),
        "no channel binding without TLS: {out}"
    );
    // After TLS: mechanisms with -PLUS and XEP-0440 types.
    t.feed("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .unwrap();
    assert_eq!(
        t.take_out(),
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    );
    assert!(t.events.contains(&Event::StartTls));
    // Bytes before the handshake are dropped (RFC 6120 §5.4.3.3).
    t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABy</auth>")
        .unwrap();
    assert_eq!(t.take_out(), "");
    t.s.tls_established(tls_info(), t.now).unwrap();
    t.feed(HEADER).unwrap();
    let out = t.take_out();
    assert!(
        out.contains("<mechanism>SCRAM-SHA-512-PLUS</mechanism>"),
        "{out}"
    );
    assert!(out.contains("<mechanism>PLAIN</mechanism>"), "{out}");
    assert!(out.contains("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/>"), "{out}");
    assert!(!out.contains("starttls"), "{out}");
}

#[test]
fn stanzas_and_unknown_elements_before_authentication() {
    for (el, cond) in [
        (
            "<message to='romeo@example.net'><body>hi</body></message>",
            Condition::NotAuthorized,
        ),
        ("<presence/>", Condition::NotAuthorized),
        (
            "<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>",
            Condition::NotAuthorized,
        ),
        (
            "<foo xmlns='urn:example'/>",
            Condition::UnsupportedStanzaType,
        ),
    ] {
        let mut c = server_config();
        c.tls = TlsRequirement::Unavailable;
        let mut t = Scripted::new(c);
        t.feed(HEADER).unwrap();
        assert_eq!(local(t.feed(el)), cond, "{el}");
        assert!(
            t.take_out()
                .contains(&format!("<stream:error><{}", cond.as_str()))
        );
    }
}

#[test]
fn limits_are_tighter_before_authentication() {
    let mut c = server_config();
    c.tls = TlsRequirement::Unavailable;
    let mut t = Scripted::new(c);
    t.feed(HEADER).unwrap();
    let big = format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
        "A".repeat(20_000)
    );
    assert_eq!(local(t.feed(&big)), Condition::PolicyViolation);
}

#[test]
fn sasl_failures_are_retried_then_the_stream_is_closed() {
    let mut c = server_config();
    c.tls = TlsRequirement::Unavailable;
    c.max_auth_failures = 2;
    let mut t = Scripted::new(c);
    t.feed(HEADER).unwrap();
    t.take_out();
    t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-NOPE'/>")
        .unwrap();
    assert_eq!(
        t.take_out(),
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/></failure>"
    );
    // Not base64 (RFC 6120 §6.5.5).
    let r =
        t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>!!!</auth>");
    assert_eq!(local(r), Condition::PolicyViolation);
    let out = t.take_out();
    assert!(
        out.starts_with(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><incorrect-encoding/></failure>"
        ),
        "{out}"
    );
}

#[test]
fn credentials_are_requested_and_input_waits_meanwhile() {
    let mut c = server_config();
    c.tls = TlsRequirement::Unavailable;
    let mut t = Scripted::new(c);
    t.feed(HEADER).unwrap();
    t.take_out();
    // n,,n=juliet,r=abcdefghijklmnop
    t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1qdWxpZXQscj1hYmNkZWZnaGlqa2xtbm9w</auth><presence/>").unwrap();
    let (token, req) = credentials_request(&t.events);
    assert_eq!(req.authcid(), Some("juliet"));
    // The presence that followed is held, not judged, while the question
    // is open.
    assert_eq!(t.take_out(), "");
    // An answer to a question never asked is a typed error, and the
    // stream goes on.
    let rec = users()[USER][0].clone();
    let stray =
        t.s.bind(token, xmpp_sansio::c2s::BindDecision::Conflict, t.now);
    assert_eq!(stray, Err(AnswerError::UnknownToken(token)));
    assert!(!t.s.is_closed());
    t.s.provide_credentials(
        token,
        Some(xmpp_sansio::sasl::Credentials::Scram(rec.clone())),
        t.now,
    )
    .unwrap_or(());
    t.drain();
    let out = t.take_out();
    // The challenge goes out, then the held presence ends the stream.
    assert!(
        out.starts_with("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"),
        "{out}"
    );
    assert!(out.contains("<not-authorized"), "{out}");
    // Once the stream ended, an answer gets the sticky error.
    let again = t.s.provide_credentials(token, None, t.now);
    assert!(
        matches!(again, Err(AnswerError::Ended(Error::Local(ref e))) if e.condition == Condition::NotAuthorized),
        "{again:?}"
    );
}

#[test]
fn a_repeated_answer_is_refused_without_harm() {
    let mut c = server_config();
    c.tls = TlsRequirement::Unavailable;
    let mut t = Scripted::new(c);
    t.feed(HEADER).unwrap();
    t.take_out();
    t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1qdWxpZXQscj1hYmNkZWZnaGlqa2xtbm9w</auth>").unwrap();
    let (token, _) = credentials_request(&t.events);
    t.s.provide_credentials(token, None, t.now).unwrap();
    t.drain();
    assert!(t.take_out().starts_with("<challenge"));
    assert_eq!(
        t.s.provide_credentials(token, None, t.now),
        Err(AnswerError::UnknownToken(token))
    );
    assert!(!t.s.is_closed());
}

/// The open credentials question among `events`.
fn credentials_request(events: &[Event]) -> (Token, xmpp_sansio::sasl::CredentialsRequest) {
    events
        .iter()
        .find_map(|e| match e {
            Event::Request {
                token,
                request: Request::Credentials(r),
            } => Some((*token, r.clone())),
            _ => None,
        })
        .expect("credentials requested")
}

#[test]
fn negotiation_timeout_and_host_initiated_errors() {
    let mut t = Scripted::new(server_config());
    t.feed(HEADER).unwrap();
    t.now += Duration::from_secs(61);
    let r = t.s.handle_timeout(t.now);
    t.drain();
    assert_eq!(local(r), Condition::ConnectionTimeout);

    let mut t = Scripted::new(server_config());
    t.feed(HEADER).unwrap();
    t.take_out();
    t.s.fail(StreamError::see_other_host("other.example.com:5222"));
    t.drain();
    assert_eq!(
        t.take_out(),
        "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>other.example.com:5222\
         </see-other-host></stream:error></stream:stream>"
    );
}

#[test]
fn external_with_the_identity_from_the_certificate() {
    let mut c = server_config();
    c.sasl.mechanisms = vec![xmpp_sansio::sasl::Mechanism::External];
    let now = Instant::now();
    // Direct TLS: the host's handshake saw a client certificate.
    let mut t = Scripted {
        s: ServerStream::new(
            Arc::new(c),
            Some(tls_info()),
            Box::new(SeededRandom::new(5)),
            now,
        ),
        now,
        out: String::new(),
        events: Vec::new(),
    };
    t.feed(HEADER).unwrap();
    assert!(t.take_out().contains("<mechanism>EXTERNAL</mechanism>"));
    // No authzid: "use the identity of the certificate" (XEP-0178 §3).
    t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        .unwrap();
    let (token, req) = credentials_request(&t.events);
    assert_eq!(req.authzid(), None);
    t.s.provide_credentials(
        token,
        Some(xmpp_sansio::sasl::Credentials::VerifiedAs(
            "juliet@example.com".into(),
        )),
        t.now,
    )
    .unwrap();
    t.drain();
    assert_eq!(
        t.take_out(),
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    );
    assert_eq!(
        t.s.authenticated_jid().map(|j| j.as_str()),
        Some("juliet@example.com")
    );
    // Without an identity and without an authzid there is nobody to be.
    let mut c = server_config();
    c.sasl.mechanisms = vec![xmpp_sansio::sasl::Mechanism::External];
    let mut t = Scripted {
        s: ServerStream::new(
            Arc::new(c),
            Some(tls_info()),
            Box::new(SeededRandom::new(5)),
            now,
        ),
        now,
        out: String::new(),
        events: Vec::new(),
    };
    t.feed(HEADER).unwrap();
    t.take_out();
    t.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        .unwrap();
    let (token, _) = credentials_request(&t.events);
    t.s.provide_credentials(token, Some(xmpp_sansio::sasl::Credentials::Verified), t.now)
        .unwrap();
    t.drain();
    assert!(t.take_out().contains("<invalid-authzid/>"));
}

#[test]
fn a_host_error_text_xml_cannot_carry_still_sends_the_condition() {
    let mut t = Scripted::new(server_config());
    t.feed(HEADER).unwrap();
    t.take_out();
    t.s.fail(StreamError::new(Condition::SystemShutdown).with_text("bye\u{0}"));
    t.drain();
    assert_eq!(
        t.take_out(),
        "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
    );
}
