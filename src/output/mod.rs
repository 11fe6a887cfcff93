//! Where frames go: a window on the projector's monitor, or offscreen (`--headless`).

mod headless;
pub mod keys;
pub mod monitor;
mod window;

pub use headless::{Headless, HeadlessOptions, run_headless};
pub use window::{WindowOptions, run};
