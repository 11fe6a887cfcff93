//! The one inbox every input uses: keys, OSC, count feeds (and, later, the web) hand the
//! show the same envelope, a [`Request`], where its answer goes and when it takes effect, and
//! the show's side (the output's `Player`, at that time) applies it to the engine between
//! frames and answers with the state it leaves. Neutral
//! ground: no input is dressed up as another.

use crate::control::{Command, Engine};
use crate::log_limit::LogLimit;
use std::time::Duration;
use tokio::sync::oneshot;

/// A request to candela that expects an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Command(Command),
    /// Several commands from one message (a mapping or cue with many actions).
    Commands(Vec<Command>),
    State,
    /// The projectors' geometry and the masks, as the setup view shows them.
    Setup,
    Ping,
    /// A new version of the show file, from the watcher.
    Reload(Reload),
    /// Taken only while the technician's alignment mode is on at the laptop: geometry from
    /// a sender that has nothing else to prove it may move the picture (OSC).
    WhileAligning(Box<Request>),
    /// Between machines playing in step; the player's own business, not the engine's.
    Sync(SyncRequest),
}

/// What the sync link asks of the player.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncRequest {
    /// Commands every machine applies at the request's time, numbered by the leader in the
    /// order it relayed them.
    Relayed { seq: u64, commands: Vec<Command> },
    /// A leader's moment for a follower that joins: answered with a [`Join`] as JSON.
    Snapshot,
    /// A follower takes the leader's moment and clock, from its next frame.
    Adopt(Box<Join>),
    /// An operator's word: this machine leads from now on (a follower whose leader is gone).
    Lead,
    /// An operator's word: this machine follows the leader at this address (HOST:PORT, or
    /// an IP address and the default port).
    Follow(String),
}

/// The leader's moment as a follower takes it: the engine's, and what it has relayed that
/// is still to take effect.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Join {
    pub moment: crate::control::Moment,
    /// The leader's show time zero on its wall clock, in nanoseconds since 1970: a follower's
    /// clock set by the same NTP or PTP server puts its own show time zero there.
    pub origin_ns: u64,
    /// The last relayed number the moment includes, whether applied or still pending.
    pub seq: u64,
    /// Relayed commands whose time has not come: (show time, number, commands).
    pub pending: Vec<(std::time::Duration, u64, Vec<Command>)>,
}

impl Request {
    /// Whether it moves the picture on the wall: warp, mesh, blend, masks, setup steps.
    pub fn edits_geometry(&self) -> bool {
        match self {
            Request::Command(c) => edits_setup(c),
            Request::Commands(cs) => cs.iter().any(edits_setup),
            Request::WhileAligning(r) => r.edits_geometry(),
            _ => false,
        }
    }
}

/// What the show file on disk now holds: a show to swap in, or why it cannot be.
#[derive(Debug, Clone)]
pub enum Reload {
    Show {
        show: std::sync::Arc<crate::show::Show>,
        /// A photo file changed on disk: what was loaded of the photos is stale.
        photos_changed: bool,
    },
    Problems(Vec<String>),
}

impl PartialEq for Reload {
    fn eq(&self, other: &Reload) -> bool {
        match (self, other) {
            (Reload::Show { show: a, .. }, Reload::Show { show: b, .. }) => {
                std::sync::Arc::ptr_eq(a, b)
            }
            (Reload::Problems(a), Reload::Problems(b)) => a == b,
            _ => false,
        }
    }
}

/// A request on its way to the show, with where its answer goes.
pub struct Incoming {
    /// Who sent it, for the log: an address, or a count feed.
    pub source: String,
    pub request: Request,
    /// Present for candela's own addresses: the answer, or why it failed.
    pub reply: Option<oneshot::Sender<Result<serde_json::Value, String>>>,
    /// The show time it takes effect at; None is as soon as it arrives. One for later waits
    /// until then; one for a time gone by is applied at that time, as if it had come then.
    pub at: Option<Duration>,
}

pub type Deliver = std::sync::Arc<dyn Fn(Incoming) + Send + Sync>;

/// The state an operator asks for with `/candela/state`: the engine's status and the counts.
pub fn state(engine: &Engine) -> serde_json::Value {
    let mut state = serde_json::to_value(engine.status()).unwrap_or_default();
    let counts: serde_json::Map<String, serde_json::Value> = engine
        .counts()
        .iter()
        .map(|(id, v)| (id.to_string(), v.into()))
        .collect();
    state["counters"] = counts.into();
    state
}

/// The setup view's picture of the projectors and masks (`/candela/setup`).
pub fn setup(engine: &Engine) -> serde_json::Value {
    serde_json::to_value(engine.stage().view()).unwrap_or_default()
}

/// Whether `command` edits the setup, so its answer carries the setup as it now is.
fn edits_setup(command: &Command) -> bool {
    matches!(
        command,
        Command::Warp { .. } | Command::Mask { .. } | Command::Setup(_)
    )
}

/// Who sent it, without the port: one desk's packets come from many ports.
fn sender(source: &str) -> &str {
    match source.parse::<std::net::SocketAddr>() {
        Ok(_) => source.rsplit_once(':').map_or(source, |(host, _)| host),
        Err(_) => source,
    }
}

fn answer(
    engine: &mut Engine,
    request: Request,
    now: Duration,
) -> Result<serde_json::Value, String> {
    let commands = match request {
        Request::State => return Ok(state(engine)),
        Request::Setup => return Ok(setup(engine)),
        Request::Ping => return Ok("pong".into()),
        Request::Reload(Reload::Show {
            show,
            photos_changed,
        }) => {
            let show = std::sync::Arc::unwrap_or_clone(show);
            let slides = show.slides.len();
            engine.replace_show(show, now).map_err(|e| e.to_string())?;
            if photos_changed {
                engine.photos_changed();
            }
            tracing::info!(
                "show file reloaded: {slides} slides, showing {:?}",
                engine.status().slide
            );
            return Ok(state(engine));
        }
        Request::Reload(Reload::Problems(problems)) => {
            engine.set_problems(problems);
            return Ok(state(engine));
        }
        Request::WhileAligning(_) if !engine.stage().aligning() => {
            return Err(
                "geometry over OSC is taken only while aligning at the laptop (Tab); or use the web setup view with the control PIN".into(),
            );
        }
        Request::WhileAligning(r) => return answer(engine, *r, now),
        Request::Sync(SyncRequest::Relayed { commands, .. }) => commands,
        Request::Sync(_) => return Err("only the player takes this".into()),
        Request::Command(c) => vec![c],
        Request::Commands(cs) => cs,
    };
    let with_setup = commands.iter().any(edits_setup);
    for c in commands {
        engine.apply(c, now).map_err(|e| e.to_string())?;
    }
    let mut answer = state(engine);
    if with_setup {
        answer["setup"] = setup(engine);
    }
    Ok(answer)
}

/// Failed requests, logged once per sender and 10 s: a desk flooding cues the show does not
/// have must not fill the disk with "no cue".
static FAILURES: std::sync::LazyLock<LogLimit> = std::sync::LazyLock::new(LogLimit::default);

/// Applies one incoming request at `now` and sends its answer to whoever waits for it.
pub fn handle(engine: &mut Engine, incoming: Incoming, now: Duration) {
    let result = answer(engine, incoming.request, now);
    if let Err(e) = &result {
        FAILURES.warn(sender(&incoming.source), "failed", || {
            format!("{}: {e}", incoming.source)
        });
    }
    if let Some(reply) = incoming.reply {
        // The sender may have given up waiting; nothing to do then.
        let _ = reply.send(result);
    }
}
