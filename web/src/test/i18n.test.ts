import { beforeEach, describe, expect, it } from 'vitest'
import { i18n, messages, setLang, t } from '../lib/i18n.svelte'

describe('i18n', () => {
  beforeEach(() => setLang('pt-BR'))

  it('speaks pt-BR by default with the glossary labels', () => {
    expect(t('counter.geral')).toBe('Geral')
    expect(t('counter.espera')).toBe('Espera')
    expect(t('tab.phases')).toBe('Fases')
    expect(t('agent.logout')).toBe('Deslogar')
  })

  it('switches to English and remembers it', () => {
    setLang('en')
    expect(i18n.lang).toBe('en')
    expect(localStorage.getItem('mirante.lang')).toBe('en')
    expect(t('counter.humano')).toBe('With agent')
    expect(t('select.count', { n: 2, max: 5 })).toBe('2 of 5 selected')
  })

  it('has every key in both languages, with the same placeholders', () => {
    const pt = messages['pt-BR']
    const en = messages.en
    expect(Object.keys(en).sort()).toEqual(Object.keys(pt).sort())
    for (const key of Object.keys(pt) as (keyof typeof pt)[]) {
      const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort()
      expect(holes(en[key]), key).toEqual(holes(pt[key]))
    }
  })
})
