//! The calibration file kept beside the show: each output's corner pin, mesh and blend, and
//! the masks drawn on site. A lost calibration costs a night on site, so every save is atomic
//! (temp file, fsync, rename, fsync the folder), previous versions are kept as rolling
//! backups (at most one a minute, so a burst of edits cannot push every good one out), and
//! the calibration a run started with is kept apart as `<file>.start`; loading falls back to
//! the newest one that is still good.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// How many previous versions are kept, as `<file>.1` (newest) to `<file>.10`.
pub const BACKUPS: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    #[serde(default)]
    pub outputs: Vec<OutputCalibration>,
    /// Drawn in the setup view, in canvas pixels; the show file's own masks are not here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masks: Vec<MaskCalibration>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCalibration {
    pub name: String,
    /// Normalized output coordinates, corners 1-4: top-left, top-right, bottom-right,
    /// bottom-left.
    pub corners: [[f64; 2]; 4],
    pub mesh: Option<MeshCalibration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blend: Option<BlendCalibration>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendCalibration {
    /// Overlap widths in canvas pixels: left, top, right, bottom.
    pub widths: [f64; 4],
    pub exponent: f64,
    pub centre: f64,
    pub gamma: [f64; 3],
    pub black_level: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskCalibration {
    /// How OSC, the web and the setup view name it.
    pub id: String,
    /// The polygon, in canvas pixels.
    pub points: Vec<[f64; 2]>,
    #[serde(default)]
    pub feather: f64,
    #[serde(default)]
    pub invert: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshCalibration {
    pub cols: usize,
    pub rows: usize,
    pub linear: bool,
    /// Row-major, in the corner-pinned quad's unit square.
    pub points: Vec<[f64; 2]>,
}

impl MaskCalibration {
    pub fn to_mask(&self) -> crate::geometry::Mask {
        crate::geometry::Mask {
            points: self.points.clone(),
            feather: self.feather,
            invert: self.invert,
        }
    }
}

/// A calibration read back from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub calibration: Calibration,
    /// The file it came from: the calibration file itself, or a backup.
    pub from: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    #[error("not saving {}: output \"{output}\": {source}", path.display())]
    Corners {
        path: PathBuf,
        output: String,
        source: crate::geometry::WarpError,
    },
    #[error("not saving {}: output \"{output}\": {source}", path.display())]
    Mesh {
        path: PathBuf,
        output: String,
        source: crate::geometry::MeshError,
    },
    #[error("not saving {}: mask \"{mask}\": {source}", path.display())]
    Mask {
        path: PathBuf,
        mask: String,
        source: crate::geometry::MaskError,
    },
    #[error("not saving {}: output \"{output}\": a blend value is not a number", path.display())]
    Blend { path: PathBuf, output: String },
    #[error("cannot turn the calibration into text for {}: {source}", path.display())]
    Serialize {
        path: PathBuf,
        source: toml::ser::Error,
    },
    #[error(
        "cannot write {}: {source}; check that the folder exists, is writable and has free \
         space, then save again",
        path.display()
    )]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "cannot move {} to {} to keep it as a backup: {source}; check that the folder is \
         writable, then save again",
        from.display(),
        to.display()
    )]
    Backup {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
}

/// `show.toml` -> `show.calibration.toml` in the same folder.
pub fn path_for(show_file: &Path) -> PathBuf {
    let mut name = show_file
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| OsString::from("show"));
    name.push(".calibration.toml");
    show_file.with_file_name(name)
}

/// The n-th backup of `path` (1 = newest): `show.calibration.toml.1` ... `.10`.
pub fn backup_path(path: &Path, n: usize) -> PathBuf {
    let mut name = file_name(path);
    name.push(format!(".{n}"));
    path.with_file_name(name)
}

/// `show.calibration.toml` -> `show.calibration.toml.start`: the calibration a run began
/// with, which no number of saves pushes out.
pub fn start_path(path: &Path) -> PathBuf {
    let mut name = file_name(path);
    name.push(".start");
    path.with_file_name(name)
}

/// What a save does with the file it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    /// Keeps it as backup 1, shifting the older ones along.
    Rotate,
    /// Replaces it: the backups stay as they are.
    Replace,
}

