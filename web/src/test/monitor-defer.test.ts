import { describe, expect, it } from 'vitest'
import { MonitorStore } from '../lib/monitor.svelte'
import { row, view } from './fixtures'

/** A store that defers snapshots over 2 rows to a task the test runs by hand. */
function deferring() {
  const store = new MonitorStore()
  const tasks: (() => void)[] = []
  store.deferAbove = 2
  store.later = (fn) => void tasks.push(fn)
  return { store, run: () => tasks.splice(0).forEach((fn) => fn()), tasks }
}

describe('MonitorStore: a large snapshot applied in a later task (P7)', () => {
  it('shows nothing of it until its task, then all of it at once', () => {
    const { store, run, tasks } = deferring()
    expect(store.snapshot(view(7, 2, 3, 4))).toBe(true)
    expect(store.pending).toBe(true)
    expect(store.loaded).toBe(false)
    expect(store.phases.waiting).toHaveLength(0)
    expect(tasks).toHaveLength(1)
    run()
    expect(store.pending).toBe(false)
    expect(store.loaded).toBe(true)
    expect(store.seq).toBe(7)
    expect(store.counters.geral).toBe(9)
    expect(store.phases.waiting).toHaveLength(3)
  })

  it('keeps the deltas received meanwhile and applies them in order after it', () => {
    const { store, run } = deferring()
    store.snapshot(view(7, 1, 2, 0))
    expect(store.delta({ seq: 6, removed: [1] })).toBe(false) // older than the snapshot
    expect(store.delta({ seq: 7, removed: [1] })).toBe(false) // at it, not on it
    expect(store.delta({ seq: 8, rows: [row(1, 'human')], counters: { geral: 3, auto: 0, espera: 2, humano: 1 } })).toBe(true)
    expect(store.delta({ seq: 9, removed: [2], counters: { geral: 2, auto: 0, espera: 1, humano: 1 } })).toBe(true)
    expect(store.delta({ seq: 9, from_seq: 9, counters: { geral: 2, auto: 0, espera: 1, humano: 1 } })).toBe(true)
    expect(store.seq).toBe(9)
    expect(store.phases.human).toHaveLength(0)
    run()
    expect(store.seq).toBe(9)
    expect(store.phases.bot).toHaveLength(0)
    expect(store.phases.waiting.map((r) => r.id)).toEqual([3])
    expect(store.phases.human.map((r) => r.id)).toEqual([1])
    expect(store.counters).toEqual({ geral: 2, auto: 0, espera: 1, humano: 1 })
  })

  it('a newer snapshot replaces a pending one and its deltas; a reset drops it', () => {
    const { store, run, tasks } = deferring()
    store.snapshot(view(7, 3, 0, 0))
    store.delta({ seq: 8, removed: [1] })
    expect(store.snapshot(view(5, 0, 3, 0))).toBe(false)
    store.snapshot(view(9, 0, 3, 0))
    expect(tasks).toHaveLength(1)
    run()
    expect(store.seq).toBe(9)
    expect(store.phases.bot).toHaveLength(0)
    expect(store.phases.waiting).toHaveLength(3)

    store.snapshot(view(12, 3, 0, 0))
    store.reset()
    run()
    expect(store.loaded).toBe(false)
    expect(store.seq).toBe(0)
  })

  it('a small snapshot is applied at once and cancels a pending one', () => {
    const { store, run } = deferring()
    store.snapshot(view(7, 3, 0, 0))
    store.snapshot(view(8, 1, 0, 0))
    expect(store.loaded).toBe(true)
    expect(store.phases.bot).toHaveLength(1)
    run()
    expect(store.seq).toBe(8)
    expect(store.phases.bot).toHaveLength(1)
  })
})
