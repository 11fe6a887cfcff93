//! Photos: decoded the right way up (EXIF orientation) and resized on the CPU to exactly the
//! pixels they cover, so the GPU draws them 1:1. Good filtering, and a 50-megapixel camera
//! file never needs a texture larger than the screen.
//!
//! The format is told by the file's content, not its name (a PNG called `.jpg` loads), and
//! decoding is bounded: a file claiming more than [`MAX_SIDE`] pixels on a side is refused from
//! its header before anything is allocated, and no decode may allocate more than
//! [`MAX_DECODE_BYTES`]. These run on the photo workers ([`super::photo_cache`]), never on the
//! render thread, and `candela check` runs the same code.

use crate::show::Fit;
use fast_image_resize as fr;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbaImage};
use std::io::Cursor;
use std::path::Path;

/// The most pixels a photo may have on a side (a 100-megapixel camera has about 12 000).
pub const MAX_SIDE: u32 = 16_384;
/// The most memory one photo's decode may take.
pub const MAX_DECODE_BYTES: u64 = 512 << 20;
/// The largest photo file read.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is empty (0 bytes): copy the photo again")]
    Empty { path: String },
    #[error("{path} is {size} bytes, more than the {} MiB a photo may be", MAX_FILE_BYTES >> 20)]
    TooBig { path: String, size: u64 },
    #[error("{path} is not a JPEG or PNG image (its content is neither, whatever its name)")]
    NotAnImage { path: String },
    #[error(
        "{path} claims {width}x{height} pixels, more than the {MAX_SIDE} a side or {} MiB \
         candela decodes: refused (re-export it smaller)",
        MAX_DECODE_BYTES >> 20
    )]
    TooLarge {
        path: String,
        width: u32,
        height: u32,
    },
    #[error("{path} is truncated: the JPEG ends before its picture does (copy it again)")]
    Truncated { path: String },
    #[error("cannot decode {path}: {source}")]
    Decode {
        path: String,
        source: image::ImageError,
    },
    #[error("cannot decode {path}: the decoder failed on it (a damaged or hostile file)")]
    Panicked { path: String },
}

impl PhotoError {
    /// The file could not be read, as opposed to holding something that is not a photo: no
    /// file descriptors left, permissions, storage gone for a moment. Fixing that changes
    /// nothing in the file, so it is tried again rather than waiting for the file to change.
    pub fn may_pass(&self) -> bool {
        matches!(self, PhotoError::Open { .. })
    }
}

/// A photo resized for its box, ready to upload, and where its top-left corner goes in it.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub rgba: RgbaImage,
    pub offset: (u32, u32),
}

/// A photo file's bytes, its format found from them, and what its header says.
struct Opened {
    bytes: Vec<u8>,
    format: ImageFormat,
    orientation: Orientation,
}

