//! One test per rule of SPEC §1–§2, named after its id (D-1 transitions, D-2, D-3, D-4,
//! D-10 distribution, M-12 bulk, M-15 forced log-out, M-16 forced pause, protocols, wrap-up
//! codes, outcomes), written as given/when/then over events.

mod common;

use common::*;
use mirante_core::{
    Actor, AgentId, AssignedBy, Author, BulkAction, ChannelId, Command, DistributionMode,
    EventKind, FinishReason, Lang, Outcome, Phase, QueueReason, SessionId, Target, TeamId,
    TeamSettings,
};
use std::collections::BTreeMap;

/// A typical contact center: team "Suporte", a WhatsApp channel routing every session to it.
fn center() -> (Scenario, TeamId, ChannelId) {
    let mut s = Scenario::new();
    let team = s.team_default("Suporte");
    let ch = s.channel_to(team);
    (s, team, ch)
}

/// `center()` plus one online agent serving `n` sessions (capacity `cap`).
fn serving(n: usize, cap: u32) -> (Scenario, TeamId, ChannelId, AgentId, Vec<SessionId>) {
    let (mut s, team, ch) = center();
    let a = s.online_agent("Ana Souza", &[team], cap);
    let sessions = s.customers(ch, n, "oi");
    for sid in &sessions {
        assert_eq!(s.agent_of(*sid), Some(a));
    }
    (s, team, ch, a, sessions)
}

fn queued(session: SessionId, team: TeamId, reason: QueueReason, front: bool) -> EventKind {
    EventKind::SessionQueued {
        session,
        team,
        reason,
        front,
        collected: BTreeMap::new(),
    }
}

fn assigned(
    session: SessionId,
    agent: AgentId,
    team: TeamId,
    protocol: Option<&str>,
    by: AssignedBy,
) -> EventKind {
    EventKind::SessionAssigned {
        session,
        agent,
        team,
        protocol: protocol.map(Into::into),
        by,
    }
}

fn finished(session: SessionId, reason: FinishReason, by: Actor) -> EventKind {
    EventKind::SessionFinished {
        session,
        reason,
        outcome: reason.outcome(),
        wrapup: None,
        by,
    }
}

// ---- D-1: phases and transitions ---------------------------------------------------------

#[test]
fn d1_bot_routes_to_team_then_queue_then_assign_with_protocol() {
    let mut s = Scenario::new();
    let vendas = s.team_default("Vendas");
    let suporte = s.team_default("Suporte");
    let flow = s.flow(menu_flow_json("Menu", vendas, suporte));
    let ch = s.channel(
        mirante_core::ChannelKind::Whatsapp,
        "WhatsApp Business",
        flow,
    );
    let ana = s.agent("Ana", &[vendas], 5);

    // Given a customer in the bot's menu.
    let sid = s.customer(ch, "5535998765432", "oi");
    assert_eq!(s.session(sid).phase, Phase::Bot);
    assert_eq!(
        s.session(sid).bot.as_ref().map(|b| b.step.as_str()),
        Some("menu")
    );
    assert_eq!(s.core.stats().sessions_bot, 1);

    // When the customer chooses "1": the bot says its text and routes to Vendas.
    s.advance(5).when(customer_msg(ch, "5535998765432", "1"));
    let evs = s.then_ok();
    let kinds: Vec<_> = evs.iter().map(|e| &e.kind).collect();
    assert!(
        matches!(kinds[0], EventKind::MessagePosted { author: Author::Customer, text, .. } if text == "1")
    );
    assert!(
        matches!(kinds[1], EventKind::MessagePosted { author: Author::Bot, text, .. } if text == "Vou chamar um vendedor.")
    );
    assert_eq!(kinds[2], &queued(sid, vendas, QueueReason::Routed, false));
    assert_eq!(kinds.len(), 3, "no agent online: it waits");
    assert_eq!(s.session(sid).phase, Phase::Waiting);
    assert_eq!(s.queue(vendas), vec![sid]);
    assert_eq!(s.session(sid).protocol, None, "no protocol before an agent");

    // When an agent of Vendas logs in: assigned at once, protocol = local date + sequence.
    s.advance(10).when(Command::AgentLogin { agent: ana });
    s.then_events(&[
        EventKind::AgentLoggedIn { agent: ana },
        assigned(
            sid,
            ana,
            vendas,
            Some("20261123000001"),
            AssignedBy::Distribution,
        ),
    ]);
    let sess = s.session(sid);
    assert_eq!(
        (sess.phase, sess.agent, sess.protocol.as_deref()),
        (Phase::Human, Some(ana), Some("20261123000001"))
    );
    assert_eq!(s.load(ana), vec![sid]);
    assert!(s.queue(vendas).is_empty());
    let st = s.core.stats();
    assert_eq!(
        (st.sessions_bot, st.sessions_waiting, st.sessions_human),
        (0, 0, 1)
    );
}

#[test]
fn d1_bot_invalid_input_repeats_the_step_with_a_hint() {
    let mut s = Scenario::new();
    let t1 = s.team_default("Vendas");
    let t2 = s.team_default("Suporte");
    let flow = s.flow(menu_flow_json("Menu", t1, t2));
    let ch = s.channel(mirante_core::ChannelKind::Telegram, "Telegram", flow);
    let sid = s.customer(ch, "tg-42", "oi");
    s.when(customer_msg(ch, "tg-42", "quero uma pizza"));
    let evs = s.then_ok();
    assert!(evs.iter().any(|e| matches!(&e.kind,
        EventKind::BotStepEntered { session, step, invalid: true, .. } if *session == sid && step == "menu")));
    assert!(evs.iter().any(|e| matches!(&e.kind,
        EventKind::MessagePosted { author: Author::Bot, text, .. } if text.contains("Não entendi"))));
    assert_eq!(s.session(sid).phase, Phase::Bot);
}

#[test]
fn d1_bot_collects_fields_and_keeps_them_after_routing() {
    let mut s = Scenario::new();
    let t1 = s.team_default("Vendas");
    let t2 = s.team_default("Suporte");
    let flow = s.flow(menu_flow_json("Menu", t1, t2));
    let ch = s.channel(mirante_core::ChannelKind::Webchat, "Web chat", flow);
    let sid = s.customer(ch, "web-1", "oi");
    s.customer(ch, "web-1", "4");
    s.when(customer_msg(ch, "web-1", "123.456.789-09"));
    s.then_ok();
    let sess = s.session(sid);
    assert_eq!(sess.phase, Phase::Waiting);
    assert_eq!(
        sess.fields.get("cpf").map(String::as_str),
        Some("12345678909")
    );
}

#[test]
fn d1_bot_inactivity_finishes_lost() {
    let (mut s, _team, _ch) = center();
    let t1 = s.team_default("Vendas");
    let t2 = s.team_default("Outra");
    let flow = s.flow(menu_flow_json("Menu", t1, t2));
    let ch = s.channel(mirante_core::ChannelKind::Telegram, "Telegram", flow);
    // Default bot inactivity: 10 min since the last customer input.
    let sid = s.customer(ch, "tg-1", "oi");
    assert_eq!(s.core.next_deadline(), Some(t(600)));
    assert!(s.tick_at(t(300)).is_empty());
    s.customer(ch, "tg-1", "hã?"); // input at 300 s restarts the clock
    assert!(s.tick_at(t(899)).is_empty());
    let evs = s.tick_at(t(900));
    assert_eq!(
        evs.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![finished(
            sid,
            FinishReason::InactivityTimeout,
            Actor::System
        )]
    );
    assert_eq!(s.phase(sid), None);
    assert_eq!(s.finished(sid).1, Outcome::Lost);
    assert_eq!(s.core.stats().sessions_bot, 0);
}

#[test]
fn d1_bot_inactivity_follows_the_setting() {
    let (mut s, _team, _ch) = center();
    let t1 = s.team_default("Vendas");
    let flow = s.flow(menu_flow_json("Menu", t1, t1));
    let ch = s.channel(mirante_core::ChannelKind::Sms, "SMS", flow);
    let sid = s.customer(ch, "5511987654321", "oi");
    s.run(Command::UpdateSettings {
        time_zone: None,
        bulk_cap: None,
        bot_inactivity_ms: Some(60_000),
    });
    assert_eq!(s.core.next_deadline(), Some(t(60)));
    s.tick_at(t(60));
    assert_eq!(s.finished(sid).0, FinishReason::InactivityTimeout);
}

