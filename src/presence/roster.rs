//! Roster management for a server (RFC 6121 §2): roster get with
//! versioning (§2.6), roster set with its checks (§2.1.5, §2.3.3, §2.5),
//! and roster pushes, over the subscription [`Item`]s.
//!
//! [`Roster`] holds one account's contacts: each one's subscription
//! [`Item`] (including requests from strangers, which are not roster
//! items), `name` and groups. Versions are a counter the roster bumps on
//! every change a client would see; the host stores it with the items.
//!
//! ```
//! use xmpp_sansio::presence::roster::{parse_set, GetAnswer, Roster, RosterLimits, SetRequest};
//! use xmpp_sansio::stanza::{Iq, IqType};
//! use xmpp_sansio::xml::Element;
//!
//! let mut roster = Roster::new(RosterLimits::default());
//! let set = Iq::new(IqType::Set, "ph1xaz53").with_payload(
//!     Element::new("query", "jabber:iq:roster").with_child(
//!         Element::new("item", "jabber:iq:roster")
//!             .with_attr("jid", "nurse@example.com")
//!             .with_attr("name", "Nurse")
//!             .with_child(Element::new("group", "jabber:iq:roster").with_text("Servants")),
//!     ),
//! );
//! let request = parse_set(&set, &RosterLimits::default()).unwrap();
//! let done = roster.set(request).unwrap();
//! // Push `done.push` to every interested resource, answer the iq with
//! // an empty result.
//! assert_eq!(done.push.attr("subscription"), Some("none"));
//! // A client that saw this version gets an empty result.
//! assert!(matches!(roster.get(Some(&roster.version())), GetAnswer::UpToDate { .. }));
//! ```

use jid::BareJid;

use super::subscription::{Action, Item, Kind, Outcome, State};
use crate::ns;
use crate::stanza::{DefinedCondition, Iq, IqType};
use crate::xml::Element;

/// Server-configured limits on roster sets (§2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosterLimits {
    /// Items per roster; a set adding one more gets
    /// `resource-constraint`.
    pub max_items: usize,
    /// Bytes in a `name` (`not-acceptable` past it).
    pub max_name: usize,
    /// Bytes in a group name (`not-acceptable` past it).
    pub max_group: usize,
    /// Groups per item (`not-acceptable` past it).
    pub max_groups: usize,
    /// Removed items remembered for versioned gets; older versions get
    /// the full roster.
    pub max_tombstones: usize,
}

impl Default for RosterLimits {
    fn default() -> RosterLimits {
        RosterLimits {
            max_items: 1000,
            max_name: 1023,
            max_group: 1023,
            max_groups: 32,
            max_tombstones: 256,
        }
    }
}

/// A parsed roster set (§2.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRequest {
    /// Add or update an item.
    Update {
        /// The contact.
        jid: BareJid,
        /// Its `name`, if any.
        name: Option<String>,
        /// Its groups (possibly none).
        groups: Vec<String>,
    },
    /// `subscription='remove'` (§2.5).
    Remove {
        /// The contact.
        jid: BareJid,
    },
}

/// Checks a roster set and reads it, or says which stanza error
/// condition answers it ([`crate::stanza::StanzaError::new`] makes the
/// error) (§2.1.5, §2.3.3). Checking that the sender may change this roster
/// (`forbidden` otherwise) is the host's, which knows who sent it.
pub fn parse_set(iq: &Iq, limits: &RosterLimits) -> Result<SetRequest, DefinedCondition> {
    let bad = Err;
    let Some(query) = iq.payload().filter(|q| q.is("query", ns::ROSTER)) else {
        return bad(DefinedCondition::BadRequest);
    };
    let mut items = query.children().filter(|c| c.is("item", ns::ROSTER));
    let (Some(item), None) = (items.next(), items.next()) else {
        return bad(DefinedCondition::BadRequest);
    };
    let Some(jid) = item.attr("jid") else {
        return bad(DefinedCondition::BadRequest);
    };
    let Ok(jid) = jid.parse::<jid::Jid>() else {
        return bad(DefinedCondition::JidMalformed);
    };
    // A roster holds bare JIDs; a full JID here is not one.
    if jid.resource().is_some() {
        return bad(DefinedCondition::JidMalformed);
    }
    let jid = jid.to_bare();
    // Every value but "remove" is ignored (§2.1.2.5).
    if item.attr("subscription") == Some("remove") {
        return Ok(SetRequest::Remove { jid });
    }
    let name = item.attr("name").map(str::to_owned);
    if name.as_ref().is_some_and(|n| n.len() > limits.max_name) {
        return bad(DefinedCondition::NotAcceptable);
    }
    let mut groups: Vec<String> = Vec::new();
    for g in item.children().filter(|c| c.is("group", ns::ROSTER)) {
        let g = g.text();
        if g.is_empty() || g.len() > limits.max_group || groups.len() >= limits.max_groups {
            return bad(DefinedCondition::NotAcceptable);
        }
        if groups.iter().any(|x| *x == g) {
            return bad(DefinedCondition::BadRequest);
        }
        groups.push(g.into_owned());
    }
    Ok(SetRequest::Update { jid, name, groups })
}

