//! What every harness of a real peer shares.

use std::process::{Command, Stdio};

/// Whether a peer program exists; under CI its absence fails the test.
pub fn require(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{program} is not installed: run tests/all.sh, which installs it");
        }
        eprintln!("skipping: {program} is not installed (tests/all.sh installs it)");
    }
    found
}
