//! From a UDP datagram sent on loopback to the first frame showing its change being done on
//! the GPU,
//! headless at 1920x1080, through the real listener, inbox and renderer:
//! `cargo bench --bench osc_latency`. Sends arrive at random moments, as cues do.
//!
//! - cue: `/candela/goto` round three portraits (slide layers cached after the first time);
//! - count: `/candela/count/total N` on the counter slide (the slide is laid out and drawn
//!   again for every new number).

use candela::control::{Command, Engine, SlideRef};
use candela::counts::Counts;
use candela::osc::packet::encode_message;
use candela::osc::server::OscOptions;
use candela::output::{Headless, LinkOptions};
use candela::show::Show;
use rosc::OscType;
use std::net::UdpSocket;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SAMPLES: usize = 150;

/// A measurement: its name, the slide it starts on, and the message for sample `i`.
type Run<'a> = (&'a str, &'a str, &'a dyn Fn(usize) -> Vec<u8>);

fn main() {
    let (show, _) = Show::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("slides")).unwrap();
    let counts = Counts::from_show(&show);
    let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    let osc = OscOptions {
        binds: vec!["127.0.0.1:0".parse().unwrap()],
        log: false,
    };
    let links = LinkOptions {
        osc: Some(osc),
        counts_file: None,
        calibration_file: None,
    };
    let mut player = Headless::new(engine, links).unwrap();
    let to = player.osc_addrs()[0];
    let s = |v: &str| OscType::String(v.into());

    // Three slides in turn, so the same message never comes back within the debounce window.
    let cue = |i: usize| {
        let id = ["yorm-bopha", "mikhail-kosenko", "miriam-lopez"][i % 3];
        encode_message("/candela/goto", vec![s(id), OscType::Float(0.0)])
    };
    let count = |i: usize| {
        encode_message(
            "/candela/count/total",
            vec![OscType::Int(700_000 + i as i32)],
        )
    };
    let runs: [Run; 2] = [
        ("cue (goto, cut)", "yorm-bopha", &cue),
        ("count update", "total", &count),
    ];
    for (name, first, message) in runs {
        let start = Instant::now();
        let goto = Command::Goto {
            slide: SlideRef::Id(first.into()),
            fade: Some(Duration::ZERO),
        };
        player.engine.apply(goto, start.elapsed()).unwrap();
        player.frame(start.elapsed());
        let packets: Vec<Vec<u8>> = (1..=SAMPLES).map(message).collect();
        let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
        let sender = std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut seed: u32 = 0x2545_F491;
            for p in packets {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                // 40 to 120 ms apart: every phase of the frame, never two in one frame.
                std::thread::sleep(Duration::from_millis(40 + (seed % 80) as u64));
                sent_tx.send(Instant::now()).unwrap();
                socket.send_to(&p, to).unwrap();
            }
        });
        let frame = Duration::from_secs_f64(1.0 / 60.0);
        let mut latencies = Vec::with_capacity(SAMPLES);
        let mut ticks = 1u32;
        let deadline = Instant::now() + Duration::from_secs(120);
        // Requests applied but not yet visible: a count starts counting up from the number
        // already shown, so its first visible change is the next frame's.
        let mut waiting: Vec<Instant> = Vec::new();
        while latencies.len() < SAMPLES && Instant::now() < deadline {
            let drawn = player.drawn;
            let handled = player.frame(start.elapsed());
            let done = Instant::now();
            for _ in 0..handled {
                if let Ok(sent) = sent_rx.recv_timeout(Duration::from_secs(1)) {
                    waiting.push(sent);
                }
            }
            if player.drawn > drawn {
                latencies.extend(waiting.drain(..).map(|sent| done - sent));
            }
            if handled == 0 {
                ticks += 1;
                player.wait(start + frame * ticks);
            }
        }
        sender.join().unwrap();
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name}: {} samples, UDP sent → frame done p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        );
    }
}
