//! Frame times on the GPU at hand (lavapipe under `scripts/test`'s settings), printed as
//! percentiles: `cargo bench --bench frame_time`.
//!
//! - crossfade: two portrait slides with text and a counter fading at 1920x1080, the frame the
//!   wall sees most while the show moves (slides are cached layers, so this is compositing);
//! - counter-tick: the same slide with its counter changing every frame, so the slide is laid
//!   out, shaped and drawn again each time (what a live count costs when a digit changes).
//!
//! Each frame is submitted and waited for, so the time is the GPU's, not a queue filling up.

use candela::control::{Scene, ViewContent, slide_view};
use candela::counts::{Counts, NumberFormat};
use candela::render::{Gpu, HEADLESS_FORMAT, Renderer, render_target};
use candela::show::{Show, TransitionKind};
use std::path::Path;
use std::time::{Duration, Instant};

const SIZE: (u32, u32) = (1920, 1080);
const FRAMES: usize = 300;

fn main() {
    let (show, _) = Show::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("slides")).unwrap();
    let numbers = NumberFormat::new(&show.locale).unwrap();
    let counts = Counts::from_show(&show);
    let view = |id| slide_view(&show, &numbers, &counts, show.find_slide(id).unwrap());
    let gpu = Gpu::headless().unwrap();
    let (fonts, _) = candela::check::load_fonts(&show);
    let mut renderer = Renderer::new(&gpu, HEADLESS_FORMAT, fonts);
    let target = render_target(
        &gpu,
        "bench",
        SIZE,
        HEADLESS_FORMAT,
        wgpu::TextureUsages::empty(),
    );
    let target = target.create_view(&Default::default());
    println!("adapter: {}", gpu.adapter.get_info().name);

    let mut frame = |scene: &Scene| {
        let start = Instant::now();
        renderer.render(&gpu, scene, &target, SIZE);
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
        start.elapsed()
    };

    let (a, b) = (view("yorm-bopha"), view("mikhail-kosenko"));
    let first = frame(&Scene::transition(
        a.clone(),
        b.clone(),
        TransitionKind::Crossfade,
        0.0,
    ));
    println!(
        "first frame (shaders, fonts, photos, both layers): {}",
        ms(first)
    );
    let times: Vec<Duration> = (0..FRAMES)
        .map(|i| {
            let p = i as f32 / FRAMES as f32;
            frame(&Scene::transition(
                a.clone(),
                b.clone(),
                TransitionKind::Crossfade,
                p,
            ))
        })
        .collect();
    report("crossfade 1920x1080, 2 portrait layers", times);

    let times: Vec<Duration> = (0..FRAMES)
        .map(|i| {
            let mut slide = a.clone();
            if let ViewContent::Portrait {
                counter: Some(c), ..
            } = &mut slide.content
            {
                c.value = numbers.format(89_734 + i as u64);
            }
            frame(&Scene::still(slide))
        })
        .collect();
    report("counter-tick 1920x1080, slide redrawn every frame", times);
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name}: {} frames, p50 {}, p99 {}, max {}",
        times.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0))
    );
}
