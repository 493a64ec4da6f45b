//! The HTTP driver (feature `http`): the simulator against a running `mirante` server,
//! through the same API real integrations and agents use — full-stack load.
//!
//! - **Setup** ([`setup`]): an unrestricted administrator (e-mail and password: channel
//!   tokens need a cookie session) configures the scenario through the admin API — settings,
//!   pause reasons, teams (then their overflow), flows, channels, agents — checking that the
//!   server allocates the ids the scenario predicts (a fresh server); then gives every agent
//!   a login (`POST /api/v1/users`, `kind: agent`, a password generated for the run) and logs
//!   it in (its own cookie session), and mints one token per channel
//!   (`POST /api/v1/channels/{id}/tokens`). The configuration events handed to
//!   [`crate::Simulation::resume`] are the ones a local [`Core`] decides for the same
//!   commands, so the simulator's world starts exactly where the server is.
//! - **Commands** ([`HttpDriver`]): a customer's message goes to
//!   `POST /api/v1/channels/{id}/messages` with that channel's token; an agent's log-in,
//!   log-out, pause, resume, reply, transfer and finish go to `/api/v1/me/…` with that
//!   agent's own session. A refusal carries the API's `{code, message}` (the code is the
//!   [`Refusal`] code). A customer abandoning the queue has no route in the channel API (a
//!   real customer just stops writing): it is refused locally as `no_channel_route`.
//! - **What happened** — the server decides distribution, bot steps and timeouts on its own,
//!   so the events a command caused are not in its answer. The driver learns them from the
//!   *Monitoramento* screen, `GET /api/v1/monitor` (the administrator's view: every open
//!   session with its phase, bot step, team and agent; every logged-in agent; each team's
//!   queue in order — one state at one sequence number, B-2). After each command it reads
//!   the durable sequence (`GET /healthz`) until it is past the previous view's `seq` (a
//!   guard: the engine publishes the new durable sequence before it answers, so the first
//!   read normally shows it), then the monitor until its `seq` reaches it
//!   (read-your-writes: the view includes the command and everything the engine decided
//!   with it), and turns the difference from the previous view into events
//!   (`SessionStarted`, `BotStepEntered`, `SessionQueued`, `SessionAssigned`,
//!   `SessionFinished`, presence changes). Chosen over the agents' `/me/sessions` (each agent
//!   sees only its own part, and nobody sees the bot) and the live stream (frames are
//!   coalesced every 100 ms, which would pace a fast run). What the screen does not say is
//!   inferred and documented at [`HttpDriver`]: a bot step repeated after the customer's
//!   answer is an invalid answer; the reason of a finish the simulator did not ask for is
//!   taken from the phase the session left (bot: `bot_resolved` right after the customer's
//!   answer, else `inactivity_timeout`; queue: `no_agent_available`; agent:
//!   `inactivity_timeout`).
//! - **Time**: the server keeps its own clock, so [`Driver::tick`] and
//!   [`Driver::next_deadline`] do nothing; the runner ([`run`]) paces the simulation in real
//!   time × speed, or runs it as fast as the server answers. Events carry the simulated time
//!   of the command that revealed them.

use crate::driver::{Driver, Refusal};
use crate::scenario::Scenario;
use crate::sim::{SimStats, Simulation};
use crate::timed::Latencies;
use mirante_core::{
    Actor, AgentId, AssignedBy, ChannelId, Command, ContactId, Core, DomainError, Event, EventKind,
    FinishReason, FlowId, Outcome, PauseReasonId, Phase, Presence, QueueReason, SessionId, Target,
    TeamId, Timestamp,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The session cookie's name.
const SESSION_COOKIE: &str = "mirante_session";
/// How long the driver waits for the monitor to reach the durable sequence.
const OBSERVE_PATIENCE: Duration = Duration::from_secs(5);

// ---- errors ------------------------------------------------------------------------------

/// A refused or failed API call: the API's `{code, message}` and status, or a local code
/// (`http_transport`, `http_bad_answer`, `no_channel_route`, `no_credentials`,
/// `unsupported_command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// Stable machine code.
    pub code: String,
    /// Human text.
    pub message: String,
}

impl HttpError {
    fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: None,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{} (HTTP {s}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for HttpError {}

impl Refusal for HttpError {
    fn code(&self) -> &str {
        &self.code
    }
}

/// Why [`setup`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An API call failed.
    #[error("{step}: {error}")]
    Api {
        /// What was being done.
        step: String,
        /// The answer.
        error: HttpError,
    },
    /// The server allocated another id than the scenario predicts.
    #[error(
        "{what} created with id {got}, expected {expected}: the server is not fresh (run the simulator against an empty data dir)"
    )]
    UnexpectedId {
        /// What was created.
        what: &'static str,
        /// Predicted id.
        expected: u64,
        /// Allocated id.
        got: u64,
    },
    /// The server already has a configuration.
    #[error(
        "the server already has {channels} channel(s) and {teams} team(s): the simulator configures a fresh server (an empty data dir with one administrator)"
    )]
    NotFresh {
        /// Channels found.
        channels: usize,
        /// Teams found.
        teams: usize,
    },
    /// The scenario's own configuration is refused by the core.
    #[error("the scenario's configuration is invalid: {0}")]
    Scenario(DomainError),
    /// The simulator refused to start.
    #[error("{0}")]
    Sim(#[from] crate::sim::SimError),
}

// ---- the client --------------------------------------------------------------------------

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential (`/healthz`, log-in).
    Anonymous,
    /// A session cookie (administrators, agents); state changes carry the server's `Origin`.
    Cookie(String),
    /// A bearer token (channel integrations).
    Bearer(String),
}

