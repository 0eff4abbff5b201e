/*
 * The parts of `pg` these adapters use, described structurally: keyward never imports `pg` at
 * run time (you bring your own client, any version that has these methods), and these types
 * fit `pg.Pool`, `pg.Client` and `pg.PoolClient` as they are.
 */

/** Anything that runs a parameterised query: a `pg.Pool`, `pg.Client` or `pg.PoolClient`. */
export interface PgQueryable {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>
}

/** A message `LISTEN` receives, as `pg` hands it over. */
export interface PgNotification {
  channel: string
  payload?: string | undefined
}

/** A connected `pg.Client` (or a client checked out of a pool) that can LISTEN. */
export interface PgListenClient {
  query(text: string, values?: unknown[]): Promise<unknown>
  on(event: 'notification', listener: (message: PgNotification) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'end', listener: () => void): unknown
  removeListener(event: 'notification', listener: (message: PgNotification) => void): unknown
  removeListener(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: 'end', listener: () => void): unknown
  /** Present on `pg.Client`: closes the connection. */
  end?: () => Promise<void>
}

/** A client checked out of a `pg.Pool`. */
export interface PgPoolClient extends PgListenClient {
  /** Returns the client to its pool; `true` or an error destroys it instead. */
  release(destroy?: boolean | Error): void
}

/** A `pg.Pool`: it lends one client for LISTEN and lends another after that one is lost. */
export interface PgPool {
  connect(): Promise<PgPoolClient>
  query(text: string, values: unknown[]): Promise<unknown>
  /** Present on every `pg.Pool`; how a pool is told apart from a lone client. */
  readonly totalCount: number
}
