//! Bad input and configuration errors: every refusal has its stable code, the right
//! classification (conflict / not found / neither) and leaves the state exactly as it was.

mod common;

use common::*;
use mirante_core::command::MAX_TEXT_CHARS;
use mirante_core::{
    Actor, AgentId, Attachment, ChannelId, ChannelKind, Command, DomainError, FlowId, Lang,
    PauseReasonId, SessionId, Target, TeamId, TeamSettings,
};

fn create_agent(name: &str, email: &str, teams: &[TeamId], capacity: Option<u32>) -> Command {
    Command::CreateAgent {
        name: name.into(),
        nickname: None,
        email: email.into(),
        teams: teams.iter().copied().collect(),
        capacity,
    }
}

fn update_capacity(agent: AgentId, capacity: u32) -> Command {
    Command::UpdateAgent {
        agent,
        name: None,
        nickname: None,
        email: None,
        teams: None,
        capacity: Some(capacity),
        enabled: None,
    }
}

fn settings_tz(tz: &str) -> Command {
    Command::UpdateSettings {
        time_zone: Some(tz.into()),
        bulk_cap: None,
        bot_inactivity_ms: None,
    }
}

/// A center with a team, a channel, an agent serving one session.
fn center() -> (Scenario, TeamId, ChannelId, AgentId, SessionId) {
    let mut s = Scenario::new();
    let team = s.team_default("Suporte");
    let ch = s.channel_to(team);
    let ana = s.online_agent("Ana Souza", &[team], 5);
    let sid = s.customer(ch, "5535998765432", "oi");
    (s, team, ch, ana, sid)
}

#[test]
fn config_capacity_must_be_1_to_100() {
    let (mut s, team, _ch, ana, _sid) = center();
    for bad in [0, 101, 10_000] {
        s.when(create_agent("Bia", "bia@x.com", &[team], Some(bad)));
        let err = s.then_error("invalid_input");
        assert!(!err.is_conflict() && !err.is_not_found());
        assert!(matches!(
            err,
            DomainError::InvalidInput {
                field: "capacity",
                ..
            }
        ));
        s.when(update_capacity(ana, bad));
        s.then_error("invalid_input");
    }
    for good in [1, 100] {
        s.when(update_capacity(ana, good));
        s.then_ok();
    }
    // Default capacity is 5.
    s.when(create_agent("Caio", "caio@x.com", &[team], None));
    s.then_ok();
    let caio = s
        .core
        .state()
        .agents
        .values()
        .find(|a| a.config.name == "Caio")
        .expect("caio");
    assert_eq!(caio.config.capacity, 5);
    assert_eq!(caio.config.nickname, "Caio");
}

#[test]
fn config_empty_or_oversized_names_refused() {
    let (mut s, team, ch, ana, _sid) = center();
    let long = "x".repeat(201);
    for bad in ["", "   ", "tab\there", long.as_str()] {
        s.when(Command::CreateTeam {
            name: bad.into(),
            settings: TeamSettings::default(),
        });
        s.then_error("invalid_input");
        s.when(Command::CreateChannel {
            kind: ChannelKind::Webchat,
            name: bad.into(),
            flow: None,
        });
        s.then_error("invalid_input");
        s.when(create_agent(bad, "novo@x.com", &[], None));
        s.then_error("invalid_input");
        s.when(Command::CreatePauseReason {
            name: bad.into(),
            max_duration_ms: None,
        });
        s.then_error("invalid_input");
        s.when(Command::UpdateTeam {
            team,
            name: Some(bad.into()),
            settings: None,
            enabled: None,
        });
        s.then_error("invalid_input");
        s.when(Command::UpdateChannel {
            channel: ch,
            name: Some(bad.into()),
            flow: None,
            enabled: None,
        });
        s.then_error("invalid_input");
        s.when(Command::UpdateAgent {
            agent: ana,
            name: None,
            nickname: Some(bad.into()),
            email: None,
            teams: None,
            capacity: None,
            enabled: None,
        });
        s.then_error("invalid_input");
    }
    // Names are trimmed.
    s.when(Command::CreateTeam {
        name: "  Vendas  ".into(),
        settings: TeamSettings::default(),
    });
    s.then_ok();
    assert!(
        s.core
            .state()
            .teams
            .values()
            .any(|t| t.config.name == "Vendas")
    );
}

