//! Our parser against an independent one: every stanza of a generated
//! realistic stream (the benchmark's) is read by the framer and, from the
//! same bytes, by minidom; the two trees must agree.

#![cfg(feature = "minidom")]

#[path = "../benches/support/corpus.rs"]
mod corpus;

use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits};

#[test]
fn framer_and_minidom_agree_on_a_realistic_stream() {
    let (data, stanzas) = corpus::generate(1 << 20);
    let mut framer = Framer::new(Limits::default());
    let mut input = &data[..];
    let mut compared = 0;
    loop {
        let before = data.len() - input.len();
        let Some(ev) = framer.next_event(&mut input).unwrap() else {
            break;
        };
        let FrameEvent::Element(ours) = ev else {
            continue;
        };
        let end = data.len() - input.len();
        assert!(end > before);
        let raw = &data[end - framer.item_bytes()..end];
        // minidom reads a document: give the stanza the stream's context.
        let mut doc = b"<wrapper xmlns='jabber:client'>".to_vec();
        doc.extend_from_slice(raw);
        doc.extend_from_slice(b"</wrapper>");
        let wrapper: minidom::Element = std::str::from_utf8(&doc).unwrap().parse().unwrap();
        let theirs = wrapper.children().next().expect("one child");
        let theirs = Element::try_from(theirs).unwrap();
        assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(raw));
        compared += 1;
    }
    assert_eq!(compared, stanzas);
}
