//! OSC over TCP: the accept loop, and one receive loop per connection that cuts the stream
//! into frames and puts them on the dispatcher's queue. Replies go back through one writer
//! per connection, in the connection's framing.

use super::{Queue, ReplyTo, panicked};
use crate::osc::framing::{Framing, StreamDecoder};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

/// TCP connections served at once; a new one past this closes the one idle the longest, so
/// a desk can always connect, however many a misbehaving client leaves open.
pub const MAX_CONNECTIONS: usize = 64;
/// Replies waiting to be written to one connection; past this, a client that does not read
/// loses replies rather than holding memory.
const REPLIES_PER_CONNECTION: usize = 128;
/// How long replies still due are written after the client stops sending.
const LINGER: Duration = Duration::from_secs(5);

/// The open TCP connections: when each was last heard from, and how to close it.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<u64, (Instant, Arc<Notify>)>>,
    next_id: AtomicU64,
}

impl Connections {
    /// Registers a new connection, closing the one idle the longest when all places are
    /// taken; returns its id and what closes it.
    fn open(&self, source: SocketAddr) -> (u64, Arc<Notify>) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= MAX_CONNECTIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, (last, _))| *last)
                .map(|(id, _)| *id)
            && let Some((_, close)) = open.remove(&oldest)
        {
            tracing::warn!(
                "OSC tcp: {MAX_CONNECTIONS} connections open; closing the one idle the longest for {source}"
            );
            close.notify_one();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        open.insert(id, (Instant::now(), close.clone()));
        (id, close)
    }

    fn heard_from(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((last, _)) = open.get_mut(&id) {
            *last = Instant::now();
        }
    }

    fn closed(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// Accepts connections until the server stops. A connection's task that panics brings this
/// one down with it, so the server sees it.
pub async fn accept(
    listener: tokio::net::TcpListener,
    queue: Queue,
    connections: Arc<Connections>,
) {
    let mut served = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, source)) = accepted else {
                    continue;
                };
                let (id, close) = connections.open(source);
                let (queue, connections) = (queue.clone(), connections.clone());
                served.spawn(async move {
                    let heard = || connections.heard_from(id);
                    if let Err(e) = serve(stream, source, &queue, &close, &heard).await {
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
    close: &Notify,
    heard: &(dyn Fn() + Sync),
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
            heard();
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
        _ = close.notified() => return Ok(()),
        w = &mut write => return w.map_err(|e| e.to_string()),
    };
    // The client stopped sending: what is still being answered is written, for a while.
    tokio::select! {
        _ = tokio::time::timeout(LINGER, write) => Ok(()),
        _ = close.notified() => Ok(()),
    }
}
