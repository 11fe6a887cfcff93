//! The projector output: a borderless window covering the chosen monitor, cursor hidden,
//! driven by winit's event loop. It redraws only while something moves and otherwise sleeps
//! until the next command or the next scheduled change.

use super::keys::{KeyAction, Keys};
use super::links::{LinkOptions, Links};
use super::monitor::{self, MonitorInfo};
use crate::control::{Command, Engine, Scene};
use crate::osc::answer;
use crate::osc::server::Incoming;
use crate::render::{Gpu, Renderer};
use crate::show::Size;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use winit::application::ApplicationHandler;
use winit::dpi::{PhysicalPosition, PhysicalSize};
use winit::event::{ElementState, StartCause, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::monitor::MonitorHandle;
use winit::window::{Fullscreen, Window, WindowId, WindowLevel};

/// How often the monitors are looked at, to put the show back on a projector that was
/// unplugged and plugged in again.
const MONITOR_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Monitor name or 1-based position.
    pub monitor: Option<String>,
    /// A normal, decorated window of this size, for rehearsal on a desktop.
    pub windowed: Option<Size>,
    pub list_monitors: bool,
}

/// Opens the output and plays until the operator quits; OSC requests, when `osc` is given,
/// reach the show through the event loop, so they are applied between frames.
pub fn run(engine: Engine, options: WindowOptions, links: LinkOptions) -> anyhow::Result<()> {
    let event_loop = EventLoop::<Incoming>::with_user_event()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot open the display: {e} (is DISPLAY or WAYLAND_DISPLAY set? for no display, use --headless)"))?;
    let proxy = Mutex::new(event_loop.create_proxy());
    let deliver = Arc::new(move |incoming| {
        let proxy = proxy.lock().unwrap_or_else(|p| p.into_inner());
        if proxy.send_event(incoming).is_err() {
            tracing::warn!("the show has stopped; request dropped");
        }
    });
    let mut app = App {
        links: Links::start(links, &engine, deliver)?,
        engine,
        start: Instant::now(),
        options,
        keys: Keys::default(),
        ctrl: false,
        output: None,
        placed: None,
        monitor_gone: false,
        next_monitor_check: Instant::now() + MONITOR_CHECK,
        frames: 0,
        result: Ok(()),
    };
    event_loop.run_app(&mut app)?;
    tracing::info!("{} frames drawn", app.frames);
    app.result
}

struct App {
    engine: Engine,
    links: Links,
    start: Instant,
    options: WindowOptions,
    keys: Keys,
    ctrl: bool,
    output: Option<Output>,
    /// The monitor the window was last placed on, as it was then.
    placed: Option<MonitorInfo>,
    /// The placed monitor was missing at the last check.
    monitor_gone: bool,
    next_monitor_check: Instant,
    frames: u64,
    result: anyhow::Result<()>,
}

/// Everything tied to the window's surface. Fields drop in order: surface before window.
struct Output {
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    renderer: Renderer,
    gpu: Gpu,
    window: Arc<Window>,
}

fn info(handle: &MonitorHandle, primary: &Option<MonitorHandle>) -> MonitorInfo {
    let size = handle.size();
    let position = handle.position();
    MonitorInfo {
        name: handle.name().unwrap_or_else(|| "unnamed".into()),
        position: (position.x, position.y),
        size: (size.width, size.height),
        refresh_millihertz: handle.refresh_rate_millihertz(),
        primary: primary.as_ref() == Some(handle),
    }
}

fn monitors(event_loop: &ActiveEventLoop) -> (Vec<MonitorHandle>, Vec<MonitorInfo>) {
    let primary = event_loop.primary_monitor();
    let handles: Vec<MonitorHandle> = event_loop.available_monitors().collect();
    let infos = handles.iter().map(|h| info(h, &primary)).collect();
    (handles, infos)
}

