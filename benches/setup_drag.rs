//! The setup view's drag, measured against a real web remote on loopback:
//! `cargo bench --bench setup_drag` (on lavapipe with `WGPU_BACKEND=vulkan
//! WGPU_ADAPTER_NAME=llvmpipe`, as `scripts/test` sets; on a real GPU without them).
//!
//! The show plays in this process as `candela play --headless` does: two projectors at
//! 1920x1080 overlapping with a blend, the grid pattern on as the setup view turns it on. A
//! finger drags corner 3 of "left" at 60 moves a second, and each move is sent as the page
//! sends it: one request in flight; moves made meanwhile replace each other, and the latest
//! goes when the answer comes.
//!
//! - **drag → wall**: for each move, from the moment it was made to the end of the first
//!   frame drawn with it or a later one (the GPU done): p50, p99, max. The browser's own time
//!   from a pointer event to its `fetch` is not in it.
//! - **cost**: the render thread's time in each frame that drew (the outputs, then the web
//!   remote's pictures), while the drag runs: first with the moves alone, then as the setup
//!   page does it, loading the dragged output's picture after each answered move (one load at
//!   a time, the latest wanted), with a second page open on the other output that loads its
//!   picture on each "preview" event.

mod support;

use candela::control::Engine;
use candela::counts::Counts;
use candela::output::{Headless, LinkOptions};
use candela::render::Gpu;
use candela::show::Show;
use candela::web::WebOptions;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PIN: &str = "246813";
const FPS: u32 = 60;

const SHOW: &str = r##"
title = "setup drag bench"
size = "3600x1080"
background = "#203040"
hold = 600
transition = "cut"

[[slides]]
id = "a"
kind = "title"
title = "Drag"

[[outputs]]
name = "left"
region = [0, 0, 1920, 1080]
size = "1920x1080"
[outputs.blend]
right = 240

[[outputs]]
name = "right"
region = [1680, 0, 1920, 1080]
size = "1920x1080"
[outputs.blend]
left = 240
"##;

/// Where move `n` puts corner 3 (bottom right) of "left", in output coordinates: a slow
/// diagonal, each move a distinct point so a frame tells which move it shows.
fn place(n: usize) -> [f64; 2] {
    let step = 0.0004 * n as f64;
    [0.95 - step, 0.97 - step * 0.5]
}

fn which(x: f64) -> usize {
    ((0.95 - x) / 0.0004).round() as usize
}

fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
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
    let status = String::from_utf8_lossy(&raw[..end])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw[end + 4..].to_vec())
}

fn command(addr: SocketAddr, verb: &str, args: &[Value]) {
    let body = serde_json::json!({ "verb": verb, "args": args }).to_string();
    let (status, reply) = http(addr, "POST", "/api/command", &body);
    assert_eq!(
        status,
        200,
        "{verb} refused: {}",
        String::from_utf8_lossy(&reply)
    );
}

/// A setup page on `output`: on each new picture of the wall, fetch this output's.
fn watcher(addr: SocketAddr, output: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let path = format!("/api/outputs/{output}/preview.jpg");
    std::thread::spawn(move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut socket = tungstenite::client(format!("ws://{addr}/api/events"), stream)
            .unwrap()
            .0;
        let mut fetched = 0;
        while !stop.load(Ordering::SeqCst) {
            if let Ok(tungstenite::Message::Text(text)) = socket.read() {
                let event: Value = serde_json::from_str(&text).unwrap();
                if event["type"] == "preview" {
                    let (status, _) = http(addr, "GET", &path, "");
                    assert_eq!(status, 200, "{path}");
                    fetched += 1;
                }
            }
        }
        fetched
    })
}

/// The dragging page's picture: loaded again after each answered move, one load at a time,
/// and only the latest wanted (`wanted` counts the answers), as setup.html's `loadPicture`.
fn loader(
    addr: SocketAddr,
    wanted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let path = "/api/outputs/left/preview.jpg";
        let (mut shown, mut fetched) = (0, 0);
        while !stop.load(Ordering::SeqCst) {
            let latest = wanted.load(Ordering::SeqCst);
            if latest > shown {
                let (status, _) = http(addr, "GET", path, "");
                assert_eq!(status, 200, "{path}");
                (shown, fetched) = (latest, fetched + 1);
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        fetched
    })
}