/// When a keeper's saves rotate the backups: the first save of a run does, then at most one
/// a minute, so 50 quick edits cost one or two backups rather than all of them.
#[derive(Debug, Default)]
pub struct BackupPolicy {
    last: Option<std::time::Instant>,
}

/// At most one backup per this much editing.
pub const BACKUP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl BackupPolicy {
    /// What the save made at `now` does.
    pub fn next(&mut self, now: std::time::Instant) -> Backup {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < BACKUP_EVERY => Backup::Replace,
            _ => {
                self.last = Some(now);
                Backup::Rotate
            }
        }
    }
}

fn refused(path: &Path, problem: Problem) -> CalibrationError {
    let path = path.to_path_buf();
    match problem {
        Problem::Corners(output, source) => CalibrationError::Corners {
            path,
            output,
            source,
        },
        Problem::Mesh(output, source) => CalibrationError::Mesh {
            path,
            output,
            source,
        },
        Problem::Mask(mask, source) => CalibrationError::Mask { path, mask, source },
        Problem::Blend(output) => CalibrationError::Blend { path, output },
    }
}

/// Keeps `calibration` as the one this run started with ([`start_path`]), atomically, for
/// "revert" and for [`load`] to fall back to last.
pub fn save_start(path: &Path, calibration: &Calibration) -> Result<(), CalibrationError> {
    let start = start_path(path);
    validate(calibration).map_err(|p| refused(&start, p))?;
    write_atomic(&start, calibration)
}

/// Checks every output and mask as [`load`] will, then writes `calibration` to `path`
/// atomically; with [`Backup::Rotate`] the file it replaces becomes backup 1 and the older
/// ones shift along up to [`BACKUPS`]. If the save fails before the new text is safely on
/// disk nothing has moved; if it fails after, the previous calibration is backup 1, which
/// [`load`] falls back to.
pub fn save(
    path: &Path,
    calibration: &Calibration,
    backup: Backup,
) -> Result<(), CalibrationError> {
    validate(calibration).map_err(|p| refused(path, p))?;
    if backup == Backup::Replace {
        return write_atomic(path, calibration);
    }
    let temp = write_temp(path, calibration)?;
    // A failed rotation drops `temp`, which removes it.
    rotate(path)?;
    // Between the rotation and this rename there is no calibration file, only backup 1,
    // which is the one `load` falls back to.
    put_in_place(path, temp)
}

