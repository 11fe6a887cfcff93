//! The one frame loop every way of playing drives (the window, headless play, the bench):
//! the [`Player`] owns the engine, the inbox and the show's clock, and runs a frame's steps
//! in one order, so the window and offscreen differ only in where the pixels go.

use super::links::{LinkOptions, Links};
use crate::control::{Engine, Scene, Stage};
use crate::inbox::{self, Deliver, Incoming, Join, Request, SyncRequest};
use crate::render::{Gpu, PhotoNeeds, Renderer};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Requests for a later time that may wait at once: enough for a cue list sent ahead, few
/// enough that a sender gone wrong cannot fill the memory.
pub const MOST_WAITING: usize = 1024;
/// Relayed commands still to take effect that a moment for a follower carries, at most: the
/// moment must fit in a datagram (a follower missing the rest asks again once they are
/// applied).
const MOST_PENDING: usize = 64;

/// Where a [`Player`]'s frames are drawn: windows, or offscreen textures.
pub trait Display {
    /// The GPU and the renderer drawing with it; None while there is none (the windows not
    /// yet open, or the GPU being recreated).
    fn drawing(&mut self) -> Option<(&Gpu, &mut Renderer)>;
    /// Draws `scene` on every output; when it was handed to the GPU, or None when nothing
    /// could be shown this time (the next frame tries again).
    fn draw(&mut self, scene: &Scene, stage: &Stage) -> Option<Instant>;
}

/// A display that draws nothing: a player's frames computed without a GPU, as tests and
/// benches of the frame's steps (sync, the inbox) want them.
pub struct Unseen;

impl Display for Unseen {
    fn drawing(&mut self) -> Option<(&Gpu, &mut Renderer)> {
        None
    }
    fn draw(&mut self, _: &Scene, _: &Stage) -> Option<Instant> {
        Some(Instant::now())
    }
}

/// What one [`Player::frame`] did.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Requests applied.
    pub handled: usize,
    /// The frame, when the picture changed and one was drawn.
    pub drawn: Option<Drawn>,
}

/// When a frame was begun, handed to the GPU, and done.
#[derive(Debug, Clone, Copy)]
pub struct Drawn {
    pub started: Instant,
    pub submitted: Instant,
    pub done: Instant,
}

/// A show playing: its engine, its inbox and its links, moved on one frame at a time.
pub struct Player {
    engine: Engine,
    inbox: Receiver<Incoming>,
    deliver: Deliver,
    /// Taken off the inbox while waiting, not yet looked at.
    arrived: Vec<Incoming>,
    /// Requests whose time has not come, by their time (in arrival order for one time).
    later: VecDeque<(Duration, Incoming)>,
    /// Show time zero...
    start: Instant,
    /// ...on the wall clock, ns since 1970: where followers put theirs.
    origin_ns: u64,
    /// The time the engine was last moved to: no request is applied before it, as the
    /// engine's transitions only go forward.
    moved_to: Duration,
    /// What was last drawn: the scene and the stage's geometry revision.
    last: Option<(Scene, u64)>,
    drawn: u64,
    /// The engine's show and photo revisions the renderer has loaded photos for.
    revisions: super::Revisions,
    links: Links,
    /// Leading or following other machines.
    sync: Option<crate::sync::Link>,
    /// The highest relayed number applied.
    applied_seq: u64,
}

