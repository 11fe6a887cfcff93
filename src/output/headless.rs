//! `candela play --headless`: the same engine and renderer, drawing offscreen, for machines
//! with no display, for tests and for measurements. Like the window, it draws a frame only
//! when the picture changes, and a request from the network is acted on at once rather than
//! at the next frame tick. With `--virtual-time` the clock advances one frame per frame, as
//! fast as the GPU allows, so a test can play a minute of show in a second.

use super::links::LinkOptions;
use super::player::{Display, Player, Step};
use crate::control::{Engine, Scene, Stage, Status};
use crate::render::{
    Gpu, HEADLESS_FORMAT, OutputTarget, Renderer, output_texture, read_texture, render_image,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    pub fps: u32,
    /// Stop after this much show time; None plays until killed.
    pub seconds: Option<f64>,
    pub virtual_time: bool,
    /// Where to write the last frame of the canvas.
    pub out: Option<PathBuf>,
    /// A folder to write each output's last frame in, as `<name>.png`.
    pub out_dir: Option<PathBuf>,
    /// A file to write a line of JSON to for each frame drawn.
    pub frame_log: Option<PathBuf>,
}

/// One line of `--frame-log`: when a frame was drawn (on the wall clock and in show time) and
/// what it showed, so frames of machines in step can be compared.
fn frame_line(wall_ns: u64, now: Duration, scene: &Scene, in_step: bool) -> String {
    let layers: Vec<(&str, f32)> = scene
        .layers
        .iter()
        .map(|l| (l.slide.id.as_str(), l.opacity))
        .collect();
    serde_json::json!({
        "wall_ns": wall_ns,
        "t_ns": now.as_nanos() as u64,
        "layers": layers,
        "master": scene.master,
        "in_step": in_step,
    })
    .to_string()
}

/// A show playing offscreen, one frame at a time: a [`Player`] and the textures it draws
/// into.
pub struct Headless {
    pub player: Player,
    offscreen: Offscreen,
}

/// One offscreen image per output, at the output's size, following the show's outputs as
/// reloads add, remove or resize them (as the window opens and closes windows).
struct Offscreen {
    gpu: Gpu,
    renderer: Renderer,
    targets: Vec<Target>,
}

struct Target {
    output: String,
    texture: wgpu::Texture,
}

impl Offscreen {
    /// One texture per output of `stage`, in its order: kept where name and size are the
    /// same, made for outputs new or resized, dropped for outputs gone.
    fn follow(&mut self, stage: &Stage) {
        let same = self.targets.len() == stage.outputs().count()
            && self.targets.iter().zip(stage.outputs()).all(|(t, o)| {
                t.output == o.name && t.texture.size() == extent(o.size.width, o.size.height)
            });
        if same {
            return;
        }
        // The first textures are the show's start, not a change to tell of.
        let reloaded = !self.targets.is_empty();
        let mut old = std::mem::take(&mut self.targets);
        for output in stage.outputs() {
            let size = (output.size.width, output.size.height);
            let kept = old.iter().position(|t| {
                t.output == output.name && t.texture.size() == extent(size.0, size.1)
            });
            let texture = match kept {
                Some(i) => old.swap_remove(i).texture,
                None => {
                    if reloaded {
                        tracing::info!("output {:?} opened ({}x{})", output.name, size.0, size.1);
                    }
                    target_texture(&self.gpu, &output.name, size)
                }
            };
            self.targets.push(Target {
                output: output.name.clone(),
                texture,
            });
        }
        for gone in old {
            if reloaded && !self.targets.iter().any(|t| t.output == gone.output) {
                tracing::info!("output {:?} closed", gone.output);
            }
        }
    }
}

fn extent(width: u32, height: u32) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    }
}

fn target_texture(gpu: &Gpu, name: &str, size: (u32, u32)) -> wgpu::Texture {
    let label = format!("headless output {name}");
    // Read back for --out-dir.
    output_texture(
        gpu,
        &label,
        size,
        HEADLESS_FORMAT,
        wgpu::TextureUsages::COPY_SRC,
    )
}

impl Display for Offscreen {
    fn drawing(&mut self) -> Option<(&Gpu, &mut Renderer)> {
        Some((&self.gpu, &mut self.renderer))
    }

    fn draw(&mut self, scene: &Scene, stage: &Stage) -> Option<Instant> {
        self.follow(stage);
        let targets: Vec<OutputTarget> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, target)| OutputTarget {
                output: i,
                texture: &target.texture,
                monitor: "offscreen",
                preview: false,
            })
            .collect();
        self.renderer.render(&self.gpu, scene, stage, &targets);
        let submitted = Instant::now();
        // Wait for the frame, so the pace is the GPU's real one, not a queue filling up.
        if let Err(e) = self.gpu.device.poll(wgpu::PollType::wait_indefinitely()) {
            tracing::error!("GPU: {e}");
        }
        Some(submitted)
    }
}

