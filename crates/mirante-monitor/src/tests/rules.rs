//! Rules by requirement id: given a contact center driven through a real core, when events
//! happen, then the monitor shows what SPEC §1 (M-…) and §3 (B-…) say.

use super::support::*;
use crate::{
    AgentStatus, Counters, Filter, Monitor, MonitorView, ProtocolStatus, TeamCard, Visibility,
};
use mirante_core::{
    AgentId, ChannelId, ChannelKind, Command, EventKind, Phase, SessionId, Target, TeamId,
    TeamSettings,
};

/// Two teams, three channels (WhatsApp → Vendas, Telegram → Suporte, web chat menu), agents
/// Ana (Vendas, cap 2) and Bia (Suporte, cap 1) online, Caio (both, cap 3) offline.
struct Center {
    w: World,
    vendas: TeamId,
    suporte: TeamId,
    whatsapp: ChannelId,
    telegram: ChannelId,
    webchat: ChannelId,
    ana: AgentId,
    bia: AgentId,
    caio: AgentId,
}

fn center() -> Center {
    let mut w = World::new();
    let vendas = w.team("Vendas");
    let suporte = w.team("Suporte");
    let whatsapp = w.channel_to(ChannelKind::Whatsapp, vendas);
    let telegram = w.channel_to(ChannelKind::Telegram, suporte);
    let webchat = w.channel_menu(ChannelKind::Webchat, vendas, suporte);
    let ana = w.online_agent("Ana", &[vendas], 2);
    let bia = w.online_agent("Bia", &[suporte], 1);
    let caio = w.agent("Caio", &[vendas, suporte], 3);
    Center {
        w,
        vendas,
        suporte,
        whatsapp,
        telegram,
        webchat,
        ana,
        bia,
        caio,
    }
}

fn card<'a>(v: &'a MonitorView<'_>, team: TeamId) -> &'a TeamCard {
    v.teams
        .iter()
        .find(|c| c.id == team)
        .unwrap_or_else(|| panic!("no card for team {team}"))
}

/// A team's queue as a client sees it: its rows in `phases.waiting`, in `queue_order`.
fn queue(v: &MonitorView<'_>, team: TeamId) -> Vec<SessionId> {
    let mut rows: Vec<_> = v
        .phases
        .waiting
        .iter()
        .filter(|r| r.team == Some(team))
        .collect();
    rows.sort_by_key(|r| r.queue_order());
    rows.iter().map(|r| r.id).collect()
}

/// A team's sessions in service: its rows in `phases.human`.
fn in_service(v: &MonitorView<'_>, team: TeamId) -> Vec<SessionId> {
    let rows = v.phases.human.iter().filter(|r| r.team == Some(team));
    rows.map(|r| r.id).collect()
}

fn counters(auto: u64, espera: u64, humano: u64) -> Counters {
    Counters::from_phases(auto, espera, humano)
}

// ---- counters ------------------------------------------------------------------------------

#[test]
fn m1_geral_is_sum() {
    let mut c = center();
    c.w.customer(c.webchat, "5511900000001"); // bot
    c.w.customer(c.whatsapp, "5511900000002"); // Ana
    c.w.customer(c.whatsapp, "5511900000003"); // Ana
    c.w.customer(c.whatsapp, "5511900000004"); // waits (Ana full)
    let v = c.w.view();
    assert_eq!(v.counters, counters(1, 1, 2));
    assert_eq!(v.counters.geral, 4);
}

#[test]
fn m2_auto_counts_sessions_in_the_bot() {
    let mut c = center();
    let s = c.w.customer(c.webchat, "5511900000001");
    assert_eq!(c.w.view().counters.auto, 1);
    // Choosing "2" routes to Suporte: it leaves the bot and Bia takes it.
    c.w.customer_named(c.webchat, "5511900000001", None, "2");
    let v = c.w.view();
    assert_eq!(v.counters, counters(0, 0, 1));
    assert_eq!(v.phases.human[0].id, s);
}

#[test]
fn m3_espera_counts_waiting_sessions() {
    let mut c = center();
    for i in 0..3 {
        c.w.customer(c.telegram, &format!("551190000010{i}"));
    }
    // Bia (capacity 1) serves one; two wait.
    assert_eq!(c.w.view().counters, counters(0, 2, 1));
}

