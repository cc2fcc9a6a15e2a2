//! Counters of everything the server does and drops, rendered in the Prometheus text format
//! (version 0.0.4) for `GET /metrics`.

use std::fmt::Write;

use crate::sip::ErrorKind;

/// Why a datagram or a response was dropped without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// Not SIP at all (framing failed).
    Garbage,
    /// A malformed request lacking what a response needs (Via, From, To, Call-ID, CSeq).
    Unanswerable,
    /// A malformed response (never answered, RFC 3261 §18.1.2).
    BadResponse,
    /// A response whose branch is not one of ours.
    UnmatchedResponse,
    /// A response to a transaction that already ended (a duplicate or late answer).
    LateResponse,
    /// An ACK (never answered).
    Ack,
    /// A request from the server's own address (a loop).
    Loop,
}

impl Drop {
    const ALL: [Drop; 7] = [
        Drop::Garbage,
        Drop::Unanswerable,
        Drop::BadResponse,
        Drop::UnmatchedResponse,
        Drop::LateResponse,
        Drop::Ack,
        Drop::Loop,
    ];
    fn label(self) -> &'static str {
        match self {
            Drop::Garbage => "garbage",
            Drop::Unanswerable => "unanswerable",
            Drop::BadResponse => "bad_response",
            Drop::UnmatchedResponse => "unmatched_response",
            Drop::LateResponse => "late_response",
            Drop::Ack => "ack",
            Drop::Loop => "loop",
        }
    }
}

/// Every counter; the server increments them, the shell fills `shell`.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// New clients added by REGISTER.
    pub registrations: u64,
    /// REGISTERs from known clients (refreshes, including re-REGISTER heartbeats).
    pub refreshes: u64,
    /// Clients removed by their own REGISTER (Expires: 0).
    pub deregistrations: u64,
    /// Clients removed because they went silent.
    pub expirations: u64,
    /// OPTIONS heartbeats from registered clients.
    pub heartbeats_options: u64,
    /// OPTIONS from unknown sources (capability queries).
    pub options_unknown: u64,
    /// CRLF keep-alives answered.
    pub keepalives: u64,
    /// REGISTERs refused (423, 500, 503, 400 on content).
    pub registrations_refused: u64,
    /// Control messages accepted by the admin API.
    pub messages_submitted: u64,
    /// Deliveries created (one per target of a message).
    pub deliveries_created: u64,
    /// MESSAGE requests sent, first transmissions.
    pub messages_sent: u64,
    /// MESSAGE retransmissions (Timer E).
    pub retransmissions: u64,
    /// Transactions that timed out (Timer F) and were restarted.
    pub transaction_timeouts: u64,
    /// Deliveries acknowledged with 2xx.
    pub acks: u64,
    /// Deliveries ended by a non-2xx final response.
    pub failures: u64,
    /// Deliveries failed because the client's queue overflowed.
    pub queue_overflows: u64,
    /// Deliveries ended by their message's TTL.
    pub ttl_expiries: u64,
    /// Provisional responses received.
    pub provisional: u64,
    /// Parse errors by kind.
    pub parse_errors: [u64; ErrorKind::ALL.len()],
    /// Drops by reason.
    pub drops: [u64; Drop::ALL.len()],
    /// SIP responses sent, by status class (1xx..6xx at index 1..6).
    pub responses_sent: [u64; 7],
    /// Admin requests by status code.
    pub admin_requests: Vec<(u16, u64)>,
    /// Counters the shell maintains.
    pub shell: ShellCounters,
}

