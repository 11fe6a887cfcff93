//! The command line's look at the projectors: `candela check --projectors` asks each of a
//! show's projectors its status once, all at the same time, and `candela projectors` lists
//! what answers a Class 2 search. Each has a bounded wait.

use super::client::{self, Timing};
use super::search;
use crate::show::{Projector, Show};
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// One line per projector, and whether all answered.
pub fn check(show: &Show) -> (String, bool) {
    let mut out = String::new();
    if show.projectors.is_empty() {
        return ("no projectors in the show\n".into(), true);
    }
    let answers = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(ask_all(&show.projectors, &show.pjlink.poll)),
        Err(e) => return (format!("cannot ask the projectors: {e}\n"), false),
    };
    let mut all = true;
    for (p, answer) in show.projectors.iter().zip(answers) {
        let name = format!("projector {}:{} ({})", p.host, p.port, p.output);
        let _ = match answer {
            Ok(s) => {
                let power = s
                    .power
                    .map_or("unknown".into(), |p| format!("{p:?}").to_lowercase());
                let shutter = s
                    .shutter
                    .map_or("unknown".into(), |s| format!("{s:?}").to_lowercase());
                let faults = if s.faults.is_empty() {
                    "no faults".to_string()
                } else {
                    all = false;
                    format!("FAULTS: {}", s.faults.join(", "))
                };
                writeln!(
                    out,
                    "{name}: answers; power {power}, shutter {shutter}, {faults}"
                )
            }
            Err(why) => {
                all = false;
                writeln!(out, "{name}: {why}")
            }
        };
    }
    (out, all)
}

async fn ask_all(
    projectors: &[Projector],
    poll: &Duration,
) -> Vec<Result<crate::control::ProjectorStatus, String>> {
    let timing = Timing::new(*poll);
    let mut asks = tokio::task::JoinSet::new();
    for (i, p) in projectors.iter().enumerate() {
        let target = super::target(p);
        asks.spawn(async move { (i, client::probe(&target, &timing).await) });
    }
    let mut answers: Vec<_> = projectors
        .iter()
        .map(|_| Err("its check failed".to_string()))
        .collect();
    while let Some(done) = asks.join_next().await {
        if let Ok((i, answer)) = done {
            answers[i] = answer;
        }
    }
    answers
}

/// The search's answers, one line each.
pub fn list(to: SocketAddr, wait: Duration) -> std::io::Result<String> {
    // Projectors answer to port 4352 of the sender, or to the port it sent from: listening
    // on 4352 hears both, when it is free.
    let any = |port| SocketAddr::from(([0, 0, 0, 0], port));
    let found = search::search(any(crate::show::PJLINK_PORT), to, wait)
        .or_else(|_| search::search(any(0), to, wait))?;
    let mut out = String::new();
    for f in &found {
        let _ = writeln!(out, "{}  {}", f.addr.ip(), f.mac);
    }
    let _ = writeln!(
        out,
        "{} projector(s) answered in {:.1} s (Class 2 only; a Class 1 projector is found by its address)",
        found.len(),
        wait.as_secs_f64()
    );
    Ok(out)
}
