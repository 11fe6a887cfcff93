//! What the show knows of the lighting desks sending it DMX, for `/candela/state` and the
//! web remote: told by the DMX receiver when its sources change and once a second while any
//! is live, never at the packets' rate.

/// The receiver's view of its universe.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DmxReport {
    pub universe: u16,
    /// Live sources, at most the merge's caps (16 sACN, 2 Art-Net).
    pub sources: Vec<DmxSource>,
    /// Sources are being learnt: nothing is acted on yet.
    pub settling: bool,
    /// Packets refused as malformed, since the start.
    pub malformed: u64,
    /// Packets from senders not in the allowlist, since the start.
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DmxSource {
    /// "sACN" or "Art-Net".
    pub protocol: &'static str,
    /// The address its last packet came from.
    pub from: String,
    /// sACN priority 0-200; Art-Net counts as 100.
    pub priority: u8,
    /// Seconds since its last packet, when this was reported.
    pub age: f64,
}
