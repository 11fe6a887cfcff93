//! The show engine: which slide is up, what is fading, blackout, master, auto-cycling.
//!
//! Pure: time is always passed in (`now`, time since the show started) and never read here,
//! so every transition, hold and fade is tested in microseconds with a virtual clock.
//!
//! Slides on screen are a stack of layers, each with an opacity ramp. A new slide fades in on
//! top of whatever is showing *now*, so a cue that arrives mid-transition never jumps back to
//! the old slide, and fades never stack up: once the top layer is fully opaque, everything
//! beneath it is dropped.

mod moment;

pub use moment::Moment;

use super::command::{Command, SlideRef};
use super::projectors::{self, Board, Dark, ProjectorStatus, Want};
use super::ramp::Ramp;
use super::scene::{Layer, Scene, SlideView, slide_view};
use super::schedule::{Hours, LocalTime, ScheduleStatus};
use super::stage::{Pattern, Stage, StageError};
use super::tally::Tally;
use crate::counts::{Counts, NumberFormat};
use crate::show::{Show, TransitionKind};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// At most this many slides are on screen at once; a flurry of cues drops the oldest.
pub const MAX_LAYERS: usize = 3;

/// Shortest hold an operator can set, so the show never spins through slides.
pub const MIN_HOLD: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("the show has no slides to play")]
    NoSlides,
    #[error("no slide {0:?} in the show")]
    UnknownSlide(String),
    #[error("no slide at position {0}; the show has {1}")]
    NoSuchPosition(usize, usize),
    #[error("no slide tagged dmx = {0} in the show")]
    NoDmxTag(u8),
    #[error("master level must be a number from 0 to 1, not {0}")]
    BadLevel(f32),
    #[error("no cue {0} in the show's [[cues]]")]
    UnknownCue(String),
    #[error("no counter {0:?} in the show")]
    UnknownCounter(String),
    #[error("counter {0:?} is a total of other counters; set those instead")]
    DerivedCounter(String),
    #[error(
        "counter {counter:?} shows {from}; {to} would lower it (to lower a count on purpose, correct it)"
    )]
    CountWouldDrop { counter: String, from: u64, to: u64 },
    #[error("{0}")]
    Projector(String),
    #[error(transparent)]
    Stage(#[from] StageError),
}

#[derive(Debug, Clone, PartialEq)]
struct SlideLayer {
    slide: usize,
    /// The slide as the show before a reload had it, fading out under its new version.
    frozen: Option<Box<SlideView>>,
    opacity: Ramp<f32>,
}

/// How long a reloaded show crossfades in over the version it replaces.
pub const RELOAD_FADE: Duration = Duration::from_millis(400);

/// What the engine is doing, for operators (status lines, OSC replies) and tests.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Status {
    pub slide: String,
    /// 1-based.
    pub position: usize,
    pub next: String,
    pub blackout: bool,
    pub master: f32,
    pub paused: bool,
    /// The test pattern's name, or "off".
    pub test_pattern: &'static str,
    /// Alignment mode is on at the laptop.
    pub aligning: bool,
    /// The projectors, by name.
    pub outputs: Vec<String>,
    /// Each projector's corner pin now, in normalized output coordinates.
    pub corners: BTreeMap<String, [crate::geometry::Point; 4]>,
    /// Counters whose feed has failed for longer than their `stale_after`.
    pub stale: Vec<String>,
    /// Why the show file's latest version is not playing (file:line:col: what); empty when
    /// the file on disk is the show playing.
    pub problems: Vec<String>,
    pub schedule: ScheduleStatus,
    /// The desks sending DMX, when the show listens for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dmx: Option<super::DmxReport>,
    /// Each projector as its PJLink client last heard it.
    pub projectors: Vec<ProjectorStatus>,
    /// The machines playing in step, when this one leads or follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<super::SyncReport>,
}

pub struct Engine {
    show: Show,
    numbers: NumberFormat,
    counts: Tally,
    layers: Vec<SlideLayer>,
    /// The slide shown or being faded to: the top layer's.
    current: usize,
    /// 1 shown, 0 blacked out.
    output: Ramp<f32>,
    master: Ramp<f32>,
    paused: bool,
    hold_override: Option<Duration>,
    /// When the show moves on by itself, unless paused or blacked out.
    next_advance: Duration,
    test_pattern: Option<Pattern>,
    stage: Stage,
    /// The latest time the engine was told of.
    clock: Duration,
    /// Counters whose feed is failing, and since when.
    failing: BTreeMap<String, Duration>,
    /// Stale counters already warned about.
    warned_stale: BTreeSet<String>,
    /// Why the show file on disk is not the show playing.
    problems: Vec<String>,
    /// How many times the show was swapped for a new version of its file...
    revision: u64,
    /// ...and how many times its photo files changed on disk.
    photo_revision: u64,
    hours: Hours,
    dmx: Option<super::DmxReport>,
    sync: Option<super::SyncReport>,
    projectors: Board,
}

