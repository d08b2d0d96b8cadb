//! RFC 6121 Appendix A, row by row, and properties of the subscription
//! machine across two servers.

use proptest::prelude::*;
use xmpp_sansio::presence::{Action, Item, Kind, State};

use State::*;

/// What a table's middle column says: route (outbound) or deliver
/// (inbound).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    Must,
    ShouldNot,
    MustNot,
}

/// A table's last column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum New {
    Unchanged,
    To(State),
    PreApproval,
}

type Row = (State, Col, New);

// Table 2: Processing of outbound "subscribe" stanzas.
const TABLE_2: [Row; 9] = [
    (None, Col::Must, New::To(NonePendingOut)),
    (NonePendingOut, Col::Must, New::Unchanged),
    (NonePendingIn, Col::Must, New::To(NonePendingOutIn)),
    (NonePendingOutIn, Col::Must, New::Unchanged),
    (To, Col::Must, New::Unchanged),
    (ToPendingIn, Col::Must, New::Unchanged),
    (From, Col::Must, New::To(FromPendingOut)),
    (FromPendingOut, Col::Must, New::Unchanged),
    (Both, Col::Must, New::Unchanged),
];

// Table 3: Processing of outbound "unsubscribe" stanzas.
const TABLE_3: [Row; 9] = [
    (None, Col::Must, New::Unchanged),
    (NonePendingOut, Col::Must, New::To(None)),
    (NonePendingIn, Col::Must, New::Unchanged),
    (NonePendingOutIn, Col::Must, New::To(NonePendingIn)),
    (To, Col::Must, New::To(None)),
    (ToPendingIn, Col::Must, New::To(NonePendingIn)),
    (From, Col::Must, New::Unchanged),
    (FromPendingOut, Col::Must, New::To(From)),
    (Both, Col::Must, New::To(From)),
];

// Table 4: Processing of outbound "subscribed" stanzas.
const TABLE_4: [Row; 9] = [
    (None, Col::MustNot, New::PreApproval),
    (NonePendingOut, Col::MustNot, New::PreApproval),
    (NonePendingIn, Col::Must, New::To(From)),
    (NonePendingOutIn, Col::Must, New::To(FromPendingOut)),
    (To, Col::MustNot, New::PreApproval),
    (ToPendingIn, Col::Must, New::To(Both)),
    (From, Col::MustNot, New::Unchanged),
    (FromPendingOut, Col::MustNot, New::Unchanged),
    (Both, Col::MustNot, New::Unchanged),
];

// Table 5: Processing of outbound "unsubscribed" stanzas.
const TABLE_5: [Row; 9] = [
    (None, Col::ShouldNot, New::Unchanged),
    (NonePendingOut, Col::ShouldNot, New::Unchanged),
    (NonePendingIn, Col::Must, New::To(None)),
    (NonePendingOutIn, Col::Must, New::To(NonePendingOut)),
    (To, Col::ShouldNot, New::Unchanged),
    (ToPendingIn, Col::Must, New::To(To)),
    (From, Col::Must, New::To(None)),
    (FromPendingOut, Col::Must, New::To(NonePendingOut)),
    (Both, Col::Must, New::To(To)),
];

// Table 6: Processing of inbound "subscribe" stanzas.
const TABLE_6: [Row; 9] = [
    (None, Col::Must, New::To(NonePendingIn)),
    (NonePendingOut, Col::Must, New::To(NonePendingOutIn)),
    (NonePendingIn, Col::ShouldNot, New::Unchanged),
    (NonePendingOutIn, Col::ShouldNot, New::Unchanged),
    (To, Col::Must, New::To(ToPendingIn)),
    (ToPendingIn, Col::ShouldNot, New::Unchanged),
    (From, Col::ShouldNot, New::Unchanged),
    (FromPendingOut, Col::ShouldNot, New::Unchanged),
    (Both, Col::ShouldNot, New::Unchanged),
];

// Table 7: Processing of inbound "unsubscribe" stanzas.
const TABLE_7: [Row; 9] = [
    (None, Col::ShouldNot, New::Unchanged),
    (NonePendingOut, Col::ShouldNot, New::Unchanged),
    (NonePendingIn, Col::Must, New::To(None)),
    (NonePendingOutIn, Col::Must, New::To(NonePendingOut)),
    (To, Col::ShouldNot, New::Unchanged),
    (ToPendingIn, Col::Must, New::To(To)),
    (From, Col::Must, New::To(None)),
    (FromPendingOut, Col::Must, New::To(NonePendingOut)),
    (Both, Col::Must, New::To(To)),
];

