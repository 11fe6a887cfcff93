//! Counts as the wall shows them: a new, higher value counts up smoothly (ease-out) and ends
//! exact; a shown count never goes down unless an operator corrects or resets it; totals
//! derived from other counters follow their parts. Pure: time is passed in.

use super::engine::EngineError;
use super::ramp::Ramp;
use crate::counts::Counts;
use crate::show::Show;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Tally {
    values: Counts,
    shown: BTreeMap<String, Ramp<u64>>,
    /// Derived counters and the counters they add up.
    sums: Vec<(String, Vec<String>)>,
    /// The show file's values, for resets.
    starts: Counts,
    count_up: Duration,
}

impl Tally {
    /// The show's counters at `values` (the show file's, or those restored after a restart).
    pub fn new(show: &Show, values: Counts) -> Tally {
        let mut tally = Tally {
            shown: values
                .iter()
                .map(|(id, v)| (id.to_string(), Ramp::fixed(v)))
                .collect(),
            values,
            sums: show
                .counters
                .iter()
                .filter(|c| !c.sum.is_empty())
                .map(|c| (c.id.clone(), c.sum.clone()))
                .collect(),
            starts: Counts::from_show(show),
            count_up: Duration::try_from_secs_f64(show.count_up_seconds).unwrap_or_default(),
        };
        tally.update_sums(Duration::ZERO, false);
        tally
    }

    /// The true values (what feeds and operators said last).
    pub fn values(&self) -> &Counts {
        &self.values
    }

    /// The values as shown at `now`, part-way through counting up.
    pub fn shown(&self, now: Duration) -> Counts {
        let mut shown = self.values.clone();
        for (id, c) in &self.shown {
            shown.set(id, c.at(now));
        }
        shown
    }

    pub fn animating(&self, now: Duration) -> bool {
        self.shown.values().any(|c| !c.done(now))
    }

    fn current(&self, id: &str) -> Result<u64, EngineError> {
        if self.sums.iter().any(|(s, _)| s == id) {
            return Err(EngineError::DerivedCounter(id.to_string()));
        }
        self.values
            .get(id)
            .ok_or_else(|| EngineError::UnknownCounter(id.to_string()))
    }

    /// A new value from a feed or an operator: shown counting up; a lower one is refused.
    pub fn set(&mut self, id: &str, value: u64, now: Duration) -> Result<(), EngineError> {
        let current = self.current(id)?;
        if value < current {
            return Err(EngineError::CountWouldDrop {
                counter: id.to_string(),
                from: current,
                to: value,
            });
        }
        self.change(id, value, now, true);
        Ok(())
    }

    pub fn add(&mut self, id: &str, delta: u64, now: Duration) -> Result<(), EngineError> {
        let value = self.current(id)?.saturating_add(delta);
        self.change(id, value, now, true);
        Ok(())
    }

    /// An operator's correction: the value is shown at once, lower or not.
    pub fn correct(&mut self, id: &str, value: u64, now: Duration) -> Result<(), EngineError> {
        self.current(id)?;
        self.change(id, value, now, false);
        Ok(())
    }

    /// Back to the show file's value, at once.
    pub fn reset(&mut self, id: &str, now: Duration) -> Result<(), EngineError> {
        self.current(id)?;
        let start = self.starts.get(id).unwrap_or(0);
        self.change(id, start, now, false);
        Ok(())
    }

    /// Each counter's value and the count shown on its way there, for a [`super::Moment`].
    pub(super) fn moment(&self) -> Vec<(String, u64, Ramp<u64>)> {
        self.values
            .iter()
            .map(|(id, v)| {
                let shown = self.shown.get(id).copied().unwrap_or(Ramp::fixed(v));
                (id.to_string(), v, shown)
            })
            .collect()
    }

    /// Takes another machine's counts (the same show's): counters this show lacks are left.
    pub(super) fn take_moment(&mut self, counts: &[(String, u64, Ramp<u64>)]) {
        for (id, value, shown) in counts {
            if self.values.set(id, *value) {
                self.shown.insert(id.clone(), *shown);
            }
        }
    }

    fn change(&mut self, id: &str, value: u64, now: Duration, count_up: bool) {
        self.show(id, value, now, count_up);
        self.update_sums(now, count_up);
    }