/// Writes `calibration` beside `path` as a synced temp file, returned. The new text is on
/// disk before anything is moved, so a full disk or a crash here leaves the calibration and
/// its backups as they were.
fn write_temp(
    path: &Path,
    calibration: &Calibration,
) -> Result<tempfile::TempPath, CalibrationError> {
    let body = toml::to_string(calibration).map_err(|source| CalibrationError::Serialize {
        path: path.to_path_buf(),
        source,
    })?;
    let text = format!("{}\n{body}", header(path));
    crate::keep::temp_synced(path, &temp_prefix(path), text.as_bytes()).map_err(|source| {
        CalibrationError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Renames the synced `temp` over `path` and makes the rename durable.
fn put_in_place(path: &Path, temp: tempfile::TempPath) -> Result<(), CalibrationError> {
    let write = |source| CalibrationError::Write {
        path: path.to_path_buf(),
        source,
    };
    // A failed rename hands `temp` back in the error, whose drop removes it.
    temp.persist(path).map_err(|e| write(e.error))?;
    crate::keep::sync_folder(path).map_err(write)?;
    remove_stale_temps(path);
    Ok(())
}

/// `calibration` written over `path` in one rename, nothing else moved.
fn write_atomic(path: &Path, calibration: &Calibration) -> Result<(), CalibrationError> {
    let temp = write_temp(path, calibration)?;
    put_in_place(path, temp)
}

/// The newest good calibration: `path`, then backups 1 to [`BACKUPS`]. Also returns one line
/// for every file that exists but was passed over, naming it and why, for the caller to log
/// whatever happened. None with no lines means a new show with no calibration yet; None with
/// lines means every file was bad.
pub fn load(path: &Path) -> (Option<Loaded>, Vec<String>) {
    let mut skipped = Vec::new();
    let mut main_missing = false;
    for n in 0..=BACKUPS + 1 {
        let candidate = match n {
            0 => path.to_path_buf(),
            n if n <= BACKUPS => backup_path(path, n),
            _ => start_path(path),
        };
        let bytes = match fs::read(&candidate) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                main_missing |= n == 0;
                continue;
            }
            Err(e) => {
                skipped.push(format!("{}: cannot read it: {e}", candidate.display()));
                continue;
            }
        };
        match parse(&bytes) {
            Ok(calibration) => {
                if main_missing {
                    skipped.insert(
                        0,
                        format!(
                            "{}: missing (a save may have been interrupted)",
                            path.display()
                        ),
                    );
                }
                let from = candidate;
                return (Some(Loaded { calibration, from }), skipped);
            }
            Err(why) => skipped.push(format!("{}: {why}", candidate.display())),
        }
    }
    (None, skipped)
}

enum Problem {
    Corners(String, crate::geometry::WarpError),
    Mesh(String, crate::geometry::MeshError),
    Mask(String, crate::geometry::MaskError),
    Blend(String),
}

fn validate(calibration: &Calibration) -> Result<(), Problem> {
    for output in &calibration.outputs {
        crate::geometry::check_quad(&output.corners)
            .map_err(|e| Problem::Corners(output.name.clone(), e))?;
        if let Some(mesh) = &output.mesh {
            crate::geometry::Mesh::new(mesh.cols, mesh.rows, mesh.points.clone(), mesh.linear)
                .map_err(|e| Problem::Mesh(output.name.clone(), e))?;
        }
        if let Some(b) = &output.blend {
            let values = b.widths.iter().chain(&b.gamma);
            let numbers = [b.exponent, b.centre, b.black_level];
            if !values.chain(&numbers).all(|v| v.is_finite()) {
                return Err(Problem::Blend(output.name.clone()));
            }
        }
    }
    for mask in &calibration.masks {
        mask.to_mask()
            .check()
            .map_err(|e| Problem::Mask(mask.id.clone(), e))?;
    }
    Ok(())
}

/// One line saying why `bytes` is not a usable calibration.
fn parse(bytes: &[u8]) -> Result<Calibration, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(&bytes[..e.valid_up_to()], e.valid_up_to());
        format!("not text (bad UTF-8 at line {line}, column {col}); skipped")
    })?;
    // Every save writes at least the header, so an empty file is damage, not a calibration
    // with no outputs, and the backups are worth trying.
    if text.trim().is_empty() {
        return Err("empty; skipped".to_string());
    }
    let calibration: Calibration = toml::from_str(text).map_err(|e| {
        // toml's own Display spans several lines with a source excerpt; the log wants one.
        let message = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text.as_bytes(), span.start);
                format!("line {line}, column {col}: {message}; skipped")
            }
            None => format!("{message}; skipped"),
        }
    })?;
    validate(&calibration).map_err(|problem| match problem {
        Problem::Corners(output, e) => format!("output \"{output}\": {e}; skipped"),
        Problem::Mesh(output, e) => format!("output \"{output}\": {e}; skipped"),
        Problem::Mask(mask, e) => format!("mask \"{mask}\": {e}; skipped"),
        Problem::Blend(output) => {
            format!("output \"{output}\": a blend value is not a number; skipped")
        }
    })?;
    Ok(calibration)
}

/// 1-based line and column (in characters) of byte `at` in `text`.
fn line_col(text: &[u8], at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

fn header(path: &Path) -> String {
    let name = file_name(path);
    let name = name.to_string_lossy();
    format!(
        "# Written by candela: the corner pins, meshes, blends and masks set on site. Candela\n\
         # rewrites this file on every save and keeps earlier versions, at most one a minute,\n\
         # as {name}.1 (newest) to {name}.{BACKUPS} (oldest), and the one it started with as\n\
         # {name}.start. To restore one, close candela and copy it over {name}.\n"
    )
}

fn file_name(path: &Path) -> OsString {
    path.file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| OsString::from("calibration.toml"))
}

/// `.show.calibration.toml.tmp-` and random letters, beside the show: hidden, and unique
/// (see [`crate::keep::temp_synced`]).
fn temp_prefix(path: &Path) -> OsString {
    let mut name = OsString::from(".");
    name.push(file_name(path));
    name.push(".tmp-");
    name
}

