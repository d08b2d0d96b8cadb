//! A real client against a host built on `ServerStream`: slixmpp (PyPI)
//! connects to the `server` example, does STARTTLS and SCRAM (or PLAIN),
//! binds, sends a message to itself and gets it back.
//!
//! The interpreter is `$XMPP_SANSIO_PYTHON` (default: the venv `tests/all.sh` sets up); without
//! slixmpp the test is skipped with a notice, except under `CI=true`.

#[path = "common/process.rs"]
mod process;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use process::slixmpp_python;

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
        .args(["--listen", "127.0.0.1:0", "--domain", "example.test"])
        .args(["--user", "juliet:balcony-pw", "--user", "romeo:orchard-pw"])
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

fn slixmpp(python: &str, port: u16, jid: &str, password: &str, mechanism: &str) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/slixmpp_echo.py");
    let out = Command::new(python)
        .arg(script)
        .args([jid, password, "127.0.0.1", &port.to_string(), mechanism])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn slixmpp_starttls_auth_bind_and_echo() {
    let Some(python) = slixmpp_python() else {
        return;
    };
    let server = start_server();
    for mechanism in ["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"] {
        let (ok, out) = slixmpp(
            &python,
            server.1,
            "juliet@example.test",
            "balcony-pw",
            mechanism,
        );
        assert!(ok, "{mechanism}: {out}");
        assert!(
            out.contains("bound as juliet@example.test/"),
            "{mechanism}: {out}"
        );
        assert!(
            out.contains("echo: echo ☺ <&> juliet@example.test"),
            "{mechanism}: {out}"
        );
    }
}

#[test]
fn slixmpp_with_a_wrong_password_is_refused() {
    let Some(python) = slixmpp_python() else {
        return;
    };
    let server = start_server();
    let (ok, out) = slixmpp(
        &python,
        server.1,
        "romeo@example.test",
        "not-it",
        "SCRAM-SHA-1",
    );
    assert!(!ok, "{out}");
    assert!(out.contains("authentication failed"), "{out}");
}
