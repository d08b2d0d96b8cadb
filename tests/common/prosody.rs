//! Starts a private Prosody for a test: its own directory, config,
//! self-signed certificate and loopback ports; killed when dropped.
//!
//! Prosody comes from Debian's `prosody` package (installed by
//! `tests/all.sh`). When it is missing the test is skipped with a notice,
//! except under `CI=true`, where that is a failure.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const DOMAIN: &str = "example.test";

pub struct Prosody {
    pub dir: PathBuf,
    child: Child,
    pub c2s: u16,
    pub direct_tls: u16,
    config: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[path = "peer.rs"]
mod peer;
pub use peer::require;

#[derive(Default)]
pub struct Options {
    /// Extra lines for the global section of the config.
    pub global: String,
}

impl Prosody {
    /// Starts Prosody, or returns `None` (outside CI) if it is missing.
    pub fn start(opts: Options) -> Option<Prosody> {
        if !require("prosody") || !require("prosodyctl") {
            return None;
        }
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xmpp-sansio-prosody-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let cert = rcgen::generate_simple_self_signed(vec![DOMAIN.to_owned()]).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        let (c2s, direct_tls) = (free_port(), free_port());
        let d = dir.display();
        let config = format!(
            r#"daemonize = false
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{d}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ {direct_tls} }}
s2s_ports = {{ }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
certificates = "{d}"
authentication = "internal_plain"
modules_enabled = {{ "disco"; "roster"; "saslauth"; "tls"; "ping"; "offline" }}
modules_disabled = {{ "s2s" }}
ssl = {{ certificate = "{d}/cert.pem"; key = "{d}/key.pem" }}
{global}
VirtualHost "{DOMAIN}"
    ssl = {{ certificate = "{d}/cert.pem"; key = "{d}/key.pem" }}
"#,
            global = opts.global
        );
        let config_path = dir.join("prosody.cfg.lua");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("prosody")
            .arg("--config")
            .arg(&config_path)
            .arg("-F")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prosody");
        let p = Prosody {
            dir,
            child,
            c2s,
            direct_tls,
            config: config_path,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", c2s)).is_err() {
            assert!(
                Instant::now() < deadline,
                "prosody did not start; log:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(p)
    }

    pub fn register(&self, user: &str, password: &str) {
        let out = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, DOMAIN, password])
            .output()
            .expect("run prosodyctl");
        assert!(
            out.status.success(),
            "prosodyctl register: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prosody.log")).unwrap_or_default()
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
