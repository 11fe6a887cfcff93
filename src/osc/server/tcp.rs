//! OSC over TCP: the accept loop, and one receive loop per connection that cuts the stream
//! into frames and puts them on the dispatcher's queue. Replies go back through one writer
//! per connection, in the connection's framing.

use super::{Queue, ReplyTo, panicked};
use crate::osc::framing::{Framing, StreamDecoder};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// TCP connections served at once; past this a new one is refused, and no open one is ever
/// closed to make room: the desk's idle connection outlasts any crowd of newcomers.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections one address may hold at once (but the laptop itself): a desk and a backup
/// console need one each, so one misbehaving machine cannot take every place.
pub const PER_ADDRESS: usize = 4;
/// Replies waiting to be written to one connection; past this, a client that does not read
/// loses replies rather than holding memory.
const REPLIES_PER_CONNECTION: usize = 128;
/// How long replies still due are written after the client stops sending.
const LINGER: Duration = Duration::from_secs(5);
/// The pause after a failed accept (out of file descriptors) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The open TCP connections, and where each is from.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<u64, IpAddr>>,
    next_id: AtomicU64,
}

impl Connections {
    /// Registers a new connection from `ip` if there is room for it; its id.
    fn open(&self, ip: IpAddr) -> Result<u64, String> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= MAX_CONNECTIONS {
            return Err(format!(
                "{MAX_CONNECTIONS} connections open; no room for {ip} (none is closed to make room)"
            ));
        }
        // The laptop itself is not held to it: scripts on it connect and reconnect quickly.
        let laptop = ip == IpAddr::from([127, 0, 0, 1]) || ip == std::net::Ipv6Addr::LOCALHOST;
        if !laptop && open.values().filter(|from| **from == ip).count() >= PER_ADDRESS {
            return Err(format!(
                "{ip} already holds {PER_ADDRESS} connections, the most one address may"
            ));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id, ip);
        Ok(id)
    }

    fn closed(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// Accepts connections until the server stops: from senders in `allow` when the show lists
/// any (others are closed before anything is read), while there is room. A connection's task
/// that panics brings this one down with it, so the server sees it.
pub async fn accept(
    listener: tokio::net::TcpListener,
    queue: Queue,
    connections: Arc<Connections>,
    allow: Option<Vec<ipnet::IpNet>>,
) {
    let mut served = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, source) = match accepted {
                    Ok(a) => a,
                    // Out of file descriptors, most likely: they come back as others close.
                    Err(e) => {
                        queue.noise.warn("accept", "tcp accept", || {
                            format!("OSC tcp: cannot accept a connection: {e}; trying again")
                        });
                        tokio::time::sleep(ACCEPT_PAUSE).await;
                        continue;
                    }
                };
                let ip = source.ip().to_canonical();
                if allow.as_ref().is_some_and(|nets| !nets.iter().any(|n| n.contains(&ip))) {
                    queue.noise.warn(ip, "tcp refused", || {
                        format!("OSC tcp: {source} is not in [osc] allow; connection closed")
                    });
                    continue;
                }
                let id = match connections.open(ip) {
                    Ok(id) => id,
                    Err(why) => {
                        queue.noise.warn(ip, "tcp full", || format!("OSC tcp: {why}"));
                        continue;
                    }
                };
                let (queue, connections) = (queue.clone(), connections.clone());
                served.spawn(async move {
                    if let Err(e) = serve(stream, source, &queue).await {
                        queue.noise.warn(source.ip(), "tcp", || {
                            format!("OSC tcp {source}: {e}; connection closed")
                        });
                    }
                    connections.closed(id);
                });
            }
            Some(Err(e)) = served.join_next() => {
                if let Some(p) = panicked(e) {
                    panic!("{p}");
                }
            }
        }
    }
}

/// One connection: frames to the queue as they come; replies written as they come back.
async fn serve(
    stream: tokio::net::TcpStream,
    source: SocketAddr,
    queue: &Queue,
) -> Result<(), String> {
    let (mut reader, mut writer) = stream.into_split();
    let (replies, mut outbox) = mpsc::channel::<Vec<u8>>(REPLIES_PER_CONNECTION);
    let write = async {
        while let Some(bytes) = outbox.recv().await {
            writer.write_all(&bytes).await?;
        }
        Ok::<(), std::io::Error>(())
    };
    // Owns the connection's own handle on the writer, so that once reading ends the writer
    // stops as soon as the last reply still being answered is written.
    let read = async move {
        let mut decoder = StreamDecoder::new(super::MAX_PACKET);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) => return Err(e.to_string()),
            };
            let frames = decoder
                .push(buf.get(..n).unwrap_or_default())
                .map_err(|e| e.to_string())?;
            let framing = decoder.framing().unwrap_or(Framing::LengthPrefixed);
            for frame in frames {
                let reply = ReplyTo::Tcp(replies.clone(), framing);
                if !queue.put(frame, source, reply).await {
                    return Ok(());
                }
            }
        }
    };
    tokio::pin!(write);
    tokio::select! {
        r = read => r?,
        w = &mut write => return w.map_err(|e| e.to_string()),
    };
    // The client stopped sending: what is still being answered is written, for a while.
    let _ = tokio::time::timeout(LINGER, write).await;
    Ok(())
}
