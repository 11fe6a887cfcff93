use super::Point;

/// Pixels kept fully black outside a mask's outline (inside, when inverted) before the feather
/// starts, so a texture sampled with bilinear filtering is still exactly 0 over the polygon.
pub const MARGIN: f64 = 1.0;

/// A polygon that blacks out part of the canvas, in canvas pixel coordinates (x right, y down;
/// pixel (i, j) has its centre at (i + 0.5, j + 0.5)). Inverted, it blacks out everything
/// else instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub points: Vec<Point>,
    /// Width in pixels of the soft ramp from black to full light.
    pub feather: f64,
    pub invert: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MaskError {
    #[error("a mask needs at least 3 points, not {0}")]
    TooFewPoints(usize),
    #[error("a mask point is not a finite number")]
    NotFinite,
    #[error("a mask's feather is a width in pixels, 0 or more, not {0}")]
    Feather(f64),
}

impl Mask {
    /// [`coverage`] and [`rasterize`] ignore a mask that fails this, so check masks when the
    /// show is loaded to tell the user.
    pub fn check(&self) -> Result<(), MaskError> {
        if self.points.len() < 3 {
            return Err(MaskError::TooFewPoints(self.points.len()));
        }
        if !self.points.iter().flatten().all(|v| v.is_finite()) {
            return Err(MaskError::NotFinite);
        }
        if !(self.feather.is_finite() && self.feather >= 0.0) {
            return Err(MaskError::Feather(self.feather));
        }
        Ok(())
    }
}

/// Signed distance from `p` to the polygon's outline: negative inside, positive outside, by
/// the even-odd rule. An empty polygon is infinitely far away; a point that is not finite
/// gives NaN.
pub fn signed_distance(polygon: &[Point], p: Point) -> f64 {
    if !(p[0].is_finite() && p[1].is_finite()) {
        // f64::min would quietly skip the NaN distances and call the point far outside.
        return f64::NAN;
    }
    let mut nearest = f64::INFINITY;
    let mut crossings = 0usize;
    for (a, b) in edges(polygon) {
        nearest = nearest.min(segment_distance_squared(a, b, p));
        if crossing_x(a, b, p[1]).is_some_and(|x| p[0] < x) {
            crossings += 1;
        }
    }
    let d = nearest.sqrt();
    if crossings % 2 == 1 { -d } else { d }
}

/// How much light passes at canvas point `p`, 0..1, for one mask. Not inverted: 0 inside the
/// polygon and for [`MARGIN`] pixels outside it, then rising with smoothstep over `feather`
/// pixels to 1 (feather 0: a hard step at the margin). Inverted: the same with inside and
/// outside swapped. A mask that fails [`Mask::check`] passes all light; a NaN point gives
/// NaN.
pub fn coverage(mask: &Mask, p: Point) -> f64 {
    if mask.check().is_err() {
        return 1.0;
    }
    let d = signed_distance(&mask.points, p);
    if d.is_nan() {
        return f64::NAN;
    }
    ramp(if mask.invert { -d } else { d }, mask.feather)
}

