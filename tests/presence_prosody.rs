//! Presence and subscriptions (RFC 6121) through a real Prosody: two of
//! our clients (the `client` example in `--presence` mode, which keeps
//! its view with `presence::client::Presences`) subscribe to each other,
//! and each one's view of the other follows what Prosody delivers: roster
//! pushes, availability, away, back online, offline on disconnect.

#[path = "common/prosody.rs"]
mod prosody;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use prosody::{DOMAIN, Options, Prosody};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("examples").join(name);
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

/// One presence client: commands in, printed lines out.
struct Client {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Client {
    fn start(p: &Prosody, user: &'static str, password: &str) -> Client {
        let mut child = Command::new(example("client"))
            .args(["--jid", &format!("{user}@{DOMAIN}"), "--password", password])
            .args([
                "--server",
                &format!("127.0.0.1:{}", p.c2s),
                "--insecure-tls",
            ])
            .arg("--presence")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the client example");
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
        c.expect(&format!("online as {user}@{DOMAIN}/"));
        c
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a line starting with `prefix`; fails after 15 s.
    fn expect(&mut self, prefix: &str) -> String {
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
    fn expect_all(&mut self, prefixes: &[&str]) {
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

    fn quit(mut self) {
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

#[test]
fn mutual_subscription_and_presence_views_through_prosody() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("alice", "alice-pw");
    p.register("bob", "bob-pw");
    let alice_jid = format!("alice@{DOMAIN}");
    let bob_jid = format!("bob@{DOMAIN}");
    let mut alice = Client::start(&p, "alice", "alice-pw");
    let mut bob = Client::start(&p, "bob", "bob-pw");

    // Alice asks; Prosody pushes her roster item with ask (§3.1.2) and
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

    // Bob disconnects: Prosody sends unavailable on his behalf (§4.5.2).
    bob.quit();
    alice.expect(&format!("presence {bob_jid} offline"));

    // Bob back: his initial presence reaches Alice, and Prosody answers
    // his probe with hers (§4.2, §4.3).
    let mut bob = Client::start(&p, "bob", "bob-pw");
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
