//! Federation with a real Prosody (Debian's `prosody`) by Server Dialback,
//! both directions, plaintext and over STARTTLS: Prosody serves the
//! IP-literal domain 127.0.0.11, the `server` example (this crate's s2s
//! machines) serves 127.0.0.12, each on port 5269 of its own loopback
//! address, so no DNS is involved.
//!
//! A slixmpp client on Prosody and the `client` example on our server
//! exchange messages both ways: each server verifies the other's key by
//! dialback over its own outgoing stream.
//!
//! Over the plaintext pair, a presence client on each server (the
//! `client` example in `--presence` mode) subscribe to each other across
//! the federation: subscription stanzas from Prosody go through our
//! server's presence logic.
//!
//! Both variants run in one test: the two servers need the same fixed
//! addresses.

#[path = "common/presence_peer.rs"]
mod presence_peer;
#[path = "common/process.rs"]
mod process;
#[path = "common/prosody.rs"]
mod prosody;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use process::{Running, example, python, script};
use prosody::Prosody;

const PROSODY_DOMAIN: &str = "127.0.0.11";
const OUR_DOMAIN: &str = "127.0.0.12";

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Our server: the `server` example on 127.0.0.12.
fn our_server(tls: bool) -> (Running, u16) {
    let port = free_port(OUR_DOMAIN);
    let mut cmd = Command::new(example("server"));
    cmd.args([
        "--listen",
        &format!("{OUR_DOMAIN}:{port}"),
        "--domain",
        OUR_DOMAIN,
    ]);
    cmd.args(["--user", "romeo:orchard-pw"]);
    cmd.args(["--s2s-listen", &format!("{OUR_DOMAIN}:5269")]);
    cmd.args(["--s2s-tls", if tls { "required" } else { "none" }]);
    cmd.args(["--dialback-secret", "our dialback secret"]);
    let mut s = Running::spawn(cmd);
    s.expect("listening on", Duration::from_secs(10))
        .unwrap_or_else(|out| panic!("our server did not start:\n{out}"));
    (s, port)
}

fn our_client(port: u16, extra: &[&str]) -> Running {
    let mut cmd = Command::new(example("client"));
    cmd.args([
        "--jid",
        &format!("romeo@{OUR_DOMAIN}"),
        "--password",
        "orchard-pw",
    ]);
    cmd.args([
        "--server",
        &format!("{OUR_DOMAIN}:{port}"),
        "--insecure-tls",
    ]);
    cmd.args(extra);
    Running::spawn(cmd)
}

fn slixmpp(p: &Prosody, extra: &[&str]) -> Running {
    let mut cmd = Command::new(python());
    cmd.arg(script("slixmpp_chat.py"));
    cmd.args([
        "--jid",
        &format!("alice@{PROSODY_DOMAIN}"),
        "--password",
        "wonderland-pw",
    ]);
    cmd.args(["--host", PROSODY_DOMAIN, "--port", &p.c2s.to_string()]);
    cmd.args(extra);
    Running::spawn(cmd)
}

