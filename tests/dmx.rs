//! candela as a media-server fixture: a real `candela play` listening for sACN and Art-Net on
//! loopback, driven by Python's `sacn` and `stupidArtnet` (independent senders, installed by
//! scripts/deps into .deps/python) and by packets made here, from 127.0.0.2 and .3 (listed in
//! the show's `[dmx] allow`) and .4 (not). The show is asked over OSC what it shows.
//!
//! The patch (tests/fixtures/dmx/show.toml): universe 7 (Art-Net 6), address 10: 10 master,
//! 11 master fine, 12 select, 13 control, 14 fade, 15 the counter "letters".

mod support;

use candela::dmx::sacn;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::browser::{Browser, Screen};
use support::{Candela, OSC_LISTENING, WEB_LISTENING, play};

const SHOW: &str = "tests/fixtures/dmx/show.toml";
const UNIVERSE: u16 = 7;
const MASTER: usize = 10;
const SELECT: usize = 12;
const CONTROL: usize = 13;
const COUNTER: usize = 15;

struct Dmx {
    candela: Candela,
    /// Where it keeps counts and where the show is: fresh, so each test starts from the file.
    _state: tempfile::TempDir,
    sacn: SocketAddr,
    artnet: SocketAddr,
}

/// `candela play` on `show`, listening for DMX on free loopback ports, found in its log.
fn start(show: impl AsRef<Path>) -> Dmx {
    start_with(show, false)
}

