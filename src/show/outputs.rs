//! The show's projectors (`[[outputs]]`) and masks (`[[masks]]`): which part of the canvas
//! each projector shows, how it is pinned and bent onto the facade, where it blends with its
//! neighbour, and what must stay dark. Checked here, with the line of every problem.

use super::model::{BlendFile, GammaFile, MaskFile, MeshFile, MonitorFile, OutputFile};
use super::{Builder, Size};
use crate::geometry::{BlendCurve, Mask, Mesh, Point, check_quad};
use std::collections::HashSet;
use toml::Spanned;

/// The output a show without `[[outputs]]` has.
pub const DEFAULT_OUTPUT: &str = "main";

/// The corner pin that changes nothing: the region's corners on the output's corners.
pub const IDENTITY_CORNERS: [Point; 4] = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];

/// A part of the canvas, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// One projector.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Used in OSC addresses and the calibration file.
    pub name: String,
    /// Where its name is written in the show file, if it is.
    pub at: Option<(usize, usize)>,
    /// Monitor name, part of one, or 1-based number; None: the default choice.
    pub monitor: Option<String>,
    pub region: Region,
    /// Its resolution when drawn offscreen; a window uses its monitor's.
    pub size: Size,
    pub corners: [Point; 4],
    /// Left, top, right, bottom of the lit part, in normalized output coordinates.
    pub crop: [f64; 4],
    pub mesh: Mesh,
    pub blend: Blend,
}

/// A soft edge where this projector overlaps another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blend {
    /// Overlap widths in canvas pixels: left, top, right, bottom.
    pub widths: [f64; 4],
    pub curve: BlendCurve,
    /// Code value (0..1) lifted outside the overlaps.
    pub black_level: f64,
}

impl Blend {
    pub fn none() -> Blend {
        Blend {
            widths: [0.0; 4],
            curve: BlendCurve::default(),
            black_level: 0.0,
        }
    }
}

/// One setting of a [`Blend`], as the show file and the setup view name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlendField {
    Left,
    Top,
    Right,
    Bottom,
    Exponent,
    Centre,
    Gamma,
    BlackLevel,
}

/// Why a blend setting was refused, and what to write instead.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendProblem {
    pub what: String,
    pub hint: &'static str,
}

impl BlendField {
    pub const ALL: [BlendField; 8] = [
        BlendField::Left,
        BlendField::Top,
        BlendField::Right,
        BlendField::Bottom,
        BlendField::Exponent,
        BlendField::Centre,
        BlendField::Gamma,
        BlendField::BlackLevel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BlendField::Left => "left",
            BlendField::Top => "top",
            BlendField::Right => "right",
            BlendField::Bottom => "bottom",
            BlendField::Exponent => "exponent",
            BlendField::Centre => "centre",
            BlendField::Gamma => "gamma",
            BlendField::BlackLevel => "black_level",
        }
    }

    pub fn parse(name: &str) -> Option<BlendField> {
        let name = name.trim().replace('-', "_");
        BlendField::ALL.into_iter().find(|f| {
            f.name().eq_ignore_ascii_case(&name) || (name == "center" && *f == BlendField::Centre)
        })
    }

    /// Sets this field of `blend` to `value` (one number; gamma takes one or three), after
    /// the checks the show file gets, so a value refused there is refused live too. On
    /// error `blend` is unchanged.
    pub fn set(
        self,
        blend: &mut Blend,
        value: &[f64],
        region: &Region,
    ) -> Result<(), BlendProblem> {
        let field = self.name();
        let problem = |what: String, hint| Err(BlendProblem { what, hint });
        let one = || match *value {
            [v] => Ok(v),
            _ => Err(BlendProblem {
                what: format!("blend {field} takes one number, not {}", value.len()),
                hint: "give one number",
            }),
        };
        match self {
            BlendField::Gamma => {
                let gamma = match *value {
                    [g] => [g; 3],
                    [r, g, b] => [r, g, b],
                    _ => {
                        return problem(
                            format!("blend gamma takes 1 or 3 numbers, not {}", value.len()),
                            "give one gamma, or red, green and blue",
                        );
                    }
                };
                if !gamma
                    .iter()
                    .all(|g| g.is_finite() && (0.5..=5.0).contains(g))
                {
                    return problem(
                        format!("blend gamma {gamma:?}"),
                        "use the projector's gamma, about 2.2, from 0.5 to 5",
                    );
                }
                blend.curve.gamma = gamma;
            }
            BlendField::Left | BlendField::Top | BlendField::Right | BlendField::Bottom => {
                let v = one()?;
                let edge = self as usize;
                let span = if edge.is_multiple_of(2) {
                    region.width
                } else {
                    region.height
                };
                if !(v.is_finite() && v >= 0.0 && v <= span / 2.0) {
                    return problem(
                        format!("blend {field} = {v} does not fit its region"),
                        "a blend width is in canvas pixels, from 0 to half the region",
                    );
                }
                blend.widths[edge] = v;
            }
            BlendField::Exponent => {
                let v = one()?;
                if !(v.is_finite() && (0.1..=10.0).contains(&v)) {
                    return problem(format!("blend exponent {v}"), "use 1 to 3");
                }
                blend.curve.exponent = v;
            }
            BlendField::Centre => {
                let v = one()?;
                if !(v.is_finite() && v > 0.0 && v < 1.0) {
                    return problem(
                        format!("blend centre {v}"),
                        "use a level between 0 and 1 (0.5 makes two projectors add up)",
                    );
                }
                blend.curve.centre = v;
            }
            BlendField::BlackLevel => {
                let v = one()?;
                if !(v.is_finite() && (0.0..=0.25).contains(&v)) {
                    return problem(
                        format!("black_level {v}"),
                        "use a small code value from 0 to 0.25, e.g. 0.02",
                    );
                }
                blend.black_level = v;
            }
        }
        Ok(())
    }
}

