//! Drawing a [`Scene`] into any `wgpu::TextureView`: the window's surface texture or an
//! offscreen texture read back to PNG, with the same code.
//!
//! A frame is made in two steps. First each slide (or test pattern) on screen is drawn once,
//! at the canvas's size, into its own texture (a *layer*: background, photo, text) and kept
//! while it is on screen. Then one output pass per projector composites the layers and
//! applies that projector's warp, masks and blend in the same fragment shader
//! (`output.rs`), so a crossfade costs one full-screen draw per projector, not a slide render.

mod gpu;
pub mod layout;
mod offscreen;
mod output;
pub mod pattern;
pub mod photo;
mod quad;

pub use gpu::{Gpu, GpuError};
pub use offscreen::{
    HEADLESS_FORMAT, ReadbackError, copy_to_buffer, padded_row, readback_buffer, render_image,
    render_output_image,
};

use crate::control::{Pattern, Scene, SlideView, Stage};
use crate::geometry::Mask;
use crate::show::{Output, Rgb};
use crate::text::{Fonts, TextStyle};
use glyphon::{
    Cache, Color, Resolution, SwashCache, TextArea, TextAtlas, TextBounds, TextRenderer, Viewport,
};
use layout::{Rect, TextBlock};
use output::{FrameParams, OutputPipeline, Variant};
use pattern::OutputLabel;
use quad::{Quad, QuadPipeline};
use std::collections::HashMap;
use std::path::PathBuf;
use wgpu::util::DeviceExt;

/// Slide layers kept on the GPU: as many as a frame can show, and one spare.
const CACHED_LAYERS: usize = crate::control::MAX_LAYERS + 1;

/// Layers are sRGB, so compositing and filtering happen in linear light.
pub const LAYER_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// What a layer texture holds.
#[derive(Debug, Clone, PartialEq)]
enum LayerKey {
    Slide(Box<SlideView>),
    Pattern(Pattern, Vec<OutputLabel>),
}

struct CachedLayer {
    key: LayerKey,
    size: (u32, u32),
    /// Where the layer is drawn, and what the output pass samples.
    target: wgpu::TextureView,
    last_used: u64,
}

/// A photo uploaded at the size it is shown.
struct Photo {
    bind_group: wgpu::BindGroup,
    /// Where it is drawn, in output pixels.
    rect: Rect,
}

type PhotoKey = (PathBuf, u32, u32, crate::show::Fit);

struct Text {
    swash: SwashCache,
    atlas: TextAtlas,
    renderer: TextRenderer,
    viewport: Viewport,
}

/// One projector's image this frame: where it goes, and what the outputs pattern writes.
pub struct OutputTarget<'a> {
    /// Which of the stage's outputs.
    pub output: usize,
    /// Of [`Renderer::target_format`] for this output, or made by [`output_texture`].
    pub texture: &'a wgpu::Texture,
    /// The monitor it is on, as the technician knows it ("HDMI-1", "offscreen").
    pub monitor: &'a str,
}

pub struct Renderer {
    format: wgpu::TextureFormat,
    quads: QuadPipeline,
    outputs: OutputPipeline,
    fonts: Fonts,
    text: Text,
    layers: Vec<CachedLayer>,
    photos: HashMap<PhotoKey, Photo>,
    /// Photos that failed to load, so the failure is reported once, not every frame.
    broken_photos: HashMap<PathBuf, String>,
    frame: u64,
}

impl Renderer {
    /// A renderer for targets of `format`. The output pass encodes sRGB itself, so an sRGB
    /// format is used through its plain twin: draw into views of [`Renderer::format`].
    pub fn new(gpu: &Gpu, format: wgpu::TextureFormat, fonts: Fonts) -> Renderer {
        let format = format.remove_srgb_suffix();
        let cache = Cache::new(&gpu.device);
        let mut atlas = TextAtlas::new(&gpu.device, &gpu.queue, &cache, LAYER_FORMAT);
        let renderer = TextRenderer::new(
            &mut atlas,
            &gpu.device,
            wgpu::MultisampleState::default(),
            None,
        );
        Renderer {
            format,
            quads: QuadPipeline::new(gpu, LAYER_FORMAT),
            outputs: OutputPipeline::new(gpu, format),
            fonts,
            text: Text {
                swash: SwashCache::new(),
                atlas,
                renderer,
                viewport: Viewport::new(&gpu.device, &cache),
            },
            layers: Vec::new(),
            photos: HashMap::new(),
            broken_photos: HashMap::new(),
            frame: 0,
        }
    }

