//! The projector outputs: one borderless window per projector, each covering its monitor,
//! cursor hidden, all driven by one winit event loop and drawn from the same Scene at the
//! same instant with one GPU. It redraws only while something moves and otherwise sleeps
//! until the next command or the next scheduled change.

use super::keys::{KeyAction, Keys};
use super::links::{LinkOptions, Links};
use super::monitor::{self, MonitorInfo};
use crate::control::{Command, Engine, Scene, Stage};
use crate::inbox;
use crate::inbox::Incoming;
use crate::render::{Gpu, OutputTarget, PhotoNeeds, Renderer};
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
/// How often the loop looks for a photo being decoded for the picture on screen.
const PHOTO_POLL: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Monitor name or 1-based position.
    pub monitor: Option<String>,
    /// A normal, decorated window of this size, for rehearsal on a desktop.
    pub windowed: Option<Size>,
    pub list_monitors: bool,
}

/// Opens the outputs and plays until the operator quits; OSC requests, when `osc` is given,
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
        revisions: super::revisions(&engine),
        engine,
        start: Instant::now(),
        options,
        keys: Keys::default(),
        ctrl: false,
        screens: Vec::new(),
        drawing: None,
        next_monitor_check: Instant::now() + MONITOR_CHECK,
        frames: 0,
        result: Ok(()),
    };
    event_loop.run_app(&mut app)?;
    app.links.finish(&app.engine);
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
    /// One per output, in the stage's order.
    screens: Vec<Screen>,
    /// The GPU and renderer every screen shares; None until the windows are open.
    drawing: Option<Drawing>,
    next_monitor_check: Instant,
    frames: u64,
    /// The engine's show and photo revisions the renderer has loaded photos for.
    revisions: super::Revisions,
    result: anyhow::Result<()>,
}

/// One projector's window. Fields drop in order: surface before window.
struct Screen {
    surface: Option<wgpu::Surface<'static>>,
    config: Option<wgpu::SurfaceConfiguration>,
    window: Arc<Window>,
    /// The monitor the window was last placed on, as it was then (None when windowed).
    placed: Option<MonitorInfo>,
    /// The placed monitor was missing at the last check.
    monitor_gone: bool,
}

struct Drawing {
    renderer: Renderer,
    gpu: Gpu,
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

/// The GPU for these windows, and each window's surface configured for it.
fn connect(
    screens: &mut [Screen],
    event_loop: &ActiveEventLoop,
    engine: &Engine,
) -> anyhow::Result<Drawing> {
    let desc = wgpu::InstanceDescriptor::new_with_display_handle_from_env(Box::new(
        event_loop.owned_display_handle(),
    ));
    let instance = wgpu::Instance::new(desc);
    let mut surfaces = Vec::with_capacity(screens.len());
    for screen in screens.iter() {
        surfaces.push(instance.create_surface(screen.window.clone())?);
    }
    let gpu = pollster::block_on(Gpu::new(instance, surfaces.first()))?;
    // A blended output's pass writes sRGB code values itself, into a plain format; the others
    // write linear light into the sRGB twin. A surface without the wanted one is drawn
    // through a view of it.
    let caps = surfaces
        .first()
        .map(|s| s.get_capabilities(&gpu.adapter))
        .ok_or_else(|| anyhow::anyhow!("the show has no outputs"))?;
    let plain = caps
        .formats
        .first()
        .map(|f| f.remove_srgb_suffix())
        .ok_or_else(|| anyhow::anyhow!("the GPU cannot present to this window"))?;
    let renderer = super::renderer_for(&gpu, plain, engine);
    let masked = !engine.stage().masks().is_empty();
    let outputs: Vec<&crate::show::Output> = engine.stage().outputs().collect();
    for ((screen, surface), output) in screens.iter_mut().zip(surfaces).zip(outputs) {
        let size = screen.window.inner_size();
        let wanted = renderer.target_format(output, (size.width, size.height), masked);
        let format = if caps.formats.contains(&wanted) {
            wanted
        } else {
            plain
        };
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
            view_formats: if format == wanted {
                vec![]
            } else {
                vec![wanted]
            },
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&gpu.device, &config);
        screen.surface = Some(surface);
        screen.config = Some(config);
    }
    tracing::info!(
        "{} output(s), {:?} on {} ({:?})",
        screens.len(),
        plain,
        gpu.adapter.get_info().name,
        gpu.adapter.get_info().backend
    );
    Ok(Drawing { renderer, gpu })
}

