//! End to end over HTTP on a real listener (issue 4): an administrator configures the
//! contact center, agents log in through `/api/v1/me`, a channel integration brings a
//! customer in with its channel token and delivers Mirante's answers from the outbound
//! feed. A session goes bot → menu → queue → agent (protocol) → replies both ways →
//! transfer → finish with a wrap-up code (success); another is lost to the team's
//! inactivity timeout, driven by the manual clock (no sleeps).
#![allow(clippy::unwrap_used)]

mod api_support;
mod common;

use api_support::{Api, Who, drain, finished, serve};
use common::TestApp;
use mirante_core::{EventKind, FinishReason, Outcome};
use mirante_store::accounts::AccountKind;
use serde_json::{Value, json};

/// A contact center configured over the API: two teams, a TOML flow with a menu, a
/// WhatsApp channel and its token, two agents with logins.
struct Setup {
    api: Api,
    admin: Who,
    channel: u64,
    token: Who,
    financeiro: u64,
    agents: Vec<(u64, Who)>,
}

const FLOW_TOML: &str = r#"
name = "Atendimento"
start = "menu"

[steps.menu]
kind = "menu"
text = "Olá! Como posso ajudar?"
options = [
  { key = "1", label = "Financeiro", synonyms = ["boleto"], next = "fin" },
  { key = "2", label = "Encerrar", next = "fim" },
]

[steps.fin]
kind = "route"
team = TEAM
text = "Vamos chamar o financeiro."

[steps.fim]
kind = "finish"
text = "Até logo!"
"#;

