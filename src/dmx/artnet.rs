//! Art-Net 4 packets: ArtDmx read, ArtPoll answered with an ArtPollReply naming candela as a
//! media server, since Art-Net 4 consoles send a universe only to nodes that asked for it.

use super::Malformed;
use std::net::SocketAddrV4;

const ID: &[u8; 8] = b"Art-Net\0";
const OP_POLL: u16 = 0x2000;
const OP_POLL_REPLY: u16 = 0x2100;
const OP_DMX: u16 = 0x5000;
const PROTOCOL: u16 = 14;
/// Art-Net 4's ArtPollReply length.
const REPLY_LEN: usize = 239;
/// Style code StMedia: a media server.
const STYLE_MEDIA: u8 = 0x02;

#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Poll,
    Dmx {
        /// 0: the sender does not number its packets.
        sequence: u8,
        /// Net (7 bits), Sub-Net (4), Universe (4).
        port_address: u16,
        slots: &'a [u8],
    },
    /// Some other opcode (timecode, sync, diagnostics): not for us, and not an error.
    Other(u16),
}

pub fn parse(bytes: &[u8]) -> Result<Packet<'_>, Malformed> {
    if bytes.len() < 12 || &bytes[..8] != ID {
        return Err(Malformed("Art-Net: no Art-Net header"));
    }
    let opcode = u16::from_le_bytes([bytes[8], bytes[9]]);
    let version = u16::from_be_bytes([bytes[10], bytes[11]]);
    match opcode {
        OP_POLL | OP_DMX if version < PROTOCOL => Err(Malformed("Art-Net: protocol older than 14")),
        OP_POLL if bytes.len() >= 14 => Ok(Packet::Poll),
        OP_POLL => Err(Malformed("Art-Net: ArtPoll cut short")),
        OP_DMX => {
            if bytes.len() < 18 {
                return Err(Malformed("Art-Net: ArtDmx cut short"));
            }
            let length = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
            if !(2..=512).contains(&length) || length % 2 != 0 {
                return Err(Malformed("Art-Net: ArtDmx length not even in 2-512"));
            }
            let Some(slots) = bytes.get(18..18 + length) else {
                return Err(Malformed("Art-Net: ArtDmx shorter than its length"));
            };
            Ok(Packet::Dmx {
                sequence: bytes[12],
                port_address: u16::from_le_bytes([bytes[14], bytes[15] & 0x7f]),
                slots,
            })
        }
        other => Ok(Packet::Other(other)),
    }
}

/// An ArtDmx as a console sends it: for tests, the fuzz target and the bench.
pub fn dmx(sequence: u8, port_address: u16, slots: &[u8]) -> Vec<u8> {
    let mut p = header(OP_DMX);
    p.extend_from_slice(&PROTOCOL.to_be_bytes());
    p.extend_from_slice(&[sequence, 0]);
    p.extend_from_slice(&port_address.to_le_bytes());
    p.extend_from_slice(&(slots.len() as u16).to_be_bytes());
    p.extend_from_slice(slots);
    p
}

/// An ArtPoll, as a console broadcasts it every few seconds.
pub fn poll() -> Vec<u8> {
    let mut p = header(OP_POLL);
    p.extend_from_slice(&PROTOCOL.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p
}

/// The answer to an ArtPoll: this node at `at`, one output port on `port_address`.
pub fn poll_reply(at: SocketAddrV4, port_address: u16, receiving: bool) -> Vec<u8> {
    let mut p = header(OP_POLL_REPLY);
    p.resize(REPLY_LEN, 0);
    p[10..14].copy_from_slice(&at.ip().octets());
    p[14..16].copy_from_slice(&at.port().to_le_bytes());
    p[16..18].copy_from_slice(&1u16.to_be_bytes()); // firmware version
    p[18] = (port_address >> 8) as u8 & 0x7f; // Net
    p[19] = (port_address >> 4) as u8 & 0x0f; // Sub-Net
    p[23] = 0xd0; // Status1: indicators normal, set up from the network
    text(&mut p[26..44], "candela");
    text(&mut p[44..108], "candela media server (projection)");
    text(&mut p[108..172], "#0001 [0000] candela ok");
    p[173] = 1; // one port
    p[174] = 0x80; // it outputs DMX512 taken from the network
    p[182] = if receiving { 0x80 } else { 0 };
    p[190] = port_address as u8 & 0x0f; // SwOut: the universe
    p[200] = STYLE_MEDIA;
    p[207..211].copy_from_slice(&at.ip().octets());
    p[211] = 1; // BindIndex
    p[212] = 0x08; // Status2: 15-bit port addresses
    p
}

fn header(opcode: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(REPLY_LEN);
    p.extend_from_slice(ID);
    p.extend_from_slice(&opcode.to_le_bytes());
    p
}

/// Writes `s` into a NUL-terminated field, cut to fit.
fn text(field: &mut [u8], s: &str) {
    let n = s.len().min(field.len() - 1);
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_console_dmx_reads_back() {
        let bytes = dmx(3, 0x0123, &[9, 8, 7, 6]);
        assert_eq!(
            parse(&bytes).unwrap(),
            Packet::Dmx {
                sequence: 3,
                port_address: 0x0123,
                slots: &[9, 8, 7, 6]
            }
        );
        assert_eq!(parse(&poll()).unwrap(), Packet::Poll);
    }

    #[test]
    fn bad_dmx_is_refused() {
        assert!(parse(&dmx(0, 1, &[1, 2, 3])).is_err(), "odd length");
        assert!(parse(&dmx(0, 1, &[])).is_err(), "empty");
        let mut cut = dmx(0, 1, &[1, 2, 3, 4]);
        cut.pop();
        assert!(parse(&cut).is_err());
        let mut old = dmx(0, 1, &[1, 2]);
        old[11] = 13;
        assert!(parse(&old).is_err());
        assert!(parse(b"Art-Net").is_err());
        assert!(parse(b"Art-Nex\0\0\x50\0\x0e").is_err());
    }

    #[test]
    fn the_poll_reply_is_a_media_server_on_its_universe() {
        let at = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 5), 6454);
        let r = poll_reply(at, 0x0235, true);
        assert_eq!(r.len(), 239);
        assert_eq!(&r[..8], ID);
        assert_eq!(u16::from_le_bytes([r[8], r[9]]), OP_POLL_REPLY);
        assert_eq!(&r[10..14], &[10, 0, 0, 5]);
        assert_eq!(u16::from_le_bytes([r[14], r[15]]), 6454);
        // Net 2, Sub-Net 3, Universe 5: port address 0x235 rebuilt from the reply's fields.
        let rebuilt = u16::from(r[18]) << 8 | u16::from(r[19]) << 4 | u16::from(r[190]);
        assert_eq!(rebuilt, 0x0235);
        assert_eq!(r[200], STYLE_MEDIA);
        assert!(r[26..44].starts_with(b"candela\0"));
    }
}
