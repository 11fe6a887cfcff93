//! A value on its way from one level to another over a while: a fade's opacity, or a count
//! counting up. Both share the timing; they differ in how the way is drawn.

use std::time::Duration;

/// From `from` at `start` to `to` after `length`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Ramp<T> {
    pub from: T,
    pub to: T,
    pub start: Duration,
    pub length: Duration,
}

impl<T: Copy> Ramp<T> {
    /// Already at `v`, and staying there.
    pub fn fixed(v: T) -> Ramp<T> {
        Ramp {
            from: v,
            to: v,
            start: Duration::ZERO,
            length: Duration::ZERO,
        }
    }

    pub fn done(&self, now: Duration) -> bool {
        now >= self.start + self.length
    }

    /// How far along at `now`, 0 to 1, or the end it is at.
    fn progress(&self, now: Duration) -> Result<f64, T> {
        if self.done(now) {
            return Err(self.to);
        }
        if now <= self.start {
            return Err(self.from);
        }
        Ok((now - self.start).as_secs_f64() / self.length.as_secs_f64())
    }
}

impl Ramp<f32> {
    /// Linear: a fade.
    pub fn at(&self, now: Duration) -> f32 {
        match self.progress(now) {
            Ok(t) => self.from + (self.to - self.from) * t as f32,
            Err(end) => end,
        }
    }

    /// From wherever it is now to `to`, over `length`: a new fade never jumps.
    pub fn retarget(&self, to: f32, now: Duration, length: Duration) -> Ramp<f32> {
        Ramp {
            from: self.at(now),
            to,
            start: now,
            length,
        }
    }
}

impl Ramp<u64> {
    /// Ease-out, for a count: fast at first, settling gently on the exact number. Rounded up,
    /// so even a rise of one shows on the very next frame instead of at the end.
    pub fn at(&self, now: Duration) -> u64 {
        let t = match self.progress(now) {
            Ok(t) => t,
            Err(end) => return end,
        };
        let eased = 1.0 - (1.0 - t).powi(3);
        let span = self.to.abs_diff(self.from);
        let moved = ((span as f64 * eased).ceil() as u64).min(span);
        if self.to >= self.from {
            self.from + moved
        } else {
            self.from - moved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_fade_is_linear_and_a_count_eases_out_rounded_up() {
        let fade = Ramp {
            from: 0.0f32,
            to: 1.0,
            start: ms(100),
            length: ms(1000),
        };
        assert_eq!(
            (fade.at(ms(0)), fade.at(ms(600)), fade.at(ms(2000))),
            (0.0, 0.5, 1.0)
        );
        let count = Ramp {
            from: 1000u64,
            to: 1001,
            start: ms(0),
            length: ms(2000),
        };
        assert_eq!(count.at(ms(1)), 1001, "a rise of one shows at once");
        let big = Ramp {
            to: 2000u64,
            ..count
        };
        assert_eq!(big.at(ms(1000)), 1875, "eased: 7/8 of the way at half time");
        assert!(big.done(ms(2000)) && !big.done(ms(1999)));
    }
}
