//! The web remote: one page served from the binary, and the API it uses, so an operator with
//! only a phone can see the wall and cue the show, behind a PIN.
//!
//! - [`api`]: the routes: the page, state, commands, login, preview, thumbnails, events.
//! - [`auth`]: the allowlist, PINs and sessions.
//! - [`forgery`]: requests other pages make a browser send (`Origin`, `Host`,
//!   `Content-Type`) refused, and the headers that keep the page out of frames.
//! - [`guesses`]: the limit on wrong PINs: per address, per network, for everyone.
//! - [`serve`]: the accept loop: connections capped in all and per address, and timed out;
//!   TLS or plain HTTP told apart by the first byte, plain only from this machine.
//! - [`tls`]: the remote's own certificate, made once and kept.
//! - [`tap`]: the render thread's side: the state published, the wall read back and
//!   encoded off the render thread, only while someone watches.
//!
//! Commands go through the same inbox as keys and OSC, as OSC addresses without the prefix,
//! read by the show's own OSC [`Dialect`]: the web adds no second set of show rules.

mod api;
mod auth;
mod forgery;
mod guesses;
mod serve;
mod tap;
mod tls;

pub use api::{MAX_BODY, MAX_VIEWERS};
pub use auth::MIN_PIN;
pub use guesses::{EVERYONE, PER_ADDRESS, PER_NETWORK, WINDOW as WRONG_PIN_WINDOW};
pub use serve::{MAX_CONNECTIONS, PER_ADDRESS as CONNECTIONS_PER_ADDRESS};
pub use tap::Tap;

use crate::control::Engine;
use crate::inbox::Deliver;
use crate::osc::dialect::Dialect;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// Where `candela play` serves the web remote unless told otherwise.
pub const DEFAULT_PORT: u16 = 8080;

/// Where to listen, from the command line.
#[derive(Debug, Clone)]
pub struct WebOptions {
    pub bind: SocketAddr,
    /// The address was asked for (`--http`): not getting it stops the show. The default one
    /// may be taken by something else on the laptop; then the show goes on without the web
    /// remote, and says so.
    pub required: bool,
    /// What loading the show found, for the page to list.
    pub problems: Vec<String>,
    /// Where the remote's certificate is kept (the state folder).
    pub state_dir: Option<std::path::PathBuf>,
    /// Plain HTTP answered from the network too (`--plain-http`), not only from this machine.
    pub plain_for_all: bool,
}

/// What every request handler shares.
pub struct Shared {
    dialect: Dialect,
    deliver: Deliver,
    auth: auth::Auth,
    feed: Arc<tap::Feed>,
    /// Recent commands by sender, to drop a double tap.
    debounce: Mutex<crate::osc::server::Debounce>,
    /// This machine's name, which a `Host` header may give.
    hostname: Option<String>,
    /// The certificate's SHA-256 fingerprint, for the page to show.
    fingerprint: String,
}

pub struct WebServer {
    /// The address actually bound (port 0 becomes a real one).
    pub local_addr: SocketAddr,
    pub tap: Tap,
}

