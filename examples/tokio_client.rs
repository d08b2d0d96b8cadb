//! The same client as the `client` example, driven from a tokio event
//! loop: one `select!` over the socket and the machine's timer.
//!
//! ```text
//! cargo run --example tokio_client -- --jid JID --password PW [--server HOST:PORT]
//!     [--insecure-tls] [--to JID --message TEXT]
//! ```
//!
//! Prints `online as FULLJID`, sends the message if asked, closes the
//! stream and exits 0; on failure prints `error: ...` and exits 1.

use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xmpp_sansio::c2s::{ClientConfig, ClientStream};
use xmpp_sansio::ns;
use xmpp_sansio::random::OsRandom;
use xmpp_sansio::sasl::{ChannelBinding, ChannelBindingType, TlsInfo};
use xmpp_sansio::stream::Event;
use xmpp_sansio::xml::Element;

/// Accepts any certificate: for test servers with self-signed ones.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector(insecure: bool) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions");
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Upgrading,
}

impl Transport {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf).await,
            Transport::Tls(s) => s.read(buf).await,
            Transport::Upgrading => Ok(0),
        }
    }
    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Transport::Plain(s) => s.write_all(buf).await,
            Transport::Tls(s) => s.write_all(buf).await,
            Transport::Upgrading => Ok(()),
        }
    }
}

async fn run(
    jid: String,
    password: String,
    server: Option<String>,
    insecure: bool,
    message: Option<(String, String)>,
) -> Result<(), String> {
    let jid: jid::BareJid = jid.parse().map_err(|e| format!("invalid JID: {e}"))?;
    let domain = jid.domain().to_string();
    let server = server.unwrap_or_else(|| format!("{domain}:5222"));
    let tcp = TcpStream::connect(&server)
        .await
        .map_err(|e| format!("connect {server}: {e}"))?;
    let mut sock = Transport::Plain(tcp);
    let mut stream = ClientStream::new(
        ClientConfig::new(jid, &password),
        None,
        Box::new(OsRandom),
        Instant::now(),
    );
    let mut buf = vec![0u8; 16 * 1024];
    let mut online = false;
    loop {
        // The drain rule: after every call, transmit and events.
        let mut out = Vec::new();
        stream.poll_transmit(&mut out);
        sock.write_all(&out)
            .await
            .map_err(|e| format!("write: {e}"))?;
        out.clear();
        while let Some(event) = stream.poll_event() {
            match event {
                Event::StartTls => {
                    // Take the plain socket back and wrap it in TLS.
                    let Transport::Plain(tcp) = std::mem::replace(&mut sock, Transport::Upgrading)
                    else {
                        return Err("STARTTLS twice".into());
                    };
                    let name = ServerName::try_from(domain.clone()).map_err(|e| e.to_string())?;
                    let tls = connector(insecure)
                        .connect(name, tcp)
                        .await
                        .map_err(|e| format!("TLS: {e}"))?;
                    let mut info = TlsInfo::tls();
                    let conn = tls.get_ref().1;
                    if conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
                        let ekm = conn
                            .export_keying_material(
                                vec![0u8; 32],
                                b"EXPORTER-Channel-Binding",
                                Some(b""),
                            )
                            .map_err(|e| e.to_string())?;
                        info = info.with_binding(ChannelBinding::new(
                            ChannelBindingType::TlsExporter,
                            ekm,
                        ));
                    }
                    sock = Transport::Tls(Box::new(tls));
                    stream
                        .tls_established(info, Instant::now())
                        .map_err(|e| e.to_string())?;
                }
                Event::Online { jid } => {
                    println!("online as {jid}");
                    online = true;
                    stream
                        .send(Element::new("presence", ns::CLIENT))
                        .map_err(|e| e.to_string())?;
                    if let Some((to, text)) = &message {
                        let msg = Element::new("message", ns::CLIENT)
                            .with_attr("to", to)
                            .with_attr("type", "chat")
                            .with_child(Element::new("body", ns::CLIENT).with_text(text));
                        stream.send(msg).map_err(|e| e.to_string())?;
                    }
                    stream.close(Instant::now());
                }
                Event::Closed(None) if online => return Ok(()),
                Event::Closed(reason) => {
                    return Err(
                        reason.map_or("closed before going online".to_owned(), |r| r.to_string())
                    );
                }
                _ => {}
            }
        }
        stream.poll_transmit(&mut out);
        if !out.is_empty() {
            sock.write_all(&out)
                .await
                .map_err(|e| format!("write: {e}"))?;
            continue;
        }
        let deadline = stream.poll_timeout();
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = sock.read(&mut buf) => {
                let now = Instant::now();
                let r = match r {
                    Ok(0) => stream.handle_eof(now),
                    Ok(n) => stream.handle_input(&buf[..n], now),
                    Err(e) => return Err(format!("read: {e}")),
                };
                if let Err(e) = r {
                    let mut out = Vec::new();
                    stream.poll_transmit(&mut out);
                    let _ = sock.write_all(&out).await;
                    if online && matches!(e, xmpp_sansio::stream::Error::Closed) {
                        return Ok(());
                    }
                    return Err(e.to_string());
                }
            }
            _ = sleep => { stream.handle_timeout(Instant::now()).map_err(|e| e.to_string())?; }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut jid, mut password, mut server, mut insecure, mut to, mut text) =
        (None, None, None, false, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jid" => jid = args.next(),
            "--password" => password = args.next(),
            "--server" => server = args.next(),
            "--insecure-tls" => insecure = true,
            "--to" => to = args.next(),
            "--message" => text = args.next(),
            _ => {
                eprintln!("unknown argument {a}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let (Some(jid), Some(password)) = (jid, password) else {
        eprintln!(
            "usage: tokio_client --jid JID --password PW [--server HOST:PORT] [--insecure-tls] [--to JID --message TEXT]"
        );
        return std::process::ExitCode::from(2);
    };
    match run(jid, password, server, insecure, to.zip(text)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
