//! OSC with real sockets on 127.0.0.1: every native address, each desk dialect, press/release
//! and debounce, TCP with both framings split and coalesced, bundles with past and future time
//! tags, the allowlist, replies, and each hostile case from the hardening work. End-to-end
//! cases run against a real `candela play --headless`; framing, bundles, the allowlist and
//! hostile input run against the server in this process (`osc::server::run`), so that a panic
//! in any of its tasks fails the test.

mod support;

use candela::inbox::{self, Incoming};
use candela::osc::client;
use candela::osc::framing::{self, Framing, StreamDecoder};
use candela::osc::packet;
use candela::osc::server;
use candela::show::Show;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};
use support::Candela;

/// Starts a headless show listening on a free loopback port, and waits until it listens.
fn start(show: &str) -> Candela {
    // A fresh place for kept counts: each show starts from its own file's values.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let state_dir =
        std::env::temp_dir().join(format!("candela-osc-state-{}-{n}", std::process::id()));
    start_keeping(show, &state_dir)
}

/// Starts a headless show keeping its counts in `state_dir`.
fn start_keeping(show: &str, state_dir: &std::path::Path) -> Candela {
    Candela::start(
        show,
        &[
            "--size",
            "320x180",
            "--state-dir",
            state_dir.to_str().unwrap(),
        ],
    )
}

/// The OSC server in this process, serving a show whose engine runs on a thread of its own:
/// real sockets on loopback, and any panic in any of the server's tasks fails the test,
/// which a child process's log cannot show.
struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<Result<(), server::Panicked>>>,
}

fn serve(show: &str) -> Served {
    let (show, _) = Show::load(std::path::Path::new(show)).unwrap();
    let settings = server::Settings {
        osc: show.osc.clone(),
        log: false,
    };
    let (sender, requests) = std::sync::mpsc::channel::<Incoming>();
    let began = Instant::now();
    // The engine is not Send: it is made on the thread that runs it.
    std::thread::spawn(move || {
        let counts = candela::counts::Counts::from_show(&show);
        let mut engine = candela::control::Engine::new(show, counts, Duration::ZERO).unwrap();
        for incoming in requests {
            inbox::handle(&mut engine, incoming, began.elapsed());
        }
    });
    let sender = std::sync::Mutex::new(sender);
    let deliver: inbox::Deliver = std::sync::Arc::new(move |incoming| {
        let _ = sender.lock().unwrap().send(incoming);
    });
    let sockets = server::Sockets::bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    let addr = sockets.local_addrs()[0];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(server::run(sockets, settings, deliver, async {
            let _ = stopped.await;
        }))
    });
    Served {
        addr,
        stop: Some(stop),
        server: Some(server),
    }
}

impl Drop for Served {
    /// Stops the server and fails the test if any of its tasks panicked.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = self.server.take().map(|s| s.join());
        if !std::thread::panicking() {
            match result {
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(panic))) => panic!("{panic}"),
                _ => panic!("the OSC server itself panicked"),
            }
        }
    }
}

/// Sends and waits for the reply: a generous while, since the test machine may be busy.
fn udp(to: SocketAddr, address: &str, args: Vec<OscType>) -> Option<(String, Value)> {
    udp_within(to, address, args, Duration::from_secs(5))
}

fn udp_within(
    to: SocketAddr,
    address: &str,
    args: Vec<OscType>,
    wait: Duration,
) -> Option<(String, Value)> {
    let reply = client::send(to, None, address, args, wait).unwrap()?;
    json_reply(reply)
}

fn json_reply(reply: packet::Message) -> Option<(String, Value)> {
    let Some(OscType::String(body)) = reply.args.first() else {
        panic!("reply without a JSON string: {reply:?}");
    };
    Some((reply.address, serde_json::from_str(body).unwrap()))
}

fn ok(to: SocketAddr, address: &str, args: Vec<OscType>) -> Value {
    let (reply_address, body) =
        udp(to, address, args.clone()).unwrap_or_else(|| panic!("no reply to {address}"));
    assert_eq!(reply_address, format!("/candela/reply{address}"));
    assert_eq!(body["status"], "ok", "{address} {args:?}: {body}");
    assert_eq!(body["address"], address);
    body["data"].clone()
}

fn error(to: SocketAddr, address: &str, args: Vec<OscType>) -> String {
    let (_, body) =
        udp(to, address, args.clone()).unwrap_or_else(|| panic!("no reply to {address}"));
    assert_eq!(body["status"], "error", "{address} {args:?}: {body}");
    body["data"].as_str().unwrap().to_string()
}

/// Over TCP, so shows that list no one in `[osc] allow` answer it in full.
fn state(to: SocketAddr) -> Value {
    let body = ask_tcp(to, "/candela/state", vec![]);
    assert_eq!(body["status"], "ok", "{body}");
    body["data"].clone()
}

/// Sends without waiting for a reply (desks expect none).
fn fire(to: SocketAddr, address: &str, args: Vec<OscType>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(&packet::encode_message(address, args), to)
        .unwrap();
}

