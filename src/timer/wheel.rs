//! The hierarchical timer wheel: entries in a slab, threaded into intrusive per-slot lists.
//!
//! Owns every timer entry (deadline, links, generation and the caller's value) and the wheel's
//! notion of the current time. It never reads a clock: time only moves when the shell calls
//! [`Wheel::poll_expired`] with its `now`, and never backwards.
//!
//! Each entry is in exactly one list, decided by [`level::home`] from the wheel's time and the
//! entry's deadline: the pending list (due now), one slot of one level, or the overflow list
//! (more than one 2^36 ms block away). The wheel never stores which list that is; it recomputes
//! it, which is sound because the wheel's time only ever advances to the start of the earliest
//! non-empty slot (whose entries are then re-homed) or to a time before it, and neither moves
//! any other entry's home. Further invariants:
//! - every pending entry's deadline equals the wheel's time, so draining them in any order
//!   keeps expirations in non-decreasing deadline order;
//! - a level's `occupied` bit is set exactly when that slot's list is non-empty;
//! - links are `u32` slab indices, [`NIL`] ends a list, and no entry index reaches [`NIL`].
//!
//! Cost: insert, cancel and reset are O(1); a poll costs O(levels) plus O(1) per entry moved
//! down a level, however far time jumps (empty stretches of time cost nothing). The overflow
//! list is walked whole each time it comes due, which happens at most once per distinct 2^36 ms
//! block among its deadlines; entries that far out are not expected in practice. Once the slab
//! has capacity nothing allocates.

use std::fmt;
use std::num::NonZeroU32;

use slab::Slab;

use super::level::{self, Home, LEVELS, Level, NIL};

/// Generation-checked handle to a timer entry; a stale key (entry fired or cancelled, slot
/// reused) finds nothing.
///
/// Generations come from one wheel-wide counter, so a stale key could only name a new entry
/// after 2^32 further inserts that happen to reuse its slab slot on exactly that count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: NonZeroU32,
}

impl TimerKey {
    /// A key that names no entry of any wheel: its index is past the largest possible one.
    pub const DANGLING: TimerKey = TimerKey {
        index: NIL,
        generation: NonZeroU32::MIN,
    };
}

/// Refusal of [`Wheel::try_insert`]: the wheel already holds `u32::MAX` entries (one per
/// index short of the list terminator). Hands the value back.
#[derive(PartialEq, Eq)]
pub struct WheelFull<T>(pub T);

impl<T> fmt::Debug for WheelFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WheelFull(..)")
    }
}

impl<T> fmt::Display for WheelFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timer wheel is full")
    }
}

/// One timer. Kept small: a million of them live in the slab at once.
struct Entry<T> {
    /// When it fires; never earlier than the wheel's time when it was (re)set.
    deadline: u64,
    /// Neighbours in its list, or [`NIL`].
    prev: u32,
    next: u32,
    /// Must match the key's; non-zero so the slab's vacant variant can use it as a niche.
    generation: NonZeroU32,
    value: T,
}

