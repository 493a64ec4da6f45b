// Agent cards upserted by deltas (P7): a card that kept its name is replaced where it stands
// (no sort per delta); new, renamed and removed cards leave the list in (name, id) order, as
// a full sort of the same cards would.
import { describe, expect, it } from 'vitest'
import { MonitorStore } from '../lib/monitor.svelte'
import type { AgentCard } from '../lib/types'
import { agent, view } from './fixtures'

const collator = new Intl.Collator('pt-BR')
const sorted = (cards: AgentCard[]) => [...cards].sort((a, b) => collator.compare(a.name, b.name) || a.id - b.id)
const names = (cards: AgentCard[]) => cards.map((c) => `${c.id}:${c.name}`)

function withAgents(cards: AgentCard[]) {
  const store = new MonitorStore()
  store.snapshot({ ...view(1, 0, 0, 0), agents: cards })
  return store
}

describe('MonitorStore: agent cards', () => {
  it('sorts the snapshot by name (pt-BR) then id', () => {
    const cards = [agent(3, [], { name: 'Érica' }), agent(1, [], { name: 'bruna' }), agent(2, [], { name: 'Ana' }), agent(4, [], { name: 'Ana' })]
    expect(names(withAgents(cards).agents)).toEqual(names(sorted(cards)))
  })

  it('replaces a card in place, keeps the others, and sorts only for new or renamed cards', () => {
    const cards = Array.from({ length: 6 }, (_, i) => agent(i + 1, [], { name: `Agente ${String.fromCharCode(70 - i)}` }))
    const store = withAgents(cards)
    const before = store.agents
    const busy = agent(2, [9], { name: before.find((c) => c.id === 2)!.name })
    store.delta({ seq: 2, agents: [busy] })
    expect(names(store.agents)).toEqual(names(before))
    expect(store.agents.find((c) => c.id === 2)).toBe(busy)
    for (const c of store.agents) if (c.id !== 2) expect(c).toBe(before.find((b) => b.id === c.id))

    store.delta({ seq: 3, agents: [agent(7, [], { name: 'Agente A' }), agent(4, [], { name: 'Zé' })], agents_removed: [5] })
    const expected = sorted([...before.filter((c) => c.id !== 5 && c.id !== 4 && c.id !== 2), busy, agent(7, [], { name: 'Agente A' }), agent(4, [], { name: 'Zé' })])
    expect(names(store.agents)).toEqual(names(expected))

    // removed and upserted in one delta: the upsert wins (as before)
    store.delta({ seq: 4, agents: [agent(1, [], { name: 'Agente A' })], agents_removed: [1] })
    expect(store.agents.some((c) => c.id === 1)).toBe(true)
    expect(names(store.agents)).toEqual(names(sorted(store.agents)))
  })
})