#[test]
fn config_duplicate_names_and_emails_refused() {
    let (mut s, team, _ch, _ana, _sid) = center();
    s.when(Command::CreateTeam {
        name: "Suporte".into(),
        settings: TeamSettings::default(),
    });
    let err = s.then_error("name_taken");
    assert!(err.is_conflict());
    assert!(err.message(Lang::PtBr).contains("Suporte"));
    s.when(Command::CreateTeam {
        name: " Suporte ".into(),
        settings: TeamSettings::default(),
    });
    s.then_error("name_taken");
    s.when(Command::CreateChannel {
        kind: ChannelKind::Telegram,
        name: "WhatsApp 1".into(),
        flow: None,
    });
    s.then_error("name_taken");
    s.pause_reason("Almoço");
    s.when(Command::CreatePauseReason {
        name: "Almoço".into(),
        max_duration_ms: None,
    });
    s.then_error("name_taken");
    // E-mails are unique ignoring case and outer spaces.
    s.when(create_agent(
        "Outra Ana",
        " ANA.SOUZA@mirante.test",
        &[team],
        None,
    ));
    let err = s.then_error("name_taken");
    assert!(matches!(
        err,
        DomainError::NameTaken {
            kind: "agent_email",
            ..
        }
    ));
    // Renaming something to its own name is fine; to another's is not.
    let vendas = s.team_default("Vendas");
    s.when(Command::UpdateTeam {
        team: vendas,
        name: Some("Vendas".into()),
        settings: None,
        enabled: None,
    });
    s.then_ok();
    s.when(Command::UpdateTeam {
        team: vendas,
        name: Some("Suporte".into()),
        settings: None,
        enabled: None,
    });
    s.then_error("name_taken");
    // A flow name is unique too.
    s.when(Command::CreateFlow {
        def: serde_json::from_value(route_flow_json("Direto 1 #1", team)).expect("flow"),
    });
    s.then_error("name_taken");
}

#[test]
fn config_invalid_emails_refused() {
    let (mut s, team, _ch, _ana, _sid) = center();
    for bad in [
        "",
        "semarroba",
        "a@b",
        "@x.com",
        "a b@x.com",
        "a@@x.com",
        "a@.com",
        "a@x.com.",
    ] {
        s.when(create_agent("Bia", bad, &[team], None));
        s.then_error("invalid_input");
    }
}

#[test]
fn config_unknown_team_in_agent_refused() {
    let (mut s, team, _ch, ana, _sid) = center();
    s.when(create_agent("Bia", "bia@x.com", &[team, TeamId(42)], None));
    let err = s.then_error("unknown_team");
    assert!(err.is_not_found());
    assert_eq!(err, DomainError::UnknownTeam(TeamId(42)));
    s.when(Command::UpdateAgent {
        agent: ana,
        name: None,
        nickname: None,
        email: None,
        teams: Some([TeamId(9)].into()),
        capacity: None,
        enabled: None,
    });
    s.then_error("unknown_team");
}

#[test]
fn config_team_settings_validated() {
    let (mut s, team, _ch, _ana, _sid) = center();
    let cases = [
        TeamSettings {
            inactivity_timeout_ms: Some(0),
            ..TeamSettings::default()
        },
        TeamSettings {
            max_wait_ms: Some(-5),
            ..TeamSettings::default()
        },
        TeamSettings {
            max_wait_ms: Some(31 * 24 * 3_600_000),
            ..TeamSettings::default()
        },
        TeamSettings {
            overflow_team: Some(team),
            ..TeamSettings::default()
        },
        TeamSettings {
            closing_message: Some("  ".into()),
            ..TeamSettings::default()
        },
        TeamSettings {
            no_agent_message: Some("x".repeat(MAX_TEXT_CHARS + 1)),
            ..TeamSettings::default()
        },
        TeamSettings {
            wrapup_codes: vec!["a".into(), "a".into()],
            ..TeamSettings::default()
        },
        TeamSettings {
            wrapup_codes: vec![" a".into()],
            ..TeamSettings::default()
        },
        TeamSettings {
            wrapup_codes: vec!["".into()],
            ..TeamSettings::default()
        },
        TeamSettings {
            service_level_percent: 0,
            ..TeamSettings::default()
        },
        TeamSettings {
            service_level_percent: 101,
            ..TeamSettings::default()
        },
        TeamSettings {
            service_level_target_ms: 0,
            ..TeamSettings::default()
        },
    ];
    for settings in cases {
        s.when(Command::UpdateTeam {
            team,
            name: None,
            settings: Some(settings.clone()),
            enabled: None,
        });
        s.then_error("invalid_input");
    }
    s.when(Command::CreateTeam {
        name: "Nova".into(),
        settings: TeamSettings {
            overflow_team: Some(TeamId(99)),
            ..TeamSettings::default()
        },
    });
    s.then_error("unknown_team");
}

