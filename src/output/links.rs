//! The show's links to the world outside its output, the same for the window and headless:
//! the OSC server (requests in, feedback out) and the counts kept on disk.

use crate::control::Engine;
use crate::counts::store::Keeper;
use crate::osc::answer;
use crate::osc::server::{self, Deliver, OscOptions, OscServer};
use std::path::PathBuf;

/// What to link a playing show to, from the command line.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    pub osc: Option<OscOptions>,
    /// The file counts are kept in across restarts; None keeps nothing.
    pub counts_file: Option<PathBuf>,
}

pub struct Links {
    pub osc: Option<OscServer>,
    keeper: Option<Keeper>,
}

impl Links {
    /// Starts what `options` asks for; requests reach the show through `deliver`.
    pub fn start(options: LinkOptions, engine: &Engine, deliver: Deliver) -> anyhow::Result<Links> {
        let osc = match options.osc {
            Some(o) => Some(server::start(
                &o.binds,
                engine.show().osc.clone(),
                o.log,
                deliver,
            )?),
            None => None,
        };
        let keeper = options
            .counts_file
            .map(|file| Keeper::start(file, engine.counts().clone()));
        Ok(Links { osc, keeper })
    }

    /// After each frame: feedback targets hear of changes, changed counts are kept.
    pub fn report(&mut self, engine: &Engine) {
        if let Some(osc) = &self.osc {
            osc.publish(answer::state(engine));
        }
        if let Some(keeper) = &mut self.keeper {
            keeper.offer(engine.counts());
        }
    }
}
