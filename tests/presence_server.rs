//! A server's presence logic for one account (RFC 6121 §4, §8.5).

use jid::{BareJid, Jid};
use xmpp_sansio::presence::State;
use xmpp_sansio::presence::server::{Account, MAX_DIRECTED, MessageRoute};
use xmpp_sansio::stanza::{DefinedCondition, MessageType, Presence, PresenceType, Show};

fn bare(s: &str) -> BareJid {
    s.parse().unwrap()
}

/// Juliet's roster: Romeo both ways, the nurse subscribed to her only,
/// Benvolio followed by her only, Mercutio with nothing.
fn roster() -> Vec<(BareJid, State)> {
    vec![
        (bare("romeo@example.net"), State::Both),
        (bare("nurse@example.com"), State::From),
        (bare("benvolio@example.net"), State::To),
        (bare("mercutio@example.org"), State::NonePendingIn),
    ]
}

fn r(roster: &[(BareJid, State)]) -> impl Iterator<Item = (&BareJid, State)> {
    roster.iter().map(|(j, s)| (j, *s))
}

fn targets(out: &[xmpp_sansio::presence::server::Outgoing]) -> Vec<(String, Option<PresenceType>)> {
    out.iter()
        .map(|o| {
            assert_eq!(o.stanza.to(), Some(o.to.as_str()));
            (o.to.clone(), o.stanza.kind())
        })
        .collect()
}

fn s(to: &str, kind: Option<PresenceType>) -> (String, Option<PresenceType>) {
    (to.to_owned(), kind)
}

#[test]
fn initial_presence_broadcasts_and_probes() {
    let roster = roster();
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    let out = a.outbound(
        "balcony",
        Presence::available().with_show(Show::Away),
        r(&roster),
    );
    // §4.2.2: subscribers (from/both), own resources, then probes (to/both).
    assert_eq!(
        targets(&out),
        [
            s("romeo@example.net", None),
            s("nurse@example.com", None),
            s("juliet@example.com/balcony", None),
            s("romeo@example.net", Some(PresenceType::Probe)),
            s("benvolio@example.net", Some(PresenceType::Probe)),
        ]
    );
    // Full XML, stamped with the full JID; probes from the bare JID.
    assert_eq!(out[0].stanza.from(), Some("juliet@example.com/balcony"));
    assert_eq!(out[0].stanza.show(), Some(Show::Away));
    assert_eq!(out[3].stanza.from(), Some("juliet@example.com"));

    // A second resource: the first gets its presence, and it gets the
    // first's.
    a.connect("chamber");
    let out = a.outbound("chamber", Presence::available(), r(&roster));
    let t = targets(&out);
    assert!(t.contains(&s("juliet@example.com/balcony", None)));
    assert!(t.contains(&s("juliet@example.com/chamber", None)));
    let from_balcony = out
        .iter()
        .find(|o| o.stanza.from() == Some("juliet@example.com/balcony"))
        .expect("the new resource learns of the other");
    assert_eq!(from_balcony.to, "juliet@example.com/chamber");
    assert_eq!(from_balcony.stanza.show(), Some(Show::Away));

    // §4.4.2: subsequent presence, no probes.
    let out = a.outbound(
        "balcony",
        Presence::available().with_status("back"),
        r(&roster),
    );
    assert_eq!(
        targets(&out),
        [
            s("romeo@example.net", None),
            s("nurse@example.com", None),
            s("juliet@example.com/balcony", None),
            s("juliet@example.com/chamber", None),
        ]
    );
    assert_eq!(a.available().count(), 2);
}

