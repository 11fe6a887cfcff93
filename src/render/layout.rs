//! Where things go on a slide: the photo's box and each shaped text block, in output pixels.
//! Pure CPU work (shaping included), so layouts are tested without a GPU.
//!
//! Sizes follow the output's height, so the same show reads the same on a 720p rehearsal
//! screen and a 4K projector; everything stays inside a safe-area margin, because the edges
//! of a projected image land on window frames and cornices.

use crate::control::{SlideView, ViewContent};
use crate::show::{Fit, Rgb};
use crate::text::{self, Fonts, TextStyle};
use glyphon::cosmic_text::{Align, Buffer};
use std::path::PathBuf;

/// Margin on each side, as a fraction of the output's width and height.
pub const SAFE_MARGIN: f32 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x - 0.5
            && other.y >= self.y - 0.5
            && other.x + other.w <= self.x + self.w + 0.5
            && other.y + other.h <= self.y + self.h + 0.5
    }
}

pub struct PhotoBox {
    pub path: PathBuf,
    pub fit: Fit,
    /// The box the photo is fitted into or cropped to fill, in whole pixels.
    pub rect: Rect,
}

pub struct TextBlock {
    pub buffer: Buffer,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub color: Rgb,
}

pub struct SlideLayout {
    pub photo: Option<PhotoBox>,
    pub texts: Vec<TextBlock>,
    /// The safe area everything lies in.
    pub safe: Rect,
}

const WHITE: Rgb = Rgb([0xff, 0xff, 0xff]);
const SOFT: Rgb = Rgb([0xd8, 0xd8, 0xd8]);

/// One text to stack in a column: text, size in units of the base size, bold, italic, colour.
struct Line<'a> {
    text: &'a str,
    size: f32,
    bold: bool,
    italic: bool,
    color: Rgb,
}

impl<'a> Line<'a> {
    fn new(text: &'a str, size: f32, color: Rgb) -> Self {
        Line {
            text,
            size,
            bold: false,
            italic: false,
            color,
        }
    }
    fn bold(self) -> Self {
        Line { bold: true, ..self }
    }
    fn italic(self) -> Self {
        Line {
            italic: true,
            ..self
        }
    }
}

/// Lays out `slide` on an output of `width` x `height` pixels, photo present or not (`has_photo`
/// false gives the text the room a photo that failed to load would have taken).
pub fn layout(
    fonts: &mut Fonts,
    slide: &SlideView,
    width: u32,
    height: u32,
    has_photo: bool,
) -> SlideLayout {
    let (w, h) = (width as f32, height as f32);
    let safe = Rect {
        x: (w * SAFE_MARGIN).round(),
        y: (h * SAFE_MARGIN).round(),
        w: (w * (1.0 - 2.0 * SAFE_MARGIN)).round(),
        h: (h * (1.0 - 2.0 * SAFE_MARGIN)).round(),
    };
    // Text scales with height, but never so large that a tall narrow output overflows sideways.
    let unit = h.min(w * 9.0 / 16.0);
    let accent = slide.accent;
    match &slide.content {
        ViewContent::Portrait {
            image,
            fit,
            name,
            name_native,
            country,
            story,
            quote,
            counter,
        } => {
            let mut lines = vec![Line::new(name, 0.085, WHITE).bold()];
            if let Some(n) = name_native {
                lines.push(Line::new(n, 0.062, WHITE));
            }
            let country_upper = country.as_ref().map(|c| c.to_uppercase());
            if let Some(c) = &country_upper {
                lines.push(Line::new(c, 0.04, accent).bold());
            }
            if let Some(s) = story {
                lines.push(Line::new(s, 0.04, SOFT));
            }
            if let Some(q) = quote {
                lines.push(Line::new(q, 0.036, WHITE).italic());
            }
            if let Some(c) = counter {
                lines.push(Line::new(&c.value, 0.09, accent).bold());
                lines.push(Line::new(&c.label, 0.038, WHITE));
            }
            let photo_rect = image.as_ref().filter(|_| has_photo).map(|_| {
                if w >= h {
                    // Landscape: photo on the left, text beside it.
                    Rect {
                        w: (safe.w * 0.42).round(),
                        ..safe
                    }
                } else {
                    // Portrait output: photo on top, text below.
                    Rect {
                        h: (safe.h * 0.5).round(),
                        ..safe
                    }
                }
            });
            let column = match photo_rect {
                Some(p) if w >= h => {
                    let gap = (w * 0.04).round();
                    Rect {
                        x: p.x + p.w + gap,
                        w: safe.w - p.w - gap,
                        ..safe
                    }
                }
                Some(p) => {
                    let gap = (h * 0.03).round();
                    Rect {
                        y: p.y + p.h + gap,
                        h: safe.h - p.h - gap,
                        ..safe
                    }
                }
                None => safe,
            };
            SlideLayout {
                photo: image.clone().zip(photo_rect).map(|(path, rect)| PhotoBox {
                    path,
                    fit: *fit,
                    rect,
                }),
                texts: stack(fonts, &lines, column, unit, Align::Left),
                safe,
            }
        }
        ViewContent::Counter { counter } => {
            let lines = [
                Line::new(&counter.value, 0.24, accent).bold(),
                Line::new(&counter.label, 0.07, WHITE),
            ];
            SlideLayout {
                photo: None,
                texts: stack(fonts, &lines, safe, unit, Align::Center),
                safe,
            }
        }
        ViewContent::Title { title, subtitle } => {
            let mut lines = vec![Line::new(title, 0.11, WHITE).bold()];
            if let Some(s) = subtitle {
                lines.push(Line::new(s, 0.055, accent));
            }
            SlideLayout {
                photo: None,
                texts: stack(fonts, &lines, safe, unit, Align::Center),
                safe,
            }
        }
    }
}

