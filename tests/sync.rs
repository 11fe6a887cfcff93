//! Several machines in step (issue 18).
//!
//! Pure: players fed the same timed log, each moving its engine on at frames of its own,
//! show the same frames; one that joins half way through by taking another's moment does
//! too. Real processes on loopback: a leader and two headless followers, compared by their
//! frame logs under a burst of cues, a follower killed and started again, the leader killed
//! and started again, a follower with another show.

mod support;

use candela::control::{Command, Engine, Pattern, SlideRef};
use candela::counts::Counts;
use candela::inbox::{Incoming, Join, Reload, Request, SyncRequest};
use candela::output::{LinkOptions, Player, Unseen};
use candela::show::Show;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SHOW: &str = r#"
hold = 3
count_up_seconds = 1.5
transition = "crossfade"
transition_seconds = 0.8

[[counters]]
id = "appeals"
label = "appeals"
value = 1000

[[counters]]
id = "letters"
label = "letters"
value = 10

[[counters]]
id = "total"
label = "all"
sum = ["appeals", "letters"]

[[slides]]
id = "a"
kind = "title"
title = "A"

[[slides]]
id = "b"
kind = "counter"
counter = "total"
transition = "through-black"
transition_seconds = 1.2

[[slides]]
id = "c"
kind = "title"
title = "C"
hold = 5

[[slides]]
id = "d"
kind = "counter"
counter = "appeals"
transition = "cut"

[[cues]]
number = "7"
name = "finale"
actions = [{ goto = "d", fade = 0.5 }, { master = 0.6, fade = 2.0 }]
"#;

fn show(src: &str) -> Show {
    let (show, problems) =
        Show::parse(Path::new("sync.toml"), src).unwrap_or_else(|p| panic!("{p}"));
    assert!(problems.is_empty(), "{problems:?}");
    show
}

