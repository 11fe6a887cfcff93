use super::Point;

/// A grid of control points on top of the corner pin, in the corner-pinned quad's own unit
/// square: (0,0) is corner 1 and (1,1) corner 3. The identity mesh is the regular grid, point
/// (c, r) at (c/(cols-1), r/(rows-1)).
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    cols: usize,
    rows: usize,
    /// Row-major.
    points: Vec<Point>,
    linear: bool,
}

/// Why a mesh cannot be built or edited. Points are numbered col,row from 1 in messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeshError {
    #[error("a mesh has {min} to {max} columns, not {0}", min = Mesh::MIN_SIDE, max = Mesh::MAX_SIDE)]
    Cols(usize),
    #[error("a mesh has {min} to {max} rows, not {0}", min = Mesh::MIN_SIDE, max = Mesh::MAX_SIDE)]
    Rows(usize),
    #[error("the mesh is {cols}x{rows}, so it needs {} points, not {got}", cols * rows)]
    PointCount {
        cols: usize,
        rows: usize,
        got: usize,
    },
    /// `col` and `row` are 0-based here and 1-based in the message.
    #[error("mesh point {},{} is outside the {cols}x{rows} mesh", col + 1, row + 1)]
    OutOfRange {
        col: usize,
        row: usize,
        cols: usize,
        rows: usize,
    },
    /// `col` and `row` are 0-based here and 1-based in the message.
    #[error("mesh point {},{} is not a finite number", col + 1, row + 1)]
    NotFinite { col: usize, row: usize },
}

impl Mesh {
    pub const MIN_SIDE: usize = 2;
    pub const MAX_SIDE: usize = 17;

    pub fn identity(cols: usize, rows: usize, linear: bool) -> Result<Mesh, MeshError> {
        check_sides(cols, rows)?;
        let points = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| grid_point(c, r, cols, rows)))
            .collect();
        Ok(Mesh {
            cols,
            rows,
            points,
            linear,
        })
    }

    /// `points` is row-major: all of row 1 (top), left to right, then row 2, and so on.
    pub fn new(
        cols: usize,
        rows: usize,
        points: Vec<Point>,
        linear: bool,
    ) -> Result<Mesh, MeshError> {
        check_sides(cols, rows)?;
        if points.len() != cols * rows {
            return Err(MeshError::PointCount {
                cols,
                rows,
                got: points.len(),
            });
        }
        if let Some(i) = points.iter().position(|p| !p.iter().all(|v| v.is_finite())) {
            return Err(MeshError::NotFinite {
                col: i % cols,
                row: i / cols,
            });
        }
        Ok(Mesh {
            cols,
            rows,
            points,
            linear,
        })
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn linear(&self) -> bool {
        self.linear
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// 0-based; None outside the grid.
    pub fn point(&self, col: usize, row: usize) -> Option<Point> {
        if col < self.cols && row < self.rows {
            self.points.get(row * self.cols + col).copied()
        } else {
            None
        }
    }

    /// 0-based.
    pub fn set_point(&mut self, col: usize, row: usize, p: Point) -> Result<(), MeshError> {
        if col >= self.cols || row >= self.rows {
            return Err(MeshError::OutOfRange {
                col,
                row,
                cols: self.cols,
                rows: self.rows,
            });
        }
        if !p.iter().all(|v| v.is_finite()) {
            return Err(MeshError::NotFinite { col, row });
        }
        let i = row * self.cols + col;
        match self.points.get_mut(i) {
            Some(slot) => {
                *slot = p;
                Ok(())
            }
            None => Err(MeshError::OutOfRange {
                col,
                row,
                cols: self.cols,
                rows: self.rows,
            }),
        }
    }

    /// The same shape on a grid of `cols` x `rows` points: each new point is where this mesh
    /// puts its place in the unit square, so adding or removing rows keeps the bend.
    pub fn resized(&self, cols: usize, rows: usize) -> Result<Mesh, MeshError> {
        check_sides(cols, rows)?;
        let points = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| grid_point(c, r, cols, rows)))
            .map(|[s, t]| self.eval(s, t))
            .collect();
        Mesh::new(cols, rows, points, self.linear)
    }

    /// Whether every point is within 1e-9 of the regular grid, so the warp can be skipped.
    pub fn is_identity(&self) -> bool {
        self.points.iter().enumerate().all(|(i, p)| {
            let g = grid_point(i % self.cols, i / self.cols, self.cols, self.rows);
            (p[0] - g[0]).abs() <= 1e-9 && (p[1] - g[1]).abs() <= 1e-9
        })
    }

    /// Where (s, t) of the unit square goes: bicubic Catmull-Rom through the control points
    /// (along the row, then the column, uniform parameter per cell), or bilinear when
    /// `linear`. The grid is extended linearly past its edges, so an identity mesh maps every
    /// (s, t) to itself and the edge cells bend no more than their neighbours ask. s and t
    /// are clamped to 0..1; a NaN gives a NaN point.
    pub fn eval(&self, s: f64, t: f64) -> Point {
        let (i, fu) = cell(s, self.cols);
        let (j, fv) = cell(t, self.rows);
        if self.linear {
            let top = lerp(self.at(i, j), self.at(i + 1, j), fu);
            let bottom = lerp(self.at(i, j + 1), self.at(i + 1, j + 1), fu);
            lerp(top, bottom, fv)
        } else {
            let row = |r: isize| {
                catmull_rom(
                    [
                        self.at(i - 1, r),
                        self.at(i, r),
                        self.at(i + 1, r),
                        self.at(i + 2, r),
                    ],
                    fu,
                )
            };
            catmull_rom([row(j - 1), row(j), row(j + 1), row(j + 2)], fv)
        }
    }

    /// The control point at (c, r), extended linearly past the grid's edges in both
    /// directions (p[-1] = 2 p[0] - p[1], p[n] = 2 p[n-1] - p[n-2], and so on).
    fn at(&self, c: isize, r: isize) -> Point {
        // Sides are 2..=17, so these casts are exact.
        let (cols, rows) = (self.cols as isize, self.rows as isize);
        if r < 0 || r >= rows {
            let (edge, inner, k) = if r < 0 {
                (0, 1, -r)
            } else {
                (rows - 1, rows - 2, r - (rows - 1))
            };
            let (a, b) = (self.at(c, edge), self.at(c, inner));
            return extend(a, b, k as f64);
        }
        if c < 0 || c >= cols {
            let (edge, inner, k) = if c < 0 {
                (0, 1, -c)
            } else {
                (cols - 1, cols - 2, c - (cols - 1))
            };
            let (a, b) = (self.at(edge, r), self.at(inner, r));
            return extend(a, b, k as f64);
        }
        self.points
            .get((r * cols + c) as usize)
            .copied()
            .unwrap_or([f64::NAN; 2])
    }
}