#[test]
fn d1_team_inactivity_finishes_lost() {
    let mut s = Scenario::new();
    let team = s.team(
        "Suporte",
        TeamSettings {
            inactivity_timeout_ms: Some(120_000),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let ana = s.online_agent("Ana", &[team], 2);
    let sid = s.customer(ch, "5511911112222", "oi");
    assert_eq!(s.agent_of(sid), Some(ana));
    s.at(t(60));
    s.customer(ch, "5511911112222", "alô?"); // the customer writes at 60 s
    s.run(Command::AgentMessage {
        session: sid,
        agent: ana,
        text: "Oi!".into(),
    }); // agents do not count
    assert!(s.tick_at(t(179)).is_empty());
    let evs = s.tick_at(t(180));
    assert_eq!(
        evs.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![finished(
            sid,
            FinishReason::InactivityTimeout,
            Actor::System
        )]
    );
    assert_eq!(s.finished(sid).1, Outcome::Lost);
    assert!(s.load(ana).is_empty(), "the agent's capacity is freed");
}

#[test]
fn d1_max_wait_overflows_to_overflow_team() {
    let mut s = Scenario::new();
    let transbordo = s.team_default("Transbordo");
    let team = s.team(
        "Suporte",
        TeamSettings {
            max_wait_ms: Some(60_000),
            overflow_team: Some(transbordo),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let bia = s.agent("Bia", &[transbordo], 5);
    let sid = s.customer(ch, "5511933334444", "oi");
    assert_eq!(s.queue(team), vec![sid]);
    assert!(s.tick_at(t(59)).is_empty());

    let evs = s.tick_at(t(60));
    assert_eq!(
        evs.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![queued(sid, transbordo, QueueReason::Overflow, false)]
    );
    assert_eq!(s.session(sid).phase, Phase::Waiting);
    assert_eq!(s.session(sid).team, Some(transbordo));
    assert!(s.queue(team).is_empty());
    assert_eq!(s.queue(transbordo), vec![sid]);
    // The overflow team has no max wait: it waits there until an agent comes.
    assert_eq!(s.core.next_deadline(), None);
    s.advance(1).when(Command::AgentLogin { agent: bia });
    assert_eq!(s.agent_of(sid), Some(bia));
}

#[test]
fn d1_overflow_into_a_team_with_a_free_agent_is_assigned_in_the_same_tick() {
    let mut s = Scenario::new();
    let transbordo = s.team_default("Transbordo");
    let team = s.team(
        "Suporte",
        TeamSettings {
            max_wait_ms: Some(30_000),
            overflow_team: Some(transbordo),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let bia = s.online_agent("Bia", &[transbordo], 5);
    let sid = s.customer(ch, "5511933334444", "oi");
    let evs = s.tick_at(t(30));
    assert_eq!(
        evs.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![
            queued(sid, transbordo, QueueReason::Overflow, false),
            assigned(
                sid,
                bia,
                transbordo,
                Some("20261123000001"),
                AssignedBy::Distribution
            ),
        ]
    );
}

#[test]
fn d1_no_agent_no_overflow_finishes_lost_with_message() {
    let mut s = Scenario::new();
    let team = s.team(
        "Suporte",
        TeamSettings {
            max_wait_ms: Some(60_000),
            no_agent_message: Some("Nenhum atendente disponível agora.".into()),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let sid = s.customer(ch, "5511955556666", "oi");
    let evs = s.tick_at(t(60));
    assert_eq!(evs.len(), 2);
    assert!(
        matches!(&evs[0].kind, EventKind::MessagePosted { session, author: Author::System, text, .. }
        if *session == sid && text == "Nenhum atendente disponível agora.")
    );
    assert_eq!(
        evs[1].kind,
        finished(sid, FinishReason::NoAgentAvailable, Actor::System)
    );
    assert_eq!(s.finished(sid).1, Outcome::Lost);
    assert!(s.queue(team).is_empty());
    assert_eq!(s.core.stats().sessions_waiting, 0);
    assert_eq!(s.replayed(), s.core);
}

#[test]
fn d1_bot_finish_is_success() {
    let mut s = Scenario::new();
    let t1 = s.team_default("Vendas");
    let t2 = s.team_default("Suporte");
    let flow = s.flow(menu_flow_json("Menu", t1, t2));
    let ch = s.channel(
        mirante_core::ChannelKind::Whatsapp,
        "WhatsApp Business",
        flow,
    );
    let sid = s.customer(ch, "5535998765432", "oi");
    s.when(customer_msg(ch, "5535998765432", "encerrar"));
    let evs = s.then_ok();
    assert!(
        matches!(&evs[1].kind, EventKind::MessagePosted { author: Author::Bot, text, .. } if text == "Até logo!")
    );
    assert_eq!(
        evs.last().map(|e| e.kind.clone()),
        Some(finished(sid, FinishReason::BotResolved, Actor::System))
    );
    assert_eq!(s.finished(sid).1, Outcome::Success);
    assert_eq!(s.phase(sid), None);
}

#[test]
fn d1_supervisor_finishes_a_session_stuck_in_the_bot() {
    // M-43: finishing works in any open phase.
    let mut s = Scenario::new();
    let t1 = s.team_default("Vendas");
    let flow = s.flow(menu_flow_json("Menu", t1, t1));
    let ch = s.channel(
        mirante_core::ChannelKind::Whatsapp,
        "WhatsApp Business",
        flow,
    );
    let sid = s.customer(ch, "5535998765432", "oi");
    s.when(sup_finish(sid));
    s.then_events(&[finished(sid, FinishReason::BySupervisor, SUP)]);
    assert_eq!(s.core.stats().sessions_bot, 0);
}

#[test]
fn d1_supervisor_finishes_a_waiting_session_with_the_closing_message() {
    let mut s = Scenario::new();
    let team = s.team(
        "Suporte",
        TeamSettings {
            closing_message: Some("Obrigado pelo contato!".into()),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let sid = s.customer(ch, "5511900000001", "oi");
    s.when(sup_finish(sid));
    let evs = s.then_ok();
    assert!(
        matches!(&evs[0].kind, EventKind::MessagePosted { author: Author::System, text, .. } if text == "Obrigado pelo contato!")
    );
    assert_eq!(evs[1].kind, finished(sid, FinishReason::BySupervisor, SUP));
    assert!(s.queue(team).is_empty());
}

#[test]
fn d1_customer_and_agent_finishes_are_success() {
    let (mut s, _team, _ch, ana, ss) = serving(2, 5);
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Customer,
        wrapup: None,
    });
    s.then_events(&[finished(ss[0], FinishReason::ByCustomer, Actor::Customer)]);
    s.when(Command::Finish {
        session: ss[1],
        by: Actor::Agent(ana),
        wrapup: None,
    });
    s.then_events(&[finished(ss[1], FinishReason::ByAgent, Actor::Agent(ana))]);
    assert!(s.load(ana).is_empty());
}

#[test]
fn d1_route_to_a_disabled_team_finishes_lost() {
    let (mut s, team, ch) = center();
    s.run(Command::UpdateTeam {
        team,
        name: None,
        settings: None,
        enabled: Some(false),
    });
    let sid = s.customer(ch, "5511900000001", "oi");
    assert_eq!(
        s.finished(sid),
        (FinishReason::NoAgentAvailable, Outcome::Lost, None)
    );
}

// ---- D-2 ------------------------------------------------------------------------------------

#[test]
fn d2_finished_session_never_reopens_new_message_starts_new_session() {
    let (mut s, _team, ch, ana, ss) = serving(1, 5);
    let first = ss[0];
    let contact = s.session(first).contact;
    s.finish_by(first, ana, None);

    // Commands on the finished session are refused as conflicts.
    s.when(sup_finish(first));
    assert!(s.then_error("session_not_open").is_conflict());
    s.when(Command::AgentMessage {
        session: first,
        agent: ana,
        text: "ainda aí?".into(),
    });
    assert!(s.then_error("session_not_open").is_conflict());

    // The same contact writes again: a new session, same contact.
    s.advance(1)
        .when(customer_msg(ch, "5511900000001", "oi de novo"));
    let evs = s.then_ok();
    let second = evs
        .iter()
        .find_map(|e| match e.kind {
            EventKind::SessionStarted {
                session,
                contact: c,
                ..
            } => Some((session, c)),
            _ => None,
        })
        .expect("a new session");
    assert_ne!(second.0, first);
    assert!(second.0 > first, "ids are never reused");
    assert_eq!(second.1, contact);
    assert!(
        !evs.iter()
            .any(|e| matches!(e.kind, EventKind::ContactCreated { .. }))
    );
    assert_eq!(s.agent_of(second.0), Some(ana));
    assert_eq!(s.phase(first), None);
}

#[test]
fn d2_a_session_is_in_exactly_one_phase() {
    let (mut s, team, ch, ana, ss) = serving(1, 1);
    let waiting = s.customer(ch, "5511900000002", "oi");
    assert_eq!(s.session(ss[0]).phase, Phase::Human);
    assert_eq!(s.session(waiting).phase, Phase::Waiting);
    assert!(!s.load(ana).contains(&waiting));
    assert!(!s.queue(team).contains(&ss[0]));
    let st = s.core.stats();
    assert_eq!(
        (st.sessions_bot, st.sessions_waiting, st.sessions_human),
        (0, 1, 1)
    );
}

// ---- D-3 ------------------------------------------------------------------------------------

#[test]
fn d3_transfer_to_paused_agent_refused() {
    let (mut s, team, _ch, _ana, ss) = serving(1, 5);
    let pausa = s.pause_reason("Almoço");
    let bia = s.online_agent("Bia", &[team], 5);
    s.pause(bia, pausa);
    let caio = s.agent("Caio", &[team], 5);

    s.when(transfer(ss[0], Target::Agent(bia)));
    let err = s.then_error("agent_not_online");
    assert!(err.is_conflict());
    assert!(err.message(Lang::PtBr).contains("em pausa"));
    s.when(transfer(ss[0], Target::Agent(caio)));
    assert!(
        s.then_error("agent_not_online")
            .message(Lang::PtBr)
            .contains("deslogado")
    );
}

#[test]
fn d3_supervisor_may_exceed_capacity() {
    let (mut s, team, ch, ana, ss) = serving(1, 1);
    let bia = s.online_agent("Bia", &[team], 1);
    let other = s.customer(ch, "5511900000009", "oi");
    assert_eq!(s.agent_of(other), Some(bia));

    s.when(transfer(other, Target::Agent(ana)));
    s.then_events(&[
        EventKind::SessionTransferred {
            session: other,
            to: Target::Agent(ana),
            from_agent: Some(bia),
            by: SUP,
        },
        assigned(other, ana, team, None, AssignedBy::Transfer),
    ]);
    assert_eq!(s.load(ana), vec![ss[0], other], "2/1: the card shows it");
    assert!(s.load(bia).is_empty());
}

#[test]
fn d3_agent_transfer_to_full_agent_refused() {
    let (mut s, team, ch, ana, _ss) = serving(1, 1);
    let bia = s.online_agent("Bia", &[team], 1);
    let other = s.customer(ch, "5511900000009", "oi");
    assert_eq!(s.agent_of(other), Some(bia));
    s.when(Command::Transfer {
        session: other,
        to: Target::Agent(ana),
        by: Actor::Agent(bia),
    });
    let err = s.then_error("agent_at_capacity");
    assert!(err.is_conflict());
    assert!(err.to_string().contains("1/1"));
}

#[test]
fn d3_agent_transfers_only_its_own_sessions() {
    let (mut s, team, _ch, _ana, ss) = serving(1, 5);
    let bia = s.online_agent("Bia", &[team], 5);
    s.when(Command::Transfer {
        session: ss[0],
        to: Target::Agent(bia),
        by: Actor::Agent(bia),
    });
    assert!(s.then_error("not_agents_session").is_conflict());
    s.when(Command::Transfer {
        session: ss[0],
        to: Target::Team(team),
        by: Actor::Customer,
    });
    s.then_error("invalid_input");
}

#[test]
fn d3_transfer_to_team_keeps_protocol_and_transcript() {
    let mut s = Scenario::new();
    let vendas = s.team_default("Vendas");
    let suporte = s.team_default("Suporte");
    let flow = s.flow(menu_flow_json("Menu", vendas, suporte));
    let ch = s.channel(
        mirante_core::ChannelKind::Whatsapp,
        "WhatsApp Business",
        flow,
    );
    let ana = s.online_agent("Ana", &[vendas], 5);
    let caio = s.agent("Caio", &[suporte], 5);
    let sid = s.customer(ch, "5511900000001", "oi");
    s.customer(ch, "5511900000001", "4");
    s.customer(ch, "5511900000001", "12345678909");
    assert_eq!(s.agent_of(sid), Some(ana));
    s.run(Command::AgentMessage {
        session: sid,
        agent: ana,
        text: "Vou transferir.".into(),
    });
    let protocol = s.session(sid).protocol.clone().expect("protocol");
    let transcript = s.transcript(sid);

    s.advance(5).when(transfer(sid, Target::Team(suporte)));
    s.then_events(&[
        EventKind::SessionTransferred {
            session: sid,
            to: Target::Team(suporte),
            from_agent: Some(ana),
            by: SUP,
        },
        queued(sid, suporte, QueueReason::Transferred, false),
    ]);
    let sess = s.session(sid);
    assert_eq!(
        (sess.phase, sess.team, sess.agent),
        (Phase::Waiting, Some(suporte), None)
    );
    assert_eq!(sess.protocol.as_deref(), Some(protocol.as_str()));
    assert_eq!(
        sess.fields.get("cpf").map(String::as_str),
        Some("12345678909")
    );
    assert_eq!(sess.transfers.len(), 1);
    assert_eq!(sess.transfers[0].from_agent, Some(ana));
    assert_eq!(sess.transfers[0].from_team, Some(vendas));
    assert!(s.load(ana).is_empty());

    s.advance(5).when(Command::AgentLogin { agent: caio });
    s.then_events(&[
        EventKind::AgentLoggedIn { agent: caio },
        assigned(sid, caio, suporte, None, AssignedBy::Distribution),
    ]);
    assert_eq!(s.session(sid).protocol.as_deref(), Some(protocol.as_str()));
    assert!(
        s.transcript(sid).starts_with(&transcript),
        "the transcript is kept"
    );
}

#[test]
fn d3_transfer_to_agent_keeps_protocol() {
    let (mut s, team, _ch, ana, ss) = serving(1, 5);
    let bia = s.online_agent("Bia", &[team], 5);
    let protocol = s.session(ss[0]).protocol.clone();
    s.when(Command::Transfer {
        session: ss[0],
        to: Target::Agent(bia),
        by: Actor::Agent(ana),
    });
    s.then_ok();
    assert_eq!(s.agent_of(ss[0]), Some(bia));
    assert_eq!(s.session(ss[0]).protocol, protocol);
    assert_eq!(s.load(bia), vec![ss[0]]);
    assert!(s.load(ana).is_empty());
}

#[test]
fn d3_transfer_to_the_same_place_refused() {
    let (mut s, team, ch, ana, _ss) = serving(1, 1);
    let waiting = s.customer(ch, "5511900000002", "oi");
    s.when(transfer(waiting, Target::Team(team)));
    assert!(s.then_error("transfer_to_same_place").is_conflict());
    let mine = s.load(ana)[0];
    s.when(transfer(mine, Target::Agent(ana)));
    s.then_error("transfer_to_same_place");
}

#[test]
fn d3_transfer_of_a_waiting_session_to_an_agent_assigns_it_with_a_protocol() {
    let (mut s, team, ch, ana, ss) = serving(1, 1);
    let waiting = s.customer(ch, "5511900000002", "oi");
    assert_eq!(s.queue(team), vec![waiting]);
    s.when(transfer(waiting, Target::Agent(ana)));
    s.then_events(&[
        EventKind::SessionTransferred {
            session: waiting,
            to: Target::Agent(ana),
            from_agent: None,
            by: SUP,
        },
        assigned(
            waiting,
            ana,
            team,
            Some("20261123000002"),
            AssignedBy::Transfer,
        ),
    ]);
    assert_eq!(s.load(ana), vec![ss[0], waiting]);
    assert!(s.queue(team).is_empty());
}

// ---- D-4 ------------------------------------------------------------------------------------

#[test]
fn d4_finish_then_transfer_second_gets_conflict() {
    let (mut s, team, _ch, ana, ss) = serving(1, 5);
    let bia = s.online_agent("Bia", &[team], 5);
    // Two supervisors act on the same session "at once": the engine orders them.
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Supervisor(mirante_core::SupervisorId(1)),
        wrapup: None,
    });
    s.then_ok();
    s.when(Command::Transfer {
        session: ss[0],
        to: Target::Agent(bia),
        by: Actor::Supervisor(mirante_core::SupervisorId(2)),
    });
    let err = s.then_error("session_not_open");
    assert!(err.is_conflict());
    assert!(!err.message(Lang::PtBr).is_empty() && !err.message(Lang::En).is_empty());
    assert!(
        s.load(ana).is_empty() && s.load(bia).is_empty(),
        "never assigned twice"
    );
}

#[test]
fn d4_transfer_then_finish_by_the_old_agent_gets_conflict() {
    let (mut s, team, _ch, ana, ss) = serving(1, 5);
    let bia = s.online_agent("Bia", &[team], 5);
    s.when(transfer(ss[0], Target::Agent(bia)));
    s.then_ok();
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: None,
    });
    assert!(s.then_error("not_agents_session").is_conflict());
    s.when(Command::PullSession {
        session: ss[0],
        agent: ana,
    });
    s.then_error("wrong_phase");
    assert_eq!(s.load(bia), vec![ss[0]]);
}

// ---- M-12 / B-3 -------------------------------------------------------------------------------

#[test]
fn m12_bulk_cap_5_sixth_refused() {
    let (mut s, _team, _ch, _ana, ss) = serving(6, 10);
    let err = s
        .when_bulk(bulk(&ss, BulkAction::Finish { wrapup: None }))
        .expect_err("6 > 5");
    assert_eq!(err.code(), "bulk_cap_exceeded");
    assert!(!err.is_conflict() && !err.is_not_found());
    for lang in [Lang::PtBr, Lang::En] {
        let m = err.message(lang);
        assert!(m.contains('5') && m.contains('6'), "{m}");
    }
    s.then_unchanged();
    let out = s
        .when_bulk(bulk(&ss[..5], BulkAction::Finish { wrapup: None }))
        .expect("5 is fine");
    assert!(out.results.iter().all(|r| r.result.is_ok()));
    assert_eq!(s.core.stats().sessions_human, 1);
}

#[test]
fn m12_bulk_per_session_results() {
    let (mut s, team, _ch, ana, ss) = serving(3, 5);
    let bia = s.online_agent("Bia", &[team], 5);
    s.finish_by(ss[1], ana, None);
    let out = s
        .when_bulk(bulk(
            &[ss[0], ss[1], ss[2], SessionId(999)],
            BulkAction::Transfer {
                to: Target::Agent(bia),
            },
        ))
        .expect("bulk accepted");
    let codes: Vec<_> = out
        .results
        .iter()
        .map(|r| r.result.as_ref().err().map(|e| e.code()))
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("session_not_open"),
            None,
            Some("unknown_session")
        ]
    );
    assert_eq!(
        out.results.iter().map(|r| r.session).collect::<Vec<_>>(),
        vec![ss[0], ss[1], ss[2], SessionId(999)]
    );
    assert_eq!(s.load(bia), vec![ss[0], ss[2]]);
    assert!(s.load(ana).is_empty());
    assert_eq!(out.events, s.log[s.log.len() - out.events.len()..].to_vec());
    let json = serde_json::to_value(&out.results).expect("json");
    assert_eq!(json[1]["ok"], false);
    assert_eq!(json[1]["code"], "session_not_open");
    assert_eq!(json[0]["ok"], true);
}

#[test]
fn m12_bulk_cap_configurable() {
    let (mut s, _team, _ch, _ana, ss) = serving(4, 5);
    s.run(Command::UpdateSettings {
        time_zone: None,
        bulk_cap: Some(2),
        bot_inactivity_ms: None,
    });
    let err = s
        .when_bulk(bulk(&ss[..3], BulkAction::Finish { wrapup: None }))
        .expect_err("3 > 2");
    assert_eq!(
        err,
        mirante_core::DomainError::BulkCapExceeded {
            cap: 2,
            requested: 3
        }
    );
    s.then_unchanged();
    s.when_bulk(bulk(&ss[..2], BulkAction::Finish { wrapup: None }))
        .expect("2 is fine");
    for bad in [0, 101] {
        s.when(Command::UpdateSettings {
            time_zone: None,
            bulk_cap: Some(bad),
            bot_inactivity_ms: None,
        });
        s.then_error("invalid_input");
    }
}

#[test]
fn m12_bulk_empty_and_duplicates_refused() {
    let (mut s, _team, _ch, _ana, ss) = serving(2, 5);
    let err = s
        .when_bulk(bulk(&[], BulkAction::Finish { wrapup: None }))
        .expect_err("empty");
    assert_eq!(err.code(), "bulk_empty");
    s.then_unchanged();
    let err = s
        .when_bulk(bulk(
            &[ss[0], ss[1], ss[0]],
            BulkAction::Finish { wrapup: None },
        ))
        .expect_err("dup");
    assert_eq!(err.code(), "bulk_duplicate");
    s.then_unchanged();
}

// ---- M-15 -------------------------------------------------------------------------------------

#[test]
fn m15_forced_logout_requeues_at_front_keeping_protocol() {
    let (mut s, team, ch, ana, ss) = serving(2, 2);
    let waiting = s.customers(ch, 5, "oi")[2..].to_vec(); // 3 more customers, beyond Ana's capacity
    assert_eq!(waiting.len(), 3);
    let queue_before = s.queue(team);
    assert_eq!(queue_before.len(), 3);
    let protocols: Vec<_> = ss
        .iter()
        .map(|id| s.session(*id).protocol.clone().expect("protocol"))
        .collect();

    s.advance(10).when(Command::AgentLogout {
        agent: ana,
        by: SUP,
    });
    s.then_events(&[
        queued(ss[1], team, QueueReason::Requeued, true),
        queued(ss[0], team, QueueReason::Requeued, true),
        EventKind::AgentLoggedOut {
            agent: ana,
            by: SUP,
        },
    ]);
    let mut expected = ss.clone();
    expected.extend(queue_before);
    assert_eq!(
        s.queue(team),
        expected,
        "at the front, oldest first, before those already waiting"
    );
    for (id, p) in ss.iter().zip(&protocols) {
        assert_eq!(s.session(*id).protocol.as_ref(), Some(p));
        assert_eq!(s.session(*id).phase, Phase::Waiting);
    }
    assert!(s.load(ana).is_empty());

    // The next agent takes them first, protocol unchanged (no new protocol event).
    let bia = s.agent("Bia", &[team], 1);
    s.advance(1).when(Command::AgentLogin { agent: bia });
    s.then_events(&[
        EventKind::AgentLoggedIn { agent: bia },
        assigned(ss[0], bia, team, None, AssignedBy::Distribution),
    ]);
}

#[test]
fn m15_logout_with_another_agent_free_reassigns_at_once() {
    let (mut s, team, _ch, ana, ss) = serving(1, 2);
    let bia = s.online_agent("Bia", &[team], 2);
    s.when(Command::AgentLogout {
        agent: ana,
        by: Actor::Agent(ana),
    });
    let evs = s.then_ok();
    assert!(
        matches!(evs.last().map(|e| &e.kind), Some(EventKind::SessionAssigned { agent, protocol: None, .. }) if *agent == bia)
    );
    assert_eq!(s.agent_of(ss[0]), Some(bia));
}

#[test]
fn m15_an_agent_cannot_log_another_out() {
    let (mut s, team, _ch, ana, _ss) = serving(1, 2);
    let bia = s.online_agent("Bia", &[team], 2);
    s.when(Command::AgentLogout {
        agent: ana,
        by: Actor::Agent(bia),
    });
    s.then_error("invalid_input");
    s.when(Command::AgentLogout {
        agent: ana,
        by: Actor::Customer,
    });
    s.then_error("invalid_input");
}

// ---- M-16 -------------------------------------------------------------------------------------

#[test]
fn m16_forced_pause_refused_with_open_sessions_says_how_many() {
    let (mut s, _team, _ch, ana, _ss) = serving(3, 5);
    let pausa = s.pause_reason("Almoço");
    s.when(Command::AgentPause {
        agent: ana,
        reason: pausa,
        by: SUP,
    });
    let err = s.then_error("agent_has_open_sessions");
    assert_eq!(
        err,
        mirante_core::DomainError::AgentHasOpenSessions {
            agent: ana,
            open: 3
        }
    );
    assert!(err.is_conflict());
    let pt = err.message(Lang::PtBr);
    let en = err.message(Lang::En);
    assert!(pt.contains("3 atendimento"), "{pt}");
    assert!(en.contains("3 open session"), "{en}");
}

#[test]
fn m16_agent_may_pause_itself_with_open_sessions() {
    let (mut s, team, ch, ana, ss) = serving(2, 5);
    let pausa = s.pause_reason("Banheiro");
    s.when(Command::AgentPause {
        agent: ana,
        reason: pausa,
        by: Actor::Agent(ana),
    });
    s.then_events(&[EventKind::AgentPaused {
        agent: ana,
        reason: pausa,
        by: Actor::Agent(ana),
    }]);
    assert_eq!(s.load(ana), ss, "its sessions stay with it");
    // Paused: it takes no new session.
    let new = s.customer(ch, "5511900000099", "oi");
    assert_eq!(s.queue(team), vec![new]);
    // The supervisor ends the pause: the waiting session goes to it at once.
    s.advance(60).when(Command::AgentResume {
        agent: ana,
        by: SUP,
    });
    s.then_events(&[
        EventKind::AgentResumed {
            agent: ana,
            by: SUP,
        },
        assigned(
            new,
            ana,
            team,
            Some("20261123000003"),
            AssignedBy::Distribution,
        ),
    ]);
}

#[test]
fn m16_supervisor_pauses_an_idle_agent() {
    let (mut s, team, _ch) = center();
    let ana = s.online_agent("Ana", &[team], 5);
    let pausa = s.pause_reason("Treinamento");
    s.when(Command::AgentPause {
        agent: ana,
        reason: pausa,
        by: SUP,
    });
    s.then_events(&[EventKind::AgentPaused {
        agent: ana,
        reason: pausa,
        by: SUP,
    }]);
    assert_eq!(s.core.stats().agents_paused, 1);
    s.when(Command::AgentPause {
        agent: ana,
        reason: pausa,
        by: SUP,
    });
    assert!(s.then_error("agent_already_paused").is_conflict());
    let other = s.pause_reason("Almoço");
    s.run(Command::UpdatePauseReason {
        reason: other,
        name: None,
        max_duration_ms: None,
        enabled: Some(false),
    });
    s.when(Command::AgentPause {
        agent: ana,
        reason: other,
        by: Actor::Agent(ana),
    });
    s.then_error("pause_reason_disabled");
    s.when(Command::AgentPause {
        agent: ana,
        reason: mirante_core::PauseReasonId(77),
        by: SUP,
    });
    assert!(s.then_error("unknown_pause_reason").is_not_found());
}

#[test]
fn presence_transitions_refuse_what_does_not_fit() {
    let (mut s, team, _ch) = center();
    let ana = s.agent("Ana", &[team], 5);
    let pausa = s.pause_reason("Almoço");
    s.when(Command::AgentResume {
        agent: ana,
        by: Actor::Agent(ana),
    });
    s.then_error("agent_offline");
    s.when(Command::AgentPause {
        agent: ana,
        reason: pausa,
        by: Actor::Agent(ana),
    });
    s.then_error("agent_offline");
    s.when(Command::AgentLogout {
        agent: ana,
        by: Actor::Agent(ana),
    });
    s.then_error("agent_offline");
    s.login(ana);
    s.when(Command::AgentLogin { agent: ana });
    s.then_error("agent_already_logged_in");
    s.when(Command::AgentResume {
        agent: ana,
        by: Actor::Agent(ana),
    });
    s.then_error("agent_not_paused");
    s.run(Command::UpdateAgent {
        agent: ana,
        name: None,
        nickname: None,
        email: None,
        teams: None,
        capacity: None,
        enabled: Some(false),
    });
    assert_eq!(
        s.agent_state(ana).presence,
        mirante_core::Presence::Offline,
        "disabling logs out"
    );
    s.when(Command::AgentLogin { agent: ana });
    s.then_error("agent_disabled");
}

// ---- D-10 distribution -------------------------------------------------------------------------

#[test]
fn d10_least_busy_prefers_fewest_open_sessions() {
    let (mut s, team, ch) = center();
    let ana = s.online_agent("Ana", &[team], 5);
    let a = s.customer(ch, "5511900000001", "oi");
    assert_eq!(s.agent_of(a), Some(ana));
    let bia = s.online_agent("Bia", &[team], 5);
    let b = s.customer(ch, "5511900000002", "oi");
    assert_eq!(s.agent_of(b), Some(bia), "Bia has 0, Ana 1");
    let c = s.customer(ch, "5511900000003", "oi");
    let d = s.customer(ch, "5511900000004", "oi");
    assert_eq!(s.load(ana).len() + s.load(bia).len(), 4);
    assert_eq!(s.load(ana).len(), 2);
    assert!(s.agent_of(c).is_some() && s.agent_of(d).is_some());
}

#[test]
fn d10_least_busy_ties_to_longest_idle() {
    let (mut s, team, ch) = center();
    // Ana logs in first, Bia later; Bia's id is higher.
    let ana = s.online_agent("Ana", &[team], 5);
    s.advance(10);
    let bia = s.online_agent("Bia", &[team], 5);
    s.advance(10);
    let first = s.customer(ch, "5511900000001", "oi");
    assert_eq!(
        s.agent_of(first),
        Some(ana),
        "tie at 0: Ana idle since 0 s, Bia since 10 s"
    );
    s.advance(10);
    s.finish_by(first, ana, None);
    s.advance(10);
    // Tie at 0 again: Bia has been idle since 10 s, Ana only since 20 s (her last assignment).
    let second = s.customer(ch, "5511900000002", "oi");
    assert_eq!(s.agent_of(second), Some(bia));
}

#[test]
fn d10_longest_idle_counts_from_the_end_of_the_last_session() {
    let (mut s, team, ch) = center();
    let ana = s.online_agent("Ana", &[team], 1);
    let bia = s.online_agent("Bia", &[team], 1);
    let long_call = s.customer(ch, "5511900000001", "oi"); // Ana at 0 s
    assert_eq!(s.agent_of(long_call), Some(ana));
    s.advance(50);
    let short_call = s.customer(ch, "5511900000002", "oi"); // Bia at 50 s
    assert_eq!(s.agent_of(short_call), Some(bia));
    s.advance(1);
    s.finish_by(short_call, bia, None); // Bia idle since 51 s
    s.advance(449);
    s.finish_by(long_call, ana, None); // Ana idle only since 500 s
    s.advance(100);
    let next = s.customer(ch, "5511900000003", "oi");
    assert_eq!(s.agent_of(next), Some(bia), "Bia has been idle the longest");
}

#[test]
fn d10_work_conserving_within_a_tick() {
    // A timeout frees an agent in the same tick in which a waiting session reaches its max
    // wait: the waiting customer is served, not finished as "no agent available".
    let mut s = Scenario::new();
    let team = s.team(
        "Suporte",
        TeamSettings {
            inactivity_timeout_ms: Some(60_000),
            max_wait_ms: Some(60_000),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let ana = s.online_agent("Ana", &[team], 1);
    let served = s.customer(ch, "5511900000001", "oi");
    let waiting = s.customer(ch, "5511900000002", "oi");
    assert_eq!(s.queue(team), vec![waiting]);
    let evs = s.tick_at(t(60));
    assert_eq!(
        evs.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![
            finished(served, FinishReason::InactivityTimeout, Actor::System),
            assigned(
                waiting,
                ana,
                team,
                Some("20261123000002"),
                AssignedBy::Distribution
            ),
        ]
    );
    assert_eq!(s.agent_of(waiting), Some(ana));
}

#[test]
fn d10_sequential_round_robin() {
    let mut s = Scenario::new();
    let team = s.team_mode("Cobrança", DistributionMode::Sequential);
    let ch = s.channel_to(team);
    let a = s.online_agent("Ana", &[team], 5);
    let b = s.online_agent("Bia", &[team], 5);
    let c = s.online_agent("Caio", &[team], 5);
    let ss = s.customers(ch, 7, "oi");
    let got: Vec<_> = ss
        .iter()
        .map(|id| s.agent_of(*id).expect("assigned"))
        .collect();
    assert_eq!(got, vec![a, b, c, a, b, c, a]);
    // Round robin skips an agent that is not available.
    let pausa = s.pause_reason("Almoço");
    s.pause(b, pausa);
    let more = s.customers(ch, 9, "oi")[7..].to_vec();
    let got: Vec<_> = more
        .iter()
        .map(|id| s.agent_of(*id).expect("assigned"))
        .collect();
    assert_eq!(got, vec![c, a]);
}

#[test]
fn d10_todos_mode_offers_and_first_pull_wins() {
    let mut s = Scenario::new();
    let team = s.team_mode("Plantão", DistributionMode::All);
    let other = s.team_default("Outra");
    let ch = s.channel_to(team);
    let ana = s.online_agent("Ana", &[team], 5);
    let bia = s.online_agent("Bia", &[team], 5);
    let caio = s.online_agent("Caio", &[other], 5);
    let sid = s.customer(ch, "5511900000001", "oi");
    assert_eq!(s.queue(team), vec![sid], "offered, not assigned");

    s.when(Command::PullSession {
        session: sid,
        agent: caio,
    });
    s.then_error("agent_not_in_team");
    s.advance(3).when(Command::PullSession {
        session: sid,
        agent: bia,
    });
    s.then_events(&[assigned(
        sid,
        bia,
        team,
        Some("20261123000001"),
        AssignedBy::Pull,
    )]);
    s.when(Command::PullSession {
        session: sid,
        agent: ana,
    });
    assert!(s.then_error("wrong_phase").is_conflict());
    assert_eq!(s.load(bia), vec![sid]);
    assert!(s.load(ana).is_empty());
}

#[test]
fn d10_pull_refused_outside_todos_mode_or_without_capacity() {
    let mut s = Scenario::new();
    let plantao = s.team_mode("Plantão", DistributionMode::All);
    let normal = s.team_default("Normal");
    let ch_p = s.channel_to(plantao);
    let ch_n = s.channel_to(normal);
    let ana = s.online_agent("Ana", &[plantao, normal], 1);
    let busy = s.customer(ch_n, "5511900000001", "oi");
    assert_eq!(s.agent_of(busy), Some(ana));
    let queued_normal = s.customer(ch_n, "5511900000002", "oi");
    s.when(Command::PullSession {
        session: queued_normal,
        agent: ana,
    });
    s.then_error("not_pull_mode");
    let offered = s.customer(ch_p, "5511900000003", "oi");
    s.when(Command::PullSession {
        session: offered,
        agent: ana,
    });
    s.then_error("agent_at_capacity");
}

#[test]
fn d10_fifo_within_team() {
    let (mut s, team, ch) = center();
    let ana = s.agent("Ana", &[team], 1);
    let ss = s.customers(ch, 4, "oi");
    assert_eq!(s.queue(team), ss);
    let keys: Vec<_> = ss.iter().map(|id| s.session(*id).queue_key).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    s.login(ana);
    for (i, sid) in ss.iter().enumerate() {
        assert_eq!(s.load(ana), vec![*sid], "served in arrival order");
        assert_eq!(s.queue(team), ss[i + 1..].to_vec());
        s.advance(1);
        s.finish_by(*sid, ana, None);
    }
}

#[test]
fn d10_oldest_waiting_across_an_agents_teams_goes_first() {
    let mut s = Scenario::new();
    let t1 = s.team_default("Um");
    let t2 = s.team_default("Dois");
    let c1 = s.channel_to(t1);
    let c2 = s.channel_to(t2);
    let ana = s.agent("Ana", &[t1, t2], 1);
    let older = s.customer(c2, "5511900000001", "oi");
    s.advance(1);
    let newer = s.customer(c1, "5511900000002", "oi");
    s.login(ana);
    assert_eq!(s.load(ana), vec![older]);
    assert_eq!(s.queue(t1), vec![newer]);
}

#[test]
fn d10_work_conserving_on_login() {
    let (mut s, team, ch) = center();
    let ana = s.agent("Ana", &[team], 2);
    let ss = s.customers(ch, 3, "oi");
    s.when(Command::AgentLogin { agent: ana });
    let evs = s.then_ok();
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e.kind, EventKind::SessionAssigned { .. }))
            .count(),
        2
    );
    assert_eq!(s.load(ana), ss[..2].to_vec());
    assert_eq!(s.queue(team), ss[2..].to_vec());
}

#[test]
fn d10_work_conserving_on_resume() {
    let (mut s, team, ch) = center();
    let ana = s.online_agent("Ana", &[team], 2);
    let pausa = s.pause_reason("Café");
    s.pause(ana, pausa);
    let ss = s.customers(ch, 1, "oi");
    assert_eq!(s.queue(team), ss);
    s.when(Command::AgentResume {
        agent: ana,
        by: Actor::Agent(ana),
    });
    s.then_ok();
    assert_eq!(s.load(ana), ss);
}

#[test]
fn d10_work_conserving_on_finish() {
    let (mut s, team, ch, ana, ss) = serving(1, 1);
    let waiting = s.customer(ch, "5511900000050", "oi");
    assert_eq!(s.queue(team), vec![waiting]);
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: None,
    });
    s.then_events(&[
        finished(ss[0], FinishReason::ByAgent, Actor::Agent(ana)),
        assigned(
            waiting,
            ana,
            team,
            Some("20261123000002"),
            AssignedBy::Distribution,
        ),
    ]);
}

