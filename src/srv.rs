//! Where to connect: SRV records the host resolved, turned into an
//! ordered list of candidates (RFC 6120 §3.2, RFC 2782, XEP-0368).
//!
//! The host looks up `_xmpps-client._tcp.DOMAIN` and
//! `_xmpp-client._tcp.DOMAIN` (or the `-server` pair), passes what it got
//! as [`Answer`]s, and tries the [`Candidate`]s in order: each says where,
//! whether to start TLS at once or negotiate STARTTLS, and which SNI and
//! ALPN to use. The certificate must match the XMPP domain, never the SRV
//! target (RFC 6120 §13.7.2.1), which is why the SNI is the domain.
//!
//! ```
//! use xmpp_sansio::random::SeededRandom;
//! use xmpp_sansio::srv::{candidates, Answer, Record, Security, Service};
//!
//! let xmpps = [Record::new(0, 5, 443, "xmpp.example.net")];
//! let xmpp = [Record::new(10, 5, 5222, "xmpp.example.net")];
//! let list = candidates(
//!     "example.net",
//!     Service::Client,
//!     Answer::Records(&xmpps),
//!     Answer::Records(&xmpp),
//!     &mut SeededRandom::new(1),
//! )
//! .unwrap();
//! assert_eq!(list[0].port, 443);
//! assert_eq!(list[0].security, Security::DirectTls);
//! assert_eq!(list[0].alpn, Some("xmpp-client"));
//! assert_eq!(list[0].sni, "example.net");
//! assert_eq!(list[1].security, Security::StartTls);
//! ```

use std::net::IpAddr;

use crate::random::Random;

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative share among records of the same priority.
    pub weight: u16,
    /// The port.
    pub port: u16,
    /// The host (`.` means "not offered").
    pub target: String,
}

impl Record {
    /// A record.
    pub fn new(priority: u16, weight: u16, port: u16, target: &str) -> Record {
        Record {
            priority,
            weight,
            port,
            target: target.to_owned(),
        }
    }

    /// Whether this is the "decidedly not available" record: target `.`.
    pub fn is_not_offered(&self) -> bool {
        self.target == "." || self.target.is_empty()
    }
}

/// What a lookup gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// No SRV answer (NXDOMAIN, no records of the type, or the lookup
    /// failed).
    None,
    /// These records.
    Records(&'a [Record]),
}

/// Client-to-server or server-to-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `_xmpp-client` / `_xmpps-client`, port 5222.
    Client,
    /// `_xmpp-server` / `_xmpps-server`, port 5269.
    Server,
}

impl Service {
    /// The SRV names to look up for `domain`: direct TLS (XEP-0368)
    /// first, then STARTTLS.
    pub fn names(self, domain: &str) -> [String; 2] {
        let s = match self {
            Service::Client => "client",
            Service::Server => "server",
        };
        [
            format!("_xmpps-{s}._tcp.{domain}."),
            format!("_xmpp-{s}._tcp.{domain}."),
        ]
    }

    /// The port used without SRV (RFC 6120 §3.2.2).
    pub fn default_port(self) -> u16 {
        match self {
            Service::Client => 5222,
            Service::Server => 5269,
        }
    }

    /// The ALPN protocol for direct TLS (XEP-0368 §3).
    pub fn alpn(self) -> &'static str {
        match self {
            Service::Client => "xmpp-client",
            Service::Server => "xmpp-server",
        }
    }
}

/// How to secure a connection to a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// TLS from the first byte (XEP-0368).
    DirectTls,
    /// Plain TCP, then STARTTLS (RFC 6120 §5).
    StartTls,
}

/// A place to try.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Host name or address to connect to.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Direct TLS or STARTTLS.
    pub security: Security,
    /// The TLS server name: the XMPP domain, whatever the target.
    pub sni: String,
    /// The ALPN protocol to offer with direct TLS.
    pub alpn: Option<&'static str>,
}

/// Why there is nothing to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrvError {
    /// The domain says, with a `.` record, that the service is not
    /// offered (RFC 6120 §3.2.1, RFC 2782).
    #[error("the domain does not offer this service")]
    NotOffered,
}

/// Whether `domain` is looked up at all: IP literals are not (RFC 6120
/// §3.2.1 applies to domain names).
pub fn needs_lookup(domain: &str) -> bool {
    let bare = domain.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_err()
}

