// The WebSockets of exec and port-forward (client-node opens them with ws): how
// the bulk ones are opened, and how any of them ends.
import WebSocket from 'ws';

/**
 * ws's mask generator for connections over TLS: an all-zero key, which ws takes
 * as "send the payload as it is". Masking (RFC 6455 §10.3) keeps script in a
 * browser from shaping bytes that a transparent proxy on the path could take for
 * HTTP; inside TLS no such proxy sees the bytes, and this client runs no foreign
 * script. Unmasked, ws neither copies nor XORs what goes out: for the 115 MB of the
 * benchmark's first copy 0.65 s of CPU less (bench/copy.ts). Because ws then keeps a
 * reference to the buffer until it is written, senders must not reuse it before.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/** client-node's socket factory (WebSocketHandler's second argument): unmasked frames over wss, random masks otherwise. */
export function unmaskedOverTls(uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
  return new WebSocket(uri, protocols, uri.startsWith('wss:') ? { ...opts, generateMask: zeroMask } : opts);
}

// Ending a WebSocket that is no longer needed. ws's close() sends a close frame and
// then waits up to 30 s for the peer's, keeping the process alive all that time when
// the API server never answers (seen once in 3 runs at the end of `sync --once`);
// after a short grace the connection is dropped.

/** The bits of a ws WebSocket this needs. */
export interface ClosableWebSocket {
  readonly readyState: number;
  close(): void;
  terminate?(): void;
}

const CLOSED = 3;

/** WebSockets in their grace: close frame sent, the peer's not seen yet. */
const closing = new Set<ClosableWebSocket>();

/** `graceMs` 0: drop it now (the session is ending; nobody waits for a tidy close). */
export function closeWebSocket(ws: ClosableWebSocket | undefined, graceMs = 1_000): void {
  if (!ws || ws.readyState === CLOSED) return;
  if (graceMs <= 0 && ws.terminate) {
    ws.terminate();
    return;
  }
  try {
    ws.close();
  } catch {
    /* closing already */
  }
  if (!ws.terminate) return;
  closing.add(ws);
  // unref: a socket that closes in time must not keep the process for the grace.
  setTimeout(() => {
    closing.delete(ws);
    if (ws.readyState !== CLOSED) ws.terminate?.();
  }, graceMs).unref();
}

/**
 * Drops every WebSocket still in its grace. For the end of a session: such a socket
 * (its TCP connection is referenced) would otherwise keep the process up to the grace,
 * as `sync --once` did 1 s after "stopped" in about one run of two (the API server
 * did not answer the close of a port-forward stream).
 */
export function dropClosingWebSockets(): void {
  for (const ws of closing) if (ws.readyState !== CLOSED) ws.terminate?.();
  closing.clear();
}
