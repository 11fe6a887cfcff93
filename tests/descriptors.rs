//! A show that runs out of file descriptors (a crowd of idle connections did it once) gets
//! every photo back once they are free again, and keeps what it keeps on disk. Alone in its
//! own test binary, because it lowers this process's limit on open files.

mod support;

use candela::control::{Command, Engine, SlideRef};
use candela::counts::Counts;
use candela::inbox::{Incoming, Request};
use candela::output::{Headless, LinkOptions};
use candela::show::Show;
use image::{Rgb, RgbImage};
use rustix::process::{Resource, getrlimit, setrlimit};
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_nanos(16_666_667);

#[test]
fn photos_unreadable_for_want_of_descriptors_come_back_and_kept_files_are_written() {
    support::logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("p.jpg");
    RgbImage::from_pixel(64, 80, Rgb([40, 160, 200]))
        .save(&photo)
        .unwrap();
    let show = dir.path().join("show.toml");
    // The photo is on s4 of eight slides, neither next nor just before the first one, so it
    // is not loaded ahead at the start: it is first asked for while the show is starved, as
    // when a cue comes in during the attack.
    let mut toml = String::from("title = \"fds\"\nsize = \"320x180\"\nhold = 600\n");
    for i in 0..8 {
        let slide = if i == 4 {
            "kind = \"portrait\"\nname = \"Case\"\nimage = \"p.jpg\"".to_owned()
        } else {
            format!("kind = \"title\"\ntitle = \"Title {i}\"")
        };
        toml.push_str(&format!("\n[[slides]]\nid = \"s{i}\"\n{slide}\n"));
    }
    std::fs::write(&show, toml).unwrap();
    let (show, problems) = Show::load(&show).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let counts = Counts::from_show(&show);
    let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
    let mut player = Headless::new(engine, LinkOptions::default()).unwrap();
    player.black();

    // Starved of descriptors, without a race: a new descriptor takes the lowest free number,
    // refused at or over the limit, so with a limit of 3 (stdin, stdout, stderr) every open
    // fails even when another one is closed.
    let limit = getrlimit(Resource::Nofile);
    let mut starve = limit;
    starve.current = Some(3);
    setrlimit(Resource::Nofile, starve).unwrap();
    let kept = dir.path().join("state/counts.json");
    let mut keeper = candela::keep::Keeper::start(
        kept.clone(),
        None,
        "test counts",
        Duration::ZERO,
        |n: &u32| n.to_string().into_bytes(),
    );
    keeper.offer(&89_734);

    // Starved: frames are still drawn, the photo cannot be read, nothing is on disk.
    (player.player.deliver())(Incoming {
        source: "test".into(),
        request: Request::Command(Command::Goto {
            slide: SlideRef::Id("s4".into()),
            fade: None,
        }),
        reply: None,
        at: Some(Duration::ZERO),
    });
    let starved = Instant::now();
    let mut tick = 0u32;
    while starved.elapsed() < Duration::from_secs(2) {
        player.frame(FRAME * tick);
        tick += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(player.renderer().photo_opacity(&photo), None);
    assert!(!kept.exists());
    let logs = support::logs::all();
    assert!(
        logs.contains("p.jpg: Too many open files"),
        "the photo was never refused: {logs}"
    );
    assert!(
        logs.contains("cannot keep test counts"),
        "the write was never refused: {logs}"
    );

    setrlimit(Resource::Nofile, limit).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while player.renderer().photo_opacity(&photo) != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "the photo never came back once descriptors were free"
        );
        player.frame(FRAME * tick);
        tick += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    // Tried again without a newer value to keep.
    while std::fs::read_to_string(&kept).ok().as_deref() != Some("89734") {
        assert!(
            Instant::now() < deadline,
            "the kept value was never written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    keeper.finish();
}
