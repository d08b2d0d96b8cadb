//! Starts a private ejabberd node for a test: its own directory, configs,
//! self-signed certificate, Erlang node name, cookie and loopback ports;
//! stopped when dropped.
//!
//! ejabberd comes from Debian's `ejabberd` package (23.01 on Debian 12;
//! its system service is kept from starting, see `tests/all.sh`). When
//! `ejabberdctl` is missing the test is skipped with a notice, except under
//! `CI=true`, where that is a failure.
//!
//! `ejabberdctl` run as root starts the node as the system user `ejabberd`
//! (it refuses any other user), so the directory is handed to that user.
//! The node listens for Erlang distribution on its own loopback port
//! (`ERL_DIST_PORT`), so no `epmd` daemon is started or left behind, and it
//! has its own cookie, so `~ejabberd/.erlang.cookie` is neither needed nor
//! created (several nodes creating it at once can fail). Its Erlang
//! resolver reads only the directory's `hosts` file.
//!
//! The directory is under `std::env::temp_dir()`, which the user
//! `ejabberd` must be able to enter (the default `/tmp` is fine).
//!
//! Timings on a 2-core machine: the c2s port answers 1.1-1.5 s after
//! `start` (up to 4 s with three nodes starting at once), `register` and
//! other `ejabberdctl` commands take 0.5-2 s each, and stopping takes about
//! 3 s.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

pub const DOMAIN: &str = "ej.test";

pub struct Ejabberd {
    pub dir: PathBuf,
    /// Client-to-server port on 127.0.0.1 (STARTTLS required).
    pub c2s: u16,
    /// The node's Erlang distribution port on 127.0.0.1.
    pub dist: u16,
    /// The Erlang node name, `...@localhost`.
    pub node: String,
}

#[path = "peer.rs"]
mod peer;
pub use peer::require;

/// A fresh Erlang cookie (128 bits from std's randomly keyed hasher).
fn cookie() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut cookie = String::from("c");
    for i in 0..2u8 {
        let mut h = RandomState::new().build_hasher();
        h.write_u8(i);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        cookie.push_str(&format!("{:016x}", h.finish()));
    }
    cookie
}

// Variables read by ejabberdctl or erl that must not leak in from the
// environment of the test.
const CLEARED_ENV: &[&str] = &[
    "EJABBERD_OPTS",
    "EJABBERDCTL_CONFIG_PATH",
    "VMARGS",
    "MNESIA_OPTIONS",
    "CONTRIB_MODULES_PATH",
    "CONTRIB_MODULES_CONF_DIR",
    "ERL_FLAGS",
    "ERL_AFLAGS",
    "ERL_ZFLAGS",
];

