//! The web remote measured with a real server and real clients on loopback:
//! `cargo bench --bench web_remote` (on lavapipe with `WGPU_BACKEND=vulkan
//! WGPU_ADAPTER_NAME=llvmpipe`, as `scripts/test` sets; on a real GPU without them).
//!
//! The show plays in this process as `candela play --headless` does (one 1920x1080 output,
//! real time, 60 frames a second), the web remote started beside it. Viewers behave like the
//! page: each follows `/api/events` and fetches `/api/preview.jpg` on each new picture.
//!
//! - **cost**: the default show, a Next every 2 s so a 1.5 s crossfade runs most of the time;
//!   with no viewer and then 5: the render thread's time in the web remote's tap per frame
//!   (p50, p99, max), and the CPU time of every thread but the viewers' (the render thread,
//!   lavapipe's, the server's and the encoder's) per second.
//! - **tap → preview**: a show entered with cuts; a client posts Next and waits until a
//!   fetched preview shows the new slide: p50 and p99 over 100 taps, 5 viewers watching.

mod support;

use candela::control::Engine;
use candela::counts::Counts;
use candela::inbox::{self, Incoming};
use candela::render::{Gpu, HEADLESS_FORMAT, OutputTarget, Renderer, output_texture};
use candela::show::{Output, Show, Size};
use candela::web::{WebOptions, WebServer};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PIN: &str = "432198";
const FPS: u32 = 60;

struct Player {
    engine: Engine,
    gpu: Gpu,
    renderer: Renderer,
    target: wgpu::Texture,
    inbox: Receiver<Incoming>,
    web: WebServer,
    start: Instant,
}

impl Player {
    fn new(show: &str) -> Player {
        // The sources' folder, or the current one for a copy of the bench run elsewhere.
        let here = Path::new(show);
        let path = if here.is_file() {
            here.to_path_buf()
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(show)
        };
        let (mut show, _) = Show::load(&path).unwrap();
        let size = Size {
            width: 1920,
            height: 1080,
        };
        show.size = size;
        show.outputs = vec![Output::whole_canvas(size)];
        show.web.pin = Some(PIN.into());
        let counts = Counts::from_show(&show);
        let (fonts, _) = candela::text::load_fonts(&show);
        let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
        let (sender, inbox) = std::sync::mpsc::channel::<Incoming>();
        let sender = Mutex::new(sender);
        let deliver = Arc::new(move |incoming| {
            let _ = sender.lock().unwrap().send(incoming);
        });
        let options = WebOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            required: true,
            problems: Vec::new(),
            state_dir: None,
            plain_for_all: false,
        };
        let web = candela::web::start(&options, &engine, deliver)
            .unwrap()
            .unwrap();
        let gpu = Gpu::headless().unwrap();
        let mut renderer = Renderer::new(&gpu, HEADLESS_FORMAT, fonts);
        let target = output_texture(
            &gpu,
            "bench",
            (1920, 1080),
            HEADLESS_FORMAT,
            wgpu::TextureUsages::empty(),
        );
        let canvas = (1920, 1080);
        renderer.preload(&engine.slide_views(), canvas);
        Player {
            engine,
            gpu,
            renderer,
            target,
            inbox,
            web,
            start: Instant::now(),
        }
    }

    /// One frame as headless play draws it; returns the time spent in the web remote's tap.
    fn frame(&mut self) -> Duration {
        let now = self.start.elapsed();
        while let Ok(incoming) = self.inbox.try_recv() {
            inbox::handle(&mut self.engine, incoming, now);
        }
        self.engine.tick(now);
        let scene = self.engine.scene(now);
        let target = OutputTarget {
            output: 0,
            texture: &self.target,
            monitor: "bench",
            preview: false,
        };
        self.renderer
            .render(&self.gpu, &scene, self.engine.stage(), &[target]);
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
        let tapped = Instant::now();
        self.web
            .tap
            .frame(&self.engine, now, &scene, &self.gpu, &mut self.renderer);
        tapped.elapsed()
    }

    /// Plays in real time until `stop` says so; the tap's time of every frame.
    fn play(
        &mut self,
        stop: &AtomicBool,
        mut every_frame: impl FnMut(&mut Engine, Duration),
    ) -> Vec<Duration> {
        let period = Duration::from_secs(1) / FPS;
        let mut taps = Vec::new();
        let mut next = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            every_frame(&mut self.engine, self.start.elapsed());
            taps.push(self.frame());
            next += period;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        taps
    }
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {PIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let headers = head
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (headers, raw[end + 4..].to_vec())
}

fn events(addr: SocketAddr) -> tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    tungstenite::client(format!("ws://{addr}/api/events"), stream)
        .unwrap()
        .0
}

/// A viewer as the page is: on each new picture, fetch it.
fn viewer(addr: SocketAddr, n: usize, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::Builder::new()
        .name(format!("viewer-{n}"))
        .spawn(move || {
            let mut socket = events(addr);
            let mut fetched = 0;
            while !stop.load(Ordering::SeqCst) {
                if let Ok(tungstenite::Message::Text(text)) = socket.read() {
                    let event: Value = serde_json::from_str(&text).unwrap();
                    if event["type"] == "preview" {
                        http(addr, "GET", "/api/preview.jpg", "");
                        fetched += 1;
                    }
                }
            }
            fetched
        })
        .unwrap()
}

