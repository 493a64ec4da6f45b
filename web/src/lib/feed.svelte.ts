// Feeds the MonitorStore from the server and says how fresh it is (the connection
// indicator): the live WebSocket stream (`GET /api/v1/monitor/live`: subscribe with a filter →
// snapshot → deltas; a snapshot of more than 500 cards and rows comes in parts, `snapshot` then
// `snapshot_part` frames, gathered by the store; resume from the last sequence after a
// reconnect, or a fresh snapshot) when
// the server's OpenAPI document lists it, else polling `GET /api/v1/monitor` every 2 s, whose
// answers are snapshots. Either way nothing on screen is stale without saying so.
import { api, ApiError, unauthorized } from './client'
import { apiQuery, type Filter } from './filter'
import type { MonitorStore } from './monitor.svelte'
import { clock } from './time.svelte'
import type { MonitorDelta, MonitorSnapshotPart, MonitorView } from './types'

export type ConnState = 'connecting' | 'live' | 'polling' | 'reconnecting' | 'resynced' | 'ended'

const POLL_MS = 2000
const RESYNCED_SHOW_MS = 4000
export const LIVE_PATH = '/api/v1/monitor/live'

/** Does the server's OpenAPI document declare the live stream? */
export async function hasLiveStream(): Promise<boolean> {
  try {
    const doc = await api.openapi()
    return Boolean(doc?.paths && LIVE_PATH in doc.paths)
  } catch {
    return false
  }
}

/** The filter as the stream's `subscribe` message carries it. */
export function wireFilter(f: Filter) {
  return {
    agents: f.agents,
    teams: f.teams,
    channels: f.channels,
    contact: f.contact.trim() || undefined,
    protocol: f.protocol.trim() || undefined,
  }
}

type Listener = (message: { type?: string } & Record<string, unknown>) => void

export class MonitorFeed {
  /** Other frames of the stream (chat, follow, message…), for the drawers and badges. */
  listeners = new Set<Listener>()
  /** Called each time the stream (re)connects: follows and chat badges are per connection. */
  opened = new Set<() => void>()

  /** Sends a frame on the stream (follow / unfollow); false without one. */
  send(message: object): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false
    this.socket.send(JSON.stringify(message))
    return true
  }

  state = $state<ConnState>('connecting')
  /** Browser time of the last good update (for "stale since"). */
  lastOk = $state(0)
  /** Set while the data is older than it should be. */
  stale = $state(false)
  error = $state<string | null>(null)

  private filter: Filter | null = null
  private store: MonitorStore
  private timer: ReturnType<typeof setTimeout> | undefined
  private socket: WebSocket | null = null
  private stopped = true
  private generation = 0
  private failures = 0
  private useLive: boolean | null = null

  constructor(store: MonitorStore) {
    this.store = store
  }

  async start(filter: Filter): Promise<void> {
    this.stopped = false
    this.filter = filter
    if (this.useLive === null) this.useLive = await hasLiveStream()
    this.restart()
  }

  /** A new filter: a fresh snapshot for it. */
  setFilter(filter: Filter): void {
    this.filter = filter
    this.store.reset()
    if (!this.stopped) this.restart()
  }

  /** Asks for fresh data now (after an action). */
  refresh(): void {
    if (this.stopped) return
    if (!this.useLive) {
      clearTimeout(this.timer)
      void this.poll(this.generation)
    }
  }

  stop(): void {
    this.stopped = true
    this.generation++
    clearTimeout(this.timer)
    this.socket?.close()
    this.socket = null
  }

  private restart(): void {
    this.generation++
    clearTimeout(this.timer)
    this.socket?.close()
    this.socket = null
    this.store.abandon()
    this.state = this.lastOk ? 'reconnecting' : 'connecting'
    if (this.useLive) this.connect(this.generation)
    else void this.poll(this.generation)
  }

  private ok(): void {
    const recovering = this.failures > 0 || this.stale
    this.failures = 0
    this.stale = false
    this.error = null
    this.lastOk = Date.now()
    if (recovering) {
      this.state = 'resynced'
      const generation = this.generation
      setTimeout(() => {
        if (generation === this.generation && this.state === 'resynced') this.state = this.useLive ? 'live' : 'polling'
      }, RESYNCED_SHOW_MS)
    } else if (this.state !== 'resynced') {
      this.state = this.useLive ? 'live' : 'polling'
    }
  }

  private failed(error: unknown): void {
    this.failures++
    this.error = error instanceof Error ? error.message : String(error)
    this.state = 'reconnecting'
    if (this.lastOk && Date.now() - this.lastOk > POLL_MS * 2) this.stale = true
  }

  private applySnapshot(view: MonitorView): void {
    clock.offset = view.now - Date.now()
    this.store.snapshot(view)
  }

  private async poll(generation: number): Promise<void> {
    if (generation !== this.generation || !this.filter) return
    try {
      const view = await api.monitor(apiQuery(this.filter))
      if (generation !== this.generation) return
      this.applySnapshot(view)
      this.ok()
    } catch (error) {
      if (generation !== this.generation) return
      if (error instanceof ApiError && error.status === 401) return // the log-in page takes over
      this.failed(error)
    }
    const delay = this.failures ? Math.min(POLL_MS * 2 ** this.failures, 15_000) : POLL_MS
    this.timer = setTimeout(() => void this.poll(generation), delay)
  }

  private connect(generation: number): void {
    if (!this.filter) return
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    const socket = new WebSocket(`${scheme}://${location.host}${LIVE_PATH}${apiQuery(this.filter)}`)
    this.socket = socket
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'subscribe', filter: wireFilter(this.filter!), resume_from: this.store.loaded ? this.store.seq : undefined }))
      if (generation === this.generation) for (const hook of this.opened) hook()
    }
    socket.onmessage = (event) => {
      if (generation !== this.generation) return
      let message: { type?: string } & Record<string, unknown>
      try {
        message = JSON.parse(String(event.data))
      } catch {
        return
      }
      if (message.type === 'snapshot') {
        this.applySnapshot(message as unknown as MonitorView)
        this.ok()
      } else if (message.type === 'snapshot_part') {
        this.store.part(message as unknown as MonitorSnapshotPart)
      } else if (message.type === 'delta') {
        const delta = message as unknown as MonitorDelta
        if (delta.from_seq !== undefined && this.store.loaded && delta.from_seq > this.store.seq) {
          // a gap: ask for a fresh snapshot
          socket.send(JSON.stringify({ type: 'subscribe', filter: wireFilter(this.filter!) }))
          return
        }
        this.store.delta(delta)
        this.ok()
      } else if (message.type === 'error' && message.closing) {
        // the server withdrew this caller's rights and closes the stream: no reconnect
        this.stop()
        this.error = String(message.message ?? '')
        this.state = 'ended'
        if (message.code === 'unauthenticated') unauthorized()
      } else if (message.type === 'resync') {
        this.failures++
        this.state = 'reconnecting'
      } else {
        for (const listener of this.listeners) listener(message)
      }
    }
    socket.onclose = () => {
      if (generation !== this.generation || this.stopped) return
      // a snapshot cut off mid-parts is dropped: resume from what is shown
      this.store.abandon()
      this.failed(new Error('stream closed'))
      this.timer = setTimeout(() => this.connect(generation), Math.min(1000 * 2 ** this.failures, 15_000))
    }
  }
}