#[test]
fn directed_presence_and_its_cleanup() {
    let roster = roster();
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    a.outbound("balcony", Presence::available(), r(&roster));
    // To a stranger (a chat room, say): routed and remembered.
    let out = a.outbound(
        "balcony",
        Presence::available().with_to("room@muc.example.org/juliet"),
        r(&roster),
    );
    assert_eq!(targets(&out), [s("room@muc.example.org/juliet", None)]);
    assert_eq!(out[0].stanza.from(), Some("juliet@example.com/balcony"));
    // To a subscriber: routed, nothing remembered.
    a.outbound(
        "balcony",
        Presence::available().with_to("romeo@example.net"),
        r(&roster),
    );
    // Subsequent broadcasts do not include the stranger (§4.6.3 rule 2).
    let out = a.outbound(
        "balcony",
        Presence::available().with_show(Show::Dnd),
        r(&roster),
    );
    assert!(!targets(&out).iter().any(|(to, _)| to.starts_with("room@")));
    // The stranger may probe and gets mere presence from that session.
    let probe = a.probe(&"room@muc.example.org/juliet".parse().unwrap(), None);
    assert_eq!(targets(&probe), [s("room@muc.example.org/juliet", None)]);
    assert_eq!(probe[0].stanza.from(), Some("juliet@example.com/balcony"));
    assert_eq!(probe[0].stanza.show(), None, "mere presence, no children");
    // Unavailable reaches subscribers, own resources and the stranger.
    let out = a.outbound(
        "balcony",
        Presence::new(PresenceType::Unavailable),
        r(&roster),
    );
    let u = Some(PresenceType::Unavailable);
    assert_eq!(
        targets(&out),
        [
            s("romeo@example.net", u),
            s("nurse@example.com", u),
            s("room@muc.example.org/juliet", u),
            s("juliet@example.com/balcony", u),
        ]
    );
    // Directed unavailable removes the entity from the list.
    a.outbound("balcony", Presence::available(), r(&roster));
    a.outbound(
        "balcony",
        Presence::available().with_to("x@y.example"),
        r(&roster),
    );
    a.outbound(
        "balcony",
        Presence::new(PresenceType::Unavailable).with_to("x@y.example"),
        r(&roster),
    );
    let out = a.disconnect("balcony", r(&roster));
    assert!(!targets(&out).iter().any(|(to, _)| to == "x@y.example"));
}

#[test]
fn disconnect_generates_unavailable() {
    let roster = roster();
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    a.connect("chamber");
    a.outbound("balcony", Presence::available(), r(&roster));
    a.outbound("chamber", Presence::available(), r(&roster));
    let out = a.disconnect("balcony", r(&roster));
    let u = Some(PresenceType::Unavailable);
    // §4.5.2: generated on the user's behalf; the gone session gets none.
    assert_eq!(
        targets(&out),
        [
            s("romeo@example.net", u),
            s("nurse@example.com", u),
            s("juliet@example.com/chamber", u),
        ]
    );
    assert_eq!(out[0].stanza.from(), Some("juliet@example.com/balcony"));
    // A session that never was available leaves silently.
    a.connect("idle");
    assert!(a.disconnect("idle", r(&roster)).is_empty());
    // Unknown sessions: nothing.
    assert!(a.disconnect("nope", r(&roster)).is_empty());
    assert!(
        a.outbound("nope", Presence::available(), r(&roster))
            .is_empty()
    );
    a.disconnect("chamber", r(&roster));
    assert!(!a.is_connected());
}

#[test]
fn probes_answered_per_section_4_3_2() {
    let roster = roster();
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    let romeo: Jid = "romeo@example.net".parse().unwrap();
    // Subscriber, no available resource: unavailable from the bare JID.
    let out = a.probe(&romeo, Some(State::Both));
    assert_eq!(
        targets(&out),
        [s("romeo@example.net", Some(PresenceType::Unavailable))]
    );
    assert_eq!(out[0].stanza.from(), Some("juliet@example.com"));
    // Available: the full XML of the last presence of each resource.
    a.outbound(
        "balcony",
        Presence::available().with_status("here"),
        r(&roster),
    );
    let out = a.probe(&romeo, Some(State::From));
    assert_eq!(targets(&out), [s("romeo@example.net", None)]);
    assert_eq!(out[0].stanza.from(), Some("juliet@example.com/balcony"));
    assert_eq!(out[0].stanza.status().as_deref(), Some("here"));
    // Not a subscriber: unsubscribed from the bare JID, no leak.
    for state in [None, Some(State::To), Some(State::NonePendingIn)] {
        let out = a.probe(&"benvolio@example.net".parse().unwrap(), state);
        assert_eq!(
            targets(&out),
            [s("benvolio@example.net", Some(PresenceType::Unsubscribed))]
        );
        assert_eq!(out[0].stanza.from(), Some("juliet@example.com"));
    }
}

