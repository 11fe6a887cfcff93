//! The stage: the projectors as they are now. Each output's corner pin, mesh and blend as
//! the technician has adjusted them, the masks drawn on site beside the show file's, undo and
//! redo across all of it, the test patterns they align with, and the alignment mode's
//! selection. Pure, like the engine: edits come in as commands with the time they happen,
//! and the calibration file is written by someone else from [`Stage::calibration`].

use super::history::History;
use crate::calibration::{
    BlendCalibration, Calibration, MaskCalibration, MeshCalibration, OutputCalibration,
};
use crate::geometry::{Homography, Mask, Mesh, Point, check_quad};
use crate::show::{Blend, BlendField, Output, Show, Size};
use serde::Serialize;
use std::time::Duration;

/// Masks the setup view may draw, and points each may have: bounded whatever a sender does.
pub const MAX_MASKS: usize = 64;
pub const MAX_MASK_POINTS: usize = 64;
/// Mask points further than this from the canvas (in canvas pixels) are refused as typos.
const MASK_REACH: f64 = 100_000.0;

/// An alignment pattern, drawn over the whole canvas in place of the slides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// A grid with canvas coordinates written on it.
    Grid,
    /// A crosshair with circles: any non-uniform scale shows as an ellipse.
    Circles,
    /// Colour bars.
    Bars,
    /// A grey ramp, for blends and black level.
    Ramp,
    /// Full white, to find the picture's edges on the facade.
    White,
    /// Each output's name, monitor and resolution, written large on it.
    Outputs,
}

impl Pattern {
    pub const ALL: [Pattern; 6] = [
        Pattern::Grid,
        Pattern::Circles,
        Pattern::Bars,
        Pattern::Ramp,
        Pattern::White,
        Pattern::Outputs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::Grid => "grid",
            Pattern::Circles => "circles",
            Pattern::Bars => "bars",
            Pattern::Ramp => "ramp",
            Pattern::White => "white",
            Pattern::Outputs => "outputs",
        }
    }

    pub fn parse(name: &str) -> Option<Pattern> {
        Pattern::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The pattern after `current` as key T cycles them: off, each pattern, off again.
    pub fn after(current: Option<Pattern>) -> Option<Pattern> {
        match current {
            None => Some(Pattern::ALL[0]),
            Some(p) => {
                let i = Pattern::ALL.iter().position(|q| *q == p).unwrap_or(0);
                Pattern::ALL.get(i + 1).copied()
            }
        }
    }
}

/// What a technician can grab: a corner (0..4, clockwise from the top left) or a mesh point
/// (0-based column and row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handle {
    Corner(usize),
    Point { col: usize, row: usize },
}

/// One change to an output: its corner pin, mesh or blend.
#[derive(Debug, Clone, PartialEq)]
pub enum WarpEdit {
    /// Corner 0..4 to this place in normalized output coordinates.
    Corner { corner: usize, to: Point },
    /// Mesh point (0-based) to this place in normalized output coordinates.
    Point { col: usize, row: usize, to: Point },
    /// The mesh on a grid of this many points, its shape carried over.
    Mesh { cols: usize, rows: usize },
    /// One blend setting: a width in canvas pixels, the curve, gamma or black level.
    Blend { field: BlendField, value: Vec<f64> },
    /// Back to the show file's corners, mesh and blend.
    Reset,
    /// Undoes the last edit, whichever it was (the same as [`SetupStep::Undo`]).
    Undo,
}

/// One change to a mask drawn in the setup view, by its id; points are 0-based here and in
/// canvas pixels.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskEdit {
    /// Makes the mask with this outline, or gives it a new one.
    Points(Vec<Point>),
    Move {
        index: usize,
        to: Point,
    },
    /// A new point, which becomes point `index`.
    Insert {
        index: usize,
        at: Point,
    },
    Remove {
        index: usize,
    },
    /// The whole mask.
    Delete,
    Feather(f64),
    Invert(bool),
}

/// Whole-setup steps: history, and the ways back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupStep {
    Undo,
    Redo,
    /// Back to the calibration this run started with.
    Revert,
    /// Every output and mask back to the show file.
    Reset,
}

/// The technician's alignment keys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlignStep {
    Toggle,
    NextHandle,
    PreviousHandle,
    NextOutput,
    /// Moves the selected handle by this much, in normalized output coordinates.
    Nudge(Point),
    /// Selects this handle of output `output` (by its place in the show), turning alignment
    /// on: the mouse took hold of it.
    Grab {
        output: usize,
        handle: Handle,
    },
    Undo,
    Reset,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StageError {
    #[error("no output {0:?}; the show's outputs are {1}")]
    UnknownOutput(String, String),
    #[error("corner {0} does not exist: corners are numbered 1 to 4, clockwise from the top left")]
    NoCorner(usize),
    #[error("output {output:?}: mesh point {col},{row} does not exist; its mesh is {cols}x{rows}")]
    NoPoint {
        output: String,
        col: usize,
        row: usize,
        cols: usize,
        rows: usize,
    },
    #[error("output {0:?}: refused, the last good warp is kept: {1}")]
    Refused(String, String),
    #[error("output {0:?}: {1} ({2})")]
    Blend(String, String, &'static str),
    #[error("nothing to undo")]
    NothingToUndo,
    #[error("nothing to redo")]
    NothingToRedo,
    #[error("alignment mode is off (key A turns it on)")]
    NotAligning,
    #[error("mask {0:?} comes from the show file; change it there")]
    FromShowFile(String),
    #[error("mask id {0:?}: use letters, digits, - and _ only (at most 64), e.g. \"window-3\"")]
    MaskId(String),
    #[error("no mask {0:?}; draw it first")]
    NoMask(String),
    #[error("mask {0:?}: {1}")]
    BadMask(String, String),
    #[error("at most {MAX_MASKS} masks can be drawn; delete one first")]
    TooManyMasks,
}

/// What the wall shows of alignment mode: the selected handle, where it is now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlignmentView {
    pub output: String,
    pub handle: Handle,
    /// Where the handle is, in normalized output coordinates.
    pub at: Point,
}

