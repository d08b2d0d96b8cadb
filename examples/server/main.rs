//! A small XMPP server for a LAN or a test: `std::net`, a thread per
//! client, rustls for STARTTLS, the crate's `ServerStream` for everything
//! XMPP, and a router that delivers messages, presence and iqs between the
//! connected sessions. Users and passwords are given on the command line;
//! the server keeps only their SCRAM records. With `--s2s-listen` it
//! federates with other servers by Server Dialback (see `s2s.rs`).
//! Rosters, subscriptions and presence of the local accounts run on the
//! crate's presence logic (see `im.rs`), in memory.
//!
//! ```text
//! cargo run --example server -- --listen 127.0.0.1:5222 --domain example.test \
//!     --user juliet:secret [--user romeo:secret ...] [--cert cert.pem --key key.pem] \
//!     [--decoy-key-file FILE] [--idle-seconds N]
//!     [--s2s-listen ADDR [--s2s-tls required|optional|none]
//!      [--dialback-secret SECRET] [--s2s-peer DOMAIN=ADDR ...]]
//!     [--component-listen ADDR --component NAME:SECRET ...]
//! ```
//!
//! Without `--cert`/`--key` it makes a self-signed certificate for the
//! domain. All sessions share one stream configuration, with one decoy key
//! (kept in `--decoy-key-file` across restarts when given), so an unknown
//! user sees the same SCRAM salt on every attempt, as a real one does.
//! `--idle-seconds` sets how long a session may stay silent (0: forever).
//! It prints `listening on ADDR` once it accepts connections.

#[path = "../common/accept_any.rs"]
mod accept_any;
mod component;
mod im;
mod s2s;

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use xmpp_sansio::c2s::{BindDecision, ServerConfig, ServerStream};
use xmpp_sansio::random::{OsRandom, Random};
use xmpp_sansio::sasl::{
    ChannelBinding, ChannelBindingType, Credentials, DecoyKey, ScramCredentials, ScramHash, TlsInfo,
};
use xmpp_sansio::stanza::{DefinedCondition, Iq, StanzaError};
use xmpp_sansio::stream::{AnswerError, Event, Request};
use xmpp_sansio::xml::Element;

struct Shared {
    domain: String,
    /// Federation, when the server takes part in it.
    federation: std::sync::OnceLock<Arc<s2s::Federation>>,
    /// External components (XEP-0114), when a component port is open.
    components: std::sync::OnceLock<Arc<component::Components>>,
    /// One stream configuration for every session.
    config: Arc<ServerConfig>,
    users: HashMap<String, Vec<ScramCredentials>>,
    tls: Arc<rustls::ServerConfig>,
    /// Full JID -> the session's inbox.
    sessions: Mutex<HashMap<String, Sender<Element>>>,
    /// Rosters, subscriptions and presence of the local accounts.
    im: im::Im,
}

/// Carries out what the presence logic computed.
fn dispatch(shared: &Shared, out: im::Out) {
    {
        let sessions = shared.sessions.lock().expect("router lock");
        for (to, el) in out.sessions {
            if let Some(s) = sessions.get(&to) {
                let _ = s.send(el);
            }
        }
    }
    for el in out.route {
        deliver(shared, el);
    }
}

/// A stanza from a local session (`me`, once bound): presence and roster
/// through the presence logic, the rest delivered by address. Returns an
/// answer for the sender when the server itself answers.
fn from_session(shared: &Shared, me: Option<&jid::FullJid>, stanza: Element) -> Option<Element> {
    let stanza = match me {
        Some(me) => match shared.im.client_stanza(me, stanza) {
            im::Handled::Done(out) => {
                dispatch(shared, out);
                return None;
            }
            im::Handled::NotMine(stanza) => stanza,
        },
        None => stanza,
    };
    match shared.im.inbound(stanza) {
        im::Handled::Done(out) => {
            dispatch(shared, out);
            None
        }
        im::Handled::NotMine(stanza) => route(shared, stanza),
    }
}

