//! The stage: the projectors as they are now. Each output's corner pin and mesh as the
//! technician has adjusted them (with undo), the test patterns they align with, and the
//! alignment mode's selection. Pure, like the engine: edits come in as commands, and the
//! calibration file is written by someone else from [`Stage::calibration`].

use crate::calibration::{Calibration, MeshCalibration, OutputCalibration};
use crate::geometry::{Homography, Mesh, Point, check_quad};
use crate::show::{Output, Show, Size};
use serde::Serialize;

/// Edits each output remembers for undo; older ones are forgotten.
pub const UNDO_DEPTH: usize = 200;

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

/// One change to an output's warp.
#[derive(Debug, Clone, PartialEq)]
pub enum WarpEdit {
    /// Corner 0..4 to this place in normalized output coordinates.
    Corner {
        corner: usize,
        to: Point,
    },
    /// Mesh point (0-based) to this place in normalized output coordinates.
    Point {
        col: usize,
        row: usize,
        to: Point,
    },
    /// Back to the show file's corners and mesh.
    Reset,
    Undo,
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
    #[error("output {0:?}: nothing to undo")]
    NothingToUndo(String),
    #[error("alignment mode is off (key A turns it on)")]
    NotAligning,
}

/// What the wall shows of alignment mode: the selected handle, where it is now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlignmentView {
    pub output: String,
    pub handle: Handle,
    /// Where the handle is, in normalized output coordinates.
    pub at: Point,
}

#[derive(Debug, Clone, PartialEq)]
struct Warp {
    corners: [Point; 4],
    mesh: Mesh,
}

#[derive(Debug, Clone)]
struct Live {
    output: Output,
    undo: Vec<Warp>,
}

impl Live {
    fn warp(&self) -> Warp {
        Warp {
            corners: self.output.corners,
            mesh: self.output.mesh.clone(),
        }
    }

    fn set(&mut self, warp: Warp) {
        self.output.corners = warp.corners;
        self.output.mesh = warp.mesh;
    }

    fn homography(&self) -> Homography {
        Homography::from_unit_square(&self.output.corners)
            .unwrap_or_else(|_| Homography::identity())
    }

    /// Where a handle is now, in normalized output coordinates.
    fn handle_at(&self, handle: Handle) -> Option<Point> {
        match handle {
            Handle::Corner(i) => self.output.corners.get(i).copied(),
            Handle::Point { col, row } => {
                let p = self.output.mesh.point(col, row)?;
                Some(self.homography().apply(p))
            }
        }
    }

