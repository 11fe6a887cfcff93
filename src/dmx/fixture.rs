//! candela as a fixture on a lighting desk: the merged universe's channels from the start
//! address turned into [`Command`]s, only when they change. Select and control act only
//! once a value has held for [`HOLD`], so a desk fading through values never flashes the
//! slides or fires a band in between.
//!
//! Channels from the start address: master coarse, master fine, slide select, control, fade
//! time, then one per counter the show lists in `[dmx] counters`.

use crate::control::{Command, SlideRef};
use crate::show::{DMX_FIXED_CHANNELS as CHANNELS, DmxSettings, OnLoss};
use std::time::Duration;

/// How long select and control values must hold before they count. A 2 s desk fade from 0
/// to 255 stays about 80 ms in each band of ten.
pub const HOLD: Duration = Duration::from_millis(150);

/// A value on a snap channel, and whether it has been acted on.
#[derive(Debug, Clone, Copy)]
struct Held {
    value: u8,
    since: Duration,
    acted: bool,
}

impl Held {
    /// Takes this frame's value; Some(value) once it has held long enough, once.
    fn settle(slot: &mut Option<Held>, value: u8, now: Duration) -> Option<u8> {
        let held = match slot {
            Some(h) if h.value == value => h,
            _ => slot.insert(Held {
                value,
                since: now,
                acted: false,
            }),
        };
        if held.acted || now.saturating_sub(held.since) < HOLD {
            return None;
        }
        held.acted = true;
        Some(value)
    }
}

pub struct Fixture {
    /// The start address, 0-based.
    start: usize,
    on_loss: OnLoss,
    master: Option<u16>,
    select: Option<Held>,
    control: Option<Held>,
    /// The counters a desk adds to, and each one's channel.
    counters: Vec<(String, Option<Held>)>,
    blacked_out_by_loss: bool,
    seen: bool,
}

impl Fixture {
    /// `address` is the desk's 1-based start address; the show's check keeps room after it
    /// for every channel (and it is clamped if not).
    pub fn new(settings: &DmxSettings) -> Fixture {
        let channels = settings.channels().min(512);
        Fixture {
            start: usize::from(settings.address.clamp(1, (512 - channels + 1) as u16)) - 1,
            on_loss: settings.on_loss,
            master: None,
            select: None,
            control: None,
            counters: settings
                .counters
                .iter()
                .map(|c| (c.clone(), None))
                .collect(),
            blacked_out_by_loss: false,
            seen: false,
        }
    }

    /// Whether a console's levels were taken and their loss is not yet acted on.
    pub fn seen(&self) -> bool {
        self.seen
    }

    /// This moment's commands from the merged universe (None: no console).
    pub fn frame(&mut self, levels: Option<&[u8; 512]>, now: Duration) -> Vec<Command> {
        let mut out = Vec::new();
        let Some(levels) = levels else {
            if self.seen && self.on_loss == OnLoss::Blackout && !self.blacked_out_by_loss {
                out.push(Command::Blackout { fade: None });
                self.blacked_out_by_loss = true;
            }
            // When consoles return, their values are taken afresh.
            (self.master, self.select, self.control, self.seen) = (None, None, None, false);
            self.counters.iter_mut().for_each(|(_, held)| *held = None);
            return out;
        };
        self.seen = true;
        if std::mem::take(&mut self.blacked_out_by_loss) {
            out.push(Command::Restore { fade: None });
        }
        let ch = &levels[self.start..];
        let fade = (ch[4] != 0).then(|| Duration::from_millis(100) * u32::from(ch[4]));
        let master = u16::from_be_bytes([ch[0], ch[1]]);
        if self.master != Some(master) {
            self.master = Some(master);
            // A desk patched 8-bit leaves the fine channel at 0: its full is 0xFF00.
            let level = (f32::from(master) / f32::from(0xff00u16)).min(1.0);
            out.push(Command::Master {
                level,
                fade: Some(Duration::ZERO),
            });
        }
        if let Some(n) = Held::settle(&mut self.select, ch[2], now).filter(|&n| n != 0) {
            out.push(Command::Goto {
                slide: SlideRef::Dmx(n),
                fade,
            });
        }
        if let Some(band) = Held::settle(&mut self.control, ch[3] / 10, now) {
            out.extend(control(band, fade));
        }
        // A held value adds itself once; the channel goes back to 0 to add the same again.
        for (i, (counter, held)) in self.counters.iter_mut().enumerate() {
            let value = ch.get(CHANNELS + i).copied().unwrap_or(0);
            if let Some(n) = Held::settle(held, value, now).filter(|&n| n != 0) {
                out.push(Command::AddCount {
                    counter: counter.clone(),
                    delta: u64::from(n),
                });
            }
        }
        out
    }
}