#[test]
fn config_invalid_flow_refused_with_its_code() {
    let (mut s, team, ch, _ana, _sid) = center();
    let cases = [
        (
            serde_json::json!({"name": "F", "start": "nope", "steps": {"a": {"kind": "finish"}}}),
            "flow_unknown_step",
        ),
        (
            serde_json::json!({"name": "F", "start": "a", "steps": {"a": {"kind": "route", "team": 77}}}),
            "flow_unknown_team",
        ),
        (
            serde_json::json!({"name": "F", "start": "a", "steps": {
                "a": {"kind": "finish"}, "b": {"kind": "finish"}}}),
            "flow_unreachable_step",
        ),
        (
            serde_json::json!({"name": "F", "start": "m", "steps": {
                "m": {"kind": "menu", "text": "Escolha", "options": [
                    {"key": "1", "label": "Um", "next": "f"},
                    {"key": "1", "label": "Outro", "next": "f"}]},
                "f": {"kind": "finish"}}}),
            "flow_duplicate_option",
        ),
        (
            serde_json::json!({"name": "", "start": "a", "steps": {"a": {"kind": "finish"}}}),
            "flow_empty",
        ),
        (
            serde_json::json!({"name": "F", "start": "a", "steps": {
                "a": {"kind": "message", "text": "oi", "next": "b"},
                "b": {"kind": "message", "text": "oi", "next": "a"}}}),
            "flow_loop_without_input",
        ),
    ];
    for (json, code) in cases {
        let def = serde_json::from_value(json).expect("well-formed flow");
        s.when(Command::CreateFlow { def });
        let err = s.then_error(code);
        assert!(!err.is_conflict() && !err.is_not_found(), "{code}");
        assert!(!err.message(Lang::PtBr).is_empty());
    }
    // Updating a flow validates too; an unknown flow is not found.
    let flow = s.core.state().channels[&ch].flow.expect("flow");
    let bad = serde_json::from_value(serde_json::json!({
        "name": "F", "start": "a", "steps": {"a": {"kind": "route", "team": 77}}}))
    .expect("flow");
    s.when(Command::UpdateFlow { flow, def: bad });
    s.then_error("flow_unknown_team");
    let good = serde_json::from_value(route_flow_json("Outro", team)).expect("flow");
    s.when(Command::UpdateFlow {
        flow: FlowId(99),
        def: good,
    });
    assert!(s.then_error("unknown_flow").is_not_found());
    // A route to a disabled team does not validate.
    let vendas = s.team_default("Vendas");
    s.run(Command::UpdateTeam {
        team: vendas,
        name: None,
        settings: None,
        enabled: Some(false),
    });
    s.when(Command::CreateFlow {
        def: serde_json::from_value(route_flow_json("V", vendas)).expect("flow"),
    });
    s.then_error("flow_unknown_team");
}

#[test]
fn config_bad_time_zone_refused() {
    let (mut s, _team, _ch, _ana, _sid) = center();
    for bad in ["", "Mars/Olympus_Mons", "America/Sao Paulo", "GMT+99"] {
        s.when(settings_tz(bad));
        let err = s.then_error("unknown_time_zone");
        assert!(!err.is_conflict() && !err.is_not_found());
    }
    s.when(settings_tz("America/Manaus"));
    s.then_ok();
    assert_eq!(s.core.state().settings.time_zone, "America/Manaus");
}

#[test]
fn config_bot_inactivity_and_pause_duration_bounds() {
    let (mut s, _team, _ch, _ana, _sid) = center();
    for bad in [0, 999, 31 * 24 * 3_600_000] {
        s.when(Command::UpdateSettings {
            time_zone: None,
            bulk_cap: None,
            bot_inactivity_ms: Some(bad),
        });
        s.then_error("invalid_input");
        s.when(Command::CreatePauseReason {
            name: "Longa".into(),
            max_duration_ms: Some(bad),
        });
        s.then_error("invalid_input");
    }
}

