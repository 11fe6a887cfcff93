//! `candela check`: everything that can be wrong with a show before it reaches a wall, found
//! in one pass — the file's own problems, then images that will not decode and text that no
//! available font can draw.

use crate::counts::NumberFormat;
use crate::render::photo;
use crate::show::{Problem, Show, SlideContent};
use crate::text::Fonts;
use std::path::Path;

/// Loads `path` and checks all of it. The show is returned when it could be parsed, together
/// with every problem found (none means the show is ready).
pub fn check(path: &Path) -> (Option<Show>, Vec<Problem>) {
    let (show, mut problems) = match Show::load(path) {
        Ok(loaded) => loaded,
        Err(fatal) => return (None, vec![fatal]),
    };
    problems.extend(check_images(&show));
    let (mut fonts, font_problems) = load_fonts(&show);
    problems.extend(font_problems);
    problems.extend(check_glyphs(&show, &mut fonts));
    problems.sort_by_key(|p| p.at);
    (Some(show), problems)
}

/// The fonts a show asks for, and the problems with them as show problems.
pub fn load_fonts(show: &Show) -> (Fonts, Vec<Problem>) {
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
            Problem::new(&show.path, None, m)
                .hint("install the font (fc-list lists installed ones) or add its file under fonts = [...]")
        })
        .collect();
    (fonts, problems)
}

fn check_images(show: &Show) -> Vec<Problem> {
    let mut problems = Vec::new();
    for slide in &show.slides {
        let SlideContent::Portrait(p) = &slide.content else {
            continue;
        };
        // Missing files were reported while loading; here, files that exist but do not decode.
        let Some(image) = p.image.as_ref().filter(|i| i.value.is_file()) else {
            continue;
        };
        if let Err(e) = photo::load(&image.value) {
            problems.push(
                Problem::new(
                    &show.path,
                    Some(image.at),
                    format!("slide {:?}: {e}", slide.id),
                )
                .hint("re-export the photo as JPEG or PNG"),
            );
        }
    }
    problems
}

fn check_glyphs(show: &Show, fonts: &mut Fonts) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |at, what: String, missing: Vec<char>| {
        if missing.is_empty() {
            return;
        }
        let chars: String = missing.iter().collect();
        let codes: Vec<String> = missing
            .iter()
            .map(|c| format!("U+{:04X}", *c as u32))
            .collect();
        problems.push(
            Problem::new(
                &show.path,
                Some(at),
                format!("{what} has characters no available font can draw: {chars:?} ({})", codes.join(", ")),
            )
            .hint("install a font that covers them (on Debian: fonts-noto-core) or add one under fonts = [...]"),
        );
    };
    for slide in &show.slides {
        for (field, text) in slide.texts() {
            let missing = fonts.missing_glyphs(text);
            report(
                slide.at,
                format!("slide {:?} field '{field}'", slide.id),
                missing,
            );
        }
    }
    // Counter labels, and the digits and separators the locale writes numbers with.
    let numbers = NumberFormat::new(&show.locale).ok();
    for counter in &show.counters {
        let value = numbers
            .as_ref()
            .map(|n| n.format(counter.value))
            .unwrap_or_default();
        let missing = fonts.missing_glyphs(&format!("{} {value}", counter.label));
        report(counter.at, format!("counter {:?}", counter.id), missing);
    }
    problems
}
