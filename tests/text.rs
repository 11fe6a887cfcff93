//! Names in their own scripts: every text of the default show can be drawn.

use candela::show::Show;
use candela::text::Fonts;
use std::path::Path;

#[test]
fn every_text_in_the_default_show_has_its_glyphs() {
    let (show, problems) =
        Show::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("slides")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let (mut fonts, font_problems) = Fonts::new(&[], show.font.as_deref());
    assert!(font_problems.is_empty(), "{font_problems:?}");
    let mut scripts_seen = 0;
    for slide in &show.slides {
        for (field, text) in slide.texts() {
            let missing = fonts.missing_glyphs(text);
            assert!(
                missing.is_empty(),
                "slide {} field {field}: no glyph for {missing:?}",
                slide.id
            );
            if field == "name_native" {
                scripts_seen += 1;
            }
        }
    }
    // Khmer, Cyrillic (Russian, Belarusian), Latin with accents, Turkish, Arabic.
    assert_eq!(scripts_seen, 6);
}

#[test]
fn chinese_names_can_be_drawn_and_check_accepts_them() {
    // A sample in Han characters, as a supporter's name from Taiwan would be written.
    let (mut fonts, _) = Fonts::new(&[], Some("Noto Sans"));
    assert_eq!(fonts.missing_glyphs("鄭淑貞"), Vec::<char>::new());
    let src =
        "[[slides]]\nid = \"judy\"\nkind = \"title\"\ntitle = \"鄭淑貞\"\nsubtitle = \"台灣\"\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("show.toml"), src).unwrap();
    let (show, problems) = candela::check::check(dir.path());
    assert!(show.is_some());
    assert!(problems.is_empty(), "{problems:?}");
}
