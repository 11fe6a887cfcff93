//! The show's side of a request: applied to the engine on the render thread, between frames,
//! and answered with the state it leaves.

use super::dialect::Request;
use super::server::Incoming;
use crate::control::Engine;
use std::time::Duration;

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

fn answer(
    engine: &mut Engine,
    request: Request,
    now: Duration,
) -> Result<serde_json::Value, String> {
    let commands = match request {
        Request::State => return Ok(state(engine)),
        Request::Ping => return Ok("pong".into()),
        Request::Command(c) => vec![c],
        Request::Commands(cs) => cs,
    };
    for c in commands {
        engine.apply(c, now).map_err(|e| e.to_string())?;
    }
    Ok(state(engine))
}

/// Applies one incoming request at `now` and sends its answer to whoever waits for it.
pub fn handle(engine: &mut Engine, incoming: Incoming, now: Duration) {
    let result = answer(engine, incoming.request, now);
    if let Err(e) = &result {
        tracing::warn!("{}: {e}", incoming.source);
    }
    if let Some(reply) = incoming.reply {
        // The sender may have given up waiting; nothing to do then.
        let _ = reply.send(result);
    }
}
