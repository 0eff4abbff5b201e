import diagnostics from 'node:diagnostics_channel'
import type { CacheState, Decision } from './decision.js'
import type { KeywardCode, KeywardReason } from './errors.js'

/** Name of the `node:diagnostics_channel` channel every decision is published on. */
export const DECISION_CHANNEL = 'keyward:decision'

/** One decision, as published. Contains fingerprints, never a key or token. */
export interface DecisionEvent {
  middleware: string
  outcome: 'allow' | 'deny' | 'error'
  /** The status answered; 200 when the request was passed on. */
  status: number
  code?: KeywardCode
  reason: KeywardReason
  keyFingerprint?: string
  keyId?: string
  tenantId?: string
  cache?: CacheState
  detail?: Record<string, string | number | boolean>
  durationMs: number
}

/** A pino-, bunyan- or console-like logger; only `warn` is used, for misconfiguration and outages. */
export interface KeywardLogger {
  warn(obj: object, msg?: string): void
}

export interface ObservabilityOptions {
  /** Called with every decision (allow, deny, error). Exceptions it throws are swallowed. */
  onDecision?: (event: DecisionEvent) => void
  /** Receives misconfiguration (500) and outage (503) decisions. */
  logger?: KeywardLogger
}

const channel = diagnostics.channel(DECISION_CHANNEL)

/**
 * Builds the event for a decision and hands it to `onDecision`, the channel and the logger;
 * `also` (a composition's own observers) gets the same event, the channel still one.
 */
export function publishDecision(
  middleware: string,
  decision: Decision,
  startedAt: number,
  options: ObservabilityOptions,
  also?: ObservabilityOptions,
): DecisionEvent | undefined {
  const wanted =
    options.onDecision !== undefined ||
    options.logger !== undefined ||
    also?.onDecision !== undefined ||
    also?.logger !== undefined ||
    channel.hasSubscribers
  if (!wanted) return undefined
  const event: DecisionEvent =
    decision.outcome === 'allow'
      ? { middleware, outcome: 'allow', status: 200, reason: decision.reason, durationMs: 0 }
      : {
          middleware,
          outcome: decision.outcome,
          status: decision.error.status,
          code: decision.error.code,
          reason: decision.error.reason,
          durationMs: 0,
        }
  if (decision.keyFingerprint !== undefined) event.keyFingerprint = decision.keyFingerprint
  if (decision.keyId !== undefined) event.keyId = decision.keyId
  if (decision.tenantId !== undefined) event.tenantId = decision.tenantId
  if (decision.cache !== undefined) event.cache = decision.cache
  if (decision.detail !== undefined) event.detail = decision.detail
  event.durationMs = Math.round((performance.now() - startedAt) * 1000) / 1000
  notify(options, event, decision, middleware)
  // one observer given to both (the same logger) hears each decision once
  if (also !== undefined) {
    notify(
      {
        ...(also.onDecision !== options.onDecision && { onDecision: also.onDecision }),
        ...(also.logger !== options.logger && { logger: also.logger }),
      },
      event,
      decision,
      middleware,
    )
  }
  if (channel.hasSubscribers) channel.publish(event)
  return event
}

function notify(options: ObservabilityOptions, event: DecisionEvent, decision: Decision, middleware: string) {
  if (options.onDecision) {
    try {
      options.onDecision(event)
    } catch {
      // an observer must never change the answer
    }
  }
  if (options.logger && decision.outcome === 'error') {
    try {
      // messages already start with the guard's name
      const message = decision.error.message
      options.logger.warn(
        { keyward: event },
        message.startsWith(`${middleware}:`) ? `keyward ${message}` : `keyward ${middleware}: ${message}`,
      )
    } catch {
      // as above
    }
  }
}
