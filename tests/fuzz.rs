//! Structure-aware fuzzing of the OSC path a packet takes before the show (decode, TCP
//! framing, time tags, dialects): no input may panic. Two seeds of half a million inputs each
//! (about 8 s in a debug build); `cargo bench --bench osc_fuzz` runs a million in release and
//! prints the rate. With the old case-insensitive matching this test fails at once.

#[test]
fn a_million_hostile_inputs_panic_nowhere() {
    for seed in [1, 0x5eed] {
        let panics = candela::osc::fuzz::run(seed, 500_000);
        assert_eq!(
            panics, 0,
            "seed {seed}: {panics} inputs panicked (their messages are above)"
        );
    }
}

/// The same for DMX: sACN and Art-Net datagrams, valid and mutated, from listed and unlisted
/// addresses, through decode, the merge, the fixture and the state's report, with the clock
/// crossing every hold, learning and loss time: a million inputs (about 1 s in a debug build).
#[test]
fn hostile_dmx_panics_nowhere() {
    for seed in [1, 0x5eed] {
        let panics = candela::dmx::fuzz::run(seed, 500_000);
        assert_eq!(
            panics, 0,
            "seed {seed}: {panics} DMX inputs panicked (their messages are above)"
        );
    }
}

/// The same for the sync link: every message a leader and a follower exchange, valid and
/// mutated, from the leader's address and others, through decode and both sides' logic with
/// the clock crossing the heartbeat, loss and forget times.
#[test]
fn hostile_sync_datagrams_panic_nowhere() {
    use candela::control::{Command, SlideRef};
    use candela::random::Xorshift;
    use candela::sync::follower::Follower;
    use candela::sync::leader::{Leader, Now};
    use candela::sync::wire::{self, Wire};
    use std::time::{Duration, Instant};

    let show = "[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n";
    let (show, _) = candela::show::Show::parse(std::path::Path::new("f.toml"), show).unwrap();
    let engine = candela::control::Engine::new(
        show.clone(),
        candela::counts::Counts::from_show(&show),
        Duration::ZERO,
    )
    .unwrap();
    let moment = engine.moment(Duration::from_secs(3));
    let addrs: Vec<std::net::SocketAddr> = ["127.0.0.1:9001", "127.0.0.2:9001", "127.0.0.3:40000"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    let special = [0u8, 1, 0x7f, 0x80, 0xff, b'{', b'"', b',', b'/'];
    let mut panics = 0;
    let decoded = std::cell::Cell::new(0u32);
    for seed in [1u64, 0x5eed] {
        let mut r = Xorshift::new(seed);
        let mut leader = Leader::new(None);
        let mut follower = Follower::new(addrs[0], "show".into());
        let start = Instant::now();
        let mut t = start;
        for i in 0..100_000u64 {
            let n = r.draw();
            let commands = vec![
                Command::Goto {
                    slide: SlideRef::Position(r.below(4)),
                    fade: Some(Duration::from_nanos(n % 3_000_000_000)),
                },
                Command::Next { fade: None },
            ];
            let wire = match r.below(9) {
                0 => Wire::Hello,
                1 => Wire::Cookie(vec![r.draw() as u8; r.below(40)]),
                2 => Wire::Join {
                    cookie: vec![0; 16],
                    fingerprint: "show".into(),
                },
                3 => Wire::Moment(Box::new(candela::inbox::Join {
                    moment: moment.clone(),
                    origin_ns: n,
                    seq: r.below(5) as u64,
                    pending: vec![(
                        Duration::from_nanos(n >> 20),
                        r.below(9) as u64,
                        commands.clone(),
                    )],
                })),
                4 => Wire::Do {
                    seq: r.below(12) as u64,
                    at: Duration::from_nanos(n >> 8),
                    commands,
                },
                5 => Wire::Ping {
                    sent_ns: n,
                    fingerprint: "show".into(),
                    offset_ms: Some(r.unit() * 1e9),
                },
                6 => Wire::Pong {
                    sent_ns: n >> 1,
                    leader_ns: n,
                    origin_ns: r.below(3) as u64,
                    seq: r.below(12) as u64,
                    fingerprint: (*r.pick(&["show", "other"])).into(),
                },
                7 => Wire::Forward(commands),
                _ => Wire::Do {
                    seq: u64::MAX,
                    at: Duration::MAX,
                    commands: vec![],
                },
            };
            let mut bytes = wire::encode(&wire, Some(n));
            for _ in 0..r.below(3) {
                r.mutate(&mut bytes, &special);
            }
            t += Duration::from_millis(*r.pick(&[0u64, 1, 100, 300, 1600, 5100]));
            let from = *r.pick(&addrs);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let Ok(wire) = wire::decode(&bytes) else {
                    return;
                };
                decoded.set(decoded.get() + 1);
                let now = Now {
                    at: t,
                    wall_ns: n,
                    origin_ns: 7,
                    seq: i,
                    fingerprint: "show",
                };
                for act in leader.receive(wire.clone(), from, &now) {
                    if let candela::sync::leader::Act::Send(w, _) = act {
                        let _ = wire::encode(&w, None);
                    }
                }
                leader.sweep(t);
                let _ = leader.report(t, "show");
                let _ = follower.receive(wire, from, t, n);
                let _ = follower.tick(t, n);
                let _ = follower.report(t);
            }));
            if outcome.is_err() {
                panics += 1;
                eprintln!("seed {seed}, input {i}: {bytes:?} panicked");
            }
        }
    }
    assert_eq!(
        panics, 0,
        "{panics} sync inputs panicked (their bytes are above)"
    );
    // Most reached both sides' logic, not only the decoder.
    assert!(
        decoded.get() > 60_000,
        "{} of 200000 decoded",
        decoded.get()
    );
}