/// Delivers a stanza from anywhere: to a local account through its
/// presence logic, else by address.
fn deliver(shared: &Shared, stanza: Element) {
    match shared.im.inbound(stanza) {
        im::Handled::Done(out) => dispatch(shared, out),
        im::Handled::NotMine(stanza) => {
            if let Some(reply) = route(shared, stanza) {
                deliver(shared, reply);
            }
        }
    }
}

/// An answer the stream did not take: it has ended, or (a bug here) the
/// token was wrong.
fn answer_failed(e: AnswerError) -> xmpp_sansio::stream::Error {
    match e {
        AnswerError::Ended(e) => e,
        e => xmpp_sansio::stream::Error::Negotiation(e.to_string()),
    }
}

struct Args {
    listen: String,
    domain: String,
    /// Users with their passwords.
    users: Vec<(String, String)>,
    /// Certificate and key files.
    files: Option<(String, String)>,
    /// Where the decoy key is kept across restarts.
    decoy_key_file: Option<String>,
    /// Idle timeout in seconds, 0 for none.
    idle: Option<u64>,
    /// Where to accept server-to-server connections.
    s2s_listen: Option<String>,
    s2s_tls: xmpp_sansio::s2s::TlsRequirement,
    dialback_secret: Option<String>,
    /// Addresses of remote domains.
    s2s_peers: HashMap<String, String>,
    /// Where components attach, and which (name, secret).
    component_listen: Option<String>,
    components: Vec<(String, String)>,
}

fn args() -> Result<Args, String> {
    let (mut listen, mut domain, mut users, mut cert, mut key) =
        (None, None, Vec::new(), None, None);
    let (mut decoy_key_file, mut idle) = (None, None);
    let (mut s2s_listen, mut dialback_secret) = (None, None);
    let mut s2s_tls = xmpp_sansio::s2s::TlsRequirement::Optional;
    let mut s2s_peers = HashMap::new();
    let (mut component_listen, mut components) = (None, Vec::new());
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?),
            "--domain" => domain = Some(value()?),
            "--user" => {
                let v = value()?;
                let (u, p) = v.split_once(':').ok_or("--user takes NAME:PASSWORD")?;
                users.push((u.to_owned(), p.to_owned()));
            }
            "--cert" => cert = Some(value()?),
            "--key" => key = Some(value()?),
            "--decoy-key-file" => decoy_key_file = Some(value()?),
            "--s2s-listen" => s2s_listen = Some(value()?),
            "--dialback-secret" => dialback_secret = Some(value()?),
            "--s2s-tls" => {
                use xmpp_sansio::s2s::TlsRequirement;
                s2s_tls = match value()?.as_str() {
                    "required" => TlsRequirement::Required,
                    "optional" => TlsRequirement::Optional,
                    "none" => TlsRequirement::Unavailable,
                    _ => return Err("--s2s-tls takes required, optional or none".into()),
                }
            }
            "--component-listen" => component_listen = Some(value()?),
            "--component" => {
                let v = value()?;
                let (n, s) = v.split_once(':').ok_or("--component takes NAME:SECRET")?;
                components.push((n.to_owned(), s.to_owned()));
            }
            "--s2s-peer" => {
                let v = value()?;
                let (d, a) = v.split_once('=').ok_or("--s2s-peer takes DOMAIN=ADDR")?;
                s2s_peers.insert(d.to_owned(), a.to_owned());
            }
            "--idle-seconds" => {
                idle = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--idle-seconds takes a number")?,
                )
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let usage = "usage: server --listen ADDR --domain DOMAIN --user NAME:PASSWORD... \
                 [--cert PEM --key PEM] [--decoy-key-file FILE] [--idle-seconds N]";
    Ok(Args {
        listen: listen.ok_or(usage)?,
        domain: domain.ok_or(usage)?,
        users,
        files: cert.zip(key),
        decoy_key_file,
        idle,
        s2s_listen,
        s2s_tls,
        dialback_secret,
        s2s_peers,
        component_listen,
        components,
    })
}

