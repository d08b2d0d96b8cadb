//! The subscription state machine for one user and one contact, server
//! side (RFC 6121 §3, Appendix A).
//!
//! An [`Item`] is what the user's server stores about one contact: one of
//! the nine [`State`]s of Appendix A.1, the pre-approval flag of §3.4 and
//! whether a roster item exists (an inbound request from a stranger is
//! remembered without creating one, §3.1.3). [`Item::outbound`] handles a
//! `subscribe`, `subscribed`, `unsubscribe` or `unsubscribed` the user
//! sends (Tables 2-5), [`Item::inbound`] one addressed to the user
//! (Tables 6-9). Each returns an [`Outcome`]: the new item and the
//! [`Action`]s the server must take, in the order the RFC's prose
//! requires. Nothing is done here; the host stores the item and carries
//! the actions out.
//!
//! # Example: answering a subscription request
//!
//! Juliet's server receives Romeo's request, delivers it, and later
//! processes Juliet's approval (RFC 6121 §3.1.3-§3.1.5):
//!
//! ```
//! use xmpp_sansio::presence::{Action, Item, Kind, State};
//!
//! // Romeo is a stranger to Juliet: no roster item, nothing pending.
//! let romeo = Item::unknown();
//!
//! // <presence from='romeo@example.net' to='juliet@example.com' type='subscribe'/>
//! let got = romeo.inbound(Kind::Subscribe);
//! assert_eq!(got.item.state(), State::NonePendingIn);
//! assert!(!got.item.in_roster()); // §3.1.3: no roster item until approved
//! assert_eq!(got.actions(), &[Action::Deliver]); // or store until Juliet is online
//!
//! // Juliet approves: <presence to='romeo@example.net' type='subscribed'/>
//! let approved = got.item.outbound(Kind::Subscribed, true);
//! assert_eq!(approved.item.state(), State::From);
//! assert_eq!(
//!     approved.actions(),
//!     &[Action::Route, Action::RosterPush, Action::SendAvailable],
//! );
//! // The roster push carries the new item.
//! let push = approved.item.roster_element("romeo@example.net");
//! assert_eq!(push.attr("subscription"), Some("from"));
//! ```

use std::fmt;

use crate::ns;
use crate::stanza::PresenceType;
use crate::xml::Element;

/// The nine subscription states of RFC 6121 Appendix A.1, from the user's
/// perspective ("To": the user receives the contact's presence; "From":
/// the contact receives the user's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Neither is subscribed, nothing pending.
    None,
    /// The user asked the contact; no answer yet.
    NonePendingOut,
    /// The contact asked the user; no answer yet.
    NonePendingIn,
    /// Both asked; neither answered.
    NonePendingOutIn,
    /// The user is subscribed to the contact.
    To,
    /// The user is subscribed to the contact, and the contact asked.
    ToPendingIn,
    /// The contact is subscribed to the user.
    From,
    /// The contact is subscribed to the user, and the user asked.
    FromPendingOut,
    /// Both are subscribed to each other.
    Both,
}

impl State {
    /// Every state, in the order of the RFC's tables.
    pub const ALL: [State; 9] = [
        State::None,
        State::NonePendingOut,
        State::NonePendingIn,
        State::NonePendingOutIn,
        State::To,
        State::ToPendingIn,
        State::From,
        State::FromPendingOut,
        State::Both,
    ];

    /// The roster's `subscription` attribute for this state.
    pub fn subscription(self) -> Subscription {
        match self {
            State::None
            | State::NonePendingOut
            | State::NonePendingIn
            | State::NonePendingOutIn => Subscription::None,
            State::To | State::ToPendingIn => Subscription::To,
            State::From | State::FromPendingOut => Subscription::From,
            State::Both => Subscription::Both,
        }
    }

    /// Whether the user's request is pending (`ask='subscribe'`).
    pub fn pending_out(self) -> bool {
        matches!(
            self,
            State::NonePendingOut | State::NonePendingOutIn | State::FromPendingOut
        )
    }