#[test]
fn m4_humano_counts_sessions_with_an_agent() {
    let mut c = center();
    let s = c.w.customer(c.whatsapp, "5511900000001");
    assert_eq!(c.w.view().counters.humano, 1);
    c.w.finish(s);
    assert_eq!(c.w.view().counters, Counters::default());
}

#[test]
fn m5_filtered_counters_say_so_and_keep_the_totals() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    c.w.customer(c.telegram, "5511900000002");
    c.w.customer(c.webchat, "5511900000003");
    let f = Filter {
        channels: set(&[c.telegram]),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert!(v.filtered);
    assert_eq!(v.counters, counters(0, 0, 1));
    assert_eq!(v.unfiltered_counters, counters(1, 0, 2));
    let cheap = c.w.monitor.counters(&f, &Visibility::all());
    assert_eq!(
        (cheap.filtered, cheap.counters, cheap.unfiltered_counters),
        (true, v.counters, v.unfiltered_counters)
    );
    let plain = c.w.view();
    assert!(!plain.filtered);
    assert_eq!(plain.counters, plain.unfiltered_counters);
}

#[test]
fn m5_every_event_that_moves_a_session_reports_a_counter_change() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    assert!(c.w.last.counters);
    let s = c.w.view().phases.human[0].id;
    assert!(c.w.last.sessions.contains(&s));
    assert!(c.w.last.agents.contains(&c.ana));
    assert!(c.w.last.teams.contains(&c.vendas));
    c.w.run(Command::AgentMessage {
        session: s,
        agent: c.ana,
        text: "Olá".into(),
    });
    assert!(c.w.last.is_empty(), "an agent reply changes nothing shown");
    c.w.customer(c.whatsapp, "5511900000001");
    assert!(!c.w.last.counters);
    assert_eq!(c.w.last.sessions, set(&[s]));
}

// ---- Agentes ---------------------------------------------------------------------------------

#[test]
fn m10_agents_tab_lists_logged_in_agents_with_status_time_and_sessions() {
    let mut c = center();
    let almoco = c.w.pause_reason("Almoço", None);
    let s = c.w.customer(c.whatsapp, "5511900000001");
    c.w.advance(30);
    c.w.pause(c.bia, almoco);
    c.w.advance(60);
    let v = c.w.view();
    let names: Vec<&str> = v.agents.iter().map(|a| &*a.name).collect();
    assert_eq!(names, ["Ana", "Bia"], "Caio is offline: not listed");
    let ana = &v.agents[0];
    assert_eq!(ana.status, AgentStatus::Online);
    assert_eq!(ana.sessions, [s]);
    assert_eq!(ana.teams, [c.vendas]);
    assert_eq!(ana.in_status_ms, 90_000);
    let bia = &v.agents[1];
    assert_eq!(bia.status, AgentStatus::Paused);
    assert_eq!(bia.pause_reason.as_ref().map(|r| &*r.name), Some("Almoço"));
    assert_eq!(bia.since, t(30));
    assert_eq!(bia.in_status_ms, 60_000);
    assert!(!bia.available);
    c.w.run(Command::AgentLogin { agent: c.caio });
    assert_eq!(c.w.view().agents.len(), 3);
    c.w.logout(c.caio);
    assert_eq!(c.w.view().agents.len(), 2);
}

#[test]
fn m13_card_shows_open_sessions_over_capacity_even_beyond_it() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    let v = c.w.view();
    assert_eq!((v.agents[0].open, v.agents[0].capacity), (1, 2));
    c.w.customer(c.whatsapp, "5511900000002");
    let extra = c.w.customer(c.telegram, "5511900000003"); // Bia
    c.w.transfer(extra, Target::Agent(c.ana)); // a supervisor may exceed capacity (D-3)
    let v = c.w.view();
    let ana = &v.agents[0];
    assert_eq!((ana.open, ana.capacity, ana.available), (3, 2, false));
    assert_eq!(ana.sessions.len(), 3);
}

