//! PJLink's text, read and written with no socket involved: the greeting, the password
//! hash, commands, and replies read leniently (lowercase, `CLSS=Class 1`), as projectors in
//! the field send them.

use crate::control::{Power, Shutter};

/// The longest line the spec allows, its `\r` included; longer is not PJLink.
pub const MAX_LINE: usize = 136;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Greeting {
    /// `PJLINK 0`: no password.
    Open,
    /// `PJLINK 1 <random>`: the first command carries md5(random + password).
    Auth(String),
}

/// What a projector answered instead of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// ERR1: it does not know the command.
    Undefined,
    /// ERR2: out of parameter.
    OutOfParameter,
    /// ERR3: busy, warming up or in standby; try again later.
    Unavailable,
    /// ERR4: the projector has failed.
    Failure,
    /// ERRA: the password is wrong.
    Auth,
}

impl Refusal {
    fn parse(value: &str) -> Option<Refusal> {
        Some(match value.trim().to_ascii_uppercase().as_str() {
            "ERR1" => Refusal::Undefined,
            "ERR2" => Refusal::OutOfParameter,
            "ERR3" => Refusal::Unavailable,
            "ERR4" => Refusal::Failure,
            "ERRA" => Refusal::Auth,
            _ => return None,
        })
    }
}

/// One reply line: `%1POWR=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub class: u8,
    /// Upper case, whatever the projector wrote.
    pub command: String,
    pub value: Result<String, Refusal>,
}

pub fn greeting(line: &str) -> Option<Greeting> {
    let mut words = line.split_ascii_whitespace();
    if !words.next()?.eq_ignore_ascii_case("PJLINK") {
        return None;
    }
    match (words.next()?, words.next()) {
        ("0", None) => Some(Greeting::Open),
        ("1", Some(random)) if !random.is_empty() && random.len() <= 32 => {
            Some(Greeting::Auth(random.to_string()))
        }
        _ => None,
    }
}

/// A reply, or None when the line is not one. `PJLINK ERRA` (a wrong password) is a reply
/// to whatever was asked.
pub fn reply(line: &str) -> Option<Reply> {
    let line = line.trim_matches(['\r', '\n', ' ']);
    if let Some(rest) = line
        .strip_prefix("PJLINK ")
        .or(line.strip_prefix("pjlink "))
    {
        return (Refusal::parse(rest) == Some(Refusal::Auth)).then(|| Reply {
            class: 0,
            command: String::new(),
            value: Err(Refusal::Auth),
        });
    }
    let body = line.strip_prefix('%')?;
    let class = body.get(0..1)?.parse::<u8>().ok()?;
    let command = body.get(1..5)?;
    if !command.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let value = body.get(5..)?.strip_prefix('=')?;
    Some(Reply {
        class,
        command: command.to_ascii_uppercase(),
        value: Refusal::parse(value).map_or_else(|| Ok(value.trim().to_string()), Err),
    })
}

/// The line for `command` with `param`, hashed for the session if it needs it.
pub fn command(auth: Option<&str>, command: &str, param: &str) -> String {
    format!("{}%1{command} {param}\r", auth.unwrap_or(""))
}

pub fn auth_hash(random: &str, password: &str) -> String {
    md5_hex(format!("{random}{password}").as_bytes())
}

pub fn power(value: &str) -> Option<Power> {
    Some(match value.trim() {
        "0" => Power::Off,
        "1" => Power::On,
        "2" => Power::Cooling,
        "3" => Power::Warming,
        _ => return None,
    })
}

/// `AVMT`: the picture is muted (the shutter, to most models) when video mute is on: 11 or
/// 31. Audio mute alone (21) leaves it open.
pub fn shutter(value: &str) -> Option<Shutter> {
    match value.trim().as_bytes() {
        [b'1' | b'3', b'1'] => Some(Shutter::Closed),
        [b'1' | b'2' | b'3', b'0'] | [b'2', b'1'] => Some(Shutter::Open),
        _ => None,
    }
}

