//! `candela play --headless`: the same engine and renderer, drawing offscreen, for machines
//! with no display, for tests and for measurements. Like the window, it draws a frame only
//! when the picture changes, and a request from the network is acted on at once rather than
//! at the next frame tick. With `--virtual-time` the clock advances one frame per frame, as
//! fast as the GPU allows, so a test can play a minute of show in a second.

use super::links::{LinkOptions, Links};
use crate::control::{Engine, Status};
use crate::inbox;
use crate::inbox::Incoming;
use crate::render::{
    Gpu, HEADLESS_FORMAT, OutputTarget, PhotoNeeds, Renderer, output_texture, render_image,
};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    pub fps: u32,
    /// Stop after this much show time; None plays until killed.
    pub seconds: Option<f64>,
    pub virtual_time: bool,
    /// Where to write the last frame of the canvas.
    pub out: Option<PathBuf>,
}

/// What one [`Headless::frame`] did.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Requests applied.
    pub handled: usize,
    /// The frame, when the picture changed and one was drawn.
    pub drawn: Option<Drawn>,
}

/// When a frame was begun, handed to the GPU, and done there.
#[derive(Debug, Clone, Copy)]
pub struct Drawn {
    pub started: Instant,
    pub submitted: Instant,
    pub done: Instant,
}

/// A show playing offscreen, one step at a time.
pub struct Headless {
    pub engine: Engine,
    gpu: Gpu,
    renderer: Renderer,
    /// One offscreen image per output, at the output's size.
    targets: Vec<wgpu::Texture>,
    inbox: Receiver<Incoming>,
    /// A request taken off the inbox while waiting, not yet applied.
    waiting: Option<Incoming>,
    /// What was last drawn: the scene and the stage's geometry revision.
    last: Option<(crate::control::Scene, u64)>,
    /// Frames drawn so far.
    pub drawn: u64,
    links: Links,
    /// The engine's show and photo revisions the renderer has loaded photos for.
    revisions: super::Revisions,
}

impl Headless {
    /// Every output of the show drawn offscreen at its own size; the canvas at the show's.
    pub fn new(engine: Engine, links: LinkOptions) -> anyhow::Result<Headless> {
        let (sender, inbox) = std::sync::mpsc::channel::<Incoming>();
        let sender = Mutex::new(sender);
        let deliver = std::sync::Arc::new(move |incoming| {
            let _ = sender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(incoming);
        });
        let links = Links::start(links, &engine, deliver)?;
        let gpu = Gpu::headless()?;
        let renderer = super::renderer_for(&gpu, HEADLESS_FORMAT, &engine);
        let targets = engine
            .stage()
            .outputs()
            .map(|o| {
                let size = (o.size.width, o.size.height);
                let label = format!("headless output {}", o.name);
                output_texture(
                    &gpu,
                    &label,
                    size,
                    HEADLESS_FORMAT,
                    wgpu::TextureUsages::empty(),
                )
            })
            .collect();
        Ok(Headless {
            gpu,
            renderer,
            targets,
            inbox,
            waiting: None,
            last: None,
            drawn: 0,
            revisions: super::revisions(&engine),
            links,
            engine,
        })
    }

    /// The renderer, to ask how its photos stand.
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// The GPU adapter's name, as the driver gives it.
    pub fn adapter(&self) -> String {
        self.gpu.adapter.get_info().name
    }

    /// The OSC listeners' addresses (none when not listening).
    pub fn osc_addrs(&self) -> &[std::net::SocketAddr] {
        self.links.osc.as_ref().map_or(&[], |o| &o.local_addrs)
    }

    /// Sleeps until `deadline`, or less if a request arrives first. True if one did.
    pub fn wait(&mut self, deadline: Instant) -> bool {
        if self.waiting.is_some() {
            return true;
        }
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self.inbox.recv_timeout(timeout) {
            Ok(incoming) => {
                self.waiting = Some(incoming);
                true
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                false
            }
        }
    }

    /// Draws black on every output, as a projector's first frame is, then loads what the
    /// slides need.
    pub fn black(&mut self) {
        self.draw(&crate::control::Scene::black());
        super::preload(&mut self.renderer, &self.engine);
    }

