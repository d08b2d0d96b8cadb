//! Stream management (XEP-0198) against Prosody's built-in `mod_smacks`:
//! the `client` example (`--stream-management`) reaches Prosody through a
//! TCP relay this test controls. Mid-conversation the relay first
//! swallows everything in both directions (messages each way are then in
//! flight, unacknowledged), then cuts the TCP connection. The client
//! connects again, resumes, and every message, from before, during and
//! after the cut, arrives exactly once on each side.

#[path = "common/presence_peer.rs"]
mod presence_peer;
#[path = "common/process.rs"]
mod process;
#[path = "common/prosody.rs"]
mod prosody;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use presence_peer::Client;
use process::example;
use prosody::{DOMAIN, Options, Prosody};

/// One relayed connection: both sockets, and whether what arrives is
/// dropped instead of passed on.
struct Relayed {
    client: TcpStream,
    server: TcpStream,
    swallow: Arc<AtomicBool>,
}

/// A TCP relay to `upstream` on a free loopback port.
struct Relay {
    port: u16,
    connections: Arc<Mutex<Vec<Relayed>>>,
}

impl Relay {
    fn start(upstream: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<Mutex<Vec<Relayed>>> = Arc::default();
        let list = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                let swallow = Arc::new(AtomicBool::new(false));
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    let swallow = swallow.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(_) if swallow.load(Ordering::SeqCst) => {}
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
                list.lock().unwrap().push(Relayed {
                    client,
                    server,
                    swallow,
                });
            }
        });
        Relay { port, connections }
    }

    /// From now on the open connections pass nothing on, either way.
    fn swallow(&self) {
        for c in self.connections.lock().unwrap().iter() {
            c.swallow.store(true, Ordering::SeqCst);
        }
    }

    /// Cuts every open connection, both sides at once.
    fn cut(&self) {
        for c in self.connections.lock().unwrap().drain(..) {
            let _ = c.client.shutdown(Shutdown::Both);
            let _ = c.server.shutdown(Shutdown::Both);
        }
    }
}

fn client(user: &'static str, port: u16, extra: &[&str]) -> Client {
    let mut c = Command::new(example("client"));
    c.args([
        "--jid",
        &format!("{user}@{DOMAIN}"),
        "--password",
        &format!("{user}-pw"),
        "--server",
        &format!("127.0.0.1:{port}"),
        "--insecure-tls",
        "--presence",
    ])
    .args(extra);
    Client::start(c, user, DOMAIN)
}

/// How many lines of `c` end with `: BODY`.
fn count(c: &Client, body: &str) -> usize {
    let suffix = format!(": {body}");
    c.seen().iter().filter(|l| l.ends_with(&suffix)).count()
}

#[test]
fn a_cut_connection_resumes_and_every_message_arrives_exactly_once() {
    let Some(p) = Prosody::start(Options {
        modules: vec!["smacks"],
        ..Options::default()
    }) else {
        return;
    };
    p.register("alice", "alice-pw");
    p.register("bob", "bob-pw");
    let relay = Relay::start(p.c2s);
    let mut alice = client("alice", relay.port, &["--stream-management"]);
    let mut bob = client("bob", p.c2s, &[]);
    let (alice_jid, bob_jid) = (format!("alice@{DOMAIN}"), format!("bob@{DOMAIN}"));
    let say = |c: &mut Client, to: &str, body: &str| c.send(&format!("message {to} {body}"));

    // Before: both ways, acknowledged.
    say(&mut alice, &bob_jid, "a1");
    say(&mut bob, &alice_jid, "b1");
    bob.expect_ending(": a1");
    alice.expect_ending(": b1");

    // In flight: the relay swallows both directions, so Prosody's copies
    // of b2, b3 and alice's a2, a3 reach nobody and stay unacknowledged.
    relay.swallow();
    say(&mut alice, &bob_jid, "a2");
    say(&mut alice, &bob_jid, "a3");
    say(&mut bob, &alice_jid, "b2");
    say(&mut bob, &alice_jid, "b3");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&bob, "a2"), 0, "a2 passed the relay");
    relay.cut();

    // The client connects again through the relay and resumes: each side
    // sends again what the other had not acknowledged.
    alice.expect("connection lost (");
    alice.expect(&format!("resumed as {alice_jid}/"));
    alice.expect_ending(": b2");
    alice.expect_ending(": b3");
    bob.expect_ending(": a2");
    bob.expect_ending(": a3");

    // After: the resumed session carries on, presence included (bob
    // reaches alice's bare JID).
    say(&mut alice, &bob_jid, "a4");
    say(&mut bob, &alice_jid, "b4");
    bob.expect_ending(": a4");
    alice.expect_ending(": b4");

    // Anything sent twice would have arrived by now, before the last
    // messages.
    for body in ["b1", "b2", "b3", "b4"] {
        assert_eq!(count(&alice, body), 1, "{body}: {:#?}", alice.seen());
    }
    for body in ["a1", "a2", "a3", "a4"] {
        assert_eq!(count(&bob, body), 1, "{body}: {:#?}", bob.seen());
    }
    let bound = alice
        .seen()
        .iter()
        .filter(|l| l.starts_with("online as"))
        .count();
    assert_eq!(
        bound,
        1,
        "bound again instead of resuming: {:#?}",
        alice.seen()
    );
    alice.quit();
    bob.quit();
    assert!(
        p.log().contains("resum"),
        "Prosody's log says nothing of the resumption"
    );
}
