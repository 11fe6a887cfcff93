//! `candela play --headless`: the same engine and renderer, drawing offscreen at a steady
//! frame rate, for machines with no display and for tests. With `--virtual-time` the clock
//! advances one frame per frame drawn, as fast as the GPU allows, so a test can play a
//! minute of show in a second and know exactly what is on screen.

use crate::control::{Engine, Status};
use crate::osc::answer;
use crate::osc::server::{self, Incoming, OscOptions};
use crate::render::{Gpu, HEADLESS_FORMAT, Renderer, render_image, render_target};
use crate::show::Size;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    pub size: Size,
    pub fps: u32,
    /// Stop after this much show time; None plays until killed.
    pub seconds: Option<f64>,
    pub virtual_time: bool,
    /// Where to write the last frame.
    pub out: Option<PathBuf>,
}

pub fn run_headless(
    mut engine: Engine,
    options: HeadlessOptions,
    osc: Option<OscOptions>,
) -> anyhow::Result<Status> {
    let (sender, inbox) = std::sync::mpsc::channel::<Incoming>();
    if let Some(osc) = osc {
        let sender = Mutex::new(sender);
        let deliver = Box::new(move |incoming| {
            let _ = sender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(incoming);
        });
        server::start(&osc.binds, engine.show().osc.clone(), osc.log, deliver)?;
    }
    let gpu = Gpu::headless()?;
    let (fonts, problems) = crate::check::load_fonts(engine.show());
    for p in problems {
        tracing::warn!("{p}");
    }
    let mut renderer = Renderer::new(&gpu, HEADLESS_FORMAT, fonts);
    let size = (options.size.width, options.size.height);
    let target = render_target(
        &gpu,
        "headless output",
        size,
        HEADLESS_FORMAT,
        wgpu::TextureUsages::empty(),
    );
    let view = target.create_view(&Default::default());
    let frame = Duration::from_secs_f64(1.0 / options.fps.max(1) as f64);
    let limit = options.seconds.map(Duration::from_secs_f64);
    let start = Instant::now();
    let mut frames: u32 = 0;
    let end = loop {
        let now = if options.virtual_time {
            frame * frames
        } else {
            start.elapsed()
        };
        if let Some(limit) = limit
            && now >= limit
        {
            break limit;
        }
        // Requests that came in since the last frame take effect in this one.
        while let Ok(incoming) = inbox.try_recv() {
            answer::handle(&mut engine, incoming, now);
        }
        engine.tick(now);
        renderer.render(&gpu, &engine.scene(now), &view, size);
        // Wait for the frame, so the pace is the GPU's real one, not a queue filling up.
        if let Err(e) = gpu.device.poll(wgpu::PollType::wait_indefinitely()) {
            tracing::error!("GPU: {e}");
        }
        frames += 1;
        if !options.virtual_time {
            std::thread::sleep((start + frame * frames).saturating_duration_since(Instant::now()));
        }
    };
    engine.tick(end);
    if let Some(out) = &options.out {
        let image = render_image(&gpu, &mut renderer, &engine.scene(end), size)?;
        image
            .save(out)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    }
    tracing::info!(
        "played {:.1} s of show in {frames} frames ({:.1} s of wall time)",
        end.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    Ok(engine.status())
}