/// One server: its base URL and a pooled blocking client.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::blocking::Client,
    base: String,
}

/// An answer, read whole.
#[derive(Debug)]
struct Answer {
    body: Value,
    cookie: Option<String>,
}

impl Api {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<Api, HttpError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| HttpError::local("http_transport", e.to_string()))?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The server's origin (`scheme://host[:port]`), sent as `Origin` with cookie requests.
    fn origin(&self) -> &str {
        let after_scheme = self.base.find("://").map_or(0, |i| i + 3);
        match self.base[after_scheme..].find('/') {
            Some(i) => &self.base[..after_scheme + i],
            None => &self.base,
        }
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        who: &Caller,
        body: Option<&Value>,
    ) -> Result<Answer, HttpError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        request = match who {
            Caller::Anonymous => request,
            Caller::Cookie(c) => request
                .header("cookie", format!("{SESSION_COOKIE}={c}"))
                .header("origin", self.origin()),
            Caller::Bearer(t) => request.bearer_auth(t),
        };
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request
            .send()
            .map_err(|e| HttpError::local("http_transport", e.to_string()))?;
        let status = response.status();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(SESSION_COOKIE)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
            });
        let text = response
            .text()
            .map_err(|e| HttpError::local("http_transport", e.to_string()))?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| HttpError {
                status: Some(status.as_u16()),
                code: "http_bad_answer".into(),
                message: format!("{e}: {}", text.chars().take(200).collect::<String>()),
            })?
        };
        if status.is_success() {
            Ok(Answer { body, cookie })
        } else {
            let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
            Err(HttpError {
                status: Some(status.as_u16()),
                code: field("code").unwrap_or_else(|| format!("http_{}", status.as_u16())),
                message: field("message").unwrap_or_else(|| body.to_string()),
            })
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str, who: &Caller) -> Result<Value, HttpError> {
        self.send(reqwest::Method::GET, path, who, None)
            .map(|a| a.body)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, who: &Caller, body: &Value) -> Result<Value, HttpError> {
        self.send(reqwest::Method::POST, path, who, Some(body))
            .map(|a| a.body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&self, path: &str, who: &Caller, body: &Value) -> Result<Value, HttpError> {
        self.send(reqwest::Method::PATCH, path, who, Some(body))
            .map(|a| a.body)
    }

    /// Logs in (`POST /api/v1/auth/login`); the session cookie.
    pub fn login(&self, email: &str, password: &str) -> Result<Caller, HttpError> {
        let body = json!({"email": email, "password": password});
        let answer = self.send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            &Caller::Anonymous,
            Some(&body),
        )?;
        answer
            .cookie
            .map(Caller::Cookie)
            .ok_or_else(|| HttpError::local("http_bad_answer", "log-in set no session cookie"))
    }

    /// The durable sequence number (`GET /healthz`).
    pub fn durable_seq(&self) -> Result<u64, HttpError> {
        let v = self.get("/healthz", &Caller::Anonymous)?;
        v.get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| HttpError::local("http_bad_answer", "/healthz without `seq`"))
    }
}

// ---- setup -------------------------------------------------------------------------------

/// The credentials the driver acts with.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The administrator who configured the server (reads the monitor).
    pub supervisor: Caller,
    /// Each agent's own session.
    pub agents: BTreeMap<AgentId, Caller>,
    /// Each channel's token.
    pub channels: BTreeMap<ChannelId, Caller>,
}

/// What [`setup`] did.
#[derive(Debug, Clone)]
pub struct HttpSetup {
    /// The configuration as events (for [`crate::Simulation::resume`]).
    pub config: Vec<Event>,
    /// Logins and tokens.
    pub credentials: Credentials,
}

/// The id of the entity a configuration event created.
fn created_id(events: &[Event]) -> Option<(&'static str, u64)> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::TeamCreated { team } => Some(("team", team.id.0)),
        EventKind::AgentCreated { agent } => Some(("agent", agent.id.0)),
        EventKind::PauseReasonCreated { reason } => Some(("pause reason", reason.id.0)),
        EventKind::ChannelCreated { channel } => Some(("channel", channel.id.0)),
        EventKind::FlowCreated { flow } => Some(("flow", flow.id.0)),
        _ => None,
    })
}

/// The admin API call of one configuration command: (step name, method, path, body).
fn config_call(cmd: &Command) -> Option<(String, reqwest::Method, String, Value)> {
    use reqwest::Method;
    let team_body = |name: Option<&String>, settings: &mirante_core::TeamSettings| {
        let mut body = serde_json::to_value(settings).unwrap_or_else(|_| json!({}));
        if let (Some(obj), Some(n)) = (body.as_object_mut(), name) {
            obj.insert("name".into(), json!(n));
        }
        body
    };
    Some(match cmd {
        Command::UpdateSettings {
            time_zone,
            bulk_cap,
            bot_inactivity_ms,
        } => (
            "settings".into(),
            Method::PATCH,
            "/api/v1/settings".into(),
            json!({"time_zone": time_zone, "bulk_cap": bulk_cap, "bot_inactivity_ms": bot_inactivity_ms}),
        ),
        Command::CreatePauseReason {
            name,
            max_duration_ms,
        } => (
            format!("pause reason {name}"),
            Method::POST,
            "/api/v1/pause-reasons".into(),
            json!({"name": name, "max_duration_ms": max_duration_ms}),
        ),
        Command::CreateTeam { name, settings } => (
            format!("team {name}"),
            Method::POST,
            "/api/v1/teams".into(),
            team_body(Some(name), settings),
        ),
        Command::UpdateTeam {
            team,
            settings: Some(settings),
            name: None,
            enabled: None,
        } => (
            format!("team {team} settings"),
            Method::PATCH,
            format!("/api/v1/teams/{team}"),
            team_body(None, settings),
        ),
        Command::CreateFlow { def } => (
            format!("flow {}", def.name),
            Method::POST,
            "/api/v1/flows".into(),
            serde_json::to_value(def).unwrap_or_default(),
        ),
        Command::CreateChannel { kind, name, flow } => (
            format!("channel {name}"),
            Method::POST,
            "/api/v1/channels".into(),
            json!({"kind": kind, "name": name, "flow": flow}),
        ),
        Command::CreateAgent {
            name,
            nickname,
            email,
            teams,
            capacity,
        } => (
            format!("agent {email}"),
            Method::POST,
            "/api/v1/agents".into(),
            json!({"name": name, "nickname": nickname, "email": email, "teams": teams, "capacity": capacity}),
        ),
        _ => return None,
    })
}

