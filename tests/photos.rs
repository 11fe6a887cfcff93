//! The photo pipeline as a playing show sees it: a cue to a slide whose large photo is not
//! loaded yet is drawn at once, without it, and the photo fades in frames later; bad files
//! are named, skipped, and the show plays on; `candela check` names the same problems; a
//! photo replaced on disk is loaded again. Every file is generated here, into a temporary
//! directory.

use candela::control::{Command, Engine, SlideRef};
use candela::counts::Counts;
use candela::inbox::{Incoming, Request};
use candela::output::{Headless, LinkOptions};
use candela::show::Show;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use std::path::{Path, PathBuf};
use std::time::Duration;

const FRAME: Duration = Duration::from_nanos(16_666_667);
/// Frames any wait here may take at most, so a broken pipeline fails rather than hangs.
const MOST_FRAMES: usize = 50_000;

fn save(image: RgbImage, path: &Path, format: ImageFormat) {
    DynamicImage::ImageRgb8(image)
        .save_with_format(path, format)
        .unwrap();
}

/// A small JPEG at `path`, its colour told by `i`.
fn small_photo(path: &Path, i: u8) {
    save(
        RgbImage::from_pixel(64, 80, Rgb([40, 60 + i * 20, 200])),
        path,
        ImageFormat::Jpeg,
    );
}

/// A show of `photos.len()` portrait slides, one per photo file (relative to `dir`), on a
/// small canvas, each held for ten minutes, with short crossfades.
fn write_show(dir: &Path, photos: &[&str]) -> PathBuf {
    let mut toml = String::from(
        "title = \"photos\"\nsize = \"480x270\"\nhold = 600\ntransition = \"crossfade\"\n\
         transition_seconds = 0.25\n",
    );
    for (i, photo) in photos.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[slides]]\nid = \"s{i}\"\nkind = \"portrait\"\nimage = \"{photo}\"\nname = \"Case {i}\"\n"
        ));
    }
    let path = dir.join("show.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn player(show: &Path) -> Headless {
    let (show, problems) = Show::load(show).unwrap();
    let counts = Counts::from_show(&show);
    let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let mut player = Headless::new(engine, LinkOptions::default()).unwrap();
    player.black();
    player
}

/// Plays from frame `*tick` until `done` says so; how many frames that took.
fn play_until(player: &mut Headless, tick: &mut u32, done: impl Fn(&Headless) -> bool) -> usize {
    for frames in 0..MOST_FRAMES {
        if done(player) {
            return frames;
        }
        let drawn = player.frame(FRAME * *tick).drawn.is_some();
        *tick += 1;
        // Nothing moved: give the decoders the CPU rather than spin.
        if !drawn {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    panic!("still waiting after {MOST_FRAMES} frames");
}

#[test]
fn the_next_slide_is_drawn_ahead_so_a_next_only_composites() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        small_photo(&dir.path().join(format!("p{i}.jpg")), i);
    }
    let mut player = player(&write_show(dir.path(), &["p0.jpg", "p1.jpg", "p2.jpg"]));
    let mut tick = 0;
    let [p0, p1] = ["p0.jpg", "p1.jpg"].map(|p| dir.path().join(p));
    play_until(&mut player, &mut tick, |p| {
        p.renderer().photo_opacity(&p0) == Some(1.0) && p.renderer().photo_opacity(&p1) == Some(1.0)
    });
    // A few still frames more: the next slide drawn ahead, with its photo.
    for _ in 0..10 {
        player.frame(FRAME * tick);
        tick += 1;
    }
    let (before, drawn_before) = (player.renderer().layers_drawn(), player.player.drawn());
    cue(&player, Command::Next { fade: None }, tick);
    // The first frame that shows the crossfade composites what is cached: it draws no layer.
    play_until(&mut player, &mut tick, |p| p.player.drawn() > drawn_before);
    assert_eq!(player.renderer().layers_drawn(), before);
    let mut frames = 1;
    while player.player.engine().animating(FRAME * tick) {
        frames += usize::from(player.frame(FRAME * tick).drawn.is_some());
        tick += 1;
        assert!(frames < MOST_FRAMES);
    }
    assert!(frames >= 10, "the crossfade was drawn: {frames} frames");
    // Once still, the slide after it is drawn ahead: one layer in all.
    player.frame(FRAME * tick);
    assert_eq!(player.renderer().layers_drawn(), before + 1);
}

