//! The show file as written on disk (`show.toml`), deserialized with serde.
//!
//! Fields that a later check may need to point at keep their byte span (`Spanned`), so a
//! problem found after parsing (a missing image, an unknown counter) still names a line.

use serde::Deserialize;
use toml::Spanned;

/// How one slide replaces another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransitionKind {
    Cut,
    Crossfade,
    ThroughBlack,
}

/// How a photo fills its box: whole photo visible (`fit`) or box covered, edges cropped (`fill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    #[default]
    Fit,
    Fill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlideKind {
    Portrait,
    Counter,
    Title,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowFile {
    pub title: Option<String>,
    /// Output size as "WIDTHxHEIGHT".
    pub size: Option<Spanned<String>>,
    /// Slide background as "#rrggbb".
    pub background: Option<Spanned<String>>,
    /// Accent colour (country line, counters) as "#rrggbb".
    pub accent: Option<Spanned<String>>,
    /// BCP 47 locale for numbers, e.g. "fr-FR".
    pub locale: Option<Spanned<String>>,
    /// Default seconds each slide is held.
    pub hold: Option<Spanned<f64>>,
    pub transition: Option<TransitionKind>,
    pub transition_seconds: Option<Spanned<f64>>,
    /// Font family used for all text; fallback fonts cover other scripts.
    pub font: Option<Spanned<String>>,
    /// Extra font files to load, relative to the show file.
    #[serde(default)]
    pub fonts: Vec<Spanned<String>>,
    #[serde(default)]
    pub counters: Vec<CounterFile>,
    #[serde(default)]
    pub slides: Vec<SlideFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterFile {
    pub id: Spanned<String>,
    pub label: String,
    #[serde(default)]
    pub value: u64,
}

/// One `[[slides]]` table. All kinds share one flat table so that an unknown key is caught
/// and every missing field can be reported with the slide's line, not just the first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlideFile {
    pub id: Spanned<String>,
    pub kind: Spanned<SlideKind>,
    pub hold: Option<Spanned<f64>>,
    pub transition: Option<TransitionKind>,
    pub transition_seconds: Option<Spanned<f64>>,
    // portrait
    pub image: Option<Spanned<String>>,
    #[serde(default)]
    pub fit: Fit,
    pub name: Option<Spanned<String>>,
    pub name_native: Option<Spanned<String>>,
    pub country: Option<Spanned<String>>,
    pub story: Option<Spanned<String>>,
    pub quote: Option<Spanned<String>>,
    // portrait and counter
    pub counter: Option<Spanned<String>>,
    /// Overrides the counter's own label on this slide.
    pub label: Option<Spanned<String>>,
    // title
    pub title: Option<Spanned<String>>,
    pub subtitle: Option<Spanned<String>>,
}
