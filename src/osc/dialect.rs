//! What a message means: candela's own address space, the desk dialects (ETC Eos, grandMA3,
//! Hog 4) and the show's own mappings, turned into [`Command`]s. Pure: no sockets, no clock.
//!
//! Trigger addresses act on a press only (no argument, a first number above 0, true, or a
//! string) and ignore the release (0 or false) that desks and key panels send after it.

use super::packet::Message;
use crate::control::{Command, MaskEdit, Pattern, SetupStep, SlideRef, WarpEdit};
use crate::inbox::Request;
use crate::show::OscSettings;
use rosc::OscType;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Meaning {
    /// One of candela's own addresses: the sender gets a reply, an error one if it is wrong.
    Native(Result<Request, String>),
    /// A desk's event or a user mapping: acted on, no reply (desks do not listen for one).
    Desk(Vec<Command>),
    /// A key release, or desk chatter (Eos reports its active cue about once a second).
    Quiet,
    Unknown,
}

fn number(arg: &OscType) -> Option<f64> {
    match arg {
        OscType::Int(i) => Some(*i as f64),
        OscType::Long(i) => Some(*i as f64),
        OscType::Float(f) => Some(*f as f64),
        OscType::Double(d) => Some(*d),
        OscType::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Press or release, by the first argument.
fn pressed(args: &[OscType]) -> bool {
    match args.first() {
        None => true,
        Some(OscType::Bool(b)) => *b,
        Some(OscType::String(_)) => true,
        // NaN is no release: it goes on to be refused as a fade, with an error reply.
        Some(a) => number(a).is_none_or(|n| n > 0.0 || n.is_nan()),
    }
}

/// An optional fade in seconds at `args[i]`.
fn fade(args: &[OscType], i: usize) -> Result<Option<Duration>, String> {
    let Some(arg) = args.get(i) else {
        return Ok(None);
    };
    let s = number(arg).ok_or_else(|| format!("fade {arg:?} is not a number of seconds"))?;
    if !s.is_finite() || !(0.0..=3600.0).contains(&s) {
        return Err(format!(
            "fade {s} is not a number of seconds from 0 to 3600"
        ));
    }
    Ok(Some(Duration::from_secs_f64(s)))
}

/// A count: a whole number from 0 to 2^53 (what a float carries exactly).
fn count(args: &[OscType]) -> Result<u64, String> {
    let arg = args.first().ok_or("give the number as an argument")?;
    let n = number(arg).ok_or_else(|| format!("{arg:?} is not a number"))?;
    if !n.is_finite() || n < 0.0 || n.fract() != 0.0 || n > 9_007_199_254_740_992.0 {
        return Err(format!("{n} is not a whole number from 0 up"));
    }
    Ok(n as u64)
}

fn slide(arg: &OscType) -> Result<SlideRef, String> {
    match arg {
        OscType::String(s) => Ok(match s.trim().parse::<usize>() {
            Ok(n) => SlideRef::Position(n),
            Err(_) => SlideRef::Id(s.trim().to_string()),
        }),
        a => match number(a) {
            Some(n) if n >= 1.0 && n.fract() == 0.0 => Ok(SlideRef::Position(n as usize)),
            _ => Err(format!("{a:?} is not a slide id or position")),
        },
    }
}

/// A float cue number as the desk shows it: 15.2 stays "15.2".
fn cue_text(arg: &OscType) -> Option<String> {
    match arg {
        OscType::String(s) => Some(s.trim().to_string()),
        OscType::Float(f) => Some(f.to_string()),
        OscType::Double(d) => Some(d.to_string()),
        OscType::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The show's OSC settings with its `[[osc.map]]` patterns compiled once, not per message.
pub struct Dialect {
    pub settings: OscSettings,
    maps: Vec<(rosc::address::Matcher, Vec<Command>)>,
}

impl Dialect {
    pub fn new(settings: OscSettings) -> Dialect {
        let maps = settings
            .map
            .iter()
            .filter_map(|entry| match rosc::address::Matcher::new(&entry.pattern) {
                Ok(m) => Some((m, entry.actions.iter().map(Command::from).collect())),
                Err(e) => {
                    // `check` reports these with their line; the show goes on without them.
                    tracing::warn!("OSC map {:?} is not a pattern: {e:?}", entry.pattern);
                    None
                }
            })
            .collect();
        Dialect { settings, maps }
    }

    /// What `message` means to this show.
    pub fn interpret(&self, message: &Message) -> Meaning {
        interpret(message, &self.settings, &self.maps)
    }
}

fn interpret(
    message: &Message,
    settings: &OscSettings,
    maps: &[(rosc::address::Matcher, Vec<Command>)],
) -> Meaning {
    let address = message.address.as_str();
    let args = message.args.as_slice();
    let osc_address = (!maps.is_empty())
        .then(|| rosc::address::OscAddress::new(address.to_string()).ok())
        .flatten();
    if let Some(a) = &osc_address {
        for (matcher, commands) in maps {
            if matcher.match_address(a) {
                return if pressed(args) {
                    Meaning::Desk(commands.clone())
                } else {
                    Meaning::Quiet
                };
            }
        }
    }
    // ASCII only: OSC addresses are ASCII, and a lower-case copy of the same byte length is
    // what lets the original be sliced at the offsets found in it (U+212A KELVIN SIGN lowers
    // to a shorter "k").
    let lower = address.to_ascii_lowercase();
    if let Some(rest) = strip(&lower, &settings.prefix) {
        // Keep the original case of what follows the verbs (slide and counter ids).
        let original = &address[address.len() - rest.len()..];
        return native(rest, original, address, args);
    }
    if settings.gma3 {
        let rest = match &settings.gma3_prefix {
            Some(p) => strip(&lower, &format!("/{}", p.to_ascii_lowercase())),
            None => None,
        };
        if let Some(rest) = rest
            && let Some(native_rest) = strip(rest, &settings.prefix)
        {
            let original = &address[address.len() - native_rest.len()..];
            return native(native_rest, original, address, args);
        }
        if let Some(meaning) = gma3(rest.unwrap_or(&lower), args) {
            return meaning;
        }
    }
    if settings.eos && lower.starts_with("/eos/") {
        return eos(address);
    }
    if settings.hog4 && lower.starts_with("/hog/") {
        return hog4(&lower, args);
    }
    Meaning::Unknown
}

/// `address` without `prefix`, when it starts with it as whole path segments.
fn strip<'a>(address: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = address.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn native(rest: &str, original: &str, address: &str, args: &[OscType]) -> Meaning {
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let originals: Vec<&str> = original.trim_matches('/').split('/').collect();
    let command = |c| Ok(Request::Command(c));
    let trigger = |make: &dyn Fn(Option<Duration>) -> Command| -> Option<Result<Request, String>> {
        if !pressed(args) {
            return None;
        }
        Some(fade(args, 0).map(|f| Request::Command(make(f))))
    };
    let result = match parts.as_slice() {
        ["next"] => trigger(&|fade| Command::Next { fade }),
        ["prev" | "previous"] => trigger(&|fade| Command::Previous { fade }),
        ["blackout"] => trigger(&|fade| Command::Blackout { fade }),
        ["restore"] => trigger(&|fade| Command::Restore { fade }),
        ["cue", _] => pressed(args).then(|| {
            command(Command::Cue {
                list: None,
                number: originals[1].to_string(),
            })
        }),
        ["cycle", "pause"] => pressed(args).then(|| command(Command::Pause)),
        ["cycle", "resume"] => pressed(args).then(|| command(Command::Resume)),
        ["goto"] => Some(match args.first() {
            None => Err("give the slide's id or position".into()),
            Some(a) => slide(a).and_then(|slide| {
                let fade = fade(args, 1)?;
                command(Command::Goto { slide, fade })
            }),
        }),
        ["master"] => Some(match args.first().and_then(number) {
            Some(level) if (0.0..=1.0).contains(&level) => fade(args, 1).and_then(|fade| {
                command(Command::Master {
                    level: level as f32,
                    fade,
                })
            }),
            _ => Err("give a level from 0 to 1".into()),
        }),
        ["cycle", "hold"] => Some(match args.first().and_then(number) {
            Some(s) if s.is_finite() && s > 0.0 && s < 86_400.0 => {
                command(Command::SetHold(Duration::from_secs_f64(s)))
            }
            _ => Err("give the hold in seconds, more than 0".into()),
        }),
        ["test"] => Some(test_pattern(args).map(|p| Request::Command(Command::TestPattern(p)))),
        ["warp", _, ..] => warp(&parts[2..], originals[1], args),
        ["blend", _, field] => Some(blend(originals[1], field, args)),
        ["mask", _, ..] => mask(&parts[2..], originals[1], args),
        ["setup"] => Some(Ok(Request::Setup)),
        ["setup", step] => {
            let step = match *step {
                "undo" => SetupStep::Undo,
                "redo" => SetupStep::Redo,
                "revert" => SetupStep::Revert,
                "reset" => SetupStep::Reset,
                _ => {
                    return Meaning::Native(Err(
                        "setup addresses are setup, setup/undo, setup/redo, setup/revert and setup/reset".into(),
                    ));
                }
            };
            pressed(args).then(|| command(Command::Setup(step)))
        }
        ["count", _] => Some(count(args).and_then(|value| {
            command(Command::SetCount {
                counter: originals[1].to_string(),
                value,
            })
        })),
        ["count", _, "add"] => Some(count(args).and_then(|delta| {
            command(Command::AddCount {
                counter: originals[1].to_string(),
                delta,
            })
        })),
        ["count", _, "correct"] => Some(count(args).and_then(|value| {
            command(Command::CorrectCount {
                counter: originals[1].to_string(),
                value,
            })
        })),
        ["count", _, "reset"] => pressed(args).then(|| {
            command(Command::ResetCount {
                counter: originals[1].to_string(),
            })
        }),
        ["schedule", "override"] => Some(
            match args
                .first()
                .and_then(|a| match a {
                    OscType::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .and_then(crate::control::schedule::Override::parse)
            {
                Some(mode) => command(Command::Schedule(mode)),
                None => Err("give on, off or auto".into()),
            },
        ),
        ["projector", _, setting] => Some(projector(originals[1], setting, args)),
        ["sync", "lead"] => Some(Ok(Request::Sync(crate::inbox::SyncRequest::Lead))),
        ["sync", "follow"] => Some(match args.first() {
            Some(OscType::String(s)) => Ok(Request::Sync(crate::inbox::SyncRequest::Follow(
                s.trim().to_string(),
            ))),
            _ => Err("give the leader's sync address, HOST:PORT".into()),
        }),
        ["state"] => Some(Ok(Request::State)),
        ["ping"] => Some(Ok(Request::Ping)),
        _ => Some(Err(format!("unknown address {address:?}"))),
    };
    match result {
        Some(r) => Meaning::Native(r),
        None => Meaning::Quiet,
    }
}

/// `/candela/projector/<output>/power on|off` and `.../shutter open|closed`.
fn projector(output: &str, setting: &str, args: &[OscType]) -> Result<Request, String> {
    use crate::control::Shutter;
    let word = match args.first() {
        Some(OscType::String(s)) => s.trim().to_ascii_lowercase(),
        _ => String::new(),
    };
    let (power, shutter) =
        match (setting, word.as_str()) {
            ("power", "on") => (Some(true), None),
            ("power", "off") => (Some(false), None),
            ("shutter", "open") => (None, Some(Shutter::Open)),
            ("shutter", "closed" | "close") => (None, Some(Shutter::Closed)),
            ("power", _) => return Err("give on or off".into()),
            ("shutter", _) => return Err("give open or closed".into()),
            _ => return Err(
                "projector addresses are projector/<output>/power and projector/<output>/shutter"
                    .into(),
            ),
        };
    Ok(Request::Command(Command::Projector {
        output: output.to_string(),
        power,
        shutter,
    }))
}

/// `/candela/test`: a pattern's name, or off; with no argument (or 1, true), the grid.
fn test_pattern(args: &[OscType]) -> Result<Option<Pattern>, String> {
    let on = match args.first() {
        None => true,
        Some(OscType::String(s)) => {
            if matches!(s.to_lowercase().as_str(), "off" | "0" | "false") {
                return Ok(None);
            }
            if matches!(s.to_lowercase().as_str(), "on" | "1" | "true") {
                return Ok(Some(Pattern::Grid));
            }
            return Pattern::parse(s).map(Some).ok_or_else(|| {
                let names: Vec<&str> = Pattern::ALL.iter().map(|p| p.name()).collect();
                format!("no test pattern {s:?}; use {} or off", names.join(", "))
            });
        }
        Some(OscType::Bool(b)) => *b,
        Some(a) => number(a).is_some_and(|n| n > 0.0),
    };
    Ok(on.then_some(Pattern::Grid))
}

/// A point given as two numbers, x then y, in normalized output coordinates.
fn point(args: &[OscType]) -> Result<[f64; 2], String> {
    match (args.first().and_then(number), args.get(1).and_then(number)) {
        (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok([x, y]),
        _ => Err(
            "give x and y, normalized output coordinates: (0, 0) top left, (1, 1) bottom right"
                .into(),
        ),
    }
}

/// A 1-based index in an address (`corner/2`, `point/3/1`), as 0-based.
fn index(part: &str, what: &str) -> Result<usize, String> {
    match part.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n - 1),
        _ => Err(format!("{what} {part:?} is not a number from 1")),
    }
}

/// `/candela/warp/<output>/...`: corners, mesh points, reset and undo.
fn warp(rest: &[&str], output: &str, args: &[OscType]) -> Option<Result<Request, String>> {
    let edit = match rest {
        ["corner", n] => index(n, "corner").and_then(|corner| {
            Ok(WarpEdit::Corner {
                corner,
                to: point(args)?,
            })
        }),
        ["point", col, row] => index(col, "column").and_then(|col| {
            Ok(WarpEdit::Point {
                col,
                row: index(row, "row")?,
                to: point(args)?,
            })
        }),
        ["mesh"] => match (whole(args.first()), whole(args.get(1))) {
            (Some(cols), Some(rows)) => Ok(WarpEdit::Mesh { cols, rows }),
            _ => Err("give the mesh's columns and rows, 2 to 17 each".into()),
        },
        ["reset"] => return pressed(args).then_some(Ok(warp_request(output, WarpEdit::Reset))),
        ["undo"] => return pressed(args).then_some(Ok(warp_request(output, WarpEdit::Undo))),
        _ => Err("warp addresses are <output>/corner/<1-4>, <output>/point/<col>/<row>, <output>/mesh, <output>/reset and <output>/undo".into()),
    };
    Some(edit.map(|edit| warp_request(output, edit)))
}

/// A whole number argument (a mesh size), given as int, float or text.
fn whole(arg: Option<&OscType>) -> Option<usize> {
    let n = number(arg?)?;
    (n.fract() == 0.0 && (0.0..=1e6).contains(&n)).then_some(n as usize)
}

/// Every argument as a number, or which one is not.
fn numbers(args: &[OscType]) -> Result<Vec<f64>, String> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            number(a)
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("argument {} is not a number", i + 1))
        })
        .collect()
}