    /// The plain (non-sRGB) format of this renderer's targets.
    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// The format a window's surface for `output` should have, when it is `size` pixels
    /// and the show has `masked` masks: plain for a blended output, sRGB otherwise.
    pub fn target_format(
        &self,
        output: &Output,
        size: (u32, u32),
        masked: bool,
    ) -> wgpu::TextureFormat {
        Variant::of(output, size, masked).format(self.format)
    }

    /// Photos that could not be shown so far, with why.
    pub fn broken_photos(&self) -> impl Iterator<Item = (&PathBuf, &String)> {
        self.broken_photos.iter()
    }

    /// Draws `scene` for the outputs of `stage` that `targets` name, in one submission.
    pub fn render(&mut self, gpu: &Gpu, scene: &Scene, stage: &Stage, targets: &[OutputTarget]) {
        let canvas = (stage.canvas().width, stage.canvas().height);
        let all: Vec<&Output> = stage.outputs().collect();
        // Only the outputs pattern writes these; no frame of a slide pays for them.
        let labels = || {
            all.iter()
                .enumerate()
                .map(|(i, o)| {
                    let target = targets.iter().find(|t| t.output == i);
                    OutputLabel {
                        name: o.name.clone(),
                        monitor: target.map_or_else(
                            || o.monitor.clone().unwrap_or_else(|| "not shown".into()),
                            |t| t.monitor.to_string(),
                        ),
                        resolution: target.map_or((o.size.width, o.size.height), |t| {
                            (t.texture.width(), t.texture.height())
                        }),
                        region: o.region,
                    }
                })
                .collect()
        };
        let outputs: Vec<(&Output, &OutputTarget)> = targets
            .iter()
            .filter_map(|t| Some((*all.get(t.output)?, t)))
            .collect();
        let encoder = self.frame_for(gpu, scene, canvas, stage.masks(), &outputs, labels);
        gpu.queue.submit([encoder.finish()]);
    }

    /// Draws the canvas itself into `target` (made by [`output_texture`]), at its size: no
    /// warp, no mask, no blend.
    pub fn render_canvas(&mut self, gpu: &Gpu, scene: &Scene, target: &wgpu::Texture) {
        let size = (target.width(), target.height());
        self.render_canvas_scaled(gpu, scene, size, target, None);
    }

    /// Draws the canvas, its layers at `canvas` size as the outputs use them (so their cache
    /// serves both), scaled into `target`: the web remote's small picture of the wall. With
    /// `read_into` (made by [`readback_buffer`]), the picture is copied there in the same
    /// submission, ready to map.
    pub fn render_canvas_scaled(
        &mut self,
        gpu: &Gpu,
        scene: &Scene,
        canvas: (u32, u32),
        target: &wgpu::Texture,
        read_into: Option<&wgpu::Buffer>,
    ) {
        let size = (target.width(), target.height());
        let whole = Output::whole_canvas(crate::show::Size {
            width: canvas.0,
            height: canvas.1,
        });
        let target = OutputTarget {
            output: output::WHOLE_CANVAS,
            texture: target,
            monitor: "canvas",
        };
        let labels = || {
            vec![OutputLabel {
                name: "canvas".into(),
                monitor: "canvas".into(),
                resolution: size,
                region: whole.region,
            }]
        };
        let mut encoder = self.frame_for(gpu, scene, canvas, &[], &[(&whole, &target)], labels);
        if let Some(buffer) = read_into {
            copy_to_buffer(&mut encoder, target.texture, buffer);
        }
        gpu.queue.submit([encoder.finish()]);
    }

    /// Draws one slide straight into `target` (of [`LAYER_FORMAT`]) at its size, past the
    /// layer cache: a thumbnail costs no slide on screen its cached layer.
    pub fn render_slide(&mut self, gpu: &Gpu, view: &SlideView, target: &wgpu::Texture) {
        let size = (target.width(), target.height());
        let view_of_target = target.create_view(&Default::default());
        self.draw_slide(gpu, view, &view_of_target, size);
    }