/// Shapes `lines` and stacks them, centred vertically in `area`; shrinks them all alike until
/// they fit, so a long story never runs off the wall.
fn stack(fonts: &mut Fonts, lines: &[Line], area: Rect, unit: f32, align: Align) -> Vec<TextBlock> {
    let mut scale = 1.0;
    loop {
        let mut blocks = Vec::with_capacity(lines.len());
        let mut total = 0.0;
        for (i, line) in lines.iter().enumerate() {
            let style = TextStyle {
                size: (line.size * unit * scale).max(6.0),
                bold: line.bold,
                italic: line.italic,
                align,
            };
            let buffer = fonts.shape(line.text, &style, area.w);
            let height = text::height(&buffer);
            // Space before a line in proportion to it, so small lines group under big ones.
            let gap = if i == 0 { 0.0 } else { style.size * 0.45 };
            total += gap + height;
            blocks.push((buffer, gap, height, line.color));
        }
        if total <= area.h || scale < 0.2 {
            let mut top = area.y + ((area.h - total) / 2.0).max(0.0);
            return blocks
                .into_iter()
                .map(|(buffer, gap, height, color)| {
                    top += gap;
                    let block = TextBlock {
                        buffer,
                        left: area.x,
                        top: top.round(),
                        width: area.w,
                        height,
                        color,
                    };
                    top += height;
                    block
                })
                .collect();
        }
        scale *= (area.h / total).max(0.5) * 0.98;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::CounterText;

    fn portrait(story: &str) -> SlideView {
        SlideView {
            id: "p".into(),
            background: Rgb([0, 0, 0]),
            accent: Rgb([255, 212, 0]),
            content: ViewContent::Portrait {
                image: Some("p.png".into()),
                fit: Fit::Fit,
                name: "Yorm Bopha".into(),
                name_native: Some("យ៉ោម បុប្ផា".into()),
                country: Some("Cambodia".into()),
                story: Some(story.into()),
                quote: None,
                counter: Some(CounterText {
                    value: "89,734".into(),
                    label: "appeals".into(),
                }),
            },
        }
    }

    fn text_rects(l: &SlideLayout) -> Vec<Rect> {
        l.texts
            .iter()
            .map(|t| Rect {
                x: t.left,
                y: t.top,
                w: t.width,
                h: t.height,
            })
            .collect()
    }

    #[test]
    fn portrait_keeps_photo_and_text_apart_inside_the_safe_area() {
        let (mut fonts, _) = Fonts::new(&[], None);
        let l = layout(
            &mut fonts,
            &portrait("housing-rights activist"),
            1920,
            1080,
            true,
        );
        let photo = l.photo.as_ref().unwrap().rect;
        assert!(l.safe.contains(&photo));
        assert_eq!(l.texts.len(), 6);
        for r in text_rects(&l) {
            assert!(l.safe.contains(&r), "{r:?} outside {:?}", l.safe);
            assert!(r.x >= photo.x + photo.w, "text overlaps the photo");
        }
        // Name first and largest.
        let name = &l.texts[0].buffer;
        assert!(
            l.texts[1..]
                .iter()
                .all(|t| t.buffer.metrics().font_size <= name.metrics().font_size
                    || t.color == Rgb([255, 212, 0]))
        );
    }

    #[test]
    fn long_text_shrinks_to_fit() {
        let (mut fonts, _) = Fonts::new(&[], None);
        let long = "a very long story line that goes on and on ".repeat(20);
        let l = layout(&mut fonts, &portrait(&long), 1920, 1080, true);
        for r in text_rects(&l) {
            assert!(l.safe.contains(&r), "{r:?} outside {:?}", l.safe);
        }
    }

    #[test]
    fn missing_photo_gives_text_the_width() {
        let (mut fonts, _) = Fonts::new(&[], None);
        let l = layout(&mut fonts, &portrait("story"), 1920, 1080, false);
        assert!(l.photo.is_none());
        assert_eq!(l.texts[0].left, l.safe.x);
    }

    #[test]
    fn tall_output_stacks_photo_above_text() {
        let (mut fonts, _) = Fonts::new(&[], None);
        let l = layout(&mut fonts, &portrait("story"), 1080, 1920, true);
        let photo = l.photo.as_ref().unwrap().rect;
        for r in text_rects(&l) {
            assert!(r.y >= photo.y + photo.h);
            assert!(l.safe.contains(&r));
        }
    }
}