/// Binds `options.bind` and serves the web remote for `engine`'s show on a thread of its
/// own; requests reach the show through `deliver`. None when the default address is taken.
pub fn start(
    options: &WebOptions,
    engine: &Engine,
    deliver: Deliver,
) -> anyhow::Result<Option<WebServer>> {
    let bind = options.bind;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let bound = {
        let _entered = runtime.enter();
        listen(bind)
    };
    let listener = match bound {
        Ok(listener) => listener,
        Err(e) => {
            let why = format!(
                "cannot serve the web remote on {bind}: {e} (is another candela running? choose another with --http, or --no-http)"
            );
            if options.required {
                anyhow::bail!(why);
            }
            tracing::error!("{why}; the show goes on without it");
            return Ok(None);
        }
    };
    let local_addr = listener.local_addr()?;
    let show = engine.show();
    let (pin, from) = match (std::env::var("CANDELA_PIN"), &show.web.pin) {
        (Ok(pin), _) if !pin.trim().is_empty() => (pin.trim().to_string(), "CANDELA_PIN"),
        (_, Some(pin)) => (pin.clone(), "the show's [web] pin"),
        _ => (auth::random_pin()?, ""),
    };
    if pin.chars().count() < MIN_PIN {
        anyhow::bail!(
            "the control PIN from {from} has {} characters; it needs at least {MIN_PIN} (e.g. CANDELA_PIN=482913), or unset it for a random one",
            pin.chars().count()
        );
    }
    let lan = lan_address(local_addr.ip());
    let hostname = forgery::hostname();
    let identity = certificate(options.state_dir.as_deref(), lan, hostname.as_deref())?;
    let url = format!("https://{lan}:{}/", local_addr.port());
    if from.is_empty() {
        tracing::info!(
            "web remote: {url} (control PIN {pin}; set your own with CANDELA_PIN or [web] pin)"
        );
    } else {
        tracing::info!("web remote: {url} (control PIN from {from})");
    }
    tracing::info!(
        "web remote certificate SHA-256 {} (check it once on each phone: the browser's warning page shows it)",
        identity.fingerprint
    );
    if options.plain_for_all {
        tracing::warn!(
            "web: plain HTTP is answered from the network too (--plain-http): the PIN and the session cross the network readable"
        );
    }
    tracing::info!("web remote listening on {local_addr}");
    if show.web.allow.is_none() && !local_addr.ip().is_loopback() {
        tracing::info!(
            "web: anyone on the network may view the show; list who may connect in [web] allow = [...]"
        );
    }
    let feed = Arc::new(tap::Feed::new(deliver.clone(), options.problems.clone()));
    let shared = Arc::new(Shared {
        dialect: Dialect::new(show.osc.clone()),
        deliver,
        auth: auth::Auth::new(pin, show.web.view_pin.clone(), show.web.allow.clone()),
        feed: feed.clone(),
        debounce: Mutex::default(),
        hostname: hostname.clone(),
        fingerprint: identity.fingerprint.clone(),
    });
    let transport = serve::Transport {
        tls: Some(tokio_rustls::TlsAcceptor::from(identity.config)),
        plain_for_all: options.plain_for_all,
        hostname,
    };
    let tap = Tap::new(feed.clone())?;
    std::thread::Builder::new()
        .name("web".into())
        .spawn(move || {
            runtime.block_on(async move {
                run(listener, shared, transport).await;
            });
        })?;
    Ok(Some(WebServer { local_addr, tap }))
}

/// The remote's certificate, for the names a phone may open it by: the kept one, or one
/// made now. One that cannot be kept is still served (phones accept it again next start).
fn certificate(
    state_dir: Option<&std::path::Path>,
    lan: IpAddr,
    hostname: Option<&str>,
) -> anyhow::Result<tls::Identity> {
    let mut names = vec!["localhost".to_string()];
    // A name that is not a plain DNS label list cannot go in a certificate.
    if let Some(h) = hostname.filter(|h| {
        h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    }) {
        names.push(h.to_string());
        if !h.ends_with(".local") {
            names.push(format!("{h}.local"));
        }
    }
    names.extend(["127.0.0.1".to_string(), "::1".to_string()]);
    if !lan.is_loopback() {
        names.push(lan.to_string());
    }
    match tls::identity(state_dir, &names) {
        Ok(identity) => Ok(identity),
        Err(e) if state_dir.is_some() => {
            tracing::warn!("web: {e:#}; this start's certificate is not kept");
            tls::identity(None, &names)
        }
        Err(e) => Err(e),
    }
}

/// The kernel's send buffer for each connection (accepted sockets inherit the listener's):
/// a phone on a slow link, or a client that never reads, holds at most this much there, and
/// is dropped once it has taken nothing for a while.
const SEND_BUFFER: u32 = 128 * 1024;

/// A listener on `bind`, within the web runtime's context.
fn listen(bind: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match bind {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SEND_BUFFER)?;
    socket.bind(bind)?;
    socket.listen(1024)
}

/// Serves the web remote on `listener` until the process ends.
pub async fn run(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    transport: serve::Transport,
) {
    let app = api::router(shared.clone());
    let allowed = move |ip| shared.auth.allowed(ip);
    serve::accept(
        listener,
        app,
        allowed,
        transport,
        serve::Timeouts::from_env(),
    )
    .await;
}

/// The address a phone on the same network reaches this machine at: the bound one, or for
/// "every interface" the one the system would use to reach a LAN (no packet is sent).
fn lan_address(bound: IpAddr) -> IpAddr {
    if !bound.is_unspecified() {
        return bound;
    }
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.168.0.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
