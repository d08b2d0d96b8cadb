//! Server Dialback (XEP-0220) building blocks: keys per XEP-0185, and the
//! `<db:result/>` and `<db:verify/>` elements with their verdicts and
//! errors (XEP-0220 §2.1, §2.2, §2.4, §2.5). Pure functions; the stream
//! machines that use them keep the state.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::ns;
use crate::random::Random;
use crate::stanza::{DefinedCondition, StanzaError};
use crate::xml::{Element, ElementRef};

/// The secret dialback keys are derived from (XEP-0185): one per server,
/// or per process, known only to the servers that vouch for its domains.
#[derive(Clone)]
pub struct DialbackSecret {
    /// The lowercase hex SHA-256 of the secret: XEP-0185's HMAC key.
    hmac_key: Zeroizing<String>,
}

impl std::fmt::Debug for DialbackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DialbackSecret(..)")
    }
}

impl DialbackSecret {
    /// The secret from its configured value.
    pub fn new(secret: &[u8]) -> DialbackSecret {
        let digest = Sha256::digest(secret);
        DialbackSecret {
            hmac_key: Zeroizing::new(hex(&digest)),
        }
    }

    /// A random secret, for a server that keeps none across restarts
    /// (XEP-0185 allows one generated at start).
    pub fn generate(rng: &mut dyn Random) -> DialbackSecret {
        let mut raw = Zeroizing::new([0u8; 32]);
        rng.fill(&mut raw[..]);
        DialbackSecret::new(&raw[..])
    }

    /// The dialback key for the stream `stream_id` that `receiving` opened
    /// for `originating` (XEP-0185 §3): lowercase hex of
    /// HMAC-SHA256(hex(SHA256(secret)), receiving ' ' originating ' ' id).
    pub fn key(&self, receiving: &str, originating: &str, stream_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.hmac_key.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(receiving.as_bytes());
        mac.update(b" ");
        mac.update(originating.as_bytes());
        mac.update(b" ");
        mac.update(stream_id.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `key` is the one this secret gives, compared in constant
    /// time (surrounding whitespace ignored, as XML character data may
    /// carry it).
    pub fn verify(&self, receiving: &str, originating: &str, stream_id: &str, key: &str) -> bool {
        let expected = self.key(receiving, originating, stream_id);
        bool::from(expected.as_bytes().ct_eq(key.trim().as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which dialback element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `<db:result/>`: between the Initiating and the Receiving Server.
    Result,
    /// `<db:verify/>`: between the Receiving and the Authoritative Server.
    Verify,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Result => "result",
            Kind::Verify => "verify",
        }
    }
}

pub use crate::stream::Verdict;

/// A `<db:result/>` or `<db:verify/>` element, read or to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialback {
    /// Result or verify.
    pub kind: Kind,
    /// `from`: a domain.
    pub from: String,
    /// `to`: a domain.
    pub to: String,
    /// `id`: the stream id, on `<db:verify/>`.
    pub id: Option<String>,
    /// The key, on a request.
    pub key: Option<String>,
    /// The `type`, on an answer; `None` on a request.
    pub verdict: Option<Verdict>,
}

/// Why an element in the dialback namespace cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialbackError {
    /// Not `<db:result/>` or `<db:verify/>`.
    #[error("not a dialback element")]
    NotDialback,
    /// `from` or `to` is missing or empty.
    #[error("a dialback element without from or to")]
    MissingAddress,
    /// A `<db:verify/>` without `id`.
    #[error("a dialback verification without id")]
    MissingId,
    /// A request (no `type`) without a key.
    #[error("a dialback request without a key")]
    MissingKey,
    /// A `type` other than valid, invalid or error.
    #[error("an unknown dialback type")]
    UnknownType,
}

impl Dialback {
    /// A request: the key for the pair `from` → `to`, with the stream id
    /// for `<db:verify/>`.
    pub fn request(kind: Kind, from: &str, to: &str, id: Option<&str>, key: &str) -> Dialback {
        Dialback {
            kind,
            from: from.to_owned(),
            to: to.to_owned(),
            id: id.map(str::to_owned),
            key: Some(key.to_owned()),
            verdict: None,
        }
    }

