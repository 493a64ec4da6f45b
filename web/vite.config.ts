/// <reference types="vitest/config" />
// Build (the UI the `mirante` binary embeds from web/dist) and unit tests (Vitest, jsdom).
// `npm run dev` proxies the API to a running server: MIRANTE_URL (default 127.0.0.1:8080).
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { svelteTesting } from '@testing-library/svelte/vite'
import { defineConfig } from 'vite'

const target = process.env.MIRANTE_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  build: { target: 'es2022', chunkSizeWarningLimit: 400 },
  server: {
    proxy: {
      '/api': { target, ws: true, changeOrigin: false },
      '/healthz': target,
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/vitest-setup.ts'],
    include: ['src/**/*.test.ts'],
  },
})
