// Durations as the screen shows them: fixed-width `m:ss` / `h:mm:ss`, and a clock that ticks
// once a second for every live timer (one interval for the whole page).
import { untrack } from 'svelte'
import type { Attachment } from 'svelte/attachments'

/** `0:07`, `12:34`, `1:02:03`; negative and missing durations show as `—`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  const total = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** Wall clock of the browser, corrected to the server's clock (reactive, ticks each second). */
export const clock = $state({ now: Date.now(), offset: 0 })

// P7: the live timers of the lists and cards (hundreds in view) are not reactive: each is one
// text node that the clock's tick rewrites in place (when its text changed), without running
// any component's update. Its box is fixed and contained (`.tv`, see SessionRow), so the
// change re-lays out and repaints that box alone.
interface Timer {
  node: Text
  from: number | null
  text: string
  group: TimerGroup | null
}
const timers = new Set<Timer>()

/** Timers that stand still while their group is not live (an agent card out of view) and
 * catch up with the clock as soon as it is again. */
export class TimerGroup {
  #live = true
  readonly timers = new Set<Timer>()
  get live(): boolean {
    return this.#live
  }
  set live(live: boolean) {
    if (live === this.#live) return
    this.#live = live
    if (live) {
      const now = tickNow()
      for (const t of this.timers) show(t, now)
    }
  }
}

function tickNow(): number {
  return untrack(() => clock.now + clock.offset)
}

function show(t: Timer, now: number): void {
  const text = t.from === null ? '—' : duration(now - t.from)
  if (text !== t.text) {
    t.text = text
    t.node.data = text
  }
}

/** Rewrites every live timer's text for the clock's time now. */
export function tickTimers(): void {
  const now = tickNow()
  for (const t of timers) if (!t.group || t.group.live) show(t, now)
}

/** `{@attach timer(() => start)}`: the element shows the time since `start` (ms since the
 * epoch, on the server's clock; `—` when null), counting with the clock's tick. A new start
 * rewrites the text in place (P7: a card reused for another agent as a roster scrolls keeps
 * its timers' text nodes; removing them, in the attachment's teardown, was the top native
 * function of a CPU profile of the Agentes tab under load). */
export function timer(start: () => number | null | undefined, group: TimerGroup | null = null): Attachment<HTMLElement> {
  return (el) => {
    // the attachment reads `start` untracked (a new start does not set it up again) ...
    const t: Timer = { node: document.createTextNode(''), from: untrack(start) ?? null, text: '', group }
    show(t, tickNow())
    el.append(t.node)
    timers.add(t)
    group?.timers.add(t)
    // ... and a nested effect follows it
    $effect(() => {
      const from = start() ?? null
      if (from !== t.from) {
        t.from = from
        show(t, tickNow())
      }
    })
    return () => {
      timers.delete(t)
      group?.timers.delete(t)
      t.node.remove()
    }
  }
}

let interval: ReturnType<typeof setInterval> | undefined

export function startClock(): void {
  if (interval) return
  interval = setInterval(() => {
    clock.now = Date.now()
    tickTimers()
  }, 1000)
}

/** The server's time now (ms since the epoch). */
export function serverNow(): number {
  return clock.now + clock.offset
}
