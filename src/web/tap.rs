//! The render thread's side of the web remote, and what it shares with the server.
//!
//! After each frame the render loop hands the [`Tap`] the engine and the scene. The tap
//! publishes the show's state when it changed, and, only while someone watches, draws a
//! small copy of the canvas and starts reading it back with `map_async`. It never waits: a
//! thread of its own polls the GPU until the copy is there and encodes the JPEG. While one
//! picture is being encoded, and for a tenth of a second from its start, no other is
//! started, so a slow encoder or client means fewer pictures, never a longer frame or a
//! queue, and the last picture of a movement is taken once the encoder is free.
//!
//! The setup view asks for pictures of single outputs, after their warp, masks and blend.
//! Each request takes a ticket and is answered by a picture begun after it came (or found
//! still current then), so a picture asked for after a change shows that change.

use crate::control::{Engine, Scene};
use crate::geometry::Mask;
use crate::inbox::{self, Deliver, Incoming, Request};
use crate::render::{
    Gpu, LAYER_FORMAT, OutputTarget, Renderer, copy_to_buffer, output_texture, padded_row,
    readback_buffer, texture_descriptor,
};
use crate::show::{Output, Size};
use axum::body::Bytes;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The preview's width at most, in pixels: enough for a phone, cheap to read back.
const PREVIEW_WIDTH: u32 = 640;
/// An output's picture's height at most (its width at most is [`PREVIEW_WIDTH`]).
const PREVIEW_HEIGHT: u32 = 360;
/// A thumbnail's width.
const THUMBNAIL_WIDTH: u32 = 320;
/// How long a thumbnail is drawn again while its photo is being decoded, at most.
const PHOTO_PATIENCE: Duration = Duration::from_secs(3);
/// The pause before a thumbnail whose photo is on its way is drawn again.
const PHOTO_RETRY: Duration = Duration::from_millis(25);
const JPEG_QUALITY: u8 = 75;
/// A plain request for the preview keeps it current this long (a page's WebSocket keeps it
/// current for as long as it is open).
const ASKED_KEEPS: Duration = Duration::from_secs(3);
/// How long the encoder waits for the GPU to hand over a picture before giving it up.
const READBACK_PATIENCE: Duration = Duration::from_secs(2);
/// Pictures of the wall are started at most this often: several a second while something
/// moves is enough for a phone, and its link and battery are spared the rest.
const PICTURE_EVERY: Duration = Duration::from_millis(100);

/// The show's state as the render thread last published it.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub state: serde_json::Value,
    /// The engine's clock at publishing, and when that was: the hold left is counted from it.
    pub clock: Option<(Duration, Instant)>,
}

/// The wall, small, as a JPEG; generation 0 is no picture yet.
#[derive(Debug, Clone, Default)]
pub struct Picture {
    pub generation: u64,
    pub jpeg: Bytes,
}

#[derive(Default)]
pub struct Thumbs {
    /// By slide id: the latest drawn.
    pub made: HashMap<String, Thumb>,
    /// Slide ids asked for and not yet drawn.
    pub wanted: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Thumb {
    pub jpeg: Bytes,
    pub made: Instant,
    /// Final: the slide's photo is on it (or it has none, or it cannot be shown, or it took
    /// longer than [`PHOTO_PATIENCE`]). Else it is drawn again until it is.
    pub settled: bool,
}

#[derive(Default)]
pub struct OutputShots {
    /// Tickets handed out so far; a request takes the next.
    tickets: u64,
    /// By output name: the newest ticket not yet answered.
    wanted: HashMap<String, u64>,
    /// By output name: the latest picture, and the newest ticket it answers.
    pub made: HashMap<String, (u64, Bytes)>,
}

/// What the render thread and the server share.
pub struct Feed {
    pub state: watch::Sender<Published>,
    pub preview: watch::Sender<Picture>,
    pub thumbs: Mutex<Thumbs>,
    /// Counts thumbnails made, so a request can wait for the one it asked for.
    pub thumbs_made: watch::Sender<u64>,
    thumbs_wanted: AtomicBool,
    /// Pictures of single outputs (the setup view's).
    pub outputs: Mutex<OutputShots>,
    /// Counts output pictures made or found current, so a request can wait for its own.
    pub outputs_made: watch::Sender<u64>,
    outputs_wanted: AtomicBool,
    /// WebSocket clients connected; each watches the preview.
    pub viewers: AtomicUsize,
    /// When the preview was last asked for by a plain request, in ms after `epoch` (0 never).
    asked: AtomicU64,
    epoch: Instant,
    /// A picture was skipped because the last was still being encoded.
    behind: AtomicBool,
    /// The show's problems found at start, for the page.
    pub problems: Vec<String>,
    deliver: Deliver,
}

impl Feed {
    pub fn new(deliver: Deliver, problems: Vec<String>) -> Feed {
        Feed {
            state: watch::channel(Published::default()).0,
            preview: watch::channel(Picture::default()).0,
            thumbs: Mutex::default(),
            thumbs_made: watch::channel(0).0,
            thumbs_wanted: AtomicBool::new(false),
            outputs: Mutex::default(),
            outputs_made: watch::channel(0).0,
            outputs_wanted: AtomicBool::new(false),
            viewers: AtomicUsize::new(0),
            asked: AtomicU64::new(0),
            epoch: Instant::now(),
            behind: AtomicBool::new(false),
            problems,
            deliver,
        }
    }