#[test]
fn d10_work_conserving_on_transfer_away() {
    let mut s = Scenario::new();
    let t1 = s.team_default("Um");
    let t2 = s.team_default("Dois");
    let ch = s.channel_to(t1);
    let ana = s.online_agent("Ana", &[t1], 1);
    let ss = s.customers(ch, 2, "oi");
    assert_eq!(s.queue(t1), vec![ss[1]]);
    s.when(Command::Transfer {
        session: ss[0],
        to: Target::Team(t2),
        by: Actor::Agent(ana),
    });
    s.then_ok();
    assert_eq!(
        s.load(ana),
        vec![ss[1]],
        "the freed slot takes the next waiting one"
    );
    assert_eq!(s.queue(t2), vec![ss[0]]);
}

#[test]
fn d10_work_conserving_on_capacity_change() {
    let (mut s, team, ch, ana, ss) = serving(1, 1);
    let more = s.customers(ch, 3, "oi")[1..].to_vec();
    assert_eq!(s.queue(team), more);
    s.when(Command::UpdateAgent {
        agent: ana,
        name: None,
        nickname: None,
        email: None,
        teams: None,
        capacity: Some(3),
        enabled: None,
    });
    s.then_ok();
    let mut all = ss.clone();
    all.extend(more);
    assert_eq!(s.load(ana), all);
    assert!(s.queue(team).is_empty());
}

