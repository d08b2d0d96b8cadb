//! Starts a private Prosody for a test: its own directory, config,
//! self-signed certificate and loopback ports; killed when dropped.
//!
//! Two modes:
//! - `Prosody::start(Options::default())`: client-to-server only, domain
//!   [`DOMAIN`], listening on 127.0.0.1 (s2s disabled).
//! - `Prosody::start_federating("127.0.0.11", tls)` (or `Options::s2s`):
//!   the domain is an IPv4 literal on loopback, and Prosody listens on
//!   that address only: c2s on a free port, s2s on [`S2S_PORT`] (5269),
//!   the port Prosody itself connects to for a domain that is an IP
//!   literal (no DNS at all). Server Dialback (XEP-0220) is the only s2s
//!   authentication: plaintext, or over STARTTLS with a self-signed
//!   certificate (`tls`). Its resolver answers nothing, instantly, so no
//!   lookup ever leaves the machine. A connection not authenticated within
//!   10 s is dropped (`s2s_timeout`, 90 s by default) and what was queued
//!   for it bounces as an error. `Options::global` lines come after these
//!   settings and override them.
//!
//! Either mode can also host one external component (XEP-0114,
//! `Options::component`): a `Component` section with its secret, and a
//! component port on the same address ([`Prosody::component`]).
//!
//! Prosody comes from Debian's `prosody` package (installed by
//! `tests/all.sh`). When it is missing the test is skipped with a notice,
//! except under `CI=true`, where that is a failure.

#![allow(dead_code)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub const DOMAIN: &str = "example.test";

/// The port Prosody listens on for s2s in federating mode, and the port it
/// connects to for a remote domain that is an IP literal: the other
/// server must listen on `its-domain:5269`.
pub const S2S_PORT: u16 = 5269;

pub struct Prosody {
    pub dir: PathBuf,
    child: Child,
    /// The domain it serves: [`DOMAIN`], or the IP literal given for s2s.
    pub domain: String,
    /// The address all its listeners are on: 127.0.0.1, or the IP literal.
    pub address: String,
    pub c2s: u16,
    pub direct_tls: u16,
    /// `Some(S2S_PORT)` in federating mode.
    pub s2s: Option<u16>,
    /// The component port (XEP-0114, `jabber:component:accept`) on
    /// [`Prosody::address`], when `Options::component` asked for one.
    pub component: Option<u16>,
    config: PathBuf,
    _claim: Option<Claim>,
}

fn free_port(address: &str) -> u16 {
    TcpListener::bind((address, 0))
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
    /// Federate: serve an IP-literal domain with s2s on its port 5269.
    pub s2s: Option<S2s>,
    /// Host one external component (XEP-0114): its name (e.g.
    /// "gw.example.test") and secret. Prosody then listens for components
    /// on a free port, [`Prosody::component`].
    pub component: Option<(String, String)>,
    /// More modules to load, such as "smacks" (XEP-0198).
    pub modules: Vec<&'static str>,
}

/// Server-to-server settings.
#[derive(Clone, Debug)]
pub struct S2s {
    /// The domain, an IPv4 loopback literal such as "127.0.0.11"; all
    /// listeners are on this address.
    pub domain: String,
    /// STARTTLS required on s2s (self-signed certificate, so Prosody still
    /// authenticates with dialback); otherwise s2s TLS is switched off
    /// altogether (`s2s_allow_encryption = false`) and dialback runs in
    /// plaintext.
    pub tls: bool,
}

/// An s2s address (IP:5269) this process has handed to a running Prosody:
/// tests in one binary that use the same address wait for each other.
struct Claim(String);

static CLAIMED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static RELEASED: Condvar = Condvar::new();

impl Claim {
    fn take(address: &str) -> Claim {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        while claimed.iter().any(|a| a == address) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{address}:{S2S_PORT} stayed in use by another test"
            );
            claimed = RELEASED
                .wait_timeout(claimed, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        claimed.push(address.to_owned());
        Claim(address.to_owned())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        claimed.retain(|a| *a != self.0);
        RELEASED.notify_all();
    }
}

