//! The projector outputs: one borderless window per projector, each covering its monitor,
//! cursor hidden, all driven by one winit event loop and drawn from the same Scene at the
//! same instant with one GPU. Each pass of the event loop is one [`Player`] frame, which
//! draws only when the picture changed; the loop sleeps until the next request, key or
//! scheduled change.

use super::keys::{self, KeyAction, Keys};
use super::links::LinkOptions;
use super::monitor::{self, MonitorInfo};
use super::player::{Display, Player};
use crate::control::{AlignStep, Command, Engine, Handle, Scene, Stage, WarpEdit};
use crate::render::{Gpu, OutputTarget, PhotoNeeds, Renderer};
use crate::show::Size;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use winit::application::ApplicationHandler;
use winit::dpi::{PhysicalPosition, PhysicalSize};
use winit::event::{ElementState, MouseButton, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::monitor::MonitorHandle;
use winit::window::{Fullscreen, Window, WindowId, WindowLevel};

/// How often the monitors are looked at, to put the show back on a projector that was
/// unplugged and plugged in again.
const MONITOR_CHECK: Duration = Duration::from_secs(2);
/// How often the loop looks for a photo being decoded for the picture on screen.
const PHOTO_POLL: Duration = Duration::from_millis(10);
/// How near a handle, in window pixels, a click in alignment mode takes hold of it.
const GRAB_RADIUS: f64 = 24.0;

#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Monitor name or 1-based position.
    pub monitor: Option<String>,
    /// A normal, decorated window of this size, for rehearsal on a desktop.
    pub windowed: Option<Size>,
    pub list_monitors: bool,
}

/// Opens the outputs and plays until the operator quits; requests from the links wake the
/// event loop, whose next frame applies them.
pub fn run(engine: Engine, options: WindowOptions, links: LinkOptions) -> anyhow::Result<()> {
    let event_loop = EventLoop::new()
        .map_err(|e| anyhow::anyhow!("cannot open the display: {e} (is DISPLAY or WAYLAND_DISPLAY set? for no display, use --headless)"))?;
    let proxy = Mutex::new(event_loop.create_proxy());
    let wake = move || {
        let proxy = proxy.lock().unwrap_or_else(|p| p.into_inner());
        if proxy.send_event(()).is_err() {
            tracing::warn!("the show has stopped; request dropped");
        }
    };
    let mut app = App {
        player: Player::new(engine, links, wake)?,
        options,
        keys: Keys::default(),
        ctrl: false,
        wall: Wall {
            screens: Vec::new(),
            drawing: None,
        },
        next_monitor_check: Instant::now() + MONITOR_CHECK,
        unopened: (0, Vec::new()),
        cursor: None,
        drag: None,
        result: Ok(()),
    };
    event_loop.run_app(&mut app)?;
    app.player.finish();
    tracing::info!("{} frames drawn", app.player.drawn());
    app.result
}

struct App {
    player: Player,
    options: WindowOptions,
    keys: Keys,
    ctrl: bool,
    wall: Wall,
    next_monitor_check: Instant,
    /// Outputs whose window could not be opened, at this show revision.
    unopened: (u64, Vec<String>),
    /// Where the mouse is, over which window.
    cursor: Option<(WindowId, PhysicalPosition<f64>)>,
    drag: Option<Drag>,
    result: anyhow::Result<()>,
}

/// A handle held with the mouse in alignment mode.
struct Drag {
    window: WindowId,
    output: String,
    handle: crate::control::Handle,
    /// From the pointer to the handle when it was taken, so it does not jump to the pointer.
    offset: [f64; 2],
    /// Where it goes next, not yet sent: moves are sent once a pass of the loop, the latest.
    to: Option<[f64; 2]>,
}

/// The projectors' windows and what draws on them: the Player's display.
struct Wall {
    /// One per output, in the stage's order.
    screens: Vec<Screen>,
    /// The GPU and renderer every screen shares; None until the windows are open.
    drawing: Option<Drawing>,
}