impl Player {
    /// Starts the links `options` asks for; whatever they deliver reaches the inbox, and
    /// `wake` is called after each delivery (a sleeping event loop's alarm).
    pub fn new(
        engine: Engine,
        options: LinkOptions,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> anyhow::Result<Player> {
        let (sender, inbox) = std::sync::mpsc::channel::<Incoming>();
        let deliver: Deliver = std::sync::Arc::new(move |incoming| {
            if sender.send(incoming).is_ok() {
                wake();
            }
        });
        let sync = match &options.sync {
            Some(o) => Some(crate::sync::Link::start(o, &engine, deliver.clone())?),
            None => None,
        };
        let links = Links::start(options, &engine, deliver.clone())?;
        Ok(Player {
            origin_ns: crate::sync::wall_ns(),
            sync,
            applied_seq: 0,
            inbox,
            deliver,
            arrived: Vec::new(),
            later: VecDeque::new(),
            start: Instant::now(),
            moved_to: Duration::ZERO,
            last: None,
            drawn: 0,
            revisions: super::revisions(&engine),
            links,
            engine,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Where requests for this show go; the keys hand theirs here like every other input.
    pub fn deliver(&self) -> Deliver {
        self.deliver.clone()
    }

    /// The show's time now, on its own clock.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The moment show time `at` is (or was).
    pub fn instant(&self, at: Duration) -> Instant {
        self.start + at
    }

    /// Frames drawn so far, the black one aside.
    pub fn drawn(&self) -> u64 {
        self.drawn
    }

    /// The OSC listeners' addresses (none when not listening).
    pub fn osc_addrs(&self) -> &[std::net::SocketAddr] {
        self.links.osc.as_ref().map_or(&[], |o| &o.local_addrs)
    }

    /// The web remote's address, when it listens.
    pub fn web_addr(&self) -> Option<std::net::SocketAddr> {
        self.links.web_addr()
    }

    /// The first frame, black on every output, as a projector's first frame is; then what the
    /// slides need is loaded. The show's clock starts here, so opening the windows and the GPU
    /// is not show time.
    pub fn black(&mut self, display: &mut impl Display) {
        display.draw(&Scene::black(), self.engine.stage());
        if let Some((_, renderer)) = display.drawing() {
            super::preload(renderer, &self.engine);
        }
        self.start = Instant::now();
        self.origin_ns = crate::sync::wall_ns();
        if let Some(sync) = &self.sync {
            sync.set_origin(self.origin_ns);
        }
    }

    /// What was last drawn.
    pub fn last_scene(&self) -> Option<&Scene> {
        self.last.as_ref().map(|(scene, _)| scene)
    }

    /// Playing the same moment as the other machines: always, but for a follower that has
    /// not joined its leader, or lost it.
    pub fn in_step(&self) -> bool {
        self.sync
            .as_ref()
            .is_none_or(|s| !s.follows() || s.in_step())
    }

    /// The sync link's address, when leading or following.
    pub fn sync_addr(&self) -> Option<std::net::SocketAddr> {
        self.sync.as_ref().map(|s| s.local_addr)
    }

    /// The next frame is drawn even if the picture is the same: what was shown is gone (a
    /// window resized or exposed, a GPU recreated).
    pub fn redraw(&mut self) {
        self.last = None;
    }

    /// When the next frame is due by itself, if nothing arrives first: the show's next change
    /// or the next waiting request's time.
    pub fn next_due(&self) -> Option<Duration> {
        let waiting = self.later.front().map(|(at, _)| *at);
        match (self.engine.next_change(), waiting) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sleeps until show time `until`, or less if a request arrives or one waiting falls due
    /// first. True if either did.
    pub fn wait(&mut self, until: Duration) -> bool {
        if !self.arrived.is_empty() {
            return true;
        }
        let until = self.next_due().map_or(until, |due| due.min(until));
        let deadline = self.instant(until);
        match self
            .inbox
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(incoming) => {
                self.arrived.push(incoming);
                true
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                self.later.front().is_some_and(|(at, _)| *at <= until)
            }
        }
    }

    /// One frame at show time `now`, its steps always in this order: the local time (for the
    /// show's hours, before any request, so even the first answer knows whether they allow
    /// the show); the requests due; the show moved on; the photos a reload changed; what is
    /// kept on disk and told to feedback targets; the picture drawn if it changed; the web
    /// remote's frame; the next slide drawn ahead once the wall stands still.
    pub fn frame(&mut self, now: Duration, display: &mut impl Display) -> Step {
        self.engine.set_local_time(super::local_now(), now);
        let handled = self.handle_due(now);
        self.engine.tick(now);
        self.moved_to = self.moved_to.max(now);
        if let Some((_, renderer)) = display.drawing() {
            super::reloaded(&mut self.revisions, renderer, &self.engine);
        }
        self.links.report(&self.engine);
        if let Some(sync) = &mut self.sync {
            sync.frame(&self.engine);
        }
        let wants = self.engine.projector_wants(now);
        self.links.want_projectors(&self.engine, &wants);
        let scene = self.engine.scene(now);
        let geometry = self.engine.stage().revision();
        let photo_due = display
            .drawing()
            .is_some_and(|(_, r)| r.photos_need() == PhotoNeeds::Frame);
        let unchanged = !photo_due
            && self
                .last
                .as_ref()
                .is_some_and(|(s, g)| *s == scene && *g == geometry);
        let mut drawn = None;
        if !unchanged {
            let started = Instant::now();
            if let Some(submitted) = display.draw(&scene, self.engine.stage()) {
                drawn = Some(Drawn {
                    started,
                    submitted,
                    done: Instant::now(),
                });
                self.drawn += 1;
            }
        }
        if let Some((gpu, renderer)) = display.drawing() {
            self.links
                .web_frame(&self.engine, now, &scene, gpu, renderer);
            super::draw_ahead(renderer, gpu, &self.engine, now);
        }
        if drawn.is_some() {
            self.last = Some((scene, geometry));
        }
        Step { handled, drawn }
    }

    /// Applies every request whose time has come by `now`, in the order of their times (of
    /// arrival, for one time), each at its own time with the show moved on to it first, so
    /// machines whose frames fall at other times still compute the same; later ones wait.
    /// How many were applied.
    fn handle_due(&mut self, now: Duration) -> usize {
        let arrived: Vec<Incoming> = std::mem::take(&mut self.arrived)
            .into_iter()
            .chain(self.inbox.try_iter())
            .collect();
        for incoming in arrived {
            let incoming = match incoming.request {
                // At once, so that what the leader relayed after it (handed on after it) is
                // applied on top of it, whatever times they carry.
                Request::Sync(SyncRequest::Adopt(join)) => {
                    self.adopt(*join);
                    continue;
                }
                // A leader relays only what it keeps: what it refuses must reach no follower.
                _ if self.later.len() >= MOST_WAITING
                    && self
                        .sync
                        .as_ref()
                        .is_some_and(|s| s.would_relay(&incoming.request)) =>
                {
                    refuse(incoming, "too many requests waiting for their time");
                    continue;
                }
                _ => match &mut self.sync {
                    Some(sync) => match sync.route(incoming, self.start.elapsed(), &self.engine) {
                        Some(i) => i,
                        None => continue,
                    },
                    None => incoming,
                },
            };
            let at = incoming.at.unwrap_or(now);
            // What the leader relayed it kept within its own bound: a follower takes it all
            // (refusing some would show another picture), with room for its own.
            let relayed = matches!(incoming.request, Request::Sync(SyncRequest::Relayed { .. }));
            let most = if relayed {
                2 * MOST_WAITING
            } else {
                MOST_WAITING
            };
            if at > now && self.later.len() >= most {
                refuse(incoming, "too many requests waiting for their time");
                continue;
            }
            let place = self.later.partition_point(|(t, _)| *t <= at);
            self.later.insert(place, (at, incoming));
        }
        let mut handled = 0;
        while let Some((at, _)) = self.later.front()
            && *at <= now
        {
            let Some((at, incoming)) = self.later.pop_front() else {
                break;
            };
            let at = at.max(self.moved_to);
            self.engine.tick(at);
            match &incoming.request {
                Request::Sync(SyncRequest::Snapshot) => self.answer_snapshot(incoming, at),
                Request::Sync(SyncRequest::Lead | SyncRequest::Follow(_)) => {
                    self.take_role(incoming)
                }
                Request::Sync(SyncRequest::Relayed { seq, .. }) => {
                    self.applied_seq = self.applied_seq.max(*seq);
                    inbox::handle(&mut self.engine, incoming, at);
                }
                _ => inbox::handle(&mut self.engine, incoming, at),
            }
            self.moved_to = at;
            handled += 1;
        }
        handled
    }

    /// A follower joins: the leader's moment at `at`, what it relayed that is still to come,
    /// and its clock.
    fn answer_snapshot(&self, incoming: Incoming, at: Duration) {
        let mut pending = self
            .later
            .iter()
            .filter_map(|(t, i)| match &i.request {
                Request::Sync(SyncRequest::Relayed { seq, commands }) => {
                    Some((*t, *seq, commands.clone()))
                }
                _ => None,
            })
            .collect::<Vec<_>>();
        pending.sort_by_key(|(_, seq, _)| *seq);
        // Numbers relayed past what the moment holds are asked for again by the follower.
        let seq = if pending.len() > MOST_PENDING {
            pending.truncate(MOST_PENDING);
            pending.last().map_or(0, |(_, s, _)| *s)
        } else {
            let relayed = self.sync.as_ref().map_or(0, crate::sync::Link::relayed);
            let waiting = pending.last().map_or(0, |(_, s, _)| *s);
            relayed.max(waiting).max(self.applied_seq)
        };
        let join = Join {
            moment: self.engine.moment(at),
            origin_ns: self.origin_ns,
            seq,
            pending,
        };
        if let Some(reply) = incoming.reply {
            let _ = reply.send(serde_json::to_value(join).map_err(|e| e.to_string()));
        }
    }

    /// An operator makes this machine lead (its show time, moment and numbers carry on, so
    /// the followers pointed at it next take up where the old leader left off), or follow
    /// another.
    fn take_role(&mut self, incoming: Incoming) {
        let result = match (&mut self.sync, &incoming.request) {
            (None, _) => Err(
                "this machine neither leads nor follows: start it with --lead or --follow"
                    .to_string(),
            ),
            (Some(sync), Request::Sync(SyncRequest::Lead)) => {
                sync.lead(self.applied_seq);
                Ok(())
            }
            (Some(sync), Request::Sync(SyncRequest::Follow(to))) => {
                crate::sync::parse_address(to).map(|leader| sync.follow(leader))
            }
            _ => Ok(()),
        };
        let answer = result.map(|()| inbox::state(&self.engine));
        if let Err(e) = &answer {
            tracing::warn!("{}: {e}", incoming.source);
        }
        if let Some(reply) = incoming.reply {
            let _ = reply.send(answer);
        }
    }

    /// A follower plays the leader's moment from now on, on the leader's show time: its
    /// own relayed commands still waiting give way to those the moment carries.
    fn adopt(&mut self, join: Join) {
        let since = Duration::from_nanos(crate::sync::wall_ns().saturating_sub(join.origin_ns));
        let Some(start) = Instant::now().checked_sub(since) else {
            return tracing::error!(
                "sync: the leader's show started {:.0} s ago, before this machine did; not following",
                since.as_secs_f64()
            );
        };
        if let Err(e) = self.engine.take_moment(&join.moment) {
            return tracing::error!("sync: cannot take the leader's moment: {e}");
        }
        self.start = start;
        self.origin_ns = join.origin_ns;
        if let Some(sync) = &self.sync {
            sync.set_origin(join.origin_ns);
        }
        self.moved_to = join.moment.at();
        self.later
            .retain(|(_, i)| !matches!(i.request, Request::Sync(SyncRequest::Relayed { .. })));
        for (at, seq, commands) in join.pending {
            let place = self.later.partition_point(|(t, _)| *t <= at);
            let incoming = Incoming {
                source: "leader".into(),
                request: Request::Sync(SyncRequest::Relayed { seq, commands }),
                reply: None,
                at: Some(at),
            };
            self.later.insert(place, (at, incoming));
        }
        self.last = None;
        tracing::info!(
            "sync: playing the leader's moment: slide {:?} at show time {:.3} s",
            self.engine.status().slide,
            join.moment.at().as_secs_f64()
        );
    }

    /// The show is ending: what is kept on disk is brought up to date.
    pub fn finish(&mut self) {
        self.links.finish(&self.engine);
    }
}

fn refuse(incoming: Incoming, why: &str) {
    tracing::warn!("{}: {why}", incoming.source);
    if let Some(reply) = incoming.reply {
        // The sender may have given up waiting; nothing to do then.
        let _ = reply.send(Err(why.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Command;
    use crate::inbox::Request;

    /// A display with no GPU that keeps the scenes it was asked to draw.
    #[derive(Default)]
    struct Scenes(Vec<Scene>);

    impl Display for Scenes {
        fn drawing(&mut self) -> Option<(&Gpu, &mut Renderer)> {
            None
        }
        fn draw(&mut self, scene: &Scene, _: &Stage) -> Option<Instant> {
            self.0.push(scene.clone());
            Some(Instant::now())
        }
    }

    fn player() -> Player {
        let src = "hold = 600\n[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n\
                   [[slides]]\nid = \"b\"\nkind = \"title\"\ntitle = \"B\"\n\
                   [[slides]]\nid = \"c\"\nkind = \"title\"\ntitle = \"C\"\n";
        let (show, problems) = crate::show::Show::parse(std::path::Path::new("t.toml"), src)
            .unwrap_or_else(|p| panic!("{p}"));
        assert!(problems.is_empty(), "{problems:?}");
        let counts = crate::counts::Counts::from_show(&show);
        let engine = Engine::new(show, counts, Duration::ZERO).unwrap();
        Player::new(engine, LinkOptions::default(), || {}).unwrap()
    }

    fn next(source: &str, at: Option<Duration>) -> Incoming {
        Incoming {
            source: source.into(),
            request: Request::Command(Command::Next {
                fade: Some(Duration::ZERO),
            }),
            reply: None,
            at,
        }
    }

    fn slide(player: &Player) -> String {
        player.engine().status().slide
    }

    fn s(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn a_request_for_later_waits_for_its_time() {
        let mut player = player();
        let mut display = Scenes::default();
        (player.deliver())(next("desk", Some(s(5))));
        let step = player.frame(s(1), &mut display);
        assert_eq!((step.handled, slide(&player).as_str()), (0, "a"));
        assert_eq!(player.next_due(), Some(s(5)));
        player.frame(s(4), &mut display);
        assert_eq!(slide(&player), "a");
        let step = player.frame(s(6), &mut display);
        assert_eq!((step.handled, slide(&player).as_str()), (1, "b"));
        // Applied at 5 s, not at the frame's 6 s: the slide's hold runs from then.
        assert_eq!(player.engine().next_change(), Some(s(605)));
        assert_eq!(display.0.len(), 2, "drawn only when the picture changed");
    }

    #[test]
    fn requests_are_applied_in_the_order_of_their_times() {
        let mut player = player();
        let mut display = Scenes::default();
        let goto = |id: &str, at| Incoming {
            source: "follower".into(),
            request: Request::Command(Command::Goto {
                slide: crate::control::SlideRef::Id(id.into()),
                fade: Some(Duration::ZERO),
            }),
            reply: None,
            at,
        };
        let deliver = player.deliver();
        deliver(goto("c", Some(s(3))));
        deliver(goto("b", Some(s(2))));
        let step = player.frame(s(4), &mut display);
        assert_eq!((step.handled, slide(&player).as_str()), (2, "c"));
        // One for now, then one for a time gone by: the older time goes first.
        deliver(goto("a", None));
        deliver(goto("b", Some(s(1))));
        let step = player.frame(s(5), &mut display);
        assert_eq!((step.handled, slide(&player).as_str()), (2, "a"));
    }

    #[test]
    fn the_keys_arrive_through_the_inbox_at_the_next_frame() {
        let mut player = player();
        let mut display = Scenes::default();
        (player.deliver())(super::super::keys::request(Command::Next {
            fade: Some(Duration::ZERO),
        }));
        assert_eq!(slide(&player), "a", "applied only by a frame");
        let step = player.frame(s(1), &mut display);
        assert_eq!((step.handled, slide(&player).as_str()), (1, "b"));
    }

    #[test]
    fn too_many_waiting_requests_are_refused_with_an_answer() {
        let mut player = player();
        let mut display = Scenes::default();
        for _ in 0..MOST_WAITING {
            (player.deliver())(next("desk", Some(s(10))));
        }
        let (sender, mut answer) = tokio::sync::oneshot::channel();
        (player.deliver())(Incoming {
            reply: Some(sender),
            ..next("desk", Some(s(10)))
        });
        player.frame(s(1), &mut display);
        assert!(matches!(answer.try_recv(), Ok(Err(_))));
        // One for now still goes through.
        (player.deliver())(next("desk", None));
        assert_eq!(player.frame(s(2), &mut display).handled, 1);
        assert_eq!(slide(&player), "b");
    }
}
