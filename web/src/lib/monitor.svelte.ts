// The monitor's client state: one store fed by a snapshot (stamped with its sequence number)
// and then ordered deltas, whatever the transport (the live WebSocket stream, or polling,
// whose answers are snapshots). Counters, cards and rows always come from the same server
// state (B-2): a delta at or below the current sequence is dropped, and a snapshot replaces
// everything at once. Also kept here: the last hour of counters for the sparklines (B-9).
//
// P7 (10 000 rows, 1 000 updates/s): a delta costs O(changed rows), not O(all rows) — the
// row map is changed in place (a version signal tells readers), and the three Fases lists are
// kept sorted by (phase time, id) and patched by binary search (a row whose phase and time did
// not change, e.g. a new customer message, is replaced where it stands) instead of being
// partitioned and sorted again. A large snapshot (the first one, 10 000 rows) can be applied
// in a task of its own (`deferAbove`), so that parsing the frame and applying it plus rendering
// the first screen are not one long task; deltas arriving meanwhile are kept and applied, in
// order and under the same sequence rules, right after it. The stream sends a snapshot of more
// than 500 items (agent cards, then rows) in parts (a `snapshot` frame with `parts`, then
// `snapshot_part` frames, each a message the browser receives and parses in a task of its own):
// the store gathers them in the same pending snapshot and applies it once it has every part.
import type {
  AgentCard,
  Counters,
  Id,
  MonitorDelta,
  MonitorSnapshotPart,
  MonitorView,
  ProtocolStatus,
  SessionView,
  TeamCard,
} from './types'

const HOUR_MS = 60 * 60 * 1000
/** A sample is kept at most this often unless the counters changed. */
const SAMPLE_EVERY_MS = 15_000

export interface Sample {
  at: number
  counters: Counters
}

const zero: Counters = { geral: 0, auto: 0, espera: 0, humano: 0 }

export interface PhaseLists {
  bot: SessionView[]
  waiting: SessionView[]
  human: SessionView[]
}

type PhaseName = keyof PhaseLists

/** The Fases list a row belongs to (M-30…M-32). */
function listOf(row: SessionView): PhaseName {
  return row.phase === 'bot' ? 'bot' : row.phase === 'waiting' ? 'waiting' : 'human'
}

/** A list's order: bot by start, waiting by queue time (oldest first), human by assignment. */
function timeOf(row: SessionView): number {
  const t = row.phase === 'bot' ? row.started_at : row.phase === 'waiting' ? row.queued_at : row.assigned_at
  return t ?? 0
}

function compareRows(a: SessionView, b: SessionView): number {
  return timeOf(a) - timeOf(b) || a.id - b.id
}

/** First index whose row does not sort before `row`. */
function lowerBound(list: readonly SessionView[], row: SessionView): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareRows(list[mid], row) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the row with `row`'s id and sort position, or -1. */
function indexOf(list: readonly SessionView[], row: SessionView): number {
  const i = lowerBound(list, row)
  return list[i]?.id === row.id ? i : -1
}

function sortRows(list: SessionView[]): void {
  // the server sends each list in this order already: check in O(n) before sorting
  for (let i = 1; i < list.length; i++) {
    if (compareRows(list[i - 1], list[i]) > 0) {
      list.sort(compareRows)
      return
    }
  }
}

function phaseRows(phases: PhaseLists): number {
  return phases.bot.length + phases.waiting.length + phases.human.length
}

function buildPhases(rows: Iterable<SessionView>): PhaseLists {
  const lists: PhaseLists = { bot: [], waiting: [], human: [] }
  for (const row of rows) lists[listOf(row)].push(row)
  sortRows(lists.bot)
  sortRows(lists.waiting)
  sortRows(lists.human)
  return lists
}

/** Schedules `fn` as a new task (after the current one and whatever input is queued). */
export type Later = (fn: () => void) => void
const nextTask: Later = (fn) => void setTimeout(fn, 0)

function sameCounters(a: Counters, b: Counters): boolean {
  return a.geral === b.geral && a.auto === b.auto && a.espera === b.espera && a.humano === b.humano
}

