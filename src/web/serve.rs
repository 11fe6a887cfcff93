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
    transport: Transport,
    timeouts: Timeouts,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let redirect = to_https(transport.hostname.clone());
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
        let redirect = redirect.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            serve(stream, slot, peer, [app, redirect], &transport, timeouts).await;
        });
    }
}

/// How connections are spoken to.
#[derive(Clone)]
pub struct Transport {
    /// TLS, if the remote is served over it: a connection that opens with a TLS handshake
    /// gets it, on the same port as plain HTTP.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Plain HTTP answered from anywhere (`--plain-http`), not only from this machine.
    pub plain_for_all: bool,
    /// This machine's name, which a redirect may name.
    pub hostname: Option<String>,
}

/// Whether a request came over TLS, for the handlers (a session cookie is `Secure` then).
#[derive(Debug, Clone, Copy)]
pub struct OverTls(pub bool);

/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// Serves one connection: TLS if it opens with a handshake, else plain HTTP from this
/// machine (127.0.0.1 and ::1 never cross the Wi-Fi) or with `--plain-http`; anyone else speaking
/// plain HTTP is sent to the `https://` address, so a phone that typed `http://` lands there.
async fn serve(
    stream: TcpStream,
    slot: Slot,
    peer: std::net::SocketAddr,
    [app, redirect]: [Router; 2],
    transport: &Transport,
    timeouts: Timeouts,
) {
    let Some(acceptor) = &transport.tls else {
        return http(
            Counted {
                stream,
                _slot: slot,
            },
            peer,
            app,
            false,
            timeouts,
        )
        .await;
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeouts.headers, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    let counted = Counted {
        stream,
        _slot: slot,
    };
    if first[0] == TLS_HANDSHAKE {
        // The handshake is timed like headers: a client that starts one and stops holds a
        // place no longer than one that sends half a request.
        match tokio::time::timeout(timeouts.headers, acceptor.accept(counted)).await {
            Ok(Ok(tls)) => http(tls, peer, app, true, timeouts).await,
            Ok(Err(e)) => tracing::debug!("web: TLS with {peer} failed: {e}"),
            Err(_) => tracing::debug!("web: TLS with {peer} timed out"),
        }
    } else if transport.plain_for_all || is_laptop(peer.ip()) {
        http(counted, peer, app, false, timeouts).await;
    } else {
        http(counted, peer, redirect, false, timeouts).await;
    }
}

/// Answers every request with a redirect to the same place over HTTPS, if its `Host`
/// names this machine (no redirect elsewhere).
fn to_https(hostname: Option<String>) -> Router {
    use axum::http::{HeaderMap, Uri};
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| {
        let hostname = hostname.clone();
        async move { redirect(&headers, &uri, hostname.as_deref()) }
    })
}

/// The redirect for one plain request: to `https://` and the same `Host` and path.
fn redirect(
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
    hostname: Option<&str>,
) -> axum::response::Response {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| super::forgery::names_this_machine(h, hostname))
        .filter(|h| !h.contains(['/', '@', '\\']));
    let Some(host) = host else {
        return (
            StatusCode::BAD_REQUEST,
            "the remote is served over HTTPS: open https://<this machine>:<port>/\n",
        )
            .into_response();
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{path}");
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(axum::http::header::LOCATION, location.clone())],
        format!("the remote is served over HTTPS: {location}\n"),
    )
        .into_response()
}

/// Serves HTTP/1.1 on `io` until the client is done or times out.
async fn http<I>(io: I, peer: std::net::SocketAddr, app: Router, tls: bool, timeouts: Timeouts)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(OverTls(tls));
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
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.headers)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let _ = connection.await;
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
