// Starts a real `mirante` process for tests and tools: a fresh temporary data dir, port 0
// (the bound address is read from its output), a first administrator created through
// `mirante admin create` (password on standard input). The binary is $MIRANTE_BIN, else
// target/debug/mirante, else target/release/mirante.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = resolve(here, '../..')

export const ADMIN = { email: 'ana@example.com', name: 'Ana Souza', password: 'senha-segura-123' }

export function mirantePath() {
  const candidates = [
    process.env.MIRANTE_BIN,
    join(repoRoot, 'target/debug/mirante'),
    join(repoRoot, 'target/release/mirante'),
  ].filter(Boolean)
  const found = candidates.find((p) => existsSync(p))
  if (!found) {
    throw new Error(
      `no mirante binary (tried ${candidates.join(', ')}): run \`cargo build -p mirante-server\``,
    )
  }
  return found
}

/**
 * Starts the server. Returns { url, dataDir, stop() }.
 * @param {{ commandApi?: boolean, admin?: boolean }} options
 */
export async function startServer({ commandApi = true, admin = true } = {}) {
  const bin = mirantePath()
  const dataDir = mkdtempSync(join(tmpdir(), 'mirante-web-'))
  if (admin) {
    const created = spawnSync(
      bin,
      ['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name, '--data-dir', dataDir],
      { input: `${ADMIN.password}\n`, encoding: 'utf8' },
    )
    if (created.status !== 0) {
      throw new Error(`mirante admin create failed: ${created.stderr}${created.stdout}`)
    }
  }
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--durability', 'normal']
  if (commandApi) args.push('--enable-command-api')
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MIRANTE_LOG: process.env.MIRANTE_LOG ?? 'warn' },
  })
  let output = ''
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`mirante did not start:\n${output}`)), 30_000)
    const onData = (chunk) => {
      output += chunk
      const match = /listening on (http:\/\/[^\s]+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolveUrl(match[1])
      }
    }
    child.stdout.setEncoding('utf8').on('data', onData)
    child.stderr.setEncoding('utf8').on('data', (c) => {
      output += c
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`mirante exited with ${code}:\n${output}`))
    })
  })
  // keep draining the pipes so the server never blocks on a full one
  child.stdout.removeAllListeners('data').resume()
  child.stderr.removeAllListeners('data').resume()
  return {
    url,
    dataDir,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
