//! A deterministic, realistic client-to-server stream for benchmarks:
//! what a busy client receives. Chat messages with bodies (multi-byte
//! UTF-8, entities), chat states, XEP-0359 ids and chat markers;
//! groupchat; presence with show, status, priority and XEP-0115 caps;
//! pings; roster results with 20 to 100 items; whitespace keepalives.

pub const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='c2s-4f7a9e1b' from='example.org' \
    to='juliet@example.org' version='1.0' xml:lang='en'>";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn id(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

const WORDS: &[&str] = &[
    "hello",
    "the",
    "meeting",
    "tomorrow",
    "café",
    "naïve",
    "Grüße",
    "über",
    "日本語",
    "テスト",
    "привет",
    "мир",
    "ok",
    "👍",
    "🎉",
    "and",
    "is",
    "at",
    "&amp;",
    "&lt;3",
    "&gt;",
    "&quot;quoted&quot;",
    "it&apos;s",
    "&#x263A;",
    "lunch",
    "code",
    "review",
    "deploy",
    "😀",
    "señor",
    "ça",
    "va",
    "time",
    "link:",
    "https://example.org/a?b=c&amp;d=e",
    "see",
    "you",
    "later",
    "Ελληνικά",
];
const USERS: &[&str] = &[
    "romeo",
    "juliet",
    "nurse",
    "mercutio",
    "benvolio",
    "tybalt",
    "paris",
    "capulet",
    "montague",
    "friar.laurence",
    "balthasar",
    "sampson",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "example.com",
    "im.example.net",
    "shakespeare.lit",
];
const RESOURCES: &[&str] = &[
    "phone",
    "laptop",
    "Conversations.x9f",
    "gajim.AB12CD",
    "web",
];
const SHOWS: &[&str] = &["away", "chat", "dnd", "xa"];
const STATUSES: &[&str] = &[
    "In a meeting",
    "Out for lunch 🍜",
    "Working from home",
    "Ne pas déranger",
    "Zzz…",
    "Back at 3 &amp; then busy",
    "Reading &lt;stuff&gt;",
];
const GROUPS: &[&str] = &[
    "Friends",
    "Family",
    "Work",
    "Capulets",
    "Montagues",
    "Verona",
];

fn jid(r: &mut Rng) -> String {
    format!("{}@{}", r.pick(USERS), r.pick(DOMAINS))
}

fn sentence(r: &mut Rng) -> String {
    let n = 3 + r.below(25);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(r.pick(WORDS));
    }
    s
}

/// The stream: header, `target_bytes` or more of stanzas, stream close.
/// Returns the bytes and the number of top-level elements.
pub fn generate(target_bytes: usize) -> (Vec<u8>, usize) {
    let mut r = Rng(0x5EED_1234_ABCD_0001);
    let mut out = String::with_capacity(target_bytes + 64 * 1024);
    out.push_str(HEADER);
    let mut stanzas = 0;
    while out.len() < target_bytes {
        let roll = r.below(100);
        let me = "juliet@example.org/balcony";
        match roll {
            0..=44 => {
                let from = format!("{}/{}", jid(&mut r), r.pick(RESOURCES));
                let id = r.id();
                out.push_str(&format!(
                    "<message from='{from}' to='{me}' type='chat' id='{id}' xml:lang='en'><body>{}</body>\
                     <active xmlns='http://jabber.org/protocol/chatstates'/>\
                     <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/>\
                     <stanza-id xmlns='urn:xmpp:sid:0' id='{}' by='juliet@example.org'/>\
                     <markable xmlns='urn:xmpp:chat-markers:0'/></message>",
                    sentence(&mut r),
                    r.id()
                ));
            }
            45..=52 => {
                let from = format!("{}/{}", jid(&mut r), r.pick(RESOURCES));
                let state = r.pick(&["composing", "paused", "inactive"]);
                out.push_str(&format!(
                    "<message from='{from}' to='{me}' type='chat' id='{}'>\
                     <{state} xmlns='http://jabber.org/protocol/chatstates'/>\
                     <no-store xmlns='urn:xmpp:hints'/></message>",
                    r.id()
                ));
            }
            53..=67 => {
                let room = r.pick(&["verona", "balcony-club", "capulet-hall"]);
                out.push_str(&format!(
                    "<message from='{room}@conference.example.org/{}' to='{me}' type='groupchat' id='{}'>\
                     <body>{}</body><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{}'/>\
                     <stanza-id xmlns='urn:xmpp:sid:0' id='{}' by='{room}@conference.example.org'/></message>",
                    r.pick(USERS),
                    r.id(),
                    sentence(&mut r),
                    r.id(),
                    r.id()
                ));
            }
            68..=87 => {
                let from = format!("{}/{}", jid(&mut r), r.pick(RESOURCES));
                let mut p = format!("<presence from='{from}' to='{me}'>");
                if r.below(3) > 0 {
                    p.push_str(&format!("<show>{}</show>", r.pick(SHOWS)));
                }
                if r.below(2) == 0 {
                    p.push_str(&format!("<status>{}</status>", r.pick(STATUSES)));
                }
                p.push_str(&format!(
                    "<priority>{}</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' \
                     node='https://conversations.im' ver='{}'/>",
                    r.below(50),
                    r.pick(&["q07IKJEyjvHSyhy//CH0CxmKi8w=", "IHcsF/tOTTp3qDoh9HAaXp7D6DU=", "QgayPKawpkPSDYmwT/WM94uAlu0="])
                ));
                if r.below(5) == 0 {
                    p.push_str("<x xmlns='vcard-temp:x:update'><photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x>");
                }
                p.push_str("</presence>");
                out.push_str(&p);
            }
            88..=93 => {
                let id = r.id();
                if r.below(2) == 0 {
                    out.push_str(&format!(
                        "<iq from='example.org' to='{me}' id='{id}' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"
                    ));
                } else {
                    out.push_str(&format!(
                        "<iq from='example.org' to='{me}' id='{id}' type='result'/>"
                    ));
                }
            }
            94..=95 => {
                let n = 20 + r.below(81);
                let mut q = format!(
                    "<iq to='{me}' id='{}' type='result'><query xmlns='jabber:iq:roster' ver='ver{}'>",
                    r.id(),
                    r.below(1000)
                );
                for i in 0..n {
                    let sub = r.pick(&["both", "to", "from", "none"]);
                    q.push_str(&format!(
                        "<item jid='{}{i}@{}' name='{} {}' subscription='{sub}'><group>{}</group></item>",
                        r.pick(USERS),
                        r.pick(DOMAINS),
                        r.pick(USERS),
                        r.pick(&["Capulet", "Montague", "d&apos;Este", "Müller"]),
                        r.pick(GROUPS)
                    ));
                }
                q.push_str("</query></iq>");
                out.push_str(&q);
            }
            _ => {
                out.push_str(if r.below(2) == 0 { " " } else { "\n" });
                continue;
            }
        }
        stanzas += 1;
    }
    out.push_str("</stream:stream>");
    (out.into_bytes(), stanzas)
}
