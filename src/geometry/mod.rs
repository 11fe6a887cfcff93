//! The pure geometry of projection mapping: corner-pin homographies, mesh warps, the soft-edge
//! blend curve and mask rasterizing. No GPU and no files here, so every rule is unit-tested in
//! microseconds.

mod blend;
mod homography;
mod mask;
mod mesh;

pub use blend::{BlendCurve, bourke};
pub use homography::{Homography, WarpError, check_quad};
pub use mask::{MARGIN, Mask, MaskError, coverage, rasterize, signed_distance};
pub use mesh::{Mesh, MeshError};

/// A point in whatever plane the caller works in: `[x, y]`.
pub type Point = [f64; 2];
