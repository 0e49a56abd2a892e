//! Reference and current windows of one (model, feature): by record count or
//! by event time (tumbling or sliding), with a reference that is the first N
//! values, an event-time range, a rolling window, or preloaded from a file.
//!
//! Guarantees:
//! - Every value that enters or leaves either side is reported to the
//!   [`Sides`] summary (a KS tree, category counts) in the same call, so a
//!   summary fed by the same calls always describes exactly the stored entries.
//! - Count windows: the current window holds the last `size` values in
//!   arrival order. Time windows: after [`Windows::advance`] to `end`, the
//!   current window holds exactly the accepted values with event time in
//!   `[end - size, end)`; accepted values at or after `end` wait in `pending`.
//! - A value is never dropped silently: [`Windows::push`] says where it went,
//!   and a value it could not place is [`Placement::Late`] (its window was
//!   already evaluated) or [`Placement::BeforeReference`], for the caller to
//!   count.
//! - Stored, the windows are their entries (see `journal`); a value's
//!   binary form ([`WindowValue`], read through [`Reader`]) rejects
//!   malformed bytes with an error, never a panic.

use std::collections::VecDeque;

mod journal;
pub use journal::{Journal, Tag};

/// One value with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<V> {
    /// 1-based index of the model record that carried the value (0 for a
    /// value preloaded from a reference file).
    pub record: u64,
    /// Its event time (ms).
    pub time: i64,
    /// The value.
    pub value: V,
}

/// A numeric value with its origin.
pub type WindowEntry = Entry<f64>;
/// A categorical value with its origin.
pub type CategoryEntry = Entry<String>;

/// The two samples a test compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The reference sample.
    Reference,
    /// The current sample.
    Current,
}

/// A summary kept in step with the windows (e.g. the incremental KS tree).
pub trait Sides<V> {
    /// `value` joined `side`.
    fn add(&mut self, side: Side, value: &V);
    /// `value` left `side`.
    fn remove(&mut self, side: Side, value: &V);
}

impl<V> Sides<V> for () {
    fn add(&mut self, _: Side, _: &V) {}
    fn remove(&mut self, _: Side, _: &V) {}
}

/// How the current window is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The last `size` values in arrival order.
    Count {
        /// Values in the window.
        size: usize,
    },
    /// Values whose event time lies in `[end - size_ms, end)`, `end` moving
    /// by `slide_ms` (tumbling when `slide_ms == size_ms`).
    Time {
        /// Window length (ms).
        size_ms: i64,
        /// Distance between window ends (ms).
        slide_ms: i64,
        /// Fewest values a window needs to be tested.
        min_values: usize,
    },
}

/// How the reference sample is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// The feature's first N values, then fixed.
    FirstN(usize),
    /// Values with event time in `[start, end)` (ms), fixed once the
    /// watermark passes `end`.
    TimeRange {
        /// Inclusive start (ms).
        start: i64,
        /// Exclusive end (ms).
        end: i64,
    },
    /// The last N values that left the current window.
    Rolling(usize),
    /// Loaded before the stream (from a reference file), then fixed.
    Preloaded,
    /// The same phase of the previous period: for a time window
    /// `[end - size, end)`, the values with event time in
    /// `[end - size - period, end - period)` (time windows only).
    Seasonal {
        /// The period (ms), at least the window's length.
        period_ms: i64,
    },
}

/// The window and reference plan of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    /// Current window.
    pub window: WindowKind,
    /// Reference.
    pub reference: ReferenceKind,
}

/// Where [`Windows::push`] put a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Into the reference.
    Reference,
    /// Into the current window.
    Current,
    /// Held until its time window's end passes.
    Pending,
    /// Not placed: older than the watermark, its window was already
    /// evaluated (or the reference time range already closed).
    Late,
    /// Not placed: before the reference time range, which is fixed.
    BeforeReference,
}

/// Reference and current windows of one (model, feature).
#[derive(Debug, Clone)]
pub struct Windows<V> {
    reference: VecDeque<Entry<V>>,
    current: VecDeque<Entry<V>>,
    pending: VecDeque<Entry<V>>,
    /// Seasonal references: values that left the current window and wait,
    /// in time order, for the seasonal range to reach them.
    history: VecDeque<Entry<V>>,
    /// Exclusive end of the current time window (`i64::MIN` before the first).
    window_end: i64,
    /// What changed since the last [`Windows::take_journal`], when
    /// journaling is on (the state layer writes it as entries).
    journal: Option<Journal<V>>,
    /// Values that joined or left the reference since these windows were
    /// made or rebuilt (in memory, not compared): what is derived from the
    /// reference alone (a learned effect threshold) is recomputed only when
    /// it changed.
    reference_version: u64,
}

impl<V: PartialEq> PartialEq for Windows<V> {
    fn eq(&self, other: &Self) -> bool {
        self.reference == other.reference
            && self.current == other.current
            && self.pending == other.pending
            && self.history == other.history
            && self.window_end == other.window_end
    }
}