/// The server's decoy key (see `sasl::DecoyKey`): read from `file`, or made
/// and written there on first start, so that unknown users see the same
/// salts across restarts. Without a file, one key for this process.
fn decoy_key(file: Option<&str>) -> Result<DecoyKey, String> {
    let Some(file) = file else {
        return Ok(DecoyKey::generate(&mut OsRandom));
    };
    match std::fs::read(file) {
        Ok(bytes) => bytes
            .try_into()
            .map(DecoyKey::new)
            .map_err(|_| format!("{file}: not a {}-byte key", DecoyKey::LEN)),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let key = DecoyKey::generate(&mut OsRandom);
            std::fs::write(file, key.as_bytes()).map_err(|e| format!("{file}: {e}"))?;
            Ok(key)
        }
        Err(e) => Err(format!("{file}: {e}")),
    }
}

fn tls_config(
    domain: &str,
    files: Option<(String, String)>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let (certs, key) = match files {
        Some((c, k)) => {
            let certs = CertificateDer::pem_file_iter(&c)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{c}: {e}"))?;
            (
                certs,
                PrivateKeyDer::from_pem_file(&k).map_err(|e| format!("{k}: {e}"))?,
            )
        }
        None => {
            let c = rcgen::generate_simple_self_signed(vec![domain.to_owned()])
                .map_err(|e| e.to_string())?;
            let key = PrivateKeyDer::try_from(c.signing_key.serialize_der())
                .map_err(|e| e.to_string())?;
            (vec![c.cert.der().clone()], key)
        }
    };
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

type Tls = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

enum Transport {
    Plain(TcpStream),
    Tls(Box<Tls>),
    Gone,
}

impl Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(t) => t.read(buf),
            Transport::Tls(t) => t.read(buf),
            Transport::Gone => Ok(0),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(t) => t.write_all(buf),
            Transport::Tls(t) => t.write_all(buf).and_then(|_| t.flush()),
            Transport::Gone => Ok(()),
        }
    }
}

