//! Several machines in step (issue 18).
//!
//! Pure: players fed the same timed log, each moving its engine on at frames of its own,
//! show the same frames; one that joins half way through by taking another's moment does
//! too. Real processes on loopback: a leader and two headless followers, compared by their
//! frame logs under a burst of cues, a follower killed and started again, the leader killed
//! and started again, a follower with another show.

mod support;

use candela::control::{Command, Engine, Pattern, Scene, SlideRef, Stage};
use candela::counts::Counts;
use candela::inbox::{Incoming, Join, Reload, Request, SyncRequest};
use candela::output::{Display, LinkOptions, Player};
use candela::render::{Gpu, Renderer};
use candela::show::Show;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A display with no GPU: the player's frames are only computed.
struct Nowhere;

impl Display for Nowhere {
    fn drawing(&mut self) -> Option<(&Gpu, &mut Renderer)> {
        None
    }
    fn draw(&mut self, _: &Scene, _: &Stage) -> Option<Instant> {
        Some(Instant::now())
    }
}

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
        player.frame(t, &mut Nowhere);
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
    let differ: Vec<_> = (0..1000).filter(|i| seen_a[*i] != seen_b[*i]).collect();
    assert!(
        differ.is_empty(),
        "differ at {} of 1000 times, first at {:?}:\n{}\n{}",
        differ.len(),
        samples[differ[0]],
        seen_a[differ[0]],
        seen_b[differ[0]]
    );
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
        a.frame(*t, &mut Nowhere);
    }
    a.frame(join_at, &mut Nowhere);
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    (a.deliver())(Incoming {
        source: "follower".into(),
        request: Request::Sync(SyncRequest::Snapshot),
        reply: Some(reply),
        at: None,
    });
    a.frame(join_at, &mut Nowhere);
    let join: Join = serde_json::from_value(answer.try_recv().unwrap().unwrap()).unwrap();
    assert_eq!(join.moment.at(), join_at);
    assert_eq!((join.seq, join.pending.len()), (seq, 14), "{join:?}");
    // Through the wire's JSON, as a follower gets it.
    let join: Join = serde_json::from_str(&serde_json::to_string(&join).unwrap()).unwrap();

    let mut b = player(&first);
    b.frame(ms(100), &mut Nowhere);
    (b.deliver())(Incoming {
        source: "leader".into(),
        request: Request::Sync(SyncRequest::Adopt(Box::new(join))),
        reply: None,
        at: None,
    });
    b.frame(join_at, &mut Nowhere);
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
    let differ: Vec<_> = (0..1000).filter(|i| seen_a[*i] != seen_b[*i]).collect();
    assert!(
        differ.is_empty(),
        "differ at {} of 1000 times, first at {:?}:\n{}\n{}",
        differ.len(),
        samples[differ[0]],
        seen_a[differ[0]],
        seen_b[differ[0]]
    );
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
