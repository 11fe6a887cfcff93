//! What the show knows of the machines playing it in step, for `/candela/state` and the web
//! remote: told by the sync link when it changes, never at the heartbeats' rate.

/// This machine's part.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// "leader" or "follower".
    pub role: &'static str,
    /// The leader's sync address: the one a follower follows, or this machine's own.
    pub leader: String,
    /// A follower plays the leader's moment (joined, the same show, heartbeats answered);
    /// a leader is always in step with itself.
    pub in_step: bool,
    /// The leader's clock minus this machine's, from the heartbeats' round trips, in ms; the
    /// wall shows any offset as the followers' pictures late or early by as much.
    pub offset_ms: Option<f64>,
    /// The round trip to the leader behind that offset, in ms.
    pub round_trip_ms: Option<f64>,
    /// This machine's show (slides, cues, counters, photos) is the leader's.
    pub show_matches: bool,
    /// What is wrong, in words, when something is: no leader heard, another show, a clock
    /// past half a frame off.
    pub problem: Option<String>,
    /// A leader's followers.
    pub followers: Vec<FollowerReport>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FollowerReport {
    pub address: String,
    pub show_matches: bool,
    /// Its clock's offset from the leader's, as it last said, in ms.
    pub offset_ms: Option<f64>,
    /// Seconds since it was last heard.
    pub age: f64,
}
