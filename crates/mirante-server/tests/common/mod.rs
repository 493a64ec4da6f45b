//! Helpers shared by the server's integration tests: commands as JSON (the wire shape) and
//! a small contact center set up through the engine.
#![allow(dead_code, clippy::unwrap_used)]

use mirante_core::{AgentId, ChannelId, Command, EventKind, FlowId, TeamId};
use mirante_server::engine::{EngineHandle, Executed};
use serde_json::{Value, json};

/// A command from its JSON wire shape.
pub fn cmd(value: Value) -> Command {
    serde_json::from_value(value).unwrap()
}

/// A contact center with one team, one direct-routing channel and online agents.
#[derive(Debug, Clone)]
pub struct Center {
    pub team: TeamId,
    pub flow: FlowId,
    pub channel: ChannelId,
    pub agents: Vec<AgentId>,
}

/// Executes a command that must succeed.
pub async fn ok(engine: &EngineHandle, command: Value) -> Executed {
    let text = command.to_string();
    match engine.execute(cmd(command)).await {
        Ok(executed) => executed,
        Err(error) => panic!("{text} failed: {error}"),
    }
}

/// Sets up a team with `team_settings`, a flow routing straight to it, a web chat channel
/// and `agents` agents logged in.
pub async fn center(engine: &EngineHandle, team_settings: Value, agents: usize) -> Center {
    let created = ok(
        engine,
        json!({"type": "create_team", "name": "Suporte", "settings": team_settings}),
    )
    .await;
    let team = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TeamCreated { team } => Some(team.id),
            _ => None,
        })
        .unwrap();
    let created = ok(
        engine,
        json!({"type": "create_flow", "def": {"name": "direto", "start": "r",
               "steps": {"r": {"kind": "route", "team": team}}}}),
    )
    .await;
    let flow = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FlowCreated { flow } => Some(flow.id),
            _ => None,
        })
        .unwrap();
    let created = ok(
        engine,
        json!({"type": "create_channel", "kind": "webchat", "name": "Chat", "flow": flow}),
    )
    .await;
    let channel = created
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ChannelCreated { channel } => Some(channel.id),
            _ => None,
        })
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..agents {
        let created = ok(
            engine,
            json!({"type": "create_agent", "name": format!("Agente {i}"),
                   "email": format!("agente{i}@example.com"), "teams": [team]}),
        )
        .await;
        let agent = created
            .events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::AgentCreated { agent } => Some(agent.id),
                _ => None,
            })
            .unwrap();
        ok(engine, json!({"type": "agent_login", "agent": agent})).await;
        ids.push(agent);
    }
    Center {
        team,
        flow,
        channel,
        agents: ids,
    }
}

/// A customer writes; returns the events.
pub async fn customer_message(
    engine: &EngineHandle,
    center: &Center,
    who: &str,
    text: &str,
) -> Executed {
    ok(
        engine,
        json!({"type": "customer_message", "channel": center.channel, "identifier": who, "text": text}),
    )
    .await
}

/// Some traffic: customers write, get assigned, agents answer and finish.
pub async fn traffic(engine: &EngineHandle, center: &Center, customers: usize) {
    for c in 0..customers {
        let who = format!("5511900000{c:03}");
        let executed = customer_message(engine, center, &who, "olá").await;
        let assigned = executed.events.iter().find_map(|e| match &e.kind {
            EventKind::SessionAssigned { session, agent, .. } => Some((*session, *agent)),
            _ => None,
        });
        if let Some((session, agent)) = assigned {
            ok(
                engine,
                json!({"type": "agent_message", "session": session, "agent": agent, "text": "oi"}),
            )
            .await;
            if c % 2 == 0 {
                ok(
                    engine,
                    json!({"type": "finish", "session": session, "by": {"agent": agent}}),
                )
                .await;
            }
        }
    }
}

// ---- accounts and HTTP harness ------------------------------------------------------------

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mirante_core::Timestamp;
use mirante_server::auth::mail::MemoryMailer;
use mirante_server::auth::{AuthConfig, AuthState};
use mirante_server::engine::{Engine, EngineConfig, ManualClock};
use mirante_server::http::{AppState, app};
use mirante_store::accounts::{Account, AccountKind, AccountStore, GroupRecord, MemoryAccounts};
use mirante_store::memory::MemoryStore;
use tower::ServiceExt;

/// The host the in-process requests are addressed to, and its origin.
pub const HOST: &str = "mirante.test";
pub const ORIGIN: &str = "http://mirante.test";
/// The password of every account made by [`TestApp::account`].
pub const PASSWORD: &str = "correct horse battery";
/// Where the manual clock starts (2026-11-23T12:00:00Z).
pub const T0: i64 = 1_795_435_200_000;

/// An Argon2id hash of [`PASSWORD`], computed once per test binary.
pub fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| mirante_server::auth::secret::hash_password(PASSWORD).unwrap())
        .clone()
}

/// The live-stream tuning of test apps (set by a test before building its app).
pub fn live_config() -> mirante_server::monitor::LiveConfig {
    LIVE_CONFIG.with(|c| c.borrow().clone())
}

thread_local! {
    /// Overrides [`live_config`] for apps built on this thread.
    pub static LIVE_CONFIG: std::cell::RefCell<mirante_server::monitor::LiveConfig> =
        std::cell::RefCell::new(mirante_server::monitor::LiveConfig::default());
}

/// The server in-process: engine on a memory store, accounts in memory (or given), a
/// manual clock, mail kept in memory.
pub struct TestApp {
    pub router: Router,
    pub engine: Engine,
    pub accounts: Arc<dyn AccountStore>,
    pub clock: ManualClock,
    pub mailer: MemoryMailer,
    pub state: AppState,
}