#[test]
fn d10_work_conserving_on_team_membership_and_mode_change() {
    let mut s = Scenario::new();
    let team = s.team_mode("Plantão", DistributionMode::All);
    let ch = s.channel_to(team);
    let ana = s.online_agent("Ana", &[team], 2);
    let ss = s.customers(ch, 1, "oi");
    assert!(s.load(ana).is_empty());
    s.when(Command::UpdateTeam {
        team,
        name: None,
        settings: Some(TeamSettings {
            mode: DistributionMode::LeastBusy,
            ..TeamSettings::default()
        }),
        enabled: None,
    });
    s.then_ok();
    assert_eq!(s.load(ana), ss);
}

// ---- protocol -----------------------------------------------------------------------------------

#[test]
fn protocol_generated_on_first_assignment_only_and_unique() {
    let (mut s, team, ch) = center();
    let ana = s.online_agent("Ana", &[team], 5);
    let bia = s.online_agent("Bia", &[team], 5);
    let ss = s.customers(ch, 3, "oi");
    let protocols: Vec<String> = ss
        .iter()
        .map(|id| s.session(*id).protocol.clone().expect("protocol"))
        .collect();
    assert_eq!(
        protocols,
        vec!["20261123000001", "20261123000002", "20261123000003"]
    );
    // Transfers (to an agent, to a team and back) never generate another.
    s.run(transfer(
        ss[0],
        Target::Agent(if s.agent_of(ss[0]) == Some(ana) {
            bia
        } else {
            ana
        }),
    ));
    s.run(Command::AgentLogout {
        agent: ana,
        by: SUP,
    });
    s.run(Command::AgentLogout {
        agent: bia,
        by: SUP,
    });
    s.login(ana);
    let assigned_protocols: Vec<_> = s
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SessionAssigned {
                protocol: Some(p), ..
            } => Some(p.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        assigned_protocols, protocols,
        "one protocol per session, on its first assignment"
    );
    for (id, p) in ss.iter().zip(&protocols) {
        assert_eq!(s.session(*id).protocol.as_ref(), Some(p));
    }
    // A new day restarts the daily sequence; digits only.
    s.at(t(86_400));
    let next = s.customer(ch, "5511900000099", "oi");
    let p = s.session(next).protocol.clone().expect("protocol");
    assert_eq!(p, "20261124000001");
    assert!(p.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn protocol_uses_configured_time_zone() {
    // 2026-11-24T01:00Z: still the 23rd in São Paulo (default), already the 24th in UTC.
    let at = t(13 * 3600);
    for (tz, expected) in [
        (None, "20261123000001"),
        (Some("UTC"), "20261124000001"),
        (Some("Asia/Tokyo"), "20261124000001"),
        (Some("America/Los_Angeles"), "20261123000001"),
    ] {
        let (mut s, team, ch) = center();
        if let Some(tz) = tz {
            s.run(Command::UpdateSettings {
                time_zone: Some(tz.into()),
                bulk_cap: None,
                bot_inactivity_ms: None,
            });
        }
        s.online_agent("Ana", &[team], 5);
        s.at(at);
        let sid = s.customer(ch, "5511900000001", "oi");
        assert_eq!(
            s.session(sid).protocol.as_deref(),
            Some(expected),
            "time zone {tz:?}"
        );
    }
}

#[test]
fn protocol_never_repeats_when_the_time_zone_moves_the_day_back() {
    let (mut s, team, ch) = center();
    s.run(Command::UpdateSettings {
        time_zone: Some("Asia/Tokyo".into()),
        bulk_cap: None,
        bot_inactivity_ms: None,
    });
    s.online_agent("Ana", &[team], 5);
    s.at(t(13 * 3600));
    let a = s.customer(ch, "5511900000001", "oi");
    s.run(Command::UpdateSettings {
        time_zone: Some("America/Sao_Paulo".into()),
        bulk_cap: None,
        bot_inactivity_ms: None,
    });
    let b = s.customer(ch, "5511900000002", "oi");
    let pa = s.session(a).protocol.clone().expect("protocol");
    let pb = s.session(b).protocol.clone().expect("protocol");
    assert_eq!(pa, "20261124000001");
    assert_ne!(pa, pb);
    assert!(pb > pa);
}

// ---- wrap-up codes, outcomes -----------------------------------------------------------------

fn with_codes() -> (Scenario, TeamId, AgentId, Vec<SessionId>) {
    let mut s = Scenario::new();
    let team = s.team(
        "Vendas",
        TeamSettings {
            wrapup_codes: vec!["venda".into(), "dúvida".into()],
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let ana = s.online_agent("Ana", &[team], 5);
    let ss = s.customers(ch, 3, "oi");
    (s, team, ana, ss)
}

#[test]
fn wrapup_required_when_team_has_codes() {
    let (mut s, team, ana, ss) = with_codes();
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: None,
    });
    let err = s.then_error("wrapup_required");
    assert_eq!(err, mirante_core::DomainError::WrapupRequired(team));
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: Some("venda".into()),
    });
    s.then_events(&[EventKind::SessionFinished {
        session: ss[0],
        reason: FinishReason::ByAgent,
        outcome: Outcome::Success,
        wrapup: Some("venda".into()),
        by: Actor::Agent(ana),
    }]);
    assert_eq!(s.finished(ss[0]).2.as_deref(), Some("venda"));
    // Only agents must give one: a supervisor may finish without.
    s.when(sup_finish(ss[1]));
    s.then_ok();
}

