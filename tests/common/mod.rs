//! What the rendering test files share: golden images made on lavapipe, compared with a
//! tolerance, with the actual and difference images kept where a person can look at them.

use candela::render::{Gpu, HEADLESS_FORMAT, Renderer};
use candela::text::Fonts;
use image::RgbaImage;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

pub struct Harness {
    pub gpu: Gpu,
    pub renderer: Renderer,
}

/// One GPU and renderer for all tests in a file: lavapipe start-up and font loading are the
/// slow parts, and sharing them also exercises the renderer's caches.
pub fn harness() -> MutexGuard<'static, Harness> {
    static HARNESS: OnceLock<Mutex<Harness>> = OnceLock::new();
    HARNESS
        .get_or_init(|| {
            let gpu = Gpu::headless().expect("a GPU adapter (scripts/deps installs lavapipe)");
            let (fonts, _) = Fonts::new(&[], None);
            let renderer = Renderer::new(&gpu, HEADLESS_FORMAT, fonts);
            Mutex::new(Harness { gpu, renderer })
        })
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Largest difference in any channel that still counts as the same pixel (lavapipe is exact
/// run to run; this absorbs small rasterizer or codec changes).
pub const CHANNEL_TOLERANCE: u8 = 16;
/// Share of pixels allowed past that tolerance.
pub const PIXEL_TOLERANCE: f64 = 0.002;

/// Compares `actual` with `tests/golden/NAME.png`; on failure keeps `NAME-actual.png` and
/// `NAME-difference.png` beside it. `CANDELA_BLESS=1` remakes the reference instead.
pub fn assert_golden(adapter: &str, name: &str, actual: &RgbaImage) {
    assert!(
        adapter.contains("llvmpipe"),
        "golden images are made on lavapipe, but the adapter is {adapter:?}: \
         run scripts/test, or set WGPU_BACKEND=vulkan WGPU_ADAPTER_NAME=llvmpipe"
    );
    let dir = root().join("tests/golden");
    let reference: PathBuf = dir.join(format!("{name}.png"));
    let actual_path = dir.join(format!("{name}-actual.png"));
    let diff_path = dir.join(format!("{name}-difference.png"));
    if std::env::var_os("CANDELA_BLESS").is_some() {
        actual.save(&reference).unwrap();
        return;
    }
    let expected = image::open(&reference)
        .unwrap_or_else(|e| {
            actual.save(&actual_path).unwrap();
            panic!(
                "no golden image {} ({e}); this run's frame is at {}: if it is right, \
                 make the reference with CANDELA_BLESS=1 scripts/test --test render",
                reference.display(),
                actual_path.display()
            )
        })
        .to_rgba8();
    assert_eq!(
        expected.dimensions(),
        actual.dimensions(),
        "{name}: size differs"
    );
    let mut diff = RgbaImage::new(actual.width(), actual.height());
    let mut bad = 0usize;
    for ((e, a), d) in expected
        .pixels()
        .zip(actual.pixels())
        .zip(diff.pixels_mut())
    {
        let delta = (0..3).map(|i| e[i].abs_diff(a[i])).max().unwrap();
        *d = if delta > CHANNEL_TOLERANCE {
            bad += 1;
            image::Rgba([255, 0, 255, 255])
        } else {
            // The reference, dimmed, so the differing pixels stand out in context.
            image::Rgba([e[0] / 4, e[1] / 4, e[2] / 4, 255])
        };
    }
    let share = bad as f64 / (actual.width() * actual.height()) as f64;
    if share > PIXEL_TOLERANCE {
        actual.save(&actual_path).unwrap();
        diff.save(&diff_path).unwrap();
        panic!(
            "{name}: {bad} pixels ({:.3}%) differ from {} by more than {CHANNEL_TOLERANCE}; \
             see {} and {}",
            share * 100.0,
            reference.display(),
            actual_path.display(),
            diff_path.display()
        );
    }
    let _ = std::fs::remove_file(actual_path);
    let _ = std::fs::remove_file(diff_path);
}