/// A password for the run's agent logins (not a secret worth more than the test server it
/// opens: derived from the clock).
fn run_password() -> String {
    use rand::Rng;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = crate::dist::rng_from_seed(nanos ^ u64::from(std::process::id()));
    let tail: u64 = rng.random();
    format!("sim-{tail:016x}")
}

/// Configures a fresh server for `scenario` through the admin API, as the administrator
/// `email`/`password` (an unrestricted one: channel tokens need its cookie session), and
/// gives every agent a login and every channel a token.
pub fn setup(
    api: &Api,
    scenario: &Scenario,
    email: &str,
    password: &str,
) -> Result<HttpSetup, SetupError> {
    let step_err = |step: &str| {
        let step = step.to_string();
        move |error| SetupError::Api { step, error }
    };
    let admin = api
        .login(email, password)
        .map_err(step_err("administrator log-in"))?;
    let count = |path: &str| {
        api.get(path, &admin)
            .map(|v| v.as_array().map_or(0, Vec::len))
            .map_err(step_err(path))
    };
    let (channels, teams) = (count("/api/v1/channels")?, count("/api/v1/teams")?);
    if channels + teams > 0 {
        return Err(SetupError::NotFresh { channels, teams });
    }
    let mut core = Core::new();
    let mut config = Vec::new();
    for cmd in scenario.setup_commands() {
        let events = core
            .execute(cmd.clone(), scenario.start)
            .map_err(SetupError::Scenario)?;
        let Some((step, method, path, body)) = config_call(&cmd) else {
            return Err(SetupError::Api {
                step: cmd.name().to_string(),
                error: HttpError::local("unsupported_command", "no admin route mapped"),
            });
        };
        let answer = api
            .send(method, &path, &admin, Some(&body))
            .map_err(step_err(&step))?;
        if let Some((what, expected)) = created_id(&events) {
            let got = answer.body.get("id").and_then(Value::as_u64).unwrap_or(0);
            if got != expected {
                return Err(SetupError::UnexpectedId {
                    what,
                    expected,
                    got,
                });
            }
        }
        config.extend(events);
    }
    let password = run_password();
    let mut agents = BTreeMap::new();
    let mut channels = BTreeMap::new();
    for e in &config {
        match &e.kind {
            EventKind::AgentCreated { agent } => {
                let step = format!("login of agent {}", agent.email);
                let user = json!({"email": agent.email, "name": agent.name, "kind": "agent",
                    "agent": agent.id.0, "password": password});
                api.post("/api/v1/users", &admin, &user)
                    .map_err(step_err(&step))?;
                let session = api
                    .login(&agent.email, &password)
                    .map_err(step_err(&step))?;
                agents.insert(agent.id, session);
            }
            EventKind::ChannelCreated { channel } => {
                let step = format!("token of channel {}", channel.name);
                let created = api
                    .post(
                        &format!("/api/v1/channels/{}/tokens", channel.id.0),
                        &admin,
                        &json!({"name": "mirante-sim"}),
                    )
                    .map_err(step_err(&step))?;
                let token = created
                    .get("token")
                    .and_then(Value::as_str)
                    .ok_or_else(|| SetupError::Api {
                        step: step.clone(),
                        error: HttpError::local("http_bad_answer", "no `token`"),
                    })?;
                channels.insert(channel.id, Caller::Bearer(token.to_string()));
            }
            _ => {}
        }
    }
    Ok(HttpSetup {
        config,
        credentials: Credentials {
            supervisor: admin,
            agents,
            channels,
        },
    })
}

// ---- the monitor, as the driver reads it -------------------------------------------------

#[derive(Debug, Deserialize)]
struct WireView {
    seq: u64,
    #[serde(default)]
    agents: Vec<WireAgent>,
    phases: WirePhases,
}

#[derive(Debug, Deserialize)]
struct WirePhases {
    #[serde(default)]
    bot: Vec<WireSession>,
    #[serde(default)]
    waiting: Vec<WireSession>,
    #[serde(default)]
    human: Vec<WireSession>,
}

