//! A server's presence logic for one account (RFC 6121 §4 and §8.5).
//!
//! [`Account`] tracks the account's sessions: which are available, with
//! what presence and priority, which asked for the roster (the
//! "interested" resources that get roster pushes), and to whom each sent
//! directed presence. Given the user's presence stanzas and the roster's
//! subscription states, it returns the stanzas to send ([`Outgoing`]),
//! already addressed and stamped; given a probe, the answer; given a
//! message to the account, which sessions get it ([`MessageRoute`]).
//! Subscription stanzas go to [`super::subscription`] instead.
//!
//! ```
//! use xmpp_sansio::presence::server::Account;
//! use xmpp_sansio::presence::State;
//! use xmpp_sansio::stanza::Presence;
//!
//! let juliet: jid::BareJid = "juliet@example.com".parse().unwrap();
//! let romeo: jid::BareJid = "romeo@example.net".parse().unwrap();
//! let roster = [(romeo.clone(), State::Both)];
//! let mut account = Account::new(juliet);
//! account.connect("balcony");
//! let out = account.outbound("balcony", Presence::available(), roster.iter().map(|(j, s)| (j, *s)));
//! // To Romeo (subscribed to her), to her own resource, and a probe to
//! // Romeo (she is subscribed to him), in that order.
//! let to: Vec<&str> = out.iter().map(|o| o.to.as_str()).collect();
//! assert_eq!(to, ["romeo@example.net", "juliet@example.com/balcony", "romeo@example.net"]);
//! assert_eq!(out[0].stanza.from(), Some("juliet@example.com/balcony"));
//! ```

use jid::{BareJid, Jid};

use super::State;
use crate::stanza::{DefinedCondition, MessageType, Presence, PresenceType};

/// At most this many entities per session are remembered as recipients
/// of directed presence; past it, directed presence is still sent but
/// the entity gets no unavailable when the session ends.
pub const MAX_DIRECTED: usize = 256;

/// A stanza to send: to a contact (routed) or to one of the account's
/// own resources (delivered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The address it goes to (also set as the stanza's `to`).
    pub to: String,
    /// The stanza, with `from` and `to` set.
    pub stanza: Presence,
}

#[derive(Debug, Clone)]
struct Session {
    resource: String,
    /// The last broadcast presence, without `to`; `None` while the
    /// session is not available.
    presence: Option<Presence>,
    interested: bool,
    /// Entities without a subscription that got directed available
    /// presence from this session.
    directed: Vec<Jid>,
}

/// Where a message to the account goes (RFC 6121 §8.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRoute {
    /// Deliver to these resources, leaving `to` unchanged.
    Deliver(Vec<String>),
    /// No resource can take it: store it offline, or answer with
    /// `service-unavailable` (§8.5.2.2.1).
    Offline,
    /// Answer the sender with this stanza error.
    Error(DefinedCondition),
    /// Drop it silently.
    Ignore,
}

/// One account's sessions and their presence.
#[derive(Debug, Clone)]
pub struct Account {
    user: BareJid,
    sessions: Vec<Session>,
}

impl Account {
    /// An account without sessions.
    pub fn new(user: BareJid) -> Account {
        Account {
            user,
            sessions: Vec::new(),
        }
    }

    /// The account's bare JID.
    pub fn user(&self) -> &BareJid {
        &self.user
    }

    fn full(&self, resource: &str) -> String {
        format!("{}/{}", self.user, resource)
    }

