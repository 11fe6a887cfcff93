//! A [`Moment`]: what an engine plays at one time, taken from one machine's engine and given
//! to another's, so a follower that joins (or comes back) plays the leader's moment from its
//! next frame: the slides fading and their times, blackout, master, pause, holds, the counts
//! counting up, the hours' fade. Not the geometry, patterns or projectors: each machine's own.

use super::{Engine, EngineError, SlideLayer};
use crate::control::ramp::Ramp;
use crate::control::schedule::Override;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    /// The show time it was taken at; the engine it is given to is at this time too.
    at: Duration,
    /// The slides on screen, bottom first, by position, with their opacity ramps. A slide's
    /// old version still fading out after a reload is left out (it is in no show file).
    layers: Vec<(usize, Ramp<f32>)>,
    current: usize,
    output: Ramp<f32>,
    master: Ramp<f32>,
    paused: bool,
    hold_override: Option<Duration>,
    next_advance: Duration,
    /// Each counter: its value, and the count shown on its way there.
    counts: Vec<(String, u64, Ramp<u64>)>,
    failing: BTreeMap<String, Duration>,
    schedule: Override,
    hours: Ramp<f32>,
}

impl Moment {
    pub fn at(&self) -> Duration {
        self.at
    }
}

impl Engine {
    /// What this engine plays at `now` (the latest time it was moved to).
    pub fn moment(&self, now: Duration) -> Moment {
        let (schedule, hours) = self.hours.moment();
        Moment {
            at: now,
            layers: self
                .layers
                .iter()
                .filter(|l| l.frozen.is_none())
                .map(|l| (l.slide, l.opacity))
                .collect(),
            current: self.current,
            output: self.output,
            master: self.master,
            paused: self.paused,
            hold_override: self.hold_override,
            next_advance: self.next_advance,
            counts: self.counts.moment(),
            failing: self.failing.clone(),
            schedule,
            hours,
        }
    }

    /// Plays `moment` from now on, taken from an engine with the same show; the engine's
    /// clock is set to its time. An error (a slide this show does not have) leaves the engine
    /// as it was.
    pub fn take_moment(&mut self, moment: &Moment) -> Result<(), EngineError> {
        let n = self.show.slides.len();
        let slides = moment.layers.iter().map(|(s, _)| *s);
        if let Some(bad) = slides.chain([moment.current]).find(|s| *s >= n) {
            return Err(EngineError::NoSuchPosition(bad + 1, n));
        }
        self.layers = moment
            .layers
            .iter()
            .map(|(slide, opacity)| SlideLayer {
                slide: *slide,
                frozen: None,
                opacity: *opacity,
            })
            .collect();
        self.current = moment.current;
        self.output = moment.output;
        self.master = moment.master;
        self.paused = moment.paused;
        self.hold_override = moment.hold_override;
        self.next_advance = moment.next_advance;
        self.counts.take_moment(&moment.counts);
        self.failing = moment
            .failing
            .iter()
            .filter(|(id, _)| self.show.counter(id).is_some())
            .map(|(id, since)| (id.clone(), *since))
            .collect();
        self.hours.take_moment(moment.schedule, moment.hours);
        self.clock = moment.at;
        Ok(())
    }
}