/// Waits (a bounded while) for the show's state to satisfy `f`.
fn until(to: SocketAddr, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let s = state(to);
        if f(&s) {
            return s;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; state {s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Past the debounce window, so the same message counts again.
fn pause() {
    std::thread::sleep(Duration::from_millis(150));
}

fn s(v: &str) -> OscType {
    OscType::String(v.into())
}

#[test]
fn every_native_address() {
    let c = start("tests/fixtures/osc/show.toml");
    let to = c.addr;
    assert_eq!(ok(to, "/candela/ping", vec![]), "pong");
    assert_eq!(state(to)["slide"], "a");
    assert_eq!(ok(to, "/candela/next", vec![])["slide"], "b");
    assert_eq!(ok(to, "/candela/prev", vec![])["slide"], "a");
    assert_eq!(ok(to, "/candela/goto", vec![s("c")])["slide"], "c");
    assert_eq!(
        ok(
            to,
            "/candela/goto",
            vec![OscType::Int(2), OscType::Float(0.0)]
        )["slide"],
        "b"
    );
    assert_eq!(
        ok(to, "/CANDELA/GoTo", vec![s("1")])["slide"],
        "a",
        "addresses ignore case"
    );
    assert_eq!(ok(to, "/candela/cue/5", vec![])["slide"], "c");
    assert_eq!(
        ok(to, "/candela/master", vec![OscType::Float(0.5)])["master"],
        0.5
    );
    assert_eq!(ok(to, "/candela/blackout", vec![])["blackout"], true);
    assert_eq!(ok(to, "/candela/restore", vec![])["blackout"], false);
    assert_eq!(ok(to, "/candela/cycle/pause", vec![])["paused"], true);
    assert_eq!(ok(to, "/candela/cycle/resume", vec![])["paused"], false);
    ok(to, "/candela/cycle/hold", vec![OscType::Int(30)]);
    assert_eq!(
        ok(to, "/candela/test", vec![s("circles")])["test_pattern"],
        "circles"
    );
    assert_eq!(ok(to, "/candela/test", vec![])["test_pattern"], "grid");
    assert_eq!(
        ok(to, "/candela/test", vec![s("off")])["test_pattern"],
        "off"
    );
    assert_eq!(
        ok(to, "/candela/count/letters", vec![OscType::Int(42)])["counters"]["letters"],
        42
    );
    assert_eq!(
        ok(to, "/candela/count/letters/add", vec![s("8")])["counters"]["letters"],
        50
    );

    // Bad input: an error reply that says why, and the show goes on.
    assert!(error(to, "/candela/nonsense", vec![]).contains("unknown address"));
    assert!(error(to, "/candela/goto", vec![s("nobody")]).contains("nobody"));
    assert!(error(to, "/candela/goto", vec![OscType::Int(99)]).contains("99"));
    assert!(error(to, "/candela/master", vec![OscType::Float(2.0)]).contains("0 to 1"));
    assert!(error(to, "/candela/next", vec![OscType::Float(f32::NAN)]).contains("fade"));
    assert!(error(to, "/candela/count/letters", vec![OscType::Int(-1)]).contains("whole number"));
    assert!(
        error(to, "/candela/count/letters", vec![OscType::Double(1e30)]).contains("whole number")
    );
    assert!(error(to, "/candela/count/nobody", vec![OscType::Int(1)]).contains("nobody"));
    assert!(error(to, "/candela/cue/99", vec![]).contains("99"));
    assert_eq!(state(to)["counters"]["letters"], 50);
}

#[test]
fn desk_dialects_fire_show_cues() {
    let c = start("tests/fixtures/osc/show.toml");
    let to = c.addr;
    // ETC Eos: cue 12.5 of list 1 fired; its chatter changes nothing.
    fire(
        to,
        "/eos/out/event/cue/1/12.5/fire",
        vec![s("12.5 Speaker")],
    );
    until(to, "Eos cue 1/12.5", |s| s["slide"] == "b");
    fire(to, "/eos/out/active/cue/1/5", vec![OscType::Float(0.5)]);
    fire(to, "/eos/out/event/sub/3", vec![OscType::Int(1)]);
    pause();
    assert_eq!(state(to)["slide"], "b");
    // grandMA3: Go+ pressed on an executor whose cue is named "Finale"; the release does nothing.
    fire(
        to,
        "/14.14.1.6.3",
        vec![s("Go+"), OscType::Int(1), s("Finale")],
    );
    until(to, "grandMA3 Finale", |s| s["blackout"] == true);
    ok(to, "/candela/restore", vec![]);
    fire(to, "/14.14.1.6.3", vec![s("Go+"), OscType::Int(0)]);
    pause();
    assert_eq!(state(to)["blackout"], false);
    // Hog 4: the cue as a float, as a string, and in the path.
    fire(to, "/hog/playback/go/0", vec![OscType::Float(5.0)]);
    until(to, "Hog cue 5", |s| s["slide"] == "c");
    fire(to, "/hog/playback/go/0", vec![s("12.5")]);
    until(to, "Hog cue 12.5", |s| s["slide"] == "b");
    fire(to, "/hog/playback/go/0/5", vec![]);
    until(to, "Hog cue 5 in the path", |s| s["slide"] == "c");
    // A user mapping (MagicQ macros): next.
    fire(to, "/magicq/macro/12", vec![OscType::Int(1)]);
    until(to, "the MagicQ mapping", |s| s["slide"] == "a");
    // grandMA3's SendOSC to candela's own address.
    assert_eq!(ok(to, "/candela/cue/5", vec![])["slide"], "c");
}

#[test]
fn press_fires_release_does_not_and_doubles_fire_once() {
    let c = start("tests/fixtures/osc/show.toml");
    let to = c.addr;
    // A key sends press (1.0: also a 1 s fade) and release (0.0): one step.
    assert_eq!(
        ok(to, "/candela/next", vec![OscType::Float(1.0)])["slide"],
        "b"
    );
    let short = Duration::from_millis(500);
    assert!(
        udp_within(to, "/candela/next", vec![OscType::Float(0.0)], short).is_none(),
        "a release gets no reply"
    );
    assert!(udp_within(to, "/candela/next", vec![OscType::Bool(false)], short).is_none());
    pause();
    assert_eq!(state(to)["slide"], "b");
    // The same message twice within milliseconds (two network interfaces): one step.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let bytes = packet::encode_message("/candela/next", vec![]);
    socket.send_to(&bytes, to).unwrap();
    socket.send_to(&bytes, to).unwrap();
    pause();
    assert_eq!(state(to)["slide"], "c");
    pause();
    assert_eq!(
        ok(to, "/candela/next", vec![])["slide"],
        "a",
        "after the window it counts again"
    );
}

fn read_replies(stream: &mut TcpStream, want: usize) -> (Vec<(String, Value)>, Option<Framing>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut decoder = StreamDecoder::new(64 * 1024);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < want {
        let n = stream.read(&mut buf).expect("a reply in time");
        assert!(n > 0, "connection closed");
        for frame in decoder.push(&buf[..n]).unwrap() {
            let message = packet::decode(&frame).unwrap().remove(0).message;
            out.push(json_reply(message).unwrap());
        }
    }
    (out, decoder.framing())
}

#[test]
fn tcp_with_both_framings_split_and_coalesced() {
    let c = serve("tests/fixtures/osc/show.toml");
    for framing in [Framing::LengthPrefixed, Framing::Slip] {
        // One request written a byte at a time.
        let mut stream = TcpStream::connect(c.addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let framed = framing::encode(framing, &packet::encode_message("/candela/ping", vec![]));
        for b in &framed {
            stream.write_all(&[*b]).unwrap();
        }
        let (replies, seen) = read_replies(&mut stream, 1);
        assert_eq!(seen, Some(framing), "replies use the connection's framing");
        assert_eq!(replies[0].1["data"], "pong");
        // Two requests in one write.
        let mut both = framing::encode(
            framing,
            &packet::encode_message("/candela/goto", vec![s("b")]),
        );
        both.extend(framing::encode(
            framing,
            &packet::encode_message("/candela/state", vec![]),
        ));
        stream.write_all(&both).unwrap();
        let (replies, _) = read_replies(&mut stream, 2);
        assert_eq!(replies[0].1["address"], "/candela/goto");
        assert_eq!(replies[1].1["data"]["slide"], "b");
        ok(c.addr, "/candela/goto", vec![s("a")]);
        pause();
    }
    // The Eos console's own ping bytes, framed for TCP 1.0.
    let mut stream = TcpStream::connect(c.addr).unwrap();
    stream
        .write_all(&[
            0, 0, 0, 0x10, 0x2f, 0x65, 0x6f, 0x73, 0x2f, 0x70, 0x69, 0x6e, 0x67, 0, 0, 0, 0x2c, 0,
            0, 0,
        ])
        .unwrap();
    // A broken SLIP stream closes only its own connection.
    let mut broken = TcpStream::connect(c.addr).unwrap();
    broken.write_all(&[0xC0, 0x2f, 0xDB, 0x00, 0xC0]).unwrap();
    broken
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        matches!(broken.read(&mut buf), Ok(0) | Err(_)),
        "the broken connection is closed"
    );
    let mut good = TcpStream::connect(c.addr).unwrap();
    good.write_all(&framing::encode(
        Framing::Slip,
        &packet::encode_message("/candela/ping", vec![]),
    ))
    .unwrap();
    assert_eq!(read_replies(&mut good, 1).0[0].1["data"], "pong");
}

fn bundle(at: OscTime, messages: Vec<(&str, Vec<OscType>)>) -> Vec<u8> {
    let content = messages
        .into_iter()
        .map(|(addr, args)| {
            OscPacket::Message(OscMessage {
                addr: addr.into(),
                args,
            })
        })
        .collect();
    rosc::encoder::encode(&OscPacket::Bundle(OscBundle {
        timetag: at,
        content,
    }))
    .unwrap()
}

#[test]
fn bundles_run_now_or_at_their_time() {
    let c = serve("tests/fixtures/osc/show.toml");
    let to = c.addr;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Immediately: both messages, in order.
    let now = OscTime {
        seconds: 0,
        fractional: 1,
    };
    socket
        .send_to(
            &bundle(
                now,
                vec![
                    ("/candela/goto", vec![s("b")]),
                    ("/candela/goto", vec![s("c")]),
                ],
            ),
            to,
        )
        .unwrap();
    until(to, "the immediate bundle", |s| s["slide"] == "c");
    // A time tag in the past runs now.
    let past = OscTime::try_from(SystemTime::now() - Duration::from_secs(10)).unwrap();
    socket
        .send_to(&bundle(past, vec![("/candela/goto", vec![s("a")])]), to)
        .unwrap();
    until(to, "the past bundle", |s| s["slide"] == "a");
    // 600 ms ahead: not before, but soon after.
    let sent = Instant::now();
    let future = OscTime::try_from(SystemTime::now() + Duration::from_millis(600)).unwrap();
    socket
        .send_to(&bundle(future, vec![("/candela/goto", vec![s("b")])]), to)
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(
        state(to)["slide"],
        "a",
        "a future bundle waits for its time"
    );
    until(to, "the future bundle", |s| s["slide"] == "b");
    assert!(sent.elapsed() >= Duration::from_millis(550));
    // Nested bundles are flattened in order.
    let inner = bundle(now, vec![("/candela/goto", vec![s("c")])]);
    let outer = OscPacket::Bundle(OscBundle {
        timetag: now,
        content: vec![
            OscPacket::Message(OscMessage {
                addr: "/candela/goto".into(),
                args: vec![s("a")],
            }),
            rosc::decoder::decode_udp(&inner).unwrap().1,
        ],
    });
    socket
        .send_to(&rosc::encoder::encode(&outer).unwrap(), to)
        .unwrap();
    until(to, "the nested bundle", |s| s["slide"] == "c");
}

#[test]
fn senders_outside_the_allowlist_are_denied() {
    let c = serve("tests/fixtures/osc/guarded.toml");
    // Padded, so that the reply is no bigger than the message (the rule for unlisted senders).
    let padding = vec![s(&"x".repeat(200))];
    for address in ["/candela/next", "/candela/state"] {
        let (_, body) = udp(c.addr, address, padding.clone()).expect("a denied reply");
        assert_eq!(body["status"], "denied", "{body}");
    }
    // A desk's message from outside does nothing either (no reply to check: it stays quiet).
    fire(c.addr, "/eos/out/event/cue/1/1/fire", vec![]);
}

#[test]
fn fuzzed_packets_leave_the_show_answering() {
    let c = serve("tests/fixtures/osc/show.toml");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let valid = packet::encode_message("/candela/goto", vec![s("b"), OscType::Float(0.5)]);
    let mut rng = candela::random::Xorshift::new(0x9E37_79B9_7F4A_7C15);
    let mut rand = move || rng.draw();
    for i in 0..3000 {
        let mut bytes = if i % 2 == 0 {
            let len = (rand() % 200) as usize;
            (0..len).map(|_| rand() as u8).collect()
        } else {
            valid.clone()
        };
        // Mutate: flip, truncate, or extend.
        for _ in 0..(rand() % 4) {
            if bytes.is_empty() {
                break;
            }
            let at = (rand() as usize) % bytes.len();
            match rand() % 3 {
                0 => bytes[at] ^= rand() as u8,
                1 => bytes.truncate(at),
                _ => bytes.insert(at, rand() as u8),
            }
        }
        socket.send_to(&bytes, c.addr).unwrap();
    }
    for _ in 0..20 {
        let mut stream = TcpStream::connect(c.addr).unwrap();
        let len = (rand() % 3000) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
        let _ = stream.write_all(&junk);
    }
    // Still there, still right. The flood overflowed the socket's queue, so the kernel may drop
    // a datagram or two while it drains: ask again, as any UDP client would.
    let pong = (0..20)
        .find_map(|_| udp_within(c.addr, "/candela/ping", vec![], Duration::from_millis(500)));
    assert_eq!(pong.expect("a pong after the flood").1["data"], "pong");
    let mut good = TcpStream::connect(c.addr).unwrap();
    good.write_all(&framing::encode(
        Framing::LengthPrefixed,
        &packet::encode_message("/candela/ping", vec![]),
    ))
    .unwrap();
    assert_eq!(read_replies(&mut good, 1).0[0].1["data"], "pong");
}

#[test]
fn candela_send_prints_the_reply() {
    let c = start("tests/fixtures/osc/show.toml");
    let to = c.addr.to_string();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_candela"))
            .arg("send")
            .arg("--to")
            .arg(&to)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["/candela/goto", "s:c"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("/candela/reply/candela/goto {") && stdout.contains("\"slide\":\"c\""),
        "{stdout}"
    );
    let out = run(&["--tcp", "/candela/goto", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"status\":\"error\""));
    let out = run(&["--slip", "/candela/ping"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("pong"));
}

/// A message as received: address and arguments.
type Received = (String, Vec<OscType>);

#[test]
fn feedback_targets_get_state_changes_and_a_heartbeat() {
    let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("candela-feedback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let show = dir.join("show.toml");
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/osc/show.toml"
    ))
    .unwrap();
    let target = listener.local_addr().unwrap();
    std::fs::write(
        &show,
        format!("{base}\n[[osc.feedback]]\ntarget = \"{target}\"\n"),
    )
    .unwrap();
    let c = start(show.to_str().unwrap());

    // Collects what arrives for a bounded while, until `want` has been seen.
    let receive_until = |want: &dyn Fn(&[Received]) -> bool| {
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 2048];
        while Instant::now() < end && !want(&got) {
            if let Ok((n, _)) = listener.recv_from(&mut buf) {
                for t in packet::decode(&buf[..n]).unwrap() {
                    got.push((t.message.address, t.message.args));
                }
            }
        }
        got
    };
    let has = |got: &[Received], address: &str, arg: &OscType| {
        got.iter()
            .any(|(a, args)| a == address && args.first() == Some(arg))
    };
    let got = receive_until(&|g| {
        has(g, "/candela/state/slide", &s("a")) && g.iter().any(|(a, _)| a == "/candela/heartbeat")
    });
    assert!(has(&got, "/candela/state/slide", &s("a")), "{got:?}");
    assert!(
        has(&got, "/candela/state/counters/letters", &OscType::Int(10)),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(a, _)| a == "/candela/heartbeat"),
        "{got:?}"
    );
    ok(c.addr, "/candela/goto", vec![s("b")]);
    let got = receive_until(&|g| has(g, "/candela/state/slide", &s("b")));
    assert!(has(&got, "/candela/state/slide", &s("b")), "{got:?}");
    // Only what changed is sent again.
    assert!(
        !got.iter()
            .any(|(a, _)| a == "/candela/state/counters/letters"),
        "{got:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn counts_survive_a_kill_and_never_go_down_by_accident() {
    let state_dir = std::env::temp_dir().join(format!("candela-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state_dir);
    let show = "tests/fixtures/osc/show.toml";
    let mut c = start_keeping(show, &state_dir);
    assert_eq!(
        ok(c.addr, "/candela/count/letters", vec![OscType::Int(89_734)])["counters"]["letters"],
        89_734
    );
    // Lower by mistake: refused, with a reply that says how to do it on purpose.
    assert!(error(c.addr, "/candela/count/letters", vec![OscType::Int(100)]).contains("correct"));
    assert_eq!(
        ok(
            c.addr,
            "/candela/count/letters/add",
            vec![OscType::Int(266)]
        )["counters"]["letters"],
        90_000
    );
    // Kept within a fraction of a second: once the file on disk holds it, the process dies
    // without warning.
    let (loaded, _) = Show::load(std::path::Path::new(show)).unwrap();
    let file = candela::counts::store::file_for(&state_dir, &loaded);
    let deadline = Instant::now() + Duration::from_secs(20);
    while candela::counts::store::restore(&file, &loaded)
        .0
        .get("letters")
        != Some(90_000)
    {
        assert!(
            Instant::now() < deadline,
            "the count never reached {file:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    c.child.kill().unwrap(); // SIGKILL
    c.child.wait().unwrap();
    let c = start_keeping(show, &state_dir);
    assert_eq!(
        state(c.addr)["counters"]["letters"],
        90_000,
        "the count after a restart"
    );
    // On purpose: a correction lowers at once, a reset goes back to the show file's value.
    assert_eq!(
        ok(
            c.addr,
            "/candela/count/letters/correct",
            vec![OscType::Int(89_000)]
        )["counters"]["letters"],
        89_000
    );
    assert_eq!(
        ok(c.addr, "/candela/count/letters/reset", vec![])["counters"]["letters"],
        10
    );
    drop(c);
    std::fs::remove_dir_all(&state_dir).unwrap();
}

/// A real HTTP server on loopback answering every request with what the test sets.
struct CountServer {
    addr: SocketAddr,
    answer: std::sync::Arc<std::sync::Mutex<(u16, String)>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CountServer {
    fn start(status: u16, body: &str) -> CountServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = std::sync::Arc::new(std::sync::Mutex::new((status, body.to_string())));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (a, s) = (answer.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = a.lock().unwrap().clone();
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        CountServer { addr, answer, stop }
    }

    fn set(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_string());
    }
}

impl Drop for CountServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn an_http_feed_drives_the_count_and_a_failing_one_is_reported_stale() {
    let server = CountServer::start(200, r#"{"cases":{"yorm-bopha":{"letters":89734}}}"#);
    let dir = std::env::temp_dir().join(format!("candela-feed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let show = dir.join("show.toml");
    std::fs::write(
        &show,
        format!(
            r#"
hold = 600
[[counters]]
id = "letters"
label = "letters"
value = 10
stale_after = 1
[counters.http]
url = "http://{}/counts.json"
pointer = "/cases/yorm-bopha/letters"
interval = 0.1
timeout = 1

[[slides]]
id = "count"
kind = "counter"
counter = "letters"
"#,
            server.addr
        ),
    )
    .unwrap();
    let c = start_keeping(show.to_str().unwrap(), &dir.join("state"));
    until(c.addr, "the feed's first reading", |s| {
        s["counters"]["letters"] == 89_734
    });
    server.set(200, r#"{"cases":{"yorm-bopha":{"letters":90001}}}"#);
    until(c.addr, "a higher reading", |s| {
        s["counters"]["letters"] == 90_001
    });
    // A feed going wrong keeps the last good value and, after stale_after, says so.
    server.set(500, "<html>oops</html>");
    let s = until(c.addr, "staleness", |s| {
        s["stale"] == serde_json::json!(["letters"])
    });
    assert_eq!(s["counters"]["letters"], 90_001);
    // A lower reading is not shown; a higher one is, and clears the staleness.
    server.set(200, r#"{"cases":{"yorm-bopha":{"letters":5}}}"#);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(state(c.addr)["counters"]["letters"], 90_001);
    server.set(200, r#"{"cases":{"yorm-bopha":{"letters":90002}}}"#);
    let s = until(c.addr, "recovery", |s| s["counters"]["letters"] == 90_002);
    assert_eq!(s["stale"], serde_json::json!([]));
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A two-projector show in a fresh folder, where its calibration file will be written, whose
/// geometry 127.0.0.1 may edit over OSC without alignment mode.
fn warp_show() -> (tempfile::TempDir, String) {
    warp_show_with("allow = [\"127.0.0.1\"]\ngeometry_any_time = true\n")
}

/// The same show with `osc` as its `[osc]` table.
fn warp_show_with(osc: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show.toml");
    std::fs::write(
        &show,
        format!(
            "size = \"320x180\"\n[[slides]]\nid = \"t\"\nkind = \"title\"\ntitle = \"t\"\n\
             [[outputs]]\nname = \"left\"\nregion = [0, 0, 176, 180]\n\
             [[outputs]]\nname = \"right\"\nregion = [144, 0, 176, 180]\n[osc]\n{osc}"
        ),
    )
    .unwrap();
    (dir, show.to_str().unwrap().to_string())
}

/// Sends one message from `from`, a loopback address of its own.
fn send_from(from: &str, to: SocketAddr, address: &str, args: Vec<OscType>) {
    let socket = UdpSocket::bind(format!("{from}:0")).unwrap();
    socket
        .send_to(&packet::encode_message(address, args), to)
        .unwrap();
}

#[test]
fn geometry_over_osc_only_from_listed_senders_and_only_while_aligning() {
    let (dir, show) = warp_show();
    let state_dir = dir.path().join("state");
    let c = Candela::start(&show, &["--state-dir", state_dir.to_str().unwrap()]);
    let file = candela::calibration::path_for(std::path::Path::new(&show));
    ok(c.addr, "/candela/warp/left/corner/1", corner(0.1, 0.05));
    let deadline = Instant::now() + Duration::from_secs(20);
    let saved = loop {
        if let Some(k) = candela::calibration::load(&file).0
            && k.calibration.outputs[0].corners[0][0] == 0.1f32 as f64
        {
            break std::fs::read(&file).unwrap();
        }
        assert!(Instant::now() < deadline, "the calibration was never saved");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Senders nobody listed: every corner, point, mesh, blend, mask and setup step refused.
    let attempts: [(&str, Vec<OscType>); 6] = [
        ("/candela/warp/left/corner/1", corner(0.9, 0.9)),
        ("/candela/warp/left/point/1/1", corner(0.5, 0.5)),
        (
            "/candela/warp/left/mesh",
            vec![OscType::Int(4), OscType::Int(4)],
        ),
        ("/candela/blend/left/right", vec![OscType::Float(32.0)]),
        (
            "/candela/mask/m/points",
            [0.0, 0.0, 99.0, 0.0, 99.0, 99.0]
                .map(OscType::Float)
                .to_vec(),
        ),
        ("/candela/setup/reset", vec![]),
    ];
    for from in ["127.0.0.2", "127.0.0.3"] {
        for _ in 0..2 {
            for (address, args) in &attempts {
                send_from(from, c.addr, address, args.clone());
            }
        }
    }
    let st = state(c.addr);
    assert_eq!(
        st["corners"]["left"][0],
        serde_json::json!([0.1f32 as f64, 0.05f32 as f64])
    );
    // Past the calibration's save interval, the file is what the technician left.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        saved,
        "the calibration on disk changed"
    );
    drop(c);

    // Listed, but nobody aligning at the laptop: refused, and it says how.
    let (_dir, show) = warp_show_with("allow = [\"127.0.0.1\"]\n");
    let served = serve(&show);
    let refused = error(served.addr, "/candela/warp/left/corner/1", corner(0.1, 0.0));
    assert!(refused.contains("aligning"), "{refused}");
    drop(served);
    // The default, no list at all: anyone may cue, nobody may move a corner over OSC.
    // Asked over TCP: an unlisted UDP sender would get no reply bigger than its message.
    let (_dir, show) = warp_show_with("");
    let served = serve(&show);
    let refused = ask_tcp(served.addr, "/candela/warp/left/corner/1", corner(0.1, 0.0));
    assert_eq!(refused["status"], "error", "{refused}");
    assert!(
        refused["data"].as_str().unwrap().contains("[osc] allow"),
        "{refused}"
    );
    assert_eq!(
        ask_tcp(served.addr, "/candela/next", vec![])["status"],
        "ok"
    );
}

/// Sends over TCP and returns the whole JSON reply.
fn ask_tcp(to: SocketAddr, address: &str, args: Vec<OscType>) -> Value {
    let tcp = Some(Framing::LengthPrefixed);
    let reply = client::send(to, tcp, address, args, Duration::from_secs(5))
        .unwrap()
        .unwrap_or_else(|| panic!("no reply to {address}"));
    json_reply(reply).unwrap().1
}

fn corner(x: f32, y: f32) -> Vec<OscType> {
    vec![OscType::Float(x), OscType::Float(y)]
}

#[test]
fn warp_addresses_pin_undo_reset_and_refuse_bad_corners() {
    let (dir, show) = warp_show();
    let state_dir = dir.path().join("state");
    let c = Candela::start(&show, &["--state-dir", state_dir.to_str().unwrap()]);
    let to = c.addr;
    assert_eq!(state(to)["outputs"], serde_json::json!(["left", "right"]));
    let st = ok(to, "/candela/warp/left/corner/1", corner(0.1, 0.05));
    assert_eq!(
        st["corners"]["left"][0],
        serde_json::json!([0.1f32 as f64, 0.05f32 as f64])
    );
    assert_eq!(st["corners"]["right"][0], serde_json::json!([0.0, 0.0]));
    // Corner 2 dragged across to the bottom left: a bow-tie, refused, the pin kept.
    let refused = error(to, "/candela/warp/left/corner/2", corner(0.0, 0.9));
    assert!(refused.contains("kept"), "{refused}");
    assert_eq!(
        state(to)["corners"]["left"][1],
        serde_json::json!([1.0, 0.0])
    );
    assert!(error(to, "/candela/warp/left/corner/5", corner(0.5, 0.5)).contains("1 to 4"));
    assert!(error(to, "/candela/warp/middle/reset", vec![]).contains("left, right"));
    assert!(error(to, "/candela/warp/left/corner/3", vec![]).contains("x and y"));
    // Mesh point 2,2 of the 2x2 mesh: the bottom-right of the picture, pulled in.
    ok(to, "/candela/warp/left/point/2/2", corner(0.9, 0.9));
    assert!(error(to, "/candela/warp/left/point/3/1", corner(0.9, 0.9)).contains("2x2"));
    // The same message twice within the debounce window fires once: pause between them.
    ok(to, "/candela/warp/left/undo", vec![]);
    pause();
    let st = ok(to, "/candela/warp/left/undo", vec![]);
    assert_eq!(st["corners"]["left"][0], serde_json::json!([0.0, 0.0]));
    pause();
    assert!(error(to, "/candela/warp/left/undo", vec![]).contains("nothing to undo"));
    ok(to, "/candela/warp/right/corner/4", corner(0.02, 0.97));
    let st = ok(to, "/candela/warp/right/reset", vec![]);
    assert_eq!(st["corners"]["right"][3], serde_json::json!([0.0, 1.0]));
    // Test patterns by name.
    assert_eq!(
        ok(to, "/candela/test", vec![s("outputs")])["test_pattern"],
        "outputs"
    );
    assert!(error(to, "/candela/test", vec![s("zebra")]).contains("grid"));
}

#[test]
fn setup_addresses_draw_masks_set_blends_and_walk_the_history() {
    let (dir, show) = warp_show();
    let state_dir = dir.path().join("state");
    let c = Candela::start(&show, &["--state-dir", state_dir.to_str().unwrap()]);
    let to = c.addr;
    let f = |v: f32| OscType::Float(v);
    let square = [40.0, 40.0, 80.0, 40.0, 80.0, 90.0, 40.0, 90.0]
        .map(f)
        .to_vec();
    let st = ok(to, "/candela/mask/Window-1/points", square);
    let mask = &st["setup"]["masks"][0];
    assert_eq!(mask["id"], "Window-1", "ids keep their case");
    assert_eq!(mask["source"], "calibration");
    assert_eq!(mask["points"][2], serde_json::json!([80.0, 90.0]));
    ok(to, "/candela/mask/Window-1/insert/2", corner(60.0, 30.0));
    ok(to, "/candela/mask/Window-1/feather", vec![f(4.0)]);
    ok(to, "/candela/mask/Window-1/invert", vec![s("off")]);
    let st = ok(to, "/candela/blend/left/right", vec![f(32.0)]);
    assert_eq!(st["setup"]["outputs"][0]["blend"]["right"], 32.0);
    assert!(error(to, "/candela/blend/left/right", vec![f(500.0)]).contains("does not fit"));
    assert!(error(to, "/candela/blend/left/sparkle", vec![f(1.0)]).contains("black_level"));
    let st = ok(
        to,
        "/candela/warp/right/mesh",
        vec![OscType::Int(4), OscType::Int(3)],
    );
    assert_eq!(st["setup"]["outputs"][1]["mesh"]["cols"], 4);
    assert!(
        error(
            to,
            "/candela/warp/right/mesh",
            vec![OscType::Int(40), OscType::Int(3)]
        )
        .contains("17")
    );
    assert!(error(to, "/candela/mask/nope/feather", vec![f(1.0)]).contains("draw it first"));
    assert!(error(to, "/candela/mask/Window-1/points", corner(1.0, 2.0)).contains("3 to 64"));
    let setup = ok(to, "/candela/setup", vec![]);
    assert_eq!(setup["history"]["undo"], 5, "{setup}");
    assert_eq!(setup["masks"][0]["points"].as_array().unwrap().len(), 5);
    // Undo the mesh and the blend, redo the blend.
    ok(to, "/candela/setup/undo", vec![]);
    pause();
    let st = ok(to, "/candela/setup/undo", vec![]);
    assert_eq!(st["setup"]["outputs"][0]["blend"]["right"], 0.0);
    assert_eq!(st["setup"]["outputs"][1]["mesh"]["cols"], 2);
    let st = ok(to, "/candela/setup/redo", vec![]);
    assert_eq!(st["setup"]["outputs"][0]["blend"]["right"], 32.0);
    // What is kept on disk has the mask and the blend.
    let file = candela::calibration::path_for(std::path::Path::new(&show));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let kept = loop {
        let kept = candela::calibration::load(&file).0.map(|k| k.calibration);
        if let Some(k) = kept.filter(|k| {
            k.masks.len() == 1
                && k.outputs[0]
                    .blend
                    .as_ref()
                    .is_some_and(|b| b.widths[2] == 32.0)
        }) {
            break k;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the calibration was not saved"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(kept.masks[0].feather, 4.0);
    // Reset drops the drawn masks and the blend; revert brings back the start (none here).
    let st = ok(to, "/candela/setup/reset", vec![]);
    assert_eq!(st["setup"]["masks"], serde_json::json!([]));
    ok(to, "/candela/setup/undo", vec![]);
    pause();
    let st = ok(to, "/candela/setup/revert", vec![]);
    assert_eq!(st["setup"]["masks"], serde_json::json!([]));
    assert_eq!(st["setup"]["outputs"][0]["blend"]["right"], 0.0);
}

#[test]
fn calibration_survives_kill_9_at_any_moment() {
    let (dir, show) = warp_show();
    let state_dir = dir.path().join("state");
    let file = candela::calibration::path_for(std::path::Path::new(&show));
    let args = ["--state-dir", state_dir.to_str().unwrap()];
    let mut sent = vec![0.0f64];
    let mut rng = candela::random::Xorshift::new(0x9e37_79b9_7f4a_7c15);
    let mut random = move |n: u64| rng.below(n as usize) as u64;
    for round in 0..10 {
        let mut c = Candela::start(&show, &args);
        // What it restored is what the file held when the last one died.
        let kept = candela::calibration::load(&file).0;
        let restored = state(c.addr)["corners"]["left"][0][0].as_f64().unwrap();
        let on_disk = kept
            .as_ref()
            .map_or(0.0, |k| k.calibration.outputs[0].corners[0][0]);
        assert_eq!(restored, on_disk, "round {round}: restored vs kept");
        assert!(
            sent.contains(&restored),
            "round {round}: {restored} was never sent"
        );
        for i in 0..(1 + random(4)) {
            let x = 0.01 * (round * 4 + i + 1) as f32;
            ok(c.addr, "/candela/warp/left/corner/1", corner(x, 0.0));
            sent.push(x as f64);
            std::thread::sleep(Duration::from_millis(random(300)));
        }
        // The first round waits for its save; later ones die at any moment, mid-save included.
        if round == 0 {
            let last = *sent.last().unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while candela::calibration::load(&file)
                .0
                .is_none_or(|k| k.calibration.outputs[0].corners[0][0] != last)
            {
                assert!(Instant::now() < deadline, "the calibration was never saved");
                std::thread::sleep(Duration::from_millis(20));
            }
        } else {
            std::thread::sleep(Duration::from_millis(random(1500)));
        }
        c.child.kill().unwrap(); // SIGKILL
        c.child.wait().unwrap();
        let (loaded, skipped) = candela::calibration::load(&file);
        let loaded =
            loaded.unwrap_or_else(|| panic!("round {round}: no calibration ({skipped:?})"));
        assert!(
            skipped.iter().all(|s| !s.contains("line")),
            "round {round}: a damaged file: {skipped:?}"
        );
        if round == 0 {
            assert_eq!(
                loaded.calibration.outputs[0].corners[0][0],
                *sent.last().unwrap()
            );
        }
    }
    let backups = (1..=10)
        .filter(|n| candela::calibration::backup_path(&file, *n).exists())
        .count();
    assert!(backups >= 1, "earlier versions are kept");
}

/// Replies to `bytes` sent from `socket`, gathered until `quiet` passes with none.
fn replies_to(socket: &UdpSocket, to: SocketAddr, bytes: &[u8], quiet: Duration) -> Vec<Value> {
    socket.set_read_timeout(Some(quiet)).unwrap();
    socket.send_to(bytes, to).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    // Bounded: a flood of replies is exactly what some of these tests look for.
    for _ in 0..1000 {
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            break;
        };
        let message = packet::decode(&buf[..n]).unwrap().remove(0).message;
        out.push(json_reply(message).unwrap().1);
    }
    out
}

/// The sizes of the datagrams `socket` receives until `quiet` passes with none (bounded).
fn datagrams(socket: &UdpSocket, quiet: Duration) -> Vec<usize> {
    socket.set_read_timeout(Some(quiet)).unwrap();
    let mut buf = vec![0u8; 65536];
    (0..10_000)
        .map_while(|_| socket.recv_from(&mut buf).ok().map(|(n, _)| n))
        .collect()
}

fn state_bundle(queries: usize) -> Vec<u8> {
    let now = OscTime {
        seconds: 0,
        fractional: 1,
    };
    bundle(now, vec![("/candela/state", vec![]); queries])
}

#[test]
fn a_bundle_of_a_thousand_queries_draws_one_reply() {
    let (_dir, show) = warp_show_with("allow = [\"127.0.0.2\", \"127.0.0.3\"]\n");
    let c = serve(&show);
    let flood = state_bundle(1024);
    for from in ["127.0.0.2", "127.0.0.3"] {
        let socket = UdpSocket::bind(format!("{from}:0")).unwrap();
        socket.send_to(&flood, c.addr).unwrap();
        let got = datagrams(&socket, Duration::from_secs(2));
        assert_eq!(got.len(), 1, "{from}: {} replies to one bundle", got.len());
    }
}

#[test]
fn an_unlisted_udp_sender_gets_no_more_bytes_than_it_sent() {
    // No list: anyone may cue, and nobody has proven its address over UDP.
    let (_dir, show) = warp_show_with("");
    let c = serve(&show);
    for from in ["127.0.0.2", "127.0.0.3"] {
        let socket = UdpSocket::bind(format!("{from}:0")).unwrap();
        let query = packet::encode_message("/candela/state", vec![]);
        let mut sent = 0;
        let mut received = 0;
        for _ in 0..20 {
            sent += socket.send_to(&query, c.addr).unwrap();
            received += datagrams(&socket, Duration::from_millis(100))
                .iter()
                .sum::<usize>();
        }
        assert_eq!(
            received, 0,
            "{from}: a state reply is bigger than its query"
        );
        // A big bundle earns credit for one reply, never more bytes than were sent.
        for _ in 0..5 {
            sent += socket.send_to(&state_bundle(100), c.addr).unwrap();
            received += datagrams(&socket, Duration::from_millis(300))
                .iter()
                .sum::<usize>();
        }
        assert!(received > 0, "{from}: no reply even with credit");
        assert!(
            received <= sent,
            "{from}: sent {sent} bytes, got {received}"
        );
    }
    // The show still answers the laptop over TCP, whatever UDP senders were refused.
    assert_eq!(ask_tcp(c.addr, "/candela/ping", vec![])["data"], "pong");
}

#[test]
fn a_listed_sender_gets_its_replies_within_the_budget() {
    let (_dir, show) = warp_show_with("allow = [\"127.0.0.2\", \"127.0.0.3\"]\n");
    let c = serve(&show);
    for from in ["127.0.0.2", "127.0.0.3"] {
        let socket = UdpSocket::bind(format!("{from}:0")).unwrap();
        let query = packet::encode_message("/candela/state", vec![]);
        // A desk's polling is answered, every query.
        for i in 0..20 {
            let got = replies_to(&socket, c.addr, &query, Duration::from_secs(2));
            assert_eq!(got.len(), 1, "{from}: query {i} unanswered");
        }
        // A flood is answered only up to the budget (64 KiB at once, 64 KiB a second).
        let began = Instant::now();
        for _ in 0..2000 {
            socket.send_to(&query, c.addr).unwrap();
        }
        let received: usize = datagrams(&socket, Duration::from_millis(500)).iter().sum();
        let allowed = (64 * 1024) as f64 * (1.0 + began.elapsed().as_secs_f64());
        assert!(received > 0, "{from}: nothing answered");
        assert!(
            (received as f64) <= allowed,
            "{from}: {received} reply bytes in {:?}",
            began.elapsed()
        );
    }
}

#[test]
fn time_tags_from_before_1970_mean_now_and_are_answered() {
    let c = serve("tests/fixtures/osc/show.toml");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for seconds in [0, 1, 2_208_988_700] {
        let at = OscTime {
            seconds,
            fractional: 0,
        };
        let replies = replies_to(
            &socket,
            c.addr,
            &bundle(at, vec![("/candela/ping", vec![])]),
            Duration::from_secs(5),
        );
        assert_eq!(replies.len(), 1, "time tag {seconds}: {replies:?}");
        assert_eq!(replies[0]["data"], "pong");
    }
}

#[test]
fn addresses_whose_lower_case_changes_length_keep_the_tcp_link() {
    let c = serve("tests/fixtures/osc/show.toml");
    let mut stream = TcpStream::connect(c.addr).unwrap();
    for hostile in ["/\u{212A}andela/next", "/candela/\u{212A}x", "/\u{0130}/x"] {
        stream
            .write_all(&framing::encode(
                Framing::Slip,
                &packet::encode_message(hostile, vec![]),
            ))
            .unwrap();
    }
    stream
        .write_all(&framing::encode(
            Framing::Slip,
            &packet::encode_message("/candela/ping", vec![]),
        ))
        .unwrap();
    let (replies, _) = read_replies(&mut stream, 2);
    // The one under candela's prefix is an unknown address; the link is still up for ping.
    assert_eq!(replies[0].1["status"], "error", "{replies:?}");
    assert_eq!(replies[1].1["data"], "pong", "{replies:?}");
}

#[test]
fn a_refused_senders_flood_draws_one_reply_per_packet_at_most() {
    let c = serve("tests/fixtures/osc/guarded.toml");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let now = OscTime {
        seconds: 0,
        fractional: 1,
    };
    let flood = bundle(now, vec![("/candela/next", vec![]); 500]);
    let replies = replies_to(&socket, c.addr, &flood, Duration::from_secs(2));
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["status"], "denied");
    // And a source that keeps trying is answered a few times, then not at all for a while.
    let answered: usize = (0..20)
        .map(|_| replies_to(&socket, c.addr, &flood, Duration::from_millis(200)).len())
        .sum();
    assert!(
        answered <= 5,
        "{answered} replies to 20 more refused floods"
    );
}

#[test]
fn a_timed_bundle_over_tcp_does_not_hold_up_what_follows() {
    let c = serve("tests/fixtures/osc/show.toml");
    let mut stream = TcpStream::connect(c.addr).unwrap();
    let later = OscTime::try_from(SystemTime::now() + Duration::from_secs(3)).unwrap();
    let slip = |bytes: &[u8]| framing::encode(Framing::Slip, bytes);
    stream
        .write_all(&slip(&bundle(later, vec![("/candela/goto", vec![s("c")])])))
        .unwrap();
    let sent = Instant::now();
    stream
        .write_all(&slip(&packet::encode_message("/candela/ping", vec![])))
        .unwrap();
    let (replies, _) = read_replies(&mut stream, 1);
    assert_eq!(replies[0].1["data"], "pong");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "ping waited for the timed bundle"
    );
    // The timed one still comes, at its time, on the same connection.
    let (replies, _) = read_replies(&mut stream, 1);
    assert_eq!(replies[0].0, "/candela/reply/candela/goto");
    assert!(sent.elapsed() >= Duration::from_millis(2500));
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap()
}

#[test]
fn a_flood_of_future_bundles_is_bounded_and_ping_still_answered() {
    let c = start("tests/fixtures/osc/show.toml");
    assert_eq!(state(c.addr)["slide"], "a");
    let before = rss_kb(c.child.id());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let later = OscTime::try_from(SystemTime::now() + Duration::from_secs(1800)).unwrap();
    for i in 0..100_000u32 {
        // Distinct messages, so the debounce does not fold them into one.
        let flood = bundle(
            later,
            vec![("/candela/count/letters", vec![OscType::Int(i as i32)])],
        );
        socket.send_to(&flood, c.addr).unwrap();
    }
    // Ping is answered through it all (a bounded wait, then a few tries).
    let answered = (0..10).any(|_| {
        udp_within(c.addr, "/candela/ping", vec![], Duration::from_secs(3))
            .is_some_and(|(_, body)| body["data"] == "pong")
    });
    assert!(answered, "no pong after the flood");
    let after = rss_kb(c.child.id());
    eprintln!("RSS before the flood {before} kB, after {after} kB");
    assert!(
        after < before + 50 * 1024,
        "RSS went from {before} kB to {after} kB under the flood"
    );
}

/// Whether the server closed `stream` at once: closed or reset, never an answer.
fn closed_at_once(mut stream: TcpStream) -> bool {
    let ping = framing::encode(
        Framing::Slip,
        &packet::encode_message("/candela/ping", vec![]),
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(&ping);
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

fn pong(stream: &mut TcpStream) -> bool {
    let ping = framing::encode(
        Framing::Slip,
        &packet::encode_message("/candela/ping", vec![]),
    );
    stream.write_all(&ping).unwrap();
    read_replies(stream, 1).0[0].1["data"] == "pong"
}

#[test]
fn the_desks_connection_outlasts_a_crowd_of_others() {
    // The fixture lists its desk, 127.0.0.1, in [osc] allow.
    let c = serve("tests/fixtures/osc/show.toml");
    let mut desk = TcpStream::connect(c.addr).unwrap();
    assert!(pong(&mut desk));
    // A hundred connections from senders nobody listed: each closed before it is read.
    for i in 0..100u8 {
        let from = IpAddr::from([127, 0, 0, 2 + i % 2]);
        let stream = support::http::connect_from(from, c.addr).unwrap();
        assert!(
            closed_at_once(stream),
            "a connection from {from} was served"
        );
    }
    // Through it all the desk's idle connection stayed, and still cues.
    assert!(pong(&mut desk));
}

#[test]
fn one_address_holds_only_a_few_connections() {
    // No list: anyone may connect, a few places each.
    let (_dir, show) = warp_show_with("");
    let c = serve(&show);
    let [crowd, desk] = [2, 3].map(|n| IpAddr::from([127, 0, 0, n]));
    let mut held: Vec<TcpStream> = (0..server::PER_ADDRESS)
        .map(|_| support::http::connect_from(crowd, c.addr).unwrap())
        .collect();
    assert!(held.iter_mut().all(pong));
    let one_more = support::http::connect_from(crowd, c.addr).unwrap();
    assert!(closed_at_once(one_more), "past the cap from {crowd}");
    let mut other = support::http::connect_from(desk, c.addr).unwrap();
    assert!(pong(&mut other), "another address still gets in");
    // The crowd's first places stay theirs: none was closed to make room.
    assert!(held.iter_mut().all(pong));
}

#[test]
fn a_flood_of_unknown_cues_barely_grows_the_log() {
    // No list: the flood reaches the show, which has none of its cues.
    let (_show_dir, show) = warp_show_with("");
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("candela.log");
    let state_dir = dir.path().join("state");
    let c = Candela::start(
        &show,
        &[
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--log-file",
            log_file.to_str().unwrap(),
        ],
    );
    let now = OscTime {
        seconds: 0,
        fractional: 1,
    };
    let mut sent = 0u64;
    let began = Instant::now();
    let sockets: Vec<UdpSocket> = ["127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|from| UdpSocket::bind(format!("{from}:0")).unwrap())
        .collect();
    // Bounded: 3 s, or 400 bundles of 400 cues the show does not have, whichever first.
    for i in 0..400u32 {
        if began.elapsed() > Duration::from_secs(3) {
            break;
        }
        let cues: Vec<(String, Vec<OscType>)> = (0..400)
            .map(|n| {
                (
                    format!("/eos/out/event/cue/1/{}/fire", 1000 + i * 400 + n),
                    vec![],
                )
            })
            .collect();
        let flood = bundle(
            now,
            cues.iter()
                .map(|(a, args)| (a.as_str(), args.clone()))
                .collect(),
        );
        for socket in &sockets {
            let _ = socket.send_to(&flood, c.addr);
            sent += 400;
        }
    }
    // The show still answers, and once the window ends the held-back count is said.
    assert_eq!(state(c.addr)["slide"], "t");
    let log_text = || c.log.lock().unwrap().join("\n");
    let end = Instant::now() + Duration::from_secs(20);
    while !log_text().contains("more like it in the last 10 s") {
        assert!(
            Instant::now() < end,
            "no held-back count; log:\n{}",
            log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
        // A warning after the window ends brings its count out.
        fire(c.addr, "/eos/out/event/cue/1/99999/fire", vec![]);
    }
    let stderr: usize = c.log.lock().unwrap().iter().map(|l| l.len() + 1).sum();
    let file: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("candela.log."))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    eprintln!("{sent} cue messages: log file {file} bytes, stderr {stderr} bytes");
    assert!(stderr < 200 * 1024, "stderr grew {stderr} bytes");
    assert!(file < 200 * 1024, "the log file grew {file} bytes");
    assert!(file > 0, "nothing in the log file");
}
