//! `sippush bench`: measurements printed as figures (never timed tests).
//!
//! `bench parser` measures the SIP parser; the load generator (`bench` without a
//! sub-benchmark) is added by the client-side work.

mod parser;

use crate::cli::{AllocCounter, CliError};

/// Dispatch `sippush bench ...`.
pub fn run(args: &[String], allocs: AllocCounter) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        Some("parser") => parser::run(&args[1..], allocs),
        Some(other) => Err(CliError::usage(format!(
            "unknown benchmark '{other}' (available: parser)"
        ))),
        None => Err(CliError::usage("usage: sippush bench parser [--json]")),
    }
}
