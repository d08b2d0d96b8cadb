//! A DNS server on a loopback UDP port that answers SRV questions from a
//! fixed table (RFC 1035 §4 message format, RFC 2782 SRV RDATA) and says
//! NXDOMAIN to everything else: enough to point a resolver at.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};

/// One SRV record: priority, weight, port, target.
pub type Srv = (u16, u16, u16, &'static str);

pub struct Dns {
    pub addr: SocketAddr,
    /// The names asked for, in order.
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl Dns {
    /// Serves `table` (fully qualified names, with the final dot) from a
    /// thread until the process ends.
    pub fn start(table: Vec<(String, Vec<Srv>)>) -> Dns {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = asked.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    return;
                };
                if let Some((name, reply)) = answer(&buf[..n], &table) {
                    log.lock().unwrap().push(name);
                    let _ = socket.send_to(&reply, peer);
                }
            }
        });
        Dns { addr, asked }
    }
}

/// The question's name (lower case, with the final dot) and where the
/// question ends.
fn question(query: &[u8]) -> Option<(String, usize)> {
    let mut at = 12;
    let mut name = String::new();
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        let label = query.get(at..at + len)?;
        name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
        name.push('.');
        at += len;
    }
    // QTYPE and QCLASS.
    Some((name, at + 4))
}

fn answer(query: &[u8], table: &[(String, Vec<Srv>)]) -> Option<(String, Vec<u8>)> {
    if query.len() < 12 {
        return None;
    }
    let (name, end) = question(query)?;
    let qtype = u16::from_be_bytes([query[end - 4], query[end - 3]]);
    let records = table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        .map(|(_, r)| r.as_slice())
        .filter(|_| qtype == 33);
    let mut out = Vec::new();
    out.extend_from_slice(&query[..2]);
    // QR, opcode 0, AA, RD copied, RA; RCODE 3 (NXDOMAIN) without records.
    let rd = query[2] & 1;
    out.push(0x84 | rd);
    out.push(if records.is_some() { 0x80 } else { 0x83 });
    out.extend_from_slice(&1u16.to_be_bytes());
    let count = records.map_or(0, <[Srv]>::len) as u16;
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..end]);
    for &(priority, weight, port, target) in records.unwrap_or_default() {
        // The question's name, by pointer (RFC 1035 §4.1.4).
        out.extend_from_slice(&[0xc0, 12]);
        out.extend_from_slice(&33u16.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&60u32.to_be_bytes());
        let mut rdata = Vec::new();
        for v in [priority, weight, port] {
            rdata.extend_from_slice(&v.to_be_bytes());
        }
        for label in target.split('.').filter(|l| !l.is_empty()) {
            rdata.push(label.len() as u8);
            rdata.extend_from_slice(label.as_bytes());
        }
        rdata.push(0);
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some((name, out))
}
