//! Stream management bookkeeping (XEP-0198): counters modulo 2^32, the
//! bounded queue, `handled-count-too-high`, resumption that re-sends
//! exactly what was not acknowledged, and the protocol's elements.

use proptest::prelude::*;
use xmpp_sansio::sm::{HandledCountTooHigh, Ledger, NS, Nonza};
use xmpp_sansio::stanza::DefinedCondition;
use xmpp_sansio::stream::Condition;
use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits};

fn msg(i: u32) -> Element {
    Element::new("message", "jabber:client").with_attr("id", &i.to_string())
}

fn ids<'a>(els: impl IntoIterator<Item = &'a Element>) -> Vec<String> {
    els.into_iter()
        .map(|e| e.attr("id").unwrap().to_owned())
        .collect()
}

/// Parses one element as it would arrive on a stream.
fn parse(xml: &str) -> Element {
    let mut f = Framer::new(Limits::default());
    let doc = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>{xml}"
    );
    let mut input = doc.as_bytes();
    loop {
        match f.next_event(&mut input).unwrap().expect("an element") {
            FrameEvent::Element(el) => return el,
            _ => continue,
        }
    }
}

#[test]
fn acks_drop_what_was_handled() {
    let mut l = Ledger::new(10);
    for i in 0..5 {
        l.sent(msg(i)).unwrap();
    }
    assert_eq!(l.sent_count(), 5);
    assert_eq!(l.acknowledged(2), Ok(2));
    assert_eq!(ids(l.unacknowledged()), ["2", "3", "4"]);
    // The same h again, or an older one: nothing changes.
    assert_eq!(l.acknowledged(2), Ok(0));
    assert_eq!(l.acknowledged(1), Ok(0));
    assert_eq!(l.unacknowledged().count(), 3);
    // §6: more than sent ends the stream.
    let err = l.acknowledged(9).unwrap_err();
    assert_eq!(err, HandledCountTooHigh { h: 9, sent: 5 });
    let se = err.stream_error();
    assert_eq!(se.condition, Condition::UndefinedCondition);
    let app = se.application.as_ref().unwrap();
    assert!(app.is("handled-count-too-high", NS));
    assert_eq!(app.attr("h"), Some("9"));
    assert_eq!(app.attr("send-count"), Some("5"));
    // The error changed nothing.
    assert_eq!(l.unacknowledged().count(), 3);
    assert_eq!(l.acknowledged(5), Ok(3));
}

#[test]
fn counters_wrap_at_2_pow_32() {
    // Our h wraps from 2^32-1 to 0.
    let mut l = Ledger::with_counters(u32::MAX, 0, 8);
    l.received();
    assert_eq!(l.handled(), 0);
    l.received();
    assert_eq!(l.handled(), 1);
    // The peer's: 2 acknowledged before the wrap point, 4 sent across it.
    let mut l = Ledger::with_counters(0, u32::MAX - 1, 8);
    for i in 0..4 {
        l.sent(msg(i)).unwrap();
    }
    assert_eq!(l.sent_count(), 2);
    assert_eq!(l.acknowledged(u32::MAX), Ok(1));
    assert_eq!(l.acknowledged(0), Ok(1));
    assert_eq!(l.acknowledged(2), Ok(2));
    assert_eq!(l.unacknowledged().count(), 0);
    // Too high across the wrap is still too high.
    let mut l = Ledger::with_counters(0, u32::MAX - 1, 8);
    l.sent(msg(0)).unwrap();
    l.sent(msg(1)).unwrap();
    assert_eq!(
        l.acknowledged(1),
        Err(HandledCountTooHigh { h: 1, sent: 0 })
    );
    // And a stale ack across it is ignored.
    let mut l = Ledger::with_counters(0, 1, 8);
    l.sent(msg(0)).unwrap();
    assert_eq!(l.acknowledged(u32::MAX), Ok(0));
    assert_eq!(l.acked(), 1);
}

proptest! {
    /// From any starting counter, sending and acknowledging in any steps
    /// drops exactly the acknowledged stanzas, in order, and anything
    /// above what was sent is refused.
    #[test]
    fn acks_modulo_2_pow_32(start in prop_oneof![Just(u32::MAX - 3), Just(u32::MAX), any::<u32>()],
                            steps in prop::collection::vec((0u32..5, 0u32..6), 1..30)) {
        let mut l = Ledger::with_counters(0, start, 1000);
        let (mut sent, mut acked) = (0u32, 0u32);
        for (send, ack) in steps {
            for _ in 0..send {
                l.sent(msg(sent)).unwrap();
                sent += 1;
            }
            let want_ok = acked + ack <= sent;
            let h = start.wrapping_add(acked + ack);
            let r = l.acknowledged(h);
            if want_ok {
                prop_assert_eq!(r, Ok(ack as usize));
                acked += ack;
            } else {
                prop_assert_eq!(r, Err(HandledCountTooHigh { h, sent: start.wrapping_add(sent) }));
            }
            let left = ids(l.unacknowledged());
            let want: Vec<String> = (acked..sent).map(|i| i.to_string()).collect();
            prop_assert_eq!(left, want);
            prop_assert_eq!(l.sent_count(), start.wrapping_add(sent));
        }
    }
}

