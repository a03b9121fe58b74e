//! Kill a writer process with SIGKILL at random moments, reopen the store,
//! and check it resumes at a committed block with nothing half-written:
//! the full verifier passes and no flushed block was lost.

use shanlian_ledger::store::Store;
use shanlian_ledger::verify::verify_store;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The writer process: `src/bin/crash_writer.rs`, a binary of this crate
/// built for tests only (feature `testkit`).
const WRITER: &str = env!("CARGO_BIN_EXE_crash_writer");

#[test]
fn kill_nine_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut last_flushed = 0u64;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ std::process::id() as u64;
    for round in 0..6 {
        let mut child = Command::new(WRITER)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(h) = line.strip_prefix("flushed ") {
                    let _ = tx.send(h.trim().parse::<u64>().unwrap_or(0));
                }
            }
        });
        // Wait until it has flushed a block past the previous round's,
        // then kill it at a random moment after that.
        let before = last_flushed;
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(h) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            last_flushed = last_flushed.max(h);
            if h > before {
                break;
            }
        }
        assert!(
            last_flushed > before,
            "round {round}: the writer made no progress after reopening"
        );
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 300));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        while let Ok(h) = rx.try_recv() {
            last_flushed = last_flushed.max(h);
        }
        let store = Store::open(dir.path()).unwrap();
        let report =
            verify_store(&store, None, |_| {}).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            report.height >= last_flushed,
            "round {round}: flushed block {last_flushed} lost (store at {})",
            report.height
        );
        assert!(report.height > 0);
    }
    assert!(
        last_flushed >= 18,
        "the writer made too little progress: {last_flushed}"
    );
}