    fn frame_for(
        &mut self,
        gpu: &Gpu,
        scene: &Scene,
        canvas: (u32, u32),
        masks: &[Mask],
        outputs: &[(&Output, &OutputTarget)],
        labels: impl FnOnce() -> Vec<OutputLabel>,
    ) -> wgpu::CommandEncoder {
        self.frame += 1;
        let mut wanted: Vec<(LayerKey, f32)> = match scene.test_pattern {
            Some(p) => vec![(LayerKey::Pattern(p, labels()), 1.0)],
            None => scene
                .layers
                .iter()
                .filter(|l| l.opacity > 0.0)
                .map(|l| (LayerKey::Slide(Box::new(l.slide.clone())), l.opacity))
                .collect(),
        };
        // The output pass composites at most three; anything beneath is covered anyway.
        let skip = wanted.len().saturating_sub(crate::control::MAX_LAYERS);
        wanted.drain(..skip);
        let mut views = Vec::with_capacity(wanted.len());
        for (key, _) in &wanted {
            let i = self.layer(gpu, key, canvas);
            views.push(self.layers[i].target.clone());
        }
        let view_refs: Vec<&wgpu::TextureView> = views.iter().collect();
        let master = if scene.master.is_nan() {
            1.0
        } else {
            scene.master.clamp(0.0, 1.0)
        };
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        for (output, target) in outputs {
            let frame = FrameParams {
                opacities: wanted.iter().map(|(_, o)| *o).collect(),
                master,
                marker: scene
                    .alignment
                    .as_ref()
                    .filter(|a| a.output == output.name)
                    .map(|a| a.at),
            };
            let size = (target.texture.width(), target.texture.height());
            let variant = Variant::of(output, size, !masks.is_empty());
            self.outputs.prepare(gpu, variant);
            let variant = variant.with(wanted.len(), frame.marker.is_some());
            let view = target.texture.create_view(&wgpu::TextureViewDescriptor {
                format: Some(variant.format(self.format)),
                ..Default::default()
            });
            let mut pass = begin_pass(&mut encoder, &view, wgpu::Color::BLACK);
            self.outputs.draw(
                gpu,
                &mut pass,
                variant,
                target.output,
                output,
                masks,
                canvas,
                size,
                &view_refs,
                &frame,
            );
        }
        self.text.atlas.trim();
        // A scene with more layers than the cache holds grew it; shrink it back.
        while self.layers.len() > CACHED_LAYERS {
            let Some(i) = self.layers.iter().position(|l| l.last_used != self.frame) else {
                break;
            };
            self.layers.swap_remove(i);
        }
        encoder
    }