// Table 8: Processing of inbound "subscribed" stanzas.
const TABLE_8: [Row; 9] = [
    (None, Col::ShouldNot, New::Unchanged),
    (NonePendingOut, Col::Must, New::To(To)),
    (NonePendingIn, Col::ShouldNot, New::Unchanged),
    (NonePendingOutIn, Col::Must, New::To(ToPendingIn)),
    (To, Col::ShouldNot, New::Unchanged),
    (ToPendingIn, Col::ShouldNot, New::Unchanged),
    (From, Col::ShouldNot, New::Unchanged),
    (FromPendingOut, Col::Must, New::To(Both)),
    (Both, Col::ShouldNot, New::Unchanged),
];

// Table 9: Processing of inbound "unsubscribed" stanzas.
const TABLE_9: [Row; 9] = [
    (None, Col::ShouldNot, New::Unchanged),
    (NonePendingOut, Col::Must, New::To(None)),
    (NonePendingIn, Col::ShouldNot, New::Unchanged),
    (NonePendingOutIn, Col::Must, New::To(NonePendingIn)),
    (To, Col::Must, New::To(None)),
    (ToPendingIn, Col::Must, New::To(NonePendingIn)),
    (From, Col::ShouldNot, New::Unchanged),
    (FromPendingOut, Col::Must, New::To(From)),
    (Both, Col::Must, New::To(From)),
];

/// The states in table order, so a table that skips or repeats a row
/// fails.
fn check_order(table: &[Row; 9]) {
    let states: Vec<State> = table.iter().map(|r| r.0).collect();
    assert_eq!(states, State::ALL);
}

fn outbound_table(kind: Kind, table: &[Row; 9]) {
    check_order(table);
    for &(state, col, new) in table {
        for pre_approval in [false, true] {
            let item = Item::in_state(state);
            let out = item.outbound(kind, pre_approval);
            let ctx = format!("outbound {kind:?} in {state} (pre-approval {pre_approval})");
            assert_eq!(out.routes(), col == Col::Must, "{ctx}: route");
            assert!(!out.delivers(), "{ctx}");
            match new {
                New::Unchanged => {
                    assert_eq!(out.item, item, "{ctx}");
                    assert!(out.actions().iter().all(|a| *a == Action::Route), "{ctx}");
                }
                New::To(s) => {
                    assert_eq!(out.item.state(), s, "{ctx}");
                    assert!(!out.item.approved(), "{ctx}");
                    // A change the roster shows is pushed to the user's
                    // resources; a pending request from the contact is
                    // not in the roster (Appendix A.1).
                    let shown = out.item.roster_element("c@example.com")
                        != item.roster_element("c@example.com");
                    assert_eq!(out.actions().contains(&Action::RosterPush), shown, "{ctx}");
                }
                New::PreApproval => {
                    assert_eq!(out.item.state(), state, "{ctx}");
                    assert_eq!(out.item.approved(), pre_approval, "{ctx}");
                    let pushed: &[Action] = if pre_approval {
                        &[Action::RosterPush]
                    } else {
                        &[]
                    };
                    assert_eq!(out.actions(), pushed, "{ctx}");
                }
            }
            assert!(out.item.is_valid(), "{ctx}");
        }
    }
}

fn inbound_table(kind: Kind, table: &[Row; 9]) {
    check_order(table);
    for &(state, col, new) in table {
        let item = Item::in_state(state);
        let out = item.inbound(kind);
        let ctx = format!("inbound {kind:?} in {state}");
        assert_eq!(out.delivers(), col == Col::Must, "{ctx}: deliver");
        assert!(!out.routes(), "{ctx}");
        match new {
            New::Unchanged => assert_eq!(out.item, item, "{ctx}"),
            New::To(s) => assert_eq!(out.item.state(), s, "{ctx}"),
            New::PreApproval => unreachable!(),
        }
        assert!(out.item.is_valid(), "{ctx}");
    }
}

#[test]
fn table_2_outbound_subscribe() {
    outbound_table(Kind::Subscribe, &TABLE_2);
    // Footnote [1]: pending out shows as ask='subscribe'.
    let out = Item::unknown().outbound(Kind::Subscribe, false);
    assert_eq!(out.actions(), &[Action::Route, Action::RosterPush]);
    let el = out.item.roster_element("juliet@example.com");
    assert_eq!(el.attr("ask"), Some("subscribe"));
    assert_eq!(el.attr("subscription"), Some("none"));
}

#[test]
fn table_3_outbound_unsubscribe() {
    outbound_table(Kind::Unsubscribe, &TABLE_3);
}

#[test]
fn table_4_outbound_subscribed() {
    outbound_table(Kind::Subscribed, &TABLE_4);
    // §3.1.5: route, push, then the user's presence to the new subscriber.
    let out = Item::in_state(NonePendingIn).outbound(Kind::Subscribed, false);
    assert_eq!(
        out.actions(),
        &[Action::Route, Action::RosterPush, Action::SendAvailable]
    );
}

