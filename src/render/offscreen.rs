//! Rendering without a window: into an offscreen texture, read back as an image. These are
//! stills, so unlike a playing show's frames they wait for their photos.

use super::{Gpu, OutputTarget, Renderer, output_texture};
use crate::control::{Scene, Stage};
use image::RgbaImage;

/// The format offscreen frames are drawn in; its bytes are PNG's RGBA (sRGB) as they are.
pub const HEADLESS_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

#[derive(Debug, thiserror::Error)]
pub enum ReadbackError {
    #[error("reading the frame back from the GPU failed: {0}")]
    Map(#[from] wgpu::BufferAsyncError),
    #[error("waiting for the GPU failed: {0}")]
    Poll(#[from] wgpu::PollError),
    #[error("cannot read the frame's buffer: {0}")]
    Range(wgpu::MapRangeError),
    #[error("the GPU never answered the frame read-back")]
    NoAnswer,
}

/// Renders the canvas of `scene` at `size` (no warp, masks or blends) and returns its pixels.
pub fn render_image(
    gpu: &Gpu,
    renderer: &mut Renderer,
    scene: &Scene,
    size: (u32, u32),
) -> Result<RgbaImage, ReadbackError> {
    let texture = readable_target(gpu, renderer, size);
    renderer.still(|r| r.render_canvas(gpu, scene, &texture));
    read_back(gpu, &texture, size)
}

/// Renders what output `index` of `stage` shows, at `size`, and returns its pixels.
pub fn render_output_image(
    gpu: &Gpu,
    renderer: &mut Renderer,
    scene: &Scene,
    stage: &Stage,
    index: usize,
    size: (u32, u32),
) -> Result<RgbaImage, ReadbackError> {
    let texture = readable_target(gpu, renderer, size);
    let targets = [OutputTarget {
        output: index,
        texture: &texture,
        monitor: "offscreen",
    }];
    renderer.still(|r| r.render(gpu, scene, stage, &targets));
    read_back(gpu, &texture, size)
}

fn readable_target(gpu: &Gpu, renderer: &Renderer, size: (u32, u32)) -> wgpu::Texture {
    output_texture(
        gpu,
        "offscreen frame",
        size,
        renderer.format(),
        wgpu::TextureUsages::COPY_SRC,
    )
}

fn read_back(
    gpu: &Gpu,
    texture: &wgpu::Texture,
    size: (u32, u32),
) -> Result<RgbaImage, ReadbackError> {
    // Rows in a buffer copy must start on 256-byte boundaries.
    let row = size.0 * 4;
    let padded_row =
        row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: padded_row as u64 * size.1 as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(size.1),
            },
        },
        texture.size(),
    );
    gpu.queue.submit([encoder.finish()]);
    let slice = buffer.slice(..);
    let (sender, receiver) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = sender.send(r);
    });
    gpu.device.poll(wgpu::PollType::wait_indefinitely())?;
    receiver.recv().map_err(|_| ReadbackError::NoAnswer)??;
    let data = slice.get_mapped_range().map_err(ReadbackError::Range)?;
    let mut pixels = Vec::with_capacity((row * size.1) as usize);
    for chunk in data.chunks(padded_row as usize) {
        pixels.extend_from_slice(&chunk[..row as usize]);
    }
    drop(data);
    buffer.unmap();
    RgbaImage::from_raw(size.0, size.1, pixels).ok_or(ReadbackError::NoAnswer)
}
