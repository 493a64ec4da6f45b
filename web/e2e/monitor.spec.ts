// Monitoramento in a real browser against a real `mirante`: log in, counters and tabs with
// real data, language switch, filter in the URL, selection cap, a finish that disappears
// live, a delta without reload, and session expiry back to where the user was. Screenshots
// of each tab in pt-BR and English go to test-results/screens/.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { ADMIN } from '../scripts/server.mjs'
import { startCenter, type Center } from './center'

const SCREENS = 'test-results/screens'
mkdirSync(SCREENS, { recursive: true })

test.describe.configure({ mode: 'serial' })

let center: Center

test.beforeAll(async () => {
  center = await startCenter()
  // 12 customers on the web chat: Bruna and Carlos take 5 each, 2 wait; 2 stay in the bot.
  await center.customer('5535998765432', 'Maria Luiza de Santos Reis')
  for (let i = 1; i <= 11; i++) await center.customer(`55119000000${String(i).padStart(2, '0')}`, `Cliente ${i}`)
  await center.customer('5511977770001', 'Pedro Bot', center.channels.whatsapp)
  await center.customer('5511977770002', 'Rita Bot', center.channels.whatsapp)
})

test.afterAll(async () => {
  await center?.stop()
})

async function login(page: Page) {
  await page.getByLabel(/E-mail/).fill(ADMIN.email)
  await page.getByLabel(/Senha|Password/).fill(ADMIN.password)
  await page.getByRole('button', { name: /^(Entrar|Sign in)$/ }).click()
}

async function counter(page: Page, kind: string) {
  return Number((await page.getByTestId(`counter-${kind}-value`).innerText()).replace(/\D/g, ''))
}

test('logs in (pt-BR) and shows counters and tabs with real data', async ({ page }) => {
  await page.goto(`${center.url}/monitor?tab=equipes`)
  await expect(page).toHaveURL(/\/login\?next=/)
  await expect(page.getByRole('heading', { name: 'Mirante' })).toBeVisible()
  await page.screenshot({ path: `${SCREENS}/login-pt-BR.png` })
  await login(page)
  // back to the deep link it asked for
  await expect(page).toHaveURL(/\/monitor\?tab=equipes/)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('14')
  expect(await counter(page, 'auto')).toBe(2)
  expect(await counter(page, 'espera')).toBe(2)
  expect(await counter(page, 'humano')).toBe(10)
  await expect(page.getByTestId('conn')).toHaveAttribute('data-state', /live|polling|resynced/)

  // Equipes: Suporte with 2 waiting and 10 in service
  const suporte = page.locator(`[data-testid=team-panel][data-team="${center.teams.suporte}"]`)
  await expect(suporte.getByTestId('team-waiting')).toHaveText('2')
  await expect(suporte.getByTestId('team-in-service')).toHaveText('10')
  await page.screenshot({ path: `${SCREENS}/equipes-pt-BR.png` })

  // Agentes: two cards at 5/5
  await page.getByTestId('tab-agentes').click()
  await expect(page.getByTestId('agent-card')).toHaveCount(2)
  await expect(page.getByTestId('agent-load').first()).toHaveText('5/5')
  await page.screenshot({ path: `${SCREENS}/agentes-pt-BR.png` })

  // Fases: counters equal the lists
  await page.getByTestId('tab-fases').click()
  await expect(page.getByTestId('phase-bot').getByTestId('session-row')).toHaveCount(2)
  await expect(page.getByTestId('phase-waiting').getByTestId('session-row')).toHaveCount(2)
  await expect(page.getByTestId('phase-human').getByTestId('session-row')).toHaveCount(10)
  await page.screenshot({ path: `${SCREENS}/fases-pt-BR.png` })
})

test('switches to English (remembered) and back', async ({ page }) => {
  await page.goto(`${center.url}/login`)
  await login(page)
  await expect(page.getByTestId('counter-geral')).toContainText('Geral')
  await page.getByTestId('lang-switch').click()
  await expect(page.getByTestId('counter-geral')).toContainText('Total')
  await expect(page.getByTestId('tab-agentes')).toContainText('Agents')
  await page.reload()
  await expect(page.getByTestId('tab-equipes')).toContainText('Teams')
  for (const tab of ['agentes', 'equipes', 'fases']) {
    await page.getByTestId(`tab-${tab}`).click()
    await page.screenshot({ path: `${SCREENS}/${tab}-en.png` })
  }
  await page.getByTestId('lang-switch').click()
  await expect(page.getByTestId('tab-agentes')).toContainText('Agentes')
})