#[test]
fn a_cue_to_an_unloaded_large_photo_drops_no_frame_and_fades_it_in() {
    let dir = tempfile::tempdir().unwrap();
    // Seven small photos, and a 24-megapixel one for a slide far from the first, so it is not
    // loaded ahead.
    for i in 0..7 {
        small_photo(&dir.path().join(format!("small-{i}.jpg")), i);
    }
    let big = dir.path().join("big.jpg");
    save(
        RgbImage::from_fn(6000, 4000, |x, y| {
            Rgb([220, (x / 24) as u8, (y / 16) as u8])
        }),
        &big,
        ImageFormat::Jpeg,
    );
    let names = [
        "small-0.jpg",
        "small-1.jpg",
        "small-2.jpg",
        "small-3.jpg",
        "big.jpg",
        "small-4.jpg",
        "small-5.jpg",
        "small-6.jpg",
    ];
    let mut player = player(&write_show(dir.path(), &names));
    let mut tick = 0;
    let first = dir.path().join("small-0.jpg");
    play_until(&mut player, &mut tick, |p| {
        p.renderer().photo_opacity(&first) == Some(1.0)
    });
    assert_eq!(
        player.renderer().photo_opacity(&big),
        None,
        "slide 5 of 8 is not among those loaded ahead of slide 1"
    );

    cue(
        &player,
        Command::Goto {
            slide: SlideRef::Id("s4".into()),
            fade: None,
        },
        tick,
    );
    // Each step: whether it drew, and how opaque the big photo was after it.
    let mut record: Vec<(bool, Option<f32>)> = Vec::new();
    for _ in 0..MOST_FRAMES {
        let drawn = player.frame(FRAME * tick).drawn.is_some();
        tick += 1;
        let opacity = player.renderer().photo_opacity(&big);
        record.push((drawn, opacity));
        if opacity == Some(1.0) {
            break;
        }
        if !drawn {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(record.last().unwrap().1, Some(1.0), "the photo never came");
    // The first frame showing the slide (the crossfade's first step) is drawn without the
    // photo: the frame that asked for it did not wait for the decode.
    let shown = record.iter().position(|(drawn, _)| *drawn).unwrap();
    assert!(shown <= 1, "{:?}", &record[..3]);
    assert_eq!(record[shown].1, None, "{:?}", &record[..3]);
    // The show went on meanwhile: the crossfade's frames were drawn while the photo was
    // being decoded (a 24-megapixel decode outlasts several small frames many times over).
    let loading = record.iter().take_while(|(_, o)| o.is_none()).count();
    let crossfade = record[shown..loading].iter().filter(|(d, _)| *d).count();
    assert!(
        crossfade >= 3,
        "{crossfade} frames while decoding: {record:?}"
    );
    // Then it fades in, a frame drawn for each step, never stepping back.
    let fade = &record[loading..];
    assert!(fade.iter().all(|(drawn, _)| *drawn), "{fade:?}");
    let opacities: Vec<f32> = fade.iter().filter_map(|(_, o)| *o).collect();
    assert!(opacities.len() >= 3, "no fade: {opacities:?}");
    assert!(opacities.windows(2).all(|w| w[0] < w[1]), "{opacities:?}");
    assert!(opacities[0] < 0.5, "{opacities:?}");

    // And it is on the wall: the photo box (left of the safe area) is the photo's red.
    let frame = player.snapshot(FRAME * tick).unwrap();
    let red = (60..200)
        .flat_map(|y| (40..160).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = frame.get_pixel(x, y);
            p[0] > 180 && p[2] < 120
        })
        .count();
    assert!(red > 2000, "only {red} photo pixels");
    assert_eq!(player.renderer().broken_photos().count(), 0);
}

/// Bad portrait files, each with the words its problem must be reported with.
fn bad_files(dir: &Path) -> Vec<(&'static str, &'static str)> {
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write("empty.jpg", b"");
    write("notes.jpg", b"Portrait to follow, ask Marie.\n");
    // A JPEG cut short in the middle of its picture.
    let noise = RgbImage::from_fn(400, 300, |x, y| {
        Rgb([(x * 7 + y * 13) as u8, (x ^ y) as u8, 90])
    });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(noise)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    write("cut.jpg", &jpeg[..jpeg.len() / 2]);
    // A small PNG whose header claims 20000 x 20000 pixels.
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::new(64, 64))
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    png[16..24].copy_from_slice(&[0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20]);
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    write("bomb.png", &png);
    // A PNG named .jpg is fine: the content says what it is.
    save(
        RgbImage::from_pixel(80, 100, Rgb([230, 40, 40])),
        &dir.join("png-named.jpg"),
        ImageFormat::Png,
    );
    vec![
        ("empty.jpg", "is empty"),
        ("notes.jpg", "is not a JPEG or PNG"),
        ("cut.jpg", "is truncated"),
        ("bomb.png", "claims 20000x20000"),
    ]
}