#[test]
fn federates_with_prosody_both_ways_plaintext_and_over_tls() {
    if !prosody::require("prosody") {
        return;
    }
    for tls in [false, true] {
        let Some(p) = Prosody::start_federating(PROSODY_DOMAIN, tls) else {
            return;
        };
        p.register_on(PROSODY_DOMAIN, "alice", "wonderland-pw");
        let (mut server, port) = our_server(tls);

        // Our client to slixmpp on Prosody and back: our outgoing stream
        // to Prosody, Prosody's to us.
        let mut alice = slixmpp(&p, &["--echo", "--expect", "0", "--timeout", "60"]);
        alice
            .expect("online", Duration::from_secs(20))
            .unwrap_or_else(|out| panic!("slixmpp did not log in:\n{out}\n{}", p.log()));
        let mut romeo = our_client(
            port,
            &[
                "--to",
                &format!("alice@{PROSODY_DOMAIN}"),
                "--message",
                "Wherefore art thou?",
                "--receive",
                "1",
            ],
        );
        let status = romeo.wait(Duration::from_secs(40));
        let out = romeo.output();
        assert!(
            status.is_some_and(|s| s.success()),
            "tls={tls}: romeo: {out}\nour server: {}\nprosody: {}",
            server.output(),
            p.log()
        );
        assert!(
            out.contains(&format!("message from alice@{PROSODY_DOMAIN}/"))
                && out.contains(": echo: Wherefore art thou?"),
            "{out}"
        );
        drop(alice);

        // Slixmpp on Prosody to our client and back, on the streams both
        // servers now hold.
        let mut romeo = our_client(port, &["--echo", "--receive", "1"]);
        romeo
            .expect("online as", Duration::from_secs(10))
            .unwrap_or_else(|out| panic!("{out}"));
        let mut alice = slixmpp(
            &p,
            &[
                "--to",
                &format!("romeo@{OUR_DOMAIN}"),
                "--message",
                "It is my lady",
                "--expect",
                "1",
                "--timeout",
                "40",
            ],
        );
        let status = alice.wait(Duration::from_secs(45));
        let out = alice.output();
        assert!(
            status.is_some_and(|s| s.success()),
            "tls={tls}: alice: {out}\nour server: {}\nprosody: {}",
            server.output(),
            p.log()
        );
        assert!(out.contains("echo: It is my lady"), "{out}");

        // Dialback was what authenticated each direction.
        let ours = server.output();
        assert!(
            ours.contains(&format!("s2s: {OUR_DOMAIN} -> {PROSODY_DOMAIN}: Valid")),
            "{ours}"
        );
        assert!(
            ours.contains(&format!(
                "s2s: accepted {PROSODY_DOMAIN} -> {OUR_DOMAIN}: Valid"
            )),
            "{ours}"
        );
        if !tls {
            presence_across(&p, port);
        }
        let log = p.log();
        assert!(log.contains("dialback"), "{log}");
        if tls {
            assert!(
                log.contains("starttls") || log.contains("STARTTLS") || log.contains("TLS"),
                "{log}"
            );
        }
    }
}

/// Romeo on our server and Alice on Prosody subscribe to each other and
/// see each other's presence (RFC 6121 §3, §4) across the federation.
fn presence_across(p: &Prosody, port: u16) {
    let presence_client = |user: &'static str, password: &str, domain: &str, addr: String| {
        let mut c = Command::new(example("client"));
        c.args(["--jid", &format!("{user}@{domain}"), "--password", password])
            .args(["--server", &addr, "--insecure-tls", "--presence"]);
        presence_peer::Client::start(c, user, domain)
    };
    let alice_jid = format!("alice@{PROSODY_DOMAIN}");
    let romeo_jid = format!("romeo@{OUR_DOMAIN}");
    let mut alice = presence_client(
        "alice",
        "wonderland-pw",
        PROSODY_DOMAIN,
        format!("{PROSODY_DOMAIN}:{}", p.c2s),
    );
    let mut romeo = presence_client(
        "romeo",
        "orchard-pw",
        OUR_DOMAIN,
        format!("{OUR_DOMAIN}:{port}"),
    );
    romeo.send(&format!("subscribe {alice_jid}"));
    romeo.expect(&format!("roster {alice_jid} none ask"));
    alice.expect(&format!("request {romeo_jid} subscribe"));
    alice.send(&format!("subscribed {romeo_jid}"));
    romeo.expect(&format!("request {alice_jid} subscribed"));
    romeo.expect(&format!("roster {alice_jid} to"));
    romeo.expect(&format!("presence {alice_jid} online"));
    // Back: Prosody's request goes through our server's machine.
    alice.send(&format!("subscribe {romeo_jid}"));
    romeo.expect(&format!("request {alice_jid} subscribe"));
    romeo.send(&format!("subscribed {alice_jid}"));
    romeo.expect(&format!("roster {alice_jid} both"));
    alice.expect(&format!("roster {romeo_jid} both"));
    alice.expect(&format!("presence {romeo_jid} online"));
    romeo.send("show away");
    alice.expect(&format!("presence {romeo_jid} away"));
    romeo.quit();
    alice.expect(&format!("presence {romeo_jid} offline"));
    alice.quit();
}
