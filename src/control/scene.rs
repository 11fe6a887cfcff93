//! The Scene: the complete description of one frame, and how it is derived from a show.

use super::stage::{AlignmentView, Pattern};
use crate::counts::{Counts, NumberFormat};
use crate::show::{Fit, Rgb, Show, SlideContent, TransitionKind};
use serde::Serialize;
use std::path::PathBuf;

/// Everything one frame shows. Layers are drawn bottom to top over black, each at its
/// opacity; the test pattern, when on, replaces them; `master` then dims the whole frame
/// (0 is black, 1 full brightness). In alignment mode the selected handle is marked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scene {
    pub layers: Vec<Layer>,
    pub master: f32,
    pub test_pattern: Option<Pattern>,
    pub alignment: Option<AlignmentView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    pub opacity: f32,
    pub slide: SlideView,
}

/// One slide with its text final (counts formatted), ready to lay out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlideView {
    pub id: String,
    pub background: Rgb,
    pub accent: Rgb,
    pub content: ViewContent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ViewContent {
    Portrait {
        image: Option<PathBuf>,
        fit: Fit,
        name: String,
        /// The name in its own script, when it differs from `name`.
        name_native: Option<String>,
        country: Option<String>,
        story: Option<String>,
        quote: Option<String>,
        counter: Option<CounterText>,
    },
    Counter {
        counter: CounterText,
    },
    Title {
        title: String,
        subtitle: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterText {
    /// The number, formatted for the show's locale.
    pub value: String,
    pub label: String,
}

/// The view of slide `index` of `show`, with counts as they are now.
pub fn slide_view(show: &Show, numbers: &NumberFormat, counts: &Counts, index: usize) -> SlideView {
    let slide = &show.slides[index];
    let counter = |id: &str, label: &Option<String>| {
        let def = show.counter(id);
        let number = numbers.format(counts.get(id).or(def.map(|c| c.value)).unwrap_or(0));
        CounterText {
            value: format!(
                "{}{number}{}",
                slide.prefix.as_deref().unwrap_or(""),
                slide.suffix.as_deref().unwrap_or("")
            ),
            label: label
                .clone()
                .or_else(|| def.map(|c| c.label.clone()))
                .unwrap_or_default(),
        }
    };
    let content = match &slide.content {
        SlideContent::Portrait(p) => ViewContent::Portrait {
            image: p.image.as_ref().map(|i| i.value.clone()),
            fit: p.fit,
            name: p.name.clone(),
            name_native: p.name_native.clone().filter(|n| *n != p.name),
            country: p.country.clone(),
            story: p.story.clone(),
            quote: p.quote.clone(),
            counter: p.counter.as_deref().map(|id| counter(id, &p.label)),
        },
        SlideContent::Counter { counter: id, label } => ViewContent::Counter {
            counter: counter(id, label),
        },
        SlideContent::Title { title, subtitle } => ViewContent::Title {
            title: title.clone(),
            subtitle: subtitle.clone(),
        },
    };
    SlideView {
        id: slide.id.clone(),
        background: show.background,
        accent: show.accent,
        content,
    }
}

impl Scene {
    /// One slide, fully shown.
    pub fn still(slide: SlideView) -> Scene {
        Scene {
            layers: vec![Layer {
                opacity: 1.0,
                slide,
            }],
            master: 1.0,
            test_pattern: None,
            alignment: None,
        }
    }

    /// Nothing at all: black.
    pub fn black() -> Scene {
        Scene {
            layers: vec![],
            master: 0.0,
            test_pattern: None,
            alignment: None,
        }
    }

    /// The frame `progress` (0..=1) of the way through a transition from `from` to `to`.
    pub fn transition(
        from: SlideView,
        to: SlideView,
        kind: TransitionKind,
        progress: f32,
    ) -> Scene {
        let p = if progress.is_nan() {
            1.0
        } else {
            progress.clamp(0.0, 1.0)
        };
        let layer = |slide, opacity| Layer { opacity, slide };
        let layers = match kind {
            TransitionKind::Cut => vec![layer(to, 1.0)],
            // The new slide fades in over the old one, which stays opaque beneath it, so the
            // frame never shows the black behind both.
            TransitionKind::Crossfade if p >= 1.0 => vec![layer(to, 1.0)],
            TransitionKind::Crossfade => vec![layer(from, 1.0), layer(to, p)],
            TransitionKind::ThroughBlack if p < 0.5 => vec![layer(from, 1.0 - 2.0 * p)],
            TransitionKind::ThroughBlack => vec![layer(to, 2.0 * p - 1.0)],
        };
        Scene {
            layers: layers.into_iter().filter(|l| l.opacity > 0.0).collect(),
            master: 1.0,
            test_pattern: None,
            alignment: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> SlideView {
        SlideView {
            id: id.into(),
            background: Rgb([0, 0, 0]),
            accent: Rgb([255, 255, 0]),
            content: ViewContent::Title {
                title: id.into(),
                subtitle: None,
            },
        }
    }

    fn opacities(scene: &Scene) -> Vec<(String, f32)> {
        scene
            .layers
            .iter()
            .map(|l| (l.slide.id.clone(), l.opacity))
            .collect()
    }

    #[test]
    fn crossfade_lays_the_new_slide_over_the_old() {
        let s = Scene::transition(view("a"), view("b"), TransitionKind::Crossfade, 0.4);
        assert_eq!(opacities(&s), [("a".into(), 1.0), ("b".into(), 0.4)]);
        let end = Scene::transition(view("a"), view("b"), TransitionKind::Crossfade, 1.0);
        assert_eq!(opacities(&end), [("b".into(), 1.0)]);
    }

    #[test]
    fn through_black_is_black_at_its_midpoint() {
        let q = Scene::transition(view("a"), view("b"), TransitionKind::ThroughBlack, 0.25);
        assert_eq!(opacities(&q), [("a".into(), 0.5)]);
        let mid = Scene::transition(view("a"), view("b"), TransitionKind::ThroughBlack, 0.5);
        assert!(mid.layers.is_empty());
        let late = Scene::transition(view("a"), view("b"), TransitionKind::ThroughBlack, 0.75);
        assert_eq!(opacities(&late), [("b".into(), 0.5)]);
    }

    #[test]
    fn cut_and_bad_progress_show_the_new_slide() {
        let cut = Scene::transition(view("a"), view("b"), TransitionKind::Cut, 0.1);
        assert_eq!(opacities(&cut), [("b".into(), 1.0)]);
        let nan = Scene::transition(view("a"), view("b"), TransitionKind::Crossfade, f32::NAN);
        assert_eq!(opacities(&nan), [("b".into(), 1.0)]);
        let over = Scene::transition(view("a"), view("b"), TransitionKind::Crossfade, 7.0);
        assert_eq!(opacities(&over), [("b".into(), 1.0)]);
    }
}