#[test]
fn the_queue_is_bounded() {
    let mut l = Ledger::new(2);
    l.sent(msg(0)).unwrap();
    l.sent(msg(1)).unwrap();
    let full = l.sent(msg(2)).unwrap_err();
    assert_eq!(full.queued, 2);
    let back = *full.stanza;
    assert_eq!(back.attr("id"), Some("2"));
    assert_eq!(l.sent_count(), 2);
    l.acknowledged(1).unwrap();
    l.sent(back).unwrap();
    assert_eq!(ids(l.unacknowledged()), ["1", "2"]);
}

/// Both sides of a session, a connection cut after any number of stanzas
/// and acks, then resumed: every stanza arrives exactly once, in order.
#[test]
fn resumption_delivers_exactly_once_wherever_the_cut() {
    for n in 0..12u32 {
        for cut_after in 0..=n {
            for acked_before_cut in 0..=cut_after {
                let mut sender = Ledger::new(64);
                let mut receiver = Ledger::new(64);
                let mut delivered: Vec<String> = Vec::new();
                for i in 0..n {
                    sender.sent(msg(i)).unwrap();
                    if i < cut_after {
                        // Arrived before the cut.
                        receiver.received();
                        delivered.push(i.to_string());
                    }
                }
                // The peer acked part of what it got before the cut.
                sender.acknowledged(acked_before_cut).unwrap();
                // Resume: the receiver's h says what it handled.
                let resend = sender.resume(receiver.handled()).unwrap();
                for el in &resend {
                    receiver.received();
                    delivered.push(el.attr("id").unwrap().to_owned());
                }
                let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
                assert_eq!(
                    delivered, want,
                    "n={n} cut={cut_after} acked={acked_before_cut}"
                );
                // The resent ones are still queued until acked, once.
                assert_eq!(sender.acknowledged(receiver.handled()), Ok(resend.len()));
                assert_eq!(sender.unacknowledged().count(), 0);
            }
        }
    }
}

#[test]
fn failed_resumption_hands_back_the_unacknowledged() {
    let mut l = Ledger::new(8);
    for i in 0..4 {
        l.sent(msg(i)).unwrap();
    }
    l.acknowledged(1).unwrap();
    assert_eq!(ids(&l.take_unacknowledged()), ["1", "2", "3"]);
    assert_eq!(l.unacknowledged().count(), 0);
}

#[test]
fn elements_of_the_xep_examples() {
    let cases: Vec<(&str, Nonza)> = vec![
        (
            "<enable xmlns='urn:xmpp:sm:3'/>",
            Nonza::Enable {
                resume: false,
                max: None,
            },
        ),
        (
            "<enable xmlns='urn:xmpp:sm:3' resume='true' max='600'/>",
            Nonza::Enable {
                resume: true,
                max: Some(600),
            },
        ),
        (
            "<enabled xmlns='urn:xmpp:sm:3' id='some-long-sm-id' resume='true'/>",
            Nonza::Enabled {
                id: Some("some-long-sm-id".into()),
                resume: true,
                max: None,
                location: None,
            },
        ),
        ("<r xmlns='urn:xmpp:sm:3'/>", Nonza::R),
        ("<a xmlns='urn:xmpp:sm:3' h='1'/>", Nonza::A { h: 1 }),
        (
            "<a xmlns='urn:xmpp:sm:3' h='4294967295'/>",
            Nonza::A { h: u32::MAX },
        ),
        (
            "<resume xmlns='urn:xmpp:sm:3' h='some-sequence-number' previd='x'/>",
            // Not a number: not a valid <resume/>.
            Nonza::R,
        ),
        (
            "<resume xmlns='urn:xmpp:sm:3' h='7' previd='some-long-sm-id'/>",
            Nonza::Resume {
                h: 7,
                previd: "some-long-sm-id".into(),
            },
        ),
        (
            "<resumed xmlns='urn:xmpp:sm:3' h='7' previd='some-long-sm-id'/>",
            Nonza::Resumed {
                h: 7,
                previd: "some-long-sm-id".into(),
            },
        ),
        (
            "<failed xmlns='urn:xmpp:sm:3' h='3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
            Nonza::Failed {
                h: Some(3),
                condition: Some(DefinedCondition::ItemNotFound),
            },
        ),
        (
            "<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
            Nonza::Failed {
                h: None,
                condition: Some(DefinedCondition::UnexpectedRequest),
            },
        ),
    ];
    for (xml, want) in cases {
        let el = parse(xml);
        let got = Nonza::parse(el.as_ref());
        if xml.contains("some-sequence-number") {
            assert_eq!(got, None, "{xml}");
            continue;
        }
        assert_eq!(got.as_ref(), Some(&want), "{xml}");
        // And back.
        assert_eq!(
            Nonza::parse(want.to_element().as_ref()),
            Some(want),
            "{xml}"
        );
    }
    // Missing h, wrong namespace, unknown name.
    assert_eq!(
        Nonza::parse(parse("<a xmlns='urn:xmpp:sm:3'/>").as_ref()),
        None
    );
    assert_eq!(
        Nonza::parse(parse("<a xmlns='urn:xmpp:sm:2' h='1'/>").as_ref()),
        None
    );
    assert_eq!(
        Nonza::parse(parse("<x xmlns='urn:xmpp:sm:3'/>").as_ref()),
        None
    );
    assert_eq!(
        Nonza::parse(parse("<a xmlns='urn:xmpp:sm:3' h='-1'/>").as_ref()),
        None
    );
    assert_eq!(
        Nonza::parse(parse("<a xmlns='urn:xmpp:sm:3' h='4294967296'/>").as_ref()),
        None
    );
}