fn player(show: &Show) -> Player {
    let engine = Engine::new(show.clone(), Counts::from_show(show), Duration::ZERO).unwrap();
    Player::new(engine, LinkOptions::default(), || {}).unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The timed log both are fed: cues (some mid-transition), blackout and restore with fades,
/// master, holds, pause, a named cue, the hours turned off and back, counts rising and a
/// correction, a reload of the show file with other transitions.
fn log(reloaded: &Arc<Show>) -> Vec<(Duration, Request)> {
    let fade = |n| Some(ms(n));
    let c = |c: Command| Request::Command(c);
    vec![
        (ms(1_000), c(Command::Next { fade: None })),
        (ms(1_300), c(Command::Next { fade: fade(600) })),
        (
            ms(2_050),
            c(Command::AddCount {
                counter: "appeals".into(),
                delta: 250,
            }),
        ),
        (ms(2_500), c(Command::Blackout { fade: fade(700) })),
        (ms(3_900), c(Command::Restore { fade: fade(500) })),
        (
            ms(4_200),
            c(Command::Master {
                level: 0.3,
                fade: fade(900),
            }),
        ),
        (
            ms(4_700),
            c(Command::SetCount {
                counter: "letters".into(),
                value: 90,
            }),
        ),
        (ms(5_000), c(Command::SetHold(ms(1_700)))),
        (ms(9_100), c(Command::Pause)),
        (
            ms(10_333),
            c(Command::Goto {
                slide: SlideRef::Position(2),
                fade: None,
            }),
        ),
        (ms(11_000), c(Command::Resume)),
        (ms(11_500), c(Command::CueNamed("finale".into()))),
        (
            ms(12_000),
            Request::Reload(Reload::Show {
                show: reloaded.clone(),
                photos_changed: false,
            }),
        ),
        (
            ms(13_100),
            c(Command::Schedule(candela::control::schedule::Override::Off)),
        ),
        // 5 ms after the slide's hold ends (13.2 s: d cuts in at 11.5 s and holds 1.7 s): a busy machine's frame can pass both.
        (ms(13_205), c(Command::Next { fade: fade(400) })),
        (
            ms(15_400),
            c(Command::Schedule(
                candela::control::schedule::Override::Auto,
            )),
        ),
        (
            ms(16_000),
            c(Command::CorrectCount {
                counter: "appeals".into(),
                value: 999,
            }),
        ),
        (
            ms(16_010),
            Request::Commands(vec![
                Command::Previous { fade: fade(300) },
                Command::ToggleBlackout,
            ]),
        ),
        (ms(17_200), c(Command::ToggleBlackout)),
        (
            ms(17_900),
            c(Command::Cue {
                list: None,
                number: "7".into(),
            }),
        ),
        (ms(18_500), c(Command::Next { fade: fade(0) })),
    ]
}

fn deliver(player: &Player, at: Duration, request: Request) {
    (player.deliver())(Incoming {
        source: "log".into(),
        request,
        reply: None,
        at: Some(at),
    });
}

/// Frames at a steady 60 Hz, and at uneven times (a busy machine), both through `end`.
fn frames(end: Duration) -> (Vec<Duration>, Vec<Duration>) {
    let steady = (0..)
        .map(|i| Duration::from_nanos(16_666_667 * i))
        .take_while(|t| *t <= end)
        .collect();
    let mut uneven = Vec::new();
    let mut t = Duration::ZERO;
    let mut r = candela::random::Xorshift::new(7);
    while t <= end {
        uneven.push(t);
        t += Duration::from_micros(2_000 + r.below(60_000) as u64);
    }
    (steady, uneven)
}

/// The two players' scenes at each sample time are the same JSON.
fn assert_same_scenes(a: &[String], b: &[String], samples: &[Duration]) {
    let differ: Vec<_> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
    if let Some(&first) = differ.first() {
        panic!(
            "differ at {} of {} times, first at {:?}:\n{}\n{}",
            differ.len(),
            a.len(),
            samples[first],
            a[first],
            b[first]
        );
    }
}

fn scene_json(player: &Player, t: Duration) -> String {
    serde_json::to_string(&player.engine().scene(t)).unwrap()
}

/// Plays `player` over its `frames`, stopping at each of `samples` to keep the scene there.
fn play(player: &mut Player, frames: &[Duration], samples: &[Duration]) -> Vec<String> {
    let mut times: Vec<(Duration, bool)> = frames.iter().map(|t| (*t, false)).collect();
    times.extend(samples.iter().map(|t| (*t, true)));
    times.sort();
    let mut kept = Vec::new();
    for (t, sample) in times {
        player.frame(t, &mut Unseen);
        if sample {
            kept.push(scene_json(player, t));
        }
    }
    kept
}

#[test]
fn players_fed_the_same_timed_log_show_the_same_frames_at_a_thousand_times() {
    let first = show(SHOW);
    let reloaded = Arc::new(show(
        &SHOW.replace("transition_seconds = 0.8", "transition_seconds = 0.4"),
    ));
    let end = ms(20_000);
    let samples: Vec<Duration> = (0..1000)
        .map(|i| Duration::from_micros(20 * i * 997 + 13))
        .collect();
    let (steady, uneven) = frames(end);
    let mut a = player(&first);
    let mut b = player(&first);
    for (at, request) in log(&reloaded) {
        deliver(&a, at, request.clone());
        deliver(&b, at, request);
    }
    let seen_a = play(&mut a, &steady, &samples);
    let seen_b = play(&mut b, &uneven, &samples);
    assert_eq!(seen_a.len(), 1000);
    assert_same_scenes(&seen_a, &seen_b, &samples);
    // The log did something: slides, fades, counts and the hours all moved.
    let distinct: std::collections::BTreeSet<_> = seen_a.iter().collect();
    assert!(distinct.len() > 300, "{} distinct frames", distinct.len());
    assert!(seen_a.iter().any(|s| s.contains("\"master\":0.0")));
    // The finale cue's "d", then Next: round to the first.
    assert_eq!(a.engine().status().slide, "a");
    assert_eq!(a.engine().counts().get("appeals"), Some(999));
    // And one fed something else shows it: the comparison can fail.
    let mut c = player(&first);
    for (at, request) in log(&reloaded) {
        let request = match request {
            Request::Command(Command::Master { fade, .. }) => {
                Request::Command(Command::Master { level: 0.31, fade })
            }
            r => r,
        };
        deliver(&c, at, request);
    }
    assert_ne!(play(&mut c, &uneven, &samples), seen_a);
}

#[test]
fn a_player_that_joins_half_way_with_the_others_moment_shows_the_same_frames_from_then() {
    let first = show(SHOW);
    let reloaded = Arc::new(show(
        &SHOW.replace("transition_seconds = 0.8", "transition_seconds = 0.4"),
    ));
    let end = ms(20_000);
    let (steady, uneven) = frames(end);
    // As a leader has them: the commands relayed, numbered; the reload its own.
    let mut a = player(&first);
    let mut seq = 0;
    for (at, request) in log(&reloaded) {
        let request = match request {
            Request::Command(c) => vec![c],
            Request::Commands(cs) => cs,
            other => {
                deliver(&a, at, other);
                continue;
            }
        };
        seq += 1;
        deliver(
            &a,
            at,
            Request::Sync(SyncRequest::Relayed {
                seq,
                commands: request,
            }),
        );
    }
    // Joined mid-fade, with what was relayed still to come (the leader's frame at 4.25 s has
    // the Master at 4.2 s applied; the SetCount at 4.7 s and the rest are pending).
    let join_at = ms(4_250);
    for t in steady.iter().filter(|t| **t < join_at) {
        a.frame(*t, &mut Unseen);
    }
    a.frame(join_at, &mut Unseen);
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    (a.deliver())(Incoming {
        source: "follower".into(),
        request: Request::Sync(SyncRequest::Snapshot),
        reply: Some(reply),
        at: None,
    });
    a.frame(join_at, &mut Unseen);
    let join: Join = serde_json::from_value(answer.try_recv().unwrap().unwrap()).unwrap();
    assert_eq!(join.moment.at(), join_at);
    assert_eq!((join.seq, join.pending.len()), (seq, 14), "{join:?}");
    // Through the wire's JSON, as a follower gets it.
    let join: Join = serde_json::from_str(&serde_json::to_string(&join).unwrap()).unwrap();

    let mut b = player(&first);
    b.frame(ms(100), &mut Unseen);
    (b.deliver())(Incoming {
        source: "leader".into(),
        request: Request::Sync(SyncRequest::Adopt(Box::new(join))),
        reply: None,
        at: None,
    });
    b.frame(join_at, &mut Unseen);
    // The moment carries what was relayed; the reload is each machine's own.
    for (at, request) in log(&reloaded) {
        if matches!(request, Request::Reload(_)) {
            deliver(&b, at, request);
        }
    }
    let samples: Vec<Duration> = (0..1000)
        .map(|i| join_at + Duration::from_micros(15 * i * 1009 + 7))
        .collect();
    let rest_a: Vec<Duration> = steady.iter().copied().filter(|t| *t > join_at).collect();
    let rest_b: Vec<Duration> = uneven.iter().copied().filter(|t| *t > join_at).collect();
    let seen_a = play(&mut a, &rest_a, &samples);
    let seen_b = play(&mut b, &rest_b, &samples);
    assert_same_scenes(&seen_a, &seen_b, &samples);
    assert_eq!(
        b.engine().counts().get("letters"),
        Some(90),
        "the pending count came with the moment"
    );
}

#[test]
fn what_belongs_to_one_machine_is_not_shared() {
    assert!(Command::Next { fade: None }.shared());
    assert!(
        Command::SetCount {
            counter: "a".into(),
            value: 1
        }
        .shared()
    );
    assert!(!Command::TestPattern(Some(Pattern::Grid)).shared());
    assert!(!Command::ToggleShutters.shared());
}

// ---- Real processes on loopback ----

use serde_json::Value;
use support::Candela;

/// The process tests play three candelas each; one test at a time, so that the machine's
/// two cores keep each at its frame rate.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One process test's folder and show file, the others waiting meanwhile.
struct Rig {
    _one: std::sync::MutexGuard<'static, ()>,
    dir: tempfile::TempDir,
    show: std::path::PathBuf,
}

fn rig(text: &str) -> Rig {
    let one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show.toml");
    std::fs::write(&show, text).unwrap();
    Rig {
        _one: one,
        dir,
        show,
    }
}

/// Every frame `follower` drew in step since `since` matches one of `leader`'s (see
/// [`unmatched`]).
fn assert_same_frames(leader: &Machine, follower: &Machine, since: u64, what: &str) {
    let bad = unmatched(
        &frame_log(&leader.frames),
        &frame_log(&follower.frames),
        since,
    );
    assert!(
        bad.is_empty(),
        "{what}: {} frames out of step, first {:?}",
        bad.len(),
        bad.first()
    );
}

const FPS: u64 = 30;
const FRAME: Duration = Duration::from_nanos(1_000_000_000 / FPS);

/// Short holds and fades, titles only: cheap to draw three times over on lavapipe.
fn small_show(title: &str) -> String {
    let mut s = String::from("hold = 1.2\ntransition = \"crossfade\"\ntransition_seconds = 0.5\n");
    for id in ["one", "two", "three", "four", "five"] {
        s += &format!("[[slides]]\nid = \"{id}\"\nkind = \"title\"\ntitle = \"{title} {id}\"\n");
    }
    s
}

struct Machine {
    candela: Candela,
    frames: std::path::PathBuf,
    sync: std::net::SocketAddr,
}

/// `candela play --headless` on `show`, leading (`role` "--lead ADDR") or following
/// ("--follow ADDR"), logging its frames in `dir`.
fn machine(show: &Path, dir: &Path, name: &str, role: [&str; 2], http: bool) -> Machine {
    let frames = dir.join(format!("{name}.frames"));
    let state = dir.join(format!("{name}.state"));
    let mut command = support::play();
    let fps = FPS.to_string();
    command
        .args(["--headless", "--no-dmx", "--fresh", "--size", "320x180"])
        .args(if http {
            vec!["--http", "127.0.0.1:0"]
        } else {
            vec!["--no-http"]
        })
        .args(["--fps", &fps, "--osc", "127.0.0.1:0", "--state-dir"])
        .arg(&state)
        .arg("--frame-log")
        .arg(&frames)
        .args(role)
        .arg(show);
    let candela = Candela::spawn(command, support::OSC_LISTENING);
    // Logged by the sync thread, which may come after the OSC server's line.
    let marker = ["sync: leading on udp ", "(from udp "];
    let end = Instant::now() + Duration::from_secs(10);
    let has = |l: &String| marker.iter().any(|m| l.contains(m));
    while !candela.log.lock().unwrap().iter().any(has) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = candela.log.lock().unwrap().clone();
    let sync = log
        .iter()
        .find_map(|l| marker.iter().find_map(|m| l.split(m).nth(1)))
        .and_then(|rest| rest.split([';', ')']).next()?.parse().ok())
        .unwrap_or_else(|| panic!("no sync address in {log:?}"));
    Machine {
        candela,
        frames,
        sync,
    }
}

fn lead(show: &Path, dir: &Path, bind: &str) -> Machine {
    machine(show, dir, "leader", ["--lead", bind], false)
}

fn follow(show: &Path, dir: &Path, name: &str, leader: &Machine) -> Machine {
    machine(
        show,
        dir,
        name,
        ["--follow", &leader.sync.to_string()],
        false,
    )
}

#[derive(Debug, Clone)]
struct Frame {
    wall: u64,
    t: u64,
    ids: Vec<String>,
    top: f64,
    in_step: bool,
}

fn frame_log(path: &Path) -> Vec<Frame> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        // The last line may be being written.
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            let layers = v["layers"].as_array().cloned().unwrap_or_default();
            Frame {
                wall: v["wall_ns"].as_u64().unwrap(),
                t: v["t_ns"].as_u64().unwrap(),
                ids: layers
                    .iter()
                    .map(|l| l[0].as_str().unwrap().to_string())
                    .collect(),
                top: layers.last().map_or(0.0, |l| l[1].as_f64().unwrap()),
                in_step: v["in_step"].as_bool().unwrap(),
            }
        })
        .collect()
}

