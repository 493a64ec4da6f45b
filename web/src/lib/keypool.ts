// P7: keys for a keyed `{#each}` that reuse the blocks of items gone for items new. A
// virtualised roster's rows, a row's cards and a card's sessions come and go all the time as
// the page scrolls (a row leaves at the top as one enters at the bottom); keyed by the item's
// own id, Svelte destroys the block that left and creates one for the item that came (cloning,
// inserting and removing the DOM of a whole row of cards). Keyed by a pool key instead, the
// block of an item that left is handed to an item that came in the same update and updated in
// place (its text, attributes), while the blocks of the items that stayed keep their item —
// their DOM, state and focus untouched. Whatever a block keeps of its own (an open menu, the
// focus in it) must therefore follow the item's id, not the block (see `AgentCard`,
// `SessionRow`, `SessionMenu`).

/** Keys for lists of distinct ids: an id kept since the last `assign` keeps its key, a new id
 * takes a key freed by an id gone (in the order they went), or a new one. */
export class KeyPool<T> {
  #keys = new Map<T, number>()
  #next = 0
  #free: number[] = []
  #keep = new Set<T>()

  /** Assigns the keys of `ids` (distinct); `get` then answers for each of them. */
  assign(ids: Iterable<T>): void {
    const keep = this.#keep
    keep.clear()
    for (const id of ids) keep.add(id)
    const free = this.#free
    free.length = 0
    for (const [id, k] of this.#keys) {
      if (!keep.has(id)) {
        free.push(k)
        this.#keys.delete(id)
      }
    }
    let f = 0
    for (const id of keep) {
      if (!this.#keys.has(id)) this.#keys.set(id, f < free.length ? free[f++] : this.#next++)
    }
    keep.clear()
    free.length = 0
  }

  /** The key of an id of the last `assign` (a new key for an id it did not have). */
  get(id: T): number {
    let k = this.#keys.get(id)
    if (k === undefined) {
      k = this.#next++
      this.#keys.set(id, k)
    }
    return k
  }
}
