//! The pure core between inputs and pixels: commands in, what the wall should show out.
//!
//! Nothing here reads a clock, a file or the GPU: the [`Engine`] is given the time with every
//! call and yields a [`Scene`], plain data that tests assert on (even as JSON).

mod command;
mod dmx;
mod engine;
mod history;
pub mod projectors;
mod ramp;
mod resume;
mod scene;
pub mod schedule;
mod stage;
mod sync;
mod tally;

pub use command::{Command, SlideRef};
pub use dmx::{DmxReport, DmxSource};
pub use engine::{Engine, EngineError, MAX_LAYERS, MIN_HOLD, Moment, RELOAD_FADE, Status};
pub use history::{FOLD, UNDO_DEPTH};
pub use projectors::{Power, ProjectorStatus, Shutter, Want};
pub use resume::Resume;
pub use scene::{CounterText, Layer, Scene, SlideView, ViewContent, slide_view};
pub use stage::{
    AlignStep, AlignmentView, BlendView, DrawnMask, Handle, HistoryView, MAX_MASK_POINTS,
    MAX_MASKS, MaskEdit, MaskView, MeshView, OutputView, Pattern, SetupStep, SetupView, Stage,
    StageError, WarpEdit,
};
pub use sync::{FollowerReport, SyncReport};
