//! The alignment patterns an AV technician puts on the wall to pin, bend and blend
//! projectors onto a facade. Each is drawn over the whole canvas, so it goes through every
//! output's warp like a slide: a grid with canvas coordinates (keystone, mesh), a crosshair
//! with circles (a circle must not come out as an ellipse), colour bars, a grey ramp (blends
//! and black level), full white (where are the picture's edges?), and each output's name,
//! monitor and resolution written large on the part of the canvas it shows.

use crate::control::Pattern;
use crate::show::{Region, Rgb};
use image::{Rgba, RgbaImage};

const WHITE: [u8; 3] = [255, 255, 255];
const GREY: [u8; 3] = [110, 110, 110];
const BLACK: [u8; 3] = [0, 0, 0];

/// A text the pattern writes, in canvas pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub text: String,
    /// Centre of the text.
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub color: Rgb,
}

/// What the outputs pattern writes about one output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLabel {
    pub name: String,
    pub monitor: String,
    pub resolution: (u32, u32),
    pub region: Region,
}

/// Grid spacing in canvas pixels: a round number giving about eight cells down the canvas.
pub fn grid_step(height: u32) -> u32 {
    let target = (height / 8).max(1);
    [10, 20, 25, 50, 100, 200, 250, 500, 1000]
        .into_iter()
        .rev()
        .find(|s| *s <= target)
        .unwrap_or(10)
}

fn px(c: [u8; 3]) -> Rgba<u8> {
    Rgba([c[0], c[1], c[2], 255])
}

/// The pattern's picture at canvas size, without its text.
pub fn image(pattern: Pattern, width: u32, height: u32, outputs: &[OutputLabel]) -> RgbaImage {
    let (w, h) = (width as i64, height as i64);
    let line = (h / 540).max(1);
    let border =
        |x: i64, y: i64| x < 3 * line || y < 3 * line || x >= w - 3 * line || y >= h - 3 * line;
    match pattern {
        Pattern::Grid => {
            let step = grid_step(height) as i64;
            let (cx, cy) = (w / 2, h / 2);
            RgbaImage::from_fn(width, height, |x, y| {
                let (x, y) = (x as i64, y as i64);
                let centre = (x - cx).abs() < 2 * line || (y - cy).abs() < 2 * line;
                if border(x, y) || centre {
                    return px(WHITE);
                }
                let major = step * 5;
                let on = |v: i64, s: i64, thick: i64| v % s < thick;
                if on(x, major, 2 * line) || on(y, major, 2 * line) {
                    return px([200, 200, 200]);
                }
                if on(x, step, line) || on(y, step, line) {
                    return px(GREY);
                }
                px(BLACK)
            })
        }
        Pattern::Circles => {
            let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
            let big = h as f64 * 0.45;
            let small = h as f64 / 8.0;
            let corners = [
                (small * 1.2, small * 1.2),
                (w as f64 - small * 1.2, small * 1.2),
                (small * 1.2, h as f64 - small * 1.2),
                (w as f64 - small * 1.2, h as f64 - small * 1.2),
            ];
            let thick = line as f64 * 1.5;
            RgbaImage::from_fn(width, height, |x, y| {
                let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
                let ring = |(ox, oy): (f64, f64), r: f64| {
                    (((fx - ox).powi(2) + (fy - oy).powi(2)).sqrt() - r).abs() < thick
                };
                let cross = (fx - cx).abs() < thick || (fy - cy).abs() < thick;
                let on = border(x as i64, y as i64)
                    || cross
                    || ring((cx, cy), big)
                    || ring((cx, cy), big / 2.0)
                    || corners.iter().any(|c| ring(*c, small));
                px(if on { WHITE } else { BLACK })
            })
        }
        Pattern::Bars => {
            let bars: [[u8; 3]; 8] = [
                [255, 255, 255],
                [255, 255, 0],
                [0, 255, 255],
                [0, 255, 0],
                [255, 0, 255],
                [255, 0, 0],
                [0, 0, 255],
                [0, 0, 0],
            ];
            RgbaImage::from_fn(width, height, |x, _| {
                px(bars[(x as usize * 8 / width.max(1) as usize).min(7)])
            })
        }
        Pattern::Ramp => RgbaImage::from_fn(width, height, |x, y| {
            let t = (x as f64 + 0.5) / width as f64;
            // Top half continuous, bottom half in 16 steps: banding and black level both show.
            let v = if y < height / 2 {
                (t * 255.0).round()
            } else {
                ((t * 16.0).floor().min(15.0) * 17.0).round()
            };
            px([v as u8; 3])
        }),
        Pattern::White => RgbaImage::from_pixel(width, height, px(WHITE)),
        Pattern::Outputs => {
            let mut img = RgbaImage::from_pixel(width, height, px(BLACK));
            for o in outputs {
                let r = &o.region;
                let (x0, y0) = (r.x.round() as i64, r.y.round() as i64);
                let (x1, y1) = (
                    (r.x + r.width).round() as i64,
                    (r.y + r.height).round() as i64,
                );
                let t = 4 * line;
                for y in y0.max(0)..y1.min(h) {
                    for x in x0.max(0)..x1.min(w) {
                        let edge = x < x0 + t || x >= x1 - t || y < y0 + t || y >= y1 - t;
                        let diagonal = {
                            // Thin diagonals: the middle of each output is plain to see.
                            let u = (x - x0) as f64 / (x1 - x0).max(1) as f64;
                            let v = (y - y0) as f64 / (y1 - y0).max(1) as f64;
                            let d = (u - v).abs().min((u + v - 1.0).abs());
                            d * (y1 - y0) as f64 <= line as f64
                        };
                        if edge {
                            img.put_pixel(x as u32, y as u32, px(WHITE));
                        } else if diagonal {
                            img.put_pixel(x as u32, y as u32, px(GREY));
                        }
                    }
                }
            }
            img
        }
    }
}