    fn session(&self, resource: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.resource == resource)
    }

    fn session_mut(&mut self, resource: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.resource == resource)
    }

    /// A session bound `resource` (connected, not yet available).
    pub fn connect(&mut self, resource: &str) {
        if self.session(resource).is_none() {
            self.sessions.push(Session {
                resource: resource.to_owned(),
                presence: None,
                interested: false,
                directed: Vec::new(),
            });
        }
    }

    /// The session asked for the roster (RFC 6121 §2.1.3): it now gets
    /// roster pushes.
    pub fn roster_requested(&mut self, resource: &str) {
        if let Some(s) = self.session_mut(resource) {
            s.interested = true;
        }
    }

    /// Full JIDs of the sessions that get roster pushes.
    pub fn interested(&self) -> impl Iterator<Item = String> + '_ {
        self.sessions
            .iter()
            .filter(|s| s.interested)
            .map(|s| self.full(&s.resource))
    }

    /// The available resources with their presence.
    pub fn available(&self) -> impl Iterator<Item = (&str, &Presence)> {
        self.sessions
            .iter()
            .filter_map(|s| Some((s.resource.as_str(), s.presence.as_ref()?)))
    }

    /// Whether any session is connected.
    pub fn is_connected(&self) -> bool {
        !self.sessions.is_empty()
    }

    /// Processes a presence the user sends from `resource` without a
    /// subscription type: available or unavailable, broadcast (no `to`)
    /// or directed. `roster` yields each contact's subscription state.
    ///
    /// * Initial presence (§4.2.2): to every contact subscribed to the
    ///   user, to each available resource including this one, then a
    ///   probe to every contact the user is subscribed to; the new
    ///   resource also gets the presence of the others.
    /// * Subsequent presence (§4.4.2): to subscribed contacts and to each
    ///   available resource.
    /// * Unavailable (§4.5.2): the same, plus to every entity that got
    ///   directed presence from this session (§4.6.3).
    /// * Directed presence (§4.6.3): to its recipient; an entity not
    ///   subscribed to the user is remembered for the unavailable.
    ///
    /// Other types (probes, errors, subscription types) yield nothing.
    pub fn outbound<'a>(
        &mut self,
        resource: &str,
        presence: Presence,
        roster: impl IntoIterator<Item = (&'a BareJid, State)>,
    ) -> Vec<Outgoing> {
        let unavailable = match (presence.is_available(), presence.kind()) {
            (true, _) => false,
            (false, Some(PresenceType::Unavailable)) => true,
            _ => return Vec::new(),
        };
        if self.session(resource).is_none() {
            return Vec::new();
        }
        let from = self.full(resource);
        let mut el = presence.into_element();
        let to = el.attr("to").map(str::to_owned);
        el.remove_attr("to");
        el.set_attr("from", &from);
        let Ok(presence) = Presence::try_from(el) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let send = |out: &mut Vec<Outgoing>, to: &str, p: &Presence| {
            out.push(Outgoing {
                to: to.to_owned(),
                stanza: p.clone().with_to(to),
            });
        };

        if let Some(to) = to {
            // Directed presence.
            let Ok(target) = to.parse::<Jid>() else {
                return Vec::new();
            };
            let subscribed = roster
                .into_iter()
                .any(|(j, s)| *j == target.to_bare() && s.has_from());
            let session = self.session_mut(resource).expect("checked above");
            let known = session.directed.iter().position(|j| *j == target);
            if unavailable {
                if let Some(i) = known {
                    session.directed.swap_remove(i);
                }
            } else if !subscribed && known.is_none() && session.directed.len() < MAX_DIRECTED {
                session.directed.push(target);
            }
            send(&mut out, &to, &presence);
            return out;
        }

        let roster: Vec<(&BareJid, State)> = roster.into_iter().collect();
        let initial = !unavailable && self.session(resource).is_some_and(|s| s.presence.is_none());
        for (contact, state) in &roster {
            if state.has_from() {
                send(&mut out, &contact.to_string(), &presence);
            }
        }
        let session = self.session_mut(resource).expect("checked above");
        let directed = if unavailable {
            session.presence = None;
            std::mem::take(&mut session.directed)
        } else {
            session.presence = Some(presence.clone());
            Vec::new()
        };
        for jid in &directed {
            send(&mut out, &jid.to_string(), &presence);
        }
        // Every available resource, and this one in any case.
        let own: Vec<String> = self
            .sessions
            .iter()
            .filter(|s| s.presence.is_some() || s.resource == resource)
            .map(|s| self.full(&s.resource))
            .collect();
        for to in &own {
            send(&mut out, to, &presence);
        }
        if initial {
            for (contact, state) in &roster {
                if state.has_to() {
                    let probe = Presence::new(PresenceType::Probe)
                        .with_from(self.user.as_str())
                        .with_to(contact.as_str());
                    out.push(Outgoing {
                        to: contact.to_string(),
                        stanza: probe,
                    });
                }
            }
            // The new resource learns of the others.
            for other in &self.sessions {
                if other.resource == resource {
                    continue;
                }
                if let Some(p) = &other.presence {
                    send(&mut out, &from, p);
                }
            }
        }
        out
    }

    /// The session on `resource` ended, gracefully or not (§4.5.2): if it
    /// was available, the server sends unavailable on its behalf, as for
    /// an unavailable presence from it; directed presence recipients are
    /// told too. The session is then forgotten.
    pub fn disconnect<'a>(
        &mut self,
        resource: &str,
        roster: impl IntoIterator<Item = (&'a BareJid, State)>,
    ) -> Vec<Outgoing> {
        let Some(session) = self.session(resource) else {
            return Vec::new();
        };
        let out = if session.presence.is_some() || !session.directed.is_empty() {
            let mut out = self.outbound(resource, Presence::new(PresenceType::Unavailable), roster);
            // The session itself is gone: nothing is delivered to it.
            let own = self.full(resource);
            out.retain(|o| o.to != own);
            out
        } else {
            Vec::new()
        };
        self.sessions.retain(|s| s.resource != resource);
        out
    }

    /// Answers a probe from `from` (§4.3.2, §4.6.6). `state` is the
    /// subscription state of `from`'s bare JID in the user's roster
    /// (`None` if it is not there).
    ///
    /// A subscriber gets the last presence of each available resource,
    /// or `unavailable` from the bare JID when there is none. An entity
    /// that got directed presence from a session gets mere presence from
    /// that session alone. Anyone else gets `unsubscribed` from the bare
    /// JID.
    pub fn probe(&self, from: &Jid, state: Option<State>) -> Vec<Outgoing> {
        let to = from.to_string();
        let reply = |stanza: Presence| Outgoing {
            to: to.clone(),
            stanza: stanza.with_to(&to),
        };
        if state.is_some_and(State::has_from) {
            let mut out: Vec<Outgoing> = self
                .sessions
                .iter()
                .filter_map(|s| s.presence.clone())
                .map(reply)
                .collect();
            if out.is_empty() {
                out.push(reply(
                    Presence::new(PresenceType::Unavailable).with_from(self.user.as_str()),
                ));
            }
            return out;
        }
        let directed: Vec<Outgoing> = self
            .sessions
            .iter()
            .filter(|s| {
                s.directed
                    .iter()
                    .any(|j| j == from || (j.resource().is_none() && j.to_bare() == from.to_bare()))
            })
            .map(|s| {
                let mere = if s.presence.is_some() {
                    Presence::available()
                } else {
                    Presence::new(PresenceType::Unavailable)
                };
                reply(mere.with_from(&self.full(&s.resource)))
            })
            .collect();
        if !directed.is_empty() {
            return directed;
        }
        vec![reply(
            Presence::new(PresenceType::Unsubscribed).with_from(self.user.as_str()),
        )]
    }

    /// Where a message of `kind` addressed to the account goes (§8.5.2
    /// for the bare JID, §8.5.3 when `resource` is given). To the bare
    /// JID, `normal` and `chat` go to the available resources of highest
    /// non-negative priority, `headline` to every non-negative one;
    /// resources with negative priority get nothing.
    pub fn route_message(&self, resource: Option<&str>, kind: MessageType) -> MessageRoute {
        if kind == MessageType::Error {
            return MessageRoute::Ignore;
        }
        if let Some(resource) = resource {
            if self.session(resource).is_some() {
                return MessageRoute::Deliver(vec![self.full(resource)]);
            }
            // §8.5.3.2.1: only chat falls back to the bare JID.
            match kind {
                MessageType::Chat => {}
                MessageType::Headline => return MessageRoute::Ignore,
                _ => return MessageRoute::Error(DefinedCondition::ServiceUnavailable),
            }
        }
        if kind == MessageType::Groupchat {
            return MessageRoute::Error(DefinedCondition::ServiceUnavailable);
        }
        let eligible: Vec<(&str, i8)> = self
            .available()
            .map(|(r, p)| (r, p.priority()))
            .filter(|(_, p)| *p >= 0)
            .collect();
        if eligible.is_empty() {
            return match kind {
                MessageType::Headline => MessageRoute::Ignore,
                _ => MessageRoute::Offline,
            };
        }
        let top = eligible.iter().map(|(_, p)| *p).max().unwrap_or(0);
        let to = eligible
            .iter()
            .filter(|(_, p)| kind == MessageType::Headline || *p == top)
            .map(|(r, _)| self.full(r))
            .collect();
        MessageRoute::Deliver(to)
    }
}
