//! A small XMPP-to-IRC gateway: an external component (XEP-0114) that
//! relays chat messages between XMPP users and the users of one IRC
//! server.
//!
//! ```text
//! cargo run --example gateway -- --component irc.example.test --secret SECRET \
//!     --server 127.0.0.1:5347 --irc 127.0.0.1:6667
//! ```
//!
//! * XMPP users address IRC user `nick` as `nick@irc.example.test`.
//! * Each XMPP user who writes through the gateway gets an IRC
//!   connection of their own, whose nick is their JID's localpart (with
//!   `_` added while it is taken), so IRC users see them as that nick.
//! * An IRC user's private message to that nick reaches the XMPP user
//!   from `nick@irc.example.test`.
//! * The gateway asks IRC which of the nicks a user talks to are online
//!   (ISON, every few seconds) and shows them as XMPP presence.
//!
//! It prints `online as COMPONENT` once the server accepted it.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use jid::BareJid;
use xmpp_sansio::component::{ComponentConfig, ComponentStream};
use xmpp_sansio::ns;
use xmpp_sansio::random::OsRandom;
use xmpp_sansio::stream::Event;
use xmpp_sansio::xml::Element;

const POLL: Duration = Duration::from_millis(20);
/// How often the gateway asks IRC who is online.
const ISON_EVERY: Duration = Duration::from_secs(3);

struct Args {
    component: String,
    secret: String,
    server: String,
    irc: String,
}