    /// Whether someone watches the preview now.
    pub fn watching(&self) -> bool {
        let asked = self.asked.load(Ordering::SeqCst);
        self.viewers.load(Ordering::SeqCst) > 0
            || (asked > 0
                && self.epoch.elapsed().as_millis() as u64
                    <= asked + ASKED_KEEPS.as_millis() as u64)
    }

    /// A plain request for the preview: it is kept current for a while. Returns whether it
    /// already was (else the picture at hand may be old, and a fresh one is on its way).
    pub fn ask_preview(&self) -> bool {
        let was = self.watching();
        let now = (self.epoch.elapsed().as_millis() as u64).max(1);
        self.asked.store(now, Ordering::SeqCst);
        was
    }

    /// Asks for slide `id`'s thumbnail to be drawn.
    pub fn want_thumbnail(&self, id: &str) {
        let mut thumbs = self.thumbs.lock().unwrap_or_else(|p| p.into_inner());
        thumbs.wanted.insert(id.to_string());
        self.thumbs_wanted.store(true, Ordering::SeqCst);
    }

    /// Asks for a picture of output `name` begun after now; returns the ticket it will
    /// answer in [`OutputShots::made`].
    pub fn want_output(&self, name: &str) -> u64 {
        let mut shots = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        shots.tickets += 1;
        let ticket = shots.tickets;
        shots.wanted.insert(name.to_string(), ticket);
        self.outputs_wanted.store(true, Ordering::SeqCst);
        ticket
    }

    /// Wakes the render loop, which otherwise sleeps while nothing on the wall moves.
    pub fn wake(&self) {
        (self.deliver)(Incoming {
            source: "web".into(),
            request: Request::Ping,
            reply: None,
            at: None,
        });
    }
}

/// The preview's texture and read-back buffer, kept while the GPU and size stay the same.
struct Readback {
    device: wgpu::Device,
    texture: wgpu::Texture,
    buffer: wgpu::Buffer,
}

/// A picture on its way from the GPU to a JPEG.
struct Job {
    device: wgpu::Device,
    buffer: wgpu::Buffer,
    size: (u32, u32),
    /// The bytes are blue, green, red, alpha.
    bgra: bool,
    mapped: std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
    what: What,
}

enum What {
    Preview,
    Thumbnail { id: String, settled: bool },
    Output { name: String, ticket: u64 },
}

/// What an output's picture showed: when all of it is unchanged, the picture still is.
#[derive(PartialEq)]
struct Seen {
    scene: Scene,
    output: Output,
    masks: Vec<Mask>,
}

/// The render thread's end; see the module's comment.
pub struct Tap {
    feed: Arc<Feed>,
    jobs: std::sync::mpsc::SyncSender<Job>,
    /// A picture is being read back or encoded.
    busy: Arc<AtomicBool>,
    readback: Option<Readback>,
    /// The same for outputs' pictures, whose size and format differ from the canvas's.
    output_readback: Option<Readback>,
    /// What each output's latest picture showed, by output name.
    outputs_seen: HashMap<String, Seen>,
    /// What the last preview showed; None once nobody watches, so a new viewer gets a
    /// fresh picture.
    captured: Option<Scene>,
    /// The renderer's format cannot be encoded; said once.
    unsupported: bool,
    /// Thumbnails drawn without their photo, which was still being decoded, by slide id:
    /// when first drawn.
    unsettled: HashMap<String, Instant>,
}

impl Tap {
    pub fn new(feed: Arc<Feed>) -> std::io::Result<Tap> {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(1);
        let busy = Arc::new(AtomicBool::new(false));
        let (encoder_feed, encoder_busy) = (feed.clone(), busy.clone());
        std::thread::Builder::new()
            .name("web-encode".into())
            .spawn(move || {
                for job in inbox {
                    let started = Instant::now();
                    // Busy until the next picture is due; a change meanwhile is caught up
                    // with by the wake below. A thumbnail waiting for its photo is drawn
                    // again soon, not in a loop as fast as the GPU goes.
                    let pause = match job.what {
                        What::Preview | What::Output { .. } => PICTURE_EVERY,
                        What::Thumbnail { settled: false, .. } => PHOTO_RETRY,
                        What::Thumbnail { settled: true, .. } => Duration::ZERO,
                    };
                    encode(job, &encoder_feed);
                    std::thread::sleep((started + pause).saturating_duration_since(Instant::now()));
                    encoder_busy.store(false, Ordering::SeqCst);
                    let wanted = encoder_feed.thumbs_wanted.load(Ordering::SeqCst)
                        || encoder_feed.outputs_wanted.load(Ordering::SeqCst);
                    if encoder_feed.behind.swap(false, Ordering::SeqCst) || wanted {
                        encoder_feed.wake();
                    }
                }
            })?;
        Ok(Tap {
            feed,
            jobs,
            busy,
            readback: None,
            output_readback: None,
            outputs_seen: HashMap::new(),
            captured: None,
            unsupported: false,
            unsettled: HashMap::new(),
        })
    }

