//! Runs the storage port's contract suite against [`SqliteStore`], one test per property,
//! in both durabilities, each on a fresh database in a temporary directory.

use std::path::PathBuf;

use mirante_store::contract::{self, StoreFactory};
use mirante_store::{Durability, StoreError};
use mirante_store_sqlite::SqliteStore;
use tempfile::TempDir;

struct Factory(Durability);

impl StoreFactory for Factory {
    type Store = SqliteStore;
    type Location = (TempDir, PathBuf);

    async fn fresh(&self) -> Result<(SqliteStore, (TempDir, PathBuf)), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(e.to_string()))?;
        let path = dir.path().join("events.db");
        let store = SqliteStore::open(&path, self.0)?;
        Ok((store, (dir, path)))
    }

    async fn reopen(&self, location: &(TempDir, PathBuf)) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&location.1, self.0)
    }
}

macro_rules! contract_tests {
    ($($property:ident),* $(,)?) => {
        mod full {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $property() {
                    contract::$property(&Factory(Durability::Full)).await;
                }
            )*
        }
        mod normal {
            use super::*;
            $(
                #[tokio::test]
                async fn $property() {
                    contract::$property(&Factory(Durability::Normal)).await;
                }
            )*
        }
    };
}

contract_tests!(
    empty_log,
    append_returns_new_last_seq,
    dense_sequence_and_payloads,
    fencing,
    atomic_batches,
    empty_batch,
    read_window,
    pipelined_appends,
    pipelined_fence_failure_is_isolated,
    joined_appends,
    snapshots,
    snapshot_newer_than_log_refused,
    closed_store_refuses_work,
    close_finishes_queued_work,
    survives_reopen,
);

/// `run_all` covers the same list; it must stay runnable as a whole for other backends.
#[tokio::test]
async fn run_all_passes() {
    contract::run_all(&Factory(Durability::Normal)).await;
}
