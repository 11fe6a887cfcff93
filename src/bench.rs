//! `candela bench`: can this laptop hold the show? It plays the real show headless on the
//! machine's GPU through the real output path (slide layers, the output pass with the show's
//! geometry and calibration, text, counters counting up) while cues arrive over loopback UDP
//! at random moments, and reports what a technician needs to know before an event: frame
//! times against the 60 Hz budget, stalls, cue latency, memory and start-up times.

use crate::control::Engine;
use crate::osc::packet::encode_message;
use crate::osc::server::OscOptions;
use crate::output::{Headless, LinkOptions};
use rosc::OscType;
use serde::Serialize;
use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A frame must be done within this to keep 60 frames a second.
pub const BUDGET_MS: f64 = 1000.0 / 60.0;
const FPS: u32 = 60;

/// Five figures of a set of times, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Spread {
    /// None when there is nothing to measure.
    fn of(times: &[Duration]) -> Option<Spread> {
        let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        (!ms.is_empty()).then(|| Spread {
            p50: at(0.5),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        })
    }
}

/// Everything `candela bench` measured; `--json` prints it as it is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub adapter: String,
    pub canvas: String,
    /// Each output as "name WIDTHxHEIGHT".
    pub outputs: Vec<String>,
    pub seconds: f64,
    /// Frames drawn (the show draws only when the picture changes).
    pub frames: usize,
    /// From beginning a frame to its GPU work being done.
    pub frame_ms: Spread,
    pub budget_ms: f64,
    pub frames_over_budget: usize,
    /// Frames over twice the median: stalls, which show at slide changes.
    pub stalls: usize,
    pub cues: usize,
    /// From a cue's datagram sent to the frame showing its change done on the GPU (none
    /// when no cue's change could be timed).
    pub cue_latency_ms: Option<Spread>,
    /// From a cue's datagram sent to that frame handed to the GPU.
    pub cue_submitted_ms: Option<Spread>,
    pub peak_rss_mb: f64,
    /// From the process's start to the first black frame done, and to the first slide.
    pub first_black_ms: f64,
    pub first_slide_ms: f64,
    /// Each projector of the show as its PJLink client last heard it, at the end of the run.
    pub projectors: Vec<crate::control::ProjectorStatus>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |s: &Spread| {
            format!(
                "p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1} ms",
                s.p50, s.p95, s.p99, s.max
            )
        };
        let maybe = |m: &Option<Spread>| m.as_ref().map_or("none timed".into(), s);
        let share = 100.0 * self.frames_over_budget as f64 / self.frames.max(1) as f64;
        writeln!(f, "adapter             {}", self.adapter)?;
        writeln!(f, "canvas              {}", self.canvas)?;
        writeln!(f, "outputs             {}", self.outputs.join(", "))?;
        writeln!(
            f,
            "played              {:.1} s, {} frames drawn",
            self.seconds, self.frames
        )?;
        writeln!(f, "frame time          {}", s(&self.frame_ms))?;
        writeln!(
            f,
            "over {:.1} ms        {} frames ({share:.1}%)",
            self.budget_ms, self.frames_over_budget
        )?;
        writeln!(
            f,
            "stalls              {} frames over twice the median",
            self.stalls
        )?;
        writeln!(f, "cues                {} sent over UDP", self.cues)?;
        writeln!(f, "cue to frame done   {}", maybe(&self.cue_latency_ms))?;
        writeln!(f, "cue to submitted    {}", maybe(&self.cue_submitted_ms))?;
        writeln!(f, "peak memory (RSS)   {:.0} MB", self.peak_rss_mb)?;
        writeln!(
            f,
            "first black frame   {:.0} ms after launch",
            self.first_black_ms
        )?;
        write!(
            f,
            "first slide         {:.0} ms after launch",
            self.first_slide_ms
        )?;
        for p in &self.projectors {
            let how = match (&p.problem, p.reachable) {
                (Some(problem), _) => format!("does not answer: {problem}"),
                (None, true) => "answers".to_string(),
                (None, false) => "not heard from yet".to_string(),
            };
            write!(
                f,
                "\nprojector           {} {}:{} {how}",
                p.output, p.host, p.port
            )?;
        }
        Ok(())
    }
}

/// When this process started, as well as /proc tells (to 10 ms), else now.
pub fn launched() -> Instant {
    let now = Instant::now();
    let since = || -> Option<Duration> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name may hold spaces; fields after its closing parenthesis are plain.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let start_ticks: f64 = fields.get(19)?.parse().ok()?;
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        // Linux reports process times in USER_HZ, 100 a second on every architecture.
        Duration::try_from_secs_f64(uptime - start_ticks / 100.0).ok()
    };
    since().and_then(|d| now.checked_sub(d)).unwrap_or(now)
}

/// The most memory this process has held, in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What the cue sender sent, in order: when, and whether it is a cut whose latency counts.
type Sent = Arc<Mutex<VecDeque<(Instant, bool)>>>;

