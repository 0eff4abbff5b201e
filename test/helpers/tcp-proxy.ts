import net from 'node:net'

/** A TCP proxy in front of a real server, that a test can make stop forwarding. */
export interface TcpProxy {
  /** The port clients connect to instead of the server's. */
  readonly port: number
  /**
   * Stops forwarding bytes in both directions, on every connection and on those opened while
   * paused, without closing any socket: a half-open link, as a proxy that stopped forwarding or
   * dropped NAT state leaves it. Nothing is discarded; it waits in the sockets' buffers.
   */
  pause(): void
  /** Forwards again, what waited included. */
  resume(): void
  /** Stops listening and destroys every connection. */
  close(): Promise<void>
}

/** Starts a proxy on a free port of 127.0.0.1 that forwards each connection to `host:port`. */
export async function tcpProxy(port: number, host = '127.0.0.1'): Promise<TcpProxy> {
  let paused = false
  const sockets = new Set<net.Socket>()
  const server = net.createServer((downstream) => {
    const upstream = net.connect(port, host)
    const pair = [downstream, upstream] as const
    const closeBoth = () => {
      for (const socket of pair) {
        socket.destroy()
        sockets.delete(socket)
      }
    }
    for (const [from, to] of [pair, [upstream, downstream] as const]) {
      sockets.add(from)
      // no pipe(): its drain handling can resume a socket that pause() stopped
      from.on('data', (chunk) => to.write(chunk))
      from.on('end', closeBoth)
      from.on('close', closeBoth)
      from.on('error', closeBoth)
      if (paused) from.pause()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as net.AddressInfo
  return {
    port: address.port,
    pause() {
      paused = true
      for (const socket of sockets) socket.pause()
    },
    resume() {
      paused = false
      for (const socket of sockets) socket.resume()
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
