// The clock's phases (P7): an agent card's timers tick in its id's phase; ids a fixed stride
// apart (a roster sorted by name can put them side by side) must still spread over the phases.
import { describe, expect, it } from 'vitest'
import { PHASES, phaseOf } from '../lib/time.svelte'

describe('phaseOf', () => {
  it('is a phase, and spreads ids of any stride over all of them', () => {
    for (const stride of [1, 2, 4, 8, 40, 100]) {
      const count = new Array<number>(PHASES).fill(0)
      for (let i = 0; i < 400; i++) {
        const p = phaseOf(7 + i * stride)
        expect(Number.isInteger(p) && p >= 0 && p < PHASES).toBe(true)
        count[p]++
      }
      for (const n of count) expect(n).toBeGreaterThan(400 / PHASES / 2)
    }
  })
})