impl Screen {
    fn resize(&mut self, gpu: &Gpu, size: PhysicalSize<u32>) {
        let (Some(surface), Some(config)) = (&self.surface, &mut self.config) else {
            return;
        };
        if size.width == 0 || size.height == 0 {
            return;
        }
        config.width = size.width;
        config.height = size.height;
        surface.configure(&gpu.device, config);
    }

    /// This window's next surface texture, or None when nothing can be shown this time: the
    /// wall keeps its last frame and the next redraw tries again.
    fn acquire(&mut self, gpu: &Gpu) -> Option<wgpu::SurfaceTexture> {
        use wgpu::CurrentSurfaceTexture as Current;
        let (surface, config) = (self.surface.as_ref()?, self.config.as_ref()?);
        match surface.get_current_texture() {
            Current::Success(frame) => Some(frame),
            Current::Suboptimal(frame) => {
                // Good enough for this frame; reconfigured for the next one.
                surface.configure(&gpu.device, config);
                Some(frame)
            }
            Current::Timeout | Current::Occluded => None,
            Current::Outdated => {
                surface.configure(&gpu.device, config);
                None
            }
            Current::Lost => {
                match gpu.instance.create_surface(self.window.clone()) {
                    Ok(surface) => {
                        surface.configure(&gpu.device, config);
                        self.surface = Some(surface);
                    }
                    Err(e) => tracing::error!("cannot recreate the window surface: {e}"),
                }
                None
            }
            Current::Validation => {
                tracing::error!("the window surface failed validation; retrying");
                None
            }
        }
    }
}

