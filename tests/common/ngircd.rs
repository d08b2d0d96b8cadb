//! Starts a private ngIRCd (an IRC server, the foreign network of a
//! gateway test): its own directory, config and loopback port; killed when
//! dropped.
//!
//! `Ngircd::start()` runs `ngircd -n -f DIR/ngircd.conf` listening on
//! 127.0.0.1 on a free port, server name [`NAME`]. Clients register with
//! NICK and USER alone: no password (PAM off), no ident or DNS lookups,
//! no connection limits, nicknames up to 30 characters, and no penalty
//! time (`MaxPenaltyTime = 0`; by default ngIRCd throttles a client that
//! sends many commands: 50 PRIVMSGs in a row took 17 s to arrive, 200 now
//! take 0.2 s). It is ready in 10-20 ms.
//!
//! ngIRCd never runs as root: started by root it switches to the user
//! `ServerUID` names (to "nobody" when none is set), so as root this
//! harness names nobody (65534:65534) and hands it the directory, where it
//! writes its PID file. No chroot (`ChrootDir` is unset).
//!
//! ngIRCd comes from Debian's `ngircd` package (installed by
//! `tests/all.sh`). When it is missing the test is skipped with a notice,
//! except under `CI=true`, where that is a failure.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "peer.rs"]
mod peer;
pub use peer::require;

/// The server's name: the prefix of its numeric replies.
pub const NAME: &str = "irc.test";

/// The address it listens on.
pub const ADDRESS: &str = "127.0.0.1";

/// Longest nickname it accepts (ngIRCd's default is RFC 2812's 9).
pub const MAX_NICK_LENGTH: usize = 30;

/// Where Debian installs it; not on the PATH of users other than root.
const SBIN: &str = "/usr/sbin/ngircd";

/// The user and group ngIRCd switches to when started by root.
const NOBODY: u32 = 65534;

pub struct Ngircd {
    /// Its port on [`ADDRESS`].
    pub port: u16,
    /// Its directory: config, MOTD, PID file, and its log (`ngircd.log`).
    pub dir: PathBuf,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind((ADDRESS, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Ngircd {
    /// Starts ngIRCd, or returns `None` (outside CI) if it is missing.
    pub fn start() -> Option<Ngircd> {
        let program = if Path::new(SBIN).exists() {
            SBIN
        } else if require("ngircd") {
            "ngircd"
        } else {
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xmpp-sansio-ngircd-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        // The owner of a directory just made is who we are.
        let root = std::fs::metadata(&dir).unwrap().uid() == 0;
        let d = dir.display();
        let port = free_port();
        let user = if root {
            format!("\tServerUID = {NOBODY}\n\tServerGID = {NOBODY}\n")
        } else {
            String::new()
        };
        // IncludeDir: an empty directory of its own, so that nothing from
        // /etc/ngircd/conf.d is read. HelpFile: empty, HELP is not needed.
        let config = format!(
            "[Global]
\tName = {NAME}
\tInfo = xmpp-sansio test server
\tAdminInfo1 = xmpp-sansio tests
\tAdminInfo2 = loopback
\tAdminEMail = nobody@{NAME}
\tListen = {ADDRESS}
\tPorts = {port}
\tPidFile = {d}/ngircd.pid
\tMotdFile = {d}/ngircd.motd
\tHelpFile = {d}/help.txt
{user}[Limits]
\tMaxConnections = 0
\tMaxConnectionsIP = 0
\tMaxJoins = 0
\tMaxNickLength = {MAX_NICK_LENGTH}
\tMaxPenaltyTime = 0
\tPingTimeout = 120
\tPongTimeout = 20
[Options]
\tDNS = no
\tIdent = no
\tPAM = no
\tIncludeDir = {d}/conf.d
"
        );
        let config_path = dir.join("ngircd.conf");
        std::fs::write(&config_path, config).unwrap();
        std::fs::write(dir.join("ngircd.motd"), "xmpp-sansio test server\n").unwrap();
        std::fs::write(dir.join("help.txt"), "").unwrap();
        if root {
            // It writes its PID file after switching to nobody.
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let log = std::fs::File::create(dir.join("ngircd.log")).unwrap();
        let child = Command::new(program)
            .arg("-n")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start ngircd");
        let mut n = Ngircd { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((ADDRESS, port)).is_err() {
            if let Ok(Some(status)) = n.child.try_wait() {
                panic!("ngircd exited ({status}); log:\n{}", n.log());
            }
            assert!(
                Instant::now() < deadline,
                "ngircd did not start; log:\n{}",
                n.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(n)
    }

    /// What it logged (its console output: connections, registrations,
    /// quits).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ngircd.log")).unwrap_or_default()
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
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Kept after a failure, for its log, as Prosody's is.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