    /// Whether the contact's request is pending.
    pub fn pending_in(self) -> bool {
        matches!(
            self,
            State::NonePendingIn | State::NonePendingOutIn | State::ToPendingIn
        )
    }

    /// Whether the user receives the contact's presence.
    pub fn has_to(self) -> bool {
        matches!(self.subscription(), Subscription::To | Subscription::Both)
    }

    /// Whether the contact receives the user's presence.
    pub fn has_from(self) -> bool {
        matches!(self.subscription(), Subscription::From | Subscription::Both)
    }

    /// The state with this roster subscription and pending flags, if
    /// Appendix A.1 has one (a subscription cannot be pending in a
    /// direction that is already subscribed).
    pub fn from_parts(
        subscription: Subscription,
        pending_out: bool,
        pending_in: bool,
    ) -> Option<State> {
        Some(match (subscription, pending_out, pending_in) {
            (Subscription::None, false, false) => State::None,
            (Subscription::None, true, false) => State::NonePendingOut,
            (Subscription::None, false, true) => State::NonePendingIn,
            (Subscription::None, true, true) => State::NonePendingOutIn,
            (Subscription::To, false, false) => State::To,
            (Subscription::To, false, true) => State::ToPendingIn,
            (Subscription::From, false, false) => State::From,
            (Subscription::From, true, false) => State::FromPendingOut,
            (Subscription::Both, false, false) => State::Both,
            _ => return Option::None,
        })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::None => "None",
            State::NonePendingOut => "None + Pending Out",
            State::NonePendingIn => "None + Pending In",
            State::NonePendingOutIn => "None + Pending Out+In",
            State::To => "To",
            State::ToPendingIn => "To + Pending In",
            State::From => "From",
            State::FromPendingOut => "From + Pending Out",
            State::Both => "Both",
        })
    }
}

/// The roster's `subscription` attribute (RFC 6121 §2.1.2.5), without
/// `remove`, which is a request rather than a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// `none`.
    None,
    /// `to`.
    To,
    /// `from`.
    From,
    /// `both`.
    Both,
}

impl Subscription {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }

    /// Parses an attribute value; `remove` and unknown values are `None`.
    pub fn parse(value: &str) -> Option<Subscription> {
        Some(match value {
            "none" => Subscription::None,
            "to" => Subscription::To,
            "from" => Subscription::From,
            "both" => Subscription::Both,
            _ => return Option::None,
        })
    }
}

/// A subscription-related presence type (RFC 6121 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `subscribe`: a request.
    Subscribe,
    /// `subscribed`: an approval (or pre-approval).
    Subscribed,
    /// `unsubscribe`: the sender stops receiving the other's presence.
    Unsubscribe,
    /// `unsubscribed`: a denial or cancellation.
    Unsubscribed,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [
        Kind::Subscribe,
        Kind::Unsubscribe,
        Kind::Subscribed,
        Kind::Unsubscribed,
    ];

    /// The kind of a presence `type`, if it is subscription-related.
    pub fn from_presence_type(kind: PresenceType) -> Option<Kind> {
        Some(match kind {
            PresenceType::Subscribe => Kind::Subscribe,
            PresenceType::Subscribed => Kind::Subscribed,
            PresenceType::Unsubscribe => Kind::Unsubscribe,
            PresenceType::Unsubscribed => Kind::Unsubscribed,
            _ => return Option::None,
        })
    }

    /// The presence `type`.
    pub fn presence_type(self) -> PresenceType {
        match self {
            Kind::Subscribe => PresenceType::Subscribe,
            Kind::Subscribed => PresenceType::Subscribed,
            Kind::Unsubscribe => PresenceType::Unsubscribe,
            Kind::Unsubscribed => PresenceType::Unsubscribed,
        }
    }
}

