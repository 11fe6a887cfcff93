//! The DMX listeners: sACN and Art-Net on UDP. [`run`] serves them until told to stop, in
//! the caller's tokio runtime (tests drive it in-process); [`start`] runs it on a thread of
//! its own, restarted if it ever fails, so the render thread never waits on the network.
//!
//! One loop reads both sockets into one buffer of [`MAX_PACKET`] bytes and hands each
//! datagram to the [`Receiver`]; between packets it ticks every [`TICK`] while a console is
//! live, so held values count and silence is noticed. Nothing is queued per packet.

use super::artnet;
use super::receiver::{Heard, MAX_PACKET, Receiver};
use crate::inbox::{Deliver, Incoming, Request};
use crate::show::DmxSettings;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;
use tokio::time::Instant;

/// How often the merged universe is looked at between packets while a console is live.
pub const TICK: Duration = Duration::from_millis(10);
pub const SACN_PORT: u16 = 5568;
pub const ARTNET_PORT: u16 = 6454;

/// Where to listen, from the command line.
#[derive(Debug, Clone)]
pub struct DmxOptions {
    pub sacn: SocketAddr,
    pub artnet: SocketAddr,
}

impl Default for DmxOptions {
    fn default() -> DmxOptions {
        DmxOptions {
            sacn: SocketAddr::from(([0, 0, 0, 0], SACN_PORT)),
            artnet: SocketAddr::from(([0, 0, 0, 0], ARTNET_PORT)),
        }
    }
}

/// The bound sockets.
pub struct Sockets {
    sacn: UdpSocket,
    artnet: UdpSocket,
}

/// sACN's multicast group for `universe`: 239.255.hi.lo.
pub fn group(universe: u16) -> Ipv4Addr {
    let [hi, lo] = universe.to_be_bytes();
    Ipv4Addr::new(239, 255, hi, lo)
}

impl Sockets {
    /// Binds both; port 0 becomes a free port. The sACN socket joins `universe`'s multicast
    /// group when it can (unicast is heard either way).
    pub fn bind(options: &DmxOptions, universe: u16) -> std::io::Result<Sockets> {
        let bind = |addr: SocketAddr, what: &str, flag: &str| {
            UdpSocket::bind(addr).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen for {what} on {addr}: {e} (is another candela or media server running? choose another with {flag}, or --no-dmx)"
                    ),
                )
            })
        };
        let sacn = bind(options.sacn, "sACN", "--sacn")?;
        let artnet = bind(options.artnet, "Art-Net", "--artnet")?;
        if let IpAddr::V4(ip) = options.sacn.ip() {
            let group = group(universe);
            if let Err(e) = sacn.join_multicast_v4(&group, &ip) {
                tracing::warn!(
                    "DMX: cannot join sACN multicast {group} on {ip}: {e}; only unicast sACN reaches candela"
                );
            }
        }
        for s in [&sacn, &artnet] {
            s.set_nonblocking(true)?;
        }
        artnet.set_broadcast(true)?;
        Ok(Sockets { sacn, artnet })
    }

    /// The addresses bound: sACN's, then Art-Net's.
    pub fn local_addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.sacn.local_addr()?, self.artnet.local_addr()?))
    }

    fn try_clone(&self) -> std::io::Result<Sockets> {
        Ok(Sockets {
            sacn: self.sacn.try_clone()?,
            artnet: self.artnet.try_clone()?,
        })
    }
}

/// The running server, for the log and tests.
pub struct DmxServer {
    pub sacn: SocketAddr,
    pub artnet: SocketAddr,
}

