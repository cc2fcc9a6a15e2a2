//! Measurement helpers for the load generator: a fixed-bucket latency histogram (no allocation
//! per sample), per-thread CPU time and process memory from /proc, and CPU pinning.

/// Sub-buckets per power of two: values are kept to within 1/16 (6%).
const SUB: usize = 16;
const BUCKETS: usize = 64 * SUB;

/// A log-linear histogram of microsecond values.
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            max: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros() as usize; // >= 4
    let shift = exp - 4;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((exp - 3) * SUB + sub).min(BUCKETS - 1)
}

fn lower_bound(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let exp = b / SUB + 3;
    let sub = (b % SUB) as u64;
    (SUB as u64 + sub) << (exp - 4)
}

impl Histogram {
    /// Record one value.
    pub fn record(&mut self, micros: u64) {
        self.counts[bucket(micros)] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    /// The largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1), as the lower bound of its bucket.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return lower_bound(b).min(self.max);
            }
        }
        self.max
    }
}

/// CPU time consumed so far by one thread of this process (ns), from
/// `/proc/self/task/<tid>/schedstat` (nanosecond resolution).
pub fn thread_cpu_ns(tid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// The calling thread's kernel thread id.
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Resident memory of this process (bytes), from /proc/self/status `VmRSS`.
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Pin thread `tid` to `cpu` with `taskset` (util-linux); false when that is not possible.
pub fn pin(tid: u32, cpu: usize) -> bool {
    std::process::Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), &tid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Number of CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_within_bucket_precision() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 5_000u64), (0.9, 9_000), (0.99, 9_900)] {
            let got = h.quantile(q);
            assert!(
                got <= want && got as f64 >= want as f64 * 0.93,
                "q{q}: {got} vs {want}"
            );
        }
        assert_eq!(h.max(), 10_000);
        assert_eq!(h.total, 10_000);
        assert_eq!(h.quantile(1.0), 10_000.min(lower_bound(bucket(10_000))));
        for v in [0u64, 1, 15, 16, 17, 1000, 1 << 40, u64::MAX] {
            assert!(lower_bound(bucket(v)) <= v, "{v}");
        }
    }

    #[test]
    fn proc_readers_work_here() {
        let tid = current_tid().expect("tid");
        assert!(thread_cpu_ns(tid).is_some());
        assert!(rss_bytes().unwrap() > 0);
    }
}
