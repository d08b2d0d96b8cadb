//! The XML stream layer through its public API: chunking, hostile input,
//! limits, stream headers, round trips.

use proptest::prelude::*;
use xmpp_sansio::ns;
use xmpp_sansio::stream::Condition;
use xmpp_sansio::xml::{Element, Error, FrameEvent, Framer, Limit, Limits, Scope, Writer};

const HEADER: &str = "<?xml version='1.0' encoding='UTF-8'?><stream:stream from='juliet@im.example.com' \
    to='im.example.com' version='1.0' xml:lang='en' xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams'>";

/// What a framer made of a stream: its events, and the error it ended
/// with, if any, with the error's offset.
type Outcome = (Vec<FrameEvent>, Option<(Error, u64)>);

/// Feeds `data` split at `cuts` (sorted offsets).
fn outcome(data: &[u8], cuts: &[usize], limits: Limits) -> Outcome {
    let mut framer = Framer::new(limits);
    let mut events = Vec::new();
    let mut last = 0;
    let with_offset = |framer: &Framer, e: Error| {
        let offset = framer
            .error_offset()
            .expect("a failed framer has an offset");
        Some((e, offset))
    };
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let mut input = &data[last..c];
        last = c;
        loop {
            match framer.next_event(&mut input) {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(e) => return (events, with_offset(&framer, e)),
            }
        }
        assert!(input.is_empty());
    }
    match framer.finish() {
        Ok(()) => (events, None),
        Err(e) => (events, with_offset(&framer, e)),
    }
}

/// Feeds `data` split at `cuts` (sorted offsets); returns the events and
/// the error the framer ended with, if any.
fn run_cuts(data: &[u8], cuts: &[usize], limits: Limits) -> (Vec<FrameEvent>, Option<Error>) {
    let (events, err) = outcome(data, cuts, limits);
    (events, err.map(|(e, _)| e))
}

fn run(data: &[u8]) -> (Vec<FrameEvent>, Option<Error>) {
    run_cuts(data, &[], Limits::default())
}

fn stream(body: &str) -> Vec<u8> {
    format!("{HEADER}{body}").into_bytes()
}

fn elements(events: &[FrameEvent]) -> Vec<&Element> {
    events
        .iter()
        .filter_map(|e| match e {
            FrameEvent::Element(el) => Some(el),
            _ => None,
        })
        .collect()
}

fn condition_of(data: &[u8]) -> Condition {
    let (_, err) = run(data);
    err.unwrap_or_else(|| panic!("accepted: {}", String::from_utf8_lossy(data)))
        .condition()
}

/// RFC 6120 §4.8 example streams, shortened.
const SAMPLE: &str = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
    </stream:features>\n\
    <message from='juliet@im.example.com/balcony' id='ju2ba41c' to='romeo@example.net' type='chat' xml:lang='en'>\
    <body>Art thou not Romeo, and a Montague? &lt;&amp;&gt; &#x263A; ☺</body>\
    <thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>  \t\r\n\
    <iq type='result' id='r1'><query xmlns='jabber:iq:roster' ver='ver7'>\
    <item jid='nurse@example.com'/><item jid='romeo@example.net' name='R&apos;omeo'><group>Friends</group></item>\
    </query></iq><presence><show>away</show><status><![CDATA[a <b> & c]]> done</status></presence>\
    </stream:stream>";

#[test]
fn sample_stream_events() {
    let (events, err) = run(&stream(SAMPLE));
    assert_eq!(err, None);
    let FrameEvent::StreamOpen(open) = &events[0] else {
        panic!("first event is {:?}", events[0])
    };
    assert!(open.xml_declaration);
    assert_eq!(open.content_ns(), ns::CLIENT);
    assert_eq!(open.header.attr("to"), Some("im.example.com"));
    assert_eq!(open.header.attr_ns("lang", ns::XML), Some("en"));
    let els = elements(&events);
    assert_eq!(els.len(), 4);
    assert!(els[0].is("features", ns::STREAM));
    assert!(
        els[0]
            .get_child("starttls", ns::TLS)
            .unwrap()
            .has_child("required", ns::TLS)
    );
    assert_eq!(
        els[1].get_child("body", ns::CLIENT).unwrap().text(),
        "Art thou not Romeo, and a Montague? <&> ☺ ☺"
    );
    let items: Vec<_> = els[2]
        .get_child("query", "jabber:iq:roster")
        .unwrap()
        .children()
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].attr("name"), Some("R'omeo"));
    assert_eq!(
        els[3].get_child("status", ns::CLIENT).unwrap().text(),
        "a <b> & c done"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == FrameEvent::Whitespace)
            .count(),
        2
    );
    assert_eq!(events.last(), Some(&FrameEvent::StreamClose));
}