#[test]
fn wrapup_not_required_when_team_has_none() {
    let (mut s, _team, _ch, ana, ss) = serving(1, 5);
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: None,
    });
    s.then_ok();
}

#[test]
fn unknown_wrapup_refused() {
    let (mut s, _team, ana, ss) = with_codes();
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: Some("inexistente".into()),
    });
    let err = s.then_error("unknown_wrapup");
    assert!(err.message(Lang::PtBr).contains("inexistente"));
    s.when(Command::Finish {
        session: ss[0],
        by: SUP,
        wrapup: Some("xyz".into()),
    });
    s.then_error("unknown_wrapup");
    let (mut s, _team, _ch, ana, ss) = serving(1, 5);
    s.when(Command::Finish {
        session: ss[0],
        by: Actor::Agent(ana),
        wrapup: Some("venda".into()),
    });
    s.then_error("unknown_wrapup");
}

#[test]
fn outcome_success_and_lost() {
    use FinishReason::*;
    for (reason, outcome) in [
        (ByAgent, Outcome::Success),
        (BySupervisor, Outcome::Success),
        (ByCustomer, Outcome::Success),
        (BotResolved, Outcome::Success),
        (InactivityTimeout, Outcome::Lost),
        (NoAgentAvailable, Outcome::Lost),
    ] {
        assert_eq!(reason.outcome(), outcome, "{reason:?}");
    }
    // And every finished session of a scenario carries the outcome of its reason.
    let mut s = Scenario::new();
    let team = s.team(
        "Suporte",
        TeamSettings {
            max_wait_ms: Some(10_000),
            inactivity_timeout_ms: Some(10_000),
            ..TeamSettings::default()
        },
    );
    let ch = s.channel_to(team);
    let fila = s.team(
        "Fila",
        TeamSettings {
            max_wait_ms: Some(10_000),
            ..TeamSettings::default()
        },
    );
    let ch_fila = s.channel_to(fila);
    let ana = s.online_agent("Ana", &[team], 1);
    let served = s.customer(ch, "5511900000001", "oi");
    let left = s.customer(ch_fila, "5511900000002", "oi");
    s.tick_at(t(10));
    assert_eq!(s.finished(served).1, Outcome::Lost);
    assert_eq!(s.finished(left).1, Outcome::Lost);
    let next = s.customer(ch, "5511900000003", "oi");
    s.finish_by(next, ana, None);
    assert_eq!(s.finished(next), (ByAgent, Outcome::Success, None));
    for e in &s.log {
        if let EventKind::SessionFinished {
            reason, outcome, ..
        } = &e.kind
        {
            assert_eq!(reason.outcome(), *outcome);
        }
    }
}

