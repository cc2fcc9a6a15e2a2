//! Running SIPp (`sipp`, Debian `sip-tester`) with the scenarios of `tests/sipp/`: as clients
//! run to completion (UAC), or as push receivers in the background (UAS) stopped with SIGUSR1,
//! its soft exit (no new calls, running calls finish, then the final statistics are written).
//!
//! SIPp binds three kinds of UDP ports: its SIP port (`-p`), the RTP echo ports (`-mp` and the
//! one two above; it always binds them) and its control port (`-cp`, on 0.0.0.0 unless `-ci`).
//! All are given as ephemeral ports on 127.0.0.1, probed free just before; when SIPp still
//! fails to bind one (exit "Unable to bind"), the run is retried with new ports.
//!
//! Results come from SIPp's own files, not its screen: the statistics (`-trace_stat -stf`,
//! final row), the error log (`-trace_err`) and the scenario's `<log>` lines (`-trace_logs`).

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::harness::{Guard, Scratch, free_udp_ports, scenario, wait_until};

const BIND_ATTEMPTS: usize = 5;

/// One SIPp invocation, built up then run or started.
pub struct Sipp {
    label: String,
    dir: PathBuf,
    scenario: PathBuf,
    remote: Option<SocketAddr>,
    contact_port: Option<u16>,
    args: Vec<String>,
}

/// What a finished SIPp left behind.
pub struct Outcome {
    pub label: String,
    pub status: ExitStatus,
    /// SIPp's own SIP port.
    pub port: u16,
    pub stats: Stats,
    /// The scenario's `<log>` lines.
    pub log: String,
    stderr: String,
    errors: String,
}

/// The final row of SIPp's statistics file, by column name.
pub struct Stats(HashMap<String, String>);

impl Sipp {
    /// SIPp as clients of the server at `server` (UAC), with scenario `file` of `tests/sipp/`.
    pub fn uac(scratch: &Scratch, label: &str, file: &str, server: SocketAddr) -> Sipp {
        let mut s = Sipp::uas(scratch, label, file);
        s.remote = Some(server);
        // A REGISTER that fails is no dialog: no BYE for it.
        s.args(&["-default_behaviors", "all,-bye"])
    }

    /// SIPp waiting for requests (UAS), with scenario `file` of `tests/sipp/`.
    pub fn uas(scratch: &Scratch, label: &str, file: &str) -> Sipp {
        Sipp {
            label: label.to_string(),
            dir: scratch.path().to_path_buf(),
            scenario: scenario(file),
            remote: None,
            contact_port: None,
            args: Vec::new(),
        }
    }

    /// More SIPp options.
    pub fn args(mut self, args: &[&str]) -> Sipp {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// The port for `[contact_port]` in the scenarios (default: SIPp's own SIP port).
    pub fn contact_port(mut self, port: u16) -> Sipp {
        self.contact_port = Some(port);
        self
    }

    fn file(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.label))
    }

    /// Spawn SIPp on fresh ports; returns the process and its SIP port.
    fn spawn(&self) -> (Guard, u16) {
        let ports = free_udp_ports(3, true);
        let (media, sip, control) = (ports[0], ports[1], ports[2]);
        for suffix in ["stat.csv", "errors.log", "log", "stderr"] {
            let _ = fs::remove_file(self.file(suffix));
        }
        let mut cmd = Command::new("sipp");
        if let Some(remote) = self.remote {
            cmd.arg(remote.to_string());
        }
        let contact = self.contact_port.unwrap_or(sip).to_string();
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        cmd.arg("-sf")
            .arg(&self.scenario)
            .args([
                "-t",
                "u1",
                "-i",
                "127.0.0.1",
                "-mi",
                "127.0.0.1",
                "-ci",
                "127.0.0.1",
            ])
            .args(["-p", &sip.to_string(), "-mp", &media.to_string()])
            .args(["-cp", &control.to_string()])
            .args(["-key", "contact_port", &contact])
            .args(["-nostdin", "-trace_stat", "-fd", "1", "-stf"])
            .arg(path(self.file("stat.csv")))
            .args(["-trace_err", "-error_file"])
            .arg(path(self.file("errors.log")))
            .args(["-trace_logs", "-log_file"])
            .arg(path(self.file("log")))
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(self.file("stderr")).expect("create sipp's stderr file"));
        let child = cmd.spawn().expect("start sipp");
        (Guard::new(&format!("sipp {}", self.label), child), sip)
    }

    /// True when a SIPp that exited with `status` could not bind one of its ports.
    fn bind_failed(&self, status: ExitStatus) -> bool {
        status.code() != Some(0)
            && fs::read_to_string(self.file("stderr"))
                .unwrap_or_default()
                .contains("Unable to bind")
    }

    /// Run to completion (UAC, with `-m`), at most `limit`.
    pub fn run(&self, limit: Duration) -> Outcome {
        for _ in 0..BIND_ATTEMPTS {
            let (mut guard, port) = self.spawn();
            let Some(status) = guard.wait_timeout(limit) else {
                drop(guard);
                panic!(
                    "sipp {} did not finish within {limit:?}\n{}",
                    self.label,
                    self.diagnostics()
                );
            };
            if !self.bind_failed(status) {
                return self.outcome(status, port);
            }
        }
        panic!(
            "sipp {}: no free ports in {BIND_ATTEMPTS} tries",
            self.label
        );
    }

    /// Start in the background (UAS); returns once SIPp has bound its ports and entered its
    /// traffic loop (it writes the statistics file's first row then).
    pub fn start(self) -> Running {
        for _ in 0..BIND_ATTEMPTS {
            let (mut guard, port) = self.spawn();
            let stat = self.file("stat.csv");
            wait_until(Duration::from_secs(10), || {
                stat.exists() || guard.try_status().is_some()
            });
            match guard.try_status() {
                None if stat.exists() => {
                    return Running {
                        sipp: self,
                        guard,
                        port,
                    };
                }
                None => panic!("sipp {} did not start within 10 s", self.label),
                Some(status) if self.bind_failed(status) => continue,
                Some(status) => {
                    panic!(
                        "sipp {} exited at start with {status}\n{}",
                        self.label,
                        self.diagnostics()
                    )
                }
            }
        }
        panic!(
            "sipp {}: no free ports in {BIND_ATTEMPTS} tries",
            self.label
        );
    }

    fn outcome(&self, status: ExitStatus, port: u16) -> Outcome {
        let stats = Stats::read(&self.file("stat.csv")).unwrap_or_else(|| {
            panic!("sipp {}: no statistics\n{}", self.label, self.diagnostics())
        });
        Outcome {
            label: self.label.clone(),
            status,
            port,
            stats,
            log: fs::read_to_string(self.file("log")).unwrap_or_default(),
            stderr: fs::read_to_string(self.file("stderr")).unwrap_or_default(),
            errors: fs::read_to_string(self.file("errors.log")).unwrap_or_default(),
        }
    }

    fn diagnostics(&self) -> String {
        let tail = |suffix: &str| {
            let text = fs::read_to_string(self.file(suffix)).unwrap_or_default();
            let start = text.len().saturating_sub(3000);
            text.get(start..).unwrap_or_default().to_string()
        };
        format!(
            "--- stderr:\n{}\n--- errors log:\n{}",
            tail("stderr"),
            tail("errors.log")
        )
    }
}

