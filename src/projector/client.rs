//! One projector's task: it is told what the show wants (latest wins, through a watch
//! channel, so nothing queues up), sends what differs from what the projector last said, and
//! polls its status every few seconds. A fresh connection per batch of commands, so models
//! that drop idle sessions or close after each command work alike. Failures back off; ERR3
//! (busy, warming up) is tried again soon. Its status goes to the show only when it changes,
//! and a problem or a fault is logged once, and again when it clears.

use super::protocol::{self, Refusal};
use super::session::{Failure, Session, Timeouts};
use crate::control::{Power, ProjectorStatus, Shutter, Want};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The projector one task speaks to.
#[derive(Debug, Clone)]
pub struct Target {
    pub output: String,
    pub host: String,
    pub port: u16,
    /// None: no password; Err: why it could not be read.
    pub password: Result<Option<String>, String>,
}

/// How often it is asked, and how patiently.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub poll: Duration,
    pub timeouts: Timeouts,
    /// The first pause after a failure; it doubles while failures go on...
    pub first_retry: Duration,
    /// ...up to this.
    pub most_retry: Duration,
}

impl Timing {
    pub fn new(poll: Duration) -> Timing {
        Timing {
            poll,
            timeouts: Timeouts::default(),
            first_retry: Duration::from_secs(1),
            most_retry: Duration::from_secs(30),
        }
    }
}

