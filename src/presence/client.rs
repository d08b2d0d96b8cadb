//! What a client knows of its contacts' presence (RFC 6121 §4).
//!
//! [`Presences`] takes every inbound `<presence/>` the client receives and
//! keeps, per contact, the presence of each available resource
//! ([`ResourcePresence`]: availability, status, priority). A contact's
//! [`ContactPresence::best`] is the resource a user interface shows: the
//! highest priority, then the most available, then the most recent.
//!
//! ```
//! use xmpp_sansio::presence::client::{Availability, Presences};
//! use xmpp_sansio::stanza::{Presence, PresenceType, Show};
//!
//! let mut book = Presences::new();
//! let phone = Presence::available()
//!     .with_from("juliet@example.com/phone")
//!     .with_show(Show::Away)
//!     .with_priority(1);
//! let laptop = Presence::available().with_from("juliet@example.com/laptop");
//! book.handle(&phone);
//! book.handle(&laptop);
//! let juliet = "juliet@example.com".parse().unwrap();
//! // Priority first: the phone wins though it is away.
//! assert_eq!(book.availability(&juliet), Availability::Away);
//!
//! book.handle(&Presence::new(PresenceType::Unavailable).with_from("juliet@example.com/phone"));
//! assert_eq!(book.availability(&juliet), Availability::Available);
//! book.handle(&Presence::new(PresenceType::Unavailable).with_from("juliet@example.com/laptop"));
//! assert_eq!(book.availability(&juliet), Availability::Offline);
//! ```

use std::collections::HashMap;

use jid::{BareJid, Jid};

use crate::stanza::{Presence, PresenceType, Show};

/// At most this many resources are kept per contact.
pub const MAX_RESOURCES: usize = 64;

/// How available a contact (or one of its resources) is, from most to
/// least (RFC 6121 §4.7.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Availability {
    /// `<show>chat</show>`: free to chat.
    Chat,
    /// Available without `<show/>`.
    Available,
    /// `<show>away</show>`.
    Away,
    /// `<show>xa</show>`: extended away.
    Xa,
    /// `<show>dnd</show>`: do not disturb.
    Dnd,
    /// No available resource.
    Offline,
}

impl Availability {
    /// The availability an available presence announces.
    pub fn of(presence: &Presence) -> Availability {
        if !presence.is_available() {
            return Availability::Offline;
        }
        match presence.show() {
            None => Availability::Available,
            Some(Show::Chat) => Availability::Chat,
            Some(Show::Away) => Availability::Away,
            Some(Show::Xa) => Availability::Xa,
            Some(Show::Dnd) => Availability::Dnd,
        }
    }

    /// The `<show/>` that announces this availability; `None` for plain
    /// available (and for offline, which is `type='unavailable'`).
    pub fn show(self) -> Option<Show> {
        match self {
            Availability::Chat => Some(Show::Chat),
            Availability::Away => Some(Show::Away),
            Availability::Xa => Some(Show::Xa),
            Availability::Dnd => Some(Show::Dnd),
            Availability::Available | Availability::Offline => None,
        }
    }

    /// A presence stanza announcing this availability with `status` and
    /// `priority`: the client's own presence update (RFC 6121 §4.2, §4.4).
    pub fn presence(self, status: Option<&str>, priority: i8) -> Presence {
        if self == Availability::Offline {
            let p = Presence::new(PresenceType::Unavailable);
            return match status {
                Some(s) => p.with_status(s),
                None => p,
            };
        }
        let mut p = Presence::available();
        if let Some(show) = self.show() {
            p = p.with_show(show);
        }
        if let Some(s) = status {
            p = p.with_status(s);
        }
        if priority != 0 {
            p = p.with_priority(priority);
        }
        p
    }
}

/// The last presence of one available resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePresence {
    /// Never [`Availability::Offline`]: offline resources are removed.
    pub availability: Availability,
    /// `<status/>` in the stanza's default language.
    pub status: Option<String>,
    /// `<priority/>` (0 when absent).
    pub priority: i8,
    /// Order of arrival, for ties.
    seq: u64,
}

/// The presence of one contact: each available resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPresence {
    resources: Vec<(String, ResourcePresence)>,
}

