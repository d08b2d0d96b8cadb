//! Roster management (RFC 6121 §2) over the subscription machine.

use jid::BareJid;
use xmpp_sansio::presence::roster::{self, GetAnswer, Roster, RosterLimits, SetRequest, parse_set};
use xmpp_sansio::presence::{Kind, State};
use xmpp_sansio::stanza::{DefinedCondition, Iq, IqType, StanzaError};
use xmpp_sansio::xml::Element;

const R: &str = "jabber:iq:roster";

fn bare(s: &str) -> BareJid {
    s.parse().unwrap()
}

fn set_iq(item: Element) -> Iq {
    Iq::new(IqType::Set, "s1").with_payload(Element::new("query", R).with_child(item))
}

fn item(jid: &str) -> Element {
    Element::new("item", R).with_attr("jid", jid)
}

fn group(name: &str) -> Element {
    Element::new("group", R).with_text(name)
}

fn parse(iq: &Iq) -> Result<SetRequest, DefinedCondition> {
    parse_set(iq, &RosterLimits::default())
}

#[test]
fn roster_set_errors_section_2_3_3() {
    // Two items: bad-request.
    let two = Iq::new(IqType::Set, "x").with_payload(
        Element::new("query", R)
            .with_child(item("a@example.com"))
            .with_child(item("b@example.com")),
    );
    assert_eq!(parse(&two), Err(DefinedCondition::BadRequest));
    // No item, no jid, no query: bad-request.
    let none = Iq::new(IqType::Set, "x").with_payload(Element::new("query", R));
    assert_eq!(parse(&none), Err(DefinedCondition::BadRequest));
    assert_eq!(
        parse(&set_iq(Element::new("item", R))),
        Err(DefinedCondition::BadRequest)
    );
    assert_eq!(
        parse(&Iq::new(IqType::Set, "x")),
        Err(DefinedCondition::BadRequest)
    );
    // Duplicate groups: bad-request.
    let dup = item("a@example.com")
        .with_child(group("Friends"))
        .with_child(group("Friends"));
    assert_eq!(parse(&set_iq(dup)), Err(DefinedCondition::BadRequest));
    // Empty or oversized group, oversized name: not-acceptable.
    let empty = item("a@example.com").with_child(group(""));
    assert_eq!(parse(&set_iq(empty)), Err(DefinedCondition::NotAcceptable));
    let long_group = item("a@example.com").with_child(group(&"g".repeat(1024)));
    assert_eq!(
        parse(&set_iq(long_group)),
        Err(DefinedCondition::NotAcceptable)
    );
    let long_name = item("a@example.com").with_attr("name", &"n".repeat(1024));
    assert_eq!(
        parse(&set_iq(long_name)),
        Err(DefinedCondition::NotAcceptable)
    );
    let mut many = item("a@example.com");
    for i in 0..33 {
        many.push_child(group(&format!("g{i}")));
    }
    assert_eq!(parse(&set_iq(many)), Err(DefinedCondition::NotAcceptable));
    // Bad JIDs: jid-malformed.
    assert_eq!(
        parse(&set_iq(item("@@"))),
        Err(DefinedCondition::JidMalformed)
    );
    assert_eq!(
        parse(&set_iq(item("a@example.com/res"))),
        Err(DefinedCondition::JidMalformed)
    );
    // The errors are typed for replies (modify).
    let c = parse_set(&set_iq(item("@@")), &RosterLimits::default()).unwrap_err();
    let reply = StanzaError::new(c)
        .reply_to(set_iq(item("@@")).as_element())
        .unwrap();
    assert_eq!(reply.attr("type"), Some("error"));
}

#[test]
fn roster_set_ignores_subscription_values_but_remove() {
    // §2.1.2.5: 'both', 'ask' and 'approved' from a client change nothing.
    let forged = item("a@example.com")
        .with_attr("subscription", "both")
        .with_attr("ask", "subscribe")
        .with_attr("approved", "true");
    let req = parse(&set_iq(forged)).unwrap();
    let mut roster = Roster::new(RosterLimits::default());
    let done = roster.set(req).unwrap();
    assert_eq!(done.push.attr("subscription"), Some("none"));
    assert_eq!(done.push.attr("ask"), None);
    assert_eq!(done.push.attr("approved"), None);
    assert_eq!(roster.item(&bare("a@example.com")).state(), State::None);
}