/// One output's adjustable geometry: what undo, revert and the calibration file hold.
#[derive(Debug, Clone, PartialEq)]
struct Geometry {
    corners: [Point; 4],
    mesh: Mesh,
    blend: Blend,
}

impl Geometry {
    fn of(output: &Output) -> Geometry {
        Geometry {
            corners: output.corners,
            mesh: output.mesh.clone(),
            blend: output.blend,
        }
    }

    fn put(self, output: &mut Output) {
        output.corners = self.corners;
        output.mesh = self.mesh;
        output.blend = self.blend;
    }
}

/// A mask drawn in the setup view, by the id OSC and the page name it by.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnMask {
    pub id: String,
    pub mask: Mask,
}

/// Everything undo can take back: each output's geometry (by name, so a reloaded show with
/// other outputs can still go back), and the drawn masks.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    outputs: Vec<(String, Geometry)>,
    masks: Vec<DrawnMask>,
}

/// What a step moved, so that a drag of it folds into one step.
#[derive(Debug, Clone, PartialEq)]
enum Moved {
    Handle(String, Handle),
    Blend(String, BlendField),
    MaskPoint(String, usize),
    Feather(String),
}

/// The show file's id of its `n`-th mask (0-based): `file-1`, `file-2`...
fn file_mask_id(n: usize) -> String {
    format!("file-{}", n + 1)
}

fn homography(output: &Output) -> Homography {
    Homography::from_unit_square(&output.corners).unwrap_or_else(|_| Homography::identity())
}

/// Where a handle of `output` is now, in normalized output coordinates.
fn handle_at(output: &Output, handle: Handle) -> Option<Point> {
    match handle {
        Handle::Corner(i) => output.corners.get(i).copied(),
        Handle::Point { col, row } => {
            let p = output.mesh.point(col, row)?;
            Some(homography(output).apply(p))
        }
    }
}

