//! The show's links to the world outside its output, the same for the window and headless:
//! the OSC server (requests in, feedback out), the web remote, the count feeds, and the
//! counts and the calibration kept on disk.

use super::keeper::CalibrationKeeper;
use crate::control::{Command, Engine, Resume};
use crate::counts::feed::{self, FeedEvent, Feeds};
use crate::counts::store::{self, Keeper};
use crate::inbox;
use crate::inbox::{Deliver, Incoming, Request};
use crate::osc::server::{self, OscOptions, OscServer};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What to link a playing show to, from the command line.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    pub osc: Option<OscOptions>,
    pub web: Option<crate::web::WebOptions>,
    /// Where to listen for sACN and Art-Net, when the show has `[dmx]`.
    pub dmx: Option<crate::dmx::server::DmxOptions>,
    /// The file counts are kept in across restarts; None keeps nothing.
    pub counts_file: Option<PathBuf>,
    /// The file the calibration is saved to when the technician changes it.
    pub calibration_file: Option<PathBuf>,
    /// The file where the show is (slide, blackout...) is kept in, for resuming after a crash.
    pub resume_file: Option<PathBuf>,
    /// Watch the show file and its photos, and swap in each good new version.
    pub watch: bool,
    /// Lead other machines, or follow one.
    pub sync: Option<crate::sync::SyncOptions>,
}

pub struct Links {
    pub osc: Option<OscServer>,
    web: Option<crate::web::WebServer>,
    /// Its thread runs for as long as the process.
    _dmx: Option<crate::dmx::server::DmxServer>,
    keeper: Option<Keeper>,
    calibration: Option<CalibrationKeeper>,
    resume: Option<crate::keep::Keeper<Resume>>,
    /// Kept for as long as the show plays: dropping it stops the feeds.
    feeds: Option<Feeds>,
    /// What the feeds were started for...
    feeding: (Vec<feed::HttpSource>, Vec<feed::FileSource>),
    /// ...and the engine's show revision when that was last looked at.
    revision: u64,
    /// Following a leader: no feeds of its own.
    follows: bool,
    deliver: Deliver,
    /// The PJLink clients, one per projector in the show.
    projectors: Option<crate::projector::Projectors>,
    /// ...and what they were started for.
    projecting: (Vec<crate::show::Projector>, crate::show::PjlinkSettings),
    _watcher: Option<super::watcher::ShowWatcher>,
}

/// The feeds `engine`'s show asks for.
fn feeds_of(engine: &Engine) -> (Vec<feed::HttpSource>, Vec<feed::FileSource>) {
    let counters = &engine.show().counters;
    let http = counters.iter().filter_map(|c| c.http.clone()).collect();
    let files = counters.iter().filter_map(|c| c.file.clone()).collect();
    (http, files)
}

fn start_feeds(
    (http, files): &(Vec<feed::HttpSource>, Vec<feed::FileSource>),
    deliver: &Deliver,
) -> Option<Feeds> {
    (!http.is_empty() || !files.is_empty())
        .then(|| feed::start(http.clone(), files.clone(), feed_sink(deliver.clone())))
}

impl Links {
    /// Starts what `options` asks for, and the show's count feeds; requests and readings
    /// reach the show through `deliver`.
    pub fn start(options: LinkOptions, engine: &Engine, deliver: Deliver) -> anyhow::Result<Links> {
        // Watching first: an edit saved once the show answers on the network is never missed.
        let watcher = options
            .watch
            .then(|| super::watcher::start(engine.show(), deliver.clone()));
        // A follower's counts and cues come from the leader: were it to read the feeds or a
        // desk's DMX itself, each reading would be applied twice.
        let follows = matches!(options.sync, Some(crate::sync::SyncOptions::Follow { .. }));
        let feeding = if follows {
            (Vec::new(), Vec::new())
        } else {
            feeds_of(engine)
        };
        let feeds = start_feeds(&feeding, &deliver);
        let web = match &options.web {
            Some(w) => crate::web::start(w, engine, deliver.clone())?,
            None => None,
        };
        // Before OSC, whose "listening" line tells tests and scripts that all is bound.
        let dmx = match (&options.dmx, &engine.show().dmx) {
            (Some(_), Some(_)) if follows => {
                tracing::info!("DMX: not listening: this machine follows the leader, which does");
                None
            }
            (Some(o), Some(settings)) => Some(crate::dmx::server::start(
                o,
                settings.clone(),
                deliver.clone(),
            )?),
            _ => None,
        };
        let osc = match options.osc {
            Some(o) => Some(server::start(
                &o.binds,
                engine.show().osc.clone(),
                o.log,
                deliver.clone(),
            )?),
            None => None,
        };
        let keeper = options
            .counts_file
            .map(|file| store::keeper(file, engine.counts().clone()));
        let calibration = options.calibration_file.map(|file| {
            CalibrationKeeper::start(file, engine.stage().revision(), engine.stage().started())
        });
        // Cues are rare and a crash right after one must not lose it: written at once.
        let resume = options.resume_file.map(|file| {
            let every = std::time::Duration::from_millis(20);
            crate::keep::Keeper::start(file, None, "where the show is", every, encode_resume)
        });
        let show = engine.show();
        let projectors = crate::projector::start(&show.projectors, &show.pjlink, deliver.clone());
        Ok(Links {
            projectors,
            projecting: (show.projectors.clone(), show.pjlink.clone()),
            osc,
            web,
            _dmx: dmx,
            keeper,
            calibration,
            resume,
            feeds,
            feeding,
            revision: engine.revision(),
            follows,
            deliver,
            _watcher: watcher,
        })
    }

