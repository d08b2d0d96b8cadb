//! A blocking XMPP client: `std::net` for the socket, rustls for TLS, the
//! crate's `ClientStream` for everything XMPP. Scriptable:
//!
//! ```text
//! cargo run --example client -- --jid JID --password PW [--server HOST:PORT]
//!     [--dns IP:PORT] [--insecure-tls] [--direct-tls] [--plaintext] [--tls12]
//!     [--mechanism NAME] [--to JID --message TEXT] [--receive N] [--echo]
//!     [--verbose] [--presence] [--stream-management]
//! ```
//!
//! Prints `online as FULLJID` once bound, sends the message if asked,
//! prints `message from JID: BODY` for each chat message it receives, and
//! exits 0 once it has sent and received what it was asked to (after a
//! clean stream close). On failure it prints one line `error: ...` naming
//! the cause and exits 1. `--tls12` caps TLS at version 1.2; `--verbose`
//! also prints `authenticated as JID with MECHANISM` and each place it
//! tries (`trying HOST:PORT (direct TLS|STARTTLS)`).
//!
//! Where to connect: with `--server`, there (direct TLS with
//! `--direct-tls`, else STARTTLS). Without it, the JID's domain is looked
//! up as RFC 6120 §3.2 and XEP-0368 say: the `_xmpps-client` and
//! `_xmpp-client` SRV records (resolved with hickory-resolver, from the
//! system's resolver or the one `--dns` names) ordered into one list of
//! candidates by the crate's `srv` module, tried in turn; the domain on
//! port 5222 when there is no SRV answer at all. Direct TLS uses the
//! domain as SNI and `xmpp-client` as ALPN, and the certificate must
//! match the domain, not the SRV target (RFC 6120 §13.7.2.1).
//!
//! `--stream-management` enables XEP-0198 with resumption: a connection
//! that breaks is made again (up to five times in a row) and the session
//! resumed, printing `connection lost (REASON), resuming` and `resumed as
//! FULLJID`; what the server had not acknowledged is sent again by the
//! machine, and nothing is sent twice. If resumption fails, the client
//! binds anew and sends what was never acknowledged itself.
//!
//! `--presence` makes it an interactive presence client (RFC 6121) that
//! runs until `quit` or the end of its input. It fetches the roster
//! before initial presence and reads commands, one per line:
//! `subscribe JID`, `subscribed JID`, `unsubscribe JID`,
//! `unsubscribed JID`, `show online|chat|away|xa|dnd|offline [STATUS]`,
//! `message JID TEXT`, `quit`. It prints `roster JID SUBSCRIPTION [ask]` for each roster item
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
use xmpp_sansio::sm;
use xmpp_sansio::srv::{self, Answer, Candidate, Security, Service};
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
    /// The DNS server for SRV lookups, instead of the system's.
    dns: Option<std::net::SocketAddr>,
    /// Stream management with resumption.
    stream_management: bool,
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
        dns: None,
        stream_management: false,
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
            "--stream-management" => a.stream_management = true,
            "--dns" => a.dns = Some(value()?.parse().map_err(|_| "--dns takes IP:PORT")?),
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
        return Err(
            "usage: client --jid JID --password PW [--server HOST:PORT] [--dns IP:PORT] \
                    [--insecure-tls] [--direct-tls] [--plaintext] [--tls12] [--mechanism NAME] \
                    [--to JID --message TEXT] [--receive N] [--echo] [--verbose] [--presence] \
                    [--stream-management]"
                .into(),
        );
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

/// The SRV records at `name`: `Answer::None` when there are none or the
/// lookup failed (RFC 6120 §3.2.1).
async fn srv_records(
    resolver: &hickory_resolver::TokioResolver,
    name: &str,
) -> Option<Vec<srv::Record>> {
    use hickory_resolver::proto::rr::RData;
    let lookup = resolver.srv_lookup(name).await.ok()?;
    let records: Vec<srv::Record> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(s) => Some(srv::Record::new(
                s.priority,
                s.weight,
                s.port,
                &s.target.to_ascii(),
            )),
            _ => None,
        })
        .collect();
    (!records.is_empty()).then_some(records)
}