async fn setup(app: &TestApp, team: Value) -> Setup {
    let api = Api::new(serve(app).await);
    let (_, cookie) = app.full_admin("root@example.com").await;
    let admin = Who::Cookie(cookie);
    let financeiro = api.post("/api/v1/teams", &admin, team).await.expect(201)["id"]
        .as_u64()
        .unwrap();
    api.post("/api/v1/teams", &admin, json!({"name": "Suporte"}))
        .await
        .expect(201);
    let toml = FLOW_TOML.replace("TEAM", &financeiro.to_string());
    let flow = api
        .raw(
            "POST",
            "/api/v1/flows",
            &admin,
            "application/toml",
            toml.into_bytes(),
        )
        .await;
    let flow = flow.expect(201)["id"].as_u64().unwrap();
    let channel = api
        .post(
            "/api/v1/channels",
            &admin,
            json!({"kind": "whatsapp", "name": "WhatsApp Business", "flow": flow}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let token = api
        .post(
            &format!("/api/v1/channels/{channel}/tokens"),
            &admin,
            json!({"name": "integração"}),
        )
        .await
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut agents = Vec::new();
    for name in ["ana", "bia"] {
        let agent = api
            .post(
                "/api/v1/agents",
                &admin,
                json!({"name": name, "email": format!("{name}@example.com"), "teams": [financeiro], "capacity": 3}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .unwrap();
        let account = app.account(
            &format!("{name}.login@example.com"),
            AccountKind::Agent { agent },
        );
        agents.push((agent, Who::Cookie(app.session(account).await)));
    }
    Setup {
        api,
        admin,
        channel,
        token: Who::Bearer(token),
        financeiro,
        agents,
    }
}

fn texts(page: &Value) -> Vec<(String, String)> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_customer_goes_from_the_bot_to_an_agent_is_transferred_and_finished_with_success() {
    let app = TestApp::new(false).await;
    let mut events = app.engine.handle.subscribe();
    let s = setup(
        &app,
        json!({"name": "Financeiro", "wrapup_codes": ["resolvido", "retorno"],
               "closing_message": "Obrigado pelo contato!"}),
    )
    .await;
    let api = &s.api;
    for (_, who) in &s.agents {
        let status = api.post("/api/v1/me/login", who, json!({})).await;
        assert_eq!(status.expect(200)["agent"]["presence"], "online");
    }
    let messages = format!("/api/v1/channels/{}/messages", s.channel);
    let outbound = format!("/api/v1/channels/{}/outbound", s.channel);

    // The customer arrives; the bot shows its menu.
    let first = api
        .post(
            &messages,
            &s.token,
            json!({"contact": "+55 (35) 99876-5432", "name": "Maria Luiza", "text": "Oi", "message_id": "wamid.1"}),
        )
        .await;
    let session = first.expect(201)["session"].as_u64().unwrap();
    let page = api.get(&format!("{outbound}?after=0"), &s.token).await;
    let page = page.expect(200).clone();
    assert_eq!(
        texts(&page),
        [(
            "bot".to_owned(),
            "Olá! Como posso ajudar?\n1 - Financeiro\n2 - Encerrar".to_owned()
        )]
    );
    assert_eq!(page["messages"][0]["to"], "+55 (35) 99876-5432");
    assert_eq!(page["gap"], false);
    let cursor = page["next"].as_u64().unwrap();

    // Menu choice → queue → assignment with a protocol.
    api.post(
        &messages,
        &s.token,
        json!({"contact": "+55 (35) 99876-5432", "text": "boleto", "message_id": "wamid.2"}),
    )
    .await
    .expect(201);
    let mut serving = None;
    for (agent, who) in &s.agents {
        let mine = api.get("/api/v1/me/sessions", who).await;
        if let Some(row) = mine.expect(200)["serving"].as_array().unwrap().first() {
            serving = Some((*agent, who.clone(), row.clone()));
        }
    }
    let (agent, who, row) = serving.expect("an agent serves the session");
    assert_eq!(row["id"], session);
    assert_eq!(row["team"], s.financeiro);
    assert_eq!(row["contact_name"], "Maria Luiza");
    assert_eq!(row["contact_number"], "5535998765432");
    let protocol = row["protocol"].as_str().unwrap().to_owned();
    assert_eq!(protocol.len(), 14, "{protocol}");

    // Replies both ways: the agent reads the transcript, answers; the feed carries it.
    let transcript = api
        .get(&format!("/api/v1/me/sessions/{session}/messages"), &who)
        .await;
    let authors: Vec<&str> = transcript
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["customer", "bot", "customer", "bot"]);
    let reply = api
        .post(
            &format!("/api/v1/me/sessions/{session}/messages"),
            &who,
            json!({"text": "Olá, Maria! Vou gerar a segunda via."}),
        )
        .await;
    let agent_message = reply.expect(201)["message"].as_u64().unwrap();
    let page = api
        .get(&format!("{outbound}?after={cursor}"), &s.token)
        .await;
    assert_eq!(
        texts(page.expect(200)),
        [
            ("bot".to_owned(), "Vamos chamar o financeiro.".to_owned()),
            (
                "agent".to_owned(),
                "Olá, Maria! Vou gerar a segunda via.".to_owned()
            ),
        ]
    );
    let cursor = page.body["next"].as_u64().unwrap();
    api.post(
        &format!("/api/v1/channels/{}/status", s.channel),
        &s.token,
        json!({"message": agent_message, "status": "read"}),
    )
    .await
    .expect(204);
    api.post(
        &messages,
        &s.token,
        json!({"contact": "+55 (35) 99876-5432", "text": "Obrigada!", "message_id": "wamid.3"}),
    )
    .await
    .expect(201);
    let transcript = api
        .get(&format!("/api/v1/me/sessions/{session}/messages"), &who)
        .await;
    let list = transcript.expect(200).as_array().unwrap().clone();
    assert_eq!(list.last().unwrap()["text"], "Obrigada!");
    let read = list.iter().find(|m| m["message"] == agent_message).unwrap();
    assert_eq!(read["status"], "read");

    // Transfer to the colleague: same protocol.
    let (other, other_who) = s.agents.iter().find(|(a, _)| *a != agent).cloned().unwrap();
    api.post(
        &format!("/api/v1/me/sessions/{session}/transfer"),
        &who,
        json!({"agent": other}),
    )
    .await
    .expect(204);
    assert!(
        api.get("/api/v1/me/sessions", &who).await.body["serving"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let theirs = api.get("/api/v1/me/sessions", &other_who).await;
    assert_eq!(theirs.body["serving"][0]["protocol"], protocol.as_str());

    // Finish: the team requires a wrap-up code.
    let finish = format!("/api/v1/me/sessions/{session}/finish");
    let refused = api.post(&finish, &other_who, json!({})).await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (422, "wrapup_required")
    );
    let refused = api
        .post(&finish, &other_who, json!({"wrapup": "nada"}))
        .await;
    assert_eq!(refused.code(), "unknown_wrapup");
    api.post(&finish, &other_who, json!({"wrapup": "resolvido"}))
        .await
        .expect(204);
    let page = api
        .get(&format!("{outbound}?after={cursor}"), &s.token)
        .await;
    assert_eq!(
        texts(page.expect(200)),
        [("system".to_owned(), "Obrigado pelo contato!".to_owned())]
    );

    // The log says: success, by the agent, with its wrap-up code; transfer by the agent.
    let seen = drain(&mut events);
    assert_eq!(
        finished(&seen, session),
        Some(EventKind::SessionFinished {
            session: mirante_core::SessionId(session),
            reason: FinishReason::ByAgent,
            outcome: Outcome::Success,
            wrapup: Some("resolvido".into()),
            by: mirante_core::Actor::Agent(mirante_core::AgentId(other)),
        })
    );
    assert!(seen.iter().any(|e| matches!(&e.kind,
        EventKind::SessionTransferred { session: sid, by: mirante_core::Actor::Agent(a), .. }
            if sid.0 == session && a.0 == agent)));
    // Audited: the transfer and the finish.
    let audit = api.get("/api/v1/audit", &s.admin).await;
    let actions: Vec<&str> = audit
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "me.transfer",
        "me.finish",
        "me.login",
        "config.flow.create",
        "config.channel.token",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn a_session_without_customer_messages_is_lost_at_the_inactivity_timeout() {
    let app = TestApp::new(false).await;
    let mut events = app.engine.handle.subscribe();
    let s = setup(
        &app,
        json!({"name": "Financeiro", "inactivity_timeout_ms": 60_000}),
    )
    .await;
    let api = &s.api;
    let (_, ana) = &s.agents[0];
    api.post("/api/v1/me/login", ana, json!({}))
        .await
        .expect(200);
    let messages = format!("/api/v1/channels/{}/messages", s.channel);
    let session = api
        .post(
            &messages,
            &s.token,
            json!({"contact": "chat-77", "text": "Oi", "message_id": "t1"}),
        )
        .await
        .expect(201)["session"]
        .as_u64()
        .unwrap();
    api.post(
        &messages,
        &s.token,
        json!({"contact": "chat-77", "text": "1", "message_id": "t2"}),
    )
    .await
    .expect(201);
    let mine = api.get("/api/v1/me/sessions", ana).await;
    assert_eq!(mine.expect(200)["serving"][0]["id"], session);
    api.post(
        &format!("/api/v1/me/sessions/{session}/messages"),
        ana,
        json!({"text": "Em que posso ajudar?"}),
    )
    .await
    .expect(201);

    // Agent messages do not count: the timeout runs from the customer's last message.
    app.clock.advance(59_999);
    let mine = api.get("/api/v1/me/sessions", ana).await;
    assert_eq!(mine.body["serving"].as_array().unwrap().len(), 1);
    app.clock.advance(2);
    let mine = api.get("/api/v1/me/sessions", ana).await;
    assert!(mine.body["serving"].as_array().unwrap().is_empty());
    let seen = drain(&mut events);
    let Some(EventKind::SessionFinished {
        reason, outcome, ..
    }) = finished(&seen, session)
    else {
        panic!("not finished: {seen:?}");
    };
    assert_eq!(
        (reason, outcome),
        (FinishReason::InactivityTimeout, Outcome::Lost)
    );
    // A new message from the same contact starts a new session (D-2).
    let again = api
        .post(
            &messages,
            &s.token,
            json!({"contact": "chat-77", "text": "Oi de novo", "message_id": "t3"}),
        )
        .await;
    assert_ne!(again.expect(201)["session"].as_u64().unwrap(), session);
}

#[tokio::test]
async fn the_same_channel_message_id_twice_is_one_message() {
    let app = TestApp::new(false).await;
    let s = setup(&app, json!({"name": "Financeiro"})).await;
    let api = &s.api;
    let messages = format!("/api/v1/channels/{}/messages", s.channel);
    let body = json!({"contact": "5511988887777", "text": "Oi", "message_id": "wamid.X"});
    let first = api.post(&messages, &s.token, body.clone()).await;
    let message = first.expect(201)["message"].as_u64().unwrap();
    let session = first.body["session"].as_u64().unwrap();
    let seq = app.engine.handle.durable_seq();
    let again = api.post(&messages, &s.token, body).await;
    assert_eq!(
        again.expect(200),
        &json!({"duplicate": true, "message": message})
    );
    assert_eq!(app.engine.handle.durable_seq(), seq, "nothing written");
    // The same id on another channel is another message.
    let other = api
        .post(
            "/api/v1/channels",
            &s.admin,
            json!({"kind": "api", "name": "Outro", "flow": 1}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let token = api
        .post(
            &format!("/api/v1/channels/{other}/tokens"),
            &s.admin,
            json!({"name": "outro"}),
        )
        .await
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    api.post(
        &format!("/api/v1/channels/{other}/messages"),
        &Who::Bearer(token),
        json!({"contact": "5511988887777", "text": "Oi", "message_id": "wamid.X"}),
    )
    .await
    .expect(201);
    // One customer message in the first session's transcript.
    let (_, ana) = &s.agents[0];
    api.post("/api/v1/me/login", ana, json!({}))
        .await
        .expect(200);
    api.post(
        &messages,
        &s.token,
        json!({"contact": "5511988887777", "text": "1", "message_id": "wamid.Y"}),
    )
    .await
    .expect(201);
    let transcript = api
        .get(&format!("/api/v1/me/sessions/{session}/messages"), ana)
        .await;
    let customer: Vec<&str> = transcript
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(customer, ["Oi", "1"]);
}
