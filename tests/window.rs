//! The real output window under Xvfb, with the openbox window manager and with none (kiosk
//! set-ups run bare X): the window covers the screen, shows the first slide, obeys a key, is
//! idle when nothing moves, and quits on Ctrl+Q; a corner-pinned output is warped with pure
//! black around it, every handle is drawn as a ring while aligning, and the alignment keys
//! and a mouse drag each move a corner and keep it.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Proc;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;

const W: u16 = 1280;
const H: u16 = 720;
const BACKGROUND: [u8; 3] = [0x20, 0x40, 0x60];

/// A fresh place for kept counts, so no run sees another's.
fn state_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "candela-window-state-{}-{name}",
        std::process::id()
    ))
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Display {
    name: String,
    conn: RustConnection,
    root: u32,
    _server: Proc,
    _wm: Option<Proc>,
}

/// A fresh Xvfb (see `support::xvfb`), with openbox on it when `window_manager`.
fn start_display(window_manager: bool) -> Display {
    let (server, name) = support::xvfb(&format!("{W}x{H}"));
    let (conn, screen) = wait_for("an X connection", Duration::from_secs(10), || {
        x11rb::connect(Some(&name)).ok()
    });
    let root = conn.setup().roots[screen].root;
    let wm = window_manager.then(|| {
        Proc(
            Command::new("openbox")
                .env("DISPLAY", &name)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openbox (scripts/deps installs it)"),
        )
    });
    if wm.is_some() {
        // openbox takes the window manager selection once it runs.
        let atom = conn
            .intern_atom(false, b"WM_S0")
            .unwrap()
            .reply()
            .unwrap()
            .atom;
        wait_for("openbox", Duration::from_secs(10), || {
            let owner = conn
                .get_selection_owner(atom)
                .unwrap()
                .reply()
                .unwrap()
                .owner;
            (owner != 0).then_some(())
        });
    }
    Display {
        name,
        conn,
        root,
        _server: server,
        _wm: wm,
    }
}

impl Display {
    /// Waits until the whole screen is black (blackout).
    fn wait_for_black(&self) {
        wait_for("blackout", Duration::from_secs(20), || {
            self.screenshot()
                .iter()
                .all(|p| *p == [0, 0, 0])
                .then_some(())
        });
    }

    /// Waits until the slide's background is back in the corner.
    fn wait_for_background(&self) {
        wait_for("the slide back", Duration::from_secs(20), || {
            is_background(pixel(&self.screenshot(), 0, 0)).then_some(())
        });
    }

    /// The screen as RGB pixels.
    fn screenshot(&self) -> Vec<[u8; 3]> {
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, 0, 0, W, H, !0)
            .unwrap()
            .reply()
            .unwrap();
        // 24-bit depth comes as 32 bits per pixel, blue first.
        image
            .data
            .chunks_exact(4)
            .map(|p| [p[2], p[1], p[0]])
            .collect()
    }

    fn keycode(&self, keysym: u32) -> u8 {
        let setup = self.conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let map = self
            .conn
            .get_keyboard_mapping(min, max - min + 1)
            .unwrap()
            .reply()
            .unwrap();
        let per = map.keysyms_per_keycode as usize;
        let i = map
            .keysyms
            .iter()
            .position(|k| *k == keysym)
            .expect("keysym on the keyboard");
        min + (i / per) as u8
    }

    fn key(&self, keycode: u8, press: bool) {
        let kind = if press { 2 } else { 3 };
        self.conn
            .xtest_fake_input(kind, keycode, 0, self.root, 0, 0, 0)
            .unwrap();
        self.conn.flush().unwrap();
    }

    fn tap(&self, keysym: u32) {
        let code = self.keycode(keysym);
        self.key(code, true);
        self.key(code, false);
    }

    /// Ctrl+Q, and the exit status once candela has quit.
    fn quit(&self, candela: &mut Proc) -> std::process::ExitStatus {
        let ctrl = self.keycode(0xffe3); // XK_Control_L
        self.key(ctrl, true);
        self.tap(0x71); // XK_q
        self.key(ctrl, false);
        wait_for("candela to quit", Duration::from_secs(20), || {
            candela.0.try_wait().unwrap()
        })
    }

    /// Puts the pointer mid-screen: with no window manager, keys go to the window under it.
    fn point_at_centre(&self) {
        self.point_at(W / 2, H / 2);
    }

    fn point_at(&self, x: u16, y: u16) {
        let motion = 6;
        self.conn
            .xtest_fake_input(motion, 0, 0, self.root, x as i16, y as i16, 0)
            .unwrap();
        self.conn.flush().unwrap();
    }

    /// The left mouse button pressed or released where the pointer is.
    fn left_button(&self, press: bool) {
        let kind = if press { 4 } else { 5 };
        self.conn
            .xtest_fake_input(kind, 1, 0, self.root, 0, 0, 0)
            .unwrap();
        self.conn.flush().unwrap();
    }
}