/// The server side of STARTTLS; tls-exporter on TLS 1.3 (RFC 9266).
fn handshake(tcp: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<(Tls, TlsInfo)> {
    let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    tls.sock.set_read_timeout(Some(POLL))?;
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

/// How often a session looks at its inbox while waiting for its socket.
const POLL: Duration = Duration::from_millis(20);

/// Delivers a stanza from a session; returns an answer for the sender when
/// the server itself answers.
fn route(shared: &Shared, stanza: Element) -> Option<Element> {
    let to = stanza.attr("to").unwrap_or(&shared.domain).to_owned();
    let domain = to.parse::<jid::Jid>().map(|j| j.domain().to_string());
    let mut stanza = stanza;
    if let (Ok(domain), Some(components)) = (&domain, shared.components.get()) {
        match components.deliver(domain, stanza) {
            Ok(()) => return None,
            Err(back) => stanza = back,
        }
    }
    if let (Ok(domain), Some(federation)) = (&domain, shared.federation.get())
        && !domain.eq_ignore_ascii_case(&shared.domain)
    {
        federation.route(stanza);
        return None;
    }
    let sessions = shared.sessions.lock().expect("router lock");
    let targets: Vec<&Sender<Element>> = if to.contains('/') {
        sessions.get(&to).into_iter().collect()
    } else {
        sessions
            .iter()
            .filter(|(k, _)| k.split('/').next() == Some(to.as_str()))
            .map(|(_, v)| v)
            .collect()
    };
    let is_iq_request = stanza.name() == "iq" && matches!(stanza.attr("type"), Some("get" | "set"));
    if targets.is_empty() || (is_iq_request && !to.contains('/')) {
        if !is_iq_request {
            // RFC 6121 §8.5: nobody to deliver to; messages and presence
            // to unavailable entities are dropped here (no offline store).
            return None;
        }
        // Iqs to the server or an account: ping answers, others are not
        // served (RFC 6120 §8.2.3, §10.5.3.1 / XEP-0199).
        drop(sessions);
        return if stanza.has_child("ping", "urn:xmpp:ping") {
            Iq::try_from(stanza)
                .ok()
                .map(|iq| iq.result(None).into_element())
        } else {
            StanzaError::new(DefinedCondition::ServiceUnavailable).reply_to(&stanza)
        };
    }
    for t in targets {
        let _ = t.send(stanza.clone());
    }
    None
}

fn serve(tcp: TcpStream, shared: Arc<Shared>) -> Result<(), String> {
    let peer = tcp.peer_addr().map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(POLL))
        .map_err(|e| e.to_string())?;
    let mut transport = Transport::Plain(tcp);
    let mut stream = ServerStream::new(
        shared.config.clone(),
        None,
        Box::new(OsRandom),
        Instant::now(),
    );
    let (tx, rx): (Sender<Element>, Receiver<Element>) = mpsc::channel();
    let mut full_jid: Option<String> = None;
    let mut online: Option<jid::FullJid> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let result = loop {
        let mut out = Vec::new();
        stream.poll_transmit(&mut out);
        if !out.is_empty() && transport.write_all(&out).is_err() {
            break Err("write failed".to_owned());
        }
        out.clear();
        let mut closed = None;
        while let Some(event) = stream.poll_event() {
            let now = Instant::now();
            let r = match event {
                Event::StartTls => {
                    let Transport::Plain(tcp) = std::mem::replace(&mut transport, Transport::Gone)
                    else {
                        break;
                    };
                    match handshake(tcp, shared.tls.clone()) {
                        Ok((tls, info)) => {
                            transport = Transport::Tls(Box::new(tls));
                            stream.tls_established(info, now)
                        }
                        Err(e) => {
                            closed = Some(Err(format!("TLS: {e}")));
                            break;
                        }
                    }
                }
                Event::Request {
                    token,
                    request: Request::Credentials(req),
                } => {
                    // PLAIN is verified against any stored record.
                    let hash = req.scram_hash().unwrap_or(ScramHash::Sha256);
                    let record = req
                        .authcid()
                        .and_then(|u| shared.users.get(u))
                        .and_then(|rs| rs.iter().find(|r| r.hash() == hash).cloned());
                    stream
                        .provide_credentials(token, record.map(Credentials::Scram), now)
                        .map_err(answer_failed)
                }
                Event::Request {
                    token,
                    request: Request::Bind { jid, requested },
                } => {
                    let resource = requested.unwrap_or_else(|| {
                        let mut r = [0u8; 6];
                        OsRandom.fill(&mut r);
                        r.iter().map(|b| format!("{b:02x}")).collect()
                    });
                    let full = format!("{jid}/{resource}");
                    let mut sessions = shared.sessions.lock().expect("router lock");
                    let decision = if sessions.contains_key(&full) {
                        BindDecision::Conflict
                    } else {
                        sessions.insert(full.clone(), tx.clone());
                        full_jid = Some(full);
                        BindDecision::Accept(resource)
                    };
                    drop(sessions);
                    stream.bind(token, decision, now).map_err(answer_failed)
                }
                Event::Online { jid } => {
                    println!("{peer}: online as {jid}");
                    shared.im.connect(&jid.to_bare(), jid.resource().as_str());
                    online = Some(jid);
                    Ok(())
                }
                Event::Stanza(el) => match from_session(&shared, online.as_ref(), el) {
                    Some(reply) => stream
                        .send(reply)
                        .map_err(|e| xmpp_sansio::stream::Error::Negotiation(e.to_string())),
                    None => Ok(()),
                },
                Event::Closed(reason) => {
                    closed = Some(reason.map_or(Ok(()), |r| Err(r.to_string())));
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(e) = r {
                closed.get_or_insert(Err(e.to_string()));
            }
        }
        stream.poll_transmit(&mut out);
        let _ = transport.write_all(&out);
        if let Some(r) = closed {
            break r;
        }
        // Stanzas routed to this session.
        while let Ok(el) = rx.try_recv() {
            let _ = stream.send(el);
        }
        let now = Instant::now();
        let r = match transport.read(&mut buf) {
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
            Err(e) => break Err(format!("read: {e}")),
        };
        // An error has queued its stream error and a Closed event: the
        // next turn writes the one and ends on the other.
        let _ = r;
    };
    if let Some(j) = full_jid {
        shared.sessions.lock().expect("router lock").remove(&j);
    }
    if let Some(me) = online {
        let out = shared.im.disconnect(&me.to_bare(), me.resource().as_str());
        dispatch(&shared, out);
    }
    result
}

fn main() -> std::process::ExitCode {
    let Args {
        listen,
        domain,
        users,
        files,
        decoy_key_file,
        idle,
        s2s_listen,
        s2s_tls,
        dialback_secret,
        s2s_peers,
        component_listen,
        components,
    } = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let tls = match tls_config(&domain, files) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("TLS configuration: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let user_names: Vec<String> = users.iter().map(|(u, _)| u.clone()).collect();
    let domain_for_im = domain.clone();
    // What a server stores at registration: SCRAM records, not passwords.
    let mut rng = OsRandom;
    let records = users
        .into_iter()
        .map(|(user, password)| {
            let mut salt = [0u8; 16];
            rng.fill(&mut salt);
            let recs = [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512]
                .into_iter()
                .map(|h| {
                    ScramCredentials::derive(h, &password, &salt, 4096).expect("valid parameters")
                })
                .collect();
            (user, recs)
        })
        .collect();
    let decoy_key = match decoy_key(decoy_key_file.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("decoy key: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut config = ServerConfig::new(&domain, decoy_key);
    config.sasl.iterations = 4096;
    // What `im.rs` implements (RFC 6121 §2.6.1, §3.4).
    config.informative_features = vec![
        Element::new("ver", xmpp_sansio::ns::ROSTER_VER),
        Element::new("sub", xmpp_sansio::ns::PRE_APPROVAL),
    ];
    if let Some(idle) = idle {
        config.idle_timeout = (idle > 0).then(|| Duration::from_secs(idle));
    }
    let shared = Arc::new(Shared {
        federation: std::sync::OnceLock::new(),
        components: std::sync::OnceLock::new(),
        domain,
        config: Arc::new(config),
        users: records,
        tls,
        sessions: Mutex::new(HashMap::new()),
        im: im::Im::new(&domain_for_im, user_names),
    });
    if let Some(addr) = s2s_listen {
        let secret = match &dialback_secret {
            Some(s) => xmpp_sansio::s2s::DialbackSecret::new(s.as_bytes()),
            None => xmpp_sansio::s2s::DialbackSecret::generate(&mut OsRandom),
        };
        let mut s2s_config = xmpp_sansio::s2s::ServerConfig::new(&[&shared.domain], secret);
        s2s_config.tls = s2s_tls;
        let weak = Arc::downgrade(&shared);
        let deliver = Box::new(move |stanza: Element| {
            // Errors and answers from this server go back to the remote
            // sender.
            if let Some(shared) = weak.upgrade() {
                self::deliver(&shared, stanza);
            }
        });
        let federation = Arc::new(s2s::Federation::new(
            shared.domain.clone(),
            Arc::new(s2s_config),
            shared.tls.clone(),
            s2s_peers,
            deliver,
        ));
        let _ = shared.federation.set(federation.clone());
        match TcpListener::bind(&addr) {
            Ok(l) => {
                println!(
                    "s2s listening on {}",
                    l.local_addr().map(|a| a.to_string()).unwrap_or(addr)
                );
                std::thread::spawn(move || federation.listen(l));
            }
            Err(e) => {
                eprintln!("s2s listen {addr}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if let Some(addr) = component_listen {
        let names: Vec<(&str, &str)> = components
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_str()))
            .collect();
        let weak = Arc::downgrade(&shared);
        let route_from_component = Box::new(move |stanza: Element| {
            if let Some(shared) = weak.upgrade() {
                deliver(&shared, stanza);
            }
        });
        let hub = Arc::new(component::Components::new(
            xmpp_sansio::component::AcceptConfig::new(&names),
            route_from_component,
        ));
        let _ = shared.components.set(hub.clone());
        match TcpListener::bind(&addr) {
            Ok(l) => {
                println!(
                    "components listening on {}",
                    l.local_addr().map(|a| a.to_string()).unwrap_or(addr)
                );
                std::thread::spawn(move || hub.listen(l));
            }
            Err(e) => {
                eprintln!("component listen {addr}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("listen {listen}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "listening on {}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or(listen)
    );
    for conn in listener.incoming().flatten() {
        let shared = shared.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(conn, shared) {
                eprintln!("session ended: {e}");
            }
        });
    }
    std::process::ExitCode::SUCCESS
}
