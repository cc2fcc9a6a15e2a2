//! A live capture on the loopback interface with tshark, and its dissection.
//!
//! tshark only dissects UDP as SIP on port 5060 by default, so every read decodes the server's
//! port as SIP (`-d udp.port==PORT,sip`); the capture filter keeps that port, so each
//! datagram the server received or sent is in the file exactly once (with the test's own
//! probe datagrams on another port, which no read counts).

use std::fs;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::harness::{Guard, Scratch, wait_until};

/// A running `tshark -i lo` writing to a file.
pub struct Capture {
    guard: Guard,
    file: PathBuf,
    stderr: PathBuf,
    port: u16,
}

impl Capture {
    /// Capture `udp port PORT` on `lo`; returns once the capture is live. tshark's "Capturing
    /// on" comes a little before dumpcap really receives, so the test sends probe datagrams
    /// to a port of its own (captured too, never decoded as SIP) until tshark prints one.
    pub fn start(scratch: &Scratch, port: u16) -> Capture {
        let file = scratch.file("capture.pcapng");
        let stdout = scratch.file("tshark.stdout");
        let stderr = scratch.file("tshark.stderr");
        let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a probe socket");
        let probe_addr = probe.local_addr().expect("probe address");
        let filter = format!("udp port {port} or udp port {}", probe_addr.port());
        let child = Command::new("tshark")
            .args(["-i", "lo", "-f", &filter, "-l", "-P", "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("create tshark's stdout file"))
            .stderr(fs::File::create(&stderr).expect("create tshark's stderr file"))
            .process_group(0)
            .spawn()
            .expect("start tshark");
        let mut guard = Guard::group_leader("tshark", child);
        let live = wait_until(Duration::from_secs(20), || {
            let _ = probe.send_to(b"probe", probe_addr);
            fs::metadata(&stdout).is_ok_and(|m| m.len() > 0) || guard.try_status().is_some()
        });
        assert!(
            live && guard.try_status().is_none(),
            "tshark did not capture on lo (it needs root or the capture capabilities):\n{}",
            fs::read_to_string(&stderr).unwrap_or_default()
        );
        Capture {
            guard,
            file,
            stderr,
            port,
        }
    }

    /// Stop the capture (SIGINT: tshark writes out what it has and exits).
    pub fn stop(mut self) -> Dissector {
        self.guard.signal("INT");
        let status = self.guard.wait_timeout(Duration::from_secs(15));
        assert!(
            status.is_some_and(|s| s.success()),
            "tshark did not end cleanly ({status:?}):\n{}",
            fs::read_to_string(&self.stderr).unwrap_or_default()
        );
        Dissector {
            file: self.file.clone(),
            port: self.port,
        }
    }
}

/// Reads of a finished capture.
pub struct Dissector {
    file: PathBuf,
    port: u16,
}

impl Dissector {
    /// `tshark -r FILE -d udp.port==PORT,sip -Y FILTER -T fields -e ...`: one row per packet,
    /// fields separated by `|`. Panics if tshark fails (a bad filter, an unreadable file) or
    /// takes more than 30 s.
    pub fn fields(&self, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let out = self.file.with_extension("fields.txt");
        let err = self.file.with_extension("fields.stderr");
        let mut cmd = Command::new("tshark");
        cmd.arg("-r")
            .arg(&self.file)
            .args(["-d", &format!("udp.port=={},sip", self.port)])
            .args(["-Y", filter, "-T", "fields", "-E", "separator=|"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("create tshark's output file"))
            .stderr(fs::File::create(&err).expect("create tshark's stderr file"))
            .spawn()
            .expect("run tshark -r");
        let status = Guard::new("tshark -r", child).wait_timeout(Duration::from_secs(30));
        assert!(
            status.is_some_and(|s| s.success()),
            "tshark -r with filter {filter:?} failed ({status:?}):\n{}",
            fs::read_to_string(&err).unwrap_or_default()
        );
        fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect()
    }

    /// Every packet on the server's port, whether tshark dissects it as SIP or not.
    pub fn udp_packets(&self) -> usize {
        self.fields(&format!("udp.port == {}", self.port), &["frame.number"])
            .len()
    }
}
