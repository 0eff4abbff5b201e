import { KeywardError } from '../core/errors.js'
import { type InvalidationTriggerOptions, triggerNames } from './trigger.sql.js'

const NAME = 'pgInvalidation'

/**
 * Checks that the triggers `invalidationTriggerSql()` creates are in place, enabled, and notify
 * `channel`; rejects with a 500 `KeywardError` naming what is missing.
 */
export function triggerCheck(
  expected: Pick<InvalidationTriggerOptions, 'table' | 'column' | 'name'>,
  channel: string,
): (via: { query(text: string, values?: unknown[]): Promise<unknown> }) => Promise<void> {
  const { table, baseName } = triggerNames(expected, NAME)
  const wanted = [`${baseName}_update`, `${baseName}_delete`]
  return async (via) => {
    const result = (await via.query(
      `SELECT t.tgname AS name, t.tgenabled <> 'D' AS enabled, position($3 in p.prosrc) > 0 AS notifies
         FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE t.tgrelid = to_regclass($1) AND t.tgname = ANY($2::text[]) AND NOT t.tgisinternal`,
      [table, wanted, `'${channel}'`],
    )) as { rows: Array<{ name: string; enabled: boolean; notifies: boolean }> }
    const found = new Map(result.rows.map((row) => [row.name, row]))
    const problems = wanted.flatMap((name) => {
      const row = found.get(name)
      if (row === undefined) return [`trigger ${name} is missing`]
      if (!row.enabled) return [`trigger ${name} is disabled`]
      if (!row.notifies) return [`trigger ${name} does not notify "${channel}"`]
      return []
    })
    if (problems.length === 0) return
    throw new KeywardError({
      code: 'server_misconfigured',
      reason: 'invalidation_trigger_missing',
      message: `${NAME}: on ${table}, ${problems.join('; ')}: record changes will not reach other instances until recordTtl; run invalidationTriggerSql({ channel: '${channel}', ... }) as a migration`,
      middleware: NAME,
    })
  }
}
