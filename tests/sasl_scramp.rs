//! Interoperability of the SCRAM implementation with Python's `scramp`.
//!
//! Each test runs `tests/interop/scramp_peer.py` as a child process and
//! exchanges SCRAM messages with it over stdin/stdout, one base64 line per
//! message. The interpreter is `$XMPP_SANSIO_PYTHON` (default `python3`)
//! and needs `scramp` installed. Without it the tests pass with a notice,
//! except under `CI=true`, where they fail.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::*;

const PASSWORD: &str = "pencil";
const SALT: &[u8] = b"interop-salt-16b";
const ITERATIONS: u32 = 4096;

fn python() -> Option<String> {
    let python = std::env::var("XMPP_SANSIO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python)
        .args(["-c", "import scramp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "`{python} -c 'import scramp'` failed: the scramp interoperability tests need Python with \
             scramp installed (pip install scramp==1.5.0) and XMPP_SANSIO_PYTHON pointing at it"
        );
    }
    eprintln!("notice: skipping scramp interoperability test: `{python}` cannot import scramp");
    None
}

enum Line {
    Message(Vec<u8>),
    Ok,
    Error(String),
}

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn spawn(python: &str, args: &[&str]) -> Peer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/scramp_peer.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the scramp peer");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, msg: &[u8]) {
        writeln!(self.stdin, "{}", STANDARD.encode(msg)).unwrap();
        self.stdin.flush().unwrap();
    }

    fn line(&mut self) -> Line {
        let mut l = String::new();
        self.stdout.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l == "OK" {
            Line::Ok
        } else if let Some(e) = l.strip_prefix("ERROR ") {
            Line::Error(e.to_owned())
        } else {
            Line::Message(
                STANDARD
                    .decode(l)
                    .unwrap_or_else(|_| panic!("peer said {l:?}")),
            )
        }
    }

    fn message(&mut self) -> Vec<u8> {
        match self.line() {
            Line::Message(m) => m,
            Line::Ok => panic!("peer finished early"),
            Line::Error(e) => panic!("peer failed: {e}"),
        }
    }

    fn finish(mut self) -> Result<(), String> {
        let r = match self.line() {
            Line::Ok => Ok(()),
            Line::Error(e) => Err(e),
            Line::Message(_) => Err("unexpected message".to_owned()),
        };
        self.child.wait().unwrap();
        r
    }
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cases: every hash, without binding and with the two types scramp
/// accepts (it refuses tls-exporter).
fn cases() -> Vec<(Mechanism, Option<ChannelBinding>)> {
    let mut v = Vec::new();
    for hash in [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512] {
        v.push((hash.mechanism(false), None));
        v.push((
            hash.mechanism(true),
            Some(ChannelBinding::new(
                ChannelBindingType::TlsServerEndPoint,
                vec![0xa5; 32],
            )),
        ));
        v.push((
            hash.mechanism(true),
            Some(ChannelBinding::new(
                ChannelBindingType::TlsUnique,
                b"finished-message".to_vec(),
            )),
        ));
    }
    v
}

fn tls_for(binding: &Option<ChannelBinding>) -> TlsInfo {
    match binding {
        Some(b) => TlsInfo::tls().with_binding(b.clone()),
        None => TlsInfo::tls(),
    }
}

fn cb_args(binding: &Option<ChannelBinding>) -> (String, String) {
    match binding {
        Some(b) => (b.kind().to_string(), hex(b.data())),
        None => ("-".to_owned(), "-".to_owned()),
    }
}

/// Our client against a scramp server holding `server_password`.
fn our_client_vs_scramp(
    python: &str,
    mechanism: Mechanism,
    binding: &Option<ChannelBinding>,
    client_password: &str,
) -> Result<(), String> {
    let (cb_name, cb_hex) = cb_args(binding);
    let iterations = ITERATIONS.to_string();
    let salt = STANDARD.encode(SALT);
    let mut peer = Peer::spawn(
        python,
        &[
            "server",
            mechanism.name(),
            &cb_name,
            &cb_hex,
            PASSWORD,
            &salt,
            &iterations,
        ],
    );
    let choice = match binding {
        Some(b) => ChannelBindingChoice::Bound(b.kind()),
        None => ChannelBindingChoice::Unsupported,
    };
    let mut client = Client::new(
        &Selection::new(mechanism, choice),
        ClientCredentials::password("user", client_password),
        &tls_for(binding),
        &ClientConfig::default(),
        &mut SeededRandom::new(11),
    )
    .unwrap();
    peer.send(&client.initial_response().unwrap());
    let server_first = peer.message();
    peer.send(&client.challenge(&server_first).unwrap());
    let ours = match peer.line() {
        Line::Message(server_final) => client
            .success(Some(&server_final))
            .map_err(|e| e.to_string()),
        Line::Error(e) => return Err(format!("scramp: {e}")),
        Line::Ok => return Err("no server-final".to_owned()),
    };
    let theirs = peer.finish();
    match (ours, theirs) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(a), Err(b)) => Err(format!("ours: {a}; scramp: {b}")),
        (a, b) => panic!("the two sides disagree: ours {a:?}, scramp {b:?}"),
    }
}