/// The handles in the order Tab visits them: corners, then mesh points row by row when the
/// mesh has more than its corners.
fn handles(output: &Output) -> Vec<Handle> {
    let mut handles: Vec<Handle> = (0..4).map(Handle::Corner).collect();
    let mesh = &output.mesh;
    if mesh.cols() > 2 || mesh.rows() > 2 {
        for row in 0..mesh.rows() {
            for col in 0..mesh.cols() {
                handles.push(Handle::Point { col, row });
            }
        }
    }
    handles
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Selection {
    output: usize,
    handle: Handle,
}

/// Every output's live geometry, the masks, and the canvas they apply to.
#[derive(Debug, Clone)]
pub struct Stage {
    canvas: Size,
    outputs: Vec<Output>,
    /// The show file's geometry, for reset.
    original: Vec<Output>,
    file_masks: Vec<Mask>,
    drawn: Vec<DrawnMask>,
    /// The show file's masks, then the drawn ones: what the output pass keeps black.
    masks: Vec<Mask>,
    /// As this run started (the show file, then the kept calibration): what revert gives.
    started: Snapshot,
    history: History<Snapshot, Moved>,
    aligning: Option<Selection>,
    /// Counts changes to the geometry and masks, so a keeper can tell when to save.
    revision: u64,
}

/// A point of a mask outline as given: finite, and near the canvas.
fn mask_point(id: &str, p: Point) -> Result<Point, StageError> {
    if p.iter().all(|v| v.is_finite() && v.abs() <= MASK_REACH) {
        Ok(p)
    } else {
        Err(StageError::BadMask(
            id.into(),
            format!("point {p:?} is not a place on the canvas (canvas pixels)"),
        ))
    }
}

fn point_index(id: &str, index: usize, len: usize) -> Result<usize, StageError> {
    if index < len {
        Ok(index)
    } else {
        Err(StageError::BadMask(
            id.into(),
            format!("point {} does not exist; it has {len}", index + 1),
        ))
    }
}

impl Stage {
    pub fn new(show: &Show) -> Stage {
        let mut stage = Stage {
            canvas: show.size,
            outputs: show.outputs.clone(),
            original: show.outputs.clone(),
            file_masks: show.masks.clone(),
            drawn: Vec::new(),
            masks: Vec::new(),
            started: Snapshot {
                outputs: Vec::new(),
                masks: Vec::new(),
            },
            history: History::default(),
            aligning: None,
            revision: 0,
        };
        stage.masks = stage.file_masks.clone();
        stage.started = stage.snapshot();
        stage
    }

    pub fn canvas(&self) -> Size {
        self.canvas
    }

    /// Every mask to keep black: the show file's, then those drawn on site.
    pub fn masks(&self) -> &[Mask] {
        &self.masks
    }

    /// The outputs with their geometry as it is now.
    pub fn outputs(&self) -> impl Iterator<Item = &Output> {
        self.outputs.iter()
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn find(&self, name: &str) -> Result<usize, StageError> {
        self.outputs
            .iter()
            .position(|o| o.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.outputs.iter().map(|o| o.name.as_str()).collect();
                StageError::UnknownOutput(name.into(), names.join(", "))
            })
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            outputs: self
                .outputs
                .iter()
                .map(|o| (o.name.clone(), Geometry::of(o)))
                .collect(),
            masks: self.drawn.clone(),
        }
    }

    /// Puts `snapshot` on the stage; outputs it does not name stay as they are.
    fn put(&mut self, snapshot: Snapshot) {
        for (name, geometry) in snapshot.outputs {
            if let Some(output) = self.outputs.iter_mut().find(|o| o.name == name) {
                geometry.put(output);
            }
        }
        self.drawn = snapshot.masks;
        self.changed();
    }

    fn changed(&mut self) {
        self.masks = self
            .file_masks
            .iter()
            .cloned()
            .chain(self.drawn.iter().map(|d| d.mask.clone()))
            .collect();
        self.revision += 1;
    }

    /// Takes `after` as the new state when it differs from now, as one step of history.
    fn step(&mut self, after: Snapshot, moved: Option<Moved>, now: Duration) {
        let before = self.snapshot();
        if after != before {
            self.history.record(before, moved, now);
            self.put(after);
        }
    }

    pub fn edit(&mut self, output: &str, edit: WarpEdit, now: Duration) -> Result<(), StageError> {
        let i = self.find(output)?;
        self.edit_at(i, edit, now)
    }

    fn edit_at(&mut self, i: usize, edit: WarpEdit, now: Duration) -> Result<(), StageError> {
        let output = &self.outputs[i];
        let name = output.name.clone();
        let refused = |e: &dyn std::fmt::Display| StageError::Refused(name.clone(), e.to_string());
        let mut geometry = Geometry::of(output);
        let mut moved = None;
        match edit {
            WarpEdit::Corner { corner, to } => {
                let slot = geometry
                    .corners
                    .get_mut(corner)
                    .ok_or(StageError::NoCorner(corner + 1))?;
                *slot = to;
                check_quad(&geometry.corners).map_err(|e| refused(&e))?;
                moved = Some(Moved::Handle(name.clone(), Handle::Corner(corner)));
            }
            WarpEdit::Point { col, row, to } => {
                let (cols, rows) = (geometry.mesh.cols(), geometry.mesh.rows());
                if col >= cols || row >= rows {
                    return Err(StageError::NoPoint {
                        output: name,
                        col: col + 1,
                        row: row + 1,
                        cols,
                        rows,
                    });
                }
                // Kept in the corner pin's own square, so the mesh rides along when the
                // corners are dragged again.
                let inverse = homography(output)
                    .inverse()
                    .ok_or_else(|| refused(&"the corner pin cannot be inverted"))?;
                let p = inverse.apply(to);
                geometry
                    .mesh
                    .set_point(col, row, p)
                    .map_err(|e| refused(&e))?;
                moved = Some(Moved::Handle(name.clone(), Handle::Point { col, row }));
            }
            WarpEdit::Mesh { cols, rows } => {
                geometry.mesh = geometry.mesh.resized(cols, rows).map_err(|e| refused(&e))?;
            }
            WarpEdit::Blend { field, value } => {
                field
                    .set(&mut geometry.blend, &value, &output.region)
                    .map_err(|p| StageError::Blend(name.clone(), p.what, p.hint))?;
                moved = Some(Moved::Blend(name.clone(), field));
            }
            WarpEdit::Reset => geometry = Geometry::of(&self.original[i]),
            WarpEdit::Undo => return self.setup(SetupStep::Undo, now),
        }
        let mut after = self.snapshot();
        after.outputs[i].1 = geometry;
        self.step(after, moved, now);
        Ok(())
    }

    /// Draws, changes or deletes the setup view's mask `id`.
    pub fn edit_mask(&mut self, id: &str, edit: MaskEdit, now: Duration) -> Result<(), StageError> {
        if let Some(n) = (0..self.file_masks.len()).find(|n| file_mask_id(*n) == id) {
            return Err(StageError::FromShowFile(file_mask_id(n)));
        }
        if !crate::show::valid_name(id) || id.starts_with("file-") {
            return Err(StageError::MaskId(id.into()));
        }
        let mut after = self.snapshot();
        let found = after.masks.iter().position(|m| m.id == id);
        let mut moved = None;
        let bad = |why: String| StageError::BadMask(id.into(), why);
        let mask = match (found, &edit) {
            (None, MaskEdit::Points(_)) => {
                if after.masks.len() >= MAX_MASKS {
                    return Err(StageError::TooManyMasks);
                }
                after.masks.push(DrawnMask {
                    id: id.into(),
                    mask: Mask {
                        points: Vec::new(),
                        feather: 0.0,
                        invert: false,
                    },
                });
                &mut after.masks.last_mut().ok_or(StageError::TooManyMasks)?.mask
            }
            (None, _) => return Err(StageError::NoMask(id.into())),
            (Some(n), MaskEdit::Delete) => {
                after.masks.remove(n);
                self.step(after, None, now);
                return Ok(());
            }
            (Some(n), _) => &mut after.masks[n].mask,
        };
        match edit {
            MaskEdit::Points(points) => {
                if !(3..=MAX_MASK_POINTS).contains(&points.len()) {
                    return Err(bad(format!(
                        "a mask has 3 to {MAX_MASK_POINTS} points, not {}",
                        points.len()
                    )));
                }
                mask.points = points
                    .into_iter()
                    .map(|p| mask_point(id, p))
                    .collect::<Result<_, _>>()?;
            }
            MaskEdit::Move { index, to } => {
                let index = point_index(id, index, mask.points.len())?;
                mask.points[index] = mask_point(id, to)?;
                moved = Some(Moved::MaskPoint(id.into(), index));
            }
            MaskEdit::Insert { index, at } => {
                if mask.points.len() >= MAX_MASK_POINTS {
                    return Err(bad(format!("a mask has at most {MAX_MASK_POINTS} points")));
                }
                let index = point_index(id, index, mask.points.len() + 1)?;
                mask.points.insert(index, mask_point(id, at)?);
            }
            MaskEdit::Remove { index } => {
                let index = point_index(id, index, mask.points.len())?;
                if mask.points.len() <= 3 {
                    return Err(bad(
                        "a mask keeps at least 3 points; delete the whole mask instead".into(),
                    ));
                }
                mask.points.remove(index);
            }
            MaskEdit::Feather(px) => {
                if !(px.is_finite() && (0.0..=MASK_REACH).contains(&px)) {
                    return Err(bad(format!(
                        "feather {px} is not a width in canvas pixels, 0 or more"
                    )));
                }
                mask.feather = px;
                moved = Some(Moved::Feather(id.into()));
            }
            MaskEdit::Invert(invert) => mask.invert = invert,
            MaskEdit::Delete => {}
        }
        mask.check().map_err(|e| bad(e.to_string()))?;
        self.step(after, moved, now);
        Ok(())
    }

    /// Undo, redo, revert to this run's start, or reset everything to the show file.
    pub fn setup(&mut self, step: SetupStep, now: Duration) -> Result<(), StageError> {
        match step {
            SetupStep::Undo => {
                let before = self.history.undo(self.snapshot());
                self.put(before.ok_or(StageError::NothingToUndo)?);
            }
            SetupStep::Redo => {
                let after = self.history.redo(self.snapshot());
                self.put(after.ok_or(StageError::NothingToRedo)?);
            }
            SetupStep::Revert => self.step(self.started.clone(), None, now),
            SetupStep::Reset => {
                let after = Snapshot {
                    outputs: self
                        .original
                        .iter()
                        .map(|o| (o.name.clone(), Geometry::of(o)))
                        .collect(),
                    masks: Vec::new(),
                };
                self.step(after, None, now);
            }
        }
        Ok(())
    }

    pub fn align(&mut self, step: AlignStep, now: Duration) -> Result<(), StageError> {
        if let AlignStep::Grab { output, handle } = step {
            // The show may have been reloaded since the press: what was grabbed is gone.
            let o = self.outputs.get(output).ok_or_else(|| {
                let names: Vec<&str> = self.outputs.iter().map(|o| o.name.as_str()).collect();
                StageError::UnknownOutput(format!("number {}", output + 1), names.join(", "))
            })?;
            if !handles(o).contains(&handle) {
                return Err(match handle {
                    Handle::Corner(i) => StageError::NoCorner(i + 1),
                    Handle::Point { col, row } => StageError::NoPoint {
                        output: o.name.clone(),
                        col,
                        row,
                        cols: o.mesh.cols(),
                        rows: o.mesh.rows(),
                    },
                });
            }
            self.aligning = Some(Selection { output, handle });
            return Ok(());
        }
        if step == AlignStep::Toggle {
            self.aligning = match self.aligning {
                Some(_) => None,
                None => Some(Selection {
                    output: 0,
                    handle: Handle::Corner(0),
                }),
            };
            return Ok(());
        }
        let selection = self.aligning.ok_or(StageError::NotAligning)?;
        let output = &self.outputs[selection.output];
        let handles = handles(output);
        let at = handles
            .iter()
            .position(|h| *h == selection.handle)
            .unwrap_or(0);
        let n = handles.len();
        let mut next = selection;
        match step {
            AlignStep::Toggle | AlignStep::Grab { .. } => {}
            AlignStep::NextHandle => next.handle = handles[(at + 1) % n],
            AlignStep::PreviousHandle => next.handle = handles[(at + n - 1) % n],
            AlignStep::NextOutput => {
                next.output = (selection.output + 1) % self.outputs.len();
                next.handle = Handle::Corner(0);
            }
            AlignStep::Nudge([dx, dy]) => {
                let Some([x, y]) = handle_at(output, selection.handle) else {
                    return Ok(());
                };
                let to = [x + dx, y + dy];
                let edit = match selection.handle {
                    Handle::Corner(corner) => WarpEdit::Corner { corner, to },
                    Handle::Point { col, row } => WarpEdit::Point { col, row, to },
                };
                return self.edit_at(selection.output, edit, now);
            }
            AlignStep::Undo => return self.setup(SetupStep::Undo, now),
            AlignStep::Reset => return self.edit_at(selection.output, WarpEdit::Reset, now),
        }
        self.aligning = Some(next);
        Ok(())
    }

    pub fn aligning(&self) -> bool {
        self.aligning.is_some()
    }

    /// The handle of `output` nearest to `at` (normalized output coordinates) and where it
    /// is, if one lies within `radius` pixels of it on a target of `size` pixels.
    pub fn handle_near(
        &self,
        output: &str,
        at: Point,
        size: (u32, u32),
        radius: f64,
    ) -> Option<(Handle, Point)> {
        let output = self.outputs.iter().find(|o| o.name == output)?;
        let (w, h) = (f64::from(size.0), f64::from(size.1));
        let pixels = |p: Point| ((p[0] - at[0]) * w).hypot((p[1] - at[1]) * h);
        handles(output)
            .into_iter()
            .filter_map(|handle| Some((handle, handle_at(output, handle)?)))
            .map(|(handle, p)| (pixels(p), handle, p))
            .filter(|(d, ..)| *d <= radius)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, handle, p)| (handle, p))
    }

    pub fn alignment_view(&self) -> Option<AlignmentView> {
        let s = self.aligning?;
        let output = self.outputs.get(s.output)?;
        Some(AlignmentView {
            output: output.name.clone(),
            handle: s.handle,
            at: handle_at(output, s.handle)?,
        })
    }

    /// The geometry and masks worth keeping across restarts.
    pub fn calibration(&self) -> Calibration {
        Calibration {
            outputs: self
                .outputs
                .iter()
                .map(|o| OutputCalibration {
                    name: o.name.clone(),
                    corners: o.corners,
                    mesh: Some(MeshCalibration {
                        cols: o.mesh.cols(),
                        rows: o.mesh.rows(),
                        linear: o.mesh.linear(),
                        points: o.mesh.points().to_vec(),
                    }),
                    blend: Some(BlendCalibration {
                        widths: o.blend.widths,
                        exponent: o.blend.curve.exponent,
                        centre: o.blend.curve.centre,
                        gamma: o.blend.curve.gamma,
                        black_level: o.blend.black_level,
                    }),
                })
                .collect(),
            masks: self
                .drawn
                .iter()
                .map(|d| MaskCalibration {
                    id: d.id.clone(),
                    points: d.mask.points.clone(),
                    feather: d.mask.feather,
                    invert: d.mask.invert,
                })
                .collect(),
        }
    }

    /// The calibration this run started with, as [`Stage::calibration`] words it.
    pub fn started(&self) -> Calibration {
        let mut stage = self.clone();
        stage.put(self.started.clone());
        stage.calibration()
    }

    /// Takes a kept calibration's corners, meshes, blends and masks, for the outputs it
    /// names; that becomes what revert goes back to. Returns what could not be taken, one
    /// line each: outputs the show no longer has, values out of range, bad masks.
    pub fn restore(&mut self, calibration: &Calibration) -> Vec<String> {
        let mut skipped = Vec::new();
        for c in &calibration.outputs {
            let Ok(i) = self.find(&c.name) else {
                skipped.push(format!("output {:?} is no longer in the show", c.name));
                continue;
            };
            let output = &mut self.outputs[i];
            if check_quad(&c.corners).is_ok() {
                output.corners = c.corners;
            }
            if let Some(m) = &c.mesh {
                match Mesh::new(m.cols, m.rows, m.points.clone(), m.linear) {
                    Ok(mesh) => output.mesh = mesh,
                    Err(e) => skipped.push(format!("output {:?}: {e}", c.name)),
                }
            }
            if let Some(b) = &c.blend {
                match kept_blend(b, &output.region) {
                    Ok(blend) => output.blend = blend,
                    Err(why) => skipped.push(format!(
                        "output {:?}: the kept blend is not used: {why}",
                        c.name
                    )),
                }
            }
        }
        self.drawn.clear();
        for m in &calibration.masks {
            let taken = !self.drawn.iter().any(|d| d.id == m.id)
                && crate::show::valid_name(&m.id)
                && !m.id.starts_with("file-")
                && self.drawn.len() < MAX_MASKS
                && m.points.len() <= MAX_MASK_POINTS
                && m.to_mask().check().is_ok();
            if taken {
                self.drawn.push(DrawnMask {
                    id: m.id.clone(),
                    mask: m.to_mask(),
                });
            } else {
                skipped.push(format!(
                    "mask {:?} is not used: it is not a good mask",
                    m.id
                ));
            }
        }
        self.changed();
        self.started = self.snapshot();
        skipped
    }

    /// Takes a new version of the show file's outputs and masks. Whatever the file changed
    /// for an output (its corners, its mesh, its blend) is taken from the file, since the
    /// edit is the newest word on it; what it left alone keeps the technician's adjustment.
    /// Outputs are added and removed as the file says; the canvas size stays until the next
    /// start. False when nothing changed.
    pub fn replace_show(&mut self, show: &Show) -> bool {
        let mut outputs = Vec::with_capacity(show.outputs.len());
        for new in &show.outputs {
            let mut output = new.clone();
            let before = self.original.iter().find(|o| o.name == new.name);
            let live = self.outputs.iter().find(|o| o.name == new.name);
            if let (Some(before), Some(live)) = (before, live) {
                if before.corners == new.corners {
                    output.corners = live.corners;
                }
                if before.mesh == new.mesh {
                    output.mesh = live.mesh.clone();
                }
                if before.blend == new.blend {
                    output.blend = live.blend;
                }
            }
            outputs.push(output);
        }
        let changed = outputs != self.outputs
            || show.outputs != self.original
            || show.masks != self.file_masks;
        if !changed {
            return false;
        }
        self.outputs = outputs;
        self.original = show.outputs.clone();
        self.file_masks = show.masks.clone();
        if let Some(s) = self.aligning
            && s.output >= self.outputs.len()
        {
            self.aligning = Some(Selection {
                output: 0,
                handle: Handle::Corner(0),
            });
        }
        self.changed();
        true
    }

    /// What the setup view shows and edits.
    pub fn view(&self) -> SetupView {
        let (undo, redo) = self.history.depth();
        let file = self.file_masks.iter().enumerate().map(|(n, m)| MaskView {
            id: file_mask_id(n),
            source: "file",
            points: m.points.clone(),
            feather: m.feather,
            invert: m.invert,
        });
        let drawn = self.drawn.iter().map(|d| MaskView {
            id: d.id.clone(),
            source: "calibration",
            points: d.mask.points.clone(),
            feather: d.mask.feather,
            invert: d.mask.invert,
        });
        SetupView {
            canvas: [self.canvas.width, self.canvas.height],
            outputs: self.outputs.iter().map(OutputView::of).collect(),
            masks: file.chain(drawn).collect(),
            history: HistoryView { undo, redo },
            aligning: self.aligning(),
        }
    }
}

