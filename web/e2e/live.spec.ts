// The monitor's live drawers in a real browser against a real `mirante`: following a session
// (M-40, B-5) with a customer message arriving live, and the internal chat (M-11) with the
// unread badge and the bottom bar when an agent writes. Screenshots go to test-results/screens/.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { ADMIN } from '../scripts/server.mjs'
import { startCenter, type Center } from './center'

const SCREENS = 'test-results/screens'
mkdirSync(SCREENS, { recursive: true })

test.describe.configure({ mode: 'serial' })

let center: Center
let me: number

test.beforeAll(async () => {
  center = await startCenter()
  await center.customer('5535998765432', 'Maria Luiza de Santos Reis')
  await center.customer('5511900000001', 'Cliente 1')
  me = ((await (await center.call('GET', '/api/v1/auth/me')).json()) as { account: number }).account
})

test.afterAll(async () => {
  await center?.stop()
})

async function login(page: Page, who: { email: string; password: string } = ADMIN) {
  await page.goto(`${center.url}/login`)
  await page.getByLabel(/E-mail/).fill(who.email)
  await page.getByLabel(/Senha|Password/).fill(who.password)
  await page.getByRole('button', { name: /^(Entrar|Sign in)$/ }).click()
  await expect(page.getByTestId('counter-geral-value')).toHaveText('2')
}

test('follows a session: transcript, a customer message live, Esc closes', async ({ page }) => {
  await login(page)
  await page.getByTestId('tab-fases').click()
  const row = page.getByTestId('phase-human').getByTestId('session-row').filter({ hasText: 'Maria Luiza' })
  await row.getByTestId('session-menu').click()
  await page.getByRole('menuitem', { name: 'Acompanhar' }).click()
  const drawer = page.getByTestId('drawer-follow')
  await expect(drawer).toBeVisible()
  await expect(drawer.getByRole('heading')).toHaveText('Acompanhando Maria Luiza de Santos Reis')
  await expect(drawer.getByTestId('transcript-message').first()).toContainText('Olá, preciso de ajuda')
  await expect(drawer.getByTestId('transcript-message').first()).toContainText('Cliente')
  await expect(drawer.getByTestId('followers')).toHaveText('Só você acompanha este atendimento.')
  const before = await drawer.getByTestId('transcript-message').count()

  // the customer writes again: it shows up without reload
  await center.command({ type: 'customer_message', channel: center.channels.chat, identifier: '5535998765432', name: 'Maria Luiza de Santos Reis', text: 'Ainda estão aí?' })
  await expect(drawer.getByTestId('transcript-message')).toHaveCount(before + 1)
  await expect(drawer.getByTestId('transcript-message').last()).toContainText('Ainda estão aí?')
  await page.screenshot({ path: `${SCREENS}/follow-pt-BR.png` })

  await page.keyboard.press('Escape')
  await expect(drawer).toHaveCount(0)
})

test('internal chat: an agent writes, badge and bottom bar, open, read, reply', async ({ page }) => {
  await login(page)
  await page.getByTestId('tab-agentes').click()
  const card = page.locator(`[data-testid=agent-card][data-agent="${center.agents.bruna}"]`)
  await expect(card).toBeVisible()
  await expect(card.getByTestId('unread-badge')).toHaveCount(0)

  await center.command({ type: 'internal_message', agent: center.agents.bruna, supervisor: me, from_agent: true, text: 'Preciso de ajuda com um cliente' })
  await expect(card.getByTestId('unread-badge')).toHaveText('1')
  const bar = page.getByTestId('chat-bar')
  await expect(bar).toContainText('Nova mensagem de Bruna Lima')
  await expect(bar).toContainText('Preciso de ajuda com um cliente')
  await page.screenshot({ path: `${SCREENS}/chat-bar-pt-BR.png` })

  await bar.getByTestId('chat-bar-open').click()
  const drawer = page.getByTestId('drawer-chat')
  await expect(drawer.getByRole('heading')).toHaveText('Chat interno com Bruna Lima')
  await expect(drawer.getByTestId('chat-message')).toContainText('Preciso de ajuda com um cliente')
  await expect(card.getByTestId('unread-badge')).toHaveCount(0)
  await expect(bar).toHaveCount(0)

  await drawer.getByTestId('chat-input').fill('Já vou ver')
  await drawer.getByTestId('chat-send').click()
  await expect(drawer.getByTestId('chat-message')).toHaveCount(2)
  await expect(drawer.getByTestId('chat-message').last()).toContainText('Já vou ver')
  await page.screenshot({ path: `${SCREENS}/chat-pt-BR.png` })

  // read on the server too: a reload shows no badge
  await page.keyboard.press('Escape')
  await page.reload()
  await expect(card.getByTestId('agent-load')).toBeVisible()
  await expect(card.getByTestId('unread-badge')).toHaveCount(0)
})

