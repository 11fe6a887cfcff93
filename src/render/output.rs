//! The output pass (`shaders/output.wgsl`): one draw per projector that composites the
//! slide layers and applies warp, crop, blend, black level and masks in the same fragment
//! shader, so geometry costs no extra full-screen pass.
//!
//! The warp is a grid of vertices: each vertex sits where the corner pin (a homography) puts
//! the mesh's point, with the homography's w as the clip-space w, so the GPU's
//! perspective-correct interpolation reproduces the projective map exactly between vertices.
//! An unbent mesh is one quad; a bent one is tessellated finely enough to look smooth.

use super::{Gpu, pipeline, sampler_entry, texture_entry, upload_texture};
use crate::geometry::{Homography, Mask, Mesh, Point, bourke, rasterize};
use crate::show::{Blend, Output, Region};
use std::collections::HashMap;
use wgpu::util::DeviceExt;

/// A bent mesh is cut into quads until straight edges stray less than this many output
/// pixels from the true curve; no finer, since on a software GPU every triangle costs set-up
/// and partly shaded tiles along its edges.
const TOLERANCE_PX: f64 = 1.0;
/// At most this many quads per mesh cell along each side.
const MAX_SUBDIVISIONS: usize = 32;
/// At most this many quads along each side, whatever the mesh.
const MAX_QUADS: usize = 128;

#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Vertex {
    position: [f32; 4],
    uv: [f32; 2],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    region: [f32; 4],
    crop: [f32; 4],
    opacity: [f32; 4],
    /// Black level lift, master level, unused, unused.
    levels: [f32; 4],
    marker: [f32; 4],
    origin_target: [f32; 4],
    canvas: [f32; 4],
}

/// What one output's frame needs besides its geometry.
pub struct FrameParams {
    /// Opacities of the layers bound, bottom first (at most 3).
    pub opacities: Vec<f32>,
    pub master: f32,
    /// Alignment marker: where, in normalized output coordinates.
    pub marker: Option<Point>,
    /// Alignment mode: every handle is drawn.
    pub handles: bool,
}

impl Params {
    pub fn new(
        output: &Output,
        canvas: (u32, u32),
        target: (u32, u32),
        frame: &FrameParams,
    ) -> Params {
        let (cw, ch) = (canvas.0 as f64, canvas.1 as f64);
        let r = &output.region;
        let region = [r.x / cw, r.y / ch, r.width / cw, r.height / ch].map(|v| v as f32);
        let mut opacity = [0.0f32; 4];
        for (slot, o) in opacity.iter_mut().zip(&frame.opacities) {
            *slot = o.clamp(0.0, 1.0);
        }
        let (tw, th) = (target.0 as f32, target.1 as f32);
        let marker = match frame.marker {
            Some([x, y]) => [x as f32 * tw, y as f32 * th, (th / 40.0).max(8.0), 0.0],
            None => [0.0; 4],
        };
        Params {
            region,
            crop: output.crop.map(|v| v as f32),
            opacity,
            levels: [
                output.blend.black_level as f32,
                frame.master.clamp(0.0, 1.0),
                0.0,
                0.0,
            ],
            marker,
            origin_target: [r.x as f32, r.y as f32, tw, th],
            canvas: [
                cw as f32,
                ch as f32,
                (output.mesh.cols() - 1) as f32,
                (output.mesh.rows() - 1) as f32,
            ],
        }
    }
}

/// Which build of the output pass an output needs: the shader's override constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Canvas pixels land 1:1 on output pixels: no warp, no scaling, whole-pixel region.
    exact: bool,
    masked: bool,
    /// A soft edge or black lift: the pass writes code values to a plain target.
    blended: bool,
    /// Layers composited, 0 to 3.
    layers: u8,
    /// The alignment marker is drawn.
    marked: bool,
}