/// Which way a subscription stanza travels, seen from the user's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the user (Appendix A.2).
    Outbound,
    /// Addressed to the user (Appendix A.3).
    Inbound,
}

/// What the user's server does after a subscription stanza, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Outbound: stamp the stanza with the user's bare JID as `from`,
    /// address it to the contact's bare JID (§3.1.2), and deliver it
    /// locally or route it to the contact's server.
    Route,
    /// Inbound: deliver the stanza to the user. A `subscribe` goes to the
    /// available resources; one that finds none is stored, one per
    /// contact, and delivered whenever the user next becomes available
    /// until answered (§3.1.3 rule 4). The others go to the interested
    /// resources, before the roster push that follows (§3.1.6, §3.2.3,
    /// §3.3.3).
    Deliver,
    /// Send the contact, from the user's bare JID to the contact's bare
    /// JID, a presence of this type on the user's behalf.
    Reply(Kind),
    /// Push the new item ([`Item::roster_element`]) to the user's
    /// interested resources (§2.1.6).
    RosterPush,
    /// Send the contact the current presence of each of the user's
    /// available resources (§3.1.5).
    SendAvailable,
    /// Send the contact `unavailable` from each of the user's available
    /// resources (§3.2.2, §3.3.3).
    SendUnavailable,
}

/// What the user's server stores about one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Item {
    state: State,
    approved: bool,
    in_roster: bool,
}

impl Default for Item {
    fn default() -> Item {
        Item::unknown()
    }
}

impl Item {
    /// A contact the user's server knows nothing about: state "None"
    /// (Appendix A.1's implementation note), not in the roster.
    pub const fn unknown() -> Item {
        Item {
            state: State::None,
            approved: false,
            in_roster: false,
        }
    }

    /// A stored item. `None` for combinations no sequence of stanzas
    /// reaches: a pre-approval (§3.4) alongside a subscription from the
    /// contact or a pending request from them, or one without a roster
    /// item; or, without a roster item, any state but "None" and
    /// "None + Pending In".
    pub fn new(state: State, approved: bool, in_roster: bool) -> Option<Item> {
        let item = Item {
            state,
            approved,
            in_roster,
        };
        item.is_valid().then_some(item)
    }

    /// A roster item in `state`, not pre-approved.
    pub fn in_state(state: State) -> Item {
        Item {
            state,
            approved: false,
            in_roster: true,
        }
    }

    /// Whether the item satisfies the invariants [`Item::new`] checks.
    pub fn is_valid(&self) -> bool {
        let approved_ok = !self.approved
            || (self.in_roster && !self.state.has_from() && !self.state.pending_in());
        let roster_ok = self.in_roster || matches!(self.state, State::None | State::NonePendingIn);
        approved_ok && roster_ok
    }

    /// The subscription state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the user pre-approved the contact's request (§3.4).
    pub fn approved(&self) -> bool {
        self.approved
    }

    /// Whether the user's roster holds an item for the contact.
    pub fn in_roster(&self) -> bool {
        self.in_roster
    }

    /// Whether nothing is left worth storing: no roster item, no
    /// pending request. The host may then drop the record.
    pub fn is_empty(&self) -> bool {
        *self == Item::unknown()
    }