/// Counters only the I/O shell can know.
#[derive(Default, Debug, Clone)]
pub struct ShellCounters {
    /// Poll loop iterations.
    pub loop_iterations: u64,
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Send errors other than WouldBlock.
    pub send_errors: u64,
    /// Receive errors other than WouldBlock (ICMP port unreachable reports and the like).
    pub recv_errors: u64,
    /// The kernel's UDP receive-buffer drops (/proc/net/snmp `RcvbufErrors`), system-wide.
    pub udp_rcvbuf_errors: u64,
    /// The kernel's UDP send-buffer drops (`SndbufErrors`), system-wide.
    pub udp_sndbuf_errors: u64,
    /// Datagrams truncated because they exceeded the receive buffer.
    pub oversize_datagrams: u64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            registrations: 0,
            refreshes: 0,
            deregistrations: 0,
            expirations: 0,
            heartbeats_options: 0,
            options_unknown: 0,
            keepalives: 0,
            registrations_refused: 0,
            messages_submitted: 0,
            deliveries_created: 0,
            messages_sent: 0,
            retransmissions: 0,
            transaction_timeouts: 0,
            acks: 0,
            failures: 0,
            queue_overflows: 0,
            ttl_expiries: 0,
            provisional: 0,
            parse_errors: [0; ErrorKind::ALL.len()],
            drops: [0; Drop::ALL.len()],
            responses_sent: [0; 7],
            admin_requests: Vec::new(),
            shell: ShellCounters::default(),
        }
    }
}

impl Metrics {
    /// Count a drop.
    pub fn drop(&mut self, reason: Drop) {
        self.drops[reason as usize] += 1;
    }

    /// Count a parse error.
    pub fn parse_error(&mut self, kind: ErrorKind) {
        self.parse_errors[kind.index()] += 1;
    }