#[test]
fn table_5_outbound_unsubscribed() {
    outbound_table(Kind::Unsubscribed, &TABLE_5);
    // §3.2.2: unavailable goes out before the cancellation.
    let out = Item::in_state(Both).outbound(Kind::Unsubscribed, false);
    assert_eq!(
        out.actions(),
        &[Action::SendUnavailable, Action::Route, Action::RosterPush]
    );
    // A denial sends no unavailable: the contact was never subscribed.
    // The roster does not show the request, so nothing is pushed.
    let out = Item::in_state(ToPendingIn).outbound(Kind::Unsubscribed, false);
    assert_eq!(out.item.state(), To);
    assert_eq!(out.actions(), &[Action::Route]);
}

#[test]
fn table_6_inbound_subscribe() {
    inbound_table(Kind::Subscribe, &TABLE_6);
    // Footnote [2]: an existing subscription is answered for the user.
    for state in [From, FromPendingOut, Both] {
        let out = Item::in_state(state).inbound(Kind::Subscribe);
        assert_eq!(out.actions(), &[Action::Reply(Kind::Subscribed)], "{state}");
    }
}

#[test]
fn table_7_inbound_unsubscribe() {
    inbound_table(Kind::Unsubscribe, &TABLE_7);
    // §3.3.3: deliver, push, unavailable from each resource; footnote [1]
    // auto-reply.
    let out = Item::in_state(Both).inbound(Kind::Unsubscribe);
    assert_eq!(
        out.actions(),
        &[
            Action::Deliver,
            Action::RosterPush,
            Action::SendUnavailable,
            Action::Reply(Kind::Unsubscribed)
        ]
    );
}

#[test]
fn table_8_inbound_subscribed() {
    inbound_table(Kind::Subscribed, &TABLE_8);
    // §3.1.6: delivered before the roster push.
    let out = Item::in_state(NonePendingOut).inbound(Kind::Subscribed);
    assert_eq!(out.actions(), &[Action::Deliver, Action::RosterPush]);
}

#[test]
fn table_9_inbound_unsubscribed() {
    inbound_table(Kind::Unsubscribed, &TABLE_9);
    let out = Item::in_state(To).inbound(Kind::Unsubscribed);
    assert_eq!(out.actions(), &[Action::Deliver, Action::RosterPush]);
}

#[test]
fn stranger_requests_create_no_roster_item() {
    // §3.1.3 security warning: no roster item until approved.
    let got = Item::unknown().inbound(Kind::Subscribe);
    assert_eq!(got.item.state(), NonePendingIn);
    assert!(!got.item.in_roster());
    assert_eq!(got.actions(), &[Action::Deliver]);
    // §3.3.3: the request withdrawn, the record goes.
    let gone = got.item.inbound(Kind::Unsubscribe);
    assert!(gone.item.is_empty());
    assert!(!gone.actions().contains(&Action::RosterPush));
    // Denied, the same.
    let denied = got.item.outbound(Kind::Unsubscribed, false);
    assert!(denied.item.is_empty());
    assert_eq!(denied.actions(), &[Action::Route]);
    // Approved, the item appears with subscription='from'.
    let approved = got.item.outbound(Kind::Subscribed, false);
    assert!(approved.item.in_roster());
    let el = approved.item.roster_element("romeo@example.net");
    assert_eq!(el.attr("subscription"), Some("from"));
    assert_eq!(el.attr("ask"), Option::None);
}

#[test]
fn pre_approval_section_3_4() {
    // §3.4.2 rule 4: a stranger pre-approved gets a roster item, pushed,
    // and nothing is routed.
    let pre = Item::unknown().outbound(Kind::Subscribed, true);
    assert!(pre.item.approved() && pre.item.in_roster());
    assert_eq!(pre.actions(), &[Action::RosterPush]);
    assert_eq!(
        pre.item
            .roster_element("romeo@example.net")
            .attr("approved"),
        Some("true")
    );
    // Without the feature, the stanza is dropped.
    let off = Item::unknown().outbound(Kind::Subscribed, false);
    assert!(off.item.is_empty() && off.actions().is_empty());
    // The contact's request is then answered for the user, not delivered.
    for (state, to) in [(None, From), (NonePendingOut, FromPendingOut), (To, Both)] {
        let item = Item::new(state, true, true).unwrap();
        let out = item.inbound(Kind::Subscribe);
        assert_eq!(out.item.state(), to);
        assert!(!out.item.approved());
        assert_eq!(
            out.actions(),
            &[
                Action::Reply(Kind::Subscribed),
                Action::RosterPush,
                Action::SendAvailable
            ]
        );
    }
    // §3.2.2 rule 2: unsubscribed cancels the pre-approval, not routed.
    let cancel = pre.item.outbound(Kind::Unsubscribed, true);
    assert!(!cancel.item.approved());
    assert_eq!(cancel.actions(), &[Action::RosterPush]);
    // A second pre-approval changes nothing.
    let again = pre.item.outbound(Kind::Subscribed, true);
    assert_eq!(again.item, pre.item);
    assert!(again.actions().is_empty());
}