    /// Processes a subscription stanza the user sends (Tables 2-5 with
    /// §3.1.2, §3.1.5, §3.2.2, §3.3.2 and §3.4.2). `pre_approval` says
    /// whether the server offers subscription pre-approval (and so
    /// advertises [`ns::PRE_APPROVAL`]).
    pub fn outbound(self, kind: Kind, pre_approval: bool) -> Outcome {
        use State::*;
        let mut out = Outcome::new(self);
        let s = self.state;
        match kind {
            // Table 2 and §3.1.2: always routed; pending out is set.
            Kind::Subscribe => {
                out.item.state = match s {
                    None => NonePendingOut,
                    NonePendingIn => NonePendingOutIn,
                    From => FromPendingOut,
                    other => other,
                };
                out.item.in_roster = true;
                out.push(Action::Route);
                out.push_roster_if_changed(self);
            }
            // Table 3 and §3.3.2: always routed; "to" and pending out end.
            Kind::Unsubscribe => {
                out.item.state = match s {
                    NonePendingOut | To => None,
                    NonePendingOutIn | ToPendingIn => NonePendingIn,
                    FromPendingOut | Both => From,
                    other => other,
                };
                out.push(Action::Route);
                out.push_roster_if_changed(self);
            }
            // Table 4 with §3.1.5 and §3.4.2.
            Kind::Subscribed => match s {
                NonePendingIn | NonePendingOutIn | ToPendingIn => {
                    out.item.state = match s {
                        NonePendingIn => From,
                        NonePendingOutIn => FromPendingOut,
                        _ => Both,
                    };
                    out.item.in_roster = true;
                    out.push(Action::Route);
                    out.push(Action::RosterPush);
                    out.push(Action::SendAvailable);
                }
                None | NonePendingOut | To => {
                    // Pre-approval: noted, pushed, never routed. Without
                    // the feature the stanza must not be routed either.
                    if pre_approval {
                        out.item.approved = true;
                        out.item.in_roster = true;
                        out.push_roster_if_changed(self);
                    }
                }
                From | FromPendingOut | Both => {}
            },
            // Table 5 with §3.2.2.
            Kind::Unsubscribed => match s {
                None | NonePendingOut | To => {
                    // Not routed; cancels a pre-approval if there is one.
                    out.item.approved = false;
                    out.push_roster_if_changed(self);
                }
                NonePendingIn | NonePendingOutIn | ToPendingIn => {
                    // A denial.
                    out.item.state = match s {
                        NonePendingIn => None,
                        NonePendingOutIn => NonePendingOut,
                        _ => To,
                    };
                    out.push(Action::Route);
                    out.push_roster_if_changed(self);
                }
                From | FromPendingOut | Both => {
                    // A cancellation: unavailable goes out while the
                    // contact is still subscribed, then the stanza.
                    out.item.state = match s {
                        From => None,
                        FromPendingOut => NonePendingOut,
                        _ => To,
                    };
                    out.push(Action::SendUnavailable);
                    out.push(Action::Route);
                    out.push_roster_if_changed(self);
                }
            },
        }
        out
    }

    /// Processes a subscription stanza from the contact addressed to the
    /// user (Tables 6-9 with §3.1.3, §3.1.6, §3.2.3, §3.3.3 and §3.4.2).
    pub fn inbound(self, kind: Kind) -> Outcome {
        use State::*;
        let mut out = Outcome::new(self);
        let s = self.state;
        match kind {
            // Table 6 with §3.1.3 and §3.4.2.
            Kind::Subscribe => match s {
                // Footnote [2]: already subscribed, answer for the user.
                From | FromPendingOut | Both => out.push(Action::Reply(Kind::Subscribed)),
                None | NonePendingOut | To if self.approved => {
                    // Footnote [1] and §3.4.2: the pre-approval answers.
                    out.item.state = match s {
                        None => From,
                        NonePendingOut => FromPendingOut,
                        _ => Both,
                    };
                    out.item.approved = false;
                    out.item.in_roster = true;
                    out.push(Action::Reply(Kind::Subscribed));
                    out.push(Action::RosterPush);
                    out.push(Action::SendAvailable);
                }
                None | NonePendingOut | To => {
                    out.item.state = match s {
                        None => NonePendingIn,
                        NonePendingOut => NonePendingOutIn,
                        _ => ToPendingIn,
                    };
                    // No roster item is created for a stranger (§3.1.3),
                    // and a pending request shows in no roster attribute.
                    out.push(Action::Deliver);
                }
                // A repeated request is not delivered again.
                NonePendingIn | NonePendingOutIn | ToPendingIn => {}
            },
            // Table 7 with §3.3.3: "from" and pending in end.
            Kind::Unsubscribe => {
                out.item.state = match s {
                    NonePendingIn | From => None,
                    NonePendingOutIn | FromPendingOut => NonePendingOut,
                    ToPendingIn | Both => To,
                    other => other,
                };
                if out.item.state != s {
                    out.push(Action::Deliver);
                    out.push_roster_if_changed(self);
                    if s.has_from() {
                        out.push(Action::SendUnavailable);
                    }
                    out.push(Action::Reply(Kind::Unsubscribed));
                }
            }
            // Table 8 with §3.1.6: only a pending request is answered.
            Kind::Subscribed => {
                out.item.state = match s {
                    NonePendingOut => To,
                    NonePendingOutIn => ToPendingIn,
                    FromPendingOut => Both,
                    other => other,
                };
                if out.item.state != s {
                    out.push(Action::Deliver);
                    out.push(Action::RosterPush);
                }
            }
            // Table 9 with §3.2.3: "to" and pending out end.
            Kind::Unsubscribed => {
                out.item.state = match s {
                    NonePendingOut | To => None,
                    NonePendingOutIn | ToPendingIn => NonePendingIn,
                    FromPendingOut | Both => From,
                    other => other,
                };
                if out.item.state != s {
                    out.push(Action::Deliver);
                    out.push_roster_if_changed(self);
                }
            }
        }
        out
    }

