//! Hot reload: the show file and its photos are watched while the show plays. An edit is
//! checked as `candela check` does; a good show is swapped in through the inbox, and a bad one
//! leaves the running show as it is, with its problems logged and listed in the state.
//!
//! Editors save in several steps (a temporary file renamed over the old one, or truncate then
//! write), so nothing is done until the files have been quiet for a moment and two readings
//! of the show file a moment apart agree: a half-written file is never acted on.

use crate::inbox::{Deliver, Incoming, Reload, Request};
use crate::show::{Show, SlideContent};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

/// Files must be quiet this long after a change before they are read.
const QUIET: Duration = Duration::from_millis(120);
/// Two readings of the show file this far apart must agree.
const SETTLE: Duration = Duration::from_millis(40);
/// How often the thread looks up from waiting, to stop when the show ends.
const LOOK_UP: Duration = Duration::from_millis(200);

/// Watches while it lives; dropping it stops the watching.
pub struct ShowWatcher {
    stop: Arc<AtomicBool>,
}

impl Drop for ShowWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What was last seen of the files: the show file's bytes and each photo's time and size.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    source: Option<Vec<u8>>,
    photos: Vec<(PathBuf, Option<(SystemTime, u64)>)>,
}

/// The watcher's memory, kept across restarts of its thread's work.
struct Watch {
    file: PathBuf,
    photos: Vec<PathBuf>,
    seen: Seen,
    /// What was last reported: a show swapped in (None) or these problems.
    reported: Option<Vec<String>>,
    /// What changes only at the next start (the canvas size, fonts), as the file gave it at
    /// the start.
    fixed: Option<Fixed>,
    deliver: Deliver,
}

/// Starts watching `show`'s file and photos; new versions reach the show through `deliver`.
pub fn start(show: &Show, deliver: Deliver) -> ShowWatcher {
    let stop = Arc::new(AtomicBool::new(false));
    let photos = photos_of(show);
    let mut watch = Watch {
        seen: seen(&show.path, &photos),
        file: show.path.clone(),
        photos,
        reported: None,
        fixed: Show::load(&show.path).ok().map(|(s, _)| fixed(&s)),
        deliver,
    };
    let flag = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("show watcher".into())
        .spawn(move || {
            crate::task::restarting(
                "watching the show file",
                || flag.load(Ordering::SeqCst),
                || watch.run(&flag),
            )
        });
    if let Err(e) = spawned {
        tracing::error!("cannot watch the show file: {e}; edits need a restart");
    }
    ShowWatcher { stop }
}

/// The canvas size and the fonts: the projectors and masks are taken live.
type Fixed = (crate::show::Size, Option<String>, Vec<PathBuf>);

fn fixed(show: &Show) -> Fixed {
    let fonts = show.fonts.iter().map(|f| f.value.clone()).collect();
    (show.size, show.font.clone(), fonts)
}

fn photos_of(show: &Show) -> Vec<PathBuf> {
    let photos: BTreeSet<PathBuf> = show
        .slides
        .iter()
        .filter_map(|s| match &s.content {
            SlideContent::Portrait(p) => p.image.as_ref().map(|i| i.value.clone()),
            _ => None,
        })
        .collect();
    photos.into_iter().collect()
}

fn seen(file: &Path, photos: &[PathBuf]) -> Seen {
    Seen {
        source: std::fs::read(file).ok(),
        photos: photos
            .iter()
            .map(|p| {
                let meta = std::fs::metadata(p).ok();
                let stamp = meta.and_then(|m| Some((m.modified().ok()?, m.len())));
                (p.clone(), stamp)
            })
            .collect(),
    }
}

/// A path as notify reports it: its folder made canonical, its name as it is (the file
/// itself may be gone for a moment while an editor saves).
fn as_reported(path: &Path) -> Option<PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new(".")).canonicalize().ok()?;
    Some(dir.join(path.file_name()?))
}

/// A problem on one line, for the state and OSC feedback.
fn one_line(problem: &crate::show::Problem) -> String {
    problem.to_string().replace("\n    hint:", "; hint:")
}

