//! Resuming after a crash: a real `candela play --headless` killed with SIGKILL at random
//! moments while being cued comes back on the slide it was showing, blacked out if it was;
//! `--fresh` starts from the top; a damaged state file or an unusable state folder is
//! reported and the show goes on.

mod support;

use candela::random::Xorshift;
use rosc::OscType;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{Candela, slide_ids};

const SIZE: [&str; 2] = ["--size", "320x180"];

fn show() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("slides")
}

fn start(state_dir: &Path, extra: &[&str]) -> Candela {
    let mut args = vec![SIZE[0], SIZE[1], "--state-dir", state_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    Candela::start(show(), &args)
}

/// The resume file in `dir`, parsed; it must always be whole.
fn kept(dir: &Path) -> Option<Value> {
    let file = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".resume.json"))?;
    let text = std::fs::read_to_string(&file).unwrap();
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is damaged ({e}): {text:?}", file.display()));
    Some(value)
}

fn shown(state: &Value) -> (String, bool) {
    (
        state["slide"].as_str().unwrap().to_string(),
        state["blackout"].as_bool().unwrap(),
    )
}

#[test]
fn killed_at_random_moments_it_comes_back_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let ids = slide_ids(&show());
    let mut rng = Xorshift::new(0x5eed_0009);
    let mut expected: Vec<(String, bool)> = vec![(ids[0].clone(), false)];
    let mut slowest = Duration::ZERO;
    for round in 0..20 {
        let started = Instant::now();
        let candela = start(dir.path(), &[]);
        let state = candela.state();
        slowest = slowest.max(started.elapsed());
        let resumed = shown(&state);
        assert!(
            expected.contains(&resumed),
            "round {round}: resumed at {resumed:?}, expected one of {expected:?}"
        );
        // The show must not move on by itself while the test waits on a busy machine.
        candela.ok("/candela/cycle/pause", vec![]);
        let mut now = resumed.clone();
        expected = vec![now.clone()];
        for _ in 0..1 + rng.below(3) {
            // Apart by more than the OSC debounce, which drops a repeat as a desk's echo.
            std::thread::sleep(Duration::from_millis(120));
            let slide = rng.pick(&ids).clone();
            now = shown(&candela.ok("/candela/goto", vec![OscType::String(slide.clone())]));
            assert_eq!(now.0, slide);
            if rng.below(3) == 0 {
                let address = if now.1 {
                    "/candela/restore"
                } else {
                    "/candela/blackout"
                };
                now = shown(&candela.ok(address, vec![]));
            }
            expected.push(now.clone());
        }
        let settled = rng.below(2) == 0;
        if settled {
            // Killed a random while after the last cue is safely on disk.
            candela.until("the last cue kept", |_| {
                kept(dir.path()).is_some_and(|k| shown(&k) == now)
            });
        } else if rng.below(2) == 0 {
            // A cue on its way when the plug is pulled: it may or may not have been taken.
            let slide = rng.pick(&ids).clone();
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let message = candela::osc::packet::encode_message(
                "/candela/goto",
                vec![OscType::String(slide.clone())],
            );
            socket.send_to(&message, candela.addr).unwrap();
            expected.push((slide, now.1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(300) as u64));
        candela.kill_hard();
        let disk = shown(&kept(dir.path()).expect("the show's position is kept"));
        if settled {
            assert_eq!(disk, now, "round {round}");
        } else {
            assert!(
                expected.contains(&disk),
                "round {round}: {disk:?} kept, expected one of {expected:?}"
            );
        }
        // The next start resumes exactly what is on disk.
        expected = vec![disk];
    }
    eprintln!("slowest start to the first answer: {slowest:?}");
}

