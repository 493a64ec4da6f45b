// A small contact center seeded through the API of a real `mirante` (the development command
// API, with a full administrator's session): two teams, two channels (one routing straight to
// Suporte, one whose bot keeps customers in a menu: `1` routes to Vendas, `2` to Suporte), two
// agents online and customers. Helpers add agents, read the monitor as the API answers it, and
// log a browser page in.
import { expect, type Page } from '@playwright/test'
import { ADMIN, startServer } from '../scripts/server.mjs'

/** A session row as `GET /api/v1/monitor` answers it (the fields the tests read). */
export interface Row {
  id: number
  phase: 'bot' | 'waiting' | 'human'
  contact_name: string
  channel: number
  team?: { id: number; name: string } | null
  agent?: { id: number; name: string } | null
  protocol?: string | null
}

/** `GET /api/v1/monitor` (the fields the tests read). */
export interface View {
  counters: { geral: number; auto: number; espera: number; humano: number }
  agents: { id: number; name: string; status: string; pause_reason?: { name: string } | null; open: number; sessions: number[] }[]
  teams: { id: number; name: string; waiting_count: number; in_service_count: number }[]
  phases: { bot: Row[]; waiting: Row[]; human: Row[] }
}

export interface Center {
  url: string
  stop: () => Promise<void>
  cookie: string
  teams: { suporte: number; vendas: number }
  channels: { chat: number; whatsapp: number }
  agents: { bruna: number; carlos: number }
  reason: number
  command: (body: object) => Promise<{ seq: number; events: Record<string, unknown>[] }>
  call: (method: string, path: string, body?: object) => Promise<Response>
  /** A customer writes (`text` defaults to a first greeting). */
  customer: (identifier: string, name: string, channel?: number, text?: string) => Promise<void>
  /** Creates an agent in `teams` and, unless `login: false`, logs it in; returns its id. */
  agent: (name: string, email: string, teams: number[], options?: { login?: boolean }) => Promise<number>
  /** The monitor as the API answers it (`query` like `?team=1`), for the administrator or `cookie`. */
  view: (query?: string, cookie?: string) => Promise<View>
}

/** Logs `page` in through the log-in form and waits for the monitor's counters. */
export async function loginAs(page: Page, url: string, who: { email: string; password: string } = ADMIN, path = '/login') {
  await page.goto(`${url}${path}`)
  await page.getByLabel(/E-mail/).fill(who.email)
  await page.getByLabel(/Senha|Password/).fill(who.password)
  await page.getByRole('button', { name: /^(Entrar|Sign in)$/ }).click()
  await expect(page.getByTestId('counter-geral-value')).toBeVisible()
}

function createdId(events: Record<string, unknown>[], type: string, field: string): number {
  const event = events.find((e) => e.type === type)
  const entity = event?.[field] as { id: number } | undefined
  if (!entity) throw new Error(`no ${type} in ${JSON.stringify(events)}`)
  return entity.id
}

export async function startCenter(): Promise<Center> {
  const server = await startServer({ commandApi: true, admin: true })
  const url = server.url
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: url },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  })
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`)
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]
  const call = (method: string, path: string, body?: object) =>
    fetch(`${url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', Origin: url, Cookie: cookie },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const command = async (body: object) => {
    const response = await call('POST', '/api/v1/commands', body)
    if (!response.ok) throw new Error(`${JSON.stringify(body)}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const suporte = createdId((await command({ type: 'create_team', name: 'Suporte' })).events, 'team_created', 'team')
  const vendas = createdId((await command({ type: 'create_team', name: 'Vendas' })).events, 'team_created', 'team')
  const direto = createdId(
    (await command({ type: 'create_flow', def: { name: 'direto', start: 'r', steps: { r: { kind: 'route', team: suporte } } } })).events,
    'flow_created',
    'flow',
  )
  const menu = createdId(
    (
      await command({
        type: 'create_flow',
        def: {
          name: 'menu',
          start: 'menu',
          steps: {
            menu: {
              kind: 'menu',
              text: 'Como posso ajudar?',
              options: [
                { key: '1', label: 'Vendas', next: 'vendas' },
                { key: '2', label: 'Suporte', next: 'suporte' },
              ],
            },
            vendas: { kind: 'route', team: vendas },
            suporte: { kind: 'route', team: suporte },
          },
        },
      })
    ).events,
    'flow_created',
    'flow',
  )
  const chat = createdId((await command({ type: 'create_channel', kind: 'webchat', name: 'Chat do site', flow: direto })).events, 'channel_created', 'channel')
  const whatsapp = createdId((await command({ type: 'create_channel', kind: 'whatsapp', name: 'WhatsApp', flow: menu })).events, 'channel_created', 'channel')
  const reason = createdId((await command({ type: 'create_pause_reason', name: 'Almoço' })).events, 'pause_reason_created', 'reason')
  const bruna = createdId(
    (await command({ type: 'create_agent', name: 'Bruna Lima', email: 'bruna@example.com', teams: [suporte] })).events,
    'agent_created',
    'agent',
  )
  const carlos = createdId(
    (await command({ type: 'create_agent', name: 'Carlos Souza', email: 'carlos@example.com', teams: [suporte, vendas] })).events,
    'agent_created',
    'agent',
  )
  await command({ type: 'agent_login', agent: bruna })
  await command({ type: 'agent_login', agent: carlos })
  const customer = async (identifier: string, name: string, channel = chat, text = 'Olá, preciso de ajuda') => {
    await command({ type: 'customer_message', channel, identifier, name, text })
  }
  const agent = async (name: string, email: string, teams: number[], { login = true } = {}) => {
    const id = createdId((await command({ type: 'create_agent', name, email, teams })).events, 'agent_created', 'agent')
    if (login) await command({ type: 'agent_login', agent: id })
    return id
  }
  const view = async (query = '', as = cookie) => {
    const response = await fetch(`${url}/api/v1/monitor${query}`, { headers: { Cookie: as } })
    if (!response.ok) throw new Error(`GET /api/v1/monitor${query}: ${response.status} ${await response.text()}`)
    return (await response.json()) as View
  }
  return {
    url,
    stop: server.stop,
    cookie,
    teams: { suporte, vendas },
    channels: { chat, whatsapp },
    agents: { bruna, carlos },
    reason,
    command,
    call,
    customer,
    agent,
    view,
  }
}
