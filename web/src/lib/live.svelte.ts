// The monitor's live side panels: following one session (M-40, B-5) and the internal chat
// with agents (M-11). Both are fed by REST reads and by the frames of the monitor's stream
// (`follow` / `followers` / `message` / `follow_ended`, `chat` / `chat_read`); they keep no timers and do
// no I/O themselves, so the logic is testable without a server.
import type { ChatMessage, ChatSummary, Follower, MessageView } from './types'

type Frame = { type?: string } & Record<string, unknown>

/** One followed session: its transcript (oldest first, no duplicates) and who else follows it. */
export class FollowState {
  readonly session: number
  readonly me: number
  messages = $state<MessageView[]>([])
  followers = $state<Follower[]>([])
  truncated = $state(false)
  ended = $state(false)
  loaded = $state(false)

  constructor(session: number, me: number) {
    this.session = session
    this.me = me
  }

  /** Other supervisors following it (never the caller). */
  get others(): Follower[] {
    return this.followers.filter((f) => f.account !== this.me)
  }

  /** The transcript so far (REST answer or the stream's `follow` frame). */
  load(answer: { messages: MessageView[]; followers?: Follower[]; truncated?: boolean }): void {
    const known = new Map(this.messages.map((m) => [m.id, m]))
    for (const m of answer.messages) known.set(m.id, m)
    this.messages = [...known.values()].sort((a, b) => a.at - b.at || a.id - b.id)
    if (answer.followers) this.followers = answer.followers
    if (answer.truncated !== undefined) this.truncated = answer.truncated
    this.loaded = true
  }

  add(message: MessageView): void {
    if (this.messages.some((m) => m.id === message.id)) return
    this.messages = [...this.messages, message]
  }

  /** A stream frame; true when it was about this session. */
  frame(frame: Frame): boolean {
    if (frame.session !== this.session) return false
    if (frame.type === 'follow') {
      this.load(frame as unknown as { messages: MessageView[]; followers: Follower[]; truncated: boolean })
    } else if (frame.type === 'message') {
      this.add(frame.message as MessageView)
    } else if (frame.type === 'followers') {
      // B-5: someone started or stopped following it (pushed live, no reopen needed)
      this.followers = frame.followers as Follower[]
    } else if (frame.type === 'follow_ended') {
      this.ended = true
    } else {
      return false
    }
    return true
  }
}

/** The internal chat: unread counts per agent, the open conversation, the last notification. */
export class ChatState {
  unread = $state(new Map<number, number>())
  /** The agent whose conversation is open, and its messages (oldest first). */
  open = $state<number | null>(null)
  messages = $state<ChatMessage[]>([])
  /** The last message an agent wrote while its conversation was not open (the bottom bar). */
  notice = $state<ChatMessage | null>(null)

  /** `GET /api/v1/chat`. */
  summaries(list: ChatSummary[]): void {
    const next = new Map<number, number>()
    for (const s of list) if (s.unread > 0) next.set(s.agent, s.unread)
    if (this.open !== null) next.delete(this.open)
    this.unread = next
  }

  /** Opens a conversation: its badge clears at once (the read mark follows). */
  opened(agent: number, messages: ChatMessage[] = []): void {
    this.open = agent
    this.messages = [...messages].sort((a, b) => a.at - b.at || a.id - b.id)
    this.clear(agent)
    if (this.notice?.agent === agent) this.notice = null
  }

  closed(): void {
    this.open = null
    this.messages = []
  }

  clear(agent: number): void {
    if (!this.unread.has(agent)) return
    const next = new Map(this.unread)
    next.delete(agent)
    this.unread = next
  }

  /** A message of a conversation (ours just sent, or a `chat` frame). Returns true when the
   * agent wrote it into the open conversation (the caller then marks it read). */
  message(m: ChatMessage): boolean {
    if (m.agent === this.open) {
      if (!this.messages.some((x) => x.id === m.id)) this.messages = [...this.messages, m]
      return m.from_agent
    }
    if (m.from_agent) {
      this.unread = new Map(this.unread).set(m.agent, (this.unread.get(m.agent) ?? 0) + 1)
      this.notice = m
    }
    return false
  }

  /** A stream frame (`chat`, `chat_read`); true when it was one. */
  frame(frame: Frame): boolean {
    if (frame.type === 'chat') {
      this.message(frame.message as ChatMessage)
      return true
    }
    if (frame.type === 'chat_read') {
      if (!frame.by_agent) this.clear(frame.agent as number)
      return true
    }
    return false
  }

  dismiss(): void {
    this.notice = null
  }
}
