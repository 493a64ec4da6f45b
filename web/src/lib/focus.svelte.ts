// P7: a block of a keyed `{#each}` reused for another item (`KeyPool`) keeps its DOM, and with
// it the focus of an element inside it. A block destroyed takes the focus with it; a reused one
// must not hand it to the item it shows now (a checkbox or menu of another agent or session).
import { untrack } from 'svelte'

/** Blurs the focus inside `el()` when `id()` changes (call during a component's init). */
export function blurOnNewItem(id: () => unknown, el: () => HTMLElement | undefined): void {
  let last: unknown
  let first = true
  $effect.pre(() => {
    const now = id()
    untrack(() => {
      if (!first && now !== last) {
        const box = el()
        const active = document.activeElement
        if (box && active instanceof HTMLElement && box.contains(active)) active.blur()
      }
      first = false
      last = now
    })
  })
}
