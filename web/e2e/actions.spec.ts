// The supervisor's actions in a real browser against a real `mirante`: a bulk transfer of 5
// sessions with the transfer dialog and per-session results (M-12, M-42, B-3), a pause refused
// while the agent has open sessions and accepted once they are transferred and finished
// (M-16), and a force log-out that returns the agent's sessions to the queue (M-15). Every
// outcome is checked on screen and through the API. Screenshots go to test-results/screens/.
import { expect, test, type Locator, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { loginAs, startCenter, type Center } from './center'

const SCREENS = 'test-results/screens'
mkdirSync(SCREENS, { recursive: true })

test.describe.configure({ mode: 'serial' })

let center: Center
let dora: number // online, in Vendas only: no traffic of its own
let eva: number // in Suporte, paused (Almoço) before any customer arrives
let fabio: number // in Suporte, never logged in

test.beforeAll(async () => {
  center = await startCenter()
  dora = await center.agent('Dora Alves', 'dora@example.com', [center.teams.vendas])
  eva = await center.agent('Eva Martins', 'eva@example.com', [center.teams.suporte])
  const paused = await center.call('POST', `/api/v1/agents/${eva}/pause`, { reason: center.reason })
  expect(paused.ok, await paused.text()).toBe(true)
  fabio = await center.agent('Fábio Nunes', 'fabio@example.com', [center.teams.suporte], { login: false })
  // 12 customers on the web chat (Suporte): Bruna and Carlos take 5 each, 2 wait.
  for (let i = 1; i <= 12; i++) await center.customer(`55119100000${String(i).padStart(2, '0')}`, `Cliente ${i}`)
  const view = await center.view()
  expect(view.counters).toEqual({ geral: 12, auto: 0, espera: 2, humano: 10 })
})

test.afterAll(async () => {
  await center?.stop()
})

const card = (page: Page, agent: number) => page.locator(`[data-testid=agent-card][data-agent="${agent}"]`)
const ids = async (rows: Locator) => (await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-session'))))).sort((a, b) => a - b)
/** A choice of the transfer dialog: its radio and the label around it (name, status, load). */
const option = (dialog: Locator, name: string) => ({
  radio: dialog.getByRole('radio', { name: new RegExp(name) }),
  label: dialog.locator('label').filter({ hasText: name }),
})

async function openAgentsTab(page: Page) {
  await loginAs(page, center.url)
  await page.getByTestId('tab-agentes').click()
}

test('bulk transfer of 5 from an agent card: dialog, per-session results, really moved', async ({ page }) => {
  await openAgentsTab(page)
  const bruna = card(page, center.agents.bruna)
  await expect(bruna.getByTestId('agent-load')).toHaveText('5/5')
  await expect(card(page, fabio)).toHaveCount(0) // logged out: no card, but a transfer option
  const rows = bruna.getByTestId('session-row')
  await expect(rows).toHaveCount(5)
  const moved = await ids(rows)
  const names = await rows.locator('.contact').allInnerTexts()
  const boxes = bruna.getByTestId('select-session')
  for (let i = 0; i < 5; i++) await boxes.nth(i).check()
  await expect(bruna.getByTestId('panel-actions')).toContainText('5 de 5 selecionados')
  await bruna.getByTestId('bulk-transfer').click()

  const dialog = page.getByTestId('transfer-dialog')
  await expect(dialog.getByRole('heading')).toHaveText('Transferir 5 atendimento(s)')
  // agents with status and load; paused and offline ones cannot be chosen, and say why
  const doraOpt = option(dialog, 'Dora Alves')
  await expect(doraOpt.radio).toBeEnabled()
  await expect(doraOpt.label).toContainText('Online')
  await expect(doraOpt.label).toContainText('0/5')
  await expect(option(dialog, 'Carlos Souza').label).toContainText('5/5')
  const evaOpt = option(dialog, 'Eva Martins')
  await expect(evaOpt.radio).toBeDisabled()
  await expect(evaOpt.label).toContainText('Indisponível: Em pausa · Almoço')
  const fabioOpt = option(dialog, 'Fábio Nunes')
  await expect(fabioOpt.radio).toBeDisabled()
  await expect(fabioOpt.label).toContainText('Indisponível: Offline')
  // teams with their queue size
  await expect(option(dialog, 'Suporte').label).toContainText('2 na fila')
  await expect(option(dialog, 'Vendas').label).toContainText('0 na fila')
  await expect(dialog.getByTestId('transfer-confirm')).toBeDisabled()
  await page.screenshot({ path: `${SCREENS}/transfer-dialog-pt-BR.png` })

  await doraOpt.radio.check()
  await dialog.getByTestId('transfer-confirm').click()

  // B-3: one line per session, each done, named by its contact
  const results = page.getByTestId('results-dialog')
  await expect(results.getByRole('heading')).toHaveText('Transferir — Resultado por atendimento')
  const lines = results.getByTestId('result')
  await expect(lines).toHaveCount(5)
  await expect(results.locator('[data-testid=result][data-ok=true]')).toHaveCount(5)
  for (const name of names) await expect(lines.filter({ hasText: name })).toContainText('feito')
  await page.screenshot({ path: `${SCREENS}/transfer-results-pt-BR.png` })
  await results.getByRole('button', { name: 'Fechar' }).click()
  await expect(results).toHaveCount(0)

  // on screen: Dora holds exactly those 5; Bruna took the 2 that were waiting
  const doraCard = card(page, dora)
  await expect(doraCard.getByTestId('agent-load')).toHaveText('5/5')
  await expect(doraCard.getByTestId('session-row')).toHaveCount(5)
  expect(await ids(doraCard.getByTestId('session-row'))).toEqual(moved)
  await expect(bruna.getByTestId('agent-load')).toHaveText('2/5')
  await expect(bruna.getByTestId('panel-actions')).toContainText('0 de 5 selecionados')
  await expect(page.getByTestId('counter-espera-value')).toHaveText('0')
  await expect(page.getByTestId('counter-humano-value')).toHaveText('12')

  // through the API: the 5 sessions are Dora's
  const view = await center.view()
  const human = new Map(view.phases.human.map((r) => [r.id, r]))
  for (const id of moved) expect(human.get(id)?.agent?.id, `session ${id}`).toBe(dora)
  expect(view.agents.find((a) => a.id === dora)?.sessions.slice().sort((a, b) => a - b)).toEqual(moved)
})

test('pause refused with open sessions (in words), accepted once they are transferred and finished', async ({ page }) => {
  await openAgentsTab(page)
  const carlos = card(page, center.agents.carlos)
  await expect(carlos.getByTestId('agent-load')).toHaveText('5/5')

  await carlos.getByTestId('agent-menu').click()
  await carlos.getByTestId('agent-pause').click()
  const dialog = page.getByTestId('pause-dialog')
  await expect(dialog.getByRole('heading')).toHaveText('Pausar Carlos Souza')
  await dialog.getByTestId('pause-reason').selectOption({ label: 'Almoço' })
  await dialog.getByTestId('pause-confirm').click()
  await expect(dialog.getByTestId('pause-error')).toHaveText(
    'Pausa recusada: Carlos Souza tem 5 atendimento(s) aberto(s). Finalize ou transfira antes de pausar.',
  )
  await page.screenshot({ path: `${SCREENS}/pause-refused-pt-BR.png` })
  await dialog.getByRole('button', { name: 'Cancelar' }).click()
  await expect(dialog).toHaveCount(0)
  await expect(carlos.getByTestId('agent-status')).toHaveText('Online')
  // the server refused it too: nothing changed
  const refused = await center.call('POST', `/api/v1/agents/${center.agents.carlos}/pause`, { reason: center.reason })
  expect(refused.status).toBe(409)
  expect(((await refused.json()) as { code: string }).code).toBe('agent_has_open_sessions')
  expect((await center.view()).agents.find((a) => a.id === center.agents.carlos)?.status).toBe('online')

  // 3 go to Bruna (2/5 → 5/5) …
  const boxes = carlos.getByTestId('select-session')
  for (let i = 0; i < 3; i++) await boxes.nth(i).check()
  await carlos.getByTestId('bulk-transfer').click()
  const transfer = page.getByTestId('transfer-dialog')
  await option(transfer, 'Bruna Lima').radio.check()
  await transfer.getByTestId('transfer-confirm').click()
  const results = page.getByTestId('results-dialog')
  await expect(results.locator('[data-testid=result][data-ok=true]')).toHaveCount(3)
  await results.getByRole('button', { name: 'Fechar' }).click()
  await expect(card(page, center.agents.bruna).getByTestId('agent-load')).toHaveText('5/5')
  await expect(carlos.getByTestId('agent-load')).toHaveText('2/5')
  // … and the other 2 are finished
  for (let i = 0; i < 2; i++) await boxes.nth(i).check()
  await carlos.getByTestId('bulk-finish').click()
  await expect(page.getByTestId('finish-dialog').getByRole('heading')).toHaveText('Finalizar 2 atendimento(s)?')
  await page.getByTestId('finish-confirm').click()
  await expect(results.locator('[data-testid=result][data-ok=true]')).toHaveCount(2)
  await results.getByRole('button', { name: 'Fechar' }).click()
  await expect(carlos.getByTestId('agent-load')).toHaveText('0/5')
  await expect(carlos.getByTestId('session-row')).toHaveCount(0)

  // now the pause is accepted, and the card shows its reason
  await carlos.getByTestId('agent-menu').click()
  await carlos.getByTestId('agent-pause').click()
  await dialog.getByTestId('pause-reason').selectOption({ label: 'Almoço' })
  await dialog.getByTestId('pause-confirm').click()
  await expect(dialog).toHaveCount(0)
  await expect(carlos.getByTestId('agent-status')).toHaveText('Em pausa · Almoço')
  await page.screenshot({ path: `${SCREENS}/pause-accepted-pt-BR.png` })
  const after = (await center.view()).agents.find((a) => a.id === center.agents.carlos)
  expect(after?.status).toBe('paused')
  expect(after?.pause_reason?.name).toBe('Almoço')
})

test('force log-out: the confirmation says the sessions return to the queue, and they do', async ({ page }) => {
  await openAgentsTab(page)
  const bruna = card(page, center.agents.bruna)
  await expect(bruna.getByTestId('agent-load')).toHaveText('5/5')
  const sessions = await ids(bruna.getByTestId('session-row'))
  expect(sessions).toHaveLength(5)
  const before = await center.view()
  const protocols = new Map(before.phases.human.map((r) => [r.id, r.protocol]))
  await expect(page.getByTestId('counter-espera-value')).toHaveText(String(before.counters.espera))
  await expect(page.getByTestId('counter-humano-value')).toHaveText(String(before.counters.humano))

  await bruna.getByTestId('agent-menu').click()
  await bruna.getByTestId('agent-logout').click()
  const dialog = page.getByTestId('logout-dialog')
  await expect(dialog.getByRole('heading')).toHaveText('Deslogar Bruna Lima?')
  await expect(dialog).toContainText(
    'Os 5 atendimento(s) abertos de Bruna Lima voltam para o início da fila da equipe (Em espera), com protocolo e histórico.',
  )
  await page.screenshot({ path: `${SCREENS}/logout-dialog-pt-BR.png` })
  await dialog.getByTestId('logout-confirm').click()
  await expect(dialog).toHaveCount(0)

  // the card goes; Espera goes up by 5 (Suporte's other members are paused or offline)
  await expect(bruna).toHaveCount(0)
  await expect(page.getByTestId('counter-espera-value')).toHaveText(String(before.counters.espera + 5))
  await expect(page.getByTestId('counter-humano-value')).toHaveText(String(before.counters.humano - 5))
  await expect(page.getByTestId('counter-geral-value')).toHaveText(String(before.counters.geral))
  await page.getByTestId('tab-equipes').click()
  await expect(page.locator(`[data-testid=team-panel][data-team="${center.teams.suporte}"]`).getByTestId('team-waiting')).toHaveText('5')
  await page.getByTestId('tab-fases').click()
  const waiting = page.getByTestId('phase-waiting').getByTestId('session-row')
  await expect(waiting).toHaveCount(5)
  expect(await ids(waiting)).toEqual(sessions)
  await page.screenshot({ path: `${SCREENS}/logout-queue-pt-BR.png` })

  // through the API: Bruna is offline, her sessions wait in Suporte with their protocols
  const view = await center.view()
  expect(view.agents.some((a) => a.id === center.agents.bruna)).toBe(false)
  const suporte = view.teams.find((t) => t.id === center.teams.suporte)
  expect(suporte?.waiting_count).toBe(5)
  const queued = view.phases.waiting.filter((r) => r.team?.id === center.teams.suporte).map((r) => r.id)
  expect(queued.sort((a, b) => a - b)).toEqual(sessions)
  for (const row of view.phases.waiting) expect(row.protocol, `session ${row.id}`).toBe(protocols.get(row.id))
})
