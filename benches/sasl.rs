//! Server-side cost of one SCRAM login: verifying against a stored record
//! versus deriving the keys from the password (PBKDF2, 4096 iterations)
//! as a server storing passwords would have to.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::*;

const PASSWORD: &str = "pencil";
const SALT: &[u8] = b"benchmark-salt16";
const ITERATIONS: u32 = 4096;

/// The client's two messages for one login, prepared outside the timing.
struct Transcript {
    mechanism: Mechanism,
    client_first: Vec<u8>,
    client_final: Vec<u8>,
}

fn transcript(hash: ScramHash, record: &ScramCredentials) -> Transcript {
    let mechanism = hash.mechanism(false);
    let tls = TlsInfo::tls();
    let sel = Selection::new(mechanism, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password("user", PASSWORD),
        &tls,
        &ClientConfig::default(),
        &mut SeededRandom::new(1),
    )
    .unwrap();
    let client_first = client.initial_response().unwrap();
    let mut server = server(mechanism);
    server.start(Some(&client_first)).unwrap();
    let ServerOutput::Challenge(sf) = server
        .provide_credentials(Some(Credentials::Scram(record.clone())))
        .unwrap()
    else {
        unreachable!()
    };
    let client_final = client.challenge(&sf).unwrap();
    Transcript {
        mechanism,
        client_first,
        client_final,
    }
}

fn server(mechanism: Mechanism) -> Server {
    // Same seed as in `transcript`, so the server nonce matches the one the
    // client final message was computed for.
    Server::new(
        mechanism.name(),
        &ServerConfig::new(DecoyKey::new([7; DecoyKey::LEN])),
        &TlsInfo::tls(),
        &mut SeededRandom::new(2),
    )
    .unwrap()
}

fn login(t: &Transcript, record: ScramCredentials) -> Authenticated {
    let mut server = server(t.mechanism);
    server.start(Some(&t.client_first)).unwrap();
    server
        .provide_credentials(Some(Credentials::Scram(record)))
        .unwrap();
    match server.respond(&t.client_final).unwrap() {
        ServerOutput::Success(ok) => ok,
        _ => unreachable!(),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("scram_server_login");
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let record = ScramCredentials::derive(hash, PASSWORD, SALT, ITERATIONS).unwrap();
        let t = transcript(hash, &record);
        group.bench_with_input(
            BenchmarkId::new("stored_record", hash.name()),
            &t,
            |b, t| b.iter(|| black_box(login(t, record.clone()))),
        );
        group.bench_with_input(
            BenchmarkId::new("derive_from_password", hash.name()),
            &t,
            |b, t| {
                b.iter(|| {
                    let derived =
                        ScramCredentials::derive(hash, black_box(PASSWORD), SALT, ITERATIONS)
                            .unwrap();
                    black_box(login(t, derived))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
