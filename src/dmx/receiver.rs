//! Everything the DMX server does with a datagram, with time passed in: the allowlist,
//! decoding, the merge and the fixture, and what becomes a command. Only changes do: a
//! console's 44 packets a second of the same levels become no command at all.

use super::fixture::Fixture;
use super::merge::{Merge, SourceId, Taken};
use super::{Malformed, artnet, sacn};
use crate::control::{Command, DmxReport, DmxSource};
use crate::log_limit::LogLimit;
use crate::show::DmxSettings;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Largest datagram read: a full sACN data packet is 638 bytes, an ArtDmx 530. Longer ones
/// are refused as malformed, whatever they hold.
pub const MAX_PACKET: usize = 1024;
/// While any console is live the state is told of its sources this often, so the age of
/// their last packet is current to a second; and at once when they change.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);
/// One poller is answered at most this often...
const POLL_REPLY_GAP: Duration = Duration::from_millis(500);
/// ...and all of them together at most this many times a second: an ArtPollReply is 17
/// times the size of an ArtPoll, so a forged poller must not turn candela into a flood.
const POLL_REPLIES_PER_SECOND: u32 = 8;
/// Pollers remembered for [`POLL_REPLY_GAP`]; the table is emptied when it fills.
const POLLERS: usize = 64;

/// What a datagram asks of the server.
#[derive(Debug, Default, PartialEq)]
pub struct Heard {
    /// Commands for the show, each on its own so one refused does not drop the others.
    pub commands: Vec<Command>,
    /// An ArtPoll to be answered with an ArtPollReply, to the sender.
    pub poll: bool,
}

pub struct Receiver {
    settings: DmxSettings,
    merge: Merge,
    fixture: Fixture,
    noise: LogLimit,
    malformed: u64,
    refused: u64,
    /// What was last reported, and when.
    reported: Option<(DmxReport, Duration)>,
    pollers: HashMap<IpAddr, Duration>,
    /// The second poll replies are being counted in, and how many went.
    poll_window: (Duration, u32),
}

impl Receiver {
    pub fn new(settings: DmxSettings) -> Receiver {
        Receiver {
            merge: Merge::new(settings.universe, settings.port_address),
            fixture: Fixture::new(&settings),
            settings,
            noise: LogLimit::default(),
            malformed: 0,
            refused: 0,
            reported: None,
            pollers: HashMap::new(),
            poll_window: (Duration::ZERO, 0),
        }
    }

    pub fn settings(&self) -> &DmxSettings {
        &self.settings
    }

    /// From a listed sender, and no longer than any DMX packet.
    fn admitted(&mut self, bytes: &[u8], from: SocketAddr) -> bool {
        if !self.allowed(from) {
            return false;
        }
        if bytes.len() > MAX_PACKET {
            self.malformed(from, Malformed("longer than any sACN or Art-Net packet"));
            return false;
        }
        true
    }

