//! Feedback: the show's state pushed to desks and tablets as it changes, one OSC message per
//! changed field, and a heartbeat every second so they can show that candela is alive.

use super::packet;
use std::time::Duration;

/// Pushes state changes to the feedback targets as they happen, and a heartbeat every second
/// so a desk or tablet can show that candela is alive.
pub async fn run(
    targets: Vec<String>,
    mut state: tokio::sync::watch::Receiver<serde_json::Value>,
    prefix: String,
) {
    let socket = match tokio::net::UdpSocket::bind("0.0.0.0:0").await {
        Ok(s) => s,
        Err(e) => return tracing::error!("OSC feedback: {e}"),
    };
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    let mut last = serde_json::Value::Null;
    let mut beats: i32 = 0;
    loop {
        let messages = tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = state.borrow_and_update().clone();
                let messages = state_messages(&prefix, &last, &now);
                last = now;
                messages
            }
            _ = heartbeat.tick() => {
                beats = beats.wrapping_add(1);
                vec![packet::encode_message(&format!("{prefix}/heartbeat"), vec![rosc::OscType::Int(beats)])]
            }
        };
        for target in &targets {
            let Ok(mut addrs) = tokio::net::lookup_host(target.as_str()).await else {
                tracing::debug!("OSC feedback: cannot resolve {target}");
                continue;
            };
            if let Some(addr) = addrs.next() {
                for m in &messages {
                    let _ = socket.send_to(m, addr).await;
                }
            }
        }
    }
}

/// One message per state field that differs between `before` and `now`.
fn state_messages(
    prefix: &str,
    before: &serde_json::Value,
    now: &serde_json::Value,
) -> Vec<Vec<u8>> {
    use rosc::OscType;
    let as_osc = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(OscType::String(s.clone())),
        serde_json::Value::Bool(b) => Some(OscType::Int(*b as i32)),
        serde_json::Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Some(OscType::Int(i)),
            None => n.as_f64().map(|f| OscType::Float(f as f32)),
        },
        // A list of names (stale counters, outputs) as one comma-separated string: desks
        // handle strings. Lists of numbers (corner pins) are for /candela/state only.
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str())
            .collect::<Option<Vec<_>>>()
            .map(|names| OscType::String(names.join(","))),
        _ => None,
    };
    let mut out = Vec::new();
    let mut push = |path: String, old: Option<&serde_json::Value>, new: &serde_json::Value| {
        if old != Some(new)
            && let Some(arg) = as_osc(new)
        {
            out.push(packet::encode_message(
                &format!("{prefix}/state/{path}"),
                vec![arg],
            ));
        }
    };
    let Some(fields) = now.as_object() else {
        return out;
    };
    for (key, value) in fields {
        if let Some(counters) = value.as_object() {
            for (id, v) in counters {
                push(
                    format!("{key}/{id}"),
                    before.get(key).and_then(|c| c.get(id)),
                    v,
                );
            }
        } else {
            push(key.clone(), before.get(key), value);
        }
    }
    out
}