/// With `web`, the web remote too, and `candela.addr` is its address (else OSC's).
fn start_with(show: impl AsRef<Path>, web: bool) -> Dmx {
    let state = tempfile::tempdir().unwrap();
    let mut command = play();
    if web {
        command.args(["--http", "127.0.0.1:0"]);
    } else {
        command.arg("--no-http");
    }
    command
        .args(["--headless", "--fps", "30"])
        .arg("--state-dir")
        .arg(state.path())
        .args(["--osc", "127.0.0.1:0"])
        .args(["--sacn", "127.0.0.1:0", "--artnet", "127.0.0.1:0"])
        .arg(show.as_ref());
    let candela = Candela::spawn(command, if web { WEB_LISTENING } else { OSC_LISTENING });
    let bound = |what: &str| -> SocketAddr {
        assert!(candela.logged(what), "never logged {what:?}");
        let log = candela.log.lock().unwrap();
        let line = log
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in the log:\n{}", log.join("\n")));
        line.split("listening on udp ")
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    Dmx {
        sacn: bound("DMX: sACN universe 7 listening"),
        artnet: bound("DMX: Art-Net port address 6 listening"),
        candela,
        _state: state,
    }
}

/// The show file with `on_loss` set, in a folder of its own.
fn show_losing_to(on_loss: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(SHOW).unwrap();
    let path = dir.path().join("show.toml");
    std::fs::write(
        &path,
        text.replace("on_loss = \"hold\"", &format!("on_loss = {on_loss:?}")),
    )
    .unwrap();
    (dir, path)
}

/// One of the Python senders, driven a line at a time.
struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Python {
    fn start(args: &[String]) -> Python {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/python/bin/python3");
        assert!(
            python.exists(),
            "{} is missing: run scripts/deps (it installs Python's sacn and stupidArtnet there)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/dmx_sender.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        Python {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        }
    }

    fn sacn(bind: &str, to: SocketAddr, priority: u8) -> Python {
        Python::start(&[
            "sacn".into(),
            bind.into(),
            to.port().to_string(),
            UNIVERSE.to_string(),
            priority.to_string(),
        ])
    }

    fn artnet(bind: &str, to: SocketAddr) -> Python {
        Python::start(&[
            "artnet".into(),
            bind.into(),
            to.port().to_string(),
            (UNIVERSE - 1).to_string(),
        ])
    }

    /// Sends one line and waits until the sender has done it.
    fn say(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        assert_eq!(answer.trim(), "ok", "the Python sender, on {line:?}");
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A console made here: sACN data packets from `bind`, numbered, with this CID.
struct Console {
    socket: UdpSocket,
    to: SocketAddr,
    cid: [u8; 16],
    sequence: u8,
}

impl Console {
    fn new(bind: &str, to: SocketAddr) -> Console {
        let socket = UdpSocket::bind((bind, 0)).unwrap();
        Console {
            socket,
            to,
            cid: [bind.as_bytes()[bind.len() - 1]; 16],
            sequence: 0,
        }
    }

    /// A packet with the next sequence number; `edit` may change any byte of it.
    fn send(&mut self, levels: &[(usize, u8)], edit: impl Fn(&mut Vec<u8>)) {
        self.sequence = self.sequence.wrapping_add(1);
        let mut bytes = packet(self.cid, 100, self.sequence, 0, levels);
        edit(&mut bytes);
        self.socket.send_to(&bytes, self.to).unwrap();
    }
}

fn packet(
    cid: [u8; 16],
    priority: u8,
    sequence: u8,
    options: u8,
    levels: &[(usize, u8)],
) -> Vec<u8> {
    let mut slots = [0u8; 512];
    for &(ch, v) in levels {
        slots[ch - 1] = v;
    }
    sacn::packet(cid, priority, sequence, options, UNIVERSE, &slots)
}

/// Packets every 23 ms (a console's 44 a second) for `time`.
fn stream(time: Duration, mut send: impl FnMut()) {
    let end = Instant::now() + time;
    while Instant::now() < end {
        send();
        std::thread::sleep(Duration::from_millis(23));
    }
}

/// The slides the show went through while `during` ran, and until `last` showed (a bounded
/// while), as read back from its state as fast as it answers.
fn slides_until(candela: &Candela, last: &str, during: impl FnOnce() + Send) -> Vec<String> {
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let finished = done.clone();
        scope.spawn(move || {
            during();
            finished.store(true, Ordering::SeqCst);
        });
        let mut seen: Vec<String> = Vec::new();
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            let slide = candela.state()["slide"].as_str().unwrap().to_string();
            if seen.last() != Some(&slide) {
                seen.push(slide.clone());
            }
            if slide == last && done.load(Ordering::SeqCst) {
                return seen;
            }
            assert!(Instant::now() < end, "never {last}: {seen:?}");
        }
    })
}

#[test]
fn python_sacn_drives_select_master_control_and_a_counter() {
    let dmx = start(SHOW);
    let c = &dmx.candela;
    let mut desk = Python::sacn("127.0.0.2", dmx.sacn, 100);
    desk.say(&format!("set {MASTER} 255 {SELECT} 50"));
    let s = c.until("slide b at full", |s| {
        s["slide"] == "b" && s["master"] == 1.0
    });
    let sources = &s["dmx"]["sources"];
    assert_eq!(sources.as_array().unwrap().len(), 1, "{s}");
    assert_eq!(sources[0]["protocol"], "sACN");
    assert_eq!(sources[0]["from"], "127.0.0.2");
    assert_eq!(sources[0]["priority"], 100);
    assert!(sources[0]["age"].as_f64().unwrap() < 2.0, "{s}");
    // 16 bit: 0x7f80 of the 8-bit full 0xff00 is half.
    desk.say(&format!("set {MASTER} 127 {} 128", MASTER + 1));
    c.until("master at half", |s| {
        (s["master"].as_f64().unwrap() - 0.5).abs() < 0.002
    });
    desk.say(&format!("set {CONTROL} 35"));
    c.until("blackout from the control channel", |s| {
        s["blackout"] == true
    });
    desk.say(&format!("set {CONTROL} 0"));
    desk.say(&format!("set {CONTROL} 45"));
    c.until("restored", |s| s["blackout"] == false);
    desk.say(&format!("set {CONTROL} 15"));
    c.until("next slide", |s| s["slide"] == "c");
    desk.say(&format!("set {COUNTER} 5"));
    c.until("5 letters added", |s| s["counters"]["letters"] == 15);
}

#[test]
fn python_artnet_drives_the_show_and_polls_are_answered() {
    let dmx = start(SHOW);
    let c = &dmx.candela;
    let mut desk = Python::artnet("127.0.0.3", dmx.artnet);
    desk.say(&format!("set {MASTER} 255 {SELECT} 100"));
    let s = c.until("slide c", |s| s["slide"] == "c");
    assert_eq!(s["dmx"]["sources"][0]["protocol"], "Art-Net", "{s}");
    assert_eq!(s["dmx"]["sources"][0]["from"], "127.0.0.3", "{s}");

    // ArtPoll, as the spec lays it out: ID, OpPoll 0x2000 little-endian, version 14.
    let poll = b"Art-Net\0\x00\x20\x00\x0e\x00\x00";
    let poller = UdpSocket::bind("127.0.0.2:0").unwrap();
    poller
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    poller.send_to(poll, dmx.artnet).unwrap();
    let mut buf = [0u8; 1024];
    let (len, from) = poller
        .recv_from(&mut buf)
        .expect("an ArtPollReply within 1 s");
    assert_eq!(from, dmx.artnet);
    let reply = parse_poll_reply(&buf[..len]);
    assert_eq!(reply.ip, [127, 0, 0, 1]);
    assert_eq!(reply.style, 0x02, "StMedia: a media server");
    assert_eq!(reply.short_name, "candela");
    assert_eq!(reply.port_address, UNIVERSE - 1);
    assert!(reply.outputs_dmx);

    // A poller not in [dmx] allow is not answered.
    let stranger = UdpSocket::bind("127.0.0.4:0").unwrap();
    stranger
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    stranger.send_to(poll, dmx.artnet).unwrap();
    assert!(
        stranger.recv_from(&mut buf).is_err(),
        "an unlisted poller answered"
    );
}

struct PollReply {
    ip: [u8; 4],
    style: u8,
    short_name: String,
    port_address: u16,
    outputs_dmx: bool,
}

/// ArtPollReply, read from the Art-Net 4 spec's table (offsets in bytes): 0 ID, 8 OpCode
/// 0x2100 LE, 10 IP, 14 Port 0x1936 LE, 18 NetSwitch, 19 SubSwitch, 26 ShortName[18],
/// 44 LongName[64], 172 NumPorts (hi, lo), 174 PortTypes[4] (bit 7: output), 190 SwOut[4],
/// 200 Style; 207 bytes at least.
fn parse_poll_reply(b: &[u8]) -> PollReply {
    assert!(
        b.len() >= 207,
        "an ArtPollReply is at least 207 bytes, not {}",
        b.len()
    );
    assert_eq!(&b[..8], b"Art-Net\0");
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 0x2100, "OpPollReply");
    assert_eq!(
        u16::from_le_bytes([b[14], b[15]]),
        0x1936,
        "the port is always 6454"
    );
    let ports = u16::from_be_bytes([b[172], b[173]]);
    assert!((1..=4).contains(&ports), "NumPorts {ports}");
    let name = &b[26..44];
    let end = name
        .iter()
        .position(|&c| c == 0)
        .expect("ShortName is NUL-terminated");
    PollReply {
        ip: b[10..14].try_into().unwrap(),
        style: b[200],
        short_name: String::from_utf8(name[..end].to_vec()).unwrap(),
        port_address: u16::from(b[18] & 0x7f) << 8
            | u16::from(b[19] & 0x0f) << 4
            | u16::from(b[190] & 0x0f),
        outputs_dmx: b[174] & 0x80 != 0,
    }
}