    /// The index of `key`'s layer texture, drawing it if it is not cached.
    fn layer(&mut self, gpu: &Gpu, key: &LayerKey, size: (u32, u32)) -> usize {
        let frame = self.frame;
        if let Some(i) = self
            .layers
            .iter()
            .position(|l| l.size == size && l.key == *key)
        {
            self.layers[i].last_used = frame;
            return i;
        }
        // The least recently used layer that this frame does not need makes room; its texture
        // is drawn over when the size fits, so a count ticking up allocates nothing per frame.
        let spare = self
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.last_used != frame)
            .min_by_key(|(_, l)| l.last_used)
            .map(|(i, _)| i)
            .filter(|_| self.layers.len() >= CACHED_LAYERS);
        let i = match spare {
            Some(i) if self.layers[i].size == size => i,
            Some(i) => {
                self.layers[i] = new_layer(gpu, key, size);
                i
            }
            None => {
                self.layers.push(new_layer(gpu, key, size));
                self.layers.len() - 1
            }
        };
        let target = self.layers[i].target.clone();
        match key {
            LayerKey::Slide(view) => self.draw_slide(gpu, view, &target, size),
            LayerKey::Pattern(p, outputs) => self.draw_pattern(gpu, *p, outputs, &target, size),
        }
        let layer = &mut self.layers[i];
        layer.key = key.clone();
        layer.last_used = frame;
        i
    }

    /// Loads every slide's photo ahead of time, at the size it will be shown, so the first
    /// cue to a slide does not stall a frame decoding a camera file.
    pub fn preload(&mut self, gpu: &Gpu, views: &[SlideView], size: (u32, u32)) {
        for view in views {
            self.lay_out(gpu, view, size);
        }
    }

    /// The slide's layout, with its photo loaded; laid out without it if it cannot be shown.
    fn lay_out(
        &mut self,
        gpu: &Gpu,
        view: &SlideView,
        size: (u32, u32),
    ) -> (layout::SlideLayout, Option<PhotoKey>) {
        let layout = layout::layout(&mut self.fonts, view, size.0, size.1, true);
        let Some(p) = &layout.photo else {
            return (layout, None);
        };
        let key = (p.path.clone(), p.rect.w as u32, p.rect.h as u32, p.fit);
        if self.ensure_photo(gpu, &key, &view.id, p.rect) {
            (layout, Some(key))
        } else {
            (
                layout::layout(&mut self.fonts, view, size.0, size.1, false),
                None,
            )
        }
    }

    /// Draws one slide (background, photo, text) into `target`.
    fn draw_slide(
        &mut self,
        gpu: &Gpu,
        view: &SlideView,
        target: &wgpu::TextureView,
        size: (u32, u32),
    ) {
        let (layout, photo_key) = self.lay_out(gpu, view, size);
        let photo = photo_key.and_then(|key| self.photos.get(&key));
        let images: Vec<(Quad, &wgpu::BindGroup)> = photo
            .map(|p| (Quad::pixels(p.rect, size, [1.0; 4]), &p.bind_group))
            .into_iter()
            .collect();
        let layer = LayerDraw {
            target,
            size,
            clear: view.background,
            images: &images,
            texts: &layout.texts,
            what: &format!("slide {:?}", view.id),
        };
        layer.draw(gpu, &self.quads, &mut self.text, &mut self.fonts);
    }

    /// Draws an alignment pattern, its picture and its labels, into `target`.
    fn draw_pattern(
        &mut self,
        gpu: &Gpu,
        pattern: Pattern,
        outputs: &[OutputLabel],
        target: &wgpu::TextureView,
        size: (u32, u32),
    ) {
        let picture = self
            .quads
            .upload(gpu, &pattern::image(pattern, size.0, size.1, outputs));
        let texts: Vec<TextBlock> = pattern::labels(pattern, size.0, size.1, outputs)
            .into_iter()
            .map(|label| {
                let style = TextStyle {
                    size: label.size,
                    bold: true,
                    italic: false,
                    align: glyphon::cosmic_text::Align::Center,
                };
                let width = size.0 as f32;
                let buffer = self.fonts.shape(&label.text, &style, width);
                let height = crate::text::height(&buffer);
                TextBlock {
                    buffer,
                    left: label.x - width / 2.0,
                    top: label.y - height / 2.0,
                    width,
                    height,
                    color: label.color,
                }
            })
            .collect();
        let layer = LayerDraw {
            target,
            size,
            clear: Rgb([0, 0, 0]),
            images: &[(Quad::full([1.0; 4]), &picture)],
            texts: &texts,
            what: &format!("test pattern {}", pattern.name()),
        };
        layer.draw(gpu, &self.quads, &mut self.text, &mut self.fonts);
    }

    /// Loads, sizes and uploads a photo for its box. False when it cannot be shown.
    fn ensure_photo(&mut self, gpu: &Gpu, key: &PhotoKey, slide: &str, area: Rect) -> bool {
        if self.photos.contains_key(key) {
            return true;
        }
        let (path, w, h, fit) = key;
        if self.broken_photos.contains_key(path) {
            return false;
        }
        let image = match photo::load(path) {
            Ok(image) => image,
            Err(e) => {
                tracing::warn!("slide {slide:?}: showing it without its photo: {e}");
                self.broken_photos.insert(path.clone(), e.to_string());
                return false;
            }
        };
        let (rgba, (dx, dy)) = photo::fit(&image, *w, *h, *fit);
        let rect = Rect {
            x: area.x + dx as f32,
            y: area.y + dy as f32,
            w: rgba.width() as f32,
            h: rgba.height() as f32,
        };
        let bind_group = self.quads.upload(gpu, &rgba);
        // Photos for other sizes are dropped once there are many (a show has a few dozen).
        if self.photos.len() >= 128 {
            self.photos.clear();
        }
        self.photos.insert(key.clone(), Photo { bind_group, rect });
        true
    }
}

fn new_layer(gpu: &Gpu, key: &LayerKey, size: (u32, u32)) -> CachedLayer {
    let label = match key {
        LayerKey::Slide(view) => format!("layer {}", view.id),
        LayerKey::Pattern(p, _) => format!("pattern {}", p.name()),
    };
    let usage = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING;
    let texture = gpu
        .device
        .create_texture(&texture_descriptor(&label, size, LAYER_FORMAT, usage));
    CachedLayer {
        key: key.clone(),
        size,
        target: texture.create_view(&Default::default()),
        last_used: 0,
    }
}

