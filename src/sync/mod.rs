//! Several machines in step: one leads, the others follow, each rendering its own outputs.
//!
//! The engine is pure with time passed in, so two engines given the same show and the same
//! commands at the same show times compute the same frame. The leader therefore relays the
//! commands it takes, not pictures or state: each goes out numbered and timed a fixed delay
//! ahead ([`DEFAULT_DELAY`]), and the leader applies it at that time too, so every machine
//! changes on the same frame however late the datagram arrived within the delay. Show time is
//! the same on every machine because a follower puts its time zero where the leader's is on
//! the wall clock, which chrony or linuxptp keep together (README); the heartbeats measure
//! how far apart the clocks are. A follower that joins takes the leader's moment
//! (`control::Moment`) and is in step from its next frame.
//!
//! - [`wire`]: the OSC messages;
//! - [`leader`] and [`follower`]: each side's logic, pure;
//! - [`link`]: the socket's thread and the player's side.

pub mod follower;
pub mod leader;
pub mod link;
pub mod wire;

pub use link::Link;

use std::net::SocketAddr;
use std::time::Duration;

/// How far ahead a leader times what it relays unless told otherwise: room for a datagram
/// to cross a busy show network and a follower's frame to start, yet short enough that an
/// operator feels no lag.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(100);
/// Where a leader listens unless told otherwise (next to OSC's 9000).
pub const DEFAULT_PORT: u16 = 9001;

#[derive(Debug, Clone, PartialEq)]
pub enum SyncOptions {
    Lead {
        bind: SocketAddr,
        delay: Duration,
    },
    Follow {
        leader: SocketAddr,
        bind: SocketAddr,
    },
}

/// The show file's tables that belong to one machine: its outputs, masks, projectors and
/// listeners. Two machines whose files differ only there play the same show.
const OWN_TABLES: [&str; 7] = [
    "outputs",
    "masks",
    "projectors",
    "pjlink",
    "osc",
    "web",
    "dmx",
];

/// What makes two machines' shows the same: the show file without each machine's own
/// tables, and every photo's bytes. A hash, hex; a file that cannot be read gives a hash of
/// the reason, which matches no other machine's show.
pub fn fingerprint(show: &crate::show::Show) -> String {
    use ring::digest::{Context, SHA256};
    let mut hash = Context::new(&SHA256);
    let text = std::fs::read_to_string(&show.path).map_err(|e| e.to_string());
    match text.and_then(|t| toml::from_str::<toml::Table>(&t).map_err(|e| e.to_string())) {
        Ok(mut table) => {
            for own in OWN_TABLES {
                table.remove(own);
            }
            hash.update(toml::to_string(&table).unwrap_or_default().as_bytes());
        }
        Err(e) => hash.update(format!("unreadable {}: {e}", show.path.display()).as_bytes()),
    }
    for slide in &show.slides {
        if let crate::show::SlideContent::Portrait(p) = &slide.content
            && let Some(image) = &p.image
        {
            hash.update(slide.id.as_bytes());
            match std::fs::read(&image.value) {
                Ok(bytes) => hash.update(&bytes),
                Err(e) => hash.update(format!("unreadable: {e}").as_bytes()),
            }
        }
    }
    hash.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A leader's sync address as an operator gives it over OSC or the web: `IP:PORT`, or an
/// IP address alone for the default port. (No name lookup there: it could hold up the show.)
pub fn parse_address(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    s.parse::<SocketAddr>()
        .or_else(|_| {
            s.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
        })
        .map_err(|_| format!("{s:?} is no sync address: give IP:PORT"))
}

/// The wall clock now, in ns since 1970.
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
