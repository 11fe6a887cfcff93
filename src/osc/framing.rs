//! Cutting a TCP byte stream into OSC packets: OSC 1.0 length prefixes or OSC 1.1 SLIP.
//!
//! Done here rather than with rosc's TCP helpers, which mis-handle some streams and know no
//! SLIP; each exact frame then goes to [`super::packet::decode`].

use std::mem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// OSC 1.0: a 4-byte big-endian length before each packet.
    LengthPrefixed,
    /// OSC 1.1: SLIP (RFC 1055).
    Slip,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("length prefix of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("SLIP frame longer than the {max}-byte limit")]
    SlipTooLarge { max: usize },
    #[error("SLIP escape followed by {0:#04x}, not 0xdc or 0xdd")]
    BadEscape(u8),
}

const END: u8 = 0xC0;
const ESC: u8 = 0xDB;
const ESC_END: u8 = 0xDC;
const ESC_ESC: u8 = 0xDD;

/// Holds at most one partial frame (no more than `max_frame` bytes plus a length prefix),
/// whatever the peer sends.
#[derive(Debug)]
pub struct StreamDecoder {
    max_frame: usize,
    framing: Option<Framing>,
    /// The partial frame; for length-prefixed streams, prefix included.
    buf: Vec<u8>,
    /// SLIP: the last byte was ESC.
    escaped: bool,
    /// Once a stream is broken, nothing after the error can be trusted to be a frame boundary.
    broken: Option<FrameError>,
}

impl StreamDecoder {
    /// `max_frame`: largest packet accepted.
    pub fn new(max_frame: usize) -> Self {
        Self {
            max_frame,
            framing: None,
            buf: Vec::new(),
            escaped: false,
            broken: None,
        }
    }

    /// The framing, once the first byte has told it (0xC0 first means SLIP, anything else
    /// length-prefixed). Unambiguous: a length prefix starting 0xC0 would be over 3 GiB.
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// Feeds bytes as they arrive, split anyhow, and returns every packet completed, in order.
    /// Empty packets are skipped. An error means the stream is broken and the connection should
    /// be closed; later calls return the same error.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let Some(&first) = bytes.first() else {
            return Ok(Vec::new());
        };
        let framing = *self.framing.get_or_insert(if first == END {
            Framing::Slip
        } else {
            Framing::LengthPrefixed
        });
        let mut packets = Vec::new();
        let result = match framing {
            Framing::LengthPrefixed => self.push_prefixed(bytes, &mut packets),
            Framing::Slip => self.push_slip(bytes, &mut packets),
        };
        match result {
            Ok(()) => Ok(packets),
            Err(e) => {
                self.buf = Vec::new();
                self.broken = Some(e.clone());
                Err(e)
            }
        }
    }

    fn push_prefixed(
        &mut self,
        mut bytes: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), FrameError> {
        while !bytes.is_empty() {
            let want = match self.buf.first_chunk::<4>() {
                Some(prefix) => 4 + u32::from_be_bytes(*prefix) as usize,
                None => 4,
            };
            let (head, tail) = bytes.split_at((want - self.buf.len()).min(bytes.len()));
            self.buf.extend_from_slice(head);
            bytes = tail;
            let Some(prefix) = self.buf.first_chunk::<4>() else {
                continue;
            };
            let len = u32::from_be_bytes(*prefix) as usize;
            if len > self.max_frame {
                return Err(FrameError::TooLarge {
                    len,
                    max: self.max_frame,
                });
            }
            if self.buf.len() == 4 + len {
                if len > 0 {
                    out.push(self.buf[4..].to_vec());
                }
                self.buf.clear();
            }
        }
        Ok(())
    }

    fn push_slip(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), FrameError> {
        for &byte in bytes {
            let byte = match (mem::take(&mut self.escaped), byte) {
                (true, ESC_END) => END,
                (true, ESC_ESC) => ESC,
                (true, other) => return Err(FrameError::BadEscape(other)),
                (false, ESC) => {
                    self.escaped = true;
                    continue;
                }
                (false, END) => {
                    if !self.buf.is_empty() {
                        out.push(mem::take(&mut self.buf));
                    }
                    continue;
                }
                (false, byte) => byte,
            };
            if self.buf.len() == self.max_frame {
                return Err(FrameError::SlipTooLarge {
                    max: self.max_frame,
                });
            }
            self.buf.push(byte);
        }
        Ok(())
    }
}

