import { channelName, quoteIdentifier } from './identifiers.js'

const NAME = 'invalidationTriggerSql'

/** Options of {@link invalidationTriggerSql}; identifiers are validated and used exactly as written. */
export interface InvalidationTriggerOptions {
  /** The table holding the records, optionally `schema.table`. Default `'tenant_settings'`. */
  table?: string
  /** The column holding the hash record. Default `'widget_api_key_hash'`. */
  column?: string
  /** The column holding the tenant id, sent as the NOTIFY payload. Default `'tenant_id'`. */
  tenantColumn?: string
  /** The channel `pgInvalidation` listens on. Required: the two must agree. */
  channel: string
  /**
   * Name of the trigger function; the triggers are named after it with `_update` and `_delete`.
   * Default `keyward_notify_<table>_<column>` (one function per table and column, as the
   * function is shared by the whole schema). At most 56 characters.
   */
  name?: string
}

/**
 * SQL that makes Postgres itself announce every change of a tenant's record: after an UPDATE
 * that changes `column` (or the tenant id), or a DELETE of the row, it sends
 * `pg_notify(channel, tenant id)`, which `pgInvalidation` hands to `verifyWidgetKey`. Being in the
 * database, it catches every writer: the admin API, a migration, a hand-run `psql` UPDATE.
 *
 * NOTIFY is transactional: the message goes out when the writing transaction commits (never for
 * one that rolls back), so an instance that re-reads on the message sees the new record.
 * Inserts need no trigger: a tenant new to an instance is read on its first request, and
 * refresh-on-mismatch covers an instance that had cached "no such tenant" a moment before.
 *
 * Idempotent (`CREATE OR REPLACE`, `DROP TRIGGER IF EXISTS`): run it as a migration. Needs
 * Postgres 11 or later (`EXECUTE FUNCTION`).
 *
 * @throws TypeError for an invalid identifier or channel.
 */
export function invalidationTriggerSql(options: InvalidationTriggerOptions): string {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { channel: 'keyward_invalidation' }`)
  }
  const { table, column, baseName } = triggerNames(options, NAME)
  const tenant = quoteIdentifier(options.tenantColumn ?? 'tenant_id', 'tenantColumn', NAME)
  const channel = channelName(options.channel, NAME)
  const fn = quoteIdentifier(baseName, 'name', NAME)
  const onUpdate = quoteIdentifier(`${baseName}_update`, 'name', NAME)
  const onDelete = quoteIdentifier(`${baseName}_delete`, 'name', NAME)

  // ::text comparisons: the json type has no equality operator, and text works for every type
  return `-- keyward: NOTIFY ${channel} with the tenant id when ${table}.${column} changes or its row is deleted
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger
LANGUAGE plpgsql AS $keyward$
BEGIN
  PERFORM pg_notify('${channel}', OLD.${tenant}::text);
  IF TG_OP = 'UPDATE' AND NEW.${tenant}::text IS DISTINCT FROM OLD.${tenant}::text THEN
    PERFORM pg_notify('${channel}', NEW.${tenant}::text);
  END IF;
  RETURN NULL;
END
$keyward$;

DROP TRIGGER IF EXISTS ${onUpdate} ON ${table};
CREATE TRIGGER ${onUpdate}
  AFTER UPDATE OF ${column}, ${tenant} ON ${table}
  FOR EACH ROW
  WHEN (OLD.${column}::text IS DISTINCT FROM NEW.${column}::text
     OR OLD.${tenant}::text IS DISTINCT FROM NEW.${tenant}::text)
  EXECUTE FUNCTION ${fn}();

DROP TRIGGER IF EXISTS ${onDelete} ON ${table};
CREATE TRIGGER ${onDelete}
  AFTER DELETE ON ${table}
  FOR EACH ROW
  EXECUTE FUNCTION ${fn}();
`
}

/** Where the triggers live and what they are called, as {@link invalidationTriggerSql} names them. */
export interface TriggerNames {
  /** The quoted table, `"schema"."table"` or `"table"`. */
  table: string
  /** The quoted column. */
  column: string
  /** The trigger function's name; the triggers add `_update` and `_delete`. */
  baseName: string
}

/** The names {@link invalidationTriggerSql} uses, for the SQL and for checking it was run. */
export function triggerNames(
  options: Pick<InvalidationTriggerOptions, 'table' | 'column' | 'name'>,
  owner: string,
): TriggerNames {
  const tableName = options.table ?? 'tenant_settings'
  const columnName = options.column ?? 'widget_api_key_hash'
  const table = quoteIdentifier(tableName, 'table', owner, true)
  const column = quoteIdentifier(columnName, 'column', owner)
  const baseName = options.name ?? `keyward_notify_${tableName.split('.').at(-1)}_${columnName}`
  if (typeof baseName !== 'string' || baseName.length > 56) {
    throw new TypeError(
      `${owner}: the trigger function name ${JSON.stringify(baseName)} is longer than 56 characters ` +
        '(Postgres truncates names at 63, and the triggers add "_update"/"_delete"); pass a shorter "name"',
    )
  }
  quoteIdentifier(baseName, 'name', owner)
  return { table, column, baseName }
}
