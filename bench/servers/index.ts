import type { BuildScenario } from './types.js'

/** Every benchmark server, loaded only in the process that serves it. */
export const servers: Record<string, () => Promise<{ build: BuildScenario }>> = {
  bare: () => import('./bare.js'),
  'bare-control': () => import('./bare.js'),
  'worker-key': () => import('./worker-key.js'),
  'handwritten-sha256': () => import('./handwritten-sha256.js'),
  'widget-warm': () => import('./widget-warm.js'),
  'widget-cold': () => import('./widget-cold.js'),
  'bearer-http-cached': () => import('./bearer-http-cached.js'),
  'bearer-http-uncached': () => import('./bearer-http-uncached.js'),
  'bearer-jwt': () => import('./bearer-jwt.js'),
  'passport-headerapikey': () => import('./passport-headerapikey.js'),
  'passport-http-bearer': () => import('./passport-http-bearer.js'),
  'express-basic-auth': () => import('./express-basic-auth.js'),
  'oauth2-jwt-bearer': () => import('./oauth2-jwt-bearer.js'),
  'express-jwt': () => import('./express-jwt.js'),
  'naive-delegated': () => import('./naive-delegated.js'),
  'naive-pbkdf2': () => import('./naive-pbkdf2.js'),
}
