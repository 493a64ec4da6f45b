import { describe, expect, it } from 'vitest'
import { MonitorStore } from '../lib/monitor.svelte'
import type { AgentCard, MonitorSnapshotPart, MonitorView, SessionView } from '../lib/types'
import { agent, row, view } from './fixtures'

/** Splits a view the way the server does: the agent cards, then the lists in display order
 * (bot, waiting, human), `size` items a part; the `snapshot` frame carries part 0 and `parts`. */
function split(whole: MonitorView, size: number): [MonitorView & { parts: number }, MonitorSnapshotPart[]] {
  type Item = ['agent', AgentCard] | [keyof MonitorView['phases'], SessionView]
  const all: Item[] = whole.agents.map((a): Item => ['agent', a])
  for (const name of ['bot', 'waiting', 'human'] as const) for (const r of whole.phases[name]) all.push([name, r])
  const chunks: { agents: AgentCard[]; phases: MonitorSnapshotPart['phases'] }[] = []
  for (let i = 0; i < all.length; i += size) {
    const chunk = { agents: [] as AgentCard[], phases: { bot: [], waiting: [], human: [] } as MonitorSnapshotPart['phases'] }
    for (const item of all.slice(i, i + size)) {
      if (item[0] === 'agent') chunk.agents.push(item[1])
      else chunk.phases[item[0]].push(item[1])
    }
    chunks.push(chunk)
  }
  const first = { ...whole, agents: chunks[0].agents, phases: chunks[0].phases, parts: chunks.length }
  return [first, chunks.slice(1).map((c, i) => ({ seq: whole.seq, part: i + 1, ...c }))]
}

/** A store that defers snapshots over `deferAbove` rows to tasks the test runs by hand. */
function store(deferAbove = Infinity) {
  const s = new MonitorStore()
  const tasks: (() => void)[] = []
  s.deferAbove = deferAbove
  s.later = (fn) => void tasks.push(fn)
  return { s, tasks, run: () => tasks.splice(0).forEach((fn) => fn()) }
}

const ids = (rows: SessionView[]) => rows.map((r) => r.id)

