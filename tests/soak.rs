//! A bounded soak: a real `candela play --headless` under mixed valid and invalid OSC, show
//! file reloads (good and bad) and rendering, all at once. No panic, still answering at the
//! end, and memory (RSS) grows less than 10% after the warm-up. A minute by default;
//! `CANDELA_SOAK_SECONDS=600` soaks longer.

mod support;

use candela::random::Xorshift;
use rosc::OscType;
use std::net::UdpSocket;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::Candela;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn copy_show(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("slides");
    std::fs::create_dir_all(to.join("portraits")).unwrap();
    std::fs::copy(from.join("show.toml"), to.join("show.toml")).unwrap();
    for entry in std::fs::read_dir(from.join("portraits")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join("portraits").join(path.file_name().unwrap())).unwrap();
    }
}

/// What a desk, a tablet and a confused laptop send: good cues and nonsense mixed.
fn osc_noise(to: std::net::SocketAddr, ids: Vec<String>, stop: Arc<AtomicBool>) -> u64 {
    use candela::osc::packet::encode_message;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = Xorshift::new(0x50a6);
    let mut sent = 0;
    while !stop.load(Ordering::SeqCst) {
        let packet = match rng.below(10) {
            0 => encode_message("/candela/next", vec![]),
            1 => encode_message(
                "/candela/goto",
                vec![OscType::String(rng.pick(&ids).clone())],
            ),
            2 => encode_message("/candela/goto", vec![OscType::String("no-such".into())]),
            3 => encode_message(
                "/candela/count/yorm-bopha/add",
                vec![OscType::Int(rng.below(50) as i32)],
            ),
            4 => encode_message("/candela/master", vec![OscType::Float(5.0)]),
            5 => encode_message("/candela/unknown/address", vec![OscType::Int(1)]),
            6 => encode_message("/candela/state", vec![]),
            7 => {
                let n = 1 + rng.below(200);
                (0..n).map(|_| rng.below(256) as u8).collect()
            }
            8 => encode_message("/candela/blackout", vec![OscType::Float(0.2)]),
            _ => encode_message("/candela/restore", vec![OscType::Float(0.2)]),
        };
        let _ = socket.send_to(&packet, to);
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    sent
}

#[test]
fn hours_of_cues_edits_and_frames_leave_memory_flat() {
    let seconds: u64 = std::env::var("CANDELA_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    copy_show(dir.path());
    let good = std::fs::read_to_string(dir.path().join("show.toml")).unwrap();
    let ids = support::slide_ids(dir.path());
    let candela = Candela::start(
        dir.path(),
        &[
            "--size",
            "640x360",
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
    );
    let pid = candela.child.id();
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let (addr, ids, stop) = (candela.addr, ids.clone(), stop.clone());
        std::thread::spawn(move || osc_noise(addr, ids, stop))
    };

    let start = Instant::now();
    let warm_up = Duration::from_secs((seconds / 4).max(10));
    let end = Duration::from_secs(seconds.max(20));
    let mut baseline = None;
    let mut samples = Vec::new();
    let mut edit = 0u32;
    while start.elapsed() < end {
        // A show file edit every 2 s: good versions (a name changed) and broken ones.
        edit += 1;
        let text = if edit.is_multiple_of(3) {
            good.replace("[[slides]]", "[[slides]\n")
        } else {
            good.replace("Yorm Bopha\"", &format!("Yorm Bopha {edit}\""))
        };
        let temp = dir.path().join(".show.toml.tmp");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, dir.path().join("show.toml")).unwrap();
        for _ in 0..2 {
            std::thread::sleep(Duration::from_secs(1));
            let rss = rss_kib(pid);
            if start.elapsed() >= warm_up {
                baseline.get_or_insert(rss);
                samples.push(rss);
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    let sent = noise.join().unwrap();

    // Still alive, still answering, and the last good version of the file playing.
    assert!(candela.child.id() == pid);
    let state_now = candela.state();
    assert!(state_now["slide"].is_string());
    let log = candela.log.lock().unwrap().join("\n");
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("show file reloaded"), "no reload happened");
    assert!(log.contains("cannot be played"), "no bad edit was reported");
    let baseline = baseline.expect("samples after the warm-up");
    // The last few samples, so one moment's peak (a photo being decoded) does not decide.
    let tail = &samples[samples.len().saturating_sub(5)..];
    let last = *tail.iter().min().unwrap();
    eprintln!(
        "soak: {seconds} s, {sent} OSC packets, {edit} edits; RSS after warm-up {} MiB, at the end {} MiB (max {} MiB)",
        baseline / 1024,
        last / 1024,
        samples.iter().max().unwrap() / 1024
    );
    assert!(
        (last as f64) < baseline as f64 * 1.10,
        "RSS grew from {baseline} KiB to {last} KiB: {samples:?}"
    );
}
