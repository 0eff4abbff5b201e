import type { Command } from './io.js'

/** The bin's commands, each loaded only when run. */
export const commands: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {
  'create-widget-key': {
    summary: 'print a new widget key and its PBKDF2 hash record',
    load: () => import('./create-widget-key.js'),
  },
  'check-service': {
    summary: 'check a live auth service against the httpValidator contract',
    load: () => import('./check-service.js'),
  },
  fingerprint: {
    summary: 'print the fingerprint (kw_…) of a key or token, as decision events show it',
    load: () => import('./fingerprint.js'),
  },
  doctor: {
    summary: 'explain why a widget key does or does not match a hash record',
    load: () => import('./doctor.js'),
  },
}
