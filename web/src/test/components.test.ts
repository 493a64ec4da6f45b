import { render, screen } from '@testing-library/svelte'
import { describe, expect, it } from 'vitest'
import CounterTile from '../components/CounterTile.svelte'
import { setLang } from '../lib/i18n.svelte'
import { duration } from '../lib/time.svelte'

describe('CounterTile', () => {
  it('marks a filtered counter and gives the unfiltered total', () => {
    setLang('pt-BR')
    render(CounterTile, { kind: 'espera', value: 3, unfiltered: 12, filtered: true, points: [], now: 0 })
    expect(screen.getByTestId('counter-espera-value')).toHaveTextContent('3')
    expect(screen.getByTestId('filtered-mark')).toHaveTextContent('Filtrado')
    expect(screen.getByTestId('counter-espera')).toHaveAttribute('title', expect.stringContaining('Sem filtro: 12'))
  })

  it('shows no mark without a filter', () => {
    render(CounterTile, { kind: 'geral', value: 1234, unfiltered: 1234, filtered: false, points: [{ at: 0, value: 1 }], now: 1 })
    expect(screen.queryByTestId('filtered-mark')).toBeNull()
    expect(screen.getByTestId('counter-geral-value')).toHaveTextContent('1.234')
  })
})

describe('duration', () => {
  it('is fixed-width and never negative', () => {
    expect(duration(7_000)).toBe('0:07')
    expect(duration(754_000)).toBe('12:34')
    expect(duration(3_723_000)).toBe('1:02:03')
    expect(duration(-5)).toBe('0:00')
    expect(duration(null)).toBe('—')
  })
})