impl Output {
    fn new(
        window: Arc<Window>,
        event_loop: &ActiveEventLoop,
        engine: &Engine,
    ) -> anyhow::Result<Output> {
        let desc = wgpu::InstanceDescriptor::new_with_display_handle_from_env(Box::new(
            event_loop.owned_display_handle(),
        ));
        let instance = wgpu::Instance::new(desc);
        let surface = instance.create_surface(window.clone())?;
        let gpu = pollster::block_on(Gpu::new(instance, Some(&surface)))?;
        let caps = surface.get_capabilities(&gpu.adapter);
        // sRGB, so blending and fades happen in linear light as they do offscreen.
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| f.is_srgb())
            .or(caps.formats.first().copied())
            .ok_or_else(|| anyhow::anyhow!("the GPU cannot present to this window"))?;
        let size = window.inner_size();
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            width: size.width.max(1),
            height: size.height.max(1),
            // Fifo never tears and is always there; one frame in flight keeps a cue's
            // latency to the next vertical blank.
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 1,
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&gpu.device, &config);
        let (fonts, problems) = crate::check::load_fonts(engine.show());
        for p in problems {
            tracing::warn!("{p}");
        }
        let mut renderer = Renderer::new(&gpu, format, fonts);
        renderer.preload(&gpu, &engine.slide_views(), (config.width, config.height));
        tracing::info!(
            "output: {}x{} {:?} on {} ({:?})",
            config.width,
            config.height,
            format,
            gpu.adapter.get_info().name,
            gpu.adapter.get_info().backend
        );
        Ok(Output {
            surface,
            config,
            renderer,
            gpu,
            window,
        })
    }

    fn resize(&mut self, size: PhysicalSize<u32>) {
        if size.width == 0 || size.height == 0 {
            return;
        }
        self.config.width = size.width;
        self.config.height = size.height;
        self.surface.configure(&self.gpu.device, &self.config);
    }

    /// Draws and presents one frame. False when nothing could be shown this time; the wall
    /// keeps its last frame and the next redraw tries again.
    fn draw(&mut self, scene: &Scene) -> bool {
        use wgpu::CurrentSurfaceTexture as Current;
        let frame = match self.surface.get_current_texture() {
            Current::Success(frame) => frame,
            Current::Suboptimal(frame) => {
                // Good enough for this frame; reconfigured for the next one.
                self.surface.configure(&self.gpu.device, &self.config);
                frame
            }
            Current::Timeout | Current::Occluded => return false,
            Current::Outdated => {
                self.surface.configure(&self.gpu.device, &self.config);
                return false;
            }
            Current::Lost => {
                match self.gpu.instance.create_surface(self.window.clone()) {
                    Ok(surface) => {
                        self.surface = surface;
                        self.surface.configure(&self.gpu.device, &self.config);
                    }
                    Err(e) => tracing::error!("cannot recreate the window surface: {e}"),
                }
                return false;
            }
            Current::Validation => {
                tracing::error!("the window surface failed validation; retrying");
                return false;
            }
        };
        let view = frame.texture.create_view(&Default::default());
        let size = (self.config.width, self.config.height);
        self.renderer.render(&self.gpu, scene, &view, size);
        self.window.pre_present_notify();
        self.gpu.queue.present(frame);
        true
    }
}

