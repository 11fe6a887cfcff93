//! Projection geometry on a real (software) GPU, checked against analytic results: where a
//! corner-pinned grid's intersections must land, that an identity warp changes no pixel,
//! that masks are exactly black with a monotone feather, that blend ramps follow Bourke's
//! curve, and that two outputs side by side give back the canvas. Plus the show file's
//! geometry problems, each with its line.

mod common;

use candela::control::{Command, Engine, Pattern, Scene, Stage, WarpEdit, slide_view};
use candela::counts::{Counts, NumberFormat};
use candela::geometry::Homography;
use candela::render::{render_image, render_output_image};
use candela::show::Show;
use common::{Harness, harness};
use image::RgbaImage;
use std::path::Path;
use std::time::Duration;

/// A show with one title slide on a mid-grey background, and `extra` TOML (outputs, masks).
fn show(size: &str, extra: &str) -> Show {
    let src = format!(
        "size = \"{size}\"\nbackground = \"#808080\"\n[[slides]]\nid = \"t\"\nkind = \"title\"\ntitle = \"Écrire\"\n{extra}"
    );
    let (show, problems) = Show::parse(Path::new("geometry.toml"), &src).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    show
}

fn pattern(p: Pattern) -> Scene {
    Scene {
        layers: vec![],
        master: 1.0,
        test_pattern: Some(p),
        alignment: None,
    }
}

fn slide(show: &Show) -> Scene {
    let numbers = NumberFormat::new(&show.locale).unwrap();
    Scene::still(slide_view(show, &numbers, &Counts::from_show(show), 0))
}

fn output(show: &Show, scene: &Scene, index: usize) -> RgbaImage {
    let mut h = harness();
    let Harness { gpu, renderer } = &mut *h;
    let o = &show.outputs[index];
    let size = (o.size.width, o.size.height);
    render_output_image(gpu, renderer, scene, &Stage::new(show), index, size).unwrap()
}

fn canvas(show: &Show, scene: &Scene) -> RgbaImage {
    let mut h = harness();
    let Harness { gpu, renderer } = &mut *h;
    render_image(gpu, renderer, scene, (show.size.width, show.size.height)).unwrap()
}

fn brightest(img: &RgbaImage, x: f64, y: f64, radius: i64) -> u8 {
    let mut best = 0;
    for dy in -radius..=radius {
        for dx in -radius..=radius {
            let (px, py) = (x.floor() as i64 + dx, y.floor() as i64 + dy);
            if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                let p = img.get_pixel(px as u32, py as u32);
                best = best.max(p[0]).max(p[1]).max(p[2]);
            }
        }
    }
    best
}

