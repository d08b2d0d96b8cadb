//! What a server pays per session: 10,000 c2s sessions negotiated and
//! bound in memory through the real machines (STARTTLS with simulated TLS
//! data, SCRAM-SHA-256-PLUS against stored records, resource binding),
//! then left idle; and the server-side cost of routing one chat message
//! from one bound session to another.
//!
//! `cargo bench --bench sessions` prints:
//!
//! * bytes and allocations each idle bound `ServerStream` holds, counted
//!   by a counting allocator (live bytes after negotiation, minus before;
//!   each session is boxed, as a server keeps them in a map, so the
//!   session's own value counts too);
//! * for routing: the median time per stanza over 9 rounds (the sending
//!   session reads the client's bytes and hands the stanza to its host,
//!   the receiving session writes it out) and allocations per stanza.
//!
//! `--sessions N` changes the number of sessions.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use xmpp_sansio::c2s::{BindDecision, ClientConfig, ClientStream, ServerConfig, ServerStream};
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::{
    ChannelBinding, ChannelBindingType, Credentials, DecoyKey, Mechanism, SaltedPasswordCache,
    ScramCredentials, ScramHash, TlsInfo,
};
use xmpp_sansio::stream::{Event, Request};
use xmpp_sansio::xml::Element;

#[path = "support/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const DOMAIN: &str = "example.test";
const PASSWORD: &str = "correct horse battery staple";

fn tls() -> TlsInfo {
    TlsInfo::tls().with_binding(ChannelBinding::new(
        ChannelBindingType::TlsExporter,
        vec![7; 32],
    ))
}

/// Negotiates one session in memory; returns the server side, idle and
/// bound, and the client side, online.
fn session(
    config: &Arc<ServerConfig>,
    record: &ScramCredentials,
    user: &str,
    cache: &mut Option<SaltedPasswordCache>,
    seed: u64,
) -> (ServerStream, ClientStream) {
    let now = Instant::now();
    let mut cc = ClientConfig::new(format!("{user}@{DOMAIN}").parse().unwrap(), PASSWORD);
    cc.resource = Some("desk".into());
    cc.sasl.preference = vec![Mechanism::ScramSha256Plus];
    let mut client = ClientStream::new(cc, None, Box::new(SeededRandom::new(seed)), now);
    if let Some(c) = cache.take() {
        client.set_scram_cache(c);
    }
    let mut server = ServerStream::new(
        config.clone(),
        None,
        Box::new(SeededRandom::new(seed ^ 0x5eed)),
        now,
    );
    let (mut client_tls, mut server_tls) = (false, false);
    let (mut online, mut client_online) = (false, false);
    let mut buf = Vec::new();
    for _ in 0..100 {
        if !server_tls {
            while client.poll_transmit(&mut buf).is_some() {}
            server.handle_input(&buf, now).unwrap();
            buf.clear();
        }
        while server.poll_transmit(&mut buf).is_some() {}
        client.handle_input(&buf, now).unwrap();
        buf.clear();
        while let Some(ev) = server.poll_event() {
            match ev {
                Event::StartTls => server_tls = true,
                Event::Request {
                    token,
                    request: Request::Credentials(_),
                } => server
                    .provide_credentials(token, Some(Credentials::Scram(record.clone())), now)
                    .unwrap(),
                Event::Request {
                    token,
                    request: Request::Bind { requested, .. },
                } => server
                    .bind(token, BindDecision::Accept(requested.unwrap()), now)
                    .unwrap(),
                Event::Online { .. } => online = true,
                _ => {}
            }
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::StartTls => client_tls = true,
                Event::Online { .. } => client_online = true,
                _ => {}
            }
        }
        if client_tls && server_tls {
            server.tls_established(tls(), now).unwrap();
            client.tls_established(tls(), now).unwrap();
            (client_tls, server_tls) = (false, false);
        }
        if online && client_online {
            break;
        }
    }
    assert!(
        online && client_online,
        "session {seed} did not come online"
    );
    while client.poll_transmit(&mut buf).is_some() {}
    while client.poll_event().is_some() {}
    *cache = client.take_scram_cache();
    (server, client)
}

