/**
 * What every benchmark server is built from: the credentials and service addresses the
 * orchestrator prepares once per run and hands to each server process over IPC, so all
 * scenarios check the same key, the same token and the same JWT.
 */
export interface BenchSetup {
  /** The worker key every worker-key scenario expects (and the peers' API key). */
  workerKey: string
  /** A widget key made by `createWidgetKey` (600 000 iterations) and its PHC record. */
  widgetKey: string
  widgetRecord: string
  /** The tenant the warm widget scenario serves. */
  widgetTenant: string
  /** The local auth service (a separate process). */
  auth: {
    validateUrl: string
    jwksUri: string
    issuer: string
    audience: string
    /** An opaque token the auth service accepts. */
    opaqueToken: string
    /** A signed RS256 access token, valid for the whole run. */
    jwt: string
  }
}

/** The messages a server process sends back to the orchestrator. */
export type ServerMessage =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stats'; stats: Record<string, number> }
  | { type: 'cpu'; micros: number }

/** The messages the orchestrator sends to a server process. */
export type OrchestratorMessage =
  | { type: 'start'; scenario: string; setup: BenchSetup }
  | { type: 'stats' }
  | { type: 'cpu' }
