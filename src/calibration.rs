//! The calibration file kept beside the show: each output's corner pin and mesh, as set on
//! site. A lost calibration costs a night on site, so every save is atomic (temp file, fsync,
//! rename, fsync the folder) and the previous ten versions are kept; loading falls back to
//! the newest backup that is still good.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// How many previous versions are kept, as `<file>.1` (newest) to `<file>.10`.
pub const BACKUPS: usize = 10;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    #[serde(default)]
    pub outputs: Vec<OutputCalibration>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCalibration {
    pub name: String,
    /// Normalized output coordinates, corners 1-4: top-left, top-right, bottom-right,
    /// bottom-left.
    pub corners: [[f64; 2]; 4],
    pub mesh: Option<MeshCalibration>,
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

/// Checks every output as [`load`] will, then writes `calibration` to `path` atomically,
/// keeping the file it replaces as backup 1 and the older ones up to [`BACKUPS`]. If the save
/// fails before the new text is safely on disk nothing has moved; if it fails after, the
/// previous calibration is backup 1, which [`load`] falls back to.
pub fn save(path: &Path, calibration: &Calibration) -> Result<(), CalibrationError> {
    validate(calibration).map_err(|problem| match problem {
        Problem::Corners(output, source) => CalibrationError::Corners {
            path: path.to_path_buf(),
            output,
            source,
        },
        Problem::Mesh(output, source) => CalibrationError::Mesh {
            path: path.to_path_buf(),
            output,
            source,
        },
    })?;
    let body = toml::to_string(calibration).map_err(|source| CalibrationError::Serialize {
        path: path.to_path_buf(),
        source,
    })?;
    let text = format!("{}\n{body}", header(path));

    // The new text is on disk before anything is moved, so a full disk or a crash here leaves
    // the calibration and its backups as they were.
    let temp = temp_path(path);
    let write = |source| CalibrationError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Err(source) = crate::keep::write_synced(&temp, text.as_bytes()) {
        let _ = fs::remove_file(&temp);
        return Err(write(source));
    }

    if let Err(e) = rotate(path) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    // Between the rotation and this rename there is no calibration file, only backup 1,
    // which is the one `load` falls back to.
    if let Err(source) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(write(source));
    }
    crate::keep::sync_folder(path).map_err(write)?;
    remove_stale_temps(path, &temp);
    Ok(())
}

/// The newest good calibration: `path`, then backups 1 to [`BACKUPS`]. Also returns one line
/// for every file that exists but was passed over, naming it and why, for the caller to log
/// whatever happened. None with no lines means a new show with no calibration yet; None with
/// lines means every file was bad.
pub fn load(path: &Path) -> (Option<Loaded>, Vec<String>) {
    let mut skipped = Vec::new();
    let mut main_missing = false;
    for n in 0..=BACKUPS {
        let candidate = if n == 0 {
            path.to_path_buf()
        } else {
            backup_path(path, n)
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
}

fn validate(calibration: &Calibration) -> Result<(), Problem> {
    for output in &calibration.outputs {
        crate::geometry::check_quad(&output.corners)
            .map_err(|e| Problem::Corners(output.name.clone(), e))?;
        if let Some(mesh) = &output.mesh {
            crate::geometry::Mesh::new(mesh.cols, mesh.rows, mesh.points.clone(), mesh.linear)
                .map_err(|e| Problem::Mesh(output.name.clone(), e))?;
        }
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
        "# Written by candela: the corner pins and meshes set on site. Candela rewrites this\n\
         # file on every save and keeps the previous {BACKUPS} as {name}.1 (newest) to\n\
         # {name}.{BACKUPS} (oldest). To restore one, close candela and copy it over {name}.\n"
    )
}

fn file_name(path: &Path) -> OsString {
    path.file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| OsString::from("calibration.toml"))
}

/// `.show.calibration.toml.tmp-<pid>` beside `path`: hidden, and unique to this process so
/// two candelas cannot write into each other's temp file.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = temp_prefix(path);
    name.push(std::process::id().to_string());
    path.with_file_name(name)
}

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

/// Makes the renames themselves durable; without it a power cut can bring back the old
/// directory entries.
/// Temp files that crashed saves left behind. Failing to remove one is harmless: `load`
/// never reads them.
fn remove_stale_temps(path: &Path, ours: &Path) {
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
        if stale && entry.path() != ours {
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
                },
                OutputCalibration {
                    name: "right \"wall\" ✓".into(),
                    corners: [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
                    mesh: None,
                },
            ],
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
        save(&path, &original).expect("saves");
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
            save(&path, &sample(k as f64 / 100.0)).expect("saves");
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
            save(&path, &sample(k as f64)).expect("saves");
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
        save(&path, &Calibration { outputs: vec![] }).expect("saves");
        let (loaded, skipped) = load(&path);
        assert_eq!(loaded.expect("loads").calibration.outputs, vec![]);
        assert!(skipped.is_empty());
    }

    #[test]
    fn interrupted_save_and_leftover_temp_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("show.calibration.toml");
        save(&path, &sample(1.0)).expect("saves");
        save(&path, &sample(2.0)).expect("saves");
        // A crash mid-save: half a temp file from another process, and one from ours.
        let other = dir.path().join(".show.calibration.toml.tmp-999999999");
        fs::write(&other, "[[outputs]]\nname = \"half").expect("writable");
        fs::write(temp_path(&path), "garbage").expect("writable");
        let (loaded, skipped) = load(&path);
        assert_eq!(tag(&loaded.expect("loads").calibration), 2.0);
        assert!(skipped.is_empty());

        save(&path, &sample(3.0)).expect("saves over the leftovers");
        assert!(!other.exists() && !temp_path(&path).exists());
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
        save(&path, &sample(1.0)).expect("saves");
        let mut bad = sample(2.0);
        bad.outputs[1].corners = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let e = save(&path, &bad).expect_err("a bow-tie");
        let message = e.to_string();
        assert!(message.contains("show.calibration.toml") && message.contains("right"));
        assert!(message.contains("bow-tie"), "{message}");

        let mut bad = sample(2.0);
        bad.outputs[0].corners[2][0] = f64::NAN;
        assert!(matches!(
            save(&path, &bad),
            Err(CalibrationError::Corners { .. })
        ));
        let mut bad = sample(2.0);
        if let Some(mesh) = &mut bad.outputs[0].mesh {
            mesh.points.pop();
        }
        let e = save(&path, &bad).expect_err("short mesh");
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
    fn write_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir
            .path()
            .join("no such folder")
            .join("show.calibration.toml");
        let e = save(&path, &sample(1.0)).expect_err("no folder");
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