/// A hierarchical timer wheel (Varghese & Lauck) over a virtual millisecond clock.
pub struct Wheel<T> {
    entries: Slab<Entry<T>>,
    levels: [Level; LEVELS],
    /// Due entries, all with deadline == `now`.
    pending: u32,
    /// Entries whose deadline is in a later 2^36 ms block than `now`.
    overflow: u32,
    /// The wheel's time: the latest `now` polled, or the start of the slot being emptied.
    now: u64,
    next_generation: NonZeroU32,
    /// Entry count at which inserts are refused; [`NIL`] outside tests.
    max_entries: usize,
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("now", &self.now)
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel whose clock stands at `now_ms` (milliseconds from the shell's epoch).
    pub fn new(now_ms: u64) -> Self {
        Self::with_capacity(now_ms, 0)
    }

    /// An empty wheel with room for `cap` entries before it allocates again. `cap` is capped
    /// at the most entries a wheel can hold (and, on 32-bit targets, at what can be allocated).
    pub fn with_capacity(now_ms: u64, cap: usize) -> Self {
        let max_entries = NIL as usize;
        // Half of isize::MAX bytes leaves room for the slab's own tag around each entry, so
        // `Vec::with_capacity` cannot hit its capacity-overflow panic.
        let allocatable = isize::MAX as usize / 2 / std::mem::size_of::<Entry<T>>().max(1);
        Wheel {
            entries: Slab::with_capacity(cap.min(max_entries).min(allocatable)),
            levels: [Level::EMPTY; LEVELS],
            pending: NIL,
            overflow: NIL,
            now: now_ms,
            next_generation: NonZeroU32::MIN,
            max_entries,
        }
    }

    /// The wheel's current time: the time last polled (or created with) once `poll_expired` has
    /// returned `None`; while a drain is under way, the deadline of the entries being returned.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of live entries (scheduled or due but not yet polled).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no live entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries fit before the slab must grow.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Schedules `value` at `deadline_ms`, in O(1). A deadline at or before the wheel's time
    /// fires at the next poll, and its recorded deadline becomes the wheel's time.
    ///
    /// Fails, handing the value back, only when the wheel already holds `u32::MAX` entries.
    pub fn try_insert(&mut self, deadline_ms: u64, value: T) -> Result<TimerKey, WheelFull<T>> {
        let index = self.entries.vacant_key();
        let index32 = match u32::try_from(index) {
            Ok(i) if index < self.max_entries => i,
            _ => return Err(WheelFull(value)),
        };
        let generation = self.next_generation;
        self.next_generation = generation.checked_add(1).unwrap_or(NonZeroU32::MIN);
        let deadline = deadline_ms.max(self.now);
        self.entries.insert(Entry {
            deadline,
            prev: NIL,
            next: NIL,
            generation,
            value,
        });
        self.link(index32, level::home(self.now, deadline));
        Ok(TimerKey {
            index: index32,
            generation,
        })
    }

    /// Schedules `value` at `deadline_ms`, in O(1); see [`Wheel::try_insert`]. On a full wheel
    /// the value is dropped, an error is logged and [`TimerKey::DANGLING`] is returned.
    pub fn insert(&mut self, deadline_ms: u64, value: T) -> TimerKey {
        match self.try_insert(deadline_ms, value) {
            Ok(key) => key,
            Err(full) => {
                log::error!("{full}: timer dropped");
                TimerKey::DANGLING
            }
        }
    }

    /// Removes the entry and returns its value, in O(1); `None` for a stale key.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let deadline = self.entry(key)?.deadline;
        self.unlink(key.index, level::home(self.now, deadline));
        self.entries
            .try_remove(key.index as usize)
            .map(|entry| entry.value)
    }