/// `/candela/blend/<output>/<field> value`: one blend setting, live.
fn blend(output: &str, field: &str, args: &[OscType]) -> Result<Request, String> {
    let field = crate::show::BlendField::parse(field).ok_or_else(|| {
        let names: Vec<&str> = crate::show::BlendField::ALL
            .iter()
            .map(|f| f.name())
            .collect();
        format!("no blend setting {field:?}; use {}", names.join(", "))
    })?;
    let value = numbers(args)?;
    Ok(warp_request(output, WarpEdit::Blend { field, value }))
}

/// `/candela/mask/<id>/...`: masks drawn on site, points 1-based, in canvas pixels.
fn mask(rest: &[&str], id: &str, args: &[OscType]) -> Option<Result<Request, String>> {
    let edit = match rest {
        ["points"] => numbers(args).and_then(|v| {
            if !v.len().is_multiple_of(2) {
                return Err("give the points as x y pairs, in canvas pixels".into());
            }
            Ok(MaskEdit::Points(v.chunks(2).map(|p| [p[0], p[1]]).collect()))
        }),
        ["point", n] => index(n, "point").and_then(|index| {
            Ok(MaskEdit::Move {
                index,
                to: point(args)?,
            })
        }),
        ["insert", n] => index(n, "point").and_then(|index| {
            Ok(MaskEdit::Insert {
                index,
                at: point(args)?,
            })
        }),
        ["remove", n] => index(n, "point").map(|index| MaskEdit::Remove { index }),
        ["delete"] => return pressed(args).then(|| Ok(mask_request(id, MaskEdit::Delete))),
        ["feather"] => match args.first().and_then(number) {
            Some(px) => Ok(MaskEdit::Feather(px)),
            None => Err("give the feather in canvas pixels".into()),
        },
        ["invert"] => match args.first() {
            None => Ok(MaskEdit::Invert(true)),
            Some(OscType::Bool(b)) => Ok(MaskEdit::Invert(*b)),
            Some(OscType::String(s)) => match s.to_lowercase().as_str() {
                "on" | "true" | "1" => Ok(MaskEdit::Invert(true)),
                "off" | "false" | "0" => Ok(MaskEdit::Invert(false)),
                _ => Err("give true or false".into()),
            },
            Some(a) => number(a)
                .map(|n| MaskEdit::Invert(n > 0.0))
                .ok_or_else(|| "give true or false".into()),
        },
        _ => Err("mask addresses are <id>/points, <id>/point/<n>, <id>/insert/<n>, <id>/remove/<n>, <id>/delete, <id>/feather and <id>/invert".into()),
    };
    Some(edit.map(|edit| mask_request(id, edit)))
}

