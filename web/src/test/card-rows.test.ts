// P7: a virtualised row of agent cards has a computed height (not measured): a line for every
// session the fullest card of the row can take, so sessions that come and go move nothing.
import { describe, expect, it } from 'vitest'
import { agentRowSize } from '../components/AgentCard.svelte'

const agent = (capacity: number, sessions = 0) => ({ capacity, sessions: Array.from({ length: sessions }, (_, i) => i) })

describe('agentRowSize', () => {
  it('keeps a line for each session the fullest card of the row can take', () => {
    const two = agentRowSize([agent(2)], 16)
    const three = agentRowSize([agent(3)], 16)
    expect(three - two).toBeCloseTo(2.1 * 16, 0)
    expect(agentRowSize([agent(2), agent(4, 1), agent(3)], 16)).toBe(agentRowSize([agent(4)], 16))
  })

  it('does not change while sessions come and go within capacity, and grows past it', () => {
    const empty = agentRowSize([agent(3), agent(2)], 14)
    expect(agentRowSize([agent(3, 3), agent(2, 1)], 14)).toBe(empty)
    expect(agentRowSize([agent(3, 4), agent(2)], 14)).toBeGreaterThan(empty)
  })

  it('keeps one line for a card without capacity (its empty state)', () => {
    expect(agentRowSize([agent(0)], 16)).toBe(agentRowSize([agent(1)], 16))
  })
})
