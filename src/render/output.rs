//! The output pass (`shaders/output.wgsl`): one draw per projector that composites the
//! slide layers and applies warp, crop, blend, black level and masks in the same fragment
//! shader, so geometry costs no extra full-screen pass.
//!
//! The warp is a grid of vertices: each vertex sits where the corner pin (a homography) puts
//! the mesh's point, with the homography's w as the clip-space w, so the GPU's
//! perspective-correct interpolation reproduces the projective map exactly between vertices.
//! An unbent mesh is one quad; a bent one is tessellated finely enough to look smooth.

use super::{Gpu, pipeline, sampler_entry, texture_entry, upload_texture};
use crate::geometry::{Homography, Mask, Mesh, Point, rasterize};
use crate::show::Output;
use wgpu::util::DeviceExt;

/// Vertices per mesh cell along each side when the mesh is bent.
const SUBDIVISIONS: usize = 16;
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
    blend_width: [f32; 4],
    inv_gamma: [f32; 4],
    curve: [f32; 4],
    marker: [f32; 4],
    origin_target: [f32; 4],
}

/// What one output's frame needs besides its geometry.
pub struct FrameParams {
    /// Opacities of the layers bound, bottom first (at most 3).
    pub opacities: Vec<f32>,
    pub master: f32,
    /// Alignment marker: where, in normalized output coordinates.
    pub marker: Option<Point>,
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
        let b = &output.blend;
        let blend_width = [
            b.widths[0] / r.width,
            b.widths[1] / r.height,
            b.widths[2] / r.width,
            b.widths[3] / r.height,
        ]
        .map(|v| v as f32);
        let g = b.curve.gamma;
        let exact = exact(output, target);
        let mut opacity = [0.0f32; 4];
        for (slot, o) in opacity.iter_mut().zip(&frame.opacities) {
            *slot = o.clamp(0.0, 1.0);
        }
        opacity[3] = frame.opacities.len().min(3) as f32;
        let (tw, th) = (target.0 as f32, target.1 as f32);
        let marker = match frame.marker {
            Some([x, y]) => [x as f32 * tw, y as f32 * th, (th / 40.0).max(8.0), 1.0],
            None => [0.0; 4],
        };
        Params {
            region,
            crop: output.crop.map(|v| v as f32),
            opacity,
            blend_width,
            inv_gamma: [
                (1.0 / g[0]) as f32,
                (1.0 / g[1]) as f32,
                (1.0 / g[2]) as f32,
                b.black_level as f32,
            ],
            curve: [
                b.curve.exponent as f32,
                b.curve.centre as f32,
                frame.master.clamp(0.0, 1.0),
                if exact { 1.0 } else { 0.0 },
            ],
            marker,
            origin_target: [r.x as f32, r.y as f32, tw, th],
        }
    }
}

/// Canvas pixels land 1:1 on output pixels: no warp, no scaling, whole-pixel region.
fn exact(output: &Output, target: (u32, u32)) -> bool {
    let r = &output.region;
    output.corners == crate::show::IDENTITY_CORNERS
        && output.mesh.is_identity()
        && r.width == target.0 as f64
        && r.height == target.1 as f64
        && r.x.fract() == 0.0
        && r.y.fract() == 0.0
}

/// The vertices and indices that draw `mesh` pinned by `corners`.
fn tessellate(corners: &[Point; 4], mesh: &Mesh) -> (Vec<Vertex>, Vec<u32>) {
    let mut h = Homography::from_unit_square(corners).unwrap_or_else(|_| Homography::identity());
    // w must be positive over the picture, or the GPU clips it away.
    if h.apply_homogeneous([0.5, 0.5])[2] < 0.0 {
        h = Homography(h.0.map(|row| row.map(|v| -v)));
    }
    let (nx, ny) = if mesh.is_identity() {
        (1, 1)
    } else {
        (
            ((mesh.cols() - 1) * SUBDIVISIONS).min(MAX_QUADS),
            ((mesh.rows() - 1) * SUBDIVISIONS).min(MAX_QUADS),
        )
    };
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
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    count: u32,
    params: wgpu::Buffer,
}

pub struct OutputPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    /// Bound where a layer slot is unused.
    empty: wgpu::TextureView,
    /// Masks rasterized for a canvas, made again when they or the canvas change.
    mask: Option<(Vec<Mask>, (u32, u32), wgpu::TextureView)>,
    /// One full-light pixel: no masks.
    no_mask: wgpu::TextureView,
    meshes: Vec<OutputMesh>,
}

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
            ],
        });
        let pipeline = pipeline(
            gpu,
            "output",
            &shader,
            &layout,
            wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<Vertex>() as u64,
                step_mode: wgpu::VertexStepMode::Vertex,
                attributes: &wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x2],
            },
            format,
            None,
        );
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("output"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        OutputPipeline {
            pipeline,
            layout,
            sampler,
            empty: single_pixel(gpu, wgpu::TextureFormat::Rgba8UnormSrgb, &[0, 0, 0, 255]),
            mask: None,
            no_mask: single_pixel(gpu, wgpu::TextureFormat::R8Unorm, &[255]),
            meshes: Vec::new(),
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

    /// Draws output `index` into `pass`, from `layers` (bottom first, at most 3).
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        gpu: &Gpu,
        pass: &mut wgpu::RenderPass<'_>,
        index: usize,
        output: &Output,
        masks: &[Mask],
        canvas: (u32, u32),
        target: (u32, u32),
        layers: &[&wgpu::TextureView],
        frame: &FrameParams,
    ) {
        let mask = self.mask_view(gpu, masks, canvas);
        while self.meshes.len() <= index {
            let (vertices, indices) = tessellate(&output.corners, &output.mesh);
            let mesh = self.upload_mesh(gpu, output, &vertices, &indices);
            self.meshes.push(mesh);
        }
        let stale = {
            let m = &self.meshes[index];
            m.corners != output.corners || m.mesh != output.mesh
        };
        if stale {
            let (vertices, indices) = tessellate(&output.corners, &output.mesh);
            self.meshes[index] = self.upload_mesh(gpu, output, &vertices, &indices);
        }
        let mesh = &self.meshes[index];
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
            ],
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.set_vertex_buffer(0, mesh.vertices.slice(..));
        pass.set_index_buffer(mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
        pass.draw_indexed(0..mesh.count, 0, 0..1);
    }

    fn upload_mesh(
        &self,
        gpu: &Gpu,
        output: &Output,
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
        OutputMesh {
            corners: output.corners,
            mesh: output.mesh.clone(),
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
        let (v, i) = tessellate(&corners, &Mesh::identity(2, 2, false).unwrap());
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
    fn a_bent_mesh_is_tessellated() {
        let mut mesh = Mesh::identity(3, 3, false).unwrap();
        mesh.set_point(1, 1, [0.55, 0.5]).unwrap();
        let (v, i) = tessellate(&crate::show::IDENTITY_CORNERS, &mesh);
        assert_eq!(v.len(), 33 * 33);
        assert_eq!(i.len(), 32 * 32 * 6);
        // The middle vertex is where the moved point is.
        let [x, _, _, w] = v[16 * 33 + 16].position;
        assert!(((x / w + 1.0) / 2.0 - 0.55).abs() < 1e-5);
    }
}
