// The thin typed client: same-origin fetch with the session cookie, JSON in and out, the
// language for server messages, and one place that notices an expired session (401) and
// sends the user to the log-in page (which brings them back afterwards).
import { i18n } from './i18n.svelte'
import type { BulkResult, ChatMessage, ChatSummary, ErrorBody, FilterOptions, FollowAnswer, HistoryAnswer, Id, LoginBody, Me, MonitorView } from './types'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly body: unknown
  constructor(status: number, code: string, message: string, body?: unknown) {
    super(message)
    this.status = status
    this.code = code
    this.body = body
  }
}

type Unauthorized = () => void
let onUnauthorized: Unauthorized = () => {}

/** Called whenever an authenticated request answers 401 (session expired or ended). */
export function setUnauthorizedHandler(handler: Unauthorized): void {
  onUnauthorized = handler
}

/** The session ended by other means than a request (the live stream said so). */
export function unauthorized(): void {
  onUnauthorized()
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  { auth = true }: { auth?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': i18n.lang === 'en' ? 'en' : 'pt-BR',
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  let data: unknown = undefined
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = text
    }
  }
  if (!response.ok) {
    if (response.status === 401 && auth) onUnauthorized()
    const err = (data ?? {}) as Partial<ErrorBody>
    throw new ApiError(
      response.status,
      err.code ?? `http_${response.status}`,
      err.message ?? response.statusText,
      data,
    )
  }
  return data as T
}

/** Query string of a filter; repeated keys for multi-selects. */
export function query(params: Record<string, string | number | (string | number)[] | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue
    for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v))
  }
  const s = search.toString()
  return s ? `?${s}` : ''
}

export const api = {
  login: (body: LoginBody) => request<Me>('POST', '/api/v1/auth/login', body, { auth: false }),
  logout: () => request<void>('POST', '/api/v1/auth/logout', undefined, { auth: false }),
  me: () => request<Me>('GET', '/api/v1/auth/me', undefined, { auth: false }),
  monitor: (q: string) => request<MonitorView>('GET', `/api/v1/monitor${q}`),
  options: () => request<FilterOptions>('GET', '/api/v1/monitor/options'),
  openapi: () => request<{ paths: Record<string, unknown> }>('GET', '/api/openapi.json'),
  finish: (sessions: Id[]) =>
    request<{ results: BulkResult[] }>('POST', '/api/v1/sessions/finish', { sessions }),
  transfer: (sessions: Id[], to: { agent: Id } | { team: Id }) =>
    request<{ results: BulkResult[] }>('POST', '/api/v1/sessions/transfer', { sessions, to }),
  pause: (agent: Id, reason: Id) => request<unknown>('POST', `/api/v1/agents/${agent}/pause`, { reason }),
  resume: (agent: Id) => request<unknown>('POST', `/api/v1/agents/${agent}/resume`, {}),
  pauseReasons: () => request<{ id: Id; name: string }[]>('GET', '/api/v1/pause-reasons'),
  hidden: () => request<{ agents: Id[]; teams: Id[] }>('GET', '/api/v1/monitor/hidden'),
  hide: (kind: 'agents' | 'teams', id: Id) => request<unknown>('PUT', `/api/v1/monitor/hidden/${kind}/${id}`),
  unhide: (kind: 'agents' | 'teams', id: Id) => request<unknown>('DELETE', `/api/v1/monitor/hidden/${kind}/${id}`),
  forceLogout: (agent: Id) => request<unknown>('POST', `/api/v1/agents/${agent}/logout`, {}),
  follow: (session: Id) => request<FollowAnswer>('GET', `/api/v1/sessions/${session}/follow`),
  history: (session: Id) => request<HistoryAnswer>('GET', `/api/v1/sessions/${session}/history`),
  chats: () => request<ChatSummary[]>('GET', '/api/v1/chat'),
  chat: (agent: Id) => request<ChatMessage[]>('GET', `/api/v1/chat/${agent}`),
  chatSend: (agent: Id, text: string) => request<ChatMessage>('POST', `/api/v1/chat/${agent}`, { text }),
  chatRead: (agent: Id) => request<unknown>('POST', `/api/v1/chat/${agent}/read`),
}
