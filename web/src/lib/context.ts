// What the monitor's components share: the store, the selection, and the actions the page
// performs (so cards and rows stay presentational).
import { getContext, setContext } from 'svelte'
import type { MonitorStore, Selection } from './monitor.svelte'
import type { AgentCard, Id, SessionView } from './types'

export interface MonitorActions {
  finish(ids: Id[], panel?: string): void
  transfer(ids: Id[], panel?: string): void
  follow(row: SessionView): void
  history(row: SessionView): void
  pause(agent: AgentCard): void
  resume(agent: AgentCard): void
  logout(agent: AgentCard): void
  hideAgent(agent: AgentCard): void
  hideTeam(team: Id): void
  chat(agent: AgentCard): void
}

export interface MonitorContext {
  store: MonitorStore
  selection: Selection
  actions: MonitorActions
  unread: () => Map<Id, number>
}

const KEY = Symbol('monitor')

export const setMonitorContext = (ctx: MonitorContext) => setContext(KEY, ctx)
export const monitorContext = () => getContext<MonitorContext>(KEY)