fn check_sides(cols: usize, rows: usize) -> Result<(), MeshError> {
    let range = Mesh::MIN_SIDE..=Mesh::MAX_SIDE;
    if !range.contains(&cols) {
        return Err(MeshError::Cols(cols));
    }
    if !range.contains(&rows) {
        return Err(MeshError::Rows(rows));
    }
    Ok(())
}

fn grid_point(c: usize, r: usize, cols: usize, rows: usize) -> Point {
    [c as f64 / (cols - 1) as f64, r as f64 / (rows - 1) as f64]
}

/// The cell holding parameter `x` along a side of `n` points, and the fraction across it. A
/// parameter within rounding of a grid line lands exactly on it, so the curve passes through
/// the control points exactly even when c/(n-1)·(n-1) is not quite c.
fn cell(x: f64, n: usize) -> (isize, f64) {
    let u = x.clamp(0.0, 1.0) * (n - 1) as f64;
    let nearest = u.round();
    let u = if (u - nearest).abs() < 1e-12 {
        nearest
    } else {
        u
    };
    let i = u.floor();
    // A NaN parameter casts to cell 0 and leaves a NaN fraction, which propagates.
    (i as isize, u - i)
}

fn extend(edge: Point, inner: Point, k: f64) -> Point {
    [
        edge[0] + k * (edge[0] - inner[0]),
        edge[1] + k * (edge[1] - inner[1]),
    ]
}

/// Written as (1-f)·a + f·b so that f = 0 and f = 1 give a and b exactly.
fn lerp(a: Point, b: Point, f: f64) -> Point {
    [(1.0 - f) * a[0] + f * b[0], (1.0 - f) * a[1] + f * b[1]]
}

