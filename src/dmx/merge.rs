//! The universe candela listens to, merged from every console sending it: the highest
//! sACN priority wins, sources at the same priority are merged highest-takes-precedence
//! (HTP), and Art-Net sources count as priority 100, sACN's default.

use super::sacn;
use std::net::IpAddr;
use std::time::Duration;

/// sACN: a source is lost after this long without a packet (E1.31 6.7.1).
pub const SACN_LOSS: Duration = Duration::from_millis(2500);
/// Art-Net: a merged source is held this long (Art-Net 4, "merging").
pub const ARTNET_LOSS: Duration = Duration::from_secs(10);
/// Sources are sampled this long after the first appears before any level is acted on, as
/// ETC's receiver does, so a lower-priority console never flashes the wall while the
/// others are being learnt.
pub const SETTLE: Duration = Duration::from_millis(1500);
/// More consoles than this on one universe is not a show: the rest are refused, counted.
const MAX_SACN: usize = 16;
/// Art-Net merges at most two sources.
const MAX_ARTNET: usize = 2;
const ARTNET_PRIORITY: u8 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceId {
    Sacn([u8; 16]),
    ArtNet(IpAddr),
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: SourceId,
    /// Where its packets come from, for the state and the log.
    pub from: IpAddr,
    pub priority: u8,
    /// When its last packet came, on the receiver's clock.
    pub seen: Duration,
    sequence: Option<u8>,
    levels: [u8; 512],
}

/// What became of a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    Levels,
    /// Another universe, a preview, a START code that is not levels, or the end of a stream:
    /// nothing to act on, and nothing wrong.
    Ignored,
    /// Older than the last one from its source.
    Stale,
    /// No room for another source.
    Full,
}

pub struct Merge {
    universe: u16,
    port_address: u16,
    sources: Vec<Source>,
    /// When the first of the current sources appeared.
    since: Option<Duration>,
}

impl Merge {
    /// Listens to sACN `universe` and Art-Net `port_address`.
    pub fn new(universe: u16, port_address: u16) -> Merge {
        Merge {
            universe,
            port_address,
            sources: Vec::new(),
            since: None,
        }
    }

    pub fn sacn(&mut self, from: IpAddr, p: &sacn::Packet, now: Duration) -> Taken {
        let id = SourceId::Sacn(p.cid);
        if p.universe != self.universe || p.preview {
            return Taken::Ignored;
        }
        if p.terminated {
            // Sent three times; its values are not to be used.
            self.sources.retain(|s| s.id != id);
            return Taken::Ignored;
        }
        // ETC's 0xDD carries per-slot priorities, not levels: taken as levels, the wall flickers.
        if p.start_code != 0 {
            return Taken::Ignored;
        }
        self.take(id, from, p.priority, Some(p.sequence), p.slots, now)
    }

    pub fn artnet(
        &mut self,
        from: IpAddr,
        port_address: u16,
        sequence: u8,
        slots: &[u8],
        now: Duration,
    ) -> Taken {
        if port_address != self.port_address {
            return Taken::Ignored;
        }
        let sequence = (sequence != 0).then_some(sequence);
        self.take(
            SourceId::ArtNet(from),
            from,
            ARTNET_PRIORITY,
            sequence,
            slots,
            now,
        )
    }

