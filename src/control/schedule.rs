//! Whether the permit's hours (`[schedule]`) allow the show to be on, at a local wall-clock
//! time that is passed in, never read here; and the operator's override.

use super::ramp::Ramp;
use crate::show::Schedule;
use std::time::Duration;

/// A local wall-clock time: the day (days since 1970-01-01) and seconds after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub day: i64,
    pub seconds: u32,
}

impl LocalTime {
    /// From seconds since 1970-01-01 00:00 local time.
    pub fn from_local_seconds(s: i64) -> LocalTime {
        LocalTime {
            day: s.div_euclid(86_400),
            seconds: s.rem_euclid(86_400) as u32,
        }
    }
}

/// 0 Monday to 6 Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> u8 {
    (day + 3).rem_euclid(7) as u8
}

/// An operator's say over the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Override {
    /// The schedule decides.
    #[default]
    Auto,
    /// On whatever the hours say.
    On,
    /// Off whatever the hours say.
    Off,
}

impl Override {
    pub fn parse(s: &str) -> Option<Override> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Override::Auto),
            "on" => Some(Override::On),
            "off" => Some(Override::Off),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Override::Auto => "auto",
            Override::On => "on",
            Override::Off => "off",
        }
    }
}

/// A span may start on `day`: one of the listed dates or weekdays, or any day if none are.
fn starts_on(schedule: &Schedule, day: i64) -> bool {
    (schedule.days.is_empty() && schedule.dates.is_empty())
        || schedule.days.contains(&weekday(day))
        || schedule.dates.contains(&day)
}

/// True when the schedule has the show on at `t`. A span whose end is at or before its start
/// runs past midnight into the next day (19:00 to 01:00); equal start and end is all day.
pub fn open(schedule: &Schedule, t: LocalTime) -> bool {
    let (start, end, s) = (schedule.start, schedule.end, t.seconds);
    if start == end {
        return starts_on(schedule, t.day);
    }
    if start < end {
        return starts_on(schedule, t.day) && (start..end).contains(&s);
    }
    (starts_on(schedule, t.day) && s >= start) || (starts_on(schedule, t.day - 1) && s < end)
}

/// Whether the show is on at `t`, the override and the schedule (if any) together.
pub fn on(schedule: Option<&Schedule>, mode: Override, t: LocalTime) -> bool {
    match mode {
        Override::On => true,
        Override::Off => false,
        Override::Auto => schedule.is_none_or(|s| open(s, t)),
    }
}

/// The show's hours as they stand, for `/candela/state`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScheduleStatus {
    /// "auto" (the hours decide), "on" or "off" (an operator decided).
    #[serde(rename = "override")]
    pub mode: &'static str,
    /// The show is on (false: black, outside its hours or switched off).
    pub on: bool,
    /// The show file has a `[schedule]`.
    pub hours: bool,
}

/// The engine's side of the hours: the override, the last local time it was told, and the
/// level the wall fades to (1 within the hours, 0 outside).
#[derive(Debug, Clone)]
pub struct Hours {
    mode: Override,
    local: Option<LocalTime>,
    level: Ramp<f32>,
}

impl Default for Hours {
    fn default() -> Hours {
        Hours {
            mode: Override::Auto,
            local: None,
            level: Ramp::fixed(1.0),
        }
    }
}

impl Hours {
    /// The first time it is told, the wall is put right at once, with no fade.
    pub fn set_time(&mut self, local: LocalTime, schedule: Option<&Schedule>, now: Duration) {
        let first = self.local.is_none();
        self.local = Some(local);
        self.follow(schedule, now, first);
    }

    pub fn set_mode(&mut self, mode: Override, schedule: Option<&Schedule>, now: Duration) {
        self.mode = mode;
        self.follow(schedule, now, false);
    }

    /// Fades toward what the hours (and the override) say at the last local time told.
    pub fn follow(&mut self, schedule: Option<&Schedule>, now: Duration, at_once: bool) {
        let on = match self.local {
            Some(t) => self::on(schedule, self.mode, t),
            None => self.mode != Override::Off,
        };
        let level = if on { 1.0 } else { 0.0 };
        if self.level.to == level {
            return;
        }
        let fade = match (at_once, schedule) {
            (true, _) => Duration::ZERO,
            (false, Some(s)) => Duration::try_from_secs_f64(s.fade).unwrap_or_default(),
            (false, None) => Duration::from_secs(3),
        };
        tracing::info!(
            "{} (schedule: {})",
            if on {
                "within the show's hours: fading in"
            } else {
                "outside the show's hours: fading to black"
            },
            self.mode.name()
        );
        self.level = self.level.retarget(level, now, fade);
    }

    /// The override and the wall's fade, for a [`super::Moment`].
    pub(super) fn moment(&self) -> (Override, Ramp<f32>) {
        (self.mode, self.level)
    }

