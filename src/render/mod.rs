//! Drawing a [`Scene`] into any `wgpu::TextureView`: the window's surface texture or an
//! offscreen texture read back to PNG, with the same code.
//!
//! Each slide is drawn once into its own texture (a *layer*: background, photo, text) and kept
//! while it is on screen; a frame then only composites layers with their opacities, so a
//! crossfade costs two textured quads per frame, not two full slide renders.

mod gpu;
pub mod layout;
mod offscreen;
mod pattern;
pub mod photo;
mod quad;

pub use gpu::{Gpu, GpuError};
pub use offscreen::{HEADLESS_FORMAT, ReadbackError, render_image};

use crate::control::{Scene, SlideView};
use crate::show::Rgb;
use crate::text::Fonts;
use glyphon::{
    Cache, Color, Resolution, SwashCache, TextArea, TextAtlas, TextBounds, TextRenderer, Viewport,
};
use layout::Rect;
use quad::{Quad, QuadPipeline};
use std::collections::HashMap;
use std::path::PathBuf;

/// Slide layers kept on the GPU: as many as a frame can show, and one spare.
const CACHED_LAYERS: usize = crate::control::MAX_LAYERS + 1;

/// What one composited quad samples.
enum Source {
    Layer(usize),
    Pattern,
    White,
}

struct CachedLayer {
    view: SlideView,
    size: (u32, u32),
    /// Where the slide is drawn.
    target: wgpu::TextureView,
    /// Samples the layer's texture.
    bind_group: wgpu::BindGroup,
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

pub struct Renderer {
    format: wgpu::TextureFormat,
    quads: QuadPipeline,
    fonts: Fonts,
    text: Text,
    layers: Vec<CachedLayer>,
    photos: HashMap<PhotoKey, Photo>,
    /// Photos that failed to load, so the failure is reported once, not every frame.
    broken_photos: HashMap<PathBuf, String>,
    /// The test pattern, made for the size last asked for.
    pattern: Option<((u32, u32), wgpu::BindGroup)>,
    frame: u64,
}

impl Renderer {
    /// A renderer for targets of `format`, which should be an sRGB format so blending and
    /// filtering happen in linear light.
    pub fn new(gpu: &Gpu, format: wgpu::TextureFormat, fonts: Fonts) -> Renderer {
        let cache = Cache::new(&gpu.device);
        let mut atlas = TextAtlas::new(&gpu.device, &gpu.queue, &cache, format);
        let renderer = TextRenderer::new(
            &mut atlas,
            &gpu.device,
            wgpu::MultisampleState::default(),
            None,
        );
        Renderer {
            format,
            quads: QuadPipeline::new(gpu, format),
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
            pattern: None,
            frame: 0,
        }
    }

    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// Photos that could not be shown so far, with why.
    pub fn broken_photos(&self) -> impl Iterator<Item = (&PathBuf, &String)> {
        self.broken_photos.iter()
    }