#[test]
fn a_corner_pinned_grid_lands_where_the_homography_puts_it() {
    let corners = [[0.12, 0.06], [0.86, 0.16], [0.95, 0.9], [0.04, 0.96]];
    let s = show(
        "640x360",
        &format!("[[outputs]]\nname = \"wall\"\ncorners = {corners:?}\n"),
    );
    let img = output(&s, &pattern(Pattern::Grid), 0);
    let h = Homography::from_unit_square(&corners).unwrap();
    let (w, hh) = (640.0, 360.0);
    let step = candela::render::pattern::grid_step(360) as f64;
    let mut bilinear_off = 0.0f64;
    // Intersections of grid lines (a line's pixel centre is at k·step + 0.5), away from the
    // labels, the centre cross and the border.
    for gy in [1.0, 3.0, 5.0, 11.0, 13.0] {
        for gx in [1.0, 3.0, 5.0, 9.0, 15.0, 19.0, 23.0] {
            let (cx, cy) = (gx * step + 0.5, gy * step + 0.5);
            let [x, y] = h.apply([cx / w, cy / hh]);
            let (ox, oy) = (x * w, y * hh);
            assert!(
                brightest(&img, ox, oy, 1) > 40,
                "grid point {cx},{cy} should land at {ox:.1},{oy:.1}"
            );
            // The middle of the cell beside it is dark: the line is not smeared everywhere.
            let [mx, my] = h.apply([(cx + step / 2.0) / w, (cy + step / 2.0) / hh]);
            assert!(
                brightest(&img, mx * w, my * hh, 1) < 20,
                "cell centre {},{} should be dark",
                cx + step / 2.0,
                cy + step / 2.0
            );
            // What a bilinear (two-triangle-affine) warp would predict instead.
            let (u, v) = (cx / w, cy / hh);
            let lerp = |a: [f64; 2], b: [f64; 2], t: f64| {
                [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
            };
            let top = lerp(corners[0], corners[1], u);
            let bottom = lerp(corners[3], corners[2], u);
            let bl = lerp(top, bottom, v);
            bilinear_off = bilinear_off.max(((bl[0] - x) * w).hypot((bl[1] - y) * hh));
        }
    }
    assert!(
        bilinear_off > 3.0,
        "the pin is too mild to tell a homography from a bilinear warp ({bilinear_off:.1} px)"
    );
    // Outside the pinned quad, every pixel is exactly black.
    for (x, y) in [(0, 0), (639, 0), (0, 359), (639, 359), (320, 5), (630, 180)] {
        assert_eq!(img.get_pixel(x, y).0, [0, 0, 0, 255], "outside at {x},{y}");
    }
}

#[test]
fn an_identity_warp_changes_no_pixel() {
    let warped = show(
        "480x270",
        "[[outputs]]\nname = \"a\"\ncorners = [[0, 0], [1, 0], [1, 1], [0, 1]]\n[outputs.mesh]\ncols = 5\nrows = 5\n",
    );
    let scene = slide(&warped);
    let plain = canvas(&warped, &scene);
    let through = output(&warped, &scene, 0);
    assert_eq!(plain.dimensions(), through.dimensions());
    let differing = plain
        .pixels()
        .zip(through.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0, "pixels changed by an identity warp");
    // And the picture is there: the background is grey, not black.
    assert_eq!(plain.get_pixel(5, 5).0, [128, 128, 128, 255]);
}

#[test]
fn masked_pixels_are_exactly_black_and_the_feather_rises_steadily() {
    let s = show(
        "400x300",
        "[[masks]]\npoints = [[100, 100], [200, 100], [200, 200], [100, 200]]\nfeather = 20\n[[masks]]\npoints = [[300, 20], [380, 20], [340, 90]]\n",
    );
    let img = output(&s, &pattern(Pattern::White), 0);
    for y in 100..200 {
        for x in 100..200 {
            assert_eq!(img.get_pixel(x, y).0, [0, 0, 0, 255], "masked at {x},{y}");
        }
    }
    assert_eq!(img.get_pixel(340, 40).0, [0, 0, 0, 255], "triangle mask");
    // Leaving the square to the right: never darker further out, full white past the feather.
    let ramp: Vec<u8> = (200..240).map(|x| img.get_pixel(x, 150)[0]).collect();
    assert!(ramp.windows(2).all(|w| w[0] <= w[1]), "{ramp:?}");
    assert_eq!(ramp[0], 0);
    assert!(ramp[10] > 0 && ramp[10] < 255, "{ramp:?}");
    assert_eq!(*ramp.last().unwrap(), 255);
    assert_eq!(img.get_pixel(20, 250).0, [255, 255, 255, 255], "unmasked");
}

#[test]
fn an_inverted_mask_keeps_only_its_inside() {
    let s = show(
        "320x180",
        "[[masks]]\npoints = [[40, 40], [280, 40], [280, 140], [40, 140]]\ninvert = true\n",
    );
    let img = output(&s, &pattern(Pattern::White), 0);
    assert_eq!(img.get_pixel(10, 10).0, [0, 0, 0, 255]);
    assert_eq!(img.get_pixel(160, 90).0, [255, 255, 255, 255]);
}

#[test]
fn blend_ramps_follow_the_curve_and_black_is_lifted_outside_them() {
    let s = show(
        "800x200",
        "[[outputs]]\nname = \"left\"\n[outputs.blend]\nright = 200\nexponent = 2\ncentre = 0.5\ngamma = [2.2, 2.0, 1.8]\nblack_level = 0.04\n",
    );
    let white = output(&s, &pattern(Pattern::White), 0);
    let gamma = [2.2, 2.0, 1.8];
    for x in (600..800).step_by(7) {
        // From the outer (right) edge inward, 0..1 across the 200 px overlap.
        let t = (800.0 - (x as f64 + 0.5)) / 200.0;
        // Bourke's curve with p = 2 and a = 0.5, written out here rather than taken from
        // the code under test.
        let f = if t < 0.5 {
            0.5 * (2.0 * t).powi(2)
        } else {
            1.0 - 0.5 * (2.0 * (1.0 - t)).powi(2)
        };
        let p = white.get_pixel(x, 100);
        for c in 0..3 {
            let expected = 255.0 * f.powf(1.0 / gamma[c]);
            assert!(
                (p[c] as f64 - expected).abs() <= 2.0,
                "x {x} channel {c}: {} vs {expected:.1}",
                p[c]
            );
        }
    }
    assert_eq!(white.get_pixel(300, 100).0, [255, 255, 255, 255]);
    // The bars' last (black) bar is in the overlap; a dark bar outside it is lifted.
    let bars = output(&s, &pattern(Pattern::Bars), 0);
    let lift = (0.04f64 * 255.0).round() as u8;
    let blue_bar = bars.get_pixel(650, 100);
    assert!(blue_bar[2] < 255 && blue_bar[0] < 4, "{blue_bar:?}");
    let red = bars.get_pixel(560, 100);
    assert_eq!(red.0, [255, lift, lift, 255], "lifted black in the red bar");
}

#[test]
fn two_outputs_side_by_side_give_back_the_canvas() {
    let s = show(
        "640x360",
        "[[outputs]]\nname = \"left\"\nregion = [0, 0, 320, 360]\n[[outputs]]\nname = \"right\"\nregion = [320, 0, 320, 360]\n",
    );
    let scene = slide(&s);
    let whole = canvas(&s, &scene);
    let left = output(&s, &scene, 0);
    let right = output(&s, &scene, 1);
    let mut joined = RgbaImage::new(640, 360);
    image::imageops::replace(&mut joined, &left, 0, 0);
    image::imageops::replace(&mut joined, &right, 320, 0);
    let differing = whole
        .pixels()
        .zip(joined.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0);
    // Text crosses the seam, so both halves hold some of it.
    let bright = |img: &RgbaImage| img.pixels().filter(|p| p[0] > 200).count();
    assert!(bright(&left) > 100 && bright(&right) > 100);
}

#[test]
fn overlapping_blended_outputs_add_up_to_full_light() {
    let s = show(
        "640x200",
        "[[outputs]]\nname = \"left\"\nregion = [0, 0, 352, 200]\n[outputs.blend]\nright = 64\n\
         [[outputs]]\nname = \"right\"\nregion = [288, 0, 352, 200]\n[outputs.blend]\nleft = 64\n",
    );
    let scene = pattern(Pattern::White);
    let (left, right) = (output(&s, &scene, 0), output(&s, &scene, 1));
    for canvas_x in 288..352 {
        let l = left.get_pixel(canvas_x, 100)[0] as f64 / 255.0;
        let r = right.get_pixel(canvas_x - 288, 100)[0] as f64 / 255.0;
        // Light on the wall: each projector's code value through its gamma, added.
        let light = l.powf(2.2) + r.powf(2.2);
        assert!(
            (light - 1.0).abs() < 0.03,
            "x {canvas_x}: {l} + {r} -> {light}"
        );
    }
}

#[test]
fn a_bent_mesh_moves_the_picture_and_a_golden_keeps_it() {
    let s = show(
        "480x270",
        "[[outputs]]\nname = \"wall\"\ncorners = [[0.05, 0.05], [0.95, 0.0], [1.0, 1.0], [0.0, 0.95]]\n\
         [outputs.mesh]\ncols = 3\nrows = 3\npoints = [[0, 0], [0.5, 0], [1, 0], [0, 0.5], [0.6, 0.45], [1, 0.5], [0, 1], [0.5, 1], [1, 1]]\n",
    );
    let img = output(&s, &pattern(Pattern::Circles), 0);
    let adapter = harness().gpu.adapter.get_info().name;
    common::assert_golden(&adapter, "warp-mesh-circles", &img);
    // The canvas centre's crosshair went where the moved mesh point sends it.
    let h = Homography::from_unit_square(&[[0.05, 0.05], [0.95, 0.0], [1.0, 1.0], [0.0, 0.95]])
        .unwrap();
    let [x, y] = h.apply([0.6, 0.45]);
    assert!(brightest(&img, x * 480.0, y * 270.0, 1) > 200);
}

#[test]
fn the_alignment_marker_shows_the_selected_corner() {
    let s = show("320x180", "");
    let mut engine = Engine::new(s.clone(), Counts::from_show(&s), Duration::ZERO).unwrap();
    engine
        .apply(
            Command::Align(candela::control::AlignStep::Toggle),
            Duration::ZERO,
        )
        .unwrap();
    engine
        .apply(
            Command::Warp {
                output: "main".into(),
                edit: WarpEdit::Corner {
                    corner: 0,
                    to: [0.25, 0.25],
                },
            },
            Duration::ZERO,
        )
        .unwrap();
    let scene = engine.scene(Duration::ZERO);
    assert_eq!(
        scene.test_pattern,
        Some(Pattern::Grid),
        "aligning shows the grid"
    );
    let mut h = harness();
    let Harness { gpu, renderer } = &mut *h;
    let img = render_output_image(gpu, renderer, &scene, engine.stage(), 0, (320, 180)).unwrap();
    // The marker ring around (80, 45) is drawn in its own colour.
    let ring = (0..360)
        .map(|a| {
            let a = (a as f64).to_radians();
            let r = 8.0;
            *img.get_pixel((80.0 + r * a.cos()) as u32, (45.0 + r * a.sin()) as u32)
        })
        .filter(|p| p[0] > 200 && p[1] < 60 && p[2] > 200)
        .count();
    assert!(ring > 100, "{ring} marker pixels");
    assert_eq!(
        img.get_pixel(5, 20).0,
        [0, 0, 0, 255],
        "outside the pinned picture"
    );
}

#[test]
fn check_reports_bad_geometry_with_its_line() {
    let src = r#"size = "640x360"
[[slides]]
id = "t"
kind = "title"
title = "x"

[[outputs]]
name = "left"
corners = [[0, 0], [1, 1], [1, 0], [0, 1]]

[[outputs]]
name = "right"
region = [600, 0, 100, 360]
[outputs.mesh]
cols = 3
rows = 3
points = [[0, 0], [1, 0]]

[[masks]]
points = [[1, 1], [2, 2]]
"#;
    let (_, problems) = Show::parse(Path::new("bad.toml"), src).unwrap();
    let line_of = |needle: &str| {
        problems
            .iter()
            .find(|p| p.message.contains(needle))
            .unwrap_or_else(|| panic!("no problem mentioning {needle:?} in {problems:?}"))
            .at
            .unwrap()
            .0
    };
    assert_eq!(line_of("cross"), 9);
    assert_eq!(line_of("region"), 13);
    assert_eq!(line_of("9 points"), 14);
    assert_eq!(line_of("at least 3"), 20);
}
