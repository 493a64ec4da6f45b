// P7: a virtualised list hands the row of an item that left to the item that came (pool keys),
// updated in place, and keeps the rows of the items that stayed, in the items' order.
import { render, screen } from '@testing-library/svelte'
import { tick } from 'svelte'
import { describe, expect, it } from 'vitest'
import ListProbe from './ListProbe.svelte'

const item = (id: number) => ({ id, name: `contact ${id}` })
const rows = () => screen.queryAllByTestId('item')
const settle = async () => {
  await new Promise((r) => setTimeout(r, 0))
  await tick()
}

describe('VirtualList', () => {
  it('reuses the row of an item gone for an item new, and keeps the others', async () => {
    const { rerender } = render(ListProbe, { items: [1, 2, 3, 4, 5].map(item) })
    await settle()
    expect(rows().map((r) => r.textContent)).toEqual([1, 2, 3, 4, 5].map((i) => `contact ${i}`))
    const before = new Map(rows().map((r) => [r.dataset.id, r]))
    before.get('3')!.focus()

    // the head of the queue is served as a new session joins its tail
    await rerender({ items: [2, 3, 4, 5, 6].map(item) })
    await settle()
    const after = rows()
    expect(after.map((r) => r.textContent)).toEqual([2, 3, 4, 5, 6].map((i) => `contact ${i}`))
    for (const id of ['2', '3', '4', '5']) expect(after.find((r) => r.dataset.id === id)).toBe(before.get(id))
    // the new item has the row the served one left, rewritten
    expect(after.find((r) => r.dataset.id === '6')).toBe(before.get('1'))
    // the rows that stayed were not moved in the DOM either: the focus in one of them stays
    expect(document.activeElement).toBe(before.get('3'))

    // a list that shrinks drops the rows of the items gone
    await rerender({ items: [3, 5].map(item) })
    await settle()
    expect(rows().map((r) => r.dataset.id)).toEqual(['3', '5'])
    expect(rows()[0]).toBe(before.get('3'))
  })
})