    /// After a frame (drawn or not): state out, and the preview and thumbnails when wanted.
    pub fn frame(
        &mut self,
        engine: &Engine,
        now: Duration,
        scene: &Scene,
        gpu: &Gpu,
        renderer: &mut Renderer,
    ) {
        self.publish(engine, now);
        if !self.feed.watching() {
            self.captured = None;
        } else if self.captured.as_ref() != Some(scene) {
            if self.busy.load(Ordering::SeqCst) {
                self.feed.behind.store(true, Ordering::SeqCst);
            } else {
                self.preview(engine, scene, gpu, renderer);
            }
        }
        if self.feed.thumbs_wanted.load(Ordering::SeqCst) && !self.busy.load(Ordering::SeqCst) {
            self.thumbnail(engine, gpu, renderer);
        }
        if self.feed.outputs_wanted.load(Ordering::SeqCst) && !self.busy.load(Ordering::SeqCst) {
            self.output_picture(engine, scene, gpu, renderer);
        }
    }

    fn publish(&self, engine: &Engine, now: Duration) {
        let mut state = inbox::state(engine);
        let show = engine.show();
        state["title"] = show.title.clone().into();
        state["slides"] = show
            .slides
            .iter()
            .map(|s| serde_json::json!({ "id": s.id, "name": slide_name(s) }))
            .collect::<Vec<_>>()
            .into();
        state["advance_at"] = engine.next_change().map(|t| t.as_secs_f64()).into();
        self.feed.state.send_if_modified(|old| {
            let changed = old.state != state;
            if changed {
                *old = Published {
                    state,
                    clock: Some((now, Instant::now())),
                };
            }
            changed
        });
    }

    /// Whether the renderer's frames are blue, green, red, alpha; None (said once) when
    /// they cannot be encoded at all.
    fn byte_order(&mut self, renderer: &Renderer) -> Option<bool> {
        match renderer.format() {
            wgpu::TextureFormat::Rgba8Unorm => Some(false),
            wgpu::TextureFormat::Bgra8Unorm => Some(true),
            other => {
                if !self.unsupported {
                    tracing::warn!("web: no pictures of the wall: frames are {other:?}");
                    self.unsupported = true;
                }
                None
            }
        }
    }

    fn preview(&mut self, engine: &Engine, scene: &Scene, gpu: &Gpu, renderer: &mut Renderer) {
        let Some(bgra) = self.byte_order(renderer) else {
            return;
        };
        let canvas = engine.stage().canvas();
        let canvas = (canvas.width, canvas.height);
        let width = canvas.0.min(PREVIEW_WIDTH);
        let size = (width, (canvas.1 * width / canvas.0).max(1));
        let r = readback(
            &mut self.readback,
            gpu,
            "web preview",
            size,
            renderer.format(),
        );
        renderer.render_canvas_scaled(gpu, scene, canvas, &r.texture, Some(&r.buffer));
        let buffer = r.buffer.clone();
        self.captured = Some(scene.clone());
        self.hand_over(gpu, buffer, size, bgra, What::Preview);
    }

