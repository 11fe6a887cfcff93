//! Small files kept on disk across crashes and power cuts (counts, where the show was): each
//! written atomically, and kept up to date by a thread of its own so the render thread never
//! waits on a disk.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The first wait before a failed write is tried again; it doubles up to [`RETRY_MOST`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MOST: Duration = Duration::from_secs(30);

/// Where kept files go when `--state-dir` is not given: the user's state folder. None when
/// neither `XDG_STATE_HOME` nor `HOME` says where that is: there is no safe default (a shared
/// folder such as /tmp would let another user of the laptop plant or read what is kept).
pub fn default_state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|base| base.join("candela"))
}

/// Why the state folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    /// It could not be made (a file in the way, read-only storage): the keepers report it
    /// and keep trying, as storage may come back.
    #[error("cannot make the state folder {0}: {1}")]
    Make(PathBuf, std::io::Error),
    /// Someone else's folder: nothing is kept there, nor read from it.
    #[error(
        "the state folder {0} belongs to another user (uid {1}): nothing is kept there; give --state-dir a folder of your own"
    )]
    NotOurs(PathBuf, u32),
}

/// Makes `dir` only its owner may enter (0700), or checks the one there is ours and tightens
/// it: what is kept there (counts, where the show was, the web remote's key) is nobody
/// else's to read or replace.
pub fn prepare_state_dir(dir: &Path) -> Result<(), StateDirError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let make = |e| StateDirError::Make(dir.to_path_buf(), e);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(make)?;
    let meta = std::fs::metadata(dir).map_err(make)?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me || !meta.is_dir() {
        return Err(StateDirError::NotOurs(dir.to_path_buf(), meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(make)?;
        tracing::info!("state folder {}: made private (0700)", dir.display());
    }
    Ok(())
}

/// The file `what` of the show at `show` is kept in, inside `dir`: one per show file (by its
/// canonical path), so two shows never share what they keep.
pub fn file_for(dir: &Path, show: &Path, what: &str) -> PathBuf {
    let canonical = show.canonicalize().unwrap_or_else(|_| show.to_path_buf());
    // FNV-1a: stable from one build to the next, unlike the standard library's hasher.
    let hash = canonical
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
    let stem = show
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!("{stem}-{hash:016x}.{what}.json"))
}

/// Writes `bytes` to `file` atomically: a reader sees the old file or the new, never half,
/// and after a power cut the rename itself is on disk (the folder is synced too).
pub fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(folder_of(file))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file.file_name().unwrap_or_default());
    prefix.push(".");
    temp_synced(file, &prefix, bytes)?
        .persist(file)
        .map_err(|e| e.error)?;
    sync_folder(file)
}

/// A new temp file beside `file`, named `prefix` and random letters, holding `bytes` on
/// disk. Unique and made with `O_EXCL` (by `tempfile`), so nobody else sharing the folder
/// can have put a file or a link there first; mode 0600. Removed when dropped, so a full
/// disk leaves nothing behind.
pub fn temp_synced(
    file: &Path,
    prefix: &std::ffi::OsStr,
    bytes: &[u8],
) -> std::io::Result<tempfile::TempPath> {
    use std::io::Write;
    let mut temp = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".tmp")
        .tempfile_in(folder_of(file))?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    Ok(temp.into_temp_path())
}

/// Waits until the renames in `file`'s folder are on disk.
pub fn sync_folder(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(folder_of(file))?.sync_all()?;
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

fn folder_of(file: &Path) -> &Path {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What `file` holds, read as JSON: None when there is no such file (a first start), a
/// message naming the file when it cannot be read or is damaged. A damaged file is moved
/// aside to `<file>.damaged` rather than overwritten by the next write, so whatever it still
/// holds can be recovered by hand.
pub fn read<T: serde::de::DeserializeOwned>(file: &Path, what: &str) -> Result<Option<T>, String> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read kept {what} {}: {e}", file.display())),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        let aside = damaged_name(file);
        let kept_aside = match std::fs::rename(file, &aside) {
            Ok(()) => format!("moved aside to {}", aside.display()),
            Err(m) => format!("could not be moved aside to {} ({m})", aside.display()),
        };
        format!(
            "kept {what} {} are damaged ({e}); {kept_aside}",
            file.display()
        )
    })
}

fn damaged_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".damaged");
    PathBuf::from(name)
}

/// Keeps the newest value offered in a file, from a thread of its own.
pub struct Keeper<T> {
    sender: Option<mpsc::Sender<T>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// What the file holds, or will once the writer gets to it.
    last: Option<T>,
}

