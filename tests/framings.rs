//! The same c2s machines over every framing: RFC 7395 WebSocket (one
//! element per message, each standing alone) and elements without bytes
//! (what a BOSH session carries), beside the TCP stream of the other
//! tests.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use xmpp_sansio::c2s::{ClientStream, ServerStream, TlsPolicy};
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::stream::{Condition, Error, Event, Frame, Framing, StreamHeader, Transmit};
use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits};

const WSS: Framing = Framing::WebSocket { secure: true };

fn message(to: &str, body: &str) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::CLIENT).with_text(body))
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

/// Reads one WebSocket message as a standalone document: exactly one
/// element, every namespace declared in it.
fn standalone(message: &[u8]) -> Element {
    let mut framer = Framer::for_fragments(Limits::default());
    let mut input = message;
    let mut elements = Vec::new();
    while let Some(ev) = framer
        .next_event(&mut input)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(message)))
    {
        if let FrameEvent::Element(el) = ev {
            elements.push(el);
        }
    }
    assert_eq!(framer.buffered(), 0, "{}", String::from_utf8_lossy(message));
    assert_eq!(elements.len(), 1, "{}", String::from_utf8_lossy(message));
    elements.pop().unwrap()
}

fn over_wss() -> Pair {
    let mut c = client_config();
    c.tls = TlsPolicy::Direct;
    Pair::over(WSS, c, Arc::new(server_config()), Some(tls_info()))
}

#[test]
fn login_and_chat_over_websocket_one_element_per_message() {
    let mut p = over_wss();
    p.run();
    assert_eq!(p.client_error, None);
    assert_eq!(p.server_error, None);
    let full = format!("{USER}@{DOMAIN}/balcony");
    assert_eq!(p.client_online().as_deref(), Some(full.as_str()));
    assert_eq!(p.server_online().as_deref(), Some(full.as_str()));
    // TLS is the WebSocket's: no STARTTLS offered or used (RFC 7395 §3.9),
    // and SCRAM binds to the wss: connection.
    assert!(!p.client_events.contains(&Event::StartTls));
    let down: Vec<Element> = p.down.messages.iter().map(|m| standalone(m)).collect();
    let up: Vec<Element> = p.up.messages.iter().map(|m| standalone(m)).collect();
    assert!(
        down.iter()
            .all(|e| e.get_child("starttls", ns::TLS).is_none())
    );
    let auth = up.iter().find(|e| e.is("auth", ns::SASL)).unwrap();
    assert_eq!(auth.attr("mechanism"), Some("SCRAM-SHA-512-PLUS"));

    // RFC 7395 §3.4: <open/> each way, the server's with an id.
    assert!(up[0].is("open", ns::FRAMING), "{:?}", up[0]);
    assert_eq!(up[0].attr("to"), Some(DOMAIN));
    assert_eq!(up[0].attr("version"), Some("1.0"));
    assert!(down[0].is("open", ns::FRAMING));
    assert!(down[0].attr("id").is_some());
    // Stream elements carry their own prefix declaration (§3.3.3).
    let features = String::from_utf8(p.down.messages[1].clone()).unwrap();
    assert!(
        features.starts_with("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"),
        "{features}"
    );
    // A restart after SASL is a new <open/> from each side (§3.7), never a
    // <close/>.
    let opens = up.iter().filter(|e| e.is("open", ns::FRAMING)).count();
    assert_eq!(opens, 2);
    assert!(!up.iter().any(|e| e.is("close", ns::FRAMING)));

    // Chat both ways, each stanza in its own message, with its namespace.
    p.client.send(message("romeo@example.net", "hi")).unwrap();
    p.run();
    let last = p.up.messages.last().unwrap();
    assert!(
        String::from_utf8_lossy(last).starts_with("<message xmlns='jabber:client'"),
        "{}",
        String::from_utf8_lossy(last)
    );
    assert_eq!(
        stanzas(&p.server_events)[0].attr("from"),
        Some(full.as_str())
    );
    p.server
        .send(message(&full, "ho").with_attr("from", "romeo@example.net/orchard"))
        .unwrap();
    p.run();
    let got = stanzas(&p.client_events);
    assert_eq!(got[0].get_child("body", ns::CLIENT).unwrap().text(), "ho");

    // Closing: <close/> each way (§3.6).
    p.client.close(p.now);
    p.run();
    assert!(standalone(p.up.messages.last().unwrap()).is("close", ns::FRAMING));
    assert!(standalone(p.down.messages.last().unwrap()).is("close", ns::FRAMING));
    assert_eq!(p.client_events.last(), Some(&Event::Closed(None)));
    assert_eq!(p.server_events.last(), Some(&Event::Closed(None)));
    assert!(p.up.log.iter().all(|&b| b != 0));
}

#[test]
fn no_whitespace_keepalives_over_websocket() {
    let mut c = client_config();
    c.tls = TlsPolicy::Direct;
    c.keepalive = Some(Duration::from_secs(30));
    let mut p = Pair::over(WSS, c, Arc::new(server_config()), Some(tls_info()));
    p.run();
    let before = p.up.messages.len();
    p.advance(Duration::from_secs(30));
    // RFC 7395 §3.8: an XEP-0199 ping instead, in a message of its own.
    let sent: Vec<Element> = p.up.messages[before..]
        .iter()
        .map(|m| standalone(m))
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].has_child("ping", ns::PING), "{:?}", sent[0]);
    assert!(p.up.log.last() != Some(&b' '));
}

