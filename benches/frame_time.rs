//! The renderer alone, one frame at a time, as criterion measures a function:
//! `cargo bench --bench frame_time` (lavapipe under `scripts/test`'s settings). Each
//! iteration draws one 1920x1080 frame and waits for the GPU, so the time is the GPU's, not a
//! queue filling up. The whole show under cues, with percentiles, is `candela bench`.
//!
//! - `render/crossfade`: two portrait slides fading (cached layers: this is the output pass);
//! - `render/counter tick`: a slide whose counter changes every frame, so it is laid out,
//!   shaped and drawn again each time;
//! - `render/crossfade + ...`: the same crossfade through a corner pin, then a 5x5 mesh, then
//!   three feathered masks, then a blend edge, one added at a time;
//! - `engine/four counters counting up`: the pure engine's tick and scene for one frame.

use candela::control::{Command, Engine, Scene, SlideView, Stage, ViewContent, slide_view};
use candela::counts::{Counts, NumberFormat};
use candela::geometry::{Mask, Mesh};
use candela::render::{Gpu, HEADLESS_FORMAT, OutputTarget, PhotoNeeds, Renderer, output_texture};
use candela::show::{Show, TransitionKind};
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::Path;
use std::time::Duration;

const SIZE: (u32, u32) = (1920, 1080);

struct Bench {
    gpu: Gpu,
    renderer: Renderer,
    target: wgpu::Texture,
}

impl Bench {
    fn frame(&mut self, scene: &Scene, stage: &Stage) {
        let target = OutputTarget {
            output: 0,
            texture: &self.target,
            monitor: "bench",
            preview: false,
        };
        self.renderer.render(&self.gpu, scene, stage, &[target]);
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
    }
}

/// The default show, with each geometry feature added on top of the previous one.
fn stages(show: &Show) -> Vec<(&'static str, Stage)> {
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
    let mut blended = masked.clone();
    blended.outputs[0].blend.widths[2] = 192.0;
    blended.outputs[0].blend.black_level = 0.02;
    vec![
        ("crossfade", Stage::new(show)),
        ("crossfade + corner pin", Stage::new(&pinned)),
        ("crossfade + pin + 5x5 mesh", Stage::new(&meshed)),
        ("crossfade + pin + mesh + 3 masks", Stage::new(&masked)),
        (
            "crossfade + pin + mesh + masks + blend",
            Stage::new(&blended),
        ),
    ]
}

fn render(c: &mut Criterion) {
    let (show, _) = Show::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("slides")).unwrap();
    let numbers = NumberFormat::new(&show.locale).unwrap();
    let counts = Counts::from_show(&show);
    let view = |id| slide_view(&show, &numbers, &counts, show.find_slide(id).unwrap());
    let gpu = Gpu::headless().unwrap();
    let (fonts, _) = candela::text::load_fonts(&show);
    let renderer = Renderer::new(&gpu, HEADLESS_FORMAT, fonts);
    let usage = wgpu::TextureUsages::empty();
    let target = output_texture(&gpu, "bench", SIZE, HEADLESS_FORMAT, usage);
    println!("adapter: {}", gpu.adapter.get_info().name);
    let mut bench = Bench {
        gpu,
        renderer,
        target,
    };
    let (a, b): (SlideView, SlideView) = (view("yorm-bopha"), view("mikhail-kosenko"));
    // Photos are decoded off the render thread and fade in: all in before anything is timed.
    let both = Scene::transition(a.clone(), b.clone(), TransitionKind::Crossfade, 0.5);
    let plain = Stage::new(&show);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    bench.frame(&both, &plain);
    while bench.renderer.photos_need() != PhotoNeeds::Nothing {
        assert!(
            std::time::Instant::now() < deadline,
            "the photos never came"
        );
        bench.frame(&both, &plain);
    }
    let mut group = c.benchmark_group("render");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(4));
    for (name, stage) in stages(&show) {
        let mut p = 0.0f32;
        group.bench_function(name, |bench_fn| {
            bench_fn.iter(|| {
                // A new opacity each frame, so no frame is skipped as unchanged.
                p = (p + 0.013) % 1.0;
                let scene = Scene::transition(a.clone(), b.clone(), TransitionKind::Crossfade, p);
                bench.frame(&scene, &stage);
            })
        });
    }
    let mut n = 0u64;
    group.bench_function("counter tick", |bench_fn| {
        bench_fn.iter(|| {
            n += 1;
            let mut slide = a.clone();
            if let ViewContent::Portrait {
                counter: Some(c), ..
            } = &mut slide.content
            {
                c.value = numbers.format(89_734 + n);
            }
            bench.frame(&Scene::still(slide), &plain);
        })
    });
    group.finish();
}

/// Four counters rising at once, a total of three on the wall: the engine's share of a frame.
fn engine(c: &mut Criterion) {
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
    let counts = Counts::from_show(&show);
    let mut engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    for (id, value) in [("a", 90_734), ("b", 1_500), ("c", 7_250)] {
        let set = Command::SetCount {
            counter: id.into(),
            value,
        };
        engine.apply(set, Duration::ZERO).unwrap();
    }
    let mut i = 0u32;
    c.bench_function("engine/four counters counting up", |b| {
        b.iter(|| {
            // Through the 2 s count-up and round again, a frame at a time.
            i = (i + 1) % 120;
            let now = Duration::from_secs_f64(i as f64 / 60.0);
            engine.tick(now);
            engine.scene(now)
        })
    });
}

criterion_group!(benches, render, engine);
criterion_main!(benches);
