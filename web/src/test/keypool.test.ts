// P7: pool keys for keyed lists whose items come and go (a virtualised roster's rows, cards and
// session lines): an item that stays keeps its key, a new item takes the key of one gone.
import { describe, expect, it } from 'vitest'
import { KeyPool } from '../lib/keypool'

const keys = <T>(pool: KeyPool<T>, ids: T[]) => {
  pool.assign(ids)
  return ids.map((id) => pool.get(id))
}

describe('KeyPool', () => {
  it('keeps the key of an id that stays and gives a new id the key of one gone', () => {
    const pool = new KeyPool<number>()
    const [a, b, c, d] = keys(pool, [10, 11, 12, 13])
    expect(new Set([a, b, c, d]).size).toBe(4)
    // scrolled down by one row: 10 left, 14 came
    expect(keys(pool, [11, 12, 13, 14])).toEqual([b, c, d, a])
    // and back up
    expect(keys(pool, [10, 11, 12, 13])).toEqual([a, b, c, d])
  })

  it('gives distinct keys when more ids come than went, and is stable when called again', () => {
    const pool = new KeyPool<string>()
    const first = keys(pool, ['x', 'y'])
    const next = keys(pool, ['y', 'z', 'w'])
    expect(next[0]).toBe(first[1])
    expect(new Set(next).size).toBe(3)
    expect(next).toContain(first[0])
    expect(keys(pool, ['y', 'z', 'w'])).toEqual(next)
  })

  it('forgets the ids gone, so an id that comes back is new', () => {
    const pool = new KeyPool<number>()
    keys(pool, [1, 2])
    keys(pool, [])
    const again = keys(pool, [3, 4, 5])
    expect(new Set(again).size).toBe(3)
  })
})
