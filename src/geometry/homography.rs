use super::Point;

/// A plane projective transform, row-major, acting on the column vector `(x, y, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [[f64; 3]; 3]);

/// Why four corners cannot be pinned. Corners are numbered 1-4 as the user sees them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WarpError {
    #[error("a corner is not a finite number")]
    NotFinite,
    #[error("corners {a} and {b} are in the same place: move one of them")]
    Coincident { a: usize, b: usize },
    #[error("corners {a}, {b} and {c} are in a line: move one of them")]
    Collinear { a: usize, b: usize, c: usize },
    #[error(
        "the corners cross over each other (a bow-tie): they must go round the picture in order, \
         top-left, top-right, bottom-right, bottom-left"
    )]
    BowTie,
    #[error("the corners do not make a convex shape: corner {corner} is inside the others")]
    Concave { corner: usize },
    #[error("the corners enclose no area")]
    NoArea,
    #[error("the points do not define a projection: no three of them may be in a line")]
    Degenerate,
}

impl Homography {
    pub fn identity() -> Homography {
        Homography([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    }

    /// Solves the homography taking `from[i]` to `to[i]` (DLT with 8 unknowns and h33 = 1,
    /// Gaussian elimination with partial pivoting). Both point sets are first moved to their
    /// centroid and scaled (Hartley normalization) so that pixel-sized coordinates solve as
    /// accurately as unit ones.
    pub fn solve(from: &[Point; 4], to: &[Point; 4]) -> Result<Homography, WarpError> {
        if !from.iter().chain(to).flatten().all(|v| v.is_finite()) {
            return Err(WarpError::NotFinite);
        }
        let (t_from, from_n) = normalize(from).ok_or(WarpError::Degenerate)?;
        let (t_to, to_n) = normalize(to).ok_or(WarpError::Degenerate)?;

        let mut a = [[0.0; 9]; 8];
        for i in 0..4 {
            let [x, y] = from_n[i];
            let [u, v] = to_n[i];
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -x * v, -y * v, v];
        }
        let h = gauss(a).ok_or(WarpError::Degenerate)?;
        let hn = Homography([[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]]);

        // H = T_to^-1 · Hn · T_from, where T = [[s, 0, -s·cx], [0, s, -s·cy], [0, 0, 1]].
        let (s, cx, cy) = t_to;
        let t_to_inv = Homography([[1.0 / s, 0.0, cx], [0.0, 1.0 / s, cy], [0.0, 0.0, 1.0]]);
        let (s, cx, cy) = t_from;
        let t_from = Homography([[s, 0.0, -s * cx], [0.0, s, -s * cy], [0.0, 0.0, 1.0]]);
        let m = mul(&mul(&t_to_inv, &hn), &t_from);
        let result = rescale(m);
        if result.0.iter().flatten().all(|v| v.is_finite()) {
            Ok(result)
        } else {
            Err(WarpError::Degenerate)
        }
    }

    /// The unit square's corners (0,0), (1,0), (1,1), (0,1) onto `corners`, after
    /// [`check_quad`] has accepted them.
    pub fn from_unit_square(corners: &[Point; 4]) -> Result<Homography, WarpError> {
        check_quad(corners)?;
        Homography::solve(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], corners)
    }

    /// Where `p` goes, after the divide by w. A point on the vanishing line (w = 0) gives
    /// infinite or NaN coordinates.
    pub fn apply(&self, p: Point) -> Point {
        let [x, y, w] = self.apply_homogeneous(p);
        [x / w, y / w]
    }

