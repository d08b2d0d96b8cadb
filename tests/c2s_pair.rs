//! Client and server c2s machines negotiating with each other in memory:
//! the whole negotiation, failure paths, timeouts, chunking.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use xmpp_sansio::c2s::{ServerConfig, TlsPolicy, TlsRequirement};
use xmpp_sansio::ns;
use xmpp_sansio::sasl::{self, Mechanism};
use xmpp_sansio::stream::{Condition, Error, Event};
use xmpp_sansio::xml::Element;

fn stanzas(events: &[Event]) -> Vec<&Element> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stanza(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn message(to: &str, body: &str) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::CLIENT).with_text(body))
}

#[test]
fn full_negotiation_then_stanzas_both_ways() {
    let mut p = Pair::standard();
    p.run();
    assert_eq!(p.client_error, None);
    assert_eq!(p.server_error, None);
    let full = format!("{USER}@{DOMAIN}/balcony");
    assert_eq!(p.client_online().as_deref(), Some(full.as_str()));
    assert_eq!(p.server_online().as_deref(), Some(full.as_str()));
    assert!(p.client_events.contains(&Event::StartTls));
    assert!(p.server_events.contains(&Event::StartTls));
    // The strongest mechanism both sides have, with channel binding.
    let wire = String::from_utf8_lossy(&p.to_server).into_owned();
    assert!(wire.contains("mechanism='SCRAM-SHA-512-PLUS'"), "{wire}");

    // A client cannot spoof `from`: the server stamps it.
    p.client
        .send(message("romeo@example.net", "hi").with_attr("from", "mallory@evil.example/x"))
        .unwrap();
    p.run();
    let got = stanzas(&p.server_events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attr("from"), Some(full.as_str()));
    assert_eq!(got[0].get_child("body", ns::CLIENT).unwrap().text(), "hi");
    // Subscription presence carries the bare JID (RFC 6121 §3.1.2).
    p.client
        .send(
            Element::new("presence", ns::CLIENT)
                .with_attr("to", "romeo@example.net")
                .with_attr("type", "subscribe"),
        )
        .unwrap();
    p.run();
    assert_eq!(
        stanzas(&p.server_events)[1].attr("from"),
        Some(format!("{USER}@{DOMAIN}").as_str())
    );

    p.server
        .send(message(&full, "ho").with_attr("from", "romeo@example.net/orchard"))
        .unwrap();
    p.run();
    let got = stanzas(&p.client_events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].get_child("body", ns::CLIENT).unwrap().text(), "ho");

    // Closing handshake (RFC 6120 §4.4).
    p.client.close(p.now);
    p.run();
    assert!(p.client.is_closed());
    assert!(p.server.is_closed());
    assert_eq!(p.client_events.last(), Some(&Event::Closed(None)));
    assert_eq!(p.server_events.last(), Some(&Event::Closed(None)));
}

#[test]
fn byte_by_byte_delivery_gives_the_same_outcome() {
    let mut whole = Pair::standard();
    whole.run();
    let mut bytewise = Pair::standard();
    bytewise.chunk = 1;
    bytewise.run();
    assert_eq!(bytewise.client_error, None);
    assert_eq!(bytewise.client_online(), whole.client_online());
    assert_eq!(bytewise.to_server, whole.to_server);
    assert_eq!(bytewise.to_client, whole.to_client);
    assert_eq!(bytewise.client_events, whole.client_events);
    assert_eq!(bytewise.server_events, whole.server_events);
}

#[test]
fn every_scram_mechanism_negotiates() {
    for m in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha512Plus,
        Mechanism::Plain,
    ] {
        let mut c = client_config();
        c.sasl.preference = vec![m];
        let mut p = Pair::new(c, server_config());
        p.run();
        assert_eq!(p.client_error, None, "{m:?}");
        assert!(p.client_online().is_some(), "{m:?}");
        let wire = String::from_utf8_lossy(&p.to_server).into_owned();
        assert!(wire.contains(&format!("mechanism='{}'", m.name())), "{m:?}");
    }
}

#[test]
fn wrong_password_is_an_authentication_failure() {
    let mut c = client_config();
    c.password = Some("wrong".into());
    let mut p = Pair::new(c, server_config());
    p.run();
    assert_eq!(
        p.client_error,
        Some(Error::AuthenticationFailed {
            condition: sasl::Condition::NotAuthorized,
            text: None
        })
    );
    assert!(p.client_online().is_none());
    assert!(p.server_online().is_none());
}

