//! Today's per-team figures (B-1) after a bootstrap from a snapshot: the model built by
//! [`Monitor::from_state`] knows no history, so the figures are rebuilt from the log (the
//! store is the truth). A binary search over sequence numbers — one single-event read per
//! step, events carry their time — finds where the centre's local day starts; the events
//! from there up to the snapshot's sequence are folded by [`DayRebuild`] (first assignments
//! and their waits only); sessions queued before midnight and first served after it get
//! their queue time from a short walk backwards.

use mirante_core::protocol::local_day;
use mirante_core::{Event, TeamId, Timestamp};
use mirante_monitor::DayRebuild;
#[cfg(doc)]
use mirante_monitor::Monitor;
use mirante_store::{Seq, StoreError, StoredEvent};

use super::LogReader;

/// Events per log read while folding.
const CHUNK: usize = 4096;

/// Why the day could not be rebuilt (the figures then start from the bootstrap).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RebuildError {
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event could not be decoded.
    #[error("undecodable event {seq}: {error}")]
    Decode {
        /// Its sequence.
        seq: Seq,
        /// Why.
        error: serde_json::Error,
    },
}

fn decode(stored: &StoredEvent) -> Result<Event, RebuildError> {
    serde_json::from_slice(&stored.payload).map_err(|error| RebuildError::Decode {
        seq: stored.seq,
        error,
    })
}

/// The first sequence in `1..=upto` whose event is on local day `today` or later
/// (`upto + 1` when none is): event times are non-decreasing along the log.
pub(crate) async fn day_start(
    log: &LogReader,
    upto: Seq,
    tz: &str,
    today: u32,
) -> Result<Seq, RebuildError> {
    let (mut lo, mut hi) = (1, upto + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let chunk = log(mid - 1, 1).await?;
        let Some(stored) = chunk.first() else {
            // The log ends before `mid`: nothing of today there.
            hi = mid;
            continue;
        };
        if local_day(decode(stored)?.at, tz) >= today {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// The first assignments of `today` (local day in `tz`) in the log up to `upto`, for
/// [`Monitor::record_first_assignment`]: (team, assigned at, wait in ms), in log order.
pub(crate) async fn first_assignments(
    log: &LogReader,
    upto: Seq,
    tz: &str,
    today: u32,
) -> Result<Vec<(TeamId, Timestamp, i64)>, RebuildError> {
    if upto == 0 {
        return Ok(Vec::new());
    }
    let start = day_start(log, upto, tz, today).await?;
    let mut fold = DayRebuild::new();
    let mut after = start - 1;
    while after < upto {
        let chunk = log(
            after,
            CHUNK.min(usize::try_from(upto - after).unwrap_or(CHUNK)),
        )
        .await?;
        if chunk.is_empty() {
            break;
        }
        for stored in chunk.iter().take_while(|s| s.seq <= upto) {
            fold.forward(&decode(stored)?);
            after = stored.seq;
        }
    }
    // Backwards from the day's start until every first assignment has its queue time.
    let mut before = start - 1;
    while fold.missing() && before > 0 {
        let from = before.saturating_sub(CHUNK as Seq);
        let chunk = log(from, usize::try_from(before - from).unwrap_or(CHUNK)).await?;
        for stored in chunk.iter().rev().filter(|s| s.seq <= before) {
            fold.backward(&decode(stored)?);
        }
        before = from;
    }
    Ok(fold.finish())
}