#[test]
fn every_two_way_split_gives_the_same_events() {
    let data = stream(SAMPLE);
    let whole = outcome(&data, &[], Limits::default());
    for cut in 0..=data.len() {
        assert_eq!(
            outcome(&data, &[cut], Limits::default()),
            whole,
            "cut at {cut}"
        );
    }
    let bytewise: Vec<usize> = (1..data.len()).collect();
    assert_eq!(outcome(&data, &bytewise, Limits::default()), whole);
}

#[test]
fn every_split_of_a_failing_stream_fails_the_same_way() {
    for body in [
        "<message><body>x</body></message><!-- c -->",
        "<a/><b>&bogus;</b>",
        "<a/>text",
        "<a x='1' x='2'/>",
        "<a></b>",
        "</stream:stream>junk",
        "<a><![CDATA[ok]]></a><?pi?>",
    ] {
        let data = stream(body);
        let whole = outcome(&data, &[], Limits::default());
        assert!(whole.1.is_some(), "{body}");
        for cut in 0..=data.len() {
            assert_eq!(
                outcome(&data, &[cut], Limits::default()),
                whole,
                "{body} cut at {cut}"
            );
        }
    }
}

/// Snippets a generated stream is made of.
const PIECES: &[&str] = &[
    "<message to='a@b' type='chat'><body>hi &amp; bye</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    " ",
    "\n\t ",
    "<presence><show>dnd</show><status>héllo wörld ✓</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>",
    "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>",
    "<stream:features/>",
    "<a xmlns='urn:x' xmlns:p='urn:p' p:q='&quot;1&quot;'><p:b>&#65;&#x42;<![CDATA[]]]]></p:b></a>",
    "<r xmlns='urn:xmpp:sm:3'/>",
];

/// Snippets that end a stream, with the offset in each of the item the
/// error lies in.
const BAD_PIECES: &[(&str, usize)] = &[
    ("<!-- no -->", 0),
    ("<a>&nbsp;</a>", 0),
    ("oops", 0),
    ("<a b='1' b='1'/>", 0),
    ("<x:y/>", 0),
    ("<?php ?>", 0),
    ("<!DOCTYPE a>", 0),
    ("<a>\u{1}</a>", 0),
    ("<a></a></stream:stream><b/>", 23),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_chunking_is_invisible(
        picks in proptest::collection::vec(0..PIECES.len(), 0..30),
        bad in proptest::option::of(0..BAD_PIECES.len()),
        close in any::<bool>(),
        cut_seeds in proptest::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let mut body: String = picks.iter().map(|&i| PIECES[i]).collect();
        if let Some(b) = bad {
            body.push_str(BAD_PIECES[b].0);
        }
        if close {
            body.push_str("</stream:stream>");
        }
        let data = stream(&body);
        let mut cuts: Vec<usize> = cut_seeds.iter().map(|i| i.index(data.len() + 1)).collect();
        cuts.sort_unstable();
        // The same events, error and error offset, however it is cut.
        let whole = outcome(&data, &[], Limits::default());
        prop_assert_eq!(outcome(&data, &cuts, Limits::default()), whole.clone());
        prop_assert_eq!(whole.1.is_some(), bad.is_some());
        if let (Some(b), Some((_, offset))) = (bad, &whole.1) {
            // The bad piece starts where the good ones end.
            let (piece, within) = BAD_PIECES[b];
            let start = HEADER.len() + body.len() - piece.len()
                - if close { "</stream:stream>".len() } else { 0 };
            prop_assert_eq!(*offset, (start + within) as u64);
        }
    }
}