impl Watch {
    /// Watches until `stop`; an error ends it (to be started again).
    fn run(&mut self, stop: &AtomicBool) -> Result<(), String> {
        use notify::Watcher;
        let (sender, events) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(sender).map_err(|e| e.to_string())?;
        let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut files: BTreeSet<PathBuf> = BTreeSet::new();
        // A change made before the folders were watched is found by looking once at the start.
        let mut due = Some(Instant::now());
        let mut refresh = true;
        while !stop.load(Ordering::SeqCst) {
            if refresh {
                // Folders, not files: a file renamed over keeps being watched.
                files = std::iter::once(&self.file)
                    .chain(&self.photos)
                    .filter_map(|p| as_reported(p))
                    .collect();
                for dir in files.iter().filter_map(|f| f.parent()) {
                    if watched.insert(dir.to_path_buf())
                        && let Err(e) = watcher.watch(dir, notify::RecursiveMode::NonRecursive)
                    {
                        tracing::warn!("cannot watch {}: {e}", dir.display());
                    }
                }
                refresh = false;
            }
            let wait = due.map_or(LOOK_UP, |d| d.saturating_duration_since(Instant::now()));
            match events.recv_timeout(wait.min(LOOK_UP)) {
                Ok(Ok(event)) => {
                    let event: notify::Event = event;
                    if event.paths.iter().any(|p| files.contains(p)) {
                        due = Some(Instant::now() + QUIET);
                    }
                }
                Ok(Err(e)) => tracing::warn!("watching the show file: {e}"),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the file watcher stopped".into());
                }
            }
            // Looked at here, not only when no event came: a busy folder (a feed's file
            // rewritten beside the show) must not hold a reload back.
            if due.is_some_and(|d| Instant::now() >= d) {
                due = None;
                refresh = self.look();
            }
        }
        Ok(())
    }

    /// Reads the files once they agree with themselves, and hands on what changed. True when
    /// the photos to watch changed.
    fn look(&mut self) -> bool {
        let mut now = seen(&self.file, &self.photos);
        for _ in 0..25 {
            std::thread::sleep(SETTLE);
            let again = seen(&self.file, &self.photos);
            if again == now {
                break;
            }
            now = again;
        }
        if now == self.seen {
            return false;
        }
        let photos_changed = now.photos != self.seen.photos;
        self.seen = now;
        let Some(source) = &self.seen.source else {
            self.report(vec![format!(
                "{}: the show file is gone (or cannot be read); the show goes on as it was until it is back",
                self.file.display()
            )]);
            return false;
        };
        let checked = match std::str::from_utf8(source) {
            Ok(text) => crate::check::check_source(&self.file, text),
            Err(e) => (
                None,
                vec![crate::show::Problem::new(
                    &self.file,
                    None,
                    format!("the show file is not UTF-8 text: {e}"),
                )],
            ),
        };
        match checked {
            (Some(show), problems) if problems.is_empty() => {
                let photos = photos_of(&show);
                let changed = photos != self.photos;
                if changed {
                    self.photos = photos;
                    self.seen = seen(&self.file, &self.photos);
                }
                let now = Some(fixed(&show));
                if self.fixed.is_some() && self.fixed != now {
                    tracing::warn!(
                        "the show file's size or fonts changed: they take effect at the next start"
                    );
                    self.fixed = now;
                }
                self.reported = None;
                self.send(Reload::Show {
                    show: Arc::new(show),
                    photos_changed,
                });
                changed
            }
            (_, problems) => {
                self.report(problems.iter().map(one_line).collect());
                false
            }
        }
    }

    fn report(&mut self, problems: Vec<String>) {
        if self.reported.as_ref() == Some(&problems) {
            return;
        }
        tracing::warn!(
            "the show file changed but cannot be played; the show goes on as it was:\n{}",
            problems.join("\n")
        );
        self.reported = Some(problems.clone());
        self.send(Reload::Problems(problems));
    }

    fn send(&self, reload: Reload) {
        (self.deliver)(Incoming {
            source: "show file watcher".into(),
            request: Request::Reload(reload),
            reply: None,
            at: None,
        });
    }
}
