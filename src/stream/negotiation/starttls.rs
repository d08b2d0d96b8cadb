//! STARTTLS (RFC 6120 §5), both sides. The handshake itself is the host's:
//! the negotiator asks for it with [`Event::StartTls`] and the role learns
//! of its end through `tls_established`. Never over WebSocket, whose TLS
//! is its own (RFC 7395 §3.9).

use super::{Cx, Progress, Rules, Stage};
use crate::ns;
use crate::stream::connection::AfterStartTls;
use crate::stream::features::Features;
use crate::stream::{Condition, Error, Event, StreamError};
use crate::xml::Element;

/// STARTTLS runs first, once, and restarts the stream.
pub(crate) const RULES: Rules = Rules {
    needs: Stage::NONE,
    forbids: Stage::SECURE.with(Stage::AUTHENTICATED),
    grants: Stage::SECURE,
    restarts: true,
};

/// The initiating side: asks for TLS, and refuses anything the server
/// slips in after `<proceed/>` (RFC 6120 §5.4.3.3).
#[derive(Debug, Default)]
pub(crate) struct Initiator {
    requested: bool,
}

impl Initiator {
    /// Whether the server offers it.
    pub(crate) fn offered(f: &Features) -> bool {
        f.starttls.is_some()
    }

    pub(crate) fn start(&mut self, cx: &mut Cx<'_>) {
        cx.core
            .send(&Element::new("starttls", ns::TLS))
            .expect("valid element");
        self.requested = true;
    }

    /// `<proceed/>` or `<failure/>`; `None` if `el` is neither.
    pub(crate) fn handle(
        &mut self,
        cx: &mut Cx<'_>,
        el: &Element,
    ) -> Option<Result<Progress, Error>> {
        if !self.requested {
            return None;
        }
        if el.is("proceed", ns::TLS) {
            self.requested = false;
            cx.core.await_tls(AfterStartTls::Refuse);
            cx.core.emit(Event::StartTls);
            return Some(Ok(Progress::Pending));
        }
        if el.is("failure", ns::TLS) {
            // RFC 6120 §5.4.2.2: the server closes the stream.
            return Some(Err(Error::Negotiation(
                "the server refused STARTTLS".into(),
            )));
        }
        None
    }
}

/// The receiving side: offers STARTTLS (with `<required/>` when nothing
/// else may happen without it) and proceeds when asked.
#[derive(Debug, Default)]
pub(crate) struct Receiver;

impl Receiver {
    pub(crate) fn advertise(&self, f: &mut Features, required: bool) {
        f.starttls = Some(required);
    }

    pub(crate) fn accepts(el: &Element) -> bool {
        el.is("starttls", ns::TLS)
    }

    pub(crate) fn handle(&mut self, cx: &mut Cx<'_>) -> Result<Progress, Error> {
        cx.core
            .send(&Element::new("proceed", ns::TLS))
            .expect("valid element");
        // RFC 6120 §5.4.3.3: nothing more until TLS is up; what the client
        // sent before its handshake is dropped.
        cx.core.await_tls(AfterStartTls::Discard);
        cx.core.emit(Event::StartTls);
        Ok(Progress::Pending)
    }
}

/// TLS established out of turn: a host bug, not the peer's.
pub(crate) fn out_of_turn(cx: &mut Cx<'_>) -> Error {
    cx.core.fail(
        StreamError::new(Condition::UndefinedCondition).with_text("TLS established out of turn"),
    )
}
