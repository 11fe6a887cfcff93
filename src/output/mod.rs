//! Where frames go: a window on the projector's monitor, or offscreen (`--headless`).

mod headless;
mod keeper;
pub mod keys;
mod links;
pub mod monitor;
mod window;

pub use headless::{Drawn, Headless, HeadlessOptions, Step, run_headless};
pub use links::LinkOptions;
pub use window::{WindowOptions, run};

/// The renderer a playing show draws with: its fonts loaded (problems logged) and every
/// slide's photo loaded at the canvas's size, so no first cue stalls on a decode.
fn renderer_for(
    gpu: &crate::render::Gpu,
    format: wgpu::TextureFormat,
    engine: &crate::control::Engine,
) -> crate::render::Renderer {
    let (fonts, problems) = crate::check::load_fonts(engine.show());
    for p in problems {
        tracing::warn!("{p}");
    }
    let mut renderer = crate::render::Renderer::new(gpu, format, fonts);
    let canvas = engine.stage().canvas();
    renderer.preload(gpu, &engine.slide_views(), (canvas.width, canvas.height));
    renderer
}
