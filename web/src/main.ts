import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { i18n } from './lib/i18n.svelte'

document.documentElement.lang = i18n.lang
const theme = localStorage.getItem('mirante.theme')
if (theme === 'dark' || (theme === null && matchMedia('(prefers-color-scheme: dark)').matches)) {
  document.documentElement.dataset.theme = 'dark'
}

export default mount(App, { target: document.getElementById('app')! })
