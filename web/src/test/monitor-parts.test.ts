import { describe, expect, it } from 'vitest'
import { MonitorStore } from '../lib/monitor.svelte'
import type { MonitorSnapshotPart, MonitorView, SessionView } from '../lib/types'
import { row, view } from './fixtures'

/** Splits a view the way the server does: the lists in display order (bot, waiting, human),
 * `size` rows a part; the `snapshot` frame carries part 0 and `parts`. */
function split(whole: MonitorView, size: number): [MonitorView & { parts: number }, MonitorSnapshotPart[]] {
  const all: [keyof MonitorView['phases'], SessionView][] = []
  for (const name of ['bot', 'waiting', 'human'] as const) for (const r of whole.phases[name]) all.push([name, r])
  const chunks: MonitorSnapshotPart['phases'][] = []
  for (let i = 0; i < all.length; i += size) {
    const phases: MonitorSnapshotPart['phases'] = { bot: [], waiting: [], human: [] }
    for (const [name, r] of all.slice(i, i + size)) phases[name].push(r)
    chunks.push(phases)
  }
  const first = { ...whole, phases: chunks[0], parts: chunks.length }
  return [first, chunks.slice(1).map((phases, i) => ({ seq: whole.seq, part: i + 1, phases }))]
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
    // the caller's first frame is not changed by the parts appended to it
    expect(first.phases.waiting).toHaveLength(1)
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
    const { s, tasks, run } = store(4)
    s.snapshot(first)
    s.part(parts[0])
    expect(tasks).toHaveLength(0)
    s.part(parts[1])
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
