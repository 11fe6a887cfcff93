//! The laptop keyboard, for the AV technician on site. Keys become [`Command`]s; nothing
//! here can quit the show by one stray press.
//!
//! | key | does |
//! |---|---|
//! | Space, → | next slide |
//! | ← | previous slide |
//! | B | blackout on / off |
//! | T | next test pattern: grid, circles, bars, ramp, white, outputs, then off |
//! | P | pause / resume cycling |
//! | S | every projector's shutter closed (PJLink), or opened if all are closed |
//! | digits, then Enter | go to slide N |
//! | A | alignment mode on / off |
//! | Esc twice within a second, or Ctrl+Q | quit |
//!
//! In alignment mode the arrows move the selected corner or mesh point instead (Shift for
//! fine steps), Tab and Shift+Tab select the next or previous one, O the next output, U or
//! Ctrl+Z undoes, and R resets the output to the show file's geometry.

use crate::control::{AlignStep, Command, SlideRef};
use crate::inbox::{Incoming, Request};
use std::time::Duration;
use winit::keyboard::{Key, NamedKey};

/// A second Esc within this long quits.
pub const DOUBLE_ESCAPE: Duration = Duration::from_secs(1);

/// How far an arrow moves a handle, in normalized output coordinates: about 10 pixels of a
/// 1920-wide projector, and about 1 with Shift.
pub const NUDGE: f64 = 0.005;
pub const FINE_NUDGE: f64 = 0.0005;

#[derive(Debug, Clone, PartialEq)]
pub enum KeyAction {
    Command(Command),
    Quit,
    /// Nothing to do but tell the technician something.
    Say(String),
    Nothing,
}

#[derive(Debug, Default)]
pub struct Keys {
    digits: String,
    last_escape: Option<Duration>,
    /// Shift is held: fine steps.
    pub shift: bool,
    /// Alignment mode is on: arrows and a few letters adjust the warp.
    pub aligning: bool,
}

impl Keys {
    /// What a key press at `now` does. Releases and auto-repeats are not passed here.
    pub fn press(&mut self, key: &Key, ctrl: bool, now: Duration) -> KeyAction {
        let first_escape = self.last_escape.take();
        if self.aligning
            && let Some(step) = self.align(key, ctrl)
        {
            return command(Command::Align(step));
        }
        match key {
            Key::Named(NamedKey::Escape) => {
                if first_escape.is_some_and(|t| now.saturating_sub(t) <= DOUBLE_ESCAPE) {
                    return KeyAction::Quit;
                }
                self.digits.clear();
                self.last_escape = Some(now);
                KeyAction::Say("press Esc again to quit (or Ctrl+Q)".into())
            }
            Key::Character(c) if ctrl && c.eq_ignore_ascii_case("q") => KeyAction::Quit,
            Key::Character(c) if c.len() == 1 && c.chars().all(|c| c.is_ascii_digit()) => {
                if self.digits.len() < 4 {
                    self.digits.push_str(c);
                }
                KeyAction::Say(format!("slide {}… (Enter to go)", self.digits))
            }
            Key::Named(NamedKey::Enter) => match std::mem::take(&mut self.digits).parse() {
                Ok(n) => command(Command::Goto {
                    slide: SlideRef::Position(n),
                    fade: None,
                }),
                Err(_) => KeyAction::Nothing,
            },
            Key::Named(NamedKey::Space | NamedKey::ArrowRight) => {
                command(Command::Next { fade: None })
            }
            Key::Named(NamedKey::ArrowLeft) => command(Command::Previous { fade: None }),
            Key::Character(c) if !ctrl => match c.to_ascii_lowercase().as_str() {
                "b" => command(Command::ToggleBlackout),
                "t" => command(Command::NextTestPattern),
                "p" => command(Command::TogglePause),
                "s" => command(Command::ToggleShutters),
                "a" => {
                    // The toggle reaches the engine at the next frame; an arrow pressed before
                    // then must already nudge.
                    self.aligning = !self.aligning;
                    command(Command::Align(AlignStep::Toggle))
                }
                _ => KeyAction::Nothing,
            },
            _ => KeyAction::Nothing,
        }
    }
}

impl Keys {
    /// What a key does in alignment mode, if it does something there.
    fn align(&self, key: &Key, ctrl: bool) -> Option<AlignStep> {
        let step = if self.shift { FINE_NUDGE } else { NUDGE };
        Some(match key {
            Key::Named(NamedKey::ArrowLeft) => AlignStep::Nudge([-step, 0.0]),
            Key::Named(NamedKey::ArrowRight) => AlignStep::Nudge([step, 0.0]),
            Key::Named(NamedKey::ArrowUp) => AlignStep::Nudge([0.0, -step]),
            Key::Named(NamedKey::ArrowDown) => AlignStep::Nudge([0.0, step]),
            Key::Named(NamedKey::Tab) if self.shift => AlignStep::PreviousHandle,
            Key::Named(NamedKey::Tab) => AlignStep::NextHandle,
            Key::Character(c) => match c.to_ascii_lowercase().as_str() {
                "z" if ctrl => AlignStep::Undo,
                "u" if !ctrl => AlignStep::Undo,
                "r" if !ctrl => AlignStep::Reset,
                "o" if !ctrl => AlignStep::NextOutput,
                _ => return None,
            },
            _ => return None,
        })
    }
}

