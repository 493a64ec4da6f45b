// Durations as the screen shows them: fixed-width `m:ss` / `h:mm:ss`, and a clock for every
// live timer (one interval for the whole page).
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
//
// P7: a timer's text changes when a whole second has passed since its start, i.e. at its own
// phase within the second (its start modulo 1 000 ms). The timers are kept in SLICES sets by
// that phase, and the clock (`tickDue`, every SLICE_MS) rewrites a slice once its part of the
// second has passed: each timer turns within ~SLICE_MS of its true second, and the timers in
// view turn in two frames a second instead of one. On Agentes under load (~260 timers in
// view) the second's frame was the largest, ~40 ms of CPU (the layout and paint of ~350–880
// objects); with two slices the largest are ~31 ms, and frames over 25 ms of CPU a third as
// many. More slices cost more than they save: every frame that paints walks the whole
// document, so ten slices (ten such frames a second) added ~60 ms/s of main-thread CPU.
interface Timer {
  node: Text
  from: number | null
  text: string
  group: TimerGroup | null
  slice: number
}
const timers = new Set<Timer>()
const SLICES = 2
const SLICE_MS = 1000 / SLICES
const slices: Set<Timer>[] = Array.from({ length: SLICES }, () => new Set<Timer>())

/** The slice of a timer that starts at `from`: its phase within the second. */
function sliceOf(from: number | null): number {
  if (from === null) return 0
  const phase = ((from % 1000) + 1000) % 1000
  return Math.min(SLICES - 1, Math.floor(phase / SLICE_MS))
}

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

/** The browser's time at the clock's last step (not reactive: the timers' own). */
let stepped = 0

/** The timers' time now, on the server's clock. */
function tickNow(): number {
  return untrack(() => Math.max(clock.now, stepped) + clock.offset)
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

/** The clock's time when `tickDue` last ran. */
let dueUntil: number | null = null

/** Rewrites the live timers of the slices whose part of the second ended since the last call
 * (all of them after a second or more, or on the first call). */
export function tickDue(): void {
  const now = tickNow()
  const from = dueUntil === null ? -Infinity : Math.floor(dueUntil / SLICE_MS)
  const to = Math.floor(now / SLICE_MS)
  dueUntil = now
  if (to - from >= SLICES) return tickTimers()
  // the window of index k − 1 (a slice's part of some second) ended at k × SLICE_MS ≤ now
  for (let k = from + 1; k <= to; k++) {
    for (const t of slices[(((k - 1) % SLICES) + SLICES) % SLICES]) if (!t.group || t.group.live) show(t, now)
  }
}

/** `{@attach timer(() => start)}`: the element shows the time since `start` (ms since the
 * epoch, on the server's clock; `—` when null), counting with the clock's tick. A new start
 * rewrites the text in place (P7: a card reused for another agent as a roster scrolls keeps
 * its timers' text nodes; removing them, in the attachment's teardown, was the top native
 * function of a CPU profile of the Agentes tab under load). */
export function timer(start: () => number | null | undefined, group: TimerGroup | null = null): Attachment<HTMLElement> {
  return (el) => {
    // the attachment reads `start` untracked (a new start does not set it up again) ...
    const from0 = untrack(start) ?? null
    const t: Timer = { node: document.createTextNode(''), from: from0, text: '', group, slice: sliceOf(from0) }
    show(t, tickNow())
    el.append(t.node)
    timers.add(t)
    slices[t.slice].add(t)
    group?.timers.add(t)
    // ... and a nested effect follows it
    $effect(() => {
      const from = start() ?? null
      if (from !== t.from) {
        t.from = from
        slices[t.slice].delete(t)
        t.slice = sliceOf(from)
        slices[t.slice].add(t)
        show(t, tickNow())
      }
    })
    return () => {
      timers.delete(t)
      slices[t.slice].delete(t)
      group?.timers.delete(t)
      t.node.remove()
    }
  }
}

let interval: ReturnType<typeof setInterval> | undefined

/** Starts the page's clock: the reactive `clock.now` once a second, the timers by slice. */
export function startClock(): void {
  if (interval) return
  let second = Math.floor(Date.now() / 1000)
  interval = setInterval(() => {
    const now = Date.now()
    stepped = now
    if (Math.floor(now / 1000) !== second) {
      second = Math.floor(now / 1000)
      clock.now = now
    }
    tickDue()
  }, SLICE_MS)
}

/** The server's time now (ms since the epoch). */
export function serverNow(): number {
  return clock.now + clock.offset
}
