//! Our client against a real Prosody (Debian's `prosody`), through the
//! blocking `client` example: STARTTLS with rustls, SCRAM-SHA-1,
//! SCRAM-SHA-256, PLAIN, direct TLS with SNI and ALPN, a message from one
//! account to another, the -PLUS fallback on TLS 1.2, a wrong password.

#[path = "common/dns.rs"]
mod dns;
#[path = "common/prosody.rs"]
mod prosody;

use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

use prosody::{DOMAIN, Options, Prosody};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("examples").join(name);
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

fn client(server: &Prosody, port: u16, user: &str, password: &str, extra: &[&str]) -> Command {
    example_command("client", server, port, user, password, extra)
}

fn example_command(
    name: &str,
    server: &Prosody,
    port: u16,
    user: &str,
    password: &str,
    extra: &[&str],
) -> Command {
    let mut c = Command::new(example(name));
    c.args(["--jid", &format!("{user}@{DOMAIN}"), "--password", password]);
    c.args(["--server", &format!("127.0.0.1:{port}"), "--insecure-tls"]);
    c.args(extra);
    let _ = server;
    c
}

fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .expect("run the client example")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn starttls_each_mechanism_and_tls12_plus_fallback() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("juliet", "balcony-pw");
    for mech in ["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"] {
        let o = run(client(
            &p,
            p.c2s,
            "juliet",
            "balcony-pw",
            &["--mechanism", mech, "--verbose"],
        ));
        let out = stdout(&o);
        assert!(o.status.success(), "{mech}: {out}\n{}", p.log());
        assert!(
            out.contains(&format!("authenticated as juliet@{DOMAIN} with {mech}\n")),
            "{mech}: {out}"
        );
        assert!(
            out.contains(&format!("online as juliet@{DOMAIN}/")),
            "{mech}: {out}"
        );
    }
    // Default preference over TLS 1.3: the strongest SCRAM Prosody has.
    let o = run(client(&p, p.c2s, "juliet", "balcony-pw", &["--verbose"]));
    assert!(
        stdout(&o).contains("with SCRAM-SHA-256\n"),
        "{}",
        stdout(&o)
    );
    // Over TLS 1.2 Prosody 0.12 offers SCRAM-*-PLUS with tls-unique, which
    // rustls cannot supply: the client must fall back to plain SCRAM.
    let o = run(client(
        &p,
        p.c2s,
        "juliet",
        "balcony-pw",
        &["--tls12", "--verbose"],
    ));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("with SCRAM-SHA-256\n"), "{out}");
    let log = p.log();
    assert!(
        log.contains("SCRAM-SHA-256-PLUS"),
        "Prosody did not offer -PLUS over TLS 1.2:\n{log}"
    );
}

#[test]
fn direct_tls_with_sni_and_alpn() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("juliet", "balcony-pw");
    let o = run(client(
        &p,
        p.direct_tls,
        "juliet",
        "balcony-pw",
        &["--direct-tls", "--verbose"],
    ));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", p.log());
    assert!(
        out.contains(&format!("online as juliet@{DOMAIN}/")),
        "{out}"
    );
}

#[test]
fn wrong_password_names_the_sasl_condition() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("juliet", "balcony-pw");
    let o = run(client(&p, p.c2s, "juliet", "wrong", &[]));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.starts_with("error: authentication failed: not-authorized"),
        "{out}"
    );
}

/// Starts Romeo waiting for one message; returns once he is online, with
/// the rest of his output.
fn romeo_receiving(p: &Prosody) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut romeo = client(p, p.c2s, "romeo", "orchard-pw", &["--receive", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // A watchdog, so that a lost message fails the test instead of hanging it.
    let pid = romeo.id();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let mut lines = BufReader::new(romeo.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with(&format!("online as romeo@{DOMAIN}/")),
        "{first}"
    );
    // Romeo has sent presence; give Prosody a moment to process it before
    // a message arrives.
    std::thread::sleep(Duration::from_millis(300));
    (romeo, lines)
}

#[test]
fn message_from_one_account_to_another() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("juliet", "balcony-pw");
    p.register("romeo", "orchard-pw");
    let (mut romeo, mut lines) = romeo_receiving(&p);
    let text = "Wherefore art thou, Romeo? ☺ <&>";
    let o = run(client(
        &p,
        p.c2s,
        "juliet",
        "balcony-pw",
        &["--to", &format!("romeo@{DOMAIN}"), "--message", text],
    ));
    assert!(o.status.success(), "{}", stdout(&o));
    let line = lines.next().unwrap().unwrap();
    assert!(
        line.starts_with(&format!("message from juliet@{DOMAIN}/"))
            && line.ends_with(&format!(": {text}")),
        "{line}"
    );
    assert!(romeo.wait().unwrap().success());
}