/// A SIPp in the background.
pub struct Running {
    sipp: Sipp,
    guard: Guard,
    /// Its SIP port.
    pub port: u16,
}

impl Running {
    /// Panics if SIPp has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.guard.try_status() {
            panic!(
                "sipp {} exited early with {status}\n{}",
                self.sipp.label,
                self.sipp.diagnostics()
            );
        }
    }

    /// SIGUSR1 (soft exit), then wait at most `limit` for the calls in progress to finish.
    pub fn stop(mut self, limit: Duration) -> Outcome {
        self.guard.signal("USR1");
        match self.guard.wait_timeout(limit) {
            Some(status) => self.sipp.outcome(status, self.port),
            None => panic!(
                "sipp {} did not exit within {limit:?} of SIGUSR1 (a call still waiting?)\n{}",
                self.sipp.label,
                self.sipp.diagnostics()
            ),
        }
    }
}

impl Stats {
    fn read(path: &PathBuf) -> Option<Stats> {
        let text = fs::read_to_string(path).ok()?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next()?.split(';').collect();
        let last: Vec<&str> = lines.next_back()?.split(';').collect();
        Some(Stats(
            header
                .iter()
                .zip(last)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    /// A cumulative counter, e.g. `FailedCall(C)`.
    pub fn get(&self, name: &str) -> u64 {
        self.0
            .get(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no counter {name} in the statistics"))
    }
}

impl Outcome {
    /// Exit status 0, no failed call, no unexpected message (in or out of a call); with
    /// `no_dead_calls`, also no message for a call that had already ended.
    pub fn assert_clean(&self, no_dead_calls: bool) {
        let mut counters = vec![
            "FailedCall(C)",
            "FailedUnexpectedMessage(C)",
            "OutOfCallMsgs(C)",
        ];
        if no_dead_calls {
            counters.push("DeadCallMsgs(C)");
        }
        let bad: Vec<String> = counters
            .iter()
            .filter(|c| self.stats.get(c) != 0)
            .map(|c| format!("{c} = {}", self.stats.get(c)))
            .collect();
        assert!(
            self.status.code() == Some(0) && bad.is_empty(),
            "sipp {} ended with {} and {bad:?}\n--- stderr:\n{}\n--- errors log:\n{}",
            self.label,
            self.status,
            self.stderr,
            self.errors
        );
    }

    /// Calls created (incoming or outgoing) and successful.
    pub fn calls(&self) -> (u64, u64) {
        (
            self.stats.get("IncomingCall(C)") + self.stats.get("OutgoingCall(C)"),
            self.stats.get("SuccessfulCall(C)"),
        )
    }

    /// One line for the test's output.
    pub fn summary(&self) -> String {
        let (created, ok) = self.calls();
        format!(
            "sipp {}: {created} calls, {ok} successful, {} retransmissions, {} dead-call messages",
            self.label,
            self.stats.get("Retransmissions(C)"),
            self.stats.get("DeadCallMsgs(C)"),
        )
    }
}

/// Write a SIPp injection file: `SEQUENTIAL`, then one `field0;field1` line per client.
pub fn write_injection(path: &PathBuf, clients: &[(String, String)]) {
    let mut text = String::from("SEQUENTIAL\n");
    for (id, classes) in clients {
        text.push_str(&format!("{id};{classes}\n"));
    }
    fs::write(path, text).expect("write the injection file");
}