#[derive(Debug, Deserialize)]
struct WireNamed {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct WireSession {
    id: u64,
    contact: u64,
    channel: u64,
    #[serde(default)]
    bot_step: Option<String>,
    #[serde(default)]
    team: Option<WireNamed>,
    #[serde(default)]
    agent: Option<WireNamed>,
    /// Its place in its team's queue (waiting): lower is served first.
    #[serde(default)]
    queue_order: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct WireAgent {
    id: u64,
    status: String,
    #[serde(default)]
    pause_reason: Option<WireNamed>,
}

/// An open session as the driver last saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    phase: Phase,
    channel: ChannelId,
    contact: ContactId,
    bot_step: Option<String>,
    team: Option<TeamId>,
    agent: Option<AgentId>,
}

/// The monitor reduced to what the driver compares.
#[derive(Debug, Clone, Default, PartialEq)]
struct Snapshot {
    /// The monitor's sequence number.
    seq: u64,
    sessions: BTreeMap<SessionId, Seen>,
    queues: BTreeMap<TeamId, Vec<SessionId>>,
    presence: BTreeMap<AgentId, Presence>,
}

impl Snapshot {
    fn from_wire(v: WireView) -> Snapshot {
        let mut sessions = BTreeMap::new();
        // Each team's queue: its waiting rows in `queue_order` (Em espera is oldest first).
        let mut queued: BTreeMap<TeamId, Vec<(i64, SessionId)>> = BTreeMap::new();
        for r in &v.phases.waiting {
            if let Some(t) = &r.team {
                let key = r.queue_order.unwrap_or(i64::MAX);
                queued
                    .entry(TeamId(t.id))
                    .or_default()
                    .push((key, SessionId(r.id)));
            }
        }
        let lists = [
            (Phase::Bot, v.phases.bot),
            (Phase::Waiting, v.phases.waiting),
            (Phase::Human, v.phases.human),
        ];
        for (phase, rows) in lists {
            for r in rows {
                sessions.insert(
                    SessionId(r.id),
                    Seen {
                        phase,
                        channel: ChannelId(r.channel),
                        contact: ContactId(r.contact),
                        bot_step: r.bot_step,
                        team: r.team.map(|t| TeamId(t.id)),
                        agent: r.agent.map(|a| AgentId(a.id)),
                    },
                );
            }
        }
        let queues = queued
            .into_iter()
            .map(|(t, mut q)| {
                q.sort_unstable();
                (t, q.into_iter().map(|(_, s)| s).collect())
            })
            .collect();
        let presence = v
            .agents
            .into_iter()
            .filter_map(|a| {
                let p = match (a.status.as_str(), a.pause_reason) {
                    ("online", _) => Presence::Online,
                    ("paused", Some(r)) => Presence::Paused {
                        reason: PauseReasonId(r.id),
                    },
                    _ => return None,
                };
                Some((AgentId(a.id), p))
            })
            .collect();
        Snapshot {
            seq: v.seq,
            sessions,
            queues,
            presence,
        }
    }

    fn presence(&self, agent: AgentId) -> Presence {
        self.presence
            .get(&agent)
            .copied()
            .unwrap_or(Presence::Offline)
    }