#[test]
fn fresh_starts_from_the_top_and_a_damaged_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ids = slide_ids(&show());
    let candela = start(dir.path(), &[]);
    candela.ok("/candela/goto", vec![OscType::String(ids[3].clone())]);
    candela.ok("/candela/blackout", vec![]);
    candela.ok("/candela/cycle/pause", vec![]);
    // The operator keeps the wall on whatever the show's hours say.
    candela.ok(
        "/candela/schedule/override",
        vec![OscType::String("on".into())],
    );
    candela.until("kept", |_| {
        kept(dir.path()).is_some_and(|k| {
            k["slide"] == ids[3].as_str() && k["paused"] == true && k["schedule"] == "on"
        })
    });
    candela.kill_hard();

    let candela = start(dir.path(), &[]);
    let state = candela.state();
    assert_eq!(state["slide"], ids[3].as_str());
    assert_eq!(state["blackout"], true);
    assert_eq!(state["paused"], true);
    assert_eq!(state["schedule"]["override"], "on", "{state}");
    candela.kill_hard();

    let candela = start(dir.path(), &["--fresh"]);
    let state = candela.state();
    assert_eq!(state["slide"], ids[0].as_str());
    assert_eq!(state["blackout"], false);
    candela.until("the fresh start kept", |_| {
        kept(dir.path()).is_some_and(|k| k["slide"] == ids[0].as_str())
    });
    candela.kill_hard();

    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".resume.json"))
        .unwrap();
    std::fs::write(&file, "{\"slide\": \"hakan-y").unwrap();
    let candela = start(dir.path(), &[]);
    assert!(candela.logged("are damaged"), "the damage is logged");
    assert_eq!(candela.state()["slide"], ids[0].as_str());
    // The damaged file is kept aside for a person to look at, never read as the position.
    let mut aside = file.clone().into_os_string();
    aside.push(".damaged");
    assert_eq!(
        std::fs::read_to_string(&aside).unwrap(),
        "{\"slide\": \"hakan-y"
    );
    // The show goes on and keeps its position again.
    candela.ok("/candela/goto", vec![OscType::String(ids[2].clone())]);
    candela.until("kept again", |_| {
        kept(dir.path()).is_some_and(|k| k["slide"] == ids[2].as_str())
    });
}

#[test]
fn a_state_folder_that_cannot_be_made_is_reported_and_the_show_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A plain file where the folder should be: nothing can be kept under it (as read-only
    // or full storage would refuse, whoever runs the test).
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let state_dir = blocker.join("state");
    let ids = slide_ids(&show());
    let candela = start(&state_dir, &[]);
    candela.ok("/candela/goto", vec![OscType::String(ids[1].clone())]);
    assert!(candela.logged("cannot keep where the show is"));
    candela.ok("/candela/next", vec![]);
    assert_eq!(candela.state()["slide"], ids[2].as_str());
}

#[test]
fn a_missing_state_folder_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("new/deeper");
    let ids = slide_ids(&show());
    let candela = start(&state_dir, &[]);
    candela.ok("/candela/goto", vec![OscType::String(ids[4].clone())]);
    candela.until("kept", |_| {
        kept(&state_dir).is_some_and(|k| k["slide"] == ids[4].as_str())
    });
}

#[test]
fn the_state_folder_is_private_and_the_file_limit_raised() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Started as a login might start it: a soft limit of 256 open files under a hard 4096.
    let mut command = std::process::Command::new("prlimit");
    command
        .args([
            "--nofile=256:4096",
            "--",
            env!("CARGO_BIN_EXE_candela"),
            "play",
        ])
        .args(["--headless", "--no-http", "--osc", "127.0.0.1:0"])
        .args(SIZE)
        .arg("--state-dir")
        .arg(&state_dir)
        .arg(show())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let candela = Candela::spawn(command, support::OSC_LISTENING);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", candela.child.id())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(open_files[3..5], ["4096", "4096"], "{limits}");
    let mode = std::fs::metadata(&state_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let ids = slide_ids(&show());
    candela.ok("/candela/goto", vec![OscType::String(ids[2].clone())]);
    candela.until("kept", |_| kept(&state_dir).is_some());
    for entry in std::fs::read_dir(&state_dir).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "a kept file");
    }
}
