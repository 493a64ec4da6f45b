// A team panel's sessions (M-21) come from the Fases lists, grouped once per change of the
// `waiting` / `human` lists (the server no longer lists their ids in the team cards): the
// team's waiting rows (oldest queued first), then its rows in service (assignment order).
import { describe, expect, it } from 'vitest'
import { MonitorStore, groupByTeam } from '../lib/monitor.svelte'
import type { MonitorView, SessionView } from '../lib/types'
import { row, team, view } from './fixtures'

const SUPORTE = { id: 1, name: 'Suporte' }
const VENDAS = { id: 2, name: 'Vendas' }

const ids = (rows: readonly SessionView[]) => rows.map((r) => r.id)

/** Two teams: waiting 1 (Vendas, queued 50), 2 (Suporte, 40), 3 (Suporte, 60); in service
 * 4 (Suporte, assigned 70), 5 (Vendas, 80), 6 (Suporte, 90); 7 in the bot (no team). */
function twoTeams(seq = 1): MonitorView {
  const base = view(seq, 0, 0, 0)
  return {
    ...base,
    teams: [team(1, 2, 2), team(2, 1, 1)],
    phases: {
      bot: [row(7, 'bot')],
      waiting: [
        row(2, 'waiting', { team: SUPORTE, queued_at: 40 }),
        row(1, 'waiting', { team: VENDAS, queued_at: 50 }),
        row(3, 'waiting', { team: SUPORTE, queued_at: 60 }),
      ],
      human: [
        row(4, 'human', { team: SUPORTE, assigned_at: 70 }),
        row(5, 'human', { team: VENDAS, assigned_at: 80 }),
        row(6, 'human', { team: SUPORTE, assigned_at: 90 }),
      ],
    },
  }
}

describe('MonitorStore.teamRows', () => {
  it('lists a team’s waiting rows in queue-time order, then its rows in service', () => {
    const store = new MonitorStore()
    store.snapshot(twoTeams())
    expect(ids(store.teamRows(1))).toEqual([2, 3, 4, 6])
    expect(ids(store.teamRows(2))).toEqual([1, 5])
    expect(store.teamRows(3)).toEqual([])
    // the waiting part agrees with the cards' counts
    for (const card of store.teams) {
      expect(store.teamRows(card.id).filter((r) => r.phase === 'waiting')).toHaveLength(card.waiting_count)
    }
  })

  it('follows a row from waiting to in service, and from one team to another', () => {
    const store = new MonitorStore()
    store.snapshot(twoTeams())
    // 2 is assigned (in service after 6), 1 is transferred to Suporte's queue (queued at 55)
    store.delta({
      seq: 2,
      rows: [
        row(2, 'human', { team: SUPORTE, queued_at: 40, assigned_at: 95 }),
        row(1, 'waiting', { team: SUPORTE, queued_at: 55 }),
      ],
    })
    expect(ids(store.teamRows(1))).toEqual([1, 3, 4, 6, 2])
    expect(store.teamRows(2).map((r) => r.id)).toEqual([5])
  })

  it('drops removed rows, and a team left without rows gets none', () => {
    const store = new MonitorStore()
    store.snapshot(twoTeams())
    store.delta({ seq: 2, removed: [1, 5, 3] })
    expect(ids(store.teamRows(1))).toEqual([2, 4, 6])
    expect(store.teamRows(2)).toEqual([])
  })

  it('keeps the array of a team whose rows did not change', () => {
    const store = new MonitorStore()
    store.snapshot(twoTeams())
    const suporte = store.teamRows(1)
    const vendas = store.teamRows(2)
    // a message in a Vendas session: Vendas gets a new array, Suporte keeps its own
    const message = { ...store.rows.get(5)!, last_customer_message_at: 9_999 }
    store.delta({ seq: 2, rows: [message] })
    expect(store.teamRows(1)).toBe(suporte)
    expect(store.teamRows(2)).not.toBe(vendas)
    expect(store.teamRows(2)[1]).toBe(message)
    // a change in the bot list only: nothing is grouped again
    store.delta({ seq: 3, rows: [{ ...store.rows.get(7)!, bot_step: 'menu 2' }] })
    expect(store.teamRows(1)).toBe(suporte)
    // a new Vendas session waiting: Suporte still keeps its array
    const before = store.teamRows(2)
    store.delta({ seq: 4, rows: [row(8, 'waiting', { team: VENDAS, queued_at: 100 })] })
    expect(store.teamRows(1)).toBe(suporte)
    expect(ids(store.teamRows(2))).toEqual([1, 8, 5])
    expect(store.teamRows(2)).not.toBe(before)
  })

  it('groups again only when the waiting or human list changed', () => {
    const store = new MonitorStore()
    store.snapshot(twoTeams())
    const first = store.teamRows(1)
    // reading again without a change returns the same array
    expect(store.teamRows(1)).toBe(first)
    store.reset()
    expect(store.teamRows(1)).toEqual([])
  })
})

describe('groupByTeam', () => {
  it('skips rows without a team and reuses equal groups of the previous grouping', () => {
    const a = row(1, 'waiting', { team: SUPORTE })
    const b = row(2, 'human', { team: VENDAS })
    const c = row(3, 'human', { team: null })
    const first = groupByTeam([a], [b, c])
    expect([...first.keys()].sort()).toEqual([1, 2])
    const b2 = { ...b }
    const second = groupByTeam([a], [b2, c], first)
    expect(second.get(1)).toBe(first.get(1))
    expect(second.get(2)).not.toBe(first.get(2))
    expect(second.get(2)).toEqual([b2])
  })
})

describe('a team’s queue order', () => {
  it('follows the rows’ queue_order when the server sends it (a session sent back to the front)', () => {
    const store = new MonitorStore()
    const v = twoTeams()
    // 3 went back to the front of Suporte's queue (M-15): served before 2, though queued later
    const order = (r: SessionView, q: number): SessionView => ({ ...r, queue_order: q })
    v.phases.waiting = [order(v.phases.waiting[0], 20), order(v.phases.waiting[1], 5), order(v.phases.waiting[2], 10)]
    store.snapshot(v)
    expect(ids(store.phases.waiting)).toEqual([2, 1, 3])
    expect(ids(store.teamRows(1))).toEqual([3, 2, 4, 6])
    expect(ids(store.teamRows(2))).toEqual([1, 5])
  })
})