    /// Draws `scene` on every output and waits for the GPU; when that was submitted.
    fn draw(&mut self, scene: &crate::control::Scene) -> Instant {
        let targets: Vec<OutputTarget> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, texture)| OutputTarget {
                output: i,
                texture,
                monitor: "offscreen",
                preview: false,
            })
            .collect();
        self.renderer
            .render(&self.gpu, scene, self.engine.stage(), &targets);
        let submitted = Instant::now();
        // Wait for the frame, so the pace is the GPU's real one, not a queue filling up.
        if let Err(e) = self.gpu.device.poll(wgpu::PollType::wait_indefinitely()) {
            tracing::error!("GPU: {e}");
        }
        submitted
    }

    /// Applies every request that has arrived, moves the show on to `now`, and draws the
    /// frame if the picture changed. When it returns, the frame is done on the GPU.
    pub fn frame(&mut self, now: Duration) -> Step {
        let mut handled = 0;
        // Before any request, so even the first answer knows whether the hours allow the show.
        self.engine.set_local_time(super::local_now(), now);
        while let Some(incoming) = self.waiting.take().or_else(|| self.inbox.try_recv().ok()) {
            inbox::handle(&mut self.engine, incoming, now);
            handled += 1;
        }
        self.engine.tick(now);
        super::reloaded(&mut self.revisions, &mut self.renderer, &self.engine);
        self.links.report(&self.engine);
        let scene = self.engine.scene(now);
        let geometry = self.engine.stage().revision();
        let mut drawn = None;
        let unchanged = self
            .last
            .as_ref()
            .is_some_and(|(s, g)| *s == scene && *g == geometry)
            && self.renderer.photos_need() != PhotoNeeds::Frame;
        if !unchanged {
            let started = Instant::now();
            let submitted = self.draw(&scene);
            drawn = Some(Drawn {
                started,
                submitted,
                done: Instant::now(),
            });
            self.drawn += 1;
        }
        self.links
            .web_frame(&self.engine, now, &scene, &self.gpu, &mut self.renderer);
        if !unchanged {
            self.last = Some((scene, geometry));
        }
        super::draw_ahead(&mut self.renderer, &self.gpu, &self.engine, now);
        Step { handled, drawn }
    }

    /// The canvas at `now`, read back.
    pub fn snapshot(&mut self, now: Duration) -> anyhow::Result<image::RgbaImage> {
        let scene = self.engine.scene(now);
        let canvas = self.engine.stage().canvas();
        Ok(render_image(
            &self.gpu,
            &mut self.renderer,
            &scene,
            (canvas.width, canvas.height),
        )?)
    }

    /// The show is ending: what is kept on disk is brought up to date.
    pub fn finish(&mut self) {
        self.links.finish(&self.engine);
    }
}

pub fn run_headless(
    engine: Engine,
    options: HeadlessOptions,
    links: LinkOptions,
) -> anyhow::Result<Status> {
    let mut player = Headless::new(engine, links)?;
    player.black();
    let frame = Duration::from_secs_f64(1.0 / options.fps.max(1) as f64);
    let limit = options.seconds.map(Duration::from_secs_f64);
    let start = Instant::now();
    let mut ticks: u32 = 0;
    let end = loop {
        let now = if options.virtual_time {
            frame * ticks
        } else {
            start.elapsed()
        };
        if let Some(limit) = limit
            && now >= limit
        {
            break limit;
        }
        let handled = player.frame(now).handled;
        if options.virtual_time {
            ticks += 1;
        } else if handled == 0 {
            // Until the next frame is due, unless a request comes first.
            ticks += 1;
            player.wait(start + frame * ticks);
        }
    };
    player.frame(end);
    player.finish();
    if let Some(out) = &options.out {
        player
            .snapshot(end)?
            .save(out)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    }
    tracing::info!(
        "played {:.1} s of show, {} frames drawn ({:.1} s of wall time)",
        end.as_secs_f64(),
        player.drawn,
        start.elapsed().as_secs_f64()
    );
    Ok(player.engine.status())
}
