//! Which monitor the show goes on: by name or position, else the first that is not the
//! primary (the laptop's own screen is usually primary; the projector is the other one).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorInfo {
    pub name: String,
    pub position: (i32, i32),
    pub size: (u32, u32),
    pub refresh_millihertz: Option<u32>,
    pub primary: bool,
}

impl fmt::Display for MonitorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {}x{} at {},{}",
            self.name, self.size.0, self.size.1, self.position.0, self.position.1
        )?;
        if let Some(mhz) = self.refresh_millihertz {
            write!(f, "  {:.2} Hz", mhz as f64 / 1000.0)?;
        }
        if self.primary {
            write!(f, "  (primary)")?;
        }
        Ok(())
    }
}

/// The index in `monitors` to show on. `wanted` is a 1-based position as `--list-monitors`
/// prints it, or a name (exact, else the only one containing it, ignoring case).
pub fn choose(monitors: &[MonitorInfo], wanted: Option<&str>) -> Result<usize, String> {
    if monitors.is_empty() {
        return Err("no monitor found: is a display connected and switched on?".into());
    }
    let list = || {
        monitors
            .iter()
            .enumerate()
            .map(|(i, m)| format!("  {}: {m}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let Some(wanted) = wanted else {
        return Ok(monitors.iter().position(|m| !m.primary).unwrap_or(0));
    };
    if let Ok(n) = wanted.parse::<usize>() {
        return if (1..=monitors.len()).contains(&n) {
            Ok(n - 1)
        } else {
            Err(format!("no monitor {n}; the monitors are:\n{}", list()))
        };
    }
    if let Some(i) = monitors.iter().position(|m| m.name == wanted) {
        return Ok(i);
    }
    let lower = wanted.to_lowercase();
    let matching: Vec<usize> = (0..monitors.len())
        .filter(|&i| monitors[i].name.to_lowercase().contains(&lower))
        .collect();
    match matching[..] {
        [i] => Ok(i),
        [] => Err(format!(
            "no monitor named {wanted:?}; the monitors are:\n{}",
            list()
        )),
        _ => Err(format!(
            "{wanted:?} names several monitors; the monitors are:\n{}",
            list()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, primary: bool) -> MonitorInfo {
        MonitorInfo {
            name: name.into(),
            position: (0, 0),
            size: (1920, 1080),
            refresh_millihertz: Some(60_000),
            primary,
        }
    }

    #[test]
    fn defaults_to_the_first_non_primary_monitor() {
        let ms = [m("eDP-1", true), m("HDMI-1", false), m("DP-2", false)];
        assert_eq!(choose(&ms, None), Ok(1));
        assert_eq!(choose(&ms[..1], None), Ok(0));
    }

    #[test]
    fn picks_by_position_or_name() {
        let ms = [m("eDP-1", true), m("HDMI-1", false), m("DP-2", false)];
        assert_eq!(choose(&ms, Some("3")), Ok(2));
        assert_eq!(choose(&ms, Some("HDMI-1")), Ok(1));
        assert_eq!(choose(&ms, Some("hdmi")), Ok(1));
        let err = choose(&ms, Some("4")).unwrap_err();
        assert!(
            err.contains("no monitor 4") && err.contains("2: HDMI-1"),
            "{err}"
        );
        assert!(
            choose(&ms, Some("VGA"))
                .unwrap_err()
                .contains("no monitor named")
        );
        assert!(choose(&ms, Some("-")).unwrap_err().contains("several"));
        assert!(choose(&[], None).is_err());
    }
}
