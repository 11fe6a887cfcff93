//! The photos of the slides on screen and near them, decoded and sized off the render thread
//! and kept on the GPU, so that no frame ever waits for a decode.
//!
//! The render thread asks for photos and polls for finished ones; [`WORKERS`] threads decode
//! and resize them ([`super::photo`]). Memory stays bounded whatever the show holds:
//! - at most [`MAX_IN_FLIGHT`] photos are queued, decoding or decoded and waiting for upload,
//!   each decode bounded by [`super::photo::MAX_DECODE_BYTES`];
//! - at most [`UPLOAD_BYTES_PER_FRAME`] are uploaded in a frame (one photo at the least), so
//!   a frame pays for a bounded copy, never a decode;
//! - at most [`RESIDENT`] photos stay on the GPU, each no larger than the canvas; the wanted
//!   ones (on screen, the previous slide and the next [`AHEAD`]) are never evicted.
//!
//! A photo is known by its file's path, modification time and size, as well as the box it
//! is sized for: a file replaced on disk is decoded again the next time it is asked for (the
//! old picture stays on screen until the new one is ready), and one that failed to decode is
//! tried again once it changes. One that could not be read at all (no file descriptors left,
//! permissions) is tried again with back-off while it is wanted, so the fault passing brings
//! the picture back.

use super::Gpu;
use super::photo::{self, Fitted};
use super::quad::QuadPipeline;
use crate::show::Fit;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A photo file sized for a box: its path, the box's width and height, and how it fills it.
pub type PhotoKey = (PathBuf, u32, u32, Fit);

/// Threads decoding photos: two, so a slow camera file does not hold up the next one, and
/// the render thread keeps a core of a four-core laptop.
pub const WORKERS: usize = 2;
/// Photos asked of the workers and not yet on the GPU, at most.
pub const MAX_IN_FLIGHT: usize = 4;
/// Bytes uploaded in one frame, at most (but always one photo): one 1080p canvas.
pub const UPLOAD_BYTES_PER_FRAME: usize = 1920 * 1080 * 4;
/// Photos kept on the GPU, at most, unless more are wanted at once.
pub const RESIDENT: usize = 12;
/// Slides after the current one whose photos are loaded ahead.
pub const AHEAD: usize = 3;
/// Frames over which a photo that arrives while its slide is on screen fades in.
pub const FADE_FRAMES: u64 = 12;
/// The first wait before a photo that could not be read is tried again; it doubles up to
/// [`RETRY_MOST`].
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MOST: Duration = Duration::from_secs(8);

/// Which version of a file a photo was made from: a file replaced on disk differs in one of
/// these (or vanished, which is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    fn of(key: &PhotoKey) -> Option<Stamp> {
        let meta = std::fs::metadata(&key.0).ok()?;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

/// A photo on the GPU.
pub struct Shown {
    pub bind_group: wgpu::BindGroup,
    /// Its top-left corner inside its box, and its size, in pixels.
    pub offset: (u32, u32),
    pub size: (u32, u32),
    /// Counts replacements, so a layer drawn with an older version is redrawn.
    version: u64,
    /// The frame it was uploaded in, or 0 when it needs no fade.
    arrived: u64,
}

/// What the photos on screen need of a player that draws only when the picture changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoNeeds {
    /// Nothing: they are all in, or cannot be shown.
    Nothing,
    /// One is still being decoded: ask again soon (nothing to draw yet).
    Poll,
    /// The next frame differs: one has arrived, or is fading in.
    Frame,
}

/// How a photo looks in a frame: what a layer drawn with it must be redrawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Not loaded yet: the slide shows without it, its box kept.
    Loading,
    /// It cannot be shown: the slide's text takes its room.
    Broken,
    /// Shown, at this opacity out of 255.
    Shown { version: u64, alpha: u8 },
}

#[derive(Default)]
struct Entry {
    shown: Option<Shown>,
    /// The file's version that `shown`, or the failure, is of.
    made_from: Option<Stamp>,
    /// Why that version could not be shown (logged once).
    broken: Option<String>,
    /// The file's version on disk when last asked for.
    on_disk: Option<Stamp>,
    /// The version a worker is decoding.
    loading: Option<Stamp>,
    /// The frame that last wanted it.
    wanted: u64,
    /// The file could not be read: when to try again, and the wait after that.
    retry: Option<(Instant, Duration)>,
}

impl Entry {
    /// Whether the version on disk is neither shown, failed nor under way.
    fn stale(&self) -> bool {
        self.on_disk.is_some()
            && self.on_disk != self.made_from
            && self.on_disk != self.loading
            && self.retry.is_none_or(|(at, _)| Instant::now() >= at)
    }
}

