//! The component protocol (XEP-0114) against software we did not write:
//!
//! * our component (the `gateway` example) on Prosody's component port,
//!   relaying between a slixmpp client on Prosody and IRC users on ngircd,
//!   both ways, with presence; a wrong secret refused;
//! * our accepting side (the `server` example's component port) with
//!   slixmpp's `ComponentXMPP`, and with hostile raw components.

// Both peer harnesses bring their own copy of `common/peer.rs`.
#![allow(clippy::duplicate_mod)]

#[path = "common/ngircd.rs"]
mod ngircd;
#[path = "common/process.rs"]
mod process;
#[path = "common/prosody.rs"]
mod prosody;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use ngircd::Ngircd;
use process::{Running, example, python, script};
use prosody::{DOMAIN, Prosody};

const GATEWAY: &str = "gw.example.test";
const SECRET: &str = "gateway-secret";

fn gateway(component_port: u16, secret: &str, irc_port: u16) -> Running {
    let mut cmd = Command::new(example("gateway"));
    cmd.args(["--component", GATEWAY, "--secret", secret]);
    cmd.args(["--server", &format!("127.0.0.1:{component_port}")]);
    cmd.args(["--irc", &format!("127.0.0.1:{irc_port}")]);
    Running::spawn(cmd)
}

fn irc(port: u16, nick: &str, extra: &[&str]) -> Running {
    let mut cmd = Command::new("python3");
    cmd.arg(script("irc_client.py"));
    cmd.args([
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--nick",
        nick,
    ]);
    cmd.args(extra);
    Running::spawn(cmd)
}

fn slixmpp_client(p: &Prosody, user: &str, extra: &[&str]) -> Running {
    let mut cmd = Command::new(python());
    cmd.arg(script("slixmpp_chat.py"));
    cmd.args(["--jid", &format!("{user}@{DOMAIN}"), "--password", "pw"]);
    cmd.args(["--host", "127.0.0.1", "--port", &p.c2s.to_string()]);
    cmd.args(extra);
    Running::spawn(cmd)
}

