//! Conversions between [`Element`] and `minidom::Element` (the `minidom`
//! feature), so that the typed payloads of the xmpp-parsers crate work
//! with stanzas read and written by this crate.
//!
//! The conversion goes through serialized XML: it is exact for anything
//! either tree can hold, and it keeps minidom's own checks.

use super::{Element, FrameEvent, Framer, Limits, Writer};

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The element cannot be written as XML.
    #[error(transparent)]
    Write(#[from] super::WriteError),
    /// minidom refused the XML.
    #[error("minidom: {0}")]
    Minidom(#[from] minidom::Error),
    /// This crate's reader refused minidom's XML.
    #[error(transparent)]
    Read(#[from] super::Error),
}

impl TryFrom<&Element> for minidom::Element {
    type Error = ConvertError;

    fn try_from(el: &Element) -> Result<Self, ConvertError> {
        let xml = Writer::standalone().to_string(el)?;
        Ok(xml.parse()?)
    }
}

impl TryFrom<&minidom::Element> for Element {
    type Error = ConvertError;

    fn try_from(el: &minidom::Element) -> Result<Self, ConvertError> {
        let mut xml = b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>".to_vec();
        el.write_to(&mut xml)?;
        let mut framer = Framer::new(Limits::relaxed(usize::MAX));
        let mut input = &xml[..];
        while let Some(ev) = framer.next_event(&mut input)? {
            if let FrameEvent::Element(e) = ev {
                return Ok(e);
            }
        }
        Err(super::Error::UnexpectedEof.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns;

    #[test]
    fn both_ways() {
        let ours = Element::new("message", ns::CLIENT)
            .with_attr("to", "juliet@example.com")
            .with_attr_ns("lang", ns::XML, "en")
            .with_child(Element::new("body", ns::CLIENT).with_text("a < b & 'c'"))
            .with_child(Element::new("x", "urn:x").with_attr_ns("a", "urn:y", "1"));
        let theirs = minidom::Element::try_from(&ours).unwrap();
        assert!(theirs.is("message", "jabber:client"));
        assert_eq!(theirs.attr("to"), Some("juliet@example.com"));
        assert_eq!(
            theirs.get_child("body", "jabber:client").unwrap().text(),
            "a < b & 'c'"
        );
        let back = Element::try_from(&theirs).unwrap();
        assert_eq!(back, ours);
    }
}
