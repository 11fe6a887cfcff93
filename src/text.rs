//! Fonts and shaping on the CPU: which fonts the show can use, and whether a text can be
//! drawn with them. The renderer lays text out with the same [`Fonts`], so what `check`
//! accepts is what the wall shows.

use glyphon::cosmic_text::{
    Align, Attrs, Buffer, Family, FontSystem, Metrics, Shaping, Style, Weight,
};
use std::path::Path;

/// The font family used when the show names none and it is installed; it and its per-script
/// siblings (Noto Sans Khmer, Noto Sans Arabic, ...) cover every case in the default show.
pub const PREFERRED_FAMILY: &str = "Noto Sans";

pub struct Fonts {
    pub system: FontSystem,
    /// None means the system's generic sans-serif.
    family: Option<String>,
}

/// How one run of text is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Font size in output pixels.
    pub size: f32,
    pub bold: bool,
    pub italic: bool,
    pub align: Align,
}

impl Fonts {
    /// System fonts, plus `extra` font files; `family` picks the main family when installed.
    /// Returns the fonts and a message for each file or family that could not be used.
    pub fn new(extra: &[&Path], family: Option<&str>) -> (Fonts, Vec<String>) {
        let mut system = FontSystem::new();
        let mut problems = Vec::new();
        for path in extra {
            if let Err(e) = system.db_mut().load_font_file(path) {
                problems.push(format!("cannot load font file {}: {e}", path.display()));
            }
        }
        let installed = |system: &FontSystem, name: &str| {
            system
                .db()
                .faces()
                .any(|f| f.families.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
        };
        let family = match family {
            Some(name) if installed(&system, name) => Some(name.to_string()),
            Some(name) => {
                problems.push(format!(
                    "font family {name:?} is not installed nor in the show's font files"
                ));
                None
            }
            None => installed(&system, PREFERRED_FAMILY).then(|| PREFERRED_FAMILY.to_string()),
        };
        (Fonts { system, family }, problems)
    }

    fn attrs(&self, style: &TextStyle) -> Attrs<'_> {
        let family = match &self.family {
            Some(name) => Family::Name(name),
            None => Family::SansSerif,
        };
        let mut attrs = Attrs::new().family(family);
        if style.bold {
            attrs = attrs.weight(Weight::BOLD);
        }
        if style.italic {
            attrs = attrs.style(Style::Italic);
        }
        attrs
    }

    /// Shapes `text` into a buffer wrapped at `width` pixels.
    pub fn shape(&mut self, text: &str, style: &TextStyle, width: f32) -> Buffer {
        let metrics = Metrics::new(style.size, (style.size * 1.25).ceil());
        let mut buffer = Buffer::new(&mut self.system, metrics);
        buffer.set_size(Some(width), None);
        let attrs = self.attrs(style);
        buffer.set_text(text, &attrs, Shaping::Advanced, Some(style.align));
        buffer.shape_until_scroll(&mut self.system, false);
        buffer
    }

    /// The characters of `text` that no available font can draw, each once, in order.
    pub fn missing_glyphs(&mut self, text: &str) -> Vec<char> {
        let style = TextStyle {
            size: 32.0,
            bold: false,
            italic: false,
            align: Align::Left,
        };
        let buffer = self.shape(text, &style, f32::MAX);
        let mut missing = Vec::new();
        for run in buffer.layout_runs() {
            for g in run.glyphs.iter().filter(|g| g.glyph_id == 0) {
                for c in run.text[g.start..g.end].chars() {
                    if !c.is_whitespace() && !c.is_control() && !missing.contains(&c) {
                        missing.push(c);
                    }
                }
            }
        }
        missing
    }
}

/// The fonts a show asks for, and the problems with them as show problems.
pub fn load_fonts(show: &crate::show::Show) -> (Fonts, Vec<crate::show::Problem>) {
    let files: Vec<&Path> = show
        .fonts
        .iter()
        .map(|f| f.value.as_path())
        .filter(|p| p.is_file())
        .collect();
    let (fonts, messages) = Fonts::new(&files, show.font.as_deref());
    let problems = messages
        .into_iter()
        .map(|m| {
            crate::show::Problem::new(&show.path, None, m)
                .hint("install the font (fc-list lists installed ones) or add its file under fonts = [...]")
        })
        .collect();
    (fonts, problems)
}

/// Height in pixels of a shaped buffer: its lines stacked.
pub fn height(buffer: &Buffer) -> f32 {
    buffer.layout_runs().map(|r| r.line_height).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_is_laid_out_right_to_left() {
        let (mut fonts, _) = Fonts::new(&[], None);
        let style = TextStyle {
            size: 40.0,
            bold: false,
            italic: false,
            align: Align::Left,
        };
        let text = "النبي صالح";
        let buffer = fonts.shape(text, &style, 2000.0);
        let run = buffer.layout_runs().next().unwrap();
        assert!(run.rtl, "an Arabic paragraph runs right to left");
        // The first letter in reading order must be the rightmost glyph on the line.
        let first = run.glyphs.iter().find(|g| g.start == 0).unwrap();
        let rightmost = run.glyphs.iter().map(|g| g.x).fold(f32::MIN, f32::max);
        assert_eq!(first.x, rightmost);
        let last = run.glyphs.iter().max_by_key(|g| g.start).unwrap();
        let leftmost = run.glyphs.iter().map(|g| g.x).fold(f32::MAX, f32::min);
        assert_eq!(last.x, leftmost);
    }

    #[test]
    fn reports_characters_no_font_has() {
        let (mut fonts, _) = Fonts::new(&[], None);
        // U+E000 is in the Private Use Area: no installed font draws it.
        assert_eq!(
            fonts.missing_glyphs("Yorm \u{E000} Bopha"),
            vec!['\u{E000}']
        );
        assert!(fonts.missing_glyphs("Yorm Bopha").is_empty());
    }

    #[test]
    fn unknown_family_is_reported() {
        let (_, problems) = Fonts::new(&[], Some("No Such Family 123"));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("No Such Family 123"));
    }
}
