//! The engine's live operations with a virtual clock: a reloaded show swapped in without
//! blanking, and the show's hours with a virtual local wall clock.

use candela::control::schedule::{LocalTime, Override};
use candela::control::{Command, Engine, RELOAD_FADE, SlideRef};
use candela::counts::Counts;
use candela::show::Show;
use std::path::Path;
use std::time::Duration;

const SHOW: &str = r#"
hold = 10
transition = "cut"

[[counters]]
id = "letters"
label = "letters"
value = 5

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
kind = "counter"
counter = "letters"
"#;

fn show(src: &str) -> Show {
    Show::parse(Path::new("/show/show.toml"), src).unwrap().0
}

fn engine(src: &str) -> Engine {
    let show = show(src);
    let counts = Counts::from_show(&show);
    Engine::new(show, counts, Duration::ZERO).unwrap()
}

fn s(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
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
    let mut e = engine(SHOW);
    e.apply(
        Command::Goto {
            slide: SlideRef::Id("b".into()),
            fade: None,
        },
        s(1.0),
    )
    .unwrap();
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
    let edited = SHOW
        .replace("title = \"B\"", "title = \"B, fixed\"")
        .replace(
            "[[slides]]\nid = \"a\"",
            "[[slides]]\nid = \"new\"\nkind = \"title\"\ntitle = \"New\"\n\n[[slides]]\nid = \"a\"",
        );
    e.replace_show(show(&edited), s(5.0)).unwrap();
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
    e.apply(
        Command::Goto {
            slide: SlideRef::Id("new".into()),
            fade: None,
        },
        s(6.0),
    )
    .unwrap();
    assert_eq!(e.status().slide, "new");
}

#[test]
fn a_removed_slide_gives_way_to_the_one_at_its_place() {
    let mut e = engine(SHOW);
    e.apply(
        Command::Goto {
            slide: SlideRef::Id("c".into()),
            fade: None,
        },
        s(1.0),
    )
    .unwrap();
    let without_c = SHOW[..SHOW.find("[[slides]]\nid = \"c\"").unwrap()].to_string();
    e.replace_show(show(&without_c), s(2.0)).unwrap();
    assert_eq!(e.status().slide, "b", "the last slide now");
    let no_slides = "hold = 10\n";
    assert!(e.replace_show(show(no_slides), s(3.0)).is_err());
    assert_eq!(e.status().slide, "b", "a show without slides is refused");
}

const HOURS: &str = "\n[schedule]\nstart = \"19:00\"\nend = \"01:00\"\nfade = 4\n";

/// 2026-12-10, a Thursday, at `h`:`m`.
fn local(h: i64, m: i64) -> LocalTime {
    LocalTime::from_local_seconds(20_797 * 86_400 + h * 3600 + m * 60)
}

#[test]
fn outside_its_hours_the_wall_is_black_and_it_fades_at_the_edges() {
    let mut e = engine(&(SHOW.to_string() + HOURS));
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
    let mut e = engine(&(SHOW.to_string() + HOURS));
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
    let mut plain = engine(SHOW);
    plain.set_local_time(local(4, 0), s(0.0));
    assert_eq!(plain.scene(s(0.0)).master, 1.0);
    assert!(!plain.status().schedule.hours);
}
