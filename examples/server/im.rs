//! Instant messaging and presence for local accounts (RFC 6121) on the
//! crate's pure presence logic: rosters ([`Roster`]), subscriptions
//! ([`Item`]), broadcasts and probes ([`Account`]). Rosters live in
//! memory for the server's lifetime.
//!
//! Every function here computes under the lock and returns stanzas; the
//! caller routes them after the lock is released, so a stanza for another
//! local account comes back through [`inbound`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use jid::{BareJid, FullJid, Jid};
use xmpp_sansio::ns;
use xmpp_sansio::presence::roster::{self, GetAnswer, Roster, RosterLimits, parse_set};
use xmpp_sansio::presence::server::{Account, MessageRoute};
use xmpp_sansio::presence::{Action, Kind, State};
use xmpp_sansio::stanza::{Iq, IqType, Message, Presence, PresenceType, StanzaError};
use xmpp_sansio::xml::Element;

struct User {
    account: Account,
    roster: Roster,
}

/// What to do with stanzas computed here.
#[derive(Default)]
pub struct Out {
    /// To local sessions, by full JID, `to` left as it is.
    pub sessions: Vec<(String, Element)>,
    /// To route by their `to` (local accounts, remote servers, components).
    pub route: Vec<Element>,
}

/// Whether a stanza was taken care of here.
pub enum Handled {
    /// Yes: carry these out.
    Done(Out),
    /// No: route it by address.
    NotMine(Element),
}

pub struct Im {
    domain: String,
    users: Mutex<HashMap<BareJid, User>>,
    ids: AtomicU64,
}

impl Im {
    pub fn new(domain: &str, users: impl IntoIterator<Item = String>) -> Im {
        let users = users
            .into_iter()
            .filter_map(|u| BareJid::new(&format!("{u}@{domain}")).ok())
            .map(|jid| {
                (
                    jid.clone(),
                    User {
                        account: Account::new(jid),
                        roster: Roster::new(RosterLimits::default()),
                    },
                )
            })
            .collect();
        Im {
            domain: domain.to_owned(),
            users: Mutex::new(users),
            ids: AtomicU64::new(1),
        }
    }