impl Variant {
    /// The variant for `output` drawn at `target` size; a frame sets its layers and marker.
    pub fn of(output: &Output, target: (u32, u32), masked: bool) -> Variant {
        let r = &output.region;
        let b = &output.blend;
        Variant {
            exact: output.corners == crate::show::IDENTITY_CORNERS
                && output.mesh.is_identity()
                && r.width == target.0 as f64
                && r.height == target.1 as f64
                && r.x.fract() == 0.0
                && r.y.fract() == 0.0,
            masked,
            blended: b.widths.iter().any(|w| *w > 0.0) || b.black_level > 0.0,
            layers: 0,
            marked: false,
        }
    }

    /// The same, compositing `layers` layers and drawing the marker or not.
    pub fn with(self, layers: usize, marked: bool) -> Variant {
        Variant {
            layers: layers.min(3) as u8,
            marked,
            ..self
        }
    }

    /// The format this variant writes, given the plain (non-sRGB) output format.
    pub fn format(self, plain: wgpu::TextureFormat) -> wgpu::TextureFormat {
        if self.blended {
            plain
        } else {
            plain.add_srgb_suffix()
        }
    }
}

/// Samples across the region in the blend table: far finer than any overlap needs.
const BLEND_SAMPLES: usize = 4096;

/// The soft edges as a table the shader looks up instead of evaluating the curve per pixel:
/// row 0 across the region (left and right edges), row 1 down it (top and bottom), each
/// texel the multiplier for code values per channel, f^(1/γ), and in alpha 1 where no overlap
/// is (where the black level lift applies). The gamma distributes over the product of the two
/// rows, so multiplying them is exact.
fn blend_table(blend: &Blend, region: &crate::show::Region) -> Vec<u8> {
    let level = |d: f64, width: f64| {
        if width > 0.0 && d < width {
            bourke(d / width, blend.curve.exponent, blend.curve.centre)
        } else {
            1.0
        }
    };
    let [left, top, right, bottom] = blend.widths;
    let mut texels = Vec::with_capacity(BLEND_SAMPLES * 2 * 4);
    for (near, far, span) in [(left, right, region.width), (top, bottom, region.height)] {
        for i in 0..BLEND_SAMPLES {
            let at = (i as f64 + 0.5) / BLEND_SAMPLES as f64 * span;
            let f = level(at, near) * level(span - at, far);
            let byte = |v: f64| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            let g = blend.curve.gamma;
            texels.extend([
                byte(f.powf(1.0 / g[0])),
                byte(f.powf(1.0 / g[1])),
                byte(f.powf(1.0 / g[2])),
                if f >= 1.0 { 255 } else { 0 },
            ]);
        }
    }
    texels
}

/// Quads along each side that draw `mesh` within [`TOLERANCE_PX`] on a target of `size`:
/// a quad's middle must lie where the average of its corners puts it.
fn grid_for(mesh: &Mesh, size: (u32, u32)) -> (usize, usize) {
    if mesh.is_identity() {
        return (1, 1);
    }
    let scale = size.0.max(size.1) as f64;
    let (cells_x, cells_y) = (mesh.cols() - 1, mesh.rows() - 1);
    let mut n = 1;
    while n < MAX_SUBDIVISIONS {
        let (nx, ny) = (cells_x * n, cells_y * n);
        let stray = (0..ny)
            .flat_map(|j| (0..nx).map(move |i| (i, j)))
            .map(|(i, j)| {
                let at = |i: usize, j: usize| mesh.eval(i as f64 / nx as f64, j as f64 / ny as f64);
                let corners = [at(i, j), at(i + 1, j), at(i, j + 1), at(i + 1, j + 1)];
                let mean = [0, 1].map(|k| corners.iter().map(|c| c[k]).sum::<f64>() / 4.0);
                let mid = mesh.eval((i as f64 + 0.5) / nx as f64, (j as f64 + 0.5) / ny as f64);
                (mid[0] - mean[0]).hypot(mid[1] - mean[1]) * scale
            })
            .fold(0.0, f64::max);
        if stray <= TOLERANCE_PX {
            break;
        }
        n *= 2;
    }
    ((cells_x * n).min(MAX_QUADS), (cells_y * n).min(MAX_QUADS))
}

