//! The one vocabulary every input speaks: keys, OSC, feeds and the command line all turn
//! what they receive into a [`Command`] and nothing else.

use super::stage::{AlignStep, MaskEdit, Pattern, SetupStep, WarpEdit};
use std::time::Duration;

/// A slide as an operator names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SlideRef {
    Id(String),
    /// 1-based, as people count ("slide 3").
    Position(usize),
    /// A desk's select-channel value: the slide tagged `dmx = N`, or the Nth when no slide
    /// carries a tag.
    Dmx(u8),
}

/// Serialized (JSON) only as a leader relays it to its followers: the variants that belong to
/// one machine (its geometry, patterns, projectors and receivers) are never relayed, so they
/// are not on the wire.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// `fade` overrides the transition's duration (the kind stays the slide's own).
    Next {
        fade: Option<Duration>,
    },
    Previous {
        fade: Option<Duration>,
    },
    Goto {
        slide: SlideRef,
        fade: Option<Duration>,
    },
    Blackout {
        fade: Option<Duration>,
    },
    Restore {
        fade: Option<Duration>,
    },
    /// Blackout when shown, restore when blacked out (a single key).
    ToggleBlackout,
    /// Master level 0..=1, reached over `fade`.
    Master {
        level: f32,
        fade: Option<Duration>,
    },
    Pause,
    Resume,
    TogglePause,
    /// Holds every slide this long from now on, overriding the show's holds.
    SetHold(Duration),
    /// An alignment pattern in place of the slides, or none.
    #[serde(skip)]
    TestPattern(Option<Pattern>),
    /// The next pattern in turn, then off (a single key).
    #[serde(skip)]
    NextTestPattern,
    /// A change to one output's corner pin, mesh or blend.
    #[serde(skip)]
    Warp {
        output: String,
        edit: WarpEdit,
    },
    /// A change to a mask drawn on site, by its id.
    #[serde(skip)]
    Mask {
        id: String,
        edit: MaskEdit,
    },
    /// Undo, redo, revert or reset across every kind of setup edit.
    #[serde(skip)]
    Setup(SetupStep),
    /// The technician's alignment mode at the laptop.
    #[serde(skip)]
    Align(AlignStep),
    /// A show cue (`[[cues]]`) by number, and by desk cue list when given.
    Cue {
        list: Option<String>,
        number: String,
    },
    /// A show cue by its name on the desk.
    CueNamed(String),
    /// A new value: counted up to; refused if lower than the count shown.
    SetCount {
        counter: String,
        value: u64,
    },
    AddCount {
        counter: String,
        delta: u64,
    },
    /// An operator's correction: shown at once, even if lower.
    CorrectCount {
        counter: String,
        value: u64,
    },
    /// Back to the show file's value.
    ResetCount {
        counter: String,
    },
    /// The operator's say over the show's hours (`[schedule]`): on, off, or back to auto.
    Schedule(super::schedule::Override),
    /// An operator's power (true: on) or shutter for every projector of an output, until
    /// the show's own wish for it changes.
    #[serde(skip)]
    Projector {
        output: String,
        power: Option<bool>,
        shutter: Option<super::Shutter>,
    },
    /// Every projector's shutter closed, or opened if all are closed (a single key).
    #[serde(skip)]
    ToggleShutters,
    /// A projector's status as its PJLink client last heard it.
    #[serde(skip)]
    ProjectorReport(Box<super::ProjectorStatus>),
    /// A counter's feed failed to give a good reading; the count stays as it is.
    FeedFailed {
        counter: String,
    },
    /// The DMX receiver's sources, for the state.
    #[serde(skip)]
    DmxSeen(super::DmxReport),
    /// The sync link's view of the machines in step, for the state.
    #[serde(skip)]
    SyncSeen(super::SyncReport),
}

impl Command {
    /// Whether every machine of a show in step applies it (a leader relays it to its
    /// followers), rather than the one machine that received it: the slides, blackout, master,
    /// holds, cues, counts and hours do; geometry, alignment, test patterns and the projectors
    /// and receivers of one machine do not.
    pub fn shared(&self) -> bool {
        !matches!(
            self,
            Command::TestPattern(_)
                | Command::NextTestPattern
                | Command::Warp { .. }
                | Command::Mask { .. }
                | Command::Setup(_)
                | Command::Align(_)
                | Command::Projector { .. }
                | Command::ToggleShutters
                | Command::ProjectorReport(_)
                | Command::DmxSeen(_)
                | Command::SyncSeen(_)
        )
    }
}

impl From<&crate::show::Action> for Command {
    fn from(action: &crate::show::Action) -> Command {
        use crate::show::Action as A;
        match action.clone() {
            A::Goto { slide, fade } => Command::Goto {
                slide: SlideRef::Id(slide),
                fade,
            },
            A::Next { fade } => Command::Next { fade },
            A::Previous { fade } => Command::Previous { fade },
            A::Blackout { fade } => Command::Blackout { fade },
            A::Restore { fade } => Command::Restore { fade },
            A::Master { level, fade } => Command::Master { level, fade },
            A::Pause => Command::Pause,
            A::Resume => Command::Resume,
            A::Hold(d) => Command::SetHold(d),
            A::TestPattern(on) => Command::TestPattern(on.then_some(Pattern::Grid)),
            A::Cue(number) => Command::Cue { list: None, number },
        }
    }
}
