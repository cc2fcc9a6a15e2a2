//! `sippush bench`: measurements printed as figures (never timed tests).
//!
//! `bench parser` measures the SIP parser; `bench [options]` is the load generator.

mod fleet;
mod load;
mod parser;
mod stats;

use crate::cli::{AllocCounter, CliError};

/// Dispatch `sippush bench ...`.
pub fn run(args: &[String], allocs: AllocCounter) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        Some("parser") => parser::run(&args[1..], allocs),
        Some(other) if !other.starts_with('-') => Err(CliError::usage(format!(
            "unknown benchmark '{other}' (`sippush bench [options]` or `sippush bench parser`)"
        ))),
        _ => load::run(args),
    }
}
