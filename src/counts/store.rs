//! Counts kept on disk, so a crash or a reboot never brings the wall back at zero or lower
//! than the crowd saw. Written atomically (a temporary file, flushed, then renamed over the
//! old one), at most a few times a second, by a thread of its own.

use super::Counts;
use crate::show::Show;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Writes are at least this far apart; changes in between are coalesced into the next one.
const WRITE_EVERY: Duration = Duration::from_millis(250);

/// Where counts are kept when `--state-dir` is not given: the user's state folder.
pub fn default_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("candela")
}

/// The file a show's counts are kept in: one per show file, so two shows never share counts.
pub fn file_for(dir: &Path, show: &Show) -> PathBuf {
    let canonical = show
        .path
        .canonicalize()
        .unwrap_or_else(|_| show.path.clone());
    // FNV-1a: stable from one build to the next, unlike the standard library's hasher.
    let hash = canonical
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
    let stem = show
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!("{stem}-{hash:016x}.counts.json"))
}

/// The show file's counts, with the values kept on disk over them. A missing file is a first
/// start; an unreadable one is reported and the show's own values are used.
pub fn restore(file: &Path, show: &Show) -> (Counts, Option<String>) {
    let mut counts = Counts::from_show(show);
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (counts, None),
        Err(e) => {
            return (
                counts,
                Some(format!("cannot read kept counts {}: {e}", file.display())),
            );
        }
    };
    match serde_json::from_str::<BTreeMap<String, u64>>(&text) {
        Ok(kept) => {
            for (id, v) in kept {
                counts.set(&id, v);
            }
            (counts, None)
        }
        Err(e) => (
            counts,
            Some(format!(
                "kept counts {} are damaged ({e}); starting from the show file's values",
                file.display()
            )),
        ),
    }
}

/// Writes `counts` to `file` atomically: a reader sees the old file or the new, never half,
/// and after a power cut the rename itself is on disk (the folder is synced too).
pub fn write(file: &Path, counts: &Counts) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let map: BTreeMap<&str, u64> = counts.iter().collect();
    let temp = file.with_extension("json.tmp");
    let mut f = std::fs::File::create(&temp)?;
    f.write_all(
        serde_json::to_string_pretty(&map)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&temp, file)?;
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

/// Keeps counts on disk from a thread of its own, so the render thread never waits on it.
pub struct Keeper {
    sender: mpsc::Sender<Counts>,
    last: Counts,
}

impl Keeper {
    pub fn start(file: PathBuf, initial: Counts) -> Keeper {
        let (sender, receiver) = mpsc::channel::<Counts>();
        let shown = file.display().to_string();
        let spawned = std::thread::Builder::new()
            .name("counts".into())
            .spawn(move || {
                while let Ok(mut counts) = receiver.recv() {
                    // Only the newest matters.
                    while let Ok(newer) = receiver.try_recv() {
                        counts = newer;
                    }
                    if let Err(e) = write(&file, &counts) {
                        tracing::error!("cannot keep counts in {}: {e}", file.display());
                    }
                    std::thread::sleep(WRITE_EVERY);
                }
            });
        if let Err(e) = spawned {
            // The show plays on; what it counts is only not kept across a restart.
            tracing::error!("cannot start keeping counts in {shown}: {e}; they are not kept");
        }
        Keeper {
            sender,
            last: initial,
        }
    }

    /// Called every frame: hands the counts to the writer when they changed.
    pub fn offer(&mut self, counts: &Counts) {
        if *counts != self.last {
            self.last = counts.clone();
            let _ = self.sender.send(self.last.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show() -> Show {
        let src = "[[counters]]\nid = \"a\"\nlabel = \"a\"\nvalue = 5\n[[slides]]\nid = \"s\"\nkind = \"counter\"\ncounter = \"a\"\n";
        Show::parse(Path::new("/tmp/x/show.toml"), src).unwrap().0
    }

    #[test]
    fn kept_counts_come_back_and_damage_is_reported() {
        let dir = std::env::temp_dir().join(format!("candela-store-{}", std::process::id()));
        let show = show();
        let file = file_for(&dir, &show);
        assert_eq!(
            restore(&file, &show).0.get("a"),
            Some(5),
            "first start: the show's value"
        );
        let mut counts = Counts::from_show(&show);
        counts.set("a", 89_734);
        write(&file, &counts).unwrap();
        assert_eq!(restore(&file, &show).0.get("a"), Some(89_734));
        std::fs::write(&file, "{ half a docu").unwrap();
        let (counts, problem) = restore(&file, &show);
        assert_eq!(counts.get("a"), Some(5));
        assert!(problem.unwrap().contains("damaged"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