    /// Count an admin request answered with `code`.
    pub fn admin(&mut self, code: u16) {
        match self.admin_requests.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => self.admin_requests.push((code, 1)),
        }
    }

    /// Count a SIP response sent.
    pub fn response_sent(&mut self, code: u16) {
        self.responses_sent[(code / 100).min(6) as usize] += 1;
    }

    /// Total of drops.
    pub fn drops_total(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Render in the Prometheus text format; `gauges` are the current levels.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut s = String::with_capacity(4096);
        let counter = |s: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                s,
                "# HELP sippush_{name} {help}\n# TYPE sippush_{name} counter\nsippush_{name} {v}"
            );
        };
        counter(
            &mut s,
            "registrations_total",
            "Clients added by REGISTER.",
            self.registrations,
        );
        counter(
            &mut s,
            "registration_refreshes_total",
            "REGISTERs refreshing a known client.",
            self.refreshes,
        );
        counter(
            &mut s,
            "deregistrations_total",
            "Clients removed by REGISTER with expiry 0.",
            self.deregistrations,
        );
        counter(
            &mut s,
            "expirations_total",
            "Clients removed after going silent.",
            self.expirations,
        );
        counter(
            &mut s,
            "registrations_refused_total",
            "REGISTERs answered with an error.",
            self.registrations_refused,
        );
        counter(
            &mut s,
            "heartbeats_total",
            "OPTIONS heartbeats from registered clients.",
            self.heartbeats_options,
        );
        counter(
            &mut s,
            "options_unknown_total",
            "OPTIONS from unregistered sources.",
            self.options_unknown,
        );
        counter(
            &mut s,
            "keepalives_total",
            "CRLF keep-alives answered.",
            self.keepalives,
        );
        counter(
            &mut s,
            "messages_submitted_total",
            "Control messages accepted by the admin API.",
            self.messages_submitted,
        );
        counter(
            &mut s,
            "deliveries_total",
            "Deliveries created (one per target).",
            self.deliveries_created,
        );
        counter(
            &mut s,
            "message_requests_sent_total",
            "SIP MESSAGE first transmissions.",
            self.messages_sent,
        );
        counter(
            &mut s,
            "retransmissions_total",
            "SIP MESSAGE retransmissions (Timer E).",
            self.retransmissions,
        );
        counter(
            &mut s,
            "transaction_timeouts_total",
            "MESSAGE transactions timed out (Timer F) and restarted.",
            self.transaction_timeouts,
        );
        counter(
            &mut s,
            "acks_total",
            "Deliveries acknowledged with 2xx.",
            self.acks,
        );
        counter(
            &mut s,
            "delivery_failures_total",
            "Deliveries ended by a non-2xx final response.",
            self.failures,
        );
        counter(
            &mut s,
            "queue_overflows_total",
            "Deliveries failed by a full client queue.",
            self.queue_overflows,
        );
        counter(
            &mut s,
            "ttl_expiries_total",
            "Deliveries ended by their message's TTL.",
            self.ttl_expiries,
        );
        counter(
            &mut s,
            "provisional_responses_total",
            "Provisional responses received.",
            self.provisional,
        );
        let _ = writeln!(
            s,
            "# HELP sippush_parse_errors_total SIP messages that failed to parse, by kind.\n# TYPE sippush_parse_errors_total counter"
        );
        for k in ErrorKind::ALL {
            let _ = writeln!(
                s,
                "sippush_parse_errors_total{{kind=\"{}\"}} {}",
                k.label(),
                self.parse_errors[k.index()]
            );
        }
        let _ = writeln!(
            s,
            "# HELP sippush_drops_total Datagrams dropped without an answer, by reason.\n# TYPE sippush_drops_total counter"
        );
        for d in Drop::ALL {
            let _ = writeln!(
                s,
                "sippush_drops_total{{reason=\"{}\"}} {}",
                d.label(),
                self.drops[d as usize]
            );
        }
        let _ = writeln!(
            s,
            "# HELP sippush_sip_responses_sent_total SIP responses sent, by class.\n# TYPE sippush_sip_responses_sent_total counter"
        );
        for c in 1..=6 {
            let _ = writeln!(
                s,
                "sippush_sip_responses_sent_total{{class=\"{c}xx\"}} {}",
                self.responses_sent[c]
            );
        }
        let _ = writeln!(
            s,
            "# HELP sippush_admin_requests_total Admin API requests, by status code.\n# TYPE sippush_admin_requests_total counter"
        );
        let mut codes = self.admin_requests.clone();
        codes.sort_unstable();
        for (code, n) in codes {
            let _ = writeln!(s, "sippush_admin_requests_total{{code=\"{code}\"}} {n}");
        }
        let sh = &self.shell;
        counter(
            &mut s,
            "loop_iterations_total",
            "Event loop iterations.",
            sh.loop_iterations,
        );
        counter(
            &mut s,
            "datagrams_received_total",
            "UDP datagrams received.",
            sh.datagrams_in,
        );
        counter(
            &mut s,
            "datagrams_sent_total",
            "UDP datagrams sent.",
            sh.datagrams_out,
        );
        counter(
            &mut s,
            "recv_errors_total",
            "UDP receive errors (ICMP reports and the like).",
            sh.recv_errors,
        );
        counter(
            &mut s,
            "send_errors_total",
            "UDP send errors.",
            sh.send_errors,
        );
        counter(
            &mut s,
            "oversize_datagrams_total",
            "Datagrams larger than the receive buffer (truncated, dropped).",
            sh.oversize_datagrams,
        );
        counter(
            &mut s,
            "udp_rcvbuf_errors_total",
            "Kernel UDP receive-buffer drops (system-wide, /proc/net/snmp).",
            sh.udp_rcvbuf_errors,
        );
        counter(
            &mut s,
            "udp_sndbuf_errors_total",
            "Kernel UDP send-buffer drops (system-wide, /proc/net/snmp).",
            sh.udp_sndbuf_errors,
        );
        let gauge = |s: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                s,
                "# HELP sippush_{name} {help}\n# TYPE sippush_{name} gauge\nsippush_{name} {v}"
            );
        };
        gauge(
            &mut s,
            "registered_clients",
            "Clients in the application table.",
            gauges.clients,
        );
        gauge(
            &mut s,
            "inflight_transactions",
            "MESSAGE transactions outstanding.",
            gauges.inflight,
        );
        gauge(
            &mut s,
            "queued_deliveries",
            "Deliveries waiting (queued or parked for absent clients).",
            gauges.queued,
        );
        gauge(
            &mut s,
            "active_messages",
            "Control messages not yet complete.",
            gauges.active_messages,
        );
        gauge(
            &mut s,
            "timers",
            "Entries in the timer wheel.",
            gauges.timers,
        );
        s
    }
}

/// Current levels reported with the counters.
#[derive(Default, Debug, Clone, Copy)]
pub struct Gauges {
    /// Registered clients.
    pub clients: u64,
    /// Outstanding transactions.
    pub inflight: u64,
    /// Waiting deliveries.
    pub queued: u64,
    /// Messages not complete.
    pub active_messages: u64,
    /// Timer wheel entries.
    pub timers: u64,
}
