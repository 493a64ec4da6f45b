//! A real listener over the test app and a small HTTP client for the API tests: cookie
//! requests carry the `Origin` of the server, channel requests a bearer token.
#![allow(dead_code, clippy::unwrap_used)]

use mirante_core::{Event, EventKind};
use mirante_server::engine::Committed;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::common::TestApp;

/// Serves the app on 127.0.0.1:0; the base URL.
pub async fn serve(app: &TestApp) -> String {
    format!("http://{}", app.listen().await)
}

/// A caller: a session cookie or a bearer token.
#[derive(Debug, Clone)]
pub enum Who {
    Cookie(String),
    Bearer(String),
}

/// The client of one server.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        &self.body
    }
}

impl Api {
    pub fn new(base: String) -> Api {
        Api {
            base,
            http: reqwest::Client::new(),
        }
    }

    fn builder(&self, method: Method, path: &str, who: &Who) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match who {
            Who::Cookie(c) => request
                .header("cookie", format!("mirante_session={c}"))
                .header("origin", &self.base),
            Who::Bearer(t) => request.bearer_auth(t),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    pub async fn get(&self, path: &str, who: &Who) -> Reply {
        self.send(self.builder(Method::GET, path, who)).await
    }

    pub async fn call(&self, method: &str, path: &str, who: &Who, body: Value) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        self.send(self.builder(method, path, who).json(&body)).await
    }

    pub async fn post(&self, path: &str, who: &Who, body: Value) -> Reply {
        self.call("POST", path, who, body).await
    }

    pub async fn patch(&self, path: &str, who: &Who, body: Value) -> Reply {
        self.call("PATCH", path, who, body).await
    }

    /// A raw body with a content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        who: &Who,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        self.send(
            self.builder(method, path, who)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
}

/// Committed events seen so far (subscribe before acting).
pub fn drain(events: &mut broadcast::Receiver<Committed>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(c) = events.try_recv() {
        out.push((*c.event).clone());
    }
    out
}

/// The `SessionFinished` of `session` among `events`.
pub fn finished(events: &[Event], session: u64) -> Option<EventKind> {
    events.iter().find_map(|e| match &e.kind {
        k @ EventKind::SessionFinished { session: s, .. } if s.0 == session => Some(k.clone()),
        _ => None,
    })
}