/// The vertices and indices that draw `mesh` pinned by `corners` on a target of `size`.
fn tessellate(corners: &[Point; 4], mesh: &Mesh, size: (u32, u32)) -> (Vec<Vertex>, Vec<u32>) {
    let mut h = Homography::from_unit_square(corners).unwrap_or_else(|_| Homography::identity());
    // w must be positive over the picture, or the GPU clips it away.
    if h.apply_homogeneous([0.5, 0.5])[2] < 0.0 {
        h = Homography(h.0.map(|row| row.map(|v| -v)));
    }
    let (nx, ny) = grid_for(mesh, size);
    let mut vertices = Vec::with_capacity((nx + 1) * (ny + 1));
    for j in 0..=ny {
        for i in 0..=nx {
            let (s, t) = (i as f64 / nx as f64, j as f64 / ny as f64);
            let [x, y, w] = h.apply_homogeneous(mesh.eval(s, t));
            vertices.push(Vertex {
                position: [(2.0 * x - w) as f32, (w - 2.0 * y) as f32, 0.0, w as f32],
                uv: [s as f32, t as f32],
            });
        }
    }
    let mut indices = Vec::with_capacity(nx * ny * 6);
    let at = |i: usize, j: usize| (j * (nx + 1) + i) as u32;
    for j in 0..ny {
        for i in 0..nx {
            indices.extend([
                at(i, j),
                at(i + 1, j),
                at(i, j + 1),
                at(i, j + 1),
                at(i + 1, j),
                at(i + 1, j + 1),
            ]);
        }
    }
    (vertices, indices)
}

/// One output's geometry on the GPU, made again only when its corners or mesh change.
pub struct OutputMesh {
    corners: [Point; 4],
    mesh: Mesh,
    blend: (Blend, Region),
    /// The target's size, which sets how finely a bent mesh is cut.
    size: (u32, u32),
    /// The blend table; a single full-light texel when the output has no soft edge.
    blend_table: wgpu::TextureView,
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    count: u32,
    params: wgpu::Buffer,
}

pub struct OutputPipeline {
    shader: wgpu::ShaderModule,
    /// The plain (non-sRGB) format of the targets.
    format: wgpu::TextureFormat,
    /// One pipeline per variant, built when first needed.
    pipelines: HashMap<Variant, wgpu::RenderPipeline>,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    /// Bound where a layer slot is unused.
    empty: wgpu::TextureView,
    /// Masks rasterized for a canvas, made again when they or the canvas change.
    mask: Option<(Vec<Mask>, (u32, u32), wgpu::TextureView)>,
    /// One full-light pixel: no masks.
    no_mask: wgpu::TextureView,
    /// By output index and whether it is drawn for a preview (see
    /// [`super::OutputTarget::preview`]); [`WHOLE_CANVAS`] for the canvas drawn whole (a
    /// preview, a PNG). Kept apart so that drawing a picture at another size never costs a
    /// projector its geometry, which a bent mesh makes slow to cut again.
    meshes: HashMap<(usize, bool), OutputMesh>,
}

/// The output index of the canvas drawn whole, unwarped, at any size.
pub const WHOLE_CANVAS: usize = usize::MAX;

fn single_pixel(gpu: &Gpu, format: wgpu::TextureFormat, data: &[u8]) -> wgpu::TextureView {
    upload_texture(gpu, format, (1, 1), data)
}

impl OutputPipeline {
    /// For targets of `format`, which must not be an sRGB format: the shader encodes itself.
    pub fn new(gpu: &Gpu, format: wgpu::TextureFormat) -> OutputPipeline {
        let device = &gpu.device;
        let shader = device.create_shader_module(wgpu::include_wgsl!("../../shaders/output.wgsl"));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("output"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1),
                texture_entry(2),
                texture_entry(3),
                texture_entry(4),
                sampler_entry(5),
                texture_entry(6),
            ],
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("output"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        OutputPipeline {
            shader,
            format,
            pipelines: HashMap::new(),
            layout,
            sampler,
            empty: single_pixel(gpu, wgpu::TextureFormat::Rgba8UnormSrgb, &[0, 0, 0, 255]),
            mask: None,
            no_mask: single_pixel(gpu, wgpu::TextureFormat::R8Unorm, &[255]),
            meshes: HashMap::new(),
        }
    }

