//! The show: its file format, loading with paths resolved against the file's folder, and
//! the checks that need nothing but the file itself (ids, references, numbers, fields).
//!
//! Loading never stops at the first problem it can survive: it returns a usable [`Show`]
//! together with every [`Problem`] found, so `check` can list them all and `render` can still
//! draw what is there. Only a file that cannot be read or parsed is fatal.

mod builder;
mod cues;
mod dmx;
mod feeds;
mod model;
mod outputs;
mod problem;
mod projectors;
mod schedule;
mod web;

pub use cues::{Action, Cue, MapEntry, OscSettings};
pub use dmx::{DmxSettings, FIXED_CHANNELS as DMX_FIXED_CHANNELS, MAX_DMX_COUNTERS, OnLoss};
pub use feeds::{FileSource, Header, HttpSource};
pub use model::{Fit, TransitionKind};
pub use outputs::{
    Blend, BlendField, BlendProblem, DEFAULT_OUTPUT, IDENTITY_CORNERS, Output, Region, valid_name,
};
pub use problem::{Locator, Problem};
pub use projectors::{BlackoutMode, PJLINK_PORT, Password, PjlinkSettings, Projector};
pub use schedule::{Schedule, date as schedule_date};
pub use web::{MIN_PIN, WebSettings};

use builder::Builder;
use model::ShowFile;
use serde::Serialize;
use std::path::{Path, PathBuf};

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
    pub web: WebSettings,
    /// None: DMX is not listened for.
    pub dmx: Option<DmxSettings>,
    /// The projectors; always at least one.
    pub outputs: Vec<Output>,
    /// Polygons kept black, in canvas pixels.
    pub masks: Vec<crate::geometry::Mask>,
    /// The hours the show may run; None runs it whenever candela plays.
    pub schedule: Option<Schedule>,
    /// The projectors controlled over PJLink, each with its output.
    pub projectors: Vec<Projector>,
    pub pjlink: PjlinkSettings,
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
    /// The desk's select-channel value for it (`dmx = N`).
    pub dmx: Option<u8>,
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