    /// The answer to this request: addresses swapped, same id (XEP-0220
    /// §2.2.1, §2.2.2).
    pub fn answer(&self, verdict: Verdict) -> Dialback {
        Dialback {
            kind: self.kind,
            from: self.to.clone(),
            to: self.from.clone(),
            id: self.id.clone(),
            key: None,
            verdict: Some(verdict),
        }
    }

    /// Reads a dialback element.
    pub fn parse(el: ElementRef<'_>) -> Result<Dialback, DialbackError> {
        if el.ns() != ns::DIALBACK {
            return Err(DialbackError::NotDialback);
        }
        let kind = match el.name() {
            "result" => Kind::Result,
            "verify" => Kind::Verify,
            _ => return Err(DialbackError::NotDialback),
        };
        let addr = |n: &str| {
            el.attr(n)
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .ok_or(DialbackError::MissingAddress)
        };
        let (from, to) = (addr("from")?, addr("to")?);
        let id = el.attr("id").map(str::to_owned);
        if kind == Kind::Verify && id.is_none() {
            return Err(DialbackError::MissingId);
        }
        let verdict = match el.attr("type") {
            None => None,
            Some("valid") => Some(Verdict::Valid),
            Some("invalid") => Some(Verdict::Invalid),
            Some("error") => {
                // XEP-0220 §2.5: an <error/> in the stream's content
                // namespace.
                let condition = el
                    .children()
                    .find(|c| c.name() == "error" && crate::stanza::is_content_ns(c.ns()))
                    .map_or(DefinedCondition::UndefinedCondition, |e| {
                        StanzaError::from_error(e).condition
                    });
                Some(Verdict::Error(condition))
            }
            Some(_) => return Err(DialbackError::UnknownType),
        };
        let key = match verdict {
            Some(_) => None,
            None => {
                let k = el.text().trim().to_owned();
                if k.is_empty() {
                    return Err(DialbackError::MissingKey);
                }
                Some(k)
            }
        };
        Ok(Dialback {
            kind,
            from,
            to,
            id,
            key,
            verdict,
        })
    }

    /// The element, for a stream whose header declared the dialback
    /// namespace.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(self.kind.name(), ns::DIALBACK)
            .with_attr("from", &self.from)
            .with_attr("to", &self.to);
        if let Some(id) = &self.id {
            el.set_attr("id", id);
        }
        match &self.verdict {
            None => {
                if let Some(k) = &self.key {
                    el.push_text(k);
                }
            }
            Some(Verdict::Valid) => el.set_attr("type", "valid"),
            Some(Verdict::Invalid) => el.set_attr("type", "invalid"),
            Some(Verdict::Error(condition)) => {
                el.set_attr("type", "error");
                // XEP-0220 §2.5: an <error/> qualified by jabber:server.
                el.push_child(StanzaError::new(*condition).to_element(ns::SERVER));
            }
        }
        el
    }
}

/// The stream feature announcing dialback with error handling (XEP-0220
/// §2.4.2).
pub fn feature() -> Element {
    Element::new("dialback", FEATURE_NS).with_child(Element::new("errors", FEATURE_NS))
}

/// The namespace of the dialback stream feature.
pub const FEATURE_NS: &str = "urn:xmpp:features:dialback";