impl<T: Clone + PartialEq + Send + 'static> Keeper<T> {
    /// Keeps what is offered in `file`; `on_disk` is what it already holds (not written
    /// again), `what` names it in the log, `encode` turns a value into the file's bytes.
    /// Writes are at least `every` apart; changes in between are coalesced into the next.
    pub fn start(
        file: PathBuf,
        on_disk: Option<T>,
        what: &'static str,
        every: Duration,
        encode: fn(&T) -> Vec<u8>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel::<T>();
        let spawned = std::thread::Builder::new()
            .name(format!("keep {what}"))
            .spawn(move || keep(&receiver, &file, what, every, encode));
        let (sender, thread) = match spawned {
            Ok(thread) => (Some(sender), Some(thread)),
            Err(e) => {
                tracing::error!("cannot start keeping {what}: {e}; it is not kept");
                (None, None)
            }
        };
        Keeper {
            sender,
            thread,
            last: on_disk,
        }
    }

    /// Called every frame: hands the value to the writer when it changed.
    pub fn offer(&mut self, value: &T) {
        if self.last.as_ref() != Some(value) {
            self.last = Some(value.clone());
            if let Some(sender) = &self.sender {
                let _ = sender.send(value.clone());
            }
        }
    }
}

impl<T> Keeper<T> {
    /// Writes what is pending and stops: the show is ending.
    pub fn finish(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the thread keeping files on disk failed");
        }
    }
}

/// The keeping thread: writes the newest value offered, at most every `every`. A write that
/// fails (a full disk, no file descriptors left, storage gone for a moment) is tried again
/// with back-off until it succeeds or a newer value replaces it, so a fault that passes
/// loses nothing.
fn keep<T>(
    receiver: &mpsc::Receiver<T>,
    file: &Path,
    what: &str,
    every: Duration,
    encode: fn(&T) -> Vec<u8>,
) {
    let mut unwritten: Option<T> = None;
    let mut wait = RETRY_FIRST;
    loop {
        let mut value = match unwritten.take() {
            None => match receiver.recv() {
                Ok(v) => v,
                Err(_) => return,
            },
            Some(old) => match receiver.recv_timeout(wait) {
                Ok(newer) => newer,
                Err(mpsc::RecvTimeoutError::Timeout) => old,
                // The show is ending: one last try, already reported if it fails.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = write_atomically(file, &encode(&old));
                    return;
                }
            },
        };
        // Only the newest matters.
        while let Ok(newer) = receiver.try_recv() {
            value = newer;
        }
        match write_atomically(file, &encode(&value)) {
            Ok(()) => {
                if wait != RETRY_FIRST {
                    tracing::info!("{what} kept in {} again", file.display());
                }
                wait = RETRY_FIRST;
            }
            Err(e) => {
                // Once per fault, not at every try: a read-only or full disk stays so.
                if wait == RETRY_FIRST {
                    tracing::error!(
                        "cannot keep {what} in {}: {e}; the show goes on and it is tried again every few seconds, but a restart now would not find it (check the state folder, --state-dir)",
                        file.display()
                    );
                }
                unwritten = Some(value);
                wait = (wait * 2).min(RETRY_MOST);
            }
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_and_a_failed_one_leaves_no_litter() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/x.state.json");
        write_atomically(&file, b"one").unwrap();
        write_atomically(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        // A folder where the file should be cannot be replaced by a rename.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_atomically(&blocked, b"x").is_err());
        for folder in [dir.path().to_path_buf(), dir.path().join("nested")] {
            let litter: Vec<_> = std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().ends_with(".tmp"))
                .collect();
            assert!(litter.is_empty(), "{litter:?}");
        }
    }

    #[test]
    fn the_newest_value_is_on_disk_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.json");
        let mut keeper = Keeper::start(file.clone(), None, "test", Duration::ZERO, |n: &u32| {
            n.to_string().into_bytes()
        });
        for n in 0..100u32 {
            keeper.offer(&n);
        }
        keeper.offer(&99);
        keeper.finish();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "99");
        assert_eq!(read::<u32>(&file, "test"), Ok(Some(99)));
        assert_eq!(read::<u32>(&dir.path().join("none"), "test"), Ok(None));
        std::fs::write(&file, "nine").unwrap();
        let problem = read::<u32>(&file, "test").unwrap_err();
        assert!(problem.contains("damaged"), "{problem}");
        assert!(problem.contains("n.json.damaged"), "{problem}");
        // Kept aside, not left for the next write to overwrite.
        assert!(!file.exists());
        let aside = dir.path().join("n.json.damaged");
        assert_eq!(std::fs::read_to_string(aside).unwrap(), "nine");
    }

    #[test]
    fn the_state_folder_is_made_private_and_kept_so() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let new = dir.path().join("made/candela");
        prepare_state_dir(&new).unwrap();
        assert_eq!(mode(&new), 0o700);
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        prepare_state_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700, "tightened");
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "x").unwrap();
        assert!(matches!(
            prepare_state_dir(&blocked.join("state")),
            Err(StateDirError::Make(..))
        ));
    }

    #[test]
    fn kept_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.json");
        write_atomically(&file, b"1").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn each_show_and_each_kind_has_its_own_file() {
        let dir = Path::new("/state");
        let a = file_for(dir, Path::new("/a/show.toml"), "counts");
        let b = file_for(dir, Path::new("/b/show.toml"), "counts");
        assert_ne!(a, b);
        assert_ne!(a, file_for(dir, Path::new("/a/show.toml"), "resume"));
        assert!(a.to_string_lossy().ends_with(".counts.json"));
    }
}
