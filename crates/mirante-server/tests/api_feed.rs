//! The outbound feed (`mirante_server::feeds`) after a restart: rebuilt from the durable
//! log it serves the same pages as the live one; without a log it says that older messages
//! may be missing (`gap`). Paging follows the cursor.
#![allow(clippy::unwrap_used)]

mod common;

use common::{T0, center, traffic};
use mirante_core::Timestamp;
use mirante_server::engine::{Engine, EngineConfig, ManualClock};
use mirante_server::feeds::{Feeds, log_reader};
use mirante_store::memory::MemoryStore;
use serde_json::json;

#[tokio::test]
async fn the_feed_is_rebuilt_from_the_log_and_pages_by_cursor() {
    let store = MemoryStore::new();
    let engine = Engine::start(
        store.clone(),
        ManualClock::at(Timestamp(T0)),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let handle = engine.handle.clone();
    let live = Feeds::start(handle.clone(), Some(log_reader(store.clone())));
    let c = center(
        &handle,
        json!({"closing_message": "Obrigado pelo contato!"}),
        2,
    )
    .await;
    traffic(&handle, &c, 6).await;
    let page = live.outbound(c.channel, 0, 100).await;
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == "oi").count(), 6, "{texts:?}");
    assert_eq!(
        texts
            .iter()
            .filter(|t| **t == "Obrigado pelo contato!")
            .count(),
        3
    );
    assert!(!page.gap);
    assert!(page.messages.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(page.messages.iter().all(|m| m.to.starts_with("5511900000")));

    // "Restarted": a new feed over the same log serves the same page.
    let rebuilt = Feeds::start(handle.clone(), Some(log_reader(store.clone())));
    assert_eq!(rebuilt.outbound(c.channel, 0, 100).await, page);
    // Without the log, it cannot vouch for what came before it started.
    let cold = Feeds::start(handle.clone(), None);
    let empty = cold.outbound(c.channel, 0, 100).await;
    assert!(empty.gap && empty.messages.is_empty());
    assert_eq!(empty.next, handle.durable_seq());

    // Paging: `next` of a full page is its last cursor.
    let first = live.outbound(c.channel, 0, 2).await;
    assert_eq!(first.messages, page.messages[..2]);
    assert_eq!(first.next, page.messages[1].seq);
    let second = live.outbound(c.channel, first.next, 100).await;
    assert_eq!(second.messages, page.messages[2..]);
    assert_eq!(second.next, handle.durable_seq());
    let after_all = live.outbound(c.channel, second.next, 100).await;
    assert!(after_all.messages.is_empty());
    handle.shutdown().await.unwrap();
}