impl Drawing {
    /// Draws `scene` on every screen at once and presents them. False when no screen could
    /// be shown this time.
    fn draw(&mut self, screens: &mut [Screen], scene: &Scene, stage: &Stage) -> bool {
        let mut frames = Vec::with_capacity(screens.len());
        for (i, screen) in screens.iter_mut().enumerate() {
            if let Some(frame) = screen.acquire(&self.gpu) {
                frames.push((i, frame));
            }
        }
        if frames.is_empty() {
            return false;
        }
        let labels: Vec<String> = frames
            .iter()
            .map(|(i, ..)| {
                screens[*i]
                    .placed
                    .as_ref()
                    .map_or_else(|| "window".to_string(), |m| m.name.clone())
            })
            .collect();
        let targets: Vec<OutputTarget> = frames
            .iter()
            .zip(&labels)
            .map(|((i, frame), monitor)| OutputTarget {
                output: *i,
                texture: &frame.texture,
                monitor,
                preview: false,
            })
            .collect();
        self.renderer.render(&self.gpu, scene, stage, &targets);
        for (i, frame) in frames {
            screens[i].window.pre_present_notify();
            self.gpu.queue.present(frame);
        }
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

    fn request_redraw(&self) {
        if let Some(s) = self.screens.first() {
            s.window.request_redraw();
        }
    }

    fn apply(&mut self, command: Command) {
        let now = self.now();
        tracing::info!("{command:?}");
        if let Err(e) = self.engine.apply(command, now) {
            tracing::warn!("ignored: {e}");
        }
        self.keys.aligning = self.engine.stage().aligning();
        self.request_redraw();
    }

    /// Re-places each window whose monitor moved, changed size, or came back.
    fn check_monitors(&mut self, event_loop: &ActiveEventLoop) {
        let (handles, infos) = monitors(event_loop);
        for screen in &mut self.screens {
            let Some(placed) = &screen.placed else {
                continue;
            };
            let Some(i) = infos.iter().position(|m| m.name == placed.name) else {
                if !screen.monitor_gone {
                    tracing::warn!(
                        "monitor {} is gone; the show goes back on it when it returns",
                        placed.name
                    );
                    screen.monitor_gone = true;
                }
                continue;
            };
            // Back after an unplug (the system may have moved the window meanwhile), changed,
            // or not where it was put (a window manager that ignored the request).
            let window = &screen.window;
            let misplaced = window.outer_position().ok().map(|p| (p.x, p.y))
                != Some(infos[i].position)
                || (window.inner_size().width, window.inner_size().height) != infos[i].size;
            if misplaced {
                tracing::debug!("the window is not over {}; placing it again", infos[i].name);
            }
            if screen.monitor_gone
                || misplaced
                || infos[i].position != placed.position
                || infos[i].size != placed.size
            {
                screen.monitor_gone = false;
                let window = screen.window.clone();
                screen.placed = Some(place(&window, &handles[i], &infos[i]));
            }
        }
    }

    /// The monitor output `index` goes on: the show file's choice, else `--monitor`, else the
    /// default. A monitor named in the show file that is not there is a warning, not an
    /// error: the show goes on the default one.
    fn monitor_for(&self, index: usize, infos: &[MonitorInfo]) -> anyhow::Result<usize> {
        let output = self.engine.stage().outputs().nth(index);
        let wanted = output.and_then(|o| o.monitor.clone());
        if let Some(name) = &wanted {
            match monitor::choose(infos, Some(name)) {
                Ok(i) => return Ok(i),
                Err(e) => tracing::warn!(
                    "output {:?}: {e}\nshowing it on the default monitor instead",
                    output.map_or("", |o| o.name.as_str())
                ),
            }
        }
        monitor::choose(infos, self.options.monitor.as_deref()).map_err(anyhow::Error::msg)
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
        let names: Vec<String> = self
            .engine
            .stage()
            .outputs()
            .map(|o| o.name.clone())
            .collect();
        for (index, name) in names.iter().enumerate() {
            let title = format!("candela — {} — {name}", self.engine.show().title);
            let mut attributes = Window::default_attributes().with_title(title);
            let target = match self.options.windowed {
                Some(size) => {
                    attributes =
                        attributes.with_inner_size(PhysicalSize::new(size.width, size.height));
                    None
                }
                None => {
                    let i = self.monitor_for(index, &infos)?;
                    let m = &infos[i];
                    if let Some(other) = self
                        .screens
                        .iter()
                        .find(|s| s.placed.as_ref().is_some_and(|p| p.name == m.name))
                    {
                        tracing::warn!(
                            "output {name:?} goes on {} too, over {:?}: give each [[outputs]] its monitor",
                            m.name,
                            other.window.title()
                        );
                    }
                    attributes = attributes
                        .with_decorations(false)
                        .with_window_level(WindowLevel::AlwaysOnTop)
                        .with_position(PhysicalPosition::new(m.position.0, m.position.1))
                        .with_inner_size(PhysicalSize::new(m.size.0, m.size.1));
                    Some(i)
                }
            };
            let window = Arc::new(event_loop.create_window(attributes)?);
            let placed = target.map(|i| {
                window.set_cursor_visible(false);
                place(&window, &handles[i], &infos[i])
            });
            self.screens.push(Screen {
                surface: None,
                config: None,
                window,
                placed,
                monitor_gone: false,
            });
        }
        let mut drawing = connect(&mut self.screens, event_loop, &self.engine)?;
        // The very first frame is black, whatever the show does next.
        drawing.draw(&mut self.screens, &Scene::black(), self.engine.stage());
        super::preload(&mut drawing.renderer, &self.engine);
        self.drawing = Some(drawing);
        self.request_redraw();
        Ok(())
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        let now = self.now();
        self.engine.tick(now);
        let scene = self.engine.scene(now);
        if self.drawing.as_ref().is_some_and(|d| d.gpu.is_lost()) {
            tracing::warn!("recreating the GPU context after losing the device");
            self.drawing = None;
            for screen in &mut self.screens {
                screen.surface = None;
            }
            match connect(&mut self.screens, event_loop, &self.engine) {
                Ok(mut d) => {
                    super::preload(&mut d.renderer, &self.engine);
                    self.drawing = Some(d);
                }
                Err(e) => {
                    return self.fail(event_loop, e.context("the GPU could not be recreated"));
                }
            }
        }
        let Some(drawing) = &mut self.drawing else {
            return;
        };
        super::reloaded(&mut self.revisions, &mut drawing.renderer, &self.engine);
        self.links.report(&self.engine);
        if drawing.draw(&mut self.screens, &scene, self.engine.stage()) {
            self.frames += 1;
            tracing::debug!("frame {} at {:.3} s", self.frames, now.as_secs_f64());
        }
        self.links.web_frame(
            &self.engine,
            now,
            &scene,
            &drawing.gpu,
            &mut drawing.renderer,
        );
        super::draw_ahead(&mut drawing.renderer, &drawing.gpu, &self.engine, now);
        if self.engine.animating(now) || drawing.renderer.photos_need() == PhotoNeeds::Frame {
            self.request_redraw();
        }
    }
}

fn is_arrow(key: &winit::keyboard::Key) -> bool {
    use winit::keyboard::{Key, NamedKey};
    matches!(
        key,
        Key::Named(
            NamedKey::ArrowLeft | NamedKey::ArrowRight | NamedKey::ArrowUp | NamedKey::ArrowDown
        )
    )
}

/// Places `window` over `monitor`: position and size set directly, which works with no window
/// manager at all, and borderless full screen asked of one if there is one.
fn place(window: &Window, handle: &MonitorHandle, monitor: &MonitorInfo) -> MonitorInfo {
    let _ = window.request_inner_size(PhysicalSize::new(monitor.size.0, monitor.size.1));
    window.set_outer_position(PhysicalPosition::new(
        monitor.position.0,
        monitor.position.1,
    ));
    window.set_fullscreen(Some(Fullscreen::Borderless(Some(handle.clone()))));
    tracing::info!("showing on {monitor}");
    monitor.clone()
}

impl ApplicationHandler<Incoming> for App {
    fn user_event(&mut self, _: &ActiveEventLoop, incoming: Incoming) {
        let now = self.now();
        inbox::handle(&mut self.engine, incoming, now);
        self.keys.aligning = self.engine.stage().aligning();
        self.request_redraw();
    }

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.screens.is_empty()
            && let Err(e) = self.open(event_loop)
        {
            self.fail(event_loop, e);
        }
    }

