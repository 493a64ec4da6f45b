// P7: a kept trace of one phase (`node web/perf/p7.mjs --keep-traces yes` writes
// bench-out/p7-<phase>.trace.json) read again: the renderer main thread's top-level tasks over
// MIN ms of wall time (default 50) with what they spent it on (`lo`: the dirty objects of their
// layouts), the one-second clock tick (the timer that fires every ~1 000 ms: its task's
// script, and the next painting frame's layout objects and `Paint` events), and totals (CPU
// per second, tasks over 50 ms wall, over 25 and 30 ms CPU, GCs over 20 ms wall), and the
// DevTools protocol's share (the harness's: Playwright's Network domain copies every WebSocket
// frame into an event): the browser main thread's CPU in `DevToolsSessionHost` messages, and the
// renderer main thread's CPU after its tasks' own work (where the DevTools session flushes).
//   node web/perf/p7-trace.mjs bench-out/p7-load-agentes.trace.json [MIN]   (TICKS=1: each tick frame)
import { readFileSync } from 'node:fs'
const [file, minArg] = process.argv.slice(2)
const MIN = Number(minArg ?? 50)
const t = JSON.parse(readFileSync(file, 'utf8'))
const ev = t.traceEvents ?? t
const names = ev.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
const counts = new Map()
for (const n of names) counts.set(`${n.pid}:${n.tid}`, 0)
for (const e of ev) { const k = `${e.pid}:${e.tid}`; if (counts.has(k)) counts.set(k, counts.get(k) + 1) }
const main = [...counts].sort((a, b) => b[1] - a[1])[0][0]
const mine = ev.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === 'X').sort((a, b) => a.ts - b.ts || b.dur - a.dur)
const tops = []
let until = -1
for (const e of mine) if ((e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && e.ts >= until) { tops.push(e); until = e.ts + e.dur }
// the 1 s interval: the TimerFire id that fires most regularly at ~1 s
const fires = new Map()
for (const e of mine) if (e.name === 'TimerFire') { const id = e.args?.data?.timerId; if (!fires.has(id)) fires.set(id, []); fires.get(id).push(e.ts) }
let tickId = null
for (const [id, ts] of fires) { if (ts.length < 8) continue; const gaps = ts.slice(1).map((x, i) => x - ts[i]); const m = gaps.sort((a, b) => a - b)[gaps.length >> 1]; if (Math.abs(m - 1e6) < 5e4) tickId = id }
const WANT = ['Layout', 'Paint', 'PrePaint', 'Layerize', 'UpdateLayoutTree', 'MinorGC', 'MajorGC', 'EventDispatch', 'TimerFire', 'FireAnimationFrame', 'Commit', 'HitTest', 'RunMicrotasks', 'FunctionCall']
let i = 0
const rows = []
for (const top of tops) {
  const end = top.ts + top.dur
  while (i < mine.length && mine[i].ts < top.ts) i++
  const by = {}
  let layoutObjs = 0, tick = false
  for (let j = i; j < mine.length && mine[j].ts < end; j++) {
    const k = mine[j]
    if (k === top) continue
    if (k.name === 'TimerFire' && k.args?.data?.timerId === tickId) tick = true
    if (k.name === 'Layout') layoutObjs += k.args?.beginData?.dirtyObjects ?? 0
    if (WANT.includes(k.name)) { by[k.name] ??= { n: 0, ms: 0 }; by[k.name].n++; by[k.name].ms += k.dur / 1000 }
  }
  rows.push({ ts: top.ts, wall: top.dur / 1000, cpu: (top.tdur ?? 0) / 1000, tick, by, layoutObjs })
}
const t0 = rows[0].ts
const fmt = (r) => `${((r.ts - t0) / 1e6).toFixed(2)}s wall ${r.wall.toFixed(1)} cpu ${r.cpu.toFixed(1)}${r.tick ? ' TICK' : ''} lo ${r.layoutObjs} | ` + Object.entries(r.by).map(([k, v]) => `${k}:${v.n}/${v.ms.toFixed(1)}`).join(' ')
for (const r of rows) if (r.wall >= MIN) console.log(fmt(r))
// tick: the tick task and the next task that paints
const ticks = []
rows.forEach((r, k) => { if (!r.tick) return; const f = rows.slice(k + 1, k + 40).find((x) => x.by.Paint); ticks.push({ script: r.by.TimerFire?.ms ?? 0, frame: f }) })
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[s.length >> 1] : NaN }
const mx = (a) => Math.max(...a)
const fr = ticks.map((x) => x.frame).filter(Boolean)
console.log(`ticks ${ticks.length}: tick script med ${med(ticks.map((x) => x.script)).toFixed(2)} max ${mx(ticks.map((x) => x.script)).toFixed(2)} ms; its frame CPU med ${med(fr.map((f) => f.cpu)).toFixed(1)} max ${mx(fr.map((f) => f.cpu)).toFixed(1)}; layout objs med ${med(fr.map((f) => f.layoutObjs))}; Paint events med ${med(fr.map((f) => f.by.Paint?.n ?? 0))}; paint ms med ${med(fr.map((f) => f.by.Paint?.ms ?? 0)).toFixed(1)}; layout ms med ${med(fr.map((f) => f.by.Layout?.ms ?? 0)).toFixed(1)}`)
const span = (rows.at(-1).ts - t0) / 1e6
const cpu = rows.reduce((a, r) => a + r.cpu, 0)
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(p * (s.length - 1))] }
console.log(`span ${span.toFixed(1)} s; tasks ${rows.length}; CPU ${(cpu / span).toFixed(0)} ms/s; >50 wall ${rows.filter((r) => r.wall > 50).length}; >25 cpu ${rows.filter((r) => r.cpu > 25).length}; >30 cpu ${rows.filter((r) => r.cpu > 30).length}; max wall ${mx(rows.map((r) => r.wall)).toFixed(1)} max cpu ${mx(rows.map((r) => r.cpu)).toFixed(1)}; gc>20wall ${rows.filter((r) => (r.by.MinorGC || r.by.MajorGC) && r.wall > 20).length}`)
if (process.env.TICKS) for (const x of ticks) if (x.frame) console.log('tick frame', fmt(x.frame))
const tnames = new Map()
for (const e of ev) if (e.ph === 'M' && e.name === 'thread_name') tnames.set(`${e.pid}:${e.tid}`, e.args?.name)
const devtools = ev.filter((e) => e.name === 'Receive mojo message' && tnames.get(`${e.pid}:${e.tid}`) === 'CrBrowserMain' && e.args?.chrome_mojo_event_info?.mojo_interface_tag === 'blink.mojom.DevToolsSessionHost')
let afterCpu = 0
let afterMax = 0
let at = 0
for (const top of tops) {
  while (at < mine.length && mine[at].ts < top.ts) at++
  let inner = null
  for (let j = at; j < mine.length && mine[j].ts < top.ts + top.dur && !inner; j++) {
    const e = mine[j]
    if (e !== top && e.name === 'ThreadControllerImpl::RunTask' && e.ts + e.dur <= top.ts + top.dur) inner = e
  }
  if (top.name !== 'RunTask' || !inner) continue
  const x = ((top.tdur ?? 0) - (inner.tdur ?? 0)) / 1000
  if (x > 1) (afterCpu += x), (afterMax = Math.max(afterMax, x))
}
console.log(`devtools: browser DevToolsSessionHost messages ${devtools.length}, CPU ${(devtools.reduce((a, e) => a + (e.tdur ?? 0), 0) / 1000).toFixed(0)} ms (max ${Math.max(0, ...devtools.map((e) => (e.tdur ?? 0) / 1000)).toFixed(1)}); renderer CPU after its tasks (> 1 ms) ${afterCpu.toFixed(0)} ms (max ${afterMax.toFixed(1)})`)