#[test]
fn unknown_user_fails_like_a_wrong_password() {
    let mut c = client_config();
    c.jid = format!("nobody@{DOMAIN}").parse().unwrap();
    let mut p = Pair::new(c, server_config());
    p.run();
    assert!(matches!(
        p.client_error,
        Some(Error::AuthenticationFailed {
            condition: sasl::Condition::NotAuthorized,
            ..
        })
    ));
}

#[test]
fn client_insists_on_tls_when_it_is_not_offered() {
    let mut s = server_config();
    s.tls = TlsRequirement::Unavailable;
    s.sasl.allow_plain_without_tls = true;
    let mut p = Pair::new(client_config(), s);
    p.run();
    assert!(
        matches!(p.client_error, Some(Error::Negotiation(ref why)) if why.contains("STARTTLS")),
        "{:?}",
        p.client_error
    );
    // Nothing secret went out.
    let wire = String::from_utf8_lossy(&p.to_server).into_owned();
    assert!(!wire.contains("<auth"), "{wire}");
}

#[test]
fn plaintext_only_when_the_host_allows_it() {
    let mut s = server_config();
    s.tls = TlsRequirement::Unavailable;
    let mut c = client_config();
    c.tls = TlsPolicy::AllowPlaintext;
    let mut p = Pair::new(c, s);
    p.run();
    assert_eq!(p.client_error, None);
    assert!(p.client_online().is_some());
    assert!(!p.client_events.contains(&Event::StartTls));
    let wire = String::from_utf8_lossy(&p.to_server).into_owned();
    assert!(wire.contains("mechanism='SCRAM-SHA-512'"), "{wire}");
}

#[test]
fn negotiation_timeout_ends_the_stream() {
    let mut p = Pair::standard();
    // Server never answers: only the client runs.
    let mut out = Vec::new();
    p.client.poll_transmit(&mut out);
    assert_eq!(
        p.client.poll_timeout(),
        Some(p.now + Duration::from_secs(60))
    );
    p.now += Duration::from_secs(61);
    let err = p.client.handle_timeout(p.now).unwrap_err();
    assert!(matches!(err, Error::Local(ref e) if e.condition == Condition::ConnectionTimeout));
    let mut out = Vec::new();
    p.client.poll_transmit(&mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("<connection-timeout"), "{out}");
    assert!(out.ends_with("</stream:stream>"));
    // Sticky.
    assert_eq!(p.client.handle_input(b"<x/>", p.now), Err(err));
}

#[test]
fn resource_conflicts_are_the_hosts_decision() {
    let mut p = Pair::standard();
    // The host already has a session with this resource and keeps it.
    p.bound.push("balcony".into());
    p.run();
    assert!(
        matches!(p.client_error, Some(Error::Negotiation(ref why)) if why.contains("bind")),
        "{:?}",
        p.client_error
    );
    let wire = String::from_utf8_lossy(&p.to_client).into_owned();
    assert!(
        wire.contains("<conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"),
        "{wire}"
    );
    // Without a requested resource, the host picks one.
    let mut c = client_config();
    c.resource = None;
    let mut p = Pair::new(c, server_config());
    p.run();
    assert_eq!(
        p.client_online().as_deref(),
        Some(format!("{USER}@{DOMAIN}/generated").as_str())
    );
}

#[test]
fn unknown_first_level_elements_after_binding() {
    let mut s = server_config();
    s.extension_namespaces.push("urn:xmpp:sm:3".into());
    let mut p = Pair::new(client_config(), s);
    p.run();
    p.client.send(Element::new("r", "urn:xmpp:sm:3")).unwrap();
    p.run();
    assert!(
        stanzas(&p.server_events)
            .iter()
            .any(|e| e.is("r", "urn:xmpp:sm:3"))
    );
    p.client
        .send(Element::new("foo", "urn:example:unknown"))
        .unwrap();
    p.run();
    assert!(
        matches!(p.server_error, Some(Error::Local(ref e)) if e.condition == Condition::UnsupportedStanzaType)
    );
    assert!(
        matches!(p.client_error, Some(Error::Remote(ref e)) if e.condition == Condition::UnsupportedStanzaType)
    );
}