    /// The handles in the order Tab visits them: corners, then mesh points row by row when
    /// the mesh has more than its corners.
    fn handles(&self) -> Vec<Handle> {
        let mut handles: Vec<Handle> = (0..4).map(Handle::Corner).collect();
        let mesh = &self.output.mesh;
        if mesh.cols() > 2 || mesh.rows() > 2 {
            for row in 0..mesh.rows() {
                for col in 0..mesh.cols() {
                    handles.push(Handle::Point { col, row });
                }
            }
        }
        handles
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Selection {
    output: usize,
    handle: Handle,
}

/// Every output's live geometry, and the canvas it shows.
#[derive(Debug, Clone)]
pub struct Stage {
    canvas: Size,
    outputs: Vec<Live>,
    /// The show file's geometry, for reset.
    original: Vec<Output>,
    masks: Vec<crate::geometry::Mask>,
    aligning: Option<Selection>,
    /// Counts changes to corners and meshes, so a keeper can tell when to save.
    revision: u64,
}

impl Stage {
    pub fn new(show: &Show) -> Stage {
        Stage {
            canvas: show.size,
            outputs: show
                .outputs
                .iter()
                .map(|o| Live {
                    output: o.clone(),
                    undo: Vec::new(),
                })
                .collect(),
            original: show.outputs.clone(),
            masks: show.masks.clone(),
            aligning: None,
            revision: 0,
        }
    }

    pub fn canvas(&self) -> Size {
        self.canvas
    }

    pub fn masks(&self) -> &[crate::geometry::Mask] {
        &self.masks
    }

    /// The outputs with their geometry as it is now.
    pub fn outputs(&self) -> impl Iterator<Item = &Output> {
        self.outputs.iter().map(|l| &l.output)
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn find(&self, name: &str) -> Result<usize, StageError> {
        self.outputs
            .iter()
            .position(|l| l.output.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self
                    .outputs
                    .iter()
                    .map(|l| l.output.name.as_str())
                    .collect();
                StageError::UnknownOutput(name.into(), names.join(", "))
            })
    }

    pub fn edit(&mut self, output: &str, edit: WarpEdit) -> Result<(), StageError> {
        let i = self.find(output)?;
        self.edit_at(i, edit)
    }

    fn edit_at(&mut self, i: usize, edit: WarpEdit) -> Result<(), StageError> {
        let original = &self.original[i];
        let live = &mut self.outputs[i];
        let name = live.output.name.clone();
        let refused = |e: &dyn std::fmt::Display| StageError::Refused(name.clone(), e.to_string());
        let mut warp = live.warp();
        match edit {
            WarpEdit::Corner { corner, to } => {
                let slot = warp
                    .corners
                    .get_mut(corner)
                    .ok_or(StageError::NoCorner(corner + 1))?;
                *slot = to;
                check_quad(&warp.corners).map_err(|e| refused(&e))?;
            }
            WarpEdit::Point { col, row, to } => {
                let (cols, rows) = (warp.mesh.cols(), warp.mesh.rows());
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
                let inverse = live
                    .homography()
                    .inverse()
                    .ok_or_else(|| refused(&"the corner pin cannot be inverted"))?;
                let p = inverse.apply(to);
                warp.mesh.set_point(col, row, p).map_err(|e| refused(&e))?;
            }
            WarpEdit::Reset => {
                warp = Warp {
                    corners: original.corners,
                    mesh: original.mesh.clone(),
                };
            }
            WarpEdit::Undo => {
                let previous = live.undo.pop().ok_or(StageError::NothingToUndo(name))?;
                live.set(previous);
                self.revision += 1;
                return Ok(());
            }
        }
        if warp != live.warp() {
            live.undo.push(live.warp());
            if live.undo.len() > UNDO_DEPTH {
                live.undo.remove(0);
            }
            live.set(warp);
            self.revision += 1;
        }
        Ok(())
    }

    pub fn align(&mut self, step: AlignStep) -> Result<(), StageError> {
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
        let live = &self.outputs[selection.output];
        let handles = live.handles();
        let at = handles
            .iter()
            .position(|h| *h == selection.handle)
            .unwrap_or(0);
        let n = handles.len();
        let mut next = selection;
        match step {
            AlignStep::Toggle => {}
            AlignStep::NextHandle => next.handle = handles[(at + 1) % n],
            AlignStep::PreviousHandle => next.handle = handles[(at + n - 1) % n],
            AlignStep::NextOutput => {
                next.output = (selection.output + 1) % self.outputs.len();
                next.handle = Handle::Corner(0);
            }
            AlignStep::Nudge([dx, dy]) => {
                let Some([x, y]) = live.handle_at(selection.handle) else {
                    return Ok(());
                };
                let to = [x + dx, y + dy];
                let edit = match selection.handle {
                    Handle::Corner(corner) => WarpEdit::Corner { corner, to },
                    Handle::Point { col, row } => WarpEdit::Point { col, row, to },
                };
                return self.edit_at(selection.output, edit);
            }
            AlignStep::Undo => return self.edit_at(selection.output, WarpEdit::Undo),
            AlignStep::Reset => return self.edit_at(selection.output, WarpEdit::Reset),
        }
        self.aligning = Some(next);
        Ok(())
    }

    pub fn aligning(&self) -> bool {
        self.aligning.is_some()
    }

    pub fn alignment_view(&self) -> Option<AlignmentView> {
        let s = self.aligning?;
        let live = self.outputs.get(s.output)?;
        Some(AlignmentView {
            output: live.output.name.clone(),
            handle: s.handle,
            at: live.handle_at(s.handle)?,
        })
    }

    /// The geometry worth keeping across restarts.
    pub fn calibration(&self) -> Calibration {
        Calibration {
            outputs: self
                .outputs
                .iter()
                .map(|l| OutputCalibration {
                    name: l.output.name.clone(),
                    corners: l.output.corners,
                    mesh: Some(MeshCalibration {
                        cols: l.output.mesh.cols(),
                        rows: l.output.mesh.rows(),
                        linear: l.output.mesh.linear(),
                        points: l.output.mesh.points().to_vec(),
                    }),
                })
                .collect(),
        }
    }

    /// Takes a kept calibration's corners and meshes for the outputs it names. Returns what
    /// could not be taken, one line each: outputs the show no longer has, meshes of another
    /// size than the show's.
    pub fn restore(&mut self, calibration: &Calibration) -> Vec<String> {
        let mut skipped = Vec::new();
        for c in &calibration.outputs {
            let Ok(i) = self.find(&c.name) else {
                skipped.push(format!("output {:?} is no longer in the show", c.name));
                continue;
            };
            let live = &mut self.outputs[i];
            if check_quad(&c.corners).is_ok() {
                live.output.corners = c.corners;
            }
            if let Some(m) = &c.mesh {
                let same_size =
                    m.cols == live.output.mesh.cols() && m.rows == live.output.mesh.rows();
                match Mesh::new(m.cols, m.rows, m.points.clone(), m.linear) {
                    Ok(mesh) if same_size => live.output.mesh = mesh,
                    Ok(_) => skipped.push(format!(
                        "output {:?}: the kept mesh is {}x{} but the show's is {}x{}; using the show's",
                        c.name,
                        m.cols,
                        m.rows,
                        live.output.mesh.cols(),
                        live.output.mesh.rows()
                    )),
                    Err(e) => skipped.push(format!("output {:?}: {e}", c.name)),
                }
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
        s.edit("main", good).unwrap();
        let revision = s.revision();
        // Corner 2 dragged below corner 3: the outline crosses itself.
        let crossed = WarpEdit::Corner {
            corner: 1,
            to: [1.0, 1.2],
        };
        let e = s.edit("main", crossed).unwrap_err().to_string();
        assert!(e.contains("last good warp is kept"), "{e}");
        assert_eq!(corners(&s, 0)[1], [1.0, 0.0]);
        assert_eq!(s.revision(), revision, "a refused edit changes nothing");
        let collinear = WarpEdit::Corner {
            corner: 1,
            to: [0.55, 0.55],
        };
        assert!(s.edit("main", collinear).is_err());
        assert!(matches!(
            s.edit("nowhere", WarpEdit::Reset),
            Err(StageError::UnknownOutput(..))
        ));
    }

    #[test]
    fn undo_and_reset_walk_back() {
        let mut s =
            stage("[[outputs]]\nname = \"a\"\ncorners = [[0.1, 0], [1, 0], [1, 1], [0, 1]]\n");
        let from_file = corners(&s, 0);
        for x in [0.2, 0.3] {
            s.edit(
                "a",
                WarpEdit::Corner {
                    corner: 0,
                    to: [x, 0.0],
                },
            )
            .unwrap();
        }
        s.edit("a", WarpEdit::Reset).unwrap();
        assert_eq!(corners(&s, 0), from_file, "reset is the show file's pin");
        s.edit("a", WarpEdit::Undo).unwrap();
        assert_eq!(corners(&s, 0)[0], [0.3, 0.0]);
        s.edit("a", WarpEdit::Undo).unwrap();
        s.edit("a", WarpEdit::Undo).unwrap();
        assert_eq!(corners(&s, 0), from_file);
        assert!(matches!(
            s.edit("a", WarpEdit::Undo),
            Err(StageError::NothingToUndo(_))
        ));
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
        )
        .unwrap();
        s.edit(
            "a",
            WarpEdit::Corner {
                corner: 2,
                to: [0.5, 1.0],
            },
        )
        .unwrap();
        s.align(AlignStep::Toggle).unwrap();
        for _ in 0..8 {
            s.align(AlignStep::NextHandle).unwrap();
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
            s.align(AlignStep::Nudge([0.01, 0.0])),
            Err(StageError::NotAligning)
        );
        s.align(AlignStep::Toggle).unwrap();
        s.align(AlignStep::NextOutput).unwrap();
        s.align(AlignStep::PreviousHandle).unwrap();
        assert_eq!(s.alignment_view().unwrap().handle, Handle::Corner(3));
        s.align(AlignStep::Nudge([0.01, -0.02])).unwrap();
        assert_eq!(corners(&s, 1)[3], [0.01, 0.98]);
        assert_eq!(corners(&s, 0), crate::show::IDENTITY_CORNERS);
        s.align(AlignStep::Undo).unwrap();
        assert_eq!(corners(&s, 1), crate::show::IDENTITY_CORNERS);
        s.align(AlignStep::Toggle).unwrap();
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
        )
        .unwrap();
        s.edit(
            "a",
            WarpEdit::Point {
                col: 0,
                row: 1,
                to: [0.02, 0.5],
            },
        )
        .unwrap();
        let kept = s.calibration();
        let mut fresh = stage("[[outputs]]\nname = \"a\"\n[outputs.mesh]\ncols = 3\nrows = 3\n");
        assert!(fresh.restore(&kept).is_empty());
        assert_eq!(fresh.calibration(), kept);
        // A mesh of another size, and an output the show no longer has, are reported.
        let mut other = stage("[[outputs]]\nname = \"a\"\n[outputs.mesh]\ncols = 4\nrows = 3\n");
        let mut extra = kept.clone();
        extra.outputs.push(OutputCalibration {
            name: "gone".into(),
            corners: crate::show::IDENTITY_CORNERS,
            mesh: None,
        });
        let skipped = other.restore(&extra);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(
            corners(&other, 0),
            kept.outputs[0].corners,
            "the corners still apply"
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
