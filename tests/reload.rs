//! Hot reload against a real `candela play --headless`: a good edit is on the wall (pixel
//! probe of the last frame) and its new slide can be cued; a photo replaced on disk is
//! drawn anew; a bad edit, a half-written file, a deleted one or garbage keep the old show
//! playing, with the problems in `/candela/state`, cleared when a good version comes.

mod support;

use rosc::OscType;
use std::path::Path;
use std::time::{Duration, Instant};
use support::Candela;

const SHOW: &str = r##"title = "reload"
size = "320x180"
background = "#000000"
hold = 600
transition = "cut"

[[slides]]
id = "first"
kind = "portrait"
image = "photo.png"
fit = "fill"
name = "Before"

[[slides]]
id = "second"
kind = "title"
title = "Second"
"##;

fn photo(path: &Path, rgb: [u8; 3]) {
    // Written beside, then renamed over, as a photo editor's export does.
    let temp = path.with_extension("new.png");
    image::RgbImage::from_pixel(64, 64, image::Rgb(rgb))
        .save(&temp)
        .unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// A fresh folder holding `show` as show.toml beside its photo (green), and a fresh folder for
/// candela's state.
fn folders(show: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("show.toml"), show).unwrap();
    photo(&dir.path().join("photo.png"), [0, 255, 0]);
    (dir, tempfile::tempdir().unwrap())
}

