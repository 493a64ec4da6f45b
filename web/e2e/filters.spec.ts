// Filters and scope in a real browser against a real `mirante` (monitor.spec.ts covers agent and
// contact): by team, by channel (OR within a kind, AND across kinds), by protocol — open,
// finished (saying where to find it, M-54) and unknown —, and an administrator restricted to
// one team who sees only that team in counters, tabs, live deltas and filter options (M-60).
// Screenshots go to test-results/screens/.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { loginAs, startCenter, type Center, type Row } from './center'

const SCREENS = 'test-results/screens'
mkdirSync(SCREENS, { recursive: true })

test.describe.configure({ mode: 'serial' })

let center: Center
let dora: number

// 7 open sessions: 3 on the web chat (Suporte), 2 on WhatsApp choosing Vendas, 1 on WhatsApp
// choosing Suporte, 1 on WhatsApp still in the bot's menu. Nobody waits (capacity is enough).
test.beforeAll(async () => {
  center = await startCenter()
  dora = await center.agent('Dora Alves', 'dora@example.com', [center.teams.vendas])
  const { chat, whatsapp } = center.channels
  await center.customer('5511920000001', 'Ana Chat', chat)
  await center.customer('5511920000002', 'Beto Chat', chat)
  await center.customer('5511920000003', 'Caio Chat', chat)
  for (const [number, name, choice] of [
    ['5521930000001', 'Vivi Vendas', '1'],
    ['5521930000002', 'Vitor Vendas', '1'],
    ['5521930000003', 'Sara Suporte', '2'],
  ]) {
    await center.customer(number, name, whatsapp)
    await center.customer(number, name, whatsapp, choice)
  }
  await center.customer('5521930000004', 'Bia Bot', whatsapp)
  const view = await center.view()
  expect(view.counters).toEqual({ geral: 7, auto: 1, espera: 0, humano: 6 })
  const vendas = view.phases.human.filter((r) => r.team?.id === center.teams.vendas).map((r) => r.contact_name)
  expect(vendas.sort()).toEqual(['Vitor Vendas', 'Vivi Vendas'])
})

test.afterAll(async () => {
  await center?.stop()
})

const contacts = async (page: Page) => (await page.getByTestId('session-row').locator('.contact').allInnerTexts()).sort()

async function applyInFunnel(page: Page, set: (dialog: ReturnType<Page['getByTestId']>) => Promise<void>) {
  await page.getByTestId('filter-open').click()
  const dialog = page.getByTestId('filter-dialog')
  await set(dialog)
  await dialog.getByTestId('filter-apply').click()
  await expect(dialog).toHaveCount(0)
}

test('filter by team: counters, cards and rows of that team only', async ({ page }) => {
  await loginAs(page, center.url)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('7')
  await applyInFunnel(page, (d) => d.getByRole('group', { name: /Equipes/ }).getByRole('checkbox', { name: 'Vendas' }).check())
  await expect(page).toHaveURL(new RegExp(`[?&]team=${center.teams.vendas}(&|$)`))
  await expect(page.getByTestId('filter-count')).toHaveText('1')
  await expect(page.getByTestId('counter-geral-value')).toHaveText('2')
  await expect(page.getByTestId('counter-auto-value')).toHaveText('0')
  await expect(page.getByTestId('counter-humano-value')).toHaveText('2')
  await expect(page.getByTestId('counter-geral')).toHaveAttribute('title', /Sem filtro: 7/)
  // Agentes: the members of Vendas; Equipes: Vendas alone; Fases: its two sessions
  await expect(page.getByTestId('agent-card')).toHaveCount(2)
  await expect(page.locator(`[data-testid=agent-card][data-agent="${center.agents.bruna}"]`)).toHaveCount(0)
  await expect(page.locator(`[data-testid=agent-card][data-agent="${dora}"]`)).toBeVisible()
  await page.getByTestId('tab-equipes').click()
  await expect(page.getByTestId('team-panel')).toHaveCount(1)
  await expect(page.getByTestId('team-panel')).toHaveAttribute('data-team', String(center.teams.vendas))
  await page.getByTestId('tab-fases').click()
  await expect(page.getByTestId('phase-human').getByTestId('session-row')).toHaveCount(2)
  expect(await contacts(page)).toEqual(['Vitor Vendas', 'Vivi Vendas'])
  await page.screenshot({ path: `${SCREENS}/filter-team-pt-BR.png` })
  // the filter is in the URL: a reload keeps it
  await page.reload()
  await expect(page.getByTestId('counter-geral-value')).toHaveText('2')
})

