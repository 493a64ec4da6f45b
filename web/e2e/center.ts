// A small contact center seeded through the API of a real `mirante` (the development command
// API, with a full administrator's session): two teams, two channels (one routing straight to
// Suporte, one whose bot keeps customers in a menu), two agents online and customers.
import { ADMIN, startServer } from '../scripts/server.mjs'

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
  customer: (identifier: string, name: string, channel?: number) => Promise<void>
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
  const customer = async (identifier: string, name: string, channel = chat) => {
    await command({ type: 'customer_message', channel, identifier, name, text: 'Olá, preciso de ajuda' })
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
  }
}