    /// The masks' texture for this canvas, rasterized when they changed.
    fn mask_view(&mut self, gpu: &Gpu, masks: &[Mask], canvas: (u32, u32)) -> wgpu::TextureView {
        if masks.is_empty() {
            return self.no_mask.clone();
        }
        if let Some((m, size, view)) = &self.mask
            && m.as_slice() == masks
            && *size == canvas
        {
            return view.clone();
        }
        let pixels = rasterize(masks, canvas.0, canvas.1);
        let view = upload_texture(gpu, wgpu::TextureFormat::R8Unorm, canvas, &pixels);
        self.mask = Some((masks.to_vec(), canvas, view.clone()));
        view
    }

    /// Builds the pipelines `variant` needs for every layer count, so the first crossfade
    /// after a cut does not stall on compiling a shader.
    pub fn prepare(&mut self, gpu: &Gpu, variant: Variant) {
        for layers in 0..=3 {
            self.pipeline(gpu, variant.with(layers, variant.marked));
        }
    }

    /// The pipeline for `variant`, built the first time it is needed.
    fn pipeline(&mut self, gpu: &Gpu, variant: Variant) -> &wgpu::RenderPipeline {
        let (shader, layout, format) = (&self.shader, &self.layout, self.format);
        self.pipelines.entry(variant).or_insert_with(|| {
            let constants = [
                ("EXACT", f64::from(u8::from(variant.exact))),
                ("MASKED", f64::from(u8::from(variant.masked))),
                ("BLENDED", f64::from(u8::from(variant.blended))),
                ("LAYERS", f64::from(variant.layers)),
                ("MARKED", f64::from(u8::from(variant.marked))),
            ];
            pipeline(
                gpu,
                "output",
                shader,
                layout,
                wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<Vertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x2],
                },
                variant.format(format),
                None,
                &constants,
            )
        })
    }

    /// Draws output `key.0` into `pass`, from `layers` (bottom first, at most 3), with the
    /// geometry kept for `key` (the index, and whether this is a preview). The pass's target
    /// is of `variant.format(...)`.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        gpu: &Gpu,
        pass: &mut wgpu::RenderPass<'_>,
        variant: Variant,
        key: (usize, bool),
        output: &Output,
        masks: &[Mask],
        canvas: (u32, u32),
        target: (u32, u32),
        layers: &[&wgpu::TextureView],
        frame: &FrameParams,
    ) {
        self.pipeline(gpu, variant);
        let mask = self.mask_view(gpu, masks, canvas);
        let stale = self.meshes.get(&key).is_none_or(|m| {
            m.corners != output.corners
                || m.mesh != output.mesh
                || m.blend != (output.blend, output.region)
                || m.size != target
        });
        if stale {
            let (vertices, indices) = tessellate(&output.corners, &output.mesh, target);
            let mesh = self.upload_mesh(gpu, output, target, &vertices, &indices);
            self.meshes.insert(key, mesh);
        }
        let mesh = &self.meshes[&key];
        let params = Params::new(output, canvas, target, frame);
        gpu.queue
            .write_buffer(&mesh.params, 0, bytemuck::bytes_of(&params));
        let layer = |i: usize| layers.get(i).copied().unwrap_or(&self.empty);
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("output"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: mesh.params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(layer(0)),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(layer(1)),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(layer(2)),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(&mask),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: wgpu::BindingResource::TextureView(&mesh.blend_table),
                },
            ],
        });
        pass.set_pipeline(&self.pipelines[&variant]);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.set_vertex_buffer(0, mesh.vertices.slice(..));
        pass.set_index_buffer(mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
        pass.draw_indexed(0..mesh.count, 0, 0..1);
    }

    fn upload_mesh(
        &self,
        gpu: &Gpu,
        output: &Output,
        target: (u32, u32),
        vertices: &[Vertex],
        indices: &[u32],
    ) -> OutputMesh {
        let buffer = |label, contents: &[u8], usage| {
            gpu.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage,
                })
        };
        let blended = output.blend.widths.iter().any(|w| *w > 0.0);
        let blend_table = if blended {
            let table = blend_table(&output.blend, &output.region);
            let size = (BLEND_SAMPLES as u32, 2);
            upload_texture(gpu, wgpu::TextureFormat::Rgba8Unorm, size, &table)
        } else {
            single_pixel(gpu, wgpu::TextureFormat::Rgba8Unorm, &[255; 4])
        };
        OutputMesh {
            corners: output.corners,
            mesh: output.mesh.clone(),
            blend: (output.blend, output.region),
            size: target,
            blend_table,
            vertices: buffer(
                "output vertices",
                bytemuck::cast_slice(vertices),
                wgpu::BufferUsages::VERTEX,
            ),
            indices: buffer(
                "output indices",
                bytemuck::cast_slice(indices),
                wgpu::BufferUsages::INDEX,
            ),
            count: indices.len() as u32,
            params: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("output params"),
                size: std::mem::size_of::<Params>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbent_mesh_is_one_quad_whose_corners_are_the_pins() {
        let corners = [[0.1, 0.2], [0.9, 0.1], [0.8, 0.9], [0.2, 0.8]];
        let (v, i) = tessellate(
            &corners,
            &Mesh::identity(5, 5, false).unwrap(),
            (1920, 1080),
        );
        assert_eq!((v.len(), i.len()), (4, 6));
        // Vertex order is row by row: top left, top right, bottom left, bottom right.
        for (vertex, corner) in v
            .iter()
            .zip([corners[0], corners[1], corners[3], corners[2]])
        {
            let [x, y, _, w] = vertex.position;
            assert!(w > 0.0);
            let (ox, oy) = ((x / w + 1.0) / 2.0, (1.0 - y / w) / 2.0);
            assert!((ox as f64 - corner[0]).abs() < 1e-5, "{ox} vs {corner:?}");
            assert!((oy as f64 - corner[1]).abs() < 1e-5, "{oy} vs {corner:?}");
        }
    }

    #[test]
    fn a_bent_mesh_is_cut_finer_the_more_it_bends() {
        let bent = |by: f64| {
            let mut mesh = Mesh::identity(3, 3, false).unwrap();
            mesh.set_point(1, 1, [0.5 + by, 0.5]).unwrap();
            mesh
        };
        let (mild, strong) = (
            grid_for(&bent(0.002), (1920, 1080)),
            grid_for(&bent(0.1), (1920, 1080)),
        );
        assert!(mild.0 < strong.0, "{mild:?} vs {strong:?}");
        assert_eq!(mild.0 % 2, 0, "whole cells: {mild:?}");
        let (v, i) = tessellate(&crate::show::IDENTITY_CORNERS, &bent(0.05), (1920, 1080));
        let (nx, ny) = grid_for(&bent(0.05), (1920, 1080));
        assert_eq!(v.len(), (nx + 1) * (ny + 1));
        assert_eq!(i.len(), nx * ny * 6);
        // The middle vertex is where the moved point is.
        let [x, _, _, w] = v[(ny / 2) * (nx + 1) + nx / 2].position;
        assert!(((x / w + 1.0) / 2.0 - 0.55).abs() < 1e-5);
        // Every quad's middle is within the tolerance of the curve, in pixels.
        let mesh = bent(0.05);
        for j in 0..ny {
            for i in 0..nx {
                let c = |i: usize, j: usize| mesh.eval(i as f64 / nx as f64, j as f64 / ny as f64);
                let mid = mesh.eval((i as f64 + 0.5) / nx as f64, (j as f64 + 0.5) / ny as f64);
                let mean_x =
                    (c(i, j)[0] + c(i + 1, j)[0] + c(i, j + 1)[0] + c(i + 1, j + 1)[0]) / 4.0;
                assert!((mid[0] - mean_x).abs() * 1920.0 <= TOLERANCE_PX + 1e-9);
            }
        }
    }
}
