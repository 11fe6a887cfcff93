//! The setup view in a real browser (Debian's chromium over WebDriver) against a real
//! `candela play --headless` on loopback: a technician logs in, drags a corner with a finger
//! on a phone or the mouse on a laptop, draws a mask, undoes and redoes; the show's answer,
//! the calibration file beside the show and `candela render --output` all agree with where
//! things were dropped, and each output's picture matches its rendering.

mod support;

use candela::calibration::Calibration;
use image::RgbImage;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Candela;
use support::browser::{Browser, Screen};
use support::http::{Reply, get, http};

const PIN: &str = "246813";

/// Two projectors overlapping by 240 canvas pixels, at 16:10 (so their pictures are fitted
/// by height, not width), and a show-file mask on the right one.
const SHOW: &str = r##"
title = "setup test"
size = "1200x450"
background = "#203040"
hold = 600
transition = "cut"

[[slides]]
id = "a"
kind = "title"
title = "A"

[[outputs]]
name = "left"
region = [0, 0, 720, 450]
size = "1280x800"
[outputs.blend]
right = 240

[[outputs]]
name = "right"
region = [480, 0, 720, 450]
size = "1280x800"
[outputs.blend]
left = 240

[[masks]]
points = [[1100, 360], [1180, 360], [1180, 430], [1100, 430]]
"##;

/// Each output's size, and its picture's: 1280x800 fitted in 640x360.
const OUTPUT: (u32, u32) = (1280, 800);
const PICTURE: (u32, u32) = (576, 360);

/// How long anything here may take on a loaded machine before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The show in a folder of its own (the calibration file is written beside it), played
/// headless with the web remote on a free loopback port.
struct Site {
    candela: Candela,
    dir: PathBuf,
}