#[test]
fn input_oversized_text_refused() {
    let (mut s, _team, ch, ana, sid) = center();
    let too_long = "a".repeat(MAX_TEXT_CHARS + 1);
    s.when(customer_msg(ch, "5535998765432", &too_long));
    let err = s.then_error("invalid_input");
    assert!(matches!(
        err,
        DomainError::InvalidInput { field: "text", .. }
    ));
    s.when(customer_msg(ch, "5511000000000", &too_long));
    s.then_error("invalid_input");
    s.when(Command::AgentMessage {
        session: sid,
        agent: ana,
        text: too_long.clone(),
    });
    s.then_error("invalid_input");
    s.when(Command::InternalMessage {
        agent: ana,
        supervisor: mirante_core::SupervisorId(1),
        from_agent: false,
        text: too_long,
    });
    s.then_error("invalid_input");
    // Exactly the limit is accepted, counted in characters (not bytes).
    s.when(Command::AgentMessage {
        session: sid,
        agent: ana,
        text: "é".repeat(MAX_TEXT_CHARS),
    });
    s.then_ok();
}

#[test]
fn input_empty_text_refused_unless_attachments() {
    let (mut s, _team, ch, ana, sid) = center();
    for empty in ["", "   ", "\n\t"] {
        s.when(customer_msg(ch, "5535998765432", empty));
        s.then_error("invalid_input");
        s.when(customer_msg(ch, "5511000000000", empty));
        s.then_error("invalid_input");
        s.when(Command::AgentMessage {
            session: sid,
            agent: ana,
            text: empty.into(),
        });
        s.then_error("invalid_input");
    }
    let photo = Attachment {
        mime: "image/jpeg".into(),
        name: Some("foto.jpg".into()),
        url: None,
        size: Some(1024),
    };
    s.when(Command::CustomerMessage {
        channel: ch,
        identifier: "5535998765432".into(),
        name: None,
        text: String::new(),
        attachments: vec![photo.clone()],
        external_id: None,
    });
    s.then_ok();
    s.when(Command::CustomerMessage {
        channel: ch,
        identifier: "5535998765432".into(),
        name: None,
        text: "fotos".into(),
        attachments: vec![photo; 11],
        external_id: None,
    });
    s.then_error("invalid_input");
}