    /// Answers one output's newest ticket: with the picture at hand if nothing it shows has
    /// changed since, else with a new one drawn through that output's own pass.
    fn output_picture(
        &mut self,
        engine: &Engine,
        scene: &Scene,
        gpu: &Gpu,
        renderer: &mut Renderer,
    ) {
        let next = {
            let mut shots = self.feed.outputs.lock().unwrap_or_else(|p| p.into_inner());
            let next = shots.wanted.iter().map(|(n, t)| (n.clone(), *t)).next();
            if let Some((name, _)) = &next {
                shots.wanted.remove(name);
            }
            if shots.wanted.is_empty() {
                self.feed.outputs_wanted.store(false, Ordering::SeqCst);
            }
            next
        };
        let Some((name, ticket)) = next else {
            return;
        };
        let stage = engine.stage();
        // Gone in a reload since it was asked for: the request gives up waiting.
        let Some((index, output)) = stage.outputs().enumerate().find(|(_, o)| o.name == name)
        else {
            return;
        };
        let seen = Seen {
            scene: scene.clone(),
            output: output.clone(),
            masks: stage.masks().to_vec(),
        };
        if self.outputs_seen.get(&name) == Some(&seen) {
            let mut shots = self.feed.outputs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(made) = shots.made.get_mut(&name) {
                made.0 = ticket;
                drop(shots);
                self.feed.outputs_made.send_modify(|n| *n += 1);
                return;
            }
        }
        let Some(bgra) = self.byte_order(renderer) else {
            return;
        };
        let size = fit(output.size);
        let label = "web output picture";
        let r = readback(
            &mut self.output_readback,
            gpu,
            label,
            size,
            renderer.format(),
        );
        let target = OutputTarget {
            output: index,
            texture: &r.texture,
            monitor: "preview",
            preview: true,
        };
        renderer.render(gpu, scene, stage, &[target]);
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        copy_to_buffer(&mut encoder, &r.texture, &r.buffer);
        gpu.queue.submit([encoder.finish()]);
        let buffer = r.buffer.clone();
        self.outputs_seen.insert(name.clone(), seen);
        self.hand_over(gpu, buffer, size, bgra, What::Output { name, ticket });
    }

    /// Draws one of the slides asked for, straight into a texture of its own.
    fn thumbnail(&mut self, engine: &Engine, gpu: &Gpu, renderer: &mut Renderer) {
        let id = {
            let mut thumbs = self.feed.thumbs.lock().unwrap_or_else(|p| p.into_inner());
            let id = thumbs.wanted.pop_first();
            if thumbs.wanted.is_empty() {
                self.feed.thumbs_wanted.store(false, Ordering::SeqCst);
            }
            id
        };
        let Some(id) = id else {
            return;
        };
        let view = engine
            .show()
            .slides
            .iter()
            .position(|s| s.id == id)
            .and_then(|i| engine.slide_views().into_iter().nth(i));
        let Some(view) = view else {
            // Gone in a reload since it was asked for.
            self.unsettled.remove(&id);
            return;
        };
        let canvas = engine.stage().canvas();
        let size = (
            THUMBNAIL_WIDTH,
            (canvas.height * THUMBNAIL_WIDTH / canvas.width).max(1),
        );
        let usage = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC;
        let texture = gpu.device.create_texture(&texture_descriptor(
            "web thumbnail",
            size,
            LAYER_FORMAT,
            usage,
        ));
        let whole = renderer.render_slide(gpu, &view, &texture);
        let first = *self
            .unsettled
            .entry(id.clone())
            .or_insert_with(Instant::now);
        let settled = whole || first.elapsed() >= PHOTO_PATIENCE;
        if settled {
            self.unsettled.remove(&id);
        } else {
            // Drawn again once the encoder has this one: its photo is on its way.
            self.feed.want_thumbnail(&id);
        }
        let buffer = readback_buffer(gpu, size);
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        copy_to_buffer(&mut encoder, &texture, &buffer);
        gpu.queue.submit([encoder.finish()]);
        self.hand_over(gpu, buffer, size, false, What::Thumbnail { id, settled });
    }

    /// Hands the encoder a buffer the picture is being copied into, to wait for and encode.
    fn hand_over(
        &mut self,
        gpu: &Gpu,
        buffer: wgpu::Buffer,
        size: (u32, u32),
        bgra: bool,
        what: What,
    ) {
        let (sender, mapped) = std::sync::mpsc::channel();
        buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        self.busy.store(true, Ordering::SeqCst);
        let job = Job {
            device: gpu.device.clone(),
            buffer,
            size,
            bgra,
            mapped,
            what,
        };
        if self.jobs.try_send(job).is_err() {
            // Cannot happen while busy guards the channel; if the encoder is gone, say so.
            tracing::warn!("web: the preview encoder has stopped");
        }
    }
}

/// The texture and buffer kept in `slot`, made again unless they are of this GPU, `size`
/// and `format`.
fn readback<'a>(
    slot: &'a mut Option<Readback>,
    gpu: &Gpu,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
) -> &'a Readback {
    let fits = slot.as_ref().is_some_and(|r| {
        r.device == gpu.device
            && (r.texture.width(), r.texture.height()) == size
            && r.texture.format() == format
    });
    if !fits {
        *slot = None;
    }
    slot.get_or_insert_with(|| Readback {
        device: gpu.device.clone(),
        texture: output_texture(gpu, label, size, format, wgpu::TextureUsages::COPY_SRC),
        buffer: readback_buffer(gpu, size),
    })
}