test('another supervisor following shows as "Também acompanhando"', async ({ page, browser }) => {
  const groups = (await (await center.call('GET', '/api/v1/groups')).json()) as { id: number; default: boolean }[]
  const davi = { email: 'davi@example.com', password: 'senha-do-davi-123' }
  const created = await center.call('POST', '/api/v1/users', { kind: 'admin', name: 'Davi Supervisor', email: davi.email, password: davi.password, group: groups.find((g) => g.default)!.id })
  expect(created.ok, await created.text()).toBe(true)
  const other = await browser.newContext()
  const daviPage = await other.newPage()
  try {
    await login(daviPage, davi)
    await daviPage.getByTestId('tab-fases').click()
    await daviPage.getByTestId('session-row').filter({ hasText: 'Maria Luiza' }).getByTestId('session-menu').click()
    await daviPage.getByRole('menuitem', { name: 'Acompanhar' }).click()
    await expect(daviPage.getByTestId('drawer-follow').getByTestId('followers')).toHaveText('Só você acompanha este atendimento.')

    await login(page)
    await page.getByTestId('tab-fases').click()
    await page.getByTestId('session-row').filter({ hasText: 'Maria Luiza' }).getByTestId('session-menu').click()
    await page.getByRole('menuitem', { name: 'Acompanhar' }).click()
    await expect(page.getByTestId('drawer-follow').getByTestId('followers')).toHaveText('Também acompanhando: Davi Supervisor')
    await page.screenshot({ path: `${SCREENS}/follow-others-pt-BR.png` })
  } finally {
    await other.close()
  }
})

test("history: the contact's earlier session with its transcript", async ({ page }) => {
  await login(page)
  await page.getByTestId('tab-fases').click()
  const row = page.getByTestId('session-row').filter({ hasText: 'Cliente 1' })
  const id = Number(await row.getAttribute('data-session'))
  expect((await center.call('POST', '/api/v1/sessions/finish', { sessions: [id] })).ok).toBe(true)
  await expect(row).toHaveCount(0)
  await center.command({ type: 'customer_message', channel: center.channels.chat, identifier: '5511900000001', name: 'Cliente 1', text: 'Voltei' })
  await row.getByTestId('session-menu').click()
  await page.getByRole('menuitem', { name: 'Conferir histórico' }).click()
  const drawer = page.getByTestId('drawer-history')
  await expect(drawer.getByRole('heading')).toHaveText('Histórico de Cliente 1')
  const earlier = drawer.getByTestId('history-session')
  await expect(earlier).toHaveCount(1)
  await expect(earlier.getByTestId('transcript')).toBeHidden()
  await earlier.locator('summary').click()
  await expect(earlier.getByTestId('transcript-message').first()).toContainText('Olá, preciso de ajuda')
  await page.screenshot({ path: `${SCREENS}/history-pt-BR.png` })
  await drawer.getByTestId('drawer-close').click()
  await expect(drawer).toHaveCount(0)
})
