//! Warnings that a sender can cause, limited so that no flood can fill the disk or bury the
//! log: each source's warnings of one kind are logged once per [`WINDOW`], and when that
//! window ends the next line says how many more like it were held back. A limit on lines
//! across all sources bounds a flood from many (forged) addresses too, and with it the
//! table, which only holds sources whose line was logged in the last two windows.
//!
//! Reusable: OSC, the inbox and the web each keep one [`LogLimit`].

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A source's warnings of one kind are logged at most once this long.
pub const WINDOW: Duration = Duration::from_secs(10);
/// New lines, across all sources, one limiter logs per window at most; past it, warnings
/// are only counted, and one line per window says how many.
pub const LINES_PER_WINDOW: u32 = 50;
/// Ended windows are looked for at most this often (on the next warning, or [`LogLimit::sweep`]).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One source's window for one kind of warning.
struct Window {
    began: Instant,
    /// The line logged when it began, repeated with the count of those held back.
    first: String,
    held: u64,
}

struct Inner {
    windows: HashMap<u64, Window>,
    /// The window of the limit on lines across sources.
    began: Instant,
    lines: u32,
    /// Warnings held back by that limit in this window.
    over: u64,
    swept: Instant,
}

/// Rate-limited warnings, per source and kind; cheap when a warning is held back (a lock, a
/// hash, a count), so a flood costs no formatting.
pub struct LogLimit {
    inner: Mutex<Inner>,
    hasher: std::hash::RandomState,
}

impl Default for LogLimit {
    fn default() -> Self {
        let now = Instant::now();
        LogLimit {
            inner: Mutex::new(Inner {
                windows: HashMap::new(),
                began: now,
                lines: 0,
                over: 0,
                swept: now,
            }),
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl LogLimit {
    /// Logs `message()` as a warning unless `source` already logged one of this `kind`
    /// in the current window; then it is only counted.
    pub fn warn(
        &self,
        source: impl Hash + Display,
        kind: &'static str,
        message: impl FnOnce() -> String,
    ) {
        let now = Instant::now();
        let key = self.hasher.hash_one((&source, kind));
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(inner.swept) >= SWEEP_EVERY {
            inner.sweep(now);
        }
        if let Some(w) = inner.windows.get_mut(&key) {
            w.held = w.held.saturating_add(1);
            return;
        }
        if inner.lines >= LINES_PER_WINDOW {
            inner.over = inner.over.saturating_add(1);
            return;
        }
        inner.lines += 1;
        let first = message();
        tracing::warn!("{first}");
        inner.windows.insert(
            key,
            Window {
                began: now,
                first,
                held: 0,
            },
        );
    }

    /// Logs the counts of windows that have ended; the OSC server calls it on a timer, so a
    /// flood that stops still gets its count said.
    pub fn sweep(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.sweep(Instant::now());
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.windows.len()
    }
}

impl Inner {
    fn sweep(&mut self, now: Instant) {
        self.swept = now;
        self.windows.retain(|_, w| {
            let ended = now.saturating_duration_since(w.began) >= WINDOW;
            if ended && w.held > 0 {
                tracing::warn!(
                    "{} … and {} more like it in the last {} s",
                    w.first,
                    thousands(w.held),
                    WINDOW.as_secs()
                );
            }
            !ended
        });
        if now.saturating_duration_since(self.began) >= WINDOW {
            if self.over > 0 {
                tracing::warn!(
                    "… and {} more warnings, from sources past the first {LINES_PER_WINDOW}, in the last {} s",
                    thousands(self.over),
                    WINDOW.as_secs()
                );
            }
            self.began = now;
            self.lines = 0;
            self.over = 0;
        }
    }
}

/// 94812 as "94,812", so a count is read at a glance.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(94_812), "94,812");
        assert_eq!(thousands(1_020_000), "1,020,000");
    }

    #[test]
    fn one_line_per_source_and_kind_and_a_bounded_table() {
        let limit = LogLimit::default();
        let mut formatted = 0;
        for i in 0..10_000u32 {
            limit.warn(format!("10.0.{}.{}", i % 7, i % 3), "kind", || {
                formatted += 1;
                String::new()
            });
        }
        // 7 × 3 distinct sources (gcd 1: 21 of them), each logged once.
        assert_eq!(formatted, 21);
        for i in 0..10_000u32 {
            limit.warn(i, "other", String::new);
        }
        assert!(limit.tracked() <= 2 * LINES_PER_WINDOW as usize);
    }
}
