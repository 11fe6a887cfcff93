//! What the projectors should be doing, decided purely from the show's state at a time
//! passed in: the shutter closed once a blackout's fade has ended, the lamps on ahead of the
//! show's hours; and what they report, as plain data.

use crate::show::{BlackoutMode, Projector};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    Off,
    On,
    Warming,
    Cooling,
}

impl Power {
    /// On, or on its way there: asking again changes nothing.
    pub fn heading_on(self) -> bool {
        matches!(self, Power::On | Power::Warming)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shutter {
    Open,
    Closed,
}

/// What one output's projectors should do; None leaves it as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    /// True: on.
    pub power: Option<bool>,
    pub shutter: Option<Shutter>,
}

/// The show's side: whether the picture is held black by a blackout or by the hours (a fade
/// to black still running is not black yet), and whether the hours want the lamps lit now
/// (None: no schedule, or no local time yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dark {
    pub blackout: bool,
    pub hours: bool,
    pub lamps: Option<bool>,
}

pub fn want(mode: BlackoutMode, dark: Dark) -> Want {
    let shutter = match mode {
        BlackoutMode::Pixels => None,
        BlackoutMode::Shutter | BlackoutMode::Power => Some(if dark.blackout || dark.hours {
            Shutter::Closed
        } else {
            Shutter::Open
        }),
    };
    let power = match mode {
        BlackoutMode::Power if dark.blackout => Some(false),
        BlackoutMode::Power => dark.lamps.or(Some(true)),
        BlackoutMode::Shutter | BlackoutMode::Pixels => dark.lamps,
    };
    Want { power, shutter }
}

/// An operator's power or shutter for one output, kept until the show's own wish for that
/// setting changes (the next blackout, restore or schedule edge takes over again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Manual {
    pub set: Want,
    /// The show's wish when the operator set it.
    pub against: Want,
}

impl Manual {
    /// Forgets each setting whose show wish has changed since it was set.
    pub fn follow(&mut self, auto: Want) {
        if auto.power != self.against.power {
            self.set.power = None;
        }
        if auto.shutter != self.against.shutter {
            self.set.shutter = None;
        }
        self.against = auto;
    }

    pub fn over(&self, auto: Want) -> Want {
        Want {
            power: self.set.power.or(auto.power),
            shutter: self.set.shutter.or(auto.shutter),
        }
    }
}

/// One projector as last heard, for `/candela/state` and the web page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectorStatus {
    pub output: String,
    pub host: String,
    pub port: u16,
    /// It answered the last time it was asked.
    pub reachable: bool,
    pub power: Option<Power>,
    pub shutter: Option<Shutter>,
    /// `INPT`: type and number, e.g. "31" (digital 1).
    pub input: Option<String>,
    /// One for each lamp.
    pub lamp_hours: Vec<u32>,
    /// `ERST` parts not ok, e.g. "lamp error".
    pub faults: Vec<String>,
    /// Why it is not answering or not obeying, when it is not.
    pub problem: Option<String>,
}

impl ProjectorStatus {
    pub fn unknown(output: &str, host: &str, port: u16) -> ProjectorStatus {
        ProjectorStatus {
            output: output.to_string(),
            host: host.to_string(),
            port,
            reachable: false,
            power: None,
            shutter: None,
            input: None,
            lamp_hours: Vec::new(),
            faults: Vec::new(),
            problem: None,
        }
    }
}

/// The engine's side of the projectors: each as last heard, and the operators' settings of
/// each output. Bounded by the show: reports from projectors it does not list are dropped.
#[derive(Debug, Clone, Default)]
pub struct Board {
    statuses: Vec<ProjectorStatus>,
    manual: BTreeMap<String, Manual>,
}

impl Board {
    pub fn new(projectors: &[Projector]) -> Board {
        let mut board = Board::default();
        board.replace_show(projectors);
        board
    }

    /// The show's projectors now; those still listed keep what they last said.
    pub fn replace_show(&mut self, projectors: &[Projector]) {
        let old = std::mem::take(&mut self.statuses);
        self.statuses = projectors
            .iter()
            .map(|p| {
                old.iter()
                    .find(|s| (&s.output, &s.host, s.port) == (&p.output, &p.host, p.port))
                    .cloned()
                    .unwrap_or_else(|| ProjectorStatus::unknown(&p.output, &p.host, p.port))
            })
            .collect();
        let outputs = self.outputs();
        self.manual.retain(|o, _| outputs.contains(o));
    }

