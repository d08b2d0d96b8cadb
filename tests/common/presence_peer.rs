//! A presence client driven line by line (the `client` example in
//! `--presence` mode, or `tests/interop/slixmpp_presence.py`), and the
//! mutual-subscription flow both presence interop tests run.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// One presence client: commands in, printed lines out.
pub struct Client {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Client {
    /// Starts `command` and waits for `online as USER@DOMAIN/`.
    pub fn start(mut command: Command, user: &'static str, domain: &str) -> Client {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the presence client");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut c = Client {
            name: user,
            child,
            stdin,
            lines,
            seen: Vec::new(),
        };
        c.expect(&format!("online as {user}@{domain}/"));
        c
    }

    pub fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a line starting with `prefix`; fails after 15 s.
    pub fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    assert!(!line.starts_with("error:"), "{}: {line}", self.name);
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{}: no line starting with {prefix:?}; saw {:#?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// Waits for lines starting with each prefix, in any order.
    #[allow(dead_code)] // Not every test binary asks.
    pub fn expect_all(&mut self, prefixes: &[&str]) {
        let mut left: Vec<&str> = prefixes.to_vec();
        let deadline = Instant::now() + Duration::from_secs(15);
        while !left.is_empty() {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(wait) else {
                panic!(
                    "{}: still waiting for {left:?}; saw {:#?}",
                    self.name, self.seen
                );
            };
            self.seen.push(line.clone());
            assert!(!line.starts_with("error:"), "{}: {line}", self.name);
            left.retain(|p| !line.starts_with(p));
        }
    }

    /// Waits for a line ending with `suffix`; fails after 15 s.
    #[allow(dead_code)] // Not every test binary asks.
    pub fn expect_ending(&mut self, suffix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    assert!(!line.starts_with("error:"), "{}: {line}", self.name);
                    if line.ends_with(suffix) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{}: no line ending with {suffix:?}; saw {:#?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// Every line seen so far.
    #[allow(dead_code)] // Not every test binary asks.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Whether a line starting with `prefix` has been seen so far.
    #[allow(dead_code)] // Not every test binary asks.
    pub fn saw(&self, prefix: &str) -> bool {
        self.seen.iter().any(|l| l.starts_with(prefix))
    }

    pub fn quit(mut self) {
        self.send("quit");
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{}: exit {status}; saw {:#?}",
                    self.name,
                    self.seen
                );
                return;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Alice and Bob subscribe to each other and watch each other's
/// presence: away and back, offline on disconnect, online again with
/// probes answered, and a cancelled subscription. `start` logs a user in
/// (password `USER-pw`).
#[allow(dead_code)] // Not every test binary runs it.
pub fn mutual_subscription_flow(domain: &str, start: &dyn Fn(&'static str) -> Client) {
    let alice_jid = format!("alice@{domain}");
    let bob_jid = format!("bob@{domain}");
    let mut alice = start("alice");
    let mut bob = start("bob");

    // Alice asks; her server pushes her roster item with ask (§3.1.2) and
    // delivers the request to Bob (§3.1.3).
    alice.send(&format!("subscribe {bob_jid}"));
    alice.expect(&format!("roster {bob_jid} none ask"));
    bob.expect(&format!("request {alice_jid} subscribe"));

    // Bob approves (§3.1.5) and asks back.
    bob.send(&format!("subscribed {alice_jid}"));
    bob.expect(&format!("roster {alice_jid} from"));
    alice.expect(&format!("request {bob_jid} subscribed"));
    alice.expect(&format!("roster {bob_jid} to"));
    // Bob's current presence follows the approval (§3.1.5, §3.1.6).
    alice.expect(&format!("presence {bob_jid} online"));
    bob.send(&format!("subscribe {alice_jid}"));
    alice.expect(&format!("request {bob_jid} subscribe"));
    alice.send(&format!("subscribed {bob_jid}"));
    alice.expect(&format!("roster {bob_jid} both"));
    bob.expect(&format!("roster {alice_jid} both"));
    bob.expect(&format!("presence {alice_jid} online"));

    // Away and back (§4.4).
    alice.send("show away at lunch");
    bob.expect(&format!("presence {alice_jid} away"));
    alice.send("show online");
    bob.expect(&format!("presence {alice_jid} online"));
    bob.send("show dnd");
    alice.expect(&format!("presence {bob_jid} dnd"));

    // Bob disconnects: his server sends unavailable on his behalf (§4.5.2).
    bob.quit();
    alice.expect(&format!("presence {bob_jid} offline"));

    // Bob back: his initial presence reaches Alice, and her server answers
    // his probe with hers (§4.2, §4.3).
    let mut bob = start("bob");
    bob.expect(&format!("roster {alice_jid} both"));
    bob.expect(&format!("presence {alice_jid} online"));
    alice.expect(&format!("presence {bob_jid} online"));

    // Alice cancels Bob's subscription to her (§3.2): her roster says
    // "to", his "from", and he sees her go offline. (§3.2.2 has her
    // server send the unavailable before the cancellation; Prosody sends
    // it after, so the order is not checked.)
    alice.send(&format!("unsubscribed {bob_jid}"));
    alice.expect(&format!("roster {bob_jid} to"));
    bob.expect_all(&[
        &format!("request {alice_jid} unsubscribed"),
        &format!("presence {alice_jid} offline"),
        &format!("roster {alice_jid} from"),
    ]);
    alice.quit();
    bob.quit();
}
