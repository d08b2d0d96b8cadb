//! Presence and subscriptions on a server built on the crate's presence
//! logic (the `server` example: `presence::{roster, subscription,
//! server}`), with slixmpp clients (PyPI) that keep their own view of
//! their contacts from slixmpp's events: the same flow as through
//! Prosody.
//!
//! The interpreter is `$XMPP_SANSIO_PYTHON` (default: the venv `tests/all.sh` sets up); without
//! slixmpp the test is skipped with a notice, except under `CI=true`.

#[path = "common/presence_peer.rs"]
mod presence_peer;
#[path = "common/process.rs"]
mod process;

use std::process::{Command, Stdio};
use std::time::Duration;

use presence_peer::{Client, mutual_subscription_flow};
use process::{Running, example, script, slixmpp_python};

const DOMAIN: &str = "example.test";

/// The `server` example with four accounts; its c2s port.
fn start_server() -> (Running, u16) {
    let mut cmd = Command::new(example("server"));
    cmd.args(["--listen", "127.0.0.1:0", "--domain", DOMAIN])
        .args(["--user", "alice:alice-pw", "--user", "bob:bob-pw"])
        .args(["--user", "carol:carol-pw", "--user", "dave:dave-pw"]);
    let mut server = Running::spawn(cmd);
    let line = server
        .expect("listening on", Duration::from_secs(10))
        .unwrap_or_else(|out| panic!("the server did not start:\n{out}"));
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    (server, port)
}

/// A slixmpp presence client for `user` (password `USER-pw`).
fn slixmpp(python: &str, port: u16, user: &'static str) -> Client {
    let mut c = Command::new(python);
    c.arg(script("slixmpp_presence.py"))
        .args([
            "--jid",
            &format!("{user}@{DOMAIN}"),
            "--password",
            &format!("{user}-pw"),
        ])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stderr(Stdio::null());
    Client::start(c, user, DOMAIN)
}

#[test]
fn slixmpp_clients_subscribe_and_see_presence_on_our_server() {
    let Some(python) = slixmpp_python() else {
        return;
    };
    let (_server, port) = start_server();
    mutual_subscription_flow(DOMAIN, &|user| slixmpp(&python, port, user));
}

#[test]
fn pre_approval_answers_for_the_user() {
    let Some(python) = slixmpp_python() else {
        return;
    };
    let (_server, port) = start_server();
    let start = |user: &'static str| slixmpp(&python, port, user);
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