fn pixel(shot: &[[u8; 3]], x: u16, y: u16) -> [u8; 3] {
    shot[y as usize * W as usize + x as usize]
}

fn is_background(p: [u8; 3]) -> bool {
    (0..3).all(|i| p[i].abs_diff(BACKGROUND[i]) <= 3)
}

/// `candela play` on `display` with the window test's show; `osc` is how it listens.
fn play_on(display: &Display, osc: &[&str]) -> Proc {
    let show = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/window/show.toml");
    play_show(display, &show, osc)
}

fn play_show(display: &Display, show: &Path, osc: &[&str]) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_candela"))
            .args(["play", "--no-http"])
            .args(osc)
            .arg("--state-dir")
            .arg(state_dir(osc[0]))
            .arg(show)
            .env("DISPLAY", &display.name)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn covers_screen_and_obeys_keys(window_manager: bool) {
    let display = start_display(window_manager);
    let mut candela = play_on(&display, &["--no-osc"]);
    // The first slide: background in all four corners (the window covers the screen), the
    // white title in the middle.
    let shot = wait_for("the first slide", Duration::from_secs(60), || {
        let shot = display.screenshot();
        let corners = [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1)];
        let covered = corners
            .iter()
            .all(|&(x, y)| is_background(pixel(&shot, x, y)));
        let title = (H / 3..2 * H / 3)
            .flat_map(|y| (W / 4..3 * W / 4).map(move |x| (x, y)))
            .filter(|&(x, y)| pixel(&shot, x, y).iter().all(|c| *c > 220))
            .count();
        (covered && title > 500).then_some(shot)
    });
    assert!(is_background(pixel(&shot, W / 2, 8)));

    // Space: the portrait, whose photo fills the left part of the safe area.
    display.point_at_centre();
    display.tap(0x20); // XK_space
    wait_for("the second slide", Duration::from_secs(20), || {
        let shot = display.screenshot();
        let photo = (H / 4..3 * H / 4)
            .step_by(8)
            .flat_map(|y| (W / 10..W / 3).step_by(8).map(move |x| (x, y)))
            .filter(|&(x, y)| !is_background(pixel(&shot, x, y)))
            .count();
        (photo > 500).then_some(())
    });

    // B: blackout is black, all of it; B again brings the slide back.
    display.tap(0x62); // XK_b
    display.wait_for_black();
    display.tap(0x62);
    display.wait_for_background();

    // Nothing moves now (600 s holds): the output must sleep, not redraw.
    std::thread::sleep(Duration::from_secs(5));

    // Ctrl+Q quits cleanly.
    let status = display.quit(&mut candela);
    let mut stderr = String::new();
    std::io::Read::read_to_string(candela.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    let frames: u64 = stderr
        .lines()
        .find_map(|l| {
            l.split(" frames drawn")
                .next()
                .filter(|_| l.contains(" frames drawn"))
        })
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in:\n{stderr}"));
    eprintln!("{frames} frames drawn");
    // Two slides and a few redraws for window events; not 60 a second, nor one per timer.
    assert!(
        frames <= 4,
        "{frames} frames drawn while nothing moved:\n{stderr}"
    );
}

#[test]
fn window_under_openbox() {
    covers_screen_and_obeys_keys(true);
}

#[test]
fn window_with_no_window_manager() {
    covers_screen_and_obeys_keys(false);
}

#[test]
fn lists_the_monitors() {
    let display = start_display(false);
    let out = Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(["play", "--list-monitors"])
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("1: ") && stdout.contains("1280x720 at 0,0"),
        "{stdout}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_candela"))
        .args(["play", "--monitor", "9"])
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no monitor 9"));
}

#[test]
fn the_window_obeys_osc() {
    use std::io::BufRead;
    let display = start_display(false);
    let mut candela = play_on(&display, &["--osc", "127.0.0.1:0"]);
    let stderr = candela.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(addr) = line.split("listening on udp and tcp ").nth(1) {
                let _ = tx.send(addr.trim().parse::<std::net::SocketAddr>().unwrap());
            }
        }
    });
    let to = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("candela listens for OSC");
    wait_for("the first slide", Duration::from_secs(60), || {
        is_background(pixel(&display.screenshot(), 0, 0)).then_some(())
    });
    let send = |address: &str| {
        // Over TCP: this show lists no one in [osc] allow, and an unlisted UDP sender gets
        // no reply bigger than what it sent.
        let tcp = Some(candela::osc::framing::Framing::LengthPrefixed);
        let reply = candela::osc::client::send(to, tcp, address, vec![], Duration::from_secs(5))
            .unwrap()
            .expect("a reply");
        assert!(
            format!("{:?}", reply.args).contains("\\\"status\\\":\\\"ok\\\""),
            "{reply:?}"
        );
    };
    send("/candela/blackout");
    display.wait_for_black();
    send("/candela/restore");
    display.wait_for_background();
}