#[test]
fn restricted_xml_and_well_formedness_conditions() {
    use Condition::*;
    let cases: &[(&str, Condition)] = &[
        ("<!-- hello -->", RestrictedXml),
        ("<message><!-- hello --></message>", RestrictedXml),
        ("<?pi data?>", RestrictedXml),
        ("<message><?pi data?></message>", RestrictedXml),
        ("<?xml version='1.0'?>", RestrictedXml),
        ("<!DOCTYPE foo [<!ENTITY x 'y'>]>", RestrictedXml),
        ("<message><!ENTITY x 'y'></message>", RestrictedXml),
        ("<message>&xxe;</message>", RestrictedXml),
        ("<message a='&xxe;'/>", RestrictedXml),
        ("<message>&#0;</message>", NotWellFormed),
        ("<message>&#x1;</message>", NotWellFormed),
        ("<message>&#xFFFE;</message>", NotWellFormed),
        ("<message>&#xDFFF;</message>", NotWellFormed),
        ("<message>&#x110000;</message>", NotWellFormed),
        ("<message>\u{7}</message>", NotWellFormed),
        ("<message a='\u{1f}'/>", NotWellFormed),
        ("<message>\u{FFFF}</message>", NotWellFormed),
        ("<message></presence>", NotWellFormed),
        ("<message><body></message></body>", NotWellFormed),
        ("<message a='1' a='2'/>", NotWellFormed),
        (
            "<message xmlns:x='u' xmlns:y='u' x:a='1' y:a='2'/>",
            NotWellFormed,
        ),
        ("<message x:a='1'/>", NotWellFormed),
        ("<x:message/>", NotWellFormed),
        ("<message xmlns:x=''/>", NotWellFormed),
        ("<message <body/>", NotWellFormed),
        ("<message a=1/>", NotWellFormed),
        ("<message>]]></message>", NotWellFormed),
        ("<message>&amp</message>", NotWellFormed),
        ("</stream:stream><message/>", NotWellFormed),
        ("</stream:stream>text", NotWellFormed),
        ("</stream>", NotWellFormed),
        ("<c:message xmlns:c='jabber:client'/>", BadNamespacePrefix),
        (
            "<message><c:body xmlns:c='jabber:client'/></message>",
            BadNamespacePrefix,
        ),
        ("hello", BadFormat),
        ("<![CDATA[x]]>", BadFormat),
        ("&amp;", BadFormat),
    ];
    for (body, cond) in cases {
        assert_eq!(condition_of(&stream(body)), *cond, "{body}");
    }
    // CDATA inside elements is fine.
    assert_eq!(
        run(&stream(
            "<message><![CDATA[<!-- not a comment -->]]></message>"
        ))
        .1,
        None
    );
}

#[test]
fn encoding_conditions() {
    let mut bad = stream("<message><body>");
    bad.extend_from_slice(b"\xC0\xAF"); // overlong '/'
    bad.extend_from_slice(b"</body></message>");
    assert_eq!(condition_of(&bad), Condition::NotWellFormed);
    let mut bad = stream("<message><body>");
    bad.extend_from_slice(b"\xED\xA0\x80"); // a surrogate
    bad.extend_from_slice(b"</body></message>");
    assert_eq!(condition_of(&bad), Condition::NotWellFormed);
    let mut bad = stream("<message><body>caf");
    bad.extend_from_slice(b"\xE9</body></message>"); // Latin-1
    assert_eq!(condition_of(&bad), Condition::NotWellFormed);
    for enc in ["ISO-8859-1", "UTF-16", "utf8"] {
        let data = format!(
            "<?xml version='1.0' encoding='{enc}'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>"
        );
        assert_eq!(
            condition_of(data.as_bytes()),
            Condition::UnsupportedEncoding,
            "{enc}"
        );
    }
    let ok = "<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>\n<stream:stream xmlns='jabber:client' \
              xmlns:stream='http://etherx.jabber.org/streams'>";
    assert_eq!(run(ok.as_bytes()).1, None);
    let no = "<?xml version='1.0' standalone='no'?><stream:stream xmlns='jabber:client' \
              xmlns:stream='http://etherx.jabber.org/streams'>";
    assert_eq!(condition_of(no.as_bytes()), Condition::RestrictedXml);
}

