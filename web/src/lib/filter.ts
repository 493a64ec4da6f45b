// The monitor's filter (M-50…M-55) and its place in the URL: `?agent=1&agent=2&team=3&
// channel=4&contact=…&protocol=…` (repeated keys for multi-selects, OR within a kind, AND
// across kinds), so a view can be bookmarked or shared. The same keys go to the API.

export interface Filter {
  agents: number[]
  teams: number[]
  channels: number[]
  contact: string
  protocol: string
}

export const emptyFilter = (): Filter => ({ agents: [], teams: [], channels: [], contact: '', protocol: '' })

export function isActive(f: Filter): boolean {
  return (
    f.agents.length > 0 || f.teams.length > 0 || f.channels.length > 0 || f.contact.trim() !== '' || f.protocol.trim() !== ''
  )
}

/** How many conditions are set (for the badge on the funnel). */
export function conditionCount(f: Filter): number {
  return f.agents.length + f.teams.length + f.channels.length + (f.contact.trim() ? 1 : 0) + (f.protocol.trim() ? 1 : 0)
}

function ids(params: URLSearchParams, key: string): number[] {
  const out: number[] = []
  for (const v of params.getAll(key)) {
    const n = Number(v)
    if (Number.isInteger(n) && n >= 0 && !out.includes(n)) out.push(n)
  }
  return out.sort((a, b) => a - b)
}

export function fromSearch(search: string): Filter {
  const params = new URLSearchParams(search)
  return {
    agents: ids(params, 'agent'),
    teams: ids(params, 'team'),
    channels: ids(params, 'channel'),
    contact: (params.get('contact') ?? '').trim(),
    protocol: (params.get('protocol') ?? '').replace(/\D/g, ''),
  }
}

/** The filter's query parameters (without `?`), in a stable order; other keys are kept. */
export function toSearch(f: Filter, keep: URLSearchParams = new URLSearchParams()): string {
  const params = new URLSearchParams()
  for (const [key, value] of keep) {
    if (!['agent', 'team', 'channel', 'contact', 'protocol'].includes(key)) params.append(key, value)
  }
  for (const a of [...f.agents].sort((x, y) => x - y)) params.append('agent', String(a))
  for (const t of [...f.teams].sort((x, y) => x - y)) params.append('team', String(t))
  for (const c of [...f.channels].sort((x, y) => x - y)) params.append('channel', String(c))
  if (f.contact.trim()) params.set('contact', f.contact.trim())
  if (f.protocol.trim()) params.set('protocol', f.protocol.replace(/\D/g, ''))
  return params.toString()
}

/** The API query string (`?…`) for a filter. */
export function apiQuery(f: Filter): string {
  const s = toSearch(f)
  return s ? `?${s}` : ''
}