fn command(c: Command) -> KeyAction {
    KeyAction::Command(c)
}

/// A key's command on its way to the show, through the inbox like every other input's.
pub fn request(command: Command) -> Incoming {
    Incoming {
        source: "keys".into(),
        request: Request::Command(command),
        reply: None,
        at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(c: &str) -> Key {
        Key::Character(c.into())
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn show_keys_become_commands() {
        let mut k = Keys::default();
        let next = KeyAction::Command(Command::Next { fade: None });
        assert_eq!(k.press(&Key::Named(NamedKey::Space), false, ms(0)), next);
        assert_eq!(
            k.press(&Key::Named(NamedKey::ArrowRight), false, ms(0)),
            next
        );
        assert_eq!(
            k.press(&Key::Named(NamedKey::ArrowLeft), false, ms(0)),
            KeyAction::Command(Command::Previous { fade: None })
        );
        assert_eq!(
            k.press(&ch("B"), false, ms(0)),
            KeyAction::Command(Command::ToggleBlackout)
        );
        assert_eq!(
            k.press(&ch("t"), false, ms(0)),
            KeyAction::Command(Command::NextTestPattern)
        );
        assert_eq!(
            k.press(&ch("p"), false, ms(0)),
            KeyAction::Command(Command::TogglePause)
        );
        assert_eq!(
            k.press(&ch("s"), false, ms(0)),
            KeyAction::Command(Command::ToggleShutters)
        );
        assert_eq!(k.press(&ch("x"), false, ms(0)), KeyAction::Nothing);
    }

    #[test]
    fn alignment_keys_move_handles_only_while_aligning() {
        let mut k = Keys::default();
        let right = Key::Named(NamedKey::ArrowRight);
        assert_eq!(
            k.press(&ch("a"), false, ms(0)),
            KeyAction::Command(Command::Align(AlignStep::Toggle))
        );
        // No frame has applied the toggle yet: the arrow nudges all the same.
        assert_eq!(
            k.press(&right, false, ms(0)),
            KeyAction::Command(Command::Align(AlignStep::Nudge([NUDGE, 0.0])))
        );
        k.shift = true;
        assert_eq!(
            k.press(&Key::Named(NamedKey::ArrowUp), false, ms(0)),
            KeyAction::Command(Command::Align(AlignStep::Nudge([0.0, -FINE_NUDGE])))
        );
        assert_eq!(
            k.press(&Key::Named(NamedKey::Tab), false, ms(0)),
            KeyAction::Command(Command::Align(AlignStep::PreviousHandle))
        );
        assert_eq!(
            k.press(&ch("z"), true, ms(0)),
            KeyAction::Command(Command::Align(AlignStep::Undo))
        );
        // Show keys still work while aligning.
        assert_eq!(
            k.press(&ch("b"), false, ms(0)),
            KeyAction::Command(Command::ToggleBlackout)
        );
        k.aligning = false;
        assert_eq!(
            k.press(&right, false, ms(0)),
            KeyAction::Command(Command::Next { fade: None })
        );
    }

    #[test]
    fn digits_then_enter_go_to_a_slide() {
        let mut k = Keys::default();
        k.press(&ch("1"), false, ms(0));
        k.press(&ch("2"), false, ms(0));
        assert_eq!(
            k.press(&Key::Named(NamedKey::Enter), false, ms(0)),
            KeyAction::Command(Command::Goto {
                slide: SlideRef::Position(12),
                fade: None
            })
        );
        // The digits are used up; Enter alone does nothing.
        assert_eq!(
            k.press(&Key::Named(NamedKey::Enter), false, ms(0)),
            KeyAction::Nothing
        );
        // Esc clears digits typed by mistake.
        k.press(&ch("7"), false, ms(0));
        k.press(&Key::Named(NamedKey::Escape), false, ms(0));
        assert_eq!(
            k.press(&Key::Named(NamedKey::Enter), false, ms(5000)),
            KeyAction::Nothing
        );
    }

    #[test]
    fn quitting_takes_two_escapes_or_ctrl_q() {
        let mut k = Keys::default();
        let esc = Key::Named(NamedKey::Escape);
        assert!(matches!(k.press(&esc, false, ms(0)), KeyAction::Say(_)));
        // Too late: this one starts over.
        assert!(matches!(k.press(&esc, false, ms(1500)), KeyAction::Say(_)));
        assert_eq!(k.press(&esc, false, ms(2000)), KeyAction::Quit);
        // Another key between the two presses cancels.
        k.press(&esc, false, ms(3000));
        k.press(&ch("x"), false, ms(3100));
        assert!(matches!(k.press(&esc, false, ms(3200)), KeyAction::Say(_)));
        assert_eq!(k.press(&ch("q"), true, ms(0)), KeyAction::Quit);
        assert_eq!(k.press(&ch("q"), false, ms(0)), KeyAction::Nothing);
    }
}
