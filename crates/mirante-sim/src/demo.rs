//! The demo contact center: *Mirante Telecom*, a Brazilian internet provider serving customers
//! on WhatsApp Business, Telegram and web chat, with three teams (Financeiro, Suporte,
//! Vendas), 30 agents on staggered shifts and a bot menu per channel.
//!
//! # Distributions (all times drawn from the seeded generator, see [`crate::dist`])
//!
//! | what | distribution | value |
//! |---|---|---|
//! | arrivals per channel | Poisson, rate × daily curve (thinning) | peaks of 300/h (WhatsApp), 90/h (Telegram), 130/h (web chat) at 10h; night ≈ 3–6 % of the peak |
//! | think time at a bot prompt | lognormal | median 12 s, σ 0.6 |
//! | silent at a bot prompt | Bernoulli | 4 % (the bot times out after 3 min) |
//! | invalid answer | Bernoulli | 8 % per answer |
//! | words instead of the number | Bernoulli | 30 % (a synonym or the label) |
//! | patience in the queue | lognormal | median 6 min, σ 0.8 (then the customer finishes the session) |
//! | nudge while waiting | Bernoulli, then uniform 1–3 min | 25 % |
//! | customer messages in service | lognormal gaps | median 50 s, σ 0.7; 5 % never write again |
//! | returning contact | Bernoulli | 15 % of arrivals (an idle known contact of the channel) |
//! | handling time | lognormal | median 6 min, σ 0.6 (mean ≈ 7.2 min) |
//! | agent's first message | lognormal | median 15 s, σ 0.5 |
//! | agent message gaps | lognormal | median 45 s, σ 0.6 |
//! | transfer at the end | Bernoulli | 4 % (70 % to another team, 30 % to an available colleague) |
//! | log-in around the shift start | uniform | ± 5 min |
//! | Café | twice per shift of ≥ 5 h (at 25 % and 75 % ± 20 min), 90 % each | lognormal median 10 min, σ 0.3 |
//! | Almoço | once per shift of ≥ 7 h (at 50 % ± 30 min) | lognormal median 60 min, σ 0.1 |
//! | Treinamento | 10 % of shifts (at 40 % ± 1 h) | uniform 30–60 min |
//! | end of shift | pause *Fim de expediente* until the open sessions are finished, then log-out | |

use crate::dist::Dist;
use crate::names::ascii_lower;
use crate::scenario::{
    AgentModel, AgentSpec, Arrivals, ChannelSpec, CustomerModel, DailyCurve, PausePlan,
    PauseReasonSpec, Scenario, Shift, TeamSpec,
};
use mirante_core::flow::{FieldFormat, FlowDef, MenuOption, Step};
use mirante_core::{ChannelKind, DistributionMode, TeamId, TeamSettings, Timestamp};
use std::collections::BTreeMap;

/// 2026-03-02 (a Monday) 09:30 in São Paulo (12:30 UTC): the morning peak is building.
pub const DEMO_START: Timestamp = Timestamp(1_772_454_600_000);

const MIN: i64 = 60_000;

/// One agent of the roster: name, teams, capacity, shift (start h, start min, end h, end min,
/// local time).
type Roster = (
    &'static str,
    &'static [&'static str],
    u32,
    (u32, u32, u32, u32),
);