#[test]
fn input_control_chars_in_identifier_refused() {
    let (mut s, _team, ch, _ana, _sid) = center();
    for bad in [
        "5511\u{0}999",
        "abc\ndef",
        "\u{7f}x",
        "",
        "   ",
        &"9".repeat(201),
    ] {
        s.when(customer_msg(ch, bad, "oi"));
        let err = s.then_error("invalid_input");
        assert!(
            matches!(
                err,
                DomainError::InvalidInput {
                    field: "identifier",
                    ..
                }
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn input_identifier_is_trimmed_and_number_normalised() {
    let (mut s, _team, ch, _ana, sid) = center();
    // The same contact, written with outer spaces, continues its open session.
    s.when(customer_msg(ch, "  5535998765432 ", "de novo"));
    s.then_ok();
    assert_eq!(s.core.state().sessions.len(), 1);
    let contact = s.session(sid).contact;
    assert_eq!(
        s.core.state().contacts[&contact].number.as_deref(),
        Some("5535998765432")
    );
    s.when(Command::CustomerMessage {
        channel: ch,
        identifier: "+55 (35) 99876-1111".into(),
        name: Some("  Maria Luiza de Santos Reis ".into()),
        text: "oi".into(),
        attachments: Vec::new(),
        external_id: None,
    });
    s.then_ok();
    let maria = s
        .core
        .state()
        .contacts
        .values()
        .find(|c| c.name == "Maria Luiza de Santos Reis")
        .expect("maria");
    assert_eq!(maria.number.as_deref(), Some("5535998761111"));
}

#[test]
fn input_unknown_ids_are_not_found() {
    let (mut s, team, ch, ana, sid) = center();
    let nobody = AgentId(99);
    let cases: Vec<(Command, &str)> = vec![
        (customer_msg(ChannelId(99), "5511", "oi"), "unknown_channel"),
        (Command::AgentLogin { agent: nobody }, "unknown_agent"),
        (
            Command::AgentLogout {
                agent: nobody,
                by: SUP,
            },
            "unknown_agent",
        ),
        (
            Command::AgentPause {
                agent: ana,
                reason: PauseReasonId(5),
                by: SUP,
            },
            "unknown_pause_reason",
        ),
        (
            Command::AgentResume {
                agent: nobody,
                by: SUP,
            },
            "unknown_agent",
        ),
        (
            Command::Finish {
                session: SessionId(99),
                by: SUP,
                wrapup: None,
            },
            "unknown_session",
        ),
        (
            Command::Finish {
                session: SessionId(0),
                by: SUP,
                wrapup: None,
            },
            "unknown_session",
        ),
        (
            transfer(SessionId(99), Target::Team(team)),
            "unknown_session",
        ),
        (transfer(sid, Target::Team(TeamId(99))), "unknown_team"),
        (transfer(sid, Target::Agent(nobody)), "unknown_agent"),
        (
            Command::Finish {
                session: sid,
                by: Actor::Agent(nobody),
                wrapup: None,
            },
            "unknown_agent",
        ),
        (
            Command::PullSession {
                session: SessionId(99),
                agent: ana,
            },
            "unknown_session",
        ),
        (
            Command::AgentMessage {
                session: sid,
                agent: nobody,
                text: "oi".into(),
            },
            "unknown_agent",
        ),
        (
            Command::UpdateTeam {
                team: TeamId(99),
                name: None,
                settings: None,
                enabled: None,
            },
            "unknown_team",
        ),
        (
            Command::UpdateChannel {
                channel: ChannelId(99),
                name: None,
                flow: None,
                enabled: None,
            },
            "unknown_channel",
        ),
        (
            Command::UpdateChannel {
                channel: ch,
                name: None,
                flow: Some(FlowId(99)),
                enabled: None,
            },
            "unknown_flow",
        ),
        (
            Command::DeleteChannel {
                channel: ChannelId(99),
            },
            "unknown_channel",
        ),
        (
            Command::CreateChannel {
                kind: ChannelKind::Email,
                name: "E-mail".into(),
                flow: Some(FlowId(99)),
            },
            "unknown_flow",
        ),
        (
            Command::UpdatePauseReason {
                reason: PauseReasonId(99),
                name: None,
                max_duration_ms: None,
                enabled: None,
            },
            "unknown_pause_reason",
        ),
        (
            Command::InternalMessage {
                agent: nobody,
                supervisor: mirante_core::SupervisorId(1),
                from_agent: false,
                text: "oi".into(),
            },
            "unknown_agent",
        ),
    ];
    for (cmd, code) in cases {
        s.when(cmd.clone());
        let err = s.then_error(code);
        assert!(err.is_not_found(), "{cmd:?} → {code} must be not-found");
        assert!(!err.is_conflict());
        assert!(!err.message(Lang::PtBr).is_empty() && !err.message(Lang::En).is_empty());
    }
}

#[test]
fn error_classification_is_consistent() {
    let conflicts = [
        DomainError::SessionNotOpen(SessionId(1)),
        DomainError::WrongPhase {
            session: SessionId(1),
            actual: "human",
            expected: "waiting",
        },
        DomainError::NotAgentsSession {
            session: SessionId(1),
            agent: AgentId(1),
        },
        DomainError::AgentNotOnline {
            agent: AgentId(1),
            presence: "paused",
        },
        DomainError::AgentHasOpenSessions {
            agent: AgentId(1),
            open: 2,
        },
        DomainError::AgentAtCapacity {
            agent: AgentId(1),
            open: 5,
            capacity: 5,
        },
        DomainError::NameTaken {
            kind: "team",
            name: "x".into(),
        },
        DomainError::ChannelHasOpenSessions {
            channel: ChannelId(1),
            open: 1,
        },
        DomainError::TransferToSamePlace(SessionId(1)),
    ];
    let not_found = [
        DomainError::UnknownSession(SessionId(1)),
        DomainError::UnknownAgent(AgentId(1)),
        DomainError::UnknownTeam(TeamId(1)),
        DomainError::UnknownChannel(ChannelId(1)),
        DomainError::UnknownFlow(FlowId(1)),
        DomainError::UnknownPauseReason(PauseReasonId(1)),
    ];
    let neither = [
        DomainError::InvalidInput {
            field: "text",
            reason: "empty".into(),
        },
        DomainError::BulkCapExceeded {
            cap: 5,
            requested: 6,
        },
        DomainError::BulkEmpty,
        DomainError::BulkDuplicate(SessionId(1)),
        DomainError::UnknownTimeZone("x".into()),
        DomainError::WrapupRequired(TeamId(1)),
    ];
    for e in &conflicts {
        assert!(e.is_conflict() && !e.is_not_found(), "{e:?}");
    }
    for e in &not_found {
        assert!(e.is_not_found() && !e.is_conflict(), "{e:?}");
    }
    for e in &neither {
        assert!(!e.is_not_found() && !e.is_conflict(), "{e:?}");
    }
    for e in conflicts.iter().chain(&not_found).chain(&neither) {
        let code = e.code();
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
        let (pt, en) = (e.message(Lang::PtBr), e.message(Lang::En));
        assert!(!pt.is_empty() && !en.is_empty());
        assert_ne!(pt, en, "{code} has a pt-BR text of its own");
    }
}
