//! The state store through the real binary: crash safety under SIGKILL, verification of what
//! is read, and the writer lock.

use std::time::Duration;

use crate::util::{ix, ix_bin};

fn verify(dir: &std::path::Path) -> crate::util::IxOutput {
    ix(["state", "verify", "--state-dir"]).arg(dir).run()
}

#[test]
fn sigkill_at_random_points_never_leaves_a_half_valid_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join(".ix");
    for round in 0..12u64 {
        let mut child = std::process::Command::new(ix_bin())
            .args(["state", "record-fake", "--count", "1000000", "--artifact-size", "8192", "--state-dir"])
            .arg(&store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kill points: early (during open/lock) to well into the write loop.
        let delay = 3 + (round * 37 + rand_u64() % 40) % 120;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        if !store.join("tasks").is_dir() {
            // Killed before the store existed: there is nothing to verify, and verify says so.
            let out = verify(&store).expect_code(2);
            assert!(out.stderr.contains("no state store"), "round {round}: {}", out.stderr);
            continue;
        }
        let out = verify(&store).expect_code(0);
        assert!(out.stdout.contains("0 corrupt"), "round {round}: {}", out.stdout);
    }
    let out = verify(&store).expect_code(0);
    let records: usize = out.stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(records > 0, "the writer never got to write: {}", out.stdout);
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id() as u64);
    hasher.finish()
}

#[test]
fn a_corrupted_record_is_detected_and_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join(".ix");
    let _ = ix(["state", "record-fake", "--count", "3", "--state-dir"]).arg(&store).run().expect_code(0);
    let _ = verify(&store).expect_code(0);
    let record = std::fs::read_dir(store.join("tasks")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&record).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&record, bytes).unwrap();
    let out = verify(&store).expect_code(1);
    assert!(out.stderr.contains("checksum mismatch"), "{}", out.stderr);
}

#[test]
fn a_live_lock_is_an_error_and_a_stale_one_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join(".ix");
    let _ = ix(["state", "record-fake", "--count", "1", "--state-dir"]).arg(&store).run().expect_code(0);
    // Held by this (live) test process.
    std::fs::write(store.join("lock"), format!("{}\n", std::process::id())).unwrap();
    let out = ix(["state", "record-fake", "--count", "1", "--state-dir"]).arg(&store).run().expect_code(2);
    assert!(out.stderr.contains("is locked by running process"), "{}", out.stderr);
    // Held by a process that has exited.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(store.join("lock"), format!("{dead_pid}\n")).unwrap();
    let out = ix(["state", "record-fake", "--count", "1", "--state-dir"]).arg(&store).run().expect_code(0);
    assert!(out.stderr.contains(&format!("took over a stale lock of process {dead_pid}")), "{}", out.stderr);
    assert!(!store.join("lock").exists(), "the lock is released on exit");
}