/// The control channel's bands of ten; 0-9 and 90-255 do nothing, so a channel at rest or
/// pushed to full is safe.
fn control(band: u8, fade: Option<Duration>) -> Option<Command> {
    Some(match band {
        1 => Command::Next { fade },
        2 => Command::Previous { fade },
        3 => Command::Blackout { fade },
        4 => Command::Restore { fade },
        5 => Command::Pause,
        6 => Command::Resume,
        7 => Command::TestPattern(Some(crate::control::Pattern::Grid)),
        8 => Command::TestPattern(None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(address: u16, on_loss: OnLoss, counters: &[&str]) -> DmxSettings {
        DmxSettings {
            universe: 1,
            address,
            port_address: 0,
            on_loss,
            allow: None,
            counters: counters.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn universe(ch: [u8; CHANNELS]) -> [u8; 512] {
        let mut u = [0; 512];
        u[9..9 + CHANNELS].copy_from_slice(&ch);
        u
    }
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn master_16_and_8_bit_and_only_on_change() {
        let mut f = Fixture::new(&settings(10, OnLoss::Hold, &[]));
        let full8 = f.frame(Some(&universe([255, 0, 0, 0, 0])), ms(0));
        assert_eq!(
            full8,
            vec![Command::Master {
                level: 1.0,
                fade: Some(Duration::ZERO)
            }]
        );
        assert!(
            f.frame(Some(&universe([255, 0, 0, 0, 0])), ms(25))
                .is_empty(),
            "no change, no command"
        );
        let half = f.frame(Some(&universe([0x7f, 0x80, 0, 0, 0])), ms(50));
        let Command::Master { level, .. } = half[0] else {
            panic!("{half:?}")
        };
        assert!((level - 0.5).abs() < 0.001, "{level}");
    }

    #[test]
    fn a_fade_on_select_goes_straight_to_its_end() {
        let mut f = Fixture::new(&settings(10, OnLoss::Hold, &[]));
        let mut gotos = Vec::new();
        // 10 to 200 over 2 s at 44 packets a second, then held.
        for i in 0..=150u64 {
            let t = ms(i * 1000 / 44);
            let v = (10 + (190 * t.as_millis() / 2000).min(190)) as u8;
            for c in f.frame(Some(&universe([255, 0, v, 0, 0])), t) {
                if let Command::Goto { slide, .. } = c {
                    gotos.push((t, slide));
                }
            }
        }
        assert_eq!(gotos.len(), 1, "{gotos:?}");
        assert_eq!(gotos[0].1, SlideRef::Dmx(200));
        assert!(gotos[0].0 >= ms(2000) + HOLD && gotos[0].0 <= ms(2000) + HOLD + ms(25));
    }

    #[test]
    fn control_acts_on_entering_a_band_once() {
        let mut f = Fixture::new(&settings(10, OnLoss::Hold, &[]));
        let mut at = |v: u8, t: u64| f.frame(Some(&universe([0, 0, 0, v, 20])), ms(t));
        at(0, 0);
        assert!(at(15, 100).is_empty(), "not held yet");
        let next = at(15, 250);
        assert_eq!(
            next,
            vec![Command::Next {
                fade: Some(ms(2000))
            }]
        );
        assert!(at(17, 300).is_empty(), "same band: no second next");
        assert!(at(17, 600).is_empty());
        at(0, 700);
        at(0, 900);
        at(12, 1000);
        assert_eq!(
            at(12, 1200),
            vec![Command::Next {
                fade: Some(ms(2000))
            }]
        );
    }

    #[test]
    fn a_counter_channel_adds_each_held_value_once() {
        let mut f = Fixture::new(&settings(10, OnLoss::Hold, &["letters"]));
        let mut u = [0u8; 512];
        let mut adds = Vec::new();
        for (t, v) in [
            (0, 0),
            (10, 7),
            (100, 7),
            (200, 7),
            (400, 7),
            (500, 0),
            (700, 0),
            (800, 3),
            (1000, 3),
        ] {
            u[9 + CHANNELS] = v;
            for c in f.frame(Some(&u), ms(t)) {
                if let Command::AddCount { counter, delta } = c {
                    adds.push((counter, delta));
                }
            }
        }
        assert_eq!(
            adds,
            [("letters".to_string(), 7), ("letters".to_string(), 3)]
        );
    }

    #[test]
    fn loss_holds_or_blacks_out_and_restores() {
        let mut hold = Fixture::new(&settings(1, OnLoss::Hold, &[]));
        hold.frame(Some(&[0; 512]), ms(0));
        assert!(hold.frame(None, ms(10)).is_empty());
        let mut dark = Fixture::new(&settings(1, OnLoss::Blackout, &[]));
        assert!(
            dark.frame(None, ms(0)).is_empty(),
            "never seen: nothing to lose"
        );
        dark.frame(Some(&[0; 512]), ms(10));
        assert_eq!(
            dark.frame(None, ms(20)),
            vec![Command::Blackout { fade: None }]
        );
        assert!(dark.frame(None, ms(30)).is_empty());
        let back = dark.frame(Some(&[0; 512]), ms(40));
        assert_eq!(back[0], Command::Restore { fade: None });
    }
}