test('filter by channel: OR within channels, AND with a team', async ({ page }) => {
  await loginAs(page, center.url, undefined, '/login?next=%2Fmonitor%3Ftab%3Dfases')
  await expect(page.getByTestId('counter-geral-value')).toHaveText('7')
  await applyInFunnel(page, (d) => d.getByRole('checkbox', { name: 'WhatsApp' }).check())
  await expect(page).toHaveURL(new RegExp(`[?&]channel=${center.channels.whatsapp}(&|$)`))
  await expect(page.getByTestId('counter-geral-value')).toHaveText('4')
  await expect(page.getByTestId('counter-auto-value')).toHaveText('1')
  await expect(page.getByTestId('counter-humano-value')).toHaveText('3')
  await expect(page.getByTestId('phase-bot').getByTestId('session-row')).toHaveCount(1)
  await expect(page.getByTestId('phase-human').getByTestId('session-row')).toHaveCount(3)
  expect(await contacts(page)).toEqual(['Bia Bot', 'Sara Suporte', 'Vitor Vendas', 'Vivi Vendas'])
  for (const channel of await page.getByTestId('session-row').locator('.channel').allInnerTexts()) expect(channel).toBe('WhatsApp')
  await page.screenshot({ path: `${SCREENS}/filter-channel-pt-BR.png` })

  // AND across kinds: WhatsApp and Suporte → the one who chose Suporte
  await applyInFunnel(page, (d) => d.getByRole('group', { name: /Equipes/ }).getByRole('checkbox', { name: 'Suporte' }).check())
  await expect(page.getByTestId('filter-count')).toHaveText('2')
  await expect(page.getByTestId('counter-geral-value')).toHaveText('1')
  expect(await contacts(page)).toEqual(['Sara Suporte'])
  // OR within a kind: both channels (still with Suporte) → Suporte's four
  await applyInFunnel(page, (d) => d.getByRole('checkbox', { name: 'Chat do site' }).check())
  await expect(page.getByTestId('counter-geral-value')).toHaveText('4')
  expect(await contacts(page)).toEqual(['Ana Chat', 'Beto Chat', 'Caio Chat', 'Sara Suporte'])
  // the API agrees with the screen for the same query
  const params = new URL(page.url()).searchParams
  params.delete('tab')
  expect((await center.view(`?${params}`)).counters.geral).toBe(4)
})

