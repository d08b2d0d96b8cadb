//! A blocking XMPP client: `std::net` for the socket, rustls for TLS, the
//! crate's `ClientStream` for everything XMPP. Scriptable:
//!
//! ```text
//! cargo run --example client -- --jid JID --password PW [--server HOST:PORT]
//!     [--insecure-tls] [--direct-tls] [--plaintext] [--tls12] [--mechanism NAME]
//!     [--to JID --message TEXT] [--receive N] [--echo] [--verbose] [--presence]
//! ```
//!
//! Prints `online as FULLJID` once bound, sends the message if asked,
//! prints `message from JID: BODY` for each chat message it receives, and
//! exits 0 once it has sent and received what it was asked to (after a
//! clean stream close). On failure it prints one line `error: ...` naming
//! the cause and exits 1. Without `--server` it connects to the JID's
//! domain on port 5222 (5223 with `--direct-tls`). `--tls12` caps TLS at
//! version 1.2; `--verbose` also prints `authenticated as JID with
//! MECHANISM`.
//!
//! `--presence` makes it an interactive presence client (RFC 6121) that
//! runs until `quit` or the end of its input. It fetches the roster
//! before initial presence and reads commands, one per line:
//! `subscribe JID`, `subscribed JID`, `unsubscribe JID`,
//! `unsubscribed JID`, `show online|chat|away|xa|dnd|offline [STATUS]`,
//! `quit`. It prints `roster JID SUBSCRIPTION [ask]` for each roster item
//! received (result or push), `request JID TYPE` for each subscription
//! stanza from a contact, and `presence JID AVAILABILITY` whenever a
//! contact's aggregated availability changes.

#[path = "common/accept_any.rs"]
mod accept_any;

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use xmpp_sansio::c2s::{ClientConfig, ClientStream, TlsPolicy};
use xmpp_sansio::ns;
use xmpp_sansio::presence::Subscription;
use xmpp_sansio::presence::client::{Availability, Presences};
use xmpp_sansio::random::OsRandom;
use xmpp_sansio::sasl::{ChannelBinding, ChannelBindingType, Mechanism, TlsInfo};
use xmpp_sansio::stanza::{Presence, PresenceType};
use xmpp_sansio::stream::{AuthMethod, Event};
use xmpp_sansio::xml::Element;

struct Args {
    jid: String,
    password: String,
    server: Option<String>,
    insecure: bool,
    direct_tls: bool,
    plaintext: bool,
    mechanism: Option<Mechanism>,
    to: Option<String>,
    message: Option<String>,
    receive: usize,
    /// Answer every chat message with `echo: BODY`.
    echo: bool,
    tls12: bool,
    verbose: bool,
    /// Interactive presence mode.
    presence: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        jid: String::new(),
        password: String::new(),
        server: None,
        insecure: false,
        direct_tls: false,
        plaintext: false,
        mechanism: None,
        to: None,
        message: None,
        receive: 0,
        echo: false,
        tls12: false,
        verbose: false,
        presence: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--jid" => a.jid = value()?,
            "--password" => a.password = value()?,
            "--server" => a.server = Some(value()?),
            "--insecure-tls" => a.insecure = true,
            "--direct-tls" => a.direct_tls = true,
            "--plaintext" => a.plaintext = true,
            "--tls12" => a.tls12 = true,
            "--verbose" => a.verbose = true,
            "--echo" => a.echo = true,
            "--presence" => a.presence = true,
            "--mechanism" => {
                let m = value()?;
                a.mechanism =
                    Some(Mechanism::from_name(&m).ok_or(format!("unknown mechanism {m}"))?);
            }
            "--to" => a.to = Some(value()?),
            "--message" => a.message = Some(value()?),
            "--receive" => a.receive = value()?.parse().map_err(|_| "--receive takes a number")?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if a.jid.is_empty() || a.password.is_empty() {
        return Err("usage: client --jid JID --password PW [--server HOST:PORT] [--insecure-tls] \
                    [--direct-tls] [--plaintext] [--tls12] [--mechanism NAME] [--to JID --message TEXT] \
                    [--receive N] [--echo] [--verbose] [--presence]"
            .into());
    }
    if a.to.is_some() != a.message.is_some() {
        return Err("--to and --message go together".into());
    }
    Ok(a)
}

