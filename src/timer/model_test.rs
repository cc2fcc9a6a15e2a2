//! Model test: the wheel against a sorted-set model over long seeded random runs.
//!
//! Each run mixes inserts (deadlines near, on level boundaries, very far, in the past, at
//! `u64::MAX`), cancels and resets of live and stale keys, value reads and writes, and clock
//! advances (small, huge, backwards, to the model's next deadline). After every advance the
//! fired `(key, value)` pairs must be exactly the model's due entries, in non-decreasing deadline
//! order; after every operation `len` must agree and `next_deadline` must not be later than the
//! model's earliest deadline. A failure names the seed and operation to replay.

use std::collections::{BTreeSet, HashMap};

use super::{TimerKey, Wheel};

/// SplitMix64: small, deterministic and good enough to drive a model test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`0` for `n == 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next().checked_rem(n).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// What the wheel should contain: deadlines are clamped up to the clock like the wheel's.
#[derive(Default)]
struct Model {
    now: u64,
    live: HashMap<TimerKey, (u64, u64)>,
    by_deadline: BTreeSet<(u64, u64)>,
}

impl Model {
    fn insert(&mut self, key: TimerKey, deadline: u64, value: u64) {
        let deadline = deadline.max(self.now);
        self.live.insert(key, (deadline, value));
        self.by_deadline.insert((deadline, value));
    }

    fn remove(&mut self, key: TimerKey) -> Option<(u64, u64)> {
        let (deadline, value) = self.live.remove(&key)?;
        self.by_deadline.remove(&(deadline, value));
        Some((deadline, value))
    }

    fn earliest(&self) -> Option<u64> {
        self.by_deadline.first().map(|&(deadline, _)| deadline)
    }
}

/// Keys handed out, live or stale, bounded so the run's memory is too.
const KEY_POOL: usize = 4_096;

fn random_deadline(rng: &mut Rng, now: u64) -> u64 {
    match rng.below(100) {
        0..30 => now.saturating_add(rng.below(64)),
        30..50 => now.saturating_add(rng.below(5_000)),
        // Just around a power of two away: level boundaries.
        50..65 => now
            .saturating_add(1 << rng.below(42))
            .saturating_sub(rng.below(3)),
        65..75 => {
            let bits = rng.below(50);
            now.saturating_add(rng.below(1 << bits))
        }
        75..82 => now.saturating_sub(rng.below(1_000)),
        82..87 => u64::MAX - rng.below(3),
        87..92 => rng.next(),
        _ => now.saturating_add(rng.below(1 << 37)),
    }
}

fn random_now(rng: &mut Rng, wheel: &Wheel<u64>, model: &Model) -> u64 {
    let now = model.now;
    match rng.below(100) {
        0..45 => now.saturating_add(rng.below(10)),
        45..65 => now.saturating_add(rng.below(5_000)),
        65..75 => now.saturating_add(1 << rng.below(45)),
        75..80 => now.saturating_sub(rng.below(100)),
        80..88 => model
            .earliest()
            .map_or(now, |t| t.saturating_sub(rng.below(2))),
        88..96 => wheel.next_deadline().unwrap_or(now),
        // Rarely, a jump over many 2^36 ms blocks.
        96..99 if rng.below(200) == 0 => now.saturating_add(1 << (50 + rng.below(13))),
        _ => now.saturating_add(rng.below(200)),
    }
}

/// Advances both to `now` and compares what fires.
fn advance(wheel: &mut Wheel<u64>, model: &mut Model, now: u64) -> Result<(), String> {
    model.now = model.now.max(now);
    let mut last = 0;
    while let Some((key, value)) = wheel.poll_expired(now) {
        let Some((deadline, expected)) = model.remove(key) else {
            return Err(format!("fired {key:?} (value {value}) which is not live"));
        };
        if value != expected {
            return Err(format!(
                "fired {key:?} with value {value}, expected {expected}"
            ));
        }
        if deadline > model.now {
            return Err(format!(
                "fired {key:?} early: deadline {deadline} at {}",
                model.now
            ));
        }
        if deadline < last {
            return Err(format!("fired deadline {deadline} after {last}"));
        }
        last = deadline;
    }
    match model.earliest() {
        Some(deadline) if deadline <= model.now => Err(format!(
            "deadline {deadline} not fired at {} ({} live)",
            model.now,
            model.live.len()
        )),
        _ => Ok(()),
    }
}

