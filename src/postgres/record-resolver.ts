import { optionNames, refuseUnknownOptions } from '../core/options.js'
import type { WidgetRecordInput, WidgetRecordsAnswer } from '../widget-key/record-set.js'
import type { WidgetRecordsContext } from '../widget-key/verify-widget-key.js'
import { quoteIdentifier } from './identifiers.js'
import type { PgQueryable } from './types.js'

const NAME = 'pgRecordResolver'

/** Options of {@link pgRecordResolver}. Give either `query`, or any of `table`/`column`/`tenantColumn`. */
export interface PgRecordResolverOptions {
  /**
   * Your `pg.Pool` (or a connected `pg.Client`), used for one parameterised query per record
   * load. A pool is the right choice for a server: loads of different tenants run in parallel.
   */
  pool: PgQueryable
  /**
   * Your own SQL, with `$1` as the tenant id (the only parameter; the id is never spliced into
   * the text). If the tenant column is not text (integer, uuid, citext), compare its text form
   * too, e.g. `WHERE tenant_id::text = $1::text AND tenant_id = $1::text::integer` (the second
   * term keeps the index in use): otherwise `042` and `42`, or a uuid in upper case, are cached
   * as different tenants that invalidation, naming the printed form, does not reach. Each row is one record, so several rows are a rotation grace period. The record
   * is the column named `record`, or else the first column; it may be `json`/`jsonb` (an object,
   * or an array of records) or text in any format `parseHashRecord` reads. Optional columns
   * `expires_at` (timestamp) and `origins` (`text[]` or a JSON array) are passed on.
   * Default: built from `table`, `column` and `tenantColumn`.
   */
  query?: string
  /**
   * Table of the default query, optionally `schema.table`. Validated as an identifier and used
   * exactly as written (quoted). Default `'tenant_settings'`.
   */
  table?: string
  /** Column holding the hash record in the default query. Default `'widget_api_key_hash'`. */
  column?: string
  /** Column holding the tenant id in the default query. Default `'tenant_id'`. */
  tenantColumn?: string
}

/**
 * The resolver {@link pgRecordResolver} returns; pass it as `verifyWidgetKey({ records })`. A read
 * whose signal has already aborted sends no query (`pg` cannot cancel one that was sent; the guard
 * stops waiting for it at `timeout`).
 */
export type PgRecordResolver = (
  tenantId: string,
  context?: Partial<WidgetRecordsContext>,
) => Promise<WidgetRecordsAnswer>

const OPTION_NAMES = optionNames<PgRecordResolverOptions>()(
  'pool',
  'query',
  'table',
  'column',
  'tenantColumn',
)

/**
 * A `records` resolver for `verifyWidgetKey` that reads a tenant's hash record(s) from Postgres
 * with one parameterised query, through the pool you already have.
 *
 * The tenant id must be the tenant column's value as Postgres prints it (`column::text`): `042`
 * for an integer 42, or an upper-case uuid, is no tenant, since the guard caches by the id's text
 * and invalidation names the printed form.
 *
 * No rows, or only `NULL` records, is "no such tenant" (`null`, answered 401 like a wrong key).
 * A tenant id the tenant column's type cannot hold (`'abc'` for a `uuid` or `integer` column,
 * SQLSTATE 22P02 / 22003) is also "no such tenant", so a garbage header is a 401, not an outage.
 * Any other query error rejects, which `verifyWidgetKey` answers 503 `auth_unavailable` (F5:
 * a store failure never lets a request through).
 *
 * @example
 * ```ts
 * const records = pgRecordResolver({ pool })   // tenant_settings.widget_api_key_hash by tenant_id
 * app.use('/widget', verifyWidgetKey({ records }))
 * ```
 * @throws TypeError for an invalid option.
 */
