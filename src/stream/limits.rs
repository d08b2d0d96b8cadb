//! Stream limits advertisement (XEP-0478): a receiving entity tells the
//! initiator, in its stream features, the largest top-level element it
//! accepts and after how long an idle stream may be checked or closed.
//!
//! ```xml
//! <limits xmlns='urn:xmpp:stream-limits:0'>
//!   <max-bytes>262144</max-bytes>
//!   <idle-seconds>840</idle-seconds>
//! </limits>
//! ```

use crate::ns;
use crate::xml::{Element, ElementRef, Limits};

/// The content of a `<limits/>` stream feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamLimits {
    /// The largest first-level element, in bytes, the announcer accepts.
    pub max_bytes: Option<u64>,
    /// Seconds without traffic after which the announcer may consider the
    /// stream idle.
    pub idle_seconds: Option<u64>,
}

impl StreamLimits {
    /// What a server reading with `limits` advertises.
    pub fn from_limits(limits: &Limits, idle_seconds: Option<u64>) -> StreamLimits {
        StreamLimits {
            max_bytes: Some(limits.max_stanza_bytes as u64),
            idle_seconds,
        }
    }

    /// The `<limits/>` element to put in `<stream:features/>`.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("limits", ns::STREAM_LIMITS);
        if let Some(n) = self.max_bytes {
            el.push_child(Element::new("max-bytes", ns::STREAM_LIMITS).with_text(&n.to_string()));
        }
        if let Some(n) = self.idle_seconds {
            el.push_child(
                Element::new("idle-seconds", ns::STREAM_LIMITS).with_text(&n.to_string()),
            );
        }
        el
    }

    /// Reads a `<limits/>` element; `None` if `el` is not one. Values that
    /// are not positive integers are ignored, as unknown content is.
    pub fn from_element(el: ElementRef<'_>) -> Option<StreamLimits> {
        if !el.is("limits", ns::STREAM_LIMITS) {
            return None;
        }
        let num = |name: &str| {
            el.get_child(name, ns::STREAM_LIMITS)
                .and_then(|c| c.text().trim().parse::<u64>().ok())
                .filter(|&n| n > 0)
        };
        Some(StreamLimits {
            max_bytes: num("max-bytes"),
            idle_seconds: num("idle-seconds"),
        })
    }

    /// Finds and reads the `<limits/>` child of a `<stream:features/>`.
    pub fn from_features(features: &Element) -> Option<StreamLimits> {
        features.children().find_map(StreamLimits::from_element)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Writer;

    #[test]
    fn round_trip_and_leniency() {
        let l = StreamLimits::from_limits(&Limits::default(), Some(840));
        assert_eq!(l.max_bytes, Some(262_144));
        let el = l.to_element();
        assert_eq!(
            Writer::standalone().to_string(&el).unwrap(),
            "<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>262144</max-bytes>\
             <idle-seconds>840</idle-seconds></limits>"
        );
        assert_eq!(StreamLimits::from_element(el.as_ref()), Some(l));
        let features = Element::new("features", ns::STREAM)
            .with_child(Element::new("bind", ns::BIND))
            .with_child(
                Element::new("limits", ns::STREAM_LIMITS)
                    .with_child(Element::new("max-bytes", ns::STREAM_LIMITS).with_text(" 10000 "))
                    .with_child(Element::new("idle-seconds", ns::STREAM_LIMITS).with_text("-1")),
            );
        assert_eq!(
            StreamLimits::from_features(&features),
            Some(StreamLimits {
                max_bytes: Some(10_000),
                idle_seconds: None
            })
        );
        assert_eq!(
            StreamLimits::from_element(Element::new("bind", ns::BIND).as_ref()),
            None
        );
    }
}
