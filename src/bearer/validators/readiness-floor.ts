/**
 * Readiness with a floor: the last answer (success or failure) about one service is reused for
 * `floor` ms and concurrent calls share one check, so a health check polled in a loop costs the
 * service at most one call per `floor`. The settings are read by the caller every time (a
 * variable set later is used at once); `key` names what was checked (the URL and whatever else
 * the settings resolved to), and a new key is checked at once. `fresh()` may say the validator
 * already knows the service works (keys fetched recently): then no call is made at all.
 */
export function readinessFloor(
  fresh: () => boolean = () => false,
  floor = 1000,
): (key: string, check: () => Promise<void>) => Promise<void> {
  let last: { key: string; at: number; result: Promise<void> } | undefined
  return (key, check) => {
    if (fresh()) return Promise.resolve()
    const now = performance.now()
    if (last !== undefined && last.key === key && now - last.at < floor) return last.result
    const result = check()
    // an unobserved rejection of a reused result must not crash the process
    result.catch(() => {})
    last = { key, at: now, result }
    return result
  }
}
