//! Presence and subscriptions on a server built on the crate's presence
//! logic (the `server` example: `presence::{roster, subscription,
//! server}`), with slixmpp clients (PyPI) that keep their own view of
//! their contacts from slixmpp's events: the same flow as through
//! Prosody.
//!
//! The interpreter is `$XMPP_SANSIO_PYTHON` (default `python3`); without
//! slixmpp the test is skipped with a notice, except under `CI=true`.

#[path = "common/presence_peer.rs"]
mod presence_peer;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use presence_peer::{Client, mutual_subscription_flow};

const DOMAIN: &str = "example.test";

fn python() -> Option<String> {
    let python = std::env::var("XMPP_SANSIO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python)
        .args(["-c", "import slixmpp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("slixmpp is not importable with {python}: run tests/all.sh, which installs it");
    }
    eprintln!("skipping: slixmpp is not installed (tests/all.sh installs it)");
    None
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Server {
    let exe = std::env::current_exe().unwrap();
    let bin: PathBuf = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("server");
    let mut child = Command::new(&bin)
        .args(["--listen", "127.0.0.1:0", "--domain", DOMAIN])
        .args(["--user", "alice:alice-pw", "--user", "bob:bob-pw"])
        .args(["--user", "carol:carol-pw", "--user", "dave:dave-pw"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    Server(child, port)
}

#[test]
fn slixmpp_clients_subscribe_and_see_presence_on_our_server() {
    let Some(python) = python() else { return };
    let server = start_server();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/slixmpp_presence.py"
    );
    let start = |user: &'static str| {
        let mut c = Command::new(&python);
        c.arg(script)
            .args([
                "--jid",
                &format!("{user}@{DOMAIN}"),
                "--password",
                &format!("{user}-pw"),
            ])
            .args(["--host", "127.0.0.1", "--port", &server.1.to_string()])
            .stderr(Stdio::null());
        Client::start(c, user, DOMAIN)
    };
    mutual_subscription_flow(DOMAIN, &start);
}

#[test]
fn pre_approval_answers_for_the_user() {
    let Some(python) = python() else { return };
    let server = start_server();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/slixmpp_presence.py"
    );
    let start = |user: &'static str| {
        let mut c = Command::new(&python);
        c.arg(script)
            .args([
                "--jid",
                &format!("{user}@{DOMAIN}"),
                "--password",
                &format!("{user}-pw"),
            ])
            .args(["--host", "127.0.0.1", "--port", &server.1.to_string()])
            .stderr(Stdio::null());
        Client::start(c, user, DOMAIN)
    };
    let mut carol = start("carol");
    let mut dave = start("dave");
    // RFC 6121 §3.4: Carol approves Dave before he asks; her server
    // creates the item and routes nothing.
    carol.send(&format!("subscribed dave@{DOMAIN}"));
    carol.expect(&format!("roster dave@{DOMAIN} none"));
    // Dave asks: Carol's server answers for her, and her presence follows.
    dave.send(&format!("subscribe carol@{DOMAIN}"));
    dave.expect(&format!("roster carol@{DOMAIN} none ask"));
    dave.expect(&format!("request carol@{DOMAIN} subscribed"));
    dave.expect(&format!("roster carol@{DOMAIN} to"));
    dave.expect(&format!("presence carol@{DOMAIN} online"));
    carol.expect(&format!("roster dave@{DOMAIN} from"));
    // The request never reached her (§3.4.2).
    assert!(!carol.saw(&format!("request dave@{DOMAIN} subscribe")));
    carol.quit();
    dave.quit();
}
