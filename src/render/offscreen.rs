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
        preview: false,
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

/// A buffer a texture of `size` can be copied into and mapped, rows padded as copies need.
pub fn readback_buffer(gpu: &Gpu, size: (u32, u32)) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: padded_row(size.0) as u64 * size.1 as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    })
}

/// Bytes per row in a read-back buffer: rows in a buffer copy start on 256-byte boundaries.
pub fn padded_row(width: u32) -> u32 {
    (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// Records copying all of `texture` (4 bytes a pixel) into `buffer` (from [`readback_buffer`]).
pub fn copy_to_buffer(
    encoder: &mut wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    buffer: &wgpu::Buffer,
) {
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row(texture.width())),
                rows_per_image: Some(texture.height()),
            },
        },
        texture.size(),
    );
}

/// All of `texture` (4 bytes a pixel, made with `COPY_SRC`), read back once the GPU is done
/// with it.
pub fn read_texture(gpu: &Gpu, texture: &wgpu::Texture) -> Result<RgbaImage, ReadbackError> {
    read_back(gpu, texture, (texture.width(), texture.height()))
}

fn read_back(
    gpu: &Gpu,
    texture: &wgpu::Texture,
    size: (u32, u32),
) -> Result<RgbaImage, ReadbackError> {
    let row = size.0 * 4;
    let padded_row = padded_row(size.0);
    let buffer = readback_buffer(gpu, size);
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    copy_to_buffer(&mut encoder, texture, &buffer);
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