    fn show(&mut self, id: &str, value: u64, now: Duration, count_up: bool) {
        self.values.set(id, value);
        let shown = self
            .shown
            .entry(id.to_string())
            .or_insert(Ramp::fixed(value));
        let from = shown.at(now);
        *shown = if count_up && value > from && !self.count_up.is_zero() {
            Ramp {
                from,
                to: value,
                start: now,
                length: self.count_up,
            }
        } else {
            Ramp::fixed(value)
        };
    }

    fn update_sums(&mut self, now: Duration, count_up: bool) {
        for (id, parts) in self.sums.clone() {
            let total = parts
                .iter()
                .filter_map(|p| self.values.get(p))
                .fold(0u64, u64::saturating_add);
            if self.values.get(&id) != Some(total) {
                self.show(&id, total, now, count_up);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tally() -> Tally {
        let src = r#"
count_up_seconds = 2
[[counters]]
id = "a"
label = "a"
value = 100
[[counters]]
id = "b"
label = "b"
value = 50
[[counters]]
id = "total"
label = "all"
sum = ["a", "b"]
[[slides]]
id = "s"
kind = "counter"
counter = "total"
"#;
        let (show, problems) = Show::parse(Path::new("t.toml"), src).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        Tally::new(&show, Counts::from_show(&show))
    }

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    #[test]
    fn a_rise_counts_up_with_ease_out_and_ends_exact() {
        let mut t = tally();
        t.set("a", 1100, s(10.0)).unwrap();
        assert_eq!(t.values().get("a"), Some(1100));
        assert_eq!(t.shown(s(10.0)).get("a"), Some(100));
        // Ease-out: past half way in the first quarter of the time.
        let quarter = t.shown(s(10.5)).get("a").unwrap();
        assert!(quarter > 600 && quarter < 1100, "{quarter}");
        let mut last = 0;
        for i in 0..=40 {
            let v = t.shown(s(10.0 + i as f64 * 0.05)).get("a").unwrap();
            assert!(v >= last, "never goes back: {v} after {last}");
            last = v;
        }
        assert_eq!(t.shown(s(12.0)).get("a"), Some(1100));
        assert!(t.animating(s(11.0)) && !t.animating(s(12.0)));
    }

    #[test]
    fn a_rise_of_one_shows_on_the_next_frame() {
        let mut t = tally();
        t.add("b", 1, s(0.0)).unwrap();
        assert_eq!(t.shown(s(0.0)).get("b"), Some(50));
        assert_eq!(t.shown(s(1.0 / 60.0)).get("b"), Some(51));
    }

    #[test]
    fn a_count_up_interrupted_by_a_new_value_continues_from_what_is_shown() {
        let mut t = tally();
        t.set("a", 1100, s(0.0)).unwrap();
        let shown = t.shown(s(1.0)).get("a").unwrap();
        t.set("a", 2000, s(1.0)).unwrap();
        assert_eq!(t.shown(s(1.0)).get("a"), Some(shown), "no jump");
        assert_eq!(t.shown(s(3.0)).get("a"), Some(2000));
    }

    #[test]
    fn lower_values_are_refused_unless_corrected_or_reset() {
        let mut t = tally();
        t.set("a", 500, s(0.0)).unwrap();
        assert_eq!(
            t.set("a", 400, s(1.0)),
            Err(EngineError::CountWouldDrop {
                counter: "a".into(),
                from: 500,
                to: 400
            })
        );
        assert_eq!(t.values().get("a"), Some(500));
        t.correct("a", 400, s(2.0)).unwrap();
        assert_eq!(
            t.shown(s(2.0)).get("a"),
            Some(400),
            "a correction shows at once"
        );
        t.reset("a", s(3.0)).unwrap();
        assert_eq!(t.shown(s(3.0)).get("a"), Some(100));
        assert!(matches!(
            t.set("nope", 1, s(0.0)),
            Err(EngineError::UnknownCounter(_))
        ));
    }

    #[test]
    fn totals_follow_their_parts() {
        let mut t = tally();
        assert_eq!(t.values().get("total"), Some(150));
        t.add("b", 25, s(0.0)).unwrap();
        assert_eq!(t.values().get("total"), Some(175));
        assert_eq!(t.shown(s(5.0)).get("total"), Some(175));
        assert!(matches!(
            t.set("total", 1000, s(0.0)),
            Err(EngineError::DerivedCounter(_))
        ));
        t.correct("a", 0, s(6.0)).unwrap();
        assert_eq!(t.shown(s(6.0)).get("total"), Some(75));
    }
}
