// P7 (`p7.mjs --sched yes`): why a long task was long. A task's wall time in a Chromium trace
// is its thread (CPU) time plus the time its thread was off a CPU inside it: waiting for one
// (runnable, preempted by other threads) or sleeping (blocked: a lock, a sync IPC, a disk read).
// The trace cannot tell these apart; the kernel's scheduler can. During each phase this records
// the scheduler's `sched_switch` and `sched_wakeup` events with ftrace (root and tracefs needed;
// the clock is CLOCK_MONOTONIC, the clock of Chromium's trace timestamps on Linux), and for each
// long task of the renderer's main thread splits its wall time into on a CPU / waiting for a
// CPU / sleeping (and in an uninterruptible sleep, `D`: mostly disk), and names the threads that
// ran on its CPUs while it waited (by thread and process name).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const ROOT = '/sys/kernel/tracing'

function put(file, value) {
  writeFileSync(`${ROOT}/${file}`, `${value}\n`)
}

// ftrace's settings before `schedSetup`, put back by `schedTeardown`
let before = null

/** Prepares ftrace (mounting tracefs if needed); returns null, or why it cannot. */
export function schedSetup() {
  try {
    if (!existsSync(`${ROOT}/events/sched/sched_switch`)) execFileSync('mount', ['-t', 'tracefs', 'nodev', ROOT], { stdio: 'ignore' })
    before = {
      clock: /\[(\S+)\]/.exec(readFileSync(`${ROOT}/trace_clock`, 'utf8'))?.[1] ?? 'local',
      kb: readFileSync(`${ROOT}/buffer_size_kb`, 'utf8').trim().replace(/\D.*$/, ''),
    }
    put('tracing_on', 0)
    put('trace', '')
    put('trace_clock', 'mono')
    // ~40 bytes an event; a busy phase switches ~15 000 times a second on two CPUs
    put('buffer_size_kb', 131072)
    put('events/enable', 0)
    put('events/sched/sched_switch/enable', 1)
    put('events/sched/sched_wakeup/enable', 1)
    return null
  } catch (e) {
    return `ftrace not available (root and tracefs are needed): ${e.message}`
  }
}

export function schedStart() {
  put('trace', '')
  put('tracing_on', 1)
}

/** Stops recording; returns the events as text (ftrace's `trace` file). */
export function schedStop() {
  put('tracing_on', 0)
  const text = readFileSync(`${ROOT}/trace`, 'utf8')
  put('trace', '')
  return text
}

export function schedTeardown() {
  try {
    put('tracing_on', 0)
    put('events/enable', 0)
    put('trace', '')
    if (before) {
      put('trace_clock', before.clock)
      if (before.kb) put('buffer_size_kb', before.kb)
    }
  } catch {
    // nothing was set up
  }
}

const SWITCH = /\[(\d+)\]\s.*?\s(\d+\.\d+): sched_switch: prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)/
const WAKEUP = /\s(\d+\.\d+): sched_wakeup: comm=.*? pid=(\d+) /

/** The process a thread belongs to, by name (while it still runs). */
function processOf(tid) {
  try {
    const tgid = readFileSync(`/proc/${tid}/status`, 'utf8').match(/^Tgid:\s+(\d+)/m)?.[1]
    const comm = readFileSync(`/proc/${tgid}/comm`, 'utf8').trim()
    // (Chromium rewrites its command line into one string: search it whole)
    const type = /--type=(\S+)/.exec(readFileSync(`/proc/${tgid}/cmdline`, 'utf8').replace(/\0/g, ' '))?.[1]
    return type ? `${comm} ${type}` : comm
  } catch {
    return 'gone'
  }
}

/**
 * For each task (`{ ts, dur }` in µs, the trace's clock) of thread `tid`: its wall time split
 * into on a CPU, waiting for a CPU and sleeping, in ms, and the threads that ran while it
 * waited on the CPUs it runs on (`thread (process)`: ms, the busiest first).
 */
