//! Counts kept on disk, so a crash or a reboot never brings the wall back at zero or lower
//! than the crowd saw. Written atomically, at most a few times a second, by a thread of its
//! own ([`crate::keep`]).

use super::Counts;
use crate::show::Show;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file a show's counts are kept in: one per show file, so two shows never share counts.
pub fn file_for(dir: &Path, show: &Show) -> PathBuf {
    crate::keep::file_for(dir, &show.path, "counts")
}

/// The show file's counts, with the values kept on disk over them. A missing file is a first
/// start; an unreadable one is reported and the show's own values are used.
pub fn restore(file: &Path, show: &Show) -> (Counts, Option<String>) {
    let mut counts = Counts::from_show(show);
    match crate::keep::read::<BTreeMap<String, u64>>(file, "counts") {
        Ok(kept) => {
            for (id, v) in kept.into_iter().flatten() {
                counts.set(&id, v);
            }
            (counts, None)
        }
        Err(e) => (
            counts,
            Some(format!("{e}; starting from the show file's values")),
        ),
    }
}

/// Writes `counts` to `file` atomically.
pub fn write(file: &Path, counts: &Counts) -> std::io::Result<()> {
    crate::keep::write_atomically(file, &encode(counts))
}

fn encode(counts: &Counts) -> Vec<u8> {
    let map: BTreeMap<&str, u64> = counts.iter().collect();
    serde_json::to_vec_pretty(&map).unwrap_or_default()
}

/// Keeps counts on disk from a thread of its own, so the render thread never waits on it.
pub type Keeper = crate::keep::Keeper<Counts>;

/// Starts keeping counts in `file`, from `initial` (those restored).
pub fn keeper(file: PathBuf, initial: Counts) -> Keeper {
    // A few times a second at most: a busy feed must not wear out an SD card.
    Keeper::start(
        file,
        Some(initial),
        "counts",
        std::time::Duration::from_millis(250),
        encode,
    )
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
