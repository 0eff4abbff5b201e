#!/usr/bin/env bash
# The package as a user gets it: `npm pack` of this clone (dist/ built by prepack, nothing else
# needed), publint and attw on that tarball, then the tarball installed into three throwaway
# consumer projects that import or require every entry point, serve a guarded route over HTTP
# and run the bin:
#   esm  — "type": "module", Express 5
#   cjs  — CommonJS, Express 4
#   ts   — strict TypeScript, module/moduleResolution nodenext, Express 5: type-checked with this
#          repository's typescript against the installed types (skipLibCheck off), then the
#          emitted ES module and CommonJS module are run
# Installs prefer npm's cache and skip audit and fund, so a warm run takes well under a minute.
# KEEP=1 leaves the consumers in their temporary folder for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tsc="$repo/node_modules/.bin/tsc"
work=$(mktemp -d "${TMPDIR:-/tmp}/keyward-package.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then echo "consumers kept in $work"; else trap 'rm -rf "$work"' EXIT; fi
started=$SECONDS
say() { printf -- '-- %s (%ss)\n' "$1" "$((SECONDS - started))"; }
fail() {
  echo "package check failed: $1" >&2
  exit 1
}

say "npm pack (prepack builds dist/)"
npm pack --pack-destination "$work" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "npm pack"; }
tarball=$(ls "$work"/keyward-*.tgz)
listing=$(tar -tzf "$tarball")
for file in dist/cli.js dist/index.js dist/index.cjs dist/index.d.ts dist/index.d.cts \
  dist/testing.js dist/testing.cjs dist/testing.d.ts dist/testing.d.cts \
  dist/postgres.js dist/postgres.cjs dist/postgres.d.ts dist/postgres.d.cts \
  dist/redis.js dist/redis.cjs dist/redis.d.ts dist/redis.d.cts package.json README.md LICENSE; do
  grep -qx "package/$file" <<<"$listing" || fail "the tarball lacks $file"
done
if grep -E '^package/(src|test|bench|examples|scripts|\.ci)/' <<<"$listing"; then
  fail "the tarball holds files that are not meant to ship (above)"
fi
echo "$(wc -l <<<"$listing") files, $(($(stat -c %s "$tarball") / 1024)) KiB: $(basename "$tarball")"

# One project per consumer; installs run side by side (they are mostly waiting on the network).
consumer() {
  local name=$1
  mkdir -p "$work/$name"
  printf '%s\n' "$2" >"$work/$name/package.json"
}
consumer esm '{ "name": "consumer-esm", "private": true, "type": "module" }'
consumer cjs '{ "name": "consumer-cjs", "private": true, "type": "commonjs" }'
consumer ts '{ "name": "consumer-ts", "private": true, "type": "module" }'

say "npm install the tarball into the consumers (in the background)"
install() {
  local name=$1
  shift
  (cd "$work/$name" && npm install --prefer-offline --no-audit --no-fund --no-package-lock \
    --loglevel=error "$tarball" "$@") >"$work/$name.install.log" 2>&1
}
pids=()
install esm express@^5 & pids+=($!)
install cjs express@^4 & pids+=($!)
install ts express@^5 @types/express@^5 @types/node@^20 & pids+=($!)
names=(esm cjs ts)

say "publint --strict, attw (node16) on the tarball, while the installs run"
"$repo/node_modules/.bin/publint" run "$tarball" --strict
"$repo/node_modules/.bin/attw" "$tarball" --profile node16 --format table-flipped

for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { cat "$work/${names[$i]}.install.log"; fail "npm install in the ${names[$i]} consumer"; }
done

