//! The limit on wrong PINs, so that a network full of addresses cannot find a six-digit PIN
//! in a night, while the operator still gets in.
//!
//! Wrong PINs are counted at three levels, each with its own limit per [`WINDOW`]: the exact
//! address, its network (an IPv4 /24, an IPv6 /64: a phone's privacy addresses, or a venue's
//! Wi-Fi), and every source together. Each level that goes over its limit locks for a while
//! that doubles each time it trips again (from [`FIRST_LOCKOUT`] up to [`LONGEST_LOCKOUT`]),
//! and forgets one doubling per [`FORGIVE`] of quiet.
//!
//! - An address over its own limit is refused every PIN, the right one too, until its lockout
//!   ends.
//! - While its network or everyone is locked out, a PIN is only checked from an address that
//!   has sent no wrong PIN lately: the operator's phone, untouched, still logs in. One wrong
//!   PIN from such an address then locks it until that lockout ends, so each address an
//!   attacker holds buys one guess per lockout (an hour once an attack goes on).
//!
//! The tables are bounded; when full, the address first seen longest ago is forgotten. Nothing
//! here ever refuses a PIN for want of room.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong PINs are counted over this long.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Wrong PINs one address may send in a window before it is locked out.
pub const PER_ADDRESS: u32 = 5;
/// ...one network (IPv4 /24, IPv6 /64) before only its untouched addresses are heard.
pub const PER_NETWORK: u32 = 10;
/// ...all sources together before only untouched addresses are heard, from anywhere.
pub const EVERYONE: u32 = 20;
/// A level's first lockout; each further one in a row doubles it...
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(60);
/// ...up to this.
pub const LONGEST_LOCKOUT: Duration = Duration::from_secs(3600);
/// Each this long without a wrong PIN forgives one doubling.
pub const FORGIVE: Duration = Duration::from_secs(600);
/// Exact addresses remembered at once.
const ADDRESSES: usize = 8192;
/// Networks remembered at once.
const NETWORKS: usize = 4096;

/// Wrong PINs from one source (an address, a network, everyone): counted per window, with a
/// lockout that doubles each time it trips.
#[derive(Debug, Clone, Copy)]
struct Strikes {
    since: Instant,
    count: u32,
    until: Option<Instant>,
    /// Lockouts in a row, for the next one's length.
    trips: u32,
    last: Instant,
}

impl Strikes {
    fn new(now: Instant) -> Strikes {
        Strikes {
            since: now,
            count: 0,
            until: None,
            trips: 0,
            last: now,
        }
    }

    /// How long this source is still locked out, if it is.
    fn locked(&self, now: Instant) -> Option<Duration> {
        self.until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Whether it sent a wrong PIN in the window, or is locked out.
    fn touched(&self, now: Instant) -> bool {
        (self.count > 0 && now.duration_since(self.since) < WINDOW) || self.locked(now).is_some()
    }

    /// One more wrong PIN; past `limit` in the window, the lockout trips (again).
    fn strike(&mut self, now: Instant, limit: u32) {
        if self.locked(now).is_none() {
            let quiet_since = self.until.map_or(self.last, |until| until.max(self.last));
            let quiet = now.duration_since(quiet_since).as_secs() / FORGIVE.as_secs();
            self.trips = self
                .trips
                .saturating_sub(quiet.try_into().unwrap_or(u32::MAX));
        }
        if now.duration_since(self.since) >= WINDOW {
            self.since = now;
            self.count = 0;
        }
        self.count += 1;
        self.last = now;
        if self.count >= limit {
            let lockout = FIRST_LOCKOUT
                .saturating_mul(1 << self.trips.min(16))
                .min(LONGEST_LOCKOUT);
            self.until = Some(now + lockout);
            self.trips += 1;
            self.since = now;
            self.count = 0;
        }
    }
}

/// A map of at most `cap` entries that forgets the one first seen longest ago to make room.
struct Bounded<K> {
    cap: usize,
    map: HashMap<K, Strikes>,
    /// The keys in the order first seen.
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Copy> Bounded<K> {
    fn new(cap: usize) -> Bounded<K> {
        Bounded {
            cap,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, key: &K) -> Option<&Strikes> {
        self.map.get(key)
    }

    fn entry(&mut self, key: K, now: Instant) -> &mut Strikes {
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.cap
                && let Some(old) = self.order.pop_front()
            {
                self.map.remove(&old);
            }
            self.order.push_back(key);
        }
        self.map.entry(key).or_insert_with(|| Strikes::new(now))
    }
}

/// An IPv4 /24 or an IPv6 /64 (an IPv4-mapped IPv6 address is its IPv4 one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Network {
    V4([u8; 3]),
    V6([u8; 8]),
}

fn network(ip: IpAddr) -> Network {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Network::V4([a, b, c])
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            Network::V6(o[..8].try_into().expect("8 of 16 bytes"))
        }
    }
}