impl TestApp {
    pub async fn new(command_api: bool) -> TestApp {
        Self::with(
            AuthConfig::default(),
            command_api,
            Arc::new(MemoryAccounts::new()),
        )
        .await
    }

    pub async fn with(
        config: AuthConfig,
        command_api: bool,
        accounts: Arc<dyn AccountStore>,
    ) -> TestApp {
        let clock = ManualClock::at(Timestamp(T0));
        let store = MemoryStore::new();
        let log = mirante_server::monitor::log_reader(store.clone());
        let engine = Engine::start(store, clock.clone(), EngineConfig::default())
            .await
            .unwrap();
        let mailer = MemoryMailer::default();
        let state = AppState {
            engine: engine.handle.clone(),
            metrics: None,
            command_api,
            auth: AuthState::new(
                Arc::clone(&accounts),
                Arc::new(clock.clone()),
                config,
                Arc::new(mailer.clone()),
            ),
            monitor: mirante_server::monitor::MonitorService::start(
                engine.handle.clone(),
                Some(log.clone()),
                Arc::new(clock.clone()),
                live_config(),
            )
            .await,
            feeds: mirante_server::feeds::Feeds::start_with(
                engine.handle.clone(),
                Some(log),
                mirante_server::feeds::webhook::WebhookConfig {
                    backoff: std::time::Duration::from_millis(10),
                    ..Default::default()
                },
            ),
        };
        TestApp {
            router: app(state.clone()),
            engine,
            accounts,
            clock,
            mailer,
            state,
        }
    }

    /// Serves the app on 127.0.0.1:0 (with the peer's address, as `mirante serve` does);
    /// the address.
    pub async fn listen(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        addr
    }

    /// A full administrator's session cookie, a center of `agents` agents folded into the
    /// monitor, and the app served on loopback: the start of the live-stream tests.
    pub async fn monitored(agents: usize) -> (TestApp, std::net::SocketAddr, String, Center) {
        let app = TestApp::new(false).await;
        let (_, cookie) = app.full_admin("root@example.com").await;
        let c = center(&app.engine.handle, json!({}), agents).await;
        app.state
            .monitor
            .wait_for(app.engine.handle.durable_seq())
            .await;
        let addr = app.listen().await;
        (app, addr, cookie, c)
    }

    /// A user group straight in the store.
    pub fn group(
        &self,
        name: &str,
        full: bool,
        permissions: &[&str],
        teams: Option<&[TeamId]>,
    ) -> u64 {
        self.accounts
            .insert_group(&GroupRecord {
                id: 0,
                name: name.into(),
                full,
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                teams: teams.map(|t| t.iter().map(|t| t.0).collect()),
            })
            .unwrap()
    }

    /// An account with [`PASSWORD`], straight in the store.
    pub fn account(&self, email: &str, kind: AccountKind) -> u64 {
        self.accounts
            .insert_account(&Account {
                id: 0,
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                nickname: None,
                kind,
                password_hash: Some(password_hash()),
                disabled: false,
                created_ms: T0,
                updated_ms: T0,
            })
            .unwrap()
    }

    /// A session cookie value for `account` (as if it had logged in).
    pub async fn session(&self, account: u64) -> String {
        self.state
            .auth
            .open_session(account, Some("127.0.0.1".into()))
            .await
            .unwrap()
    }

    /// A full administrator (default group) with a session.
    pub async fn full_admin(&self, email: &str) -> (u64, String) {
        let id = self.account(email, AccountKind::Admin { group: 1 });
        (id, self.session(id).await)
    }

    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
    /// The session cookie value set by the answer.
    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("mirante_session="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
            .filter(|v| !v.is_empty())
    }
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Cred {
    None,
    Cookie(String),
    Bearer(String),
}

/// A request to the in-process app: `Host` set, `Origin` set for cookie requests.
pub fn req(method: &str, uri: &str, cred: &Cred, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    match cred {
        Cred::None => {}
        Cred::Cookie(c) => {
            builder = builder
                .header(header::COOKIE, format!("mirante_session={c}"))
                .header(header::ORIGIN, ORIGIN);
        }
        Cred::Bearer(t) => builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}")),
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

// ---- the real binary ----------------------------------------------------------------------

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};

/// `mirante admin create` on `data_dir` with [`PASSWORD`] on standard input.
pub fn admin_create(data_dir: &Path, email: &str) -> std::process::Output {
    let mut child = Process::new(env!("CARGO_BIN_EXE_mirante"))
        .args(["admin", "create", "--email", email, "--name", "Root"])
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "admin create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A running `mirante serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// What it printed before "listening".
    pub printed: Vec<String>,
}

impl Server {
    /// Starts the binary on a free port and waits for its "listening" line.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Process::new(env!("CARGO_BIN_EXE_mirante"))
            .args(["serve", "--listen", "127.0.0.1:0", "--durability", "normal"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .env("MIRANTE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = Vec::new();
        let base = loop {
            let line = lines
                .next()
                .expect("mirante exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("mirante listening on ") {
                break url.trim().to_owned();
            }
            printed.push(line);
        };
        Server {
            child,
            base,
            printed,
        }
    }

    /// Logs in with [`PASSWORD`]; the session cookie's value.
    pub async fn login(&self, http: &reqwest::Client, email: &str) -> String {
        let response = http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "log-in of {email}");
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("mirante_session="))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .unwrap()
    }

    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Process::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the live stream ----------------------------------------------------------------------

/// A live-stream WebSocket client.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame on `ws` (heartbeats included), within 10 s.
pub async fn next_frame(ws: &mut Ws) -> Value {
    use futures_util::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}
