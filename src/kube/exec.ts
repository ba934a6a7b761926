// The exec edge: a command in a container through the API server (client-node Exec over
// WebSocket). The caller gets the WebSocket, narrowed to what exec users need (its events,
// frames sent directly, its close), and the status the API server sends at the end.

import type { Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig } from '@kubernetes/client-node';
import type WebSocket from 'ws';
import { handlerWithOwnStreams, unmaskedOverTls, type ClosableWebSocket } from './websocket.ts';

/** The status the API server sends on the status channel when the command ends (a V1Status). */
export interface ExecStatus {
  status?: string;
  message?: string;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

/** The bits of the exec WebSocket its users need (ws 8). */
export interface ExecSocket extends ClosableWebSocket {
  readonly bufferedAmount: number;
  readonly protocol?: string;
  /**
   * Sends one binary message. ws may keep `data` (unmasked frames are not copied)
   * until `done` is called: the buffer must not change before then.
   */
  send(data: Buffer, done: (error?: Error) => void): void;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdout: Writable;
  stderr: Writable;
  /** What goes to the command's stdin; null: it gets none. */
  stdin: Readable | null;
  tty?: boolean;
  /** Called once with the status that ends the exec (the exit code: exitCodeOf); a lost connection never calls it. */
  onStatus: (status: ExecStatus) => void;
  /**
   * The socket of a bulk transfer (the initial copy): unmasked over TLS, v4 only (see
   * bulkExecSocket), client-node's handler with streams of its own. Otherwise its defaults.
   */
  bulk?: boolean;
}

/** Starts a command; resolves to its WebSocket once it is open (rejects when it cannot be opened). */
export type ExecFn = (request: ExecRequest) => Promise<ExecSocket>;

/** The exit code in the status the API server sends at the end of an exec. */
export function exitCodeOf(status: ExecStatus): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message !== undefined ? Number(cause.message) : 1;
}

const V5 = 'v5.channel.k8s.io';

/**
 * The bulk exec WebSocket: unmasked over TLS, and without v5.channel.k8s.io on offer. The
 * API server translates a v5 exec into SPDY towards the kubelet, decoding and re-framing
 * every byte; a v4 one it proxies as it is (about a third of the API server's CPU for a bulk
 * transfer), and the kubelet's own WebSocket server reads it.
 */
function bulkExecSocket(uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
  return unmaskedOverTls(uri, protocols.filter((p) => p !== V5), opts);
}

/** The exec edge on client-node's Exec; the bulk socket is made on its first use. */
export function clientNodeExec(kc: KubeConfig): ExecFn {
  const plain = new Exec(kc);
  let bulk: Exec | undefined;
  return (r) => {
    const exec = r.bulk ? (bulk ??= new Exec(kc, handlerWithOwnStreams(kc, bulkExecSocket))) : plain;
    return exec.exec(r.namespace, r.pod, r.container, r.command, r.stdout, r.stderr, r.stdin, r.tty ?? false, r.onStatus as never) as Promise<ExecSocket>;
  };
}