/// CPU seconds used so far by this process's threads but the viewers', and by the web
/// remote's own threads (server and encoder) among them.
fn cpu_used() -> (f64, f64) {
    let (mut ticks, mut web) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        if name.starts_with("viewer") {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let used = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks += used;
        if name.starts_with("web") {
            web += used;
        }
    }
    (ticks as f64 / 100.0, web as f64 / 100.0)
}

/// The default show with crossfades running, with `viewers` watching.
fn cost(viewers: usize, seconds: u64) {
    let mut player = Player::new("slides/show.toml");
    let addr = player.web.local_addr;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..viewers)
        .map(|n| viewer(addr, n, stop.clone()))
        .collect();
    // Warm up: shaders, the first pictures.
    let warm = Instant::now() + Duration::from_secs(2);
    let warm_stop = AtomicBool::new(false);
    player.play(&warm_stop, |_, _| {
        if Instant::now() > warm {
            warm_stop.store(true, Ordering::SeqCst);
        }
    });
    let (cpu, wall) = (cpu_used(), Instant::now());
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut next_cue = Duration::ZERO;
    let playing = AtomicBool::new(false);
    let mut taps = player.play(&playing, |engine, now| {
        if now >= next_cue {
            let _ = engine.apply(candela::control::Command::Next { fade: None }, now);
            next_cue = now + Duration::from_secs(2);
        }
        if Instant::now() > end {
            playing.store(true, Ordering::SeqCst);
        }
    });
    let (all, web) = cpu_used();
    let seconds = wall.elapsed().as_secs_f64();
    let (all, web) = ((all - cpu.0) / seconds, (web - cpu.1) / seconds);
    stop.store(true, Ordering::SeqCst);
    let fetched: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    taps.sort();
    println!(
        "cost, {viewers} viewer(s), {} frames in {seconds:.1} s: tap per frame {}; CPU {all:.2} cores (all threads but the viewers'), of which the web server and encoder {web:.3}; {fetched} previews fetched",
        taps.len(),
        support::spread(&taps, 3),
    );
}

/// Tap on Next until the preview shows the new slide, `taps` times.
fn latency(taps: usize) {
    let mut player = Player::new("tests/fixtures/web/show.toml");
    let addr = player.web.local_addr;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..5).map(|n| viewer(addr, n, stop.clone())).collect();
    let results = Arc::new(Mutex::new(Vec::new()));
    let tapper = {
        let (stop, results) = (stop.clone(), results.clone());
        std::thread::Builder::new()
            .name("viewer-tapper".into())
            .spawn(move || {
                let mut socket = events(addr);
                let picture = |addr| {
                    let (_, body) = http(addr, "GET", "/api/preview.jpg", "");
                    image::load_from_memory(&body).unwrap().to_rgb8()
                };
                let slides = ["a", "b", "c"];
                let mut looks = Vec::new();
                for s in slides {
                    http(
                        addr,
                        "POST",
                        "/api/command",
                        &format!(r#"{{"verb":"goto","args":["{s}"]}}"#),
                    );
                    std::thread::sleep(Duration::from_millis(500));
                    looks.push(picture(addr));
                }
                let near = |img: &image::RgbImage, i: usize| -> f64 {
                    let d: u64 = img
                        .as_raw()
                        .iter()
                        .zip(looks[i].as_raw())
                        .map(|(a, b)| a.abs_diff(*b) as u64)
                        .sum();
                    d as f64 / img.as_raw().len() as f64
                };
                let mut shown = 2;
                for _ in 0..taps {
                    std::thread::sleep(Duration::from_millis(300));
                    while socket.read().is_ok() {}
                    let wanted = (shown + 1) % slides.len();
                    let tapped = Instant::now();
                    http(addr, "POST", "/api/command", r#"{"verb":"next"}"#);
                    let seen = loop {
                        assert!(tapped.elapsed() < Duration::from_secs(10), "no new picture");
                        let Ok(tungstenite::Message::Text(text)) = socket.read() else {
                            continue;
                        };
                        let event: Value = serde_json::from_str(&text).unwrap();
                        if event["type"] != "preview" {
                            continue;
                        }
                        let img = picture(addr);
                        if near(&img, wanted) < near(&img, shown) {
                            break tapped.elapsed();
                        }
                    };
                    results.lock().unwrap().push(seen);
                    shown = wanted;
                }
                stop.store(true, Ordering::SeqCst);
            })
            .unwrap()
    };
    player.play(&stop, |_, _| {});
    tapper.join().unwrap();
    for c in clients {
        c.join().unwrap();
    }
    let mut seen = results.lock().unwrap().clone();
    seen.sort();
    println!(
        "tap -> preview of the new slide, 5 viewers, {} taps: {}",
        seen.len(),
        support::spread(&seen, 3)
    );
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --benches` a short run checks it works.
    let full = std::env::args().any(|a| a == "--bench");
    let adapter = Gpu::headless().unwrap().adapter.get_info();
    println!("web remote on {} ({:?})", adapter.name, adapter.backend);
    let (seconds, taps) = if full { (10, 100) } else { (1, 3) };
    cost(0, seconds);
    cost(5, seconds);
    latency(taps);
}
