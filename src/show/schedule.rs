//! `[schedule]`: the hours the permit allows, read from the show file. Plain data: whether
//! the show is on at a given local time is decided in `control`.

use super::builder::Builder;
use serde::Deserialize;
use toml::Spanned;

/// As written in the show file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// "HH:MM", local time.
    pub start: Spanned<String>,
    /// "HH:MM"; before `start` means the next morning (19:00 to 01:00).
    pub end: Spanned<String>,
    /// Days a span starts on: "mon".."sun"; none (and no dates) means every day.
    #[serde(default)]
    pub days: Vec<Spanned<String>>,
    /// Dates a span starts on, "YYYY-MM-DD".
    #[serde(default)]
    pub dates: Vec<Spanned<String>>,
    /// Seconds of fade in at the start and to black at the end (default 3).
    pub fade: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Seconds after local midnight.
    pub start: u32,
    pub end: u32,
    /// 0 Monday to 6 Sunday.
    pub days: Vec<u8>,
    /// Days since 1970-01-01.
    pub dates: Vec<i64>,
    pub fade: f64,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// "HH:MM" (or "HH:MM:SS") as seconds after midnight; "24:00" is the end of the day.
fn clock_time(s: &str) -> Option<u32> {
    let mut parts = s.trim().split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let sec: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() || m > 59 || sec > 59 || h > 24 || (h == 24 && m + sec > 0) {
        return None;
    }
    Some(h * 3600 + m * 60 + sec)
}

/// "YYYY-MM-DD" as days since 1970-01-01 (proleptic Gregorian).
pub fn date(s: &str) -> Option<i64> {
    let mut parts = s.trim().split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if parts.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > month_days[m as usize - 1] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

impl Builder<'_> {
    pub(super) fn schedule(&mut self, raw: Option<ScheduleFile>) -> Option<Schedule> {
        let raw = raw?;
        let hint = "write a local time as \"HH:MM\", e.g. \"19:00\"";
        let time = |b: &mut Self, v: &Spanned<String>, what: &str| {
            clock_time(v.get_ref()).or_else(|| {
                let msg = format!("schedule {what} {:?} is not a time of day", v.get_ref());
                b.problem(v, msg, hint);
                None
            })
        };
        let start = time(self, &raw.start, "start");
        let end = time(self, &raw.end, "end");
        let mut days = Vec::new();
        for d in &raw.days {
            let name = d.get_ref().trim().to_ascii_lowercase();
            match DAY_NAMES.iter().position(|n| name.starts_with(n)) {
                Some(i) => days.push(i as u8),
                None => self.problem(
                    d,
                    format!("{:?} is not a day of the week", d.get_ref()),
                    "write mon, tue, wed, thu, fri, sat or sun",
                ),
            }
        }
        let mut dates = Vec::new();
        for d in &raw.dates {
            match date(d.get_ref()) {
                Some(day) => dates.push(day),
                None => self.problem(
                    d,
                    format!("{:?} is not a date", d.get_ref()),
                    "write it as \"YYYY-MM-DD\", e.g. \"2026-12-10\"",
                ),
            }
        }
        let fade = self.seconds(raw.fade, "schedule fade", true).unwrap_or(3.0);
        Some(Schedule {
            start: start?,
            end: end?,
            days,
            dates,
            fade,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_dates_are_read_and_nonsense_refused() {
        assert_eq!(clock_time("19:00"), Some(19 * 3600));
        assert_eq!(clock_time("01:30:15"), Some(3600 + 30 * 60 + 15));
        assert_eq!(clock_time("24:00"), Some(86_400));
        for bad in ["25:00", "19", "19:60", "24:01", "x:00", "19:00:00:00"] {
            assert_eq!(clock_time(bad), None, "{bad}");
        }
        assert_eq!(date("1970-01-01"), Some(0));
        assert_eq!(date("2000-03-01"), Some(11_017));
        assert_eq!(date("2026-12-10"), Some(20_797));
        assert_eq!(date("2024-02-29"), Some(19_782));
        for bad in ["2025-02-29", "2026-13-01", "2026-12", "2026-12-00"] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }

    #[test]
    fn problems_name_their_line_and_column() {
        let src = "[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n[schedule]\nstart = \"19:00\"\nend = \"25:00\"\ndays = [\"fri\", \"caturday\"]\n";
        let (show, problems) =
            super::super::Show::parse(std::path::Path::new("s.toml"), src).unwrap();
        let places: Vec<_> = problems.iter().map(|p| p.at).collect();
        assert_eq!(places, [Some((7, 7)), Some((8, 16))], "{problems:?}");
        assert!(
            show.schedule.is_none(),
            "a schedule without its end is not used"
        );
        let good = src.replace("25:00", "01:00").replace(", \"caturday\"", "");
        let (show, problems) =
            super::super::Show::parse(std::path::Path::new("s.toml"), &good).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(show.schedule.unwrap().days, [4]);
    }
}