/// A show in `dir` with a slide for each bad portrait (`s0`, `s1`, …) and the PNG named .jpg
/// last; and the bad files.
fn bad_show(dir: &Path) -> (PathBuf, Vec<(&'static str, &'static str)>) {
    let bad = bad_files(dir);
    let mut names: Vec<&str> = bad.iter().map(|(n, _)| *n).collect();
    names.push("png-named.jpg");
    (write_show(dir, &names), bad)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn bad_portraits_are_named_and_the_show_plays_on() {
    let dir = tempfile::tempdir().unwrap();
    let (show, bad) = bad_show(dir.path());
    let mut player = player(&show);
    let mut tick = 0;
    for (i, (name, expected)) in bad.iter().enumerate() {
        cue(
            &player,
            Command::Goto {
                slide: SlideRef::Id(format!("s{i}")),
                fade: None,
            },
            tick,
        );
        let reported = |p: &Headless| {
            p.renderer()
                .broken_photos()
                .any(|(path, why)| path.ends_with(name) && why.contains(expected))
        };
        play_until(&mut player, &mut tick, reported);
        // Past the crossfade (a photo may have failed while it was loaded ahead).
        for _ in 0..30 {
            player.frame(FRAME * tick);
            tick += 1;
        }
        let why: Vec<String> = player
            .renderer()
            .broken_photos()
            .filter(|(path, _)| path.ends_with(name))
            .map(|(_, why)| why.clone())
            .collect();
        assert!(
            why[0].contains(&dir.path().join(name).display().to_string()),
            "{why:?}"
        );
        // The slide is on the wall without its photo: its name is drawn in white.
        let frame = player.snapshot(FRAME * tick).unwrap();
        let white = frame
            .pixels()
            .filter(|p| p.0[..3].iter().all(|c| *c > 230))
            .count();
        assert!(
            white > 100,
            "{name}: the slide's text is not drawn ({white} white pixels)"
        );
    }
    // The PNG named .jpg is shown.
    let good = dir.path().join("png-named.jpg");
    cue(
        &player,
        Command::Goto {
            slide: SlideRef::Id(format!("s{}", bad.len())),
            fade: None,
        },
        tick,
    );
    play_until(&mut player, &mut tick, |p| {
        p.renderer().photo_opacity(&good) == Some(1.0)
    });
    assert_eq!(player.renderer().broken_photos().count(), bad.len());
}

#[test]
fn check_names_each_bad_portrait() {
    let dir = tempfile::tempdir().unwrap();
    let (show, bad) = bad_show(dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(["check", show.to_str().unwrap()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (name, expected) in &bad {
        assert!(
            text.lines()
                .any(|l| l.contains(name) && l.contains(expected)),
            "{name}: {expected:?} not in:\n{text}"
        );
    }
    assert!(!text.contains("png-named.jpg"), "{text}");
    assert!(
        text.contains(&format!("{} problem(s)", bad.len())),
        "{text}"
    );
}

fn goto(player: &mut Headless, slide: &str, tick: u32) {
    let goto = Command::Goto {
        slide: SlideRef::Id(slide.into()),
        fade: None,
    };
    cue(player, goto, tick);
}

/// An operator's `command` for frame `tick`, through the inbox: the frame at that tick
/// applies it.
fn cue(player: &Headless, command: Command, tick: u32) {
    (player.player.deliver())(Incoming {
        source: "test".into(),
        request: Request::Command(command),
        reply: None,
        at: Some(FRAME * tick),
    });
}

#[test]
fn a_photo_replaced_on_disk_is_loaded_again_and_a_bad_replacement_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jpg");
    let b = dir.path().join("b.jpg");
    save(
        RgbImage::from_pixel(90, 120, Rgb([230, 30, 30])),
        &a,
        ImageFormat::Jpeg,
    );
    save(
        RgbImage::from_pixel(90, 120, Rgb([30, 200, 30])),
        &b,
        ImageFormat::Jpeg,
    );
    let mut player = player(&write_show(dir.path(), &["a.jpg", "b.jpg"]));
    let mut tick = 0;
    play_until(&mut player, &mut tick, |p| {
        p.renderer().photo_opacity(&a) == Some(1.0)
    });
    // The photo box's colour, left of the safe area, at the end of a cut.
    let photo_colour = |player: &mut Headless, tick: u32| {
        let frame = player.snapshot(FRAME * tick).unwrap();
        frame.get_pixel(100, 135).0
    };

    // Replaced by a text file (another size): asked for again, it fails, and the old picture
    // stays on the wall.
    std::fs::write(&a, "the new portrait comes tomorrow\n").unwrap();
    goto(&mut player, "s1", tick);
    play_until(&mut player, &mut tick, |p| {
        p.renderer().broken_photos().any(|(path, _)| *path == a)
    });
    goto(&mut player, "s0", tick);
    for _ in 0..30 {
        player.frame(FRAME * tick);
        tick += 1;
    }
    assert_eq!(player.renderer().photo_opacity(&a), Some(1.0));
    let kept = photo_colour(&mut player, tick);
    assert!(kept[0] > 200 && kept[1] < 80, "{kept:?}");

    // Replaced by a good photo: loaded again, the failure cleared, the new picture shown.
    save(
        RgbImage::from_pixel(100, 100, Rgb([30, 30, 230])),
        &a,
        ImageFormat::Png,
    );
    goto(&mut player, "s1", tick);
    play_until(&mut player, &mut tick, |p| {
        p.renderer().broken_photos().count() == 0
    });
    goto(&mut player, "s0", tick);
    for _ in 0..30 {
        player.frame(FRAME * tick);
        tick += 1;
    }
    let new = photo_colour(&mut player, tick);
    assert!(new[2] > 200 && new[0] < 80, "{new:?}");
}