impl Ejabberd {
    /// Starts ejabberd, or returns `None` (outside CI) if it is missing.
    pub fn start() -> Option<Ejabberd> {
        if !require("ejabberdctl") {
            return None;
        }
        static N: AtomicUsize = AtomicUsize::new(0);
        let (pid, n) = (std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let dir = std::env::temp_dir().join(format!("xmpp-sansio-ejabberd-{pid}-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("spool")).unwrap();
        fs::create_dir_all(dir.join("logs")).unwrap();

        // Key and certificate in one file, readable by its owner only. Not
        // rcgen's `generate_simple_self_signed`: its expiry (year 4096) makes
        // ejabberd 23.01 crash when it sets a timer for the expiry (Erlang
        // timers reach about 292 years), and then STARTTLS fails.
        let mut params = rcgen::CertificateParams::new(vec![DOMAIN.to_owned()]).unwrap();
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let year = 1970 + (secs / 31_556_952) as i32;
        params.not_after = rcgen::date_time_ymd(year + 20, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let mut pem = cert.pem();
        if !pem.ends_with('\n') {
            pem.push('\n');
        }
        pem.push_str(&key.serialize_pem());
        let cert_path = dir.join("cert.pem");
        fs::write(&cert_path, pem).unwrap();
        fs::set_permissions(&cert_path, fs::Permissions::from_mode(0o600)).unwrap();

        // Both listeners are held at once so that the two ports differ.
        let (c2s, dist) = {
            let a = TcpListener::bind("127.0.0.1:0").unwrap();
            let b = TcpListener::bind("127.0.0.1:0").unwrap();
            (
                a.local_addr().unwrap().port(),
                b.local_addr().unwrap().port(),
            )
        };
        let node = format!("xmpp-sansio-{pid}-{n}@localhost");
        let d = dir.display();

        // Sourced by ejabberdctl. It sets ERL_INETRC to `DIR/inetrc` itself
        // (after reading this file), so that name is fixed.
        let ctl_cfg = format!(
            r#"ERLANG_NODE='{node}'
INET_DIST_INTERFACE=127.0.0.1
ERL_DIST_PORT={dist}
EJABBERD_PID_PATH='{d}/ejabberd.pid'
SPOOL_DIR='{d}/spool'
LOGS_DIR='{d}/logs'
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie {cookie}"
"#,
            cookie = cookie()
        );
        fs::write(dir.join("ejabberdctl.cfg"), ctl_cfg).unwrap();
        // Names come from this file only; anything else fails at once (no
        // nameserver is configured). `localhost` is how ejabberdctl reaches
        // the node.
        fs::write(dir.join("hosts"), format!("127.0.0.1 localhost {DOMAIN}\n")).unwrap();
        let inetrc = format!(
            r#"{{lookup, ["file", "dns"]}}.
{{hosts_file, "{d}/hosts"}}.
{{resolv_conf, ""}}.
"#
        );
        fs::write(dir.join("inetrc"), inetrc).unwrap();
        let config = format!(
            r#"hosts: ["{DOMAIN}"]
loglevel: info
certfiles: ["{d}/cert.pem"]
auth_method: internal
acme: {{auto: false}}
s2s_access: none
listen:
  - port: {c2s}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
  mod_stream_mgmt: {{}}
"#
        );
        fs::write(dir.join("ejabberd.yml"), config).unwrap();

        let chown = Command::new("chown")
            .arg("-R")
            .arg("ejabberd:")
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(
            chown.success(),
            "chown -R ejabberd: {d} failed: ejabberdctl runs the node as user ejabberd, \
             so these tests must run as root"
        );

        let e = Ejabberd {
            dir,
            c2s,
            dist,
            node,
        };
        // `start` returns once the node is forked off (the detached node
        // keeps none of its output pipes).
        let out = e.ctl(&["start"]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "ejabberdctl start: {said}");
        // The c2s listener opens last, once ejabberd has fully started
        // (quicker than `ejabberdctl started`, which polls every 2 s).
        let began = Instant::now();
        while TcpStream::connect(("127.0.0.1", c2s)).is_err() {
            let gone = began.elapsed() > Duration::from_secs(5) && e.pids().is_empty();
            assert!(
                !gone && began.elapsed() < Duration::from_secs(30),
                "ejabberd did not start; ejabberdctl start said: {said}\nlog:\n{}",
                e.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(e)
    }

    /// `ejabberdctl` for this node, with the remaining arguments to add.
    fn command(&self) -> Command {
        let mut c = Command::new("ejabberdctl");
        c.arg("--config-dir")
            .arg(&self.dir)
            .arg("--config")
            .arg(self.dir.join("ejabberd.yml"))
            .stdin(Stdio::null());
        for var in CLEARED_ENV {
            c.env_remove(var);
        }
        c
    }

    /// Runs an `ejabberdctl` command against this node (about 0.5 s each).
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run ejabberdctl")
    }

    pub fn register(&self, user: &str, password: &str) {
        let out = self.ctl(&["register", user, DOMAIN, password]);
        assert!(
            out.status.success(),
            "ejabberdctl register: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("logs").join("ejabberd.log")).unwrap_or_default()
    }

    /// Processes of this node: the ones started with `-sname NODE` (the
    /// Erlang VM, and briefly while starting the wrappers that launch it).
    fn pids(&self) -> Vec<u32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| {
                let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
                args.windows(2)
                    .any(|w| w[0] == b"-sname" && w[1] == self.node.as_bytes())
                    .then_some(pid)
            })
            .collect()
    }

    /// Waits until no process of this node is left; false on timeout.
    fn wait_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.pids().is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ejabberd {
    fn drop(&mut self) {
        // A clean stop (the command takes about 2 s, then the VM takes 1-3 s
        // to exit); a node that does not stop is killed.
        if let Ok(mut stop) = self
            .command()
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(stop.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = stop.kill();
            let _ = stop.wait();
        }
        if !self.wait_gone(Duration::from_secs(20)) {
            for pid in self.pids() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            self.wait_gone(Duration::from_secs(5));
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
