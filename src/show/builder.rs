//! Turning the show file as parsed into a [`Show`]: every field checked, every problem
//! recorded with its line, and a usable show built from what is left.

use super::model::{self, ShowFile, SlideFile, SlideKind};
use super::{
    Counter, FileSource, Fit, Header, HttpSource, Located, Locator, Portrait, Problem, Rgb, Show,
    Size, Slide, SlideContent, Transition, TransitionKind,
};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

pub(crate) struct Builder<'a> {
    pub(super) file: &'a Path,
    pub(super) dir: PathBuf,
    pub(super) locator: Locator<'a>,
    pub(super) problems: Vec<Problem>,
}

impl Builder<'_> {
    pub(super) fn at<T>(&self, v: &Spanned<T>) -> (usize, usize) {
        self.locator.line_col(v.span())
    }

    pub(crate) fn problem<T>(&mut self, v: &Spanned<T>, message: String, hint: &str) {
        let at = self.at(v);
        self.problems
            .push(Problem::new(self.file, Some(at), message).hint(hint));
    }

    pub(super) fn resolve(&self, v: &Spanned<String>) -> Located<PathBuf> {
        Located {
            value: self.dir.join(v.get_ref()),
            at: self.at(v),
        }
    }

    pub(super) fn seconds(
        &mut self,
        v: Option<Spanned<f64>>,
        what: &str,
        allow_zero: bool,
    ) -> Option<f64> {
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

    pub(super) fn colour(&mut self, v: Option<Spanned<String>>, what: &str, default: Rgb) -> Rgb {
        let Some(v) = v else { return default };
        Rgb::parse(v.get_ref()).unwrap_or_else(|| {
            let msg = format!("{what} {:?} is not a colour", v.get_ref());
            self.problem(&v, msg, "write it as \"#rrggbb\", e.g. \"#101820\"");
            default
        })
    }

    pub(super) fn show(&mut self, raw: ShowFile) -> Show {
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
        let mut tags = std::collections::HashMap::new();
        for s in raw.slides {
            let known_id = self.fresh_id(&s.id, &mut seen, "slide");
            let dmx = self.dmx_tag(&s, &mut tags);
            // A slide with a taken id is still checked, so all its problems are listed.
            if let Some(slide) = self.slide(s, &counters)
                && known_id
            {
                slides.push(Slide { dmx, ..slide });
            }
        }
        let cues = self.cues(raw.cues, &slides);
        let osc = self.osc(raw.osc, &slides, &cues);
        let web = self.web(raw.web);
        let dmx = self.dmx(raw.dmx, &osc.allow, &counters);
        let mut raw_outputs = raw.outputs;
        let per_output = raw_outputs
            .iter_mut()
            .map(|o| (o.name.get_ref().clone(), std::mem::take(&mut o.projectors)))
            .collect();
        let outputs = self.outputs(raw_outputs, size);
        let names: Vec<String> = outputs.iter().map(|o| o.name.clone()).collect();
        let projectors = self.projectors(per_output, raw.projectors, &names);
        let pjlink = self.pjlink(raw.pjlink);
        let masks = self.masks(raw.masks);
        let schedule = self.schedule(raw.schedule);
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
            web,
            dmx,
            outputs,
            masks,
            schedule,
            projectors,
            pjlink,
        }
    }

    pub(super) fn http_feed(
        &mut self,
        counter: &str,
        h: &Spanned<model::HttpFeedFile>,
    ) -> Option<HttpSource> {
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

    pub(super) fn file_feed(
        &mut self,
        counter: &str,
        f: &Spanned<model::FileFeedFile>,
    ) -> FileSource {
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
    pub(super) fn check_sums(&mut self, counters: &[Counter], sums: &[Vec<Spanned<String>>]) {
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
    pub(super) fn fresh_id(
        &mut self,
        id: &Spanned<String>,
        seen: &mut HashSet<String>,
        what: &str,
    ) -> bool {
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
    pub(super) fn slide(&mut self, s: SlideFile, counters: &[Counter]) -> Option<Slide> {
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
            dmx: None,
        })
    }
}