    /// After each frame: feedback targets hear of changes, changed counts are kept, and a
    /// reloaded show's feeds are started if they changed.
    pub fn report(&mut self, engine: &Engine) {
        if engine.revision() != self.revision && !self.follows {
            self.revision = engine.revision();
            let feeding = feeds_of(engine);
            if feeding != self.feeding {
                tracing::info!("the show's count feeds changed: starting them again");
                // The old ones are told to stop first (dropping them does, without waiting).
                self.feeds = None;
                self.feeding = feeding;
                self.feeds = start_feeds(&self.feeding, &self.deliver);
            }
        }
        if let Some(osc) = self.osc.as_ref().filter(|o| o.has_feedback()) {
            osc.publish(inbox::state(engine));
        }
        if let Some(keeper) = &mut self.keeper {
            keeper.offer(engine.counts());
        }
        if let Some(keeper) = &mut self.calibration {
            let stage = engine.stage();
            keeper.offer(stage.revision(), || stage.calibration());
        }
        if let Some(keeper) = &mut self.resume {
            keeper.offer(&Resume::of(&engine.status()));
        }
    }

    /// After each frame: the projectors are told what the show wants of them (each client
    /// acts on it on its own thread); a reloaded show's projectors are started again if the
    /// file changed them.
    pub fn want_projectors(&mut self, engine: &Engine, wants: &[(String, crate::control::Want)]) {
        let show = engine.show();
        if !same_projectors(&show.projectors, &self.projecting.0)
            || show.pjlink != self.projecting.1
        {
            tracing::info!("the show's projectors changed: starting their clients again");
            self.projecting = (show.projectors.clone(), show.pjlink.clone());
            self.projectors = None;
            self.projectors =
                crate::projector::start(&show.projectors, &show.pjlink, self.deliver.clone());
        }
        if let Some(p) = &self.projectors {
            p.want(wants);
        }
    }

    pub fn web_addr(&self) -> Option<std::net::SocketAddr> {
        self.web.as_ref().map(|w| w.local_addr)
    }

    /// After each frame, drawn or not, with the GPU that drew it: the web remote's state,
    /// and its picture of the wall while someone watches. Never waits.
    pub fn web_frame(
        &mut self,
        engine: &Engine,
        now: std::time::Duration,
        scene: &crate::control::Scene,
        gpu: &crate::render::Gpu,
        renderer: &mut crate::render::Renderer,
    ) {
        if let Some(web) = &mut self.web {
            web.tap.frame(engine, now, scene, gpu, renderer);
        }
    }

    /// The show is ending: what is still to be saved is saved now.
    pub fn finish(&mut self, engine: &Engine) {
        self.report(engine);
        if let Some(keeper) = &mut self.calibration {
            keeper.finish();
        }
        if let Some(keeper) = &mut self.keeper {
            keeper.finish();
        }
        if let Some(keeper) = &mut self.resume {
            keeper.finish();
        }
    }
}

/// Feed readings become count commands, delivered like any other request. A reading equal to
/// the last one, or a fault after a fault, is not passed on: a feed stuck on a value lower
/// than the wall shows is refused (and logged) once, not at every poll.
fn feed_sink(deliver: Deliver) -> Arc<dyn Fn(FeedEvent) + Send + Sync> {
    let last: Mutex<HashMap<String, Option<u64>>> = Mutex::new(HashMap::new());
    Arc::new(move |event| {
        let (counter, reading, command) = match event {
            FeedEvent::Value { counter, value } => {
                let command = Command::SetCount {
                    counter: counter.clone(),
                    value,
                };
                (counter, Some(value), command)
            }
            FeedEvent::Fault { counter, .. } => {
                let command = Command::FeedFailed {
                    counter: counter.clone(),
                };
                (counter, None, command)
            }
        };
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(&counter) == Some(&reading) {
            return;
        }
        last.insert(counter.clone(), reading);
        drop(last);
        deliver(Incoming {
            source: format!("feed for counter {counter:?}"),
            request: Request::Command(command),
            reply: None,
            at: None,
        });
    })
}

/// The same projectors, wherever in the file they are written: an edit above them does not
/// restart their clients.
fn same_projectors(a: &[crate::show::Projector], b: &[crate::show::Projector]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            (&a.output, &a.host, a.port, &a.password) == (&b.output, &b.host, b.port, &b.password)
        })
}

fn encode_resume(resume: &Resume) -> Vec<u8> {
    serde_json::to_vec_pretty(resume).unwrap_or_default()
}