# The same checks in every consumer: each entry point loads and exports what it should, and a
# guard of each kind answers real requests.
common_checks='
  for (const [entry, names] of Object.entries({
    keyward: ["requireWorkerKey", "verifyWidgetKey", "delegateBearerAuth", "httpValidator", "fingerprint", "createWidgetKey"],
    "keyward/testing": ["startAuthService", "memoryRecordStore"],
    "keyward/postgres": ["pgRecordResolver", "pgInvalidation", "invalidationTriggerSql"],
    "keyward/redis": ["redisInvalidation"],
  })) {
    for (const name of names) assert.equal(typeof modules[entry][name], "function", `${entry} exports ${name}`)
  }
  const kw = modules.keyward
  const { memoryRecordStore, startAuthService } = modules["keyward/testing"]
  const workerKey = "consumer-worker-key-0123456789abcdef0123"
  const worker = kw.requireWorkerKey({ keys: workerKey })
  const store = memoryRecordStore()
  const widget = await kw.createWidgetKey({ iterations: 1000 })
  store.set("acme", kw.formatHashRecord(widget.record, "phc"))
  const widgetGuard = kw.verifyWidgetKey({ records: store.records })
  const auth = await startAuthService()
  const bearer = kw.delegateBearerAuth({ validator: kw.httpValidator({ url: auth.validateUrl, serviceId: "consumer" }) })
  const token = await auth.issue({ subject: "consumer", scopes: ["items:read"] })
  await Promise.all([worker.ready(), widgetGuard.ready(), bearer.ready()])
  const app = express()
  app.get("/worker", worker, (req, res) => res.json({ kind: req.auth.kind }))
  app.get("/widget", widgetGuard, (req, res) => res.json({ tenant: req.auth.tenantId }))
  app.get("/items", bearer, kw.requireScopes("items:read"), (req, res) => res.json({ subject: req.auth.subject }))
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, "127.0.0.1", (error) => (error ? reject(error) : resolve(s)))
    s.once("error", reject)
  })
  const base = `http://127.0.0.1:${server.address().port}`
  const get = async (path, headers) => {
    const res = await fetch(base + path, { headers })
    return [res.status, await res.json()]
  }
  assert.deepEqual(await get("/worker", { "x-worker-key": workerKey }), [200, { kind: "worker" }])
  assert.equal((await get("/worker", { "x-worker-key": "wrong" }))[0], 401)
  assert.deepEqual(await get("/widget", { "x-tenant-id": "acme", "x-widget-key": widget.key }), [200, { tenant: "acme" }])
  assert.equal((await get("/widget", { "x-tenant-id": "acme", "x-widget-key": "wid_wrong" }))[0], 401)
  assert.deepEqual(await get("/items", { authorization: `Bearer ${token}` }), [200, { subject: "consumer" }])
  assert.equal((await get("/items", { authorization: "Bearer not-a-token" }))[0], 401)
  server.close()
  await auth.close()
  console.log(`${flavour}: every entry point loads; worker, widget and bearer guards answer 200 and 401`)
'

cat >"$work/esm/index.js" <<EOF
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import express from 'express'
import * as keyward from 'keyward'
import * as testing from 'keyward/testing'
import * as postgres from 'keyward/postgres'
import * as redis from 'keyward/redis'
const flavour = 'esm + express ' + createRequire(import.meta.url)('express/package.json').version
const modules = { keyward, 'keyward/testing': testing, 'keyward/postgres': postgres, 'keyward/redis': redis }
$common_checks
EOF

cat >"$work/cjs/index.js" <<EOF
const assert = require('node:assert/strict')
const express = require('express')
const flavour = 'cjs + express ' + require('express/package.json').version
const modules = {
  keyward: require('keyward'),
  'keyward/testing': require('keyward/testing'),
  'keyward/postgres': require('keyward/postgres'),
  'keyward/redis': require('keyward/redis'),
}
;(async () => {
$common_checks
})().catch((error) => {
  console.error(error)
  process.exit(1)
})
EOF

# TypeScript: the types as a strict nodenext project sees them, in an ES module and a CommonJS one.
cat >"$work/ts/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "target": "es2022",
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "verbatimModuleSyntax": true,
    "skipLibCheck": false,
    "types": ["node"],
    "outDir": "out"
  },
  "include": ["index.ts", "index.cts"]
}
EOF
cat >"$work/ts/index.ts" <<'EOF'
import assert from 'node:assert/strict'
import express, { type Request, type Response } from 'express'
import {
  type DecisionEvent,
  delegateBearerAuth,
  fingerprint,
  type Guard,
  httpValidator,
  requireScopes,
  requireWorkerKey,
  verifyWidgetKey,
} from 'keyward'
import { invalidationTriggerSql, pgInvalidation, pgRecordResolver } from 'keyward/postgres'
import { redisInvalidation } from 'keyward/redis'
import { memoryRecordStore, startAuthService } from 'keyward/testing'

