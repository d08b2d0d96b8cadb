//! The `inspect` example's documented output shape, which scripts rely on.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn inspect_binary() -> PathBuf {
    // cargo test builds the examples next to the test binaries' folder.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir
        .join("examples")
        .join(format!("inspect{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

fn run(args: &[&str], stdin: &[u8]) -> (i32, Vec<String>) {
    let mut child = Command::new(inspect_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (out.status.code().unwrap(), lines)
}

#[test]
fn capture_file_in_any_chunk_size() {
    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/captures/c2s-session.xml"
    );
    let (code, whole) = run(&[capture], b"");
    assert_eq!(code, 0);
    assert_eq!(
        whole[0],
        r#"{"event":"stream-open","xmlns":"jabber:client","from":"juliet@im.example.com","to":"im.example.com","version":"1.0","xml:lang":"en"}"#
    );
    assert!(whole.contains(
        &r#"{"event":"stanza","ns":"jabber:client","name":"iq","bytes":116,"xml":"<iq id='yhc13a95' type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>"}"#.to_owned()
    ));
    // The SASL success restarts the stream: a second header follows.
    assert_eq!(
        whole.iter().filter(|l| l.contains("stream-open")).count(),
        2
    );
    assert_eq!(whole.last().unwrap(), r#"{"event":"stream-close"}"#);
    for chunk in ["1", "7", "100000"] {
        assert_eq!(
            run(&["--chunk", chunk, capture], b""),
            (0, whole.clone()),
            "chunk {chunk}"
        );
    }
}

#[test]
fn errors_are_one_json_line_and_exit_status_1() {
    let header =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    let cases = [
        ("<message><!-- x --></message>", "restricted-xml"),
        ("<message>&#1;</message>", "not-well-formed"),
        ("<message><body>cut", "not-well-formed"),
        ("junk", "bad-format"),
    ];
    for (body, condition) in cases {
        let input = format!("{header}{body}");
        let mut seen = Vec::new();
        for chunk in ["1", "5", "4096"] {
            let (code, lines) = run(&["--chunk", chunk], input.as_bytes());
            assert_eq!(code, 1, "{body}");
            let last = lines.last().unwrap().clone();
            assert!(
                last.starts_with(&format!(
                    r#"{{"event":"error","condition":"{condition}","detail":""#
                )),
                "{body}: {last}"
            );
            // The offset of the item the error lies in, in any chunking.
            assert!(
                last.ends_with(&format!(r#","offset":{}}}"#, header.len())),
                "{body} in chunks of {chunk}: {last}"
            );
            seen.push(last);
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    }
    let (code, lines) = run(&[], b"<a>\"quoted\"\\</a>");
    assert_eq!(code, 1);
    assert!(
        lines[0].contains(r#""condition":"invalid-namespace""#),
        "{}",
        lines[0]
    );
}

#[test]
fn text_is_json_escaped() {
    let input = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
                 <message><body>say \"hi\"\\\n\tnow</body></message>";
    let (code, lines) = run(&[], input.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(
        lines[1],
        r#"{"event":"stanza","ns":"jabber:client","name":"message","bytes":46,"xml":"<message><body>say \"hi\"\\\n\tnow</body></message>"}"#
    );
}