    fn queue_index(&self, team: Option<TeamId>, session: SessionId) -> usize {
        team.and_then(|t| self.queues.get(&t))
            .and_then(|q| q.iter().position(|s| *s == session))
            .unwrap_or(usize::MAX)
    }
}

/// What the driver knows of the command it just sent, to name what the monitor shows.
#[derive(Debug, Default)]
struct Hint {
    /// The session a customer's message went to, and whether the message started it.
    customer: Option<(SessionId, bool)>,
    /// A finish the simulator asked for.
    finish: Option<(SessionId, Actor, Option<String>)>,
    /// A transfer the simulator asked for.
    transfer: Option<(SessionId, Target)>,
    /// The agent whose own command this was.
    agent: Option<AgentId>,
}

// ---- the driver --------------------------------------------------------------------------

/// Drives a running server over HTTP (see the module documentation for the mapping and for
/// how the events are learnt). Inferences from the monitor, beyond what it shows directly:
/// `BotStepEntered.invalid` is true when the customer answered and the step repeats;
/// `SessionQueued.front` is reconstructed from the team's queue order; `SessionAssigned.by`
/// is `transfer` for the simulator's transfer to an agent, else `distribution`; the reason
/// of a finish the simulator did not ask for comes from the phase the session left.
#[derive(Debug)]
pub struct HttpDriver {
    api: Api,
    creds: Credentials,
    flows: BTreeMap<ChannelId, FlowId>,
    seen: Snapshot,
    calls: Latencies,
    observe: Latencies,
    observe_waits: u64,
}

impl HttpDriver {
    /// A driver acting with `setup`'s credentials, starting from an empty contact center (the
    /// state right after [`setup`]).
    pub fn new(api: Api, setup: &HttpSetup) -> Self {
        let flows = setup
            .config
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ChannelCreated { channel } => channel.flow.map(|f| (channel.id, f)),
                _ => None,
            })
            .collect();
        HttpDriver {
            api,
            creds: setup.credentials.clone(),
            flows,
            seen: Snapshot::default(),
            calls: Latencies::new(),
            observe: Latencies::new(),
            observe_waits: 0,
        }
    }

    /// The duration of each API call, by command kind (the command's own request only).
    pub fn call_latencies(&self) -> &Latencies {
        &self.calls
    }

    /// The duration of each observation (`/healthz` + `/api/v1/monitor` until it caught up),
    /// under the kind `observe`.
    pub fn observe_latencies(&self) -> &Latencies {
        &self.observe
    }

    /// Observations that had to read the monitor more than once (it had not folded the
    /// command yet).
    pub fn observe_waits(&self) -> u64 {
        self.observe_waits
    }

    /// The API client.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    fn agent(&self, agent: AgentId) -> Result<&Caller, HttpError> {
        self.creds.agents.get(&agent).ok_or_else(|| {
            HttpError::local("no_credentials", format!("no login for agent {agent}"))
        })
    }

    fn own(by: Actor, agent: AgentId) -> Result<(), HttpError> {
        if by == Actor::Agent(agent) {
            Ok(())
        } else {
            Err(HttpError::local(
                "unsupported_command",
                "only an agent's own actions are mapped",
            ))
        }
    }

    /// Sends the API call of `cmd`; what the driver should remember about it.
    fn send(&self, cmd: &Command) -> Result<Hint, HttpError> {
        let mut hint = Hint::default();
        match cmd {
            Command::CustomerMessage {
                channel,
                identifier,
                name,
                text,
                attachments,
                external_id,
            } => {
                let token = self.creds.channels.get(channel).ok_or_else(|| {
                    HttpError::local("no_credentials", format!("no token for channel {channel}"))
                })?;
                let mut body = json!({"contact": identifier, "name": name, "text": text,
                    "message_id": external_id});
                if !attachments.is_empty()
                    && let Some(obj) = body.as_object_mut()
                {
                    obj.insert(
                        "attachments".into(),
                        serde_json::to_value(attachments).unwrap_or_default(),
                    );
                }
                let answer = self.api.post(
                    &format!("/api/v1/channels/{channel}/messages"),
                    token,
                    &body,
                )?;
                if let Some(s) = answer.get("session").and_then(Value::as_u64) {
                    let s = SessionId(s);
                    hint.customer = Some((s, !self.seen.sessions.contains_key(&s)));
                }
            }
            Command::AgentLogin { agent } => {
                self.api
                    .post("/api/v1/me/login", self.agent(*agent)?, &json!({}))?;
                hint.agent = Some(*agent);
            }
            Command::AgentLogout { agent, by } => {
                Self::own(*by, *agent)?;
                self.api
                    .post("/api/v1/me/logout", self.agent(*agent)?, &json!({}))?;
                hint.agent = Some(*agent);
            }
            Command::AgentPause { agent, reason, by } => {
                Self::own(*by, *agent)?;
                self.api.post(
                    "/api/v1/me/pause",
                    self.agent(*agent)?,
                    &json!({"reason": reason.0}),
                )?;
                hint.agent = Some(*agent);
            }
            Command::AgentResume { agent, by } => {
                Self::own(*by, *agent)?;
                self.api
                    .post("/api/v1/me/resume", self.agent(*agent)?, &json!({}))?;
                hint.agent = Some(*agent);
            }
            Command::AgentMessage {
                session,
                agent,
                text,
            } => {
                self.api.post(
                    &format!("/api/v1/me/sessions/{session}/messages"),
                    self.agent(*agent)?,
                    &json!({"text": text}),
                )?;
                hint.agent = Some(*agent);
            }
            Command::Transfer { session, to, by } => {
                let Actor::Agent(agent) = *by else {
                    return Err(HttpError::local(
                        "unsupported_command",
                        "only an agent's own transfers are mapped",
                    ));
                };
                let body = match to {
                    Target::Agent(a) => json!({"agent": a.0}),
                    Target::Team(t) => json!({"team": t.0}),
                };
                self.api.post(
                    &format!("/api/v1/me/sessions/{session}/transfer"),
                    self.agent(agent)?,
                    &body,
                )?;
                hint.transfer = Some((*session, *to));
                hint.agent = Some(agent);
            }
            Command::Finish {
                session,
                by,
                wrapup,
            } => match *by {
                Actor::Agent(agent) => {
                    self.api.post(
                        &format!("/api/v1/me/sessions/{session}/finish"),
                        self.agent(agent)?,
                        &json!({"wrapup": wrapup}),
                    )?;
                    hint.finish = Some((*session, *by, wrapup.clone()));
                    hint.agent = Some(agent);
                }
                Actor::Customer => {
                    return Err(HttpError::local(
                        "no_channel_route",
                        "the channel API has no route for a customer leaving (a real customer stops writing)",
                    ));
                }
                _ => {
                    return Err(HttpError::local(
                        "unsupported_command",
                        "only agents' finishes are mapped",
                    ));
                }
            },
            other => {
                return Err(HttpError::local(
                    "unsupported_command",
                    format!("`{}` is not mapped to the API", other.name()),
                ));
            }
        }
        Ok(hint)
    }

    /// Reads the monitor once it has folded everything durable now.
    fn read_monitor(&mut self) -> Result<Snapshot, HttpError> {
        let t0 = Instant::now();
        // The command's events come after the last view; the engine publishes the durable
        // sequence before it answers, so `/healthz` normally shows them at once (a guard).
        let mut reads = 0u32;
        let durable = loop {
            let d = self.api.durable_seq()?;
            if d > self.seen.seq || t0.elapsed() > OBSERVE_PATIENCE {
                break d;
            }
            reads += 1;
            std::thread::sleep(Duration::from_micros(100 * u64::from(reads.min(10))));
        };
        loop {
            let value = self.api.get("/api/v1/monitor", &self.creds.supervisor)?;
            let view: WireView = serde_json::from_value(value)
                .map_err(|e| HttpError::local("http_bad_answer", format!("monitor: {e}")))?;
            reads += 1;
            if view.seq >= durable || t0.elapsed() > OBSERVE_PATIENCE {
                if reads > 1 {
                    self.observe_waits += 1;
                }
                self.observe.record("observe", t0.elapsed());
                return Ok(Snapshot::from_wire(view));
            }
            // The live model folds a committed event within microseconds; back off gently.
            std::thread::sleep(Duration::from_micros(200 * u64::from(reads.min(10))));
        }
    }

    /// The events that turn the previous view into `next`.
    fn diff(&self, next: &Snapshot, hint: &Hint, at: Timestamp) -> Vec<Event> {
        let prev = &self.seen;
        let ev = |kind| Event { at, kind };
        let mut out = Vec::new();
        // Presence: everything but log-outs first (a log-out follows its re-queues).
        let agents: BTreeSet<AgentId> = prev
            .presence
            .keys()
            .chain(next.presence.keys())
            .copied()
            .collect();
        let by_of = |agent: AgentId| {
            if hint.agent == Some(agent) {
                Actor::Agent(agent)
            } else {
                Actor::System
            }
        };
        let mut logged_out = Vec::new();
        for &agent in &agents {
            let (was, is) = (prev.presence(agent), next.presence(agent));
            if was == is {
                continue;
            }
            let by = by_of(agent);
            match (was, is) {
                (_, Presence::Offline) => logged_out.push(agent),
                (Presence::Offline, Presence::Online) => {
                    out.push(ev(EventKind::AgentLoggedIn { agent }));
                }
                (Presence::Offline, Presence::Paused { reason }) => {
                    out.push(ev(EventKind::AgentLoggedIn { agent }));
                    out.push(ev(EventKind::AgentPaused { agent, reason, by }));
                }
                (Presence::Paused { .. }, Presence::Online) => {
                    out.push(ev(EventKind::AgentResumed { agent, by }));
                }
                (_, Presence::Paused { reason }) => {
                    out.push(ev(EventKind::AgentPaused { agent, reason, by }));
                }
                (Presence::Online, Presence::Online) => {}
            }
        }
        // The customer's new session first (it may already be gone: resolved by the bot).
        if let Some((s, true)) = hint.customer {
            let (channel, contact) = next
                .sessions
                .get(&s)
                .map_or((ChannelId(0), ContactId(0)), |n| (n.channel, n.contact));
            let flow = self.flows.get(&channel).copied().unwrap_or(FlowId(0));
            out.push(ev(EventKind::SessionStarted {
                session: s,
                contact,
                channel,
                flow,
            }));
            if !next.sessions.contains_key(&s) {
                out.push(ev(EventKind::SessionFinished {
                    session: s,
                    reason: FinishReason::BotResolved,
                    outcome: Outcome::Success,
                    wrapup: None,
                    by: Actor::System,
                }));
            }
        }
        if let Some((session, to)) = hint.transfer {
            out.push(ev(EventKind::SessionTransferred {
                session,
                to,
                from_agent: hint.agent,
                by: hint.agent.map_or(Actor::System, Actor::Agent),
            }));
        }
        // Finished: open before, gone now.
        for (s, was) in &prev.sessions {
            if next.sessions.contains_key(s) {
                continue;
            }
            let (reason, outcome, wrapup, by) = match &hint.finish {
                Some((f, by, wrapup)) if f == s => {
                    let reason = match by {
                        Actor::Agent(_) => FinishReason::ByAgent,
                        Actor::Customer => FinishReason::ByCustomer,
                        _ => FinishReason::BySupervisor,
                    };
                    (reason, Outcome::Success, wrapup.clone(), *by)
                }
                _ => match was.phase {
                    Phase::Bot if hint.customer.map(|c| c.0) == Some(*s) => (
                        FinishReason::BotResolved,
                        Outcome::Success,
                        None,
                        Actor::System,
                    ),
                    Phase::Bot | Phase::Human => (
                        FinishReason::InactivityTimeout,
                        Outcome::Lost,
                        None,
                        Actor::System,
                    ),
                    Phase::Waiting => (
                        FinishReason::NoAgentAvailable,
                        Outcome::Lost,
                        None,
                        Actor::System,
                    ),
                },
            };
            out.push(ev(EventKind::SessionFinished {
                session: *s,
                reason,
                outcome,
                wrapup,
                by,
            }));
        }
        // Sessions someone else started (another integration on the same server).
        let fresh = hint.customer.filter(|c| c.1).map(|c| c.0);
        for (s, n) in &next.sessions {
            if !prev.sessions.contains_key(s) && Some(*s) != fresh {
                let flow = self.flows.get(&n.channel).copied().unwrap_or(FlowId(0));
                out.push(ev(EventKind::SessionStarted {
                    session: *s,
                    contact: n.contact,
                    channel: n.channel,
                    flow,
                }));
            }
        }
        // Bot steps.
        for (s, n) in &next.sessions {
            if n.phase != Phase::Bot {
                continue;
            }
            let Some(step) = n.bot_step.clone() else {
                continue;
            };
            let was = prev.sessions.get(s);
            let moved = was.is_none_or(|w| w.phase != Phase::Bot || w.bot_step != n.bot_step);
            let answered = hint.customer.map(|c| c.0) == Some(*s);
            if moved || answered {
                out.push(ev(EventKind::BotStepEntered {
                    session: *s,
                    step,
                    invalid: !moved,
                    collected: BTreeMap::new(),
                }));
            }
        }
        let queue_reason = |s: SessionId, was: Option<&Seen>| match was.map(|w| w.phase) {
            None | Some(Phase::Bot) => QueueReason::Routed,
            Some(_) if hint.transfer.map(|t| t.0) == Some(s) => QueueReason::Transferred,
            Some(Phase::Human) => QueueReason::Requeued,
            Some(Phase::Waiting) => QueueReason::Overflow,
        };
        // Queued: per team, in the order of the team's queue now (front arrivals reversed).
        for (team, queue) in &next.queues {
            let old = |s: &SessionId| {
                prev.sessions
                    .get(s)
                    .is_some_and(|w| w.phase == Phase::Waiting && w.team == Some(*team))
            };
            let first_old = queue.iter().position(old).unwrap_or(queue.len());
            let (front, back) = queue.split_at(first_old);
            let newcomers_front = front.iter().rev().map(|s| (s, true));
            let newcomers_back = back.iter().filter(|s| !old(s)).map(|s| (s, false));
            for (s, at_front) in newcomers_front.chain(newcomers_back) {
                out.push(ev(EventKind::SessionQueued {
                    session: *s,
                    team: *team,
                    reason: queue_reason(*s, prev.sessions.get(s)),
                    front: at_front,
                    collected: BTreeMap::new(),
                }));
            }
        }
        // Assigned: in the order they waited (FIFO), those that never waited last.
        let mut assigned: Vec<(usize, SessionId, TeamId, AgentId)> = next
            .sessions
            .iter()
            .filter(|(_, n)| n.phase == Phase::Human)
            .filter_map(|(s, n)| {
                let was = prev.sessions.get(s);
                let changed = was.is_none_or(|w| w.phase != Phase::Human || w.agent != n.agent);
                let (team, agent) = (n.team?, n.agent?);
                changed.then(|| {
                    (
                        prev.queue_index(was.and_then(|w| w.team), *s),
                        *s,
                        team,
                        agent,
                    )
                })
            })
            .collect();
        assigned.sort();
        for (_, s, team, agent) in assigned {
            let was = prev.sessions.get(&s);
            let by_transfer = matches!(hint.transfer, Some((t, Target::Agent(_))) if t == s);
            if !by_transfer && was.is_none_or(|w| w.phase != Phase::Waiting) {
                // It went through a queue between the two views.
                out.push(ev(EventKind::SessionQueued {
                    session: s,
                    team,
                    reason: queue_reason(s, was),
                    front: was.is_some_and(|w| w.phase == Phase::Human),
                    collected: BTreeMap::new(),
                }));
            }
            out.push(ev(EventKind::SessionAssigned {
                session: s,
                agent,
                team,
                protocol: None,
                by: if by_transfer {
                    AssignedBy::Transfer
                } else {
                    AssignedBy::Distribution
                },
            }));
        }
        for agent in logged_out {
            out.push(ev(EventKind::AgentLoggedOut {
                agent,
                by: by_of(agent),
            }));
        }
        out
    }

    /// Reads the monitor and returns what changed since the last reading.
    fn observe(&mut self, hint: &Hint, at: Timestamp) -> Result<Vec<Event>, HttpError> {
        let next = self.read_monitor()?;
        let events = self.diff(&next, hint, at);
        self.seen = next;
        Ok(events)
    }
}