// ---- channels ---------------------------------------------------------------------------------

#[test]
fn channel_with_open_sessions_cannot_be_deleted() {
    let (mut s, _team, ch) = center();
    let sid = s.customer(ch, "5511900000001", "oi");
    s.customer(ch, "5511900000002", "oi");
    s.when(Command::DeleteChannel { channel: ch });
    let err = s.then_error("channel_has_open_sessions");
    assert_eq!(
        err,
        mirante_core::DomainError::ChannelHasOpenSessions {
            channel: ch,
            open: 2
        }
    );
    assert!(err.message(Lang::PtBr).contains('2'));
    s.run(sup_finish(sid));
    s.run(sup_finish(SessionId(sid.0 + 1)));
    s.when(Command::DeleteChannel { channel: ch });
    s.then_events(&[EventKind::ChannelDeleted { channel: ch }]);
    s.when(customer_msg(ch, "5511900000001", "oi"));
    assert!(s.then_error("unknown_channel").is_not_found());
}

#[test]
fn disabled_channel_takes_no_new_session_but_open_ones_continue() {
    let (mut s, _team, ch, ana, ss) = serving(1, 5);
    s.run(Command::UpdateChannel {
        channel: ch,
        name: None,
        flow: None,
        enabled: Some(false),
    });
    s.when(customer_msg(ch, "5511900000001", "continuo aqui"));
    s.then_ok();
    s.when(customer_msg(ch, "5511999999999", "oi"));
    assert!(s.then_error("channel_disabled").is_conflict());
    assert_eq!(s.load(ana), ss);
}