impl<V> Default for Windows<V> {
    fn default() -> Self {
        Windows {
            reference: VecDeque::new(),
            current: VecDeque::new(),
            pending: VecDeque::new(),
            history: VecDeque::new(),
            window_end: i64::MIN,
            journal: None,
            reference_version: 0,
        }
    }
}

impl<V: Clone> Windows<V> {
    /// Places one value; `watermark` is the model's event-time watermark
    /// (largest event time seen minus the allowed lateness).
    pub fn push(
        &mut self,
        entry: Entry<V>,
        watermark: i64,
        plan: &WindowPlan,
        sides: &mut impl Sides<V>,
    ) -> Placement {
        match plan.reference {
            ReferenceKind::FirstN(n) if self.reference.len() < n => {
                return self.add_reference(entry, sides);
            }
            ReferenceKind::TimeRange { start, end } if entry.time < end => {
                if entry.time < start {
                    return Placement::BeforeReference;
                }
                if watermark >= end {
                    return Placement::Late;
                }
                return self.add_reference(entry, sides);
            }
            _ => {}
        }
        match plan.window {
            WindowKind::Count { size } => {
                sides.add(Side::Current, &entry.value);
                if let Some(j) = &mut self.journal {
                    j.added.push((Tag::Window, entry.clone()));
                }
                self.current.push_back(entry);
                while self.current.len() > size {
                    self.evict(plan, sides);
                }
                Placement::Current
            }
            WindowKind::Time { .. } => {
                if entry.time < watermark || entry.time < self.window_end {
                    return Placement::Late;
                }
                let at = self
                    .pending
                    .partition_point(|e| (e.time, e.record) <= (entry.time, entry.record));
                if let Some(j) = &mut self.journal {
                    j.added.push((Tag::Window, entry.clone()));
                }
                self.pending.insert(at, entry);
                Placement::Pending
            }
        }
    }

    fn add_reference(&mut self, entry: Entry<V>, sides: &mut impl Sides<V>) -> Placement {
        sides.add(Side::Reference, &entry.value);
        if let Some(j) = &mut self.journal {
            j.added.push((Tag::Reference, entry.clone()));
        }
        self.reference.push_back(entry);
        self.reference_version += 1;
        Placement::Reference
    }

    /// Adds preloaded reference values (record 0, time 0).
    pub fn preload(&mut self, values: impl IntoIterator<Item = V>, sides: &mut impl Sides<V>) {
        for value in values {
            self.add_reference(
                Entry {
                    record: 0,
                    time: 0,
                    value,
                },
                sides,
            );
        }
    }

    /// Moves a time window's end to `end`: pending values before it join the
    /// current window, values before `end - size` leave it. No effect for
    /// count windows or when `end` is not later than the current end.
    pub fn advance(&mut self, end: i64, plan: &WindowPlan, sides: &mut impl Sides<V>) {
        let WindowKind::Time { size_ms, .. } = plan.window else {
            return;
        };
        if end <= self.window_end {
            return;
        }
        while self.pending.front().is_some_and(|e| e.time < end) {
            if let Some(e) = self.pending.pop_front() {
                sides.add(Side::Current, &e.value);
                self.current.push_back(e);
            }
        }
        self.window_end = end;
        if let Some(j) = &mut self.journal {
            j.end_moved = true;
        }
        let start = end.saturating_sub(size_ms);
        while self.current.front().is_some_and(|e| e.time < start) {
            self.evict(plan, sides);
        }
        self.align_seasonal(plan, sides);
    }

    /// Seasonal references: the values of `[start - period, end - period)`
    /// for the current time window `[start, end)` form the reference;
    /// earlier ones die, later ones wait in the history. The range only
    /// moves forward (the window's end does), so values enter and leave in
    /// time order.
    fn align_seasonal(&mut self, plan: &WindowPlan, sides: &mut impl Sides<V>) {
        let (ReferenceKind::Seasonal { period_ms }, WindowKind::Time { size_ms, .. }) =
            (plan.reference, plan.window)
        else {
            return;
        };
        if self.window_end == i64::MIN {
            return;
        }
        let hi = self.window_end.saturating_sub(period_ms);
        let lo = hi.saturating_sub(size_ms);
        while self.history.front().is_some_and(|e| e.time < hi) {
            let Some(e) = self.history.pop_front() else {
                break;
            };
            if e.time < lo {
                if let Some(j) = &mut self.journal {
                    j.died.push(e.record);
                }
            } else {
                sides.add(Side::Reference, &e.value);
                self.reference.push_back(e);
                self.reference_version += 1;
            }
        }
        while self.reference.front().is_some_and(|e| e.time < lo) {
            if let Some(gone) = self.reference.pop_front() {
                self.reference_version += 1;
                sides.remove(Side::Reference, &gone.value);
                if let Some(j) = &mut self.journal {
                    j.died.push(gone.record);
                }
            }
        }
    }

