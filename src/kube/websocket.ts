// The WebSockets of exec and port-forward (client-node opens them with ws): how
// the bulk ones are opened, how any of them ends, and how their errors read.
import { PassThrough } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
// Private path: client-node's index does not export WebSocketHandler, the only way to give Exec/PortForward a socket factory.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
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

type SocketFactory = (uri: string, protocols: string[], opts: WebSocket.ClientOptions) => WebSocket;

/**
 * client-node's WebSocket handler with `socketFactory` and streams of its own: its default
 * ones are process.stdin/stdout/stderr, which it ends when the server closes a stream.
 */
export function handlerWithOwnStreams(kc: KubeConfig, socketFactory: SocketFactory): WebSocketHandler {
  const sink = () => new PassThrough().resume();
  return new WebSocketHandler(kc, socketFactory, { stdin: new PassThrough(), stdout: sink(), stderr: sink() });
}

/** One line for an error of client-node (HTTP status and the API server's message) or of a WebSocket. */
export function describeKubeError(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number' && e.body !== undefined) {
    let message = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      message = (body as { message?: string }).message ?? '';
    } catch {
      message = String(e.body).slice(0, 200);
    }
    return `HTTP ${e.code}${message ? `: ${message}` : ''}`;
  }
  if (e && typeof e === 'object' && 'message' in e && e.message) return e.message;
  // ws ErrorEvent
  const inner = (error as { error?: Error }).error;
  if (inner?.message) return inner.message;
  return String(error);
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