/// Sends cues to `to` at random moments until `stop`: cuts to a slide (timed), a `next`
/// with the show's own transition, and a count rising. Each cut goes two slides on from the
/// last, so it never asks for the slide already shown (after the `next` between them).
fn send_cues(
    to: SocketAddr,
    slides: Vec<String>,
    counter: Option<String>,
    sent: Sent,
    stop: Arc<AtomicBool>,
) {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        tracing::error!("bench: cannot open a UDP socket to send cues");
        return;
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.subsec_nanos() as u64);
    let mut random = crate::random::Xorshift::new(seed);
    let mut wait = Duration::from_millis(200);
    let mut target = 0;
    for i in 0usize.. {
        std::thread::sleep(wait);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (message, timed) = match (i % 3, &counter) {
            (1, _) => (encode_message("/candela/next", vec![]), false),
            (2, Some(c)) => (
                encode_message(&format!("/candela/count/{c}/add"), vec![OscType::Int(137)]),
                false,
            ),
            _ => {
                target = (target + 2) % slides.len();
                let slide = &slides[target];
                let args = vec![OscType::String(slide.clone()), OscType::Float(0.0)];
                (encode_message("/candela/goto", args), true)
            }
        };
        let mut queue = sent.lock().unwrap_or_else(|p| p.into_inner());
        queue.push_back((Instant::now(), timed));
        drop(queue);
        if let Err(e) = socket.send_to(&message, to) {
            tracing::error!("bench: cannot send a cue: {e}");
        }
        wait = Duration::from_millis(250 + random.below(650) as u64);
    }
}

/// Plays `engine`'s show for `seconds` and measures it.
pub fn run(engine: Engine, seconds: f64, launch: Instant) -> anyhow::Result<Report> {
    let show = engine.show();
    let slides: Vec<String> = show.slides.iter().map(|s| s.id.clone()).collect();
    let counter = show
        .counters
        .iter()
        .find(|c| c.sum.is_empty())
        .map(|c| c.id.clone());
    let canvas = show.size.to_string();
    let outputs = engine
        .stage()
        .outputs()
        .map(|o| format!("{} {}", o.name, o.size))
        .collect();
    let links = LinkOptions {
        osc: Some(OscOptions {
            binds: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            log: false,
        }),
        ..LinkOptions::default()
    };
    let mut headless = Headless::new(engine, links)?;
    let adapter = headless.adapter();
    headless.black();
    let first_black = launch.elapsed();
    headless.frame(Duration::ZERO);
    let first_slide = launch.elapsed();

    let to = *headless
        .player
        .osc_addrs()
        .first()
        .ok_or_else(|| anyhow::anyhow!("the bench's OSC listener did not start"))?;
    let sent: Sent = Arc::new(Mutex::new(VecDeque::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (sent, stop) = (sent.clone(), stop.clone());
        std::thread::spawn(move || send_cues(to, slides, counter, sent, stop))
    };

    let frame = Duration::from_secs_f64(1.0 / FPS as f64);
    let limit = Duration::from_secs_f64(seconds);
    let (mut frame_times, mut done_latency, mut submit_latency) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut cues = 0;
    let mut ticks: u32 = 1;
    loop {
        let now = headless.player.now();
        if now >= limit {
            break;
        }
        let step = headless.frame(now);
        let handled: Vec<(Instant, bool)> = {
            let mut queue = sent.lock().unwrap_or_else(|p| p.into_inner());
            let n = step.handled.min(queue.len());
            queue.drain(..n).collect()
        };
        cues += handled.len();
        if let Some(drawn) = step.drawn {
            frame_times.push(drawn.done - drawn.started);
            for (at, _) in handled.iter().filter(|(_, timed)| *timed) {
                submit_latency.push(drawn.submitted - *at);
                done_latency.push(drawn.done - *at);
            }
        }
        if step.handled == 0 {
            ticks += 1;
            headless.player.wait(frame * ticks);
        }
    }
    stop.store(true, Ordering::SeqCst);
    if sender.join().is_err() {
        tracing::error!("bench: the cue sender failed");
    }
    let frame_ms = Spread::of(&frame_times).unwrap_or_default();
    let over = |limit: f64| {
        frame_times
            .iter()
            .filter(|t| t.as_secs_f64() * 1000.0 > limit)
            .count()
    };
    Ok(Report {
        adapter,
        canvas,
        outputs,
        seconds,
        frames: frame_times.len(),
        frame_ms,
        budget_ms: BUDGET_MS,
        frames_over_budget: over(BUDGET_MS),
        stalls: over(2.0 * frame_ms.p50),
        cues,
        cue_latency_ms: Spread::of(&done_latency),
        cue_submitted_ms: Spread::of(&submit_latency),
        peak_rss_mb: peak_rss_mb(),
        first_black_ms: first_black.as_secs_f64() * 1000.0,
        first_slide_ms: first_slide.as_secs_f64() * 1000.0,
        projectors: headless.player.engine().status().projectors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_take_the_nearest_rank() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Spread::of(&times).unwrap();
        assert_eq!((s.p50, s.p95, s.p99, s.max), (51.0, 95.0, 99.0, 100.0));
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn this_process_started_before_now() {
        let launch = launched();
        assert!(launch <= Instant::now());
        assert!(peak_rss_mb() > 1.0);
    }
}