#[test]
fn invalid_items_are_refused() {
    assert!(Item::new(From, true, true).is_none());
    assert!(Item::new(NonePendingIn, true, true).is_none());
    assert!(Item::new(None, true, false).is_none());
    assert!(Item::new(To, false, false).is_none());
    assert!(Item::new(NonePendingIn, false, false).is_some());
    for state in State::ALL {
        let parts = State::from_parts(
            state.subscription(),
            state.pending_out(),
            state.pending_in(),
        );
        assert_eq!(parts, Some(state));
    }
}

/// One user's server and one contact's server, each holding its item for
/// the other, with stanzas between them processed to completion.
#[derive(Debug, Clone, Copy)]
struct Pair {
    items: [Item; 2],
    pre_approval: bool,
}

impl Pair {
    /// Side `from` sends `kind`; everything it triggers is carried out.
    fn send(&mut self, from: usize, kind: Kind) {
        // (sender, kind, whether the sender's server already processed
        // it: an auto-reply goes straight out, its state change done).
        let mut queue = vec![(from, kind, false)];
        let mut steps = 0;
        while let Some((sender, kind, replied)) = queue.pop() {
            steps += 1;
            assert!(steps < 16, "no quiescence: {self:?}");
            if !replied {
                let out = self.items[sender].outbound(kind, self.pre_approval);
                self.items[sender] = out.item;
                if !out.routes() {
                    continue;
                }
            }
            let receiver = 1 - sender;
            let got = self.items[receiver].inbound(kind);
            self.items[receiver] = got.item;
            for action in got.actions() {
                if let Action::Reply(reply) = action {
                    queue.push((receiver, *reply, true));
                }
            }
        }
    }

    fn check(&self) {
        let [a, b] = self.items;
        assert!(a.is_valid() && b.is_valid(), "{self:?}");
        assert_eq!(a.state().has_to(), b.state().has_from(), "{self:?}");
        assert_eq!(a.state().has_from(), b.state().has_to(), "{self:?}");
        assert_eq!(a.state().pending_out(), b.state().pending_in(), "{self:?}");
        assert_eq!(a.state().pending_in(), b.state().pending_out(), "{self:?}");
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

proptest! {
    /// Whatever both sides send, each stays in a state of Appendix A.1,
    /// and once every stanza is processed the two views agree: one's
    /// "to" is the other's "from", one's pending out the other's pending
    /// in.
    #[test]
    fn two_servers_agree(ops in prop::collection::vec((0usize..2, kind()), 0..40),
                         pre_approval in any::<bool>()) {
        let mut pair = Pair { items: [Item::unknown(); 2], pre_approval };
        for (side, kind) in ops {
            pair.send(side, kind);
            pair.check();
        }
    }

    /// From anywhere, `unsubscribe` and `unsubscribed` from both sides
    /// end every subscription and request.
    #[test]
    fn unsubscribing_converges(ops in prop::collection::vec((0usize..2, kind()), 0..40),
                               pre_approval in any::<bool>(),
                               first in 0usize..2) {
        let mut pair = Pair { items: [Item::unknown(); 2], pre_approval };
        for (side, kind) in ops {
            pair.send(side, kind);
        }
        for side in [first, 1 - first] {
            pair.send(side, Kind::Unsubscribe);
            pair.send(side, Kind::Unsubscribed);
        }
        for item in pair.items {
            prop_assert_eq!(item.state(), State::None);
            prop_assert!(!item.approved());
        }
    }

    /// Any item, any stanza, either direction: the result is valid and
    /// never asks for more than one push.
    #[test]
    fn every_transition_is_valid(state in prop::sample::select(State::ALL.to_vec()),
                                 approved in any::<bool>(), in_roster in any::<bool>(),
                                 inbound in any::<bool>(), kind in kind(),
                                 pre_approval in any::<bool>()) {
        if let Some(item) = Item::new(state, approved, in_roster) {
            let out = if inbound { item.inbound(kind) } else { item.outbound(kind, pre_approval) };
            prop_assert!(out.item.is_valid());
            let pushes = out.actions().iter().filter(|a| **a == Action::RosterPush).count();
            prop_assert!(pushes <= 1);
            if out.item == item {
                prop_assert!(pushes == 0);
            }
        }
    }
}