/// One projector's window. Fields drop in order: surface before window.
struct Screen {
    /// The output it shows, by name.
    output: String,
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
    // write linear light into the sRGB twin.
    let plain = surfaces
        .first()
        .and_then(|s| s.get_capabilities(&gpu.adapter).formats.first().copied())
        .map(|f| f.remove_srgb_suffix())
        .ok_or_else(|| anyhow::anyhow!("the GPU cannot present to this window"))?;
    let renderer = super::renderer_for(&gpu, plain, engine);
    let drawing = Drawing { renderer, gpu };
    for (screen, surface) in screens.iter_mut().zip(surfaces) {
        drawing.attach(screen, surface, engine.stage());
    }
    tracing::info!(
        "{} output(s), {:?} on {} ({:?})",
        screens.len(),
        plain,
        drawing.gpu.adapter.get_info().name,
        drawing.gpu.adapter.get_info().backend
    );
    Ok(drawing)
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
    /// Configures `surface` for `screen`'s window and gives it to the screen. Both the plain
    /// format and its sRGB twin can view it, so the output's blend may be switched on or off
    /// while playing.
    fn attach(&self, screen: &mut Screen, surface: wgpu::Surface<'static>, stage: &Stage) {
        let caps = surface.get_capabilities(&self.gpu.adapter);
        let size = screen.window.inner_size();
        let plain = self.renderer.format();
        let wanted = stage
            .outputs()
            .find(|o| o.name == screen.output)
            .map_or(plain, |output| {
                let masked = !stage.masks().is_empty();
                self.renderer
                    .target_format(output, (size.width, size.height), masked)
            });
        let format = [
            wanted,
            wanted.remove_srgb_suffix(),
            wanted.add_srgb_suffix(),
        ]
        .into_iter()
        .find(|f| caps.formats.contains(f))
        .unwrap_or(plain);
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
            view_formats: [format.remove_srgb_suffix(), format.add_srgb_suffix()]
                .into_iter()
                .filter(|f| *f != format)
                .collect(),
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&self.gpu.device, &config);
        screen.surface = Some(surface);
        screen.config = Some(config);
    }

    /// Draws `scene` on every screen at once and presents them; when it was handed to the
    /// GPU, or None when no screen could be shown this time.
    fn draw(&mut self, screens: &mut [Screen], scene: &Scene, stage: &Stage) -> Option<Instant> {
        let mut frames = Vec::with_capacity(screens.len());
        for (i, screen) in screens.iter_mut().enumerate() {
            if let Some(frame) = screen.acquire(&self.gpu) {
                frames.push((i, frame));
            }
        }
        if frames.is_empty() {
            return None;
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
            .filter_map(|((i, frame), monitor)| {
                Some(OutputTarget {
                    output: stage.outputs().position(|o| o.name == screens[*i].output)?,
                    texture: &frame.texture,
                    monitor,
                    preview: false,
                })
            })
            .collect();
        self.renderer.render(&self.gpu, scene, stage, &targets);
        let submitted = Instant::now();
        for (i, frame) in frames {
            screens[i].window.pre_present_notify();
            self.gpu.queue.present(frame);
        }
        Some(submitted)
    }
}

impl Display for Wall {
    fn drawing(&mut self) -> Option<(&Gpu, &mut Renderer)> {
        self.drawing.as_mut().map(|d| (&d.gpu, &mut d.renderer))
    }

    fn draw(&mut self, scene: &Scene, stage: &Stage) -> Option<Instant> {
        self.drawing.as_mut()?.draw(&mut self.screens, scene, stage)
    }
}

impl App {
    fn fail(&mut self, event_loop: &ActiveEventLoop, error: anyhow::Error) {
        self.result = Err(error);
        event_loop.exit();
    }