describe('MonitorStore: a snapshot sent in parts (P7)', () => {
  it('gathers the parts in order and applies the whole view with the last one', () => {
    const whole = view(7, 2, 3, 2)
    const [first, parts] = split(whole, 3)
    expect(parts).toHaveLength(2)
    const { s, tasks } = store()
    expect(s.snapshot(first)).toBe(true)
    expect(s.loaded).toBe(false)
    expect(s.incomplete).toBe(true)
    expect(s.seq).toBe(7)
    expect(s.part(parts[0])).toBe(true)
    expect(s.loaded).toBe(false)
    expect(s.phases.waiting).toHaveLength(0)
    expect(s.part(parts[1])).toBe(true)
    expect(s.incomplete).toBe(false)
    expect(s.pending).toBe(false)
    expect(tasks).toHaveLength(0)
    expect(s.loaded).toBe(true)
    expect(ids(s.phases.bot)).toEqual([1, 2])
    expect(ids(s.phases.waiting)).toEqual([3, 4, 5])
    expect(ids(s.phases.human)).toEqual([6, 7])
    expect(s.rows.size).toBe(7)
    expect(s.counters.geral).toBe(7)
    expect(s.agents.map((a) => a.id)).toEqual([1])
    // the caller's first frame is not changed by the parts appended to it
    expect(first.agents).toHaveLength(1)
    expect(first.phases.bot).toHaveLength(2)
    expect(first.phases.waiting).toHaveLength(0)
  })

  it('gathers agent cards cut across parts, before the rows', () => {
    const whole = view(7, 1, 2, 0)
    whole.agents = [agent(3, []), agent(1, []), agent(2, []), agent(4, [])]
    const [first, parts] = split(whole, 3)
    // [3 cards] [1 card, 2 rows] [1 row]
    expect(first.agents).toHaveLength(3)
    expect(parts.map((p) => p.agents?.length)).toEqual([1, 0])
    const { s } = store()
    s.snapshot(first)
    s.part(parts[0])
    expect(s.agents).toHaveLength(0)
    s.part(parts[1])
    expect(s.agents.map((a) => a.id)).toEqual([1, 2, 3, 4])
    expect(ids(s.phases.bot)).toEqual([1])
    expect(ids(s.phases.waiting)).toEqual([2, 3])
    expect(first.agents).toHaveLength(3)
  })

  it('ignores a part out of order, a repeated one, or one of another snapshot', () => {
    const [first, parts] = split(view(7, 0, 5, 0), 2)
    const { s } = store()
    s.snapshot(first)
    expect(s.part(parts[1])).toBe(false) // part 2 before part 1
    expect(s.part({ ...parts[0], seq: 6 })).toBe(false)
    expect(s.part(parts[0])).toBe(true)
    expect(s.part(parts[0])).toBe(false)
    expect(s.part(parts[1])).toBe(true)
    expect(ids(s.phases.waiting)).toEqual([1, 2, 3, 4, 5])
    expect(s.part(parts[1])).toBe(false) // complete: nothing pending
  })

  it('keeps the deltas that arrive during the parts and applies them after it', () => {
    const [first, parts] = split(view(7, 1, 2, 0), 2)
    const { s } = store()
    s.snapshot(first)
    expect(s.delta({ seq: 7, removed: [1] })).toBe(false) // at the snapshot, not on it
    expect(s.delta({ seq: 8, from_seq: 7, rows: [row(2, 'human')], counters: { geral: 3, auto: 1, espera: 1, humano: 1 } })).toBe(true)
    s.part(parts[0])
    expect(s.delta({ seq: 9, from_seq: 8, removed: [1], counters: { geral: 2, auto: 0, espera: 1, humano: 1 } })).toBe(true)
    expect(s.loaded).toBe(true)
    expect(s.seq).toBe(9)
    expect(ids(s.phases.bot)).toEqual([])
    expect(ids(s.phases.waiting)).toEqual([3])
    expect(ids(s.phases.human)).toEqual([2])
    expect(s.counters).toEqual({ geral: 2, auto: 0, espera: 1, humano: 1 })
  })

  it('a large complete snapshot is applied in a later task, with the deltas received meanwhile', () => {
    const [first, parts] = split(view(7, 0, 6, 0), 2)
    expect(parts).toHaveLength(3) // 1 card and 6 rows
    const { s, tasks, run } = store(4)
    s.snapshot(first)
    s.part(parts[0])
    s.part(parts[1])
    expect(tasks).toHaveLength(0)
    s.part(parts[2])
    expect(tasks).toHaveLength(1)
    expect(s.loaded).toBe(false)
    s.delta({ seq: 8, from_seq: 7, removed: [6] })
    run()
    expect(s.loaded).toBe(true)
    expect(ids(s.phases.waiting)).toEqual([1, 2, 3, 4, 5])
  })

  it('a newer snapshot supersedes an incomplete one, whose late parts are ignored', () => {
    const [old, oldParts] = split(view(7, 0, 4, 0), 2)
    const { s, run } = store()
    s.snapshot(old)
    s.delta({ seq: 8, from_seq: 7, removed: [1] })
    const [fresh, freshParts] = split(view(9, 3, 0, 0), 2)
    expect(s.snapshot(fresh)).toBe(true)
    expect(s.part(oldParts[0])).toBe(false)
    expect(s.part(freshParts[0])).toBe(true)
    run()
    expect(s.seq).toBe(9)
    expect(ids(s.phases.bot)).toEqual([1, 2, 3])
    expect(s.phases.waiting).toHaveLength(0)
  })

  it('a new subscription (reset) drops an incomplete snapshot', () => {
    const [first, parts] = split(view(7, 0, 4, 0), 2)
    const { s, run } = store()
    s.snapshot(first)
    s.reset()
    expect(s.pending).toBe(false)
    expect(s.part(parts[0])).toBe(false)
    run()
    expect(s.loaded).toBe(false)
    expect(s.seq).toBe(0)
  })

  it('a stream cut off mid-parts leaves the shown state and its sequence (for the resume)', () => {
    const { s } = store()
    s.snapshot(view(5, 1, 0, 0))
    const [first] = split(view(7, 0, 4, 0), 2)
    s.snapshot(first)
    expect(s.seq).toBe(7)
    s.abandon()
    expect(s.pending).toBe(false)
    expect(s.seq).toBe(5)
    expect(ids(s.phases.bot)).toEqual([1])
  })
})
