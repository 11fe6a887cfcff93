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
    /// Seconds a rising count takes to count up to its new value (default 2; 0 jumps).
    pub count_up_seconds: Option<Spanned<f64>>,
    #[serde(default)]
    pub counters: Vec<CounterFile>,
    #[serde(default)]
    pub slides: Vec<SlideFile>,
    #[serde(default)]
    pub cues: Vec<CueFile>,
    pub osc: Option<OscFile>,
    pub web: Option<WebFile>,
    /// candela as a fixture on a lighting desk, over sACN and Art-Net.
    pub dmx: Option<super::dmx::DmxFile>,
    /// The projectors; none means one output, `main`, showing the whole canvas.
    #[serde(default)]
    pub outputs: Vec<OutputFile>,
    /// Black polygons in canvas pixels: windows, doors, whatever must stay dark.
    #[serde(default)]
    pub masks: Vec<MaskFile>,
    /// The hours the show may run.
    pub schedule: Option<super::schedule::ScheduleFile>,
    /// The projectors of a show without `[[outputs]]`, for its one output.
    #[serde(default)]
    pub projectors: Vec<super::projectors::ProjectorFile>,
    /// What a blackout does to the projectors, and how they are polled.
    pub pjlink: Option<super::projectors::PjlinkFile>,
}

/// A monitor as written: its name (or part of it), or its number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MonitorFile {
    Name(String),
    Number(i64),
}

/// One `[[outputs]]` table: a projector.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    pub name: Spanned<String>,
    pub monitor: Option<Spanned<MonitorFile>>,
    /// The part of the canvas it shows: x, y, width, height in canvas pixels.
    pub region: Option<Spanned<[f64; 4]>>,
    /// The projector's resolution, for rendering it offscreen (default: the region's size).
    pub size: Option<Spanned<String>>,
    /// Where the region's corners land, in normalized output coordinates, clockwise from
    /// the top left.
    pub corners: Option<Spanned<Vec<[f64; 2]>>>,
    /// The part of the output image that may light up: left, top, right, bottom, normalized.
    pub crop: Option<Spanned<[f64; 4]>>,
    pub mesh: Option<Spanned<MeshFile>>,
    pub blend: Option<Spanned<BlendFile>>,
    /// The projector or projectors showing it, controlled over PJLink.
    #[serde(default)]
    pub projectors: Vec<super::projectors::ProjectorFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshFile {
    pub cols: usize,
    pub rows: usize,
    #[serde(default)]
    pub linear: bool,
    /// Row by row, in the corner pin's unit square; default: the regular grid.
    pub points: Option<Vec<[f64; 2]>>,
}

/// A gamma for all three channels, or one each for red, green and blue.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum GammaFile {
    All(f64),
    Each([f64; 3]),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendFile {
    /// Overlap widths in canvas pixels, at each edge of the output's region.
    pub left: Option<f64>,
    pub top: Option<f64>,
    pub right: Option<f64>,
    pub bottom: Option<f64>,
    /// The curve's exponent p (default 2).
    pub exponent: Option<f64>,
    /// The curve's level at the middle of the overlap (default 0.5).
    pub centre: Option<f64>,
    /// The projector's gamma (default 2.2).
    pub gamma: Option<GammaFile>,
    /// Code value added outside the overlap, so the overlap's doubled black does not show.
    pub black_level: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskFile {
    /// The polygon, in canvas pixels.
    pub points: Spanned<Vec<[f64; 2]>>,
    /// Pixels over which the mask's edge fades (default 0, a hard edge).
    pub feather: Option<Spanned<f64>>,
    /// Black outside the polygon instead of inside it.
    #[serde(default)]
    pub invert: bool,
}

/// A cue number as written: desks number cues "12.5" or "1.10", so they must stay text;
/// a whole number is accepted too, a float is refused (1.10 would become 1.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CueNumber {
    Text(String),
    Whole(i64),
    Float(f64),
}