/// A uniform number in `0..=max`.
fn uniform(rng: &mut dyn Random, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let Some(span) = max.checked_add(1) else {
        let mut b = [0u8; 8];
        rng.fill(&mut b);
        return u64::from_le_bytes(b);
    };
    // Rejection sampling over u64 keeps it unbiased.
    let zone = u64::MAX - (u64::MAX % span);
    loop {
        let mut b = [0u8; 8];
        rng.fill(&mut b);
        let v = u64::from_le_bytes(b);
        if v < zone {
            return v % span;
        }
    }
}

/// RFC 2782 order: by priority, and within a priority by weighted random
/// selection (records of weight 0 first in the running sum, so they are
/// picked only rarely when others have weight; when all are 0, uniformly).
/// "Not offered" records are dropped.
pub fn order<T: Clone>(records: &[(Record, T)], rng: &mut dyn Random) -> Vec<(Record, T)> {
    let mut rest: Vec<(Record, T)> = records
        .iter()
        .filter(|(r, _)| !r.is_not_offered())
        .cloned()
        .collect();
    rest.sort_by_key(|(r, _)| r.priority);
    let mut out = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let p = rest[0].0.priority;
        let end = rest
            .iter()
            .position(|(r, _)| r.priority != p)
            .unwrap_or(rest.len());
        let mut group: Vec<(Record, T)> = rest.drain(..end).collect();
        // Zero weights first (RFC 2782, "Usage rules").
        group.sort_by_key(|(r, _)| r.weight != 0);
        while !group.is_empty() {
            // u64: no count of records can overflow it.
            let total: u64 = group.iter().map(|(r, _)| u64::from(r.weight)).sum();
            if total == 0 {
                // All weights 0: the running-sum rule would always take
                // the first; spread the load uniformly instead.
                let last = (group.len() - 1) as u64;
                let idx = usize::try_from(uniform(rng, last)).unwrap_or(0);
                out.push(group.remove(idx));
                continue;
            }
            let pick = uniform(rng, total);
            let mut running = 0u64;
            let idx = group
                .iter()
                .position(|(r, _)| {
                    running += u64::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(idx));
        }
    }
    out
}

/// The ordered candidates for `domain` from the answers to the direct-TLS
/// (`_xmpps-`) and STARTTLS (`_xmpp-`) lookups (XEP-0368 §3: both sets
/// ordered together, as one list).
///
/// * A lone `.` record on `_xmpp-` means the service is not offered; on
///   `_xmpps-` it means "use `_xmpp-`" (XEP-0368).
/// * No usable direct-TLS record and no answer to the `_xmpp-` lookup:
///   the domain itself on the default port, with STARTTLS (RFC 6120
///   §3.2.2). An answer whose records cannot be used is not "no answer"
///   (§3.2.1 step 8): nothing to try.
/// * An IP-literal domain: itself on the default port ([`needs_lookup`]).
pub fn candidates(
    domain: &str,
    service: Service,
    xmpps: Answer<'_>,
    xmpp: Answer<'_>,
    rng: &mut dyn Random,
) -> Result<Vec<Candidate>, SrvError> {
    let fallback = || Candidate {
        host: domain.to_owned(),
        port: service.default_port(),
        security: Security::StartTls,
        sni: domain.to_owned(),
        alpn: None,
    };
    if !needs_lookup(domain) {
        return Ok(vec![fallback()]);
    }
    let lone_dot = |a: Answer<'_>| matches!(a, Answer::Records([r]) if r.is_not_offered());
    let records = |a: Answer<'_>| match a {
        Answer::Records(rs) => rs.to_vec(),
        Answer::None => Vec::new(),
    };
    let starttls_refused = lone_dot(xmpp);
    let mut all: Vec<(Record, Security)> = Vec::new();
    if !lone_dot(xmpps) {
        all.extend(records(xmpps).into_iter().map(|r| (r, Security::DirectTls)));
    }
    if !starttls_refused {
        all.extend(records(xmpp).into_iter().map(|r| (r, Security::StartTls)));
    }
    let ordered = order(&all, rng);
    if ordered.is_empty() {
        // Only a lookup that got no answer falls back (RFC 6120 §3.2.1
        // steps 8 and 9); `.` on `_xmpps-` alone defers to `_xmpp-`.
        return if !starttls_refused && records(xmpp).is_empty() {
            Ok(vec![fallback()])
        } else {
            Err(SrvError::NotOffered)
        };
    }
    Ok(ordered
        .into_iter()
        .map(|(r, security)| Candidate {
            host: r.target.trim_end_matches('.').to_owned(),
            port: r.port,
            security,
            sni: domain.to_owned(),
            alpn: (security == Security::DirectTls).then(|| service.alpn()),
        })
        .collect())
}
