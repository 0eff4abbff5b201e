// npm runs `prepare` after `npm install` / `npm ci` in a clone and when it installs this package
// from a git URL (after installing its devDependencies): both need dist/, which is not committed.
// `npm pack` and `npm publish` run it too, right after `prepack` has built: no second build.
// Without tsup (`npm ci --omit=dev`) there is nothing to build with; the install must not fail.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const command = process.env.npm_command
if (command === 'pack' || command === 'publish') process.exit(0)
try {
  createRequire(import.meta.url).resolve('tsup/package.json')
} catch {
  console.warn(
    'keyward: tsup is not installed (dev dependencies omitted), so dist/ is not built; `npm install` then `npm run build` builds it',
  )
  process.exit(0)
}
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' })
process.exit(build.status ?? 1)
