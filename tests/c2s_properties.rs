//! Properties of a negotiated c2s pair: whatever stanzas either side
//! sends, in whatever reads the bytes arrive, each arrives once, intact
//! and in order (with `from` stamped by the server).

mod common;

use common::*;
use proptest::prelude::*;
use xmpp_sansio::ns;
use xmpp_sansio::stream::Event;
use xmpp_sansio::xml::Element;

fn arb_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("<&>'\"".to_owned()),
            Just("\r\n\t".to_owned()),
            Just("☺ 日本".to_owned()),
            Just("]]>".to_owned()),
            "[a-z ]{1,12}",
        ],
        0..5,
    )
    .prop_map(|v| v.concat())
}

fn arb_stanza() -> impl Strategy<Value = Element> {
    (
        0..3usize,
        arb_text(),
        proptest::option::of("[a-z]{1,8}"),
        any::<bool>(),
    )
        .prop_map(|(kind, text, id, payload)| {
            let name = ["message", "presence", "iq"][kind];
            let mut el =
                Element::new(name, ns::CLIENT).with_attr("to", "romeo@example.net/orchard");
            if let Some(id) = id {
                el.set_attr("id", &id);
            }
            if kind == 2 {
                el.set_attr("type", "set");
            }
            let mut body = Element::new(if kind == 1 { "status" } else { "body" }, ns::CLIENT);
            body.push_text(&text);
            el.push_child(body);
            if payload {
                el.push_child(
                    Element::new("x", "urn:example:p")
                        .with_attr_ns("lang", ns::XML, "en")
                        .with_text(&text),
                );
            }
            el
        })
}

fn received(events: &[Event]) -> Vec<Element> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stanza(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn stanzas_arrive_once_intact_and_in_order(
        up in proptest::collection::vec(arb_stanza(), 0..8),
        down in proptest::collection::vec(arb_stanza(), 0..8),
        chunk in prop_oneof![Just(1usize), 2..64usize, Just(usize::MAX)],
    ) {
        let mut p = Pair::standard();
        p.chunk = chunk;
        p.run();
        let me = p.client_online().expect("online");
        for s in &up {
            p.client.send(s.clone()).unwrap();
        }
        for s in &down {
            p.server.send(s.clone()).unwrap();
        }
        p.run();
        prop_assert_eq!(p.client_error.clone(), None);
        prop_assert_eq!(p.server_error.clone(), None);
        let got_up = received(&p.server_events);
        prop_assert_eq!(got_up.len(), up.len());
        for (sent, got) in up.iter().zip(&got_up) {
            // The server stamps `from`; everything else is as sent.
            let mut expected = sent.clone();
            expected.set_attr("from", &me);
            prop_assert_eq!(got, &expected);
        }
        prop_assert_eq!(received(&p.client_events), down);
    }
}