/// What one batch came to.
#[derive(Debug, Default)]
struct Outcome {
    /// Why it cannot be talked to, if it cannot.
    failure: Option<Failure>,
    /// A set it refused for now (ERR3) or for good (the others), and the refusal.
    refused: Option<(&'static str, Refusal)>,
}

/// The commands that bring the projector to `want` from what it last said. An unknown
/// state is set, so the first contact puts it right.
fn needed(want: Want, status: &ProjectorStatus) -> Vec<(&'static str, &'static str)> {
    let mut sets = Vec::new();
    match (want.power, status.power) {
        (Some(true), Some(p)) if p.heading_on() => {}
        (Some(false), Some(Power::Off | Power::Cooling)) => {}
        (Some(on), _) => sets.push(("POWR", if on { "1" } else { "0" })),
        (None, _) => {}
    }
    // A projector off or cooling down has no shutter to move (ERR3); it is set once lit.
    let dark = matches!(status.power, Some(Power::Off | Power::Cooling));
    match want.shutter {
        Some(s) if status.shutter != Some(s) && !(dark && want.power == Some(false)) => {
            sets.push(("AVMT", if s == Shutter::Closed { "31" } else { "30" }))
        }
        _ => {}
    }
    sets
}

/// The longest pause before asking a busy (ERR3) projector again.
const BUSY_RETRY: Duration = Duration::from_secs(5);

const QUERIES: [&str; 5] = ["POWR", "AVMT", "INPT", "LAMP", "ERST"];

/// Reads a query's value into `status`; a value it cannot read is left unknown.
fn read(status: &mut ProjectorStatus, command: &str, value: &str) {
    match command {
        "POWR" => status.power = protocol::power(value),
        "AVMT" => status.shutter = protocol::shutter(value),
        "INPT" => status.input = Some(value.chars().take(8).collect()),
        "LAMP" => status.lamp_hours = protocol::lamp_hours(value).unwrap_or_default(),
        "ERST" => status.faults = protocol::faults(value).unwrap_or_default(),
        _ => {}
    }
}

/// Opens a session, reopening once if the projector closed the last one after a command.
async fn ask(
    session: &mut Option<Session>,
    target: &Target,
    timing: &Timing,
    command: &str,
    param: &str,
) -> Result<Result<String, Refusal>, Failure> {
    for attempt in 0..2 {
        let reused = session.is_some();
        if session.is_none() {
            *session = Some(
                Session::open(&target.host, target.port, &target.password, timing.timeouts).await?,
            );
        }
        let Some(s) = session.as_mut() else { break };
        match s.ask(command, param).await {
            Ok(answer) => return Ok(answer),
            Err(e) if e.closed() && reused && attempt == 0 => *session = None,
            Err(e) => {
                *session = None;
                return Err(e);
            }
        }
    }
    Err(Failure::Closed)
}

/// One connection's worth: the sets, then (if `poll`) the queries.
async fn batch(
    target: &Target,
    timing: &Timing,
    sets: &[(&'static str, &'static str)],
    poll: bool,
    status: &mut ProjectorStatus,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut session = None;
    for (command, param) in sets {
        match ask(&mut session, target, timing, command, param).await {
            Ok(Ok(_)) => {}
            Ok(Err(refusal)) => outcome.refused = Some((command, refusal)),
            Err(e) => {
                outcome.failure = Some(e);
                return outcome;
            }
        }
    }
    // After a set, its effect is read back at once.
    if poll || !sets.is_empty() {
        for command in QUERIES {
            match ask(&mut session, target, timing, command, "?").await {
                Ok(Ok(value)) => read(status, command, &value),
                // ERR1 (a laser model has no LAMP), ERR3 (asleep): not known now.
                Ok(Err(_)) => {}
                Err(e) => {
                    outcome.failure = Some(e);
                    return outcome;
                }
            }
        }
    }
    outcome
}

/// Asks a projector its status once, on one connection (`candela check --projectors`).
pub async fn probe(target: &Target, timing: &Timing) -> Result<ProjectorStatus, String> {
    let mut status = ProjectorStatus::unknown(&target.output, &target.host, target.port);
    match batch(target, timing, &[], true, &mut status).await.failure {
        None => {
            status.reachable = true;
            Ok(status)
        }
        Some(f) => Err(f.to_string()),
    }
}

fn refusal_text(command: &str, refusal: Refusal) -> Option<String> {
    let what = match refusal {
        Refusal::Unavailable => return None,
        Refusal::Undefined => "does not know the command (ERR1)",
        Refusal::OutOfParameter => "refuses its parameter (ERR2)",
        Refusal::Failure => "reports a projector failure (ERR4); look at the projector",
        Refusal::Auth => "refused the password (ERRA)",
    };
    Some(format!("{command} {what}"))
}

/// Logs what changed between `old` and `new`: a problem or faults, once each way.
fn log_changes(name: &str, old: &ProjectorStatus, new: &ProjectorStatus) {
    // Compared without what they quote: a projector answering new garbage at every poll is
    // one problem, logged once, not a line each time.
    let kind = |s: &ProjectorStatus| {
        s.problem
            .as_deref()
            .map(|p| p.split('"').next().unwrap_or(p).to_string())
    };
    if kind(new) != kind(old) {
        match &new.problem {
            Some(p) => tracing::warn!("projector {name}: {p}"),
            None => tracing::info!("projector {name}: answers again"),
        }
    }
    if new.faults != old.faults {
        if new.faults.is_empty() {
            tracing::info!("projector {name}: its faults have cleared");
        } else {
            tracing::warn!("projector {name}: reports {}", new.faults.join(", "));
        }
    }
}

/// Serves one projector until the sender of `wants` is dropped. `report` is handed its
/// status each time it changes.
pub async fn run(
    target: Target,
    timing: Timing,
    mut wants: watch::Receiver<Want>,
    report: impl Fn(ProjectorStatus),
) {
    let name = format!("{} at {}:{}", target.output, target.host, target.port);
    let mut status = ProjectorStatus::unknown(&target.output, &target.host, target.port);
    let mut next_poll = Instant::now();
    let mut retry_at = Instant::now();
    let mut pause = timing.first_retry;
    loop {
        let want = *wants.borrow_and_update();
        let sets = needed(want, &status);
        let now = Instant::now();
        let due = if sets.is_empty() {
            next_poll
        } else {
            next_poll.min(retry_at)
        };
        if due > now {
            tokio::select! {
                changed = wants.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // A new wish is tried at once, failing or not.
                    retry_at = Instant::now();
                }
                _ = tokio::time::sleep_until(due) => {}
            }
            continue;
        }
        let mut new = status.clone();
        let outcome = batch(&target, &timing, &sets, now >= next_poll, &mut new).await;
        new.reachable = outcome.failure.is_none();
        new.problem = match (&outcome.failure, outcome.refused) {
            (Some(f), _) => Some(f.to_string()),
            (None, Some((command, refusal))) => refusal_text(command, refusal),
            (None, None) => None,
        };
        log_changes(&name, &status, &new);
        if new != status {
            status = new;
            report(status.clone());
        }
        let failed = outcome.failure.is_some() || outcome.refused.is_some();
        let finished = Instant::now();
        if failed {
            retry_at = finished + pause;
            // Busy or warming up (ERR3) is over in seconds: asked again soon.
            let busy = outcome.failure.is_none()
                && matches!(outcome.refused, Some((_, Refusal::Unavailable)));
            let most = if busy { BUSY_RETRY } else { timing.most_retry };
            pause = (pause * 2).min(most);
        } else {
            pause = timing.first_retry;
        }
        // A failure is retried with the backoff; polling goes on at its own pace.
        next_poll = finished
            + if outcome.failure.is_some() {
                pause.max(timing.poll)
            } else {
                timing.poll
            };
        if !failed && !needed(want, &status).is_empty() {
            // It said OK but reads back otherwise (some models answer the old state just
            // after a change): looked at again shortly, not hammered.
            retry_at = finished + timing.first_retry;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(power: Option<Power>, shutter: Option<Shutter>) -> ProjectorStatus {
        ProjectorStatus {
            power,
            shutter,
            ..ProjectorStatus::unknown("main", "h", 4352)
        }
    }

    #[test]
    fn only_what_differs_is_sent() {
        let want = Want {
            power: Some(true),
            shutter: Some(Shutter::Closed),
        };
        assert_eq!(
            needed(want, &status(None, None)),
            [("POWR", "1"), ("AVMT", "31")]
        );
        assert_eq!(
            needed(want, &status(Some(Power::Warming), Some(Shutter::Open))),
            [("AVMT", "31")]
        );
        assert!(needed(want, &status(Some(Power::On), Some(Shutter::Closed))).is_empty());
        let off = Want {
            power: Some(false),
            shutter: Some(Shutter::Closed),
        };
        assert!(
            needed(off, &status(Some(Power::Cooling), Some(Shutter::Open))).is_empty(),
            "no shutter to close while it cools down"
        );
        assert!(needed(Want::default(), &status(None, None)).is_empty());
    }
}
