//! Webhook delivery of a channel's outbound feed: an integration registers a URL and a
//! secret (`PUT /api/v1/channels/{channel}/webhook`) and every outbound message of that
//! channel is POSTed to it as JSON, signed with `X-Mirante-Signature: sha256=<hex>` (HMAC-SHA256
//! of the body with the secret), `X-Mirante-Seq` carrying the feed cursor.
//!
//! It never blocks the engine: messages are offered to a bounded queue per channel with
//! `try_send`; when the queue is full the message is **not** queued (it stays in the pull
//! feed, `GET /api/v1/channels/{channel}/outbound`), a warning is logged and
//! `mirante_webhook_dropped_total{reason="queue_full"}` counts it. A failed POST (network
//! error or non-2xx) is retried with exponential back-off; after the last attempt the
//! message is given up (`reason="failed"`) and, again, left to the pull feed. Delivery is
//! therefore at-least-once while the receiver is healthy, and the integration reconciles
//! gaps with the pull feed from the last `X-Mirante-Seq` it saw.
//!
//! Registrations live in memory: the integration (re)registers at its own start — the
//! `PUT` is idempotent. Plain `http://` is accepted (local relays, tests); `https://`
//! uses rustls with the webpki roots.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mirante_core::ChannelId;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Outbound;

/// Webhooks delivered (counter).
pub const DELIVERED_TOTAL: &str = "mirante_webhook_delivered_total";
/// Webhook messages not delivered, by `reason` = `queue_full` | `failed` (counter).
pub const DROPPED_TOTAL: &str = "mirante_webhook_dropped_total";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-mirante-signature";
/// The cursor header.
pub const SEQ_HEADER: &str = "x-mirante-seq";

/// Tuning of webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Messages waiting per channel before new ones are left to the pull feed.
    pub queue: usize,
    /// Attempts per message (the first one included).
    pub attempts: u32,
    /// Wait before the first retry; doubled at each retry.
    pub backoff: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
    /// Timeout of one POST.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            queue: 1024,
            attempts: 6,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A registered webhook, as shown (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// The channel.
    pub channel: u64,
    /// Where messages are POSTed.
    pub url: String,
}

struct Registered {
    url: String,
    queue: mpsc::Sender<Outbound>,
    task: JoinHandle<()>,
}

/// The webhooks of every channel.
pub struct Registry {
    config: WebhookConfig,
    client: reqwest::Client,
    hooks: Mutex<HashMap<ChannelId, Registered>>,
}

impl Registry {
    pub(super) fn new(config: WebhookConfig) -> Registry {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        Registry {
            config,
            client,
            hooks: Mutex::new(HashMap::new()),
        }
    }

    fn hooks(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Registered>> {
        self.hooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers (or replaces) the webhook of `channel`; messages still queued for a
    /// replaced one are left to the pull feed.
    pub fn register(&self, channel: ChannelId, url: String, secret: String) -> WebhookView {
        let (queue, inbox) = mpsc::channel(self.config.queue.max(1));
        let task = tokio::spawn(deliver(
            self.client.clone(),
            self.config.clone(),
            channel,
            url.clone(),
            secret,
            inbox,
        ));
        let previous = self.hooks().insert(
            channel,
            Registered {
                url: url.clone(),
                queue,
                task,
            },
        );
        if let Some(previous) = previous {
            previous.task.abort();
        }
        WebhookView {
            channel: channel.0,
            url,
        }
    }

    /// Removes the webhook of `channel`; whether there was one.
    pub fn remove(&self, channel: ChannelId) -> bool {
        match self.hooks().remove(&channel) {
            Some(previous) => {
                previous.task.abort();
                true
            }
            None => false,
        }
    }

    /// The webhook of `channel`.
    pub fn get(&self, channel: ChannelId) -> Option<WebhookView> {
        self.hooks().get(&channel).map(|r| WebhookView {
            channel: channel.0,
            url: r.url.clone(),
        })
    }

    /// Offers a message to the channel's webhook, if any, without ever waiting.
    pub(super) fn offer(&self, channel: ChannelId, message: Outbound) {
        let hooks = self.hooks();
        let Some(hook) = hooks.get(&channel) else {
            return;
        };
        match hook.queue.try_send(message) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                metrics::counter!(DROPPED_TOTAL, "reason" => "queue_full").increment(1);
                tracing::warn!(
                    channel.id = channel.0,
                    seq = message.seq,
                    "webhook queue full: message left to the pull feed"
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// The delivery loop of one registered webhook.
async fn deliver(
    client: reqwest::Client,
    config: WebhookConfig,
    channel: ChannelId,
    url: String,
    secret: String,
    mut inbox: mpsc::Receiver<Outbound>,
) {
    while let Some(message) = inbox.recv().await {
        let body = match serde_json::to_vec(&message) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "webhook: could not encode a message");
                continue;
            }
        };
        let signature = format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), &body)));
        let mut wait = config.backoff;
        let mut delivered = false;
        for attempt in 1..=config.attempts.max(1) {
            let sent = client
                .post(&url)
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .header(SEQ_HEADER, message.seq.to_string())
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    delivered = true;
                    break;
                }
                Ok(response) => tracing::warn!(
                    channel.id = channel.0,
                    seq = message.seq,
                    attempt,
                    status = response.status().as_u16(),
                    "webhook refused"
                ),
                Err(error) => tracing::warn!(
                    channel.id = channel.0,
                    seq = message.seq,
                    attempt,
                    %error,
                    "webhook failed"
                ),
            }
            if attempt < config.attempts {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(config.max_backoff);
            }
        }
        if delivered {
            metrics::counter!(DELIVERED_TOTAL).increment(1);
        } else {
            metrics::counter!(DROPPED_TOTAL, "reason" => "failed").increment(1);
            tracing::error!(
                channel.id = channel.0,
                seq = message.seq,
                "webhook gave up: message left to the pull feed"
            );
        }
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let key = [0xaa; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