struct Job {
    key: PhotoKey,
    stamp: Stamp,
}

struct Done {
    key: PhotoKey,
    stamp: Stamp,
    result: Result<Fitted, Failure>,
}

/// Why a photo could not be made, and whether trying again may work ([`photo::PhotoError::may_pass`]).
struct Failure {
    why: String,
    may_pass: bool,
}

impl From<photo::PhotoError> for Failure {
    fn from(e: photo::PhotoError) -> Failure {
        Failure {
            may_pass: e.may_pass(),
            why: e.to_string(),
        }
    }
}

pub struct PhotoCache {
    jobs: SyncSender<Job>,
    done: Receiver<Done>,
    entries: HashMap<PhotoKey, Entry>,
    /// Decoded photos not uploaded yet.
    arrived: VecDeque<Done>,
    /// Jobs sent whose photo is not on the GPU yet.
    in_flight: usize,
    /// The keys wanted, most wanted first.
    wanted: Vec<PhotoKey>,
    /// Keys drawn in the last frame: a photo arriving for one of them fades in.
    on_screen: HashSet<PhotoKey>,
    frame: u64,
    versions: u64,
}

impl PhotoCache {
    pub fn new() -> PhotoCache {
        let (jobs, queue) = mpsc::sync_channel::<Job>(MAX_IN_FLIGHT);
        let (finished, done) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..WORKERS {
            let queue = Arc::clone(&queue);
            let finished = finished.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("photo decoder {i}"))
                .spawn(move || work(&queue, &finished));
            if let Err(e) = spawned {
                tracing::error!("cannot start a photo decoder thread: {e}");
            }
        }
        PhotoCache {
            jobs,
            done,
            entries: HashMap::new(),
            arrived: VecDeque::new(),
            in_flight: 0,
            wanted: Vec::new(),
            on_screen: HashSet::new(),
            frame: 0,
            versions: 0,
        }
    }

    /// Starts a frame: takes in finished decodes, uploads a bounded amount of them, and asks
    /// the workers for what is wanted and not under way. Never blocks.
    pub fn begin_frame(&mut self, gpu: &Gpu, quads: &QuadPipeline) {
        self.frame += 1;
        self.take_arrived(gpu, quads);
    }

    /// Takes in finished decodes and uploads a bounded amount of them, and asks the workers
    /// for what is wanted and not under way: between frames too, for a thumbnail drawn while
    /// the wall stands still. Never blocks.
    pub fn take_arrived(&mut self, gpu: &Gpu, quads: &QuadPipeline) {
        while let Ok(done) = self.done.try_recv() {
            self.arrived.push_back(done);
        }
        // Most wanted first: the photos on screen before those loaded ahead.
        let wanted = &self.wanted;
        self.arrived.make_contiguous().sort_by_key(|d| {
            wanted
                .iter()
                .position(|k| *k == d.key)
                .unwrap_or(usize::MAX)
        });
        let mut budget = UPLOAD_BYTES_PER_FRAME;
        while let Some(done) = self.arrived.front() {
            let bytes = done.result.as_ref().map_or(0, |f| f.rgba.as_raw().len());
            if bytes > budget && budget < UPLOAD_BYTES_PER_FRAME {
                break;
            }
            budget = budget.saturating_sub(bytes);
            let done = self.arrived.pop_front().expect("just looked at it");
            self.in_flight -= 1;
            self.take(gpu, quads, done);
        }
        self.send_wanted();
    }

    /// Ends a frame that drew the photos of `keys`.
    pub fn end_frame(&mut self, keys: HashSet<PhotoKey>) {
        self.on_screen = keys;
    }

    /// Sets what is wanted, most wanted first: these are loaded (a changed file again) and
    /// kept; others beyond [`RESIDENT`] are dropped, least recently wanted first.
    pub fn want(&mut self, keys: Vec<PhotoKey>) {
        for key in &keys {
            let entry = self.entries.entry(key.clone()).or_default();
            entry.on_disk = Stamp::of(key);
            entry.wanted = self.frame;
            if entry.on_disk.is_none() && entry.broken.is_none() {
                // A file that went missing while the show runs (one missing at the start was
                // reported when the show was loaded); the picture is kept if there was one.
                let why = format!("cannot read {}: it is gone", key.0.display());
                tracing::warn!("{why}");
                entry.broken = Some(why);
            }
        }
        self.wanted = keys;
        self.evict();
        self.send_wanted();
    }

    /// Adds `key` to what is wanted (a slide drawn that was not planned for).
    pub fn want_also(&mut self, key: &PhotoKey) {
        if !self.wanted.contains(key) {
            let mut keys = self.wanted.clone();
            keys.push(key.clone());
            self.want(keys);
        } else if let Some(entry) = self.entries.get_mut(key) {
            entry.wanted = self.frame;
        }
    }

    /// Looks again at the files of every photo kept or wanted: one replaced on disk is loaded
    /// again, one that failed is tried again if it changed.
    pub fn recheck(&mut self) {
        for (key, entry) in &mut self.entries {
            entry.on_disk = Stamp::of(key);
        }
        self.send_wanted();
    }

    /// How `key`'s photo looks this frame.
    pub fn look(&self, key: &PhotoKey) -> Look {
        let Some(entry) = self.entries.get(key) else {
            return Look::Loading;
        };
        match (&entry.shown, &entry.broken) {
            (Some(s), _) => Look::Shown {
                version: s.version,
                alpha: self.alpha(s),
            },
            (None, Some(_)) => Look::Broken,
            (None, None) => Look::Loading,
        }
    }

    /// The photo on the GPU for `key`, if there is one.
    pub fn shown(&self, key: &PhotoKey) -> Option<&Shown> {
        self.entries.get(key)?.shown.as_ref()
    }

    /// Photos that cannot be shown, with why.
    pub fn broken(&self) -> impl Iterator<Item = (&PathBuf, &String)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| Some((&k.0, e.broken.as_ref()?)))
    }

    /// Opacity of `shown` this frame, out of 255.
    fn alpha(&self, shown: &Shown) -> u8 {
        if shown.arrived == 0 {
            return 255;
        }
        let frames = (self.frame - shown.arrived + 1).min(FADE_FRAMES);
        (frames * 255 / FADE_FRAMES) as u8
    }

    /// What the photos drawn last frame need of a player that draws only when the picture
    /// changes. Takes in finished decodes, and asks again for photos whose wait to be tried
    /// again is over; never blocks.
    pub fn needs(&mut self) -> PhotoNeeds {
        while let Ok(done) = self.done.try_recv() {
            self.arrived.push_back(done);
        }
        self.send_wanted();
        if self.arrived.iter().any(|d| self.on_screen.contains(&d.key)) {
            return PhotoNeeds::Frame;
        }
        let mut needs = PhotoNeeds::Nothing;
        for key in &self.on_screen {
            match self.look(key) {
                Look::Shown { alpha, .. } if alpha < 255 => return PhotoNeeds::Frame,
                Look::Loading => needs = PhotoNeeds::Poll,
                Look::Shown { .. } | Look::Broken => {}
            }
            if self
                .entries
                .get(key)
                .is_some_and(|e| e.loading.is_some() || e.retry.is_some())
            {
                needs = PhotoNeeds::Poll;
            }
        }
        needs
    }

    /// Loads `key`'s photo now, on this thread, unless the current version is on the GPU or
    /// failed: for stills, which wait for their photos.
    pub fn load_now(&mut self, gpu: &Gpu, quads: &QuadPipeline, key: &PhotoKey) {
        let stamp = Stamp::of(key);
        let entry = self.entries.entry(key.clone()).or_default();
        entry.on_disk = stamp;
        entry.wanted = self.frame;
        match stamp {
            None if entry.broken.is_none() => {
                entry.broken = Some(format!("cannot read {}: it is gone", key.0.display()));
            }
            Some(stamp) if entry.made_from != Some(stamp) => {
                let (path, w, h, fit) = key;
                let result = photo::load_fitted(path, *w, *h, *fit).map_err(Failure::from);
                let done = Done {
                    key: key.clone(),
                    stamp,
                    result,
                };
                self.take(gpu, quads, done);
            }
            None | Some(_) => {}
        }
        // A still shows the photo whole, not part way through a fade.
        if let Some(shown) = self.entries.get_mut(key).and_then(|e| e.shown.as_mut()) {
            shown.arrived = 0;
        }
    }

    /// A finished decode: uploaded, or its failure logged, unless a newer version came first.
    fn take(&mut self, gpu: &Gpu, quads: &QuadPipeline, done: Done) {
        let fades = self.on_screen.contains(&done.key);
        let Some(entry) = self.entries.get_mut(&done.key) else {
            return;
        };
        if entry.loading == Some(done.stamp) {
            entry.loading = None;
        }
        if entry.made_from == Some(done.stamp) {
            return;
        }
        if let Err(failure) = &done.result
            && failure.may_pass
        {
            let wait = match entry.retry {
                None => {
                    tracing::warn!("{}; tried again while its slide is wanted", failure.why);
                    RETRY_FIRST
                }
                Some((_, wait)) => (wait * 2).min(RETRY_MOST),
            };
            entry.retry = Some((Instant::now() + wait, wait));
            return;
        }
        if entry.retry.take().is_some() {
            tracing::info!("{} could be read again", done.key.0.display());
        }
        entry.made_from = Some(done.stamp);
        match done.result {
            Ok(fitted) => {
                self.versions += 1;
                // A replacement swaps in at once; only a first arrival on screen fades.
                let arrived = if fades && entry.shown.is_none() {
                    self.frame
                } else {
                    0
                };
                entry.shown = Some(Shown {
                    bind_group: quads.upload(gpu, &fitted.rgba),
                    offset: fitted.offset,
                    size: fitted.rgba.dimensions(),
                    version: self.versions,
                    arrived,
                });
                entry.broken = None;
            }
            Err(Failure { why, .. }) => {
                if entry.shown.is_some() {
                    tracing::warn!("{why}; the photo it replaces stays on screen");
                } else {
                    tracing::warn!("{why}; its slide is shown without it");
                }
                entry.broken = Some(why);
            }
        }
    }

    /// Asks the workers for the wanted photos not under way, most wanted first, while fewer
    /// than [`MAX_IN_FLIGHT`] are.
    fn send_wanted(&mut self) {
        for key in &self.wanted {
            if self.in_flight >= MAX_IN_FLIGHT {
                return;
            }
            let Some(entry) = self.entries.get_mut(key) else {
                continue;
            };
            let (true, Some(stamp)) = (entry.stale(), entry.on_disk) else {
                continue;
            };
            let job = Job {
                key: key.clone(),
                stamp,
            };
            match self.jobs.try_send(job) {
                Ok(()) => {
                    entry.loading = Some(stamp);
                    self.in_flight += 1;
                }
                Err(TrySendError::Full(_)) => return,
                Err(TrySendError::Disconnected(_)) => {
                    entry.made_from = Some(stamp);
                    entry.broken = Some(format!(
                        "cannot load {}: no photo decoder is running",
                        key.0.display()
                    ));
                }
            }
        }
    }

    /// Drops photos beyond [`RESIDENT`] that are not wanted, least recently wanted first.
    fn evict(&mut self) {
        let wanted: HashSet<&PhotoKey> = self.wanted.iter().collect();
        let mut spare: Vec<(u64, PhotoKey)> = self
            .entries
            .iter()
            .filter(|(k, e)| !wanted.contains(k) && e.loading.is_none())
            .map(|(k, e)| (e.wanted, k.clone()))
            .collect();
        spare.sort_by_key(|(wanted, _)| *wanted);
        let excess = self.entries.len().saturating_sub(RESIDENT);
        for (_, key) in spare.into_iter().take(excess) {
            self.entries.remove(&key);
        }
    }

    /// How opaque the photo of the file at `path` is drawn now (the most of its sizes); None
    /// while none is on the GPU.
    pub fn opacity(&self, path: &std::path::Path) -> Option<f32> {
        self.entries
            .iter()
            .filter(|(k, _)| k.0 == path)
            .filter_map(|(_, e)| e.shown.as_ref())
            .map(|s| f32::from(self.alpha(s)) / 255.0)
            .reduce(f32::max)
    }

    /// Photos on the GPU now, and their bytes.
    pub fn resident(&self) -> (usize, usize) {
        self.entries
            .values()
            .filter_map(|e| e.shown.as_ref())
            .fold((0, 0), |(n, bytes), s| {
                (n + 1, bytes + (s.size.0 * s.size.1 * 4) as usize)
            })
    }
}

/// A worker: decodes and sizes photos until the cache is dropped. A decoder that panics on
/// a hostile file fails that photo, not the worker.
fn work(queue: &Mutex<Receiver<Job>>, finished: &mpsc::Sender<Done>) {
    loop {
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let (path, w, h, fit) = &job.key;
        let result = std::panic::catch_unwind(|| photo::load_fitted(path, *w, *h, *fit))
            .unwrap_or_else(|_| {
                Err(photo::PhotoError::Panicked {
                    path: path.display().to_string(),
                })
            })
            .map_err(Failure::from);
        let done = Done {
            key: job.key,
            stamp: job.stamp,
            result,
        };
        if finished.send(done).is_err() {
            return;
        }
    }
}