    fn take(
        &mut self,
        id: SourceId,
        from: IpAddr,
        priority: u8,
        sequence: Option<u8>,
        slots: &[u8],
        now: Duration,
    ) -> Taken {
        self.forget_lost(now);
        let index = match self.sources.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                let artnet = matches!(id, SourceId::ArtNet(_));
                let cap = if artnet { MAX_ARTNET } else { MAX_SACN };
                let alike = self
                    .sources
                    .iter()
                    .filter(|s| matches!(s.id, SourceId::ArtNet(_)) == artnet);
                if alike.count() >= cap {
                    return Taken::Full;
                }
                self.since.get_or_insert(now);
                self.sources.push(Source {
                    id,
                    from,
                    priority,
                    seen: now,
                    sequence: None,
                    levels: [0; 512],
                });
                self.sources.len() - 1
            }
        };
        let source = &mut self.sources[index];
        if let (Some(last), Some(new)) = (source.sequence, sequence)
            && sacn::stale(last, new)
        {
            return Taken::Stale;
        }
        source.sequence = sequence;
        source.priority = priority;
        source.seen = now;
        source.from = from;
        // Slots a console does not send are at zero; both parsers keep to 512.
        let n = slots.len().min(512);
        source.levels = [0; 512];
        source.levels[..n].copy_from_slice(&slots[..n]);
        Taken::Levels
    }

    fn forget_lost(&mut self, now: Duration) {
        self.sources.retain(|s| {
            let loss = match s.id {
                SourceId::Sacn(_) => SACN_LOSS,
                SourceId::ArtNet(_) => ARTNET_LOSS,
            };
            now.saturating_sub(s.seen) < loss
        });
        if self.sources.is_empty() {
            self.since = None;
        }
    }

    /// The merged universe now; None while no source is live, or while they are being learnt.
    pub fn levels(&mut self, now: Duration) -> Option<[u8; 512]> {
        self.forget_lost(now);
        if now.saturating_sub(self.since?) < SETTLE {
            return None;
        }
        let top = self.sources.iter().map(|s| s.priority).max()?;
        let mut merged = [0u8; 512];
        for s in self.sources.iter().filter(|s| s.priority == top) {
            for (m, v) in merged.iter_mut().zip(s.levels) {
                *m = (*m).max(v);
            }
        }
        Some(merged)
    }

    /// Whether sources are being learnt (some live, none acted on yet).
    pub fn settling(&self, now: Duration) -> bool {
        self.since
            .is_some_and(|since| now.saturating_sub(since) < SETTLE)
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const T0: Duration = Duration::from_secs(100);
    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
    }
    fn ms(n: u64) -> Duration {
        T0 + Duration::from_millis(n)
    }
    fn send(
        m: &mut Merge,
        cid: u8,
        priority: u8,
        seq: u8,
        options: u8,
        slots: &[u8],
        at: Duration,
    ) -> Taken {
        let bytes = sacn::packet([cid; 16], priority, seq, options, 1, slots);
        m.sacn(ip(cid), &sacn::parse(&bytes).unwrap(), at)
    }

    #[test]
    fn nothing_is_acted_on_while_sources_are_learnt() {
        let mut m = Merge::new(1, 0);
        assert_eq!(send(&mut m, 1, 100, 1, 0, &[50], T0), Taken::Levels);
        assert_eq!(m.levels(ms(1400)), None);
        assert!(m.settling(ms(1400)));
        assert_eq!(m.levels(ms(1500)).unwrap()[0], 50);
    }

    #[test]
    fn the_highest_priority_wins_and_equals_merge_htp() {
        let mut m = Merge::new(1, 0);
        send(&mut m, 1, 100, 1, 0, &[200, 10], T0);
        send(&mut m, 2, 150, 1, 0, &[20, 30], T0);
        assert_eq!(m.levels(ms(1500)).unwrap()[..2], [20, 30]);
        send(&mut m, 1, 150, 2, 0, &[200, 10], ms(1600));
        assert_eq!(m.levels(ms(1600)).unwrap()[..2], [200, 30]);
    }

    #[test]
    fn stale_preview_other_start_codes_and_universes_are_not_levels() {
        let mut m = Merge::new(1, 0);
        send(&mut m, 1, 100, 10, 0, &[40], T0);
        assert_eq!(send(&mut m, 1, 100, 9, 0, &[99], ms(10)), Taken::Stale);
        assert_eq!(
            send(&mut m, 1, 100, 11, 0x80, &[99], ms(20)),
            Taken::Ignored
        );
        let mut dd = sacn::packet([1; 16], 100, 12, 0, 1, &[99]);
        dd[125] = 0xdd;
        assert_eq!(
            m.sacn(ip(1), &sacn::parse(&dd).unwrap(), ms(30)),
            Taken::Ignored
        );
        let other = sacn::packet([1; 16], 100, 13, 0, 2, &[99]);
        assert_eq!(
            m.sacn(ip(1), &sacn::parse(&other).unwrap(), ms(40)),
            Taken::Ignored
        );
        assert_eq!(m.levels(ms(1500)).unwrap()[0], 40);
    }

    #[test]
    fn a_source_is_lost_on_termination_or_silence() {
        let mut m = Merge::new(1, 0);
        send(&mut m, 1, 100, 1, 0, &[40], T0);
        send(&mut m, 2, 100, 1, 0, &[60], T0);
        assert_eq!(m.levels(ms(1500)).unwrap()[0], 60);
        assert_eq!(
            send(&mut m, 2, 100, 2, 0x40, &[255], ms(1600)),
            Taken::Ignored
        );
        assert_eq!(
            m.levels(ms(1600)).unwrap()[0],
            40,
            "terminated: its values dropped"
        );
        assert_eq!(m.levels(T0 + SACN_LOSS), None, "silent 2.5 s: lost");
        assert!(m.sources().is_empty());
    }

    #[test]
    fn artnet_merges_two_sources_and_refuses_a_third() {
        let mut m = Merge::new(1, 0x12);
        assert_eq!(m.artnet(ip(1), 0x12, 0, &[10, 90], T0), Taken::Levels);
        assert_eq!(m.artnet(ip(2), 0x12, 0, &[80, 20], T0), Taken::Levels);
        assert_eq!(m.artnet(ip(3), 0x12, 0, &[255, 255], T0), Taken::Full);
        assert_eq!(m.artnet(ip(3), 0x13, 0, &[255, 255], T0), Taken::Ignored);
        assert_eq!(m.levels(ms(1500)).unwrap()[..2], [80, 90]);
        assert_eq!(m.levels(T0 + ARTNET_LOSS), None);
    }
}