fn args() -> Result<Args, String> {
    let (mut component, mut secret, mut server, mut irc) = (None, None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--component" => component = Some(value()?),
            "--secret" => secret = Some(value()?),
            "--server" => server = Some(value()?),
            "--irc" => irc = Some(value()?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let usage = "usage: gateway --component NAME --secret SECRET --server ADDR --irc ADDR";
    Ok(Args {
        component: component.ok_or(usage)?,
        secret: secret.ok_or(usage)?,
        server: server.ok_or(usage)?,
        irc: irc.ok_or(usage)?,
    })
}

/// What an IRC connection reports.
enum Irc {
    /// Registered under this nick.
    Registered(String),
    /// A private message from `nick`.
    Privmsg {
        from: String,
        text: String,
    },
    /// The answer to ISON: who of those asked is online.
    Online(Vec<String>),
    Gone,
}

/// What an IRC connection reports, tagged with its XMPP user.
type Report = (String, Irc);

/// One XMPP user's IRC connection.
struct Link {
    writer: TcpStream,
    registered: bool,
    /// Lines waiting for the registration.
    pending: Vec<String>,
    /// IRC nicks this user talks to, and whether each was seen online.
    contacts: HashMap<String, bool>,
    /// The XMPP address replies go to.
    xmpp: String,
}

impl Link {
    fn send(&mut self, line: &str) {
        if !self.registered {
            self.pending.push(line.to_owned());
            return;
        }
        let _ = self.writer.write_all(format!("{line}\r\n").as_bytes());
    }
}

/// An IRC nick for an XMPP user: the localpart, letters, digits and a few
/// marks only (RFC 2812 §2.3.1), at most 9 characters.
fn nick_for(jid: &BareJid) -> String {
    let base: String = jid
        .node()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "xmpp".into())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_[]\\`^{}|".contains(*c))
        .take(9)
        .collect();
    if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        format!("x{base}")
    } else {
        base
    }
}

/// Opens an IRC connection for `nick`; its lines arrive on `tx` tagged
/// with `user`.
fn connect_irc(
    addr: &str,
    nick: &str,
    user: String,
    tx: Sender<Report>,
) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(format!("NICK {nick}\r\nUSER {nick} 0 * :XMPP user {user}\r\n").as_bytes())?;
    let reader = stream.try_clone()?;
    let mut writer = stream.try_clone()?;
    let mut nick = nick.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            let (prefix, rest) = match line.strip_prefix(':') {
                Some(l) => l.split_once(' ').unwrap_or((l, "")),
                None => ("", line.as_str()),
            };
            let from = prefix.split('!').next().unwrap_or_default().to_owned();
            let mut words = rest.splitn(3, ' ');
            let (command, target, tail) = (
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default(),
            );
            let report = match command {
                "PING" => {
                    let _ = writer.write_all(format!("PONG {target}\r\n").as_bytes());
                    None
                }
                "001" => Some(Irc::Registered(target.to_owned())),
                // ERR_NICKNAMEINUSE: try another.
                "433" => {
                    nick.push('_');
                    let _ = writer.write_all(format!("NICK {nick}\r\n").as_bytes());
                    None
                }
                "PRIVMSG" if !target.starts_with('#') => Some(Irc::Privmsg {
                    from,
                    text: tail.strip_prefix(':').unwrap_or(tail).to_owned(),
                }),
                // RPL_ISON: "nick :a b c".
                "303" => Some(Irc::Online(
                    tail.strip_prefix(':')
                        .unwrap_or(tail)
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                )),
                _ => None,
            };
            if let Some(r) = report
                && tx.send((user.clone(), r)).is_err()
            {
                break;
            }
        }
        let _ = tx.send((user, Irc::Gone));
    });
    Ok(stream)
}

fn message(from: &str, to: &str, body: &str) -> Element {
    Element::new("message", ns::COMPONENT_ACCEPT)
        .with_attr("from", from)
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::COMPONENT_ACCEPT).with_text(body))
}

fn presence(from: &str, to: &str, available: bool) -> Element {
    let p = Element::new("presence", ns::COMPONENT_ACCEPT)
        .with_attr("from", from)
        .with_attr("to", to);
    if available {
        p
    } else {
        p.with_attr("type", "unavailable")
    }
}

fn run(args: Args) -> Result<(), String> {
    let component: BareJid = args.component.parse().map_err(|e| format!("{e}"))?;
    let mut tcp = TcpStream::connect(&args.server).map_err(|e| format!("connect: {e}"))?;
    tcp.set_read_timeout(Some(POLL))
        .map_err(|e| e.to_string())?;
    let config = ComponentConfig::new(component.clone(), &args.secret);
    let mut stream = ComponentStream::new(config, Box::new(OsRandom), Instant::now());
    let (irc_tx, irc_rx): (Sender<Report>, Receiver<Report>) = mpsc::channel();
    // XMPP user (bare JID) -> their IRC connection.
    let mut links: HashMap<String, Link> = HashMap::new();
    let mut last_ison = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut out = Vec::new();
        while stream.poll_transmit(&mut out).is_some() {}
        if !out.is_empty() {
            tcp.write_all(&out).map_err(|e| format!("write: {e}"))?;
        }
        while let Some(event) = stream.poll_event() {
            match event {
                Event::Authenticated { jid, .. } => println!("online as {jid}"),
                Event::Stanza(el) => {
                    let (Some(from), Some(to)) = (el.attr("from"), el.attr("to")) else {
                        continue;
                    };
                    let (Ok(sender), Ok(target)) =
                        (from.parse::<jid::Jid>(), to.parse::<jid::Jid>())
                    else {
                        continue;
                    };
                    let Some(nick) = target.node().map(|n| n.to_string()) else {
                        continue;
                    };
                    let user = sender.to_bare();
                    let link = match links.get_mut(user.as_str()) {
                        Some(l) => l,
                        None => {
                            let irc = connect_irc(
                                &args.irc,
                                &nick_for(&user),
                                user.to_string(),
                                irc_tx.clone(),
                            )
                            .map_err(|e| format!("IRC: {e}"))?;
                            links.entry(user.to_string()).or_insert(Link {
                                writer: irc,
                                registered: false,
                                pending: Vec::new(),
                                contacts: HashMap::new(),
                                xmpp: from.to_owned(),
                            })
                        }
                    };
                    link.xmpp = from.to_owned();
                    let new_contact = !link.contacts.contains_key(&nick);
                    link.contacts.entry(nick.clone()).or_insert(false);
                    if new_contact {
                        link.send(&format!("ISON {nick}"));
                    }
                    if el.name() == "message"
                        && let Some(body) = el.get_child("body", el.ns())
                    {
                        for line in body.text().lines() {
                            link.send(&format!("PRIVMSG {nick} :{line}"));
                        }
                    }
                }
                Event::Closed(reason) => return reason.map_or(Ok(()), |r| Err(r.to_string())),
                _ => {}
            }
        }
        while let Ok((user, report)) = irc_rx.try_recv() {
            let Some(link) = links.get_mut(&user) else {
                continue;
            };
            match report {
                Irc::Registered(nick) => {
                    println!("IRC: {user} is {nick}");
                    link.registered = true;
                    for line in std::mem::take(&mut link.pending) {
                        link.send(&line);
                    }
                }
                Irc::Privmsg { from, text } => {
                    let from = format!("{from}@{component}");
                    let _ = stream.send(message(&from, &link.xmpp, &text));
                }
                Irc::Online(online) => {
                    let online: HashSet<String> =
                        online.iter().map(|n| n.to_ascii_lowercase()).collect();
                    let xmpp = link.xmpp.clone();
                    for (nick, seen) in link.contacts.iter_mut() {
                        let now_online = online.contains(&nick.to_ascii_lowercase());
                        if now_online != *seen {
                            *seen = now_online;
                            let from = format!("{nick}@{component}");
                            let _ = stream.send(presence(&from, &xmpp, now_online));
                        }
                    }
                }
                Irc::Gone => {
                    links.remove(&user);
                }
            }
        }
        if last_ison.elapsed() >= ISON_EVERY {
            last_ison = Instant::now();
            for link in links.values_mut().filter(|l| !l.contacts.is_empty()) {
                let nicks: Vec<&str> = link.contacts.keys().map(String::as_str).collect();
                let line = format!("ISON {}", nicks.join(" "));
                link.send(&line);
            }
        }
        let now = Instant::now();
        let _ = match tcp.read(&mut buf) {
            Ok(0) => stream.handle_eof(now),
            Ok(n) => stream.handle_input(&buf[..n], now),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                stream.handle_timeout(now)
            }
            Err(e) => return Err(format!("read: {e}")),
        };
    }
}

fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