/// Waits until `m` is in step and has measured its clock (the state hears of it within a
/// second).
fn in_step(m: &Machine) -> Value {
    m.candela.until("in step", |s| {
        s["sync"]["in_step"] == true
            && (s["sync"]["role"] == "leader" || s["sync"]["offset_ms"].is_number())
    })["sync"]
        .clone()
}

/// The follower's frames (those in step, from `since` on the wall) that no leader frame
/// within one frame of show time matches: the same slides, and the top one's opacity
/// within a frame's worth of the 0.5 s fades.
fn unmatched(leader: &[Frame], follower: &[Frame], since: u64) -> Vec<Frame> {
    let frame = FRAME.as_nanos() as u64;
    let step = frame as f64 / 0.5e9 + 0.02;
    follower
        .iter()
        .filter(|f| f.in_step && f.wall >= since)
        // The leader's log must reach past it.
        .filter(|f| leader.last().is_some_and(|l| l.t > f.t + frame))
        .filter(|f| {
            // The leader's frames within a frame, and the one standing before them.
            let before = leader.iter().rfind(|l| l.t + frame < f.t);
            let near = leader.iter().filter(|l| l.t.abs_diff(f.t) <= frame);
            !before
                .into_iter()
                .chain(near)
                .any(|l| l.ids == f.ids && (l.top - f.top).abs() <= step)
        })
        .cloned()
        .collect()
}

