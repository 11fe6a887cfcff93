//! The show engine with a virtual clock: cycling, holds, every transition at several instants,
//! cues mid-transition, blackout, master, pause — asserting on the Scene; and the live
//! operations: a reloaded show swapped in without blanking, and the show's hours with a virtual
//! local wall clock.

use candela::control::schedule::{LocalTime, Override};
use candela::control::{
    Command, Engine, EngineError, MAX_LAYERS, Pattern, RELOAD_FADE, Scene, SlideRef, slide_view,
};
use candela::counts::{Counts, NumberFormat};
use candela::show::{Show, TransitionKind};
use std::path::Path;
use std::time::Duration;

const SHOW: &str = r#"
hold = 10
transition = "crossfade"
transition_seconds = 2

[[slides]]
id = "a"
kind = "title"
title = "A"

[[slides]]
id = "b"
kind = "title"
title = "B"

[[slides]]
id = "c"
kind = "title"
title = "C"
transition = "through-black"
transition_seconds = 4

[[slides]]
id = "d"
kind = "title"
title = "D"
transition = "cut"

[[slides]]
id = "e"
kind = "title"
title = "E"
"#;

fn show() -> Show {
    let (show, problems) = Show::parse(Path::new("engine-test.toml"), SHOW).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    show
}

fn s(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

/// A virtual clock driving the engine the way the output does: tick, then look.
struct Clock {
    engine: Engine,
    now: Duration,
}

impl Clock {
    fn new() -> Clock {
        let show = show();
        let counts = Counts::from_show(&show);
        Clock {
            engine: Engine::new(show, counts, Duration::ZERO).unwrap(),
            now: Duration::ZERO,
        }
    }

    /// Advances to `t` seconds in 10 ms frames.
    fn run_to(&mut self, t: f64) -> Scene {
        let end = s(t);
        while self.now < end {
            self.now = (self.now + Duration::from_millis(10)).min(end);
            self.engine.tick(self.now);
        }
        self.engine.scene(self.now)
    }

    fn cue(&mut self, command: Command) -> Result<(), EngineError> {
        self.engine.apply(command, self.now)
    }
}

fn layers(scene: &Scene) -> Vec<(String, f32)> {
    scene
        .layers
        .iter()
        .map(|l| (l.slide.id.clone(), (l.opacity * 1000.0).round() / 1000.0))
        .collect()
}

fn ids(scene: &Scene) -> Vec<(&str, f32)> {
    // Borrowing helper for terse assertions.
    scene
        .layers
        .iter()
        .map(|l| (l.slide.id.as_str(), (l.opacity * 1000.0).round() / 1000.0))
        .collect()
}

#[test]
fn cycles_through_holds_and_every_transition_kind() {
    let mut c = Clock::new();
    assert_eq!(ids(&c.run_to(9.99)), [("a", 1.0)]);
    // a → b: crossfade over 2 s from t=10.
    assert_eq!(ids(&c.run_to(10.5)), [("a", 1.0), ("b", 0.25)]);
    assert_eq!(ids(&c.run_to(11.0)), [("a", 1.0), ("b", 0.5)]);
    assert_eq!(ids(&c.run_to(12.0)), [("b", 1.0)]);
    // b is held 10 s once fully shown: b → c through black over 4 s from t=22.
    assert_eq!(ids(&c.run_to(21.99)), [("b", 1.0)]);
    assert_eq!(ids(&c.run_to(23.0)), [("b", 0.5)]);
    assert!(c.run_to(24.0).layers.is_empty(), "black at the midpoint");
    assert_eq!(ids(&c.run_to(25.0)), [("c", 0.5)]);
    assert_eq!(ids(&c.run_to(26.0)), [("c", 1.0)]);
    // c → d: a cut at t=36.
    assert_eq!(ids(&c.run_to(35.99)), [("c", 1.0)]);
    assert_eq!(ids(&c.run_to(36.0)), [("d", 1.0)]);
    // d → e at 46, e → a (wrapping round) at 58.
    assert_eq!(ids(&c.run_to(48.0)), [("e", 1.0)]);
    assert_eq!(ids(&c.run_to(59.0)), [("e", 1.0), ("a", 0.5)]);
    assert_eq!(c.engine.status().position, 1);
}

#[test]
fn an_uninterrupted_transition_matches_the_renderers_two_slide_scene() {
    let show = show();
    let numbers = NumberFormat::new(&show.locale).unwrap();
    let counts = Counts::from_show(&show);
    let view = |i| slide_view(&show, &numbers, &counts, i);
    let mut c = Clock::new();
    for (t, p) in [(10.2, 0.1), (11.0, 0.5), (11.8, 0.9)] {
        let expected = Scene::transition(view(0), view(1), TransitionKind::Crossfade, p);
        assert_eq!(layers(&c.run_to(t)), layers(&expected), "at {t}s");
    }
    for (t, p) in [(22.4, 0.1), (23.0, 0.25), (25.0, 0.75)] {
        let expected = Scene::transition(view(1), view(2), TransitionKind::ThroughBlack, p);
        assert_eq!(layers(&c.run_to(t)), layers(&expected), "at {t}s");
    }
}

/// Samples every 10 ms and fails if any slide's opacity jumps between two frames.
fn assert_no_jumps(c: &mut Clock, until: f64) {
    let mut before = layers(&c.engine.scene(c.now));
    while c.now < s(until) {
        let t = c.now.as_secs_f64() + 0.01;
        let after = layers(&c.run_to(t));
        for (id, o) in &after {
            let prev = before
                .iter()
                .find(|(i, _)| i == id)
                .map_or(0.0, |(_, o)| *o);
            assert!(
                (o - prev).abs() <= 0.03,
                "{id} jumped from {prev} to {o} at {t:.2}s"
            );
        }
        for (id, prev) in &before {
            if !after.iter().any(|(i, _)| i == id) {
                assert!(
                    *prev <= 0.03 || after.iter().any(|(_, o)| *o >= 1.0),
                    "{id} vanished at {prev} with nothing opaque over it, at {t:.2}s"
                );
            }
        }
        before = after;
    }
}

#[test]
fn a_cue_mid_crossfade_fades_from_what_is_on_screen() {
    let mut c = Clock::new();
    assert_eq!(ids(&c.run_to(11.0)), [("a", 1.0), ("b", 0.5)]);
    c.cue(Command::Goto {
        slide: SlideRef::Id("e".into()),
        fade: None,
    })
    .unwrap();
    // Nothing changes at the instant of the cue, then e fades in over what was there.
    assert_eq!(ids(&c.engine.scene(c.now)), [("a", 1.0), ("b", 0.5)]);
    assert_no_jumps(&mut c, 13.5);
    assert_eq!(ids(&c.run_to(13.5)), [("e", 1.0)]);
    assert_eq!(c.engine.status().slide, "e");
}

#[test]
fn a_through_black_cue_mid_crossfade_fades_everything_out_first() {
    let mut c = Clock::new();
    c.run_to(11.0);
    c.cue(Command::Goto {
        slide: SlideRef::Id("c".into()),
        fade: None,
    })
    .unwrap();
    assert_eq!(ids(&c.run_to(12.0)), [("a", 0.5), ("b", 0.25)]);
    assert!(c.run_to(13.0).layers.is_empty());
    assert_no_jumps(&mut c, 15.5);
    assert_eq!(ids(&c.run_to(15.5)), [("c", 1.0)]);
}

#[test]
fn rapid_cues_never_stack_up_layers() {
    let mut c = Clock::new();
    for i in 0..12 {
        c.run_to(1.0 + i as f64 * 0.01);
        c.cue(Command::Next { fade: Some(s(1.0)) }).unwrap();
        assert!(c.engine.scene(c.now).layers.len() <= MAX_LAYERS);
    }
    // 12 × next from a, in a show of 5: slide 3 (c), alone once its fade is done.
    assert_eq!(ids(&c.run_to(5.0)), [("c", 1.0)]);
}

#[test]
fn blackout_during_a_crossfade_fades_out_and_freezes_the_cycle() {
    let mut c = Clock::new();
    c.run_to(11.0);
    c.cue(Command::Blackout { fade: Some(s(1.0)) }).unwrap();
    assert!((c.run_to(11.5).master - 0.5).abs() < 0.01);
    assert_eq!(c.run_to(12.0).master, 0.0);
    let status = c.engine.status();
    assert!(status.blackout);
    // Blacked out for a long time: the show does not move on behind the black.
    c.run_to(100.0);
    assert_eq!(c.engine.status().slide, "b");
    assert_eq!(c.engine.next_change(), None);
    c.cue(Command::Restore { fade: None }).unwrap();
    assert_eq!(ids(&c.run_to(100.0)), [("b", 1.0)]);
    assert_eq!(c.engine.scene(c.now).master, 1.0);
    // And b gets its full hold again.
    assert_eq!(c.engine.next_change(), Some(s(110.0)));
    c.cue(Command::ToggleBlackout).unwrap();
    assert_eq!(c.engine.scene(c.now).master, 0.0);
    c.cue(Command::ToggleBlackout).unwrap();
    assert_eq!(c.engine.scene(c.now).master, 1.0);
}

#[test]
fn master_fades_and_rejects_bad_levels() {
    let mut c = Clock::new();
    c.run_to(1.0);
    c.cue(Command::Master {
        level: 0.5,
        fade: Some(s(2.0)),
    })
    .unwrap();
    assert!((c.run_to(2.0).master - 0.75).abs() < 0.01);
    assert!((c.run_to(3.0).master - 0.5).abs() < 0.01);
    // A new fade starts from where the level is, not from where the last one began.
    c.run_to(3.0);
    c.cue(Command::Master {
        level: 1.0,
        fade: Some(s(1.0)),
    })
    .unwrap();
    assert!((c.run_to(3.5).master - 0.75).abs() < 0.01);
    for bad in [2.0, -0.1, f32::NAN] {
        let result = c.cue(Command::Master {
            level: bad,
            fade: None,
        });
        assert!(matches!(result, Err(EngineError::BadLevel(_))), "{bad}");
    }
    assert!((c.run_to(4.0).master - 1.0).abs() < 0.01);
}

#[test]
fn pause_holds_the_slide_and_resume_gives_it_a_full_hold() {
    let mut c = Clock::new();
    c.run_to(5.0);
    c.cue(Command::Pause).unwrap();
    c.run_to(50.0);
    assert_eq!(c.engine.status().slide, "a");
    assert!(c.engine.status().paused);
    c.cue(Command::TogglePause).unwrap();
    assert_eq!(c.engine.next_change(), Some(s(60.0)));
    assert_eq!(ids(&c.run_to(61.0)), [("a", 1.0), ("b", 0.5)]);
}

#[test]
fn set_hold_counts_from_when_the_slide_arrived() {
    let mut c = Clock::new();
    c.run_to(1.0);
    c.cue(Command::SetHold(s(3.0))).unwrap();
    assert_eq!(c.engine.next_change(), Some(s(3.0)));
    assert_eq!(ids(&c.run_to(4.0)), [("a", 1.0), ("b", 0.5)]);
    // Too short a hold is raised to the minimum, and never set in the past.
    c.run_to(6.0);
    c.cue(Command::SetHold(Duration::ZERO)).unwrap();
    assert_eq!(c.engine.next_change(), Some(s(6.0)));
}

#[test]
fn unknown_slides_are_errors_that_change_nothing() {
    let mut c = Clock::new();
    let before = c.run_to(11.0);
    assert_eq!(
        c.cue(Command::Goto {
            slide: SlideRef::Id("nobody".into()),
            fade: None
        }),
        Err(EngineError::UnknownSlide("nobody".into()))
    );
    assert_eq!(
        c.cue(Command::Goto {
            slide: SlideRef::Position(9),
            fade: None
        }),
        Err(EngineError::NoSuchPosition(9, 5))
    );
    assert_eq!(c.engine.scene(c.now), before);
    c.cue(Command::Goto {
        slide: SlideRef::Position(4),
        fade: None,
    })
    .unwrap();
    assert_eq!(
        ids(&c.engine.scene(c.now)),
        [("d", 1.0)],
        "d is entered with a cut"
    );
}

#[test]
fn redraws_only_while_something_moves() {
    let mut c = Clock::new();
    c.run_to(1.0);
    assert!(!c.engine.animating(c.now));
    assert_eq!(c.engine.next_change(), Some(s(10.0)));
    c.run_to(11.0);
    assert!(c.engine.animating(c.now));
    c.run_to(12.5);
    assert!(!c.engine.animating(c.now));
    assert_eq!(c.engine.next_change(), Some(s(22.0)));
}

#[test]
fn previous_wraps_and_fade_overrides_the_duration() {
    let mut c = Clock::new();
    c.run_to(1.0);
    c.cue(Command::Previous { fade: Some(s(0.5)) }).unwrap();
    assert_eq!(ids(&c.run_to(1.25)), [("a", 1.0), ("e", 0.5)]);
    assert_eq!(ids(&c.run_to(1.5)), [("e", 1.0)]);
}

#[test]
fn test_pattern_and_scene_as_json() {
    let mut c = Clock::new();
    c.cue(Command::NextTestPattern).unwrap();
    assert_eq!(c.engine.scene(c.now).test_pattern, Some(Pattern::Grid));
    c.cue(Command::NextTestPattern).unwrap();
    assert_eq!(c.engine.scene(c.now).test_pattern, Some(Pattern::Circles));
    c.cue(Command::TestPattern(None)).unwrap();
    let json = serde_json::to_value(c.run_to(11.0)).unwrap();
    assert_eq!(json["layers"][1]["slide"]["id"], "b");
    assert_eq!(json["layers"][1]["opacity"], 0.5);
    assert_eq!(json["layers"][1]["slide"]["content"]["kind"], "title");
    assert_eq!(json["test_pattern"], serde_json::Value::Null);
}

#[test]
fn a_rising_count_is_shown_counting_up_and_ends_exact() {
    let src = r#"
count_up_seconds = 2
[[counters]]
id = "letters"
label = "letters"
value = 1000
[[slides]]
id = "count"
kind = "counter"
counter = "letters"
"#;
    let (show, _) = Show::parse(Path::new("count.toml"), src).unwrap();
    let counts = Counts::from_show(&show);
    let mut engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    let value = |engine: &Engine, t: f64| {
        let json = serde_json::to_value(engine.scene(s(t))).unwrap();
        json["layers"][0]["slide"]["content"]["counter"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    engine
        .apply(
            Command::SetCount {
                counter: "letters".into(),
                value: 2000,
            },
            s(1.0),
        )
        .unwrap();
    assert_eq!(value(&engine, 1.0), "1,000");
    let mid = value(&engine, 1.5);
    assert!(
        mid != "1,000" && mid != "2,000",
        "mid-way shows a number in between: {mid}"
    );
    assert!(
        engine.animating(s(1.5)),
        "the output redraws while counting"
    );
    assert_eq!(value(&engine, 3.0), "2,000");
    assert!(!engine.animating(s(3.0)));
    assert_eq!(engine.status().slide, "count");
}

#[test]
fn a_slide_writes_its_number_with_prefix_and_suffix_in_the_show_locale() {
    let src = r#"
locale = "de-DE"
[[counters]]
id = "letters"
label = "Briefe"
value = 700000
[[slides]]
id = "count"
kind = "counter"
counter = "letters"
prefix = "über "
suffix = " Briefe"
"#;
    let (show, problems) = Show::parse(Path::new("suffix.toml"), src).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let counts = Counts::from_show(&show);
    let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    let json = serde_json::to_value(engine.scene(Duration::ZERO)).unwrap();
    assert_eq!(
        json["layers"][0]["slide"]["content"]["counter"]["value"],
        "über 700.000 Briefe"
    );
}

// ---- Live operations: a reloaded show swapped in without blanking, and the show's hours
// with a virtual local wall clock ----

const CROSSFADE: &str = "transition = \"crossfade\"";
const CUT: &str = "transition = \"cut\"";
const LETTERS: &str = "
[[counters]]
id = \"letters\"
label = \"letters\"
value = 5
";

/// The engine tests' show cutting from slide to slide (c keeps its fade through black), and
/// a counter whose count a reload must carry over.
fn live_show() -> String {
    SHOW.replace(CROSSFADE, CUT) + LETTERS
}

fn parse(src: &str) -> Show {
    Show::parse(Path::new("/show/show.toml"), src).unwrap().0
}

fn engine(src: &str) -> Engine {
    let show = parse(src);
    let counts = Counts::from_show(&show);
    Engine::new(show, counts, Duration::ZERO).unwrap()
}

/// Cues slide `id` with its own transition.
fn goto(e: &mut Engine, id: &str, now: Duration) {
    let slide = SlideRef::Id(id.into());
    e.apply(Command::Goto { slide, fade: None }, now).unwrap();
}

fn titles(engine: &Engine, now: Duration) -> Vec<(String, f32)> {
    engine
        .scene(now)
        .layers
        .iter()
        .map(|l| {
            let text = serde_json::to_value(&l.slide).unwrap()["content"].to_string();
            (text, l.opacity)
        })
        .collect()
}

#[test]
fn a_reload_keeps_the_slide_by_id_and_crossfades_to_its_new_version() {
    let mut e = engine(&live_show());
    goto(&mut e, "b", s(1.0));
    e.apply(
        Command::SetCount {
            counter: "letters".into(),
            value: 90_000,
        },
        s(1.0),
    )
    .unwrap();
    e.set_problems(vec!["show.toml:3:1: broken".into()]);
    // Reordered, B renamed, a slide added before it.
    let edited = live_show()
        .replace("title = \"B\"", "title = \"B, fixed\"")
        .replace(
            "[[slides]]\nid = \"a\"",
            "[[slides]]\nid = \"new\"\nkind = \"title\"\ntitle = \"New\"\n\n[[slides]]\nid = \"a\"",
        );
    e.replace_show(parse(&edited), s(5.0)).unwrap();
    let status = e.status();
    assert_eq!(status.slide, "b");
    assert_eq!(status.position, 3, "found by id at its new place");
    assert!(
        status.problems.is_empty(),
        "a good version clears the problems"
    );
    assert_eq!(e.counts().get("letters"), Some(90_000), "counts carry over");
    // Never blank: the old version stays fully up while the new one fades in over it.
    let mid = titles(&e, s(5.0) + RELOAD_FADE / 2);
    assert_eq!(mid.len(), 2, "{mid:?}");
    assert!(mid[0].0.contains("\"B\"") && mid[0].1 == 1.0, "{mid:?}");
    assert!(
        mid[1].0.contains("B, fixed") && mid[1].1 > 0.3 && mid[1].1 < 0.7,
        "{mid:?}"
    );
    let after = titles(&e, s(5.0) + RELOAD_FADE);
    e.tick(s(5.0) + RELOAD_FADE);
    let settled = titles(&e, s(5.0) + RELOAD_FADE);
    assert!(after.last().unwrap().0.contains("B, fixed"));
    assert_eq!(settled.len(), 1, "{settled:?}");
    // The added slide can be cued.
    goto(&mut e, "new", s(6.0));
    assert_eq!(e.status().slide, "new");
}

#[test]
fn a_removed_slide_gives_way_to_the_one_at_its_place() {
    let mut e = engine(&live_show());
    goto(&mut e, "c", s(1.0));
    let without_c_on = &SHOW[..SHOW.find("[[slides]]\nid = \"c\"").unwrap()];
    let without_c_on = format!("{without_c_on}{LETTERS}").replace(CROSSFADE, CUT);
    e.replace_show(parse(&without_c_on), s(2.0)).unwrap();
    assert_eq!(e.status().slide, "b", "the last slide now");
    let no_slides = "hold = 10\n";
    assert!(e.replace_show(parse(no_slides), s(3.0)).is_err());
    assert_eq!(e.status().slide, "b", "a show without slides is refused");
}

const HOURS: &str = "\n[schedule]\nstart = \"19:00\"\nend = \"01:00\"\nfade = 4\n";

/// 2026-12-10, a Thursday, at `h`:`m`.
fn local(h: i64, m: i64) -> LocalTime {
    LocalTime::from_local_seconds(20_797 * 86_400 + h * 3600 + m * 60)
}

#[test]
fn outside_its_hours_the_wall_is_black_and_it_fades_at_the_edges() {
    let mut e = engine(&(live_show() + HOURS));
    // Started in the afternoon: black from the very first frame, no fade out.
    e.set_local_time(local(15, 0), s(0.0));
    assert_eq!(e.scene(s(0.0)).master, 0.0);
    assert!(!e.status().schedule.on);
    // 19:00: fades in over the schedule's 4 s.
    e.set_local_time(local(19, 0), s(100.0));
    assert!((e.scene(s(102.0)).master - 0.5).abs() < 0.01);
    assert_eq!(e.scene(s(104.0)).master, 1.0);
    // Past midnight it is still on; at 01:00 it fades to black.
    e.set_local_time(local(24, 30), s(200.0));
    assert_eq!(e.scene(s(200.0)).master, 1.0);
    e.set_local_time(local(25, 0), s(300.0));
    assert!(e.animating(s(301.0)));
    assert!((e.scene(s(302.0)).master - 0.5).abs() < 0.01);
    assert_eq!(e.scene(s(304.0)).master, 0.0);
    let state = serde_json::to_value(e.status()).unwrap();
    assert_eq!(state["schedule"]["override"], "auto");
    assert_eq!(state["schedule"]["on"], false);
}

#[test]
fn an_operator_overrides_the_hours_and_hands_back_to_them() {
    let mut e = engine(&(live_show() + HOURS));
    e.set_local_time(local(12, 0), s(0.0));
    e.apply(Command::Schedule(Override::On), s(10.0)).unwrap();
    assert_eq!(e.scene(s(14.0)).master, 1.0);
    assert_eq!(e.status().schedule.mode, "on");
    e.apply(Command::Schedule(Override::Auto), s(20.0)).unwrap();
    assert_eq!(
        e.scene(s(24.0)).master,
        0.0,
        "back to the hours: off at noon"
    );
    e.set_local_time(local(20, 0), s(30.0));
    e.apply(Command::Schedule(Override::Off), s(40.0)).unwrap();
    assert_eq!(e.scene(s(44.0)).master, 0.0, "off in the hours");
    // A show without [schedule] is always on.
    let mut plain = engine(&live_show());
    plain.set_local_time(local(4, 0), s(0.0));
    assert_eq!(plain.scene(s(0.0)).master, 1.0);
    assert!(!plain.status().schedule.hours);
}
