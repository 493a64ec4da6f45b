// A tiny history router: the path and query of the page as reactive state, `navigate` to move
// (push or replace). Deep links work because the server answers every non-API path with
// index.html.
export const route = $state({ path: location.pathname, search: location.search })

export function navigate(to: string, { replace = false } = {}): void {
  const url = new URL(to, location.origin)
  if (url.pathname === location.pathname && url.search === location.search) return
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  route.path = url.pathname
  route.search = url.search
}

addEventListener('popstate', () => {
  route.path = location.pathname
  route.search = location.search
})

/** Where the user is now (to come back after logging in again). */
export function here(): string {
  return location.pathname + location.search
}

/** A `next` parameter is followed only to a path on this site. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/monitor'
}