impl Driver for HttpDriver {
    type Error = HttpError;

    fn execute(&mut self, cmd: Command, now: Timestamp) -> Result<Vec<Event>, HttpError> {
        let kind = cmd.name();
        let t0 = Instant::now();
        let sent = self.send(&cmd);
        self.calls.record(kind, t0.elapsed());
        let hint = sent?;
        self.observe(&hint, now)
    }

    /// The server keeps its own clock: nothing to do.
    fn tick(&mut self, _now: Timestamp) -> Vec<Event> {
        Vec::new()
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        None
    }
}

// ---- the runner --------------------------------------------------------------------------

/// How [`run`] paces the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Seed of the simulation.
    pub seed: u64,
    /// Simulated time per real time; `None`: as fast as the server answers.
    pub speed: Option<f64>,
    /// Simulated minutes to run (after the warm-up).
    pub minutes: f64,
    /// Simulated minutes run as fast as possible first (queues and conversations form).
    pub warm_up_minutes: f64,
}

/// What [`run`] measured.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The simulator's counts.
    pub stats: SimStats,
    /// The API call of each command, by kind.
    pub calls: Latencies,
    /// Each observation of the monitor.
    pub observe: Latencies,
    /// Observations that had to wait for the monitor.
    pub observe_waits: u64,
    /// Wall time of the run (setup excluded).
    pub wall: Duration,
    /// Open sessions by phase in the simulator's world at the end: (bot, waiting, human).
    pub open: (usize, usize, usize),
}