#[test]
fn tokio_example_sends_a_message() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("juliet", "balcony-pw");
    p.register("romeo", "orchard-pw");
    let (mut romeo, mut lines) = romeo_receiving(&p);
    let args = [
        "--to",
        &format!("romeo@{DOMAIN}"),
        "--message",
        "from tokio",
    ];
    let o = run(example_command(
        "tokio_client",
        &p,
        p.c2s,
        "juliet",
        "balcony-pw",
        &args,
    ));
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).starts_with(&format!("online as juliet@{DOMAIN}/")));
    let line = lines.next().unwrap().unwrap();
    assert!(line.ends_with(": from tokio"), "{line}");
    assert!(romeo.wait().unwrap().success());
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The client example without `--server`: it asks `dns` for the SRV
/// records of the domain.
fn via_srv(dns: &dns::Dns) -> Output {
    let mut c = Command::new(example("client"));
    c.args([
        "--jid",
        &format!("juliet@{DOMAIN}"),
        "--password",
        "balcony-pw",
    ])
    .args([
        "--dns",
        &dns.addr.to_string(),
        "--insecure-tls",
        "--verbose",
    ]);
    run(c)
}

#[test]
fn srv_candidates_are_tried_in_order_direct_tls_and_starttls_merged() {
    let Some(p) = Prosody::start(Options::default()) else {
        return;
    };
    p.register("juliet", "balcony-pw");
    let xmpps = format!("_xmpps-client._tcp.{DOMAIN}.");
    let xmpp = format!("_xmpp-client._tcp.{DOMAIN}.");

    // XEP-0368: one list by priority. The direct-TLS record comes first
    // but nothing listens there; the STARTTLS one is next.
    let dead = closed_port();
    let dns = dns::Dns::start(vec![
        (xmpps.clone(), vec![(0, 0, dead, "localhost.")]),
        (xmpp.clone(), vec![(10, 0, p.c2s, "localhost.")]),
    ]);
    let o = via_srv(&dns);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    let tried: Vec<&str> = out.lines().filter(|l| l.starts_with("trying ")).collect();
    assert_eq!(
        tried,
        [
            format!("trying localhost:{dead} (direct TLS)"),
            format!("trying localhost:{} (STARTTLS)", p.c2s)
        ]
    );
    assert!(
        out.contains(&format!("online as juliet@{DOMAIN}/")),
        "{out}"
    );
    assert_eq!(*dns.asked.lock().unwrap(), [xmpps.clone(), xmpp.clone()]);

    // Direct TLS on the first record that answers: SNI is the domain (the
    // certificate is for it, not for "localhost"), ALPN xmpp-client.
    let dns = dns::Dns::start(vec![
        (xmpps.clone(), vec![(0, 0, p.direct_tls, "localhost.")]),
        (xmpp.clone(), vec![(10, 0, p.c2s, "localhost.")]),
    ]);
    let o = via_srv(&dns);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    let tried: Vec<&str> = out.lines().filter(|l| l.starts_with("trying ")).collect();
    assert_eq!(
        tried,
        [format!("trying localhost:{} (direct TLS)", p.direct_tls)]
    );

    // A lone "." on _xmpp-client with no direct-TLS records: the domain
    // does not offer the service (RFC 6120 §3.2.1), and nothing is tried.
    let dns = dns::Dns::start(vec![(xmpp.clone(), vec![(0, 0, 0, ".")])]);
    let o = via_srv(&dns);
    let out = stdout(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("error: example.test: the domain does not offer this service"),
        "{out}"
    );
    assert!(!out.contains("trying "), "{out}");

    // No SRV answer at all: the domain itself on 5222 (RFC 6120 §3.2.2).
    let dns = dns::Dns::start(Vec::new());
    let o = via_srv(&dns);
    let out = stdout(&o);
    let tried: Vec<&str> = out.lines().filter(|l| l.starts_with("trying ")).collect();
    assert_eq!(tried, [format!("trying {DOMAIN}:5222 (STARTTLS)")], "{out}");
}