    fn new_events(&mut self, _: &ActiveEventLoop, cause: StartCause) {
        // The show's hours: looked at whenever the loop wakes (at least every MONITOR_CHECK).
        let now = self.now();
        self.engine.set_local_time(super::local_now(), now);
        if self.engine.animating(now) {
            self.request_redraw();
        }
        // Woken by a deadline: redraw only if it was the show's (not the monitor check's).
        let due = self.engine.next_change().is_some_and(|c| now >= c);
        if let (StartCause::ResumeTimeReached { .. }, true) = (cause, due) {
            self.request_redraw();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::RedrawRequested => self.redraw(event_loop),
            WindowEvent::Resized(size) => {
                if let (Some(screen), Some(drawing)) = (
                    self.screens.iter_mut().find(|s| s.window.id() == id),
                    &self.drawing,
                ) {
                    screen.resize(&drawing.gpu, size);
                }
                self.request_redraw();
            }
            WindowEvent::ModifiersChanged(m) => {
                self.ctrl = m.state().control_key();
                self.keys.shift = m.state().shift_key();
            }
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed
                    && (!event.repeat
                        || (self.engine.stage().aligning() && is_arrow(&event.logical_key))) =>
            {
                // Held arrows repeat while aligning, so a handle can travel far; no other key
                // repeats (a held B must not flicker the blackout).
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
            self.check_monitors(event_loop);
            self.next_monitor_check = Instant::now() + MONITOR_CHECK;
        }
        // Sleep until the show next changes by itself, or the next monitor check; commands
        // and keys wake the loop at once.
        let mut wake = self.next_monitor_check;
        if let Some(change) = self.engine.next_change() {
            wake = wake.min(self.start + change);
        }
        // A photo on screen is being decoded off this thread: look for it now and then.
        match self.drawing.as_mut().map(|d| d.renderer.photos_need()) {
            Some(PhotoNeeds::Frame) => self.request_redraw(),
            Some(PhotoNeeds::Poll) => wake = wake.min(Instant::now() + PHOTO_POLL),
            Some(PhotoNeeds::Nothing) | None => {}
        }
        event_loop.set_control_flow(ControlFlow::WaitUntil(wake));
    }
}