/// `LAMP`: pairs of hours and on/off, one pair a lamp.
pub fn lamp_hours(value: &str) -> Option<Vec<u32>> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) || words.len() > 16 {
        return None;
    }
    words.chunks(2).map(|pair| pair[0].parse().ok()).collect()
}

const FAULT_PARTS: [&str; 6] = ["fan", "lamp", "temperature", "cover", "filter", "other"];

/// `ERST`: six digits, fan to other, each 0 ok, 1 warning, 2 error; the ones not ok, as
/// "lamp error".
pub fn faults(value: &str) -> Option<Vec<String>> {
    let digits = value.trim().as_bytes();
    if digits.len() != 6 {
        return None;
    }
    let mut faults = Vec::new();
    for (part, digit) in FAULT_PARTS.iter().zip(digits) {
        match digit {
            b'0' => {}
            b'1' => faults.push(format!("{part} warning")),
            b'2' => faults.push(format!("{part} error")),
            _ => return None,
        }
    }
    Some(faults)
}

/// `CLSS`: "1", "2", or Optoma's "Class 1".
pub fn class(value: &str) -> Option<u8> {
    value
        .trim()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse().ok())
}

/// RFC 1321 MD5 as 32 lowercase hex digits. Written here rather than a crate: PJLink's
/// hash is the one use, it is some forty lines checked against the RFC's and PJLink's test
/// vectors, and MD5 is not used for anything that needs a vetted implementation.
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in message.chunks(64) {
        let m: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(S[i]);
            (a, d, c) = (d, c, b);
            b = b.wrapping_add(rotated);
        }
        for (h, v) in h.iter_mut().zip([a, b, c, d]) {
            *h = h.wrapping_add(v);
        }
    }
    h.iter()
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_the_rfc_and_the_pjlink_spec() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        let long =
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(md5_hex(long), "57edf4a22be3c955ac49da2e2107b67a");
        assert_eq!(
            auth_hash("498e4a67", "JBMIAProjectorLink"),
            "5d8409bc1c3fa39749434aa3a5c38682"
        );
    }

    #[test]
    fn greetings_with_and_without_a_password() {
        assert_eq!(greeting("PJLINK 0"), Some(Greeting::Open));
        assert_eq!(
            greeting("PJLINK 1 498e4a67"),
            Some(Greeting::Auth("498e4a67".into()))
        );
        for bad in ["PJLINK", "PJLINK 1", "HTTP/1.1 200 OK", "PJLINK 2 x", ""] {
            assert_eq!(greeting(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn replies_are_read_leniently() {
        let r = reply("%1powr=0").unwrap();
        assert_eq!((r.class, r.command.as_str()), (1, "POWR"));
        assert_eq!(r.value.as_deref(), Ok("0"));
        assert_eq!(
            class(&reply("%1CLSS=Class 1").unwrap().value.unwrap()),
            Some(1)
        );
        assert_eq!(class("2"), Some(2));
        assert_eq!(
            reply("%1AVMT=err3").unwrap().value,
            Err(Refusal::Unavailable)
        );
        assert_eq!(reply("PJLINK ERRA").unwrap().value, Err(Refusal::Auth));
        for bad in ["POWR=1", "%xPOWR=1", "%1PO", "%1POWR 1", "%1PÖWR=1"] {
            assert_eq!(reply(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn values_are_read() {
        assert_eq!(power("3"), Some(Power::Warming));
        assert_eq!(power("9"), None);
        assert_eq!(shutter("31"), Some(Shutter::Closed));
        assert_eq!(shutter("21"), Some(Shutter::Open));
        assert_eq!(shutter("x"), None);
        assert_eq!(lamp_hours("1200 1 30 0"), Some(vec![1200, 30]));
        assert_eq!(lamp_hours("1200"), None);
        assert_eq!(
            faults("020100"),
            Some(vec!["lamp error".to_string(), "cover warning".to_string()])
        );
        assert_eq!(faults("0201"), None);
        assert_eq!(command(Some("ab"), "POWR", "1"), "ab%1POWR 1\r");
    }
}