/// The 30 agents.
const AGENTS: &[Roster] = &[
    ("Ana Paula Ferreira", &["Financeiro"], 3, (8, 0, 17, 0)),
    ("Bruno Carvalho", &["Financeiro"], 3, (9, 0, 18, 0)),
    ("Carla Mendes", &["Financeiro", "Suporte"], 3, (7, 0, 13, 0)),
    ("Diego Almeida", &["Financeiro"], 3, (12, 0, 21, 0)),
    ("Elaine Rocha", &["Financeiro"], 3, (8, 0, 17, 0)),
    (
        "Fábio Nogueira",
        &["Financeiro", "Vendas"],
        3,
        (10, 0, 19, 0),
    ),
    ("Gisele Barros", &["Financeiro"], 2, (13, 0, 19, 0)),
    ("Henrique Moura", &["Suporte"], 2, (7, 0, 16, 0)),
    ("Isabela Cunha", &["Suporte"], 2, (8, 0, 17, 0)),
    ("Jorge Batista", &["Suporte"], 2, (8, 0, 17, 0)),
    ("Karina Lopes", &["Suporte"], 2, (9, 0, 18, 0)),
    ("Leandro Dias", &["Suporte"], 2, (9, 0, 18, 0)),
    ("Mônica Teixeira", &["Suporte"], 2, (10, 0, 19, 0)),
    ("Nelson Araújo", &["Suporte"], 2, (12, 0, 21, 0)),
    ("Otávio Ramos", &["Suporte", "Vendas"], 3, (13, 0, 22, 0)),
    ("Priscila Gomes", &["Suporte"], 2, (14, 0, 22, 0)),
    ("Rafaela Castro", &["Suporte"], 2, (0, 0, 8, 0)),
    ("Samuel Pinto", &["Suporte"], 2, (22, 0, 6, 0)),
    ("Tatiane Freitas", &["Suporte"], 2, (6, 0, 12, 0)),
    (
        "Ubirajara Santos",
        &["Suporte", "Financeiro"],
        3,
        (11, 0, 20, 0),
    ),
    ("Vanessa Martins", &["Vendas"], 4, (8, 0, 17, 0)),
    ("Wagner Oliveira", &["Vendas"], 4, (9, 0, 18, 0)),
    ("Yasmin Ribeiro", &["Vendas"], 4, (10, 0, 19, 0)),
    ("José Marques", &["Vendas"], 4, (12, 0, 21, 0)),
    ("Aline Cardoso", &["Vendas", "Suporte"], 3, (9, 0, 15, 0)),
    ("Caio Azevedo", &["Vendas"], 4, (13, 0, 22, 0)),
    ("Débora Melo", &["Vendas"], 3, (8, 0, 14, 0)),
    ("Everton Soares", &["Suporte"], 2, (15, 0, 23, 0)),
    ("Flávia Correia", &["Financeiro"], 3, (14, 0, 22, 0)),
    ("Gustavo Monteiro", &["Suporte", "Vendas"], 3, (18, 0, 0, 0)),
];

/// The pause reason used while an agent finishes its last sessions of the day.
pub const END_OF_SHIFT: &str = "Fim de expediente";

