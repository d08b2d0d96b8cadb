//! Stream features (RFC 6120 §4.3.2, §5.4.1,
//! §6.4.1, §7.4; XEP-0440; XEP-0478; RFC 3921 §3 for the legacy session).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::ns;
use crate::stream::StreamLimits;
use crate::xml::Element;

/// XEP-0440's namespace.
pub const SASL_CB: &str = "urn:xmpp:sasl-cb:0";

/// What a `<stream:features/>` element offers, as far as c2s cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// `<starttls/>` is offered; the inner flag is `<required/>`.
    pub starttls: Option<bool>,
    /// SASL mechanism names, in the server's order.
    pub mechanisms: Option<Vec<String>>,
    /// XEP-0440 channel-binding types, if announced.
    pub channel_bindings: Option<Vec<String>>,
    /// Resource binding is offered.
    pub bind: bool,
    /// The legacy session element, and whether it is `<optional/>`.
    pub session: Option<bool>,
    /// XEP-0478 limits.
    pub limits: Option<StreamLimits>,
    /// Stream management (XEP-0198, `<sm xmlns='urn:xmpp:sm:3'/>`) is
    /// offered.
    pub stream_management: bool,
    /// Features not modelled above, as received or to be sent after
    /// those: informative ones such as roster versioning (RFC 6121
    /// §2.6.1, [`ns::ROSTER_VER`]) and subscription pre-approval (§3.4,
    /// [`ns::PRE_APPROVAL`]).
    pub other: Vec<Element>,
}

impl Features {
    /// Reads a `<stream:features/>` element.
    pub fn parse(el: &Element) -> Features {
        let mut f = Features::default();
        for c in el.children() {
            match (c.ns(), c.name()) {
                (ns::TLS, "starttls") => f.starttls = Some(c.has_child("required", ns::TLS)),
                (ns::SASL, "mechanisms") => {
                    f.mechanisms = Some(
                        c.children()
                            .filter(|m| m.is("mechanism", ns::SASL))
                            .map(|m| m.text().trim().to_owned())
                            .filter(|m| !m.is_empty())
                            .collect(),
                    )
                }
                (SASL_CB, "sasl-channel-binding") => {
                    f.channel_bindings = Some(
                        c.children()
                            .filter(|b| b.is("channel-binding", SASL_CB))
                            .filter_map(|b| b.attr("type").map(str::to_owned))
                            .collect(),
                    )
                }
                (ns::BIND, "bind") => f.bind = true,
                (crate::sm::NS, "sm") => f.stream_management = true,
                (ns::SESSION, "session") => f.session = Some(c.has_child("optional", ns::SESSION)),
                (ns::STREAM_LIMITS, "limits") => f.limits = StreamLimits::from_element(c),
                _ => f.other.push(c.to_owned()),
            }
        }
        f
    }

    /// The `<stream:features/>` element.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("features", ns::STREAM);
        if let Some(required) = self.starttls {
            let mut t = Element::new("starttls", ns::TLS);
            if required {
                t.push_child(Element::new("required", ns::TLS));
            }
            el.push_child(t);
        }
        if let Some(mechs) = &self.mechanisms {
            let mut m = Element::new("mechanisms", ns::SASL);
            for name in mechs {
                m.push_child(Element::new("mechanism", ns::SASL).with_text(name));
            }
            el.push_child(m);
        }
        if let Some(types) = &self.channel_bindings {
            let mut cb = Element::new("sasl-channel-binding", SASL_CB);
            for t in types {
                cb.push_child(Element::new("channel-binding", SASL_CB).with_attr("type", t));
            }
            el.push_child(cb);
        }
        if self.bind {
            el.push_child(Element::new("bind", ns::BIND));
        }
        if let Some(optional) = self.session {
            let mut s = Element::new("session", ns::SESSION);
            if optional {
                s.push_child(Element::new("optional", ns::SESSION));
            }
            el.push_child(s);
        }
        if self.stream_management {
            el.push_child(Element::new("sm", crate::sm::NS));
        }
        if let Some(l) = &self.limits {
            el.push_child(l.to_element());
        }
        for o in &self.other {
            el.push_child(o.clone());
        }
        el
    }

    /// Whether an informative feature `name` in `ns` is among
    /// [`other`](Self::other).
    pub fn offers(&self, name: &str, ns: &str) -> bool {
        self.other.iter().any(|o| o.is(name, ns))
    }
}

/// SASL data as carried in XML (RFC 6120 §6.4.2): base64, with `=` for
/// data that is present but empty.
pub(crate) fn encode_sasl(data: &[u8], in_auth_or_success: bool) -> String {
    if data.is_empty() {
        if in_auth_or_success {
            "=".to_owned()
        } else {
            String::new()
        }
    } else {
        STANDARD.encode(data)
    }
}

/// Decodes SASL data from an element's text: `None` for no data (empty
/// element), `Some(empty)` for `=`. Whitespace is ignored.
pub(crate) fn decode_sasl(text: &str) -> Result<Option<Vec<u8>>, ()> {
    let t: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match t.as_str() {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        _ => STANDARD.decode(t.as_bytes()).map(Some).map_err(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_round_trip() {
        let f = Features {
            starttls: Some(true),
            mechanisms: Some(vec!["SCRAM-SHA-1".into(), "PLAIN".into()]),
            channel_bindings: Some(vec!["tls-exporter".into()]),
            bind: true,
            session: Some(true),
            limits: Some(StreamLimits {
                max_bytes: Some(10_000),
                idle_seconds: None,
            }),
            stream_management: true,
            other: vec![
                Element::new("ver", ns::ROSTER_VER),
                Element::new("sub", ns::PRE_APPROVAL),
            ],
        };
        assert!(Features::parse(&f.to_element()).offers("sub", ns::PRE_APPROVAL));
        assert_eq!(Features::parse(&f.to_element()), f);
        assert_eq!(
            Features::parse(&Element::new("features", ns::STREAM)),
            Features::default()
        );
    }

    #[test]
    fn sasl_data() {
        assert_eq!(encode_sasl(b"", true), "=");
        assert_eq!(encode_sasl(b"", false), "");
        assert_eq!(encode_sasl(b"hi", false), "aGk=");
        assert_eq!(decode_sasl(""), Ok(None));
        assert_eq!(decode_sasl(" = "), Ok(Some(vec![])));
        assert_eq!(decode_sasl("aG\nk="), Ok(Some(b"hi".to_vec())));
        assert_eq!(decode_sasl("!!"), Err(()));
    }
}