export class MonitorStore {
  /** Sequence number of the state shown; 0 before the first snapshot. */
  seq = $state(0)
  /** Whether a snapshot has arrived. */
  loaded = $state(false)
  /** The server's `now` of the last update, and the browser's time when it arrived. */
  serverNow = $state(0)
  receivedAt = $state(0)
  filtered = $state(false)
  counters = $state.raw<Counters>(zero)
  unfiltered = $state.raw<Counters>(zero)
  protocolNotOpen = $state(false)
  protocolStatus = $state<ProtocolStatus | null>(null)
  agents = $state.raw<AgentCard[]>([])
  teams = $state.raw<TeamCard[]>([])
  history = $state.raw<Sample[]>([])
  /** Fases lists in display order (M-30…M-32); a list no delta touched keeps its identity.
   * P7: the store patches lists of its own in place and a list read after a change is a copy
   * made then — at most one per list and read, none while no one reads them (the Agentes and
   * Equipes tabs), where each delta used to copy the lists it touched (~10 000 rows). */
  get phases(): PhaseLists {
    void this.#phasesVersion
    if (this.#stale.size) {
      const next = { ...this.#shown }
      for (const name of this.#stale) next[name] = this.#lists[name].slice()
      this.#stale.clear()
      this.#shown = next
    }
    return this.#shown
  }
  #lists: PhaseLists = { bot: [], waiting: [], human: [] }
  #shown: PhaseLists = { bot: [], waiting: [], human: [] }
  #stale = new Set<PhaseName>()
  #phasesVersion = $state(0)
  private setPhases(lists: PhaseLists): void {
    this.#lists = lists
    for (const name of ['bot', 'waiting', 'human'] as const) this.#stale.add(name)
    this.#phasesVersion++
  }

  /** A snapshot with more rows than this is applied in a later task (`later`); by default
   * every snapshot is applied at once. */
  deferAbove = Infinity
  later: Later = nextTask

  #rows = new Map<Id, SessionView>()
  #version = $state(0)
  /** A snapshot waiting for its remaining parts or its task, and the deltas received since
   * (in order); `shownSeq`: the sequence of what is on screen meanwhile. */
  #pending: {
    view: MonitorView
    receivedAt: number
    deltas: [MonitorDelta, number][]
    parts: number
    got: number
    shownSeq: number
  } | null = null
  #scheduled = false

  /** Every row shown, by session id (changed in place: reading it tracks the version). */
  get rows(): ReadonlyMap<Id, SessionView> {
    void this.#version
    return this.#rows
  }

  /** Whether a snapshot has been received but not applied yet (parts missing, or
   * `deferAbove`). */
  get pending(): boolean {
    return this.#pending !== null
  }

  /** Whether a snapshot is still missing parts. */
  get incomplete(): boolean {
    return this.#pending !== null && this.#pending.got < this.#pending.parts
  }

  /** Replaces the whole state with a snapshot. Older than what is shown: ignored. One sent in
   * parts (`parts` > 1) waits for its `snapshot_part`s (`part`); a large one (`deferAbove`) is
   * applied in a later task. Either way `seq` moves to it at once, so that the deltas that
   * follow it are accepted (and kept until it is applied), and it supersedes a pending one. */
  snapshot(view: MonitorView & { parts?: number }, receivedAt = Date.now()): boolean {
    if ((this.loaded || this.#pending) && view.seq < this.seq) return false
    const parts = Math.max(1, view.parts ?? 1)
    if (parts > 1 || phaseRows(view.phases) > this.deferAbove) {
      const shownSeq = this.#pending ? this.#pending.shownSeq : this.seq
      // the parts are appended to its lists: copies, not the caller's arrays
      const phases = { bot: view.phases.bot.slice(), waiting: view.phases.waiting.slice(), human: view.phases.human.slice() }
      this.#pending = { view: { ...view, agents: view.agents.slice(), phases }, receivedAt, deltas: [], parts, got: 1, shownSeq }
      this.seq = view.seq
      if (parts === 1) this.schedule()
      return true
    }
    this.#pending = null
    this.apply(view, receivedAt)
    return true
  }

  /** One further part of the pending snapshot (`snapshot_part`): its agent cards are appended
   * to the cards, its rows to each list. A part of another snapshot (superseded, or after a
   * reset) or out of order is ignored. With the last part the snapshot is applied (in a later
   * task above `deferAbove`). */
  part(p: MonitorSnapshotPart): boolean {
    const pending = this.#pending
    if (!pending || p.seq !== pending.view.seq || p.part !== pending.got || pending.got >= pending.parts) return false
    for (const card of p.agents ?? []) pending.view.agents.push(card)
    const lists = pending.view.phases
    for (const name of ['bot', 'waiting', 'human'] as const) {
      const list = lists[name]
      for (const row of p.phases[name] ?? []) list.push(row)
    }
    pending.got++
    if (pending.got === pending.parts) {
      if (phaseRows(lists) > this.deferAbove) this.schedule()
      else this.flush()
    }
    return true
  }

  /** Drops a snapshot still missing parts (its stream closed): the store is back at what it
   * shows, so that a reconnect can resume from there. */
  abandon(): void {
    if (!this.incomplete) return
    this.seq = this.#pending!.shownSeq
    this.#pending = null
  }

  private schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    this.later(() => {
      this.#scheduled = false
      this.flush()
    })
  }

  /** Applies the pending snapshot (once it has every part), then the deltas received since,
   * in order. */
  flush(): void {
    const pending = this.#pending
    if (!pending || pending.got < pending.parts) return
    this.#pending = null
    this.apply(pending.view, pending.receivedAt)
    for (const [d, at] of pending.deltas) this.delta(d, at)
  }

  private apply(view: MonitorView, receivedAt: number): void {
    this.seq = view.seq
    this.serverNow = view.now
    this.receivedAt = receivedAt
    this.filtered = view.filtered
    this.counters = view.counters
    this.unfiltered = view.unfiltered_counters
    this.protocolNotOpen = view.protocol_not_open
    this.protocolStatus = (view.protocol_status ?? null) as ProtocolStatus | null
    this.agents = [...view.agents].sort(byName)
    this.teams = [...view.teams].sort(byName)
    const rows = new Map<Id, SessionView>()
    for (const list of [view.phases.bot, view.phases.waiting, view.phases.human]) {
      for (const row of list) rows.set(row.id, row)
    }
    this.#rows = rows
    this.setPhases(buildPhases(rows.values()))
    this.#version++
    this.loaded = true
    this.sample(receivedAt)
  }

  /** Applies one delta; a delta below the current sequence (or before any snapshot) is
   * dropped, and one at the current sequence too unless it says it applies on it
   * (`from_seq == seq`: the stream's counters-only update, sent when they fall due). */
  delta(d: MonitorDelta, receivedAt = Date.now()): boolean {
    if (!(this.loaded || this.#pending) || d.seq < this.seq) return false
    if (d.seq === this.seq && d.from_seq !== this.seq) return false
    this.seq = d.seq
    if (this.#pending) {
      this.#pending.deltas.push([d, receivedAt])
      return true
    }
    if (d.filtered !== undefined) this.filtered = d.filtered
    if (d.counters) this.counters = d.counters
    if (d.unfiltered_counters) this.unfiltered = d.unfiltered_counters
    if (d.protocol_not_open !== undefined && d.protocol_not_open !== null) this.protocolNotOpen = d.protocol_not_open
    if (d.rows?.length || d.removed?.length) this.applyRows(d.rows ?? [], d.removed ?? [])
    if (d.agents?.length || d.agents_removed?.length) {
      this.agents = upsert(this.agents, d.agents ?? [], d.agents_removed ?? [])
    }
    if (d.teams?.length || d.teams_removed?.length) {
      this.teams = upsert(this.teams, d.teams ?? [], d.teams_removed ?? [])
    }
    this.sample(receivedAt)
    return true
  }

  /** Forgets everything (a new filter, a log-out). */
  reset(): void {
    this.#pending = null
    this.seq = 0
    this.loaded = false
    this.#rows = new Map()
    this.setPhases({ bot: [], waiting: [], human: [] })
    this.#version++
    this.agents = []
    this.teams = []
    this.counters = zero
    this.unfiltered = zero
    this.history = []
  }

  /** A team panel's sessions (M-21): the team's rows of the Fases `waiting` list (in queue
   * order: `groupByTeam`), then of its `human` list (assignment order); a shared empty array for a
   * team without any. P7: grouped once per change of those two lists (read lazily, when a
   * panel reads after a change), not filtered per panel; a team whose rows did not change
   * keeps its array, so its panel does not draw again. */
  teamRows(team: Id): readonly SessionView[] {
    const { waiting, human } = this.phases
    let groups = this.#teamGroups
    if (groups.waiting !== waiting || groups.human !== human) {
      groups = { waiting, human, byTeam: groupByTeam(waiting, human, groups.byTeam) }
      this.#teamGroups = groups
    }
    return groups.byTeam.get(team) ?? noRows
  }
  #teamGroups: { waiting: SessionView[] | null; human: SessionView[] | null; byTeam: Map<Id, SessionView[]> } = {
    waiting: null,
    human: null,
    byTeam: new Map(),
  }

  /** The rows of a list of ids (a card's sessions), skipping ids without a row. */
  rowsOf(ids: readonly Id[]): SessionView[] {
    const rows = this.rows
    const out: SessionView[] = []
    for (const id of ids) {
      const row = rows.get(id)
      if (row) out.push(row)
    }
    return out
  }

  /** Removes and upserts rows: the map in place, the Fases lists patched in place (copied
   * when read, `phases`), or sorted again when most rows changed. */
  private applyRows(changed: readonly SessionView[], removed: readonly Id[]): void {
    const rows = this.#rows
    if (changed.length + removed.length > rows.size / 4 + 64) {
      for (const id of removed) rows.delete(id)
      for (const row of changed) rows.set(row.id, row)
      this.setPhases(buildPhases(rows.values()))
      this.#version++
      return
    }
    const lists = this.#lists
    const stale = this.#stale
    const edit = (name: PhaseName): SessionView[] => {
      stale.add(name)
      return lists[name]
    }
    const drop = (old: SessionView) => {
      const list = edit(listOf(old))
      const i = indexOf(list, old)
      if (i >= 0) list.splice(i, 1)
    }
    const insert = (row: SessionView) => {
      const list = edit(listOf(row))
      list.splice(lowerBound(list, row), 0, row)
    }
    for (const id of removed) {
      const old = rows.get(id)
      if (!old) continue
      drop(old)
      rows.delete(id)
    }
    for (const row of changed) {
      const old = rows.get(row.id)
      rows.set(row.id, row)
      if (!old) {
        insert(row)
      } else if (listOf(old) === listOf(row) && timeOf(old) === timeOf(row)) {
        const list = edit(listOf(row))
        const i = indexOf(list, old)
        if (i >= 0) list[i] = row
        else insert(row)
      } else {
        drop(old)
        insert(row)
      }
    }
    this.#phasesVersion++
    this.#version++
  }

  /** Adds a counters sample when they changed or the last one is old; keeps one hour. */
  private sample(at: number): void {
    const last = this.history.at(-1)
    if (last && sameCounters(last.counters, this.counters) && at - last.at < SAMPLE_EVERY_MS) return
    const cutoff = at - HOUR_MS
    const kept = this.history.filter((s) => s.at >= cutoff)
    kept.push({ at, counters: this.counters })
    this.history = kept
  }
}

const noRows: readonly SessionView[] = Object.freeze([])

/** Waiting rows by their place in their team's queue (`queue_order`, lower is served first):
 * a session sent back to the front of the queue (M-15) is served before older ones. */
function byQueueOrder(a: SessionView, b: SessionView): number {
  return (a.queue_order ?? 0) - (b.queue_order ?? 0)
}

/** Rows by team (`row.team.id`; rows without a team skipped): its rows of `waiting` — in
 * queue order when the rows carry one (`queue_order`), else in the list's order (oldest queued
 * first) —, then of `human` in the list's order. A team whose rows are the same objects in
 * the same order as in `prev` keeps `prev`'s array. */
export function groupByTeam(
  waiting: readonly SessionView[],
  human: readonly SessionView[],
  prev: ReadonlyMap<Id, SessionView[]> = new Map(),
): Map<Id, SessionView[]> {
  const out = new Map<Id, SessionView[]>()
  const add = (row: SessionView) => {
    const team = row.team?.id
    if (team == null) return
    const rows = out.get(team)
    if (rows) rows.push(row)
    else out.set(team, [row])
  }
  for (const row of waiting) add(row)
  // each array holds only its team's waiting rows here; the server's order is nearly the
  // list's one, so check in O(n) before a (stable) sort
  for (const rows of out.values()) {
    for (let i = 1; i < rows.length; i++) {
      if (byQueueOrder(rows[i - 1], rows[i]) > 0) {
        rows.sort(byQueueOrder)
        break
      }
    }
  }
  for (const row of human) add(row)
  for (const [team, rows] of out) {
    const old = prev.get(team)
    if (old && sameRows(old, rows)) out.set(team, old)
  }
  return out
}

function sameRows(a: readonly SessionView[], b: readonly SessionView[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Cards by name (then id), replacing changed ones and dropping removed ones. */
const collator = new Intl.Collator('pt-BR')
const byName = (a: { id: Id; name: string }, b: { id: Id; name: string }) => collator.compare(a.name, b.name) || a.id - b.id

/** The cards with `changed` upserted and `removed` dropped, in (name, id) order. P7: a card
 * that kept its name (a new status, load or session) is replaced where it stands, so a delta
 * costs O(n) without a sort (5 000 agents: sorting by a pt-BR `localeCompare` on every frame
 * was the largest script cost of the Agentes tab); only new or renamed cards sort again. */
function upsert<T extends { id: Id; name: string }>(cards: T[], changed: T[], removed: Id[]): T[] {
  const gone = new Set(removed)
  const next = new Map(changed.map((c) => [c.id, c]))
  let resort = false
  const out: T[] = []
  for (const c of cards) {
    const n = next.get(c.id)
    if (n === undefined) {
      if (!gone.has(c.id)) out.push(c)
    } else {
      next.delete(c.id)
      if (n.name !== c.name) resort = true
      out.push(n)
    }
  }
  for (const n of next.values()) {
    out.push(n)
    resort = true
  }
  return resort ? out.sort(byName) : out
}

/** Selection of ongoing sessions per agent or team panel, at most `cap` each (M-12, M-21). */
export class Selection {
  cap = $state(5)
  private panels = $state.raw<Map<string, Id[]>>(new Map())

  constructor(cap = 5) {
    this.cap = cap
  }

  of(panel: string): Id[] {
    return this.panels.get(panel) ?? []
  }

  has(panel: string, id: Id): boolean {
    return this.of(panel).includes(id)
  }

  /** A checkbox that would exceed the cap is disabled. */
  disabled(panel: string, id: Id): boolean {
    return !this.has(panel, id) && this.of(panel).length >= this.cap
  }

  /** Adds or removes; `'refused'` when adding would exceed the cap. */
  toggle(panel: string, id: Id): 'added' | 'removed' | 'refused' {
    const current = this.of(panel)
    const next = new Map(this.panels)
    if (current.includes(id)) {
      next.set(panel, current.filter((x) => x !== id))
      this.panels = next
      return 'removed'
    }
    if (current.length >= this.cap) return 'refused'
    next.set(panel, [...current, id])
    this.panels = next
    return 'added'
  }

  clear(panel: string): void {
    const next = new Map(this.panels)
    next.delete(panel)
    this.panels = next
  }

  /** Drops selected ids that left their panel (finished, transferred, filtered out). */
  prune(panel: string, present: readonly Id[]): void {
    const current = this.of(panel)
    const kept = current.filter((id) => present.includes(id))
    if (kept.length !== current.length) {
      const next = new Map(this.panels)
      next.set(panel, kept)
      this.panels = next
    }
  }
}