/// What to do with a PIN from an address, before it is compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Compare it.
    Check,
    /// Compare it, but a wrong one locks the address for this long (its network or everyone is
    /// locked out).
    Guarded(Duration),
    /// Refuse it unheard, for this long.
    Refuse(Duration),
}

pub struct Guesses {
    addresses: Bounded<IpAddr>,
    networks: Bounded<Network>,
    everyone: Strikes,
}

impl Guesses {
    pub fn new(now: Instant) -> Guesses {
        Guesses {
            addresses: Bounded::new(ADDRESSES),
            networks: Bounded::new(NETWORKS),
            everyone: Strikes::new(now),
        }
    }

    /// Whether a PIN from `ip` is heard now.
    pub fn verdict(&self, ip: IpAddr, now: Instant) -> Verdict {
        let ip = ip.to_canonical();
        let address = self.addresses.get(&ip);
        if let Some(wait) = address.and_then(|a| a.locked(now)) {
            return Verdict::Refuse(wait);
        }
        let network = self.networks.get(&network(ip)).and_then(|n| n.locked(now));
        let Some(wait) = network.max(self.everyone.locked(now)) else {
            return Verdict::Check;
        };
        if address.is_some_and(|a| a.touched(now)) {
            Verdict::Refuse(wait)
        } else {
            Verdict::Guarded(wait)
        }
    }

