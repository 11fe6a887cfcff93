//! candela drives night-time light projections for human-rights campaigns: case portraits,
//! names in their own scripts and live appeal counts, cued from a lighting desk.
//!
//! Data flows one way, from the show file to pixels:
//!
//! ```text
//! show file ─► Show ─► Engine ◄─ Command ◄─ keys, OSC, the web, count feeds
//!                        │
//!                        ▼
//!                      Scene (plain data) ─► Renderer ─► one texture view per projector
//!                      Stage (projectors' geometry) ─┘      (windows, or PNG)
//! ```
//!
//! The modules, in that order (each uses only those above it):
//! - [`random`]: a seeded generator for tests, fuzzing and the bench; depends on nothing.
//! - [`log_limit`]: warnings a sender can cause, once per source and kind every 10 s with a
//!   count of those held back; [`log_file`]: the log file, daily, capped in size, private.
//! - [`task`]: background tasks restarted, with a backoff, when they panic or fail.
//! - [`keep`]: small files kept on disk across crashes: atomic writes, a writer thread.
//! - [`geometry`]: pure projection geometry: corner-pin homographies, mesh warps, the
//!   soft-edge blend curve, masks. No GPU, no files.
//! - [`show`]: the show file (`show.toml`): model, loading, problems with file:line:col;
//!   plain settings only (feeds, cue actions, outputs), which the layers below act on.
//! - [`calibration`]: the technician's corner pins and meshes, kept beside the show with
//!   ten rolling backups.
//! - [`counts`]: counter values, locale-aware number formatting, feeds (HTTP, files) and
//!   keeping counts on disk across restarts.
//! - [`control`]: the pure core; [`control::Scene`] says what a frame shows and
//!   [`control::Stage`] where each projector puts it, with no clock, file or GPU involved.
//! - [`inbox`]: the one envelope every input hands the show (a request and where its answer
//!   goes), and the show's side that applies it.
//! - [`dmx`]: sACN and Art-Net from lighting desks: packets, the merge of every console on
//!   the universe, the fixture personality that turns channels into commands (all pure), and
//!   the UDP server on its own thread that feeds them, when the show has `[dmx]`.
//! - [`projector`]: PJLink, projector control: the protocol's text read leniently, the
//!   password hash, one client task per projector on a thread of its own (told what the show
//!   wants, its status handed back through the inbox), the Class 2 search.
//! - [`text`]: fonts and shaping on the CPU, shared by `check` and the renderer.
//! - [`render`]: wgpu: slides into canvas-sized layers, then one output pass per projector
//!   (warp, masks, blend); layout, test patterns, offscreen read-back; photos decoded and
//!   sized on worker threads (`photo`) and kept on the GPU near the current slide
//!   (`photo_cache`), so no frame waits for a decode.
//! - [`check`]: `candela check`, every problem in a show found in one pass (also how the
//!   file watcher checks an edited show).
//! - [`osc`]: OSC from desks and tablets: framing, packets, desk dialects, the UDP/TCP
//!   server on its own tokio thread, replies and feedback.
//! - [`web`]: the web remote: a page and an API (axum) on its own tokio thread, commands
//!   read by the OSC dialect and handed to the inbox, the wall read back off the render
//!   thread while someone watches.
//! - [`sync`]: several machines in step: a leader relays the commands it takes, timed a
//!   little ahead, to followers that apply them at the same show time (the clocks kept by
//!   NTP or PTP); a follower joining takes the leader's moment.
//! - [`output`]: where frames go. One [`output::Player`] owns the engine, the inbox and the
//!   show's clock and runs every frame's steps in one order; a borderless window per
//!   projector (winit) or offscreen textures only draw what it hands them. The technician's
//!   keys (through the inbox, alignment included); saving the calibration as it changes;
//!   watching the show file and swapping in each good new version.
//! - [`bench`]: `candela bench`, the show played headless under cues, measured.
//! - [`cli`]: the command line, a thin layer over the above.

pub mod bench;
pub mod calibration;
pub mod check;
pub mod cli;
pub mod control;
pub mod counts;
pub mod dmx;
pub mod geometry;
pub mod inbox;
pub mod keep;
pub mod log_file;
pub mod log_limit;
pub mod osc;
pub mod output;
pub mod projector;
pub mod random;
pub mod render;
pub mod show;
pub mod sync;
pub mod task;
pub mod text;
pub mod web;
