//! Keeps the technician's calibration on disk while the show plays: each change is saved,
//! off the render thread, once the adjusting pauses, so a crash or a pulled plug loses at
//! most the last half second of alignment work. The first save of a run also keeps the
//! calibration the run started with, and backups rotate at most once a minute, so an evening
//! of dragging never pushes out every good calibration.

use crate::calibration::{self, BackupPolicy, Calibration};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A save waits for this much quiet, so a held arrow key writes once, not thirty times...
const QUIET: Duration = Duration::from_millis(500);
/// ...but never longer than this after a change, however busy the technician is.
const LATEST: Duration = Duration::from_secs(2);

pub struct CalibrationKeeper {
    sender: Option<mpsc::Sender<Calibration>>,
    thread: Option<std::thread::JoinHandle<()>>,
    revision: u64,
}

impl CalibrationKeeper {
    /// Saves to `file`; `revision` is the stage's revision as restored (not worth saving),
    /// and `started` the calibration it had then.
    pub fn start(file: PathBuf, revision: u64, started: Calibration) -> CalibrationKeeper {
        let (sender, receiver) = mpsc::channel::<Calibration>();
        let thread = std::thread::Builder::new()
            .name("calibration".into())
            .spawn(move || {
                let mut policy = BackupPolicy::default();
                let mut started = Some(started);
                while let Ok(mut latest) = receiver.recv() {
                    // Wait for a pause in the changes, keeping only the newest.
                    let due = Instant::now() + LATEST;
                    loop {
                        let wait = QUIET.min(due.saturating_duration_since(Instant::now()));
                        match receiver.recv_timeout(wait) {
                            Ok(newer) => latest = newer,
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break;
                            }
                        }
                    }
                    // Kept before anything is overwritten; tried again next save if it failed.
                    if let Some(first) = &started {
                        match calibration::save_start(&file, first) {
                            Ok(()) => started = None,
                            Err(e) => tracing::error!("{e}"),
                        }
                    }
                    let backup = policy.next(Instant::now());
                    match calibration::save(&file, &latest, backup) {
                        Ok(()) => tracing::info!("calibration saved to {}", file.display()),
                        Err(e) => tracing::error!("{e}"),
                    }
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!("cannot start saving the calibration: {e}; changes are not kept");
                None
            }
        };
        CalibrationKeeper {
            sender: thread.as_ref().map(|_| sender),
            thread,
            revision,
        }
    }

    /// Called after each frame: hands a changed calibration to the saving thread.
    pub fn offer(&mut self, revision: u64, calibration: impl FnOnce() -> Calibration) {
        if revision == self.revision {
            return;
        }
        self.revision = revision;
        if let Some(sender) = &self.sender {
            let _ = sender.send(calibration());
        }
    }

    /// Saves what is pending now and stops: the show is ending.
    pub fn finish(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("saving the calibration failed");
        }
    }
}