/// Where to try, in order: `--server`, or what DNS says for the domain.
fn candidates(args: &Args, domain: &str) -> Result<Vec<Candidate>, String> {
    if let Some(server) = &args.server {
        let (host, port) = server.rsplit_once(':').ok_or("--server takes HOST:PORT")?;
        let port = port.parse().map_err(|_| "--server takes HOST:PORT")?;
        let security = if args.direct_tls {
            Security::DirectTls
        } else {
            Security::StartTls
        };
        return Ok(vec![Candidate {
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
            security,
            sni: domain.to_owned(),
            alpn: args.direct_tls.then(|| Service::Client.alpn()),
        }]);
    }
    let (xmpps, xmpp) = if srv::needs_lookup(domain) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
            use hickory_resolver::net::runtime::TokioRuntimeProvider;
            let builder = match args.dns {
                Some(addr) => {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let ns = NameServerConfig::new(addr.ip(), true, vec![udp]);
                    hickory_resolver::Resolver::builder_with_config(
                        ResolverConfig::from_name_servers(vec![ns]),
                        TokioRuntimeProvider::default(),
                    )
                }
                None => hickory_resolver::Resolver::builder_tokio()
                    .map_err(|e| format!("DNS configuration: {e}"))?,
            };
            let resolver = builder.build().map_err(|e| format!("DNS: {e}"))?;
            let [direct, starttls] = Service::Client.names(domain);
            Ok::<_, String>((
                srv_records(&resolver, &direct).await,
                srv_records(&resolver, &starttls).await,
            ))
        })?
    } else {
        (None, None)
    };
    fn answer(a: &Option<Vec<srv::Record>>) -> Answer<'_> {
        match a {
            Some(r) => Answer::Records(r),
            None => Answer::None,
        }
    }
    srv::candidates(
        domain,
        Service::Client,
        answer(&xmpps),
        answer(&xmpp),
        &mut OsRandom,
    )
    .map_err(|e| format!("{domain}: {e}"))
}

/// Connects to the first candidate that answers: TCP, and TLS at once for
/// direct TLS.
fn connect(
    args: &Args,
    config: &ClientConfig,
    candidates: &[Candidate],
) -> Result<(Transport, ClientStream), String> {
    let mut last = String::from("no candidates");
    for c in candidates {
        let how = match c.security {
            Security::DirectTls => "direct TLS",
            Security::StartTls => "STARTTLS",
        };
        if args.verbose {
            println!("trying {}:{} ({how})", c.host, c.port);
        }
        let tcp = match TcpStream::connect((c.host.as_str(), c.port)) {
            Ok(t) => t,
            Err(e) => {
                last = format!("connect {}:{}: {e}", c.host, c.port);
                continue;
            }
        };
        let mut config = config.clone();
        let now = Instant::now();
        match c.security {
            Security::DirectTls => {
                let tls = tls_config(args.insecure, c.alpn.is_some(), args.tls12);
                match handshake(tcp, &c.sni, tls) {
                    Ok((tls, info)) => {
                        config.tls = TlsPolicy::Direct;
                        let stream = ClientStream::new(config, Some(info), Box::new(OsRandom), now);
                        return Ok((Transport::Tls(Box::new(tls)), stream));
                    }
                    Err(e) => last = format!("TLS with {}:{}: {e}", c.host, c.port),
                }
            }
            Security::StartTls => {
                let stream = ClientStream::new(config, None, Box::new(OsRandom), now);
                return Ok((Transport::Plain(tcp), stream));
            }
        }
    }
    Err(last)
}

/// What outlives one connection.
struct Session {
    sent: bool,
    received: usize,
    online: bool,
    closing: bool,
    book: Presences,
    /// The stream-management session of a broken connection.
    suspended: Option<sm::Session>,
    /// What a failed resumption handed back, to send once online.
    unsent: Vec<Element>,
}

/// How one connection ended.
enum End {
    /// Done, cleanly.
    Done,
    /// It broke; resumable when the session was kept.
    Broken(String),
}

fn run(args: Args) -> Result<(), String> {
    let jid: jid::BareJid = args.jid.parse().map_err(|e| format!("invalid JID: {e}"))?;
    let domain = jid.domain().to_string();
    let mut config = ClientConfig::new(jid, &args.password);
    config.tls = if args.plaintext {
        TlsPolicy::AllowPlaintext
    } else {
        TlsPolicy::Required
    };
    if let Some(m) = args.mechanism {
        config.sasl.preference = vec![m];
        config.sasl.allow_plain_without_tls = args.plaintext;
    }
    if args.stream_management {
        config.stream_management = Some(sm::Config::default());
    }
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
    let mut session = Session {
        sent: args.message.is_none(),
        received: 0,
        online: false,
        closing: false,
        book: Presences::new(),
        suspended: None,
        unsent: Vec::new(),
    };
    let mut retries = 0;
    loop {
        let (transport, mut stream) = connect(&args, &config, &candidates(&args, &domain)?)?;
        if let Some(s) = session.suspended.take() {
            stream
                .resume_session(s)
                .expect("a new stream takes a session");
        }
        match converse(
            &args,
            &domain,
            &mut session,
            commands.as_ref(),
            transport,
            stream,
        )? {
            End::Done => return Ok(()),
            End::Broken(why) if session.suspended.is_some() && retries < 5 => {
                retries += 1;
                println!("connection lost ({why}), resuming");
                std::thread::sleep(Duration::from_millis(200 * retries));
            }
            End::Broken(why) => return Err(why),
        }
    }
}

