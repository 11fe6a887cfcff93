//! Small files kept on disk across crashes and power cuts (counts, where the show was): each
//! written atomically, and kept up to date by a thread of its own so the render thread never
//! waits on a disk.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

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
    let dir = folder_of(file);
    std::fs::create_dir_all(dir)?;
    let mut temp_name = file.file_name().unwrap_or_default().to_os_string();
    temp_name.push(".tmp");
    let temp = file.with_file_name(temp_name);
    // A full disk leaves a half-written temporary file: never leave it behind.
    let placed = write_synced(&temp, bytes).and_then(|()| std::fs::rename(&temp, file));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    sync_folder(file)
}

/// Writes `bytes` to `file`, replacing it, and waits until they are on disk. Truncating, not
/// create_new: a temp file left by a crashed run is simply overwritten.
pub fn write_synced(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(file)?;
    f.write_all(bytes)?;
    f.sync_all()
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
            .spawn(move || {
                let mut failing = false;
                while let Ok(mut value) = receiver.recv() {
                    // Only the newest matters.
                    while let Ok(newer) = receiver.try_recv() {
                        value = newer;
                    }
                    match write_atomically(&file, &encode(&value)) {
                        Ok(()) if failing => {
                            tracing::info!("{what} kept in {} again", file.display());
                            failing = false;
                        }
                        Ok(()) => {}
                        // Once, not at every change: a read-only or full disk stays so.
                        Err(e) if !failing => {
                            tracing::error!(
                                "cannot keep {what} in {}: {e}; the show goes on, but a restart will not find it (check the state folder, --state-dir)",
                                file.display()
                            );
                            failing = true;
                        }
                        Err(_) => {}
                    }
                    std::thread::sleep(every);
                }
            });
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
    fn each_show_and_each_kind_has_its_own_file() {
        let dir = Path::new("/state");
        let a = file_for(dir, Path::new("/a/show.toml"), "counts");
        let b = file_for(dir, Path::new("/b/show.toml"), "counts");
        assert_ne!(a, b);
        assert_ne!(a, file_for(dir, Path::new("/a/show.toml"), "resume"));
        assert!(a.to_string_lossy().ends_with(".counts.json"));
    }
}
