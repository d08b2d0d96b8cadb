//! The server example's component port (XEP-0114): external components,
//! such as the `gateway` example, attach here; stanzas for their domains
//! go to them, and theirs are routed like any other.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xmpp_sansio::component::{AcceptConfig, AcceptStream, ComponentDecision};
use xmpp_sansio::random::OsRandom;
use xmpp_sansio::stream::{Event, Request};
use xmpp_sansio::xml::Element;

/// How often a connection looks at its inbox while waiting for its socket.
const POLL: Duration = Duration::from_millis(20);

/// The attached components, by name.
pub struct Components {
    pub config: Arc<AcceptConfig>,
    attached: Mutex<HashMap<String, Sender<Element>>>,
    /// Routes what a component sends.
    pub route: Box<dyn Fn(Element) + Send + Sync>,
}

impl Components {
    pub fn new(config: AcceptConfig, route: Box<dyn Fn(Element) + Send + Sync>) -> Components {
        Components {
            config: Arc::new(config),
            attached: Mutex::new(HashMap::new()),
            route,
        }
    }

    /// Hands `stanza` to the component serving `domain` (or a domain it is
    /// under); gives it back if none is attached.
    #[allow(clippy::result_large_err)] // handed back by value, not lost
    pub fn deliver(&self, domain: &str, stanza: Element) -> Result<(), Element> {
        let attached = self.attached.lock().expect("components lock");
        let target = attached.iter().find(|(name, _)| {
            domain.eq_ignore_ascii_case(name)
                || domain
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", name.to_ascii_lowercase()))
        });
        match target {
            Some((_, tx)) => tx.send(stanza).map_err(|e| e.0),
            None => Err(stanza),
        }
    }

    pub fn listen(self: Arc<Self>, listener: TcpListener) {
        for conn in listener.incoming().flatten() {
            let me = self.clone();
            std::thread::spawn(move || {
                if let Err(e) = me.serve(conn) {
                    eprintln!("component: {e}");
                }
            });
        }
    }

    fn serve(&self, mut tcp: TcpStream) -> Result<(), String> {
        tcp.set_read_timeout(Some(POLL))
            .map_err(|e| e.to_string())?;
        let mut stream = AcceptStream::new(self.config.clone(), Box::new(OsRandom), Instant::now());
        let (tx, rx): (Sender<Element>, Receiver<Element>) = mpsc::channel();
        let mut name: Option<String> = None;
        let mut buf = vec![0u8; 16 * 1024];
        let result = loop {
            let mut out = Vec::new();
            while stream.poll_transmit(&mut out).is_some() {}
            if !out.is_empty() && tcp.write_all(&out).is_err() {
                break Err("write failed".to_owned());
            }
            let mut closed = None;
            while let Some(event) = stream.poll_event() {
                let now = Instant::now();
                match event {
                    Event::Request {
                        token,
                        request: Request::Component { domain },
                    } => {
                        let mut attached = self.attached.lock().expect("components lock");
                        let decision = if attached.contains_key(domain.as_str()) {
                            ComponentDecision::Conflict
                        } else {
                            attached.insert(domain.to_string(), tx.clone());
                            name = Some(domain.to_string());
                            println!("component {domain} attached");
                            ComponentDecision::Accept
                        };
                        drop(attached);
                        let _ = stream.attach(token, decision, now);
                    }
                    Event::Stanza(stanza) => (self.route)(stanza),
                    Event::Closed(reason) => {
                        closed = Some(reason.map_or(Ok(()), |r| Err(r.to_string())));
                    }
                    _ => {}
                }
            }
            let mut out = Vec::new();
            while stream.poll_transmit(&mut out).is_some() {}
            let _ = tcp.write_all(&out);
            if let Some(r) = closed {
                break r;
            }
            while let Ok(el) = rx.try_recv() {
                let _ = stream.send(el);
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
                Err(e) => break Err(format!("read: {e}")),
            };
        };
        if let Some(n) = name {
            self.attached.lock().expect("components lock").remove(&n);
            println!("component {n} detached");
        }
        result
    }
}
