import { render, screen } from '@testing-library/svelte'
import { flushSync } from 'svelte'
import { describe, expect, it } from 'vitest'
import { clock, tickDue, tickTimers, TimerGroup } from '../lib/time.svelte'
import TimerProbe from './TimerProbe.svelte'

// P7: the live timers are text nodes rewritten by the clock's tick, not component updates
describe('live timers', () => {
  it('count from their start with the clock, and follow a new start in place', () => {
    clock.offset = 0
    clock.now = 10_000
    const { rerender } = render(TimerProbe, { start: 3_000 })
    expect(screen.getByTestId('timer')).toHaveTextContent(/^0:07$/)
    clock.now = 70_000
    tickTimers()
    expect(screen.getByTestId('timer')).toHaveTextContent(/^1:07$/)
    const node = screen.getByTestId('timer').firstChild
    rerender({ start: 60_000 })
    flushSync()
    expect(screen.getByTestId('timer')).toHaveTextContent(/^0:10$/)
    // rewritten in place: the same text node (P7: no DOM removed and inserted)
    expect(screen.getByTestId('timer').firstChild === node).toBe(true)
    expect(screen.getByTestId('timer').childNodes).toHaveLength(1)
    rerender({ start: null })
    flushSync()
    expect(screen.getByTestId('timer')).toHaveTextContent(/^—$/)
  })

  it('stand still while their group is not live and catch up when it is', () => {
    clock.offset = 1_000
    clock.now = 10_000
    const group = new TimerGroup()
    render(TimerProbe, { start: 0, group })
    expect(screen.getByTestId('timer')).toHaveTextContent(/^0:11$/)
    group.live = false
    clock.now = 20_000
    tickTimers()
    expect(screen.getByTestId('timer')).toHaveTextContent(/^0:11$/)
    group.live = true
    expect(screen.getByTestId('timer')).toHaveTextContent(/^0:21$/)
  })

  it('turn by halves of the second: each once the half its start falls in has passed', () => {
    clock.offset = 0
    clock.now = 10_000
    const a = render(TimerProbe, { start: 3_400 }) // turns at …,400: its half ends at …,500
    const b = render(TimerProbe, { start: 3_800 }) // turns at …,800: its half ends at …,000
    const shown = (r: typeof a) => r.container.querySelector('[data-testid="timer"]')?.textContent
    expect([shown(a), shown(b)]).toEqual(['0:06', '0:06'])
    tickDue() // (a first call rewrites every timer)
    clock.now = 10_450
    tickDue()
    expect(shown(a)).toBe('0:06') // past its second, its half not over yet
    clock.now = 10_510
    tickDue()
    expect(shown(a)).toBe('0:07')
    clock.now = 10_850
    tickDue()
    expect(shown(b)).toBe('0:06') // the same for b, at …,850
    clock.now = 11_005
    tickDue()
    expect(shown(b)).toBe('0:07')
    // a new start moves a timer to its half: from …,800 to …,100
    b.rerender({ start: 5_100 })
    flushSync()
    expect(shown(b)).toBe('0:05')
    clock.now = 11_150
    tickDue()
    expect(shown(b)).toBe('0:05') // past its second (…,100), its half over at …,500
    clock.now = 11_505
    tickDue()
    expect(shown(b)).toBe('0:06')
    expect(shown(a)).toBe('0:08')
  })
})