/// A kept blend, checked against the output's region as the show file's would be.
fn kept_blend(b: &BlendCalibration, region: &crate::show::Region) -> Result<Blend, String> {
    let mut blend = Blend::none();
    let [left, top, right, bottom] = b.widths;
    let values = [
        (BlendField::Left, vec![left]),
        (BlendField::Top, vec![top]),
        (BlendField::Right, vec![right]),
        (BlendField::Bottom, vec![bottom]),
        (BlendField::Exponent, vec![b.exponent]),
        (BlendField::Centre, vec![b.centre]),
        (BlendField::Gamma, b.gamma.to_vec()),
        (BlendField::BlackLevel, vec![b.black_level]),
    ];
    for (field, value) in values {
        field.set(&mut blend, &value, region).map_err(|p| p.what)?;
    }
    Ok(blend)
}

/// The setup view's picture of the stage (`/candela/setup`, `GET /api/setup`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupView {
    pub canvas: [u32; 2],
    pub outputs: Vec<OutputView>,
    /// The show file's masks (`source: "file"`, ids `file-1`...), then the drawn ones.
    pub masks: Vec<MaskView>,
    pub history: HistoryView,
    pub aligning: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputView {
    pub name: String,
    /// x, y, width, height in canvas pixels.
    pub region: [f64; 4],
    pub size: [u32; 2],
    pub monitor: Option<String>,
    pub corners: [Point; 4],
    pub crop: [f64; 4],
    pub mesh: MeshView,
    pub blend: BlendView,
}