#[test]
fn stream_header_conditions() {
    let h = |s: &str| condition_of(s.as_bytes());
    use Condition::*;
    assert_eq!(
        h("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:client'>"),
        InvalidNamespace
    );
    assert_eq!(
        h("<stream:foo xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>"),
        InvalidNamespace
    );
    assert_eq!(
        h("<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client'>"),
        BadNamespacePrefix
    );
    assert_eq!(
        h("<stream xmlns='http://etherx.jabber.org/streams'>"),
        BadNamespacePrefix
    );
    assert_eq!(
        h("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:other'>"),
        InvalidNamespace
    );
    assert_eq!(
        h(
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' xmlns:foo='urn:foo'>"
        ),
        InvalidNamespace
    );
    assert_eq!(h("<stream:stream xmlns='jabber:client'>"), NotWellFormed);
    assert_eq!(h("<!-- hi --><stream:stream>"), RestrictedXml);
    assert_eq!(h("<!DOCTYPE stream><stream:stream>"), RestrictedXml);
    assert_eq!(
        h("<?xml version='1.0'?><?xml version='1.0'?>"),
        RestrictedXml
    );
    assert_eq!(h("junk<stream:stream>"), NotWellFormed);
    assert_eq!(h("<?xml version='2.0'?>"), NotWellFormed);
    // Dialback may be declared (XEP-0220), and is then usable as a prefix.
    let s2s = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' \
               xmlns:db='jabber:server:dialback'><db:result to='b' from='a'>key</db:result>";
    let (events, err) = run(s2s.as_bytes());
    assert_eq!(err, None);
    assert!(elements(&events)[0].is("result", ns::DIALBACK));
    // No version: 0.9, the header still reads.
    let old = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' to='c'>";
    let (events, err) = run(old.as_bytes());
    assert_eq!(err, None);
    let FrameEvent::StreamOpen(open) = &events[0] else {
        panic!()
    };
    let header = xmpp_sansio::stream::StreamHeader::from_open(open).unwrap();
    assert_eq!(header.version, None);
    assert_eq!(header.content_ns, ns::COMPONENT_ACCEPT);
}

