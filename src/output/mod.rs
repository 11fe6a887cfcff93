//! Where frames go: a window on the projector's monitor, or offscreen (`--headless`).

mod headless;
mod keeper;
pub mod keys;
mod links;
pub mod monitor;
mod player;
mod watcher;
mod window;

pub use headless::{Headless, HeadlessOptions, run_headless};
pub use links::LinkOptions;
pub use player::{Display, Drawn, Player, Step, Unseen};
pub use window::{WindowOptions, run};

/// The renderer a playing show draws with, its fonts loaded (problems logged). Call
/// [`preload`] once the first (black) frame is out.
fn renderer_for(
    gpu: &crate::render::Gpu,
    format: wgpu::TextureFormat,
    engine: &crate::control::Engine,
) -> crate::render::Renderer {
    let (fonts, problems) = crate::text::load_fonts(engine.show());
    for p in problems {
        tracing::warn!("{p}");
    }
    crate::render::Renderer::new(gpu, format, fonts)
}

/// Once the wall stands still, after its frame is out: the next slide drawn ahead, so a
/// Next or the cycle's advance costs its first frame no text drawing.
fn draw_ahead(
    renderer: &mut crate::render::Renderer,
    gpu: &crate::render::Gpu,
    engine: &crate::control::Engine,
    now: std::time::Duration,
) {
    if !engine.animating(now) {
        let canvas = engine.stage().canvas();
        renderer.draw_ahead(gpu, &engine.next_view(now), (canvas.width, canvas.height));
    }
}

/// The local wall-clock time, for the show's hours (the engine never reads a clock).
fn local_now() -> crate::control::schedule::LocalTime {
    let now = jiff::Zoned::now();
    let local = now.timestamp().as_second() + i64::from(now.offset().seconds());
    crate::control::schedule::LocalTime::from_local_seconds(local)
}

/// The engine's show and photo revisions, which say when the renderer must look again.
type Revisions = (u64, u64);

fn revisions(engine: &crate::control::Engine) -> Revisions {
    (engine.revision(), engine.photo_revision())
}

/// After a reload (`seen` is what the renderer planned for): a new show's photos are planned
/// and loaded; when only photo files changed on disk, those are decoded again (the photo
/// cache knows each file's version) and the slides drawn with them redrawn once they are.
fn reloaded(
    seen: &mut Revisions,
    renderer: &mut crate::render::Renderer,
    engine: &crate::control::Engine,
) {
    let now = revisions(engine);
    if now.0 != seen.0 {
        preload(renderer, engine);
    } else if now.1 != seen.1 {
        renderer.refresh_photos();
    }
    *seen = now;
}

/// Plans every slide's photo at the canvas's size and starts loading those near the current
/// slide, off the render thread. Done after the first black frame, so the projector goes
/// black as early as it can.
fn preload(renderer: &mut crate::render::Renderer, engine: &crate::control::Engine) {
    let canvas = engine.stage().canvas();
    renderer.preload(&engine.slide_views(), (canvas.width, canvas.height));
}