test('filter by protocol: an open one, a finished one says where to find it, an unknown one', async ({ page }) => {
  const human = (await center.view()).phases.human
  const open = human.find((r) => r.contact_name === 'Beto Chat') as Row
  const done = human.find((r) => r.contact_name === 'Caio Chat') as Row
  expect(open.protocol).toMatch(/^\d{14}$/)
  const finished = await center.call('POST', '/api/v1/sessions/finish', { sessions: [done.id] })
  expect(finished.ok, await finished.text()).toBe(true)
  const unknown = `${open.protocol!.slice(0, 8)}999999`

  await loginAs(page, center.url, undefined, '/login?next=%2Fmonitor%3Ftab%3Dfases')
  await expect(page.getByTestId('counter-geral-value')).toHaveText('6')
  await applyInFunnel(page, (d) => d.getByRole('textbox', { name: 'Protocolo' }).fill(open.protocol!))
  await expect(page).toHaveURL(new RegExp(`[?&]protocol=${open.protocol}(&|$)`))
  await expect(page.getByTestId('counter-geral-value')).toHaveText('1')
  await expect(page.getByTestId('session-row')).toHaveCount(1)
  await expect(page.getByTestId('session-row')).toContainText('Beto Chat')
  await expect(page.getByTestId('session-row')).toContainText(open.protocol!)
  await expect(page.getByTestId('protocol-notice')).toHaveCount(0)

  // a finished session's protocol: nothing open, and the screen says where to look
  await applyInFunnel(page, (d) => d.getByRole('textbox', { name: 'Protocolo' }).fill(done.protocol!))
  await expect(page.getByTestId('protocol-notice')).toHaveText(
    `O protocolo ${done.protocol} é de um atendimento já finalizado: consulte-o em Relatório – Conversas.`,
  )
  await expect(page.getByTestId('counter-geral-value')).toHaveText('0')
  await expect(page.getByTestId('session-row')).toHaveCount(0)
  await page.screenshot({ path: `${SCREENS}/filter-protocol-finished-pt-BR.png` })
  await page.getByTestId('lang-switch').click()
  await expect(page.getByTestId('protocol-notice')).toHaveText(
    `Protocol ${done.protocol} belongs to a finished session: look it up in Reports – Conversations.`,
  )
  await page.screenshot({ path: `${SCREENS}/filter-protocol-finished-en.png` })

  // a protocol never handed out
  await page.goto(`${center.url}/monitor?tab=fases&protocol=${unknown}`)
  await expect(page.getByTestId('protocol-notice')).toHaveText(`No open session has protocol ${unknown}.`)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('0')
})

