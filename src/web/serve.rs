//! The accept loop: every connection counted against a total and a per-address cap (events
//! sockets too, for as long as they last), the allowlist checked before a byte is read, and
//! headers, bodies and idle keep-alive timed out, so idle connections cannot take the
//! process's file descriptors or the operator's place.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt;

use super::auth::is_laptop;

/// Connections from the network at once; the laptop itself has as many again of its own.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections from one address at once.
pub const PER_ADDRESS: usize = 16;

/// How long a client may take: to send a request's headers (and, between requests, to start
/// the next one), and to be answered once they came (its body read included).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub headers: Duration,
    pub request: Duration,
}

impl Timeouts {
    /// 10 s for headers or idle, 30 s for a request; `CANDELA_TEST_WEB_TIMEOUT_MS` sets the
    /// header and idle timeout, for tests only (they cannot wait 10 s per case).
    pub fn from_env() -> Timeouts {
        let headers = std::env::var("CANDELA_TEST_WEB_TIMEOUT_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(Duration::from_secs(10), Duration::from_millis);
        Timeouts {
            headers,
            request: Duration::from_secs(30),
        }
    }
}

/// Open connections by address.
#[derive(Default)]
struct Counts {
    by_address: HashMap<IpAddr, usize>,
    network: usize,
    laptop: usize,
}

/// One connection's place, given back when its socket closes.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Slot {
    /// A place for a connection from `ip`, if there is room.
    fn take(counts: &Arc<Mutex<Counts>>, ip: IpAddr) -> Option<Slot> {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let laptop = is_laptop(ip);
        let total = if laptop { c.laptop } else { c.network };
        let here = c.by_address.get(&ip).copied().unwrap_or(0);
        if total >= MAX_CONNECTIONS || (!laptop && here >= PER_ADDRESS) {
            return None;
        }
        *c.by_address.entry(ip).or_insert(0) += 1;
        if laptop {
            c.laptop += 1;
        } else {
            c.network += 1;
        }
        Some(Slot {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = c.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_address.remove(&self.ip);
            }
        }
        if is_laptop(self.ip) {
            c.laptop -= 1;
        } else {
            c.network -= 1;
        }
    }
}

/// A socket holding its place: an upgraded events socket keeps the socket, so it keeps the
/// place too.
struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Says at most once a minute that connections were refused or could not be accepted, with
/// how many since it last said so.
struct Quietly {
    said: Option<Instant>,
    held: u64,
}

impl Quietly {
    fn say(&mut self, what: impl FnOnce(u64) -> String) {
        self.held += 1;
        if self
            .said
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(60))
        {
            tracing::warn!("web: {}", what(self.held));
            self.said = Some(Instant::now());
            self.held = 0;
        }
    }
}

/// Accepts and serves connections on `listener` until the process ends.
pub async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    allowed: impl Fn(IpAddr) -> bool,
    timeouts: Timeouts,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let mut failing = Quietly {
        said: None,
        held: 0,
    };
    let mut full = Quietly {
        said: None,
        held: 0,
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: the next accept may work once some
                // close; a short wait keeps this from spinning.
                failing.say(|n| format!("cannot accept connections ({e}; {n} times); retrying"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !allowed(peer.ip()) {
            continue;
        }
        let Some(slot) = Slot::take(&counts, peer.ip()) else {
            full.say(|n| {
                format!("{n} connections refused: too many open (at most {MAX_CONNECTIONS}, {PER_ADDRESS} per address); the latest from {peer}")
            });
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let answer = app.clone().oneshot(request);
            async move {
                Ok::<_, std::convert::Infallible>(
                    match tokio::time::timeout(timeouts.request, answer).await {
                        Ok(Ok(response)) => response,
                        Ok(Err(never)) => match never {},
                        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
                    },
                )
            }
        });
        let io = TokioIo::new(Counted {
            stream,
            _slot: slot,
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.headers)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_per_address_and_in_all_and_given_back() {
        let counts = Arc::new(Mutex::new(Counts::default()));
        let a = IpAddr::from([192, 168, 1, 2]);
        let held: Vec<Slot> = (0..PER_ADDRESS)
            .map(|_| Slot::take(&counts, a).unwrap())
            .collect();
        assert!(Slot::take(&counts, a).is_none());
        let b = Slot::take(&counts, IpAddr::from([192, 168, 1, 3]));
        assert!(b.is_some());
        // The laptop's places are its own.
        let laptop = IpAddr::from([127, 0, 0, 1]);
        let mine: Vec<Slot> = (0..MAX_CONNECTIONS)
            .map(|_| Slot::take(&counts, laptop).unwrap())
            .collect();
        assert!(Slot::take(&counts, laptop).is_none());
        assert!(Slot::take(&counts, a).is_none());
        drop(held);
        drop(mine);
        drop(b);
        assert!(Slot::take(&counts, a).is_some());
        assert_eq!(counts.lock().unwrap().network, 0);
    }
}
