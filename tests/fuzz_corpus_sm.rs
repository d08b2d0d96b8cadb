//! Replays the stream-management fuzz corpus through its entry point,
//! which checks its invariants as it goes.

use std::fs;
use std::path::PathBuf;

#[test]
fn sm_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/sm");
    let mut files = 0;
    for entry in fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let steps = xmpp_sansio::sm::fuzz(&fs::read(&path).expect("seed"));
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ok_"))
        {
            assert!(steps >= 3, "{}: {steps} steps", path.display());
        }
        files += 1;
    }
    assert!(files >= 5, "seeds missing in {}", dir.display());
}
