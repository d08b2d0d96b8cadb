//! Fuzzing entry point: a byte script driving the subscription machine on
//! two servers and one account's presence logic, checking invariants
//! after every step. Any violation panics.

use jid::{BareJid, Jid};

use super::client::Presences;
use super::server::{Account, MessageRoute};
use super::{Action, Item, Kind, State};
use crate::stanza::{MessageType, Presence, PresenceType, Show};

const CONTACTS: [&str; 4] = [
    "romeo@example.net",
    "nurse@example.com",
    "room@muc.example.org/j",
    "mercutio@example.org",
];
const RESOURCES: [&str; 3] = ["a", "b", "c"];

/// Runs the script; returns the number of steps taken.
pub fn run(data: &[u8]) -> usize {
    let Some((&head, rest)) = data.split_first() else {
        return 0;
    };
    let split = rest.len().min(usize::from(head) * 2);
    let (subs, acct) = rest.split_at(split);
    subscriptions(head & 1 == 1, subs) + account(acct)
}

/// Each byte: a side and a subscription kind, processed on both servers
/// with auto-replies; the two views must agree afterwards.
fn subscriptions(pre_approval: bool, script: &[u8]) -> usize {
    let mut items = [Item::unknown(); 2];
    for &b in script {
        let mut queue = vec![(
            usize::from(b & 1),
            Kind::ALL[usize::from(b >> 1) & 3],
            false,
        )];
        let mut steps = 0;
        while let Some((sender, kind, replied)) = queue.pop() {
            steps += 1;
            assert!(steps < 16, "subscription replies do not settle");
            if !replied {
                let out = items[sender].outbound(kind, pre_approval);
                items[sender] = out.item;
                if !out.routes() {
                    continue;
                }
            }
            let got = items[1 - sender].inbound(kind);
            items[1 - sender] = got.item;
            for a in got.actions() {
                if let Action::Reply(k) = a {
                    queue.push((1 - sender, *k, true));
                }
            }
        }
        let [x, y] = items;
        assert!(x.is_valid() && y.is_valid());
        assert_eq!(x.state().has_to(), y.state().has_from());
        assert_eq!(x.state().has_from(), y.state().has_to());
        assert_eq!(x.state().pending_out(), y.state().pending_in());
        assert_eq!(x.state().pending_in(), y.state().pending_out());
    }
    script.len()
}

/// Pairs of bytes: an operation on one account and its argument.
fn account(script: &[u8]) -> usize {
    let user: BareJid = "juliet@example.com".parse().expect("valid");
    let mut acct = Account::new(user);
    let mut roster: Vec<(BareJid, State)> = CONTACTS
        .iter()
        .map(|c| (c.parse::<Jid>().expect("valid").to_bare(), State::None))
        .collect();
    // What resource "a" learns of its own account's presence.
    let mut seen = Presences::new();
    let mut steps = 0;
    for pair in script.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let res = RESOURCES[usize::from(arg) % RESOURCES.len()];
        let contact = CONTACTS[usize::from(arg >> 2) % CONTACTS.len()];
        let view = roster.clone();
        let view = || view.iter().map(|(j, s)| (j, *s));
        let out = match op % 9 {
            0 => {
                acct.connect(res);
                Vec::new()
            }
            1 => acct.outbound(
                res,
                Presence::available()
                    .with_priority(arg as i8)
                    .with_show(Show::Away),
                view(),
            ),
            2 => acct.outbound(res, Presence::new(PresenceType::Unavailable), view()),
            3 => acct.outbound(res, Presence::available().with_to(contact), view()),
            4 => acct.outbound(
                res,
                Presence::new(PresenceType::Unavailable).with_to(contact),
                view(),
            ),
            5 => acct.disconnect(res, view()),
            6 => {
                let from: Jid = contact.parse().expect("valid");
                let state = roster
                    .iter()
                    .find(|(j, _)| *j == from.to_bare())
                    .map(|e| e.1);
                let out = acct.probe(&from, state);
                assert!(!out.is_empty(), "a probe is always answered");
                out
            }
            7 => {
                let kinds = [
                    MessageType::Chat,
                    MessageType::Normal,
                    MessageType::Headline,
                    MessageType::Groupchat,
                    MessageType::Error,
                ];
                let kind = kinds[usize::from(arg >> 4) % kinds.len()];
                let target = (arg & 8 != 0).then_some(res);
                if let MessageRoute::Deliver(to) = acct.route_message(target, kind) {
                    assert!(!to.is_empty());
                    for t in to {
                        let r = t.rsplit('/').next().expect("full JID");
                        assert!(
                            Some(r) == target
                                || acct.available().any(|(x, p)| x == r && p.priority() >= 0),
                            "message to {t} which cannot take it"
                        );
                    }
                }
                Vec::new()
            }
            _ => {
                let i = usize::from(arg >> 2) % roster.len();
                roster[i].1 = State::ALL[usize::from(arg) % State::ALL.len()];
                Vec::new()
            }
        };
        for o in &out {
            assert!(o.to.parse::<Jid>().is_ok(), "bad address {}", o.to);
            assert_eq!(o.stanza.to(), Some(o.to.as_str()));
            let from = o.stanza.from().expect("stamped");
            assert!(from.starts_with("juliet@example.com"), "from {from}");
            if o.to == "juliet@example.com/a" {
                seen.handle(&o.stanza);
            }
        }
        // Resource "a", while available, knows exactly which of its
        // account's resources are available.
        if acct.available().any(|(r, _)| r == "a") {
            let mut known: Vec<&str> = seen
                .get(&"juliet@example.com".parse().expect("valid"))
                .map(|c| c.resources().map(|(r, _)| r).collect())
                .unwrap_or_default();
            let mut actual: Vec<&str> = acct.available().map(|(r, _)| r).collect();
            known.sort_unstable();
            actual.sort_unstable();
            assert_eq!(known, actual, "resource a's view of its account");
        } else {
            seen.clear();
        }
        steps += 1;
    }
    steps
}
