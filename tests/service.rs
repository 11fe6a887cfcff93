//! Running as a service: `--log-file` writes the log, every line with its time, as well as
//! stderr; a log file that cannot be written is reported and the show goes on.

use std::process::Command;

fn play(log_file: &std::path::Path, state: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_candela"))
        .args([
            "play",
            "--headless",
            "--seconds",
            "0.2",
            "--no-osc",
            "--no-http",
            "--size",
            "320x180",
        ])
        .arg("--state-dir")
        .arg(state)
        .arg("--log-file")
        .arg(log_file)
        .arg("slides")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_log_goes_to_a_dated_file_with_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let out = play(
        &dir.path().join("logs/candela.log"),
        &dir.path().join("state"),
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("played 0.2 s of show"), "{stderr}");
    let files: Vec<_> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("candela.log.20"), "{name}");
    let log = std::fs::read_to_string(&files[0]).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("played 0.2 s of show"))
        .unwrap_or_else(|| panic!("{log}"));
    // 2026-11-26T04:11:21.288644Z  INFO played ...
    assert!(
        line.starts_with("20") && line.as_bytes()[10] == b'T',
        "{line}"
    );
    assert!(
        !line.contains('\u{1b}'),
        "no colour codes in a file: {line:?}"
    );
}

#[test]
fn a_log_file_that_cannot_be_written_is_reported_and_the_show_plays() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = play(&blocker.join("candela.log"), &dir.path().join("state"));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write the log to"), "{stderr}");
    assert!(stderr.contains("played 0.2 s of show"), "{stderr}");
}
