//! Federation for the server example: server-to-server streams with
//! Server Dialback (XEP-0220), a thread per connection like the c2s side.
//!
//! * Stanzas for another domain go to the outgoing stream to it (opened
//!   on first use, to `DOMAIN:5269` or the address given with
//!   `--s2s-peer DOMAIN=ADDR`), queued until the remote server accepts
//!   our key.
//! * A remote server's key on an incoming stream is checked with the
//!   Authoritative Server of its domain over our outgoing stream to that
//!   domain (`verify`), and the answer passed back.
//! * Stanzas on incoming streams, once their domain pair is verified, go
//!   to the local sessions.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jid::BareJid;
use rustls::pki_types::ServerName;
use xmpp_sansio::random::OsRandom;
use xmpp_sansio::s2s::{IncomingStream, OutgoingStream, ServerConfig};
use xmpp_sansio::sasl::TlsInfo;
use xmpp_sansio::stream::{Event, Request, Token, Verdict};
use xmpp_sansio::xml::Element;

/// How often a connection looks at its commands while waiting for its
/// socket.
const POLL: Duration = Duration::from_millis(20);

/// What the rest of the server asks of an outgoing stream's thread.
enum Command {
    Stanza(Element),
    /// Check a key with this (authoritative) server; the verdict goes to
    /// `reply`.
    Verify {
        sender: BareJid,
        receiving: BareJid,
        stream_id: String,
        key: String,
        reply: Sender<Verdict>,
    },
}

/// The server's federation: configuration, TLS, and the outgoing
/// streams by remote domain.
pub struct Federation {
    pub domain: String,
    pub config: Arc<ServerConfig>,
    pub tls_server: Arc<rustls::ServerConfig>,
    pub tls_client: Arc<rustls::ClientConfig>,
    /// Addresses for remote domains, instead of `DOMAIN:5269`.
    pub peers: HashMap<String, String>,
    /// Delivers a stanza from a remote server to the local sessions.
    pub deliver: Box<dyn Fn(Element) + Send + Sync>,
    outgoing: Mutex<HashMap<String, Sender<Command>>>,
}

impl Federation {
    pub fn new(
        domain: String,
        config: Arc<ServerConfig>,
        tls_server: Arc<rustls::ServerConfig>,
        peers: HashMap<String, String>,
        deliver: Box<dyn Fn(Element) + Send + Sync>,
    ) -> Federation {
        Federation {
            domain,
            config,
            tls_server,
            tls_client: insecure_client_config(),
            peers,
            deliver,
            outgoing: Mutex::new(HashMap::new()),
        }
    }

    /// Sends a stanza to its remote domain.
    pub fn route(self: &Arc<Self>, stanza: Element) {
        let Some(domain) = stanza
            .attr("to")
            .and_then(|t| t.parse::<jid::Jid>().ok())
            .map(|j| j.domain().to_string())
        else {
            return;
        };
        self.command(&domain, Command::Stanza(stanza));
    }

    /// Hands `command` to the outgoing stream to `domain`, opening it if
    /// there is none.
    fn command(self: &Arc<Self>, domain: &str, command: Command) {
        let mut outgoing = self.outgoing.lock().expect("federation lock");
        let mut command = command;
        if let Some(tx) = outgoing.get(domain) {
            match tx.send(command) {
                Ok(()) => return,
                Err(mpsc::SendError(c)) => command = c,
            }
        }
        // None yet, or its thread has ended: open a new one.
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(command);
        outgoing.insert(domain.to_owned(), tx);
        drop(outgoing);
        let me = self.clone();
        let remote = domain.to_owned();
        std::thread::spawn(move || {
            if let Err(e) = me.run_outgoing(&remote, rx) {
                eprintln!("s2s to {remote}: {e}");
            }
            let mut outgoing = me.outgoing.lock().expect("federation lock");
            outgoing.remove(&remote);
        });
    }