/// Binds and serves on a thread of its own; a failed server is logged and started again on
/// the same sockets, after a growing pause ([`crate::task::restarting`]).
pub fn start(
    options: &DmxOptions,
    settings: DmxSettings,
    deliver: Deliver,
) -> std::io::Result<DmxServer> {
    let sockets = Sockets::bind(options, settings.universe)?;
    let (sacn, artnet) = sockets.local_addrs()?;
    if settings.allow.is_none() {
        tracing::warn!(
            "DMX: any console on the network can drive the show; list who may in the show file's [dmx] allow = [...]"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let universe = settings.universe;
    let port_address = settings.port_address;
    std::thread::Builder::new()
        .name("dmx".into())
        .spawn(move || {
            crate::task::restarting(
                "the DMX receiver",
                || false,
                || {
                    let sockets = sockets.try_clone().map_err(|e| e.to_string())?;
                    runtime.block_on(run(
                        sockets,
                        settings.clone(),
                        deliver.clone(),
                        std::future::pending(),
                    ))
                },
            )
        })?;
    tracing::info!("DMX: sACN universe {universe} listening on udp {sacn}");
    tracing::info!("DMX: Art-Net port address {port_address} listening on udp {artnet}");
    Ok(DmxServer { sacn, artnet })
}

/// Serves `sockets` until `shutdown` resolves, handing commands to the show through
/// `inbox`. Must be called within a tokio runtime with IO and time enabled.
pub async fn run(
    sockets: Sockets,
    settings: DmxSettings,
    inbox: Deliver,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let local_artnet = sockets.artnet.local_addr().map_err(|e| e.to_string())?;
    let sacn = tokio::net::UdpSocket::from_std(sockets.sacn).map_err(|e| e.to_string())?;
    let artnet = tokio::net::UdpSocket::from_std(sockets.artnet).map_err(|e| e.to_string())?;
    let source = format!("DMX universe {}", settings.universe);
    let port_address = settings.port_address;
    let mut receiver = Receiver::new(settings);
    let started = Instant::now();
    // One byte more than the largest packet taken, so a longer one is seen to be longer.
    let mut sacn_buf = vec![0u8; MAX_PACKET + 1];
    let mut artnet_buf = vec![0u8; MAX_PACKET + 1];
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        let ticking = receiver.busy() || receiver.owes_report();
        let heard = tokio::select! {
            biased;
            _ = &mut shutdown => return Ok(()),
            r = sacn.recv_from(&mut sacn_buf) => match r {
                Ok((len, from)) => receiver.sacn(&sacn_buf[..len], from, started.elapsed()),
                Err(e) => { tracing::debug!("DMX sACN: {e}"); Heard::default() }
            },
            r = artnet.recv_from(&mut artnet_buf) => match r {
                Ok((len, from)) => {
                    let heard = receiver.artnet(&artnet_buf[..len], from, started.elapsed());
                    if heard.poll {
                        answer_poll(&artnet, local_artnet, from, port_address);
                    }
                    heard
                }
                Err(e) => { tracing::debug!("DMX Art-Net: {e}"); Heard::default() }
            },
            _ = tokio::time::sleep(TICK), if ticking => receiver.frame(started.elapsed()),
            _ = sweep.tick() => { receiver.sweep(); Heard::default() }
        };
        let report = receiver.report(started.elapsed());
        for command in heard.commands.into_iter().chain(report) {
            inbox(Incoming {
                source: source.clone(),
                request: Request::Command(command),
                reply: None,
                at: None,
            });
        }
    }
}

/// An ArtPollReply to the poller, naming the address it reached candela at. Never waits: a
/// reply that finds the socket busy is dropped, and the console polls again.
fn answer_poll(socket: &tokio::net::UdpSocket, local: SocketAddr, to: SocketAddr, port: u16) {
    let ip = match local.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => ip,
        _ => outgoing_ip(to).unwrap_or(Ipv4Addr::UNSPECIFIED),
    };
    // The spec's ArtPollReply always says port 0x1936, whatever the node listens on.
    let reply = artnet::poll_reply(SocketAddrV4::new(ip, ARTNET_PORT), port, true);
    let _ = socket.try_send_to(&reply, to);
}

/// The local address the system would send to `to` from (no packet is sent).
fn outgoing_ip(to: SocketAddr) -> Option<Ipv4Addr> {
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    probe.connect(to).ok()?;
    match probe.local_addr().ok()?.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(_) => None,
    }
}