/// Logs every byte of every session, after TLS, at debug level as
/// `RAW-IN <session type> <session id> "<bytes>"` (and `RAW-OUT`), the
/// bytes quoted the way Lua's `%q` does (`\'`, `\"`, `\\`, `\n`, `\13`).
const RAWLOG_MODULE: &str = r#"local filters = require "util.filters";
local function quote(data)
	-- %q splits a line at each newline: keep one line per chunk.
	return (("%q"):format(data):gsub("\\\n", "\\n"));
end
local function hook(session)
	local tag = tostring(session):match("%w+$") or "?";
	filters.add_filter(session, "bytes/in", function (data)
		module:log("debug", "RAW-IN %s %s %s", session.type or "?", tag, quote(data));
		return data;
	end, -1000);
	filters.add_filter(session, "bytes/out", function (data)
		module:log("debug", "RAW-OUT %s %s %s", session.type or "?", tag, quote(data));
		return data;
	end, 1000);
end
filters.add_filter_hook(hook);
function module.unload() filters.remove_filter_hook(hook); end
"#;

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
        let d = dir.display();
        let (domain, address, claim, s2s_config) = match &opts.s2s {
            None => (
                DOMAIN.to_owned(),
                "127.0.0.1".to_owned(),
                None,
                "s2s_ports = { }\n\
                 modules_enabled = { \"disco\"; \"roster\"; \"saslauth\"; \"tls\"; \"ping\"; \"offline\"EXTRA }\n\
                 modules_disabled = { \"s2s\" }\n"
                    .to_owned(),
            ),
            Some(s2s) => {
                let ip: Ipv4Addr = s2s.domain.parse().unwrap_or_else(|_| {
                    panic!("s2s domain {:?} is not an IPv4 literal", s2s.domain)
                });
                assert!(ip.is_loopback(), "s2s domain {ip} is not on loopback");
                let claim = Claim::take(&s2s.domain);
                port_is_free(&s2s.domain);
                std::fs::create_dir_all(dir.join("plugins")).unwrap();
                std::fs::write(dir.join("plugins/mod_rawlog.lua"), RAWLOG_MODULE).unwrap();
                // Prosody reads no /etc/hosts; the empty file and the
                // static root zone keep its resolver from asking anyone.
                std::fs::write(dir.join("hosts"), "").unwrap();
                let encryption = if s2s.tls {
                    "s2s_require_encryption = true\n"
                } else {
                    "s2s_require_encryption = false\ns2s_allow_encryption = false\n"
                };
                (
                    s2s.domain.clone(),
                    s2s.domain.clone(),
                    Some(claim),
                    format!(
                        "s2s_ports = {{ {S2S_PORT} }}\n\
                         modules_enabled = {{ \"disco\"; \"roster\"; \"saslauth\"; \"tls\"; \"ping\"; \"offline\"; \"dialback\"; \"rawlog\"EXTRA }}\n\
                         modules_disabled = {{ }}\n\
                         plugin_paths = {{ \"{d}/plugins\" }}\n\
                         {encryption}\
                         s2s_secure_auth = false\n\
                         s2s_timeout = 10\n\
                         unbound = {{ resolvconf = false; hoststxt = \"{d}/hosts\"; options = {{ [\"local-zone:\"] = \". static\" }} }}\n"
                    ),
                )
            }
        };
        let extra: String = opts.modules.iter().map(|m| format!("; \"{m}\"")).collect();
        let s2s_config = s2s_config.replace("EXTRA", &extra);
        let cert = rcgen::generate_simple_self_signed(vec![domain.clone()]).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        let (c2s, direct_tls) = (free_port(&address), free_port(&address));
        let component = opts.component.as_ref().map(|_| free_port(&address));
        let (component_ports, component_section) = match (&opts.component, component) {
            (Some((name, secret)), Some(port)) => {
                for s in [name, secret] {
                    assert!(
                        !s.contains(['"', '\\', '\n']),
                        "component name or secret {s:?} needs Lua escaping"
                    );
                }
                (
                    format!("{{ {port} }}\ncomponent_interfaces = {{ \"{address}\" }}"),
                    format!("\nComponent \"{name}\"\n    component_secret = \"{secret}\"\n"),
                )
            }
            _ => ("{ }".to_owned(), String::new()),
        };
        let config = format!(
            r#"daemonize = false
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{d}/prosody.log" }} }}
interfaces = {{ "{address}" }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ {direct_tls} }}
component_ports = {component_ports}
http_ports = {{ }}
https_ports = {{ }}
certificates = "{d}"
authentication = "internal_plain"
{s2s_config}ssl = {{ certificate = "{d}/cert.pem"; key = "{d}/key.pem" }}
{global}
VirtualHost "{domain}"
    ssl = {{ certificate = "{d}/cert.pem"; key = "{d}/key.pem" }}
{component_section}"#,
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
            domain,
            address,
            c2s,
            direct_tls,
            s2s: opts.s2s.as_ref().map(|_| S2S_PORT),
            component,
            config: config_path,
            _claim: claim,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect((p.address.as_str(), c2s)).is_err() {
            assert!(
                Instant::now() < deadline,
                "prosody did not start; log:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        if p.s2s.is_some() {
            // Ports open together at startup; a failed s2s port is only
            // logged. (Connecting to it would make a session in the log.)
            let active = format!("Activated service 's2s' on [{}]:{S2S_PORT}", p.address);
            while !p.log().contains(&active) {
                assert!(
                    Instant::now() < deadline,
                    "prosody has no s2s listener; log:\n{}",
                    p.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(port) = p.component {
            // Like s2s: wait for the log rather than connect (a connection
            // would be a component session that never authenticates).
            let active = format!("Activated service 'component' on [{}]:{port}", p.address);
            while !p.log().contains(&active) {
                assert!(
                    Instant::now() < deadline,
                    "prosody has no component listener; log:\n{}",
                    p.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(p)
    }

    /// Starts Prosody (client-to-server only, [`DOMAIN`]) hosting the
    /// external component `name` with `secret`; its port is
    /// [`Prosody::component`]. `None` (outside CI) if Prosody is missing.
    pub fn start_with_component(name: &str, secret: &str) -> Option<Prosody> {
        Prosody::start(Options {
            component: Some((name.to_owned(), secret.to_owned())),
            ..Options::default()
        })
    }

    /// Starts Prosody serving the domain `domain_ip` (an IPv4 loopback
    /// literal such as "127.0.0.11") with s2s on `domain_ip:5269`,
    /// dialback only, over STARTTLS when `tls`; `None` (outside CI) if
    /// Prosody is missing.
    pub fn start_federating(domain_ip: &str, tls: bool) -> Option<Prosody> {
        Prosody::start(Options {
            s2s: Some(S2s {
                domain: domain_ip.to_owned(),
                tls,
            }),
            ..Options::default()
        })
    }

    /// The bare JID of `user` on this server.
    pub fn jid(&self, user: &str) -> String {
        format!("{user}@{}", self.domain)
    }

    /// Registers `user` on the domain it serves ([`Prosody::domain`]).
    pub fn register(&self, user: &str, password: &str) {
        self.register_on(&self.domain, user, password);
    }

    /// Registers `user@domain`; `domain` must be one it serves.
    pub fn register_on(&self, domain: &str, user: &str, password: &str) {
        let out = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, domain, password])
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

    /// Waits until the log contains `needle`; whether it did in time.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// In federating mode, the bytes of every s2s session as logged:
    /// lines `RAW-IN|RAW-OUT <session type> <id> "<bytes, Lua-quoted>"`,
    /// where the type is s2sin_unauthed, s2sin, s2sout_unauthed or s2sout.
    pub fn s2s_wire(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("\tdebug\t").map(|(_, m)| m))
            .filter(|m| m.starts_with("RAW-") && m.contains(" s2s"))
            .map(str::to_owned)
            .collect()
    }
}

/// Panics with a clear message when something outside this process holds
/// `address:5269` (SO_REUSEADDR: a connection in TIME_WAIT does not).
fn port_is_free(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind((address, S2S_PORT)) {
            Ok(_) => return,
            Err(e) if Instant::now() >= deadline => {
                panic!("{address}:{S2S_PORT} is taken by another program: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
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