#[test]
fn non_presence_types_are_not_broadcast() {
    let roster = roster();
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    for kind in [
        PresenceType::Probe,
        PresenceType::Error,
        PresenceType::Subscribe,
        PresenceType::Subscribed,
    ] {
        assert!(
            a.outbound("balcony", Presence::new(kind), r(&roster))
                .is_empty()
        );
    }
    assert_eq!(a.available().count(), 0);
    // A directed presence to an invalid JID goes nowhere.
    assert!(
        a.outbound("balcony", Presence::available().with_to("@@"), r(&roster))
            .is_empty()
    );
}

#[test]
fn directed_recipients_are_bounded() {
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    for i in 0..MAX_DIRECTED + 20 {
        let to = format!("room{i}@muc.example.org/j");
        assert_eq!(
            a.outbound(
                "balcony",
                Presence::available().with_to(&to),
                std::iter::empty()
            )
            .len(),
            1
        );
    }
    let out = a.disconnect("balcony", std::iter::empty());
    assert_eq!(out.len(), MAX_DIRECTED);
}

#[test]
fn message_routing_section_8_5() {
    let roster = roster();
    let mut a = Account::new(bare("juliet@example.com"));
    // No resources: chat and normal offline; headline and error dropped;
    // groupchat refused.
    assert_eq!(
        a.route_message(None, MessageType::Chat),
        MessageRoute::Offline
    );
    assert_eq!(
        a.route_message(None, MessageType::Normal),
        MessageRoute::Offline
    );
    assert_eq!(
        a.route_message(None, MessageType::Headline),
        MessageRoute::Ignore
    );
    assert_eq!(
        a.route_message(None, MessageType::Error),
        MessageRoute::Ignore
    );
    assert_eq!(
        a.route_message(None, MessageType::Groupchat),
        MessageRoute::Error(DefinedCondition::ServiceUnavailable)
    );
    a.connect("low");
    a.connect("high");
    a.connect("hidden");
    a.connect("other");
    // Connected but not available: still offline for the bare JID.
    assert_eq!(
        a.route_message(None, MessageType::Chat),
        MessageRoute::Offline
    );
    a.outbound("low", Presence::available().with_priority(1), r(&roster));
    a.outbound("high", Presence::available().with_priority(5), r(&roster));
    a.outbound("other", Presence::available().with_priority(5), r(&roster));
    a.outbound(
        "hidden",
        Presence::available().with_priority(-1),
        r(&roster),
    );
    let deliver = |v: &[&str]| {
        MessageRoute::Deliver(
            v.iter()
                .map(|r| format!("juliet@example.com/{r}"))
                .collect(),
        )
    };
    // Highest priority wins; ties all get it.
    assert_eq!(
        a.route_message(None, MessageType::Chat),
        deliver(&["high", "other"])
    );
    assert_eq!(
        a.route_message(None, MessageType::Normal),
        deliver(&["high", "other"])
    );
    // Headlines go to every non-negative resource.
    assert_eq!(
        a.route_message(None, MessageType::Headline),
        deliver(&["low", "high", "other"])
    );
    // Full JID: that resource, even with negative priority.
    assert_eq!(
        a.route_message(Some("hidden"), MessageType::Normal),
        deliver(&["hidden"])
    );
    // Unknown resource: chat falls back to the bare JID, others do not.
    assert_eq!(
        a.route_message(Some("gone"), MessageType::Chat),
        deliver(&["high", "other"])
    );
    assert_eq!(
        a.route_message(Some("gone"), MessageType::Normal),
        MessageRoute::Error(DefinedCondition::ServiceUnavailable)
    );
    assert_eq!(
        a.route_message(Some("gone"), MessageType::Headline),
        MessageRoute::Ignore
    );
    // Only negative priority left: offline (§8.5.2.1.1).
    for res in ["low", "high", "other"] {
        a.outbound(res, Presence::new(PresenceType::Unavailable), r(&roster));
    }
    assert_eq!(
        a.route_message(None, MessageType::Chat),
        MessageRoute::Offline
    );
}

#[test]
fn roster_pushes_go_to_interested_resources() {
    let mut a = Account::new(bare("juliet@example.com"));
    a.connect("balcony");
    a.connect("chamber");
    a.roster_requested("chamber");
    a.roster_requested("unknown");
    assert_eq!(
        a.interested().collect::<Vec<_>>(),
        ["juliet@example.com/chamber"]
    );
}