export function explain(text, tid, tasks) {
  const events = []
  for (const line of text.split('\n')) {
    const s = SWITCH.exec(line)
    if (s) {
      events.push({ cpu: +s[1], ts: Math.round(parseFloat(s[2]) * 1e6), prevComm: s[3], prev: +s[4], state: s[5], nextComm: s[6], next: +s[7] })
      continue
    }
    const w = WAKEUP.exec(line)
    if (w && +w[2] === tid) events.push({ wake: true, ts: Math.round(parseFloat(w[1]) * 1e6) })
  }
  if (!events.length) return tasks.map(() => null)
  // the CPUs the thread ran on (those it may wait for: a pinned browser's one)
  const mine = new Set(events.filter((e) => e.next === tid).map((e) => e.cpu))
  const names = new Map()
  const label = (comm, pid) => {
    if (!names.has(pid)) names.set(pid, `${comm} (${processOf(pid)})`)
    return names.get(pid)
  }
  return tasks.map(({ ts: a, dur }) => {
    const b = a + dur
    if (a < events[0].ts || b > events.at(-1).ts) return null
    const split = { onCpu: 0, waitingForCpu: 0, sleeping: 0, diskOrUninterruptible: 0 }
    // the thread's state through the task: 'on', 'R' (runnable), 'S', 'D', … from the last
    // switch before it
    let state = null
    for (const e of events) {
      if (e.ts >= a) break
      if (e.wake) continue
      if (e.next === tid) state = 'on'
      else if (e.prev === tid) state = e.state.startsWith('R') ? 'R' : e.state[0]
    }
    const add = (until, since) => {
      const d = until - since
      if (state === 'on') split.onCpu += d
      else if (state === 'R') split.waitingForCpu += d
      else if (state === 'D') split.diskOrUninterruptible += d
      else split.sleeping += d
    }
    // who runs on each CPU since when, and since when the task's thread waits (or null)
    const running = new Map()
    const ran = new Map()
    let since = a
    let waitFrom = state === 'R' ? a : null
    // the time `r` ran on its CPU while the thread waited, up to `until` (idle excluded)
    const credit = (r, until) => {
      if (!r || r.pid === 0 || r.pid === tid) return
      const from = Math.max(r.from, waitFrom)
      if (until > from) {
        const who = label(r.comm, r.pid)
        ran.set(who, (ran.get(who) ?? 0) + until - from)
      }
    }
    for (const e of events) {
      if (e.ts > b) break
      if (e.wake) {
        if (e.ts < a || state === 'on' || state === 'R') continue
        add(e.ts, since)
        since = e.ts
        state = 'R'
        waitFrom = e.ts
        continue
      }
      if (!mine.has(e.cpu)) continue
      if (e.ts < a) {
        running.set(e.cpu, { pid: e.next, comm: e.nextComm, from: a })
        continue
      }
      // the outgoing thread's share on this CPU
      if (waitFrom !== null) credit(running.get(e.cpu), e.ts)
      running.set(e.cpu, { pid: e.next, comm: e.nextComm, from: e.ts })
      if (e.next === tid || e.prev === tid) {
        add(e.ts, since)
        since = e.ts
        const before = state
        state = e.next === tid ? 'on' : e.state.startsWith('R') ? 'R' : e.state[0]
        if (state === 'R' && before !== 'R') waitFrom = e.ts
        if (state !== 'R' && waitFrom !== null) {
          // the others' shares up to now were credited as their CPUs switched; the rest here
          for (const r of running.values()) credit(r, e.ts)
          waitFrom = null
        }
      }
    }
    add(b, since)
    if (waitFrom !== null) for (const r of running.values()) credit(r, b)
    const ms = (x) => +(x / 1000).toFixed(1)
    return {
      onCpuMs: ms(split.onCpu),
      waitingForCpuMs: ms(split.waitingForCpu),
      sleepingMs: ms(split.sleeping),
      uninterruptibleMs: ms(split.diskOrUninterruptible),
      ranWhileWaiting: Object.fromEntries([...ran].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([k, v]) => [k, ms(v)])),
    }
  })
}
