//! The show's control settings: `[[cues]]` (what a desk's cue does to the show) and `[osc]`
//! (addresses, who may send, desk dialects, user mappings, feedback targets).

use super::model::{ActionFile, CueFile, CueNumber, MapFile, OscFile};
use super::{Builder, Slide};
use std::time::Duration;
use toml::Spanned;

/// One thing a cue or a mapping does, as the show file says it; the control layer turns it
/// into a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Goto {
        slide: String,
        fade: Option<Duration>,
    },
    Next {
        fade: Option<Duration>,
    },
    Previous {
        fade: Option<Duration>,
    },
    Blackout {
        fade: Option<Duration>,
    },
    Restore {
        fade: Option<Duration>,
    },
    Master {
        level: f32,
        fade: Option<Duration>,
    },
    Pause,
    Resume,
    /// Every slide held this long from now on.
    Hold(Duration),
    /// The alignment grid on, or no test pattern.
    TestPattern(bool),
    /// A show cue, by number.
    Cue(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub number: String,
    pub list: Option<String>,
    pub name: Option<String>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// An OSC address pattern (`*`, `?`, `[a-z]`, `{a,b}`).
    pub pattern: String,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OscSettings {
    /// Lower-case, with a leading slash and none at the end.
    pub prefix: String,
    /// None: anyone may send.
    pub allow: Option<Vec<ipnet::IpNet>>,
    pub debounce: Duration,
    pub eos: bool,
    pub gma3: bool,
    pub gma3_prefix: Option<String>,
    pub hog4: bool,
    /// Geometry over OSC from allowed senders without alignment mode on.
    pub geometry_any_time: bool,
    pub map: Vec<MapEntry>,
    pub feedback: Vec<String>,
}

impl Default for OscSettings {
    fn default() -> Self {
        OscSettings {
            prefix: "/candela".into(),
            allow: None,
            debounce: Duration::from_millis(100),
            eos: true,
            gma3: true,
            gma3_prefix: None,
            hog4: true,
            geometry_any_time: false,
            map: Vec::new(),
            feedback: Vec::new(),
        }
    }
}

fn seconds(s: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(s).ok()
}

impl Builder<'_> {
    fn cue_number(&mut self, n: &Spanned<CueNumber>) -> Option<String> {
        match n.get_ref() {
            CueNumber::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            CueNumber::Whole(i) => Some(i.to_string()),
            CueNumber::Text(_) => {
                self.problem(
                    n,
                    "cue number is empty".into(),
                    "write it as text: number = \"5\"",
                );
                None
            }
            CueNumber::Float(f) => {
                let msg = format!("cue number {f} is written as a decimal number");
                let hint = "write it in quotes, exactly as the desk shows it: \"1.10\" and \"1.1\" are different cues";
                self.problem(n, msg, hint);
                None
            }
        }
    }

    /// One action table into a command, checking it names exactly one thing to do.
    fn action(&mut self, a: &Spanned<ActionFile>, slides: &[Slide]) -> Option<Action> {
        let f = a.get_ref();
        let fade = f.fade.and_then(seconds);
        if f.fade.is_some() && fade.is_none() {
            self.problem(
                a,
                format!(
                    "fade {:?} is not a number of seconds",
                    f.fade.unwrap_or_default()
                ),
                "write e.g. fade = 1.5",
            );
        }
        let mut verbs = Vec::new();
        if let Some(id) = &f.goto {
            if !slides.iter().any(|s| s.id == *id) {
                self.problem(
                    a,
                    format!("action goes to slide {id:?}, which is not in the show"),
                    "use the id of a slide",
                );
            }
            verbs.push(Action::Goto {
                slide: id.clone(),
                fade,
            });
        }
        let on = |v: Option<bool>| v == Some(true);
        if on(f.next) {
            verbs.push(Action::Next { fade });
        }
        if on(f.previous) {
            verbs.push(Action::Previous { fade });
        }
        if on(f.blackout) {
            verbs.push(Action::Blackout { fade });
        }
        if on(f.restore) {
            verbs.push(Action::Restore { fade });
        }
        if let Some(level) = f.master {
            if !(0.0..=1.0).contains(&level) {
                self.problem(
                    a,
                    format!("master {level} is outside 0 to 1"),
                    "write a level such as 0.5",
                );
            }
            verbs.push(Action::Master { level, fade });
        }
        if on(f.pause) {
            verbs.push(Action::Pause);
        }
        if on(f.resume) {
            verbs.push(Action::Resume);
        }
        if let Some(h) = f.hold {
            match seconds(h).filter(|d| !d.is_zero()) {
                Some(d) => verbs.push(Action::Hold(d)),
                None => self.problem(
                    a,
                    format!("hold {h} is not a number of seconds"),
                    "write e.g. hold = 8",
                ),
            }
        }
        if let Some(on) = f.test_pattern {
            verbs.push(Action::TestPattern(on));
        }
        match verbs.len() {
            1 => verbs.pop(),
            0 => {
                self.problem(a, "action does nothing".into(), "give it one of goto, next, previous, blackout, restore, master, pause, resume, hold, test_pattern");
                None
            }
            _ => {
                self.problem(
                    a,
                    "action does several things".into(),
                    "split it: one action table per thing to do",
                );
                None
            }
        }
    }

    fn actions(&mut self, actions: &[Spanned<ActionFile>], slides: &[Slide]) -> Vec<Action> {
        actions
            .iter()
            .filter_map(|a| self.action(a, slides))
            .collect()
    }

    pub(super) fn cues(&mut self, cues: Vec<CueFile>, slides: &[Slide]) -> Vec<Cue> {
        let mut out: Vec<Cue> = Vec::new();
        for c in cues {
            let (Some(number), list) = (
                self.cue_number(&c.number),
                c.list.as_ref().and_then(|l| self.cue_number(l)),
            ) else {
                continue;
            };
            if out.iter().any(|o| o.number == number && o.list == list) {
                self.problem(
                    &c.number,
                    format!("cue {number} is defined twice"),
                    "give each cue its own number (or list)",
                );
                continue;
            }
            if c.actions.is_empty() {
                self.problem(
                    &c.number,
                    format!("cue {number} has no actions"),
                    "add actions = [{ goto = \"slide-id\" }]",
                );
            }
            let actions = self.actions(&c.actions, slides);
            out.push(Cue {
                number,
                list,
                name: c.name,
                actions,
            });
        }
        out
    }

    pub(super) fn osc(
        &mut self,
        osc: Option<OscFile>,
        slides: &[Slide],
        cues: &[Cue],
    ) -> OscSettings {
        let Some(osc) = osc else {
            return OscSettings::default();
        };
        let defaults = OscSettings::default();
        let prefix = match &osc.prefix {
            Some(p) if p.get_ref().starts_with('/') && p.get_ref().len() > 1 => {
                p.get_ref().trim_end_matches('/').to_lowercase()
            }
            Some(p) => {
                self.problem(
                    p,
                    format!(
                        "OSC prefix {:?} must start with / and name something",
                        p.get_ref()
                    ),
                    "write e.g. prefix = \"/candela\"",
                );
                defaults.prefix
            }
            None => defaults.prefix,
        };
        let allow = osc.allow.as_ref().map(|list| self.networks(list));
        let map = osc
            .map
            .iter()
            .filter_map(|m| self.map_entry(m, slides, cues))
            .collect();
        let feedback = osc
            .feedback
            .iter()
            .filter_map(|f| {
                let t = f.target.get_ref();
                match t.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>())) {
                    Some((host, Ok(_))) if !host.is_empty() => Some(t.clone()),
                    _ => {
                        self.problem(
                            &f.target,
                            format!("feedback target {t:?} is not host:port"),
                            "write e.g. \"192.168.1.50:9001\"",
                        );
                        None
                    }
                }
            })
            .collect();
        OscSettings {
            prefix,
            allow,
            debounce: Duration::from_millis(osc.debounce_ms.unwrap_or(100)),
            eos: osc.eos.unwrap_or(true),
            gma3: osc.gma3.unwrap_or(true),
            gma3_prefix: osc.gma3_prefix.map(|p| p.trim_matches('/').to_string()),
            hog4: osc.hog4.unwrap_or(true),
            geometry_any_time: osc.geometry_any_time.unwrap_or(false),
            map,
            feedback,
        }
    }

    /// Addresses and networks ("192.168.1.0/24", "127.0.0.1") for an `allow` list; each
    /// one that is neither is a problem.
    pub(super) fn networks(&mut self, list: &[Spanned<String>]) -> Vec<ipnet::IpNet> {
        list.iter()
            .filter_map(|a| {
                let text = a.get_ref().trim();
                let parsed = text.parse::<ipnet::IpNet>().ok().or_else(|| {
                    text.parse::<std::net::IpAddr>()
                        .ok()
                        .map(ipnet::IpNet::from)
                });
                if parsed.is_none() {
                    self.problem(
                        a,
                        format!("{text:?} is not an address or network"),
                        "write e.g. \"192.168.1.0/24\" or \"127.0.0.1\"",
                    );
                }
                parsed
            })
            .collect()
    }

    fn map_entry(&mut self, m: &MapFile, slides: &[Slide], cues: &[Cue]) -> Option<MapEntry> {
        let pattern = m.address.get_ref();
        if !pattern.starts_with('/') || rosc::address::Matcher::new(pattern).is_err() {
            self.problem(
                &m.address,
                format!("{pattern:?} is not an OSC address pattern"),
                "write e.g. \"/magicq/macro/*\"",
            );
            return None;
        }
        let mut actions = self.actions(&m.actions, slides);
        if let Some(number) = m.cue.as_ref().and_then(|n| self.cue_number(n)) {
            if !cues.iter().any(|c| c.number == number) {
                self.problem(
                    &m.address,
                    format!("mapping fires cue {number}, which is not in [[cues]]"),
                    "add the cue, or fix its number",
                );
            }
            actions.push(Action::Cue(number));
        }
        if actions.is_empty() {
            self.problem(
                &m.address,
                format!("mapping for {pattern:?} does nothing"),
                "give it actions = [...] or cue = \"N\"",
            );
            return None;
        }
        Some(MapEntry {
            pattern: pattern.clone(),
            actions,
        })
    }
}
