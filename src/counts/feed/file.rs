//! Reading a file the campaign exports whenever it changes, half-written files included.

use super::*;

/// What says a file changed without reading it.
pub(super) type Stamp = (Option<SystemTime>, u64);

pub(super) fn run_file(src: FileSource, mut report: Reporter, stop: Stop) {
    let csv = src
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut last_stamp: Option<Option<Stamp>> = None;
    let mut last_fault: Option<FaultKind> = None;
    loop {
        if stop.is_set() {
            return;
        }
        let meta = std::fs::metadata(&src.path);
        let stamp = meta.as_ref().ok().map(|m| (m.modified().ok(), m.len()));
        let changed = last_stamp != Some(stamp);
        // After a fault the file is read every time, so a half-written export that is
        // finished without its size or time changing still clears.
        if changed || last_fault.is_some() {
            last_stamp = Some(stamp);
            let reading = match meta {
                Err(e) => Err((
                    FaultKind::Io,
                    format!("cannot read {}: {e}", src.path.display()),
                )),
                Ok(_) => read_file(&src, csv),
            };
            match reading {
                Ok(v) => {
                    last_fault = None;
                    report.value(v);
                }
                Err((kind, detail)) => {
                    // Re-reading an unchanged broken file says nothing new.
                    if changed || last_fault != Some(kind) {
                        report.fault(kind, detail);
                    }
                    last_fault = Some(kind);
                }
            }
        }
        if stop.sleep(FILE_POLL) {
            return;
        }
    }
}

pub(super) fn read_file(src: &FileSource, csv: bool) -> Result<u64, (FaultKind, String)> {
    let path = &src.path;
    let io = |e: std::io::Error| {
        (
            FaultKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_BODY + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BODY {
        return Err((
            FaultKind::Io,
            format!("{} is larger than {} KiB", path.display(), MAX_BODY / 1024),
        ));
    }
    if csv {
        // Spreadsheets export in legacy encodings too; the ids and digits are ASCII.
        read_csv(&String::from_utf8_lossy(&bytes), &src.counter)
    } else {
        read_json(&bytes, src.pointer.as_deref().unwrap_or(""))
    }
}

// ---------------------------------------------------------------- parsing
