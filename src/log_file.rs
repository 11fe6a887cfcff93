//! `--log-file`: the log written to `PATH.YYYY-MM-DD` (UTC), a new file each day and the
//! last [`KEPT`] kept, each at most [`MOST_PER_DAY`] bytes: past that, one line says so and
//! the rest of the day goes to stderr only, so no flood fills the disk. Created readable by
//! its owner only (it holds the random PIN).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes written to one day's file at most.
pub const MOST_PER_DAY: u64 = 10 * 1024 * 1024;
/// Days' files kept.
pub const KEPT: usize = 7;

/// The day's file, opened as the first line of each day comes.
pub struct DailyCapped {
    dir: PathBuf,
    name: String,
    day: String,
    file: Option<File>,
    written: u64,
    cap: u64,
}

impl DailyCapped {
    /// Logs to `path.YYYY-MM-DD`, making its folder if need be.
    pub fn new(path: &Path) -> Result<DailyCapped, String> {
        Self::with_cap(path, MOST_PER_DAY)
    }

    fn with_cap(path: &Path, cap: u64) -> Result<DailyCapped, String> {
        let cannot = |e: std::io::Error| format!("cannot write the log to {}: {e}", path.display());
        let name = path
            .file_name()
            .ok_or_else(|| format!("--log-file {} names no file", path.display()))?
            .to_string_lossy()
            .into_owned();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        std::fs::create_dir_all(&dir).map_err(cannot)?;
        let mut log = DailyCapped {
            dir,
            name,
            day: String::new(),
            file: None,
            written: 0,
            cap,
        };
        log.open(today()).map_err(cannot)?;
        Ok(log)
    }

    fn open(&mut self, day: String) -> std::io::Result<()> {
        let path = self.dir.join(format!("{}.{day}", self.name));
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        // A file made by an older candela may be readable by all: it holds the PIN.
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        self.written = file.metadata()?.len();
        self.file = Some(file);
        self.day = day;
        self.prune();
        Ok(())
    }

    /// Removes all but the last [`KEPT`] days' files (their names sort by day).
    fn prune(&self) {
        let prefix = format!("{}.", self.name);
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut days: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix(&prefix))
                    .is_some_and(is_day)
            })
            .collect();
        days.sort();
        let old = days.len().saturating_sub(KEPT);
        for path in days.iter().take(old) {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Write for DailyCapped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let day = today();
        if day != self.day {
            self.open(day)?;
        }
        let Some(file) = &mut self.file else {
            return Ok(buf.len());
        };
        let size = buf.len() as u64;
        if self.written + size <= self.cap {
            file.write_all(buf)?;
            self.written += size;
        } else if self.written < self.cap.saturating_add(1) {
            let note = format!(
                "candela: this log file reached {} MB today; nothing more is written to it until tomorrow (UTC); stderr still has everything\n",
                self.cap / (1024 * 1024)
            );
            file.write_all(note.as_bytes())?;
            // Marks the note as written, past the cap, so it is said once a day.
            self.written = self.cap.saturating_add(1);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// `YYYY-MM-DD`.
fn is_day(text: &str) -> bool {
    text.parse::<jiff::civil::Date>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_private_and_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = DailyCapped::with_cap(&dir.path().join("candela.log"), 1000).unwrap();
        for _ in 0..100 {
            log.write_all(&[b'x'; 99]).unwrap();
            log.write_all(b"\n").unwrap();
        }
        let path = dir.path().join(format!("candela.log.{}", today()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() < 1000 + 200, "{}", text.len());
        assert_eq!(text.matches("nothing more is written").count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn only_the_last_days_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for day in 1..=9 {
            std::fs::write(dir.path().join(format!("candela.log.2020-01-0{day}")), "").unwrap();
        }
        std::fs::write(dir.path().join("candela.log.keep-me"), "").unwrap();
        DailyCapped::new(&dir.path().join("candela.log")).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEPT + 1, "{left:?}");
        assert!(left.contains(&"candela.log.keep-me".to_string()));
        assert!(!left.contains(&"candela.log.2020-01-03".to_string()));
    }
}
