//! What the server remembers about senders, each kept to a bounded number of entries: which refused sources were answered, what each UDP source may
//! still be sent, which triggers were seen in the debounce window. A sender that varies its address or arguments without end costs
//! a fixed amount of memory, never more.

use super::super::packet::{Message, When};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries each map holds at most (each a source, or a message's digest).
pub const MAX_REMEMBERED: usize = 4096;
/// A refused source gets at most this many "denied" replies...
const DENIED_REPLIES: u32 = 5;
/// ...in this long.
const DENIED_WINDOW: Duration = Duration::from_secs(10);

/// Drops the entries `keep` refuses when the map is full, and everything when that is not
/// enough (a flood of distinct keys: forgetting them costs a log line or a repeat, no more).
fn make_room<K, V>(map: &mut HashMap<K, V>, keep: impl FnMut(&K, &mut V) -> bool) {
    if map.len() >= MAX_REMEMBERED {
        map.retain(keep);
        if map.len() >= MAX_REMEMBERED {
            map.clear();
        }
    }
}

/// Refused sources: when their current window of "denied" replies began, and how many.
#[derive(Default)]
pub struct Denied(HashMap<IpAddr, (Instant, u32)>);

impl Denied {
    /// Whether a refused source may have one more "denied" reply now: a few per window, so a
    /// refused sender cannot use the show to flood a third party it names as its source.
    pub fn may_answer(&mut self, ip: IpAddr, now: Instant) -> bool {
        make_room(&mut self.0, |_, (since, _)| {
            now.duration_since(*since) < DENIED_WINDOW
        });
        let (since, count) = self.0.entry(ip).or_insert((now, 0));
        if now.duration_since(*since) >= DENIED_WINDOW {
            *since = now;
            *count = 0;
        }
        *count = count.saturating_add(1);
        *count <= DENIED_REPLIES
    }
}

/// Reply bytes a second any one UDP source may be sent, listed or not...
pub const REPLY_BYTES_PER_SECOND: f64 = 64.0 * 1024.0;
/// ...and at most this many at once.
pub const REPLY_BURST: f64 = 64.0 * 1024.0;
/// What an unlisted source has sent is banked up to this, to be paid back in replies.
const MOST_CREDIT: usize = 64 * 1024;

/// Why a UDP reply was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withheld {
    /// The source's reply bytes a second are spent.
    OverBudget,
    /// The source is not listed in `[osc] allow`, and the reply is bigger than what it has
    /// sent and not yet been paid back.
    MoreThanSent,
}

/// One UDP source's reply accounts.
struct Account {
    /// Bytes received from it not yet paid back in replies (unlisted sources only).
    credit: usize,
    /// Reply bytes it may still be sent now (a token bucket).
    tokens: f64,
    at: Instant,
}

/// What each UDP source may be sent. A UDP packet's source address is only a claim, so a
/// reply may land on a third party: every source's replies are limited in bytes a second,
/// and a source not listed in `[osc] allow` is never sent more bytes than it has sent, so
/// nobody can use the show to amplify a flood.
#[derive(Default)]
pub struct UdpReplies(Mutex<HashMap<IpAddr, Account>>);

impl UdpReplies {
    /// A datagram of `bytes` came from `ip`.
    pub fn received(&self, ip: IpAddr, bytes: usize, now: Instant) {
        let mut accounts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let account = Self::account(&mut accounts, ip, now);
        account.credit = account.credit.saturating_add(bytes).min(MOST_CREDIT);
    }

    /// Takes a reply of `bytes` to `ip` from its accounts, or says why it may not go.
    pub fn take(
        &self,
        ip: IpAddr,
        bytes: usize,
        listed: bool,
        now: Instant,
    ) -> Result<(), Withheld> {
        let mut accounts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let account = Self::account(&mut accounts, ip, now);
        let elapsed = now.saturating_duration_since(account.at).as_secs_f64();
        account.tokens = (account.tokens + elapsed * REPLY_BYTES_PER_SECOND).min(REPLY_BURST);
        account.at = now;
        if !listed && bytes > account.credit {
            return Err(Withheld::MoreThanSent);
        }
        if (bytes as f64) > account.tokens {
            return Err(Withheld::OverBudget);
        }
        account.tokens -= bytes as f64;
        if !listed {
            account.credit -= bytes;
        }
        Ok(())
    }