/// The uniform Catmull-Rom segment between p[1] and p[2].
fn catmull_rom(p: [Point; 4], f: f64) -> Point {
    let (f2, f3) = (f * f, f * f * f);
    let w = [
        0.5 * (-f3 + 2.0 * f2 - f),
        0.5 * (3.0 * f3 - 5.0 * f2 + 2.0),
        0.5 * (-3.0 * f3 + 4.0 * f2 + f),
        0.5 * (f3 - f2),
    ];
    [0, 1].map(|k| w[0] * p[0][k] + w[1] * p[1][k] + w[2] * p[2][k] + w[3] * p[3][k])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_everything_to_itself() {
        let mut rng = crate::random::Xorshift::new(0x9e37_79b9_7f4a_7c15);
        for (cols, rows) in [(2, 2), (3, 3), (4, 7), (17, 17), (17, 2)] {
            for linear in [false, true] {
                let mesh = Mesh::identity(cols, rows, linear).expect("sides in range");
                assert!(mesh.is_identity());
                for _ in 0..500 {
                    let (s, t) = (rng.unit(), rng.unit());
                    let [x, y] = mesh.eval(s, t);
                    assert!(
                        (x - s).abs() <= 1e-12 && (y - t).abs() <= 1e-12,
                        "{cols}x{rows} linear={linear}: ({s}, {t}) went to ({x}, {y})"
                    );
                }
                assert_eq!(mesh.eval(1.0, 1.0), [1.0, 1.0]);
                assert_eq!(mesh.eval(0.0, 0.0), [0.0, 0.0]);
            }
        }
    }

    #[test]
    fn clamps_outside_the_square() {
        let mesh = Mesh::identity(3, 3, false).expect("3x3");
        assert_eq!(mesh.eval(-0.5, 2.0), [0.0, 1.0]);
        assert_eq!(mesh.eval(f64::NEG_INFINITY, f64::INFINITY), [0.0, 1.0]);
        let [x, y] = mesh.eval(f64::NAN, 0.5);
        assert!(x.is_nan() && y.is_nan());
    }

    #[test]
    fn passes_through_a_moved_point_exactly() {
        for linear in [false, true] {
            let mut mesh = Mesh::identity(5, 4, linear).expect("5x4");
            mesh.set_point(2, 1, [0.61, 0.29]).expect("in range");
            assert!(!mesh.is_identity());
            for r in 0..4 {
                for c in 0..5 {
                    let (s, t) = (c as f64 / 4.0, r as f64 / 3.0);
                    let want = mesh.point(c, r).expect("in range");
                    assert_eq!(mesh.eval(s, t), want, "({c}, {r}) linear={linear}");
                }
            }
        }
    }

    #[test]
    fn a_moved_point_bends_only_nearby_when_linear() {
        let mut mesh = Mesh::identity(5, 5, true).expect("5x5");
        mesh.set_point(2, 2, [0.55, 0.45]).expect("in range");
        let near = mesh.eval(0.45, 0.55);
        assert!((near[0] - 0.45).abs() > 1e-3 || (near[1] - 0.55).abs() > 1e-3);
        // Bilinear cells touching (2, 2) span 0.25..0.75; outside them nothing moves.
        let mut rng = crate::random::Xorshift::new(42);
        for _ in 0..200 {
            let (s, t) = (rng.unit() * 0.25, rng.unit());
            let [x, y] = mesh.eval(s, t);
            assert!((x - s).abs() <= 1e-12 && (y - t).abs() <= 1e-12);
        }
        for r in 0..5 {
            for c in 0..5 {
                if (c, r) != (2, 2) {
                    let g = [c as f64 / 4.0, r as f64 / 4.0];
                    assert_eq!(mesh.eval(g[0], g[1]), g);
                }
            }
        }
    }

    #[test]
    fn refuses_bad_meshes_with_plain_messages() {
        let e = Mesh::identity(1, 3, false).expect_err("1 column");
        assert_eq!(e.to_string(), "a mesh has 2 to 17 columns, not 1");
        assert_eq!(Mesh::identity(3, 18, false), Err(MeshError::Rows(18)));
        let e = Mesh::new(3, 3, vec![[0.0, 0.0]; 8], false).expect_err("8 points");
        assert_eq!(
            e.to_string(),
            "the mesh is 3x3, so it needs 9 points, not 8"
        );
        let mut points = Mesh::identity(3, 3, false).expect("3x3").points().to_vec();
        points[5] = [f64::NAN, 0.5];
        let e = Mesh::new(3, 3, points, false).expect_err("NaN");
        assert_eq!(e, MeshError::NotFinite { col: 2, row: 1 });
        assert!(e.to_string().contains("not a finite number"));

        let mut mesh = Mesh::identity(3, 3, false).expect("3x3");
        let e = mesh.set_point(1, 2, [0.0, f64::INFINITY]).expect_err("inf");
        assert_eq!(e, MeshError::NotFinite { col: 1, row: 2 });
        let e = mesh.set_point(1, 3, [0.5, 0.5]).expect_err("outside");
        assert_eq!(e.to_string(), "mesh point 2,4 is outside the 3x3 mesh");
        assert!(mesh.is_identity(), "a refused edit changes nothing");
        assert_eq!(mesh.point(3, 0), None);
        assert_eq!(mesh.point(2, 2), Some([1.0, 1.0]));
    }
}