test('a filter goes into the URL and marks the counters', async ({ page }) => {
  await page.goto(`${center.url}/login`)
  await login(page)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('14')
  await page.getByTestId('filter-open').click()
  const dialog = page.getByTestId('filter-dialog')
  await dialog.getByRole('checkbox', { name: 'Bruna Lima' }).check()
  await dialog.getByTestId('filter-apply').click()
  await expect(page).toHaveURL(new RegExp(`agent=${center.agents.bruna}`))
  await expect(page.getByTestId('filtered-mark').first()).toBeVisible()
  await expect(page.getByTestId('counter-humano-value')).toHaveText('5')
  await expect(page.getByTestId('counter-humano')).toHaveAttribute('title', /Sem filtro: 10/)
  await expect(page.getByTestId('agent-card')).toHaveCount(1)

  // contact by exact name, and by a punctuated number (M-53), straight from shared URLs
  await page.goto(`${center.url}/monitor?tab=fases&contact=${encodeURIComponent('Maria Luiza de Santos Reis')}`)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('1')
  await expect(page.getByTestId('session-row')).toContainText('Maria Luiza de Santos Reis')
  await page.goto(`${center.url}/monitor?tab=fases&contact=${encodeURIComponent('+55 (11) 97777-0001')}`)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('1')
  await expect(page.getByTestId('session-row')).toContainText('Pedro Bot')
  await page.screenshot({ path: `${SCREENS}/filter-contact-pt-BR.png` })
})

test('selects at most 5 sessions in a panel and finishes one live', async ({ page }) => {
  await page.goto(`${center.url}/login`)
  await login(page)
  await page.getByTestId('tab-equipes').click()
  const panel = page.locator(`[data-testid=team-panel][data-team="${center.teams.suporte}"]`)
  const boxes = panel.getByTestId('select-session')
  await expect(boxes.nth(5)).toBeVisible()
  for (let i = 0; i < 5; i++) await boxes.nth(i).check()
  await expect(boxes.nth(5)).toBeDisabled()
  await expect(panel.locator('.check').nth(5)).toHaveAttribute('title', /Limite de 5/)
  await expect(panel.getByTestId('panel-actions')).toContainText('5 de 5 selecionados')
  await page.screenshot({ path: `${SCREENS}/selection-pt-BR.png` })
  // keep one selected and finish it
  for (let i = 1; i < 5; i++) await boxes.nth(i).uncheck()
  const first = panel.getByTestId('session-row').first()
  const id = await first.getAttribute('data-session')
  await panel.getByTestId('bulk-finish').click()
  await page.getByTestId('finish-confirm').click()
  await expect(page.locator(`[data-testid=session-row][data-session="${id}"]`)).toHaveCount(0)
  await expect(page.getByTestId('counter-geral-value')).toHaveText('13')
})

test('a new customer appears without reload', async ({ page }) => {
  await page.goto(`${center.url}/login`)
  await login(page)
  await page.getByTestId('tab-fases').click()
  // the snapshot is in (the counters read 0 until it is)
  await expect(page.getByTestId('phase-bot')).toBeVisible()
  const before = await counter(page, 'geral')
  await center.customer('5511966660001', 'Nova Cliente', center.channels.whatsapp)
  await expect(page.getByTestId('counter-geral-value')).toHaveText(String(before + 1))
  await expect(page.getByTestId('phase-bot')).toContainText('Nova Cliente')
})

test('an expired session goes to log-in and back to where the user was', async ({ page, context }) => {
  await page.goto(`${center.url}/login`)
  await login(page)
  await page.getByTestId('tab-fases').click()
  await expect(page).toHaveURL(/tab=fases/)
  await context.clearCookies()
  await page.reload()
  await expect(page).toHaveURL(/\/login\?next=/)
  await login(page)
  await expect(page).toHaveURL(/\/monitor\?tab=fases/)
})