/// The demo scenario starting at `start` (use [`DEMO_START`] for tests).
pub fn demo(start: Timestamp) -> Scenario {
    let teams = vec![
        TeamSpec {
            name: "Financeiro".into(),
            settings: team_settings(
                DistributionMode::LeastBusy,
                15,
                15,
                &[
                    "Segunda via enviada",
                    "Negociação de débito",
                    "Pagamento confirmado",
                    "Outros",
                ],
            ),
            overflow: None,
        },
        TeamSpec {
            name: "Suporte".into(),
            settings: team_settings(
                DistributionMode::Sequential,
                15,
                25,
                &[
                    "Problema resolvido",
                    "Visita técnica agendada",
                    "Encaminhado ao N2",
                    "Outros",
                ],
            ),
            overflow: None,
        },
        TeamSpec {
            name: "Vendas".into(),
            settings: team_settings(
                DistributionMode::LeastBusy,
                20,
                8,
                &[
                    "Venda realizada",
                    "Cliente vai pensar",
                    "Sem interesse",
                    "Outros",
                ],
            ),
            overflow: Some("Suporte".into()),
        },
    ];
    let (fin, sup, ven) = (TeamId(1), TeamId(2), TeamId(3));
    let curve = DailyCurve::business_day();
    let channels = vec![
        ChannelSpec {
            kind: ChannelKind::Whatsapp,
            name: "WhatsApp Business".into(),
            flow: whatsapp_flow(fin, sup, ven),
            arrivals: Arrivals {
                peak_per_hour: 300.0,
                curve: curve.clone(),
            },
        },
        ChannelSpec {
            kind: ChannelKind::Telegram,
            name: "Telegram".into(),
            flow: telegram_flow(fin, sup, ven),
            arrivals: Arrivals {
                peak_per_hour: 90.0,
                curve: curve.clone(),
            },
        },
        ChannelSpec {
            kind: ChannelKind::Webchat,
            name: "Webchat".into(),
            flow: webchat_flow(fin, sup, ven),
            arrivals: Arrivals {
                peak_per_hour: 130.0,
                curve,
            },
        },
    ];
    let agents = AGENTS
        .iter()
        .map(|(name, teams, capacity, (sh, sm, eh, em))| {
            let mut words = name.split_whitespace();
            let first = words.next().unwrap_or("agente");
            let last = words.last().unwrap_or("mirante");
            AgentSpec {
                name: (*name).to_string(),
                email: format!(
                    "{}.{}@mirante.example",
                    ascii_lower(first),
                    ascii_lower(last)
                ),
                teams: teams.iter().map(|t| (*t).to_string()).collect(),
                capacity: *capacity,
                shift: Shift::daily(*sh, *sm, *eh, *em),
            }
        })
        .collect();
    let pause_reasons = vec![
        PauseReasonSpec {
            name: "Almoço".into(),
            max_duration_ms: Some(70 * MIN),
        },
        PauseReasonSpec {
            name: "Café".into(),
            max_duration_ms: Some(15 * MIN),
        },
        PauseReasonSpec {
            name: "Treinamento".into(),
            max_duration_ms: Some(90 * MIN),
        },
        PauseReasonSpec {
            name: END_OF_SHIFT.into(),
            max_duration_ms: None,
        },
    ];
    Scenario {
        name: "Mirante Telecom (demo)".into(),
        start,
        utc_offset_minutes: -180,
        rate_multiplier: 1.0,
        bot_inactivity_ms: Some(3 * MIN),
        pause_reasons,
        teams,
        channels,
        agents,
        customers: CustomerModel {
            think: Dist::lognormal_s(12.0, 0.6),
            p_silent_in_bot: 0.04,
            p_invalid: 0.08,
            p_words: 0.30,
            patience: Some(Dist::lognormal_min(6.0, 0.8)),
            p_nudge_while_waiting: 0.25,
            reply: Some(Dist::lognormal_s(50.0, 0.7)),
            p_silent_in_service: 0.05,
            p_returning: 0.15,
        },
        agent_model: AgentModel {
            handling: Dist::lognormal_min(6.0, 0.6),
            first_reply: Some(Dist::lognormal_s(15.0, 0.5)),
            reply: Some(Dist::lognormal_s(45.0, 0.6)),
            p_transfer: 0.04,
            login_jitter_ms: 5 * MIN,
            pauses: vec![
                PausePlan {
                    reason: "Café".into(),
                    probability: 0.9,
                    at_fraction: 0.25,
                    jitter_ms: 20 * MIN,
                    duration: Dist::lognormal_min(10.0, 0.3),
                    min_shift_ms: 5 * 60 * MIN,
                },
                PausePlan {
                    reason: "Almoço".into(),
                    probability: 1.0,
                    at_fraction: 0.5,
                    jitter_ms: 30 * MIN,
                    duration: Dist::lognormal_min(60.0, 0.1),
                    min_shift_ms: 7 * 60 * MIN,
                },
                PausePlan {
                    reason: "Café".into(),
                    probability: 0.9,
                    at_fraction: 0.75,
                    jitter_ms: 20 * MIN,
                    duration: Dist::lognormal_min(10.0, 0.3),
                    min_shift_ms: 5 * 60 * MIN,
                },
                PausePlan {
                    reason: "Treinamento".into(),
                    probability: 0.1,
                    at_fraction: 0.4,
                    jitter_ms: 60 * MIN,
                    duration: Dist::Uniform {
                        min_ms: 30.0 * MIN as f64,
                        max_ms: 60.0 * MIN as f64,
                    },
                    min_shift_ms: 6 * 60 * MIN,
                },
            ],
            end_of_shift_reason: Some(END_OF_SHIFT.into()),
        },
    }
}

