import { describe, expect, it } from 'vitest'
import { ChatState, FollowState } from '../lib/live.svelte'
import type { ChatMessage, MessageView } from '../lib/types'

const msg = (id: number, at: number, text = `m${id}`): MessageView => ({ id, at, text, author: 'customer', attachments: 0 })
const chat = (id: number, agent: number, from_agent: boolean, text = `c${id}`): ChatMessage => ({ id, agent, from_agent, text, at: id * 1000, supervisor: 1 })

describe('FollowState (M-40, B-5)', () => {
  it('loads the transcript, then appends live messages once each, in order', () => {
    const f = new FollowState(7, 1)
    expect(f.frame({ type: 'follow', session: 7, messages: [msg(2, 20), msg(1, 10)], followers: [{ account: 1, name: 'Eu' }, { account: 2, name: 'Ana' }], truncated: false })).toBe(true)
    expect(f.messages.map((m) => m.id)).toEqual([1, 2])
    expect(f.others.map((o) => o.name)).toEqual(['Ana'])
    f.frame({ type: 'message', session: 7, message: msg(3, 30, 'ainda aí?') })
    f.frame({ type: 'message', session: 7, message: msg(3, 30, 'ainda aí?') })
    expect(f.messages.map((m) => m.text)).toEqual(['m1', 'm2', 'ainda aí?'])
    // a REST read merges without duplicating
    f.load({ messages: [msg(1, 10), msg(3, 30, 'ainda aí?')] })
    expect(f.messages).toHaveLength(3)
  })

  it('updates "Também acompanhando" from a live followers frame (B-5)', () => {
    const f = new FollowState(7, 1)
    f.frame({ type: 'follow', session: 7, messages: [msg(1, 10)], followers: [{ account: 1, name: 'Eu' }], truncated: false })
    expect(f.others).toEqual([])
    expect(f.frame({ type: 'followers', session: 7, followers: [{ account: 1, name: 'Eu' }, { account: 2, name: 'Ana' }] })).toBe(true)
    expect(f.others.map((o) => o.name)).toEqual(['Ana'])
    // another session's followers are not ours
    expect(f.frame({ type: 'followers', session: 8, followers: [{ account: 3, name: 'Bia' }] })).toBe(false)
    expect(f.others.map((o) => o.name)).toEqual(['Ana'])
    f.frame({ type: 'followers', session: 7, followers: [{ account: 1, name: 'Eu' }] })
    expect(f.others).toEqual([])
    expect(f.messages).toHaveLength(1)
  })

  it('ignores other sessions and marks the end', () => {
    const f = new FollowState(7, 1)
    expect(f.frame({ type: 'message', session: 8, message: msg(1, 1) })).toBe(false)
    expect(f.messages).toHaveLength(0)
    expect(f.frame({ type: 'delta', session: 7 })).toBe(false)
    f.frame({ type: 'follow_ended', session: 7 })
    expect(f.ended).toBe(true)
  })
})

describe('ChatState (M-11)', () => {
  it('counts unread from the summaries and from live messages, and raises the bar', () => {
    const c = new ChatState()
    c.summaries([{ agent: 3, unread: 2, agent_read_up_to: 0 }, { agent: 4, unread: 0, agent_read_up_to: 0 }])
    expect([...c.unread]).toEqual([[3, 2]])
    c.frame({ type: 'chat', message: chat(10, 4, true, 'Preciso de ajuda') })
    expect(c.unread.get(4)).toBe(1)
    expect(c.notice?.text).toBe('Preciso de ajuda')
    // the supervisor's own messages never count
    c.frame({ type: 'chat', message: chat(11, 5, false) })
    expect(c.unread.has(5)).toBe(false)
  })

  it('opening a conversation clears its badge and its bar; messages into it are not unread', () => {
    const c = new ChatState()
    c.message(chat(1, 3, true))
    c.opened(3, [chat(1, 3, true)])
    expect(c.unread.has(3)).toBe(false)
    expect(c.notice).toBeNull()
    expect(c.message(chat(2, 3, true))).toBe(true) // to be marked read
    expect(c.message(chat(2, 3, true))).toBe(true)
    expect(c.messages.map((m) => m.id)).toEqual([1, 2])
    expect(c.message(chat(3, 3, false))).toBe(false)
    expect(c.unread.has(3)).toBe(false)
    c.summaries([{ agent: 3, unread: 1, agent_read_up_to: 0 }])
    expect(c.unread.has(3)).toBe(false)
    c.closed()
    expect(c.open).toBeNull()
  })

  it('a read mark by the supervisor (another tab) clears the badge; by the agent it does not', () => {
    const c = new ChatState()
    c.message(chat(1, 3, true))
    c.frame({ type: 'chat_read', agent: 3, by_agent: true, up_to: 1 })
    expect(c.unread.get(3)).toBe(1)
    c.frame({ type: 'chat_read', agent: 3, by_agent: false, up_to: 1 })
    expect(c.unread.has(3)).toBe(false)
  })
})
