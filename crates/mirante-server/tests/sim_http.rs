//! The simulator over HTTP against a real server on loopback (`mirante_sim::http`): the
//! demo scenario is configured through the admin API, customers write through the channel
//! API with their channel's token, agents act through `/api/v1/me` with their own sessions,
//! and what the server decided is learnt from the monitor. Asserts real outcomes on the
//! server: sessions started, the bot answered (its messages are in the channels' outbound
//! feeds), agents served and finished sessions, the simulator's picture agrees with
//! `GET /api/v1/monitor`, and the only refusals are the expected kinds.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use mirante_core::Phase;
use mirante_server::{RunConfig, run};
use mirante_sim::http::{Api, HttpDriver, SetupError, setup};
use mirante_sim::scenario::{DAY_MS, Shift};
use mirante_sim::{Scenario, Simulation, demo};
use mirante_store::accounts::{DEFAULT_GROUP_ID, MemoryAccounts};
use mirante_store::memory::MemoryStore;

const EMAIL: &str = "simulador@mirante.test";
const PASSWORD: &str = "uma senha de teste longa";

/// Simulated time driven through the server.
const MINUTES: i64 = 10;

/// The demo contact center with a smaller roster (every agent needs a login: one password
/// hash and one log-in each): eight of the agents on shift at the start, and a lighter load.
fn scenario() -> Scenario {
    let mut sc = demo::demo(demo::DEMO_START);
    let local_min = sc.local_ms(sc.start).rem_euclid(DAY_MS) / 60_000;
    sc.agents.retain(|a| match a.shift {
        Shift::Daily { start_min, .. } => {
            let len = a.shift.len_ms().unwrap_or(0) / 60_000;
            let (start, now) = (i64::from(start_min), local_min);
            start <= now && now < start + len
        }
        Shift::Always => true,
    });
    sc.agents.truncate(8);
    sc.rate_multiplier *= 0.6;
    sc
}

#[test]
fn the_demo_scenario_runs_over_http_with_real_outcomes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let accounts = Arc::new(MemoryAccounts::new());
    mirante_server::auth::create_admin(
        accounts.as_ref(),
        EMAIL,
        "Simulador",
        PASSWORD,
        DEFAULT_GROUP_ID,
        0,
    )
    .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(run(
        RunConfig::default(),
        MemoryStore::new(),
        accounts,
        listener,
        |_| {},
        async move {
            let _ = stopped.await;
        },
    ));

    // The simulator is synchronous (blocking HTTP): it runs on this thread.
    let api = Api::new(&format!("http://{addr}")).unwrap();
    let scenario = scenario();
    let prepared = setup(&api, &scenario, EMAIL, PASSWORD).unwrap();
    assert_eq!(prepared.credentials.channels.len(), 3);
    assert_eq!(prepared.credentials.agents.len(), scenario.agents.len());
    let mut sim = Simulation::new(scenario, HttpDriver::new(api.clone(), &prepared), 11);
    sim.resume(&prepared.config).unwrap();
    let end = sim.now().plus_ms(MINUTES * 60_000);
    sim.run_until(end);
    let stats = sim.stats().clone();

    // Sessions were created, went through the bot into queues, and agents served them.
    assert!(stats.sessions_started >= 20, "{stats:?}");
    assert!(stats.routed > 0, "{stats:?}");
    assert!(stats.first_assignments > 0, "{stats:?}");
    assert!(stats.served > 0, "{stats:?}");
    assert!(stats.logins > 0, "{stats:?}");
    // The routing invariants hold on the picture rebuilt from the monitor.
    assert_eq!(
        stats.work_conservation_violations,
        0,
        "{:?}",
        sim.world().violation_notes
    );
    assert_eq!(
        stats.fifo_violations,
        0,
        "{:?}",
        sim.world().violation_notes
    );
    // Refusals only of the expected kinds: a customer leaving the queue has no channel
    // route (a real customer just stops writing).
    let codes: BTreeSet<&str> = stats.refusals.keys().map(|(_, c)| c.as_str()).collect();
    assert!(
        codes.iter().all(|c| ["no_channel_route"].contains(c)),
        "{:?}",
        stats.refusal_samples
    );

    // The bot answered: its messages are in the channels' outbound feeds.
    let creds = sim.driver().credentials().clone();
    let mut bot_messages = 0;
    let mut agent_messages = 0;
    for (channel, token) in &creds.channels {
        let page = api
            .get(
                &format!("/api/v1/channels/{channel}/outbound?after=0&limit=1000"),
                token,
            )
            .unwrap();
        for m in page["messages"].as_array().unwrap() {
            match m["author"].as_str() {
                Some("bot") => bot_messages += 1,
                Some("agent") => agent_messages += 1,
                _ => {}
            }
        }
    }
    assert!(
        bot_messages > 0 && agent_messages > 0,
        "{bot_messages} {agent_messages}"
    );

    // The simulator's picture is the server's: the monitor's counters and agents.
    let view = api.get("/api/v1/monitor", &creds.supervisor).unwrap();
    let world = sim.world();
    let count = |p: Phase| world.sessions.values().filter(|s| s.phase == p).count() as u64;
    let counters = &view["unfiltered_counters"];
    let n = |k: &str| counters[k].as_u64().unwrap();
    assert_eq!(n("auto"), count(Phase::Bot), "{counters}");
    assert_eq!(n("espera"), count(Phase::Waiting), "{counters}");
    assert_eq!(n("humano"), count(Phase::Human), "{counters}");
    assert_eq!(n("geral"), world.sessions.len() as u64, "{counters}");
    let online: BTreeSet<u64> = view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    let world_online: BTreeSet<u64> = world
        .agents
        .iter()
        .filter(|(_, a)| a.presence != mirante_core::Presence::Offline)
        .map(|(id, _)| id.0)
        .collect();
    assert_eq!(online, world_online);
    // Finished sessions are no longer open on the server.
    let finished: u64 = stats.finished.values().sum();
    assert_eq!(stats.sessions_started - finished, n("geral"), "{stats:?}");

    // Each agent acted with its own session.
    for (agent, caller) in &creds.agents {
        let status = api.get("/api/v1/me/status", caller).unwrap();
        assert_eq!(status["agent"]["id"].as_u64(), Some(agent.0));
    }

    // A second run needs a fresh server: nothing is configured twice.
    let again = setup(&api, &crate::scenario(), EMAIL, PASSWORD);
    assert!(
        matches!(
            again,
            Err(SetupError::NotFresh {
                channels: 3,
                teams: 3
            })
        ),
        "{again:?}"
    );

    stop.send(()).unwrap();
    rt.block_on(server).unwrap().unwrap();
}
