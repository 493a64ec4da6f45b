//! Acknowledged means durable: a child process appends pipelined batches and prints each
//! acknowledged sequence; the test kills it with SIGKILL mid-stream, reopens the store and
//! checks that every acknowledged event is there and the log is dense.
//!
//! The child is this test binary re-run on the single test `crash_child` with an
//! environment variable naming the database; without that variable `crash_child` returns
//! at once (it is the child's entry point, not a test of its own).
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    reason = "the helpers below are test code run by #[test]s"
)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use mirante_store::{Durability, EventStore};
use mirante_store_sqlite::SqliteStore;

const CHILD_DB: &str = "MIRANTE_CRASH_CHILD_DB";
const CHILD_DURABILITY: &str = "MIRANTE_CRASH_CHILD_DURABILITY";
/// Acknowledgements to see before killing the child.
const ACKS_BEFORE_KILL: usize = 2000;

fn payload(seq: u64) -> Vec<u8> {
    format!("{{\"type\":\"crash\",\"seq\":{seq}}}").into_bytes()
}

#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let durability = std::env::var(CHILD_DURABILITY)
        .unwrap()
        .parse::<Durability>()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(Path::new(&path), durability).unwrap();
        let mut stdout = std::io::stdout().lock();
        // libtest has printed `test crash_child ... ` without a newline: start a fresh line.
        writeln!(stdout).unwrap();
        let mut in_flight = VecDeque::new();
        let mut last = 0u64;
        for round in 0..1_000_000u64 {
            while in_flight.len() < 32 {
                let size = round % 4 + 1;
                let batch = (last + 1..=last + size).map(payload).collect();
                in_flight.push_back(store.append(last, batch));
                last += size;
            }
            let acked = in_flight.pop_front().unwrap().await.unwrap();
            // The parent closing the pipe (or killing us) ends the loop.
            if writeln!(stdout, "ACK {acked}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return;
            }
        }
    });
}

fn parse(acks: &mut Vec<u64>, line: &str) {
    if let Some(seq) = line.strip_prefix("ACK ") {
        acks.push(seq.parse().unwrap());
    }
}

fn acknowledged_appends_survive_sigkill(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .env(CHILD_DURABILITY, durability)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acks = Vec::new();
    let mut killed = false;
    for line in lines.by_ref() {
        parse(&mut acks, &line.unwrap());
        if acks.len() == ACKS_BEFORE_KILL {
            child.kill().unwrap();
            killed = true;
            break;
        }
    }
    assert!(
        killed,
        "the child stopped after {} acknowledgements",
        acks.len()
    );
    // Lines printed before the kill are acknowledgements too; a partial last line is not.
    for line in lines {
        match line {
            Ok(line) => parse(&mut acks, &line),
            Err(_) => break,
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child was killed mid-stream: {status:?}"
    );
    assert!(
        acks.windows(2).all(|w| w[0] < w[1]),
        "acknowledgements are increasing"
    );
    let acked = *acks.last().unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        let last = store.last_seq().await.unwrap();
        assert!(
            last >= acked,
            "acknowledged up to {acked}, log holds {last}"
        );
        let mut after = 0;
        loop {
            let page = store.read_from(after, 10_000).await.unwrap();
            let Some(tail) = page.last() else { break };
            for event in &page {
                after += 1;
                assert_eq!(event.seq, after, "dense log");
                assert_eq!(
                    event.payload,
                    payload(event.seq),
                    "payload of seq {}",
                    event.seq
                );
            }
            assert_eq!(tail.seq, after);
        }
        assert_eq!(after, last);
        store.close().await.unwrap();
    });
}

#[test]
fn acknowledged_appends_survive_sigkill_normal() {
    acknowledged_appends_survive_sigkill("normal");
}

#[test]
fn acknowledged_appends_survive_sigkill_full() {
    acknowledged_appends_survive_sigkill("full");
}