#[test]
fn a_pinned_output_is_warped_with_black_around_it_and_aligned_by_keys() {
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show.toml");
    std::fs::write(
        &show,
        "background = \"#204060\"\nhold = 600\n[[slides]]\nid = \"t\"\nkind = \"title\"\ntitle = \"Pinned\"\n\
         [[outputs]]\nname = \"wall\"\ncorners = [[0.1, 0.1], [0.9, 0.05], [0.95, 0.9], [0.05, 0.95]]\n",
    )
    .unwrap();
    let display = start_display(false);
    let mut candela = play_show(&display, &show, &["--no-osc"]);
    let at = |x: f64, y: f64| ((x * W as f64) as u16, (y * H as f64) as u16);
    wait_for("the pinned slide", Duration::from_secs(60), || {
        let (x, y) = at(0.5, 0.15);
        is_background(pixel(&display.screenshot(), x, y)).then_some(())
    });
    let shot = display.screenshot();
    // Outside the pinned picture: exactly black, not the slide's background, not grey.
    for (x, y) in [
        (0.0, 0.0),
        (0.5, 0.03),
        (0.99, 0.99),
        (0.02, 0.5),
        (0.98, 0.4),
    ] {
        let (px, py) = at(x, y);
        assert_eq!(pixel(&shot, px, py), [0, 0, 0], "outside at {x},{y}");
    }
    for (x, y) in [(0.2, 0.2), (0.8, 0.8), (0.12, 0.85)] {
        let (px, py) = at(x, y);
        assert!(is_background(pixel(&shot, px, py)), "inside at {x},{y}");
    }
    // Alignment: A, then three steps right move corner 1; Ctrl+Q quits and keeps it.
    display.point_at_centre();
    display.tap(0x61); // XK_a
    for _ in 0..3 {
        display.tap(0xff53); // XK_Right
    }
    wait_for("corner 1 moved", Duration::from_secs(20), || {
        // Where the top-left corner was is now outside the picture: black.
        let (x, y) = at(0.11, 0.16);
        (pixel(&display.screenshot(), x, y) == [0, 0, 0]).then_some(())
    });
    // Every handle is shown: a cyan ring inside the picture by each corner.
    let cyan = |p: [u8; 3]| p[0] < 60 && p[1] > 200 && p[2] > 200;
    for (x, y) in [(0.9, 0.05), (0.95, 0.9), (0.05, 0.95)] {
        let (cx, cy) = at(x, y);
        wait_for("the handles drawn", Duration::from_secs(20), || {
            let shot = display.screenshot();
            let near = (cx.saturating_sub(12)..(cx + 12).min(W))
                .flat_map(|x| (cy.saturating_sub(12)..(cy + 12).min(H)).map(move |y| (x, y)));
            near.into_iter()
                .any(|(x, y)| cyan(pixel(&shot, x, y)))
                .then_some(())
        });
    }
    // The mouse drags corner 3 from where it is to (0.85, 0.8), in steps as a hand does.
    let (x0, y0) = at(0.95, 0.9);
    let (x1, y1) = at(0.85, 0.8);
    display.point_at(x0, y0);
    display.left_button(true);
    for step in 1..=8u16 {
        let x = x0 - (x0 - x1) * step / 8;
        let y = y0 - (y0 - y1) * step / 8;
        display.point_at(x, y);
        std::thread::sleep(Duration::from_millis(30));
    }
    display.left_button(false);
    wait_for("corner 3 dragged", Duration::from_secs(20), || {
        // Inside the old picture, outside the new one.
        let (x, y) = at(0.9, 0.86);
        (pixel(&display.screenshot(), x, y) == [0, 0, 0]).then_some(())
    });
    let status = display.quit(&mut candela);
    assert!(status.success());
    let file = candela::calibration::path_for(&show);
    let (kept, skipped) = candela::calibration::load(&file);
    let kept = kept.unwrap_or_else(|| panic!("no calibration kept: {skipped:?}"));
    let corner = kept.calibration.outputs[0].corners[0];
    assert!(
        (corner[0] - 0.115).abs() < 1e-9 && corner[1] == 0.1,
        "{corner:?}"
    );
    // Dropped within a pixel of where the pointer let go.
    let dragged = kept.calibration.outputs[0].corners[2];
    assert!(
        ((dragged[0] - 0.85) * W as f64).abs() <= 1.0
            && ((dragged[1] - 0.8) * H as f64).abs() <= 1.0,
        "{dragged:?}"
    );
}