impl Headless {
    /// Every output of the show drawn offscreen at its own size; the canvas at the show's.
    pub fn new(engine: Engine, links: LinkOptions) -> anyhow::Result<Headless> {
        // Nothing sleeps on an event loop here: the inbox is waited on directly.
        let player = Player::new(engine, links, || {})?;
        let engine = player.engine();
        let gpu = Gpu::headless()?;
        let renderer = super::renderer_for(&gpu, HEADLESS_FORMAT, engine);
        let mut offscreen = Offscreen {
            gpu,
            renderer,
            targets: Vec::new(),
        };
        offscreen.follow(engine.stage());
        Ok(Headless { player, offscreen })
    }

    /// The renderer, to ask how its photos stand.
    pub fn renderer(&self) -> &Renderer {
        &self.offscreen.renderer
    }

    /// The GPU adapter's name, as the driver gives it.
    pub fn adapter(&self) -> String {
        self.offscreen.gpu.adapter.get_info().name
    }

    /// See [`Player::black`].
    pub fn black(&mut self) {
        self.player.black(&mut self.offscreen);
    }

    /// See [`Player::frame`]; when it returns, the frame is done on the GPU.
    pub fn frame(&mut self, now: Duration) -> Step {
        self.player.frame(now, &mut self.offscreen)
    }

    /// Each output's last frame, read back, by name.
    pub fn outputs(&self) -> anyhow::Result<Vec<(String, image::RgbaImage)>> {
        self.offscreen
            .targets
            .iter()
            .map(|t| {
                Ok((
                    t.output.clone(),
                    read_texture(&self.offscreen.gpu, &t.texture)?,
                ))
            })
            .collect()
    }

    /// The canvas at `now`, read back.
    pub fn snapshot(&mut self, now: Duration) -> anyhow::Result<image::RgbaImage> {
        let engine = self.player.engine();
        let scene = engine.scene(now);
        let canvas = engine.stage().canvas();
        Ok(render_image(
            &self.offscreen.gpu,
            &mut self.offscreen.renderer,
            &scene,
            (canvas.width, canvas.height),
        )?)
    }
}

pub fn run_headless(
    engine: Engine,
    options: HeadlessOptions,
    links: LinkOptions,
) -> anyhow::Result<Status> {
    let mut headless = Headless::new(engine, links)?;
    headless.black();
    let frame = Duration::from_secs_f64(1.0 / options.fps.max(1) as f64);
    let limit = options.seconds.map(Duration::from_secs_f64);
    let mut log = match &options.frame_log {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| {
                anyhow::anyhow!("cannot write the frame log {}: {e}", path.display())
            })?,
        )),
        None => None,
    };
    let start = Instant::now();
    let mut ticks: u32 = 0;
    let end = loop {
        let now = if options.virtual_time {
            frame * ticks
        } else {
            headless.player.now()
        };
        // Real time is counted on the wall: a follower's show time jumps to the leader's.
        let played = if options.virtual_time {
            now
        } else {
            start.elapsed()
        };
        if let Some(limit) = limit
            && played >= limit
        {
            break now.saturating_sub(played - limit);
        }
        let wall_ns = crate::sync::wall_ns();
        let step = headless.frame(now);
        if let (Some(log), Some(_), Some(scene)) =
            (&mut log, step.drawn, headless.player.last_scene())
        {
            use std::io::Write;
            let line = frame_line(wall_ns, now, scene, headless.player.in_step());
            writeln!(log, "{line}").and_then(|()| log.flush())?;
        }
        if options.virtual_time {
            ticks += 1;
        } else if step.handled == 0 {
            // Until the next frame is due, unless a request comes first.
            let next = (now.as_nanos() / frame.as_nanos()) as u32 + 1;
            headless.player.wait(frame * next);
        }
    };
    headless.frame(end);
    headless.player.finish();
    if let Some(out) = &options.out {
        headless
            .snapshot(end)?
            .save(out)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    }
    if let Some(dir) = &options.out_dir {
        for (name, image) in headless.outputs()? {
            let path = dir.join(format!("{name}.png"));
            image
                .save(&path)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        }
    }
    tracing::info!(
        "played {:.1} s of show, {} frames drawn ({:.1} s of wall time)",
        end.as_secs_f64(),
        headless.player.drawn(),
        start.elapsed().as_secs_f64()
    );
    Ok(headless.player.engine().status())
}
