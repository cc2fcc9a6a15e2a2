//! Slot arithmetic of the wheel: which list an entry belongs in, and when a slot comes due.
//!
//! Owns the constants of the hierarchy (6 levels of 64 slots, millisecond ticks, a span of
//! 2^36 ms ≈ 2.2 years) and the per-level bitmap of non-empty slots. It holds no entries and
//! knows nothing of the slab: a slot is only the index of the first entry of an intrusive list.
//!
//! Invariant kept by the wheel and relied on here: with the wheel at time `now`, an entry with
//! deadline `d > now` sits at the level of the highest bit in which `now` and `d` differ (six bits
//! per level, as tokio does), in the slot given by `d`'s bits for that level. So every entry of
//! level `L` shares `now`'s level-`L + 1` block and lies in a slot strictly after `now`'s own
//! slot; the lowest non-empty level therefore always holds the earliest slot to come due.

/// Bits of the deadline consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level; the width of the `occupied` bitmap.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Levels of the hierarchy.
pub(super) const LEVELS: usize = 6;
/// Bits of time covered by the whole hierarchy: deadlines that differ from `now` above this go
/// to the overflow list.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Mask of the time bits within one span-sized block.
const SPAN_MASK: u64 = (1 << SPAN_BITS) - 1;
/// The "no entry" index that ends an intrusive list.
pub(super) const NIL: u32 = u32::MAX;

/// The list an entry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Home {
    /// Due (deadline <= the wheel's time): returned by the next polls.
    Pending,
    /// Slot `slot` of level `level`; both in range by construction in [`home`].
    Slot { level: u8, slot: u8 },
    /// Deadline in a later 2^36 ms block than the wheel's time: parked until that block.
    Overflow,
}

/// Where an entry with `deadline` belongs when the wheel stands at `now`.
pub(super) fn home(now: u64, deadline: u64) -> Home {
    if deadline <= now {
        return Home::Pending;
    }
    // The low bits are ored in so that level 0 covers differences of up to 63 ms.
    let differing = (now ^ deadline) | (SLOTS as u64 - 1);
    if differing > SPAN_MASK {
        return Home::Overflow;
    }
    let highest_bit = 63 - differing.leading_zeros();
    let level = highest_bit / SLOT_BITS; // at most 5: highest_bit < 36
    let slot = (deadline >> (level * SLOT_BITS)) & (SLOTS as u64 - 1);
    Home::Slot {
        level: level as u8,
        slot: slot as u8,
    }
}

/// The time at which `slot` of `level` comes due (its first millisecond) with the wheel at
/// `now`. By the invariant above it is after `now` for any occupied slot.
pub(super) fn slot_start(now: u64, level: u8, slot: u8) -> u64 {
    // Checked shifts keep this total even for a level out of range (which `home` never makes).
    let slot_bits = u32::from(level) * SLOT_BITS;
    let block_mask = u64::MAX.checked_shl(slot_bits + SLOT_BITS).unwrap_or(0);
    (now & block_mask) | u64::from(slot).checked_shl(slot_bits).unwrap_or(0)
}

/// The start of the 2^36 ms block after the one holding `now`: when the overflow list must be
/// looked at again. `None` in the last block of `u64`, where nothing can overflow.
pub(super) fn next_block_start(now: u64) -> Option<u64> {
    (now | SPAN_MASK).checked_add(1)
}

/// The start of the 2^36 ms block holding `t`.
pub(super) fn block_start(t: u64) -> u64 {
    t & !SPAN_MASK
}

/// One level: the first entry of each slot's list and a bitmap of the non-empty slots.
#[derive(Debug)]
pub(super) struct Level {
    /// Bit `s` is set exactly when `heads[s] != NIL`.
    pub(super) occupied: u64,
    /// First entry of each slot's list, or [`NIL`].
    pub(super) heads: [u32; SLOTS],
}

impl Level {
    pub(super) const EMPTY: Level = Level {
        occupied: 0,
        heads: [NIL; SLOTS],
    };

    /// The first entry of `slot`'s list (masked into range, so never out of bounds).
    pub(super) fn head_mut(&mut self, slot: u8) -> &mut u32 {
        &mut self.heads[usize::from(slot) & (SLOTS - 1)]
    }

    /// Records whether `slot`'s list is empty, from its head.
    pub(super) fn update_occupied(&mut self, slot: u8) {
        let bit = 1u64 << (slot & (SLOTS as u8 - 1));
        if *self.head_mut(slot) == NIL {
            self.occupied &= !bit;
        } else {
            self.occupied |= bit;
        }
    }

    /// The earliest non-empty slot. Occupied slots all lie after the current one, so the
    /// lowest set bit is the earliest without rotating the bitmap.
    pub(super) fn first_occupied(&self) -> Option<u8> {
        if self.occupied == 0 {
            None
        } else {
            Some(self.occupied.trailing_zeros() as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_picks_level_from_highest_differing_bit() {
        assert_eq!(home(0, 0), Home::Pending);
        assert_eq!(home(10, 3), Home::Pending);
        assert_eq!(home(0, 1), Home::Slot { level: 0, slot: 1 });
        assert_eq!(home(0, 63), Home::Slot { level: 0, slot: 63 });
        assert_eq!(home(0, 64), Home::Slot { level: 1, slot: 1 });
        assert_eq!(home(0, 4095), Home::Slot { level: 1, slot: 63 });
        assert_eq!(home(0, 4096), Home::Slot { level: 2, slot: 1 });
        assert_eq!(home(0, 1 << 30), Home::Slot { level: 5, slot: 1 });
        assert_eq!(home(0, (1 << 36) - 1), Home::Slot { level: 5, slot: 63 });
        assert_eq!(home(0, 1 << 36), Home::Overflow);
        assert_eq!(home(0, 1 << 40), Home::Overflow);
        assert_eq!(home(0, u64::MAX), Home::Overflow);
        // Near each other but across a level-1 boundary: 63 -> 64 differ in bit 6.
        assert_eq!(home(63, 64), Home::Slot { level: 1, slot: 1 });
        assert_eq!(home(64, 65), Home::Slot { level: 0, slot: 1 });
        // In the last block nothing overflows.
        assert_eq!(
            home(u64::MAX - 1, u64::MAX),
            Home::Slot { level: 0, slot: 63 }
        );
    }

    #[test]
    fn slot_start_is_the_first_millisecond_of_the_slot() {
        assert_eq!(slot_start(0, 0, 10), 10);
        assert_eq!(slot_start(130, 0, 10), 138);
        assert_eq!(slot_start(0, 1, 1), 64);
        assert_eq!(slot_start(5000, 1, 63), 4096 + 63 * 64);
        assert_eq!(slot_start(0, 5, 63), 63 << 30);
        assert_eq!(
            slot_start(u64::MAX - 100, 5, 63),
            u64::MAX - ((1 << 30) - 1)
        );
    }

    #[test]
    fn block_boundaries() {
        assert_eq!(next_block_start(0), Some(1 << 36));
        assert_eq!(next_block_start((1 << 36) - 1), Some(1 << 36));
        assert_eq!(next_block_start(1 << 36), Some(2 << 36));
        assert_eq!(next_block_start(u64::MAX), None);
        assert_eq!(block_start((3 << 36) + 17), 3 << 36);
    }
}