#[test]
fn the_gateway_carries_messages_and_presence_between_xmpp_and_irc() {
    let Some(p) = Prosody::start_with_component(GATEWAY, SECRET) else {
        return;
    };
    let Some(irc_server) = Ngircd::start() else {
        return;
    };
    p.register("alice", "pw");
    let component_port = p.component.expect("component port");

    // A wrong secret is refused by Prosody.
    let mut wrong = gateway(component_port, "not the secret", irc_server.port);
    let status = wrong.wait(Duration::from_secs(10));
    let out = wrong.output();
    assert!(status.is_some_and(|s| !s.success()), "{out}");
    assert!(out.contains("not-authorized"), "{out}");

    let mut gw = gateway(component_port, SECRET, irc_server.port);
    gw.expect(&format!("online as {GATEWAY}"), Duration::from_secs(10))
        .unwrap_or_else(|out| panic!("gateway: {out}\n{}", p.log()));

    // Bob on IRC answers every private message.
    let mut bob = irc(
        irc_server.port,
        "bob",
        &["--echo", "--expect", "1", "--timeout", "40"],
    );
    bob.expect("registered", Duration::from_secs(10))
        .unwrap_or_else(|out| panic!("bob: {out}"));

    // Alice on Prosody writes to bob@gw: XMPP -> IRC, and bob's echo
    // IRC -> XMPP; then Carol on IRC writes to alice's nick.
    let mut alice = slixmpp_client(
        &p,
        "alice",
        &[
            "--to",
            &format!("bob@{GATEWAY}"),
            "--message",
            "hello from xmpp",
            "--expect",
            "2",
            "--timeout",
            "40",
        ],
    );
    gw.expect(
        &format!("IRC: alice@{DOMAIN} is alice"),
        Duration::from_secs(20),
    )
    .unwrap_or_else(|out| panic!("gateway: {out}\nalice: {}", alice.output()));
    bob.expect(
        "privmsg from alice: hello from xmpp",
        Duration::from_secs(20),
    )
    .unwrap_or_else(|out| panic!("bob: {out}\ngateway: {}", gw.output()));
    let mut carol = irc(
        irc_server.port,
        "carol",
        &[
            "--say",
            "alice",
            "hello from irc",
            "--expect",
            "0",
            "--timeout",
            "20",
        ],
    );
    let status = alice.wait(Duration::from_secs(40));
    let out = alice.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "alice: {out}\ngateway: {}\ncarol: {}\nbob: {}",
        gw.output(),
        carol.output(),
        bob.output()
    );
    assert!(
        out.contains(&format!(
            "received from bob@{GATEWAY}: echo: hello from xmpp"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("received from carol@{GATEWAY}: hello from irc")),
        "{out}"
    );
    // Bob's presence on IRC reached alice as XMPP presence.
    assert!(
        p.wait_log(&format!("from='bob@{GATEWAY}'"), Duration::from_secs(10))
            && p.log()
                .lines()
                .any(|l| l.contains("<presence") && l.contains(&format!("bob@{GATEWAY}"))),
        "{}",
        p.log()
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `server` example with a component port for gw.example.test.
fn our_server() -> (Running, u16, u16) {
    let (c2s, components) = (free_port(), free_port());
    let mut cmd = Command::new(example("server"));
    cmd.args(["--listen", &format!("127.0.0.1:{c2s}"), "--domain", DOMAIN]);
    cmd.args(["--user", "juliet:balcony-pw"]);
    cmd.args(["--component-listen", &format!("127.0.0.1:{components}")]);
    cmd.args(["--component", &format!("{GATEWAY}:{SECRET}")]);
    let mut s = Running::spawn(cmd);
    s.expect("listening on 127.0.0.1", Duration::from_secs(10))
        .unwrap_or_else(|out| panic!("{out}"));
    (s, c2s, components)
}

#[test]
fn slixmpp_component_attaches_to_our_server() {
    if !prosody::require("python3") {
        return;
    }
    let (mut server, c2s, components) = our_server();
    let mut component = Running::spawn({
        let mut cmd = Command::new(python());
        cmd.arg(script("slixmpp_component.py"));
        cmd.args(["--jid", GATEWAY, "--secret", SECRET]);
        cmd.args(["--host", "127.0.0.1", "--port", &components.to_string()]);
        cmd.args(["--echo", "--expect", "1", "--timeout", "30"]);
        cmd
    });
    component
        .expect("online", Duration::from_secs(15))
        .unwrap_or_else(|out| panic!("component: {out}\nserver: {}", server.output()));
    let mut juliet = Running::spawn({
        let mut cmd = Command::new(example("client"));
        cmd.args([
            "--jid",
            &format!("juliet@{DOMAIN}"),
            "--password",
            "balcony-pw",
        ]);
        cmd.args(["--server", &format!("127.0.0.1:{c2s}"), "--insecure-tls"]);
        cmd.args([
            "--to",
            &format!("someone@{GATEWAY}"),
            "--message",
            "ping the gateway",
        ]);
        cmd.args(["--receive", "1"]);
        cmd
    });
    let status = juliet.wait(Duration::from_secs(20));
    let out = juliet.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "juliet: {out}\ncomponent: {}\nserver: {}",
        component.output(),
        server.output()
    );
    assert!(
        out.contains(&format!("message from someone@{GATEWAY}"))
            && out.contains("echo: ping the gateway"),
        "{out}"
    );
    assert!(
        component
            .wait(Duration::from_secs(10))
            .is_some_and(|s| s.success())
    );
}

/// Raw component bytes against our server's component port; what it
/// answered before closing.
fn raw(port: u16, input: &[u8]) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(
        format!(
            "<stream:stream xmlns='jabber:component:accept' \
             xmlns:stream='http://etherx.jabber.org/streams' to='{GATEWAY}'>"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // The header first, to learn the stream id.
    let n = tcp.read(&mut buf).unwrap();
    got.extend_from_slice(&buf[..n]);
    let header = String::from_utf8_lossy(&got).into_owned();
    let id = header
        .split("id='")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    let input = String::from_utf8_lossy(input)
        .replace("GOOD", &xmpp_sansio::component::handshake(&id, SECRET));
    tcp.write_all(input.as_bytes()).unwrap();
    while let Ok(n) = tcp.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn hostile_components_are_refused_by_our_server() {
    let (_server, _c2s, components) = our_server();
    let cases = [
        ("<handshake>0000</handshake>", "not-authorized"),
        (
            "<message from='gw.example.test' to='juliet@example.test'/>",
            "not-authorized",
        ),
        (
            "<handshake>GOOD</handshake><message from='admin@example.test' to='juliet@example.test'/>",
            "invalid-from",
        ),
        (
            "<handshake>GOOD</handshake><message from='bot.gw.example.test' to='juliet@example.test'/>",
            "invalid-from",
        ),
        (
            "<handshake>GOOD</handshake><message to='juliet@example.test'/>",
            "improper-addressing",
        ),
    ];
    for (input, condition) in cases {
        let got = raw(components, input.as_bytes());
        assert!(
            got.contains(&format!(
                "<{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            )),
            "{input}: {got}"
        );
        assert!(got.ends_with("</stream:stream>"), "{input}: {got}");
    }
}