    pub fn report(&mut self, status: ProjectorStatus) {
        if let Some(s) = self
            .statuses
            .iter_mut()
            .find(|s| (&s.output, &s.host, s.port) == (&status.output, &status.host, status.port))
        {
            *s = status;
        }
    }

    pub fn statuses(&self) -> &[ProjectorStatus] {
        &self.statuses
    }

    /// The outputs that have projectors, each once.
    fn outputs(&self) -> Vec<String> {
        let mut outputs: Vec<String> = Vec::new();
        for s in &self.statuses {
            if !outputs.contains(&s.output) {
                outputs.push(s.output.clone());
            }
        }
        outputs
    }

    /// An operator's power or shutter for every projector of `output`, over `auto` (what the
    /// show wants now).
    pub fn set(&mut self, output: &str, set: Want, auto: Want) -> Result<(), String> {
        if !self.statuses.iter().any(|s| s.output == output) {
            return Err(format!(
                "output {output:?} has no projectors; list them under its [[outputs.projectors]]"
            ));
        }
        let manual = self.manual.entry(output.to_string()).or_default();
        manual.follow(auto);
        manual.set = Want {
            power: set.power.or(manual.set.power),
            shutter: set.shutter.or(manual.set.shutter),
        };
        Ok(())
    }

    /// Closes every output's shutters if any output's are open (by the show or a hand),
    /// else opens them all: one key for the technician.
    pub fn toggle_shutters(&mut self, auto: Want) -> Result<(), String> {
        let outputs = self.outputs();
        if outputs.is_empty() {
            return Err(
                "the show has no projectors; list them under [[outputs.projectors]]".into(),
            );
        }
        let open = self
            .wants(auto)
            .iter()
            .any(|(_, w)| w.shutter != Some(Shutter::Closed));
        let shutter = Some(if open { Shutter::Closed } else { Shutter::Open });
        for o in outputs {
            self.set(
                &o,
                Want {
                    power: None,
                    shutter,
                },
                auto,
            )?;
        }
        Ok(())
    }

    /// What each output's projectors should do, `auto` with the operators' settings over it
    /// (each forgotten once the show's own wish changes).
    pub fn wants(&mut self, auto: Want) -> Vec<(String, Want)> {
        self.outputs()
            .into_iter()
            .map(|o| {
                let want = match self.manual.get_mut(&o) {
                    Some(m) => {
                        m.follow(auto);
                        m.over(auto)
                    }
                    None => auto,
                };
                (o, want)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIT: Dark = Dark {
        blackout: false,
        hours: false,
        lamps: None,
    };

    #[test]
    fn the_shutter_follows_black_and_power_the_mode() {
        let closed = Some(Shutter::Closed);
        let open = Some(Shutter::Open);
        let blacked = Dark {
            blackout: true,
            ..LIT
        };
        assert_eq!(want(BlackoutMode::Shutter, LIT).shutter, open);
        assert_eq!(want(BlackoutMode::Shutter, blacked).shutter, closed);
        assert_eq!(want(BlackoutMode::Shutter, blacked).power, None);
        let outside = Dark {
            hours: true,
            lamps: Some(false),
            ..LIT
        };
        assert_eq!(
            want(BlackoutMode::Shutter, outside),
            Want {
                power: Some(false),
                shutter: closed
            }
        );
        assert_eq!(want(BlackoutMode::Pixels, blacked), Want::default());
        assert_eq!(want(BlackoutMode::Power, blacked).power, Some(false));
        assert_eq!(want(BlackoutMode::Power, LIT).power, Some(true));
    }

    #[test]
    fn a_manual_setting_lasts_until_the_show_changes_its_mind() {
        let auto = Want {
            power: Some(true),
            shutter: Some(Shutter::Open),
        };
        let mut manual = Manual {
            set: Want {
                power: None,
                shutter: Some(Shutter::Closed),
            },
            against: auto,
        };
        manual.follow(auto);
        assert_eq!(manual.over(auto).shutter, Some(Shutter::Closed));
        assert_eq!(manual.over(auto).power, Some(true));
        let blacked = Want {
            shutter: Some(Shutter::Closed),
            ..auto
        };
        manual.follow(blacked);
        manual.follow(auto);
        assert_eq!(
            manual.over(auto),
            auto,
            "the blackout and restore took over"
        );
    }
}