    /// The oldest current value leaves; a rolling reference takes it.
    fn evict(&mut self, plan: &WindowPlan, sides: &mut impl Sides<V>) {
        let Some(old) = self.current.pop_front() else {
            return;
        };
        sides.remove(Side::Current, &old.value);
        if let ReferenceKind::Seasonal { .. } = plan.reference {
            // Evicted in time order (time windows): it waits for the
            // seasonal range (see `align_seasonal`).
            let at = self
                .history
                .partition_point(|e| (e.time, e.record) <= (old.time, old.record));
            self.history.insert(at, old);
        } else if let ReferenceKind::Rolling(n) = plan.reference {
            sides.add(Side::Reference, &old.value);
            self.reference.push_back(old);
            self.reference_version += 1;
            while self.reference.len() > n {
                if let Some(gone) = self.reference.pop_front() {
                    self.reference_version += 1;
                    sides.remove(Side::Reference, &gone.value);
                    if let Some(j) = &mut self.journal {
                        j.died.push(gone.record);
                    }
                }
            }
        } else if let Some(j) = &mut self.journal {
            j.died.push(old.record);
        }
    }

    /// True when both samples are complete enough for a test.
    pub fn is_ready(&self, plan: &WindowPlan, watermark: i64) -> bool {
        let reference = match plan.reference {
            ReferenceKind::FirstN(n) | ReferenceKind::Rolling(n) => self.reference.len() >= n,
            ReferenceKind::TimeRange { end, .. } => watermark >= end && !self.reference.is_empty(),
            ReferenceKind::Preloaded => !self.reference.is_empty(),
            ReferenceKind::Seasonal { period_ms } => self.seasonal_covered(plan, period_ms),
        };
        let current = match plan.window {
            WindowKind::Count { size } => self.current.len() >= size,
            WindowKind::Time { min_values, .. } => {
                self.window_end != i64::MIN && self.current.len() >= min_values.max(1)
            }
        };
        reference && current
    }

    /// Whether the seasonal reference reaches back to the start of its
    /// range: its first value lies within a tenth of a window of the same
    /// phase one period ago (so a stream's first period, with no history,
    /// and a partly covered range are not tested), and it holds at least
    /// the window's `min-values`.
    fn seasonal_covered(&self, plan: &WindowPlan, period_ms: i64) -> bool {
        let WindowKind::Time {
            size_ms,
            min_values,
            ..
        } = plan.window
        else {
            return false;
        };
        if self.window_end == i64::MIN || self.reference.len() < min_values.max(1) {
            return false;
        }
        let lo = self
            .window_end
            .saturating_sub(period_ms)
            .saturating_sub(size_ms);
        self.reference
            .front()
            .is_some_and(|e| e.time.saturating_sub(lo) <= size_ms / 10)
    }

    /// Seasonal references: values waiting for the seasonal range, in time
    /// order.
    pub fn history(&self) -> &VecDeque<Entry<V>> {
        &self.history
    }

    /// The reference entries, oldest first.
    pub fn reference(&self) -> &VecDeque<Entry<V>> {
        &self.reference
    }

    /// The current window's entries, oldest first.
    pub fn current(&self) -> &VecDeque<Entry<V>> {
        &self.current
    }

    /// Accepted values after the current time window's end.
    pub fn pending(&self) -> &VecDeque<Entry<V>> {
        &self.pending
    }

    /// How many values joined or left the reference since these windows
    /// were made or rebuilt: equal counts mean the same reference.
    pub fn reference_version(&self) -> u64 {
        self.reference_version
    }

    /// Exclusive end of the current time window, if one was set.
    pub fn window_end(&self) -> Option<i64> {
        (self.window_end != i64::MIN).then_some(self.window_end)
    }

    /// Every entry with its side, to rebuild a summary after decoding.
    pub fn replay(&self, sides: &mut impl Sides<V>) {
        for e in &self.reference {
            sides.add(Side::Reference, &e.value);
        }
        for e in &self.current {
            sides.add(Side::Current, &e.value);
        }
    }
}

/// Bytes that are not encoded windows (corrupt local state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt feature window: {0}")]
pub struct WindowDecodeError(pub &'static str);

/// A value the window encoding can store.
pub trait WindowValue: Sized {
    /// Appends the value.
    fn write(&self, out: &mut Vec<u8>);
    /// Reads one value.
    fn read(r: &mut Reader<'_>) -> Result<Self, WindowDecodeError>;
    /// Fewest bytes one encoded value takes (bounds declared lengths).
    const MIN_BYTES: usize;
}

impl WindowValue for f64 {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, WindowDecodeError> {
        Ok(f64::from_le_bytes(r.take()?))
    }
    const MIN_BYTES: usize = 8;
}

impl WindowValue for String {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, WindowDecodeError> {
        let len = u32::from_le_bytes(r.take()?) as usize;
        let bytes = r.bytes(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WindowDecodeError("category is not UTF-8"))
    }
    const MIN_BYTES: usize = 4;
}

/// A cursor over encoded bytes.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }

    /// The next `N` bytes.
    pub fn take<const N: usize>(&mut self) -> Result<[u8; N], WindowDecodeError> {
        let head = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    /// Ok when every byte was read.
    pub fn finish(&self) -> Result<(), WindowDecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WindowDecodeError("trailing bytes"))
        }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WindowDecodeError> {
        if self.0.len() < n {
            return Err(WindowDecodeError("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
