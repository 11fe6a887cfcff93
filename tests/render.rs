//! Rendering on a real (software) GPU: golden images of each slide kind and a mid-crossfade
//! frame, compared with a tolerance, and pixel probes that say what must be where.
//!
//! Golden images are made on lavapipe (`scripts/test` pins it). To remake them after an
//! intended change: `CANDELA_BLESS=1 scripts/test --test render`, then look at them.
//! When a comparison fails, `tests/golden/NAME-actual.png` and `NAME-difference.png` are kept.

mod common;

use candela::control::{Scene, slide_view};
use candela::counts::{Counts, NumberFormat};
use candela::render::render_image;
use candela::show::{Rgb, Show, TransitionKind};
use common::{Harness, harness};
use image::RgbaImage;
use std::path::Path;

const FULL_HD: (u32, u32) = (1920, 1080);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn default_show() -> Show {
    let (show, problems) = Show::load(&root().join("slides")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    show
}

fn view(show: &Show, id: &str) -> candela::control::SlideView {
    let numbers = NumberFormat::new(&show.locale).unwrap();
    let counts = Counts::from_show(show);
    slide_view(show, &numbers, &counts, show.find_slide(id).unwrap())
}

fn render(scene: &Scene, size: (u32, u32)) -> RgbaImage {
    let mut h = harness();
    let Harness { gpu, renderer } = &mut *h;
    render_image(gpu, renderer, scene, size).unwrap()
}

fn assert_golden(name: &str, actual: &RgbaImage) {
    let adapter = harness().gpu.adapter.get_info().name;
    common::assert_golden(&adapter, name, actual);
}

fn close(p: &image::Rgba<u8>, c: Rgb, tolerance: u8) -> bool {
    (0..3).all(|i| p[i].abs_diff(c.0[i]) <= tolerance)
}

/// Pixels in the rectangle given as fractions of the frame.
fn region(img: &RgbaImage, x0: f32, y0: f32, x1: f32, y1: f32) -> Vec<image::Rgba<u8>> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let mut out = Vec::new();
    for y in (y0 * h) as u32..(y1 * h) as u32 {
        for x in (x0 * w) as u32..(x1 * w) as u32 {
            out.push(*img.get_pixel(x, y));
        }
    }
    out
}

#[test]
fn golden_portrait_slide() {
    let show = default_show();
    let frame = render(&Scene::still(view(&show, "yorm-bopha")), FULL_HD);
    assert_golden("portrait-yorm-bopha", &frame);
}

#[test]
fn golden_counter_slide() {
    let show = default_show();
    let frame = render(&Scene::still(view(&show, "total")), FULL_HD);
    assert_golden("counter-total", &frame);
}

#[test]
fn golden_title_slide() {
    let show = default_show();
    let frame = render(&Scene::still(view(&show, "intro")), FULL_HD);
    assert_golden("title-intro", &frame);
}

#[test]
fn golden_crossfade_at_40_percent() {
    let show = default_show();
    let scene = Scene::transition(
        view(&show, "yorm-bopha"),
        view(&show, "nabi-saleh"),
        TransitionKind::Crossfade,
        0.4,
    );
    assert_golden(
        "crossfade-yorm-bopha-nabi-saleh-40",
        &render(&scene, FULL_HD),
    );
}

#[test]
fn portrait_region_shows_the_photo_not_the_background() {
    let show = default_show();
    let frame = render(&Scene::still(view(&show, "mikhail-kosenko")), FULL_HD);
    // The photo sits in the left part of the safe area.
    let photo = region(&frame, 0.1, 0.15, 0.4, 0.85);
    let background = photo
        .iter()
        .filter(|p| close(p, show.background, 3))
        .count();
    assert!(
        background * 20 < photo.len(),
        "{background} of {} pixels in the photo area are plain background",
        photo.len()
    );
    // And the slide's right part is mostly background with text on it, not photo.
    let text_side = region(&frame, 0.5, 0.0, 1.0, 0.05);
    assert!(text_side.iter().all(|p| close(p, show.background, 3)));
}

#[test]
fn counter_text_is_drawn_in_the_accent_colour() {
    let show = default_show();
    let frame = render(&Scene::still(view(&show, "total")), FULL_HD);
    let band = region(&frame, 0.1, 0.25, 0.9, 0.65);
    let accent = band.iter().filter(|p| close(p, show.accent, 24)).count();
    assert!(
        accent * 50 > band.len(),
        "only {accent} accent pixels: the number is missing"
    );
    // The top margin stays empty: nothing spills out of the safe area.
    assert!(
        region(&frame, 0.0, 0.0, 1.0, 0.04)
            .iter()
            .all(|p| close(p, show.background, 3))
    );
}

