// Vitest setup: jest-dom matchers, and the layout numbers jsdom does not compute (the
// virtualised lists need a viewport size to render any row).
import '@testing-library/jest-dom/vitest'

Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get: () => 600 })
Object.defineProperty(HTMLElement.prototype, 'offsetWidth', { configurable: true, get: () => 800 })