#[test]
fn events_before_an_error_are_kept_and_the_error_is_sticky() {
    let data = stream("<a/><b/><!-- x --><c/>");
    let mut framer = Framer::new(Limits::default());
    let mut input = &data[..];
    let mut names = Vec::new();
    let err = loop {
        match framer.next_event(&mut input) {
            Ok(Some(FrameEvent::Element(e))) => names.push(e.name().to_owned()),
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(names, ["a", "b"]);
    assert_eq!(err, Error::Comment);
    let mut more: &[u8] = b"<d/>";
    assert_eq!(framer.next_event(&mut more), Err(Error::Comment));
    assert_eq!(framer.finish(), Err(Error::Comment));
    assert_eq!(framer.buffered(), 0);
}

#[test]
fn pauses_after_each_item_for_restarts_and_limit_changes() {
    // SASL success, then a new stream header in the same input.
    let mut data = stream("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    data.extend_from_slice(HEADER.as_bytes());
    data.extend_from_slice(b"<iq type='set' id='b'/>");
    let mut framer = Framer::new(Limits::before_auth());
    let mut input = &data[..];
    assert!(matches!(
        framer.next_event(&mut input),
        Ok(Some(FrameEvent::StreamOpen(_)))
    ));
    let Ok(Some(FrameEvent::Element(success))) = framer.next_event(&mut input) else {
        panic!()
    };
    assert!(success.is("success", ns::SASL));
    // Without a reset the declaration would be an error; with it, a new
    // stream begins and the looser limits apply.
    framer.reset();
    framer.set_limits(Limits::default());
    assert!(matches!(
        framer.next_event(&mut input),
        Ok(Some(FrameEvent::StreamOpen(_)))
    ));
    assert!(matches!(
        framer.next_event(&mut input),
        Ok(Some(FrameEvent::Element(_)))
    ));
    assert_eq!(framer.next_event(&mut input), Ok(None));
    // Bytes after an element stay with the caller until asked for: the
    // STARTTLS case, where they are TLS and must not be parsed.
    let data = stream("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01");
    let mut framer = Framer::new(Limits::default());
    let mut input = &data[..];
    framer.next_event(&mut input).unwrap();
    assert!(matches!(
        framer.next_event(&mut input),
        Ok(Some(FrameEvent::Element(_)))
    ));
    assert_eq!(input, b"\x16\x03\x01");
}

#[test]
fn limits_apply_and_can_change_on_a_live_stream() {
    let limits = Limits {
        max_stanza_bytes: 100,
        ..Limits::default()
    };
    let big = format!("<message><body>{}</body></message>", "x".repeat(100));
    let (events, err) = run_cuts(&stream(&format!("<a/>{big}")), &[], limits.clone());
    assert_eq!(elements(&events).len(), 1);
    assert_eq!(err, Some(Error::LimitExceeded(Limit::StanzaBytes)));
    assert_eq!(err.unwrap().condition(), Condition::PolicyViolation);
    // Exactly at the limit is fine.
    let exact = format!("<m>{}</m>", "y".repeat(93));
    assert_eq!(exact.len(), 100);
    assert_eq!(run_cuts(&stream(&exact), &[], limits.clone()).1, None);
    let l = |f: fn(&mut Limits)| {
        let mut l = Limits::default();
        f(&mut l);
        l
    };
    let cases: Vec<(String, Limits, Limit)> = vec![
        (
            "<a><b><c/></b></a>".into(),
            l(|l| l.max_depth = 2),
            Limit::Depth,
        ),
        (
            "<a x='1' y='2' z='3'/>".into(),
            l(|l| l.max_attributes = 2),
            Limit::Attributes,
        ),
        (
            "<abcdefgh/>".into(),
            l(|l| l.max_name_bytes = 4),
            Limit::NameBytes,
        ),
        (
            "<a>12345</a>".into(),
            l(|l| l.max_text_bytes = 4),
            Limit::TextBytes,
        ),
        (
            "<a b='12345'/>".into(),
            l(|l| l.max_text_bytes = 4),
            Limit::TextBytes,
        ),
    ];
    for (body, limits, which) in cases {
        let data = stream(&body);
        for cut in 0..=data.len() {
            let (_, err) = run_cuts(&data, &[cut], limits.clone());
            assert_eq!(err, Some(Error::LimitExceeded(which)), "{body} cut {cut}");
        }
    }
    let long_header = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='{}'>",
        "i".repeat(9000)
    );
    assert_eq!(
        run(long_header.as_bytes()).1,
        Some(Error::LimitExceeded(Limit::HeaderBytes))
    );
}

/// Streams `total` bytes made of `chunk` repeated, after a header, and
/// checks after every chunk that the framer holds no more than `limit`.
fn endless(chunk: &[u8], total: usize, limits: Limits) -> Error {
    let held_max = limits.max_stanza_bytes;
    let mut framer = Framer::new(limits);
    let mut header: &[u8] = HEADER.as_bytes();
    assert!(matches!(
        framer.next_event(&mut header),
        Ok(Some(FrameEvent::StreamOpen(_)))
    ));
    let mut fed = 0;
    let mut error = None;
    while fed < total {
        let mut input = chunk;
        // An unfinished element never completes: one call per chunk either
        // takes it all or fails.
        match framer.next_event(&mut input) {
            Ok(Some(ev)) => panic!("unexpected event {ev:?}"),
            Ok(None) => assert!(input.is_empty()),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
        assert!(
            framer.buffered() <= held_max,
            "holds {} bytes",
            framer.buffered()
        );
        fed += chunk.len();
    }
    assert!(fed >= total);
    error.expect("endless input was accepted")
}

#[test]
fn a_hundred_megabytes_of_endless_nesting_stays_bounded() {
    let chunk = "<a>".repeat(4096 / 3).into_bytes();
    let total = 100 << 20;
    assert_eq!(
        endless(&chunk, total, Limits::default()),
        Error::LimitExceeded(Limit::Depth)
    );
    // Without a depth limit the element size limit stops it.
    assert_eq!(
        endless(&chunk, total, Limits::relaxed(256 * 1024)),
        Error::LimitExceeded(Limit::StanzaBytes)
    );
}

#[test]
fn a_hundred_megabytes_of_endless_attributes_stays_bounded() {
    let mut chunk = String::new();
    let mut i = 0;
    while chunk.len() < 4000 {
        chunk.push_str(&format!(" a{i}='v'"));
        i += 1;
    }
    let mut first = b"<message".to_vec();
    first.extend_from_slice(chunk.as_bytes());
    let total = 100 << 20;
    // The same attribute names repeat from chunk to chunk; the counting
    // limits stop the element before any duplicate check could matter.
    assert_eq!(
        endless_after(&first, chunk.as_bytes(), total, Limits::default()),
        Error::LimitExceeded(Limit::Attributes)
    );
    assert_eq!(
        endless_after(&first, chunk.as_bytes(), total, Limits::relaxed(256 * 1024)),
        Error::LimitExceeded(Limit::StanzaBytes)
    );
}

fn endless_after(first: &[u8], chunk: &[u8], total: usize, limits: Limits) -> Error {
    let mut data = HEADER.as_bytes().to_vec();
    data.extend_from_slice(first);
    let held_max = limits.max_stanza_bytes;
    let mut framer = Framer::new(limits);
    let mut input = &data[..];
    let mut error = None;
    while let Some(r) = framer.next_event(&mut input).transpose() {
        if let Err(e) = r {
            error = Some(e);
            break;
        }
    }
    let mut fed = first.len();
    while fed < total {
        let mut input = chunk;
        while let Some(r) = framer.next_event(&mut input).transpose() {
            if let Err(e) = r {
                error.get_or_insert(e);
                break;
            }
        }
        assert!(framer.buffered() <= held_max);
        fed += chunk.len();
    }
    error.expect("endless input was accepted")
}

#[test]
fn whitespace_keepalives_are_one_event_per_run() {
    let data = stream("   <a/>\n\n<b/> \t ");
    let (events, err) = run(&data);
    assert_eq!(err, None);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            FrameEvent::StreamOpen(_) => "open",
            FrameEvent::Element(_) => "el",
            FrameEvent::Whitespace => "ws",
            FrameEvent::StreamClose => "close",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["open", "ws", "el", "ws", "el", "ws"]);
}

#[test]
fn truncated_input_is_reported_at_the_end() {
    let data = stream("<message><body>hi</bo");
    let (events, err) = run(&data);
    assert_eq!(elements(&events).len(), 0);
    assert_eq!(err, Some(Error::UnexpectedEof));
    assert_eq!(Error::UnexpectedEof.condition(), Condition::NotWellFormed);
}

#[test]
fn parse_write_parse_is_identity_for_the_sample() {
    let (events, _) = run(&stream(SAMPLE));
    let writer = Writer::new(Scope::new(ns::CLIENT).with_prefix("stream", ns::STREAM));
    let mut out = HEADER.as_bytes().to_vec();
    for el in elements(&events) {
        writer.write(el, &mut out).unwrap();
    }
    let (again, err) = run(&out);
    assert_eq!(err, None);
    assert_eq!(elements(&again), elements(&events));
    // Standalone serialization reads back in a stream of any content
    // namespace.
    for el in elements(&events) {
        let s = Writer::standalone().to_string(el).unwrap();
        let (back, err) = run(&stream(&s));
        assert_eq!(err, None, "{s}");
        assert_eq!(elements(&back), vec![el]);
    }
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9._-]{0,8}",
        Just("é".to_owned()),
        Just("x\u{B7}y".to_owned()),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("&".to_owned()),
            Just("'".to_owned()),
            Just("\"".to_owned()),
            Just("]]>".to_owned()),
            Just("\t".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\r\n".to_owned()),
            Just("☺".to_owned()),
            Just("\u{10FFFF}".to_owned()),
            "[a-zA-Z0-9 ]{1,6}",
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

fn arb_ns() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(ns::CLIENT.to_owned()),
        Just("urn:a".to_owned()),
        Just("urn:b".to_owned()),
        Just(String::new()),
        Just(ns::STREAM.to_owned()),
    ]
}

fn arb_element() -> impl Strategy<Value = Element> {
    let leaf = (
        arb_name(),
        arb_ns(),
        proptest::collection::vec((arb_name(), arb_ns(), arb_text()), 0..4),
        arb_text(),
    )
        .prop_map(|(name, ns, attrs, text)| {
            let mut e = Element::new(&name, &ns);
            for (n, ans, v) in attrs {
                // Namespaced attributes need a namespace; the XML one
                // works too.
                let ans = if ans == ns::STREAM {
                    ns::XML.to_owned()
                } else {
                    ans
                };
                e.set_attr_ns(&n, &ans, &v);
            }
            e.push_text(&text);
            e
        });
    leaf.prop_recursive(4, 32, 4, |inner| {
        (
            inner.clone(),
            proptest::collection::vec(
                prop_oneof![inner.prop_map(Ok), arb_text().prop_map(Err)],
                0..4,
            ),
        )
            .prop_map(|(mut root, kids)| {
                for k in kids {
                    match k {
                        Ok(e) => root.push_child(e),
                        Err(t) => root.push_text(&t),
                    }
                }
                root
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn serialize_then_parse_is_identity(el in arb_element()) {
        // Line-end normalization (XML 1.0 §2.11) turns CR LF into LF in
        // text read back, unless the writer escaped CR: it does.
        for writer in [
            Writer::standalone(),
            Writer::new(Scope::new(ns::CLIENT).with_prefix("stream", ns::STREAM)),
        ] {
            let mut out = HEADER.as_bytes().to_vec();
            writer.write(&el, &mut out).unwrap();
            let (events, err) = run(&out);
            prop_assert_eq!(err, None, "{}", String::from_utf8_lossy(&out));
            let els = elements(&events);
            prop_assert_eq!(els.len(), 1);
            prop_assert_eq!(els[0], &el);
            // And once more: parse, write, parse.
            let mut again = HEADER.as_bytes().to_vec();
            writer.write(els[0], &mut again).unwrap();
            let (events2, _) = run(&again);
            prop_assert_eq!(elements(&events2)[0], &el);
        }
    }
}

#[test]
fn a_self_closing_header_opens_and_closes_the_stream() {
    let data =
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>";
    for cut in 0..=data.len() {
        let (events, err) = run_cuts(data, &[cut], Limits::default());
        assert_eq!(err, None);
        assert_eq!(events.len(), 2, "cut {cut}");
        assert!(matches!(events[0], FrameEvent::StreamOpen(_)));
        assert_eq!(events[1], FrameEvent::StreamClose);
    }
    let mut more = data.to_vec();
    more.extend_from_slice(b"<a/>");
    assert_eq!(run(&more).1, Some(Error::DataAfterClose));
}

#[test]
fn error_offsets_do_not_depend_on_chunking() {
    // Hostile streams whose offsets once moved with the read size. The
    // offset is the first byte of the item the error lies in.
    let deep = format!("{HEADER}{}", "<a>".repeat(10_000));
    let mut huge = format!("{HEADER}<message a='").into_bytes();
    huge.resize(huge.len() + 10_000_000, b'x');
    let declaration = "<?xml version='1.0'?>";
    let cases: Vec<(Vec<u8>, Condition, usize)> = vec![
        (
            format!("{declaration}<!-- c --><stream:stream/>").into_bytes(),
            Condition::RestrictedXml,
            declaration.len(),
        ),
        (deep.into_bytes(), Condition::PolicyViolation, HEADER.len()),
        (huge, Condition::PolicyViolation, HEADER.len()),
        (
            stream("<message/><message><body>a<?pi x?></body></message>"),
            Condition::RestrictedXml,
            HEADER.len() + "<message/>".len(),
        ),
        (
            stream("<message/> \n <presence></message>"),
            Condition::NotWellFormed,
            HEADER.len() + "<message/> \n ".len(),
        ),
        (
            stream("<message/> text"),
            Condition::BadFormat,
            HEADER.len() + "<message/> ".len(),
        ),
        // Cut off inside an element: the element's start.
        (
            stream("<message/><message><body>a"),
            Condition::NotWellFormed,
            HEADER.len() + "<message/>".len(),
        ),
    ];
    for (data, condition, offset) in cases {
        let shown = String::from_utf8_lossy(&data[..data.len().min(120)]).into_owned();
        for chunk in [1, 2, 3, 7, 64, 4096, 65_536, usize::MAX] {
            let cuts: Vec<usize> = if chunk == usize::MAX {
                Vec::new()
            } else {
                (chunk..data.len()).step_by(chunk).collect()
            };
            let (_, err) = outcome(&data, &cuts, Limits::default());
            let (e, at) = err.unwrap_or_else(|| panic!("accepted: {shown}"));
            assert_eq!(e.condition(), condition, "{shown} in chunks of {chunk}");
            assert_eq!(at, offset as u64, "{shown} in chunks of {chunk}: {e}");
        }
    }
}
