//! Presence and subscriptions (RFC 6121) through a real Prosody: two of
//! our clients (the `client` example in `--presence` mode, which keeps
//! its view with `presence::client::Presences`) subscribe to each other,
//! and each one's view of the other follows what Prosody delivers: roster
//! pushes, availability, away, back online, offline on disconnect.

#[path = "common/presence_peer.rs"]
mod presence_peer;
#[path = "common/process.rs"]
mod process;
#[path = "common/prosody.rs"]
mod prosody;

use std::process::Command;

use presence_peer::{Client, mutual_subscription_flow};
use process::example;
use prosody::{DOMAIN, Options, Prosody};

#[test]
fn mutual_subscription_and_presence_views_through_prosody() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("alice", "alice-pw");
    p.register("bob", "bob-pw");
    let start = |user: &'static str| {
        let mut c = Command::new(example("client"));
        c.args([
            "--jid",
            &format!("{user}@{DOMAIN}"),
            "--password",
            &format!("{user}-pw"),
        ])
        .args([
            "--server",
            &format!("127.0.0.1:{}", p.c2s),
            "--insecure-tls",
        ])
        .arg("--presence");
        Client::start(c, user, DOMAIN)
    };
    mutual_subscription_flow(DOMAIN, &start);
}
