//! `[dmx]`: candela patched on a lighting desk as a fixture, over sACN or Art-Net: the
//! universe, the start address, what to do when every console goes quiet, who may send, and
//! the counters a desk may add to. Slides may carry `dmx = N` tags for the select channel.

use super::builder::Builder;
use super::model::SlideFile;
use serde::Deserialize;
use std::collections::HashMap;
use toml::Spanned;

/// Channels every patch has: master coarse and fine, slide select, control, fade time.
pub const FIXED_CHANNELS: usize = 5;
/// Counters a desk may drive, one channel each after the fixed ones.
pub const MAX_DMX_COUNTERS: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmxFile {
    /// The sACN universe, 1-63999 (default 1).
    pub universe: Option<Spanned<i64>>,
    /// The desk's 1-based start address (default 1).
    pub address: Option<Spanned<i64>>,
    /// The Art-Net port address, 0-32767 (default: the sACN universe less one, as most
    /// consoles number them).
    pub artnet_universe: Option<Spanned<i64>>,
    /// "hold" (default) or "blackout".
    pub on_loss: Option<Spanned<String>>,
    /// Who may send: addresses and networks. Default: `[osc] allow`, else anyone.
    pub allow: Option<Vec<Spanned<String>>>,
    /// Counters a desk adds to, one channel each from the start address plus 5.
    #[serde(default)]
    pub counters: Vec<Spanned<String>>,
}

/// What the wall does when every console is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnLoss {
    /// The last look stays, as live shows want.
    #[default]
    Hold,
    Blackout,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DmxSettings {
    pub universe: u16,
    /// 1-based, as the desk patches it.
    pub address: u16,
    pub port_address: u16,
    pub on_loss: OnLoss,
    /// None: any address may send (only when `[osc] allow` lists no one either).
    pub allow: Option<Vec<ipnet::IpNet>>,
    pub counters: Vec<String>,
}

impl DmxSettings {
    /// Channels the patch takes from the start address.
    pub fn channels(&self) -> usize {
        FIXED_CHANNELS + self.counters.len()
    }
}