/// Shifts the backups along by one, dropping the oldest, and moves the current file to
/// backup 1. Each step is a rename, so every file on disk is always a whole file.
fn rotate(path: &Path) -> Result<(), CalibrationError> {
    for n in (1..=BACKUPS).rev() {
        let from = if n == 1 {
            path.to_path_buf()
        } else {
            backup_path(path, n - 1)
        };
        let to = backup_path(path, n);
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(CalibrationError::Backup { from, to, source }),
        }
    }
    Ok(())
}

/// Temp files that crashed saves left behind. Failing to remove one is harmless: `load`
/// never reads them.
fn remove_stale_temps(path: &Path) {
    let prefix = temp_prefix(path);
    let prefix = prefix.to_string_lossy();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(&*prefix);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(tag: f64) -> Calibration {
        Calibration {
            outputs: vec![
                OutputCalibration {
                    name: "left wall".into(),
                    corners: [
                        [-0.0, 1e-300],
                        [1.0 / 3.0 + 0.5, 0.1 + 0.2 - 0.3],
                        [0.999_999_999_999_9, 0.987_654_321_012_345_6],
                        [0.012_345_678_901_234_5, 2.0 / 3.0],
                    ],
                    mesh: Some(MeshCalibration {
                        cols: 3,
                        rows: 2,
                        linear: false,
                        points: vec![
                            [0.0, 0.0],
                            [0.51, tag],
                            [1.0, 0.0],
                            [0.0, 1.0],
                            [std::f64::consts::FRAC_1_SQRT_2, 1.0 - f64::EPSILON],
                            [1.0, 1.0],
                        ],
                    }),
                    blend: None,
                },
                OutputCalibration {
                    name: "right \"wall\" ✓".into(),
                    corners: [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
                    mesh: None,
                    blend: Some(BlendCalibration {
                        widths: [0.0, 0.0, 384.0, 0.0],
                        exponent: 2.0,
                        centre: 0.5,
                        gamma: [2.2, 2.3, 2.4],
                        black_level: 0.02,
                    }),
                },
            ],
            masks: vec![MaskCalibration {
                id: "window-1".into(),
                points: vec![
                    [400.0, 300.0],
                    [560.0, 300.0],
                    [560.5, 520.25],
                    [400.0, 520.0],
                ],
                feather: 12.0,
                invert: false,
            }],
        }
    }

    fn tag(calibration: &Calibration) -> f64 {
        calibration.outputs[0]
            .mesh
            .as_ref()
            .map_or(f64::NAN, |m| m.points[1][1])
    }

    #[test]
    fn save_then_load_is_exact() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        let original = sample(0.017);
        save(&path, &original, Backup::Rotate).expect("saves");
        let (loaded, skipped) = load(&path);
        let loaded = loaded.expect("loads");
        assert_eq!(skipped, Vec::<String>::new());
        assert_eq!(loaded.from, path);
        assert_eq!(loaded.calibration, original);
        let bits = |c: &Calibration| -> Vec<u64> {
            c.outputs[0]
                .corners
                .iter()
                .flatten()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&loaded.calibration), bits(&original), "-0.0 too");

        let text = fs::read_to_string(&path).expect("readable");
        assert!(text.starts_with("# Written by candela"));
        assert!(text.contains("show.calibration.toml.1"));
        assert!(
            !backup_path(&path, 1).exists(),
            "nothing to back up on the first save"
        );
    }

    #[test]
    fn eleven_saves_keep_ten_backups_newest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        for k in 0..11 {
            save(&path, &sample(k as f64 / 100.0), Backup::Rotate).expect("saves");
        }
        let (loaded, _) = load(&path);
        assert_eq!(tag(&loaded.expect("loads").calibration), 0.10);
        for n in 1..=BACKUPS {
            let text = fs::read_to_string(backup_path(&path, n)).expect("backup exists");
            let backup: Calibration = toml::from_str(&text).expect("backup parses");
            assert_eq!(tag(&backup), (10 - n) as f64 / 100.0, "backup {n}");
        }
        assert!(!backup_path(&path, BACKUPS + 1).exists());
        let files = fs::read_dir(dir.path()).expect("listable").count();
        assert_eq!(files, 1 + BACKUPS, "no temp files left behind");
    }

    #[test]
    fn corrupt_main_file_falls_back_to_newest_good_backup() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        for k in 0..3 {
            save(&path, &sample(k as f64), Backup::Rotate).expect("saves");
        }
        let good = fs::read_to_string(&path).expect("readable");
        let bow_tie = good.replacen(
            "[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]",
            "[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]",
            1,
        );
        // The replacement must have hit, or the bow-tie case would test nothing.
        assert_ne!(bow_tie, good, "{good}");
        let cases: [(&[u8], &str); 4] = [
            (&[0xff, 0xfe, 0x00, 0x9c, 0x80], "not text"),
            (&good.as_bytes()[..good.len() / 2], "line "),
            (bow_tie.as_bytes(), "bow-tie"),
            (
                b"[[outputs]]\nname = \"a\"\ncorners = 3\n",
                "line 3, column 11",
            ),
        ];
        for (bytes, why) in cases {
            fs::write(&path, bytes).expect("writable");
            let (loaded, skipped) = load(&path);
            let loaded = loaded.expect("falls back");
            assert_eq!(loaded.from, backup_path(&path, 1));
            assert_eq!(tag(&loaded.calibration), 1.0);
            assert_eq!(skipped.len(), 1, "{skipped:?}");
            assert!(skipped[0].starts_with(&path.display().to_string()));
            assert!(skipped[0].contains(why), "{skipped:?} should say {why}");
            assert!(!skipped[0].contains('\n'));
        }

        // With backup 1 bad too, backup 2 is next.
        fs::write(backup_path(&path, 1), "outputs = 7").expect("writable");
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded.expect("falls back").from, backup_path(&path, 2));
        assert_eq!(skipped.len(), 2);
        assert!(skipped[1].contains("show.calibration.toml.1: line 1, column 11"));
    }

    #[test]
    fn all_bad_gives_none_with_reasons() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        fs::write(&path, "nonsense").expect("writable");
        fs::write(backup_path(&path, 3), "[[outputs]]\nname = 1").expect("writable");
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded, None);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[1].contains(".toml.3"));
    }

    #[test]
    fn missing_file_is_a_new_show() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (loaded, skipped) = load(&dir.path().join("show.calibration.toml"));
        assert_eq!(loaded, None);
        assert!(skipped.is_empty());
        // An empty file is damage; a saved calibration with no outputs still has its header.
        let path = dir.path().join("empty.calibration.toml");
        fs::write(&path, "\n").expect("writable");
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded, None);
        assert!(skipped[0].ends_with("empty; skipped"), "{skipped:?}");
        save(&path, &Calibration::default(), Backup::Rotate).expect("saves");
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded.expect("loads").calibration.outputs, vec![]);
        assert!(skipped.is_empty());
    }

    #[test]
    fn interrupted_save_and_leftover_temp_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        save(&path, &sample(1.0), Backup::Rotate).expect("saves");
        save(&path, &sample(2.0), Backup::Rotate).expect("saves");
        // A crash mid-save: half a temp file from another process, and one from ours.
        let other = dir.path().join(".show.calibration.toml.tmp-999999999");
        fs::write(&other, "[[outputs]]\nname = \"half").expect("writable");
        let ours = dir.path().join(".show.calibration.toml.tmp-a8Xq2.tmp");
        fs::write(&ours, "garbage").expect("writable");
        let (loaded, skipped) = load(&path);
        assert_eq!(tag(&loaded.expect("loads").calibration), 2.0);
        assert!(skipped.is_empty());

        save(&path, &sample(3.0), Backup::Rotate).expect("saves over the leftovers");
        assert!(!other.exists() && !ours.exists());
        let (loaded, _) = load(&path);
        assert_eq!(tag(&loaded.expect("loads").calibration), 3.0);

        // A crash between the rotation and the final rename leaves only the backups.
        fs::remove_file(&path).expect("removable");
        let (loaded, skipped) = load(&path);
        let loaded = loaded.expect("falls back");
        assert_eq!(loaded.from, backup_path(&path, 1));
        assert_eq!(tag(&loaded.calibration), 2.0);
        assert!(skipped[0].contains("missing"), "{skipped:?}");
    }

    #[test]
    fn refuses_to_save_bad_corners_or_meshes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        save(&path, &sample(1.0), Backup::Rotate).expect("saves");
        let mut bad = sample(2.0);
        bad.outputs[1].corners = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let e = save(&path, &bad, Backup::Rotate).expect_err("a bow-tie");
        let message = e.to_string();
        assert!(message.contains("show.calibration.toml") && message.contains("right"));
        assert!(message.contains("bow-tie"), "{message}");

        let mut bad = sample(2.0);
        bad.outputs[0].corners[2][0] = f64::NAN;
        assert!(matches!(
            save(&path, &bad, Backup::Rotate),
            Err(CalibrationError::Corners { .. })
        ));
        let mut bad = sample(2.0);
        if let Some(mesh) = &mut bad.outputs[0].mesh {
            mesh.points.pop();
        }
        let e = save(&path, &bad, Backup::Rotate).expect_err("short mesh");
        assert!(e.to_string().contains("needs 6 points, not 5"), "{e}");

        let (loaded, _) = load(&path);
        assert_eq!(
            tag(&loaded.expect("loads").calibration),
            1.0,
            "file untouched"
        );
        assert!(!backup_path(&path, 1).exists());
    }

    #[test]
    fn a_burst_of_edits_keeps_the_calibration_it_started_with() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        save(&path, &sample(0.5), Backup::Rotate).expect("saves");
        // A run starts from that file; 50 edits in a minute follow, each saved.
        save_start(&path, &sample(0.5)).expect("keeps the start");
        let mut policy = BackupPolicy::default();
        let t0 = std::time::Instant::now();
        let mut rotations = 0;
        for k in 0..50 {
            let backup = policy.next(t0 + std::time::Duration::from_millis(1200 * k));
            rotations += usize::from(backup == Backup::Rotate);
            save(&path, &sample(1.0 + k as f64), backup).expect("saves");
        }
        assert_eq!(rotations, 1, "one backup for a minute of edits");
        let kept = |p: &Path| tag(&parse(&fs::read(p).expect("exists")).expect("good"));
        assert_eq!(kept(&path), 50.0);
        assert_eq!(kept(&backup_path(&path, 1)), 0.5, "the start is backup 1");
        assert_eq!(kept(&start_path(&path)), 0.5);
        assert!(!backup_path(&path, 2).exists());
        // Past the minute the next save rotates again; the start file never moves.
        assert_eq!(policy.next(t0 + BACKUP_EVERY), Backup::Rotate);
        for n in 0..=BACKUPS {
            let candidate = if n == 0 {
                path.clone()
            } else {
                backup_path(&path, n)
            };
            fs::write(candidate, "garbage").expect("writable");
        }
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded.expect("falls back").from, start_path(&path));
        assert_eq!(skipped.len(), 1 + BACKUPS, "every damaged one is named");
    }

    #[test]
    fn a_bad_mask_or_blend_is_not_saved_nor_loaded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        let mut bad = sample(1.0);
        bad.masks[0].points.truncate(2);
        let e = save(&path, &bad, Backup::Rotate).expect_err("two points");
        assert!(e.to_string().contains("window-1"), "{e}");
        let mut bad = sample(1.0);
        if let Some(b) = &mut bad.outputs[1].blend {
            b.centre = f64::NAN;
        }
        assert!(matches!(
            save(&path, &bad, Backup::Rotate),
            Err(CalibrationError::Blend { .. })
        ));
        let text = "[[masks]]\nid = \"w\"\npoints = [[0, 0], [1, 1]]\n";
        fs::write(&path, text).expect("writable");
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded, None);
        assert!(skipped[0].contains("mask \"w\""), "{skipped:?}");
    }

    #[test]
    fn write_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir
            .path()
            .join("no such folder")
            .join("show.calibration.toml");
        let e = save(&path, &sample(1.0), Backup::Rotate).expect_err("no folder");
        assert!(matches!(e, CalibrationError::Write { .. }));
        assert!(e.to_string().contains("no such folder"), "{e}");
    }

    #[test]
    fn paths() {
        assert_eq!(
            path_for(Path::new("/shows/vigil.toml")),
            Path::new("/shows/vigil.calibration.toml")
        );
        assert_eq!(
            path_for(Path::new("vigil")),
            Path::new("vigil.calibration.toml")
        );
        let p = Path::new("/shows/vigil.calibration.toml");
        assert_eq!(
            backup_path(p, 10),
            Path::new("/shows/vigil.calibration.toml.10")
        );
    }
}
