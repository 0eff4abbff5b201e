/**
 * Waiting for something that happens elsewhere (another process, a server) without guessing a
 * duration: poll a condition, or take the next call of a listener, each with a deadline that
 * fails the test with a message.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeout = 5_000,
): Promise<void> {
  const deadline = performance.now() + timeout
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Records every call of a bus listener, in order, and lets a test await the next one. */
export function recorder() {
  const calls: Array<string | undefined> = []
  const waiting: Array<() => void> = []
  let taken = 0
  const listener = (id?: string) => {
    calls.push(id)
    for (const wake of waiting.splice(0)) wake()
  }
  /** The next call not yet taken: `undefined` means "drop everything". */
  const next = async (what = 'a bus message', timeout = 5_000): Promise<string | undefined> => {
    if (calls.length <= taken) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (calls.length > taken) {
            clearTimeout(timer)
            resolve()
          } else waiting.push(check)
        }
        timer = setTimeout(
          () => reject(new Error(`timed out after ${timeout} ms waiting for ${what}`)),
          timeout,
        )
        check()
      })
    }
    return calls[taken++]
  }
  return { listener, calls, next }
}
