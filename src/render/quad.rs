//! Drawing into slide layers besides text: textured, tinted quads (`shaders/quad.wgsl`),
//! for photos and pattern pictures.

use super::layout::Rect;
use super::{Gpu, pipeline, sampler_entry, texture_entry, upload_texture};
use wgpu::util::DeviceExt;

#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Quad {
    rect: [f32; 4],
    uv: [f32; 4],
    color: [f32; 4],
}

impl Quad {
    /// Covers the whole target.
    pub fn full(color: [f32; 4]) -> Quad {
        Quad {
            rect: [-1.0, 1.0, 1.0, -1.0],
            uv: [0.0, 0.0, 1.0, 1.0],
            color,
        }
    }

    /// Covers `rect`, in pixels of a target of `size`.
    pub fn pixels(rect: Rect, size: (u32, u32), color: [f32; 4]) -> Quad {
        let (w, h) = (size.0 as f32, size.1 as f32);
        Quad {
            rect: [
                rect.x / w * 2.0 - 1.0,
                1.0 - rect.y / h * 2.0,
                (rect.x + rect.w) / w * 2.0 - 1.0,
                1.0 - (rect.y + rect.h) / h * 2.0,
            ],
            uv: [0.0, 0.0, 1.0, 1.0],
            color,
        }
    }
}

pub struct QuadPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

impl QuadPipeline {
    pub fn new(gpu: &Gpu, format: wgpu::TextureFormat) -> QuadPipeline {
        let device = &gpu.device;
        let shader = device.create_shader_module(wgpu::include_wgsl!("../../shaders/quad.wgsl"));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("quad"),
            entries: &[texture_entry(0), sampler_entry(1)],
        });
        let pipeline = pipeline(
            gpu,
            "quad",
            &shader,
            &layout,
            wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<Quad>() as u64,
                step_mode: wgpu::VertexStepMode::Instance,
                attributes: &wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x4, 2 => Float32x4],
            },
            format,
            Some(wgpu::BlendState::ALPHA_BLENDING),
            &[],
        );
        // Layers and photos are drawn 1:1 on whole pixels (photos are resized on the CPU), so
        // nearest sampling is exact, and a software GPU composites with it much faster.
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("quad"),
            ..Default::default()
        });
        QuadPipeline {
            pipeline,
            layout,
            sampler,
        }
    }

    /// A bind group that samples `view`.
    pub fn bind(&self, gpu: &Gpu, view: &wgpu::TextureView) -> wgpu::BindGroup {
        bind_view(&gpu.device, &self.layout, &self.sampler, view)
    }

    /// Uploads an sRGB image as a texture and binds it.
    pub fn upload(&self, gpu: &Gpu, image: &image::RgbaImage) -> wgpu::BindGroup {
        let size = (image.width(), image.height());
        let view = upload_texture(gpu, super::LAYER_FORMAT, size, image.as_raw());
        self.bind(gpu, &view)
    }

    /// Draws `quads[i]` sampling `bind_groups[i]`, in order.
    pub fn draw(
        &self,
        gpu: &Gpu,
        pass: &mut wgpu::RenderPass<'_>,
        quads: &[Quad],
        bind_groups: &[&wgpu::BindGroup],
    ) {
        if quads.is_empty() {
            return;
        }
        let instances = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("quads"),
                contents: bytemuck::cast_slice(quads),
                usage: wgpu::BufferUsages::VERTEX,
            });
        pass.set_pipeline(&self.pipeline);
        pass.set_vertex_buffer(0, instances.slice(..));
        for (i, bind_group) in bind_groups.iter().enumerate() {
            pass.set_bind_group(0, *bind_group, &[]);
            pass.draw(0..6, i as u32..i as u32 + 1);
        }
    }
}

fn bind_view(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    sampler: &wgpu::Sampler,
    view: &wgpu::TextureView,
) -> wgpu::BindGroup {
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("quad"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(view),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::Sampler(sampler),
            },
        ],
    })
}
