// Ending a WebSocket (exec, port-forward) that is no longer needed. ws's close()
// sends a close frame and then waits up to 30 s for the peer's, keeping the
// process alive all that time when the API server never answers (seen once in 3
// runs at the end of `sync --once`); after a short grace the connection is dropped.

/** The bits of a ws WebSocket this needs. */
export interface ClosableWebSocket {
  readonly readyState: number;
  close(): void;
  terminate?(): void;
}

const CLOSED = 3;

export function closeWebSocket(ws: ClosableWebSocket | undefined, graceMs = 1_000): void {
  if (!ws || ws.readyState === CLOSED) return;
  try {
    ws.close();
  } catch {
    /* closing already */
  }
  if (!ws.terminate) return;
  // unref: a socket that closes in time must not keep the process for the grace.
  setTimeout(() => {
    if (ws.readyState !== CLOSED) ws.terminate?.();
  }, graceMs).unref();
}