impl ContactPresence {
    /// The available resources, in no particular order.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &ResourcePresence)> {
        self.resources.iter().map(|(r, p)| (r.as_str(), p))
    }

    /// The resource to show: highest priority, then most available,
    /// then the most recent update.
    pub fn best(&self) -> Option<(&str, &ResourcePresence)> {
        self.resources
            .iter()
            .max_by(|(_, a), (_, b)| {
                a.priority
                    .cmp(&b.priority)
                    .then(b.availability.cmp(&a.availability))
                    .then(a.seq.cmp(&b.seq))
            })
            .map(|(r, p)| (r.as_str(), p))
    }

    /// The contact's aggregated availability: that of [`Self::best`], or
    /// offline.
    pub fn availability(&self) -> Availability {
        self.best()
            .map_or(Availability::Offline, |(_, p)| p.availability)
    }

    /// Whether no resource is available.
    pub fn is_offline(&self) -> bool {
        self.resources.is_empty()
    }
}

/// A change [`Presences::handle`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The contact.
    pub contact: BareJid,
    /// The resource, or `None` when the whole contact went offline (an
    /// unavailable or error presence from the bare JID).
    pub resource: Option<String>,
    /// The contact's aggregated availability before.
    pub before: Availability,
    /// And after.
    pub after: Availability,
}

/// Every contact's presence as the client has received it.
#[derive(Debug, Clone, Default)]
pub struct Presences {
    contacts: HashMap<BareJid, ContactPresence>,
    seq: u64,
}

impl Presences {
    /// Knows nothing yet.
    pub fn new() -> Presences {
        Presences::default()
    }

    /// Takes an inbound presence. Available presence adds or updates a
    /// resource; `unavailable` removes it (from a bare JID: every
    /// resource); `error` from a contact means it cannot be reached, so
    /// the same (RFC 6121 §4.6.3). Subscription stanzas and probes are
    /// not presence information and change nothing, nor does a presence
    /// without a valid `from`. Returns what changed, if anything.
    pub fn handle(&mut self, presence: &Presence) -> Option<Change> {
        let from: Jid = presence.from()?.parse().ok()?;
        let contact = from.to_bare();
        let resource = from.resource().map(|r| r.as_str().to_owned());
        // An unknown `type` is not availability: only its absence is.
        let kind = if presence.is_available() {
            None
        } else {
            Some(presence.kind()?)
        };
        let entry_before = self.availability(&contact);
        match kind {
            None => {
                let resource = resource.unwrap_or_default();
                self.seq += 1;
                let update = ResourcePresence {
                    availability: Availability::of(presence),
                    status: presence.status().map(|s| s.into_owned()),
                    priority: presence.priority(),
                    seq: self.seq,
                };
                let entry = self.contacts.entry(contact.clone()).or_default();
                match entry.resources.iter().position(|(r, _)| *r == resource) {
                    Some(i) => entry.resources[i].1 = update,
                    // Bounded: a contact flooding resources is not
                    // remembered past the limit.
                    None if entry.resources.len() >= MAX_RESOURCES => return None,
                    None => entry.resources.push((resource.clone(), update)),
                }
                Some(Change {
                    after: self.availability(&contact),
                    contact,
                    resource: Some(resource),
                    before: entry_before,
                })
            }
            Some(PresenceType::Unavailable) | Some(PresenceType::Error) => {
                let entry = self.contacts.get_mut(&contact)?;
                let len = entry.resources.len();
                match &resource {
                    Some(r) => entry.resources.retain(|(x, _)| x != r),
                    None => entry.resources.clear(),
                }
                if entry.resources.len() == len {
                    return None;
                }
                if entry.resources.is_empty() {
                    self.contacts.remove(&contact);
                }
                Some(Change {
                    after: self.availability(&contact),
                    contact,
                    resource,
                    before: entry_before,
                })
            }
            Some(_) => None,
        }
    }

    /// One contact's presence, if any resource is available.
    pub fn get(&self, contact: &BareJid) -> Option<&ContactPresence> {
        self.contacts.get(contact)
    }

    /// One contact's aggregated availability.
    pub fn availability(&self, contact: &BareJid) -> Availability {
        self.contacts
            .get(contact)
            .map_or(Availability::Offline, ContactPresence::availability)
    }

    /// Contacts with an available resource.
    pub fn online(&self) -> impl Iterator<Item = (&BareJid, &ContactPresence)> {
        self.contacts.iter()
    }

    /// Forgets everything, for when the stream ends: presence received
    /// on a previous session no longer holds.
    pub fn clear(&mut self) {
        self.contacts.clear();
    }
}
