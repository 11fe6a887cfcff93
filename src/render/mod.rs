//! Drawing a [`Scene`] into any `wgpu::TextureView`: the window's surface texture or an
//! offscreen texture read back to PNG, with the same code.
//!
//! A frame is made in two steps. First each slide (or test pattern) on screen is drawn once,
//! at the canvas's size, into its own texture (a *layer*: background, photo, text) and kept
//! while it is on screen. Then one output pass per projector composites the layers and
//! applies that projector's warp, masks and blend in the same fragment shader
//! (`output.rs`), so a crossfade costs one full-screen draw per projector, not a slide render.
//!
//! Photos are decoded and sized on worker threads (`photo.rs`, `photo_cache.rs`): a layer whose
//! photo is not in yet is drawn without it and drawn again as the photo fades in, so no frame
//! waits for a decode. Stills (`offscreen.rs`) load theirs first.

mod gpu;
pub mod layout;
mod offscreen;
mod output;
pub mod pattern;
pub mod photo;
mod photo_cache;
mod quad;

pub use gpu::{Gpu, GpuError};
pub use offscreen::{
    HEADLESS_FORMAT, ReadbackError, copy_to_buffer, padded_row, read_texture, readback_buffer,
    render_image, render_output_image,
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
pub use photo_cache::PhotoNeeds;
use photo_cache::{Look, PhotoCache, PhotoKey};
use quad::{Quad, QuadPipeline};
use std::collections::HashSet;
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
    /// The photo drawn in it, and how it looked then: when that changes, it is drawn again.
    photo: Option<(PhotoKey, Look)>,
}

/// A slide laid out (text shaped) for a size, with room for its photo or not.
struct KeptLayout {
    view: SlideView,
    size: (u32, u32),
    has_photo: bool,
    layout: layout::SlideLayout,
}

/// Which photos the show's slides need, worked out once for the canvas (see
/// [`Renderer::preload`]), so a slide change finds its neighbours' photos without laying
/// them out.
#[derive(Default)]
struct PhotoPlan {
    /// Each slide's id and its photo, in the show's order.
    slides: Vec<(String, Option<PhotoKey>)>,
    /// The slides on screen when the wanted photos were last worked out.
    around: Vec<String>,
}

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
    /// A small picture of the output (the web remote's setup view), at another size than
    /// the projector's: its geometry is cached apart, so neither makes the other's be cut
    /// again every frame.
    pub preview: bool,
}

pub struct Renderer {
    format: wgpu::TextureFormat,
    quads: QuadPipeline,
    outputs: OutputPipeline,
    fonts: Fonts,
    text: Text,
    layers: Vec<CachedLayer>,
    layouts: Vec<KeptLayout>,
    photos: PhotoCache,
    plan: PhotoPlan,
    /// Drawing a still, which waits for its photos; a playing show never does.
    still: bool,
    frame: u64,
    /// Layers drawn so far (slides and patterns), cached ones not counted.
    layers_drawn: u64,
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
            layouts: Vec::new(),
            photos: PhotoCache::new(),
            plan: PhotoPlan::default(),
            still: false,
            frame: 0,
            layers_drawn: 0,
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

    /// Photos that cannot be shown, with why.
    pub fn broken_photos(&self) -> impl Iterator<Item = (&PathBuf, &String)> {
        self.photos.broken()
    }

    /// What the photos on screen need of a player that draws only when the picture changes:
    /// a frame (one arrived or is fading in), a look again soon (one is being decoded, and
    /// no frame waits for it), or nothing. Never blocks.
    pub fn photos_need(&mut self) -> PhotoNeeds {
        self.photos.needs()
    }

    /// Looks again at every photo file kept or wanted: one replaced on disk since it was
    /// loaded is loaded again (the old picture stays until the new one is ready), one that
    /// failed is tried again if it changed. Never blocks.
    pub fn refresh_photos(&mut self) {
        self.photos.recheck();
    }

    /// How opaque the photo of the file at `path` is drawn now; None while it is not loaded.
    pub fn photo_opacity(&self, path: &std::path::Path) -> Option<f32> {
        self.photos.opacity(path)
    }

    /// How many layers have been drawn (a layer found cached is not drawn again).
    pub fn layers_drawn(&self) -> u64 {
        self.layers_drawn
    }

    /// Photos on the GPU now, and their bytes.
    pub fn resident_photos(&self) -> (usize, usize) {
        self.photos.resident()
    }

