//! Photos: decoded the right way up (EXIF orientation) and resized on the CPU to exactly the
//! pixels they cover, so the GPU draws them 1:1. Good filtering, and a 50-megapixel camera
//! file never needs a texture larger than the screen.

use crate::show::Fit;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbaImage};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot decode {path}: {source}")]
    Decode {
        path: String,
        source: image::ImageError,
    },
}

/// Decodes an image file and turns it as its EXIF orientation says.
pub fn load(path: &Path) -> Result<DynamicImage, PhotoError> {
    let shown = || path.display().to_string();
    let decode = |source| PhotoError::Decode {
        path: shown(),
        source,
    };
    let reader = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|source| PhotoError::Open {
            path: shown(),
            source,
        })?;
    let mut decoder = reader.into_decoder().map_err(decode)?;
    let orientation = decoder.orientation().map_err(decode)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The photo resized for a `box_w` x `box_h` box, and where its top-left corner goes inside
/// the box: `Fit` shows all of it centred (never stretched), `Fill` covers the box and crops
/// the overflow evenly.
pub fn fit(image: &DynamicImage, box_w: u32, box_h: u32, fit: Fit) -> (RgbaImage, (u32, u32)) {
    let (box_w, box_h) = (box_w.max(1), box_h.max(1));
    let sized = match fit {
        Fit::Fit => image.resize(box_w, box_h, FilterType::CatmullRom),
        Fit::Fill => image.resize_to_fill(box_w, box_h, FilterType::CatmullRom),
    };
    let rgba = sized.to_rgba8();
    let offset = (
        (box_w - rgba.width().min(box_w)) / 2,
        (box_h - rgba.height().min(box_h)) / 2,
    );
    (rgba, offset)
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
        let dir = std::env::temp_dir().join(format!("candela-exif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rotated.jpg");
        // Orientation 6: the camera was turned; the picture must be rotated 90° clockwise.
        std::fs::write(&path, jpeg_with_orientation(64, 32, 6)).unwrap();
        let img = load(&path).unwrap().to_rgba8();
        assert_eq!((img.width(), img.height()), (32, 64));
        // Left half red rotated clockwise ends up on top.
        assert!(img.get_pixel(16, 8)[0] > 200 && img.get_pixel(16, 8)[2] < 60);
        assert!(img.get_pixel(16, 56)[2] > 200 && img.get_pixel(16, 56)[0] < 60);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fit_keeps_aspect_and_fill_covers() {
        let img = DynamicImage::ImageRgba8(RgbaImage::new(400, 200));
        let (fitted, offset) = fit(&img, 100, 100, Fit::Fit);
        assert_eq!((fitted.width(), fitted.height()), (100, 50));
        assert_eq!(offset, (0, 25));
        let (filled, offset) = fit(&img, 100, 100, Fit::Fill);
        assert_eq!((filled.width(), filled.height()), (100, 100));
        assert_eq!(offset, (0, 0));
    }

    #[test]
    fn corrupt_and_missing_files_are_errors_not_panics() {
        let dir = std::env::temp_dir().join(format!("candela-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.jpg");
        std::fs::write(&bad, b"\xFF\xD8\xFF\xE0 definitely not a jpeg").unwrap();
        assert!(matches!(load(&bad), Err(PhotoError::Decode { .. })));
        assert!(matches!(
            load(&dir.join("nope.png")),
            Err(PhotoError::Open { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