impl Site {
    fn start(name: &str) -> Site {
        let dir = std::env::temp_dir().join(format!("candela-setup-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).unwrap();
        std::fs::write(dir.join("show.toml"), SHOW).unwrap();
        let mut command = support::play();
        command
            .args([
                "--headless",
                "--no-osc",
                "--http",
                "127.0.0.1:0",
                "--state-dir",
            ])
            .arg(dir.join("state"))
            .arg(dir.join("show.toml"))
            .env("CANDELA_PIN", PIN);
        let candela = Candela::spawn(command, support::WEB_LISTENING);
        Site { candela, dir }
    }

    fn addr(&self) -> SocketAddr {
        self.candela.addr
    }

    fn show(&self) -> PathBuf {
        self.dir.join("show.toml")
    }

    /// `GET /api/setup` with the PIN.
    fn setup(&self) -> Value {
        let auth = format!("Bearer {PIN}");
        let reply = http(
            self.addr(),
            "GET",
            "/api/setup",
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    }

    fn output(&self, name: &str) -> Value {
        let setup = self.setup();
        let found = setup["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name);
        found
            .cloned()
            .unwrap_or_else(|| panic!("no output {name} in {setup}"))
    }

    /// Waits for the calibration file beside the show to satisfy `f`, and returns it.
    fn saved(&self, what: &str, f: impl Fn(&Calibration) -> bool) -> Calibration {
        let path = candela::calibration::path_for(&self.show());
        let deadline = Instant::now() + PATIENCE;
        loop {
            let kept = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| toml::from_str::<Calibration>(&text).ok());
            if let Some(c) = &kept
                && f(c)
            {
                return kept.unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the calibration file never held {what}: {kept:?}\ncandela's log:\n{}",
                self.candela.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What `candela render --output NAME` draws of the show as saved, at `size`.
    fn render(&self, output: &str, size: (u32, u32), pattern: &str) -> RgbImage {
        let out = self
            .dir
            .join(format!("render-{output}-{pattern}-{}.png", size.0));
        let status = Command::new(env!("CARGO_BIN_EXE_candela"))
            .args(["render", "--slide", "a", "--output", output])
            .args(["--pattern", pattern, "--size"])
            .arg(format!("{}x{}", size.0, size.1))
            .arg("--out")
            .arg(&out)
            .arg(self.show())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "candela render --output {output}");
        image::open(&out).unwrap().to_rgb8()
    }

    /// The output's picture as the setup view loads it.
    fn picture(&self, output: &str) -> RgbImage {
        jpeg(&get(
            self.addr(),
            &format!("/api/outputs/{output}/preview.jpg"),
        ))
    }

    /// Fetches the output's picture until `f` holds of it, and returns the last one.
    fn picture_until(&self, output: &str, f: impl Fn(&RgbImage) -> bool) -> RgbImage {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let p = self.picture(output);
            if f(&p) || Instant::now() > deadline {
                return p;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        // Kept when the test failed, for a person to look at.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn jpeg(reply: &Reply) -> RgbImage {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("image/jpeg"));
    image::load_from_memory_with_format(&reply.body, image::ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_rgb8()
}

/// Mean absolute difference per channel, 0 to 255.
fn difference(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y) as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// The brightest channel of any pixel of `image` within `rect` (x0, y0, x1, y1, pixels).
fn brightest(image: &RgbImage, rect: (u32, u32, u32, u32)) -> u8 {
    let (x0, y0, x1, y1) = rect;
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| image.get_pixel(x, y).0.into_iter().max().unwrap())
        .max()
        .unwrap()
}

/// The darkest channel of any pixel of `image` within `rect`.
fn darkest(image: &RgbImage, rect: (u32, u32, u32, u32)) -> u8 {
    let (x0, y0, x1, y1) = rect;
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| image.get_pixel(x, y).0.into_iter().min().unwrap())
        .min()
        .unwrap()
}

/// The setup view open in `browser`, logged in with the PIN, the grid on, nothing in flight.
fn open(site: &Site, browser: &Browser) {
    browser.go(&format!("http://{}/setup", site.addr()));
    browser.until(
        "the login form",
        "return !document.getElementById('login').classList.contains('hidden')",
    );
    browser.script(&format!(
        "document.getElementById('pin').value = '{PIN}'; return true;"
    ));
    browser.tap("#login button");
    browser.until(
        "the setup view",
        "return !document.getElementById('setup').classList.contains('hidden') && document.body.dataset.idle === '1'",
    );
    let deadline = Instant::now() + PATIENCE;
    while get_state(site)["test_pattern"] != "grid" {
        assert!(
            Instant::now() < deadline,
            "the setup view never turned the grid on"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get_state(site: &Site) -> Value {
    get(site.addr(), "/api/state").json()
}

/// The picture's box on the page, in viewport CSS pixels.
const PICTURE_BOX: &str = "const p = document.getElementById('picture').getBoundingClientRect(); return { left: p.left, top: p.top, width: p.width, height: p.height };";

/// Where things are on the page, in viewport CSS pixels: the picture's box, and the centre
/// of corner handle `i` (0-based) as drawn.
fn layout(browser: &Browser, corner: usize) -> Value {
    browser.script(&format!(
        r#"const p = document.getElementById('picture').getBoundingClientRect();
           const h = document.querySelector('#overlay [data-kind=corner][data-i="{corner}"]').getBoundingClientRect();
           return {{ left: p.left, top: p.top, width: p.width, height: p.height,
                    x: h.left + h.width / 2, y: h.top + h.height / 2 }};"#
    ))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Waits until the page has sent everything and the show has answered.
fn settled(browser: &Browser) {
    browser.until(
        "every change answered",
        "return document.body.dataset.idle === '1'",
    );
}

/// Which way is out of the picture at each corner, clockwise from the top left.
const OUTWARD: [(f64, f64); 4] = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];

/// Drags corner `i` (0-based) of the output shown by `by` CSS pixels, and checks that the
/// show, the calibration file and `candela render` all have it where it was dropped (within
/// one pixel of the output's picture). Returns the corner, in normalized output coordinates.
fn drag_corner(
    site: &Site,
    browser: &Browser,
    screen: Screen,
    output: &str,
    i: usize,
    by: (f64, f64),
) -> [f64; 2] {
    let before = layout(browser, i);
    let (x, y) = (f(&before["x"]), f(&before["y"]));
    let start = site.output(output)["corners"][i].clone();
    browser.drag(screen, (x, y), (x + by.0, y + by.1), 8);
    settled(browser);
    let expected = [
        f(&start[0]) + by.0 / f(&before["width"]),
        f(&start[1]) + by.1 / f(&before["height"]),
    ];
    let tolerance = [1.0 / PICTURE.0 as f64, 1.0 / PICTURE.1 as f64];
    let near = |p: [f64; 2]| (0..2).all(|k| (p[k] - expected[k]).abs() <= tolerance[k]);
    let shown = site.output(output)["corners"][i].clone();
    let shown = [f(&shown[0]), f(&shown[1])];
    assert!(
        near(shown),
        "corner {} of {output} is at {shown:?}, dropped at {expected:?}",
        i + 1
    );
    let saved = site.saved("the dragged corner", |c| {
        c.outputs
            .iter()
            .any(|o| o.name == output && near(o.corners[i]))
    });
    let kept = saved
        .outputs
        .iter()
        .find(|o| o.name == output)
        .unwrap()
        .corners[i];
    assert!(
        (kept[0] - shown[0]).abs() < 1e-9 && (kept[1] - shown[1]).abs() < 1e-9,
        "{kept:?} saved, {shown:?} shown"
    );
    // The pin on the projector: black just outside the dragged corner, and halfway from it
    // to the output's own corner; lit just inside.
    let white = site.render(output, OUTPUT, "white");
    let (cx, cy) = (shown[0] * OUTPUT.0 as f64, shown[1] * OUTPUT.1 as f64);
    let (ox, oy) = OUTWARD[i];
    let at = |x: f64, y: f64| white.get_pixel(x as u32, y as u32).0;
    let (far_x, far_y) = (
        OUTPUT.0 as f64 * (ox + 1.0) / 2.0,
        OUTPUT.1 as f64 * (oy + 1.0) / 2.0,
    );
    let outside = [
        (cx + 4.0 * ox, cy + 4.0 * oy),
        (
            (cx + far_x.min(OUTPUT.0 as f64 - 1.0)) / 2.0,
            (cy + far_y.min(OUTPUT.1 as f64 - 1.0)) / 2.0,
        ),
    ];
    for (x, y) in outside {
        assert_eq!(
            at(x, y),
            [0, 0, 0],
            "outside the pin at ({cx}, {cy}): ({x}, {y})"
        );
    }
    let inside = at(cx - 5.0 * ox, cy - 5.0 * oy);
    assert!(
        inside.iter().all(|&c| c >= 200),
        "inside the pin at ({cx}, {cy}): {inside:?}"
    );
    shown
}

#[test]
fn a_phone_drags_a_corner_with_a_finger_and_undoes_it() {
    let site = Site::start("phone");
    let screen = Screen::Phone {
        width: 390,
        height: 844,
    };
    let browser = Browser::open("setup-phone", screen);
    open(&site, &browser);
    let fits = browser.script(
        r#"const r = (id) => document.getElementById(id).getBoundingClientRect();
           return { scroll: document.documentElement.scrollWidth, frame: r('frame').width,
                    undo: r('undo').height, fine: r('fine').height };"#,
    );
    assert!(
        f(&fits["scroll"]) <= 390.0,
        "nothing sticks out sideways: {fits}"
    );
    assert!(
        f(&fits["frame"]) >= 340.0,
        "the picture fills the phone: {fits}"
    );
    assert!(
        f(&fits["undo"]) >= 48.0 && f(&fits["fine"]) >= 48.0,
        "big targets: {fits}"
    );
    browser.until(
        "the output's picture",
        &format!("const p = document.getElementById('picture'); return p.complete && p.naturalWidth === {} && Number(p.dataset.n) > 0", PICTURE.0),
    );

    let corner = drag_corner(&site, &browser, screen, "left", 0, (40.0, 24.0));

    // The picture is the projector's own, warp, blend and grid and all.
    let rendered = site.render("left", PICTURE, "grid");
    let picture = site.picture_until("left", |p| difference(p, &rendered) < 3.0);
    let d = difference(&picture, &rendered);
    assert!(
        d < 3.0,
        "the picture of output left differs from its rendering by {d}"
    );

    browser.tap("#undo");
    settled(&browser);
    site.saved("the corner back after undo", |c| {
        c.outputs
            .iter()
            .any(|o| o.name == "left" && o.corners[0] == [0.0, 0.0])
    });
    assert_eq!(site.setup()["history"]["redo"], 1);
    browser.tap("#redo");
    settled(&browser);
    let same = |p: [f64; 2]| (0..2).all(|k| (p[k] - corner[k]).abs() < 1e-9);
    site.saved("the corner again after redo", |c| {
        c.outputs
            .iter()
            .any(|o| o.name == "left" && same(o.corners[0]))
    });
    let shown = site.output("left")["corners"][0].clone();
    assert!(
        same([f(&shown[0]), f(&shown[1])]),
        "{shown} after redo, {corner:?} before"
    );
}

#[test]
fn a_laptop_pins_the_other_output_and_masks_a_window() {
    let site = Site::start("laptop");
    let screen = Screen::Laptop {
        width: 1280,
        height: 800,
    };
    let browser = Browser::open("setup-laptop", screen);
    open(&site, &browser);
    browser.script(
        "const s = document.getElementById('output'); s.selectedIndex = 1; s.dispatchEvent(new Event('change')); return true;",
    );
    browser.until(
        "the show file's mask, marked",
        "return [...document.querySelectorAll('#overlay text')].some(t => t.textContent === 'file-1 (from the show file)')",
    );
    // The top right corner: the left one is in the soft edge, dark on a white picture.
    let corner = drag_corner(&site, &browser, screen, "right", 1, (-50.0, 30.0));

    // A move that would fold the picture over itself (concave) is refused: the handle goes
    // back.
    let before = layout(&browser, 1);
    let to = (
        f(&before["left"]) + f(&before["width"]) * 0.2,
        f(&before["top"]) + f(&before["height"]) * 0.8,
    );
    browser.drag(screen, (f(&before["x"]), f(&before["y"])), to, 1);
    settled(&browser);
    let said = browser.script("return document.getElementById('msg').textContent");
    assert!(
        said.as_str().is_some_and(|s| s.contains("corner/2:")),
        "the reason is shown: {said}"
    );
    let kept = site.output("right")["corners"][1].clone();
    assert!(
        (0..2).all(|k| (f(&kept[k]) - corner[k]).abs() < 1e-9),
        "the refused move changed nothing: {kept}, {corner:?} before"
    );
    let after = layout(&browser, 1);
    for k in ["x", "y"] {
        assert!(
            (f(&after[k]) - f(&before[k])).abs() < 1.0,
            "the handle went back: {before} then {after}"
        );
    }

    // A window: four taps in a new mask, then Done. Where they land on the output is known
    // from where they were tapped, whatever the corner pin does to them in canvas pixels.
    let box_ = browser.script(PICTURE_BOX);
    let (left, top, width, height) = (
        f(&box_["left"]),
        f(&box_["top"]),
        f(&box_["width"]),
        f(&box_["height"]),
    );
    let taps: Vec<(f64, f64)> = [(0.50, 0.35), (0.72, 0.35), (0.72, 0.65), (0.50, 0.65)]
        .iter()
        .map(|(u, v)| ((left + u * width).round(), (top + v * height).round()))
        .collect();
    let on_output = |(x, y): (f64, f64)| ((x - left) / width, (y - top) / height);
    let (u0, v0) = on_output(taps[0]);
    let (u1, v1) = on_output(taps[2]);
    let inside = |size: (u32, u32), inset: f64| {
        let (w, h) = (size.0 as f64, size.1 as f64);
        (
            (u0 * w + inset) as u32,
            (v0 * h + inset) as u32,
            (u1 * w - inset) as u32,
            (v1 * h - inset) as u32,
        )
    };
    let picture = site.picture("right");
    assert!(
        brightest(&picture, inside(PICTURE, 8.0)) > 60,
        "grid lines cross the window before it is masked"
    );

    browser.tap("#tab-masks");
    browser.tap("#new-mask");
    for &at in &taps {
        browser.tap_at(screen, at);
    }
    browser.tap("#done-mask");
    settled(&browser);
    let masks = site.setup()["masks"].clone();
    let drawn: Vec<&Value> = masks
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["source"] == "calibration")
        .collect();
    assert_eq!(drawn.len(), 1, "{masks}");
    assert_eq!(drawn[0]["points"].as_array().unwrap().len(), 4, "{masks}");
    site.saved("the mask", |c| {
        c.masks.len() == 1 && c.masks[0].points.len() == 4
    });

    let white = site.render("right", OUTPUT, "white");
    assert_eq!(
        brightest(&white, inside(OUTPUT, 3.0)),
        0,
        "the window is pure black on the projector"
    );
    let ring = [
        (u0 - 0.01, (v0 + v1) / 2.0),
        (u1 + 0.01, (v0 + v1) / 2.0),
        ((u0 + u1) / 2.0, v0 - 0.01),
        ((u0 + u1) / 2.0, v1 + 0.01),
    ];
    for (u, v) in ring {
        let p = white
            .get_pixel((u * OUTPUT.0 as f64) as u32, (v * OUTPUT.1 as f64) as u32)
            .0;
        assert!(
            p.iter().all(|&c| c >= 200),
            "lit beside the window at ({u}, {v}): {p:?}"
        );
    }
    let masked = site.picture_until("right", |p| brightest(p, inside(PICTURE, 8.0)) <= 4);
    assert!(
        brightest(&masked, inside(PICTURE, 8.0)) <= 4,
        "the window is black in the output's picture"
    );

    browser.tap("#undo");
    settled(&browser);
    site.saved("no mask after undo", |c| c.masks.is_empty());
    browser.tap("#redo");
    settled(&browser);
    site.saved("the mask again after redo", |c| c.masks.len() == 1);
}

/// `POST /api/command` with the PIN: the HTTP status and the answer.
fn command(site: &Site, verb: &str, args: Value) -> (u16, Value) {
    let auth = format!("Bearer {PIN}");
    let body = serde_json::json!({ "verb": verb, "args": args }).to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let reply = http(
        site.addr(),
        "POST",
        "/api/command",
        &headers,
        body.as_bytes(),
    );
    (reply.status, reply.json())
}

#[test]
fn the_setup_api_needs_the_pin_and_pictures_show_each_change_at_once() {
    let site = Site::start("api");
    let page = get(site.addr(), "/setup");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("/common.js"));
    assert!(String::from_utf8_lossy(&get(site.addr(), "/").body).contains("href=\"/setup\""));
    assert_eq!(
        get(site.addr(), "/api/setup").status,
        401,
        "the setup is control's"
    );
    let wrong = [("Authorization", "Bearer 1111")];
    assert_eq!(
        http(site.addr(), "GET", "/api/setup", &wrong, b"").status,
        401
    );
    let setup = site.setup();
    assert_eq!(setup["canvas"], serde_json::json!([1200, 450]), "{setup}");
    assert_eq!(
        setup["outputs"].as_array().map(Vec::len),
        Some(2),
        "{setup}"
    );
    assert_eq!(
        get(site.addr(), "/api/outputs/nowhere/preview.jpg").status,
        404
    );
    assert_eq!(site.picture("left").dimensions(), PICTURE);

    // All white, then the corner pinned inward step by step: the very next picture after
    // each answer has it there, black outside and lit inside, with no waiting for one taken
    // after the change.
    assert_eq!(command(&site, "test", serde_json::json!(["white"])).0, 200);
    let border = |p: &RgbImage| brightest(p, (0, 0, 3, 3));
    assert!(border(&site.picture("left")) > 200, "the corner, lit");
    for step in 1..=5 {
        let at = 0.04 * step as f64;
        let (status, answer) = command(&site, "warp/left/corner/1", serde_json::json!([at, at]));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["data"]["setup"]["outputs"][0]["corners"][0],
            serde_json::json!([at, at])
        );
        let picture = site.picture("left");
        let (x, y) = (
            (at * PICTURE.0 as f64) as u32,
            (at * PICTURE.1 as f64) as u32,
        );
        assert!(
            border(&picture) <= 8,
            "step {step}: the picture's corner is dark"
        );
        assert!(
            darkest(&picture, (x + 4, y + 4, x + 8, y + 8)) > 200,
            "step {step}: lit inside the corner at ({x}, {y})"
        );
    }

    // A 64-point mask fits in one command; a 65th point is refused.
    let ring = |n: usize| -> Value {
        (0..n)
            .flat_map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                [300.0 + 100.0 * a.cos(), 200.0 + 100.0 * a.sin()]
            })
            .collect()
    };
    let (status, answer) = command(&site, "mask/round/points", ring(64));
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = command(&site, "mask/round/points", ring(65));
    assert_eq!(status, 400, "{answer}");
}

/// Taps `css` and waits until the show has answered what it sent.
fn press(browser: &Browser, css: &str) {
    browser.tap(css);
    settled(browser);
}

#[test]
fn a_laptop_bends_the_mesh_finely_edits_a_mask_and_blends_then_reverts() {
    let site = Site::start("edits");
    let screen = Screen::Laptop {
        width: 1280,
        height: 800,
    };
    let browser = Browser::open("setup-edits", screen);
    open(&site, &browser);
    press(&browser, "#cols-plus");
    press(&browser, "#rows-plus");
    let mesh = site.output("left")["mesh"].clone();
    assert_eq!(
        (mesh["cols"].as_u64(), mesh["rows"].as_u64()),
        (Some(3), Some(3)),
        "{mesh}"
    );

    // Fine: the middle point moves a tenth of the drag.
    press(&browser, "#fine");
    let middle = browser.script(
        r#"const p = document.getElementById('picture').getBoundingClientRect();
           const h = document.querySelector('#overlay [data-kind=point][data-c="1"][data-r="1"]').getBoundingClientRect();
           return { width: p.width, x: h.left + h.width / 2, y: h.top + h.height / 2 };"#,
    );
    let (x, y) = (f(&middle["x"]), f(&middle["y"]));
    let start = f(&mesh["points"][4][0]);
    browser.drag(screen, (x, y), (x + 100.0, y), 5);
    settled(&browser);
    let moved = f(&site.output("left")["mesh"]["points"][4][0]);
    let expected = start + 10.0 / f(&middle["width"]);
    assert!(
        (moved - expected).abs() <= 1.0 / PICTURE.0 as f64,
        "the middle point is at {moved}, a tenth of the drag puts it at {expected}"
    );

    // A soft edge typed in is sent as it is typed, and kept.
    press(&browser, "#tab-blend");
    browser.script(
        "const i = document.querySelector('#blend input[data-field=right]'); i.value = '200'; i.dispatchEvent(new Event('input')); return true;",
    );
    settled(&browser);
    assert_eq!(site.output("left")["blend"]["right"], 200.0);
    site.saved("the new soft edge", |c| {
        c.outputs
            .iter()
            .any(|o| o.name == "left" && o.blend.as_ref().is_some_and(|b| b.widths[2] == 200.0))
    });

    // A triangle, a point added after its first and taken away again, feathered, inverted,
    // deleted.
    press(&browser, "#tab-masks");
    press(&browser, "#new-mask");
    let b = browser.script(PICTURE_BOX);
    let (left, top, width, height) = (f(&b["left"]), f(&b["top"]), f(&b["width"]), f(&b["height"]));
    for (u, v) in [(0.2, 0.2), (0.4, 0.2), (0.3, 0.4)] {
        browser.tap_at(screen, (left + u * width, top + v * height));
    }
    press(&browser, "#done-mask");
    let mask = |site: &Site| {
        let masks = site.setup()["masks"].clone();
        masks
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["source"] == "calibration")
            .cloned()
    };
    let points = |site: &Site| mask(site).map_or(0, |m| m["points"].as_array().unwrap().len());
    assert_eq!(points(&site), 3);
    press(&browser, "#add-point");
    assert_eq!(points(&site), 4);
    let added = mask(&site).unwrap()["points"].clone();
    let midway = |k: usize| (f(&added[0][k]) + f(&added[2][k])) / 2.0;
    assert!(
        (f(&added[1][0]) - midway(0)).abs() < 0.01 && (f(&added[1][1]) - midway(1)).abs() < 0.01,
        "the new point 2 is midway along the edge from point 1: {added}"
    );
    press(&browser, "#delete-point");
    assert_eq!(points(&site), 3);
    browser.script(
        "const i = document.getElementById('feather'); i.value = '6'; i.dispatchEvent(new Event('input')); return true;",
    );
    settled(&browser);
    assert_eq!(mask(&site).unwrap()["feather"], 6.0);
    press(&browser, "#invert");
    assert_eq!(mask(&site).unwrap()["invert"], true);
    site.saved("the inverted, feathered mask", |c| {
        c.masks.len() == 1 && c.masks[0].invert && c.masks[0].feather == 6.0
    });
    browser.tap("#delete-mask");
    assert!(
        mask(&site).is_some(),
        "a mask is deleted only on a second tap"
    );
    press(&browser, "#delete-mask");
    assert!(mask(&site).is_none(), "{}", site.setup());

    // Revert: the calibration this run started with, the show file's here.
    browser.tap("#revert");
    press(&browser, "#revert");
    let left_output = site.output("left");
    assert_eq!(left_output["mesh"]["cols"], 2, "{left_output}");
    assert_eq!(left_output["blend"]["right"], 240.0, "{left_output}");
    site.saved("the calibration reverted", |c| {
        c.masks.is_empty()
            && c.outputs.iter().any(|o| {
                o.name == "left"
                    && o.mesh.as_ref().is_none_or(|m| m.cols == 2)
                    && o.blend.as_ref().is_none_or(|b| b.widths[2] == 240.0)
            })
    });
}
