//! Timers for the server core: a hierarchical timer wheel (Varghese & Lauck, as in tokio's
//! runtime wheel and tokio-util's `DelayQueue`) holding one entry per registered client.
//!
//! Owns the timer entries and the wheel's virtual clock. Sans-I/O: it never reads the system
//! clock or sleeps; the shell passes `now` (milliseconds from its own epoch) to
//! [`Wheel::poll_expired`] and sleeps until [`Wheel::next_deadline`]. It must not panic on any
//! sequence of calls, and it allocates only when its slab grows.
//!
//! Guarantees: no entry fires before its deadline, and polling at `t` returns every entry with
//! a deadline at or before `t`, in non-decreasing deadline order. Keys are generation-checked,
//! so a key whose entry fired or was cancelled finds nothing, even once its slot is reused.
//!
//! Layout: `level` holds the slot arithmetic (6 levels of 64 slots, 1 ms at level 0, each with an
//! `occupied` bitmap); `wheel` holds the slab of entries and the operations; `model_test` checks
//! the wheel against a sorted-set model over long seeded random runs.

mod level;
#[cfg(test)]
mod model_test;
mod wheel;

pub use wheel::{TimerKey, Wheel, WheelFull};