    fn account(accounts: &mut HashMap<IpAddr, Account>, ip: IpAddr, now: Instant) -> &mut Account {
        // Forgetting a source loses its credit (fewer replies for it), and refills its
        // bucket, which a flood of new sources could earn only by sending more than it gets.
        make_room(accounts, |_, a| {
            now.saturating_duration_since(a.at) < Duration::from_secs(1)
        });
        accounts.entry(ip).or_insert(Account {
            credit: 0,
            tokens: REPLY_BURST,
            at: now,
        })
    }
}

/// Triggers seen lately, by digest, for the debounce.
#[derive(Default)]
pub struct Debounce(HashMap<u64, Instant>);

impl Debounce {
    /// The same trigger again within `window` (a desk sending on two interfaces). A copy of a
    /// timed bundle carries the same time tag; the same cue for another time does not.
    pub fn is_repeat(
        &mut self,
        message: &Message,
        when: When,
        window: Duration,
        now: Instant,
    ) -> bool {
        let trigger = (
            message.address.to_ascii_lowercase(),
            format!("{:?}{when:?}", message.args),
        );
        self.seen_within(trigger, window, now)
    }

    /// The same message again from the same address within `window` (a double tap on a
    /// phone).
    pub fn is_repeat_from(
        &mut self,
        from: IpAddr,
        message: &Message,
        window: Duration,
        now: Instant,
    ) -> bool {
        let trigger = (
            from,
            message.address.to_ascii_lowercase(),
            format!("{:?}", message.args),
        );
        self.seen_within(trigger, window, now)
    }

    fn seen_within(&mut self, trigger: impl Hash, window: Duration, now: Instant) -> bool {
        if window.is_zero() {
            return false;
        }
        // A digest, not the text: a sender's long arguments must not become long-lived keys.
        let key = {
            let mut h = std::hash::DefaultHasher::new();
            trigger.hash(&mut h);
            h.finish()
        };
        make_room(&mut self.0, |_, t| now.duration_since(*t) < window);
        match self.0.insert(key, now) {
            Some(before) => now.duration_since(before) < window,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(i: usize) -> Message {
        Message {
            address: format!("/candela/count/c/{i}"),
            args: vec![],
        }
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_bounded() {
        let now = Instant::now();
        let mut debounce = Debounce::default();
        let mut denied = Denied::default();
        for i in 0..3 * MAX_REMEMBERED {
            debounce.is_repeat(&message(i), When::Now, Duration::from_secs(1), now);
            let ip = IpAddr::from((i as u128).to_be_bytes());
            denied.may_answer(ip, now);
        }
        assert!(debounce.0.len() <= MAX_REMEMBERED);
        assert!(denied.0.len() <= MAX_REMEMBERED);
    }

    #[test]
    fn repeats_within_the_window_only() {
        let start = Instant::now();
        let mut d = Debounce::default();
        let w = Duration::from_millis(100);
        assert!(!d.is_repeat(&message(1), When::Now, w, start));
        assert!(d.is_repeat(&message(1), When::Now, w, start + w / 2));
        assert!(!d.is_repeat(&message(2), When::Now, w, start + w / 2));
        assert!(!d.is_repeat(&message(1), When::Now, w, start + 3 * w));
    }

    #[test]
    fn an_unlisted_source_gets_no_more_than_it_sent_and_a_listed_one_its_budget() {
        let now = Instant::now();
        let replies = UdpReplies::default();
        let (unlisted, listed) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        replies.received(unlisted, 100, now);
        assert_eq!(
            replies.take(unlisted, 101, false, now),
            Err(Withheld::MoreThanSent)
        );
        assert_eq!(replies.take(unlisted, 60, false, now), Ok(()));
        assert_eq!(
            replies.take(unlisted, 60, false, now),
            Err(Withheld::MoreThanSent)
        );
        let burst = REPLY_BURST as usize;
        assert_eq!(replies.take(listed, burst, true, now), Ok(()));
        assert_eq!(
            replies.take(listed, 1000, true, now),
            Err(Withheld::OverBudget)
        );
        let later = now + Duration::from_secs(1);
        assert_eq!(replies.take(listed, 1000, true, later), Ok(()));
    }

    #[test]
    fn a_refused_source_is_answered_a_few_times_per_window() {
        let start = Instant::now();
        let mut d = Denied::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        let answered = (0..20).filter(|_| d.may_answer(ip, start)).count();
        assert_eq!(answered, DENIED_REPLIES as usize);
        assert!(d.may_answer(ip, start + DENIED_WINDOW));
    }
}