/// The texts the pattern writes over its picture.
pub fn labels(pattern: Pattern, width: u32, height: u32, outputs: &[OutputLabel]) -> Vec<Label> {
    let yellow = Rgb([255, 212, 0]);
    match pattern {
        Pattern::Grid => {
            let step = grid_step(height);
            let size = (step as f32 * 0.2).max(9.0);
            let mut labels = Vec::new();
            // Every other intersection, so the numbers do not crowd each other.
            for y in (0..height).step_by(step as usize * 2).skip(1) {
                for x in (0..width).step_by(step as usize * 2).skip(1) {
                    labels.push(Label {
                        text: format!("{x},{y}"),
                        x: x as f32 + step as f32 * 0.5,
                        y: y as f32 + size * 0.9,
                        size,
                        color: yellow,
                    });
                }
            }
            labels
        }
        Pattern::Outputs => outputs
            .iter()
            .flat_map(|o| {
                let r = &o.region;
                let size = (r.height.min(r.width * 0.5) as f32 * 0.16).max(12.0);
                let (cx, cy) = ((r.x + r.width / 2.0) as f32, (r.y + r.height / 2.0) as f32);
                [
                    Label {
                        text: o.name.clone(),
                        x: cx,
                        y: cy - size * 0.7,
                        size,
                        color: Rgb(WHITE),
                    },
                    Label {
                        text: format!("{} · {}x{}", o.monitor, o.resolution.0, o.resolution.1),
                        x: cx,
                        y: cy + size * 0.5,
                        size: size * 0.4,
                        color: yellow,
                    },
                ]
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_lines_fall_on_round_canvas_coordinates() {
        assert_eq!(grid_step(1080), 100);
        let img = image(Pattern::Grid, 1920, 1080, &[]);
        assert_eq!(img.get_pixel(0, 500).0, [255, 255, 255, 255], "border");
        assert_ne!(img.get_pixel(300, 250).0, [0, 0, 0, 255], "line at x = 300");
        assert_eq!(img.get_pixel(350, 250).0, [0, 0, 0, 255], "between lines");
        let labels = labels(Pattern::Grid, 1920, 1080, &[]);
        assert!(labels.iter().any(|l| l.text == "200,200"));
    }

    #[test]
    fn patterns_are_what_they_say() {
        let white = image(Pattern::White, 64, 32, &[]);
        assert!(white.pixels().all(|p| p.0 == [255; 4]));
        let ramp = image(Pattern::Ramp, 256, 32, &[]);
        assert_eq!(ramp.get_pixel(0, 0).0[0], 0);
        assert_eq!(ramp.get_pixel(255, 0).0[0], 255);
        assert!((1..256).all(|x| ramp.get_pixel(x, 0).0[0] >= ramp.get_pixel(x - 1, 0).0[0]));
        let bars = image(Pattern::Bars, 80, 10, &[]);
        assert_eq!(bars.get_pixel(15, 5).0, [255, 255, 0, 255]);
    }

    #[test]
    fn the_outputs_pattern_frames_and_names_each_output() {
        let outputs = [OutputLabel {
            name: "left".into(),
            monitor: "HDMI-1".into(),
            resolution: (1920, 1080),
            region: Region {
                x: 0.0,
                y: 0.0,
                width: 100.0,
                height: 100.0,
            },
        }];
        let img = image(Pattern::Outputs, 200, 100, &outputs);
        assert_eq!(img.get_pixel(1, 50).0, [255; 4], "its edge");
        assert_eq!(img.get_pixel(150, 50).0, [0, 0, 0, 255], "outside it");
        let l = labels(Pattern::Outputs, 200, 100, &outputs);
        assert_eq!(l[0].text, "left");
        assert_eq!(l[1].text, "HDMI-1 · 1920x1080");
    }
}