#[test]
fn add_update_remove_with_pushes_and_presence() {
    let mut roster = Roster::new(RosterLimits::default());
    let nurse = bare("nurse@example.com");
    let req = parse(&set_iq(
        item("nurse@example.com")
            .with_attr("name", "Nurse")
            .with_child(group("Servants")),
    ))
    .unwrap();
    let done = roster.set(req).unwrap();
    assert_eq!(done.push.attr("name"), Some("Nurse"));
    assert_eq!(done.push.get_child("group", R).unwrap().text(), "Servants");
    assert!(done.presence.is_empty());
    // Update keeps the subscription, replaces name and groups.
    let subscribed = roster.item(&nurse).outbound(Kind::Subscribe, false);
    roster
        .apply(&nurse, &subscribed)
        .expect("pending out is pushed");
    let done = roster
        .set(parse(&set_iq(item("nurse@example.com"))).unwrap())
        .unwrap();
    assert_eq!(done.push.attr("ask"), Some("subscribe"));
    assert_eq!(done.push.attr("name"), None);
    assert!(done.push.get_child("group", R).is_none());
    // The contact approves and subscribes: Both.
    let approved = roster.item(&nurse).inbound(Kind::Subscribed);
    roster.apply(&nurse, &approved).unwrap();
    let asked = roster.item(&nurse).inbound(Kind::Subscribe);
    assert!(
        roster.apply(&nurse, &asked).is_none(),
        "pending in is not pushed"
    );
    let ok = roster.item(&nurse).outbound(Kind::Subscribed, false);
    roster.apply(&nurse, &ok).unwrap();
    assert_eq!(roster.item(&nurse).state(), State::Both);
    // §2.5.2: removing a mutual subscription sends both cancellations.
    let done = roster
        .set(
            parse(&set_iq(
                item("nurse@example.com").with_attr("subscription", "remove"),
            ))
            .unwrap(),
        )
        .unwrap();
    assert_eq!(done.push.attr("subscription"), Some("remove"));
    assert_eq!(done.presence, [Kind::Unsubscribe, Kind::Unsubscribed]);
    assert!(roster.contact(&nurse).is_none());
    // §2.5.3: removing what is not there.
    let err = roster
        .set(SetRequest::Remove { jid: nurse.clone() })
        .unwrap_err();
    assert_eq!(err, DefinedCondition::ItemNotFound);
}

#[test]
fn strangers_requests_are_kept_out_of_the_roster() {
    let mut roster = Roster::new(RosterLimits::default());
    let romeo = bare("romeo@example.net");
    let got = roster.item(&romeo).inbound(Kind::Subscribe);
    assert!(roster.apply(&romeo, &got).is_none());
    assert_eq!(roster.item(&romeo).state(), State::NonePendingIn);
    assert_eq!(roster.items().count(), 0);
    let GetAnswer::Full(q) = roster.get(None) else {
        panic!("full roster expected")
    };
    assert_eq!(q.children().count(), 0);
    // Removing it via the roster: not found (it is not a roster item).
    assert!(
        roster
            .set(SetRequest::Remove { jid: romeo.clone() })
            .is_err()
    );
    // Withdrawn: the record goes.
    let gone = roster.item(&romeo).inbound(Kind::Unsubscribe);
    roster.apply(&romeo, &gone);
    assert!(roster.contact(&romeo).is_none());
}

#[test]
fn versioning_section_2_6() {
    let mut roster = Roster::new(RosterLimits::default());
    // Bootstrapping with ver='' gets the whole roster with a version.
    let GetAnswer::Full(q) = roster.get(Some("")) else {
        panic!()
    };
    assert_eq!(q.attr("ver"), Some("0"));
    for c in ["a@example.com", "b@example.com", "c@example.com"] {
        roster.set(parse(&set_iq(item(c))).unwrap()).unwrap();
    }
    let v3 = roster.version();
    // Current version: empty result, no pushes.
    assert_eq!(
        roster.get(Some(&v3)),
        GetAnswer::UpToDate { pushes: vec![] }
    );
    // Changes since: one interim push per item, oldest first, removals
    // included.
    roster
        .set(parse(&set_iq(item("a@example.com").with_attr("name", "A"))).unwrap())
        .unwrap();
    roster
        .set(SetRequest::Remove {
            jid: bare("b@example.com"),
        })
        .unwrap();
    let GetAnswer::UpToDate { pushes } = roster.get(Some(&v3)) else {
        panic!()
    };
    let seen: Vec<(Option<&str>, Option<&str>)> = pushes
        .iter()
        .map(|p| (p.attr("jid"), p.attr("subscription")))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("a@example.com"), Some("none")),
            (Some("b@example.com"), Some("remove"))
        ]
    );
    // Unknown, future or garbage versions: the full roster.
    for v in ["999", "x", "-1"] {
        assert!(matches!(roster.get(Some(v)), GetAnswer::Full(_)), "{v}");
    }
    let GetAnswer::Full(q) = roster.get(None) else {
        panic!()
    };
    assert_eq!(q.children().count(), 2);
    assert_eq!(q.attr("ver"), Some(roster.version().as_str()));
    // The push iq.
    let iq = roster::push(
        pushes[0].clone(),
        "p1",
        "juliet@example.com/balcony",
        Some("5"),
    );
    assert_eq!(iq.kind(), Some(IqType::Set));
    assert_eq!(iq.payload().unwrap().attr("ver"), Some("5"));
}

#[test]
fn tombstones_and_size_are_bounded() {
    let limits = RosterLimits {
        max_items: 3,
        max_tombstones: 2,
        ..RosterLimits::default()
    };
    let mut roster = Roster::new(limits);
    for c in ["a@x.example", "b@x.example", "c@x.example"] {
        roster.set(parse(&set_iq(item(c))).unwrap()).unwrap();
    }
    let err = roster
        .set(parse(&set_iq(item("d@x.example"))).unwrap())
        .unwrap_err();
    assert_eq!(err, DefinedCondition::ResourceConstraint);
    assert!(roster.contact(&bare("d@x.example")).is_none());
    // Updating an existing item at the limit is fine.
    roster
        .set(parse(&set_iq(item("a@x.example"))).unwrap())
        .unwrap();
    let before = roster.version();
    for c in ["a@x.example", "b@x.example", "c@x.example"] {
        roster.set(SetRequest::Remove { jid: bare(c) }).unwrap();
    }
    // The first removal fell off: a client at `before` gets the full
    // roster rather than an incomplete set of pushes.
    assert!(matches!(roster.get(Some(&before)), GetAnswer::Full(_)));
}
