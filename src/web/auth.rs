//! Who may do what: the allowlist, PINs (a Bearer header for scripts, a session cookie for
//! browsers), and the limit on wrong PINs ([`super::guesses`]).

use super::guesses::{Guesses, Verdict};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "candela_session";
/// How long a login lasts: a night's show.
pub const SESSION_LIFE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; past this, the one ending soonest makes room.
const MAX_SESSIONS: usize = 1024;
pub use crate::show::MIN_PIN;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Nothing,
    View,
    Control,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Not in `[web] allow`.
    NotAllowed,
    /// No PIN, or a wrong one (or a session that ended).
    NoPin(&'static str),
    WrongPin,
    /// Too many wrong PINs (from this address, its network or everyone): wait this long.
    TooMany(Duration),
}

pub struct Auth {
    pin: String,
    view_pin: Option<String>,
    allow: Option<Vec<ipnet::IpNet>>,
    /// Session token → what it allows and when it ends.
    sessions: Mutex<HashMap<String, (Level, Instant)>>,
    guesses: Mutex<Guesses>,
}

/// Equal without telling, by how long it took, how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// `n` random bytes from the system, as hex.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A random six-digit PIN.
pub fn random_pin() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(format!("{:06}", u64::from_le_bytes(bytes) % 1_000_000))
}

impl Auth {
    pub fn new(pin: String, view_pin: Option<String>, allow: Option<Vec<ipnet::IpNet>>) -> Auth {
        Auth {
            pin,
            view_pin,
            allow,
            sessions: Mutex::default(),
            guesses: Mutex::new(Guesses::new(Instant::now())),
        }
    }

    pub fn allowed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow
            .as_ref()
            .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip)))
    }

    /// Whether viewing needs a PIN.
    pub fn view_needs_pin(&self) -> bool {
        self.view_pin.is_some()
    }

    /// What `pin` allows, counting a wrong one against `ip`. The laptop itself (127.0.0.1,
    /// ::1) is never limited: whoever sits at it has the show anyway.
    pub fn check_pin(&self, ip: IpAddr, pin: &str) -> Result<Level, Refusal> {
        let now = Instant::now();
        let laptop = is_laptop(ip);
        let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
        let verdict = if laptop {
            Verdict::Check
        } else {
            guesses.verdict(ip, now)
        };
        if let Verdict::Refuse(wait) = verdict {
            return Err(Refusal::TooMany(wait));
        }
        let pin = pin.trim();
        if same(pin, &self.pin) {
            return Ok(Level::Control);
        }
        if self.view_pin.as_deref().is_some_and(|v| same(pin, v)) {
            return Ok(Level::View);
        }
        if laptop {
            return Err(Refusal::WrongPin);
        }
        guesses.wrong(ip, verdict, now);
        match verdict {
            Verdict::Guarded(wait) => Err(Refusal::TooMany(wait)),
            _ => Err(Refusal::WrongPin),
        }
    }

    /// What a request may do: by its Bearer PIN, else its session cookie, else viewing
    /// when that needs no PIN.
    pub fn level(&self, ip: IpAddr, headers: &HeaderMap) -> Result<Level, Refusal> {
        if !self.allowed(ip) {
            return Err(Refusal::NotAllowed);
        }
        if let Some(value) = headers.get(AUTHORIZATION) {
            let pin = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(Refusal::NoPin(
                    "the Authorization header must be: Bearer <PIN>",
                ))?;
            return self.check_pin(ip, pin);
        }
        if let Some(level) = session_token(headers).and_then(|t| self.session(t)) {
            return Ok(level);
        }
        Ok(if self.view_needs_pin() {
            Level::Nothing
        } else {
            Level::View
        })
    }

    /// A new session allowing `level`: its token.
    pub fn open_session(&self, level: Level) -> std::io::Result<String> {
        let token = random_hex(16)?;
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, (_, ends)| *ends > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(soonest) = sessions
                .iter()
                .min_by_key(|(_, (_, ends))| *ends)
                .map(|(t, _)| t.clone())
        {
            sessions.remove(&soonest);
        }
        sessions.insert(token.clone(), (level, now + SESSION_LIFE));
        Ok(token)
    }

    /// Ends the session a request's cookie names, if any: whoever holds that cookie is back
    /// to what needs no PIN.
    pub fn close_session(&self, headers: &HeaderMap) -> bool {
        let Some(token) = session_token(headers) else {
            return false;
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(token).is_some()
    }

    fn session(&self, token: &str) -> Option<Level> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(token)
            .filter(|(_, ends)| *ends > Instant::now())
            .map(|(level, _)| *level)
    }
}

