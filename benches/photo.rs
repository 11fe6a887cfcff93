//! A camera's photo made ready for the GPU, and what a cue to it costs the frames:
//! `cargo bench --bench photo` (under `taskset -c 0` for one core; the GPU's settings as
//! `scripts/test` sets them). The 24-megapixel JPEG (6000x4000, a gradient under noise,
//! written by image's encoder at quality 90: 9.7 MB, like a camera's) is generated here.
//!
//! - `photo 24 MP to 1920x1080 fit/candela`: `render::photo::load_fitted`, what a photo
//!   worker does: bounded decode, resize on the stored RGB with fast_image_resize, RGBA;
//! - `.../decode only`: `image::open`, the floor: the JPEG's entropy decoding is most of it;
//! - `.../naive`: `image::open`, `to_rgba8`, `imageops::resize` (Catmull-Rom), for comparison;
//! - `slide change to an unloaded 24 MP portrait`: not criterion's: a 1920x1080 show played
//!   headless at 60 frames a second through the real output path; a cue goes to a slide
//!   whose photo was not loaded ahead, and the frames drawn from the cue until the photo has
//!   faded in are measured (median, p99, max; the target is p99 at most twice the median).

use candela::control::{Command, Engine, SlideRef};
use candela::counts::Counts;
use candela::inbox::{Incoming, Request};
use candela::output::{Headless, LinkOptions};
use candela::render::photo;
use candela::show::{Fit, Show};
use criterion::{Criterion, SamplingMode, criterion_group};
use image::{DynamicImage, ImageEncoder, RgbImage};
use std::path::Path;
use std::time::Duration;

/// A 6000x4000 JPEG at `path`: a smooth gradient under seeded noise, so it compresses and
/// decodes like a photo rather than like flat colour or pure noise.
fn camera_jpeg(path: &Path) {
    let mut random = candela::random::Xorshift::new(24);
    let image = RgbImage::from_fn(6000, 4000, |x, y| {
        let mut noise = || (random.below(24)) as u32;
        image::Rgb([
            ((x * 200 / 6000) + noise()) as u8,
            ((y * 200 / 4000) + noise()) as u8,
            (((x + y) * 100 / 10000) + 60 + noise()) as u8,
        ])
    });
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, 90)
        .write_image(image.as_raw(), 6000, 4000, image::ExtendedColorType::Rgb8)
        .unwrap();
}

/// What the renderer did before: decode, RGBA, resize the whole.
fn naive(path: &Path, box_w: u32, box_h: u32) -> image::RgbaImage {
    let rgba = image::open(path).unwrap().to_rgba8();
    let fitted = DynamicImage::ImageRgba8(rgba).resize(
        box_w,
        box_h,
        image::imageops::FilterType::CatmullRom,
    );
    fitted.into_rgba8()
}

fn pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera.jpg");
    camera_jpeg(&path);
    let mut group = c.benchmark_group("photo 24 MP to 1920x1080 fit");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("candela", |b| {
        b.iter(|| {
            let fitted = photo::load_fitted(&path, 1920, 1080, Fit::Fit).unwrap();
            assert_eq!(fitted.rgba.dimensions(), (1620, 1080));
        })
    });
    group.bench_function("decode only", |b| {
        b.iter(|| image::open(&path).unwrap().width())
    });
    group.bench_function("naive", |b| {
        b.iter(|| {
            let fitted = naive(&path, 1920, 1080);
            assert_eq!(fitted.dimensions(), (1620, 1080));
        })
    });
    group.finish();
}

/// Frames drawn from a cue to an unloaded 24 MP portrait until its photo has faded in.
fn slide_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut toml = String::from(
        "title = \"bench\"\nsize = \"1920x1080\"\nhold = 600\ntransition = \"crossfade\"\n\
         transition_seconds = 1\n",
    );
    for i in 0..8 {
        let name = format!("p{i}.jpg");
        if i == 6 {
            camera_jpeg(&dir.path().join(&name));
        } else {
            let small = RgbImage::from_pixel(900, 1200, image::Rgb([40, 60 + i * 20, 200]));
            small.save(dir.path().join(&name)).unwrap();
        }
        toml.push_str(&format!(
            "\n[[slides]]\nid = \"s{i}\"\nkind = \"portrait\"\nimage = \"{name}\"\nname = \"Case {i}\"\n\
             story = \"A line of story under the name, as the show's slides have\"\n"
        ));
    }
    let show_path = dir.path().join("show.toml");
    std::fs::write(&show_path, toml).unwrap();
    let (show, _) = Show::load(&show_path).unwrap();
    let counts = Counts::from_show(&show);
    let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    let mut player = Headless::new(engine, LinkOptions::default()).unwrap();
    player.black();
    let frame = Duration::from_secs_f64(1.0 / 60.0);
    let mut ticks = 0;
    // Plays from a cue to `slide` until the crossfade is over and its photo is in; the times
    // of the frames drawn meanwhile.
    let mut change = |player: &mut Headless, slide: usize| {
        let photo = dir.path().join(format!("p{slide}.jpg"));
        let goto = Command::Goto {
            slide: SlideRef::Id(format!("s{slide}")),
            fade: None,
        };
        let cue = player.player.now();
        (player.player.deliver())(Incoming {
            source: "bench".into(),
            request: Request::Command(goto),
            reply: None,
            at: Some(cue),
        });
        let mut times = Vec::new();
        let mut waited = Duration::ZERO;
        loop {
            let now = player.player.now();
            // The cue's frame first: before it, the slide shown is still the old one.
            if let Some(drawn) = player.frame(now).drawn {
                times.push(drawn.done - drawn.started);
            }
            let loaded = player.renderer().photo_opacity(&photo) == Some(1.0);
            if loaded && waited.is_zero() {
                waited = now - cue;
            }
            if loaded && !player.player.engine().animating(now) {
                break;
            }
            assert!(now < cue + Duration::from_secs(60), "the photo never came");
            ticks += 1;
            player.player.wait(frame * ticks);
        }
        (times, waited)
    };
    // The first slide's photo and its neighbours' load.
    let (first, _) = change(&mut player, 0);
    // Slide 7 of 8 is neither next, previous nor among the three ahead of slides 1 and 2.
    let big = dir.path().join("p6.jpg");
    let report = |what: &str, (times, waited): (Vec<Duration>, Duration)| {
        let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        println!(
            "{what}: photo in after {:.0} ms; {} frames, median {:.2} ms, p99 {:.2} ms \
             ({:.2}x the median), max {:.2} ms",
            waited.as_secs_f64() * 1000.0,
            ms.len(),
            at(0.5),
            at(0.99),
            at(0.99) / at(0.5),
            at(1.0)
        );
    };
    println!(
        "slide changes on {}, 1920x1080, 1 s crossfades:",
        player.adapter()
    );
    drop(first);
    report(
        "  to the next slide, its photo loaded ahead",
        change(&mut player, 1),
    );
    assert_eq!(player.renderer().photo_opacity(&big), None, "loaded ahead");
    report("  to an unloaded 24 MP portrait", change(&mut player, 6));
    let (photos, bytes) = player.renderer().resident_photos();
    println!(
        "  photos on the GPU after: {photos}, {:.1} MB",
        bytes as f64 / 1e6
    );
}

criterion_group!(benches, pipeline);

fn main() {
    // A name given on the command line picks what runs, as criterion's filter does.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    benches();
    if filter.is_none_or(|f| "slide change".contains(&f)) {
        slide_change();
    }
    Criterion::default().configure_from_args().final_summary();
}