/// A server stream over wss: with its peer's bytes fed as messages.
fn ws_server() -> (ServerStream, Instant) {
    let now = Instant::now();
    let mut s = ServerStream::with_framing(
        Arc::new(server_config()),
        WSS,
        Some(tls_info()),
        Box::new(SeededRandom::new(1)),
        now,
    );
    s.handle_input(
        b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>",
        now,
    )
    .unwrap();
    (s, now)
}

fn messages_out(s: &mut ServerStream) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(t) = s.poll_transmit(&mut buf) {
        assert!(matches!(t, Transmit::Message(n) if n == buf.len()));
        out.push(String::from_utf8(std::mem::take(&mut buf)).unwrap());
    }
    out
}

#[test]
fn a_websocket_message_is_one_standalone_element() {
    for (message, condition) in [
        // Two elements in one message (RFC 7395 §3.3.3).
        (
            &b"<presence xmlns='jabber:client'/><presence xmlns='jabber:client'/>"[..],
            Condition::BadFormat,
        ),
        // Not starting with '<'.
        (b" <presence xmlns='jabber:client'/>", Condition::BadFormat),
        // Cut short.
        (
            b"<presence xmlns='jabber:client'><show>",
            Condition::NotWellFormed,
        ),
        // A prefix no declaration in the message binds.
        (b"<stream:features/>", Condition::NotWellFormed),
        // Restricted XML holds within messages too.
        (
            b"<presence xmlns='jabber:client'><!-- x --></presence>",
            Condition::RestrictedXml,
        ),
    ] {
        let (mut s, now) = ws_server();
        messages_out(&mut s);
        let err = s.handle_input(message, now).unwrap_err();
        assert!(
            matches!(err, Error::Local(ref e) if e.condition == condition),
            "{}: {err:?}",
            String::from_utf8_lossy(message)
        );
        // The error goes out as one message, then <close/> (§3.5, §3.6).
        let out = messages_out(&mut s);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0].starts_with("<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"),
            "{out:?}"
        );
        assert_eq!(
            out[1],
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
        );
    }
    // An XML declaration is allowed, though not recommended.
    let (mut s, now) = ws_server();
    s.handle_input(
        b"<?xml version='1.0'?><close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
        now,
    )
    .unwrap();
    assert!(s.is_closed());
}

#[test]
fn see_other_uri_is_followed_only_to_an_equally_secure_endpoint() {
    for (secure, uri, followed) in [
        (true, "wss://other.example/xmpp-websocket", true),
        (true, "https://other.example/http-bind", true),
        (true, "ws://other.example/xmpp-websocket", false),
        (true, "http://other.example/http-bind", false),
        (false, "ws://other.example/xmpp-websocket", true),
        (true, "javascript:alert(1)", false),
    ] {
        let now = Instant::now();
        let mut c = client_config();
        c.tls = if secure {
            TlsPolicy::Direct
        } else {
            TlsPolicy::AllowPlaintext
        };
        let mut client = ClientStream::with_framing(
            c,
            Framing::WebSocket { secure },
            secure.then(tls_info),
            Box::new(SeededRandom::new(2)),
            now,
        );
        client
            .handle_input(
                b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.com' id='x' version='1.0'/>",
                now,
            )
            .unwrap();
        let close =
            format!("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='{uri}'/>");
        client.handle_input(close.as_bytes(), now).unwrap();
        let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
        let redirected = events
            .iter()
            .any(|e| matches!(e, Event::SeeOtherUri { uri: u } if u == uri));
        assert_eq!(redirected, followed, "{uri} from secure={secure}");
        assert_eq!(events.last(), Some(&Event::Closed(None)));
    }
}

#[test]
fn login_and_chat_over_element_framing() {
    let mut c = client_config();
    c.tls = TlsPolicy::Direct;
    let mut p = Pair::over(
        Framing::Elements,
        c,
        Arc::new(server_config()),
        Some(tls_info()),
    );
    p.run();
    assert_eq!(p.client_error, None);
    let full = format!("{USER}@{DOMAIN}/balcony");
    assert_eq!(p.server_online().as_deref(), Some(full.as_str()));
    // No bytes at all: opens, elements, and nothing else.
    assert!(p.up.log.is_empty() && p.down.log.is_empty());
    let opens =
        p.up.frames
            .iter()
            .filter(|f| matches!(f, Transmit::Open(h) if h.to.as_deref() == Some(DOMAIN)))
            .count();
    assert_eq!(opens, 2);
    p.client.send(message("romeo@example.net", "hi")).unwrap();
    p.run();
    assert_eq!(stanzas(&p.server_events).len(), 1);
    p.client.close(p.now);
    p.run();
    assert_eq!(p.up.frames.last(), Some(&Transmit::Close));
    assert_eq!(p.server_events.last(), Some(&Event::Closed(None)));
}

#[test]
fn frames_and_bytes_do_not_mix() {
    let now = Instant::now();
    let mut tcp = ServerStream::new(
        Arc::new(server_config()),
        None,
        Box::new(SeededRandom::new(3)),
        now,
    );
    let frame = Frame::Open(StreamHeader::new(ns::CLIENT));
    assert!(matches!(
        tcp.handle_frame(frame, now),
        Err(Error::Local(ref e)) if e.condition == Condition::InternalServerError
    ));
    let mut elements = ServerStream::with_framing(
        Arc::new(server_config()),
        Framing::Elements,
        None,
        Box::new(SeededRandom::new(3)),
        now,
    );
    assert!(elements.handle_input(b"<open/>", now).is_err());
}