fn mask_request(id: &str, edit: MaskEdit) -> Request {
    Request::Command(Command::Mask {
        id: id.to_string(),
        edit,
    })
}

fn warp_request(output: &str, edit: WarpEdit) -> Request {
    Request::Command(Command::Warp {
        output: output.to_string(),
        edit,
    })
}

/// ETC Eos: its cue "fire" events become show cues; everything else it reports is chatter.
fn eos(address: &str) -> Meaning {
    let parts: Vec<&str> = address.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["eos", "out", "event", "cue", list, cue, fire] if fire.eq_ignore_ascii_case("fire") => {
            Meaning::Desk(vec![Command::Cue {
                list: Some(list.to_string()),
                number: cue.to_string(),
            }])
        }
        ["eos", "out", ..] => Meaning::Quiet,
        _ => Meaning::Unknown,
    }
}

/// grandMA3 executor key feedback: `/14.14.1.6.<n> ,sis "Go+" 1 "<cue name>"` on press.
fn gma3(rest: &str, args: &[OscType]) -> Option<Meaning> {
    let last = rest.trim_matches('/');
    let is_key = (last.starts_with("14.14.1.6.") || last.starts_with("13.13.1.6."))
        && last
            .rsplit('.')
            .next()
            .is_some_and(|n| n.parse::<u32>().is_ok());
    if !is_key {
        return None;
    }
    Some(match args {
        [OscType::String(key), state, rest @ ..] if key == "Go+" => {
            match (number(state).is_some_and(|n| n > 0.0), rest.first()) {
                (true, Some(OscType::String(name))) => {
                    Meaning::Desk(vec![Command::CueNamed(name.clone())])
                }
                _ => Meaning::Quiet,
            }
        }
        _ => Meaning::Quiet,
    })
}

/// Hog 4: `/hog/playback/go/0` (a cue list) with the cue as float, string or in the path.
fn hog4(address: &str, args: &[OscType]) -> Meaning {
    let parts: Vec<&str> = address.trim_matches('/').split('/').collect();
    let number = match parts.as_slice() {
        ["hog", "playback", "go", "0"] => args.first().and_then(cue_text),
        ["hog", "playback", "go", "0", cue] => Some(cue.to_string()),
        ["hog", "playback", ..] => return Meaning::Quiet,
        _ => return Meaning::Unknown,
    };
    match number {
        Some(number) => Meaning::Desk(vec![Command::Cue { list: None, number }]),
        None => Meaning::Quiet,
    }
}