/// One thing a cue does: exactly one verb, and a fade for the verbs that take one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFile {
    pub goto: Option<String>,
    pub next: Option<bool>,
    pub previous: Option<bool>,
    pub blackout: Option<bool>,
    pub restore: Option<bool>,
    pub master: Option<f32>,
    pub pause: Option<bool>,
    pub resume: Option<bool>,
    /// Seconds every slide is held from now on.
    pub hold: Option<f64>,
    pub test_pattern: Option<bool>,
    /// Seconds, for goto, next, previous, blackout, restore and master.
    pub fade: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueFile {
    pub number: Spanned<CueNumber>,
    /// The desk's cue list, when cues of several lists share numbers.
    pub list: Option<Spanned<CueNumber>>,
    /// The cue's name on the desk (grandMA3 sends names, not numbers).
    pub name: Option<String>,
    pub actions: Vec<Spanned<ActionFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OscFile {
    /// Prefix of candela's own addresses (default "/candela").
    pub prefix: Option<Spanned<String>>,
    /// Who may cue the show: addresses and networks ("192.168.1.0/24"). Default: anyone.
    pub allow: Option<Vec<Spanned<String>>>,
    /// The same trigger again within this many milliseconds fires once (default 100).
    pub debounce_ms: Option<u64>,
    pub eos: Option<bool>,
    pub gma3: Option<bool>,
    /// The prefix a grandMA3 puts before its addresses, if one is set on the desk.
    pub gma3_prefix: Option<String>,
    pub hog4: Option<bool>,
    /// Geometry edits (warp, mesh, mask, blend, setup steps) from allowed senders at any
    /// time, not only while aligning at the laptop (default false).
    pub geometry_any_time: Option<bool>,
    #[serde(default)]
    pub map: Vec<MapFile>,
    #[serde(default)]
    pub feedback: Vec<FeedbackFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebFile {
    /// The PIN that allows control from the web page and the API.
    pub pin: Option<Spanned<String>>,
    /// A PIN needed to view, when viewing should not be open to everyone.
    pub view_pin: Option<Spanned<String>>,
    /// Who may connect: addresses and networks. Default: anyone.
    pub allow: Option<Vec<Spanned<String>>>,
}

/// A user mapping: any address pattern to actions, or to a show cue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapFile {
    pub address: Spanned<String>,
    #[serde(default)]
    pub actions: Vec<Spanned<ActionFile>>,
    pub cue: Option<Spanned<CueNumber>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackFile {
    /// host:port that state changes and a heartbeat are sent to.
    pub target: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterFile {
    pub id: Spanned<String>,
    pub label: String,
    #[serde(default)]
    pub value: u64,
    /// A total: the sum of these counters.
    #[serde(default)]
    pub sum: Vec<Spanned<String>>,
    /// Polled over HTTP(S) as JSON.
    pub http: Option<Spanned<HttpFeedFile>>,
    /// Read from a local JSON or CSV file whenever it changes.
    pub file: Option<Spanned<FileFeedFile>>,
    /// Seconds without a good reading before the count is reported stale (default 300).
    pub stale_after: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFeedFile {
    pub url: String,
    /// JSON pointer to the number, e.g. "/cases/yorm-bopha/letters".
    #[serde(default)]
    pub pointer: String,
    /// Seconds between readings (default 10).
    pub interval: Option<f64>,
    /// Seconds a reading may take (default 5).
    pub timeout: Option<f64>,
    /// A request header whose value comes from an environment variable, never the show file.
    pub header: Option<HeaderFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFile {
    pub name: String,
    pub env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFeedFile {
    pub path: String,
    /// JSON pointer for a .json file; a .csv file has a row "counter-id,value".
    pub pointer: Option<String>,
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
    /// The desk's select-channel value for this slide, 1-255.
    pub dmx: Option<Spanned<i64>>,
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
    /// Text written right before and after the number ("", " lettres").
    pub prefix: Option<Spanned<String>>,
    pub suffix: Option<Spanned<String>>,
    // title
    pub title: Option<Spanned<String>>,
    pub subtitle: Option<Spanned<String>>,
}