impl Builder<'_> {
    /// A whole number in `range`, or a problem at its line and `default`.
    fn dmx_number(
        &mut self,
        v: Option<Spanned<i64>>,
        what: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> i64 {
        let Some(v) = v else { return default };
        let n = *v.get_ref();
        if range.contains(&n) {
            return n;
        }
        self.problem(
            &v,
            format!(
                "[dmx] {what} {n} is outside {}-{}",
                range.start(),
                range.end()
            ),
            &format!(
                "write a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        );
        default
    }

    pub(super) fn dmx(
        &mut self,
        dmx: Option<DmxFile>,
        osc_allow: &Option<Vec<ipnet::IpNet>>,
        counters: &[super::Counter],
    ) -> Option<DmxSettings> {
        let dmx = dmx?;
        let universe = self.dmx_number(dmx.universe, "universe", 1..=63999, 1);
        let port_address = self.dmx_number(
            dmx.artnet_universe,
            "artnet_universe",
            0..=32767,
            universe - 1,
        );
        let on_loss = match dmx.on_loss {
            None => OnLoss::Hold,
            Some(v) => match v.get_ref().as_str() {
                "hold" => OnLoss::Hold,
                "blackout" => OnLoss::Blackout,
                other => {
                    self.problem(
                        &v,
                        format!("[dmx] on_loss {other:?} is neither \"hold\" nor \"blackout\""),
                        "write on_loss = \"hold\" to keep the last look, or \"blackout\"",
                    );
                    OnLoss::Hold
                }
            },
        };
        let allow = match &dmx.allow {
            Some(list) => Some(self.networks(list)),
            None => osc_allow.clone(),
        };
        let mut ids = Vec::new();
        for c in &dmx.counters {
            let id = c.get_ref();
            if counters.iter().all(|k| &k.id != id) {
                self.problem(
                    c,
                    format!("[dmx] counters: no counter {id:?} in the show"),
                    "name a [[counters]] id",
                );
            } else if ids.contains(id) {
                self.problem(c, format!("[dmx] counters: {id:?} twice"), "list it once");
            } else if ids.len() == MAX_DMX_COUNTERS {
                self.problem(
                    c,
                    format!("[dmx] counters: more than {MAX_DMX_COUNTERS}"),
                    "drive the others over OSC or a feed",
                );
            } else {
                ids.push(id.clone());
            }
        }
        let last = (512 - FIXED_CHANNELS - ids.len() + 1) as i64;
        let address = match dmx.address {
            Some(a) if !(1..=last).contains(a.get_ref()) => {
                let n = *a.get_ref();
                self.problem(
                    &a,
                    format!(
                        "[dmx] address {n}: the patch takes {} channels, so it must start from 1 to {last}",
                        FIXED_CHANNELS + ids.len()
                    ),
                    "write the start address the desk patches candela at",
                );
                1
            }
            Some(a) => *a.get_ref(),
            None => 1,
        };
        Some(DmxSettings {
            universe: universe as u16,
            address: address as u16,
            port_address: port_address as u16,
            on_loss,
            allow,
            counters: ids,
        })
    }

    /// A slide's `dmx = N` tag: 1-255, and no two slides alike.
    pub(super) fn dmx_tag(
        &mut self,
        slide: &SlideFile,
        seen: &mut HashMap<u8, String>,
    ) -> Option<u8> {
        let tag = slide.dmx.as_ref()?;
        let n = *tag.get_ref();
        let Some(n) = u8::try_from(n).ok().filter(|&n| n != 0) else {
            self.problem(
                tag,
                format!("slide {:?}: dmx = {n} is outside 1-255", slide.id.get_ref()),
                "write the select channel's value that shows this slide, 1 to 255",
            );
            return None;
        };
        if let Some(other) = seen.get(&n) {
            let message = format!(
                "slide {:?}: dmx = {n} is slide {other:?}'s tag already",
                slide.id.get_ref()
            );
            self.problem(tag, message, "give each slide its own dmx value");
            return None;
        }
        seen.insert(n, slide.id.get_ref().clone());
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::Show;
    use std::path::Path;

    const SLIDES: &str = "[[counters]]\nid = \"letters\"\nlabel = \"Letters\"\n\
        [[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\ndmx = 10\n\
        [[slides]]\nid = \"b\"\nkind = \"title\"\ntitle = \"B\"\ndmx = 200\n";

    fn parse(extra: &str) -> (Show, Vec<String>) {
        let (show, problems) =
            Show::parse(Path::new("s.toml"), &format!("{SLIDES}{extra}")).unwrap();
        (show, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn a_good_patch_is_read_with_its_defaults() {
        let (show, problems) = parse(
            "[osc]\nallow = [\"10.0.0.0/8\"]\n[dmx]\nuniverse = 3\naddress = 101\ncounters = [\"letters\"]\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let dmx = show.dmx.unwrap();
        assert_eq!((dmx.universe, dmx.address, dmx.port_address), (3, 101, 2));
        assert_eq!(dmx.on_loss, OnLoss::Hold);
        assert_eq!(
            dmx.allow.as_ref().unwrap()[0].to_string(),
            "10.0.0.0/8",
            "[osc] allow applies"
        );
        assert_eq!(dmx.channels(), 6);
        assert_eq!(show.slides[1].dmx, Some(200));
        assert!(parse("").0.dmx.is_none(), "no [dmx]: not listened for");
    }

    #[test]
    fn a_bad_patch_is_reported_at_its_line() {
        let (_, problems) = parse(
            "[dmx]\nuniverse = 64000\naddress = 509\non_loss = \"dark\"\ncounters = [\"nope\"]\nallow = [\"x\"]\n",
        );
        let joined = problems.join("\n");
        for (line, what) in [
            (15, "universe 64000 is outside 1-63999"),
            (
                16,
                "address 509: the patch takes 5 channels, so it must start from 1 to 508",
            ),
            (17, "on_loss \"dark\""),
            (18, "no counter \"nope\""),
            (19, "\"x\" is not an address"),
        ] {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("s.toml:{line}:")) && p.contains(what)),
                "{what} at line {line}: {joined}"
            );
        }
    }

    #[test]
    fn slide_tags_are_checked() {
        let src = SLIDES.replace("dmx = 200", "dmx = 10")
            + "[[slides]]\nid = \"c\"\nkind = \"title\"\ntitle = \"C\"\ndmx = 256\n";
        let (show, problems) = Show::parse(Path::new("s.toml"), &src).unwrap();
        let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            problems.iter().any(|p| p.starts_with("s.toml:13:")
                && p.contains("slide \"b\": dmx = 10 is slide \"a\"'s tag already")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("s.toml:18:") && p.contains("dmx = 256 is outside 1-255")),
            "{problems:?}"
        );
        assert_eq!(show.slides[1].dmx, None);
    }
}
