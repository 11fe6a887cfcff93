//! The show: its file format, loading with paths resolved against the file's folder, and
//! the checks that need nothing but the file itself (ids, references, numbers, fields).
//!
//! Loading never stops at the first problem it can survive: it returns a usable [`Show`]
//! together with every [`Problem`] found, so `check` can list them all and `render` can still
//! draw what is there. Only a file that cannot be read or parsed is fatal.

mod cues;
mod feeds;
mod model;
mod outputs;
mod problem;

pub use cues::{Action, Cue, MapEntry, OscSettings};
pub use feeds::{FileSource, Header, HttpSource};
pub use model::{Fit, TransitionKind};
pub use outputs::{Blend, DEFAULT_OUTPUT, IDENTITY_CORNERS, Output, Region};
pub use problem::{Locator, Problem};

use model::{ShowFile, SlideFile, SlideKind};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The show file looked for when a folder is given.
pub const SHOW_FILE: &str = "show.toml";

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// Parses "#rrggbb".
    pub fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

/// Output size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const MAX_SIDE: u32 = 16384;

    /// Parses "1920x1080"; each side from 16 to [`Size::MAX_SIDE`].
    pub fn parse(s: &str) -> Option<Size> {
        let (w, h) = s.trim().split_once(['x', 'X'])?;
        let side = |v: &str| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (16..=Self::MAX_SIDE).contains(n))
        };
        Some(Size {
            width: side(w)?,
            height: side(h)?,
        })
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transition {
    pub kind: TransitionKind,
    pub seconds: f64,
}

#[derive(Debug, Clone)]
pub struct Show {
    /// The show file itself; problems found later (images, glyphs) name it.
    pub path: PathBuf,
    pub title: String,
    pub size: Size,
    pub background: Rgb,
    pub accent: Rgb,
    pub locale: String,
    pub hold: f64,
    pub count_up_seconds: f64,
    pub transition: Transition,
    pub font: Option<String>,
    pub fonts: Vec<Located<PathBuf>>,
    pub counters: Vec<Counter>,
    pub slides: Vec<Slide>,
    pub cues: Vec<Cue>,
    pub osc: OscSettings,
    /// The projectors; always at least one.
    pub outputs: Vec<Output>,
    /// Polygons kept black, in canvas pixels.
    pub masks: Vec<crate::geometry::Mask>,
}