fn team_settings(
    mode: DistributionMode,
    inactivity_min: i64,
    max_wait_min: i64,
    codes: &[&str],
) -> TeamSettings {
    TeamSettings {
        mode,
        inactivity_timeout_ms: Some(inactivity_min * MIN),
        max_wait_ms: Some(max_wait_min * MIN),
        overflow_team: None,
        closing_message: Some(
            "Atendimento encerrado. Obrigado por falar com a Mirante Telecom!".into(),
        ),
        no_agent_message: Some(
            "No momento todos os nossos atendentes estão ocupados. Por favor, tente novamente mais tarde."
                .into(),
        ),
        wrapup_codes: codes.iter().map(|c| (*c).to_string()).collect(),
        ..TeamSettings::default()
    }
}

fn opt(key: &str, label: &str, synonyms: &[&str], next: &str) -> MenuOption {
    MenuOption {
        key: key.into(),
        label: label.into(),
        synonyms: synonyms.iter().map(|s| (*s).to_string()).collect(),
        next: next.into(),
    }
}

fn menu(text: &str, options: Vec<MenuOption>) -> Step {
    Step::Menu {
        text: text.into(),
        options,
        invalid_text: Some(
            "Desculpe, não entendi. Responda com o número de uma das opções.".into(),
        ),
    }
}

fn message(text: &str, next: &str) -> Step {
    Step::Message {
        text: text.into(),
        next: next.into(),
    }
}

fn route(team: TeamId, text: &str) -> Step {
    Step::Route {
        team,
        text: Some(text.into()),
    }
}

fn finish(text: &str) -> Step {
    Step::Finish {
        text: Some(text.into()),
    }
}

fn collect(text: &str, field: &str, format: FieldFormat, next: &str) -> Step {
    Step::Collect {
        text: text.into(),
        field: field.into(),
        format: Some(format),
        next: next.into(),
    }
}

