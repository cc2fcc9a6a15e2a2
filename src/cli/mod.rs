//! The command line: `sippush <command> [options]`, parsed with getopts.
//!
//! Owns argument parsing and the mapping of errors to one-line messages and exit codes
//! (0 success, 1 failure of the task, 2 usage error). Each command lives in its own module
//! and does its own I/O; protocol logic lives in the sans-I/O cores.

mod client;
mod parse_cmd;
mod push;
pub(crate) mod serve;

use std::fmt;

/// Returns the number of heap allocations made so far by the process (provided by the binary's
/// counting allocator; tests pass a function that returns 0).
pub type AllocCounter = fn() -> u64;

/// A failure reported to the user as one line.
#[derive(Debug)]
pub struct CliError {
    /// Exit status.
    pub code: i32,
    /// The message, without the `sippush:` prefix.
    pub message: String,
}

impl CliError {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: 2,
            message: message.into(),
        }
    }
    /// A failure of the command (exit 1).
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<getopts::Fail> for CliError {
    fn from(e: getopts::Fail) -> CliError {
        CliError::usage(e.to_string())
    }
}

const USAGE: &str = "usage: sippush <command> [options]

commands:
  serve                 run the push server (SIP on udp 127.0.0.1:5060, admin on 127.0.0.1:8080)
  client                register as a client and print the control messages pushed to it
  push PAYLOAD|-        submit a control message on the admin API (--wait follows delivery)
  status ID             show the delivery status of a message
  parse FILE|-          parse one SIP message and explain it (exit 1 when invalid)
  bench parser          measure the SIP parser against httparse

run `sippush <command> --help` for a command's options";

/// Run the command line `args` (without the program name); returns the exit status.
pub fn run(args: &[String], allocs: AllocCounter) -> i32 {
    init_logging();
    let result = match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("-V" | "--version") => {
            println!("sippush {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("parse") => parse_cmd::run(&args[1..]),
        Some("serve") => serve::run(&args[1..]),
        Some("client") => client::run(&args[1..]),
        Some("push") => push::run_push(&args[1..]),
        Some("status") => push::run_status(&args[1..]),
        Some("bench") => crate::bench::run(&args[1..], allocs),
        Some(other) => Err(CliError::usage(format!(
            "unknown command '{other}' (try `sippush --help`)"
        ))),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sippush: {e}");
            e.code
        }
    }
}

/// Log to stderr at info level unless RUST_LOG says otherwise.
fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_millis()
        .try_init();
}

/// Parse options for a command; prints the help text and returns `None` on `--help`.
pub(crate) fn parse_opts(
    opts: &mut getopts::Options,
    args: &[String],
    brief: &str,
) -> Result<Option<getopts::Matches>, CliError> {
    opts.optflag("h", "help", "print this help");
    let m = opts.parse(args)?;
    if m.opt_present("help") {
        println!("{}", opts.usage(brief));
        return Ok(None);
    }
    Ok(Some(m))
}

/// Parse an option's value with `FromStr`, naming the option on error.
pub(crate) fn opt_value<T: std::str::FromStr>(
    m: &getopts::Matches,
    name: &str,
    default: T,
) -> Result<T, CliError> {
    match m.opt_str(name) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| CliError::usage(format!("invalid value '{s}' for --{name}"))),
    }
}
