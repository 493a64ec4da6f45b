// Small monitor views for the unit tests, shaped like `crates/mirante-monitor/src/view.rs`.
import type { AgentCard, MonitorView, SessionView, TeamCard } from '../lib/types'

export function row(id: number, phase: SessionView['phase'], extra: Partial<SessionView> = {}): SessionView {
  return {
    id,
    phase,
    contact: id,
    contact_name: `Cliente ${id}`,
    contact_number: `55119000${String(id).padStart(5, '0')}`,
    channel: 1,
    channel_name: 'WhatsApp Business',
    bot_step: phase === 'bot' ? 'menu' : null,
    team: phase === 'bot' ? null : { id: 1, name: 'Suporte' },
    agent: phase === 'human' ? { id: 1, name: 'Bruna Lima' } : null,
    protocol: phase === 'human' ? `2026112300${String(id).padStart(4, '0')}` : null,
    started_at: 1_000 + id,
    queued_at: phase === 'bot' ? null : 2_000 + id,
    assigned_at: phase === 'human' ? 3_000 + id : null,
    last_customer_message_at: 2_500,
    age_ms: 0,
    waiting_ms: null,
    in_service_ms: null,
    since_customer_ms: 0,
    ...extra,
  }
}

export function agent(id: number, sessions: number[], extra: Partial<AgentCard> = {}): AgentCard {
  return {
    id,
    name: `Agente ${id}`,
    nickname: `A${id}`,
    status: 'online',
    pause_reason: null,
    pause_exceeded: false,
    since: 0,
    in_status_ms: 0,
    open: sessions.length,
    capacity: 5,
    available: sessions.length < 5,
    teams: [1],
    sessions,
    ...extra,
  }
}

export function team(id: number, waiting: number, inService: number): TeamCard {
  return {
    id,
    name: `Equipe ${id}`,
    waiting_count: waiting,
    in_service_count: inService,
    longest_wait_ms: null,
    answered_today: 0,
    answered_within_target_today: 0,
    avg_wait_today_ms: null,
    service_level_today: null,
    service_level_target_ms: 20_000,
    service_level_goal_percent: 80,
    agents_online: 1,
    agents_paused: 0,
    agents_available: 1,
  }
}

/** A view with `bot` + `waiting` + `human` sessions (ids from 1). */
export function view(seq: number, bot: number, waiting: number, human: number): MonitorView {
  let id = 0
  const b = Array.from({ length: bot }, () => row(++id, 'bot'))
  const w = Array.from({ length: waiting }, () => row(++id, 'waiting'))
  const h = Array.from({ length: human }, () => row(++id, 'human'))
  const counters = { geral: bot + waiting + human, auto: bot, espera: waiting, humano: human }
  return {
    seq,
    now: 10_000,
    filtered: false,
    counters,
    unfiltered_counters: counters,
    protocol_not_open: false,
    protocol_status: null,
    agents: [agent(1, h.map((r) => r.id))],
    teams: [team(1, waiting, human)],
    phases: { bot: b, waiting: w, human: h },
  }
}