    /// Processes a stanza in either direction; see [`Item::outbound`] and
    /// [`Item::inbound`].
    pub fn process(self, direction: Direction, kind: Kind, pre_approval: bool) -> Outcome {
        match direction {
            Direction::Outbound => self.outbound(kind, pre_approval),
            Direction::Inbound => self.inbound(kind),
        }
    }

    /// The roster `<item/>` for contact `jid` (RFC 6121 §2.1.2), with
    /// `subscription`, `ask='subscribe'` when the user's request is
    /// pending and `approved='true'` for a pre-approval. The host adds
    /// `name` and `<group/>`s.
    pub fn roster_element(&self, jid: &str) -> Element {
        let mut el = Element::new("item", ns::ROSTER)
            .with_attr("jid", jid)
            .with_attr("subscription", self.state.subscription().as_str());
        if self.state.pending_out() {
            el = el.with_attr("ask", "subscribe");
        }
        if self.approved {
            el = el.with_attr("approved", "true");
        }
        el
    }

    /// What the roster shows: whether the item exists, subscription, ask
    /// and approved.
    fn roster_view(&self) -> (bool, Subscription, bool, bool) {
        (
            self.in_roster,
            self.state.subscription(),
            self.state.pending_out(),
            self.approved,
        )
    }
}

/// The result of processing one stanza: the new item and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The item to store.
    pub item: Item,
    actions: [Action; 4],
    len: u8,
}

impl Outcome {
    fn new(item: Item) -> Outcome {
        Outcome {
            item,
            actions: [Action::Route; 4],
            len: 0,
        }
    }

    fn push(&mut self, action: Action) {
        self.actions[usize::from(self.len)] = action;
        self.len += 1;
    }

    /// Pushes the roster if the item is (now) in the roster and what the
    /// roster shows changed.
    fn push_roster_if_changed(&mut self, before: Item) {
        if self.item.in_roster && self.item.roster_view() != before.roster_view() {
            self.push(Action::RosterPush);
        }
    }

    /// The actions, in the order they must be taken.
    pub fn actions(&self) -> &[Action] {
        &self.actions[..usize::from(self.len)]
    }

    /// Whether the stanza leaves the server toward the contact (routed or
    /// delivered locally to them).
    pub fn routes(&self) -> bool {
        self.actions().contains(&Action::Route)
    }

    /// Whether the stanza is delivered to the user.
    pub fn delivers(&self) -> bool {
        self.actions().contains(&Action::Deliver)
    }
}