    /// The value of a live entry.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// The value of a live entry, mutably.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        (entry.generation == key.generation).then_some(&mut entry.value)
    }

    /// When a live entry fires: its deadline, or the wheel's time at the moment it was set if
    /// that was later.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.entry(key).map(|entry| entry.deadline)
    }

    /// Moves a live entry to `deadline_ms` (clamped up to the wheel's time like an insert), in
    /// O(1). The key stays valid. Returns `false`, changing nothing, for a stale key.
    pub fn reset(&mut self, key: TimerKey, deadline_ms: u64) -> bool {
        let Some(old) = self.entry(key).map(|entry| entry.deadline) else {
            return false;
        };
        let new = deadline_ms.max(self.now);
        let from = level::home(self.now, old);
        let to = level::home(self.now, new);
        if from != to {
            self.unlink(key.index, from);
        }
        if let Some(entry) = self.entries.get_mut(key.index as usize) {
            entry.deadline = new;
        }
        if from != to {
            self.link(key.index, to);
        }
        true
    }

    /// Advances the wheel to `now_ms` (never backwards; an earlier time counts as the wheel's
    /// own) and pops one entry whose deadline is at or before it, or `None`. Repeated calls
    /// drain every expired entry, in non-decreasing deadline order.
    pub fn poll_expired(&mut self, now_ms: u64) -> Option<(TimerKey, T)> {
        let now = now_ms.max(self.now);
        loop {
            if self.pending != NIL {
                return self.pop_pending();
            }
            match self.next_due() {
                Some((due, source)) if due <= now => self.cascade(source, due, now),
                _ => {
                    // Nothing comes due up to `now`, so moving the clock there moves no home.
                    self.now = now;
                    return None;
                }
            }
        }
    }

    /// The earliest time at which [`Wheel::poll_expired`] must be called again: never after the
    /// earliest deadline, earlier only when a coarser slot must be cascaded first. `None` when
    /// the wheel is empty.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.pending != NIL {
            Some(self.now)
        } else {
            self.next_due().map(|(due, _)| due)
        }
    }

    fn entry(&self, key: TimerKey) -> Option<&Entry<T>> {
        self.entries
            .get(key.index as usize)
            .filter(|entry| entry.generation == key.generation)
    }

    /// The earliest list that comes due, and when. The lowest non-empty level always holds it
    /// (see the level invariant); overflow comes due at the next 2^36 ms block.
    fn next_due(&self) -> Option<(u64, Home)> {
        for (level, slots) in (0u8..).zip(self.levels.iter()) {
            if let Some(slot) = slots.first_occupied() {
                let due = level::slot_start(self.now, level, slot);
                return Some((due, Home::Slot { level, slot }));
            }
        }
        if self.overflow != NIL {
            let due = level::next_block_start(self.now).unwrap_or(u64::MAX);
            return Some((due, Home::Overflow));
        }
        None
    }

    /// Sets the clock to when `source` comes due (at most `now`) and re-homes its entries:
    /// to pending if due, otherwise to a finer level.
    fn cascade(&mut self, source: Home, due: u64, now: u64) {
        let target = match source {
            // Jump straight to the block of the earliest parked deadline (or of `now`) rather
            // than stopping at every 2^36 ms block on the way to a distant `now`.
            Home::Overflow => {
                let earliest = self.min_deadline(self.overflow);
                due.max(level::block_start(earliest).min(level::block_start(now)))
            }
            _ => due,
        };
        self.now = self.now.max(target);
        let mut cursor = self.take(source);
        while let Some(entry) = self.entries.get(cursor as usize) {
            let (next, deadline) = (entry.next, entry.deadline);
            self.link(cursor, level::home(self.now, deadline));
            cursor = next;
        }
    }

    fn pop_pending(&mut self) -> Option<(TimerKey, T)> {
        let index = self.pending;
        let Some(entry) = self.entries.try_remove(index as usize) else {
            self.pending = NIL;
            return None;
        };
        self.pending = entry.next;
        if let Some(next) = self.entries.get_mut(entry.next as usize) {
            next.prev = NIL;
        }
        let key = TimerKey {
            index,
            generation: entry.generation,
        };
        Some((key, entry.value))
    }

    fn min_deadline(&self, head: u32) -> u64 {
        let mut earliest = u64::MAX;
        let mut cursor = head;
        while let Some(entry) = self.entries.get(cursor as usize) {
            earliest = earliest.min(entry.deadline);
            cursor = entry.next;
        }
        earliest
    }

    fn head_mut(&mut self, home: Home) -> Option<&mut u32> {
        match home {
            Home::Pending => Some(&mut self.pending),
            Home::Overflow => Some(&mut self.overflow),
            Home::Slot { level, slot } => self
                .levels
                .get_mut(usize::from(level))
                .map(|slots| slots.head_mut(slot)),
        }
    }

    fn update_occupied(&mut self, home: Home) {
        if let Home::Slot { level, slot } = home {
            if let Some(slots) = self.levels.get_mut(usize::from(level)) {
                slots.update_occupied(slot);
            }
        }
    }

    /// Detaches a whole list, returning its first entry.
    fn take(&mut self, home: Home) -> u32 {
        let head = self
            .head_mut(home)
            .map_or(NIL, |head| std::mem::replace(head, NIL));
        self.update_occupied(home);
        head
    }

    /// Pushes `index` on the front of `home`'s list.
    fn link(&mut self, index: u32, home: Home) {
        let Some(head) = self.head_mut(home) else {
            return;
        };
        let old_head = std::mem::replace(head, index);
        if let Some(entry) = self.entries.get_mut(index as usize) {
            entry.prev = NIL;
            entry.next = old_head;
        }
        if let Some(entry) = self.entries.get_mut(old_head as usize) {
            entry.prev = index;
        }
        self.update_occupied(home);
    }

    /// Removes `index` from `home`'s list, leaving its own links stale.
    fn unlink(&mut self, index: u32, home: Home) {
        let Some(entry) = self.entries.get(index as usize) else {
            return;
        };
        let (prev, next) = (entry.prev, entry.next);
        if prev == NIL {
            if let Some(head) = self.head_mut(home) {
                *head = next;
            }
            self.update_occupied(home);
        } else if let Some(entry) = self.entries.get_mut(prev as usize) {
            entry.next = next;
        }
        if let Some(entry) = self.entries.get_mut(next as usize) {
            entry.prev = prev;
        }
    }
}