#[test]
fn channel_without_flow_takes_no_session() {
    let mut s = Scenario::new();
    let evs = s.run(Command::CreateChannel {
        kind: mirante_core::ChannelKind::Api,
        name: "API".into(),
        flow: None,
    });
    let ch = match &evs[0].kind {
        EventKind::ChannelCreated { channel } => channel.id,
        _ => unreachable!(),
    };
    s.when(customer_msg(ch, "ext-1", "oi"));
    s.then_error("channel_without_flow");
}

// ---- internal chat (M-11) ---------------------------------------------------------------------

#[test]
fn m11_internal_chat_both_ways_and_read_marks() {
    let (mut s, team, _ch) = center();
    let ana = s.agent("Ana", &[team], 5);
    let sup = mirante_core::SupervisorId(1);
    s.when(Command::InternalRead {
        agent: ana,
        supervisor: sup,
        by_agent: true,
    });
    s.then_events(&[]);
    s.when(Command::InternalMessage {
        agent: ana,
        supervisor: sup,
        from_agent: true,
        text: "Preciso de ajuda".into(),
    });
    s.then_ok();
    s.when(Command::InternalMessage {
        agent: ana,
        supervisor: sup,
        from_agent: false,
        text: "Já vou".into(),
    });
    s.then_ok();
    s.when(Command::InternalRead {
        agent: ana,
        supervisor: sup,
        by_agent: false,
    });
    s.then_events(&[EventKind::InternalMessagesRead {
        agent: ana,
        supervisor: sup,
        by_agent: false,
        up_to: mirante_core::InternalMessageId(2),
    }]);
    s.when(Command::InternalMessage {
        agent: ana,
        supervisor: sup,
        from_agent: true,
        text: "  ".into(),
    });
    s.then_error("invalid_input");
}