/// Whether a `<stream:features/>` announces dialback with error handling.
pub fn offers_errors(features: &Element) -> bool {
    features
        .get_child("dialback", FEATURE_NS)
        .is_some_and(|d| d.has_child("errors", FEATURE_NS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Writer;

    #[test]
    fn xep0185_example() {
        // XEP-0185 §3: the hashed secret and the key of the example.
        let secret = DialbackSecret::new(b"s3cr3tf0rd14lb4ck");
        assert_eq!(
            secret.hmac_key.as_str(),
            "a7136eb1f46c9ef18c5e78c36ca257067c69b3d518285f0b18a96c33beae9acc"
        );
        let key = secret.key("xmpp.example.com", "example.org", "D60000229F");
        assert_eq!(
            key,
            "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643"
        );
        assert!(secret.verify("xmpp.example.com", "example.org", "D60000229F", &key));
        assert!(secret.verify(
            "xmpp.example.com",
            "example.org",
            "D60000229F",
            &format!("\n    {key}\n")
        ));
        // Any input changed: another key.
        assert!(!secret.verify("xmpp.example.com", "example.org", "D60000229G", &key));
        assert!(!secret.verify("example.org", "xmpp.example.com", "D60000229F", &key));
        assert!(!DialbackSecret::new(b"other").verify(
            "xmpp.example.com",
            "example.org",
            "D60000229F",
            &key
        ));
    }

    #[test]
    fn xep0220_examples() {
        // XEP-0220 §2.1.1, Example 1 (Step 1).
        let s = DialbackSecret::new(b"s3cr3tf0rd14lb4ck");
        assert_eq!(
            s.key("montague.example", "capulet.example", "D60000229F"),
            "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3"
        );
        // XEP-0220 §2.2.2: the Authoritative Server's check.
        let s = DialbackSecret::new(b"d14lb4ck43v3r");
        assert_eq!(
            s.key("capulet.example", "montague.example", "417GAF25"),
            "225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d"
        );
    }

    fn read(xml: &str) -> Result<Dialback, DialbackError> {
        let wire = format!(
            "<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
             xmlns:stream='http://etherx.jabber.org/streams'>{xml}"
        );
        let mut framer = crate::xml::Framer::new(crate::xml::Limits::default());
        let mut input = wire.as_bytes();
        loop {
            if let Some(crate::xml::FrameEvent::Element(el)) =
                framer.next_event(&mut input).unwrap()
            {
                return Dialback::parse(el.as_ref());
            }
        }
    }

    #[test]
    fn elements_read_and_write() {
        let req = read(
            "<db:verify from='capulet.example' id='417GAF25' to='montague.example'>\n\
             225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d\n</db:verify>",
        )
        .unwrap();
        assert_eq!(req.kind, Kind::Verify);
        assert_eq!(req.id.as_deref(), Some("417GAF25"));
        assert_eq!(
            req.key.as_deref(),
            Some("225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d")
        );
        let answer = req.answer(Verdict::Valid);
        let stream = Writer::new(
            crate::xml::Scope::new(ns::SERVER)
                .with_prefix("stream", ns::STREAM)
                .with_prefix("db", ns::DIALBACK),
        );
        assert_eq!(
            stream.to_string(&answer.to_element()).unwrap(),
            "<db:verify from='montague.example' to='capulet.example' id='417GAF25' type='valid'/>"
        );
        let error = read(
            "<db:result from='montague.example' to='capulet.example' type='error'>\
             <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             </error></db:result>",
        )
        .unwrap();
        assert_eq!(
            error.verdict,
            Some(Verdict::Error(DefinedCondition::ItemNotFound))
        );
        let written = stream
            .to_string(
                &Dialback::request(
                    Kind::Result,
                    "capulet.example",
                    "montague.example",
                    None,
                    "k",
                )
                .answer(Verdict::Error(DefinedCondition::RemoteServerNotFound))
                .to_element(),
            )
            .unwrap();
        assert!(
            written.contains("type='error'><error type='cancel'><remote-server-not-found"),
            "{written}"
        );
        assert_eq!(
            read(&written).unwrap().verdict,
            Some(Verdict::Error(DefinedCondition::RemoteServerNotFound))
        );
        // Broken ones.
        assert_eq!(
            read("<db:result to='a'>k</db:result>"),
            Err(DialbackError::MissingAddress)
        );
        assert_eq!(
            read("<db:verify from='a' to='b'>k</db:verify>"),
            Err(DialbackError::MissingId)
        );
        assert_eq!(
            read("<db:result from='a' to='b'/>"),
            Err(DialbackError::MissingKey)
        );
        assert_eq!(
            read("<db:result from='a' to='b' type='maybe'/>"),
            Err(DialbackError::UnknownType)
        );
        assert_eq!(
            read("<db:other from='a' to='b'/>"),
            Err(DialbackError::NotDialback)
        );
    }

    #[test]
    fn the_feature() {
        let f = Element::new("features", ns::STREAM).with_child(feature());
        assert!(offers_errors(&f));
        assert!(!offers_errors(&Element::new("features", ns::STREAM)));
    }
}