#[cfg(test)]
impl<T> Wheel<T> {
    /// Panics if an invariant of the module docs is broken. Tests call it after mutations.
    pub(super) fn check_invariants(&self) {
        let mut seen = 0;
        seen += self.check_list(self.pending, Home::Pending);
        seen += self.check_list(self.overflow, Home::Overflow);
        for (level, slots) in (0u8..).zip(self.levels.iter()) {
            for (slot, &head) in (0u8..).zip(slots.heads.iter()) {
                let bit = slots.occupied >> slot & 1 == 1;
                assert_eq!(
                    bit,
                    head != NIL,
                    "occupied bit of level {level} slot {slot}"
                );
                seen += self.check_list(head, Home::Slot { level, slot });
            }
        }
        assert_eq!(seen, self.entries.len(), "entries outside every list");
    }

    fn check_list(&self, head: u32, home: Home) -> usize {
        let (mut prev, mut cursor, mut count) = (NIL, head, 0);
        while cursor != NIL {
            assert!(count < self.entries.len(), "cycle in {home:?}");
            let entry = &self.entries[cursor as usize];
            assert_eq!(entry.prev, prev, "back link in {home:?}");
            assert_eq!(
                level::home(self.now, entry.deadline),
                home,
                "entry in wrong list"
            );
            if home == Home::Pending {
                assert_eq!(
                    entry.deadline, self.now,
                    "pending entry not due exactly now"
                );
            }
            (prev, cursor, count) = (cursor, entry.next, count + 1);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains everything due at `now`, checking invariants after each pop.
    fn drain(wheel: &mut Wheel<u64>, now: u64) -> Vec<u64> {
        let mut fired = Vec::new();
        while let Some((_, value)) = wheel.poll_expired(now) {
            wheel.check_invariants();
            fired.push(value);
        }
        wheel.check_invariants();
        fired
    }

    #[test]
    fn slab_entry_for_u64_is_at_most_40_bytes() {
        // Mirrors slab 0.4's private `enum Entry<T> { Vacant(usize), Occupied(T) }`.
        #[allow(dead_code)]
        enum SlabSlot<T> {
            Vacant(usize),
            Occupied(T),
        }
        let entry = std::mem::size_of::<Entry<u64>>();
        let slot = std::mem::size_of::<SlabSlot<Entry<u64>>>();
        println!("size_of Entry<u64> = {entry}, slab slot = {slot}");
        assert!(slot <= 40, "slab slot is {slot} bytes");
    }

    #[test]
    fn fires_at_its_deadline_and_not_before() {
        let mut wheel = Wheel::new(0);
        let key = wheel.insert(10, 10);
        assert_eq!(wheel.poll_expired(9), None);
        assert_eq!(wheel.next_deadline(), Some(10));
        assert_eq!(wheel.poll_expired(10), Some((key, 10)));
        assert_eq!(wheel.poll_expired(10), None);
        assert_eq!(wheel.next_deadline(), None);
        assert!(wheel.is_empty());
    }

    #[test]
    fn past_deadline_fires_at_next_poll() {
        let mut wheel = Wheel::new(100);
        let late = wheel.insert(50, 50);
        let now = wheel.insert(100, 100);
        let zero = wheel.insert(0, 0);
        wheel.check_invariants();
        assert_eq!(wheel.deadline(late), Some(100), "recorded as due now");
        assert_eq!(wheel.next_deadline(), Some(100));
        let mut fired = drain(&mut wheel, 0); // an earlier `now` counts as the wheel's own
        fired.sort_unstable();
        assert_eq!(fired, [0, 50, 100]);
        assert_eq!(wheel.get(now), None);
        assert_eq!(wheel.get(zero), None);
    }

    #[test]
    fn cancel_removes_and_stale_cancel_finds_nothing() {
        let mut wheel = Wheel::new(0);
        let a = wheel.insert(10, 1);
        let b = wheel.insert(10, 2);
        assert_eq!(wheel.cancel(a), Some(1));
        assert_eq!(wheel.cancel(a), None);
        wheel.check_invariants();
        assert_eq!(wheel.len(), 1);
        assert_eq!(drain(&mut wheel, 1_000), [2]);
        assert_eq!(wheel.cancel(b), None, "fired key is stale");
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn stale_key_finds_nothing_after_fire_and_after_slot_reuse() {
        let mut wheel = Wheel::new(0);
        let old = wheel.insert(5, 1);
        assert_eq!(wheel.poll_expired(5), Some((old, 1)));
        let new = wheel.insert(7, 2);
        assert_eq!(new.index, old.index, "slab slot reused");
        assert_ne!(new, old);
        assert_eq!(wheel.get(old), None);
        assert_eq!(wheel.get_mut(old), None);
        assert_eq!(wheel.deadline(old), None);
        assert!(!wheel.reset(old, 1));
        assert_eq!(wheel.cancel(old), None);
        assert_eq!(wheel.get(new), Some(&2));
        assert_eq!(wheel.cancel(TimerKey::DANGLING), None);
        assert_eq!(drain(&mut wheel, 7), [2]);
    }

    #[test]
    fn reset_moves_earlier_and_later_and_keeps_the_key() {
        let mut wheel = Wheel::new(0);
        let early = wheel.insert(100_000, 1);
        let late = wheel.insert(10, 2);
        assert!(wheel.reset(early, 10));
        assert!(wheel.reset(late, 5_000));
        wheel.check_invariants();
        assert_eq!(wheel.poll_expired(10), Some((early, 1)));
        assert_eq!(wheel.poll_expired(4_999), None);
        assert_eq!(wheel.deadline(late), Some(5_000));
        *wheel.get_mut(late).unwrap_or(&mut 0) = 3;
        assert_eq!(wheel.poll_expired(5_000), Some((late, 3)));
        // Reset into the past: due at the next poll.
        let key = wheel.insert(9_000, 4);
        assert!(wheel.reset(key, 1));
        assert_eq!(wheel.deadline(key), Some(5_000));
        assert_eq!(wheel.poll_expired(5_000), Some((key, 4)));
        // Reset within the same slot, and out of the pending list.
        let key = wheel.insert(5_010, 5);
        assert!(wheel.reset(key, 5_011));
        let due = wheel.insert(0, 6);
        assert!(wheel.reset(due, 5_020));
        wheel.check_invariants();
        assert_eq!(drain(&mut wheel, 5_019), [5]);
        assert_eq!(drain(&mut wheel, 5_020), [6]);
    }

    #[test]
    fn deadlines_across_level_boundaries() {
        let deadlines = [
            63,
            64,
            65,
            4095,
            4096,
            1 << 30,
            (1 << 36) - 1,
            1 << 36,
            1 << 40,
        ];
        for &deadline in &deadlines {
            let mut wheel = Wheel::new(0);
            wheel.insert(deadline, deadline);
            wheel.check_invariants();
            assert!(wheel.next_deadline() <= Some(deadline));
            assert_eq!(drain(&mut wheel, deadline - 1), [], "early at {deadline}");
            assert!(wheel.next_deadline() <= Some(deadline));
            assert_eq!(
                drain(&mut wheel, deadline),
                [deadline],
                "late at {deadline}"
            );
        }
        // All in one wheel, polled at each deadline in turn, then in one big jump.
        let mut wheel = Wheel::new(0);
        for &deadline in deadlines.iter().rev() {
            wheel.insert(deadline, deadline);
        }
        for &deadline in &deadlines {
            assert_eq!(drain(&mut wheel, deadline), [deadline]);
        }
        let mut wheel = Wheel::new(0);
        for &deadline in deadlines.iter().rev() {
            wheel.insert(deadline, deadline);
        }
        assert_eq!(drain(&mut wheel, 1 << 40), deadlines);
    }

    #[test]
    fn next_deadline_steps_down_the_levels() {
        let mut wheel = Wheel::new(0);
        assert_eq!(wheel.next_deadline(), None);
        wheel.insert(5_000, 5_000);
        assert_eq!(
            wheel.next_deadline(),
            Some(4_096),
            "level 2 slot starts at 4096"
        );
        wheel.insert(10, 10);
        assert_eq!(wheel.next_deadline(), Some(10));
        assert_eq!(drain(&mut wheel, 10), [10]);
        assert_eq!(wheel.next_deadline(), Some(4_096));
        assert_eq!(drain(&mut wheel, 4_096), []);
        assert_eq!(
            wheel.next_deadline(),
            Some(4_992),
            "level 1 slot 14 of 4096..8191"
        );
        assert_eq!(drain(&mut wheel, 4_992), []);
        assert_eq!(wheel.next_deadline(), Some(5_000));
        assert_eq!(drain(&mut wheel, 5_000), [5_000]);
        // Beyond the top level: looked at again when the next 2^36 ms block starts.
        wheel.insert(1 << 40, 0);
        assert_eq!(wheel.next_deadline(), Some(1 << 36));
        wheel.insert(0, 0);
        assert_eq!(wheel.next_deadline(), Some(5_000), "due entry: now");
    }

    #[test]
    fn extreme_times_neither_panic_nor_stall() {
        let mut wheel = Wheel::new(0);
        let max = wheel.insert(u64::MAX, 1);
        wheel.insert(u64::MAX - 1, 2);
        wheel.insert(1 << 63, 3);
        for block in 1..100u64 {
            wheel.insert(block << 50, 4);
        }
        assert_eq!(drain(&mut wheel, u64::MAX - 2).len(), 100);
        assert_eq!(drain(&mut wheel, u64::MAX - 1), [2]);
        assert_eq!(wheel.next_deadline(), Some(u64::MAX));
        assert_eq!(wheel.poll_expired(u64::MAX), Some((max, 1)));
        // At the end of time everything is due at once.
        wheel.insert(u64::MAX, 5);
        wheel.insert(0, 6);
        assert_eq!(drain(&mut wheel, 3).len(), 2);
        assert_eq!(wheel.now(), u64::MAX);
    }

    #[test]
    fn time_never_goes_backwards() {
        let mut wheel = Wheel::new(0);
        assert_eq!(wheel.poll_expired(1_000), None);
        assert_eq!(wheel.poll_expired(5), None);
        assert_eq!(wheel.now(), 1_000);
        wheel.insert(500, 500);
        wheel.insert(1_001, 1_001);
        assert_eq!(drain(&mut wheel, 0), [500]);
        assert_eq!(drain(&mut wheel, 1_001), [1_001]);
    }

    /// A shell that sleeps until `next_deadline` sees every entry fire exactly on time, with a
    /// bounded number of extra wake-ups for cascades.
    #[test]
    fn shell_following_next_deadline_fires_everything_on_time() {
        let mut seed = 7u64;
        let mut wheel = Wheel::new(0);
        for _ in 0..2_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let deadline = (seed >> 20) >> (seed % 40);
            wheel.insert(deadline, deadline);
        }
        let (mut wakeups, mut fired) = (0, 0);
        while let Some(at) = wheel.next_deadline() {
            wakeups += 1;
            assert!(wakeups < 2_000 * (LEVELS + 2), "too many wake-ups");
            for deadline in drain(&mut wheel, at) {
                assert_eq!(deadline, at, "fired late");
                fired += 1;
            }
        }
        assert_eq!(fired, 2_000);
    }

    #[test]
    fn steady_state_does_not_grow_the_slab() {
        let mut wheel = Wheel::with_capacity(0, 1_000);
        let capacity = wheel.capacity();
        let mut keys = Vec::with_capacity(1_000);
        for now in 0..20_000u64 {
            while keys.len() < 1_000 {
                keys.push(wheel.insert(now + (now * 7919) % 3_000, now));
            }
            if now % 3 == 0 {
                let key = keys.swap_remove((now as usize * 31) % keys.len());
                wheel.cancel(key);
            }
            while let Some((key, _)) = wheel.poll_expired(now) {
                keys.retain(|k| *k != key);
            }
        }
        assert_eq!(wheel.capacity(), capacity);
    }

    #[test]
    fn full_wheel_refuses_without_panicking() {
        let mut wheel = Wheel::new(0);
        wheel.max_entries = 2;
        wheel.insert(1, 1);
        wheel.insert(2, 2);
        assert_eq!(wheel.try_insert(3, 3), Err(WheelFull(3)));
        assert_eq!(wheel.insert(3, 3), TimerKey::DANGLING);
        assert_eq!(wheel.len(), 2);
        assert_eq!(drain(&mut wheel, 10), [1, 2]);
    }
}
