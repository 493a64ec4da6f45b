import { describe, expect, it } from 'vitest'
import { MonitorStore, Selection } from '../lib/monitor.svelte'
import { row, view } from './fixtures'

describe('MonitorStore: snapshot + deltas (B-2)', () => {
  it('a snapshot fills counters, cards and phase lists that agree', () => {
    const store = new MonitorStore()
    store.snapshot(view(7, 2, 3, 4))
    expect(store.seq).toBe(7)
    expect(store.counters).toEqual({ geral: 9, auto: 2, espera: 3, humano: 4 })
    expect(store.phases.bot).toHaveLength(store.counters.auto)
    expect(store.phases.waiting).toHaveLength(store.counters.espera)
    expect(store.phases.human).toHaveLength(store.counters.humano)
    expect(store.rowsOf(store.agents[0].sessions).map((r) => r.id)).toEqual([6, 7, 8, 9])
  })

  it('a delta upserts and removes rows and moves the counters with them', () => {
    const store = new MonitorStore()
    store.snapshot(view(7, 1, 1, 0))
    const applied = store.delta({
      seq: 8,
      counters: { geral: 2, auto: 0, espera: 1, humano: 1 },
      rows: [row(1, 'human')],
      removed: [],
    })
    expect(applied).toBe(true)
    expect(store.phases.bot).toHaveLength(0)
    expect(store.phases.human.map((r) => r.id)).toEqual([1])
    store.delta({ seq: 9, counters: { geral: 1, auto: 0, espera: 0, humano: 1 }, removed: [2] })
    expect(store.phases.waiting).toHaveLength(0)
    expect(store.counters.geral).toBe(1)
    expect(store.seq).toBe(9)
  })

  it('drops deltas at or below the current sequence, and before any snapshot', () => {
    const store = new MonitorStore()
    expect(store.delta({ seq: 1, removed: [1] })).toBe(false)
    store.snapshot(view(10, 1, 0, 0))
    expect(store.delta({ seq: 10, removed: [1] })).toBe(false)
    expect(store.delta({ seq: 5, removed: [1] })).toBe(false)
    expect(store.rows.has(1)).toBe(true)
    // the stream's counters-only update at the same sequence applies on it
    expect(store.delta({ seq: 10, from_seq: 10, counters: { geral: 0, auto: 0, espera: 0, humano: 0 } })).toBe(true)
    expect(store.counters.geral).toBe(0)
    store.delta({ seq: 10, from_seq: 10, counters: { geral: 1, auto: 1, espera: 0, humano: 0 } })
    // an older snapshot (a slow poll answer) does not go back in time
    expect(store.snapshot(view(9, 0, 0, 0))).toBe(false)
    expect(store.counters.geral).toBe(1)
  })

  it('keeps the waiting list oldest first and the agent cards sorted by name', () => {
    const store = new MonitorStore()
    store.snapshot(view(1, 0, 0, 0))
    store.delta({ seq: 2, rows: [row(5, 'waiting', { queued_at: 50 }), row(6, 'waiting', { queued_at: 10 })] })
    expect(store.phases.waiting.map((r) => r.id)).toEqual([6, 5])
    store.delta({ seq: 3, agents: [{ ...store.agents[0], id: 9, name: 'Abel' }] })
    expect(store.agents.map((a) => a.name)).toEqual(['Abel', 'Agente 1'])
  })

  it('samples counters for the sparklines and keeps only the last hour', () => {
    const store = new MonitorStore()
    store.snapshot(view(1, 1, 0, 0), 0)
    store.delta({ seq: 2, counters: { geral: 2, auto: 2, espera: 0, humano: 0 } }, 1_000)
    expect(store.history.map((s) => s.counters.geral)).toEqual([1, 2])
    store.delta({ seq: 3, counters: { geral: 3, auto: 3, espera: 0, humano: 0 } }, 3_700_000)
    expect(store.history.map((s) => s.counters.geral)).toEqual([3])
  })

  it('applies 10 000 rows quickly', () => {
    const store = new MonitorStore()
    const started = performance.now()
    store.snapshot(view(1, 3000, 3000, 4000))
    for (let i = 0; i < 50; i++) store.delta({ seq: 2 + i, rows: [row(i + 1, 'waiting', { queued_at: i })] })
    expect(store.phases.human).toHaveLength(4000)
    expect(performance.now() - started).toBeLessThan(2000)
  })
})

describe('Selection (M-12, M-21)', () => {
  it('refuses the 6th session of a panel and disables its checkbox', () => {
    const sel = new Selection(5)
    for (let id = 1; id <= 5; id++) expect(sel.toggle('agent:1', id)).toBe('added')
    expect(sel.disabled('agent:1', 6)).toBe(true)
    expect(sel.toggle('agent:1', 6)).toBe('refused')
    expect(sel.of('agent:1')).toEqual([1, 2, 3, 4, 5])
    // a selected one stays clickable, and another panel has its own cap
    expect(sel.disabled('agent:1', 3)).toBe(false)
    expect(sel.toggle('team:1', 6)).toBe('added')
    expect(sel.toggle('agent:1', 3)).toBe('removed')
    expect(sel.disabled('agent:1', 6)).toBe(false)
  })

  it('forgets sessions that left the panel', () => {
    const sel = new Selection()
    sel.toggle('team:2', 1)
    sel.toggle('team:2', 2)
    sel.prune('team:2', [2, 3])
    expect(sel.of('team:2')).toEqual([2])
  })
})
