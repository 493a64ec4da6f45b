// Wire shapes of the API, taken from the generated `api.d.ts` (the server's OpenAPI document).
// The monitor's shapes are picked from the generated schemas as soon as the server declares
// them (`Gen<'MonitorView', Local>` resolves to the generated type then); until it does,
// the local mirrors below, copied from `crates/mirante-monitor/src/view.rs`, stand in.
import type { components } from './api'

type Schemas = components['schemas']
type Gen<Name extends string, Local> = Name extends keyof Schemas ? Schemas[Name] : Local

export type ErrorBody = Schemas['ErrorBody']
export type Me = Schemas['MeView']
export type LoginBody = Schemas['LoginBody']

export type Id = number
export type Phase = 'bot' | 'waiting' | 'human'
export type AgentStatus = 'online' | 'paused' | 'offline'

export interface Named {
  id: Id
  name: string
}

interface LocalCounters {
  geral: number
  auto: number
  espera: number
  humano: number
}

interface LocalSessionView {
  id: Id
  phase: Phase
  contact: Id
  contact_name: string
  contact_number?: string | null
  channel: Id
  channel_name: string
  bot_step?: string | null
  team?: Named | null
  agent?: Named | null
  protocol?: string | null
  started_at: number
  queued_at?: number | null
  queue_order?: number | null
  assigned_at?: number | null
  last_customer_message_at: number
  age_ms: number
  waiting_ms?: number | null
  in_service_ms?: number | null
  since_customer_ms: number
}

interface LocalAgentCard {
  id: Id
  name: string
  nickname: string
  status: AgentStatus
  pause_reason?: Named | null
  pause_exceeded: boolean
  since: number
  in_status_ms: number
  open: number
  capacity: number
  available: boolean
  teams: Id[]
  sessions: Id[]
}

interface LocalTeamCard {
  id: Id
  name: string
  waiting_count: number
  in_service_count: number
  longest_wait_ms?: number | null
  answered_today: number
  answered_within_target_today: number
  avg_wait_today_ms?: number | null
  service_level_today?: number | null
  service_level_target_ms: number
  service_level_goal_percent: number
  agents_online: number
  agents_paused: number
  agents_available: number
}

export type ProtocolStatus = 'open' | 'finished' | 'unknown'

interface LocalMonitorView {
  seq: number
  now: number
  filtered: boolean
  counters: LocalCounters
  unfiltered_counters: LocalCounters
  protocol_not_open: boolean
  protocol_status?: ProtocolStatus | null
  agents: LocalAgentCard[]
  teams: LocalTeamCard[]
  phases: { bot: LocalSessionView[]; waiting: LocalSessionView[]; human: LocalSessionView[] }
}

interface LocalFilterOptions {
  agents: Named[]
  teams: Named[]
  channels: (Named & { kind: string })[]
}

export type Counters = Gen<'Counters', LocalCounters>
export type SessionView = Gen<'SessionView', LocalSessionView>
export type AgentCard = Gen<'AgentCard', LocalAgentCard>
/** A team card: counts, no list of its sessions (a panel takes the team's rows from the Fases
 * lists: `MonitorStore.teamRows`). */
export type TeamCard = Gen<'TeamCard', LocalTeamCard>
export type MonitorView = Gen<'MonitorView', LocalMonitorView>
export type FilterOptions = Gen<'FilterOptions', LocalFilterOptions>

/** A change after a snapshot, as the live stream sends it (`type: "delta"`): rows upserted by
 * id, ids removed, changed cards, and the counters when they changed. */
export interface MonitorDelta {
  seq: number
  from_seq?: number
  filtered?: boolean
  counters?: Counters
  unfiltered_counters?: Counters
  protocol_not_open?: boolean | null
  rows?: SessionView[]
  removed?: Id[]
  agents?: AgentCard[]
  agents_removed?: Id[]
  teams?: TeamCard[]
  teams_removed?: Id[]
}

/** A further part of a snapshot the live stream split (`type: "snapshot_part"`): the next agent
 * cards, then the next rows of each Fases list, in display order. The `snapshot` frame itself
 * carries `parts` (its number of frames) and part 0; parts 1 … `parts` − 1 follow it, before
 * any delta. */
export interface MonitorSnapshotPart {
  seq: number
  part: number
  agents?: AgentCard[]
  phases: { bot: SessionView[]; waiting: SessionView[]; human: SessionView[] }
}

/** One session's result of a bulk action (B-3). */
export interface BulkResult {
  session: Id
  ok: boolean
  code?: string | null
  message?: string | null
}

// follow, history and internal chat (M-40, M-41, M-11)
export type MessageView = Schemas['MessageView']
export type Follower = Schemas['Follower']
export type FollowAnswer = Schemas['FollowAnswer']
export type HistoryAnswer = Schemas['HistoryAnswer']
export type SessionRecord = Schemas['SessionRecord']
export type ChatMessage = Schemas['ChatMessage']
export type ChatSummary = Schemas['ChatSummary']