/// A scramp client against our server holding a record for PASSWORD.
fn scramp_vs_our_server(
    python: &str,
    mechanism: Mechanism,
    binding: &Option<ChannelBinding>,
    client_password: &str,
) -> Result<(), String> {
    let (cb_name, cb_hex) = cb_args(binding);
    let mut peer = Peer::spawn(
        python,
        &[
            "client",
            mechanism.name(),
            &cb_name,
            &cb_hex,
            "user",
            client_password,
        ],
    );
    let tls = tls_for(binding);
    let mut server = Server::new(
        mechanism.name(),
        &ServerConfig::new(DecoyKey::new([7; DecoyKey::LEN])),
        &tls,
        &mut SeededRandom::new(12),
    )
    .unwrap();
    let hash = mechanism.scram_hash().unwrap();
    let record = ScramCredentials::derive(hash, PASSWORD, SALT, ITERATIONS).unwrap();

    let client_first = peer.message();
    let ServerOutput::NeedCredentials(req) = server.start(Some(&client_first)).unwrap() else {
        panic!("expected a credentials request")
    };
    assert_eq!(req.authcid(), Some("user"));
    let ServerOutput::Challenge(server_first) = server
        .provide_credentials(Some(Credentials::Scram(record)))
        .unwrap()
    else {
        panic!("expected server-first")
    };
    peer.send(&server_first);
    let client_final = peer.message();
    let ours = match server.respond(&client_final) {
        Ok(ServerOutput::Success(ok)) => {
            assert_eq!(ok.channel_binding, binding.as_ref().map(|b| b.kind()));
            peer.send(&ok.additional_data.unwrap());
            Ok(())
        }
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => {
            // Our server fails without additional data; tell scramp the way
            // RFC 5802 §7 would.
            peer.send(b"e=invalid-proof");
            Err(e.to_string())
        }
    };
    let theirs = peer.finish();
    match (ours, theirs) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(a), Err(b)) => Err(format!("ours: {a}; scramp: {b}")),
        (a, b) => panic!("the two sides disagree: ours {a:?}, scramp {b:?}"),
    }
}

#[test]
fn our_client_against_scramp_server() {
    let Some(python) = python() else { return };
    for (mechanism, binding) in cases() {
        our_client_vs_scramp(&python, mechanism, &binding, PASSWORD)
            .unwrap_or_else(|e| panic!("{mechanism} {binding:?}: {e}"));
    }
}

#[test]
fn scramp_client_against_our_server() {
    let Some(python) = python() else { return };
    for (mechanism, binding) in cases() {
        scramp_vs_our_server(&python, mechanism, &binding, PASSWORD)
            .unwrap_or_else(|e| panic!("{mechanism} {binding:?}: {e}"));
    }
}

#[test]
fn wrong_password_fails_on_both_sides() {
    let Some(python) = python() else { return };
    for (mechanism, binding) in [
        (Mechanism::ScramSha256, None),
        (
            Mechanism::ScramSha1Plus,
            Some(ChannelBinding::new(
                ChannelBindingType::TlsUnique,
                b"x".to_vec(),
            )),
        ),
    ] {
        let e = our_client_vs_scramp(&python, mechanism, &binding, "wrong").unwrap_err();
        assert!(e.contains("ours: server reported an error"), "{e}");
        let e = scramp_vs_our_server(&python, mechanism, &binding, "wrong").unwrap_err();
        assert!(e.contains("authentication failed"), "{e}");
    }
}

#[test]
fn derived_record_matches_scramp_auth_info() {
    let Some(python) = python() else { return };
    for hash in [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512] {
        let mechanism = hash.mechanism(false);
        for password in [PASSWORD, "p\u{00E4}ssw\u{00F6}rd", "I\u{00AD}X"] {
            let mut peer = Peer::spawn(
                &python,
                &[
                    "authinfo",
                    mechanism.name(),
                    password,
                    &STANDARD.encode(SALT),
                    "4096",
                ],
            );
            let mut line = String::new();
            peer.stdout.read_line(&mut line).unwrap();
            peer.child.wait().unwrap();
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ours = ScramCredentials::derive(hash, password, SALT, 4096).unwrap();
            assert_eq!(fields[0], STANDARD.encode(ours.salt()), "{mechanism} salt");
            assert_eq!(
                fields[1],
                STANDARD.encode(ours.stored_key()),
                "{mechanism} StoredKey for {password:?}"
            );
            assert_eq!(
                fields[2],
                STANDARD.encode(ours.server_key()),
                "{mechanism} ServerKey for {password:?}"
            );
            assert_eq!(fields[3], "4096");
        }
    }
}
