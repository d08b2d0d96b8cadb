//! Reading a realistic client-to-server stream, fed in 4096-byte chunks:
//! this crate (frame + element tree per stanza) against quick-xml's raw
//! tokenizer (no tree: the ceiling of a tokenizer-based design) and the
//! xmpp-rs parser stack (rxml + minidom, as tokio-xmpp builds stanzas).
//!
//! `cargo bench --bench stream` prints a summary table (median of 9
//! interleaved rounds,
//! allocations counted by a counting allocator) and then criterion's
//! measurements. `cargo bench --bench stream -- --summary` prints only the
//! table, `--row N` only its row N and `--mb N` uses an N-MiB stream
//! (both for profiling).

use std::hint::black_box;
use std::io::BufReader;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/corpus.rs"]
mod corpus;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const CHUNK: usize = 4096;
const TARGET_BYTES: usize = 24 << 20;

/// This crate: the framer and one `Element` per top-level element.
fn xmpp_sansio(data: &[u8]) -> usize {
    use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
    let mut framer = Framer::new(Limits::default());
    let mut n = 0;
    for chunk in data.chunks(CHUNK) {
        let mut input = chunk;
        while let Some(ev) = framer.next_event(&mut input).expect("valid stream") {
            if let FrameEvent::Element(el) = ev {
                black_box(&el);
                n += 1;
            }
        }
    }
    n
}

/// quick-xml tokenizing from a 4 KiB buffered reader, no tree.
fn quick_xml_raw(data: &[u8]) -> usize {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(BufReader::with_capacity(CHUNK, data));
    let mut buf = Vec::with_capacity(CHUNK);
    let mut depth = 0usize;
    let mut n = 0;
    loop {
        match reader.read_event_into(&mut buf).expect("valid stream") {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 1 {
                    n += 1;
                }
            }
            Event::Empty(_) if depth == 1 => n += 1,
            Event::Eof => break,
            ev => {
                black_box(&ev);
            }
        }
        buf.clear();
    }
    n
}

/// rxml's incremental parser feeding minidom's tree builder; each
/// completed top-level element is taken off the stream root.
fn rxml_minidom(data: &[u8]) -> usize {
    use rxml::Parse;
    use rxml::error::EndOrError;
    let mut parser = rxml::RawParser::new();
    let mut tree = minidom::tree_builder::TreeBuilder::new();
    let mut n = 0;
    for chunk in data.chunks(CHUNK) {
        let mut input = chunk;
        loop {
            match parser.parse(&mut input, false) {
                Ok(Some(ev)) => {
                    let foot = matches!(ev, rxml::RawEvent::ElementFoot(_));
                    tree.process_event(ev).expect("valid tree");
                    if foot && tree.depth() == 1 {
                        let el = tree.unshift_child().expect("a child");
                        black_box(&el);
                        n += 1;
                    }
                }
                Ok(None) => break,
                Err(EndOrError::NeedMoreData) => break,
                Err(e) => panic!("rxml: {e:?}"),
            }
        }
    }
    n
}