fn tls_config(insecure: bool, alpn: bool, tls12: bool) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("ring supports TLS 1.2 and 1.3");
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    if alpn {
        // XEP-0368 §3: direct TLS announces the protocol.
        config.alpn_protocols = vec![b"xmpp-client".to_vec()];
    }
    Arc::new(config)
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Runs the TLS handshake to completion and reads the channel-binding data
/// the connection offers: tls-exporter on TLS 1.3 (RFC 9266; it is not
/// safe on TLS 1.2 without extended master secret, so nothing there).
fn handshake(
    tcp: TcpStream,
    domain: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<(Tls, TlsInfo)> {
    let name = ServerName::try_from(domain.to_owned())
        .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    let mut info = TlsInfo::tls();
    if tls.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
        let ekm = tls
            .conn
            .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", Some(b""))
            .map_err(io::Error::other)?;
        info = info.with_binding(ChannelBinding::new(ChannelBindingType::TlsExporter, ekm));
    }
    Ok((tls, info))
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<Tls>),
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(t) => t,
            Transport::Tls(t) => &t.sock,
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(t) => t.read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(t) => t.write_all(buf),
            Transport::Tls(t) => t.write_all(buf).and_then(|_| t.flush()),
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let jid: jid::BareJid = args.jid.parse().map_err(|e| format!("invalid JID: {e}"))?;
    let domain = jid.domain().to_string();
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| format!("{domain}:{}", if args.direct_tls { 5223 } else { 5222 }));
    let tcp = TcpStream::connect(&server).map_err(|e| format!("connect {server}: {e}"))?;
    let mut config = ClientConfig::new(jid, &args.password);
    config.tls = match (args.direct_tls, args.plaintext) {
        (true, _) => TlsPolicy::Direct,
        (false, true) => TlsPolicy::AllowPlaintext,
        (false, false) => TlsPolicy::Required,
    };
    if let Some(m) = args.mechanism {
        config.sasl.preference = vec![m];
        config.sasl.allow_plain_without_tls = args.plaintext;
    }
    let now = Instant::now();
    let (mut transport, mut stream) = if args.direct_tls {
        let (tls, info) = handshake(tcp, &domain, tls_config(args.insecure, true, args.tls12))
            .map_err(|e| format!("TLS: {e}"))?;
        (
            Transport::Tls(Box::new(tls)),
            ClientStream::new(config, Some(info), Box::new(OsRandom), now),
        )
    } else {
        (
            Transport::Plain(tcp),
            ClientStream::new(config, None, Box::new(OsRandom), now),
        )
    };

    let mut sent = args.message.is_none();
    let mut received = 0usize;
    let mut closing = false;
    let mut online = false;
    let mut buf = vec![0u8; 16 * 1024];
    let mut book = Presences::new();
    let commands = args.presence.then(|| {
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in io::stdin().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    return;
                }
            }
            let _ = tx.send("quit".into());
        });
        rx
    });
    loop {
        // Drain what the machine wants written and what it has to say.
        let mut out = Vec::new();
        stream.poll_transmit(&mut out);
        if !out.is_empty() {
            transport
                .write_all(&out)
                .map_err(|e| format!("write: {e}"))?;
            out.clear();
        }
        let mut upgraded = false;
        while let Some(event) = stream.poll_event() {
            match event {
                Event::StartTls => {
                    let Transport::Plain(tcp) = transport else {
                        return Err("STARTTLS requested twice".into());
                    };
                    let (tls, info) =
                        handshake(tcp, &domain, tls_config(args.insecure, false, args.tls12))
                            .map_err(|e| format!("TLS: {e}"))?;
                    transport = Transport::Tls(Box::new(tls));
                    stream
                        .tls_established(info, Instant::now())
                        .map_err(|e| e.to_string())?;
                    upgraded = true;
                }
                Event::Authenticated { jid, method } if args.verbose => match method {
                    AuthMethod::Sasl(m) => println!("authenticated as {jid} with {}", m.name()),
                    other => println!("authenticated as {jid} by {other:?}"),
                },
                Event::Online { jid } => {
                    println!("online as {jid}");
                    online = true;
                    if args.presence {
                        // RFC 6121 §2.2: the roster before initial presence.
                        let get = Element::new("iq", ns::CLIENT)
                            .with_attr("type", "get")
                            .with_attr("id", "roster-1")
                            .with_child(Element::new("query", ns::ROSTER));
                        stream.send(get).map_err(|e| e.to_string())?;
                    }
                    // Initial presence (RFC 6121 §4.2): be available for
                    // messages to the bare JID.
                    stream
                        .send(Element::new("presence", ns::CLIENT))
                        .map_err(|e| e.to_string())?;
                    if let (Some(to), Some(text)) = (&args.to, &args.message) {
                        let msg = Element::new("message", ns::CLIENT)
                            .with_attr("to", to)
                            .with_attr("type", "chat")
                            .with_child(Element::new("body", ns::CLIENT).with_text(text));
                        stream.send(msg).map_err(|e| e.to_string())?;
                        sent = true;
                    }
                }
                Event::Stanza(el) if el.is("message", ns::CLIENT) => {
                    if let Some(body) = el.get_child("body", ns::CLIENT) {
                        println!(
                            "message from {}: {}",
                            el.attr("from").unwrap_or("?"),
                            body.text()
                        );
                        received += 1;
                        if let (true, Some(from)) = (args.echo, el.attr("from")) {
                            let reply = Element::new("message", ns::CLIENT)
                                .with_attr("to", from)
                                .with_attr("type", "chat")
                                .with_child(
                                    Element::new("body", ns::CLIENT)
                                        .with_text(&format!("echo: {}", body.text())),
                                );
                            stream.send(reply).map_err(|e| e.to_string())?;
                        }
                    }
                }
                Event::Stanza(el) if args.presence && el.is("presence", ns::CLIENT) => {
                    let Ok(p) = Presence::try_from(el) else {
                        continue;
                    };
                    match p.kind() {
                        Some(
                            kind @ (PresenceType::Subscribe
                            | PresenceType::Subscribed
                            | PresenceType::Unsubscribe
                            | PresenceType::Unsubscribed),
                        ) => println!("request {} {kind}", p.from().unwrap_or("?")),
                        _ => {
                            if let Some(change) = book.handle(&p)
                                && change.before != change.after
                            {
                                println!("presence {} {}", change.contact, name(change.after));
                            }
                        }
                    }
                }
                Event::Stanza(el) if args.presence && el.is("iq", ns::CLIENT) => {
                    let Some(query) = el.get_child("query", ns::ROSTER) else {
                        continue;
                    };
                    // Pushes come from our own account only (§2.1.6).
                    let own = el.attr("from").is_none_or(|f| f == args.jid);
                    if !own {
                        continue;
                    }
                    for item in query.children().filter(|c| c.is("item", ns::ROSTER)) {
                        // Unknown values are ignored (§2.1.2.5): shown as none.
                        let sub = item
                            .attr("subscription")
                            .and_then(Subscription::parse)
                            .map_or("none", Subscription::as_str);
                        let ask = if item.attr("ask") == Some("subscribe") {
                            " ask"
                        } else {
                            ""
                        };
                        println!("roster {} {sub}{ask}", item.attr("jid").unwrap_or("?"));
                    }
                    if el.attr("type") == Some("set") {
                        let result = Element::new("iq", ns::CLIENT)
                            .with_attr("type", "result")
                            .with_attr("id", el.attr("id").unwrap_or(""));
                        stream.send(result).map_err(|e| e.to_string())?;
                    }
                }
                Event::SeeOtherHost { host } => {
                    return Err(format!("see-other-host: redirected to {host}"));
                }
                Event::Closed(None) => {
                    return if online && sent && received >= args.receive {
                        Ok(())
                    } else {
                        Err("the server closed the stream".into())
                    };
                }
                Event::Closed(Some(reason)) => return Err(reason.to_string()),
                _ => {}
            }
            if !args.presence && online && sent && received >= args.receive && !closing {
                // Done: close our stream and wait for the server's close.
                closing = true;
                stream.close(Instant::now());
            }
        }
        if let (Some(rx), true, false) = (&commands, online, closing) {
            while let Ok(line) = rx.try_recv() {
                match command(&line) {
                    Ok(Some(p)) => stream.send(p.into_element()).map_err(|e| e.to_string())?,
                    Ok(None) => {
                        closing = true;
                        stream.close(Instant::now());
                        break;
                    }
                    Err(e) => println!("error: {e}"),
                }
            }
        }
        // Handling events may have queued stanzas: write them before
        // blocking on the socket.
        stream.poll_transmit(&mut out);
        if upgraded || !out.is_empty() {
            if !out.is_empty() {
                transport
                    .write_all(&out)
                    .map_err(|e| format!("write: {e}"))?;
            }
            continue;
        }
        // Read, waking up for the machine's next timer.
        let mut wait = stream.poll_timeout().map(|t| {
            t.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        if commands.is_some() {
            // Wake up for commands too.
            let tick = Duration::from_millis(50);
            wait = Some(wait.map_or(tick, |w| w.min(tick)));
        }
        transport
            .tcp()
            .set_read_timeout(wait)
            .map_err(|e| e.to_string())?;
        let now = Instant::now();
        let r = match transport.read(&mut buf) {
            Ok(0) => stream.handle_eof(now),
            Ok(n) => stream.handle_input(&buf[..n], now),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                stream.handle_timeout(now)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) => return Err(format!("read: {e}")),
        };
        if let Err(e) = r {
            // The machine queued its last words (a stream error or close).
            let mut out = Vec::new();
            stream.poll_transmit(&mut out);
            let _ = transport.write_all(&out);
            return Err(e.to_string());
        }
    }
}