impl Output {
    /// The output of a show that has none: all of the canvas, unwarped.
    pub fn whole_canvas(size: Size) -> Output {
        Output {
            name: DEFAULT_OUTPUT.into(),
            at: None,
            monitor: None,
            region: Region {
                x: 0.0,
                y: 0.0,
                width: size.width as f64,
                height: size.height as f64,
            },
            size,
            corners: IDENTITY_CORNERS,
            crop: [0.0, 0.0, 1.0, 1.0],
            mesh: Mesh::identity(2, 2, false).expect("2x2 is a valid mesh"),
            blend: Blend::none(),
        }
    }
}

/// An output or mask name fits in an OSC address and a file: letters, digits, `-` and `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

impl Builder<'_> {
    pub(super) fn outputs(&mut self, raw: Vec<OutputFile>, canvas: Size) -> Vec<Output> {
        if raw.is_empty() {
            return vec![Output::whole_canvas(canvas)];
        }
        let mut seen = HashSet::new();
        let mut outputs = Vec::new();
        for o in raw {
            let name = o.name.get_ref().clone();
            if !valid_name(&name) {
                self.problem(
                    &o.name,
                    format!("output name {name:?} cannot be used in OSC addresses"),
                    "use letters, digits, - and _ only, e.g. \"left\" or \"proj-2\"",
                );
                continue;
            }
            if !seen.insert(name.clone()) {
                self.problem(
                    &o.name,
                    format!("duplicate output name {name:?}"),
                    "give each projector its own name",
                );
                continue;
            }
            outputs.push(self.output(o, canvas));
        }
        if outputs.is_empty() {
            outputs.push(Output::whole_canvas(canvas));
        }
        outputs
    }

    fn output(&mut self, o: OutputFile, canvas: Size) -> Output {
        let name = o.name.get_ref().clone();
        let mut out = Output::whole_canvas(canvas);
        out.at = Some(self.at(&o.name));
        out.name = name.clone();
        out.monitor = o.monitor.map(|m| match m.into_inner() {
            MonitorFile::Name(n) => n,
            MonitorFile::Number(n) => n.to_string(),
        });
        if let Some(r) = &o.region {
            let [x, y, w, h] = *r.get_ref();
            let inside = finite(&[x, y, w, h])
                && w >= 1.0
                && h >= 1.0
                && x >= 0.0
                && y >= 0.0
                && x + w <= canvas.width as f64 + 1e-9
                && y + h <= canvas.height as f64 + 1e-9;
            if inside {
                out.region = Region {
                    x,
                    y,
                    width: w,
                    height: h,
                };
            } else {
                let msg = format!(
                    "output {name:?}: region [{x}, {y}, {w}, {h}] is not inside the {canvas} canvas"
                );
                self.problem(
                    r,
                    msg,
                    "write [x, y, width, height] in canvas pixels, within the show's size",
                );
            }
        }
        out.size = Size {
            width: (out.region.width.round() as u32).clamp(16, Size::MAX_SIDE),
            height: (out.region.height.round() as u32).clamp(16, Size::MAX_SIDE),
        };
        if let Some(s) = &o.size {
            match Size::parse(s.get_ref()) {
                Some(size) => out.size = size,
                None => self.problem(
                    s,
                    format!(
                        "output {name:?}: size {:?} is not WIDTHxHEIGHT",
                        s.get_ref()
                    ),
                    "write the projector's resolution, e.g. \"1920x1080\"",
                ),
            }
        }
        if let Some(c) = &o.corners
            && let Some(corners) = self.corners(&name, c)
        {
            out.corners = corners;
        }
        if let Some(c) = &o.crop {
            let [l, t, r, b] = *c.get_ref();
            if finite(&[l, t, r, b])
                && 0.0 <= l
                && l < r
                && r <= 1.0
                && 0.0 <= t
                && t < b
                && b <= 1.0
            {
                out.crop = [l, t, r, b];
            } else {
                self.problem(
                    c,
                    format!(
                        "output {name:?}: crop [{l}, {t}, {r}, {b}] is not a part of the output"
                    ),
                    "write [left, top, right, bottom] from 0 to 1, left < right and top < bottom",
                );
            }
        }
        if let Some(m) = &o.mesh
            && let Some(mesh) = self.mesh(&name, m)
        {
            out.mesh = mesh;
        }
        if let Some(b) = &o.blend {
            out.blend = self.blend(&name, b, &out.region);
        }
        out
    }

    fn corners(&mut self, name: &str, c: &Spanned<Vec<[f64; 2]>>) -> Option<[Point; 4]> {
        let Ok(corners) = <[Point; 4]>::try_from(c.get_ref().as_slice()) else {
            let msg = format!(
                "output {name:?}: a corner pin has 4 corners, not {}",
                c.get_ref().len()
            );
            self.problem(
                c,
                msg,
                "write corners = [[x, y], [x, y], [x, y], [x, y]], clockwise from the top left",
            );
            return None;
        };
        match check_quad(&corners) {
            Ok(()) => Some(corners),
            Err(e) => {
                self.problem(
                    c,
                    format!("output {name:?}: {e}"),
                    "corners are normalized output coordinates, (0, 0) top left and (1, 1) bottom right",
                );
                None
            }
        }
    }

    fn mesh(&mut self, name: &str, m: &Spanned<MeshFile>) -> Option<Mesh> {
        let f = m.get_ref();
        let mesh = match &f.points {
            None => Mesh::identity(f.cols, f.rows, f.linear),
            Some(points) => Mesh::new(f.cols, f.rows, points.clone(), f.linear),
        };
        mesh.map_err(|e| {
            self.problem(
                m,
                format!("output {name:?}: {e}"),
                "give cols and rows from 2 to 17, and cols x rows points row by row (or none)",
            )
        })
        .ok()
    }

    fn blend(&mut self, name: &str, b: &Spanned<BlendFile>, region: &Region) -> Blend {
        let f = b.get_ref();
        let mut blend = Blend::none();
        let gamma = f.gamma.as_ref().map(|g| match g {
            GammaFile::All(g) => vec![*g],
            GammaFile::Each(each) => each.to_vec(),
        });
        let given = [
            (BlendField::Left, f.left.map(|v| vec![v])),
            (BlendField::Top, f.top.map(|v| vec![v])),
            (BlendField::Right, f.right.map(|v| vec![v])),
            (BlendField::Bottom, f.bottom.map(|v| vec![v])),
            (BlendField::Exponent, f.exponent.map(|v| vec![v])),
            (BlendField::Centre, f.centre.map(|v| vec![v])),
            (BlendField::Gamma, gamma),
            (BlendField::BlackLevel, f.black_level.map(|v| vec![v])),
        ];
        for (field, value) in given {
            let Some(value) = value else { continue };
            if let Err(p) = field.set(&mut blend, &value, region) {
                self.problem(b, format!("output {name:?}: {}", p.what), p.hint);
            }
        }
        blend
    }

    pub(super) fn masks(&mut self, raw: Vec<MaskFile>) -> Vec<Mask> {
        let mut masks = Vec::new();
        for m in raw {
            let points = m.points.get_ref();
            if points.len() < 3 {
                self.problem(
                    &m.points,
                    format!("a mask has {} point(s); it needs at least 3", points.len()),
                    "give the polygon's corners in canvas pixels: [[x, y], [x, y], [x, y], ...]",
                );
                continue;
            }
            if !points.iter().all(|p| finite(p)) {
                self.problem(
                    &m.points,
                    "a mask point is not a number".into(),
                    "fix the point",
                );
                continue;
            }
            let feather = match &m.feather {
                Some(f) if !(f.get_ref().is_finite() && *f.get_ref() >= 0.0) => {
                    let msg = format!("mask feather {} is not a width", f.get_ref());
                    self.problem(f, msg, "give the feather in canvas pixels, 0 or more");
                    0.0
                }
                Some(f) => *f.get_ref(),
                None => 0.0,
            };
            masks.push(Mask {
                points: points.clone(),
                feather,
                invert: m.invert,
            });
        }
        masks
    }
}