    /// Re-places each window whose monitor moved, changed size, or came back.
    fn check_monitors(&mut self, event_loop: &ActiveEventLoop) {
        let (handles, infos) = monitors(event_loop);
        for screen in &mut self.wall.screens {
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
        let output = self.player.engine().stage().outputs().nth(index);
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

    /// A window for output `index`, named `name`, over its monitor (or windowed); its surface
    /// comes when the GPU is connected.
    fn screen(
        &self,
        event_loop: &ActiveEventLoop,
        index: usize,
        name: &str,
        handles: &[MonitorHandle],
        infos: &[MonitorInfo],
    ) -> anyhow::Result<Screen> {
        let title = format!("candela — {} — {name}", self.player.engine().show().title);
        let mut attributes = Window::default_attributes().with_title(title);
        let target = match self.options.windowed {
            Some(size) => {
                attributes = attributes.with_inner_size(PhysicalSize::new(size.width, size.height));
                None
            }
            None => {
                let i = self.monitor_for(index, infos)?;
                let m = &infos[i];
                if let Some(other) = self
                    .wall
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
        Ok(Screen {
            output: name.to_string(),
            surface: None,
            config: None,
            window,
            placed,
            monitor_gone: false,
        })
    }

    /// Opens a window for each output a reload added and closes those of outputs it removed,
    /// keeping the screens in the stage's order.
    fn follow_outputs(&mut self, event_loop: &ActiveEventLoop) {
        let engine = self.player.engine();
        // A window that could not be opened is tried again with the next version of the show,
        // not every frame.
        if self.unopened.0 != engine.revision() {
            self.unopened = (engine.revision(), Vec::new());
        }
        let names: Vec<String> = engine
            .stage()
            .outputs()
            .map(|o| o.name.clone())
            .filter(|n| !self.unopened.1.contains(n))
            .collect();
        if self.wall.screens.iter().map(|s| &s.output).eq(names.iter()) {
            return;
        }
        let mut old = std::mem::take(&mut self.wall.screens);
        for screen in old.extract_if(.., |s| !names.contains(&s.output)) {
            tracing::info!("output {:?} removed: its window closes", screen.output);
        }
        let (handles, infos) = monitors(event_loop);
        for (index, name) in names.iter().enumerate() {
            if let Some(i) = old.iter().position(|s| &s.output == name) {
                self.wall.screens.push(old.swap_remove(i));
                continue;
            }
            let screen = self
                .screen(event_loop, index, name, &handles, &infos)
                .and_then(|mut screen| {
                    if let Some(drawing) = &self.wall.drawing {
                        let surface = drawing.gpu.instance.create_surface(screen.window.clone())?;
                        drawing.attach(&mut screen, surface, self.player.engine().stage());
                    }
                    Ok(screen)
                });
            match screen {
                Ok(screen) => {
                    tracing::info!("output {name:?} added: its window opens");
                    self.wall.screens.push(screen);
                }
                // The other outputs go on.
                Err(e) => {
                    tracing::error!(
                        "cannot open a window for output {name:?}: {e:#}; it is tried again when the show file changes"
                    );
                    self.unopened.1.push(name.clone());
                }
            }
        }
        self.player.redraw();
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
            .player
            .engine()
            .stage()
            .outputs()
            .map(|o| o.name.clone())
            .collect();
        for (index, name) in names.iter().enumerate() {
            let screen = self.screen(event_loop, index, name, &handles, &infos)?;
            self.wall.screens.push(screen);
        }
        let drawing = connect(&mut self.wall.screens, event_loop, self.player.engine())?;
        self.wall.drawing = Some(drawing);
        self.player.black(&mut self.wall);
        Ok(())
    }

    /// One frame of the show, once the windows are open; the GPU is recreated first if it
    /// was lost.
    fn frame(&mut self, event_loop: &ActiveEventLoop) {
        let Some(drawing) = &self.wall.drawing else {
            return;
        };
        if drawing.gpu.is_lost() {
            tracing::warn!("recreating the GPU context after losing the device");
            self.wall.drawing = None;
            for screen in &mut self.wall.screens {
                screen.surface = None;
            }
            match connect(&mut self.wall.screens, event_loop, self.player.engine()) {
                Ok(mut d) => {
                    super::preload(&mut d.renderer, self.player.engine());
                    self.wall.drawing = Some(d);
                    self.player.redraw();
                }
                Err(e) => {
                    return self.fail(event_loop, e.context("the GPU could not be recreated"));
                }
            }
        }
        self.follow_outputs(event_loop);
        self.send_drag();
        let now = self.player.now();
        if self.player.frame(now, &mut self.wall).drawn.is_some() {
            tracing::debug!(
                "frame {} at {:.3} s",
                self.player.drawn(),
                now.as_secs_f64()
            );
        }
        let aligning = self.player.engine().stage().aligning();
        if aligning != self.keys.aligning {
            // The pointer is wanted on a projector's window only to drag handles.
            for screen in self.wall.screens.iter().filter(|s| s.placed.is_some()) {
                screen.window.set_cursor_visible(aligning);
            }
        }
        self.keys.aligning = aligning;
    }

    /// A left button pressed in alignment mode takes hold of the handle under the pointer,
    /// if one is near enough.
    fn grab(&mut self, id: WindowId) {
        let Some((_, at)) = self.cursor.filter(|(w, _)| *w == id) else {
            return;
        };
        let Some(screen) = self.wall.screens.iter().find(|s| s.window.id() == id) else {
            return;
        };
        let size = screen.window.inner_size();
        let stage = self.player.engine().stage();
        let pointer = [
            at.x / f64::from(size.width.max(1)),
            at.y / f64::from(size.height.max(1)),
        ];
        let Some(((handle, p), index)) = stage
            .handle_near(
                &screen.output,
                pointer,
                (size.width, size.height),
                GRAB_RADIUS,
            )
            .zip(stage.outputs().position(|o| o.name == screen.output))
        else {
            return;
        };
        (self.player.deliver())(keys::request(Command::Align(AlignStep::Grab {
            output: index,
            handle,
        })));
        self.drag = Some(Drag {
            window: id,
            output: screen.output.clone(),
            handle,
            offset: [p[0] - pointer[0], p[1] - pointer[1]],
            to: None,
        });
    }

    /// The pointer moved: where the held handle goes.
    fn pointer_moved(&mut self, id: WindowId, at: PhysicalPosition<f64>) {
        self.cursor = Some((id, at));
        let Some(drag) = self.drag.as_mut().filter(|d| d.window == id) else {
            return;
        };
        let Some(screen) = self.wall.screens.iter().find(|s| s.window.id() == id) else {
            return;
        };
        let size = screen.window.inner_size();
        drag.to = Some([
            at.x / f64::from(size.width.max(1)) + drag.offset[0],
            at.y / f64::from(size.height.max(1)) + drag.offset[1],
        ]);
    }

    /// The held handle's latest place, to the show; a refused one (a crossed pin) stays where
    /// it was, and the log says why.
    fn send_drag(&mut self) {
        let Some(drag) = self.drag.as_mut() else {
            return;
        };
        let Some(to) = drag.to.take() else {
            return;
        };
        let edit = match drag.handle {
            Handle::Corner(corner) => WarpEdit::Corner { corner, to },
            Handle::Point { col, row } => WarpEdit::Point { col, row, to },
        };
        (self.player.deliver())(keys::request(Command::Warp {
            output: drag.output.clone(),
            edit,
        }));
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

impl ApplicationHandler for App {
    // A request delivered wakes the loop with an empty user event (the default handler's):
    // the frame that ends this pass of the loop applies it.

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.wall.screens.is_empty()
            && let Err(e) = self.open(event_loop)
        {
            self.fail(event_loop, e);
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        match event {
            // The system lost what the window showed (exposed, mapped): the frame that ends
            // this pass of the loop draws it again.
            WindowEvent::RedrawRequested => self.player.redraw(),
            WindowEvent::Resized(size) => {
                if let (Some(screen), Some(drawing)) = (
                    self.wall.screens.iter_mut().find(|s| s.window.id() == id),
                    &self.wall.drawing,
                ) {
                    screen.resize(&drawing.gpu, size);
                }
                self.player.redraw();
            }
            WindowEvent::CursorMoved { position, .. } => self.pointer_moved(id, position),
            WindowEvent::CursorLeft { .. } => self.cursor = None,
            WindowEvent::MouseInput {
                state,
                button: MouseButton::Left,
                ..
            } => match state {
                ElementState::Pressed if self.keys.aligning => self.grab(id),
                ElementState::Pressed => {}
                ElementState::Released => {
                    self.send_drag();
                    self.drag = None;
                }
            },
            WindowEvent::ModifiersChanged(m) => {
                self.ctrl = m.state().control_key();
                self.keys.shift = m.state().shift_key();
            }
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed
                    && (!event.repeat || (self.keys.aligning && is_arrow(&event.logical_key))) =>
            {
                // Held arrows repeat while aligning, so a handle can travel far; no other key
                // repeats (a held B must not flicker the blackout).
                match self
                    .keys
                    .press(&event.logical_key, self.ctrl, self.player.now())
                {
                    KeyAction::Command(c) => {
                        tracing::info!("{c:?}");
                        (self.player.deliver())(keys::request(c));
                    }
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

    /// Every pass of the loop ends in a frame, so whatever woke it (a request, a key, the
    /// show's deadline, the system) goes through the same steps.
    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        self.frame(event_loop);
        if Instant::now() >= self.next_monitor_check {
            self.check_monitors(event_loop);
            self.next_monitor_check = Instant::now() + MONITOR_CHECK;
        }
        let photos = self.wall.drawing.as_mut().map(|d| d.renderer.photos_need());
        // Something moves, or a photo for the picture on screen is ready: the next frame at
        // once (presenting waits for the projector's refresh).
        if self.player.engine().animating(self.player.now()) || photos == Some(PhotoNeeds::Frame) {
            return event_loop.set_control_flow(ControlFlow::Poll);
        }
        // Sleep until the show next changes by itself, or the next monitor check; requests
        // and keys wake the loop at once.
        let mut wake = self.next_monitor_check;
        if let Some(due) = self.player.next_due() {
            wake = wake.min(self.player.instant(due));
        }
        // A photo on screen is being decoded off this thread: look for it now and then.
        if photos == Some(PhotoNeeds::Poll) {
            wake = wake.min(Instant::now() + PHOTO_POLL);
        }
        event_loop.set_control_flow(ControlFlow::WaitUntil(wake));
    }
}