/// An output's picture's size: its aspect, within [`PREVIEW_WIDTH`] x [`PREVIEW_HEIGHT`],
/// and no larger than the output itself.
fn fit(size: Size) -> (u32, u32) {
    let (w, h) = (size.width.max(1) as f64, size.height.max(1) as f64);
    let scale = (PREVIEW_WIDTH as f64 / w)
        .min(PREVIEW_HEIGHT as f64 / h)
        .min(1.0);
    let side = |v: f64| ((v * scale).round() as u32).max(1);
    (side(w), side(h))
}

/// On the encoder's thread: waits for the copy without blocking the render thread's GPU use
/// (a blocking poll would hold the device's fence), then encodes and stores the JPEG.
fn encode(job: Job, feed: &Feed) {
    let waited = Instant::now();
    let mapped = loop {
        if let Err(e) = job.device.poll(wgpu::PollType::Poll) {
            break Err(e.to_string());
        }
        match job.mapped.try_recv() {
            Ok(r) => break r.map_err(|e| e.to_string()),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                break Err("the GPU dropped the read-back".into());
            }
            Err(std::sync::mpsc::TryRecvError::Empty) if waited.elapsed() > READBACK_PATIENCE => {
                break Err("the GPU did not hand the picture over in time".into());
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    if let Err(e) = mapped {
        tracing::warn!("web: picture of the wall skipped: {e}");
        forget(&job.what, feed);
        return;
    }
    let (w, h) = job.size;
    let rgb = {
        let Ok(data) = job.buffer.slice(..).get_mapped_range() else {
            job.buffer.unmap();
            return;
        };
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for row in data.chunks(padded_row(w) as usize).take(h as usize) {
            for px in row[..(w * 4) as usize].chunks_exact(4) {
                if job.bgra {
                    rgb.extend_from_slice(&[px[2], px[1], px[0]]);
                } else {
                    rgb.extend_from_slice(&px[..3]);
                }
            }
        }
        rgb
    };
    job.buffer.unmap();
    let mut jpeg = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY);
    if let Err(e) = encoder.encode(&rgb, w, h, image::ExtendedColorType::Rgb8) {
        tracing::warn!("web: cannot encode the picture: {e}");
        forget(&job.what, feed);
        return;
    }
    let jpeg = Bytes::from(jpeg);
    match job.what {
        What::Preview => {
            feed.preview.send_modify(|p| {
                p.generation += 1;
                p.jpeg = jpeg;
            });
        }
        What::Thumbnail { id, settled } => {
            let mut thumbs = feed.thumbs.lock().unwrap_or_else(|p| p.into_inner());
            let thumb = Thumb {
                jpeg,
                made: Instant::now(),
                settled,
            };
            thumbs.made.insert(id, thumb);
            drop(thumbs);
            feed.thumbs_made.send_modify(|n| *n += 1);
        }
        What::Output { name, ticket } => {
            let mut shots = feed.outputs.lock().unwrap_or_else(|p| p.into_inner());
            shots.made.insert(name, (ticket, jpeg));
            drop(shots);
            feed.outputs_made.send_modify(|n| *n += 1);
        }
    }
}

/// After a picture of an output was lost: the one at hand no longer answers for what the
/// output shows (the tap takes it as current while nothing changes), so the next request
/// has a new one drawn.
fn forget(what: &What, feed: &Feed) {
    if let What::Output { name, .. } = what {
        let mut shots = feed.outputs.lock().unwrap_or_else(|p| p.into_inner());
        shots.made.remove(name);
    }
}

/// What the page calls a slide: the person's name, the title, or the counter's label.
fn slide_name(slide: &crate::show::Slide) -> String {
    use crate::show::SlideContent;
    match &slide.content {
        SlideContent::Portrait(p) => p.name.clone(),
        SlideContent::Title { title, .. } => title.clone(),
        SlideContent::Counter { counter, label } => label.clone().unwrap_or(counter.clone()),
    }
}