    /// `(x, y, w)` before the divide by w; shaders that interpolate across a quad need w.
    pub fn apply_homogeneous(&self, p: Point) -> [f64; 3] {
        let m = &self.0;
        let v = [p[0], p[1], 1.0];
        [0, 1, 2].map(|r| m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2])
    }

    /// None when the matrix is singular (|det| tiny relative to its entries) or not finite.
    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.0;
        let scale = m.iter().flatten().fold(0.0f64, |acc, v| acc.max(v.abs()));
        if !scale.is_finite() || scale == 0.0 {
            return None;
        }
        // Scaling first keeps the determinant away from overflow and makes the test relative.
        let n = m.map(|row| row.map(|v| v / scale));
        let cof = |r0: usize, r1: usize, c0: usize, c1: usize| {
            n[r0][c0] * n[r1][c1] - n[r0][c1] * n[r1][c0]
        };
        let adj = [
            [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
            [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
            [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
        ];
        let det = n[0][0] * adj[0][0] + n[0][1] * adj[1][0] + n[0][2] * adj[2][0];
        if !det.is_finite() || det.abs() < 1e-12 {
            return None;
        }
        // A homography is only defined up to scale, so the 1/scale factor is dropped.
        let inv = Homography(adj.map(|row| row.map(|v| v / det)));
        Some(rescale(inv))
    }
}

/// Checks a corner pin's four corners, in order top-left, top-right, bottom-right, bottom-left
/// (clockwise on screen with y down). Either winding is accepted, because a mirrored rear
/// projection goes round the other way.
pub fn check_quad(corners: &[Point; 4]) -> Result<(), WarpError> {
    if !corners.iter().flatten().all(|v| v.is_finite()) {
        return Err(WarpError::NotFinite);
    }
    // Every rule below is scale-invariant, so dividing by the largest coordinate first keeps
    // huge finite inputs from overflowing to infinity in the products.
    let big = corners
        .iter()
        .flatten()
        .fold(0.0f64, |acc, v| acc.max(v.abs()));
    if big == 0.0 {
        return Err(WarpError::NoArea);
    }
    let p = corners.map(|[x, y]| [x / big, y / big]);

    let (mut lo, mut hi) = (p[0], p[0]);
    for q in &p[1..] {
        lo = [lo[0].min(q[0]), lo[1].min(q[1])];
        hi = [hi[0].max(q[0]), hi[1].max(q[1])];
    }
    let scale = (hi[0] - lo[0]).hypot(hi[1] - lo[1]);
    if scale == 0.0 {
        return Err(WarpError::NoArea);
    }
    let tolerance = 1e-6 * scale * scale;

    for a in 0..4 {
        for b in a + 1..4 {
            if (p[a][0] - p[b][0]).hypot(p[a][1] - p[b][1]) < 1e-6 * scale {
                return Err(WarpError::Coincident { a: a + 1, b: b + 1 });
            }
        }
    }

    // The turn at corner i; with four corners the four consecutive triples are all the triples.
    let turn = |i: usize| {
        let (a, b, c) = (p[(i + 3) % 4], p[i], p[(i + 1) % 4]);
        (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    };
    let turns = [turn(0), turn(1), turn(2), turn(3)];
    if turns.iter().all(|t| t.abs() < tolerance) {
        return Err(WarpError::NoArea);
    }
    if let Some(i) = (0..4).find(|&i| turns[i].abs() < tolerance) {
        let mut three = [(i + 3) % 4, i, (i + 1) % 4].map(|k| k + 1);
        three.sort_unstable();
        let [a, b, c] = three;
        return Err(WarpError::Collinear { a, b, c });
    }

    // Four turns one way is convex. A quadrilateral cannot wind twice, so two each way is
    // always a bow-tie, and three against one is a simple shape dented in at the odd corner.
    let positive = turns.iter().filter(|&&t| t > 0.0).count();
    match positive {
        0 | 4 => {}
        2 => return Err(WarpError::BowTie),
        _ => {
            let odd_sign = positive == 1;
            let corner = (0..4).find(|&i| (turns[i] > 0.0) == odd_sign).unwrap_or(0);
            return Err(WarpError::Concave { corner: corner + 1 });
        }
    }

    let twice_area = (0..4)
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % 4]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>();
    if (0.5 * twice_area).abs() < tolerance {
        return Err(WarpError::NoArea);
    }
    Ok(())
}

/// The similarity taking `points` to centroid 0 and mean distance √2, as (scale, cx, cy), and
/// the moved points. None when all the points coincide.
fn normalize(points: &[Point; 4]) -> Option<((f64, f64, f64), [Point; 4])> {
    let cx = points.iter().map(|p| p[0]).sum::<f64>() / 4.0;
    let cy = points.iter().map(|p| p[1]).sum::<f64>() / 4.0;
    let mean = points
        .iter()
        .map(|p| (p[0] - cx).hypot(p[1] - cy))
        .sum::<f64>()
        / 4.0;
    if mean <= 0.0 || !mean.is_finite() {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean;
    let moved = points.map(|[x, y]| [(x - cx) * s, (y - cy) * s]);
    Some(((s, cx, cy), moved))
}

/// Solves the 8x8 system whose augmented matrix is `a`. The inputs are normalized, so an
/// absolute pivot threshold is meaningful.
fn gauss(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-10 {
            return None;
        }
        a.swap(col, pivot);
        for row in col + 1..8 {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                let pivot_row = a[col];
                for (v, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for row in (0..8).rev() {
        let tail = (row + 1..8).map(|k| a[row][k] * x[k]).sum::<f64>();
        x[row] = (a[row][8] - tail) / a[row][row];
    }
    Some(x)
}

fn mul(a: &Homography, b: &Homography) -> Homography {
    let (a, b) = (&a.0, &b.0);
    Homography(std::array::from_fn(|r| {
        std::array::from_fn(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum())
    }))
}

/// Scales so h33 = 1, the conventional form, unless h33 is too small to divide by.
fn rescale(h: Homography) -> Homography {
    let largest = h.0.iter().flatten().fold(0.0f64, |acc, v| acc.max(v.abs()));
    let h33 = h.0[2][2];
    if h33.abs() > 1e-12 * largest {
        Homography(h.0.map(|row| row.map(|v| v / h33)))
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: [Point; 4] = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];

    fn close(a: Point, b: Point, tol: f64) -> bool {
        (a[0] - b[0]).abs() <= tol && (a[1] - b[1]).abs() <= tol
    }

    fn cross(a: Point, b: Point, c: Point) -> f64 {
        (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    }

    #[test]
    fn maps_each_corner() {
        let to = [
            [102.5, 40.0],
            [1800.0, 95.0],
            [1700.25, 1010.0],
            [160.0, 1060.0],
        ];
        let h = Homography::from_unit_square(&to).expect("a good quad");
        for (from, to) in SQUARE.iter().zip(&to) {
            let got = h.apply(*from);
            assert!(
                close(got, *to, 1e-9),
                "{from:?} went to {got:?}, not {to:?}"
            );
        }
        let h = Homography::solve(&to, &SQUARE).expect("solvable");
        for (from, to) in to.iter().zip(&SQUARE) {
            assert!(close(h.apply(*from), *to, 1e-12));
        }
    }

    #[test]
    fn centre_goes_where_the_diagonals_cross() {
        // A trapezoid: a projective map sends the square's centre (where its diagonals cross)
        // to where the target's diagonals cross, not to the target's centroid.
        let to = [[0.0, 0.0], [4.0, 0.0], [3.0, 2.0], [1.0, 2.0]];
        let h = Homography::from_unit_square(&to).expect("a good quad");
        // Diagonal 1-3 is (0,0)-(3,2) and 2-4 is (4,0)-(1,2); they meet at (2, 4/3).
        let got = h.apply([0.5, 0.5]);
        assert!(close(got, [2.0, 4.0 / 3.0], 1e-12), "got {got:?}");
        assert!(
            !close(got, [2.0, 1.0], 1e-3),
            "an affine answer would be the centroid"
        );
    }

    #[test]
    fn identity_for_the_unit_square() {
        let h = Homography::from_unit_square(&SQUARE).expect("the unit square");
        for (a, b) in
            h.0.iter()
                .flatten()
                .zip(Homography::identity().0.iter().flatten())
        {
            assert!((a - b).abs() < 1e-12, "{h:?}");
        }
    }

    #[test]
    fn inverse_round_trips() {
        let to = [[0.1, 0.05], [0.93, 0.12], [0.88, 0.97], [0.02, 0.9]];
        let h = Homography::from_unit_square(&to).expect("a good quad");
        let inv = h.inverse().expect("invertible");
        for p in [[0.5, 0.5], [0.1, 0.9], [0.77, 0.31], [-0.2, 1.3]] {
            let back = inv.apply(h.apply(p));
            assert!(close(back, p, 1e-12), "{p:?} came back as {back:?}");
        }
        for (c, s) in to.iter().zip(&SQUARE) {
            assert!(close(inv.apply(*c), *s, 1e-12));
        }
    }

    #[test]
    fn singular_has_no_inverse() {
        let flat = Homography([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]]);
        assert_eq!(flat.inverse(), None);
        let nan = Homography([[f64::NAN, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(nan.inverse(), None);
        assert_eq!(Homography([[0.0; 3]; 3]).inverse(), None);
    }

    #[test]
    fn straight_lines_stay_straight() {
        let to = [[10.0, 20.0], [300.0, 5.0], [280.0, 250.0], [30.0, 200.0]];
        let h = Homography::from_unit_square(&to).expect("a good quad");
        let (a, b) = ([0.1, 0.2], [0.9, 0.7]);
        let mid = [0.1 + 0.8 * 0.3, 0.2 + 0.5 * 0.3];
        let (ha, hb, hm) = (h.apply(a), h.apply(b), h.apply(mid));
        let scale = (hb[0] - ha[0]).hypot(hb[1] - ha[1]);
        assert!(cross(ha, hb, hm).abs() < 1e-9 * scale * scale);
        // And a point off the line stays off it, so the test above can fail.
        let off = h.apply([0.5, 0.2]);
        assert!(cross(ha, hb, off).abs() > 1e-3 * scale * scale);
    }

    #[test]
    fn solve_refuses_degenerate_points() {
        let line = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]];
        assert_eq!(
            Homography::solve(&SQUARE, &line),
            Err(WarpError::Degenerate)
        );
        let same = [[1.0, 1.0]; 4];
        assert_eq!(
            Homography::solve(&same, &SQUARE),
            Err(WarpError::Degenerate)
        );
        let nan = [[f64::NAN, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert_eq!(Homography::solve(&nan, &SQUARE), Err(WarpError::NotFinite));
    }

    #[test]
    fn accepts_both_windings() {
        assert_eq!(check_quad(&SQUARE), Ok(()));
        let mirrored = [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        assert_eq!(check_quad(&mirrored), Ok(()));
        let h = Homography::from_unit_square(&mirrored).expect("mirrored is fine");
        assert!(close(h.apply([0.25, 0.5]), [0.75, 0.5], 1e-12));
    }

    #[test]
    fn refuses_collinear() {
        let q = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [0.0, 1.0]];
        let e = check_quad(&q).expect_err("1, 2, 3 in a line");
        assert_eq!(e, WarpError::Collinear { a: 1, b: 2, c: 3 });
        assert_eq!(
            e.to_string(),
            "corners 1, 2 and 3 are in a line: move one of them"
        );
        // Nearly in a line, relative to a pixel-sized quad.
        let q = [[0.0, 0.0], [960.0, 1e-4], [1920.0, 0.0], [0.0, 1080.0]];
        assert_eq!(
            check_quad(&q),
            Err(WarpError::Collinear { a: 1, b: 2, c: 3 })
        );
        let q = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 2.0]];
        assert_eq!(
            check_quad(&q),
            Err(WarpError::Collinear { a: 2, b: 3, c: 4 })
        );
    }

    #[test]
    fn refuses_bow_tie() {
        let q = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let e = check_quad(&q).expect_err("a bow-tie");
        assert_eq!(e, WarpError::BowTie);
        assert!(e.to_string().contains("bow-tie"));
        let q = [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]];
        assert_eq!(check_quad(&q), Err(WarpError::BowTie));
    }

    #[test]
    fn refuses_concave_and_names_the_corner() {
        let q = [[0.0, 0.0], [1.0, 0.0], [0.4, 0.4], [0.0, 1.0]];
        let e = check_quad(&q).expect_err("concave");
        assert_eq!(e, WarpError::Concave { corner: 3 });
        assert_eq!(
            e.to_string(),
            "the corners do not make a convex shape: corner 3 is inside the others"
        );
        // The same shape wound the other way names the same corner.
        let q = [[0.0, 1.0], [0.4, 0.4], [1.0, 0.0], [0.0, 0.0]];
        assert_eq!(check_quad(&q), Err(WarpError::Concave { corner: 2 }));
    }

    #[test]
    fn refuses_non_finite_and_empty() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let q = [[0.0, 0.0], [1.0, 0.0], [1.0, bad], [0.0, 1.0]];
            assert_eq!(check_quad(&q), Err(WarpError::NotFinite));
            assert!(Homography::from_unit_square(&q).is_err());
        }
        assert_eq!(check_quad(&[[0.0, 0.0]; 4]), Err(WarpError::NoArea));
        assert_eq!(check_quad(&[[3.0, 3.0]; 4]), Err(WarpError::NoArea));
        let q = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        assert_eq!(check_quad(&q), Err(WarpError::Coincident { a: 2, b: 3 }));
        let flat = [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [2.0, 0.0]];
        assert_eq!(check_quad(&flat), Err(WarpError::NoArea));
    }

    #[test]
    fn huge_and_tiny_quads_are_judged_by_shape() {
        let big = SQUARE.map(|[x, y]| [x * 1e300, y * 1e300]);
        assert_eq!(check_quad(&big), Ok(()));
        let tiny = SQUARE.map(|[x, y]| [x * 1e-300, y * 1e-300]);
        assert_eq!(check_quad(&tiny), Ok(()));
    }
}