/// Replaces the show file the way an editor does: a temporary file renamed over it.
fn save(dir: &Path, text: &str) {
    let temp = dir.join(".show.toml.swp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, dir.join("show.toml")).unwrap();
}

fn problems(candela: &Candela) -> Vec<String> {
    candela.state()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

fn count(image: &image::RgbaImage, f: impl Fn(&image::Rgba<u8>) -> bool) -> usize {
    image.pixels().filter(|p| f(p)).count()
}

#[test]
fn a_good_edit_is_on_the_wall_and_its_new_slide_can_be_cued() {
    let (dir, state) = folders(SHOW);
    let out = dir.path().join("out.png");
    let candela = Candela::start(
        dir.path(),
        &[
            "--seconds",
            "15",
            "--out",
            out.to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(candela.state()["slide"], "first");

    let edited = SHOW.replace("#000000", "#c00000")
        + "\n[[slides]]\nid = \"added\"\nkind = \"title\"\ntitle = \"Added\"\n";
    let saved = Instant::now();
    save(dir.path(), &edited);
    // Cued as soon as the new version plays: how long that took is the reload's latency.
    for attempt in 0u16.. {
        // Each a little different: the same message twice within 100 ms is a desk's echo.
        let fade = OscType::Float(attempt as f32 * 1e-6);
        let reply = candela.ask("/candela/goto", vec![OscType::String("added".into()), fade]);
        if reply["status"] == "ok" {
            break;
        }
        assert!(
            saved.elapsed() < Duration::from_secs(10),
            "never reloaded: {reply}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("saved to playing: {:?}", saved.elapsed());
    assert_eq!(candela.state()["slide"], "added");
    candela.ok("/candela/goto", vec![OscType::String("first".into())]);
    assert!(problems(&candela).is_empty());

    photo(&dir.path().join("photo.png"), [0, 0, 255]);
    assert!(candela.logged("show file reloaded: 3 slides"));
    let mut candela = candela;
    let status = candela.child.wait().unwrap();
    assert!(status.success());
    let last = image::open(&out).unwrap().to_rgba8();
    let corner = last.get_pixel(0, 0);
    assert!(
        corner[0] > 150 && corner[1] < 40 && corner[2] < 40,
        "the edited background: {corner:?}"
    );
    let green = count(&last, |p| p[1] > 200 && p[0] < 60 && p[2] < 60);
    let blue = count(&last, |p| p[2] > 200 && p[0] < 60 && p[1] < 60);
    assert_eq!(green, 0, "the old photo is gone");
    assert!(blue > 1000, "the new photo is drawn ({blue} blue pixels)");
}

#[test]
fn bad_half_written_deleted_and_garbage_files_keep_the_old_show() {
    let (dir, state) = folders(SHOW);
    let candela = Candela::start(dir.path(), &["--state-dir", state.path().to_str().unwrap()]);

    // An unknown transition: the problem names the file, line and column.
    save(dir.path(), &SHOW.replace("\"cut\"", "\"wipe\""));
    let state_now = candela.until("the problem listed", |s| {
        s["problems"].as_array().is_some_and(|p| !p.is_empty())
    });
    let listed = state_now["problems"][0].as_str().unwrap().to_string();
    assert!(listed.contains("show.toml:5:"), "{listed}");
    // The old show still plays and is cued.
    candela.ok("/candela/goto", vec![OscType::String("second".into())]);
    assert!(
        candela.ask("/candela/goto", vec![OscType::String("added".into())])["status"] == "error"
    );

    // Garbage, then the file deleted: still the old show, each reported.
    save(dir.path(), "\u{0}\u{1}garbage ]]] [[[");
    candela.until("garbage reported", |s| s["problems"][0] != listed.as_str());
    std::fs::remove_file(dir.path().join("show.toml")).unwrap();
    candela.until("the deletion reported", |s| {
        s["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("is gone"))
    });
    assert_eq!(candela.state()["slide"], "second");

    // Written in two steps a moment apart (truncate, then write): the first half is a valid
    // show by itself with one slide fewer, and must never be played.
    let good =
        SHOW.to_string() + "\n[[slides]]\nid = \"added\"\nkind = \"title\"\ntitle = \"Added\"\n";
    let cut = good.find("[[slides]]\nid = \"second\"").unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(dir.path().join("show.toml")).unwrap();
        f.write_all(&good.as_bytes()[..cut]).unwrap();
        f.sync_all().unwrap();
        std::thread::sleep(Duration::from_millis(40));
        f.write_all(&good.as_bytes()[cut..]).unwrap();
    }
    candela.until("the good version playing", |s| {
        s["problems"].as_array().is_some_and(|p| p.is_empty())
    });
    candela.ok("/candela/goto", vec![OscType::String("added".into())]);
    let log = candela.log.lock().unwrap().join("\n");
    assert!(log.contains("show file reloaded: 3 slides"), "{log}");
    assert!(
        !log.contains("show file reloaded: 1 slides"),
        "half a file was played:\n{log}"
    );
}

#[test]
fn outside_its_hours_the_show_is_black_until_an_operator_overrides_them() {
    // Hours on one day long past: never within them.
    let show = SHOW.to_string()
        + "\n[schedule]\nstart = \"19:00\"\nend = \"23:00\"\ndates = [\"1999-12-31\"]\nfade = 0\n";
    let (dir, state) = folders(&show);
    let candela = Candela::start(dir.path(), &["--state-dir", state.path().to_str().unwrap()]);
    let schedule = &candela.state()["schedule"];
    assert_eq!(schedule["on"], false, "{schedule}");
    assert_eq!(schedule["hours"], true);
    let on = candela.ok(
        "/candela/schedule/override",
        vec![OscType::String("on".into())],
    );
    assert_eq!(on["schedule"]["on"], true);
    assert_eq!(on["schedule"]["override"], "on");
    let auto = candela.ok(
        "/candela/schedule/override",
        vec![OscType::String("auto".into())],
    );
    assert_eq!(auto["schedule"]["on"], false);
    let refused = candela.ask(
        "/candela/schedule/override",
        vec![OscType::String("sometimes".into())],
    );
    assert_eq!(refused["status"], "error");
    drop(candela);

    // What the wall shows meanwhile: black. A state folder of its own: the one above keeps
    // the override, and a kill can land between its "on" and "auto" reaching the disk.
    let state = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let played = std::process::Command::new(env!("CARGO_BIN_EXE_candela"))
        .args([
            "play",
            "--headless",
            "--seconds",
            "0.5",
            "--no-osc",
            "--no-http",
            "--out",
        ])
        .arg(&out)
        .arg("--state-dir")
        .arg(state.path())
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(played.status.success(), "{played:?}");
    let last = image::open(&out).unwrap().to_rgba8();
    let brightest = last.pixels().map(|p| p[0].max(p[1]).max(p[2])).max();
    assert_eq!(brightest, Some(0), "outside its hours the wall is black");
}

#[test]
fn a_feed_changed_over_reload_is_started_again_and_the_old_one_stopped() {
    let fed = |file: &str| {
        format!(
            "{SHOW}\n[[counters]]\nid = \"letters\"\nlabel = \"letters\"\nvalue = 0\n[counters.file]\npath = \"{file}\"\n"
        )
    };
    let (dir, state) = folders(&fed("a.csv"));
    std::fs::write(dir.path().join("a.csv"), "letters,10\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "letters,20\n").unwrap();
    let candela = Candela::start(dir.path(), &["--state-dir", state.path().to_str().unwrap()]);
    candela.until("the first feed read", |s| s["counters"]["letters"] == 10);
    save(dir.path(), &fed("b.csv"));
    candela.until("the new feed read", |s| s["counters"]["letters"] == 20);
    // The old feed is stopped: its file rising no longer reaches the show.
    std::fs::write(dir.path().join("a.csv"), "letters,30\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(candela.state()["counters"]["letters"], 20);
    std::fs::write(dir.path().join("b.csv"), "letters,40\n").unwrap();
    candela.until("the new feed still read", |s| {
        s["counters"]["letters"] == 40
    });
}

/// Two outputs side by side on a white canvas, and room for a third.
const OUTPUTS: &str = r##"title = "outputs"
size = "320x180"
background = "#ffffff"
hold = 600

[[slides]]
id = "lit"
kind = "title"
title = "x"

[[outputs]]
name = "left"
region = [0, 0, 160, 180]

[[outputs]]
name = "right"
region = [160, 0, 160, 180]
"##;

const SPARE: &str = "\n[[outputs]]\nname = \"spare\"\nregion = [80, 0, 160, 180]\n";
const MASK: &str = "\n[[masks]]\npoints = [[20, 20], [100, 20], [100, 100], [20, 100]]\n";

fn outputs(candela: &Candela) -> Vec<String> {
    candela.state()["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn outputs_and_masks_edited_in_the_show_file_open_close_and_mask_without_a_restart() {
    let (dir, state) = folders(OUTPUTS);
    let frames = tempfile::tempdir().unwrap();
    let mut candela = Candela::start(
        dir.path(),
        &[
            "--seconds",
            "20",
            "--out-dir",
            frames.path().to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(outputs(&candela), ["left", "right"]);

    // An output and a mask added.
    save(dir.path(), &(OUTPUTS.to_string() + SPARE + MASK));
    candela.until("the spare output", |s| {
        s["outputs"].as_array().unwrap().len() == 3
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !candela.logged("output \"spare\" opened (160x180)") {
        assert!(Instant::now() < deadline, "the spare target never opened");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The right one removed: its target closes, the others stay, the mask with them.
    let without_right = OUTPUTS.replace(
        "\n[[outputs]]\nname = \"right\"\nregion = [160, 0, 160, 180]\n",
        "",
    ) + SPARE
        + MASK;
    save(dir.path(), &without_right);
    candela.until("the right output gone", |s| {
        s["outputs"] == serde_json::json!(["left", "spare"])
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !candela.logged("output \"right\" closed") {
        assert!(Instant::now() < deadline, "the right target never closed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(problems(&candela).is_empty(), "{:?}", problems(&candela));

    assert!(candela.child.wait().unwrap().success());
    let frame = |name: &str| {
        image::open(frames.path().join(format!("{name}.png")))
            .unwrap_or_else(|e| panic!("{name}.png: {e}"))
            .to_rgba8()
    };
    assert!(
        !frames.path().join("right.png").exists(),
        "a removed output is not drawn"
    );
    let left = frame("left");
    // Canvas pixels 1:1 on this output: inside the mask black, beside it the white slide.
    assert_eq!(left.get_pixel(60, 60).0, [0, 0, 0, 255], "under the mask");
    assert!(left.get_pixel(130, 140).0[..3].iter().all(|c| *c > 240));
    // The spare output starts at canvas x 80: the mask's right part, at its x 0..20.
    let spare = frame("spare");
    assert_eq!(
        spare.get_pixel(10, 60).0,
        [0, 0, 0, 255],
        "the mask across outputs"
    );
    assert!(spare.get_pixel(40, 60).0[..3].iter().all(|c| *c > 240));
}
