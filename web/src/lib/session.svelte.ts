// Who is logged in, and what happens when the session ends: any 401 sends the user to the
// log-in page with `next` = where they were, and the log-in brings them back there.
import { api, setUnauthorizedHandler } from './client'
import { here, navigate, route } from './router.svelte'
import type { Me } from './types'

export const session = $state<{ me: Me | null; checked: boolean; expired: boolean }>({
  me: null,
  checked: false,
  expired: false,
})

export function toLogin(expired: boolean): void {
  const wasIn = session.me !== null
  session.me = null
  session.expired = expired && wasIn
  if (route.path !== '/login') navigate(`/login?next=${encodeURIComponent(here())}`, { replace: true })
}

setUnauthorizedHandler(() => toLogin(true))

export async function checkSession(): Promise<void> {
  try {
    session.me = await api.me()
  } catch {
    session.me = null
  }
  session.checked = true
}

export function can(permission: string): boolean {
  const me = session.me
  return !!me && (me.full || me.permissions.includes(permission))
}
