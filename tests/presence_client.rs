//! The client's presence model (RFC 6121 §4).

use xmpp_sansio::presence::client::{Availability, MAX_RESOURCES, Presences};
use xmpp_sansio::stanza::{Presence, PresenceType, Show};
use xmpp_sansio::xml::Element;

fn bare(s: &str) -> jid::BareJid {
    s.parse().unwrap()
}

fn avail(from: &str) -> Presence {
    Presence::available().with_from(from)
}

#[test]
fn best_resource_by_priority_then_show_then_recency() {
    let mut book = Presences::new();
    let j = bare("juliet@example.com");
    assert_eq!(book.availability(&j), Availability::Offline);
    book.handle(&avail("juliet@example.com/a").with_show(Show::Dnd));
    book.handle(&avail("juliet@example.com/b").with_show(Show::Away));
    // Same priority: the more available wins.
    assert_eq!(book.availability(&j), Availability::Away);
    let best = book.get(&j).unwrap().best().unwrap();
    assert_eq!(best.0, "b");
    // Higher priority wins over availability.
    book.handle(
        &avail("juliet@example.com/a")
            .with_show(Show::Dnd)
            .with_priority(5),
    );
    assert_eq!(book.availability(&j), Availability::Dnd);
    // Equal priority and show: the most recent.
    book.handle(
        &avail("juliet@example.com/c")
            .with_show(Show::Dnd)
            .with_priority(5)
            .with_status("later"),
    );
    let (res, p) = book.get(&j).unwrap().best().unwrap();
    assert_eq!((res, p.status.as_deref()), ("c", Some("later")));
    assert_eq!(book.get(&j).unwrap().resources().count(), 3);
}

#[test]
fn unavailable_and_errors_remove_resources() {
    let mut book = Presences::new();
    let j = bare("juliet@example.com");
    book.handle(&avail("juliet@example.com/a").with_show(Show::Chat));
    book.handle(&avail("juliet@example.com/b"));
    let change = book
        .handle(&Presence::new(PresenceType::Unavailable).with_from("juliet@example.com/a"))
        .unwrap();
    assert_eq!(change.before, Availability::Chat);
    assert_eq!(change.after, Availability::Available);
    assert_eq!(change.resource.as_deref(), Some("a"));
    // Unknown resource going offline changes nothing.
    assert!(
        book.handle(&Presence::new(PresenceType::Unavailable).with_from("juliet@example.com/zz"))
            .is_none()
    );
    // From the bare JID (e.g. after unsubscribed): every resource.
    book.handle(&avail("juliet@example.com/c"));
    let change = book
        .handle(&Presence::new(PresenceType::Unavailable).with_from("juliet@example.com"))
        .unwrap();
    assert_eq!(change.resource, None);
    assert_eq!(change.after, Availability::Offline);
    assert!(book.get(&j).is_none());
    // An error presence from a contact: unreachable, so offline.
    book.handle(&avail("juliet@example.com/a"));
    book.handle(&Presence::new(PresenceType::Error).with_from("juliet@example.com/a"));
    assert_eq!(book.availability(&j), Availability::Offline);
}

#[test]
fn subscription_stanzas_probes_and_junk_change_nothing() {
    let mut book = Presences::new();
    for kind in [
        PresenceType::Subscribe,
        PresenceType::Subscribed,
        PresenceType::Unsubscribe,
        PresenceType::Unsubscribed,
        PresenceType::Probe,
    ] {
        assert!(
            book.handle(&Presence::new(kind).with_from("a@b/c"))
                .is_none()
        );
    }
    assert!(book.handle(&Presence::available()).is_none());
    assert!(book.handle(&avail("@@bad@@/x")).is_none());
    // An unknown type is not presence information either.
    let odd = Presence::try_from(
        Element::new("presence", "jabber:client")
            .with_attr("type", "bogus")
            .with_attr("from", "a@b/c"),
    )
    .unwrap();
    assert!(book.handle(&odd).is_none());
    assert_eq!(book.online().count(), 0);
    // Invalid priority counts as 0 (RFC 6121 §4.7.2.3).
    let mut el = Element::new("presence", "jabber:client").with_attr("from", "a@b/c");
    el.push_child(Element::new("priority", "jabber:client").with_text("900"));
    book.handle(&Presence::try_from(el).unwrap());
    assert_eq!(
        book.get(&bare("a@b")).unwrap().best().unwrap().1.priority,
        0
    );
}

#[test]
fn resources_per_contact_are_bounded() {
    let mut book = Presences::new();
    for i in 0..MAX_RESOURCES + 50 {
        book.handle(&avail(&format!("flood@example.com/r{i}")));
    }
    assert_eq!(
        book.get(&bare("flood@example.com"))
            .unwrap()
            .resources()
            .count(),
        MAX_RESOURCES
    );
    // Known resources still update.
    book.handle(
        &avail("flood@example.com/r0")
            .with_show(Show::Chat)
            .with_priority(9),
    );
    assert_eq!(
        book.availability(&bare("flood@example.com")),
        Availability::Chat
    );
    book.clear();
    assert_eq!(book.online().count(), 0);
}

#[test]
fn own_presence_updates() {
    let away = Availability::Away.presence(Some("lunch"), 3);
    assert_eq!(away.show(), Some(Show::Away));
    assert_eq!(away.status().as_deref(), Some("lunch"));
    assert_eq!(away.priority(), 3);
    assert_eq!(Availability::of(&away), Availability::Away);
    let online = Availability::Available.presence(None, 0);
    assert!(online.is_available() && online.show().is_none());
    let off = Availability::Offline.presence(Some("bye"), 0);
    assert_eq!(off.kind(), Some(PresenceType::Unavailable));
    assert_eq!(Availability::of(&off), Availability::Offline);
    for a in [
        Availability::Chat,
        Availability::Available,
        Availability::Away,
        Availability::Xa,
        Availability::Dnd,
    ] {
        assert_eq!(Availability::of(&a.presence(None, 0)), a);
    }
}