/// One contact as the roster holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The contact's bare JID.
    pub jid: BareJid,
    /// The user's handle for it.
    pub name: Option<String>,
    /// Its groups.
    pub groups: Vec<String>,
    /// The subscription item.
    pub item: Item,
    /// The version at which the client-visible item last changed.
    modified: u64,
}

impl Contact {
    /// The roster `<item/>` with name and groups.
    pub fn element(&self) -> Element {
        let mut el = self.item.roster_element(self.jid.as_str());
        if let Some(n) = &self.name {
            el.set_attr("name", n);
        }
        for g in &self.groups {
            el.push_child(Element::new("group", ns::ROSTER).with_text(g));
        }
        el
    }
}

/// The answer to a roster get.
#[derive(Debug, Clone, PartialEq)]
pub enum GetAnswer {
    /// The whole roster: the `<query ver='...'/>` to put in the result.
    Full(Element),
    /// An empty result, then these interim pushes (§2.6.3), oldest
    /// first: each an `<item/>` for a roster push.
    UpToDate {
        /// The items changed since the client's version.
        pushes: Vec<Element>,
    },
}

/// A roster set carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct SetDone {
    /// The `<item/>` to push to every interested resource.
    pub push: Element,
    /// Presence to send the contact from the user's bare JID, in order:
    /// `unsubscribe` and `unsubscribed` when a removed item had
    /// subscriptions (§2.5.2).
    pub presence: Vec<Kind>,
}

/// One account's roster.
#[derive(Debug, Clone)]
pub struct Roster {
    contacts: Vec<Contact>,
    /// Removed contacts and the version at which they went.
    removed: Vec<(BareJid, u64)>,
    /// The oldest version from which `removed` is complete.
    horizon: u64,
    version: u64,
    limits: RosterLimits,
}

impl Roster {
    /// An empty roster at version 0.
    pub fn new(limits: RosterLimits) -> Roster {
        Roster {
            contacts: Vec::new(),
            removed: Vec::new(),
            horizon: 0,
            version: 0,
            limits,
        }
    }

    /// The current version, as sent in `ver`.
    pub fn version(&self) -> String {
        self.version.to_string()
    }

    /// The stored subscription item for `jid` ([`Item::unknown`] if none).
    pub fn item(&self, jid: &BareJid) -> Item {
        self.contact(jid).map_or(Item::unknown(), |c| c.item)
    }

