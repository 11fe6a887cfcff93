//! Background tasks that survive their own failures: a panic or an error in a feed, the file
//! watcher or a network task is logged and the task started again, after a pause that grows
//! while it keeps failing, so one bad source never takes down the show or floods the log.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// The first pause before a failed task starts again; it doubles at each failure in a row...
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// ...up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);
/// A run this long counts as healthy: the next failure starts from the first pause again.
const HEALTHY: Duration = Duration::from_secs(60);

/// Runs `body` until it returns `Ok` or `stopped()` says so: when it panics or returns an
/// error, that is logged and it runs again after a backoff. Called on the task's own thread.
pub fn restarting(
    name: &str,
    stopped: impl Fn() -> bool,
    mut body: impl FnMut() -> Result<(), String>,
) {
    let mut pause = FIRST_PAUSE;
    loop {
        let started = Instant::now();
        let failure = match catch_unwind(AssertUnwindSafe(&mut body)) {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into()),
        };
        if stopped() {
            return;
        }
        if started.elapsed() >= HEALTHY {
            pause = FIRST_PAUSE;
        }
        tracing::error!(
            "{name} failed: {failure}; starting it again in {:.1} s (the show goes on)",
            pause.as_secs_f64()
        );
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if stopped() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_panicking_task_is_restarted_until_it_finishes() {
        let runs = Cell::new(0);
        let started = Instant::now();
        restarting(
            "test task",
            || false,
            || {
                runs.set(runs.get() + 1);
                match runs.get() {
                    1 => panic!("first run"),
                    2 => Err("second run".into()),
                    _ => Ok(()),
                }
            },
        );
        assert_eq!(runs.get(), 3);
        // Backed off: half a second, then a second.
        assert!(started.elapsed() >= FIRST_PAUSE * 3);
    }

    #[test]
    fn a_stopped_task_is_not_restarted() {
        let runs = Cell::new(0);
        restarting(
            "test task",
            || true,
            || {
                runs.set(runs.get() + 1);
                Err("failed".into())
            },
        );
        assert_eq!(runs.get(), 1);
    }
}