fn flow(name: &str, start: &str, steps: Vec<(&str, Step)>) -> FlowDef {
    FlowDef {
        name: name.into(),
        start: start.into(),
        steps: steps
            .into_iter()
            .map(|(id, s)| (id.to_string(), s))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// WhatsApp: welcome, a four-option menu, CPF for Financeiro, opening hours resolved by the
/// bot.
fn whatsapp_flow(fin: TeamId, sup: TeamId, ven: TeamId) -> FlowDef {
    flow(
        "WhatsApp – atendimento",
        "inicio",
        vec![
            (
                "inicio",
                message("Olá! Você está falando com a Mirante Telecom.", "menu"),
            ),
            (
                "menu",
                menu(
                    "Como podemos ajudar?",
                    vec![
                        opt(
                            "1",
                            "Financeiro e segunda via",
                            &["financeiro", "boleto", "fatura", "segunda via", "pagamento"],
                            "cpf",
                        ),
                        opt(
                            "2",
                            "Suporte técnico",
                            &["suporte", "internet", "sem internet", "tecnico", "conexao"],
                            "suporte",
                        ),
                        opt(
                            "3",
                            "Contratar um plano",
                            &["vendas", "comprar", "planos", "contratar"],
                            "vendas",
                        ),
                        opt(
                            "4",
                            "Horário de atendimento",
                            &["horario", "horarios"],
                            "horario",
                        ),
                    ],
                ),
            ),
            (
                "cpf",
                collect(
                    "Para sua segurança, informe o CPF do titular (somente números).",
                    "cpf",
                    FieldFormat::Digits,
                    "financeiro",
                ),
            ),
            (
                "financeiro",
                route(
                    fin,
                    "Obrigado! CPF {{cpf}} recebido. Um especialista do Financeiro já vai atender você.",
                ),
            ),
            (
                "suporte",
                route(sup, "Certo! Você está na fila do Suporte técnico."),
            ),
            (
                "vendas",
                route(
                    ven,
                    "Que ótimo! Um consultor de Vendas já vai falar com você.",
                ),
            ),
            (
                "horario",
                finish("Atendemos de segunda a sábado, das 7h às 22h. Até logo!"),
            ),
        ],
    )
}

/// Telegram: a menu with a support sub-menu that sometimes solves the problem in the bot.
fn telegram_flow(fin: TeamId, sup: TeamId, ven: TeamId) -> FlowDef {
    flow(
        "Telegram – atendimento",
        "menu",
        vec![
            (
                "menu",
                menu(
                    "Olá! Sou o assistente da Mirante Telecom. Escolha uma opção:",
                    vec![
                        opt("1", "Financeiro", &["boleto", "fatura"], "financeiro"),
                        opt(
                            "2",
                            "Suporte técnico",
                            &["suporte", "internet"],
                            "suporte_menu",
                        ),
                        opt("3", "Vendas", &["comprar", "planos"], "vendas"),
                        opt("4", "Encerrar", &["sair", "tchau"], "tchau"),
                    ],
                ),
            ),
            (
                "suporte_menu",
                menu(
                    "Qual é o problema?",
                    vec![
                        opt("1", "Internet lenta", &["lenta", "devagar"], "reiniciar"),
                        opt("2", "Sem conexão", &["caiu", "sem sinal"], "suporte"),
                        opt("3", "Voltar", &["menu", "voltar ao menu"], "menu"),
                    ],
                ),
            ),
            (
                "reiniciar",
                message(
                    "Desligue o modem da tomada por 30 segundos e ligue de novo.",
                    "resolveu",
                ),
            ),
            (
                "resolveu",
                menu(
                    "Depois de reiniciar, a conexão melhorou?",
                    vec![
                        opt("1", "Sim, resolveu", &["sim", "resolveu"], "obrigado"),
                        opt("2", "Não, continua lenta", &["nao", "continua"], "suporte"),
                    ],
                ),
            ),
            (
                "financeiro",
                route(fin, "Vou transferir você para o Financeiro."),
            ),
            ("suporte", route(sup, "Vou chamar um técnico do Suporte.")),
            (
                "vendas",
                route(ven, "Um consultor de Vendas já vai atender você."),
            ),
            ("obrigado", finish("Que bom! Qualquer coisa, é só chamar.")),
            ("tchau", finish("Até logo!")),
        ],
    )
}

/// Web chat: a menu, CPF for the invoice, e-mail for sales.
fn webchat_flow(fin: TeamId, sup: TeamId, ven: TeamId) -> FlowDef {
    flow(
        "Webchat – atendimento",
        "boas_vindas",
        vec![
            (
                "boas_vindas",
                message("Bem-vindo ao chat da Mirante Telecom!", "menu"),
            ),
            (
                "menu",
                menu(
                    "Sobre o que você quer falar?",
                    vec![
                        opt(
                            "1",
                            "Segunda via de boleto",
                            &["boleto", "fatura", "segunda via"],
                            "cpf",
                        ),
                        opt("2", "Suporte", &["internet", "problema"], "suporte"),
                        opt(
                            "3",
                            "Quero contratar",
                            &["contratar", "planos", "vendas"],
                            "email",
                        ),
                    ],
                ),
            ),
            (
                "cpf",
                collect(
                    "Informe o CPF do titular, por favor.",
                    "cpf",
                    FieldFormat::Digits,
                    "financeiro",
                ),
            ),
            (
                "email",
                collect(
                    "Qual é o seu e-mail para enviarmos a proposta?",
                    "email",
                    FieldFormat::Email,
                    "vendas",
                ),
            ),
            ("financeiro", route(fin, "Obrigado! Já vamos atender você.")),
            (
                "suporte",
                route(sup, "Um técnico do Suporte já vai atender você."),
            ),
            (
                "vendas",
                route(
                    ven,
                    "Obrigado! A proposta irá para {{email}}; um consultor já vai falar com você.",
                ),
            ),
        ],
    )
}