    /// Runs `draw` as a still: every photo it shows is loaded first, on this thread.
    pub(crate) fn still<R>(&mut self, draw: impl FnOnce(&mut Renderer) -> R) -> R {
        self.still = true;
        let result = draw(self);
        self.still = false;
        result
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
            preview: false,
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
    /// layer cache: a thumbnail costs no slide on screen its cached layer. Returns whether the
    /// picture is whole: false while its photo is still being decoded (it is asked for, and
    /// a later call draws it).
    pub fn render_slide(&mut self, gpu: &Gpu, view: &SlideView, target: &wgpu::Texture) -> bool {
        let size = (target.width(), target.height());
        let view_of_target = target.create_view(&Default::default());
        self.photos.take_arrived(gpu, &self.quads);
        let photo = self.draw_slide(gpu, view, &view_of_target, size);
        !matches!(photo, Some((_, Look::Loading)))
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
        self.want_photos_around(&wanted);
        self.photos.begin_frame(gpu, &self.quads);
        let mut views = Vec::with_capacity(wanted.len());
        let mut photos = HashSet::new();
        for (key, _) in &wanted {
            let i = self.layer(gpu, key, canvas);
            views.push(self.layers[i].target.clone());
            photos.extend(self.layers[i].photo.as_ref().map(|(k, _)| k.clone()));
        }
        self.photos.end_frame(photos);
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
                // Not on the setup page's picture, which draws its own.
                handles: scene.alignment.is_some() && !target.preview,
            };
            let size = (target.texture.width(), target.texture.height());
            let variant = Variant::of(output, size, !masks.is_empty());
            self.outputs.prepare(gpu, variant);
            let variant = variant.with(wanted.len(), frame.marker.is_some() || frame.handles);
            let view = target.texture.create_view(&wgpu::TextureViewDescriptor {
                format: Some(variant.format(self.format)),
                ..Default::default()
            });
            let mut pass = begin_pass(&mut encoder, &view, wgpu::Color::BLACK);
            self.outputs.draw(
                gpu,
                &mut pass,
                variant,
                (target.output, target.preview),
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

    /// Draws `view` at the canvas's `size` into the spare layer, unless it is there already
    /// (with its photo as it looks now), so the first frame of a change to it only composites:
    /// its text's glyphs, rasterized the first time they are drawn at a new place, cost a few
    /// milliseconds. For the time the wall stands still; never evicts a layer on screen.
    pub fn draw_ahead(&mut self, gpu: &Gpu, view: &SlideView, size: (u32, u32)) {
        self.layer(gpu, &LayerKey::Slide(Box::new(view.clone())), size);
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
            if self.photo_unchanged(gpu, i) {
                return i;
            }
            let target = self.layers[i].target.clone();
            self.layers[i].photo = self.draw_layer(gpu, key, &target, size);
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
        let photo = self.draw_layer(gpu, key, &target, size);
        let layer = &mut self.layers[i];
        layer.key = key.clone();
        layer.last_used = frame;
        layer.photo = photo;
        i
    }

    /// Draws `key` into `target`; the photo it drew, and how.
    fn draw_layer(
        &mut self,
        gpu: &Gpu,
        key: &LayerKey,
        target: &wgpu::TextureView,
        size: (u32, u32),
    ) -> Option<(PhotoKey, Look)> {
        self.layers_drawn += 1;
        match key {
            LayerKey::Slide(view) => self.draw_slide(gpu, view, target, size),
            LayerKey::Pattern(p, outputs) => {
                self.draw_pattern(gpu, *p, outputs, target, size);
                None
            }
        }
    }

    /// Whether layer `i`'s photo looks as when it was drawn (a still first loads it).
    fn photo_unchanged(&mut self, gpu: &Gpu, i: usize) -> bool {
        let Some((key, drawn)) = &self.layers[i].photo else {
            return true;
        };
        if self.still {
            self.photos.load_now(gpu, &self.quads, key);
        }
        self.photos.look(key) == *drawn
    }

    /// Works out, for the canvas of `size`, which photo each of the show's slides (`views`,
    /// in the show's order) needs, and starts loading those near the slides last on screen
    /// (at first, the first slide). Returns at once: the photos are decoded on worker
    /// threads, and those of the slides on screen, the previous one and the next few are kept
    /// ready as the show moves. Call it again with the new slides when the show changes;
    /// files replaced on disk are looked at again.
    pub fn preload(&mut self, views: &[SlideView], size: (u32, u32)) {
        self.plan.slides = views
            .iter()
            .map(|view| {
                let layout = layout::layout(&mut self.fonts, view, size.0, size.1, true);
                (view.id.clone(), layout.photo.map(|p| photo_key(&p)))
            })
            .collect();
        self.photos.recheck();
        let around = std::mem::take(&mut self.plan.around);
        self.want_photos_near(around);
    }

    /// Keeps the photos near the slides in `shown` wanted (see [`Renderer::want_photos_near`]),
    /// worked out again only when the slides on screen change; with none on screen, those
    /// near the slides last on screen stay wanted.
    fn want_photos_around(&mut self, shown: &[(LayerKey, f32)]) {
        let ids: Vec<String> = shown
            .iter()
            .filter_map(|(k, _)| match k {
                LayerKey::Slide(view) => Some(view.id.clone()),
                LayerKey::Pattern(..) => None,
            })
            .collect();
        if !ids.is_empty() && ids != self.plan.around {
            self.want_photos_near(ids);
        }
    }

    /// Wants the photos of the slides `ids` (the last on top), then of the one after it, the
    /// one before and the two after that (`photo_cache::AHEAD` in all), in that order. Ids
    /// the show does not have (any more) count as its first slide.
    fn want_photos_near(&mut self, ids: Vec<String>) {
        let slides = &self.plan.slides;
        if slides.is_empty() {
            return;
        }
        let position = |id: &String| slides.iter().position(|(s, _)| s == id);
        let mut order: Vec<usize> = ids.iter().rev().filter_map(position).collect();
        let top = order.first().copied().unwrap_or(0);
        let n = slides.len();
        order.push(top);
        order.push((top + 1) % n);
        order.push((top + n - 1) % n);
        order.extend((2..=photo_cache::AHEAD).map(|d| (top + d) % n));
        let mut keys: Vec<PhotoKey> = Vec::new();
        for key in order.into_iter().filter_map(|i| slides[i].1.clone()) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        self.plan.around = ids;
        self.photos.want(keys);
    }

    /// The slide's layout, and its photo with how it looks now; laid out without it when it
    /// cannot be shown. A still loads the photo first.
    fn lay_out(
        &mut self,
        gpu: &Gpu,
        view: &SlideView,
        size: (u32, u32),
    ) -> (usize, Option<(PhotoKey, Look)>) {
        let with_photo = self.layout_of(view, size, true);
        let Some(p) = &self.layouts[with_photo].layout.photo else {
            return (with_photo, None);
        };
        let key = photo_key(p);
        if self.still {
            self.photos.load_now(gpu, &self.quads, &key);
        } else {
            self.photos.want_also(&key);
        }
        let look = self.photos.look(&key);
        let layout = match look {
            Look::Broken => self.layout_of(view, size, false),
            Look::Loading | Look::Shown { .. } => with_photo,
        };
        (layout, Some((key, look)))
    }

    /// The index in `layouts` of `view` laid out at `size`, with room for a photo or not:
    /// shaped once, so a layer drawn again only because its photo changed reuses the text.
    fn layout_of(&mut self, view: &SlideView, size: (u32, u32), has_photo: bool) -> usize {
        let kept = |k: &KeptLayout| k.size == size && k.has_photo == has_photo && k.view == *view;
        if let Some(i) = self.layouts.iter().position(kept) {
            return i;
        }
        let layout = layout::layout(&mut self.fonts, view, size.0, size.1, has_photo);
        if self.layouts.len() >= CACHED_LAYERS {
            self.layouts.remove(0);
        }
        self.layouts.push(KeptLayout {
            view: view.clone(),
            size,
            has_photo,
            layout,
        });
        self.layouts.len() - 1
    }

    /// Draws one slide (background, photo, text) into `target`; the photo it drew, and how.
    fn draw_slide(
        &mut self,
        gpu: &Gpu,
        view: &SlideView,
        target: &wgpu::TextureView,
        size: (u32, u32),
    ) -> Option<(PhotoKey, Look)> {
        let (kept, photo) = self.lay_out(gpu, view, size);
        let layout = &self.layouts[kept].layout;
        let mut images: Vec<(Quad, &wgpu::BindGroup)> = Vec::new();
        if let (Some(area), Some((key, Look::Shown { alpha, .. }))) = (&layout.photo, &photo)
            && let Some(shown) = self.photos.shown(key)
        {
            let rect = Rect {
                x: area.rect.x + shown.offset.0 as f32,
                y: area.rect.y + shown.offset.1 as f32,
                w: shown.size.0 as f32,
                h: shown.size.1 as f32,
            };
            let tint = [1.0, 1.0, 1.0, f32::from(*alpha) / 255.0];
            images.push((Quad::pixels(rect, size, tint), &shown.bind_group));
        }
        let layer = LayerDraw {
            target,
            size,
            clear: view.background,
            images: &images,
            texts: &layout.texts,
            what: &format!("slide {:?}", view.id),
        };
        layer.draw(gpu, &self.quads, &mut self.text, &mut self.fonts);
        photo
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
}

/// The photo of `p`, as the cache knows it.
fn photo_key(p: &layout::PhotoBox) -> PhotoKey {
    (p.path.clone(), p.rect.w as u32, p.rect.h as u32, p.fit)
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
        photo: None,
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

/// A plain 2D texture's description, one mip level, one sample.
pub(crate) fn texture_descriptor(
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