#[test]
fn m14_hidden_agent_card_is_omitted_but_its_sessions_still_count_and_show_in_fases() {
    let mut c = center();
    let s = c.w.customer(c.whatsapp, "5511900000001"); // Ana
    let vis = Visibility {
        hidden_agents: set(&[c.ana]),
        ..Visibility::all()
    };
    let v = c.w.view_with(&Filter::default(), &vis);
    assert!(v.agents.iter().all(|a| a.id != c.ana));
    assert_eq!(v.counters.humano, 1);
    assert_eq!(ids(&v.phases.human), [s]);
    let vendas = card(&v, c.vendas);
    assert_eq!(in_service(&v, c.vendas), [s]);
    assert_eq!(vendas.in_service_count, 1);
    assert_eq!(
        vendas.agents_online, 1,
        "a hidden agent still counts in its team"
    );
    assert!(
        c.w.monitor.agent_visible(c.ana, &vis),
        "hiding is not a permission"
    );
    assert!(
        c.w.monitor
            .filter_options(&vis)
            .agents
            .iter()
            .any(|a| a.id == c.ana)
    );
}

#[test]
fn m15_forced_logout_puts_sessions_back_at_the_front_of_the_team_list() {
    let mut c = center();
    let a1 = c.w.customer(c.whatsapp, "5511900000001");
    let a2 = c.w.customer(c.whatsapp, "5511900000002");
    let waiting = c.w.customer(c.whatsapp, "5511900000003");
    c.w.advance(30);
    c.w.logout(c.ana);
    let v = c.w.view();
    assert_eq!(v.counters, counters(0, 3, 0));
    // Next to be served first; Em espera stays oldest first (the re-queued waited less).
    assert_eq!(queue(&v, c.vendas), [a1, a2, waiting]);
    assert_eq!(ids(&v.phases.waiting), [waiting, a1, a2]);
    assert_eq!(card(&v, c.vendas).waiting_count, 3);
    assert_eq!(card(&v, c.vendas).longest_wait_ms, Some(30_000));
    let row = c.w.monitor.session(a1).expect("open");
    assert_eq!((row.phase, row.agent), (Phase::Waiting, None));
    assert!(row.protocol.is_some(), "keeps its protocol");
}

// ---- Equipes ---------------------------------------------------------------------------------

#[test]
fn m20_teams_tab_splits_waiting_and_in_service_with_longest_wait_and_agents() {
    let mut c = center();
    let almoco = c.w.pause_reason("Almoço", None);
    c.w.run(Command::AgentLogin { agent: c.caio });
    c.w.pause(c.caio, almoco);
    let served = c.w.customer(c.telegram, "5511900000001");
    let w1 = c.w.customer(c.telegram, "5511900000002");
    c.w.advance(40);
    let w2 = c.w.customer(c.telegram, "5511900000003");
    c.w.advance(5);
    let v = c.w.view();
    let suporte = card(&v, c.suporte);
    assert_eq!(queue(&v, c.suporte), [w1, w2]);
    assert_eq!(in_service(&v, c.suporte), [served]);
    assert_eq!((suporte.waiting_count, suporte.in_service_count), (2, 1));
    assert_eq!(suporte.longest_wait_ms, Some(45_000));
    assert_eq!(
        (
            suporte.agents_online,
            suporte.agents_paused,
            suporte.agents_available
        ),
        (1, 1, 0)
    );
    let vendas = card(&v, c.vendas);
    assert_eq!(
        (
            vendas.agents_online,
            vendas.agents_paused,
            vendas.agents_available
        ),
        (1, 1, 1)
    );
    assert_eq!(vendas.longest_wait_ms, None);
}

#[test]
fn m22_in_service_count_per_team() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    c.w.customer(c.whatsapp, "5511900000002");
    c.w.customer(c.telegram, "5511900000003");
    let v = c.w.view();
    assert_eq!(card(&v, c.vendas).in_service_count, 2);
    assert_eq!(card(&v, c.suporte).in_service_count, 1);
}

#[test]
fn m23_hidden_team_card_is_omitted_but_its_sessions_still_count() {
    let mut c = center();
    c.w.customer(c.telegram, "5511900000001");
    let vis = Visibility {
        hidden_teams: set(&[c.suporte]),
        ..Visibility::all()
    };
    let v = c.w.view_with(&Filter::default(), &vis);
    assert_eq!(v.teams.iter().map(|t| t.id).collect::<Vec<_>>(), [c.vendas]);
    assert_eq!(v.counters.humano, 1);
    assert_eq!(v.phases.human.len(), 1);
    assert!(v.agents.iter().any(|a| a.id == c.bia));
}

