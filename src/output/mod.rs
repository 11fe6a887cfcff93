//! Where frames go: a window on the projector's monitor, or offscreen (`--headless`).

mod headless;
mod keeper;
pub mod keys;
mod links;
pub mod monitor;
mod window;

pub use headless::{Headless, HeadlessOptions, run_headless};
pub use links::LinkOptions;
pub use window::{WindowOptions, run};
