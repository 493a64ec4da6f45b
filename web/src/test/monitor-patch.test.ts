// The Fases lists patched delta by delta (P7) stay exactly what sorting every row again gives:
// random deltas (new rows, messages that keep a row in place, phase changes, time changes,
// removals) checked against a full rebuild after each one.
import { describe, expect, it } from 'vitest'
import { MonitorStore } from '../lib/monitor.svelte'
import type { SessionView } from '../lib/types'
import { row, view } from './fixtures'

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PHASES: SessionView['phase'][] = ['bot', 'waiting', 'human']

function expected(store: MonitorStore) {
  const time = (r: SessionView) => (r.phase === 'bot' ? r.started_at : r.phase === 'waiting' ? r.queued_at : r.assigned_at) ?? 0
  const sorted = (phase: SessionView['phase']) =>
    [...store.rows.values()].filter((r) => r.phase === phase).sort((a, b) => time(a) - time(b) || a.id - b.id).map((r) => r.id)
  return { bot: sorted('bot'), waiting: sorted('waiting'), human: sorted('human') }
}

function shown(store: MonitorStore) {
  return { bot: store.phases.bot.map((r) => r.id), waiting: store.phases.waiting.map((r) => r.id), human: store.phases.human.map((r) => r.id) }
}

describe('MonitorStore: Fases lists patched by deltas', () => {
  it('equal a full sort after every random delta', () => {
    const next = random(7)
    const store = new MonitorStore()
    store.snapshot(view(1, 30, 60, 40))
    let nextId = 1000
    for (let seq = 2; seq < 300; seq++) {
      const ids = [...store.rows.keys()]
      const pick = () => ids[Math.floor(next() * ids.length)]
      const rows: SessionView[] = []
      const removed: number[] = []
      const n = 1 + Math.floor(next() * 12)
      for (let i = 0; i < n; i++) {
        const roll = next()
        if (roll < 0.15) {
          const phase = PHASES[Math.floor(next() * 3)]
          rows.push(row(nextId++, phase, { queued_at: phase === 'bot' ? null : Math.floor(next() * 50) }))
        } else if (roll < 0.25 && ids.length) {
          removed.push(pick())
        } else if (ids.length) {
          const old = store.rows.get(pick())!
          if (roll < 0.7) rows.push({ ...old, last_customer_message_at: seq }) // a message: stays in place
          else if (roll < 0.85) rows.push({ ...old, queued_at: Math.floor(next() * 50), started_at: Math.floor(next() * 50) })
          else {
            const phase = PHASES[Math.floor(next() * 3)]
            rows.push({ ...old, phase, assigned_at: phase === 'human' ? seq : null, queued_at: phase === 'bot' ? null : old.queued_at ?? seq })
          }
        }
      }
      const before = store.phases
      const touched = new Set<string>(rows.map((r) => r.phase))
      for (const id of [...removed, ...rows.map((r) => r.id)]) {
        const old = store.rows.get(id)
        if (old) touched.add(old.phase)
      }
      expect(store.delta({ seq, rows, removed })).toBe(true)
      expect(shown(store)).toEqual(expected(store))
      // a list the delta did not touch keeps its identity (its VirtualList does not redraw)
      for (const phase of ['bot', 'waiting', 'human'] as const) if (!touched.has(phase)) expect(store.phases[phase]).toBe(before[phase])
    }
    const total = store.phases.bot.length + store.phases.waiting.length + store.phases.human.length
    expect(total).toBe(store.rows.size)
  })

  it('a message into one of 10 000 rows replaces it where it stands', () => {
    const store = new MonitorStore()
    store.snapshot(view(1, 2000, 7800, 200))
    const target = store.phases.waiting[4321]
    const bot = store.phases.bot
    store.delta({ seq: 2, rows: [{ ...target, last_customer_message_at: 99_999 }] })
    expect(store.phases.waiting[4321].id).toBe(target.id)
    expect(store.phases.waiting[4321].last_customer_message_at).toBe(99_999)
    expect(store.rows.get(target.id)?.last_customer_message_at).toBe(99_999)
    expect(store.phases.bot).toBe(bot)
  })
})