impl RunReport {
    /// Commands per second of wall time.
    pub fn commands_per_s(&self) -> f64 {
        self.stats.commands as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The report as text: counts, refusals, latency per command kind.
    pub fn render(&self) -> String {
        let s = &self.stats;
        let mut out = format!(
            "{} commands in {:.1} s ({:.0}/s), {} refused {:?}\n\
             sessions: {} started, {} routed by the bot, {} reached an agent, {} served, \
             {} resolved by the bot, {} lost; open now: {} bot, {} waiting, {} with agents\n\
             agents: {} log-ins, {} log-outs, {} pauses, {} transfers\n\n",
            s.commands,
            self.wall.as_secs_f64(),
            self.commands_per_s(),
            s.refused,
            s.refusals,
            s.sessions_started,
            s.routed,
            s.first_assignments,
            s.served,
            s.bot_resolved,
            s.lost,
            self.open.0,
            self.open.1,
            self.open.2,
            s.logins,
            s.logouts,
            s.pauses,
            s.transfers,
        );
        out.push_str(&latency_table("API call per command kind", &self.calls));
        out.push('\n');
        out.push_str(&latency_table(
            "observation after each command (/healthz + /api/v1/monitor)",
            &self.observe,
        ));
        out
    }
}

/// Sets up a fresh server for `scenario` ([`setup`]) and runs the simulator on it through
/// [`HttpDriver`] until `opts.minutes` of simulated time passed or `stop` is set.
pub fn run(
    api: Api,
    scenario: Scenario,
    email: &str,
    password: &str,
    opts: &RunOptions,
    stop: &AtomicBool,
) -> Result<RunReport, SetupError> {
    let prepared = setup(&api, &scenario, email, password)?;
    let driver = HttpDriver::new(api, &prepared);
    let mut sim = Simulation::new(scenario, driver, opts.seed);
    sim.resume(&prepared.config)?;
    let wall0 = Instant::now();
    let warm = sim.now().plus_ms((opts.warm_up_minutes * 60_000.0) as i64);
    sim.run_until(warm);
    let sim0 = sim.now();
    let end = sim0.plus_ms((opts.minutes * 60_000.0) as i64);
    match opts.speed {
        None => {
            while !stop.load(Ordering::Relaxed) && sim.next_action_time().is_some_and(|t| t <= end)
            {
                sim.step();
            }
        }
        Some(speed) => {
            let paced = Instant::now();
            while !stop.load(Ordering::Relaxed) && sim.now() < end {
                let elapsed = paced.elapsed().as_secs_f64() * 1000.0 * speed;
                sim.run_until(sim0.plus_ms(elapsed as i64).min(end));
                // Pacing simulated people at real time is this runner's job.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    let wall = wall0.elapsed();
    let world = sim.world();
    let count = |p: Phase| world.sessions.values().filter(|s| s.phase == p).count();
    let open = (
        count(Phase::Bot),
        count(Phase::Waiting),
        count(Phase::Human),
    );
    let stats = sim.stats().clone();
    let (driver, ()) = sim.into_parts();
    Ok(RunReport {
        stats,
        calls: driver.calls,
        observe: driver.observe,
        observe_waits: driver.observe_waits,
        wall,
        open,
    })
}

/// A plain-text table of latencies (µs) by command kind.
pub fn latency_table(title: &str, l: &Latencies) -> String {
    let mut out = format!(
        "{title}\n{:<18} {:>8} {:>10} {:>10} {:>10}\n",
        "kind", "count", "p50 µs", "p99 µs", "max µs"
    );
    for r in l.summary() {
        out.push_str(&format!(
            "{:<18} {:>8} {:>10} {:>10} {:>10}\n",
            r.kind, r.count, r.p50_us, r.p99_us, r.max_us
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(phase: Phase, team: Option<u64>, agent: Option<u64>, step: Option<&str>) -> Seen {
        Seen {
            phase,
            channel: ChannelId(1),
            contact: ContactId(1),
            bot_step: step.map(str::to_string),
            team: team.map(TeamId),
            agent: agent.map(AgentId),
        }
    }

    fn driver() -> HttpDriver {
        let api = Api::new("http://127.0.0.1:9").unwrap_or_else(|e| panic!("{e}"));
        let setup = HttpSetup {
            config: Vec::new(),
            credentials: Credentials {
                supervisor: Caller::Anonymous,
                agents: BTreeMap::new(),
                channels: BTreeMap::new(),
            },
        };
        HttpDriver::new(api, &setup)
    }

    fn kinds(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                serde_json::to_value(e)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn a_new_session_in_the_bot_then_an_invalid_answer() {
        let mut d = driver();
        let mut next = Snapshot::default();
        next.sessions
            .insert(SessionId(1), seen(Phase::Bot, None, None, Some("menu")));
        let hint = Hint {
            customer: Some((SessionId(1), true)),
            ..Hint::default()
        };
        let events = d.diff(&next, &hint, Timestamp(5));
        assert_eq!(kinds(&events), ["session_started", "bot_step_entered"]);
        assert!(matches!(
            events[1].kind,
            EventKind::BotStepEntered { invalid: false, .. }
        ));
        d.seen = next.clone();
        let hint = Hint {
            customer: Some((SessionId(1), false)),
            ..Hint::default()
        };
        let events = d.diff(&next, &hint, Timestamp(6));
        assert!(matches!(
            events[..],
            [Event {
                kind: EventKind::BotStepEntered { invalid: true, .. },
                ..
            }]
        ));
    }

    #[test]
    fn a_log_in_assigns_the_queue_in_order_and_a_log_out_requeues_at_the_front() {
        let mut d = driver();
        let mut world = crate::World::new();
        let mut fold = |events: &[Event]| {
            for e in events {
                world.apply(e);
            }
        };
        // Three sessions queue in the order 3, 1, 2.
        let mut prev = Snapshot::default();
        for s in [3, 1, 2] {
            prev.sessions
                .insert(SessionId(s), seen(Phase::Waiting, Some(1), None, None));
        }
        prev.queues
            .insert(TeamId(1), vec![SessionId(3), SessionId(1), SessionId(2)]);
        let mut starts = Vec::new();
        for s in [3, 1, 2] {
            let hint = Hint {
                customer: Some((SessionId(s), true)),
                ..Hint::default()
            };
            let mut next = d.seen.clone();
            next.sessions
                .insert(SessionId(s), seen(Phase::Waiting, Some(1), None, None));
            next.queues.entry(TeamId(1)).or_default().push(SessionId(s));
            starts.extend(d.diff(&next, &hint, Timestamp(0)));
            d.seen = next;
        }
        assert_eq!(d.seen, prev);
        fold(&starts);
        // An agent logs in and takes two.
        let mut next = Snapshot::default();
        next.presence.insert(AgentId(7), Presence::Online);
        for s in [3, 1] {
            next.sessions
                .insert(SessionId(s), seen(Phase::Human, Some(1), Some(7), None));
        }
        next.sessions
            .insert(SessionId(2), seen(Phase::Waiting, Some(1), None, None));
        next.queues.insert(TeamId(1), vec![SessionId(2)]);
        let events = d.diff(&next, &Hint::default(), Timestamp(1));
        let order: Vec<u64> = events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::SessionAssigned { session, .. } => Some(session.0),
                _ => None,
            })
            .collect();
        assert_eq!(order, [3, 1]);
        assert_eq!(kinds(&events)[0], "agent_logged_in");
        fold(&events);
        d.seen = next;
        // It logs out: both go back to the front, in their order.
        let events = d.diff(&prev, &Hint::default(), Timestamp(2));
        assert_eq!(
            kinds(&events).last().map(String::as_str),
            Some("agent_logged_out")
        );
        fold(&events);
        let q: Vec<u64> = world
            .teams
            .get(&TeamId(1))
            .map(|t| t.queue.iter().map(|s| s.0).collect())
            .unwrap_or_default();
        assert_eq!(q, [3, 1, 2]);
        assert_eq!(world.fifo_violations, 0);
    }
}
