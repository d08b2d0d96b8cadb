//! Replays the presence fuzz corpus through the fuzz entry point, which
//! checks its invariants as it goes (any violation panics).

use std::fs;
use std::path::PathBuf;

use xmpp_sansio::presence::fuzzing;

#[test]
fn presence_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/presence");
    let mut files = 0;
    let mut steps = 0;
    for entry in fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let data = fs::read(&path).expect("seed");
        let n = fuzzing::run(&data);
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ok_"))
        {
            assert!(n > 4, "{} took only {n} steps", path.display());
        }
        steps += n;
        files += 1;
    }
    assert!(files >= 7, "seeds missing in {}", dir.display());
    assert!(steps > 50);
}