/// The finger: a move every 1/60 s for `moves` moves, sent as the page sends them. When
/// each move was made, by its number.
fn finger(
    addr: SocketAddr,
    moves: usize,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Instant>> {
    let made = Arc::new(Mutex::new(Vec::<Instant>::new()));
    // Moves are made on their own clock, whatever the requests are doing.
    let maker = {
        let made = made.clone();
        std::thread::spawn(move || {
            let period = Duration::from_secs(1) / FPS;
            let mut next = Instant::now();
            for _ in 0..moves {
                made.lock().unwrap().push(Instant::now());
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
    };
    std::thread::spawn(move || {
        let mut sent = None;
        loop {
            let latest = made.lock().unwrap().len();
            if latest > 0 && sent != Some(latest - 1) {
                let at = place(latest - 1);
                command(addr, "warp/left/corner/3", &[at[0].into(), at[1].into()]);
                answered.fetch_add(1, Ordering::SeqCst);
                sent = Some(latest - 1);
            } else if maker.is_finished() {
                break;
            } else {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        maker.join().unwrap();
        // The last move's frame is being drawn as its answer comes: let it end.
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
        made.lock().unwrap().clone()
    })
}

/// One drag of `moves` moves, with the pages' pictures loaded or not.
fn drag(pictures: bool, moves: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("show.toml");
    std::fs::write(&path, SHOW).unwrap();
    let (mut show, problems) = Show::load(&path).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    show.web.pin = Some(PIN.into());
    let counts = Counts::from_show(&show);
    let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    let links = LinkOptions {
        web: Some(WebOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            required: true,
            problems: Vec::new(),
            state_dir: None,
            plain_for_all: false,
        }),
        ..LinkOptions::default()
    };
    let mut headless = Headless::new(engine, links).unwrap();
    let addr = headless.player.web_addr().unwrap();
    headless.black();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let pages: Vec<_> = if pictures {
        vec![
            loader(addr, answered.clone(), stop.clone()),
            watcher(addr, "right", stop.clone()),
        ]
    } else {
        Vec::new()
    };
    let setting_up = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            command(addr, "test", &["grid".into()]);
            std::thread::sleep(Duration::from_secs(1));
            finger(addr, moves, answered, stop).join().unwrap()
        })
    };

    // Play as headless play does: a frame at once when a request comes, else at 60 a second.
    let period = Duration::from_secs(1) / FPS;
    let (mut shown, mut costs) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::SeqCst) {
        let now = headless.player.now();
        let began = Instant::now();
        let step = headless.frame(now);
        if let Some(drawn) = step.drawn {
            costs.push(began.elapsed());
            let left = headless.player.engine().stage().outputs().next().unwrap();
            let corner = left.corners[2];
            if corner[0] <= place(0)[0] {
                shown.push((which(corner[0]), drawn.done));
            }
        }
        if step.handled == 0 {
            let ticks = (now.as_nanos() / period.as_nanos()) as u32 + 1;
            headless.player.wait(period * ticks);
        }
    }
    let made = setting_up.join().unwrap();
    let fetched: u64 = pages.into_iter().map(|p| p.join().unwrap()).sum();

    // Each move is on the wall once a frame shows it or a later one.
    let mut latency = Vec::new();
    let mut frames = shown.iter().peekable();
    for (n, at) in made.iter().enumerate() {
        while frames.peek().is_some_and(|(m, _)| *m < n) {
            frames.next();
        }
        if let Some((_, done)) = frames.peek() {
            latency.push(done.saturating_duration_since(*at));
        }
    }
    assert!(
        latency.len() + 2 >= made.len(),
        "only {} of {} moves reached the wall",
        latency.len(),
        made.len()
    );
    latency.sort();
    costs.sort();
    println!(
        "{}: drag -> wall over {} moves: {}; render thread per frame drawn ({} frames): {}; {fetched} output pictures fetched",
        if pictures {
            "moves and pages' pictures"
        } else {
            "moves alone"
        },
        latency.len(),
        support::spread(&latency, 1),
        costs.len(),
        support::spread(&costs, 1),
    );
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --benches` a short run checks it works.
    let full = std::env::args().any(|a| a == "--bench");
    let adapter = Gpu::headless().unwrap().adapter.get_info();
    println!("setup drag on {} ({:?})", adapter.name, adapter.backend);
    let moves = if full { 600 } else { 20 };
    drag(false, moves);
    drag(true, moves);
}