// ---- the log (B-8: event-sourced) ------------------------------------------------------------

#[test]
fn replay_of_the_json_log_equals_live_state() {
    // Every kind of event through JSON and back — including a contact's per-channel
    // identifiers, a map keyed by channel id inside the internally tagged event.
    let (mut s, team, ch, ana, ss) = serving(2, 5);
    let pausa = s.pause_reason("Almoço");
    s.run(transfer(ss[0], Target::Team(team)));
    s.run(Command::AgentPause {
        agent: ana,
        reason: pausa,
        by: Actor::Agent(ana),
    });
    s.run(Command::AgentLogout {
        agent: ana,
        by: SUP,
    });
    s.run(sup_finish(ss[1]));
    s.customer(ch, "5511900000077", "oi");
    let json: Vec<String> = s
        .log
        .iter()
        .map(|e| serde_json::to_string(e).expect("event serializes"))
        .collect();
    assert!(
        json.iter()
            .any(|j| j.contains(r#""identifiers":{"1":"5511900000001"}"#))
    );
    let events: Vec<mirante_core::Event> = json
        .iter()
        .map(|j| serde_json::from_str(j).expect("event deserializes"))
        .collect();
    assert_eq!(events, s.log);
    let replayed = Given::events(events);
    assert_eq!(replayed.core, s.core);
    assert_eq!(replayed.core.next_deadline(), s.core.next_deadline());
    let snapshot: mirante_core::Core =
        serde_json::from_str(&serde_json::to_string(&s.core).expect("snapshot")).expect("load");
    assert_eq!(snapshot, s.core);
}

// ---- D-30: channel integration (idempotent inbound, delivery status, contacts) ----------

fn inbound(channel: ChannelId, ident: &str, text: &str, external: &str) -> Command {
    Command::CustomerMessage {
        channel,
        identifier: ident.into(),
        name: Some("Maria Luiza de Santos Reis".into()),
        text: text.into(),
        attachments: Vec::new(),
        external_id: Some(external.into()),
    }
}

#[test]
fn d30_same_channel_message_id_twice_is_one_message() {
    let (mut s, team, ch) = center();
    let other = s.channel_to(team);
    s.run(inbound(ch, "5535998765432", "oi", "wamid.1"));
    let before = s.core.clone();
    let err = s
        .core
        .execute(inbound(ch, "5535998765432", "oi", "wamid.1"), s.now)
        .unwrap_err();
    assert_eq!(err.code(), "already_received");
    assert!(err.is_duplicate());
    assert_eq!(s.core, before, "a repeat writes nothing");
    // Another id is a new message; the same id on another channel is another message.
    s.run(inbound(ch, "5535998765432", "1", "wamid.2"));
    s.run(inbound(other, "5535998765432", "oi", "wamid.1"));
    let texts = s.transcript(SessionId(1));
    assert_eq!(texts.len(), 2, "one message per channel id: {texts:?}");
}

#[test]
fn d30_message_ids_are_remembered_across_snapshot_and_replay() {
    let (mut s, _, ch) = center();
    s.run(inbound(ch, "5535998765432", "oi", "wamid.1"));
    let json = serde_json::to_string(&s.core).unwrap();
    let mut restored: mirante_core::Core = serde_json::from_str(&json).unwrap();
    let mut replayed = s.replayed();
    for core in [&mut restored, &mut replayed] {
        let err = core
            .execute(inbound(ch, "5535998765432", "oi", "wamid.1"), s.now)
            .unwrap_err();
        assert_eq!(err.code(), "already_received");
    }
}

#[test]
fn d30_message_ids_are_forgotten_after_the_window() {
    let (mut s, _, ch) = center();
    s.run(inbound(ch, "5535998765432", "oi", "wamid.1"));
    let day = mirante_core::command::EXTERNAL_ID_WINDOW_MS;
    // Another message a day later pushes the old id out of the window.
    let later = mirante_core::Timestamp(s.now.0 + day + 10_000);
    s.core
        .execute(inbound(ch, "5511900000000", "oi", "wamid.2"), later)
        .unwrap();
    assert!(
        s.core
            .execute(inbound(ch, "5535998765432", "oi", "wamid.1"), later)
            .is_ok()
    );
}

#[test]
fn d30_bad_channel_message_id_refused() {
    let (mut s, _, ch) = center();
    s.when(inbound(ch, "5535998765432", "oi", "  "));
    s.then_error("invalid_input");
    s.when(inbound(ch, "5535998765432", "oi", &"x".repeat(300)));
    s.then_error("invalid_input");
}

#[test]
fn d30_delivery_status_of_a_known_message() {
    let (mut s, _, ch) = center();
    let evs = s.run(inbound(ch, "5535998765432", "oi", "wamid.1"));
    let message = evs
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::MessagePosted { message, .. } => Some(*message),
            _ => None,
        })
        .expect("a message");
    s.when(Command::MessageStatus {
        channel: ch,
        message,
        status: mirante_core::DeliveryStatus::Read,
    });
    s.then_ok();
    s.when(Command::MessageStatus {
        channel: ch,
        message: mirante_core::MessageId(999_999),
        status: mirante_core::DeliveryStatus::Read,
    });
    s.then_error("unknown_message");
}

#[test]
fn m53_contact_number_normalised_on_update_and_only_phone_channels_give_numbers() {
    let (mut s, team, ch) = center();
    s.run(inbound(ch, "5535998765432", "oi", "a"));
    let contact = *s.core.state().contacts.keys().next().unwrap();
    assert_eq!(
        s.core.state().contacts[&contact].number.as_deref(),
        Some("5535998765432")
    );
    // A Telegram chat id is not a phone number.
    let flow = s.flow_to(team);
    let tg = s.channel(mirante_core::ChannelKind::Telegram, "Telegram", flow);
    s.run(inbound(tg, "123456789", "oi", "t1"));
    assert!(
        s.core
            .state()
            .contacts
            .values()
            .filter(|c| c.identifiers.contains_key(&tg))
            .all(|c| c.number.is_none())
    );
    s.when(Command::UpdateContact {
        contact,
        name: Some("  Maria Luiza  ".into()),
        number: Some("+55 (35) 99876-5432".into()),
    });
    s.then_ok();
    let c = &s.core.state().contacts[&contact];
    assert_eq!(c.name, "Maria Luiza");
    assert_eq!(c.number.as_deref(), Some("5535998765432"));
    s.when(Command::UpdateContact {
        contact,
        name: None,
        number: Some("abc".into()),
    });
    s.then_error("invalid_input");
    s.when(Command::UpdateContact {
        contact: mirante_core::ContactId(999),
        name: None,
        number: None,
    });
    s.then_error("unknown_contact");
}