/// Sends what a failed resumption handed back.
fn send_unsent(stream: &mut ClientStream, session: &mut Session) -> Result<(), String> {
    if !session.unsent.is_empty() {
        println!(
            "sending {} unacknowledged stanzas again",
            session.unsent.len()
        );
    }
    for stanza in std::mem::take(&mut session.unsent) {
        stream.send(stanza).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs one connection until it ends.
fn converse(
    args: &Args,
    domain: &str,
    state: &mut Session,
    commands: Option<&mpsc::Receiver<String>>,
    mut transport: Transport,
    mut stream: ClientStream,
) -> Result<End, String> {
    let mut buf = vec![0u8; 16 * 1024];
    state.online = false;
    // The transport broke: the machine hands over what it must (a session
    // to resume, unacknowledged stanzas) before its last event.
    let broken = |stream: &mut ClientStream, state: &mut Session, why: String| {
        let _ = stream.handle_eof(Instant::now());
        while let Some(event) = stream.poll_event() {
            match event {
                Event::Suspended(s) => state.suspended = Some(*s),
                Event::Unsent(v) => state.unsent.extend(v),
                _ => {}
            }
        }
        End::Broken(why)
    };
    loop {
        // Drain what the machine wants written and what it has to say.
        let mut out = Vec::new();
        stream.poll_transmit(&mut out);
        if !out.is_empty() {
            if let Err(e) = transport.write_all(&out) {
                return Ok(broken(&mut stream, state, format!("write: {e}")));
            }
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
                        handshake(tcp, domain, tls_config(args.insecure, false, args.tls12))
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
                    state.online = true;
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
                    send_unsent(&mut stream, state)?;
                    if let (Some(to), Some(text), false) = (&args.to, &args.message, state.sent) {
                        stream.send(chat(to, text)).map_err(|e| e.to_string())?;
                        state.sent = true;
                    }
                }
                Event::Resumed { jid } => {
                    // XEP-0198 §5: presence, roster and the rest carried
                    // over; nothing to set up again.
                    println!("resumed as {jid}");
                    state.online = true;
                    send_unsent(&mut stream, state)?;
                }
                Event::Suspended(s) => state.suspended = Some(*s),
                Event::Unsent(v) => state.unsent.extend(v),
                Event::Stanza(el) if el.is("message", ns::CLIENT) => {
                    if let Some(body) = el.get_child("body", ns::CLIENT) {
                        println!(
                            "message from {}: {}",
                            el.attr("from").unwrap_or("?"),
                            body.text()
                        );
                        state.received += 1;
                        if let (true, Some(from)) = (args.echo, el.attr("from")) {
                            let reply = chat(from, &format!("echo: {}", body.text()));
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
                            if let Some(change) = state.book.handle(&p)
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
                    return if state.online && state.sent && state.received >= args.receive {
                        Ok(End::Done)
                    } else {
                        Err("the server closed the stream".into())
                    };
                }
                Event::Closed(Some(reason)) => {
                    // Events before this one handed over the session, if
                    // it can be resumed.
                    return Ok(End::Broken(reason.to_string()));
                }
                _ => {}
            }
            if !args.presence
                && state.online
                && state.sent
                && state.received >= args.receive
                && !state.closing
            {
                // Done: close our stream and wait for the server's close.
                state.closing = true;
                stream.close(Instant::now());
            }
        }
        if let (Some(rx), true, false) = (commands, state.online, state.closing) {
            while let Ok(line) = rx.try_recv() {
                match command(&line) {
                    Ok(Some(stanza)) => stream.send(stanza).map_err(|e| e.to_string())?,
                    Ok(None) => {
                        state.closing = true;
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
            if !out.is_empty()
                && let Err(e) = transport.write_all(&out)
            {
                return Ok(broken(&mut stream, state, format!("write: {e}")));
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
            Err(e) => return Ok(broken(&mut stream, state, format!("read: {e}"))),
        };
        if let Err(e) = r {
            // The machine queued its last words (a stream error or close).
            let mut out = Vec::new();
            stream.poll_transmit(&mut out);
            let _ = transport.write_all(&out);
            // What it hands over comes with its last events.
            while let Some(event) = stream.poll_event() {
                match event {
                    Event::Suspended(s) => state.suspended = Some(*s),
                    Event::Unsent(v) => state.unsent.extend(v),
                    _ => {}
                }
            }
            return Ok(End::Broken(e.to_string()));
        }
    }
}

/// A chat message.
fn chat(to: &str, text: &str) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_child(Element::new("body", ns::CLIENT).with_text(text))
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
fn command(line: &str) -> Result<Option<Element>, String> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    let kind = match verb {
        "quit" => return Ok(None),
        "message" => {
            let [to, text @ ..] = &rest[..] else {
                return Err("message takes a JID and text".into());
            };
            return Ok(Some(chat(to, &text.join(" "))));
        }
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
            let p = a.presence((!status.is_empty()).then_some(&status), 0);
            return Ok(Some(p.into_element()));
        }
        other => return Err(format!("unknown command {other:?}")),
    };
    let [to] = rest[..] else {
        return Err(format!("{verb} takes one JID"));
    };
    Ok(Some(Presence::new(kind).with_to(to).into_element()))
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
