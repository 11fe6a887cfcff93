//! The pure core between inputs and pixels: what the wall should show, as plain data.
//!
//! Nothing here reads a clock, a file or the GPU: a [`Scene`] is computed from the show, the
//! counts and explicit transition progress, so it can be asserted on (even as JSON) in tests.

mod scene;

pub use scene::{CounterText, Layer, Scene, SlideView, ViewContent, slide_view};