/// Routes each message from alice's session to bob's: what a server does
/// per stanza. Not inlined, so that instruction counts can name it.
#[inline(never)]
fn route(
    alice: &mut ServerStream,
    bob: &mut ServerStream,
    messages: &[Vec<u8>],
    out: &mut Vec<u8>,
    now: Instant,
) {
    for m in messages {
        alice.handle_input(m, now).unwrap();
        while let Some(ev) = alice.poll_event() {
            if let Event::Stanza(stanza) = ev {
                bob.send(stanza).unwrap();
            }
        }
        while bob.poll_transmit(&mut *out).is_some() {}
        black_box(&*out);
        out.clear();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sessions: usize = std::env::args()
        .skip_while(|a| a != "--sessions")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // One configuration and one stored record for every account (the
    // salt is the same, so the client's salted-password cache spares it
    // PBKDF2 after the first login).
    let mut config = ServerConfig::new(DOMAIN, DecoyKey::new([9; DecoyKey::LEN]));
    config.sasl.mechanisms = vec![Mechanism::ScramSha256Plus];
    let config = Arc::new(config);
    let record =
        ScramCredentials::derive(ScramHash::Sha256, PASSWORD, b"one-salt-for-all", 4096).unwrap();
    let mut cache = None;

    // Boxed, as a server keeps its sessions in a map: the allocator then
    // counts the whole session, the value and what it owns.
    let mut servers: Vec<Box<ServerStream>> = Vec::with_capacity(sessions);
    let start = Instant::now();
    let ((), bytes, allocs) = alloc::held(|| {
        for i in 0..sessions {
            let (server, client) = session(
                &config,
                &record,
                &format!("user{i}"),
                &mut cache,
                i as u64 + 1,
            );
            drop(client);
            servers.push(Box::new(server));
        }
    });
    let elapsed = start.elapsed();
    println!(
        "{sessions} sessions negotiated and bound in {:.2} s ({:.0} per second, client and server)",
        elapsed.as_secs_f64(),
        sessions as f64 / elapsed.as_secs_f64()
    );
    let struct_size = std::mem::size_of::<ServerStream>();
    println!(
        "idle bound ServerStream: {:.0} bytes in {:.1} allocations (the {struct_size}-byte value included)",
        bytes as f64 / sessions as f64,
        allocs as f64 / sessions as f64,
    );

    // Routing: alice's client sends, alice's server session reads and
    // stamps it, the host hands it to bob's session, which writes it.
    let (mut alice, mut alice_client) = session(&config, &record, "alice", &mut cache, 77);
    let (mut bob, _bob_client) = session(&config, &record, "bob", &mut cache, 78);
    let messages: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            let msg =
                Element::new("message", ns::CLIENT)
                    .with_attr("to", &format!("bob@{DOMAIN}/desk"))
                    .with_attr("type", "chat")
                    .with_attr("id", &format!("m{i}"))
                    .with_child(Element::new("body", ns::CLIENT).with_text(
                        "Wherefore art thou Romeo? Deny thy father and refuse thy name.",
                    ))
                    .with_child(Element::new(
                        "active",
                        "http://jabber.org/protocol/chatstates",
                    ));
            alice_client.send(msg).unwrap();
            let mut bytes = Vec::new();
            while alice_client.poll_transmit(&mut bytes).is_some() {}
            bytes
        })
        .collect();
    let now = Instant::now();
    let mut out = Vec::with_capacity(4096);
    let mut route_all = || route(&mut alice, &mut bob, &messages, &mut out, now);
    route_all(); // warm up
    let mut times = Vec::new();
    let mut alloc_counts = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let ((), allocs, _) = alloc::count(&mut route_all);
        times.push(t.elapsed().as_secs_f64() * 1e6 / messages.len() as f64);
        alloc_counts.push(allocs as f64 / messages.len() as f64);
    }
    println!(
        "routing one {}-byte chat message between two bound sessions, server side: {:.2} µs median of 9 rounds (min {:.2}, max {:.2}), {:.1} allocations",
        messages[0].len(),
        median(times.clone()),
        times.iter().copied().fold(f64::MAX, f64::min),
        times.iter().copied().fold(0.0, f64::max),
        median(alloc_counts),
    );
    black_box(&servers);
}
