//! sACN (ANSI E1.31-2018) data packets, read by hand: the fixed headers are small, and the
//! receiver rules (START code, preview, sequence) are ours to apply either way.

use super::Malformed;

/// The fixed fields are checked at these offsets (E1.31 table 4-1).
const HEADER: usize = 126;
const MAX: usize = HEADER + 512;
const PACKET_ID: &[u8; 12] = b"ASC-E1.17\0\0\0";
const VECTOR_ROOT_DATA: u32 = 4;
const VECTOR_FRAMING_DATA: u32 = 2;
/// Synchronization and universe discovery.
const VECTOR_ROOT_EXTENDED: u32 = 8;
const OPTION_PREVIEW: u8 = 0x80;
const OPTION_TERMINATED: u8 = 0x40;

/// One data packet, borrowing its slots from the datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The source's UUID: one console, whatever address it sends from.
    pub cid: [u8; 16],
    pub priority: u8,
    pub sequence: u8,
    pub preview: bool,
    pub terminated: bool,
    pub universe: u16,
    pub start_code: u8,
    pub slots: &'a [u8],
}

/// Reads one datagram; a packet whose fixed fields are wrong is refused, as the spec says.
pub fn parse(bytes: &[u8]) -> Result<Packet<'_>, Malformed> {
    if bytes.len() < HEADER || bytes.len() > MAX {
        return Err(Malformed("sACN: not a data packet's length"));
    }
    let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    // Each layer's flags are 0x7 and its length runs to the end of the datagram.
    let layer = |at: usize| u16_at(at) == 0x7000 | (bytes.len() - at) as u16;
    if u16_at(0) != 0x0010 || u16_at(2) != 0 || &bytes[4..16] != PACKET_ID {
        return Err(Malformed("sACN: not an ACN packet"));
    }
    if !layer(16) || u32_at(18) != VECTOR_ROOT_DATA {
        return Err(Malformed("sACN: root layer is not E1.31 data"));
    }
    if !layer(38) || u32_at(40) != VECTOR_FRAMING_DATA {
        return Err(Malformed("sACN: framing layer is not DMX data"));
    }
    let priority = bytes[108];
    if priority > 200 {
        return Err(Malformed("sACN: priority over 200"));
    }
    let universe = u16_at(113);
    if !(1..=63999).contains(&universe) {
        return Err(Malformed("sACN: universe outside 1-63999"));
    }
    if !layer(115)
        || bytes[117] != 0x02
        || bytes[118] != 0xa1
        || u16_at(119) != 0
        || u16_at(121) != 1
    {
        return Err(Malformed("sACN: DMP layer is not a set of slots"));
    }
    if usize::from(u16_at(123)) != bytes.len() - 125 {
        return Err(Malformed("sACN: slot count does not match the length"));
    }
    let options = bytes[112];
    Ok(Packet {
        cid: bytes[22..38].try_into().expect("16 bytes"),
        priority,
        sequence: bytes[111],
        preview: options & OPTION_PREVIEW != 0,
        terminated: options & OPTION_TERMINATED != 0,
        universe,
        start_code: bytes[125],
        slots: &bytes[126..],
    })
}

/// A synchronization or universe-discovery packet: E1.31, but not levels.
pub fn extended(bytes: &[u8]) -> bool {
    bytes.len() >= 22
        && &bytes[4..16] == PACKET_ID
        && bytes[18..22] == VECTOR_ROOT_EXTENDED.to_be_bytes()
}

/// A data packet as a console sends it: for tests, the fuzz target and the bench.
pub fn packet(
    cid: [u8; 16],
    priority: u8,
    sequence: u8,
    options: u8,
    universe: u16,
    slots: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(HEADER + slots.len());
    let len = HEADER + slots.len();
    let flags = |at: usize| (0x7000 | (len - at) as u16).to_be_bytes();
    p.extend_from_slice(&0x0010u16.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(PACKET_ID);
    p.extend_from_slice(&flags(16));
    p.extend_from_slice(&VECTOR_ROOT_DATA.to_be_bytes());
    p.extend_from_slice(&cid);
    p.extend_from_slice(&flags(38));
    p.extend_from_slice(&VECTOR_FRAMING_DATA.to_be_bytes());
    let mut name = [0u8; 64];
    name[..7].copy_from_slice(b"console");
    p.extend_from_slice(&name);
    p.push(priority);
    p.extend_from_slice(&[0, 0]);
    p.push(sequence);
    p.push(options);
    p.extend_from_slice(&universe.to_be_bytes());
    p.extend_from_slice(&flags(115));
    p.extend_from_slice(&[0x02, 0xa1, 0, 0, 0, 1]);
    p.extend_from_slice(&(slots.len() as u16 + 1).to_be_bytes());
    p.push(0);
    p.extend_from_slice(slots);
    p
}

/// The spec's sequence rule: a packet is stale when `new - last` is in (-20, 0]; further
/// behind is a console that restarted, and is taken.
pub fn stale(last: u8, new: u8) -> bool {
    (-19..=0).contains(&(new.wrapping_sub(last) as i8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_packet_reads_back() {
        let bytes = packet([7; 16], 150, 9, OPTION_PREVIEW, 12, &[1, 2, 3]);
        let p = parse(&bytes).unwrap();
        assert_eq!(
            p,
            Packet {
                cid: [7; 16],
                priority: 150,
                sequence: 9,
                preview: true,
                terminated: false,
                universe: 12,
                start_code: 0,
                slots: &[1, 2, 3],
            }
        );
        assert_eq!(
            parse(&packet([0; 16], 100, 0, 0, 1, &[0; 512]))
                .unwrap()
                .slots
                .len(),
            512
        );
    }

    #[test]
    fn wrong_fixed_fields_are_refused() {
        let good = packet([1; 16], 100, 0, 0, 1, &[5; 8]);
        for (at, value) in [
            (1, 0x11),
            (4, b'X'),
            (17, 0),
            (21, 3),
            (43, 1),
            (108, 201),
            (114, 0),
            (118, 0xa0),
            (124, 2),
        ] {
            let mut bad = good.clone();
            bad[at] = value;
            assert!(parse(&bad).is_err(), "byte {at} = {value} taken");
        }
        assert!(parse(&good[..good.len() - 1]).is_err(), "a cut packet");
        assert!(parse(&good[..100]).is_err());
    }

    #[test]
    fn sequence_window() {
        assert!(!stale(10, 11));
        assert!(stale(10, 10));
        assert!(stale(10, 9));
        assert!(stale(10, 247)); // 19 behind, across the wrap
        assert!(!stale(10, 246)); // 20 behind: a restarted console, taken
        assert!(!stale(250, 3)); // ahead across the wrap
    }
}