    fn id(&self) -> String {
        format!("push{}", self.ids.fetch_add(1, Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<BareJid, User>> {
        self.users.lock().expect("im lock")
    }

    /// A session of `user` bound `resource`.
    pub fn connect(&self, user: &BareJid, resource: &str) {
        if let Some(u) = self.lock().get_mut(user) {
            u.account.connect(resource);
        }
    }

    /// The session ended: unavailable on its behalf (§4.5.2).
    pub fn disconnect(&self, user: &BareJid, resource: &str) -> Out {
        let mut out = Out::default();
        if let Some(u) = self.lock().get_mut(user) {
            let sent = u.account.disconnect(resource, u.roster.states());
            self.split(
                user,
                sent.into_iter().map(|o| o.stanza.into_element()),
                &mut out,
            );
        }
        out
    }

    /// Sends stanzas for the user's own resources to the sessions, the
    /// rest to routing.
    fn split(&self, user: &BareJid, stanzas: impl Iterator<Item = Element>, out: &mut Out) {
        for el in stanzas {
            let to = el.attr("to").unwrap_or("").to_owned();
            match to.parse::<Jid>() {
                Ok(j) if j.to_bare() == *user && j.resource().is_some() => {
                    out.sessions.push((to, el))
                }
                _ => out.route.push(el),
            }
        }
    }

    fn pushes(&self, u: &User, item: &Element, out: &mut Out) {
        let ver = u.roster.version();
        for to in u.account.interested() {
            let iq = roster::push(item.clone(), &self.id(), &to, Some(&ver));
            out.sessions.push((to, iq.into_element()));
        }
    }

    /// Carries out a subscription action other than delivery to the
    /// user: toward the contact, or a roster push. `kind` is the type of
    /// the stanza being processed (what `Route` sends on).
    #[allow(clippy::too_many_arguments)]
    fn act(
        &self,
        u: &User,
        user: &BareJid,
        contact: &BareJid,
        kind: Kind,
        action: Action,
        push: Option<&Element>,
        out: &mut Out,
    ) {
        let to_contact = |k: Kind| {
            Presence::new(k.presence_type())
                .with_from(user.as_str())
                .with_to(contact.as_str())
                .into_element()
        };
        match action {
            Action::Route => out.route.push(to_contact(kind)),
            Action::Reply(k) => out.route.push(to_contact(k)),
            Action::RosterPush => {
                if let Some(item) = push {
                    self.pushes(u, item, out);
                }
            }
            Action::SendAvailable => {
                for (_, mine) in u.account.available() {
                    out.route
                        .push(mine.clone().with_to(contact.as_str()).into_element());
                }
            }
            Action::SendUnavailable => {
                for (r, _) in u.account.available() {
                    out.route.push(
                        Presence::new(PresenceType::Unavailable)
                            .with_from(&format!("{user}/{r}"))
                            .with_to(contact.as_str())
                            .into_element(),
                    );
                }
            }
            Action::Deliver => {}
        }
    }

    /// A stanza from the local session `from` (its full JID): roster iqs
    /// and presence. [`Handled::NotMine`] gives back what is
    /// not handled here.
    pub fn client_stanza(&self, from: &FullJid, stanza: Element) -> Handled {
        let user = from.to_bare();
        let resource = from.resource().as_str();
        let mut users = self.lock();
        let Some(u) = users.get_mut(&user) else {
            return Handled::NotMine(stanza);
        };
        let mut out = Out::default();
        if stanza.is("iq", ns::CLIENT)
            && stanza.get_child("query", ns::ROSTER).is_some()
            && stanza
                .attr("to")
                .is_none_or(|t| t.parse::<Jid>().is_ok_and(|j| j == user))
        {
            let Ok(iq) = Iq::try_from(stanza) else {
                return Handled::Done(out);
            };
            let reply = match iq.kind() {
                Some(IqType::Get) => {
                    u.account.roster_requested(resource);
                    let ver = iq.payload().and_then(|q| q.attr("ver"));
                    match u.roster.get(ver) {
                        GetAnswer::Full(q) => iq.result(Some(q)),
                        GetAnswer::UpToDate { pushes } => {
                            let r = iq.result(None);
                            let to = from.to_string();
                            let mut later = Vec::new();
                            for p in pushes {
                                let push = roster::push(p, &self.id(), &to, None);
                                later.push((to.clone(), push.into_element()));
                            }
                            out.sessions.push((to.clone(), r.into_element()));
                            out.sessions.extend(later);
                            return Handled::Done(out);
                        }
                    }
                }
                Some(IqType::Set) => match parse_set(&iq, &RosterLimits::default())
                    .and_then(|req| u.roster.set(req))
                {
                    Ok(done) => {
                        self.pushes(u, &done.push, &mut out);
                        if let Some(jid) = done.push.attr("jid").map(str::to_owned) {
                            for kind in done.presence {
                                out.route.push(
                                    Presence::new(kind.presence_type())
                                        .with_from(user.as_str())
                                        .with_to(&jid)
                                        .into_element(),
                                );
                            }
                        }
                        iq.result(None)
                    }
                    Err(c) => {
                        let err = StanzaError::new(c).reply_to(iq.as_element());
                        if let Some(e) = err {
                            out.sessions.push((from.to_string(), e));
                        }
                        return Handled::Done(out);
                    }
                },
                _ => return Handled::Done(out),
            };
            out.sessions.push((from.to_string(), reply.into_element()));
            return Handled::Done(out);
        }
        if !stanza.is("presence", ns::CLIENT) {
            return Handled::NotMine(stanza);
        }
        let Ok(p) = Presence::try_from(stanza) else {
            return Handled::Done(out);
        };
        let kind = p.kind().and_then(Kind::from_presence_type);
        let Some(kind) = kind else {
            // Availability, broadcast or directed (§4).
            let was_available = u.account.available().any(|(r, _)| r == resource);
            let sent = u.account.outbound(resource, p, u.roster.states());
            self.split(
                &user,
                sent.into_iter().map(|o| o.stanza.into_element()),
                &mut out,
            );
            // Pending requests are delivered whenever the user becomes
            // available (§3.1.3 rule 4).
            let pending: Vec<BareJid> = u
                .roster
                .states()
                .filter(|(_, s)| s.pending_in())
                .map(|(j, _)| j.clone())
                .collect();
            let now_available = u.account.available().any(|(r, _)| r == resource);
            if !pending.is_empty() && now_available && !was_available {
                for contact in pending {
                    out.sessions.push((
                        from.to_string(),
                        Presence::new(PresenceType::Subscribe)
                            .with_from(contact.as_str())
                            .with_to(user.as_str())
                            .into_element(),
                    ));
                }
            }
            return Handled::Done(out);
        };
        // Subscription stanzas: to the contact's bare JID (§3.1.2).
        let Some(contact) = p
            .to()
            .and_then(|t| t.parse::<Jid>().ok())
            .map(|j| j.to_bare())
        else {
            return Handled::Done(out);
        };
        // Pre-approval is offered (the `sub` feature).
        let outcome = u.roster.item(&contact).outbound(kind, true);
        let push = u.roster.apply(&contact, &outcome);
        for action in outcome.actions() {
            self.act(u, &user, &contact, kind, *action, push.as_ref(), &mut out);
        }
        Handled::Done(out)
    }

    /// A stanza for a local account from anywhere (another account, a
    /// remote server, a component); [`Handled::NotMine`] gives it back
    /// when it is not for a local account.
    pub fn inbound(&self, mut stanza: Element) -> Handled {
        // Stanzas from remote servers (`jabber:server`) and components
        // come in their stream's namespace; handle them as local ones.
        let content = stanza.ns().to_owned();
        if content != ns::CLIENT
            && xmpp_sansio::stanza::is_content_ns(&content)
            && matches!(stanza.name(), "message" | "presence")
        {
            stanza.move_ns(&content, ns::CLIENT);
        }
        let Some(to) = stanza.attr("to").and_then(|t| t.parse::<Jid>().ok()) else {
            return Handled::NotMine(stanza);
        };
        if !to.domain().as_str().eq_ignore_ascii_case(&self.domain) || to.node().is_none() {
            return Handled::NotMine(stanza);
        }
        let user = to.to_bare();
        let mut users = self.lock();
        let Some(u) = users.get_mut(&user) else {
            return Handled::NotMine(stanza);
        };
        let resource = to.resource().map(|r| r.as_str().to_owned());
        let mut out = Out::default();
        if stanza.is("message", ns::CLIENT) {
            let Ok(m) = Message::try_from(stanza) else {
                return Handled::Done(out);
            };
            match u.account.route_message(resource.as_deref(), m.kind()) {
                MessageRoute::Deliver(to) => {
                    for t in to {
                        out.sessions.push((t, m.as_element().clone()));
                    }
                }
                MessageRoute::Error(c) => {
                    if let Some(e) = StanzaError::new(c).reply_to(m.as_element()) {
                        out.route.push(e);
                    }
                }
                // No offline storage here: refused as §8.5.2.2.1 allows.
                MessageRoute::Offline => {
                    let c = xmpp_sansio::stanza::DefinedCondition::ServiceUnavailable;
                    if let Some(e) = StanzaError::new(c).reply_to(m.as_element()) {
                        out.route.push(e);
                    }
                }
                MessageRoute::Ignore => {}
            }
            return Handled::Done(out);
        }
        if !stanza.is("presence", ns::CLIENT) {
            return Handled::NotMine(stanza);
        }
        let Ok(p) = Presence::try_from(stanza) else {
            return Handled::Done(out);
        };
        let Some(from) = p.from().and_then(|f| f.parse::<Jid>().ok()) else {
            return Handled::Done(out);
        };
        let contact = from.to_bare();
        let kind = p.kind();
        match kind.and_then(Kind::from_presence_type) {
            Some(k) => {
                let outcome = u.roster.item(&contact).inbound(k);
                let push = u.roster.apply(&contact, &outcome);
                for action in outcome.actions() {
                    match action {
                        Action::Deliver if k == Kind::Subscribe => {
                            for (r, _) in u.account.available() {
                                out.sessions
                                    .push((format!("{user}/{r}"), p.as_element().clone()));
                            }
                        }
                        // §3.1.6, §3.2.3, §3.3.3: to the interested
                        // resources, ahead of the roster push.
                        Action::Deliver => {
                            for to in u.account.interested() {
                                out.sessions.push((to, p.as_element().clone()));
                            }
                        }
                        other => self.act(u, &user, &contact, k, *other, push.as_ref(), &mut out),
                    }
                }
            }
            None if kind == Some(PresenceType::Probe) => {
                let state: Option<State> = u.roster.contact(&contact).map(|c| c.item.state());
                for o in u.account.probe(&from, state) {
                    out.route.push(o.stanza.into_element());
                }
            }
            None if kind.is_none() || kind == Some(PresenceType::Unavailable) => {
                // §8.5.2.1.2 and §8.5.3.1: to every available resource, or
                // to the one named.
                let avail: Vec<String> = match &resource {
                    Some(r) => u
                        .account
                        .available()
                        .filter(|(x, _)| x == r)
                        .map(|(x, _)| format!("{user}/{x}"))
                        .collect(),
                    None => u
                        .account
                        .available()
                        .map(|(x, _)| format!("{user}/{x}"))
                        .collect(),
                };
                for t in avail {
                    out.sessions.push((t, p.as_element().clone()));
                }
            }
            None => {}
        }
        Handled::Done(out)
    }
}
