// Durations as the screen shows them: fixed-width `m:ss` / `h:mm:ss`, and a clock that ticks
// once a second for every live timer (one interval for the whole page).

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

/** P7: the clock in `PHASES` phases a second. Each phase ticks once a second, a quarter of a
 * second after the previous one; a component that shows many timers (an agent card) reads
 * its own phase (`phasedNow`), so a large roster's timers tick a quarter of them at a time
 * rather than all in one frame (each timer still moves once a second). */
export const PHASES = 4
const phased = $state<number[]>(Array.from({ length: PHASES }, () => Date.now()))

/** The phase of `key` (e.g. an agent's id): a multiplicative hash's top bits, so that keys
 * that go together (ids a fixed stride apart, as a roster sorted by name can put them) still
 * spread over the phases. */
export function phaseOf(key: number): number {
  return Math.floor(((Math.imul(key, 0x9e3779b1) >>> 0) / 2 ** 32) * PHASES)
}

/** The browser's clock as `key`'s phase last read it (reactive, ticks each second). */
export function phasedNow(key: number): number {
  return phased[phaseOf(key)]
}

let timer: ReturnType<typeof setInterval> | undefined
let phase = 0

export function startClock(): void {
  if (timer) return
  timer = setInterval(() => {
    const now = Date.now()
    if (phase === 0) clock.now = now
    phased[phase] = now
    phase = (phase + 1) % PHASES
  }, 1000 / PHASES)
}

/** The server's time now (ms since the epoch). */
export function serverNow(): number {
  return clock.now + clock.offset
}
