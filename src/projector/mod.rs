//! Projector control over PJLink: the protocol's text ([`protocol`]), one connection
//! ([`session`]), one task per projector ([`client`]), all on a thread of their own so a dead
//! projector never delays a frame, a cue or another projector ([`start`]); the Class 2
//! search for projectors on the network ([`search`]); the command line's checks ([`probe`]).

pub mod client;
pub mod probe;
pub mod protocol;
pub mod search;
pub mod session;

use crate::control::{Command, ProjectorStatus, Want};
use crate::inbox::{Deliver, Incoming, Request};
use crate::show::{PjlinkSettings, Projector};
use tokio::sync::watch;

/// The running clients. Dropping it ends them (each sees its wishes' sender go) and the
/// thread with them.
pub struct Projectors {
    /// Each client's output and where its wishes go.
    clients: Vec<(String, watch::Sender<Want>)>,
}

impl Projectors {
    /// Hands each client its output's wish; one unchanged is not sent again.
    pub fn want(&self, wants: &[(String, Want)]) {
        for (output, sender) in &self.clients {
            if let Some((_, want)) = wants.iter().find(|(o, _)| o == output) {
                sender.send_if_modified(|w| std::mem::replace(w, *want) != *want);
            }
        }
    }
}

/// The target a show's projector is, its password read now (a failure is its problem).
pub fn target(p: &Projector) -> client::Target {
    client::Target {
        output: p.output.clone(),
        host: p.host.clone(),
        port: p.port,
        password: p.read_password(),
    }
}

/// Starts a client for each of `projectors` (none: nothing is started); their status
/// reaches the show through `deliver`, when it changes.
pub fn start(
    projectors: &[Projector],
    settings: &PjlinkSettings,
    deliver: Deliver,
) -> Option<Projectors> {
    if projectors.is_empty() {
        return None;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(
                "PJLink: cannot start the projector clients: {e}; the show goes on without projector control"
            );
            return None;
        }
    };
    let timing = client::Timing::new(settings.poll);
    let mut clients = Vec::new();
    let mut tasks = Vec::new();
    for p in projectors {
        let (sender, wants) = watch::channel(Want::default());
        clients.push((p.output.clone(), sender));
        let deliver = deliver.clone();
        let source = format!("projector {}:{}", p.host, p.port);
        let report = move |status: ProjectorStatus| {
            deliver(Incoming {
                source: source.clone(),
                request: Request::Command(Command::ProjectorReport(Box::new(status))),
                reply: None,
                at: None,
            })
        };
        tasks.push(client::run(target(p), timing, wants, report));
    }
    let spawned = std::thread::Builder::new()
        .name("pjlink".into())
        .spawn(move || {
            runtime.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for task in tasks {
                    set.spawn(task);
                }
                while let Some(ended) = set.join_next().await {
                    if let Err(e) = ended
                        && e.is_panic()
                    {
                        tracing::error!("PJLink: a projector's client failed; the others go on");
                    }
                }
            })
        });
    if let Err(e) = spawned {
        tracing::error!(
            "PJLink: cannot start the projector clients: {e}; the show goes on without projector control"
        );
        return None;
    }
    for p in projectors {
        tracing::info!(
            "PJLink: controlling projector {}:{} of output {:?}",
            p.host,
            p.port,
            p.output
        );
    }
    Some(Projectors { clients })
}