/// One packet framed for a TCP stream; SLIP frames get END before and after ("double END"), so
/// a receiver drops any line noise before the first frame as an empty or bad packet.
///
/// Panics on a packet over 4 GiB, which no OSC length prefix can describe.
pub fn encode(framing: Framing, packet: &[u8]) -> Vec<u8> {
    match framing {
        Framing::LengthPrefixed => {
            let len = u32::try_from(packet.len()).expect("OSC packet over 4 GiB");
            [&len.to_be_bytes()[..], packet].concat()
        }
        Framing::Slip => {
            let mut out = Vec::with_capacity(packet.len() + packet.len() / 8 + 2);
            out.push(END);
            for &byte in packet {
                match byte {
                    END => out.extend([ESC, ESC_END]),
                    ESC => out.extend([ESC, ESC_ESC]),
                    _ => out.push(byte),
                }
            }
            out.push(END);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osc::packet;

    const MAX: usize = 64 * 1024;
    const FRAMINGS: [Framing; 2] = [Framing::LengthPrefixed, Framing::Slip];

    const EOS_PING_TCP: [u8; 20] = [
        0x00, 0x00, 0x00, 0x10, 0x2f, 0x65, 0x6f, 0x73, 0x2f, 0x70, 0x69, 0x6e, 0x67, 0x00, 0x00,
        0x00, 0x2c, 0x00, 0x00, 0x00,
    ];

    /// Packets chosen so that SLIP has something to escape, including at the edges.
    fn packets() -> Vec<Vec<u8>> {
        vec![
            packet::encode_message("/eos/ping", vec![]),
            packet::encode_message(
                "/blob",
                vec![rosc::OscType::Blob(vec![
                    END, ESC, 1, ESC_END, ESC, ESC_ESC, END,
                ])],
            ),
            vec![END, END, ESC, ESC],
            vec![ESC, 0, END],
            packet::encode_message("/x", vec![rosc::OscType::Int(0xC0DB_C0DB_u32 as i32)]),
        ]
    }

    fn stream(framing: Framing) -> Vec<u8> {
        packets().iter().flat_map(|p| encode(framing, p)).collect()
    }

    #[test]
    fn eos_ping_length_prefixed() {
        let mut decoder = StreamDecoder::new(MAX);
        assert_eq!(decoder.framing(), None);
        let frames = decoder.push(&EOS_PING_TCP).unwrap();
        assert_eq!(decoder.framing(), Some(Framing::LengthPrefixed));
        assert_eq!(frames, [EOS_PING_TCP[4..].to_vec()]);
        assert_eq!(frames[0].len(), 16);
        let timed = packet::decode(&frames[0]).unwrap();
        assert_eq!(timed.len(), 1);
        assert_eq!(timed[0].message.address, "/eos/ping");
        assert!(timed[0].message.args.is_empty());
        assert_eq!(encode(Framing::LengthPrefixed, &frames[0]), EOS_PING_TCP);
    }

    #[test]
    fn slip_escapes_and_double_end() {
        assert_eq!(
            encode(Framing::Slip, &[1, END, 2, ESC, 3]),
            [END, 1, ESC, ESC_END, 2, ESC, ESC_ESC, 3, END]
        );
        let mut decoder = StreamDecoder::new(MAX);
        let frames = decoder.push(&encode(Framing::Slip, &[END, ESC])).unwrap();
        assert_eq!(decoder.framing(), Some(Framing::Slip));
        assert_eq!(frames, [vec![END, ESC]]);
    }

    #[test]
    fn coalesced_frames_come_out_in_order() {
        for framing in FRAMINGS {
            let mut decoder = StreamDecoder::new(MAX);
            assert_eq!(
                decoder.push(&stream(framing)).unwrap(),
                packets(),
                "{framing:?}"
            );
            assert_eq!(decoder.framing(), Some(framing));
            assert!(decoder.buf.is_empty());
        }
    }

    #[test]
    fn frames_split_anywhere_come_out_identical() {
        for framing in FRAMINGS {
            let bytes = stream(framing);
            for cut in 0..=bytes.len() {
                let mut decoder = StreamDecoder::new(MAX);
                let mut frames = decoder.push(&bytes[..cut]).unwrap();
                frames.extend(decoder.push(&bytes[cut..]).unwrap());
                assert_eq!(frames, packets(), "{framing:?} cut at {cut}");
            }
            let mut decoder = StreamDecoder::new(MAX);
            let frames: Vec<Vec<u8>> = bytes
                .iter()
                .flat_map(|b| decoder.push(&[*b]).unwrap())
                .collect();
            assert_eq!(frames, packets(), "{framing:?} byte by byte");
        }
    }

    #[test]
    fn empty_frames_are_skipped() {
        let mut decoder = StreamDecoder::new(MAX);
        let mut bytes = vec![0, 0, 0, 0];
        bytes.extend(EOS_PING_TCP);
        bytes.extend([0, 0, 0, 0]);
        assert_eq!(decoder.push(&bytes).unwrap(), [EOS_PING_TCP[4..].to_vec()]);

        let mut decoder = StreamDecoder::new(MAX);
        let frames = decoder
            .push(&[END, END, END, 7, END, END, END, 8, END])
            .unwrap();
        assert_eq!(frames, [vec![7], vec![8]]);
    }

    #[test]
    fn frames_up_to_the_limit_pass() {
        let packet = vec![END; 16];
        for framing in FRAMINGS {
            let mut decoder = StreamDecoder::new(16);
            let frames = decoder.push(&encode(framing, &packet)).unwrap();
            assert_eq!(frames, std::slice::from_ref(&packet), "{framing:?}");
        }
    }

    #[test]
    fn over_long_length_prefix_is_an_error() {
        let mut decoder = StreamDecoder::new(MAX);
        let prefix = (MAX as u32 + 1).to_be_bytes();
        // Rejected on the prefix alone, before any body is buffered.
        assert_eq!(decoder.push(&prefix[..3]).unwrap(), Vec::<Vec<u8>>::new());
        let err = decoder.push(&prefix[3..]).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                len: MAX + 1,
                max: MAX
            }
        );
        // The stream stays broken: later bytes are not taken for a fresh frame.
        assert_eq!(decoder.push(&EOS_PING_TCP), Err(err));
    }

    #[test]
    fn over_long_slip_frame_is_an_error() {
        let mut decoder = StreamDecoder::new(MAX);
        decoder.push(&[END]).unwrap();
        let chunk = [0x41; 1000];
        let mut pushed = 0;
        let err = loop {
            match decoder.push(&chunk) {
                Ok(frames) => assert!(frames.is_empty()),
                Err(e) => break e,
            }
            pushed += chunk.len();
            assert!(decoder.buf.len() <= MAX);
            assert!(pushed <= MAX, "buffered past the limit");
        };
        assert_eq!(err, FrameError::SlipTooLarge { max: MAX });
        assert!(decoder.push(&[END]).is_err());
    }

    #[test]
    fn bad_slip_escape_is_an_error() {
        for after in [0x00, 0x41, END, ESC, 0xFF] {
            let mut decoder = StreamDecoder::new(MAX);
            let err = decoder.push(&[END, 1, ESC, after, END]).unwrap_err();
            assert_eq!(err, FrameError::BadEscape(after));
        }
    }

    #[test]
    fn fuzzed_streams_never_panic_and_stay_bounded() {
        let mut rng = crate::random::Xorshift::new(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.draw();
        let max = 256;
        for round in 0..3000 {
            let mut bytes = if round % 3 == 0 {
                (0..next() % 600).map(|_| next() as u8).collect()
            } else {
                stream(FRAMINGS[round % 2])
            };
            for _ in 0..next() % 4 {
                if bytes.is_empty() {
                    break;
                }
                let at = (next() as usize) % bytes.len();
                bytes[at] = [END, ESC, ESC_END, 0, next() as u8][(next() % 5) as usize];
            }
            let mut decoder = StreamDecoder::new(max);
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(((next() % 40) as usize + 1).min(rest.len()));
                rest = tail;
                match decoder.push(chunk) {
                    Ok(frames) => {
                        for frame in frames {
                            assert!(!frame.is_empty() && frame.len() <= max);
                            let _ = packet::decode(&frame);
                        }
                    }
                    Err(_) => break,
                }
                assert!(decoder.buf.len() <= max + 4);
            }
        }
    }
}