/// A value with the place in the show file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub at: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub id: String,
    /// Where the counter's id is written.
    pub at: (usize, usize),
    pub label: String,
    pub value: u64,
    /// For a total: the counters it adds up.
    pub sum: Vec<String>,
    pub http: Option<HttpSource>,
    pub file: Option<FileSource>,
    /// Seconds without a good reading from its feed before it is reported stale.
    pub stale_after: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slide {
    pub id: String,
    /// Where the slide's id is written.
    pub at: (usize, usize),
    pub hold: Option<f64>,
    pub transition: Option<TransitionKind>,
    pub transition_seconds: Option<f64>,
    /// Written right before and after the slide's number, if it shows one.
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub content: SlideContent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SlideContent {
    Portrait(Portrait),
    Counter {
        counter: String,
        label: Option<String>,
    },
    Title {
        title: String,
        subtitle: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Portrait {
    pub image: Option<Located<PathBuf>>,
    pub fit: Fit,
    pub name: String,
    pub name_native: Option<String>,
    pub country: Option<String>,
    pub story: Option<String>,
    pub quote: Option<String>,
    pub counter: Option<String>,
    pub label: Option<String>,
}

impl Slide {
    /// Every piece of text the slide shows by itself, with the field it comes from.
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        let mut fields: Vec<(&'static str, Option<&String>)> = match &self.content {
            SlideContent::Portrait(p) => vec![
                ("name", Some(&p.name)),
                ("name_native", p.name_native.as_ref()),
                ("country", p.country.as_ref()),
                ("story", p.story.as_ref()),
                ("quote", p.quote.as_ref()),
                ("label", p.label.as_ref()),
            ],
            SlideContent::Counter { label, .. } => vec![("label", label.as_ref())],
            SlideContent::Title { title, subtitle } => {
                vec![("title", Some(title)), ("subtitle", subtitle.as_ref())]
            }
        };
        fields.extend([
            ("prefix", self.prefix.as_ref()),
            ("suffix", self.suffix.as_ref()),
        ]);
        fields
            .into_iter()
            .filter_map(|(field, text)| Some((field, text?.as_str())))
            .collect()
    }
}

impl Show {
    /// Seconds this slide is held before the show moves on.
    pub fn hold_of(&self, slide: &Slide) -> f64 {
        slide.hold.unwrap_or(self.hold)
    }

    /// The transition used when arriving at `slide`.
    pub fn transition_into(&self, slide: &Slide) -> Transition {
        Transition {
            kind: slide.transition.unwrap_or(self.transition.kind),
            seconds: slide.transition_seconds.unwrap_or(self.transition.seconds),
        }
    }

    pub fn counter(&self, id: &str) -> Option<&Counter> {
        self.counters.iter().find(|c| c.id == id)
    }

    /// Finds a slide by id, or by 1-based position as an operator counts ("3" is the third).
    pub fn find_slide(&self, key: &str) -> Option<usize> {
        if let Some(i) = self.slides.iter().position(|s| s.id == key) {
            return Some(i);
        }
        match key.parse::<usize>() {
            Ok(n) if (1..=self.slides.len()).contains(&n) => Some(n - 1),
            _ => None,
        }
    }

    /// Reads and checks a show. `path` is a show file or a folder holding `show.toml`.
    /// Returns the show with every problem it could survive, or the one it could not.
    pub fn load(path: &Path) -> Result<(Show, Vec<Problem>), Problem> {
        let file = if path.is_dir() {
            path.join(SHOW_FILE)
        } else {
            path.to_path_buf()
        };
        let source = std::fs::read_to_string(&file).map_err(|e| {
            Problem::new(&file, None, format!("cannot read the show file: {e}"))
                .hint("pass the path of a show.toml, or of a folder holding one")
        })?;
        Show::parse(&file, &source)
    }

    /// Like [`Show::load`], from text already read; `file` is used for messages and paths.
    pub fn parse(file: &Path, source: &str) -> Result<(Show, Vec<Problem>), Problem> {
        let locator = Locator::new(source);
        let raw: ShowFile = toml::from_str(source).map_err(|e| {
            let at = e.span().map(|s| locator.line_col(s));
            Problem::new(file, at, e.message().trim().to_string())
                .hint("fix the show file's syntax; README.md describes every field")
        })?;
        let mut builder = Builder {
            file,
            dir: file.parent().unwrap_or(Path::new(".")).to_path_buf(),
            locator,
            problems: Vec::new(),
        };
        let show = builder.show(raw);
        Ok((show, builder.problems))
    }
}

pub(crate) struct Builder<'a> {
    file: &'a Path,
    dir: PathBuf,
    locator: Locator<'a>,
    problems: Vec<Problem>,
}

impl Builder<'_> {
    fn at<T>(&self, v: &Spanned<T>) -> (usize, usize) {
        self.locator.line_col(v.span())
    }

    pub(crate) fn problem<T>(&mut self, v: &Spanned<T>, message: String, hint: &str) {
        let at = self.at(v);
        self.problems
            .push(Problem::new(self.file, Some(at), message).hint(hint));
    }

    fn resolve(&self, v: &Spanned<String>) -> Located<PathBuf> {
        Located {
            value: self.dir.join(v.get_ref()),
            at: self.at(v),
        }
    }

    fn seconds(&mut self, v: Option<Spanned<f64>>, what: &str, allow_zero: bool) -> Option<f64> {
        let v = v?;
        let s = *v.get_ref();
        let ok = s.is_finite() && (s > 0.0 || (allow_zero && s == 0.0));
        if ok {
            return Some(s);
        }
        let bound = if allow_zero {
            "0 or more"
        } else {
            "more than 0"
        };
        self.problem(
            &v,
            format!("{what} must be {bound} seconds, not {s}"),
            "write a number of seconds such as 8 or 1.5",
        );
        None
    }

    fn colour(&mut self, v: Option<Spanned<String>>, what: &str, default: Rgb) -> Rgb {
        let Some(v) = v else { return default };
        Rgb::parse(v.get_ref()).unwrap_or_else(|| {
            let msg = format!("{what} {:?} is not a colour", v.get_ref());
            self.problem(&v, msg, "write it as \"#rrggbb\", e.g. \"#101820\"");
            default
        })
    }

    fn show(&mut self, raw: ShowFile) -> Show {
        let size = match raw.size {
            None => Size {
                width: 1920,
                height: 1080,
            },
            Some(v) => Size::parse(v.get_ref()).unwrap_or_else(|| {
                let msg = format!("size {:?} is not a WIDTHxHEIGHT output size", v.get_ref());
                let hint = format!(
                    "write e.g. \"1920x1080\"; each side from 16 to {}",
                    Size::MAX_SIDE
                );
                self.problem(&v, msg, &hint);
                Size {
                    width: 1920,
                    height: 1080,
                }
            }),
        };
        let locale = match raw.locale {
            None => "en-GB".to_string(),
            Some(v) => {
                // A tag is all the show file is checked for; counts::NumberFormat falls back
                // through CLDR's parents for any valid one.
                if v.get_ref().parse::<icu_locale_core::Locale>().is_err() {
                    let msg = format!("locale {:?} is not a known locale", v.get_ref());
                    self.problem(&v, msg, "write a BCP 47 tag such as \"fr-FR\" or \"en-GB\"");
                }
                v.into_inner()
            }
        };
        let hold = self.seconds(raw.hold, "hold", false).unwrap_or(10.0);
        let count_up_seconds = self
            .seconds(raw.count_up_seconds, "count_up_seconds", true)
            .unwrap_or(2.0);
        let transition = Transition {
            kind: raw.transition.unwrap_or(TransitionKind::Crossfade),
            seconds: self
                .seconds(raw.transition_seconds, "transition_seconds", true)
                .unwrap_or(1.0),
        };
        let fonts = raw
            .fonts
            .iter()
            .map(|f| self.resolve(f))
            .collect::<Vec<_>>();
        for (f, raw_f) in fonts.iter().zip(&raw.fonts) {
            if !f.value.is_file() {
                let msg = format!("font file {} not found", f.value.display());
                self.problem(raw_f, msg, "fix the path; it is relative to the show file");
            }
        }

        let mut seen = HashSet::new();
        let mut counters = Vec::new();
        let mut sums = Vec::new();
        for c in raw.counters {
            if !self.fresh_id(&c.id, &mut seen, "counter") {
                continue;
            }
            if !c.sum.is_empty() && (c.http.is_some() || c.file.is_some()) {
                let msg = format!("counter {:?} is a total and has a feed", c.id.get_ref());
                self.problem(
                    &c.id,
                    msg,
                    "a total follows its parts: give the feed to a part",
                );
            }
            let id = c.id.get_ref().clone();
            counters.push(Counter {
                at: self.at(&c.id),
                http: c.http.as_ref().and_then(|h| self.http_feed(&id, h)),
                file: c.file.as_ref().map(|f| self.file_feed(&id, f)),
                stale_after: self
                    .seconds(c.stale_after, "stale_after", false)
                    .unwrap_or(300.0),
                id,
                label: c.label,
                value: c.value,
                sum: c.sum.iter().map(|p| p.get_ref().clone()).collect(),
            });
            sums.push(c.sum);
        }
        self.check_sums(&counters, &sums);

        let mut seen = HashSet::new();
        let mut slides = Vec::new();
        for s in raw.slides {
            let known_id = self.fresh_id(&s.id, &mut seen, "slide");
            // A slide with a taken id is still checked, so all its problems are listed.
            if let Some(slide) = self.slide(s, &counters)
                && known_id
            {
                slides.push(slide);
            }
        }
        let cues = self.cues(raw.cues, &slides);
        let osc = self.osc(raw.osc, &slides, &cues);
        let outputs = self.outputs(raw.outputs, size);
        let masks = self.masks(raw.masks);
        if slides.is_empty() {
            self.problems.push(
                Problem::new(self.file, None, "the show has no slides")
                    .hint("add at least one [[slides]] table"),
            );
        }

        Show {
            path: self.file.to_path_buf(),
            title: raw.title.unwrap_or_else(|| "candela".to_string()),
            size,
            background: self.colour(raw.background, "background", Rgb([0x10, 0x10, 0x10])),
            accent: self.colour(raw.accent, "accent", Rgb([0xff, 0xd4, 0x00])),
            locale,
            hold,
            count_up_seconds,
            transition,
            font: raw.font.map(Spanned::into_inner),
            fonts,
            counters,
            slides,
            cues,
            osc,
            outputs,
            masks,
        }
    }

    fn http_feed(&mut self, counter: &str, h: &Spanned<model::HttpFeedFile>) -> Option<HttpSource> {
        let f = h.get_ref();
        let mut ok = true;
        if !(f.url.starts_with("http://") || f.url.starts_with("https://")) {
            self.problem(
                h,
                format!(
                    "counter {counter:?}: feed url {:?} is not http:// or https://",
                    f.url
                ),
                "write the full address of the JSON",
            );
            ok = false;
        }
        if !(f.pointer.is_empty() || f.pointer.starts_with('/')) {
            self.problem(
                h,
                format!(
                    "counter {counter:?}: pointer {:?} is not a JSON pointer",
                    f.pointer
                ),
                "write it like \"/cases/yorm-bopha/letters\"",
            );
            ok = false;
        }
        let secs = |v: Option<f64>, default: f64| {
            v.and_then(|s| Duration::try_from_secs_f64(s).ok())
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs_f64(default))
        };
        ok.then(|| HttpSource {
            counter: counter.to_string(),
            url: f.url.clone(),
            pointer: f.pointer.clone(),
            interval: secs(f.interval, 10.0),
            timeout: secs(f.timeout, 5.0),
            header: f.header.as_ref().map(|h| Header {
                name: h.name.clone(),
                env: h.env.clone(),
            }),
        })
    }

    fn file_feed(&mut self, counter: &str, f: &Spanned<model::FileFeedFile>) -> FileSource {
        let path = self.dir.join(&f.get_ref().path);
        if !path.is_file() {
            let msg = format!(
                "counter {counter:?}: feed file {} not found (yet)",
                path.display()
            );
            self.problem(
                f,
                msg,
                "the count stays at its last value until the file appears",
            );
        }
        FileSource {
            counter: counter.to_string(),
            path,
            pointer: f.get_ref().pointer.clone(),
        }
    }

    /// A total adds up counters that exist and are not totals themselves.
    fn check_sums(&mut self, counters: &[Counter], sums: &[Vec<Spanned<String>>]) {
        for (counter, parts) in counters.iter().zip(sums) {
            for part in parts {
                let target = counters.iter().find(|c| c.id == *part.get_ref());
                let problem = match target {
                    None => format!(
                        "counter {:?} adds up {:?}, which is not defined",
                        counter.id,
                        part.get_ref()
                    ),
                    Some(t) if !t.sum.is_empty() => {
                        format!(
                            "counter {:?} adds up {:?}, which is itself a total",
                            counter.id, t.id
                        )
                    }
                    Some(_) => continue,
                };
                self.problem(part, problem, "list counters that have their own values");
            }
        }
    }

    /// Records the id, reporting it if it is empty or taken. False when it cannot be used.
    fn fresh_id(&mut self, id: &Spanned<String>, seen: &mut HashSet<String>, what: &str) -> bool {
        let text = id.get_ref();
        if text.trim().is_empty() {
            self.problem(
                id,
                format!("{what} id is empty"),
                "give it a short unique id",
            );
            return false;
        }
        if !seen.insert(text.clone()) {
            self.problem(
                id,
                format!("duplicate {what} id {text:?}"),
                "ids must be unique: rename one of them",
            );
            return false;
        }
        if what == "slide" && text.parse::<u64>().is_ok() {
            self.problem(
                id,
                format!("slide id {text:?} is a number"),
                "numbers select slides by position; use a name such as \"intro\"",
            );
        }
        true
    }

    /// Builds one slide, reporting missing and misplaced fields. None when it cannot be shown.
    fn slide(&mut self, s: SlideFile, counters: &[Counter]) -> Option<Slide> {
        let id = s.id.get_ref().clone();
        let kind = *s.kind.get_ref();
        let kind_name = match kind {
            SlideKind::Portrait => "portrait",
            SlideKind::Counter => "counter",
            SlideKind::Title => "title",
        };
        let fields: [(&str, bool, bool); 13] = [
            // (field, present, used by this kind)
            ("image", s.image.is_some(), kind == SlideKind::Portrait),
            ("name", s.name.is_some(), kind == SlideKind::Portrait),
            (
                "name_native",
                s.name_native.is_some(),
                kind == SlideKind::Portrait,
            ),
            ("country", s.country.is_some(), kind == SlideKind::Portrait),
            ("story", s.story.is_some(), kind == SlideKind::Portrait),
            ("quote", s.quote.is_some(), kind == SlideKind::Portrait),
            ("counter", s.counter.is_some(), kind != SlideKind::Title),
            ("label", s.label.is_some(), kind != SlideKind::Title),
            ("prefix", s.prefix.is_some(), kind != SlideKind::Title),
            ("suffix", s.suffix.is_some(), kind != SlideKind::Title),
            ("title", s.title.is_some(), kind == SlideKind::Title),
            ("subtitle", s.subtitle.is_some(), kind == SlideKind::Title),
            ("fit", s.fit != Fit::Fit, kind == SlideKind::Portrait),
        ];
        for (field, present, used) in fields {
            if present && !used {
                self.problem(
                    &s.kind,
                    format!("slide {id:?}: field '{field}' is not used by {kind_name} slides"),
                    "remove it, or change the slide's kind",
                );
            }
        }
        let required: &[(&str, bool)] = match kind {
            SlideKind::Portrait => &[("name", s.name.is_some()), ("image", s.image.is_some())],
            SlideKind::Counter => &[("counter", s.counter.is_some())],
            SlideKind::Title => &[("title", s.title.is_some())],
        };
        for (field, present) in required {
            if !present {
                self.problem(
                    &s.kind,
                    format!("slide {id:?}: {kind_name} slides need a '{field}'"),
                    &format!("add {field} = \"...\" to this slide"),
                );
            }
        }
        if let Some(c) = &s.counter
            && !counters.iter().any(|k| &k.id == c.get_ref())
        {
            let msg = format!(
                "slide {id:?} shows counter {:?}, which is not defined",
                c.get_ref()
            );
            self.problem(
                c,
                msg,
                "add a [[counters]] table with that id, or fix the name",
            );
        }
        let image = s.image.as_ref().map(|v| self.resolve(v));
        if let (Some(img), Some(raw)) = (&image, &s.image)
            && !img.value.is_file()
        {
            let msg = format!("slide {id:?}: image file {} not found", img.value.display());
            self.problem(raw, msg, "fix the path; it is relative to the show file");
        }
        let hold = self.seconds(s.hold, "hold", false);
        let transition_seconds = self.seconds(s.transition_seconds, "transition_seconds", true);
        let text = |v: Option<Spanned<String>>| v.map(Spanned::into_inner);
        let content = match kind {
            SlideKind::Portrait => SlideContent::Portrait(Portrait {
                image,
                fit: s.fit,
                // A portrait with no name is still shown, so the photo is not lost.
                name: text(s.name).unwrap_or_default(),
                name_native: text(s.name_native),
                country: text(s.country),
                story: text(s.story),
                quote: text(s.quote),
                counter: text(s.counter),
                label: text(s.label),
            }),
            SlideKind::Counter => SlideContent::Counter {
                counter: text(s.counter)?,
                label: text(s.label),
            },
            SlideKind::Title => SlideContent::Title {
                title: text(s.title)?,
                subtitle: text(s.subtitle),
            },
        };
        Some(Slide {
            id,
            at: self.at(&s.id),
            hold,
            transition: s.transition,
            transition_seconds,
            prefix: s.prefix.map(Spanned::into_inner),
            suffix: s.suffix.map(Spanned::into_inner),
            content,
        })
    }
}
