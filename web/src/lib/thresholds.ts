// B-1: a waiting row turns amber past its team's service-level target and red past three
// times it (defaults: 20 s and 60 s when the team is unknown).
export type Tone = '' | 'amber' | 'red'

export function waitTone(waitingMs: number, targetMs = 20_000): Tone {
  if (waitingMs >= targetMs * 3) return 'red'
  if (waitingMs >= targetMs) return 'amber'
  return ''
}

/** Service level against the team's goal: red below goal − 10 points, amber below goal. */
export function levelTone(percent: number | null | undefined, goal: number): Tone {
  if (percent === null || percent === undefined) return ''
  if (percent < goal - 10) return 'red'
  if (percent < goal) return 'amber'
  return ''
}