fn open(path: &Path) -> Result<Opened, PhotoError> {
    let shown = || path.display().to_string();
    let io = |source| PhotoError::Open {
        path: shown(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size == 0 {
        return Err(PhotoError::Empty { path: shown() });
    }
    if size > MAX_FILE_BYTES {
        return Err(PhotoError::TooBig {
            path: shown(),
            size,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(PhotoError::NotAnImage { path: shown() }),
    };
    if format == ImageFormat::Jpeg && !jpeg_is_whole(&bytes) {
        // The JPEG decoder is lenient and would paint the missing part grey.
        return Err(PhotoError::Truncated { path: shown() });
    }
    let decode = |source| PhotoError::Decode {
        path: shown(),
        source,
    };
    // Only the header is read here: a decompression bomb is refused, naming its size, before
    // anything is allocated for its pixels; then the decode itself is bounded.
    let header = match format {
        ImageFormat::Jpeg => jpeg_header(&bytes),
        _ => None,
    };
    let ((width, height), orientation) = match header {
        Some(h) => h,
        None => {
            let mut reader = ImageReader::with_format(Cursor::new(&bytes[..]), format);
            reader.no_limits();
            let mut decoder = reader.into_decoder().map_err(decode)?;
            (decoder.dimensions(), decoder.orientation().map_err(decode)?)
        }
    };
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels * 4 > MAX_DECODE_BYTES {
        return Err(PhotoError::TooLarge {
            path: shown(),
            width,
            height,
        });
    }
    Ok(Opened {
        bytes,
        format,
        orientation,
    })
}

/// A JPEG's size and EXIF orientation, read by libjpeg-turbo and from its APP1 segment
/// without setting up a decoder (which would copy the whole file first). None when
/// libjpeg-turbo cannot read the header: the general decoder then has a go, and says why.
fn jpeg_header(bytes: &[u8]) -> Option<((u32, u32), Orientation)> {
    let header = turbojpeg::read_header(bytes).ok()?;
    let size = (
        u32::try_from(header.width).ok()?,
        u32::try_from(header.height).ok()?,
    );
    let orientation = jpeg_exif(bytes)
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    Some((size, orientation))
}

/// The TIFF data of a JPEG's EXIF segment, if it has one before its first scan.
fn jpeg_exif(bytes: &[u8]) -> Option<&[u8]> {
    let mut at = 2; // past the start-of-image marker
    while let [0xFF, marker, rest @ ..] = bytes.get(at..)? {
        match *marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers with no segment after them.
            0x01 | 0xD0..=0xD7 => at += 2,
            // The first scan or the end: no EXIF before it.
            0xDA | 0xD9 => return None,
            _ => {
                let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                let data = rest.get(2..len)?;
                if *marker == 0xE1
                    && let Some(tiff) = data.strip_prefix(b"Exif\0\0")
                {
                    return Some(tiff);
                }
                at += 2 + len.max(2);
            }
        }
    }
    None
}

/// Decodes what [`open`] found, bounded: [`MAX_SIDE`] a side, [`MAX_DECODE_BYTES`] in all.
fn decoded(path: &Path, opened: &Opened) -> Result<DynamicImage, PhotoError> {
    let decode = |source| PhotoError::Decode {
        path: path.display().to_string(),
        source,
    };
    let mut reader = ImageReader::with_format(Cursor::new(&opened.bytes[..]), opened.format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map_err(decode)
}

/// A baseline JPEG decoded by libjpeg-turbo at the smallest of its DCT scales (1/8, 1/4,
/// 1/2, 1) that still keeps the share of each side's pixels that `need` asks of the stored
/// size: a 24-megapixel camera file shown at 1080p is decoded at half size, which skips most
/// of the inverse DCT and colour conversion. None when it cannot (a progressive or CMYK
/// file, or one libjpeg-turbo warns about): the caller falls back to the general decoder,
/// which also names what is wrong.
fn jpeg_scaled(bytes: &[u8], need: impl Fn((u32, u32)) -> f64) -> Option<DynamicImage> {
    use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};
    let mut decompressor = Decompressor::new().ok()?;
    let header = decompressor.read_header(bytes).ok()?;
    // A progressive file's coefficients are all held at once (6 bytes a pixel): left to the
    // decoder whose allocations are bounded.
    if header.is_progressive || header.is_lossless {
        return None;
    }
    let size = (
        u32::try_from(header.width).ok()?,
        u32::try_from(header.height).ok()?,
    );
    let need = need(size);
    let scale = [8, 4, 2]
        .into_iter()
        .map(|denom| ScalingFactor::new(1, denom))
        .find(|s| {
            let enough = |side: usize| s.scale(side) as f64 >= side as f64 * need;
            enough(header.width) && enough(header.height)
        })
        .unwrap_or(ScalingFactor::ONE);
    let out = header.scaled(scale);
    decompressor.set_scaling_factor(scale).ok()?;
    let mut image = Image {
        pixels: vec![0; 3 * out.width * out.height],
        width: out.width,
        pitch: 3 * out.width,
        height: out.height,
        format: PixelFormat::RGB,
    };
    decompressor.decompress(bytes, image.as_deref_mut()).ok()?;
    let (w, h) = (
        u32::try_from(out.width).ok()?,
        u32::try_from(out.height).ok()?,
    );
    image::RgbImage::from_raw(w, h, image.pixels).map(DynamicImage::ImageRgb8)
}

/// Whether a JPEG's last scan is followed by its end-of-image marker. Entropy-coded data
/// never holds the bytes FF D9 (an FF in it is stuffed with 00), so their absence after the
/// last start-of-scan means the file was cut short. One with no scan at all is left to the
/// decoder to refuse.
fn jpeg_is_whole(bytes: &[u8]) -> bool {
    let marker = |m: u8| move |w: &[u8]| w == [0xFF, m];
    // Nearly always the end-of-image marker closes the file, after the last scan: found
    // without reading megabytes.
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    if let Some(end) = tail.windows(2).rposition(marker(0xD9))
        && !tail[end..].windows(2).any(marker(0xDA))
        && (tail.len() < bytes.len() || tail[..end].windows(2).any(marker(0xDA)))
    {
        return true;
    }
    let Some(last_scan) = bytes.windows(2).rposition(marker(0xDA)) else {
        return true;
    };
    bytes[last_scan..].windows(2).any(marker(0xD9))
}

/// Decodes an image file, bounded, and turns it as its EXIF orientation says.
pub fn load(path: &Path) -> Result<DynamicImage, PhotoError> {
    let opened = open(path)?;
    let mut image = decoded(path, &opened)?;
    image.apply_orientation(opened.orientation);
    Ok(image)
}

/// Decodes an image file, bounded, and makes it RGBA sized for a `box_w` x `box_h` box (see
/// [`fit`]), the right way up. The full-size picture is resized as it was stored and only the
/// small result is turned, so a camera's sideways 24 megapixels are never copied; a JPEG
/// larger than the box is decoded at a reduced scale first ([`jpeg_scaled`]).
pub fn load_fitted(path: &Path, box_w: u32, box_h: u32, fit: Fit) -> Result<Fitted, PhotoError> {
    let opened = open(path)?;
    let image = match opened.format {
        ImageFormat::Jpeg => jpeg_scaled(&opened.bytes, |(w, h)| {
            let seen = if turns_sideways(opened.orientation) {
                (h, w)
            } else {
                (w, h)
            };
            ratio(seen, (box_w, box_h), fit)
        }),
        _ => None,
    };
    let image = match image {
        Some(i) => i,
        None => decoded(path, &opened)?,
    };
    Ok(fit_oriented(&image, opened.orientation, box_w, box_h, fit))
}

/// The photo resized for a `box_w` x `box_h` box, and where its top-left corner goes inside
/// the box: `Fit` shows all of it centred (never stretched), `Fill` covers the box and crops
/// the overflow evenly.
pub fn fit(image: &DynamicImage, box_w: u32, box_h: u32, fit: Fit) -> Fitted {
    fit_oriented(image, Orientation::NoTransforms, box_w, box_h, fit)
}

fn turns_sideways(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// [`fit`] for a stored `image` that `orientation` turns the right way up.
fn fit_oriented(
    image: &DynamicImage,
    orientation: Orientation,
    box_w: u32,
    box_h: u32,
    fit: Fit,
) -> Fitted {
    let (box_w, box_h) = (box_w.max(1), box_h.max(1));
    let sideways = turns_sideways(orientation);
    let swap = |(a, b): (u32, u32)| if sideways { (b, a) } else { (a, b) };
    // Sizes as the picture is seen (turned), then mapped back to how it is stored.
    let seen = swap((image.width(), image.height()));
    let out = match fit {
        Fit::Fit => scaled(seen, (box_w, box_h)),
        Fit::Fill => (box_w, box_h),
    };
    let stored_out = swap(out);
    let mut rgba = resize(image, stored_out, fit == Fit::Fill);
    if orientation != Orientation::NoTransforms {
        let mut turned = DynamicImage::ImageRgba8(rgba);
        turned.apply_orientation(orientation);
        rgba = turned.into_rgba8();
    }
    let offset = (
        (box_w - rgba.width().min(box_w)) / 2,
        (box_h - rgba.height().min(box_h)) / 2,
    );
    Fitted { rgba, offset }
}

/// How much a picture of `size` is resized to `fit` a box of `bounds`: to fit inside it
/// whole, or to cover it.
fn ratio(size: (u32, u32), bounds: (u32, u32), fit: Fit) -> f64 {
    let x = f64::from(bounds.0) / f64::from(size.0.max(1));
    let y = f64::from(bounds.1) / f64::from(size.1.max(1));
    match fit {
        Fit::Fit => x.min(y),
        Fit::Fill => x.max(y),
    }
}

/// `size` scaled to fit inside `bounds`, aspect kept, rounded to whole pixels.
fn scaled(size: (u32, u32), bounds: (u32, u32)) -> (u32, u32) {
    let ratio = ratio(size, bounds, Fit::Fit);
    let side = |v: u32| ((f64::from(v) * ratio).round() as u32).clamp(1, MAX_SIDE);
    (side(size.0), side(size.1))
}

/// `image` resized to `size` (cropped evenly to its aspect when `crop`), as RGBA. The resize
/// runs on the decoded pixels' own layout (RGB for a JPEG), so only the small result is
/// widened to RGBA.
fn resize(image: &DynamicImage, size: (u32, u32), crop: bool) -> RgbaImage {
    let widened;
    let (bytes, pixel_type): (&[u8], fr::PixelType) = match image {
        DynamicImage::ImageRgb8(i) => (i.as_raw(), fr::PixelType::U8x3),
        DynamicImage::ImageRgba8(i) => (i.as_raw(), fr::PixelType::U8x4),
        DynamicImage::ImageLuma8(i) => (i.as_raw(), fr::PixelType::U8),
        DynamicImage::ImageLumaA8(i) => (i.as_raw(), fr::PixelType::U8x2),
        other => {
            widened = other.to_rgba8();
            (widened.as_raw(), fr::PixelType::U8x4)
        }
    };
    let (w, h) = (image.width(), image.height());
    let source = fr::images::ImageRef::new(w, h, bytes, pixel_type)
        .expect("a decoded image's buffer matches its size");
    let mut out = fr::images::Image::new(size.0, size.1, pixel_type);
    let mut options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    if crop {
        options = options.fit_into_destination(None);
    }
    fr::Resizer::new()
        .resize(&source, &mut out, &options)
        .expect("source and destination have the same pixel type");
    let buffer = out.into_vec();
    let sized = match pixel_type {
        fr::PixelType::U8x3 => {
            image::RgbImage::from_raw(size.0, size.1, buffer).map(DynamicImage::from)
        }
        fr::PixelType::U8 => {
            image::GrayImage::from_raw(size.0, size.1, buffer).map(DynamicImage::from)
        }
        fr::PixelType::U8x2 => {
            image::GrayAlphaImage::from_raw(size.0, size.1, buffer).map(DynamicImage::from)
        }
        _ => RgbaImage::from_raw(size.0, size.1, buffer).map(DynamicImage::from),
    }
    .expect("the resizer's buffer matches its size");
    sized.into_rgba8()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    /// A JPEG of `w` x `h` whose left half is red and right half blue, with an EXIF
    /// orientation tag spliced in after the SOI marker.
    fn jpeg_with_orientation(w: u32, h: u32, orientation: u16) -> Vec<u8> {
        let img = RgbaImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 0, 255, 255])
            }
        });
        let mut jpeg = Vec::new();
        DynamicImage::ImageRgba8(img)
            .to_rgb8()
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        // TIFF header (big-endian), one IFD entry: 0x0112 Orientation, SHORT, count 1.
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let len = (app1.len() + 2) as u16;
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotated.jpg");
        // Orientation 6: the camera was turned; the picture must be rotated 90° clockwise.
        std::fs::write(&path, jpeg_with_orientation(64, 32, 6)).unwrap();
        let img = load(&path).unwrap().to_rgba8();
        assert_eq!((img.width(), img.height()), (32, 64));
        // Left half red rotated clockwise ends up on top.
        assert!(img.get_pixel(16, 8)[0] > 200 && img.get_pixel(16, 8)[2] < 60);
        assert!(img.get_pixel(16, 56)[2] > 200 && img.get_pixel(16, 56)[0] < 60);

        // Fitted into a wide box, it is still upright: tall, red over blue.
        let fitted = load_fitted(&path, 100, 50, Fit::Fit).unwrap();
        assert_eq!(fitted.rgba.dimensions(), (25, 50));
        assert_eq!(fitted.offset, (37, 0));
        let top = fitted.rgba.get_pixel(12, 6);
        let bottom = fitted.rgba.get_pixel(12, 44);
        assert!(top[0] > 200 && top[2] < 60, "{top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "{bottom:?}");
    }

    /// A photo-like JPEG: gradients and fine detail, `progressive` or baseline.
    fn photo_jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
        let pixels = image::RgbImage::from_fn(w, h, |x, y| {
            let ripple = ((x * 7 + y * 3) % 23) as u8 * 3;
            image::Rgb([
                (x * 180 / w) as u8 + ripple,
                (y * 200 / h) as u8,
                ((x + y) * 120 / (w + h)) as u8 + 60,
            ])
        });
        let mut compressor = turbojpeg::Compressor::new().unwrap();
        compressor.set_quality(90).unwrap();
        compressor.set_progressive(progressive).unwrap();
        let image = turbojpeg::Image {
            pixels: pixels.as_raw().as_slice(),
            width: w as usize,
            pitch: 3 * w as usize,
            height: h as usize,
            format: turbojpeg::PixelFormat::RGB,
        };
        compressor.compress_to_vec(image).unwrap()
    }

    fn mean_difference(a: &RgbaImage, b: &RgbaImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn a_large_jpeg_is_decoded_at_the_smallest_scale_that_keeps_the_boxs_detail() {
        let jpeg = photo_jpeg(1600, 1200, false);
        let stored = |need: f64| {
            let image = jpeg_scaled(&jpeg, |size| {
                assert_eq!(size, (1600, 1200));
                need
            })
            .expect("a baseline JPEG takes the fast path");
            (image.width(), image.height())
        };
        assert_eq!(stored(0.3), (800, 600), "1/4 would keep too little");
        assert_eq!(stored(0.25), (400, 300));
        assert_eq!(stored(0.1), (200, 150));
        assert_eq!(stored(0.9), (1600, 1200));
        assert_eq!(stored(2.0), (1600, 1200), "never upscaled by the decoder");
        // A progressive file holds all its coefficients at once: the bounded decoder has it.
        assert!(jpeg_scaled(&photo_jpeg(64, 48, true), |_| 0.5).is_none());
        assert!(jpeg_scaled(b"not a jpeg", |_| 0.5).is_none());
    }

    #[test]
    fn the_scaled_decode_looks_like_the_full_one_fitted() {
        let dir = tempfile::tempdir().unwrap();
        for (name, progressive) in [("baseline.jpg", false), ("progressive.jpg", true)] {
            let path = dir.path().join(name);
            std::fs::write(&path, photo_jpeg(1600, 1200, progressive)).unwrap();
            for fit_as in [Fit::Fit, Fit::Fill] {
                let fast = load_fitted(&path, 700, 300, fit_as).unwrap();
                let full = fit(&load(&path).unwrap(), 700, 300, fit_as);
                assert_eq!(fast.offset, full.offset);
                let d = mean_difference(&fast.rgba, &full.rgba);
                assert!(d < 2.0, "{name} {fit_as:?}: differs by {d}");
            }
        }
    }

    #[test]
    fn fit_keeps_aspect_and_fill_covers() {
        let img = DynamicImage::ImageRgba8(RgbaImage::new(400, 200));
        let fitted = fit(&img, 100, 100, Fit::Fit);
        assert_eq!(fitted.rgba.dimensions(), (100, 50));
        assert_eq!(fitted.offset, (0, 25));
        let filled = fit(&img, 100, 100, Fit::Fill);
        assert_eq!(filled.rgba.dimensions(), (100, 100));
        assert_eq!(filled.offset, (0, 0));
    }

    #[test]
    fn fill_crops_the_sides_evenly() {
        // Red | green | blue thirds: filling a square keeps the green middle.
        let img = RgbaImage::from_fn(300, 100, |x, _| match x / 100 {
            0 => Rgba([255, 0, 0, 255]),
            1 => Rgba([0, 255, 0, 255]),
            _ => Rgba([0, 0, 255, 255]),
        });
        let filled = fit(
            &DynamicImage::ImageRgba8(img).to_rgb8().into(),
            50,
            50,
            Fit::Fill,
        );
        for x in [5, 25, 45] {
            let p = filled.rgba.get_pixel(x, 25);
            assert!(p[1] > 200 && p[0] < 40 && p[2] < 40, "x {x}: {p:?}");
        }
    }

    /// A PNG `width` x `height` of one colour.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            width,
            height,
            image::Rgb([200, 30, 30]),
        ))
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
        out
    }

    /// The 20000x20000 bomb, with the other bad files, is in tests/photos.rs.
    #[test]
    fn bad_files_are_refused_with_a_message_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        // Big enough that most of it is the scan, so a cut lands in the picture's data.
        let jpeg = jpeg_with_orientation(512, 384, 1);
        let cases = [
            (write("empty.jpg", b""), "is empty"),
            (
                write("cut.jpg", &jpeg[..jpeg.len() * 2 / 3]),
                "is truncated",
            ),
            (write("cut-header.jpg", &jpeg[..200]), "cannot decode"),
            (write("cut.png", &png(64, 64)[..100]), "cannot decode"),
            (
                write("notes.jpg", b"a portrait, to be sent later\n"),
                "is not a JPEG or PNG",
            ),
        ];
        for (path, expected) in cases {
            let e = load_fitted(&path, 200, 200, Fit::Fit)
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{}: {e}", path.display());
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert_eq!(
                load(&path).unwrap_err().to_string(),
                e,
                "check and the show see the same problem"
            );
        }
        let e = load(&dir.path().join("nope.png")).unwrap_err();
        assert!(matches!(e, PhotoError::Open { .. }), "{e}");
    }

    #[test]
    fn a_png_named_jpg_loads_by_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actually-a-png.jpg");
        std::fs::write(&path, png(80, 40)).unwrap();
        let fitted = load_fitted(&path, 40, 40, Fit::Fit).unwrap();
        assert_eq!(fitted.rgba.dimensions(), (40, 20));
        assert_eq!(fitted.rgba.get_pixel(20, 10)[0], 200);
    }
}
