//! Start-up and rebuild: the latest snapshot, then the tail of the log replayed with
//! [`Core::apply`] (replay never decides).

use mirante_core::{Core, Event};
use mirante_store::{EventStore, Seq, StoredEvent};

use super::EngineError;

/// Events read from the store per request while replaying.
const REPLAY_CHUNK: usize = 8192;

/// The state rebuilt from the store.
#[derive(Debug)]
pub struct Recovered {
    /// The state as of `seq`.
    pub core: Core,
    /// The last event folded into `core` (the log's end).
    pub seq: Seq,
    /// The snapshot it started from (0 = none).
    pub snapshot_seq: Seq,
    /// How many events were replayed after the snapshot.
    pub replayed: u64,
}

/// Rebuilds the state: the latest snapshot (unless `use_snapshots` is false, or it cannot be
/// decoded by this version, in which case the whole log is replayed), then every later event.
pub async fn recover<S: EventStore>(
    store: &S,
    use_snapshots: bool,
) -> Result<Recovered, EngineError> {
    let snapshot = if use_snapshots {
        store.load_latest_snapshot().await?
    } else {
        None
    };
    let (mut core, snapshot_seq) = match snapshot {
        None => (Core::new(), 0),
        Some(snapshot) => match serde_json::from_slice::<Core>(&snapshot.payload) {
            Ok(core) => (core, snapshot.seq),
            Err(error) => {
                tracing::warn!(
                    seq = snapshot.seq,
                    %error,
                    "the latest snapshot cannot be decoded; replaying the whole log"
                );
                (Core::new(), 0)
            }
        },
    };
    let mut seq = snapshot_seq;
    let mut chunk = store.read_from(seq, REPLAY_CHUNK).await?;
    while let Some(last) = chunk.last().map(|e| e.seq) {
        // Fetch the next chunk while this one is decoded and applied.
        let (next, applied) = tokio::join!(store.read_from(last, REPLAY_CHUNK), async {
            apply_chunk(&mut core, seq, &chunk)
        });
        seq = applied?;
        chunk = next?;
    }
    Ok(Recovered {
        core,
        seq,
        snapshot_seq,
        replayed: seq - snapshot_seq,
    })
}

/// Applies a chunk that must follow `seq` densely; returns the new last sequence.
fn apply_chunk(core: &mut Core, mut seq: Seq, chunk: &[StoredEvent]) -> Result<Seq, EngineError> {
    for stored in chunk {
        if stored.seq != seq + 1 {
            return Err(EngineError::Decode {
                seq: stored.seq,
                message: format!("expected sequence {} (the log has a gap)", seq + 1),
            });
        }
        let event: Event =
            serde_json::from_slice(&stored.payload).map_err(|e| EngineError::Decode {
                seq: stored.seq,
                message: e.to_string(),
            })?;
        core.apply(&event);
        seq = stored.seq;
    }
    Ok(seq)
}
