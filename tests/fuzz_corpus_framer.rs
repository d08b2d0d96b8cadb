//! Replays the framer's fuzz corpus through the fuzz entry point, so that
//! a plain `cargo test` checks every seed against the framer's invariants
//! (chunking invisible, memory bounded, errors sticky, round trips).
//!
//! Seed names say what to expect: `ok_*` must end without error,
//! `err_<condition>_*` with that RFC 6120 stream error condition. Other
//! files (inputs the fuzzer found) only must keep the invariants.

use std::fs;
use std::path::PathBuf;

use xmpp_sansio::xml::fuzzing;

#[test]
fn framer_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/framer");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = fs::read(&path).unwrap();
        let (_, error) = std::panic::catch_unwind(|| fuzzing::framer(&data))
            .unwrap_or_else(|_| panic!("{name}: an invariant broke"));
        if name.starts_with("ok_") {
            assert_eq!(error, None, "{name}");
        } else if let Some(rest) = name.strip_prefix("err_") {
            let error = error.unwrap_or_else(|| panic!("{name}: accepted"));
            let condition = error.condition().as_str();
            assert!(
                rest.starts_with(condition),
                "{name}: got {condition} ({error})"
            );
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} seeds");
}
