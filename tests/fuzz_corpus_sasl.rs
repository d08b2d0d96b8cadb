//! Replays the SASL fuzz corpora through the fuzz entry points, so that a
//! plain `cargo test` covers every seed.
//!
//! Seed names say what to expect: `ok_*` must return `Ok`, `err_*` must
//! return a typed `Err`, and `*valid_exchange` must authenticate. Files
//! without either prefix (inputs found by the fuzzer) only must not panic.

use std::fs;
use std::path::PathBuf;

use xmpp_sansio::sasl::Error;
use xmpp_sansio::sasl::fuzzing;

fn replay<T: std::fmt::Debug>(
    target: &str,
    run: fn(&[u8]) -> Result<T, Error>,
    authenticated: fn(&T) -> bool,
) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| run(&data))
            .unwrap_or_else(|_| panic!("{target}/{name} panicked"));
        if name.starts_with("ok_") {
            let value =
                result.unwrap_or_else(|e| panic!("{target}/{name}: expected Ok, got {e:?}"));
            if name.ends_with("valid_exchange") {
                assert!(
                    authenticated(&value),
                    "{target}/{name}: not authenticated: {value:?}"
                );
            }
        } else if name.starts_with("err_") {
            let e = result.expect_err(&format!("{target}/{name}: expected an error"));
            // Every error maps to a condition the stream layer can send.
            assert!(!e.condition().as_str().is_empty());
        }
        count += 1;
    }
    assert!(count > 0, "empty corpus for {target}");
}

#[test]
fn scram_server_corpus() {
    replay("sasl_scram_server", fuzzing::scram_server, Option::is_some);
}

#[test]
fn plain_server_corpus() {
    replay("sasl_plain_server", fuzzing::plain_server, Option::is_some);
}

#[test]
fn external_server_corpus() {
    replay(
        "sasl_external_server",
        fuzzing::external_server,
        Option::is_some,
    );
}

#[test]
fn anonymous_server_corpus() {
    replay(
        "sasl_anonymous_server",
        fuzzing::anonymous_server,
        Option::is_some,
    );
}

#[test]
fn scram_client_corpus() {
    replay("sasl_scram_client", fuzzing::scram_client, |verified| {
        *verified
    });
}
