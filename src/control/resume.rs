//! Where the show was: the slide, blackout, master, pause, test pattern and the operator's
//! schedule override, kept on disk so a
//! crash or a power cut brings the wall back where it was. Taken from the engine's status and
//! given back as ordinary commands, so resuming is nothing the engine does not already do.

use super::command::{Command, SlideRef};
use super::engine::Status;
use super::schedule::Override;
use super::stage::Pattern;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resume {
    /// The slide's id; its position (1-based, in the cycle) when the id has gone.
    pub slide: String,
    pub position: usize,
    pub blackout: bool,
    pub master: f32,
    pub paused: bool,
    /// The test pattern's name, or "off".
    pub test_pattern: String,
    /// The operator's word on the show's hours: "auto", "on" or "off". An operator who kept
    /// the wall lit past its hours (or dark within them) still has it so after a crash.
    /// Files kept before it was kept say nothing: the hours decide.
    #[serde(default = "auto")]
    pub schedule: String,
}

fn auto() -> String {
    Override::Auto.name().into()
}

impl Resume {
    pub fn of(status: &Status) -> Resume {
        Resume {
            slide: status.slide.clone(),
            position: status.position,
            blackout: status.blackout,
            master: status.master,
            paused: status.paused,
            test_pattern: status.test_pattern.to_string(),
            schedule: status.schedule.mode.to_string(),
        }
    }

    /// The commands that bring a freshly started show of `slides` (ids in order) back here,
    /// all taking effect at once; and what could not be taken back.
    pub fn commands(&self, slides: &[&str]) -> (Vec<Command>, Vec<String>) {
        let mut skipped = Vec::new();
        let now = Some(Duration::ZERO);
        let mut commands = Vec::new();
        if slides.contains(&self.slide.as_str()) {
            commands.push(Command::Goto {
                slide: SlideRef::Id(self.slide.clone()),
                fade: now,
            });
        } else if (1..=slides.len()).contains(&self.position) {
            skipped.push(format!(
                "slide {:?} is no longer in the show; resuming at position {}",
                self.slide, self.position
            ));
            commands.push(Command::Goto {
                slide: SlideRef::Position(self.position),
                fade: now,
            });
        } else {
            skipped.push(format!(
                "slide {:?} is no longer in the show; starting from the top",
                self.slide
            ));
        }
        if (0.0..=1.0).contains(&self.master) {
            commands.push(Command::Master {
                level: self.master,
                fade: now,
            });
        } else {
            skipped.push(format!("master {} is not from 0 to 1", self.master));
        }
        if self.blackout {
            commands.push(Command::Blackout { fade: now });
        }
        if self.paused {
            commands.push(Command::Pause);
        }
        match (
            self.test_pattern.as_str(),
            Pattern::parse(&self.test_pattern),
        ) {
            ("off", _) => {}
            (_, Some(p)) => commands.push(Command::TestPattern(Some(p))),
            (name, None) => skipped.push(format!("no test pattern {name:?}")),
        }
        match Override::parse(&self.schedule) {
            Some(Override::Auto) => {}
            Some(o) => commands.push(Command::Schedule(o)),
            None => skipped.push(format!("no schedule override {:?}", self.schedule)),
        }
        (commands, skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume(slide: &str, position: usize) -> Resume {
        Resume {
            slide: slide.into(),
            position,
            blackout: true,
            master: 0.5,
            paused: true,
            test_pattern: "grid".into(),
            schedule: "on".into(),
        }
    }

    #[test]
    fn a_kept_slide_is_found_by_id_then_by_position() {
        let (commands, skipped) = resume("b", 2).commands(&["a", "c", "b"]);
        assert!(skipped.is_empty());
        assert_eq!(
            commands[0],
            Command::Goto {
                slide: SlideRef::Id("b".into()),
                fade: Some(Duration::ZERO)
            }
        );
        assert!(commands.contains(&Command::Blackout {
            fade: Some(Duration::ZERO)
        }));
        assert!(commands.contains(&Command::Pause));
        assert!(commands.contains(&Command::TestPattern(Some(Pattern::Grid))));
        assert!(commands.contains(&Command::Schedule(Override::On)));
        let (commands, skipped) = resume("gone", 2).commands(&["a", "c"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(
            commands[0],
            Command::Goto {
                slide: SlideRef::Position(2),
                fade: Some(Duration::ZERO)
            }
        );
        let (commands, skipped) = resume("gone", 9).commands(&["a"]);
        assert!(skipped[0].contains("from the top"));
        assert!(!commands.iter().any(|c| matches!(c, Command::Goto { .. })));
    }

    #[test]
    fn nonsense_values_are_skipped_not_applied() {
        let mut r = resume("a", 1);
        r.master = f32::NAN;
        r.test_pattern = "zebra".into();
        r.schedule = "sometimes".into();
        let (commands, skipped) = r.commands(&["a"]);
        assert_eq!(skipped.len(), 3);
        assert!(!commands.iter().any(|c| matches!(c, Command::Master { .. })));
        assert!(!commands.iter().any(|c| matches!(c, Command::Schedule(_))));
    }

    #[test]
    fn a_file_kept_before_the_override_was_lets_the_hours_decide() {
        let kept = r#"{"slide": "a", "position": 1, "blackout": false, "master": 1.0,
                       "paused": false, "test_pattern": "off"}"#;
        let r: Resume = serde_json::from_str(kept).unwrap();
        assert_eq!(r.schedule, "auto");
        let (commands, skipped) = r.commands(&["a"]);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert!(!commands.iter().any(|c| matches!(c, Command::Schedule(_))));
    }
}
