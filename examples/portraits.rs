//! Generates the default show's portraits: stylised artwork, never photos of real people.
//!
//!     cargo run --release --example portraits -- slides/portraits
//!
//! Each case gets a silhouette (or, for the village of Nabi Saleh, a landscape) lit in its own
//! colours. The output is deterministic and committed; rerun only to change the artwork.

use image::{ImageEncoder, Rgb, RgbImage, codecs::jpeg::JpegEncoder};
use std::path::PathBuf;

const W: u32 = 1200;
const H: u32 = 1500;

struct Palette {
    top: [f32; 3],
    bottom: [f32; 3],
    rim: [f32; 3],
}

enum Art {
    /// Head and shoulders: head centre x (0..1), head size factor, tilt of the shoulders.
    Figure {
        x: f32,
        size: f32,
        tilt: f32,
    },
    Village,
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "slides/portraits".into()),
    );
    std::fs::create_dir_all(&out).expect("create the output folder");
    let cases: [(&str, Palette, Art); 6] = [
        (
            "yorm-bopha",
            pal([0.55, 0.22, 0.18], [0.12, 0.05, 0.08], [1.0, 0.78, 0.35]),
            Art::Figure {
                x: 0.5,
                size: 1.0,
                tilt: 0.02,
            },
        ),
        (
            "mikhail-kosenko",
            pal([0.16, 0.24, 0.42], [0.03, 0.05, 0.12], [0.75, 0.85, 1.0]),
            Art::Figure {
                x: 0.47,
                size: 1.05,
                tilt: -0.03,
            },
        ),
        (
            "miriam-lopez",
            pal([0.50, 0.16, 0.36], [0.10, 0.03, 0.10], [1.0, 0.62, 0.72]),
            Art::Figure {
                x: 0.53,
                size: 0.95,
                tilt: 0.04,
            },
        ),
        (
            "hakan-yaman",
            pal([0.18, 0.36, 0.30], [0.03, 0.09, 0.08], [0.70, 1.0, 0.82]),
            Art::Figure {
                x: 0.5,
                size: 1.1,
                tilt: 0.0,
            },
        ),
        (
            "ihar-tsikhanyuk",
            pal([0.36, 0.20, 0.50], [0.07, 0.04, 0.12], [0.95, 0.80, 1.0]),
            Art::Figure {
                x: 0.48,
                size: 1.0,
                tilt: -0.05,
            },
        ),
        (
            "nabi-saleh",
            pal([0.85, 0.55, 0.30], [0.25, 0.12, 0.20], [1.0, 0.90, 0.60]),
            Art::Village,
        ),
    ];
    for (id, palette, art) in cases {
        let img = paint(&palette, &art);
        let path = out.join(format!("{id}.jpg"));
        let file = std::fs::File::create(&path).expect("create the portrait file");
        JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 88)
            .write_image(img.as_raw(), W, H, image::ExtendedColorType::Rgb8)
            .expect("encode the portrait");
        println!("wrote {}", path.display());
    }
}

fn pal(top: [f32; 3], bottom: [f32; 3], rim: [f32; 3]) -> Palette {
    Palette { top, bottom, rim }
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Signed distance-like value of an ellipse: negative inside, in units of its radii.
fn ellipse(px: f32, py: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    (((px - cx) / rx).powi(2) + ((py - cy) / ry).powi(2)).sqrt() - 1.0
}

/// Cheap deterministic noise for film grain, so gradients do not band on a projector.
fn grain(x: u32, y: u32) -> f32 {
    let mut h = x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    ((h ^ (h >> 16)) & 0xffff) as f32 / 65535.0 - 0.5
}

fn paint(p: &Palette, art: &Art) -> RgbImage {
    RgbImage::from_fn(W, H, |x, y| {
        let (u, v) = (x as f32 / W as f32, y as f32 / H as f32);
        // Background: vertical gradient and a soft light behind the subject.
        let glow = (1.0 - ((u - 0.5).powi(2) + (v - 0.38).powi(2)).sqrt() * 1.6).max(0.0);
        let mut c = mix(p.top, p.bottom, v);
        c = mix(c, p.rim, glow * 0.35);
        match art {
            Art::Figure { x: hx, size, tilt } => {
                let aspect = H as f32 / W as f32;
                let (px, py) = (u, v * aspect);
                let head = ellipse(px, py, *hx, 0.42 * aspect, 0.15 * size, 0.19 * size);
                let neck = ellipse(px, py, *hx, 0.62 * aspect, 0.105 * size, 0.16 * size);
                let shoulder_y = 0.95 * aspect + tilt * (px - 0.5) * 2.0;
                let shoulders = ellipse(px, py, 0.5, shoulder_y, 0.50, 0.27 * aspect);
                let d = head.min(neck).min(shoulders);
                let inside = 1.0 - smoothstep(-0.004, 0.004, d);
                // Rim light on the side facing the glow, a dark body otherwise.
                let rim = smoothstep(-0.07, 0.0, d) * inside * (0.6 + 0.4 * (0.5 - u).abs() * 2.0);
                let body = mix(p.bottom, [0.0, 0.0, 0.0], 0.55);
                c = mix(c, body, inside);
                c = mix(c, p.rim, rim * 0.8);
            }
            Art::Village => {
                // Hills, then houses with lit windows, against an evening sky.
                let hill = 0.72 + 0.05 * (u * 7.0).sin() + 0.03 * (u * 17.0 + 1.0).sin();
                let hills = smoothstep(hill - 0.002, hill + 0.002, v);
                c = mix(c, mix(p.bottom, [0.02, 0.02, 0.03], 0.5), hills);
                let cell = (u * 9.0).floor();
                let fu = u * 9.0 - cell;
                let height = 0.08 + 0.06 * ((cell * 12.9898).sin() * 43_758.547).fract().abs();
                let base = hill + 0.01;
                let in_house = fu > 0.12 && fu < 0.88 && v > base - height && v < base + 0.02;
                if in_house {
                    c = [0.05, 0.04, 0.06];
                    let wy = (v - (base - height)) / height;
                    let window = (fu - 0.5).abs() < 0.12 && wy > 0.3 && wy < 0.55;
                    if window {
                        c = p.rim;
                    }
                }
                let moon = ellipse(u, v * 1.25, 0.72, 0.3, 0.06, 0.06);
                c = mix(c, [1.0, 0.96, 0.85], 1.0 - smoothstep(-0.02, 0.02, moon));
            }
        }
        let g = grain(x, y) * 0.012;
        Rgb(c.map(|ch| ((ch + g).clamp(0.0, 1.0) * 255.0).round() as u8))
    })
}
