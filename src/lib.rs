//! sippush: a single-threaded SIP server that pushes control messages to very large fleets of
//! registered clients and retransmits until each one acknowledges.
//!
//! The library is a set of sans-I/O cores (time comes in as a `now` argument, bytes in and out)
//! plus thin mio shells; see README.md for the architecture.
#![forbid(unsafe_code)]

pub mod admin;
pub mod agent;
pub mod bench;
pub mod cli;
pub mod handle;
pub mod json;
pub mod rand;
pub mod registry;
pub mod server;
pub mod sip;
pub mod timer;