const events: DecisionEvent[] = []
const worker: Guard = requireWorkerKey({
  keys: 'consumer-worker-key-0123456789abcdef0123',
  onDecision: (event) => events.push(event),
})
const store = memoryRecordStore()
const widget: Guard = verifyWidgetKey({ records: store.records })
const auth = await startAuthService()
const bearer: Guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl, serviceId: 'ts' }) })
const sql: string = invalidationTriggerSql({ channel: 'keyward_widget_keys' })
const factories = [pgInvalidation, pgRecordResolver, redisInvalidation] as const

const app = express()
app.get('/worker', worker, (req: Request, res: Response) => {
  const kind: string | undefined = req.auth?.kind
  res.json({ kind })
})
app.get('/items', bearer, requireScopes('items:read'), (req: Request, res: Response) => {
  res.json({ auth: req.auth })
})
app.get('/widget', widget, (_req: Request, res: Response) => {
  res.json({ ok: true })
})

assert.match(fingerprint('x'), /^kw_[0-9a-f]{12}$/)
assert.ok(sql.includes('keyward_widget_keys'))
assert.equal(factories.length, 3)
await auth.close()
console.log('ts (nodenext, ESM): types check, and the compiled module runs')
EOF
cat >"$work/ts/index.cts" <<'EOF'
import assert = require('node:assert/strict')
import keyward = require('keyward')
import testing = require('keyward/testing')
import postgres = require('keyward/postgres')
import redis = require('keyward/redis')

const guard: keyward.Guard = keyward.requireWorkerKey({ keys: 'consumer-worker-key-0123456789abcdef0123' })
const store: ReturnType<typeof testing.memoryRecordStore> = testing.memoryRecordStore()
assert.equal(typeof guard, 'function')
assert.equal(typeof store.records, 'function')
assert.equal(typeof postgres.pgRecordResolver, 'function')
assert.equal(typeof redis.redisInvalidation, 'function')
console.log('ts (nodenext, CommonJS): types check, and the compiled module runs')
EOF

say "consumers: run (esm, cjs); type-check, compile and run (ts)"
(cd "$work/esm" && node index.js) || fail "the ESM consumer"
(cd "$work/cjs" && node index.js) || fail "the CommonJS consumer"
# one tsc run: it fails on any type error exactly as --noEmit would, and emits what is then run
(cd "$work/ts" && "$tsc" --version && "$tsc" -p . && node out/index.js && node out/index.cjs) ||
  fail "the TypeScript consumer"

say "the README's quick starts, verbatim (esm: Express 5, cjs: Express 4)"
node "$repo/scripts/check-quickstarts.mjs" "$work/esm" esm || fail "the README's ESM quick start"
node "$repo/scripts/check-quickstarts.mjs" "$work/cjs" cjs || fail "the README's CommonJS quick start"
TSC="$tsc" node "$repo/scripts/check-quickstarts.mjs" "$work/ts" ts || fail "the README's ESM quick start as TypeScript"

say "the bin, as installed"
for name in esm cjs; do
  (
    cd "$work/$name"
    help=$(npx keyward --help) || fail "npx keyward --help exits non-zero in the $name consumer"
    [[ $help == *'keyward <command>'* && $help == *fingerprint* ]] || fail "npx keyward --help in the $name consumer"
    # the installed bin link itself for the rest: npx costs seconds per call on a busy machine
    version=$(node_modules/.bin/keyward --version)
    [ "$version" = "$(node -p 'require("keyward/package.json").version')" ] || fail "keyward --version says $version"
    printed=$(printf '%s' 'consumer-worker-key-0123456789abcdef0123' | node_modules/.bin/keyward fingerprint)
    [[ $printed =~ ^kw_[0-9a-f]{12}$ ]] || fail "keyward fingerprint printed something else"
  )
done
echo "npx keyward --help, keyward --version and keyward fingerprint work in the esm and cjs consumers"
say "package checks passed"
