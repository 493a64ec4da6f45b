// A large roster (P7): above 60 cards the Agentes tab draws only the rows of cards near the
// viewport. The tab still counts every agent, scrolling the page reaches any card, a delta
// changes the card it touches, and the keyboard moves on from the last card drawn.
import { expect, test } from '@playwright/test'
import { loginAs, startCenter, type Center } from './center'

test.describe.configure({ mode: 'serial' })

const EXTRA = 80
let center: Center

test.beforeAll(async () => {
  center = await startCenter()
  for (let i = 1; i <= EXTRA; i++) {
    const n = String(i).padStart(3, '0')
    await center.agent(`Plantão ${n}`, `plantao${n}@example.com`, [center.teams.suporte])
  }
})

test.afterAll(async () => {
  await center?.stop()
})

/** Scrolls the page down until `name`'s card is drawn (or the end of the page). */
async function scrollToCard(page: import('@playwright/test').Page, name: string) {
  const card = page.getByTestId('agent-card').filter({ has: page.getByRole('heading', { name, exact: true }) })
  for (let i = 0; i < 60 && (await card.count()) === 0; i++) {
    await page.mouse.wheel(0, 600)
    await page.waitForTimeout(50)
  }
  await expect(card).toHaveCount(1)
  await card.scrollIntoViewIfNeeded()
  return card
}

test('a large roster is drawn by rows near the viewport, and every card is reachable', async ({ page }) => {
  await loginAs(page, center.url, undefined, '/monitor?tab=agentes')
  const total = EXTRA + 2
  await expect(page.getByTestId('tab-agentes')).toContainText(String(total))
  await expect(page.locator('#panel-agentes')).toHaveAttribute('data-virtual', 'rows')
  const drawn = await page.getByTestId('agent-card').count()
  expect(drawn).toBeGreaterThan(0)
  expect(drawn).toBeLessThan(total)

  // every card is reachable by scrolling, among them the last one created
  const last = await scrollToCard(page, `Plantão ${String(EXTRA).padStart(3, '0')}`)
  await expect(last.getByTestId('agent-load')).toHaveText(/^0\/\d+$/)

  // a delta: Bruna and Carlos are full, so new customers of Suporte go to the others
  for (let i = 1; i <= 3; i++) await center.customer(`55119100000${i}`, `Cliente Grande ${i}`)
  await page.evaluate(() => window.scrollTo(0, 0))
  await expect
    .poll(async () => {
      const view = await center.view()
      return view.agents.filter((a) => a.open > 0).length
    })
    .toBeGreaterThan(0)
  const busy = (await center.view()).agents.find((a) => a.name.startsWith('Plantão') && a.open > 0)!
  const card = await scrollToCard(page, busy.name)
  await expect(card.getByTestId('agent-load')).toHaveText(new RegExp(`^${busy.open}/\\d+$`))

  // the cards drawn after scrolling (their DOM reused from rows that scrolled out, P7) show, row
  // by row, a run of the roster in its order, each with its own agent's name and load
  const view = await center.view()
  const collator = new Intl.Collator('pt-BR')
  const roster = [...view.agents].sort((a, b) => collator.compare(a.name, b.name) || a.id - b.id)
  const drawnCards = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#panel-agentes .vrow')]
      .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
      .flatMap((row) =>
        [...row.querySelectorAll<HTMLElement>('[data-testid=agent-card]')].map((c) => ({
          id: Number(c.dataset.agent),
          name: c.querySelector('h3')?.textContent ?? '',
          label: document.getElementById(c.getAttribute('aria-labelledby') ?? '')?.textContent ?? '',
          load: c.querySelector('[data-testid=agent-load]')?.textContent ?? '',
        })),
      ),
  )
  expect(drawnCards.length).toBeGreaterThan(0)
  const from = roster.findIndex((a) => a.id === drawnCards[0].id)
  expect(from).toBeGreaterThanOrEqual(0)
  expect(drawnCards.map((c) => c.id)).toEqual(roster.slice(from, from + drawnCards.length).map((a) => a.id))
  for (const c of drawnCards) {
    const agent = roster.find((a) => a.id === c.id)!
    expect(c.name).toBe(agent.name)
    expect(c.label).toBe(agent.name)
    expect(c.load).toMatch(/^\d+\/\d+$/)
  }

  // the keyboard: Tab from the last card drawn reaches the next card (drawn as it scrolls in)
  await page.evaluate(() => window.scrollTo(0, 0))
  await expect(page.getByTestId('agent-card').first()).toBeVisible()
  // the rows of cards are back in their order in the DOM once the scroll rests (while the page
  // scrolls, a reused row stays where it is: P7)
  await expect
    .poll(() =>
      page.evaluate(() => {
        const index = [...document.querySelectorAll('#panel-agentes .vrow')].map((r) => Number((r as HTMLElement).dataset.index))
        return index.every((n, i) => i === 0 || n > index[i - 1])
      }),
    )
    .toBe(true)
  const names = async () => page.getByTestId('agent-card').locator('h3').allInnerTexts()
  const before = await names()
  const lastDrawn = page.getByTestId('agent-menu').last()
  // a person's key presses are frames apart: the scroll a focus move causes is handled (and
  // the rows it brings drawn) before the next press
  const nextFrame = () => page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => setTimeout(done, 0))))
  await lastDrawn.focus()
  await nextFrame()
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab')
    await nextFrame()
  }
  const focusedCard = await page.evaluate(() => document.activeElement?.closest('[data-testid=agent-card]')?.querySelector('h3')?.textContent ?? null)
  expect(focusedCard).not.toBeNull()
  expect(before).not.toContain(focusedCard)
})

test('a large roster looks right in pt-BR and English, light and dark (screenshots)', async ({ page }) => {
  await loginAs(page, center.url, undefined, '/monitor?tab=agentes')
  await expect(page.locator('#panel-agentes')).toHaveAttribute('data-virtual', 'rows')
  await expect(page.getByTestId('agent-card').first()).toBeVisible()
  const shoot = async (name: string) => {
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: `test-results/screens/${name}.png` })
  }
  await shoot('agentes-roster-pt-BR')
  // a session's menu in a row of cards opens below its button, over the next row (the row is
  // not contained while a menu is open in it)
  const menuButton = page.getByTestId('session-menu').first()
  await menuButton.click()
  const menu = page.getByRole('menu')
  await expect(menu).toBeVisible()
  const [b, m] = [await menuButton.boundingBox(), await menu.boundingBox()]
  expect(Math.abs(m!.y - (b!.y + b!.height))).toBeLessThan(8)
  await page.screenshot({ path: 'test-results/screens/agentes-roster-menu-pt-BR.png' })
  await page.keyboard.press('Escape')
  await expect(menu).toHaveCount(0)
  await page.getByRole('button', { name: /tema claro\/escuro/ }).click()
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
  await shoot('agentes-roster-pt-BR-dark')
  await page.getByTestId('lang-switch').click()
  await expect(page.getByTestId('tab-agentes')).toContainText('Agents')
  await shoot('agentes-roster-en-dark')
  await page.getByRole('button', { name: /light\/dark theme/ }).click()
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', 'dark')
  await shoot('agentes-roster-en')
  // back to the defaults for whoever runs next in this browser profile
  await page.getByTestId('lang-switch').click()
  await expect(page.getByTestId('tab-agentes')).toContainText('Agentes')
})