#[test]
fn through_black_is_black_at_its_midpoint() {
    let show = default_show();
    let scene = Scene::transition(
        view(&show, "intro"),
        view(&show, "yorm-bopha"),
        TransitionKind::ThroughBlack,
        0.5,
    );
    let frame = render(&scene, (960, 540));
    assert!(frame.pixels().all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0));
}

#[test]
fn master_at_zero_is_black_and_half_dims() {
    let show = default_show();
    let mut scene = Scene::still(view(&show, "intro"));
    let full = render(&scene, (960, 540));
    scene.master = 0.0;
    assert!(
        render(&scene, (960, 540))
            .pixels()
            .all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0)
    );
    scene.master = 0.5;
    let half = render(&scene, (960, 540));
    let brightest = |img: &RgbaImage| {
        img.pixels()
            .map(|p| p[0].max(p[1]).max(p[2]))
            .max()
            .unwrap()
    };
    assert!(brightest(&half) < brightest(&full) && brightest(&half) > 0);
}

#[test]
fn crossfade_lies_between_its_two_slides() {
    let show = default_show();
    let (a, b) = (view(&show, "intro"), view(&show, "total"));
    let size = (480, 270);
    let from = render(&Scene::still(a.clone()), size);
    let to = render(&Scene::still(b.clone()), size);
    let mid = render(
        &Scene::transition(a, b, TransitionKind::Crossfade, 0.5),
        size,
    );
    let mut differing = 0;
    for ((f, t), m) in from.pixels().zip(to.pixels()).zip(mid.pixels()) {
        for i in 0..3 {
            let (lo, hi) = (f[i].min(t[i]), f[i].max(t[i]));
            assert!(m[i] >= lo.saturating_sub(1) && m[i] <= hi.saturating_add(1));
            if hi - lo > 40 && m[i] > lo + 5 && m[i] < hi - 5 {
                differing += 1;
            }
        }
    }
    assert!(
        differing > 100,
        "the mid-crossfade frame is not a blend of both slides"
    );
}

#[test]
fn a_slide_whose_photo_is_missing_is_still_drawn() {
    let (show, problems) = Show::load(&root().join("tests/fixtures/problems.toml")).unwrap();
    assert!(!problems.is_empty());
    let frame = render(&Scene::still(view(&show, "lost")), (960, 540));
    let lit = frame
        .pixels()
        .filter(|p| p[0] > 200 && p[1] > 200 && p[2] > 200)
        .count();
    assert!(
        lit > 200,
        "the name is missing from a slide without its photo"
    );
    let h = harness();
    assert!(
        h.renderer
            .broken_photos()
            .any(|(p, _)| p.ends_with("no-such-photo.jpg")),
        "the missing photo is reported"
    );
    drop(h);
}

#[test]
fn a_count_mid_way_up_is_drawn_between_and_ends_on_the_exact_number() {
    use candela::control::{Command, Engine};
    use std::time::Duration;
    let show = default_show();
    let counts = Counts::from_show(&show);
    let mut engine = Engine::new(show.clone(), counts, Duration::ZERO).unwrap();
    let at = |s: f64| Duration::from_secs_f64(s);
    let goto = Command::Goto {
        slide: candela::control::SlideRef::Id("total".into()),
        fade: Some(Duration::ZERO),
    };
    engine.apply(goto, at(0.0)).unwrap();
    let size = (960, 540);
    let before = render(&engine.scene(at(0.0)), size);
    let set = Command::SetCount {
        counter: "total".into(),
        value: 712_345,
    };
    engine.apply(set, at(0.0)).unwrap();
    let mid = render(&engine.scene(at(0.5)), size);
    let end = render(&engine.scene(at(5.0)), size);
    assert!(
        mid != before && mid != end,
        "mid-way the wall shows a number in between"
    );
    // The end frame is exactly the slide drawn with the final number.
    let mut counts = Counts::from_show(&show);
    counts.set("total", 712_345);
    let numbers = NumberFormat::new(&show.locale).unwrap();
    let exact = slide_view(&show, &numbers, &counts, show.find_slide("total").unwrap());
    assert!(
        end == render(&Scene::still(exact), size),
        "the count ends exact"
    );
}