#[test]
fn a_fade_on_select_goes_straight_to_the_end_slide() {
    let dmx = start(SHOW);
    let c = &dmx.candela;
    let mut desk = Python::sacn("127.0.0.2", dmx.sacn, 100);
    desk.say(&format!("set {MASTER} 255 {SELECT} 10"));
    c.until("slide a", |s| s["slide"] == "a");
    // Through 50, 100 and 150, each a tagged slide, in 2 s.
    let seen = slides_until(c, "e", || desk.say(&format!("fade {SELECT} 10 200 2")));
    assert_eq!(seen, ["a", "e"], "slides shown during the fade");
}

#[test]
fn the_higher_priority_drives_and_equals_merge_htp() {
    let dmx = start(SHOW);
    let c = &dmx.candela;
    let mut high = Python::sacn("127.0.0.2", dmx.sacn, 150);
    let mut low = Python::sacn("127.0.0.3", dmx.sacn, 100);
    high.say(&format!("set {MASTER} 100 {SELECT} 50"));
    low.say(&format!("set {MASTER} 200 {SELECT} 100"));
    let s = c.until("the priority 150 console's slide b", |s| {
        s["slide"] == "b"
            && s["dmx"]["settling"] == false
            && s["dmx"]["sources"].as_array().is_some_and(|a| a.len() == 2)
    });
    assert!(
        (s["master"].as_f64().unwrap() - 100.0 / 255.0).abs() < 0.01,
        "{s}"
    );
    low.say("priority 150");
    // Equal now: each channel's higher value, select 100 and the master at 200.
    let s = c.until("HTP: slide c", |s| s["slide"] == "c");
    assert!(
        (s["master"].as_f64().unwrap() - 200.0 / 255.0).abs() < 0.01,
        "{s}"
    );
}