    fn run_outgoing(&self, remote: &str, rx: Receiver<Command>) -> Result<(), String> {
        let addr = self
            .peers
            .get(remote)
            .cloned()
            .unwrap_or_else(|| format!("{remote}:5269"));
        let tcp = TcpStream::connect(&addr).map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_read_timeout(Some(POLL))
            .map_err(|e| e.to_string())?;
        let mut transport = Transport::Plain(tcp);
        let local = BareJid::new(&self.domain).map_err(|e| e.to_string())?;
        let remote_jid = BareJid::new(remote).map_err(|e| e.to_string())?;
        let mut stream = OutgoingStream::new(
            self.config.clone(),
            local,
            remote_jid,
            None,
            Box::new(OsRandom),
            Instant::now(),
        );
        println!("s2s: connected to {remote} at {addr}");
        let mut queued: Vec<Element> = Vec::new();
        let mut valid = false;
        let mut verifications: Vec<(Token, Sender<Verdict>)> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            flush(&mut stream, &mut transport)?;
            while let Some(event) = stream.poll_event() {
                let now = Instant::now();
                match event {
                    Event::StartTls => {
                        flush(&mut stream, &mut transport)?;
                        let Transport::Plain(tcp) =
                            std::mem::replace(&mut transport, Transport::Gone)
                        else {
                            return Err("STARTTLS twice".into());
                        };
                        let tls = client_handshake(tcp, remote, self.tls_client.clone())
                            .map_err(|e| format!("TLS: {e}"))?;
                        transport = Transport::TlsClient(Box::new(tls));
                        stream
                            .tls_established(TlsInfo::tls(), now)
                            .map_err(|e| e.to_string())?;
                    }
                    Event::Pair { from, to, verdict } => {
                        println!("s2s: {from} -> {to}: {verdict:?}");
                        valid = verdict == Verdict::Valid;
                        if valid {
                            for s in queued.drain(..) {
                                let _ = stream.send(s);
                            }
                        } else {
                            return Err(format!("{remote} refused our key: {verdict:?}"));
                        }
                    }
                    Event::Verified { token, verdict } => {
                        if let Some(i) = verifications.iter().position(|(t, _)| *t == token) {
                            let (_, reply) = verifications.swap_remove(i);
                            let _ = reply.send(verdict);
                        }
                    }
                    Event::Closed(reason) => {
                        return reason.map_or(Ok(()), |r| Err(r.to_string()));
                    }
                    _ => {}
                }
            }
            while let Ok(command) = rx.try_recv() {
                let now = Instant::now();
                match command {
                    Command::Stanza(s) if valid => {
                        if let Err(e) = stream.send(s) {
                            eprintln!("s2s to {remote}: {e}");
                        }
                    }
                    Command::Stanza(s) => queued.push(s),
                    Command::Verify {
                        sender,
                        receiving,
                        stream_id,
                        key,
                        reply,
                    } => match stream.verify(&sender, &receiving, &stream_id, &key, now) {
                        Ok(token) => verifications.push((token, reply)),
                        Err(_) => {
                            let failed = Verdict::Error(
                                xmpp_sansio::stanza::DefinedCondition::RemoteServerNotFound,
                            );
                            let _ = reply.send(failed);
                        }
                    },
                }
            }
            flush(&mut stream, &mut transport)?;
            let now = Instant::now();
            let _ = match transport.read(&mut buf) {
                Ok(0) => stream.handle_eof(now),
                Ok(n) => stream.handle_input(&buf[..n], now),
                Err(e) if is_timeout(&e) => stream.handle_timeout(now),
                Err(e) => return Err(format!("read: {e}")),
            };
        }
    }

    /// Accepts incoming s2s connections on `listener`.
    pub fn listen(self: Arc<Self>, listener: TcpListener) {
        for conn in listener.incoming().flatten() {
            let me = self.clone();
            std::thread::spawn(move || {
                let peer = conn.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                if let Err(e) = me.run_incoming(conn) {
                    eprintln!("s2s from {peer}: {e}");
                }
            });
        }
    }

    fn run_incoming(self: &Arc<Self>, tcp: TcpStream) -> Result<(), String> {
        tcp.set_read_timeout(Some(POLL))
            .map_err(|e| e.to_string())?;
        let mut transport = Transport::Plain(tcp);
        let mut stream = IncomingStream::new(
            self.config.clone(),
            None,
            Box::new(OsRandom),
            Instant::now(),
        );
        // Keys being checked: our question's token and the verdict's way
        // back.
        let mut checks: Vec<(Token, Receiver<Verdict>)> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            flush(&mut stream, &mut transport)?;
            while let Some(event) = stream.poll_event() {
                let now = Instant::now();
                match event {
                    Event::StartTls => {
                        flush(&mut stream, &mut transport)?;
                        let Transport::Plain(tcp) =
                            std::mem::replace(&mut transport, Transport::Gone)
                        else {
                            return Err("STARTTLS twice".into());
                        };
                        let tls = server_handshake(tcp, self.tls_server.clone())
                            .map_err(|e| format!("TLS: {e}"))?;
                        transport = Transport::TlsServer(Box::new(tls));
                        stream
                            .tls_established(TlsInfo::tls(), now)
                            .map_err(|e| e.to_string())?;
                    }
                    Event::Request {
                        token,
                        request:
                            Request::Dialback {
                                from,
                                to,
                                stream_id,
                                key,
                            },
                    } => {
                        println!("s2s: {from} asks to send to {to}; checking its key");
                        let (reply, verdict) = mpsc::channel();
                        self.command(
                            from.as_str(),
                            Command::Verify {
                                sender: from.clone(),
                                receiving: to,
                                stream_id,
                                key,
                                reply,
                            },
                        );
                        checks.push((token, verdict));
                    }
                    Event::Pair { from, to, verdict } => {
                        println!("s2s: accepted {from} -> {to}: {verdict:?}");
                    }
                    Event::Stanza(stanza) => (self.deliver)(stanza),
                    Event::Closed(reason) => {
                        return reason.map_or(Ok(()), |r| Err(r.to_string()));
                    }
                    _ => {}
                }
            }
            let now = Instant::now();
            checks.retain(|(token, verdict)| match verdict.try_recv() {
                Ok(v) => {
                    let _ = stream.dialback_verdict(*token, v, now);
                    false
                }
                Err(mpsc::TryRecvError::Empty) => true,
                Err(mpsc::TryRecvError::Disconnected) => {
                    let failed =
                        Verdict::Error(xmpp_sansio::stanza::DefinedCondition::RemoteServerNotFound);
                    let _ = stream.dialback_verdict(*token, failed, now);
                    false
                }
            });
            flush(&mut stream, &mut transport)?;
            let _ = match transport.read(&mut buf) {
                Ok(0) => stream.handle_eof(now),
                Ok(n) => stream.handle_input(&buf[..n], now),
                Err(e) if is_timeout(&e) => stream.handle_timeout(now),
                Err(e) => return Err(format!("read: {e}")),
            };
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// Writes everything the stream has to send.
fn flush<R: xmpp_sansio::stream::Machine>(
    stream: &mut xmpp_sansio::stream::Connection<R>,
    transport: &mut Transport,
) -> Result<(), String> {
    let mut out = Vec::new();
    while stream.poll_transmit(&mut out).is_some() {}
    if !out.is_empty() {
        transport
            .write_all(&out)
            .map_err(|e| format!("write: {e}"))?;
    }
    Ok(())
}

enum Transport {
    Plain(TcpStream),
    TlsServer(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
    TlsClient(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    Gone,
}

impl Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(t) => t.read(buf),
            Transport::TlsServer(t) => t.read(buf),
            Transport::TlsClient(t) => t.read(buf),
            Transport::Gone => Ok(0),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(t) => t.write_all(buf),
            Transport::TlsServer(t) => t.write_all(buf).and_then(|_| t.flush()),
            Transport::TlsClient(t) => t.write_all(buf).and_then(|_| t.flush()),
            Transport::Gone => Ok(()),
        }
    }
}

fn server_handshake(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<rustls::StreamOwned<rustls::ServerConnection, TcpStream>> {
    let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    tls.sock.set_read_timeout(Some(POLL))?;
    Ok(tls)
}

fn client_handshake(
    tcp: TcpStream,
    domain: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = ServerName::try_from(domain.to_owned())
        .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    tls.sock.set_read_timeout(Some(POLL))?;
    Ok(tls)
}

/// Accepts any certificate. Dialback, not PKIX, authenticates the peer
/// here (XEP-0220), as for servers on a LAN with self-signed certificates.
fn insecure_client_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(crate::accept_any::AcceptAny(provider)))
        .with_no_client_auth();
    Arc::new(config)
}