test('an administrator restricted to Vendas sees only Vendas', async ({ page, browser }) => {
  const group = await center.call('POST', '/api/v1/groups', {
    name: 'Supervisão Vendas',
    permissions: ['monitor.view', 'session.follow', 'session.history', 'session.transfer', 'session.finish', 'agent.pause', 'agent.logout', 'chat.internal'],
    teams: [center.teams.vendas],
  })
  const groupBody = await group.text()
  expect(group.ok, groupBody).toBe(true)
  const vera = { email: 'vera@example.com', password: 'senha-da-vera-123' }
  const user = await center.call('POST', '/api/v1/users', { kind: 'admin', name: 'Vera Vendas', email: vera.email, password: vera.password, group: (JSON.parse(groupBody) as { id: number }).id })
  const userBody = await user.text()
  expect(user.ok, userBody).toBe(true)

  // the full administrator still sees everything
  const all = (await center.view()).counters.geral
  await loginAs(page, center.url)
  await expect(page.getByTestId('counter-geral-value')).toHaveText(String(all))

  const context = await browser.newContext()
  const veraPage = await context.newPage()
  try {
    await loginAs(veraPage, center.url, vera)
    // counters: the two Vendas sessions; the bot's session has no team yet, so it is out of scope
    await expect(veraPage.getByTestId('counter-geral-value')).toHaveText('2')
    await expect(veraPage.getByTestId('counter-auto-value')).toHaveText('0')
    await expect(veraPage.getByTestId('counter-espera-value')).toHaveText('0')
    await expect(veraPage.getByTestId('counter-humano-value')).toHaveText('2')
    await expect(veraPage.getByTestId('filtered-mark')).toHaveCount(0)
    // Agentes: the members of Vendas, their cards naming only Vendas
    const cards = veraPage.getByTestId('agent-card')
    await expect(cards).toHaveCount(2)
    expect((await cards.locator('h3').allInnerTexts()).sort()).toEqual(['Carlos Souza', 'Dora Alves'])
    await expect(veraPage.locator(`[data-testid=agent-card][data-agent="${center.agents.carlos}"] .teams`)).toHaveText('Vendas')
    await veraPage.screenshot({ path: `${SCREENS}/restricted-agentes-pt-BR.png` })
    // Equipes: Vendas alone
    await veraPage.getByTestId('tab-equipes').click()
    await expect(veraPage.getByTestId('team-panel')).toHaveCount(1)
    await expect(veraPage.getByTestId('team-panel').locator('h3')).toHaveText('Vendas')
    // Fases: the two Vendas sessions
    await veraPage.getByTestId('tab-fases').click()
    await expect(veraPage.getByTestId('phase-bot').getByTestId('session-row')).toHaveCount(0)
    expect(await contacts(veraPage)).toEqual(['Vitor Vendas', 'Vivi Vendas'])
    // filter options: only Vendas and its agents (channels are shared configuration)
    await veraPage.getByTestId('filter-open').click()
    const dialog = veraPage.getByTestId('filter-dialog')
    await expect(dialog.getByRole('group', { name: /Equipes/ }).getByRole('checkbox')).toHaveCount(1)
    await expect(dialog.getByRole('group', { name: /Equipes/ }).getByRole('checkbox', { name: 'Vendas' })).toBeVisible()
    const agents = dialog.getByRole('group', { name: /Agentes/ })
    await expect(agents.getByRole('checkbox')).toHaveCount(2)
    await expect(agents.getByRole('checkbox', { name: 'Bruna Lima' })).toHaveCount(0)
    await expect(dialog.getByRole('group', { name: /Canais/ }).getByRole('checkbox')).toHaveCount(2)
    await veraPage.screenshot({ path: `${SCREENS}/restricted-filter-pt-BR.png` })
    await veraPage.keyboard.press('Escape')
    await expect(dialog).toHaveCount(0)

    // a filter cannot reach outside the scope: Suporte from a shared URL shows nothing
    await veraPage.goto(`${center.url}/monitor?tab=fases&team=${center.teams.suporte}`)
    await expect(veraPage.getByTestId('filtered-mark').first()).toBeVisible()
    await expect(veraPage.getByTestId('counter-geral-value')).toHaveText('0')
    await expect(veraPage.getByTestId('session-row')).toHaveCount(0)

    // live: a new Suporte session never reaches her screen, a new Vendas one does
    await veraPage.goto(`${center.url}/monitor?tab=fases`)
    await expect(veraPage.getByTestId('counter-geral-value')).toHaveText('2')
    await center.customer('5511920000009', 'Davi Chat', center.channels.chat)
    await center.customer('5521930000009', 'Valéria Vendas', center.channels.whatsapp)
    await center.customer('5521930000009', 'Valéria Vendas', center.channels.whatsapp, '1')
    // deltas arrive in order: once Valéria shows, the Suporte one has been dealt with too
    await expect(veraPage.getByTestId('phase-human')).toContainText('Valéria Vendas')
    await expect(veraPage.getByTestId('counter-geral-value')).toHaveText('3')
    expect(await contacts(veraPage)).toEqual(['Valéria Vendas', 'Vitor Vendas', 'Vivi Vendas'])
    await expect(page.getByTestId('counter-geral-value')).toHaveText(String(all + 2))

    // the API answers her the same
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const view = await center.view('', cookie)
    expect(view.counters).toEqual({ geral: 3, auto: 0, espera: 0, humano: 3 })
    expect(view.teams.map((t) => t.name)).toEqual(['Vendas'])
    expect(view.agents.map((a) => a.name).sort()).toEqual(['Carlos Souza', 'Dora Alves'])

    // her account disabled: the open monitor ends at once and asks for a log-in
    const off = await center.call('PATCH', `/api/v1/users/${(JSON.parse(userBody) as { id: number }).id}`, { disabled: true })
    expect(off.ok, await off.text()).toBe(true)
    await expect(veraPage).toHaveURL(/\/login\?next=/)
    await expect(veraPage.getByRole('status').filter({ hasText: 'Sua sessão expirou' })).toBeVisible()
  } finally {
    await context.close()
  }
})