/// What a cue does, or an error naming the cue (`shown`) when there is none.
fn cue_commands(
    cue: Option<&crate::show::Cue>,
    shown: String,
) -> Result<Vec<Command>, EngineError> {
    let cue = cue.ok_or(EngineError::UnknownCue(shown))?;
    Ok(cue.actions.iter().map(Command::from).collect())
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

impl Engine {
    /// Starts the show on its first slide at `now`, with the counts at `counts` (the show
    /// file's, or those kept from before a restart).
    pub fn new(show: Show, counts: Counts, now: Duration) -> Result<Engine, EngineError> {
        if show.slides.is_empty() {
            return Err(EngineError::NoSlides);
        }
        let numbers = NumberFormat::lenient(&show.locale);
        let stage = Stage::new(&show);
        let mut engine = Engine {
            counts: Tally::new(&show, counts),
            show,
            numbers,
            layers: vec![SlideLayer {
                slide: 0,
                frozen: None,
                opacity: Ramp::fixed(1.0),
            }],
            current: 0,
            output: Ramp::fixed(1.0),
            master: Ramp::fixed(1.0),
            paused: false,
            hold_override: None,
            next_advance: Duration::ZERO,
            test_pattern: None,
            stage,
            clock: now,
            failing: BTreeMap::new(),
            warned_stale: BTreeSet::new(),
            problems: Vec::new(),
            revision: 0,
            photo_revision: 0,
            hours: Hours::default(),
            dmx: None,
            sync: None,
            projectors: Board::default(),
        };
        engine.projectors = Board::new(&engine.show.projectors);
        engine.next_advance = now + engine.hold(0);
        Ok(engine)
    }

    pub fn show(&self) -> &Show {
        &self.show
    }

    /// The projectors and their geometry as it is now.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// Takes the geometry kept from before a restart; returns what could not be taken.
    pub fn restore_calibration(
        &mut self,
        calibration: &crate::calibration::Calibration,
    ) -> Vec<String> {
        self.stage.restore(calibration)
    }

    fn hold(&self, slide: usize) -> Duration {
        self.hold_override
            .unwrap_or_else(|| seconds(self.show.hold_of(&self.show.slides[slide])))
    }

    fn blacked_out(&self) -> bool {
        self.output.to == 0.0
    }

    /// Applies one command at `now`. An error leaves the show as it was.
    pub fn apply(&mut self, command: Command, now: Duration) -> Result<(), EngineError> {
        self.settle(now);
        self.clock = self.clock.max(now);
        let n = self.show.slides.len();
        match command {
            Command::Next { fade } => self.go((self.current + 1) % n, fade, now),
            Command::Previous { fade } => self.go((self.current + n - 1) % n, fade, now),
            Command::Goto { slide, fade } => {
                let target = self.resolve(&slide)?;
                self.go(target, fade, now);
            }
            Command::Blackout { fade } => {
                self.output = self.output.retarget(0.0, now, fade.unwrap_or_default());
            }
            Command::Restore { fade } => {
                let fade = fade.unwrap_or_default();
                if self.blacked_out() {
                    // The audience saw nothing while blacked out: give the slide its full hold.
                    self.next_advance = now + fade + self.hold(self.current);
                }
                self.output = self.output.retarget(1.0, now, fade);
            }
            Command::ToggleBlackout => {
                let command = if self.blacked_out() {
                    Command::Restore { fade: None }
                } else {
                    Command::Blackout { fade: None }
                };
                return self.apply(command, now);
            }
            Command::Master { level, fade } => {
                if !(0.0..=1.0).contains(&level) {
                    return Err(EngineError::BadLevel(level));
                }
                self.master = self.master.retarget(level, now, fade.unwrap_or_default());
            }
            Command::Pause => self.paused = true,
            Command::DmxSeen(report) => self.dmx = Some(report),
            Command::SyncSeen(report) => self.sync = Some(report),
            Command::Resume => {
                if self.paused {
                    self.paused = false;
                    self.next_advance = now + self.hold(self.current);
                }
            }
            Command::TogglePause => {
                let command = if self.paused {
                    Command::Resume
                } else {
                    Command::Pause
                };
                return self.apply(command, now);
            }
            Command::SetHold(hold) => {
                let hold = hold.max(MIN_HOLD);
                // Counted from when the current slide arrived, but never in the past.
                let arrived = self.next_advance.saturating_sub(self.hold(self.current));
                self.hold_override = Some(hold);
                self.next_advance = (arrived + hold).max(now);
            }
            Command::TestPattern(pattern) => self.test_pattern = pattern,
            Command::NextTestPattern => self.test_pattern = Pattern::after(self.test_pattern),
            Command::Warp { output, edit } => self.stage.edit(&output, edit, now)?,
            Command::Mask { id, edit } => self.stage.edit_mask(&id, edit, now)?,
            Command::Setup(step) => self.stage.setup(step, now)?,
            Command::Align(step) => self.stage.align(step, now)?,
            Command::Cue { list, number } => {
                let cue = self.show.cues.iter().find(|c| {
                    c.number == number && (list.is_none() || c.list.is_none() || c.list == list)
                });
                let shown = match &list {
                    Some(l) => format!("{l}/{number}"),
                    None => number.clone(),
                };
                let commands = cue_commands(cue, shown)?;
                return self.apply_all(commands, now);
            }
            Command::CueNamed(name) => {
                let cue = self.show.cues.iter().find(|c| {
                    c.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name.trim()))
                });
                let commands = cue_commands(cue, name)?;
                return self.apply_all(commands, now);
            }
            Command::SetCount { counter, value } => {
                self.counts.set(&counter, value, now)?;
                if self.failing.remove(&counter).is_some() && self.warned_stale.remove(&counter) {
                    tracing::info!("counter {counter:?} has good readings again");
                }
            }
            Command::FeedFailed { counter } => {
                if self.counts.values().get(&counter).is_none() {
                    return Err(EngineError::UnknownCounter(counter));
                }
                self.failing.entry(counter).or_insert(now);
            }
            Command::AddCount { counter, delta } => self.counts.add(&counter, delta, now)?,
            Command::CorrectCount { counter, value } => {
                self.counts.correct(&counter, value, now)?
            }
            Command::ResetCount { counter } => self.counts.reset(&counter, now)?,
            Command::Schedule(mode) => self.hours.set_mode(mode, self.show.schedule.as_ref(), now),
            Command::Projector {
                output,
                power,
                shutter,
            } => {
                let auto = self.projectors_auto(now);
                self.projectors
                    .set(&output, Want { power, shutter }, auto)
                    .map_err(EngineError::Projector)?;
            }
            Command::ToggleShutters => {
                let auto = self.projectors_auto(now);
                self.projectors
                    .toggle_shutters(auto)
                    .map_err(EngineError::Projector)?;
            }
            Command::ProjectorReport(status) => self.projectors.report(*status),
        }
        Ok(())
    }

    /// A cue's commands, in order; the first error stops the rest.
    fn apply_all(&mut self, commands: Vec<Command>, now: Duration) -> Result<(), EngineError> {
        commands.into_iter().try_for_each(|c| self.apply(c, now))
    }

    /// The true counts (a count shown counting up is already at its value here).
    pub fn counts(&self) -> &Counts {
        self.counts.values()
    }

    fn resolve(&self, slide: &SlideRef) -> Result<usize, EngineError> {
        let n = self.show.slides.len();
        match slide {
            SlideRef::Id(id) => self
                .show
                .slides
                .iter()
                .position(|s| s.id == *id)
                .ok_or_else(|| EngineError::UnknownSlide(id.clone())),
            SlideRef::Position(p) if (1..=n).contains(p) => Ok(p - 1),
            SlideRef::Position(p) => Err(EngineError::NoSuchPosition(*p, n)),
            SlideRef::Dmx(v) if self.show.slides.iter().all(|s| s.dmx.is_none()) => {
                self.resolve(&SlideRef::Position(usize::from(*v)))
            }
            SlideRef::Dmx(v) => self
                .show
                .slides
                .iter()
                .position(|s| s.dmx == Some(*v))
                .ok_or(EngineError::NoDmxTag(*v)),
        }
    }

    /// Starts the transition to `target` at `now`; `fade` overrides its duration.
    fn go(&mut self, target: usize, fade: Option<Duration>, now: Duration) {
        let transition = self.show.transition_into(&self.show.slides[target]);
        let mut length = fade.unwrap_or_else(|| seconds(transition.seconds));
        let kind = if length.is_zero() {
            TransitionKind::Cut
        } else {
            transition.kind
        };
        if kind == TransitionKind::Cut {
            length = Duration::ZERO;
        }
        match kind {
            TransitionKind::Cut => self.layers.clear(),
            TransitionKind::Crossfade => {}
            TransitionKind::ThroughBlack => {
                for layer in &mut self.layers {
                    layer.opacity = layer.opacity.retarget(0.0, now, length / 2);
                }
            }
        }
        let opacity = match kind {
            TransitionKind::Cut => Ramp::fixed(1.0),
            TransitionKind::Crossfade => Ramp {
                from: 0.0,
                to: 1.0,
                start: now,
                length,
            },
            TransitionKind::ThroughBlack => Ramp {
                from: 0.0,
                to: 1.0,
                start: now + length / 2,
                length: length - length / 2,
            },
        };
        self.layers.push(SlideLayer {
            slide: target,
            frozen: None,
            opacity,
        });
        if self.layers.len() > MAX_LAYERS {
            self.layers.drain(..self.layers.len() - MAX_LAYERS);
        }
        self.current = target;
        self.next_advance = now + length + self.hold(target);
    }

    /// Drops layers that can no longer be seen: faded out, or under a fully opaque one.
    fn settle(&mut self, now: Duration) {
        self.layers
            .retain(|l| !(l.opacity.done(now) && l.opacity.to == 0.0));
        if let Some(top_opaque) = self
            .layers
            .iter()
            .rposition(|l| l.opacity.done(now) && l.opacity.to >= 1.0)
        {
            self.layers.drain(..top_opaque);
        }
    }

    /// Moves the show on by itself when the current slide's hold is over.
    pub fn tick(&mut self, now: Duration) {
        self.settle(now);
        self.clock = self.clock.max(now);
        for id in self.stale() {
            if self.warned_stale.insert(id.clone()) {
                tracing::warn!(
                    "counter {id:?}: no good reading from its feed for a while; still showing the last good value"
                );
            }
        }
        if self.paused || self.blacked_out() || now < self.next_advance {
            return;
        }
        // Start the transition when it was due, so frame timing does not make the show
        // drift; after a long stall (a suspended laptop), start it now instead.
        let due = self.next_advance;
        let start = if now - due > Duration::from_secs(1) {
            now
        } else {
            due
        };
        let next = (self.current + 1) % self.show.slides.len();
        self.go(next, None, start);
        self.settle(now);
    }

    /// Every slide as it would be shown now, for loading ahead of time.
    pub fn slide_views(&self) -> Vec<SlideView> {
        (0..self.show.slides.len())
            .map(|i| slide_view(&self.show, &self.numbers, self.counts.values(), i))
            .collect()
    }

    /// The slide after the current one, as it would be shown at `now`: what an operator's
    /// Next or the cycle brings up most often, so the renderer can draw it ahead.
    pub fn next_view(&self, now: Duration) -> SlideView {
        let next = (self.current + 1) % self.show.slides.len();
        slide_view(&self.show, &self.numbers, &self.counts.shown(now), next)
    }

    /// What the wall shows at `now`.
    pub fn scene(&self, now: Duration) -> Scene {
        let shown = self.counts.shown(now);
        let layers = self
            .layers
            .iter()
            .map(|l| (l, l.opacity.at(now)))
            .filter(|(_, opacity)| *opacity > 0.0)
            .map(|(layer, opacity)| Layer {
                opacity,
                slide: match &layer.frozen {
                    Some(view) => (**view).clone(),
                    None => slide_view(&self.show, &self.numbers, &shown, layer.slide),
                },
            })
            .collect();
        let alignment = self.stage.alignment_view();
        Scene {
            layers,
            master: self.master.at(now) * self.output.at(now) * self.hours.level(now),
            // Aligning shows the grid unless the technician picked another pattern.
            test_pattern: self
                .test_pattern
                .or(alignment.as_ref().map(|_| Pattern::Grid)),
            alignment,
        }
    }

    /// True while something on screen moves, so the output must redraw every frame.
    pub fn animating(&self, now: Duration) -> bool {
        !self.output.done(now)
            || !self.master.done(now)
            || !self.hours.done(now)
            || self.counts.animating(now)
            || self.layers.iter().any(|l| !l.opacity.done(now))
    }

    /// When the picture next changes by itself, if nothing is moving now: the output can
    /// sleep until then, or until a command arrives.
    pub fn next_change(&self) -> Option<Duration> {
        (!self.paused && !self.blacked_out()).then_some(self.next_advance)
    }

    /// Counters whose feed has failed for longer than they may go without a reading.
    fn stale(&self) -> Vec<String> {
        self.failing
            .iter()
            .filter(|(id, since)| {
                let limit = self.show.counter(id).map_or(300.0, |c| c.stale_after);
                self.clock.saturating_sub(**since).as_secs_f64() >= limit
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub fn status(&self) -> Status {
        let n = self.show.slides.len();
        Status {
            slide: self.show.slides[self.current].id.clone(),
            position: self.current + 1,
            next: self.show.slides[(self.current + 1) % n].id.clone(),
            blackout: self.blacked_out(),
            master: self.master.to,
            paused: self.paused,
            test_pattern: self.test_pattern.map_or("off", Pattern::name),
            aligning: self.stage.aligning(),
            outputs: self.stage.outputs().map(|o| o.name.clone()).collect(),
            corners: self
                .stage
                .outputs()
                .map(|o| (o.name.clone(), o.corners))
                .collect(),
            stale: self.stale(),
            problems: self.problems.clone(),
            schedule: self.hours.status(self.show.schedule.as_ref()),
            dmx: self.dmx.clone(),
            projectors: self.projectors.statuses().to_vec(),
            sync: self.sync.clone(),
        }
    }

    /// Tells the engine the local wall-clock time (the output loop reads the clock): outside
    /// the show's hours the wall fades to black, and back in at their start.
    pub fn set_local_time(&mut self, local: LocalTime, now: Duration) {
        self.hours.set_time(local, self.show.schedule.as_ref(), now);
    }

    /// Swaps in a new version of the show file at `now`, without blanking: the slide shown
    /// stays if its id is still there (else the slide at its position), crossfading from its
    /// old version over [`RELOAD_FADE`]. Counts carry over for counters that remain. The
    /// projectors and masks follow the file ([`Stage::replace_show`]: what the file changed,
    /// outputs added or removed); the canvas size stays until the next start.
    pub fn replace_show(&mut self, mut show: Show, now: Duration) -> Result<(), EngineError> {
        if show.slides.is_empty() {
            return Err(EngineError::NoSlides);
        }
        self.settle(now);
        self.clock = self.clock.max(now);
        show.size = self.show.size;
        self.stage.replace_show(&show);
        let old = self.scene(now).layers.pop().map(|l| Box::new(l.slide));
        let id = &self.show.slides[self.current].id;
        let target = show
            .slides
            .iter()
            .position(|s| s.id == *id)
            .unwrap_or(self.current.min(show.slides.len() - 1));
        let mut counts = Counts::from_show(&show);
        for (id, value) in self.counts.values().iter() {
            counts.set(id, value);
        }
        self.counts = Tally::new(&show, counts);
        self.numbers = NumberFormat::lenient(&show.locale);
        self.failing.retain(|id, _| show.counter(id).is_some());
        self.warned_stale.retain(|id| show.counter(id).is_some());
        self.show = show;
        self.layers = vec![
            SlideLayer {
                slide: target,
                frozen: old,
                opacity: Ramp::fixed(1.0),
            },
            SlideLayer {
                slide: target,
                frozen: None,
                opacity: Ramp {
                    from: 0.0,
                    to: 1.0,
                    start: now,
                    length: RELOAD_FADE,
                },
            },
        ];
        if target != self.current {
            self.next_advance = now + RELOAD_FADE + self.hold(target);
        }
        self.current = target;
        self.problems.clear();
        self.revision += 1;
        self.hours.follow(self.show.schedule.as_ref(), now, false);
        self.projectors.replace_show(&self.show.projectors);
        Ok(())
    }

    /// What the show wants of every projector at `now`: the shutter closed once a blackout
    /// or the hours have faded the wall all the way to black (and open from the moment a
    /// restore begins), the lamps by the hours; without the operators' settings.
    fn projectors_auto(&self, now: Duration) -> Want {
        let pjlink = &self.show.pjlink;
        projectors::want(
            pjlink.blackout,
            Dark {
                blackout: self.output.to == 0.0 && self.output.done(now),
                hours: self.hours.dark(now),
                lamps: self
                    .hours
                    .lamps(self.show.schedule.as_ref(), pjlink.warm_up),
            },
        )
    }

    /// What each output's projectors should do at `now`, the operators' settings included.
    pub fn projector_wants(&mut self, now: Duration) -> Vec<(String, Want)> {
        let auto = self.projectors_auto(now);
        self.projectors.wants(auto)
    }

    /// Why the show file's latest version is not playing, as the watcher found it.
    pub fn set_problems(&mut self, problems: Vec<String>) {
        self.problems = problems;
    }

    /// Counts the shows swapped in: whoever caches what a show needs (photos, feeds) looks
    /// again when it changes.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The show's photo files changed on disk (the same paths, new pictures).
    pub fn photos_changed(&mut self) {
        self.photo_revision += 1;
    }

    /// Counts the times the photo files changed: whoever holds them decoded loads them again.
    pub fn photo_revision(&self) -> u64 {
        self.photo_revision
    }
}
