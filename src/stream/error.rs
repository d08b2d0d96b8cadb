//! The `<stream:error/>` element (RFC 6120 §4.9.2).

use super::Condition;
use crate::ns;
use crate::xml::{Element, ElementRef};

/// A stream error, as sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// The defined condition; an unknown one reads as
    /// `undefined-condition` (§4.9.2).
    pub condition: Condition,
    /// For `see-other-host`, the address to connect to instead
    /// (§4.9.3.19): a domain or IP literal, optionally with `:port`.
    pub other_host: Option<String>,
    /// Descriptive text, never for programs to interpret (§4.9.2).
    pub text: Option<String>,
    /// The language of `text`.
    pub lang: Option<String>,
    /// An application-specific condition element (§4.9.4).
    pub application: Option<Box<Element>>,
}

impl StreamError {
    /// An error with a condition and nothing else.
    pub fn new(condition: Condition) -> StreamError {
        StreamError {
            condition,
            other_host: None,
            text: None,
            lang: None,
            application: None,
        }
    }

    /// A `see-other-host` redirect to `host`.
    pub fn see_other_host(host: &str) -> StreamError {
        StreamError {
            other_host: Some(host.to_owned()),
            ..StreamError::new(Condition::SeeOtherHost)
        }
    }

    /// Adds descriptive text.
    pub fn with_text(mut self, text: &str) -> StreamError {
        self.text = Some(text.to_owned());
        self
    }

    /// The `<stream:error/>` element.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("error", ns::STREAM);
        let mut cond = Element::new(self.condition.as_str(), ns::STREAM_ERRORS);
        if let Some(host) = &self.other_host {
            cond.push_text(host);
        }
        el.push_child(cond);
        if let Some(text) = &self.text {
            let mut t = Element::new("text", ns::STREAM_ERRORS).with_text(text);
            if let Some(lang) = &self.lang {
                t.set_attr_ns("lang", ns::XML, lang);
            }
            el.push_child(t);
        }
        if let Some(app) = &self.application {
            el.push_child((**app).clone());
        }
        el
    }

    /// Reads a `<stream:error/>`; `None` if `el` is not one.
    pub fn from_element(el: ElementRef<'_>) -> Option<StreamError> {
        if !el.is("error", ns::STREAM) {
            return None;
        }
        let mut err = StreamError::new(Condition::UndefinedCondition);
        let mut defined = false;
        for child in el.children() {
            if child.ns() == ns::STREAM_ERRORS {
                if child.name() == "text" {
                    err.text = Some(child.text().into_owned());
                    err.lang = child.attr_ns("lang", ns::XML).map(str::to_owned);
                } else if !defined {
                    defined = true;
                    err.condition = child
                        .name()
                        .parse()
                        .unwrap_or(Condition::UndefinedCondition);
                    if err.condition == Condition::SeeOtherHost {
                        let host = child.text();
                        let host = host.trim();
                        err.other_host = (!host.is_empty()).then(|| host.to_owned());
                    }
                }
            } else if err.application.is_none() {
                err.application = Some(Box::new(child.to_owned()));
            }
        }
        Some(err)
    }
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.condition)?;
        if let Some(h) = &self.other_host {
            write!(f, " ({h})")?;
        }
        if let Some(t) = &self.text {
            write!(f, ": {t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Scope, Writer};

    #[test]
    fn writes_and_reads_rfc_examples() {
        let w = Writer::new(Scope::new(ns::CLIENT).with_prefix("stream", ns::STREAM));
        let e = StreamError::see_other_host("[2001:41D0:1:A49b::1]:9222");
        let xml = w.to_string(&e.to_element()).unwrap();
        assert_eq!(
            xml,
            "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>\
             [2001:41D0:1:A49b::1]:9222</see-other-host></stream:error>"
        );
        assert_eq!(StreamError::from_element(e.to_element().as_ref()), Some(e));
        // RFC 6120 §4.9.4: an application-specific condition with text.
        let el = Element::new("error", ns::STREAM)
            .with_child(Element::new("not-well-formed", ns::STREAM_ERRORS))
            .with_child(
                Element::new("text", ns::STREAM_ERRORS)
                    .with_attr_ns("lang", ns::XML, "en")
                    .with_text("Some special application diagnostic information!"),
            )
            .with_child(Element::new("escape-your-data", "http://example.org/ns"));
        let e = StreamError::from_element(el.as_ref()).unwrap();
        assert_eq!(e.condition, Condition::NotWellFormed);
        assert_eq!(e.lang.as_deref(), Some("en"));
        assert!(
            e.application
                .unwrap()
                .is("escape-your-data", "http://example.org/ns")
        );
        // Unknown conditions are undefined-condition (§4.9.2).
        let el = Element::new("error", ns::STREAM)
            .with_child(Element::new("brand-new", ns::STREAM_ERRORS));
        assert_eq!(
            StreamError::from_element(el.as_ref()).unwrap().condition,
            Condition::UndefinedCondition
        );
        assert_eq!(
            StreamError::from_element(Element::new("error", ns::CLIENT).as_ref()),
            None
        );
    }
}
