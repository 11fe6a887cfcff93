//! OSC control: lighting desks and tablets cue the show over UDP and TCP.
//!
//! - [`framing`]: cutting a TCP byte stream into packets (OSC 1.0 length prefix, 1.1 SLIP).
//! - [`packet`]: one packet's bytes into timed messages, bundles flattened.
//! - [`dialect`]: what a message means: candela's addresses, desk dialects, user mappings.
//! - [`server`]: the UDP and TCP listeners, allowlist, debounce, scheduling and replies.
//! - [`feedback`]: the show's state pushed to desks and tablets as it changes.
//! - [`client`]: `candela send`, one message and its reply.
//! - [`fuzz`]: hostile inputs made to order, for the fuzz test and bench.

pub mod client;
pub mod dialect;
pub mod feedback;
pub mod framing;
pub mod fuzz;
pub mod packet;
pub mod server;
