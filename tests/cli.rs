//! The `candela` binary as a user runs it: `check` on good and broken shows, `render` to PNG.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn candela(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run candela")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn fixture(name: &str) -> String {
    format!("tests/fixtures/{name}")
}

fn temp_png(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("candela-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn check_passes_on_the_default_show() {
    let out = candela(&["check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ok — 8 slides, 2 counters"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_reports_a_syntax_error_with_its_place() {
    let out = candela(&["check", &fixture("syntax-error.toml")]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("syntax-error.toml:7:") && t.contains("invalid basic string"),
        "{t}"
    );
}

#[test]
fn check_reports_an_unknown_transition_and_the_valid_ones() {
    let out = candela(&["check", &fixture("unknown-transition.toml")]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("unknown-transition.toml:2:14:"), "{t}");
    assert!(t.contains("wipe") && t.contains("through-black"), "{t}");
}

#[test]
fn check_lists_every_problem_with_its_line() {
    let out = candela(&["check", &fixture("problems.toml")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    let expected = [
        (
            "problems.toml:3:8:",
            "hold must be more than 0 seconds, not -3",
        ),
        ("problems.toml:17:6:", "duplicate slide id \"intro\""),
        ("problems.toml:24:9:", "slide \"lost\": image file"),
        ("problems.toml:24:9:", "no-such-photo.jpg not found"),
        ("problems.toml:30:9:", "slide \"corrupt\": cannot decode"),
        (
            "problems.toml:34:6:",
            "slide \"glyphs\" field 'title' has characters no available font can draw: \"\\u{e000}\" (U+E000)",
        ),
        (
            "problems.toml:41:11:",
            "slide \"count\" shows counter \"letters\", which is not defined",
        ),
        (
            "problems.toml:45:8:",
            "slide \"nameless\": portrait slides need a 'name'",
        ),
    ];
    for (place, message) in expected {
        assert!(
            t.lines().any(|l| l.contains(place) && l.contains(message)),
            "expected {place} {message:?} in:\n{t}"
        );
    }
    assert!(t.contains("7 problem(s)"), "{t}");
    // Listed in file order, so a user can work down the file.
    let lines: Vec<usize> = t
        .lines()
        .filter_map(|l| {
            l.strip_prefix("tests/fixtures/problems.toml:")?
                .split(':')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(t.contains("hint:"), "every problem says what to do:\n{t}");
}

#[test]
fn check_reports_a_misspelt_field() {
    let out = candela(&["check", &fixture("misspelt-field.toml")]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("misspelt-field.toml:7:1:") && t.contains("unknown field `nmae`"),
        "{t}"
    );
}

#[test]
fn check_reports_bad_cues_and_osc_settings() {
    let out = candela(&["check", &fixture("bad-cues.toml")]);
    assert!(!out.status.success());
    let t = text(&out);
    for (place, message) in [
        (
            "bad-cues.toml:10:10:",
            "cue number 1.1 is written as a decimal number",
        ),
        ("bad-cues.toml:15:12:", "action goes to slide \"nowhere\""),
        ("bad-cues.toml:19:12:", "action does several things"),
        (
            "bad-cues.toml:22:10:",
            "\"192.168.1.0/33\" is not an address or network",
        ),
        (
            "bad-cues.toml:25:11:",
            "mapping fires cue 9, which is not in [[cues]]",
        ),
    ] {
        assert!(
            t.lines().any(|l| l.contains(place) && l.contains(message)),
            "expected {place} {message:?} in:\n{t}"
        );
    }
}

#[test]
fn check_names_a_missing_show_file() {
    let out = candela(&["check", "no/such/show.toml"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no/such/show.toml: cannot read the show file"),
        "{}",
        text(&out)
    );
}

#[test]
fn render_writes_a_png_of_the_asked_size() {
    let png = temp_png("yorm.png");
    let out = candela(&[
        "render",
        "--slide",
        "yorm-bopha",
        "--size",
        "640x360",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (640, 360));
}

#[test]
fn render_a_transition_by_position() {
    let png = temp_png("fade.png");
    let out = candela(&[
        "render",
        "slides",
        "--slide",
        "2",
        "--to",
        "3",
        "--progress",
        "0.4",
        "--size",
        "320x180",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(Path::new(&png).is_file());
}

#[test]
fn render_says_what_it_could_not_draw_and_still_renders() {
    let png = temp_png("lost.png");
    let out = candela(&[
        "render",
        &fixture("problems.toml"),
        "--slide",
        "lost",
        "--size",
        "320x180",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("no-such-photo.jpg"), "{t}");
    assert!(Path::new(&png).is_file());
}

#[test]
fn render_rejects_an_unknown_slide_and_lists_the_known_ones() {
    let png = temp_png("none.png");
    let out = candela(&[
        "render",
        "--slide",
        "nobody",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("no slide \"nobody\"") && t.contains("yorm-bopha"),
        "{t}"
    );
}

#[test]
fn render_rejects_a_bad_progress() {
    let out = candela(&[
        "render",
        "--slide",
        "1",
        "--to",
        "2",
        "--progress",
        "1.5",
        "--out",
        "x.png",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("from 0 to 1"), "{}", text(&out));
}

fn headless(seconds: &str, png: &Path) -> (serde_json::Value, image::RgbaImage) {
    // Counts kept by other runs must not leak in.
    let state_dir = temp_png("state");
    let out = candela(&[
        "play",
        "--headless",
        "--no-osc",
        "--no-http",
        "--state-dir",
        state_dir.to_str().unwrap(),
        "--size",
        "480x270",
        "--fps",
        "10",
        "--seconds",
        seconds,
        "--virtual-time",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let status = serde_json::from_slice(&out.stdout).unwrap();
    (status, image::open(png).unwrap().to_rgba8())
}

#[test]
fn headless_play_shows_the_expected_slide_after_simulated_seconds() {
    // The default show holds the title 12 s, then crossfades to Yorm Bopha in 1.5 s.
    let png = temp_png("headless-11.png");
    let (status, frame) = headless("11", &png);
    assert_eq!(status["slide"], "intro", "{status}");
    let left = frame.get_pixel(120, 135);
    assert!(
        left[0] < 30 && left[1] < 30 && left[2] < 30,
        "no photo yet: {left:?}"
    );

    let png = temp_png("headless-14.png");
    let (status, frame) = headless("14", &png);
    assert_eq!(status["slide"], "yorm-bopha", "{status}");
    assert_eq!(status["position"], 2);
    assert_eq!(status["blackout"], false);
    // The portrait's photo fills the left part of the frame.
    let photo = (60..200)
        .flat_map(|y| (40..180).map(move |x| (x, y)))
        .filter(|&(x, y)| frame.get_pixel(x, y)[0] > 40)
        .count();
    assert!(photo > 1000, "only {photo} photo pixels");
}

#[test]
fn render_output_warps_and_a_damaged_calibration_falls_back_to_its_backup() {
    use candela::calibration::{self, Calibration, OutputCalibration};
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show.toml");
    std::fs::write(
        &show,
        "size = \"320x180\"\n[[slides]]\nid = \"t\"\nkind = \"title\"\ntitle = \"t\"\n\
         [[outputs]]\nname = \"wall\"\n",
    )
    .unwrap();
    let pinned = |x: f64| Calibration {
        outputs: vec![OutputCalibration {
            name: "wall".into(),
            corners: [[x, 0.0], [1.0, 0.0], [1.0, 1.0], [x, 1.0]],
            mesh: None,
            blend: None,
        }],
        masks: vec![],
    };
    let file = calibration::path_for(&show);
    let rotate = calibration::Backup::Rotate;
    calibration::save(&file, &pinned(0.25), rotate).unwrap();
    calibration::save(&file, &pinned(0.5), rotate).unwrap();
    std::fs::write(&file, "outputs = [[[").unwrap();
    let png = dir.path().join("wall.png");
    let out = candela(&[
        "render",
        show.to_str().unwrap(),
        "--slide",
        "t",
        "--output",
        "wall",
        "--pattern",
        "white",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("show.calibration.toml") && text(&out).contains("skipped"),
        "the damaged file is reported: {}",
        text(&out)
    );
    // The backup's pin: the left quarter is black, the rest lit.
    let img = image::open(&png).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (320, 180));
    assert_eq!(img.get_pixel(40, 90).0, [0, 0, 0, 255]);
    assert_eq!(img.get_pixel(200, 90).0, [255, 255, 255, 255]);
    let wrong = candela(&[
        "render",
        show.to_str().unwrap(),
        "--slide",
        "t",
        "--output",
        "nope",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("its outputs are wall"),
        "{}",
        text(&wrong)
    );
}

#[test]
fn bench_prints_every_figure_as_json() {
    let out = candela(&["bench", "--seconds", "1", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out)));
    let number = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(|v| v.as_f64())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or_else(|| panic!("{pointer} is not a number in {report}"))
    };
    for spread in ["/frame_ms", "/cue_latency_ms", "/cue_submitted_ms"] {
        let [p50, p95, p99, max] =
            ["p50", "p95", "p99", "max"].map(|q| number(&format!("{spread}/{q}")));
        assert!(
            p50 <= p95 && p95 <= p99 && p99 <= max,
            "{spread} out of order in {report}"
        );
    }
    assert!(number("/frames") >= 1.0);
    assert!(
        number("/cues") >= 1.0,
        "at least one cue in a second: {report}"
    );
    assert!(number("/frames_over_budget") <= number("/frames"));
    assert!(number("/stalls") <= number("/frames"));
    assert!((number("/budget_ms") - 16.67).abs() < 0.01);
    assert!(number("/peak_rss_mb") > 10.0);
    assert!(number("/first_slide_ms") >= number("/first_black_ms"));
    assert!(number("/first_black_ms") > 0.0);
    assert_eq!(number("/seconds"), 1.0);
    assert!(report["adapter"].as_str().is_some_and(|a| !a.is_empty()));
    assert_eq!(report["outputs"], serde_json::json!(["main 1920x1080"]));
}

#[test]
fn bench_refuses_a_bad_duration() {
    for bad in ["-1", "nan", "inf", "0"] {
        let out = candela(&["bench", "--seconds", bad]);
        assert!(!out.status.success());
        assert!(text(&out).contains("seconds"), "{}", text(&out));
    }
}

#[test]
fn play_refuses_a_bad_duration_or_rate_without_panicking() {
    for bad in ["-1", "nan", "inf", "1e300"] {
        let out = candela(&["play", "--headless", "--no-osc", "--seconds", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(text(&out).contains("seconds"), "{}", text(&out));
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
    for bad in ["0", "-5", "1001", "many"] {
        let out = candela(&["play", "--headless", "--no-osc", "--fps", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(text(&out).contains("--fps"), "{}", text(&out));
    }
}