/// One layer's contents: a background, images, and text over them.
struct LayerDraw<'a> {
    target: &'a wgpu::TextureView,
    size: (u32, u32),
    clear: Rgb,
    images: &'a [(Quad, &'a wgpu::BindGroup)],
    texts: &'a [TextBlock],
    /// What is drawn, for the log.
    what: &'a str,
}

impl LayerDraw<'_> {
    fn draw(&self, gpu: &Gpu, quads: &QuadPipeline, text: &mut Text, fonts: &mut Fonts) {
        let size = self.size;
        text.viewport.update(
            &gpu.queue,
            Resolution {
                width: size.0,
                height: size.1,
            },
        );
        let areas = self.texts.iter().map(|t| TextArea {
            buffer: &t.buffer,
            left: t.left,
            top: t.top,
            scale: 1.0,
            bounds: TextBounds {
                left: 0,
                top: 0,
                right: size.0 as i32,
                bottom: size.1 as i32,
            },
            default_color: Color::rgb(t.color.0[0], t.color.0[1], t.color.0[2]),
            custom_glyphs: &[],
        });
        let prepared = text.renderer.prepare(
            &gpu.device,
            &gpu.queue,
            &mut fonts.system,
            &mut text.atlas,
            &text.viewport,
            areas,
            &mut text.swash,
        );
        if let Err(e) = &prepared {
            tracing::error!("{}: text not drawn: {e}", self.what);
        }
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let clear = clear_colour(self.clear, LAYER_FORMAT);
            let mut pass = begin_pass(&mut encoder, self.target, clear);
            let (q, groups): (Vec<Quad>, Vec<&wgpu::BindGroup>) =
                self.images.iter().copied().unzip();
            quads.draw(gpu, &mut pass, &q, &groups);
            if prepared.is_ok()
                && let Err(e) = text.renderer.render(&text.atlas, &text.viewport, &mut pass)
            {
                tracing::error!("{}: text not drawn: {e}", self.what);
            }
        }
        // Submitted now: the next layer's text preparation reuses the same buffers.
        gpu.queue.submit([encoder.finish()]);
    }
}

/// A texture an output can be drawn into whatever its variant: `format` (plain or sRGB)
/// and its twin can both view it.
pub fn output_texture(
    gpu: &Gpu,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    let plain = format.remove_srgb_suffix();
    let twins = [plain, plain.add_srgb_suffix()];
    let usage = wgpu::TextureUsages::RENDER_ATTACHMENT | usage;
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        view_formats: &twins,
        ..texture_descriptor(label, size, plain, usage)
    })
}

/// A pipeline drawing `shader`'s `vs_main` and `fs_main`, with one vertex buffer and one bind
/// group, into targets of `format`.
#[allow(clippy::too_many_arguments)]
fn pipeline(
    gpu: &Gpu,
    label: &str,
    shader: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    buffer: wgpu::VertexBufferLayout<'_>,
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
    constants: &[(&str, f64)],
) -> wgpu::RenderPipeline {
    let device = &gpu.device;
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[Some(buffer)],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some("fs_main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Uploads `data`, rows of `size` pixels in `format`, as a texture to sample.
fn upload_texture(
    gpu: &Gpu,
    format: wgpu::TextureFormat,
    size: (u32, u32),
    data: &[u8],
) -> wgpu::TextureView {
    let usage = wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST;
    gpu.device
        .create_texture_with_data(
            &gpu.queue,
            &texture_descriptor("uploaded", size, format, usage),
            wgpu::util::TextureDataOrder::LayerMajor,
            data,
        )
        .create_view(&Default::default())
}

fn texture_descriptor(
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::TextureDescriptor<'_> {
    wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: size.0,
            height: size.1,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    }
}

/// A 2D float texture the fragment shader samples, at `binding`.
fn texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: true },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

/// A filtering sampler for the fragment shader, at `binding`.
fn sampler_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
        count: None,
    }
}

fn begin_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    target: &wgpu::TextureView,
    clear: wgpu::Color,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: None,
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(clear),
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// Clear colours are given in the target's own space: linear for sRGB formats.
fn clear_colour(c: Rgb, format: wgpu::TextureFormat) -> wgpu::Color {
    let channel = |v: u8| {
        let s = v as f64 / 255.0;
        if !format.is_srgb() {
            s
        } else if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    wgpu::Color {
        r: channel(c.0[0]),
        g: channel(c.0[1]),
        b: channel(c.0[2]),
        a: 1.0,
    }
}