export function pgRecordResolver(options: PgRecordResolverOptions): PgRecordResolver {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { pool } or { pool, query }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const { pool } = options
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function') {
    throw new TypeError(`${NAME}: "pool" must be a pg.Pool or pg.Client (something with query(text, values))`)
  }
  const custom = options.query !== undefined
  const sql = custom ? customQuery(options) : defaultQuery(options)

  return async (tenantId, context) => {
    context?.signal?.throwIfAborted()
    let rows: unknown[]
    try {
      ;({ rows } = await pool.query(sql, custom ? [tenantId] : [tenantId, tenantId]))
    } catch (error) {
      if (isUnrepresentableTenantId(error)) return null
      throw error
    }
    const records: WidgetRecordInput[] = []
    for (const row of rows) records.push(...recordsOfRow(row))
    return records.length === 0 ? null : records.length === 1 ? records[0] : records
  }
}

function defaultQuery(options: PgRecordResolverOptions): string {
  const table = quoteIdentifier(options.table ?? 'tenant_settings', 'table', NAME, true)
  const column = quoteIdentifier(options.column ?? 'widget_api_key_hash', 'column', NAME)
  const tenantColumn = quoteIdentifier(options.tenantColumn ?? 'tenant_id', 'tenantColumn', NAME)
  // the column's type may read many texts as one value (042 and 42, a uuid in upper case): each
  // would be a cache entry of its own that an invalidation, naming the id as Postgres prints it,
  // never reaches; so only the printed form names the tenant
  return `SELECT ${column} AS record FROM ${table} WHERE ${tenantColumn} = $1 AND ${tenantColumn}::text = $2`
}

function customQuery(options: PgRecordResolverOptions): string {
  const { query } = options
  if (options.table !== undefined || options.column !== undefined || options.tenantColumn !== undefined) {
    throw new TypeError(`${NAME}: give either "query" or "table"/"column"/"tenantColumn", not both`)
  }
  if (typeof query !== 'string' || !/\$1(?!\d)/.test(query)) {
    throw new TypeError(
      `${NAME}: "query" must be SQL that takes the tenant id as $1, e.g. ` +
        `'SELECT widget_api_key_hash AS record FROM tenant_settings WHERE tenant_id = $1'`,
    )
  }
  return query
}

/** The record(s) in one row: the `record` column (or the first), with its deadline and origins. */
function recordsOfRow(row: unknown): WidgetRecordInput[] {
  if (typeof row !== 'object' || row === null) return []
  const columns = row as Record<string, unknown>
  const value = 'record' in columns ? columns.record : Object.values(columns)[0]
  const expiresAt = columns.expires_at
  const origins = columns.origins
  return recordValues(value).map((record) =>
    expiresAt == null && origins == null
      ? record
      : {
          record,
          expiresAt: expiresAt as Date | string | number | null,
          origins: originList(origins),
        },
  )
}

/** One column value as records: NULL is none; a JSON array (jsonb, or text starting with `[`) is several. */
function recordValues(value: unknown): WidgetRecordInput[] {
  if (value === null || value === undefined) return []
  if (Array.isArray(value)) return value.filter((entry) => entry !== null) as WidgetRecordInput[]
  if (typeof value === 'string' && value.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value)
      if (Array.isArray(parsed)) return recordValues(parsed)
    } catch {
      // not JSON after all: the record parser will name what is wrong with it
    }
  }
  return [value as WidgetRecordInput]
}

/** `origins` as `text[]`, a JSON array, or JSON text of one; anything else goes on to be refused as a bad record. */
function originList(value: unknown): readonly string[] | null {
  if (value === null || value === undefined) return null
  if (typeof value !== 'string') return value as readonly string[]
  try {
    const parsed: unknown = JSON.parse(value)
    return (Array.isArray(parsed) ? parsed : [value]) as readonly string[]
  } catch {
    return [value]
  }
}

/** SQLSTATE 22P02 / 22003: the tenant id is not a valid value of the tenant column's type. */
function isUnrepresentableTenantId(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '22P02' || code === '22003'
}
