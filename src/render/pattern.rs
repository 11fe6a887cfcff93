//! The alignment test pattern: what an AV technician puts on the wall to focus, square and
//! match projectors to the facade. A grid (keystone and edge blending), a white border (is the
//! whole image on the wall?), a centre cross and circle (aspect ratio: a circle must not come
//! out as an ellipse), colour bars and a grey ramp (colour and black level).

use image::{Rgba, RgbaImage};

pub fn test_pattern(width: u32, height: u32) -> RgbaImage {
    let (w, h) = (width as i64, height as i64);
    let cell = (h / 9).max(8);
    let line = (h / 540).max(1);
    let (cx, cy) = (w / 2, h / 2);
    let radius = (h * 45 / 100) as f64;
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
    let (bar_top, bar_bottom) = (cy - cell, cy);
    let (ramp_top, ramp_bottom) = (cy, cy + cell / 2);
    let band_left = cx - 4 * cell;
    let band_right = cx + 4 * cell;
    RgbaImage::from_fn(width, height, |x, y| {
        let (x, y) = (x as i64, y as i64);
        let px = |c: [u8; 3]| Rgba([c[0], c[1], c[2], 255]);
        let border = x < 3 * line || y < 3 * line || x >= w - 3 * line || y >= h - 3 * line;
        if border {
            return px([255, 255, 255]);
        }
        if (band_left..band_right).contains(&x) {
            let i = ((x - band_left) * 8 / (band_right - band_left)) as usize;
            if (bar_top..bar_bottom).contains(&y) {
                return px(bars[i]);
            }
            if (ramp_top..ramp_bottom).contains(&y) {
                // 16 steps from black to white.
                let v = ((x - band_left) * 16 / (band_right - band_left) * 17) as u8;
                return px([v, v, v]);
            }
        }
        let d = (((x - cx).pow(2) + (y - cy).pow(2)) as f64).sqrt();
        let on_circle = (d - radius).abs() < line as f64 * 1.5;
        let on_cross = ((x - cx).abs() < line && (y - cy).abs() < cell)
            || ((y - cy).abs() < line && (x - cx).abs() < cell);
        if on_circle || on_cross {
            return px([255, 255, 255]);
        }
        let on_grid = (x - cx).rem_euclid(cell) < line || (y - cy).rem_euclid(cell) < line;
        if on_grid {
            return px([128, 128, 128]);
        }
        px([0, 0, 0])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_has_a_white_border_bars_and_a_black_field() {
        let img = test_pattern(1920, 1080);
        for (x, y) in [(0, 0), (1919, 0), (0, 1079), (1919, 1079), (960, 1)] {
            assert_eq!(
                img.get_pixel(x, y).0,
                [255, 255, 255, 255],
                "border at {x},{y}"
            );
        }
        // Second bar (yellow), just above the centre line.
        let cell = 120;
        let x = 960 - 4 * cell + cell + cell / 2;
        assert_eq!(img.get_pixel(x as u32, 540 - 10).0, [255, 255, 0, 255]);
        // Somewhere between grid lines is black.
        assert_eq!(img.get_pixel(960 + 60, 540 + 300).0, [0, 0, 0, 255]);
    }
}