/// The wheel's view of one key (deadline and value, or nothing) must be the model's.
fn check_entry(wheel: &Wheel<u64>, model: &Model, key: TimerKey) -> Result<(), String> {
    let expected = model.live.get(&key).copied();
    let got = wheel.deadline(key).zip(wheel.get(key).copied());
    if got == expected {
        Ok(())
    } else {
        Err(format!("{key:?} reads {got:?}, model has {expected:?}"))
    }
}

fn check_agreement(wheel: &Wheel<u64>, model: &Model) -> Result<(), String> {
    if wheel.len() != model.live.len() {
        return Err(format!("len {} vs model {}", wheel.len(), model.live.len()));
    }
    match (wheel.next_deadline(), model.earliest()) {
        (None, None) => Ok(()),
        (Some(next), Some(earliest)) if next <= earliest && next >= wheel.now() => Ok(()),
        (next, earliest) => Err(format!(
            "next_deadline {next:?}, model earliest {earliest:?}, wheel now {}",
            wheel.now()
        )),
    }
}

fn step(
    rng: &mut Rng,
    wheel: &mut Wheel<u64>,
    model: &mut Model,
    keys: &mut Vec<TimerKey>,
    serial: u64,
) -> Result<(), String> {
    let chosen = rng.pick(keys).copied().unwrap_or(TimerKey::DANGLING);
    match rng.below(100) {
        0..35 => {
            let deadline = random_deadline(rng, model.now);
            let key = wheel.insert(deadline, serial);
            model.insert(key, deadline, serial);
            check_entry(wheel, model, key)?;
            if keys.len() < KEY_POOL {
                keys.push(key);
            } else if let Some(slot) = keys.get_mut(rng.below(KEY_POOL as u64) as usize) {
                *slot = key;
            }
        }
        35..47 => {
            let got = wheel.cancel(chosen);
            let expected = model.remove(chosen).map(|(_, value)| value);
            if got != expected {
                return Err(format!("cancel {chosen:?}: {got:?}, expected {expected:?}"));
            }
        }
        47..59 => {
            let deadline = random_deadline(rng, model.now);
            let moved = wheel.reset(chosen, deadline);
            let expected = model.remove(chosen);
            if let Some((_, value)) = expected {
                model.insert(chosen, deadline, value);
            }
            if moved != expected.is_some() {
                return Err(format!("reset {chosen:?} returned {moved}"));
            }
            check_entry(wheel, model, chosen)?;
        }
        59..65 => {
            check_entry(wheel, model, chosen)?;
            let expected = model.live.get(&chosen).copied();
            if let Some(value) = wheel.get_mut(chosen) {
                *value = serial;
                model.remove(chosen);
                if let Some((deadline, _)) = expected {
                    model.insert(chosen, deadline, serial);
                }
            }
        }
        _ => {
            let now = random_now(rng, wheel, model);
            advance(wheel, model, now)?;
        }
    }
    check_agreement(wheel, model)
}

/// One seeded run of `ops` operations, ending with a drain to the end of time.
fn run(seed: u64, ops: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let start = rng.below(1 << 40);
    let mut wheel = Wheel::new(start);
    let mut model = Model {
        now: start,
        ..Model::default()
    };
    let mut keys = Vec::with_capacity(KEY_POOL);
    for op in 0..ops {
        step(&mut rng, &mut wheel, &mut model, &mut keys, op)
            .map_err(|e| format!("op {op}: {e}"))?;
        if op % 64 == 0 {
            wheel.check_invariants();
            for &key in model.live.keys() {
                check_entry(&wheel, &model, key).map_err(|e| format!("op {op}: {e}"))?;
            }
        }
    }
    wheel.check_invariants();
    advance(&mut wheel, &mut model, u64::MAX).map_err(|e| format!("final drain: {e}"))?;
    wheel.check_invariants();
    if wheel.is_empty() {
        Ok(())
    } else {
        Err(format!("{} entries left at the end of time", wheel.len()))
    }
}

#[test]
fn wheel_matches_model_over_seeded_runs() {
    for seed in [1, 2, 3, 0xDEAD_BEEF] {
        if let Err(failure) = run(seed, 50_000) {
            panic!("model test failed with seed {seed:#x}: {failure} (replay: run({seed:#x}, ..))");
        }
    }
}