    fn allowed(&mut self, from: SocketAddr) -> bool {
        let ip = from.ip().to_canonical();
        let ok = self
            .settings
            .allow
            .as_ref()
            .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip)));
        if !ok {
            self.refused += 1;
            self.noise.warn(ip, "denied", || {
                format!("DMX: {from} is not in [dmx] allow (nor [osc] allow when [dmx] has none); its packets are ignored")
            });
        }
        ok
    }

    fn malformed(&mut self, from: SocketAddr, e: Malformed) {
        self.malformed += 1;
        self.noise
            .warn(from.ip(), "malformed", || format!("DMX from {from}: {e}"));
    }

    fn taken(&self, taken: Taken, from: SocketAddr) {
        if taken == Taken::Full {
            self.noise.warn(from.ip(), "full", || {
                format!("DMX from {from}: too many consoles on the universe already (16 sACN, 2 Art-Net); this one is ignored")
            });
        }
    }

    /// One datagram from the sACN socket.
    pub fn sacn(&mut self, bytes: &[u8], from: SocketAddr, now: Duration) -> Heard {
        if !self.admitted(bytes, from) {
            return Heard::default();
        }
        // Synchronization and discovery packets: not levels, and not wrong.
        if sacn::extended(bytes) {
            return Heard::default();
        }
        match sacn::parse(bytes) {
            Ok(p) => {
                let taken = self.merge.sacn(from.ip(), &p, now);
                self.taken(taken, from);
            }
            Err(e) => self.malformed(from, e),
        }
        self.frame(now)
    }

    /// One datagram from the Art-Net socket.
    pub fn artnet(&mut self, bytes: &[u8], from: SocketAddr, now: Duration) -> Heard {
        if !self.admitted(bytes, from) {
            return Heard::default();
        }
        match artnet::parse(bytes) {
            Ok(artnet::Packet::Dmx {
                sequence,
                port_address,
                slots,
            }) => {
                let taken = self
                    .merge
                    .artnet(from.ip(), port_address, sequence, slots, now);
                self.taken(taken, from);
            }
            Ok(artnet::Packet::Poll) => {
                let mut heard = self.frame(now);
                heard.poll = self.may_answer(from.ip(), now);
                return heard;
            }
            Ok(artnet::Packet::Other(_)) => {}
            Err(e) => self.malformed(from, e),
        }
        self.frame(now)
    }

    fn may_answer(&mut self, ip: IpAddr, now: Duration) -> bool {
        if self
            .pollers
            .get(&ip)
            .is_some_and(|&at| now.saturating_sub(at) < POLL_REPLY_GAP)
        {
            return false;
        }
        if now.saturating_sub(self.poll_window.0) >= Duration::from_secs(1) {
            self.poll_window = (now, 0);
        }
        if self.poll_window.1 >= POLL_REPLIES_PER_SECOND {
            return false;
        }
        self.poll_window.1 += 1;
        if self.pollers.len() >= POLLERS {
            self.pollers.clear();
        }
        self.pollers.insert(ip, now);
        true
    }

    /// The merged universe as it stands at `now`, through the fixture: also called between
    /// packets, so a held value counts and a silent console is lost on time.
    pub fn frame(&mut self, now: Duration) -> Heard {
        let levels = self.merge.levels(now);
        Heard {
            commands: self.fixture.frame(levels.as_ref(), now),
            poll: false,
        }
    }

    /// Whether [`Receiver::frame`] must be called again soon: consoles are live, a value
    /// is waiting out its hold, or the loss of the last console is still to be acted on.
    pub fn busy(&self) -> bool {
        !self.merge.sources().is_empty() || self.fixture.seen()
    }

    /// The sources as the state should show them, when that has changed since last told
    /// (or a second has passed while any is live).
    pub fn report(&mut self, now: Duration) -> Option<Command> {
        let settling = self.merge.settling(now);
        let sources = self
            .merge
            .sources()
            .iter()
            .map(|s| DmxSource {
                protocol: match s.id {
                    SourceId::Sacn(_) => "sACN",
                    SourceId::ArtNet(_) => "Art-Net",
                },
                from: s.from.to_string(),
                priority: s.priority,
                age: (now.saturating_sub(s.seen).as_secs_f64() * 10.0).round() / 10.0,
            })
            .collect::<Vec<_>>();
        let report = DmxReport {
            universe: self.settings.universe,
            sources,
            settling,
            malformed: self.malformed,
            refused: self.refused,
        };
        let due = match &self.reported {
            None => true,
            Some((last, at)) => {
                let same_sources = last.sources.len() == report.sources.len()
                    && last.sources.iter().zip(&report.sources).all(|(a, b)| {
                        (a.protocol, &a.from, a.priority) == (b.protocol, &b.from, b.priority)
                    });
                let changed = !same_sources || last.settling != report.settling;
                let stale = now.saturating_sub(*at) >= REPORT_EVERY
                    && (!report.sources.is_empty()
                        || (last.malformed, last.refused) != (report.malformed, report.refused));
                changed || stale
            }
        };
        if !due {
            return None;
        }
        self.reported = Some((report.clone(), now));
        Some(Command::DmxSeen(report))
    }

    /// Whether a report is still owed: counts changed since the last one.
    pub fn owes_report(&self) -> bool {
        self.reported
            .as_ref()
            .is_some_and(|(r, _)| (r.malformed, r.refused) != (self.malformed, self.refused))
    }

    pub fn sweep(&self) {
        self.noise.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::OnLoss;

    fn settings(allow: Option<&str>) -> DmxSettings {
        DmxSettings {
            universe: 1,
            address: 1,
            port_address: 0,
            on_loss: OnLoss::Hold,
            allow: allow.map(|a| vec![a.parse().unwrap()]),
            counters: vec![],
        }
    }
    fn from(n: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, n], 5568))
    }
    fn ms(n: u64) -> Duration {
        Duration::from_secs(10) + Duration::from_millis(n)
    }

    #[test]
    fn a_steady_stream_is_one_command_and_a_report_a_second() {
        let mut r = Receiver::new(settings(None));
        let mut commands = 0;
        let mut reports = 0;
        for i in 0..176u64 {
            let bytes = sacn::packet([1; 16], 100, i as u8, 0, 1, &[255, 0, 0, 0, 0]);
            let t = ms(i * 1000 / 44);
            commands += r.sacn(&bytes, from(2), t).commands.len();
            reports += usize::from(r.report(t).is_some());
        }
        assert_eq!(commands, 1, "four seconds of one look: one master command");
        assert!((4..=6).contains(&reports), "{reports} reports in 4 s");
    }

    #[test]
    fn unlisted_and_malformed_are_counted_not_taken() {
        let mut r = Receiver::new(settings(Some("127.0.0.2/32")));
        let good = sacn::packet([1; 16], 100, 1, 0, 1, &[255]);
        r.sacn(&good, from(3), ms(0));
        r.sacn(&good[..50], from(2), ms(0));
        r.artnet(b"Art-Net\0\0\x50\0\x0e\0\0\0\0\0\x03", from(2), ms(0));
        let Some(Command::DmxSeen(report)) = r.report(ms(0)) else {
            panic!()
        };
        assert_eq!((report.refused, report.malformed), (1, 2));
        assert!(report.sources.is_empty());
    }

    #[test]
    fn polls_are_answered_at_a_bounded_rate() {
        let mut r = Receiver::new(settings(None));
        let poll = artnet::poll();
        assert!(r.artnet(&poll, from(2), ms(0)).poll);
        assert!(
            !r.artnet(&poll, from(2), ms(100)).poll,
            "the same poller too soon"
        );
        assert!(r.artnet(&poll, from(2), ms(600)).poll);
        let answered = (0..=255u8)
            .filter(|&n| {
                r.artnet(&poll, SocketAddr::from(([10, 0, 1, n], 6454)), ms(700))
                    .poll
            })
            .count();
        // Two went in this second already.
        assert_eq!(answered, POLL_REPLIES_PER_SECOND as usize - 2);
    }
}
