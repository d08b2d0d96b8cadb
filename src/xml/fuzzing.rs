//! The framer's fuzz entry point, shared by `fuzz/` and the corpus replay
//! test. It checks the invariants a host relies on and panics when one
//! breaks; for anything else it returns what the framer made of the input.

use super::{Element, Error, FrameEvent, Framer, Limits, Writer};

/// Limits small enough for a fuzzer to reach each of them.
pub fn limits() -> Limits {
    Limits {
        max_stanza_bytes: 2048,
        max_depth: 12,
        max_attributes: 10,
        max_name_bytes: 40,
        max_text_bytes: 1024,
        max_header_bytes: 512,
    }
}

/// Feeds `data[2..]` to a framer twice, whole and in chunks whose sizes
/// come from `data[..2]`, and checks that:
///
/// * both runs give the same events and end with the same error, at the
///   same [`Framer::error_offset`];
/// * the framer never holds more than the element size limit;
/// * an error is sticky;
/// * every element read is written back by the [`Writer`] and reads back
///   equal.
///
/// Returns the number of events and the error the stream ended with.
pub fn framer(data: &[u8]) -> (usize, Option<Error>) {
    let (seed, input) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => (0, data),
    };
    let whole = run(input, &[input.len()]);
    let mut sizes = Vec::new();
    let mut state = u32::from(seed) | 0x1_0000;
    let mut total = 0;
    while total < input.len() {
        // xorshift32: a reproducible chunking from two seed bytes.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = 1 + (state % 97) as usize;
        sizes.push(n);
        total += n;
    }
    let chunked = run(input, &sizes);
    assert_eq!(whole, chunked, "chunking changed the outcome");
    for ev in &whole.0 {
        if let FrameEvent::Element(el) = ev {
            round_trip(el);
        }
    }
    (whole.0.len(), whole.1.map(|(e, _)| e))
}

/// Events, and the error with its offset.
type Outcome = (Vec<FrameEvent>, Option<(Error, u64)>);

fn run(input: &[u8], sizes: &[usize]) -> Outcome {
    let (events, error) = read(input, sizes);
    let Some((e, framer)) = error else {
        return (events, None);
    };
    let offset = framer
        .error_offset()
        .expect("a failed framer has an offset");
    // The offset names the item the error lies in: a byte of the input.
    assert!(
        offset < input.len() as u64,
        "offset {offset} past the input"
    );
    (events, Some((e, offset)))
}

fn read(input: &[u8], sizes: &[usize]) -> (Vec<FrameEvent>, Option<(Error, Framer)>) {
    let limits = limits();
    let mut framer = Framer::new(limits.clone());
    let mut events = Vec::new();
    let mut rest = input;
    for &size in sizes {
        let (mut chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        loop {
            match framer.next_event(&mut chunk) {
                Ok(Some(ev)) => {
                    if let FrameEvent::Element(el) = &ev {
                        // A stanza-driven restart, as a stream machine
                        // would do it, so the fuzzer reaches later headers.
                        if el.name() == "success" || el.name() == "proceed" {
                            framer.reset();
                        }
                    }
                    events.push(ev);
                }
                Ok(None) => break,
                Err(e) => {
                    let mut more: &[u8] = b"<a/>";
                    assert_eq!(
                        framer.next_event(&mut more),
                        Err(e.clone()),
                        "error not sticky"
                    );
                    return (events, Some((e, framer)));
                }
            }
            assert!(framer.buffered() <= limits.max_stanza_bytes.max(limits.max_header_bytes));
        }
        assert!(framer.buffered() <= limits.max_stanza_bytes.max(limits.max_header_bytes));
    }
    match framer.finish() {
        Ok(()) => (events, None),
        Err(e) => (events, Some((e, framer))),
    }
}

fn round_trip(el: &Element) {
    let xml = Writer::standalone()
        .to_string(el)
        .expect("an element read from a stream can be written");
    let mut stream =
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            .to_vec();
    stream.extend_from_slice(xml.as_bytes());
    let mut framer = Framer::new(Limits::relaxed(1 << 20));
    let mut input = &stream[..];
    let mut back = None;
    while let Some(ev) = framer
        .next_event(&mut input)
        .unwrap_or_else(|e| panic!("written element does not read back: {e}: {xml}"))
    {
        if let FrameEvent::Element(e) = ev {
            back = Some(e);
        }
    }
    assert_eq!(back.as_ref(), Some(el), "round trip changed {xml}");
}