#[test]
fn stale_preview_other_start_codes_and_unlisted_senders_are_ignored() {
    let dmx = start(SHOW);
    let c = &dmx.candela;
    let mut desk = Console::new("127.0.0.2", dmx.sacn);
    let mut stranger = Console::new("127.0.0.4", dmx.sacn);
    let look = |select: u8| [(MASTER, 255), (SELECT, select)];
    stream(Duration::from_millis(1800), || {
        desk.send(&look(50), |_| {});
        stranger.send(&look(200), |_| {});
    });
    c.until("slide b", |s| s["slide"] == "b");
    let seen = slides_until(c, "a", || {
        // Each for longer than a value must hold to count; the stranger all along.
        stream(Duration::from_millis(400), || {
            let behind = desk.sequence.wrapping_sub(5);
            let old = packet(desk.cid, 100, behind, 0, &look(100));
            desk.socket.send_to(&old, desk.to).unwrap();
            stranger.send(&look(200), |_| {});
        });
        stream(Duration::from_millis(400), || {
            desk.send(&look(150), |p| p[112] = 0x80); // preview data
            stranger.send(&look(200), |_| {});
        });
        stream(Duration::from_millis(400), || {
            desk.send(&look(100), |p| p[125] = 0xdd); // per-address priorities
            stranger.send(&look(200), |_| {});
        });
        stream(Duration::from_millis(400), || {
            desk.send(&look(10), |_| {});
            stranger.send(&look(200), |_| {});
        });
    });
    assert_eq!(seen, ["b", "a"], "slides shown");
    let s = c.state();
    assert!(s["dmx"]["refused"].as_u64().unwrap() > 0, "{s}");
    let sources = s["dmx"]["sources"].as_array().unwrap();
    assert!(
        sources.iter().all(|s| s["from"] == "127.0.0.2"),
        "{sources:?}"
    );
}

#[test]
fn on_loss_hold_keeps_the_last_look() {
    let dmx = start(SHOW);
    let c = &dmx.candela;
    let mut desk = Python::sacn("127.0.0.2", dmx.sacn, 100);
    desk.say(&format!("set {MASTER} 255 {SELECT} 50"));
    c.until("slide b", |s| s["slide"] == "b");
    desk.say("stop");
    let s = c.until("the terminated stream lost", |s| {
        s["dmx"]["sources"] == serde_json::json!([])
    });
    assert_eq!(s["slide"], "b", "{s}");
    assert_eq!(s["blackout"], false, "{s}");
    assert_eq!(s["master"], 1.0, "{s}");
}

#[test]
fn on_loss_blackout_on_stream_terminated_and_on_silence() {
    let (_dir, show) = show_losing_to("blackout");
    let dmx = start(&show);
    let c = &dmx.candela;
    let mut desk = Python::sacn("127.0.0.2", dmx.sacn, 100);
    desk.say(&format!("set {MASTER} 255 {SELECT} 50"));
    c.until("slide b", |s| s["slide"] == "b" && s["blackout"] == false);
    let stopped = Instant::now();
    desk.say("stop");
    c.until("blackout at once on Stream_Terminated", |s| {
        s["blackout"] == true
    });
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "not at once: {:?}",
        stopped.elapsed()
    );
    // Another console comes and goes quiet: back on, then dark 2.5 s after its last packet.
    let mut other = Console::new("127.0.0.3", dmx.sacn);
    // A new console is learnt for 1.5 s before it is acted on.
    stream(Duration::from_millis(1800), || {
        other.send(&[(MASTER, 255), (SELECT, 50)], |_| {})
    });
    c.until("restored by the new console", |s| s["blackout"] == false);
    let quiet = Instant::now();
    c.until("blackout on silence", |s| s["blackout"] == true);
    let after = quiet.elapsed();
    assert!(
        after >= Duration::from_millis(2300),
        "dark after {after:?} of silence, before 2.5 s"
    );
}

#[test]
fn the_web_remote_shows_the_desks_sending() {
    let dmx = start_with(SHOW, true);
    let mut desk = Python::sacn("127.0.0.2", dmx.sacn, 120);
    desk.say(&format!("set {MASTER} 255"));
    let browser = Browser::open(
        "dmx",
        Screen::Laptop {
            width: 1280,
            height: 900,
        },
    );
    browser.go(&format!("http://{}/", dmx.candela.addr));
    let text = browser.until(
        "the sACN console in the DMX list",
        "const t = document.getElementById('dmx').textContent; \
         return !document.getElementById('dmx-box').classList.contains('hidden') \
           && t.includes('sACN from 127.0.0.2 · priority 120') && t;",
    );
    assert!(text.as_str().unwrap().contains("s ago"), "{text}");
}
