import { describe, expect, it } from 'vitest'
import { apiQuery, conditionCount, emptyFilter, fromSearch, isActive, toSearch } from '../lib/filter'

describe('filter ↔ URL (M-55)', () => {
  it('round-trips every kind, repeated keys for multi-selects', () => {
    const f = { agents: [3, 1], teams: [2], channels: [4, 5], contact: ' Maria Luiza de Santos Reis ', protocol: '20261123000042' }
    const search = toSearch(f)
    expect(search).toBe('agent=1&agent=3&team=2&channel=4&channel=5&contact=Maria+Luiza+de+Santos+Reis&protocol=20261123000042')
    expect(fromSearch(`?${search}`)).toEqual({ ...f, agents: [1, 3], contact: 'Maria Luiza de Santos Reis' })
  })

  it('keeps other parameters (the tab) and drops empty conditions', () => {
    expect(toSearch(emptyFilter(), new URLSearchParams('tab=fases&agent=9'))).toBe('tab=fases')
    expect(apiQuery(emptyFilter())).toBe('')
    expect(isActive(emptyFilter())).toBe(false)
  })

  it('ignores junk ids and keeps only digits of a protocol', () => {
    const f = fromSearch('?agent=x&agent=2&agent=2&team=-1&protocol=2026-1123-000042')
    expect(f.agents).toEqual([2])
    expect(f.teams).toEqual([])
    expect(f.protocol).toBe('20261123000042')
    expect(conditionCount(f)).toBe(2)
    expect(isActive(f)).toBe(true)
  })

  it('passes a punctuated number as typed (the server normalises it, M-53)', () => {
    expect(apiQuery({ ...emptyFilter(), contact: '+55 (35) 99876-5432' })).toBe('?contact=%2B55+%2835%29+99876-5432')
  })
})