/// An R8 image (row-major, `width * height` bytes, 255 = light passes, 0 = black) of the
/// product of every mask's coverage at each pixel centre. Masks that fail [`Mask::check`]
/// are left out.
pub fn rasterize(masks: &[Mask], width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let masks: Vec<&Mask> = masks.iter().filter(|m| m.check().is_ok()).collect();
    if masks.is_empty() {
        return vec![255; w * h];
    }
    let mut light = vec![1.0f64; w * h];
    for mask in masks {
        apply(mask, &mut light, w, h);
    }
    light
        .iter()
        .map(|&c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

/// Multiplies one mask's coverage into `light`. Past `reach` from the outline the coverage is
/// saturated, so only the bounding box grown by it needs distances, and each pixel only those
/// to edges that pass within `reach` of it; which side of the outline a pixel is on still
/// counts every edge. `reach` is a pixel more than the ramp needs, which absorbs rounding in
/// the culling, and the distances themselves are computed as [`coverage`] does, so the
/// results agree exactly.
fn apply(mask: &Mask, light: &mut [f64], w: usize, h: usize) {
    let reach = mask.feather + MARGIN + 1.0;
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in &mask.points {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    // Pixel centres i + 0.5 in lo - reach ..= hi + reach; the float-to-int casts saturate.
    let first = |lo: f64, n: usize| ((lo - reach - 0.5).ceil().clamp(0.0, n as f64)) as usize;
    let end = |hi: f64, n: usize| ((hi + reach - 0.5).floor() + 1.0).clamp(0.0, n as f64) as usize;
    let (i0, i1) = (first(lo[0], w), end(hi[0], w));
    let (j0, j1) = (first(lo[1], h), end(hi[1], h));

    let all: Vec<(Point, Point)> = edges(&mask.points).collect();
    let mut near: Vec<(Point, Point, f64, f64)> = Vec::with_capacity(all.len());
    let mut xs = Vec::with_capacity(all.len());
    for (j, row) in light.chunks_exact_mut(w.max(1)).enumerate().take(h) {
        if !(j0..j1).contains(&j) || i0 >= i1 {
            if mask.invert {
                row.fill(0.0);
            }
            continue;
        }
        if mask.invert {
            row[..i0].fill(0.0);
            row[i1..].fill(0.0);
        }
        let y = j as f64 + 0.5;
        near.clear();
        xs.clear();
        for &(a, b) in &all {
            if let Some((x0, x1)) = reach_in_row(a, b, y, reach) {
                near.push((a, b, x0, x1));
            }
            // signed_distance never counts a NaN crossing (from overflowing coordinates); a
            // NaN kept here would sort last and be counted, flipping inside and outside.
            if let Some(x) = crossing_x(a, b, y).filter(|x| !x.is_nan()) {
                xs.push(x);
            }
        }
        xs.sort_unstable_by(f64::total_cmp);
        let mut passed = 0;
        for (i, cell) in row.iter_mut().enumerate().take(i1).skip(i0) {
            let p = [i as f64 + 0.5, y];
            while passed < xs.len() && xs[passed] <= p[0] {
                passed += 1;
            }
            let inside = (xs.len() - passed) % 2 == 1;
            let nearest = near
                .iter()
                .filter(|&&(_, _, x0, x1)| x0 <= p[0] && p[0] <= x1)
                .map(|&(a, b, _, _)| segment_distance_squared(a, b, p))
                .fold(f64::INFINITY, f64::min)
                .sqrt();
            let d = if inside { -nearest } else { nearest };
            *cell *= ramp(if mask.invert { -d } else { d }, mask.feather);
        }
    }
}

/// The x-range of the row at height `y` within `reach` of edge a-b, padded by `reach`; None
/// when the whole edge is farther than `reach` above or below the row.
fn reach_in_row(a: Point, b: Point, y: f64, reach: f64) -> Option<(f64, f64)> {
    if a[1].min(b[1]) - reach > y || y > a[1].max(b[1]) + reach {
        return None;
    }
    let dy = b[1] - a[1];
    // The part of the edge inside the band y ± reach, as a parameter range along it.
    let (t0, t1) = if dy == 0.0 {
        (0.0, 1.0)
    } else {
        let u = (y - reach - a[1]) / dy;
        let v = (y + reach - a[1]) / dy;
        (u.min(v).max(0.0), u.max(v).min(1.0))
    };
    let (x0, x1) = (a[0] + t0 * (b[0] - a[0]), a[0] + t1 * (b[0] - a[0]));
    Some((x0.min(x1) - reach, x0.max(x1) + reach))
}

/// The light at signed distance `d` from the outline, measured positive on the lit side.
fn ramp(d: f64, feather: f64) -> f64 {
    let x = d - MARGIN;
    if x <= 0.0 {
        return 0.0;
    }
    if feather <= 0.0 {
        return 1.0;
    }
    let t = (x / feather).min(1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The polygon's edges, closing back to the first point.
fn edges(polygon: &[Point]) -> impl Iterator<Item = (Point, Point)> + '_ {
    let n = polygon.len();
    (0..n).map(move |k| (polygon[k], polygon[(k + 1) % n]))
}

/// Where edge a-b crosses the horizontal line at `y`, counting each vertex on one side only
/// (half-open in y) so a ray through a vertex is counted once.
fn crossing_x(a: Point, b: Point, y: f64) -> Option<f64> {
    if (a[1] > y) != (b[1] > y) {
        Some(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]))
    } else {
        None
    }
}

fn segment_distance_squared(a: Point, b: Point, p: Point) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    ex * ex + ey * ey
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(invert: bool, feather: f64) -> Mask {
        Mask {
            points: vec![
                [100.0, 100.0],
                [200.0, 100.0],
                [200.0, 200.0],
                [100.0, 200.0],
            ],
            feather,
            invert,
        }
    }

    #[test]
    fn signed_distance_sign_and_size() {
        let m = square(false, 0.0);
        assert_eq!(signed_distance(&m.points, [150.0, 150.0]), -50.0);
        assert_eq!(signed_distance(&m.points, [150.0, 90.0]), 10.0);
        assert_eq!(signed_distance(&m.points, [203.0, 204.0]), 5.0);
        assert_eq!(signed_distance(&m.points, [100.0, 150.0]), 0.0);
        assert_eq!(signed_distance(&[], [0.0, 0.0]), f64::INFINITY);
        // Even-odd: the middle of a doubly wound star is outside.
        let star = [
            [0.0, -10.0],
            [6.0, 8.0],
            [-9.5, -3.0],
            [9.5, -3.0],
            [-6.0, 8.0],
        ];
        assert!(signed_distance(&star, [0.0, 0.0]) > 0.0);
        assert!(signed_distance(&star, [0.0, -7.0]) < 0.0);
    }

    #[test]
    fn black_inside_and_for_the_margin() {
        let m = square(false, 20.0);
        for p in [
            [150.0, 150.0],
            [100.5, 100.5],
            [100.0, 150.0],
            [99.0, 150.0],
            [150.0, 201.0],
        ] {
            assert_eq!(coverage(&m, p), 0.0, "{p:?}");
        }
        assert!(coverage(&m, [98.9, 150.0]) > 0.0);
        assert_eq!(coverage(&m, [79.0, 150.0]), 1.0);
        assert_eq!(coverage(&m, [0.0, 0.0]), 1.0);
    }

    #[test]
    fn ramp_rises_monotonically_along_a_ray() {
        let m = square(false, 20.0);
        let mut last = -1.0;
        let mut rose = false;
        for k in 0..400 {
            let c = coverage(&m, [150.0, 150.0 + k as f64 * 0.25]);
            assert!(c >= last, "step {k}: {c} after {last}");
            assert!((0.0..=1.0).contains(&c));
            rose |= c > last && last > 0.0;
            last = c;
        }
        assert!(rose, "the ramp should pass through values between 0 and 1");
        assert_eq!(last, 1.0);
        // Halfway through the feather, smoothstep gives exactly one half.
        assert!((coverage(&m, [150.0, 211.0]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn hard_edge_without_feather() {
        let m = square(false, 0.0);
        assert_eq!(coverage(&m, [150.0, 201.0]), 0.0);
        assert_eq!(coverage(&m, [150.0, 201.01]), 1.0);
    }

    #[test]
    fn inverted_passes_light_only_deep_inside() {
        let m = square(true, 10.0);
        assert_eq!(coverage(&m, [150.0, 150.0]), 1.0);
        assert_eq!(coverage(&m, [150.0, 250.0]), 0.0);
        assert_eq!(coverage(&m, [150.0, 200.0]), 0.0);
        assert_eq!(
            coverage(&m, [150.0, 199.0]),
            0.0,
            "within the margin inside"
        );
        let mid = coverage(&m, [150.0, 194.0]);
        assert!((mid - 0.5).abs() < 1e-12, "{mid}");
        let mut last = -1.0;
        for k in 0..60 {
            let c = coverage(&m, [150.0, 210.0 - k as f64]);
            assert!(c >= last);
            last = c;
        }
    }

    #[test]
    fn invalid_masks_are_ignored() {
        let few = Mask {
            points: vec![[0.0, 0.0], [5.0, 5.0]],
            feather: 1.0,
            invert: true,
        };
        assert_eq!(few.check(), Err(MaskError::TooFewPoints(2)));
        let nan = Mask {
            points: vec![[0.0, 0.0], [5.0, f64::NAN], [0.0, 5.0]],
            ..square(false, 1.0)
        };
        assert_eq!(nan.check(), Err(MaskError::NotFinite));
        let feather = square(false, f64::INFINITY);
        assert!(matches!(feather.check(), Err(MaskError::Feather(_))));
        assert!(square(false, -1.0).check().is_err());
        for m in [&few, &nan, &feather] {
            assert_eq!(coverage(m, [1.0, 1.0]), 1.0);
        }
        assert_eq!(rasterize(&[few, nan, feather], 4, 3), vec![255; 12]);
        assert!(coverage(&square(false, 2.0), [f64::NAN, 0.0]).is_nan());
    }

    #[test]
    fn rasterize_matches_coverage() {
        let masks = [
            Mask {
                points: vec![
                    [10.0, 12.0],
                    [90.0, 20.5],
                    [70.0, 60.0],
                    [40.0, 35.0],
                    [12.0, 70.0],
                ],
                feather: 6.5,
                invert: false,
            },
            Mask {
                points: vec![[30.0, 5.0], [150.0, 15.0], [140.0, 95.0], [35.0, 90.0]],
                feather: 3.0,
                invert: true,
            },
            Mask {
                points: vec![[100.0, 40.0], [120.0, 40.0], [110.0, 40.0], [110.0, 41.0]],
                feather: 0.0,
                invert: false,
            },
        ];
        let (w, h) = (160u32, 100u32);
        let image = rasterize(&masks, w, h);
        assert_eq!(image.len(), (w * h) as usize);
        let mut zeros = 0;
        let mut partial = 0;
        for j in 0..h as usize {
            for i in 0..w as usize {
                let p = [i as f64 + 0.5, j as f64 + 0.5];
                let c: f64 = masks.iter().map(|m| coverage(m, p)).product();
                let want = (c * 255.0).round() as u8;
                assert_eq!(image[j * w as usize + i], want, "pixel {i},{j}");
                zeros += usize::from(c == 0.0);
                partial += usize::from(c > 0.0 && c < 1.0);
            }
        }
        assert!(
            zeros > 1000 && partial > 100,
            "{zeros} black, {partial} partial"
        );
    }

    #[test]
    fn rasterize_is_clear_far_away_and_black_inside() {
        let m = square(false, 20.0);
        let image = rasterize(std::slice::from_ref(&m), 400, 300);
        assert_eq!(image[0], 255);
        assert_eq!(image[299 * 400 + 399], 255);
        assert_eq!(image[150 * 400 + 150], 0);
        assert!(
            image[150 * 400..151 * 400]
                .iter()
                .any(|&v| v > 0 && v < 255)
        );
        let inv = rasterize(&[square(true, 20.0)], 400, 300);
        assert_eq!(inv[0], 0);
        assert_eq!(inv[150 * 400 + 150], 255);
        assert_eq!(rasterize(&[], 3, 2), vec![255; 6]);
        assert!(rasterize(&[m], 0, 0).is_empty());
    }
}