// ---- Fases -----------------------------------------------------------------------------------

#[test]
fn m30_bot_rows_show_the_bot_step() {
    let mut c = center();
    let s = c.w.customer(c.webchat, "5511900000001");
    let v = c.w.view();
    assert_eq!(ids(&v.phases.bot), [s]);
    assert_eq!(v.phases.bot[0].bot_step.as_deref(), Some("menu"));
    c.w.customer_named(c.webchat, "5511900000001", None, "4"); // collect CPF
    assert_eq!(c.w.view().phases.bot[0].bot_step.as_deref(), Some("cpf"));
}

#[test]
fn m31_waiting_oldest_first_with_waiting_time_and_team() {
    let mut c = center();
    c.w.customer(c.telegram, "5511900000001"); // Bia
    let first = c.w.customer(c.telegram, "5511900000002");
    c.w.advance(10);
    c.w.customer(c.whatsapp, "5511900000003"); // Ana
    c.w.customer(c.whatsapp, "5511900000004"); // Ana
    let second = c.w.customer(c.whatsapp, "5511900000005");
    c.w.advance(10);
    let third = c.w.customer(c.telegram, "5511900000006");
    c.w.advance(1);
    let v = c.w.view();
    assert_eq!(ids(&v.phases.waiting), [first, second, third]);
    let waits: Vec<Option<i64>> = v.phases.waiting.iter().map(|r| r.waiting_ms()).collect();
    assert_eq!(waits, [Some(21_000), Some(11_000), Some(1_000)]);
    let teams: Vec<TeamId> = v.phases.waiting.iter().filter_map(|r| r.team).collect();
    assert_eq!(teams, [c.suporte, c.vendas, c.suporte]);
}

#[test]
fn m32_human_rows_show_agent_team_protocol_duration_and_customer_silence() {
    let mut c = center();
    let s =
        c.w.customer_named(c.whatsapp, "5511900000001", Some("Maria"), "oi");
    c.w.advance(20);
    c.w.customer(c.whatsapp, "5511900000001");
    c.w.advance(7);
    let v = c.w.view();
    let row = &v.phases.human[0];
    assert_eq!(row.id, s);
    assert_eq!(row.agent, Some(c.ana));
    assert_eq!(row.team, Some(c.vendas));
    assert_eq!(row.protocol.as_deref(), Some("20261123000001"));
    assert_eq!(row.in_service_ms(), Some(27_000));
    assert_eq!(row.since_customer_ms(), 7_000);
    assert_eq!(&*row.contact_name, "Maria");
    assert_eq!(row.contact_number.as_deref(), Some("5511900000001"));
}

#[test]
fn renames_show_on_open_rows_and_a_view_taken_before_keeps_its_names() {
    let mut c = center();
    let s =
        c.w.customer_named(c.whatsapp, "5511900000001", Some("Maria"), "oi");
    // A view borrows the model; an owned one holds its rows.
    let before = c.w.view().into_owned();
    let contact = before.phases.human[0].contact;
    c.w.run(Command::UpdateTeam {
        team: c.vendas,
        name: Some("Vendas B2C".into()),
        settings: None,
        enabled: None,
    });
    c.w.run(Command::UpdateAgent {
        agent: c.ana,
        name: Some("Ana Paula".into()),
        nickname: None,
        email: None,
        teams: None,
        capacity: None,
        enabled: None,
    });
    c.w.run(Command::UpdateChannel {
        channel: c.whatsapp,
        name: Some("WhatsApp Loja".into()),
        flow: None,
        enabled: None,
    });
    c.w.run(Command::UpdateContact {
        contact,
        name: Some("Maria Souza".into()),
        number: None,
    });
    let row = c.w.monitor.row(s, c.w.now).expect("open");
    let f = row.fields();
    assert_eq!(f.team.map(|t| t.name).as_deref(), Some("Vendas B2C"));
    assert_eq!(f.agent.map(|a| a.name).as_deref(), Some("Ana Paula"));
    assert_eq!(&*f.channel_name, "WhatsApp Loja");
    assert_eq!(&*f.contact_name, "Maria Souza");
    // The rows of an owned view are immutable: one taken before still shows the old names.
    let old = before.phases.human[0].fields();
    assert_eq!(old.team.map(|t| t.name).as_deref(), Some("Vendas"));
    assert_eq!(&*old.contact_name, "Maria");
    c.w.assert_matches_rebuilt();
}

