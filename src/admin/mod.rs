//! The admin HTTP/1.1 API's reusable transport: a sans-I/O connection ([`http::HttpConn`]), the
//! mio shell that serves it ([`listener::AdminListener`]), and the blocking client the
//! command-line tools use ([`client::AdminClient`]).
//!
//! Owns: HTTP/1.1 framing (RFC 9112), bounds on what one admin client can cost (buffer sizes,
//! connection count, idle time), and rendering responses. It must not decide routes, parse JSON
//! bodies or touch server state: the server core passes a handler `(&Request, now_ms) -> Response`.
//!
//! Invariants: a slow, silent or malicious client never blocks the event loop (all sockets are
//! non-blocking and every loop is budgeted) and never grows memory beyond its connection's
//! limits; bad input becomes an HTTP error response and a closed connection, never a panic.

pub mod client;
pub mod http;
pub mod listener;