type Row = (&'static str, fn(&[u8]) -> usize);

const ROWS: [Row; 3] = [
    ("xmpp-sansio (framer + tree)", xmpp_sansio),
    ("quick-xml 0.42 (tokens only)", quick_xml_raw),
    ("rxml 0.14 + minidom 0.19", rxml_minidom),
];

fn summary(data: &[u8], stanzas: usize, only: Option<usize>) {
    println!(
        "stream: {:.1} MB, {} top-level elements ({} bytes each on average), {}-byte chunks",
        data.len() as f64 / 1e6,
        stanzas,
        data.len() / stanzas,
        CHUNK
    );
    let rows: Vec<(usize, Row)> = ROWS
        .into_iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
        .collect();
    let mut counts = Vec::new();
    for (_, (name, f)) in &rows {
        let (n, allocs, bytes) = alloc::count(|| f(data));
        assert_eq!(n, stanzas, "{name} counted {n} elements");
        counts.push((allocs, bytes));
    }
    // Rounds interleave the rows, so that a slow spell of the machine
    // touches every row alike; each row's figure is its median.
    const ROUNDS: usize = 9;
    let mut times = vec![Vec::with_capacity(ROUNDS); rows.len()];
    for _ in 0..ROUNDS {
        for (k, (_, (_, f))) in rows.iter().enumerate() {
            let t = Instant::now();
            black_box(f(black_box(data)));
            times[k].push(t.elapsed());
        }
    }
    println!("| parser | MB/s | stanzas/s | allocations/stanza | bytes allocated/stanza |");
    println!("|---|---:|---:|---:|---:|");
    for (k, (_, (name, _))) in rows.iter().enumerate() {
        let mut t = times[k].clone();
        t.sort();
        let median = t[ROUNDS / 2].as_secs_f64();
        let (allocs, bytes) = counts[k];
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} | {:.0} |",
            data.len() as f64 / 1e6 / median,
            stanzas as f64 / median,
            allocs as f64 / stanzas as f64,
            bytes as f64 / stanzas as f64
        );
    }
    if only.is_none() {
        writer_line(data);
    }
    if rows.len() == ROWS.len() {
        // Per-round speed-up over the xmpp-rs path, then its median.
        let mut ratios: Vec<f64> = (0..ROUNDS)
            .map(|r| times[2][r].as_secs_f64() / times[0][r].as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "xmpp-sansio vs rxml + minidom, per round: median {:.1}x (min {:.1}x, max {:.1}x)",
            ratios[ROUNDS / 2],
            ratios[0],
            ratios[ROUNDS - 1]
        );
    }
}

/// Writing the same stanzas back into a stream, into one reused buffer.
fn writer_line(data: &[u8]) {
    use xmpp_sansio::xml::{FrameEvent, Framer, Limits, Scope, Writer};
    let mut framer = Framer::new(Limits::default());
    let mut input = data;
    let mut elements = Vec::new();
    while let Some(ev) = framer.next_event(&mut input).expect("valid stream") {
        if let FrameEvent::Element(el) = ev {
            elements.push(el);
        }
    }
    let writer = Writer::new(
        Scope::new("jabber:client").with_prefix("stream", "http://etherx.jabber.org/streams"),
    );
    let mut out = Vec::with_capacity(data.len());
    let write_all = |out: &mut Vec<u8>| {
        out.clear();
        for el in &elements {
            writer.write(el, out).expect("writable");
        }
        out.len()
    };
    write_all(&mut out);
    let (_, allocs, _) = alloc::count(|| write_all(&mut out));
    let t = Instant::now();
    let n = black_box(write_all(&mut out));
    let secs = t.elapsed().as_secs_f64();
    println!(
        "writer: {} elements back to {:.1} MB of XML at {:.0} MB/s, {:.2} allocations per element",
        elements.len(),
        n as f64 / 1e6,
        n as f64 / 1e6 / secs,
        allocs as f64 / elements.len() as f64
    );
}

fn main() {
    let mb: Option<usize> = std::env::args()
        .skip_while(|a| a != "--mb")
        .nth(1)
        .and_then(|v| v.parse().ok());
    let (data, stanzas) = corpus::generate(mb.map_or(TARGET_BYTES, |m| m << 20));
    let only: Option<usize> = std::env::args()
        .skip_while(|a| a != "--row")
        .nth(1)
        .and_then(|v| v.parse().ok());
    summary(&data, stanzas, only);
    if std::env::args().any(|a| a == "--summary") {
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    let mut group = c.benchmark_group("c2s-stream");
    group.throughput(Throughput::Bytes(data.len() as u64));
    for (name, f) in ROWS {
        group.bench_function(name, |b| b.iter(|| f(black_box(&data))));
    }
    group.finish();
    c.final_summary();
}
