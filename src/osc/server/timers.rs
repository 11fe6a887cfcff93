//! Timed messages waiting for their time: one heap for the whole server, with a cap, so a
//! flood of bundles timed for later costs a bounded amount of memory and no task each.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use tokio::time::Instant;

/// Timed messages waiting at once, from everyone; more are refused.
pub const MAX_SCHEDULED: usize = 1024;

struct Entry<T> {
    at: Instant,
    /// Arrival order, so messages due at the same instant keep it.
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub struct Timers<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    seq: u64,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> Timers<T> {
    /// Holds `item` until `at`; gives it back when [`MAX_SCHEDULED`] already wait.
    pub fn add(&mut self, at: Instant, item: T) -> Result<(), T> {
        if self.heap.len() >= MAX_SCHEDULED {
            return Err(item);
        }
        self.seq = self.seq.wrapping_add(1);
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            item,
        }));
        Ok(())
    }

    /// When the next one is due, if any waits.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Takes the ones due at `now`, earliest first.
    pub fn due(&mut self, now: Instant) -> Vec<T> {
        let mut out = Vec::new();
        while self.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = self.heap.pop() {
                out.push(e.item);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_in_time_order_then_arrival_order_and_capped() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::default();
        timers.add(t0 + s(3), "c").unwrap();
        timers.add(t0 + s(1), "a").unwrap();
        timers.add(t0 + s(1), "b").unwrap();
        assert_eq!(timers.next(), Some(t0 + s(1)));
        assert!(timers.due(t0).is_empty());
        assert_eq!(timers.due(t0 + s(2)), vec!["a", "b"]);
        assert_eq!(timers.due(t0 + s(3)), vec!["c"]);
        assert_eq!(timers.next(), None);
        for _ in 0..MAX_SCHEDULED {
            timers.add(t0, "x").unwrap();
        }
        assert_eq!(timers.add(t0, "over"), Err("over"));
        assert_eq!(timers.heap.len(), MAX_SCHEDULED);
    }
}
