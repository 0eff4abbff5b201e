/*
 * The parts of the two common Redis clients this adapter uses, described structurally: keyward
 * never imports `redis` or `ioredis` at run time, and tells them apart by shape.
 */

/**
 * An event listener as both clients declare theirs (`(...args: any[]) => void`); `Function`
 * accepts that without `any` leaking into keyward's own types.
 */
export type ClientEventListener = Function

/** A message listener of the official `redis` client: `(message, channel)`. */
export type NodeRedisMessageListener = (message: string, channel: string) => unknown

/** The official `redis` client (v4 and later), connected and used only for subscriptions. */
export interface NodeRedisSubscriber {
  /** How this client is recognised; `subscribe` needs an open client. */
  readonly isOpen: boolean
  subscribe(channel: string, listener: NodeRedisMessageListener): Promise<unknown>
  unsubscribe(channel: string, listener: NodeRedisMessageListener): Promise<unknown>
  on(event: string, listener: ClientEventListener): unknown
  removeListener(event: string, listener: ClientEventListener): unknown
  /** The heartbeat of a bus without a publisher; allowed while subscribed. */
  ping(message: string): Promise<unknown>
  /** Reopens the connection after a missed heartbeat (subscriptions are kept and resent). */
  connect(): Promise<unknown>
  /** Drops a deaf connection at once (v5 and later); v4 has only `disconnect()`. */
  destroy?(): void
  disconnect?(): Promise<unknown>
}

/** An `ioredis` client used only for subscriptions. */
export interface IoRedisSubscriber {
  /** How this client is recognised (`'wait'`, `'connecting'`, `'ready'`, …). */
  readonly status: string
  subscribe(channel: string): Promise<unknown>
  unsubscribe(channel: string): Promise<unknown>
  on(event: string, listener: ClientEventListener): unknown
  removeListener(event: string, listener: ClientEventListener): unknown
  /** The heartbeat of a bus without a publisher; allowed while subscribed. */
  ping(message: string): Promise<unknown>
  /** `disconnect(true)` drops a deaf connection and reconnects, resubscribing by itself. */
  disconnect(reconnect?: boolean): void
}

/** Either client, as the subscriber: a dedicated connection (subscribing puts it in pub/sub mode). */
export type RedisSubscriber = NodeRedisSubscriber | IoRedisSubscriber

/** Either client, as the publisher: any connection, e.g. the one the app already uses. */
export interface RedisPublisher {
  publish(channel: string, message: string): Promise<unknown>
}