impl App {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, error: anyhow::Error) {
        self.result = Err(error);
        event_loop.exit();
    }

    fn apply(&mut self, command: Command) {
        let now = self.now();
        tracing::info!("{command:?}");
        if let Err(e) = self.engine.apply(command, now) {
            tracing::warn!("ignored: {e}");
        }
        if let Some(o) = &self.output {
            o.window.request_redraw();
        }
    }

    /// Places the window over `monitor`: position and size set directly, which works with no
    /// window manager at all, and borderless full screen asked of one if there is one.
    fn place(&mut self, window: &Window, handle: &MonitorHandle, monitor: &MonitorInfo) {
        let _ = window.request_inner_size(PhysicalSize::new(monitor.size.0, monitor.size.1));
        window.set_outer_position(PhysicalPosition::new(
            monitor.position.0,
            monitor.position.1,
        ));
        window.set_fullscreen(Some(Fullscreen::Borderless(Some(handle.clone()))));
        self.placed = Some(monitor.clone());
        tracing::info!("showing on {monitor}");
    }

    /// Re-places the window when its monitor moved, changed size, or came back.
    fn check_monitor(&mut self, event_loop: &ActiveEventLoop) {
        let (Some(placed), Some(output)) = (&self.placed, &self.output) else {
            return;
        };
        let (handles, infos) = monitors(event_loop);
        let Some(i) = infos.iter().position(|m| m.name == placed.name) else {
            if !self.monitor_gone {
                tracing::warn!(
                    "monitor {} is gone; the show goes back on it when it returns",
                    placed.name
                );
                self.monitor_gone = true;
            }
            return;
        };
        // Back after an unplug (the system may have moved the window meanwhile), changed, or
        // the window is not where it was put (a window manager that ignored the request).
        let window = &output.window;
        let misplaced = window.outer_position().ok().map(|p| (p.x, p.y)) != Some(infos[i].position)
            || (window.inner_size().width, window.inner_size().height) != infos[i].size;
        if misplaced {
            tracing::debug!("the window is not over {}; placing it again", infos[i].name);
        }
        if self.monitor_gone
            || misplaced
            || infos[i].position != placed.position
            || infos[i].size != placed.size
        {
            self.monitor_gone = false;
            let window = output.window.clone();
            self.place(&window, &handles[i], &infos[i]);
        }
    }

    fn open(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let (handles, infos) = monitors(event_loop);
        if self.options.list_monitors {
            for (i, m) in infos.iter().enumerate() {
                println!("{}: {m}", i + 1);
            }
            event_loop.exit();
            return Ok(());
        }
        let title = format!("candela — {}", self.engine.show().title);
        let mut attributes = Window::default_attributes().with_title(title);
        let target = match self.options.windowed {
            Some(size) => {
                attributes = attributes.with_inner_size(PhysicalSize::new(size.width, size.height));
                None
            }
            None => {
                let i = monitor::choose(&infos, self.options.monitor.as_deref())
                    .map_err(anyhow::Error::msg)?;
                let m = &infos[i];
                attributes = attributes
                    .with_decorations(false)
                    .with_window_level(WindowLevel::AlwaysOnTop)
                    .with_position(PhysicalPosition::new(m.position.0, m.position.1))
                    .with_inner_size(PhysicalSize::new(m.size.0, m.size.1));
                Some(i)
            }
        };
        let window = Arc::new(event_loop.create_window(attributes)?);
        if let Some(i) = target {
            window.set_cursor_visible(false);
            self.place(&window, &handles[i], &infos[i]);
        }
        let mut output = Output::new(window.clone(), event_loop, &self.engine)?;
        // The very first frame is black, whatever the show does next.
        output.draw(&Scene {
            layers: vec![],
            master: 0.0,
            test_pattern: false,
        });
        window.request_redraw();
        self.output = Some(output);
        Ok(())
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        let now = self.now();
        self.engine.tick(now);
        let scene = self.engine.scene(now);
        let Some(output) = &mut self.output else {
            return;
        };
        if output.gpu.is_lost() {
            tracing::warn!("recreating the GPU context after losing the device");
            let window = output.window.clone();
            self.output = None;
            match Output::new(window, event_loop, &self.engine) {
                Ok(o) => self.output = Some(o),
                Err(e) => {
                    return self.fail(event_loop, e.context("the GPU could not be recreated"));
                }
            }
        }
        self.links.report(&self.engine);
        let output = self.output.as_mut().expect("set above");
        if output.draw(&scene) {
            self.frames += 1;
            tracing::debug!("frame {} at {:.3} s", self.frames, now.as_secs_f64());
        }
        if self.engine.animating(now) {
            output.window.request_redraw();
        }
    }
}

impl ApplicationHandler<Incoming> for App {
    fn user_event(&mut self, _: &ActiveEventLoop, incoming: Incoming) {
        let now = self.now();
        answer::handle(&mut self.engine, incoming, now);
        if let Some(o) = &self.output {
            o.window.request_redraw();
        }
    }

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.output.is_none()
            && let Err(e) = self.open(event_loop)
        {
            self.fail(event_loop, e);
        }
    }

    fn new_events(&mut self, _: &ActiveEventLoop, cause: StartCause) {
        // Woken by a deadline: redraw only if it was the show's (not the monitor check's).
        let due = self.engine.next_change().is_some_and(|c| self.now() >= c);
        if let (StartCause::ResumeTimeReached { .. }, true, Some(o)) = (cause, due, &self.output) {
            o.window.request_redraw();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::RedrawRequested => self.redraw(event_loop),
            WindowEvent::Resized(size) => {
                if let Some(o) = &mut self.output {
                    o.resize(size);
                    o.window.request_redraw();
                }
            }
            WindowEvent::ModifiersChanged(m) => self.ctrl = m.state().control_key(),
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed && !event.repeat =>
            {
                match self.keys.press(&event.logical_key, self.ctrl, self.now()) {
                    KeyAction::Command(c) => self.apply(c),
                    KeyAction::Quit => event_loop.exit(),
                    KeyAction::Say(s) => tracing::info!("{s}"),
                    KeyAction::Nothing => {}
                }
            }
            // A projection is not closed by a stray click or Alt+F4; a rehearsal window is.
            WindowEvent::CloseRequested if self.options.windowed.is_some() => event_loop.exit(),
            WindowEvent::CloseRequested => tracing::info!("to quit, press Esc twice or Ctrl+Q"),
            _ => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if Instant::now() >= self.next_monitor_check {
            self.check_monitor(event_loop);
            self.next_monitor_check = Instant::now() + MONITOR_CHECK;
        }
        // Sleep until the show next changes by itself, or the next monitor check; commands
        // and keys wake the loop at once.
        let mut wake = self.next_monitor_check;
        if let Some(change) = self.engine.next_change() {
            wake = wake.min(self.start + change);
        }
        event_loop.set_control_flow(ControlFlow::WaitUntil(wake));
    }
}