    /// The contact, if the roster holds a record of it (a roster item or
    /// a stranger's pending request).
    pub fn contact(&self, jid: &BareJid) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.jid == *jid)
    }

    /// Every contact's subscription state, for [`super::server::Account`].
    pub fn states(&self) -> impl Iterator<Item = (&BareJid, State)> {
        self.contacts.iter().map(|c| (&c.jid, c.item.state()))
    }

    /// The roster items (records of strangers' requests excluded).
    pub fn items(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.iter().filter(|c| c.item.in_roster())
    }

    /// Answers a roster get carrying `ver` (or none) (§2.1.3, §2.6.3):
    /// the full roster, or, when the client's version is known, an empty
    /// result and a push for each item changed since.
    pub fn get(&self, ver: Option<&str>) -> GetAnswer {
        if let Some(since) = ver.and_then(|v| v.parse::<u64>().ok())
            && since <= self.version
            && since >= self.horizon
        {
            let mut changed: Vec<(u64, Element)> = self
                .items()
                .filter(|c| c.modified > since)
                .map(|c| (c.modified, c.element()))
                .collect();
            changed.extend(
                self.removed
                    .iter()
                    .filter(|(_, v)| *v > since)
                    .map(|(j, v)| {
                        (
                            *v,
                            Element::new("item", ns::ROSTER)
                                .with_attr("jid", j.as_str())
                                .with_attr("subscription", "remove"),
                        )
                    }),
            );
            changed.sort_by_key(|(v, _)| *v);
            return GetAnswer::UpToDate {
                pushes: changed.into_iter().map(|(_, e)| e).collect(),
            };
        }
        let mut query = Element::new("query", ns::ROSTER).with_attr("ver", &self.version());
        for c in self.items() {
            query.push_child(c.element());
        }
        GetAnswer::Full(query)
    }

    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// Carries out a checked roster set (§2.3.2, §2.4.2, §2.5.2).
    /// Adding past [`RosterLimits::max_items`] gets
    /// `resource-constraint`; removing an item not in the roster,
    /// `item-not-found`.
    pub fn set(&mut self, request: SetRequest) -> Result<SetDone, DefinedCondition> {
        match request {
            SetRequest::Update { jid, name, groups } => {
                let count = self.items().count();
                let idx = match self.contacts.iter().position(|c| c.jid == jid) {
                    Some(i) => i,
                    None => {
                        self.contacts.push(Contact {
                            jid: jid.clone(),
                            name: None,
                            groups: Vec::new(),
                            item: Item::unknown(),
                            modified: 0,
                        });
                        self.contacts.len() - 1
                    }
                };
                if !self.contacts[idx].item.in_roster() && count >= self.limits.max_items {
                    if self.contacts[idx].item.is_empty() {
                        self.contacts.swap_remove(idx);
                    }
                    return Err(DefinedCondition::ResourceConstraint);
                }
                let v = self.bump();
                let c = &mut self.contacts[idx];
                let state = c.item.state();
                c.item = Item::new(state, c.item.approved(), true).unwrap_or(Item::in_state(state));
                c.name = name;
                c.groups = groups;
                c.modified = v;
                self.removed.retain(|(j, _)| *j != jid);
                Ok(SetDone {
                    push: c.element(),
                    presence: Vec::new(),
                })
            }
            SetRequest::Remove { jid } => {
                let Some(idx) = self
                    .contacts
                    .iter()
                    .position(|c| c.jid == jid && c.item.in_roster())
                else {
                    return Err(DefinedCondition::ItemNotFound);
                };
                let item = self.contacts[idx].item;
                let mut presence = Vec::new();
                // §2.5.2: cancel what exists in both directions. A
                // pending request is cancelled the same way.
                if item.state().has_to() || item.state().pending_out() {
                    presence.push(Kind::Unsubscribe);
                }
                if item.state().has_from() || item.state().pending_in() {
                    presence.push(Kind::Unsubscribed);
                }
                self.contacts.swap_remove(idx);
                let v = self.bump();
                self.removed.retain(|(j, _)| *j != jid);
                self.removed.push((jid.clone(), v));
                if self.removed.len() > self.limits.max_tombstones {
                    let (_, gone) = self.removed.remove(0);
                    self.horizon = gone;
                }
                Ok(SetDone {
                    push: Element::new("item", ns::ROSTER)
                        .with_attr("jid", jid.as_str())
                        .with_attr("subscription", "remove"),
                    presence,
                })
            }
        }
    }

    /// Stores the item a subscription [`Outcome`] produced for `jid`,
    /// bumping the version when the outcome pushes the roster; returns
    /// the `<item/>` to push, if any. A record left empty is dropped.
    pub fn apply(&mut self, jid: &BareJid, outcome: &Outcome) -> Option<Element> {
        let pushes = outcome.actions().contains(&Action::RosterPush);
        let idx = match self.contacts.iter().position(|c| c.jid == *jid) {
            Some(i) => i,
            None if outcome.item.is_empty() => return None,
            None => {
                if self.contacts.len() >= self.limits.max_items.saturating_mul(2) {
                    // Records, strangers' requests included, are bounded.
                    return None;
                }
                self.contacts.push(Contact {
                    jid: jid.clone(),
                    name: None,
                    groups: Vec::new(),
                    item: outcome.item,
                    modified: 0,
                });
                self.contacts.len() - 1
            }
        };
        self.contacts[idx].item = outcome.item;
        if outcome.item.is_empty() {
            self.contacts.swap_remove(idx);
            return None;
        }
        if !pushes {
            return None;
        }
        let v = self.bump();
        let c = &mut self.contacts[idx];
        c.modified = v;
        self.removed.retain(|(j, _)| j != jid);
        Some(c.element())
    }
}

/// A roster push iq (§2.1.6) carrying `item`, to `to`.
pub fn push(item: Element, id: &str, to: &str, ver: Option<&str>) -> Iq {
    let mut query = Element::new("query", ns::ROSTER);
    if let Some(v) = ver {
        query.set_attr("ver", v);
    }
    query.push_child(item);
    Iq::new(IqType::Set, id).with_to(to).with_payload(query)
}
