//! SRV candidate order (RFC 2782, RFC 6120 §3.2, XEP-0368): the rules as
//! table tests, and weighted selection checked against the weights.

use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::srv::{
    Answer, Candidate, Record, Security, Service, SrvError, candidates, needs_lookup, order,
};

fn rng() -> SeededRandom {
    SeededRandom::new(7)
}

fn hosts(list: &[Candidate]) -> Vec<(String, u16, Security)> {
    list.iter()
        .map(|c| (c.host.clone(), c.port, c.security))
        .collect()
}

fn r(priority: u16, weight: u16, port: u16, target: &str) -> Record {
    Record::new(priority, weight, port, target)
}

#[test]
fn rules_as_a_table() {
    use Security::*;
    let dot = [r(0, 0, 0, ".")];
    let tls = [r(5, 1, 443, "tls.example.net.")];
    let plain = [r(10, 1, 5222, "plain.example.net.")];
    let two_prio = [
        r(20, 1, 5223, "b.example.net"),
        r(10, 1, 5222, "a.example.net"),
    ];
    type Case<'a> = (
        &'a str,
        Answer<'a>,
        Answer<'a>,
        Result<Vec<(&'a str, u16, Security)>, SrvError>,
    );
    let cases: Vec<Case> = vec![
        // RFC 6120 §3.2.2: no answer at all, the domain on 5222.
        (
            "no answer",
            Answer::None,
            Answer::None,
            Ok(vec![("example.net", 5222, StartTls)]),
        ),
        (
            "empty answers",
            Answer::Records(&[]),
            Answer::Records(&[]),
            Ok(vec![("example.net", 5222, StartTls)]),
        ),
        // §3.2.1 step 3: "." on _xmpp- aborts: not offered.
        (
            "dot on xmpp",
            Answer::None,
            Answer::Records(&dot),
            Err(SrvError::NotOffered),
        ),
        // XEP-0368: "." on _xmpps- means use _xmpp-.
        (
            "dot on xmpps",
            Answer::Records(&dot),
            Answer::Records(&plain),
            Ok(vec![("plain.example.net", 5222, StartTls)]),
        ),
        (
            "dot on xmpps, no xmpp answer",
            Answer::Records(&dot),
            Answer::None,
            Ok(vec![("example.net", 5222, StartTls)]),
        ),
        // Direct TLS still offered when _xmpp- says ".".
        (
            "tls only",
            Answer::Records(&tls),
            Answer::Records(&dot),
            Ok(vec![("tls.example.net", 443, DirectTls)]),
        ),
        // Both merged into one list by priority (XEP-0368 §3).
        (
            "merged",
            Answer::Records(&tls),
            Answer::Records(&plain),
            Ok(vec![
                ("tls.example.net", 443, DirectTls),
                ("plain.example.net", 5222, StartTls),
            ]),
        ),
        (
            "merged other way",
            Answer::Records(&two_prio),
            Answer::Records(&tls),
            Ok(vec![
                ("tls.example.net", 443, StartTls),
                ("a.example.net", 5222, DirectTls),
                ("b.example.net", 5223, DirectTls),
            ]),
        ),
        // An answer with records but no xmpps, no fallback added.
        (
            "xmpp only",
            Answer::None,
            Answer::Records(&two_prio),
            Ok(vec![
                ("a.example.net", 5222, StartTls),
                ("b.example.net", 5223, StartTls),
            ]),
        ),
    ];
    for (name, xmpps, xmpp, want) in cases {
        let got = candidates("example.net", Service::Client, xmpps, xmpp, &mut rng());
        let got = got.map(|l| {
            for c in &l {
                // §13.7.2.1: the certificate is checked against the domain.
                assert_eq!(c.sni, "example.net", "{name}");
                assert_eq!(
                    c.alpn,
                    (c.security == DirectTls).then_some("xmpp-client"),
                    "{name}"
                );
            }
            hosts(&l)
        });
        let want = want.map(|v| {
            v.into_iter()
                .map(|(h, p, s)| (h.to_owned(), p, s))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn servers_and_ip_literals() {
    let list = candidates(
        "example.org",
        Service::Server,
        Answer::None,
        Answer::None,
        &mut rng(),
    )
    .unwrap();
    assert_eq!(
        hosts(&list),
        [("example.org".to_owned(), 5269, Security::StartTls)]
    );
    let tls = [r(0, 0, 5270, "s2s.example.org")];
    let list = candidates(
        "example.org",
        Service::Server,
        Answer::Records(&tls),
        Answer::None,
        &mut rng(),
    )
    .unwrap();
    assert_eq!(list[0].alpn, Some("xmpp-server"));
    // IP literals get no SRV lookup and no SRV answer is used.
    for ip in ["127.0.0.1", "[::1]", "::1"] {
        assert!(!needs_lookup(ip), "{ip}");
        let list = candidates(
            ip,
            Service::Client,
            Answer::Records(&tls),
            Answer::None,
            &mut rng(),
        )
        .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].port, 5222);
    }
    assert!(needs_lookup("example.org"));
    assert_eq!(
        Service::Client.names("example.org"),
        [
            "_xmpps-client._tcp.example.org.",
            "_xmpp-client._tcp.example.org."
        ]
    );
}

#[test]
fn priority_first_then_every_record_once() {
    let recs: Vec<(Record, u8)> = vec![
        (r(2, 0, 1, "c"), 0),
        (r(1, 50, 2, "a"), 0),
        (r(1, 0, 3, "b"), 0),
        (r(3, 10, 4, "d"), 0),
        (r(1, 50, 5, "e"), 0),
    ];
    for seed in 0..200 {
        let got = order(&recs, &mut SeededRandom::new(seed));
        assert_eq!(got.len(), recs.len());
        let prios: Vec<u16> = got.iter().map(|(r, _)| r.priority).collect();
        assert_eq!(prios, [1, 1, 1, 2, 3]);
        let mut ports: Vec<u16> = got.iter().map(|(r, _)| r.port).collect();
        ports.sort_unstable();
        assert_eq!(ports, [1, 2, 3, 4, 5]);
    }
}

/// RFC 2782: within a priority, a record is picked first with
/// probability weight / total. 20,000 draws; each share must be within
/// 1.5 points of its weight's.
#[test]
fn weighted_selection_follows_the_weights() {
    let recs: Vec<(Record, usize)> = vec![
        (r(0, 10, 1, "a"), 0),
        (r(0, 20, 2, "b"), 1),
        (r(0, 70, 3, "c"), 2),
        (r(0, 0, 4, "z"), 3),
    ];
    let mut rng = SeededRandom::new(42);
    let mut first = [0u32; 4];
    let n = 20_000;
    for _ in 0..n {
        first[order(&recs, &mut rng)[0].1] += 1;
    }
    let share = |i: usize| f64::from(first[i]) * 100.0 / f64::from(n);
    for (i, want) in [(0, 10.0), (1, 20.0), (2, 70.0)] {
        assert!(
            (share(i) - want).abs() < 1.5,
            "record {i}: {:.2}% vs {want}%; {first:?}",
            share(i)
        );
    }
    // Weight 0 among weighted records: first only when the draw is 0,
    // about 1 in 101.
    assert!(share(3) < 2.0, "{first:?}");
    // All weights 0: each equally likely.
    let zeros: Vec<(Record, usize)> = (0..4).map(|i| (r(0, 0, i, "x"), usize::from(i))).collect();
    let mut first = [0u32; 4];
    for _ in 0..n {
        first[order(&zeros, &mut rng)[0].1] += 1;
    }
    for c in first {
        let s = f64::from(c) * 100.0 / f64::from(n);
        assert!((s - 25.0).abs() < 1.5, "{first:?}");
    }
}

#[test]
fn not_offered_records_among_others_are_skipped() {
    let recs = [r(0, 1, 5222, "."), r(1, 1, 5222, "real.example.net")];
    let list = candidates(
        "example.net",
        Service::Client,
        Answer::None,
        Answer::Records(&recs),
        &mut rng(),
    )
    .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].host, "real.example.net");
}