impl OutputView {
    fn of(o: &Output) -> OutputView {
        let h = homography(o);
        let r = &o.region;
        OutputView {
            name: o.name.clone(),
            region: [r.x, r.y, r.width, r.height],
            size: [o.size.width, o.size.height],
            monitor: o.monitor.clone(),
            corners: o.corners,
            crop: o.crop,
            mesh: MeshView {
                cols: o.mesh.cols(),
                rows: o.mesh.rows(),
                linear: o.mesh.linear(),
                points: o.mesh.points().iter().map(|p| h.apply(*p)).collect(),
            },
            blend: BlendView {
                left: o.blend.widths[0],
                top: o.blend.widths[1],
                right: o.blend.widths[2],
                bottom: o.blend.widths[3],
                exponent: o.blend.curve.exponent,
                centre: o.blend.curve.centre,
                gamma: o.blend.curve.gamma,
                black_level: o.blend.black_level,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshView {
    pub cols: usize,
    pub rows: usize,
    pub linear: bool,
    /// Row by row, in normalized output coordinates (where they land on the output).
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlendView {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub exponent: f64,
    pub centre: f64,
    pub gamma: [f64; 3],
    pub black_level: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaskView {
    pub id: String,
    /// `file`: from the show file, not editable here; `calibration`: drawn on site.
    pub source: &'static str,
    /// In canvas pixels.
    pub points: Vec<Point>,
    pub feather: f64,
    pub invert: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryView {
    pub undo: usize,
    pub redo: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const T: Duration = Duration::ZERO;

    fn stage(extra: &str) -> Stage {
        let src = format!(
            "size = \"640x360\"\n[[slides]]\nid = \"t\"\nkind = \"title\"\ntitle = \"t\"\n{extra}"
        );
        let (show, problems) = Show::parse(Path::new("stage.toml"), &src).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        Stage::new(&show)
    }

    fn corners(s: &Stage, i: usize) -> [Point; 4] {
        s.outputs().nth(i).unwrap().corners
    }

    #[test]
    fn a_crossed_pin_is_refused_and_the_last_good_one_kept() {
        let mut s = stage("");
        let good = WarpEdit::Corner {
            corner: 0,
            to: [0.1, 0.1],
        };
        s.edit("main", good, T).unwrap();
        let revision = s.revision();
        // Corner 2 dragged below corner 3: the outline crosses itself.
        let crossed = WarpEdit::Corner {
            corner: 1,
            to: [1.0, 1.2],
        };
        let e = s.edit("main", crossed, T).unwrap_err().to_string();
        assert!(e.contains("last good warp is kept"), "{e}");
        assert_eq!(corners(&s, 0)[1], [1.0, 0.0]);
        assert_eq!(s.revision(), revision, "a refused edit changes nothing");
        let collinear = WarpEdit::Corner {
            corner: 1,
            to: [0.55, 0.55],
        };
        assert!(s.edit("main", collinear, T).is_err());
        assert!(matches!(
            s.edit("nowhere", WarpEdit::Reset, T),
            Err(StageError::UnknownOutput(..))
        ));
    }

    #[test]
    fn undo_and_reset_walk_back_and_redo_forward() {
        let mut s =
            stage("[[outputs]]\nname = \"a\"\ncorners = [[0.1, 0], [1, 0], [1, 1], [0, 1]]\n");
        let from_file = corners(&s, 0);
        // Two moves of corner 1 seconds apart are two steps.
        for (k, x) in [0.2, 0.3].into_iter().enumerate() {
            let to = [x, 0.0];
            let at = Duration::from_secs(5 * k as u64);
            s.edit("a", WarpEdit::Corner { corner: 0, to }, at).unwrap();
        }
        let later = Duration::from_secs(20);
        s.edit("a", WarpEdit::Reset, later).unwrap();
        assert_eq!(corners(&s, 0), from_file, "reset is the show file's pin");
        s.edit("a", WarpEdit::Undo, later).unwrap();
        assert_eq!(corners(&s, 0)[0], [0.3, 0.0]);
        s.edit("a", WarpEdit::Undo, later).unwrap();
        assert_eq!(corners(&s, 0)[0], [0.2, 0.0]);
        s.setup(SetupStep::Undo, later).unwrap();
        assert_eq!(corners(&s, 0), from_file);
        assert_eq!(
            s.edit("a", WarpEdit::Undo, later),
            Err(StageError::NothingToUndo)
        );
        s.setup(SetupStep::Redo, later).unwrap();
        s.setup(SetupStep::Redo, later).unwrap();
        assert_eq!(corners(&s, 0)[0], [0.3, 0.0]);
        assert_eq!(s.view().history, HistoryView { undo: 2, redo: 1 });
    }

    #[test]
    fn a_drag_folds_into_one_step() {
        let mut s = stage("");
        for k in 1..=30u64 {
            let to = [0.001 * k as f64, 0.0];
            let at = Duration::from_millis(16 * k);
            s.edit("main", WarpEdit::Corner { corner: 0, to }, at)
                .unwrap();
        }
        assert_eq!(corners(&s, 0)[0], [0.03, 0.0]);
        s.setup(SetupStep::Undo, Duration::from_secs(2)).unwrap();
        assert_eq!(corners(&s, 0), crate::show::IDENTITY_CORNERS);
    }

    #[test]
    fn masks_are_drawn_edited_and_deleted_by_id() {
        let mut s = stage("[[masks]]\npoints = [[0, 0], [10, 0], [10, 10]]\n");
        let square = vec![
            [100.0, 100.0],
            [200.0, 100.0],
            [200.0, 200.0],
            [100.0, 200.0],
        ];
        s.edit_mask("w1", MaskEdit::Points(square), T).unwrap();
        assert_eq!(s.masks().len(), 2, "the file's and the drawn one");
        s.edit_mask(
            "w1",
            MaskEdit::Insert {
                index: 1,
                at: [150.0, 90.0],
            },
            T,
        )
        .unwrap();
        s.edit_mask(
            "w1",
            MaskEdit::Move {
                index: 0,
                to: [95.0, 95.0],
            },
            T,
        )
        .unwrap();
        s.edit_mask("w1", MaskEdit::Remove { index: 4 }, T).unwrap();
        s.edit_mask("w1", MaskEdit::Feather(6.0), T).unwrap();
        s.edit_mask("w1", MaskEdit::Invert(true), T).unwrap();
        let m = &s.masks()[1];
        assert_eq!(
            m.points,
            vec![[95.0, 95.0], [150.0, 90.0], [200.0, 100.0], [200.0, 200.0]]
        );
        assert_eq!((m.feather, m.invert), (6.0, true));
        let view = s.view();
        assert_eq!(view.masks[0].id, "file-1");
        assert_eq!(view.masks[0].source, "file");
        assert_eq!(view.masks[1].source, "calibration");
        // The file's mask, a bad outline, a missing mask, a bad id: refused, nothing changes.
        let revision = s.revision();
        let refused = [
            s.edit_mask("file-1", MaskEdit::Delete, T),
            s.edit_mask("w1", MaskEdit::Points(vec![[0.0, 0.0], [1.0, 1.0]]), T),
            s.edit_mask(
                "w1",
                MaskEdit::Move {
                    index: 9,
                    to: [0.0, 0.0],
                },
                T,
            ),
            s.edit_mask("w1", MaskEdit::Feather(f64::NAN), T),
            s.edit_mask("w2", MaskEdit::Feather(1.0), T),
            s.edit_mask("no/slash", MaskEdit::Delete, T),
        ];
        assert!(refused.iter().all(|r| r.is_err()), "{refused:?}");
        assert!(matches!(refused[0], Err(StageError::FromShowFile(_))));
        assert_eq!(s.revision(), revision);
        let kept = s.calibration();
        assert_eq!(kept.masks[0].id, "w1");
        s.edit_mask("w1", MaskEdit::Delete, T).unwrap();
        assert_eq!(s.masks().len(), 1);
        // A fresh stage restores the drawn mask from the calibration.
        let mut fresh = stage("[[masks]]\npoints = [[0, 0], [10, 0], [10, 10]]\n");
        assert!(fresh.restore(&kept).is_empty());
        assert_eq!(fresh.masks()[1], kept.masks[0].to_mask());
    }

    #[test]
    fn blends_and_mesh_sizes_are_edited_live_and_checked() {
        let mut s = stage("[[outputs]]\nname = \"a\"\nregion = [0, 0, 400, 360]\n");
        let set = |field, value: &[f64]| WarpEdit::Blend {
            field,
            value: value.to_vec(),
        };
        s.edit("a", set(BlendField::Right, &[120.0]), T).unwrap();
        s.edit("a", set(BlendField::Gamma, &[2.0, 2.2, 2.4]), T)
            .unwrap();
        s.edit("a", set(BlendField::BlackLevel, &[0.03]), T)
            .unwrap();
        let e = s
            .edit("a", set(BlendField::Right, &[300.0]), T)
            .unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
        let b = s.outputs().next().unwrap().blend;
        assert_eq!(b.widths, [0.0, 0.0, 120.0, 0.0]);
        assert_eq!(b.curve.gamma, [2.0, 2.2, 2.4]);
        assert_eq!(b.black_level, 0.03);
        // A bent 3x3 mesh grown to 5x5 keeps its bend where the old points were.
        s.edit("a", WarpEdit::Mesh { cols: 3, rows: 3 }, T).unwrap();
        let to = [0.6, 0.5];
        s.edit("a", WarpEdit::Point { col: 1, row: 1, to }, T)
            .unwrap();
        s.edit("a", WarpEdit::Mesh { cols: 5, rows: 5 }, T).unwrap();
        let mesh = &s.outputs().next().unwrap().mesh;
        assert_eq!((mesh.cols(), mesh.rows()), (5, 5));
        let middle = mesh.point(2, 2).unwrap();
        assert!((middle[0] - 0.6).abs() < 1e-9 && (middle[1] - 0.5).abs() < 1e-9);
        assert!(
            s.edit("a", WarpEdit::Mesh { cols: 18, rows: 2 }, T)
                .is_err()
        );
        // Reset takes the blend back too; revert goes back to how the run started.
        s.edit("a", WarpEdit::Reset, T).unwrap();
        assert_eq!(s.outputs().next().unwrap().blend, Blend::none());
        s.setup(SetupStep::Undo, T).unwrap();
        s.setup(SetupStep::Revert, T).unwrap();
        assert_eq!(s.outputs().next().unwrap().mesh.cols(), 2);
        assert_eq!(s.outputs().next().unwrap().blend, Blend::none());
    }

    #[test]
    fn a_reloaded_show_keeps_adjustments_it_did_not_touch() {
        let before = "[[outputs]]\nname = \"a\"\n[[outputs]]\nname = \"b\"\n";
        let mut s = stage(before);
        let to = [0.1, 0.1];
        s.edit("a", WarpEdit::Corner { corner: 0, to }, T).unwrap();
        s.edit("b", WarpEdit::Corner { corner: 0, to }, T).unwrap();
        // The file now pins b itself, adds c and a mask, and drops nothing.
        let after = "[[outputs]]\nname = \"a\"\n[[outputs]]\nname = \"b\"\ncorners = [[0.2, 0], [1, 0], [1, 1], [0, 1]]\n[[outputs]]\nname = \"c\"\n[[masks]]\npoints = [[0, 0], [9, 0], [9, 9]]\n";
        let src = format!(
            "size = \"640x360\"\n[[slides]]\nid = \"t\"\nkind = \"title\"\ntitle = \"t\"\n{after}"
        );
        let (show, problems) = Show::parse(Path::new("stage.toml"), &src).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(s.replace_show(&show));
        assert_eq!(corners(&s, 0)[0], [0.1, 0.1], "a's adjustment stays");
        assert_eq!(
            corners(&s, 1)[0],
            [0.2, 0.0],
            "b's pin is the file's new one"
        );
        assert_eq!(s.outputs().count(), 3);
        assert_eq!(s.masks().len(), 1);
        assert!(
            !s.replace_show(&show),
            "the same show again changes nothing"
        );
        // Removing an output: gone from the stage; undo still works for the others.
        let (show, _) = Show::parse(
            Path::new("stage.toml"),
            &src.replace("[[outputs]]\nname = \"c\"\n", ""),
        )
        .unwrap();
        assert!(s.replace_show(&show));
        assert_eq!(s.outputs().count(), 2);
        s.setup(SetupStep::Undo, T).unwrap();
        assert_eq!(corners(&s, 1)[0], [0.0, 0.0]);
    }

    #[test]
    fn mesh_points_ride_along_when_the_corners_move() {
        let mut s = stage("[[outputs]]\nname = \"a\"\n[outputs.mesh]\ncols = 3\nrows = 3\n");
        // The middle point pulled to (0.6, 0.5) of the output.
        s.edit(
            "a",
            WarpEdit::Point {
                col: 1,
                row: 1,
                to: [0.6, 0.5],
            },
            T,
        )
        .unwrap();
        let p = s.outputs().next().unwrap().mesh.point(1, 1).unwrap();
        assert!((p[0] - 0.6).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12);
        // Now the whole picture is pinned into the left half: the point follows.
        s.edit(
            "a",
            WarpEdit::Corner {
                corner: 1,
                to: [0.5, 0.0],
            },
            T,
        )
        .unwrap();
        s.edit(
            "a",
            WarpEdit::Corner {
                corner: 2,
                to: [0.5, 1.0],
            },
            T,
        )
        .unwrap();
        s.align(AlignStep::Toggle, T).unwrap();
        for _ in 0..8 {
            s.align(AlignStep::NextHandle, T).unwrap();
        }
        let view = s.alignment_view().unwrap();
        assert_eq!(view.handle, Handle::Point { col: 1, row: 1 });
        assert!(
            (view.at[0] - 0.3).abs() < 1e-9 && (view.at[1] - 0.5).abs() < 1e-9,
            "{view:?}"
        );
    }

    #[test]
    fn alignment_nudges_the_selected_handle_and_needs_the_mode() {
        let mut s = stage("[[outputs]]\nname = \"a\"\n[[outputs]]\nname = \"b\"\n");
        assert_eq!(
            s.align(AlignStep::Nudge([0.01, 0.0]), T),
            Err(StageError::NotAligning)
        );
        s.align(AlignStep::Toggle, T).unwrap();
        s.align(AlignStep::NextOutput, T).unwrap();
        s.align(AlignStep::PreviousHandle, T).unwrap();
        assert_eq!(s.alignment_view().unwrap().handle, Handle::Corner(3));
        s.align(AlignStep::Nudge([0.01, -0.02]), T).unwrap();
        assert_eq!(corners(&s, 1)[3], [0.01, 0.98]);
        assert_eq!(corners(&s, 0), crate::show::IDENTITY_CORNERS);
        s.align(AlignStep::Undo, T).unwrap();
        assert_eq!(corners(&s, 1), crate::show::IDENTITY_CORNERS);
        s.align(AlignStep::Toggle, T).unwrap();
        assert!(s.alignment_view().is_none());
    }

    #[test]
    fn a_kept_calibration_is_taken_for_the_outputs_it_names() {
        let mut s = stage("[[outputs]]\nname = \"a\"\n[outputs.mesh]\ncols = 3\nrows = 3\n");
        s.edit(
            "a",
            WarpEdit::Corner {
                corner: 2,
                to: [0.9, 0.95],
            },
            T,
        )
        .unwrap();
        s.edit(
            "a",
            WarpEdit::Point {
                col: 0,
                row: 1,
                to: [0.02, 0.5],
            },
            T,
        )
        .unwrap();
        let kept = s.calibration();
        let mut fresh = stage("[[outputs]]\nname = \"a\"\n[outputs.mesh]\ncols = 3\nrows = 3\n");
        assert!(fresh.restore(&kept).is_empty());
        assert_eq!(fresh.calibration(), kept);
        // A mesh of another size is the technician's (the setup view resizes meshes); an
        // output the show no longer has, and a blend that does not fit, are reported.
        let mut other = stage("[[outputs]]\nname = \"a\"\n[outputs.mesh]\ncols = 4\nrows = 3\n");
        let mut extra = kept.clone();
        extra.outputs.push(OutputCalibration {
            name: "gone".into(),
            corners: crate::show::IDENTITY_CORNERS,
            mesh: None,
            blend: None,
        });
        if let Some(b) = &mut extra.outputs[0].blend {
            b.widths[0] = 1e6;
        }
        let skipped = other.restore(&extra);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(corners(&other, 0), kept.outputs[0].corners);
        assert_eq!(other.outputs().next().unwrap().mesh.cols(), 3);
        assert_eq!(
            other.started(),
            other.calibration(),
            "revert goes back here"
        );
    }

    #[test]
    fn t_cycles_through_every_pattern_then_off() {
        let mut p = None;
        let mut seen = Vec::new();
        for _ in 0..7 {
            p = Pattern::after(p);
            seen.push(p);
        }
        assert_eq!(seen.last(), Some(&None));
        assert_eq!(seen.iter().flatten().count(), Pattern::ALL.len());
        assert_eq!(Pattern::parse("WHITE"), Some(Pattern::White));
    }
}
