//! Undo and redo for the technician's edits, across every kind of edit. A drag sends dozens
//! of moves a second; they fold into one step, so one undo takes back the whole drag rather
//! than its last few pixels.

use std::time::Duration;

/// Steps remembered for undo; older ones are forgotten.
pub const UNDO_DEPTH: usize = 200;

/// Moves of the same thing closer together than this are one step.
pub const FOLD: Duration = Duration::from_secs(1);

/// States before each step (`T`), and the states undone, for redo. `K` names what a step
/// moved, so moves of the same handle in quick succession fold into one step.
#[derive(Debug, Clone)]
pub struct History<T, K> {
    undo: Vec<T>,
    redo: Vec<T>,
    /// What the newest step moved, and when it last did.
    last: Option<(K, Duration)>,
}

impl<T, K: PartialEq> Default for History<T, K> {
    fn default() -> History<T, K> {
        History {
            undo: Vec::new(),
            redo: Vec::new(),
            last: None,
        }
    }
}

impl<T, K: PartialEq> History<T, K> {
    /// A step was taken at `now` from the state `before`; `moved` names what it moved, when
    /// a further move of it should fold into this step. Anything undone can no longer be
    /// redone.
    pub fn record(&mut self, before: T, moved: Option<K>, now: Duration) {
        self.redo.clear();
        let folds = match (&self.last, &moved) {
            (Some((k, at)), Some(m)) => k == m && now.saturating_sub(*at) < FOLD,
            _ => false,
        };
        self.last = moved.map(|m| (m, now));
        if folds {
            return;
        }
        self.undo.push(before);
        if self.undo.len() > UNDO_DEPTH {
            self.undo.remove(0);
        }
    }

    /// The state to go back to, given the state now (kept for redo).
    pub fn undo(&mut self, now: T) -> Option<T> {
        let before = self.undo.pop()?;
        self.redo.push(now);
        self.last = None;
        Some(before)
    }

    /// The state undone last, given the state now (kept for undo).
    pub fn redo(&mut self, now: T) -> Option<T> {
        let after = self.redo.pop()?;
        self.undo.push(now);
        self.last = None;
        Some(after)
    }

    /// Steps that can be undone and redone.
    pub fn depth(&self) -> (usize, usize) {
        (self.undo.len(), self.redo.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_drag_is_one_step_and_redo_walks_forward() {
        let mut h: History<i32, &str> = History::default();
        let mut state = 0;
        // A drag of corner 1: ten moves 50 ms apart.
        for k in 1..=10 {
            h.record(state, Some("corner 1"), ms(50 * k));
            state = k as i32;
        }
        // Then another handle, and the first one again after a pause.
        h.record(state, Some("corner 2"), ms(600));
        state = 20;
        h.record(state, Some("corner 1"), ms(3000));
        state = 30;
        assert_eq!(h.depth(), (3, 0));
        state = h.undo(state).unwrap();
        assert_eq!(state, 20);
        state = h.undo(state).unwrap();
        assert_eq!(state, 10);
        state = h.undo(state).unwrap();
        assert_eq!(state, 0, "the whole drag is one step");
        assert_eq!(h.undo(state), None);
        state = h.redo(state).unwrap();
        assert_eq!(state, 10);
        // A new step forgets what could be redone.
        h.record(state, None, ms(4000));
        assert_eq!(h.depth(), (2, 0));
        assert_eq!(h.redo(99), None);
    }

    #[test]
    fn steps_after_an_undo_do_not_fold_into_the_undone_one() {
        let mut h: History<i32, &str> = History::default();
        h.record(0, Some("a"), ms(0));
        let back = h.undo(1).unwrap();
        h.record(back, Some("a"), ms(100));
        assert_eq!(h.depth(), (1, 0), "a new step, not folded away");
    }

    #[test]
    fn depth_is_bounded() {
        let mut h: History<usize, ()> = History::default();
        for k in 0..UNDO_DEPTH + 50 {
            h.record(k, None, ms(k as u64));
        }
        assert_eq!(h.depth().0, UNDO_DEPTH);
        let mut oldest = 0;
        let mut state = usize::MAX;
        while let Some(s) = h.undo(state) {
            oldest = s;
            state = s;
        }
        assert_eq!(oldest, 50, "the oldest are forgotten first");
    }
}
