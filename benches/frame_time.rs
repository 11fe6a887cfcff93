//! Frame times on the GPU at hand (lavapipe under `scripts/test`'s settings), printed as
//! percentiles: `cargo bench --bench frame_time`.
//!
//! - crossfade: two portrait slides with text and a counter fading at 1920x1080, the frame the
//!   wall sees most while the show moves (slides are cached layers, so this is compositing);
//! - counter-tick: the same slide with its counter changing every frame, so the slide is laid
//!   out, shaped and drawn again each time (what a live count costs when a digit changes);
//! - four counters counting up at once through the engine, a total of three on the wall;
//! - crossfade with geometry: the same crossfade through a corner pin, a 5x5 mesh, three
//!   feathered masks and a blend edge, against the same output with no geometry.
//!
//! Each frame is submitted and waited for, so the time is the GPU's, not a queue filling up.

use candela::control::{Scene, Stage, ViewContent, slide_view};
use candela::counts::{Counts, NumberFormat};
use candela::geometry::{Mask, Mesh};
use candela::render::{Gpu, HEADLESS_FORMAT, OutputTarget, Renderer, output_texture};
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
    let target = output_texture(
        &gpu,
        "bench",
        SIZE,
        HEADLESS_FORMAT,
        wgpu::TextureUsages::empty(),
    );
    println!("adapter: {}", gpu.adapter.get_info().name);

    let plain = Stage::new(&show);
    let mut frame = |scene: &Scene| {
        let start = Instant::now();
        renderer.render(&gpu, scene, &plain, &[output(&target)]);
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
    four_counters(&gpu, &target);
    geometry(&gpu, &target, &show, &mut renderer, &a, &b);
}

fn output(texture: &wgpu::Texture) -> OutputTarget<'_> {
    OutputTarget {
        output: 0,
        texture,
        monitor: "bench",
    }
}

/// The crossfade through no geometry, then through a corner pin, a 5x5 mesh, three feathered
/// masks and a blend edge, frame for frame the same.
fn geometry(
    gpu: &Gpu,
    target: &wgpu::Texture,
    show: &Show,
    renderer: &mut Renderer,
    a: &candela::control::SlideView,
    b: &candela::control::SlideView,
) {
    let mut pinned = show.clone();
    pinned.outputs[0].corners = [[0.03, 0.05], [0.98, 0.0], [0.95, 0.97], [0.0, 1.0]];
    let mut meshed = pinned.clone();
    let mut mesh = Mesh::identity(5, 5, false).unwrap();
    mesh.set_point(2, 2, [0.52, 0.49]).unwrap();
    mesh.set_point(1, 3, [0.24, 0.77]).unwrap();
    meshed.outputs[0].mesh = mesh;
    let window = |x: f64, y: f64| Mask {
        points: vec![
            [x, y],
            [x + 160.0, y],
            [x + 160.0, y + 220.0],
            [x, y + 220.0],
        ],
        feather: 12.0,
        invert: false,
    };
    let mut masked = meshed.clone();
    masked.masks = vec![
        window(300.0, 200.0),
        window(900.0, 200.0),
        window(1500.0, 600.0),
    ];
    let mut warped = masked.clone();
    warped.outputs[0].blend.widths[2] = 192.0;
    warped.outputs[0].blend.black_level = 0.02;
    let stages = [
        ("no geometry", Stage::new(show)),
        ("corner pin", Stage::new(&pinned)),
        ("corner pin + 5x5 mesh", Stage::new(&meshed)),
        ("pin + mesh + 3 feathered masks", Stage::new(&masked)),
        (
            "geometry (pin + mesh + masks + blend edge)",
            Stage::new(&warped),
        ),
    ];
    for (name, stage) in stages {
        let mut run = |p: f32| {
            let scene = Scene::transition(a.clone(), b.clone(), TransitionKind::Crossfade, p);
            let start = Instant::now();
            renderer.render(gpu, &scene, &stage, &[output(target)]);
            gpu.device
                .poll(wgpu::PollType::wait_indefinitely())
                .unwrap();
            start.elapsed()
        };
        // The first frame of a stage tessellates and rasterizes the masks: not a frame time.
        let setup = run(0.0);
        let times = (0..FRAMES).map(|i| run(i as f32 / FRAMES as f32)).collect();
        println!("{name}: set-up frame {}", ms(setup));
        report(&format!("crossfade 1920x1080, {name}"), times);
    }
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

/// Four counters rising at once, one of them on the wall, played at 60 frames a second over
/// the 2 s count-up: the frame times, and how many frames had to lay out and draw the slide
/// again (only those where a shown digit changed; the others reuse the cached slide).
fn four_counters(gpu: &Gpu, target: &wgpu::Texture) {
    use candela::control::{Command, Engine};
    let src = r#"
locale = "fr-FR"
count_up_seconds = 2
[[counters]]
id = "a"
label = "lettres pour A"
value = 89000
[[counters]]
id = "b"
label = "b"
value = 1000
[[counters]]
id = "c"
label = "c"
value = 5000
[[counters]]
id = "total"
label = "messages écrits"
sum = ["a", "b", "c"]
[[slides]]
id = "total"
kind = "counter"
counter = "total"
"#;
    let (show, _) = Show::parse(Path::new("four.toml"), src).unwrap();
    let (fonts, _) = candela::check::load_fonts(&show);
    let mut renderer = Renderer::new(gpu, HEADLESS_FORMAT, fonts);
    let counts = Counts::from_show(&show);
    let mut engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    for (id, value) in [("a", 90_734), ("b", 1_500), ("c", 7_250)] {
        let set = Command::SetCount {
            counter: id.into(),
            value,
        };
        engine.apply(set, Duration::ZERO).unwrap();
    }
    let stage = Stage::new(engine.show());
    let mut times = Vec::new();
    let mut redrawn = 0;
    let mut last = None;
    let cpu = Instant::now();
    let mut engine_time = Duration::ZERO;
    for i in 0..=120u32 {
        let now = Duration::from_secs_f64(i as f64 / 60.0);
        let t = Instant::now();
        engine.tick(now);
        let scene = engine.scene(now);
        engine_time += t.elapsed();
        if last.as_ref() != Some(&scene) {
            redrawn += 1;
        }
        let start = Instant::now();
        renderer.render(gpu, &scene, &stage, &[output(target)]);
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
        times.push(start.elapsed());
        last = Some(scene);
    }
    println!(
        "four counters counting up: engine {:.3} ms a frame; {redrawn} of 121 frames changed the picture ({:.1} s in all)",
        engine_time.as_secs_f64() * 1000.0 / 121.0,
        cpu.elapsed().as_secs_f64()
    );
    report("four counters counting up 1920x1080, frame", times);
}