/// An availability as the presence mode prints it.
fn name(a: Availability) -> &'static str {
    match a {
        Availability::Chat => "chat",
        Availability::Available => "online",
        Availability::Away => "away",
        Availability::Xa => "xa",
        Availability::Dnd => "dnd",
        Availability::Offline => "offline",
    }
}

/// One presence-mode command: the stanza to send, or `None` to quit.
fn command(line: &str) -> Result<Option<Presence>, String> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    let kind = match verb {
        "quit" => return Ok(None),
        "subscribe" => PresenceType::Subscribe,
        "subscribed" => PresenceType::Subscribed,
        "unsubscribe" => PresenceType::Unsubscribe,
        "unsubscribed" => PresenceType::Unsubscribed,
        "show" => {
            let a = match rest.first().copied() {
                Some("online") => Availability::Available,
                Some("chat") => Availability::Chat,
                Some("away") => Availability::Away,
                Some("xa") => Availability::Xa,
                Some("dnd") => Availability::Dnd,
                Some("offline") => Availability::Offline,
                other => return Err(format!("unknown availability {other:?}")),
            };
            let status = rest[1..].join(" ");
            return Ok(Some(a.presence((!status.is_empty()).then_some(&status), 0)));
        }
        other => return Err(format!("unknown command {other:?}")),
    };
    let [to] = rest[..] else {
        return Err(format!("{verb} takes one JID"));
    };
    Ok(Some(Presence::new(kind).with_to(to)))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