/// For each slide change on the leader, how much later (or earlier) on the wall the
/// follower's first frame showing it came, in ms.
fn change_offsets(leader: &[Frame], follower: &[Frame], since: u64) -> Vec<f64> {
    let firsts = |frames: &[Frame]| -> Vec<(String, u64, u64)> {
        let mut out: Vec<(String, u64, u64)> = Vec::new();
        let mut last: Option<&String> = None;
        for f in frames.iter().filter(|f| f.in_step && f.wall >= since) {
            let top = f.ids.last();
            if top != last {
                if let Some(id) = top {
                    out.push((id.clone(), f.wall, f.t));
                }
                last = top;
            }
        }
        out
    };
    let (l, f) = (firsts(leader), firsts(follower));
    l.iter()
        .filter_map(|(id, wall, t)| {
            let theirs = f
                .iter()
                .find(|(fid, _, ft)| fid == id && ft.abs_diff(*t) < 300_000_000)?;
            Some((theirs.1 as f64 - *wall as f64) / 1e6)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[test]
fn a_leader_and_two_followers_show_the_same_frames_under_a_burst_of_cues() {
    let rig = rig(&small_show("Case"));
    let (show, dir) = (&rig.show, rig.dir.path());
    let leader = lead(show, dir, "127.0.0.1:0");
    let f1 = follow(show, dir, "f1", &leader);
    let f2 = follow(show, dir, "f2", &leader);
    for f in [&f1, &f2] {
        let s = in_step(f);
        assert_eq!(
            (s["role"].as_str(), s["show_matches"].as_bool()),
            (Some("follower"), Some(true)),
            "{s}"
        );
        assert!(
            s["offset_ms"].as_f64().is_some_and(|o| o.abs() < 5.0),
            "{s}"
        );
    }
    let listed = leader.candela.until("two followers", |s| {
        s["sync"]["followers"]
            .as_array()
            .is_some_and(|f| f.len() == 2)
    });
    assert_eq!(listed["sync"]["role"], "leader");
    let since = candela::sync::wall_ns();
    // A burst: cues 120 ms apart, some mid-fade, a blackout and a restore.
    use rosc::OscType;
    let cues: [(&str, Vec<OscType>); 10] = [
        ("/candela/next", vec![]),
        ("/candela/next", vec![]),
        ("/candela/goto", vec![OscType::String("four".into())]),
        ("/candela/previous", vec![]),
        ("/candela/blackout", vec![OscType::Float(0.3)]),
        ("/candela/restore", vec![OscType::Float(0.3)]),
        ("/candela/next", vec![]),
        ("/candela/goto", vec![OscType::Int(1)]),
        ("/candela/next", vec![]),
        ("/candela/next", vec![]),
    ];
    for (address, args) in cues {
        leader.candela.ok(address, args);
        std::thread::sleep(Duration::from_millis(120));
    }
    // A cue sent to a follower goes to the leader, and from it to every machine.
    let before = leader.candela.state()["slide"].clone();
    let answer = f1.candela.ok("/candela/next", vec![]);
    assert_eq!(
        answer["forwarded_to_leader"],
        leader.sync.to_string(),
        "{answer}"
    );
    leader
        .candela
        .until("the forwarded cue applied", |s| s["slide"] != before);
    more_frames(&leader, 30);
    let l = frame_log(&leader.frames);
    for (name, f) in [("f1", &f1), ("f2", &f2)] {
        let theirs = frame_log(&f.frames);
        let compared = theirs
            .iter()
            .filter(|x| x.in_step && x.wall >= since)
            .count();
        assert!(compared > 40, "{name}: only {compared} frames");
        let bad = unmatched(&l, &theirs, since);
        assert!(
            bad.is_empty(),
            "{name}: {} of {compared} frames match no leader frame within one frame, first {:?}",
            bad.len(),
            bad.first()
        );
        let offsets = change_offsets(&l, &theirs, since);
        assert!(offsets.len() >= 8, "{name}: {offsets:?}");
        let worst = offsets.iter().fold(0.0f64, |m, o| m.max(o.abs()));
        eprintln!(
            "{name}: {} slide changes, first frame showing each vs the leader's: median {:.1} ms, max {worst:.1} ms ({compared} frames compared)",
            offsets.len(),
            median(offsets.clone())
        );
        // Not genlocked: the same show time, drawn up to a frame apart (and a little, for
        // a machine this loaded).
        assert!(
            worst <= FRAME.as_secs_f64() * 1e3 * 2.0,
            "{name}: {offsets:?}"
        );
    }
}

/// Waits (with a deadline) until `m` has logged `n` more frames, so that the frame logs
/// compared reach past what was just done.
fn more_frames(m: &Machine, n: usize) {
    let since = candela::sync::wall_ns();
    let end = Instant::now() + Duration::from_secs(20);
    while frame_log(&m.frames)
        .iter()
        .filter(|f| f.wall >= since)
        .count()
        < n
    {
        assert!(Instant::now() < end, "fewer than {n} frames drawn");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first frame a machine logged in step, on the wall, after `since`; waits a bounded
/// while.
fn first_in_step(m: &Machine, since: u64) -> Frame {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(f) = frame_log(&m.frames)
            .into_iter()
            .find(|f| f.in_step && f.wall >= since)
        {
            return f;
        }
        assert!(
            Instant::now() < end,
            "never in step; log:\n{}",
            m.candela.log.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_follower_killed_and_started_again_is_back_in_step_within_a_second() {
    let rig = rig(&small_show("Case"));
    let (show, dir) = (&rig.show, rig.dir.path());
    let leader = lead(show, dir, "127.0.0.1:0");
    let f1 = follow(show, dir, "f1", &leader);
    in_step(&f1);
    leader
        .candela
        .ok("/candela/goto", vec![rosc::OscType::String("three".into())]);
    f1.candela.kill_hard();
    // The leader moves on while it is gone.
    leader.candela.ok("/candela/next", vec![]);
    leader
        .candela
        .ok("/candela/blackout", vec![rosc::OscType::Float(2.0)]);
    let started = candela::sync::wall_ns();
    let again = follow(show, dir, "f1-again", &leader);
    let joined = first_in_step(&again, started);
    let first = frame_log(&again.frames).first().cloned();
    let from_first_frame = first.map(|f| (joined.wall.saturating_sub(f.wall)) as f64 / 1e6);
    let from_start = (joined.wall - started) as f64 / 1e6;
    eprintln!(
        "restarted follower: in step {from_start:.0} ms after it was started, {:.0} ms after its first frame",
        from_first_frame.unwrap_or(f64::NAN)
    );
    assert!(
        from_first_frame.is_some_and(|ms| ms < 1000.0),
        "{from_first_frame:?} ms from its first frame to one in step"
    );
    // In step means the leader's moment: its slide and the blackout fading, not its own.
    let state = in_step(&again);
    assert_eq!(
        again.candela.state()["slide"],
        leader.candela.state()["slide"],
        "{state}"
    );
    assert_eq!(again.candela.state()["blackout"], true);
    more_frames(&leader, 20);
    assert_same_frames(&leader, &again, joined.wall, "the restarted follower");
}

#[test]
fn followers_play_on_without_their_leader_and_agree_again_when_it_returns() {
    let rig = rig(&small_show("Case"));
    let (show, dir) = (&rig.show, rig.dir.path());
    let leader = lead(show, dir, "127.0.0.1:0");
    let bind = leader.sync.to_string();
    let f1 = follow(show, dir, "f1", &leader);
    let f2 = follow(show, dir, "f2", &leader);
    in_step(&f1);
    in_step(&f2);
    leader.candela.kill_hard();
    for f in [&f1, &f2] {
        let s = f
            .candela
            .until("on its own", |s| s["sync"]["in_step"] == false)["sync"]
            .clone();
        assert!(
            s["problem"]
                .as_str()
                .is_some_and(|p| p.contains("no answer from the leader")),
            "{s}"
        );
        assert!(f.candela.logged("no answer from the leader"));
    }
    // Still cycling (holds of 1.2 s), together: they started from the same moment.
    let alone = candela::sync::wall_ns();
    let slide = f1.candela.state()["slide"].clone();
    f1.candela
        .until("the next slide, alone", |s| s["slide"] != slide);
    assert_same_frames(&f1, &f2, alone, "the followers alone");
    // Cued while alone, a follower acts on it itself.
    let answer = f1
        .candela
        .ok("/candela/goto", vec![rosc::OscType::String("five".into())]);
    assert!(answer.get("forwarded_to_leader").is_none(), "{answer}");
    assert_eq!(f1.candela.state()["slide"], "five");
    // The leader back, on the same address, from the top: both take its moment again.
    let back = lead(show, dir, &bind);
    let returned = candela::sync::wall_ns();
    for f in [&f1, &f2] {
        let s = in_step(f);
        assert!(s["problem"].is_null(), "{s}");
    }
    back.candela
        .ok("/candela/goto", vec![rosc::OscType::String("two".into())]);
    for f in [&f1, &f2] {
        f.candela.until("the leader's cue", |s| s["slide"] == "two");
    }
    more_frames(&back, 20);
    for f in [&f1, &f2] {
        let since = first_in_step(f, returned).wall;
        assert_same_frames(&back, f, since, "after the leader returned");
    }
}

#[test]
fn a_follower_with_another_show_says_so_and_plays_its_own() {
    let rig = rig(&small_show("Case"));
    let (show, dir) = (&rig.show, rig.dir.path());
    let other = dir.join("other.toml");
    std::fs::write(&other, small_show("Other")).unwrap();
    // Another machine's own tables (outputs, OSC) do not make another show.
    let own = dir.join("own.toml");
    std::fs::write(&own, small_show("Case") + "[osc]\ndebounce_ms = 50\n").unwrap();
    let leader = lead(show, dir, "127.0.0.1:0");
    let same = follow(&own, dir, "same", &leader);
    let wrong = machine(
        &other,
        dir,
        "wrong",
        ["--follow", &leader.sync.to_string()],
        true,
    );
    in_step(&same);
    let s = wrong.candela.until("the mismatch known", |s| {
        s["sync"]["show_matches"] == false && s["sync"]["problem"].is_string()
    })["sync"]
        .clone();
    assert_eq!(s["in_step"], false, "{s}");
    assert!(
        s["problem"].as_str().unwrap().contains("not the leader's"),
        "{s}"
    );
    assert!(wrong.candela.logged("is not the leader's: playing its own"));
    let listed = leader.candela.until("both listed", |s| {
        s["sync"]["followers"]
            .as_array()
            .is_some_and(|f| f.len() == 2)
    });
    let matches: Vec<_> = listed["sync"]["followers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["show_matches"].as_bool())
        .collect();
    assert!(
        matches.contains(&Some(true)) && matches.contains(&Some(false)),
        "{listed}"
    );
    // The leader's cues move the follower with the same show, not the other.
    let before = wrong.candela.state()["slide"].clone();
    leader
        .candela
        .ok("/candela/goto", vec![rosc::OscType::String("four".into())]);
    same.candela
        .until("the leader's cue", |s| s["slide"] == "four");
    std::thread::sleep(Duration::from_millis(300));
    let after = wrong.candela.state();
    assert!(after["slide"] != "four" || before == "four", "{after}");
    // Frames of its own show, none in step.
    assert!(frame_log(&wrong.frames).iter().all(|f| !f.in_step));
    // Its web remote says so.
    let web = wrong
        .candela
        .log
        .lock()
        .unwrap()
        .iter()
        .find_map(|l| {
            l.split(support::WEB_LISTENING)
                .nth(1)
                .map(|a| a.trim().to_string())
        })
        .unwrap();
    let browser = support::browser::Browser::open(
        "sync",
        support::browser::Screen::Laptop {
            width: 1280,
            height: 900,
        },
    );
    browser.go(&format!(
        "http://{}/",
        web.trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/')
    ));
    let text = browser.until(
        "the mismatch on the page",
        "const t = document.getElementById('sync').textContent; \
         return !document.getElementById('sync-box').classList.contains('hidden') \
           && t.includes('follows the leader at') && t.includes('not the leader') \
           && document.querySelector('#sync li.problem') !== null && t;",
    );
    assert!(
        text.as_str().unwrap().contains(&leader.sync.to_string()),
        "{text}"
    );
}

#[test]
fn a_follower_promoted_when_the_leader_is_gone_leads_the_others_from_where_it_was() {
    // Changing a machine's part over OSC is for listed senders only.
    let rig = rig(&(small_show("Case") + "[osc]\nallow = [\"127.0.0.1\"]\n"));
    let (show, dir) = (&rig.show, rig.dir.path());
    let leader = lead(show, dir, "127.0.0.1:0");
    let f1 = follow(show, dir, "f1", &leader);
    let f2 = follow(show, dir, "f2", &leader);
    in_step(&f1);
    in_step(&f2);
    leader
        .candela
        .ok("/candela/goto", vec![rosc::OscType::String("four".into())]);
    f2.candela.until("the cue", |s| s["slide"] == "four");
    leader.candela.kill_hard();
    f1.candela.until("alone", |s| s["sync"]["in_step"] == false);
    let promoted = f1.candela.ok("/candela/sync/lead", vec![]);
    assert!(promoted["slide"].is_string(), "{promoted}");
    f1.candela
        .until("leading", |s| s["sync"]["role"] == "leader");
    // Its sync socket listens on every address; the others reach it on this machine's.
    let to = format!("127.0.0.1:{}", f1.sync.port());
    f2.candela.ok(
        "/candela/sync/follow",
        vec![rosc::OscType::String(to.clone())],
    );
    let s = in_step(&f2);
    assert_eq!(s["leader"], to, "{s}");
    f1.candela.until("its follower listed", |s| {
        s["sync"]["followers"]
            .as_array()
            .is_some_and(|f| f.len() == 1)
    });
    let since = candela::sync::wall_ns();
    f1.candela.ok("/candela/next", vec![]);
    f2.candela.until("the new leader's cue", |s| {
        s["slide"] == f1.candela.state()["slide"]
    });
    more_frames(&f1, 20);
    assert_same_frames(&f1, &f2, since, "under the new leader");
    // Over UDP from a sender not listed, no machine's part is changed.
    let refused = std::net::UdpSocket::bind("127.0.0.2:0").unwrap();
    let bytes = candela::osc::packet::encode_message(
        "/candela/sync/follow",
        vec![rosc::OscType::String("127.0.0.9:9".into())],
    );
    refused.send_to(&bytes, f2.candela.addr).unwrap();
    assert!(f2.candela.logged("127.0.0.2"), "the refusal is logged");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(f2.candela.state()["sync"]["leader"], to);
}