// ---- filters ---------------------------------------------------------------------------------

#[test]
fn m50_filter_by_agents() {
    let mut c = center();
    let a = c.w.customer(c.whatsapp, "5511900000001"); // Ana
    let b = c.w.customer(c.telegram, "5511900000002"); // Bia
    c.w.customer(c.webchat, "5511900000003"); // bot
    let f = Filter {
        agents: set(&[c.ana]),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(v.counters, counters(0, 0, 1));
    assert_eq!(ids(&v.phases.human), [a]);
    assert_eq!(v.agents.iter().map(|x| x.id).collect::<Vec<_>>(), [c.ana]);
    assert_eq!(v.teams.iter().map(|x| x.id).collect::<Vec<_>>(), [c.vendas]);
    let both = Filter {
        agents: set(&[c.ana, c.bia]),
        ..Filter::default()
    };
    let v = c.w.view_with(&both, &Visibility::all());
    assert_eq!(ids(&v.phases.human), [a, b]);
}

#[test]
fn m51_filter_by_teams() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    let s = c.w.customer(c.telegram, "5511900000002");
    let w = c.w.customer(c.telegram, "5511900000003");
    let f = Filter {
        teams: set(&[c.suporte]),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(v.counters, counters(0, 1, 1));
    assert_eq!(
        (ids(&v.phases.human), ids(&v.phases.waiting)),
        (vec![s], vec![w])
    );
    assert_eq!(v.teams.len(), 1);
    assert_eq!(v.agents.iter().map(|x| x.id).collect::<Vec<_>>(), [c.bia]);
}

#[test]
fn m52_filter_by_channels() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    let b = c.w.customer(c.webchat, "5511900000002");
    let f = Filter {
        channels: set(&[c.webchat, c.telegram]),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(v.counters, counters(1, 0, 0));
    assert_eq!(ids(&v.phases.bot), [b]);
}

#[test]
fn m53_contact_by_exact_name_after_trimming() {
    let mut c = center();
    let s = c.w.customer_named(
        c.whatsapp,
        "5535998765432",
        Some("Maria Luiza de Santos Reis"),
        "oi",
    );
    c.w.customer_named(c.whatsapp, "5535998765433", Some("Maria Luiza"), "oi");
    let by = |text: &str| {
        let f = Filter {
            contact: Some(text.into()),
            ..Filter::default()
        };
        c.w.view_with(&f, &Visibility::all())
    };
    let v = by("  Maria Luiza de Santos Reis ");
    assert_eq!(ids(&v.phases.human), [s]);
    assert_eq!(v.agents.len(), 1);
    assert_eq!(by("Maria").counters.geral, 0, "no prefix match");
    assert_eq!(by("maria luiza de santos reis").counters.geral, 0, "exact");
}

#[test]
fn m53_contact_by_normalised_number() {
    let mut c = center();
    let s =
        c.w.customer_named(c.whatsapp, "5535998765432", Some("Maria"), "oi");
    // A Telegram chat id is not a phone number (only WhatsApp and SMS identifiers are).
    c.w.customer(c.telegram, "5511900000001");
    let f = Filter {
        contact: Some("+55 (35) 99876-5432".into()),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(v.counters.geral, 1);
    assert_eq!(ids(&v.phases.human), [s]);
    assert_eq!(v.teams.iter().map(|t| t.id).collect::<Vec<_>>(), [c.vendas]);
    assert_eq!(v.agents.iter().map(|a| a.id).collect::<Vec<_>>(), [c.ana]);
}

#[test]
fn m53_contact_renamed_is_found_by_its_new_name_only() {
    let mut c = center();
    let s =
        c.w.customer_named(c.whatsapp, "5511900000001", Some("Zé"), "oi");
    let mut contact =
        c.w.core
            .state()
            .contacts
            .values()
            .next()
            .cloned()
            .expect("c");
    contact.name = "José".into();
    let evs = vec![mirante_core::Event {
        at: c.w.now,
        kind: EventKind::ContactUpdated { contact },
    }];
    c.w.core.apply(&evs[0]);
    c.w.feed(evs);
    assert!(c.w.last.sessions.contains(&s));
    let by = |n: &str| Filter {
        contact: Some(n.into()),
        ..Filter::default()
    };
    assert_eq!(
        c.w.monitor
            .counters(&by("José"), &Visibility::all())
            .counters
            .geral,
        1
    );
    assert_eq!(
        c.w.monitor
            .counters(&by("Zé"), &Visibility::all())
            .counters
            .geral,
        0
    );
    c.w.assert_matches_rebuilt();
}

#[test]
fn m54_protocol_of_an_open_session_is_found() {
    let mut c = center();
    let s = c.w.customer(c.whatsapp, "5511900000001");
    let f = Filter {
        protocol: Some("20261123000001".into()),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(ids(&v.phases.human), [s]);
    assert!(!v.protocol_not_open);
    assert_eq!(v.protocol_status, Some(ProtocolStatus::Open));
}

#[test]
fn m54_protocol_of_a_finished_session_says_so() {
    let mut c = center();
    let s = c.w.customer(c.whatsapp, "5511900000001");
    c.w.finish(s);
    let f = Filter {
        protocol: Some("20261123000001".into()),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(v.counters.geral, 0);
    assert!(v.protocol_not_open);
    assert_eq!(v.protocol_status, Some(ProtocolStatus::Finished));
    let unknown = Filter {
        protocol: Some("20261123000002".into()),
        ..Filter::default()
    };
    let v = c.w.view_with(&unknown, &Visibility::all());
    assert!(v.protocol_not_open);
    assert_eq!(v.protocol_status, Some(ProtocolStatus::Unknown));
}

#[test]
fn m55_or_within_a_kind_and_across_kinds() {
    let mut c = center();
    let wa = c.w.customer(c.whatsapp, "5511900000001"); // Ana, Vendas
    let tg = c.w.customer(c.telegram, "5511900000002"); // Bia, Suporte
    c.w.customer(c.webchat, "5511900000003"); // bot
    let f = Filter {
        channels: set(&[c.whatsapp, c.telegram]),
        teams: set(&[c.suporte]),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &Visibility::all());
    assert_eq!(ids(&v.phases.human), [tg]);
    let f = Filter {
        channels: set(&[c.whatsapp, c.telegram]),
        ..Filter::default()
    };
    assert_eq!(
        ids(&c.w.view_with(&f, &Visibility::all()).phases.human),
        [wa, tg]
    );
    let none = Filter {
        agents: set(&[c.ana]),
        teams: set(&[c.suporte]),
        ..Filter::default()
    };
    assert_eq!(c.w.view_with(&none, &Visibility::all()).counters.geral, 0);
}

// ---- visibility ------------------------------------------------------------------------------

#[test]
fn m60_restricted_admin_sees_only_its_teams_everywhere() {
    let mut c = center();
    c.w.run(Command::AgentLogin { agent: c.caio });
    let wa = c.w.customer(c.whatsapp, "5511900000001"); // Vendas
    let tg = c.w.customer(c.telegram, "5511900000002"); // Suporte
    let bot = c.w.customer(c.webchat, "5511900000003"); // bot: no team yet
    let vis = Visibility::teams([c.suporte]);
    let v = c.w.view_with(&Filter::default(), &vis);
    assert_eq!(v.counters, counters(0, 0, 1));
    assert_eq!(v.unfiltered_counters, v.counters);
    assert_eq!(ids(&v.phases.human), [tg]);
    assert_eq!(
        v.teams.iter().map(|t| t.id).collect::<Vec<_>>(),
        [c.suporte]
    );
    let agents: Vec<AgentId> = v.agents.iter().map(|a| a.id).collect();
    assert_eq!(agents, [c.bia, c.caio], "members of Suporte only");
    let caio = v.agents.iter().find(|a| a.id == c.caio).expect("caio");
    assert_eq!(caio.teams, [c.suporte], "only teams within scope");
    // A filter cannot reach outside the scope.
    let f = Filter {
        teams: set(&[c.vendas]),
        ..Filter::default()
    };
    let v = c.w.view_with(&f, &vis);
    assert_eq!(v.counters.geral, 0);
    assert!(v.teams.is_empty());
    assert_eq!(c.w.monitor.counters(&f, &vis).counters.geral, 0);
    // Filter options and lookups.
    let opts = c.w.monitor.filter_options(&vis);
    assert_eq!(
        opts.teams.iter().map(|t| t.id).collect::<Vec<_>>(),
        [c.suporte]
    );
    let names: Vec<&str> = opts.agents.iter().map(|a| &*a.name).collect();
    assert_eq!(names, ["Bia", "Caio"]);
    assert!(c.w.monitor.session_visible(tg, &vis));
    assert!(!c.w.monitor.session_visible(wa, &vis));
    assert!(!c.w.monitor.session_visible(bot, &vis));
    assert!(!c.w.monitor.agent_visible(c.ana, &vis));
    assert!(c.w.monitor.agent_visible(c.caio, &vis));
    assert!(!c.w.monitor.team_visible(c.vendas, &vis));
    assert!(c.w.monitor.team_visible(c.suporte, &vis));
    assert!(!c.w.monitor.matches(wa, &Filter::default(), &vis));
    // Everything, for an unrestricted admin.
    assert_eq!(c.w.view().counters, counters(1, 0, 2));
}

#[test]
fn m60_a_session_transferred_out_of_scope_disappears_from_it() {
    let mut c = center();
    let s = c.w.customer(c.telegram, "5511900000001");
    let vis = Visibility::teams([c.suporte]);
    assert_eq!(c.w.view_with(&Filter::default(), &vis).counters.geral, 1);
    c.w.transfer(s, Target::Team(c.vendas));
    assert!(c.w.last.teams.contains(&c.suporte) && c.w.last.teams.contains(&c.vendas));
    let v = c.w.view_with(&Filter::default(), &vis);
    assert_eq!(v.counters.geral, 0);
    assert_eq!(card(&v, c.suporte).in_service_count, 0);
    assert!(in_service(&v, c.suporte).is_empty());
}

// ---- beyond ----------------------------------------------------------------------------------

#[test]
fn b1_service_level_today_against_the_team_target() {
    let mut c = center();
    let fast = TeamSettings {
        service_level_target_ms: 10_000,
        ..TeamSettings::default()
    };
    c.w.run(Command::UpdateTeam {
        team: c.suporte,
        name: None,
        settings: Some(fast),
        enabled: None,
    });
    let first = c.w.customer(c.telegram, "5511900000001"); // answered at once
    let second = c.w.customer(c.telegram, "5511900000002"); // waits
    c.w.advance(30);
    c.w.finish(first); // Bia takes `second` after 30 s
    let third = c.w.customer(c.telegram, "5511900000003");
    c.w.advance(6);
    c.w.finish(second); // `third` after 6 s
    let v = c.w.view();
    let suporte = card(&v, c.suporte);
    assert_eq!(suporte.answered_today, 3);
    assert_eq!(suporte.answered_within_target_today, 2);
    assert_eq!(suporte.avg_wait_today_ms, Some(12_000));
    let sl = suporte.service_level_today.expect("some answered");
    assert!((sl - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(suporte.service_level_target_ms, 10_000);
    assert_eq!(ids(&v.phases.human), [third]);
    let vendas = card(&v, c.vendas);
    assert_eq!(
        (vendas.answered_today, vendas.service_level_today),
        (0, None)
    );
    assert_eq!(
        (
            vendas.service_level_target_ms,
            vendas.service_level_goal_percent
        ),
        (20_000, 80)
    );
}

#[test]
fn b1_service_level_today_resets_at_the_local_day_boundary() {
    let mut c = center();
    // 09:00 in São Paulo; 14h59m later it is 23:59 there, and 02:59 UTC the next day.
    c.w.advance(14 * 3600 + 59 * 60);
    c.w.customer(c.whatsapp, "5511900000001");
    let v = c.w.view();
    assert_eq!(card(&v, c.vendas).answered_today, 1);
    c.w.advance(60); // 00:00 in São Paulo
    let v = c.w.view();
    assert_eq!(card(&v, c.vendas).answered_today, 0, "a new local day");
    assert_eq!(card(&v, c.vendas).avg_wait_today_ms, None);
    c.w.customer(c.whatsapp, "5511900000002");
    assert_eq!(card(&c.w.view(), c.vendas).answered_today, 1);
}

#[test]
fn b1_reassignments_do_not_count_again() {
    let mut c = center();
    let s = c.w.customer(c.telegram, "5511900000001");
    c.w.transfer(s, Target::Agent(c.ana));
    c.w.transfer(s, Target::Team(c.suporte));
    let v = c.w.view();
    assert_eq!(card(&v, c.suporte).answered_today, 1);
    assert_eq!(card(&v, c.vendas).answered_today, 0);
}

#[test]
fn b2_counters_equal_list_sizes() {
    let mut c = center();
    for i in 0..4 {
        c.w.customer(c.whatsapp, &format!("551190000000{i}"));
        c.w.customer(c.telegram, &format!("551190000010{i}"));
        c.w.customer(c.webchat, &format!("551190000020{i}"));
    }
    c.w.advance(15);
    let v = c.w.view();
    assert_eq!(v.counters.auto as usize, v.phases.bot.len());
    assert_eq!(v.counters.espera as usize, v.phases.waiting.len());
    assert_eq!(v.counters.humano as usize, v.phases.human.len());
    let waiting: u64 = v.teams.iter().map(|t| t.waiting_count).sum();
    let in_service: u64 = v.teams.iter().map(|t| t.in_service_count).sum();
    assert_eq!(
        (waiting, in_service),
        (v.counters.espera, v.counters.humano)
    );
    let on_cards: usize = v.agents.iter().map(|a| a.sessions.len()).sum();
    assert_eq!(on_cards as u64, v.counters.humano);
    assert_eq!(v.seq, c.w.log.len() as u64);
}

#[test]
fn b4_pause_reason_and_time_in_pause_flag_long_pauses() {
    let mut c = center();
    let cafe = c.w.pause_reason("Café", Some(600_000));
    c.w.pause(c.ana, cafe);
    c.w.advance(599);
    let v = c.w.view();
    assert!(!v.agents[0].pause_exceeded);
    c.w.advance(2);
    let v = c.w.view();
    assert_eq!(v.agents[0].in_status_ms, 601_000);
    assert!(v.agents[0].pause_exceeded);
}

// ---- the model itself ----------------------------------------------------------------------

#[test]
fn bootstrap_from_a_snapshot_equals_the_incremental_model() {
    let mut c = center();
    for i in 0..3 {
        c.w.customer(c.whatsapp, &format!("551190000000{i}"));
        c.w.customer(c.webchat, &format!("551190000020{i}"));
    }
    c.w.logout(c.ana);
    c.w.assert_matches_rebuilt();
    let rebuilt = Monitor::from_state(c.w.core.state(), c.w.monitor.seq());
    let mut a = c.w.view();
    let mut b = rebuilt.view(&Filter::default(), &Visibility::all(), c.w.now);
    // Today's figures start empty after a bootstrap (documented); the rest is equal.
    for t in a.teams.iter_mut().chain(b.teams.iter_mut()) {
        t.answered_today = 0;
        t.answered_within_target_today = 0;
        t.avg_wait_today_ms = None;
        t.service_level_today = None;
    }
    assert_eq!(a, b);
}

#[test]
fn the_view_serializes_with_snake_case_english_fields() {
    let mut c = center();
    c.w.customer(c.whatsapp, "5511900000001");
    let json = serde_json::to_value(c.w.view()).expect("json");
    assert_eq!(json["counters"]["geral"], 1);
    assert_eq!(json["phases"]["human"][0]["phase"], "human");
    assert_eq!(json["phases"]["human"][0]["protocol"], "20261123000001");
    assert_eq!(json["agents"][0]["status"], "online");
    assert!(json["teams"][0]["service_level_target_ms"].is_number());
    assert_eq!(json["protocol_not_open"], false);
}

#[test]
fn a_finished_session_row_is_gone() {
    let mut c = center();
    let s = c.w.customer(c.whatsapp, "5511900000001");
    assert!(c.w.monitor.row(s, c.w.now).is_some());
    c.w.finish(s);
    assert!(c.w.last.sessions.contains(&s));
    assert!(c.w.monitor.session(s).is_none());
    assert!(c.w.monitor.row(SessionId(999), c.w.now).is_none());
}
