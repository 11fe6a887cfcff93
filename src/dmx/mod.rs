//! DMX from lighting desks over the network: sACN (E1.31) and Art-Net 4 packets read by
//! hand ([`sacn`], [`artnet`]), every console on the universe merged ([`merge`]), and the
//! fixture personality that turns its channels into commands ([`fixture`]). All of it is
//! pure, with time passed in ([`receiver`] ties them together); [`server`] feeds it from
//! the sockets, on a thread of its own.

pub mod artnet;
pub mod fixture;
pub mod fuzz;
pub mod merge;
pub mod receiver;
pub mod sacn;
pub mod server;

/// A packet refused, and why, for a counted, rate-limited log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