    /// Draws `scene` into `target`, which is `size` pixels and of this renderer's format.
    pub fn render(
        &mut self,
        gpu: &Gpu,
        scene: &Scene,
        target: &wgpu::TextureView,
        size: (u32, u32),
    ) {
        self.frame += 1;
        let mut draws = Vec::with_capacity(scene.layers.len() + 1);
        if scene.test_pattern {
            if self.pattern.as_ref().is_none_or(|(s, _)| *s != size) {
                let image = pattern::test_pattern(size.0, size.1);
                self.pattern = Some((size, self.quads.upload(gpu, &image)));
            }
            draws.push((Source::Pattern, Quad::full([1.0; 4])));
        } else {
            for layer in scene.layers.iter().filter(|l| l.opacity > 0.0) {
                let i = self.layer(gpu, &layer.slide, size);
                let opacity = layer.opacity.min(1.0);
                draws.push((Source::Layer(i), Quad::full([1.0, 1.0, 1.0, opacity])));
            }
        }
        let master = if scene.master.is_nan() {
            1.0
        } else {
            scene.master.clamp(0.0, 1.0)
        };
        if master < 1.0 {
            draws.push((Source::White, Quad::full([0.0, 0.0, 0.0, 1.0 - master])));
        }
        let bind_groups: Vec<&wgpu::BindGroup> = draws
            .iter()
            .map(|(source, _)| match source {
                Source::Layer(i) => &self.layers[*i].bind_group,
                Source::Pattern => &self.pattern.as_ref().expect("made above").1,
                Source::White => self.quads.white(),
            })
            .collect();
        let quads: Vec<Quad> = draws.iter().map(|(_, q)| *q).collect();
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = begin_pass(&mut encoder, target, wgpu::Color::BLACK);
            self.quads.draw(gpu, &mut pass, &quads, &bind_groups);
        }
        gpu.queue.submit([encoder.finish()]);
        self.text.atlas.trim();
        // A scene with more layers than the cache holds grew it; shrink it back.
        while self.layers.len() > CACHED_LAYERS {
            let Some(i) = self.layers.iter().position(|l| l.last_used != self.frame) else {
                break;
            };
            self.layers.swap_remove(i);
        }
    }

    /// The index of `view`'s layer texture, drawing it if it is not cached.
    fn layer(&mut self, gpu: &Gpu, view: &SlideView, size: (u32, u32)) -> usize {
        let frame = self.frame;
        if let Some(i) = self
            .layers
            .iter()
            .position(|l| l.size == size && l.view == *view)
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
                self.layers[i] = self.new_layer(gpu, view, size);
                i
            }
            None => {
                let layer = self.new_layer(gpu, view, size);
                self.layers.push(layer);
                self.layers.len() - 1
            }
        };
        let target = self.layers[i].target.clone();
        self.draw_slide(gpu, view, &target, size);
        let layer = &mut self.layers[i];
        layer.view = view.clone();
        layer.last_used = frame;
        i
    }

    fn new_layer(&self, gpu: &Gpu, view: &SlideView, size: (u32, u32)) -> CachedLayer {
        let texture = render_target(
            gpu,
            &format!("layer {}", view.id),
            size,
            self.format,
            wgpu::TextureUsages::TEXTURE_BINDING,
        );
        let target = texture.create_view(&Default::default());
        CachedLayer {
            view: view.clone(),
            size,
            bind_group: self.quads.bind(gpu, &target),
            target,
            last_used: 0,
        }
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

        self.text.viewport.update(
            &gpu.queue,
            Resolution {
                width: size.0,
                height: size.1,
            },
        );
        let areas = layout.texts.iter().map(|t| TextArea {
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
        let prepared = self.text.renderer.prepare(
            &gpu.device,
            &gpu.queue,
            &mut self.fonts.system,
            &mut self.text.atlas,
            &self.text.viewport,
            areas,
            &mut self.text.swash,
        );
        if let Err(e) = &prepared {
            tracing::error!("slide {:?}: text not drawn: {e}", view.id);
        }

        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let clear = clear_colour(view.background, self.format);
            let mut pass = begin_pass(&mut encoder, target, clear);
            if let Some(p) = photo {
                let quad = Quad::pixels(p.rect, size, [1.0; 4]);
                self.quads.draw(gpu, &mut pass, &[quad], &[&p.bind_group]);
            }
            if prepared.is_ok()
                && let Err(e) =
                    self.text
                        .renderer
                        .render(&self.text.atlas, &self.text.viewport, &mut pass)
            {
                tracing::error!("slide {:?}: text not drawn: {e}", view.id);
            }
        }
        // Submitted now: the next layer's text preparation reuses the same buffers.
        gpu.queue.submit([encoder.finish()]);
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

/// A texture of `size` to draw into, in `format`, also usable as `usage`.
pub fn render_target(
    gpu: &Gpu,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    gpu.device.create_texture(&wgpu::TextureDescriptor {
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
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | usage,
        view_formats: &[],
    })
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