#[test]
fn an_authzid_for_another_account_is_refused() {
    let mut c = client_config();
    c.sasl.preference = vec![Mechanism::ScramSha256Plus];
    let mut p = Pair::new(c, server_config());
    p.run();
    assert!(p.client_online().is_some());
    // The same exchange asking to act as someone else.
    for authzid in ["admin@example.com", "juliet@other.example"] {
        let mut c = client_config();
        c.authzid = Some(authzid.into());
        let mut p = Pair::new(c, server_config());
        p.run();
        assert_eq!(
            p.client_error,
            Some(Error::AuthenticationFailed {
                condition: sasl::Condition::InvalidAuthzid,
                text: None
            }),
            "{authzid}"
        );
        assert!(p.server_online().is_none());
    }
    // Naming oneself is fine.
    let mut c = client_config();
    c.authzid = Some(format!("{USER}@{DOMAIN}"));
    let mut p = Pair::new(c, server_config());
    p.run();
    assert!(p.client_online().is_some(), "{:?}", p.client_error);
}

/// The `s=` and `i=` of the SCRAM server-first message the server wrote.
fn server_first_salt(p: &Pair) -> (String, String) {
    use base64::Engine;
    let wire = String::from_utf8_lossy(&p.to_client).into_owned();
    let start = wire.find("<challenge").expect("a challenge");
    let text = &wire[start..];
    let text = &text[text.find('>').unwrap() + 1..text.find("</challenge>").unwrap()];
    let first = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    let first = String::from_utf8(first).unwrap();
    let attr = |k: &str| {
        first
            .split(',')
            .find_map(|a| a.strip_prefix(k))
            .unwrap()
            .to_owned()
    };
    (attr("s="), attr("i="))
}

#[test]
fn unknown_user_sees_the_same_salt_on_every_connection() {
    // One configuration for the whole server, shared by its sessions.
    let shared = Arc::new(server_config());
    let attempt = |config: Arc<ServerConfig>, user: &str| {
        let mut c = client_config();
        c.jid = format!("{user}@{DOMAIN}").parse().unwrap();
        let mut p = Pair::sharing(c, config);
        p.run();
        assert_eq!(p.client_online().is_some(), user == USER);
        server_first_salt(&p)
    };
    let first = attempt(shared.clone(), "nobody");
    assert_eq!(attempt(shared.clone(), "nobody"), first);
    // After a restart, from the stored key: still the same.
    let restarted = Arc::new(server_config());
    assert_eq!(attempt(restarted, "nobody"), first);
    // Like a real user's, whose record stays the same too.
    let real = attempt(shared.clone(), USER);
    assert_eq!(attempt(shared.clone(), USER), real);
    // Different unknown users get unrelated salts, with the same count.
    let other = attempt(shared, "ghost");
    assert_ne!(other.0, first.0);
    assert_eq!(other.1, first.1);
}

#[test]
fn a_scram_login_leaves_a_cache_for_the_next_connection() {
    let mut p = Pair::standard();
    p.run();
    assert!(p.client_online().is_some());
    let cache = p
        .client
        .take_scram_cache()
        .expect("a SCRAM login leaves a cache");
    assert_eq!(cache.len(), 1);
    // The next connection of the account uses it and hands it back.
    let mut next = Pair::standard();
    next.client.set_scram_cache(cache);
    next.run();
    assert!(next.client_online().is_some());
    assert_eq!(next.client.take_scram_cache().map(|c| c.len()), Some(1));
    // A cache that does not match the password shows it is consulted
    // instead of PBKDF2: the proof is then wrong.
    let mut poisoned = sasl::SaltedPasswordCache::new();
    let record = record(sasl::ScramHash::Sha512);
    poisoned.insert(
        sasl::ScramHash::Sha512,
        record.salt(),
        record.iterations(),
        &[0; 64],
    );
    let mut bad = Pair::standard();
    bad.client.set_scram_cache(poisoned);
    bad.run();
    assert!(matches!(
        bad.client_error,
        Some(Error::AuthenticationFailed { .. })
    ));
}

/// Client bytes the server received after `from`.
fn server_wrote_since(p: &Pair, from: usize) -> String {
    String::from_utf8_lossy(&p.to_client[from..]).into_owned()
}

