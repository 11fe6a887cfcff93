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
    checked(Show::load(path))
}

/// Like [`check`], for the show file `file` already read as `source` (the watcher checks
/// exactly the bytes it read, not what the file holds a moment later).
pub fn check_source(file: &Path, source: &str) -> (Option<Show>, Vec<Problem>) {
    checked(Show::parse(file, source))
}

fn checked(loaded: Result<(Show, Vec<Problem>), Problem>) -> (Option<Show>, Vec<Problem>) {
    let (show, mut problems) = match loaded {
        Ok(loaded) => loaded,
        Err(fatal) => return (None, vec![fatal]),
    };
    problems.extend(check_images(&show));
    problems.extend(check_passwords(&show));
    let (mut fonts, font_problems) = crate::text::load_fonts(&show);
    problems.extend(font_problems);
    problems.extend(check_glyphs(&show, &mut fonts));
    problems.sort_by_key(|p| p.at);
    (Some(show), problems)
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

/// Missing password files were reported while loading; here, the variables not set for
/// this run.
fn check_passwords(show: &Show) -> Vec<Problem> {
    show.projectors
        .iter()
        .filter(|p| matches!(p.password, crate::show::Password::Env(_)))
        .filter_map(|p| {
            let why = p.read_password().err()?;
            Some(
                Problem::new(
                    &show.path,
                    Some(p.at),
                    format!("projector {}: {why}", p.host),
                )
                .hint("export it before starting candela, e.g. in the service's environment"),
            )
        })
        .collect()
}

/// The Debian package whose fonts draw `c`: Noto CJK for Chinese, Japanese and Korean, the
/// colour emoji font for emoji, and Noto's core set (then its extra one) for other scripts.
fn debian_package(c: char) -> &'static str {
    match c as u32 {
        0x1100..=0x11FF
        | 0x2E80..=0x2FDF
        | 0x3000..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3134F => "fonts-noto-cjk",
        0x1F000..=0x1FAFF | 0x2600..=0x27BF => "fonts-noto-color-emoji",
        _ => "fonts-noto-core, else fonts-noto-extra",
    }
}

/// The packages for `missing`, each once, in the order first needed.
fn packages_for(missing: &[char]) -> Vec<&'static str> {
    let mut packages = Vec::new();
    for p in missing.iter().map(|c| debian_package(*c)) {
        if !packages.contains(&p) {
            packages.push(p);
        }
    }
    packages
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
                format!(
                    "{what} has characters no available font can draw: {chars:?} ({})",
                    codes.join(", ")
                ),
            )
            .hint(format!(
                "install a font that covers them (on Debian: {}) or add one under fonts = [...]",
                packages_for(&missing).join(", ")
            )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_package_for_each_script() {
        assert_eq!(packages_for(&['鄭', '淑', '貞']), ["fonts-noto-cjk"]);
        assert_eq!(packages_for(&['한', 'か']), ["fonts-noto-cjk"]);
        assert_eq!(
            packages_for(&['ក', '鄭', '\u{1F600}']),
            [
                "fonts-noto-core, else fonts-noto-extra",
                "fonts-noto-cjk",
                "fonts-noto-color-emoji"
            ]
        );
    }
}
