//! PJLink Class 2 search: `%2SRCH` broadcast to UDP 4352, each projector answering
//! `%2ACKN=<MAC>`. Only Class 2 projectors answer; Class 1 ones are found by their address.

use super::protocol::{self, MAX_LINE};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Answers kept at most: a network flooding the port cannot grow the list without bound.
pub const MOST_FOUND: usize = 256;

/// One projector that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub addr: SocketAddr,
    pub mac: String,
}

/// Sends the search to `to` (the broadcast address, or one projector) from `from` and
/// collects the answers for `wait`, each address once.
pub fn search(from: SocketAddr, to: SocketAddr, wait: Duration) -> std::io::Result<Vec<Found>> {
    let socket = UdpSocket::bind(from)?;
    socket.set_broadcast(true)?;
    socket.send_to(b"%2SRCH\r", to)?;
    let end = Instant::now() + wait;
    let mut found: Vec<Found> = Vec::new();
    let mut buf = [0u8; MAX_LINE + 1];
    while found.len() < MOST_FOUND {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        socket.set_read_timeout(Some(left))?;
        let (n, addr) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => return Err(e),
        };
        let line = String::from_utf8_lossy(&buf[..n]);
        let Some(reply) = protocol::reply(&line) else {
            continue;
        };
        if reply.command != "ACKN" || found.iter().any(|f| f.addr == addr) {
            continue;
        }
        if let Ok(mac) = reply.value {
            found.push(Found {
                addr,
                mac: mac.chars().take(17).collect(),
            });
        }
    }
    Ok(found)
}
