import { render, screen } from '@testing-library/svelte'
import { flushSync } from 'svelte'
import { describe, expect, it } from 'vitest'
import { clock, tickTimers, TimerGroup } from '../lib/time.svelte'
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
})