    pub(super) fn take_moment(&mut self, mode: Override, level: Ramp<f32>) {
        self.mode = mode;
        self.level = level;
    }

    /// The wall's level at `now`, 0 to 1.
    pub fn level(&self, now: Duration) -> f32 {
        self.level.at(now)
    }

    pub fn done(&self, now: Duration) -> bool {
        self.level.done(now)
    }

    /// The wall is held black by the hours: faded all the way out.
    pub fn dark(&self, now: Duration) -> bool {
        self.level.to == 0.0 && self.level.done(now)
    }

    /// Whether the lamps should burn: within the hours, or `warm_up` before they start, so
    /// the picture is bright when they do. None leaves them be (no schedule and no override,
    /// or no local time yet).
    pub fn lamps(&self, schedule: Option<&Schedule>, warm_up: Duration) -> Option<bool> {
        let t = self.local?;
        if schedule.is_none() && self.mode == Override::Auto {
            return None;
        }
        let ahead = i64::try_from(warm_up.as_secs()).unwrap_or(0);
        let soon = LocalTime::from_local_seconds(t.day * 86_400 + i64::from(t.seconds) + ahead);
        Some(on(schedule, self.mode, t) || on(schedule, self.mode, soon))
    }

    pub fn status(&self, schedule: Option<&Schedule>) -> ScheduleStatus {
        ScheduleStatus {
            mode: self.mode.name(),
            on: self.level.to > 0.0,
            hours: schedule.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::schedule_date as date;

    fn hm(h: u32, m: u32) -> u32 {
        h * 3600 + m * 60
    }

    fn at(day: &str, h: u32, m: u32) -> LocalTime {
        LocalTime {
            day: date(day).unwrap(),
            seconds: hm(h, m),
        }
    }

    fn schedule(start: u32, end: u32) -> Schedule {
        Schedule {
            start,
            end,
            days: vec![],
            dates: vec![],
            fade: 3.0,
        }
    }

    #[test]
    fn weekdays_are_right() {
        assert_eq!(weekday(0), 3, "1970-01-01 was a Thursday");
        assert_eq!(weekday(date("2026-11-26").unwrap()), 3, "a Thursday");
        assert_eq!(weekday(date("2026-11-29").unwrap()), 6, "a Sunday");
        assert_eq!(weekday(-1), 2);
    }

    #[test]
    fn a_daytime_span_and_its_edges() {
        let s = schedule(hm(9, 0), hm(17, 30));
        assert!(!open(&s, at("2026-12-10", 8, 59)));
        assert!(open(&s, at("2026-12-10", 9, 0)));
        assert!(open(&s, at("2026-12-10", 17, 29)));
        assert!(!open(&s, at("2026-12-10", 17, 30)));
    }

    #[test]
    fn an_overnight_span_runs_past_midnight_from_its_day() {
        // Fridays and Saturdays, 19:00 to 01:00.
        let s = Schedule {
            days: vec![4, 5],
            ..schedule(hm(19, 0), hm(1, 0))
        };
        // 2026-12-11 is a Friday.
        assert!(!open(&s, at("2026-12-11", 18, 59)));
        assert!(open(&s, at("2026-12-11", 19, 0)));
        assert!(open(&s, at("2026-12-11", 23, 59)));
        assert!(
            open(&s, at("2026-12-12", 0, 30)),
            "Friday's span, after midnight"
        );
        assert!(!open(&s, at("2026-12-12", 1, 0)));
        assert!(open(&s, at("2026-12-12", 19, 0)), "Saturday");
        assert!(
            open(&s, at("2026-12-13", 0, 59)),
            "Saturday's span on Sunday"
        );
        assert!(!open(&s, at("2026-12-13", 19, 0)), "not on Sundays");
        assert!(!open(&s, at("2026-12-11", 0, 30)), "Thursday had no span");
    }

    #[test]
    fn dates_and_days_both_allow_and_all_day_is_all_day() {
        let s = Schedule {
            dates: vec![date("2026-12-10").unwrap()],
            ..schedule(hm(20, 0), hm(20, 0))
        };
        assert!(open(&s, at("2026-12-10", 0, 0)));
        assert!(open(&s, at("2026-12-10", 23, 59)));
        assert!(!open(&s, at("2026-12-11", 12, 0)));
    }

    #[test]
    fn the_override_wins_and_auto_follows_the_hours() {
        let s = schedule(hm(19, 0), hm(23, 0));
        let day = at("2026-12-10", 12, 0);
        assert!(!on(Some(&s), Override::Auto, day));
        assert!(on(Some(&s), Override::On, day));
        assert!(!on(Some(&s), Override::Off, at("2026-12-10", 20, 0)));
        assert!(on(None, Override::Auto, day), "no schedule: always on");
        assert_eq!(Override::parse(" OFF "), Some(Override::Off));
        assert_eq!(Override::parse("maybe"), None);
    }
}
