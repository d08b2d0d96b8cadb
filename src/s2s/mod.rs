//! Server-to-server streams (RFC 6120, XEP-0220 Server Dialback,
//! XEP-0185 keys).

pub mod dialback;