#[test]
fn the_server_advertises_and_enforces_its_idle_timeout() {
    let mut c = client_config();
    c.keepalive = None;
    let mut p = Pair::new(c, server_config());
    p.run();
    assert!(p.server_online().is_some());
    // XEP-0478: advertised with the limits once authenticated.
    let wire = String::from_utf8_lossy(&p.to_client).into_owned();
    assert!(wire.contains("<idle-seconds>300</idle-seconds>"), "{wire}");
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(300))
    );

    // Traffic moves the check: a stanza at 200 s, so nothing at 300 s.
    p.advance(Duration::from_secs(200));
    p.client.send(message("romeo@example.net", "hi")).unwrap();
    p.run();
    let mark = p.to_client.len();
    p.advance(Duration::from_secs(100));
    assert_eq!(server_wrote_since(&p, mark), "");
    // Silent for 300 s since the stanza: an XEP-0199 ping.
    p.advance(Duration::from_secs(200));
    let ping = server_wrote_since(&p, mark);
    assert!(ping.contains("<ping xmlns='urn:xmpp:ping'/>"), "{ping}");
    let iq = stanzas(&p.client_events)
        .into_iter()
        .find(|s| s.has_child("ping", ns::PING))
        .expect("the client host sees the ping")
        .clone();
    // The host answers; the answer does not reach the server's host.
    let answer: Element = xmpp_sansio::stanza::Iq::try_from(iq)
        .unwrap()
        .result(None)
        .into();
    p.client.send(answer).unwrap();
    let before = stanzas(&p.server_events).len();
    p.run();
    assert_eq!(stanzas(&p.server_events).len(), before);
    p.advance(Duration::from_secs(60));
    assert_eq!(p.server_error, None);

    // Silent again, and no answer this time: connection-timeout.
    p.advance(Duration::from_secs(300));
    assert_eq!(p.server_error, None);
    p.advance(Duration::from_secs(60));
    assert!(matches!(
        p.server_error,
        Some(Error::Local(ref e)) if e.condition == Condition::ConnectionTimeout
    ));
    assert!(matches!(
        p.client_error,
        Some(Error::Remote(ref e)) if e.condition == Condition::ConnectionTimeout
    ));
}

#[test]
fn a_client_keeps_within_the_advertised_idle_time() {
    let mut c = client_config();
    // Longer than the server's idle time: the client shortens it.
    c.keepalive = Some(Duration::from_secs(900));
    let mut s = server_config();
    s.idle_timeout = Some(Duration::from_secs(120));
    s.idle_ping_timeout = None;
    let mut p = Pair::new(c, s);
    p.run();
    for _ in 0..30 {
        p.advance(Duration::from_secs(30));
    }
    assert_eq!(p.server_error, None);
    assert_eq!(p.client_error, None);
}

#[test]
fn without_a_ping_timeout_an_idle_client_is_cut_at_once() {
    let mut c = client_config();
    c.keepalive = None;
    let mut s = server_config();
    s.idle_timeout = Some(Duration::from_secs(120));
    s.idle_ping_timeout = None;
    let mut p = Pair::new(c, s);
    p.run();
    p.advance(Duration::from_secs(119));
    assert_eq!(p.server_error, None);
    p.advance(Duration::from_secs(1));
    assert!(matches!(
        p.server_error,
        Some(Error::Local(ref e)) if e.condition == Condition::ConnectionTimeout
    ));
    // And with no idle timeout at all, nothing is ever checked.
    let mut c = client_config();
    c.keepalive = None;
    let mut s = server_config();
    s.idle_timeout = None;
    let mut p = Pair::new(c, s);
    p.run();
    assert_eq!(p.server.poll_timeout(), None);
    let wire = String::from_utf8_lossy(&p.to_client).into_owned();
    assert!(!wire.contains("idle-seconds"), "{wire}");
}

#[test]
fn informative_features_are_offered_after_authentication() {
    let mut server = server_config();
    server.informative_features = vec![
        Element::new("ver", ns::ROSTER_VER),
        Element::new("sub", ns::PRE_APPROVAL),
    ];
    let mut p = Pair::new(client_config(), server);
    p.run();
    assert!(p.client_online().is_some());
    assert!(p.client.server_offers("sub", ns::PRE_APPROVAL));
    assert!(p.client.server_offers("ver", ns::ROSTER_VER));
    // Only once authenticated: the first features carry neither.
    let wire = String::from_utf8_lossy(&p.to_client).into_owned();
    let first = wire.find("urn:xmpp:features:pre-approval").unwrap();
    let auth = wire.find("<success").unwrap();
    assert!(first > auth, "{wire}");
    // Without them, the client sees none.
    let mut plain = Pair::standard();
    plain.run();
    assert!(!plain.client.server_offers("sub", ns::PRE_APPROVAL));
}