    /// Counts a wrong PIN from `ip`, which was heard under `verdict`.
    pub fn wrong(&mut self, ip: IpAddr, verdict: Verdict, now: Instant) {
        let ip = ip.to_canonical();
        let address = self.addresses.entry(ip, now);
        address.strike(now, PER_ADDRESS);
        if let Verdict::Guarded(wait) = verdict {
            address.until = address.until.max(Some(now + wait));
        }
        self.networks
            .entry(network(ip), now)
            .strike(now, PER_NETWORK);
        self.everyone.strike(now, EVERYONE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::from([a, b, c, d])
    }

    /// A wrong PIN from `ip` as the limiter would hear it; its verdict.
    fn guess(g: &mut Guesses, ip: IpAddr, now: Instant) -> Verdict {
        let verdict = g.verdict(ip, now);
        if !matches!(verdict, Verdict::Refuse(_)) {
            g.wrong(ip, verdict, now);
        }
        verdict
    }

    #[test]
    fn one_address_is_locked_out_and_its_lockouts_double() {
        let now = Instant::now();
        let mut g = Guesses::new(now);
        let ip = v4(192, 168, 1, 7);
        for _ in 0..PER_ADDRESS {
            assert_eq!(guess(&mut g, ip, now), Verdict::Check);
        }
        assert_eq!(g.verdict(ip, now), Verdict::Refuse(FIRST_LOCKOUT));
        // Its neighbour is untouched.
        assert_eq!(g.verdict(v4(192, 168, 1, 8), now), Verdict::Check);
        let later = now + FIRST_LOCKOUT;
        for _ in 0..PER_ADDRESS {
            assert_eq!(guess(&mut g, ip, later), Verdict::Check);
        }
        assert_eq!(g.verdict(ip, later), Verdict::Refuse(FIRST_LOCKOUT * 2));
    }

    #[test]
    fn many_addresses_lock_everyone_but_the_untouched() {
        let now = Instant::now();
        let mut g = Guesses::new(now);
        // Two wrong PINs each from addresses in many networks: no address or network is over
        // its limit, but everyone is.
        let mut n = 0u32;
        while g.everyone.locked(now).is_none() {
            let ip = v4(
                10,
                (n / 2 / 256) as u8,
                (n / 2 % 256) as u8,
                1 + (n % 2) as u8,
            );
            assert_eq!(guess(&mut g, ip, now), Verdict::Check, "guess {n}");
            n += 1;
        }
        assert_eq!(n, EVERYONE);
        // A guesser is refused unheard; a fresh address is heard once, then locked.
        assert!(matches!(
            g.verdict(v4(10, 0, 0, 1), now),
            Verdict::Refuse(_)
        ));
        let fresh = v4(172, 16, 0, 9);
        assert_eq!(guess(&mut g, fresh, now), Verdict::Guarded(FIRST_LOCKOUT));
        let soon = now + WINDOW + Duration::from_secs(1);
        assert!(matches!(g.verdict(fresh, now), Verdict::Refuse(_)));
        // The operator's address is still heard.
        assert!(matches!(
            g.verdict(v4(172, 16, 0, 10), now),
            Verdict::Guarded(_)
        ));
        // Quiet: the lockout ends.
        assert_eq!(g.verdict(v4(10, 0, 0, 1), soon), Verdict::Check);
    }

    #[test]
    fn a_network_over_its_limit_still_hears_its_untouched_addresses() {
        let now = Instant::now();
        let mut g = Guesses::new(now);
        for d in 0..PER_NETWORK {
            assert_eq!(guess(&mut g, v4(192, 168, 1, d as u8), now), Verdict::Check);
        }
        assert!(matches!(
            g.verdict(v4(192, 168, 1, 0), now),
            Verdict::Refuse(_)
        ));
        assert_eq!(
            g.verdict(v4(192, 168, 1, 200), now),
            Verdict::Guarded(FIRST_LOCKOUT)
        );
        assert_eq!(g.verdict(v4(192, 168, 2, 1), now), Verdict::Check);
        // An IPv4-mapped IPv6 address is its IPv4 one.
        let mapped: IpAddr = "::ffff:192.168.1.0".parse().unwrap();
        assert!(matches!(g.verdict(mapped, now), Verdict::Refuse(_)));
    }

    #[test]
    fn ipv6_networks_are_64_bits() {
        let now = Instant::now();
        let mut g = Guesses::new(now);
        for i in 0..PER_NETWORK {
            let ip: IpAddr = format!("2001:db8:0:1::{:x}", i + 1).parse().unwrap();
            guess(&mut g, ip, now);
        }
        let same: IpAddr = "2001:db8:0:1:ffff::1".parse().unwrap();
        let other: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        assert!(matches!(g.verdict(same, now), Verdict::Guarded(_)));
        assert_eq!(g.verdict(other, now), Verdict::Check);
    }

    #[test]
    fn full_tables_forget_the_oldest() {
        let now = Instant::now();
        let mut table = Bounded::new(3);
        for d in 0..5u8 {
            table.entry(v4(10, 0, 0, d), now).count = u32::from(d);
        }
        assert_eq!(table.map.len(), 3);
        assert!(table.get(&v4(10, 0, 0, 1)).is_none());
        assert_eq!(table.get(&v4(10, 0, 0, 4)).map(|s| s.count), Some(4));
        assert_eq!(table.order.len(), 3);
    }

    #[test]
    fn lockouts_are_forgiven_when_quiet_and_capped() {
        let mut now = Instant::now();
        let mut s = Strikes::new(now);
        for _ in 0..20 {
            for _ in 0..EVERYONE {
                s.strike(now, EVERYONE);
            }
            now += s.locked(now).unwrap();
        }
        s.strike(now, 1);
        assert_eq!(s.locked(now), Some(LONGEST_LOCKOUT));
        let trips = s.trips;
        now += LONGEST_LOCKOUT + FORGIVE * 3;
        s.strike(now, 2);
        assert_eq!(s.trips, trips - 3);
    }
}
