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

let timer: ReturnType<typeof setInterval> | undefined

export function startClock(): void {
  if (timer) return
  timer = setInterval(() => {
    clock.now = Date.now()
  }, 1000)
}

/** The server's time now (ms since the epoch). */
export function serverNow(): number {
  return clock.now + clock.offset
}
