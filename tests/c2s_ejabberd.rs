//! Our client against a real ejabberd 23.01 (Debian's `ejabberd`), through
//! the blocking `client` example: STARTTLS over TLS 1.3, login, a message
//! to itself, a wrong password.
//!
//! ejabberd before 24.02 offers SCRAM-SHA-*-PLUS without an XEP-0440
//! channel-binding list and accepts only `p=tls-unique`, which a rustls
//! client cannot supply (and which RFC 9266 leaves undefined on TLS 1.3).
//! The client's first attempt, SCRAM-SHA-512-PLUS with tls-exporter, is
//! refused before any challenge; it retries once with SCRAM-SHA-512 and
//! `y` on the same stream, and logs in.
//!
//! One node serves every case, since starting one takes seconds.

#[path = "common/ejabberd.rs"]
mod ejabberd;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use ejabberd::{DOMAIN, Ejabberd};

fn client(server: &Ejabberd, user: &str, password: &str, extra: &[&str]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let bin: PathBuf = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/client");
    assert!(bin.exists(), "{} not built", bin.display());
    Command::new(bin)
        .args(["--jid", &format!("{user}@{DOMAIN}"), "--password", password])
        .args([
            "--server",
            &format!("127.0.0.1:{}", server.c2s),
            "--insecure-tls",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run the client example")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn login_over_tls13_message_to_itself_and_wrong_password() {
    let Some(server) = Ejabberd::start() else {
        return;
    };
    server.register("alice", "wonderland-pw");

    // STARTTLS (TLS 1.3 is rustls' and ejabberd's first choice), the
    // -PLUS attempt, the retry, binding, and a chat message that comes
    // back to the sending session.
    let me = format!("alice@{DOMAIN}");
    let text = "Curiouser and curiouser! ☺ <&>";
    let o = client(
        &server,
        "alice",
        "wonderland-pw",
        &[
            "--to",
            &me,
            "--message",
            text,
            "--receive",
            "1",
            "--verbose",
        ],
    );
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        server.log()
    );
    assert!(
        out.contains(&format!("authenticated as {me} with SCRAM-SHA-512\n")),
        "{out}"
    );
    assert!(out.contains(&format!("online as {me}/")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("message from {me}/")) && l.ends_with(text)),
        "{out}"
    );

    // A wrong password: the retry is refused too, after a challenge, and
    // that is final.
    let o = client(&server, "alice", "looking-glass", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("error: authentication failed: not-authorized"),
        "{out}"
    );

    // A host that names one mechanism gets exactly that one.
    let o = client(
        &server,
        "alice",
        "wonderland-pw",
        &["--mechanism", "SCRAM-SHA-256", "--verbose"],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("with SCRAM-SHA-256\n"), "{out}");
}