/// Whether `ip` is the laptop itself, 127.0.0.1 or ::1 (other loopback addresses, which a
/// test may use as other clients, are treated as the network).
pub fn is_laptop(ip: IpAddr) -> bool {
    matches!(ip.to_canonical(), IpAddr::V4(v4) if v4.octets() == [127, 0, 0, 1])
        || ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
}

/// The session token in a request's cookies, if any.
fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 168, 1, last])
    }

    #[test]
    fn wrong_pins_lock_out_the_address_only() {
        let auth = Auth::new("123456".into(), None, None);
        for _ in 0..super::super::guesses::PER_ADDRESS {
            assert_eq!(auth.check_pin(ip(1), "000000"), Err(Refusal::WrongPin));
        }
        // Even the right PIN is refused now from there, not from elsewhere.
        assert!(matches!(
            auth.check_pin(ip(1), "123456"),
            Err(Refusal::TooMany(_))
        ));
        assert_eq!(auth.check_pin(ip(2), "123456"), Ok(Level::Control));
    }

    #[test]
    fn the_laptop_itself_is_never_locked_out() {
        let auth = Auth::new("123456".into(), None, None);
        let laptop = IpAddr::from([127, 0, 0, 1]);
        for _ in 0..100 {
            assert_eq!(auth.check_pin(laptop, "000000"), Err(Refusal::WrongPin));
        }
        assert_eq!(auth.check_pin(laptop, "123456"), Ok(Level::Control));
        let v6 = IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
        assert_eq!(auth.check_pin(v6, "123456"), Ok(Level::Control));
    }

    #[test]
    fn full_tables_never_refuse_the_right_pin() {
        let auth = Auth::new("123456".into(), None, None);
        // Wrong PINs from more addresses and networks than are remembered, all over IPv4.
        for n in 0..20_000u32 {
            let [_, b, c, d] = n.to_be_bytes();
            let _ = auth.check_pin(IpAddr::from([10, b, c, d]), "000000");
        }
        // Everyone is locked out now; an untouched address is still heard.
        assert_eq!(
            auth.check_pin(IpAddr::from([172, 16, 5, 5]), "123456"),
            Ok(Level::Control)
        );
    }

    #[test]
    fn view_pin_allows_viewing_only() {
        let auth = Auth::new("123456".into(), Some("222222".into()), None);
        assert_eq!(auth.check_pin(ip(1), "222222"), Ok(Level::View));
        let mut headers = HeaderMap::new();
        assert_eq!(auth.level(ip(1), &headers), Ok(Level::Nothing));
        let token = auth.open_session(Level::View).unwrap();
        headers.insert(
            COOKIE,
            format!("other=1; {COOKIE_NAME}={token}").parse().unwrap(),
        );
        assert_eq!(auth.level(ip(1), &headers), Ok(Level::View));
    }

    #[test]
    fn allowlist_refuses_before_any_pin() {
        let nets = vec!["10.0.0.0/8".parse().unwrap()];
        let auth = Auth::new("123456".into(), None, Some(nets));
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Bearer 123456".parse().unwrap());
        assert_eq!(auth.level(ip(1), &headers), Err(Refusal::NotAllowed));
        assert_eq!(
            auth.level(IpAddr::from([10, 1, 2, 3]), &headers),
            Ok(Level::Control)
        );
    }

    #[test]
    fn random_pins_have_six_digits() {
        let pin = random_pin().unwrap();
        assert_eq!(pin.len(), 6);
        assert!(pin.chars().all(|c| c.is_ascii_digit()));
    }
}
