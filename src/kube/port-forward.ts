// The port-forward edge: a TCP listener on 127.0.0.1 whose every connection becomes a
// port-forward stream (@kubernetes/client-node PortForward, through the API server) to one
// port of the dev pod. The pod comes from a PodFinder; when it is replaced (restart,
// reschedule), the next connection goes to the new one. Errors on a stream close its
// socket, so the client sees a dropped connection and redials — nothing hangs and no
// promise is left rejected.

import * as net from 'node:net';
import type { PassThrough, Writable } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import { realClock, type Clock } from './clock.ts';
import { ForwardedConnection, type ForwarderHost } from './forwarded-connection.ts';
import { describeKubeError, handlerWithOwnStreams, unmaskedOverTls } from './websocket.ts';

export { isRefusedBeforeAccept, MAX_PENDING } from './forwarded-connection.ts';
export { describeKubeError };

export type PortForwardFn = (namespace: string, pod: string, port: number, output: Writable, err: Writable, input: PassThrough) => Promise<unknown>;

export interface PodFinder {
  /** The pod to forward to now, or undefined when no dev pod is ready. */
  find(): Promise<{ name: string } | undefined>;
  /** What was wrong the last time `find` found nothing. */
  readonly lastProblem?: string;
}

export interface ForwardEvents {
  onError?(message: string): void;
  onConnected?(pod: string): void;
  /** Every attempt and its outcome (for --debug output). */
  onDebug?(message: string): void;
}

/** client-node's PortForward, adapted to one port. */
export function clientNodePortForward(kc: KubeConfig): PortForwardFn {
  const pf = new PortForward(kc, true, handlerWithOwnStreams(kc, unmaskedOverTls));
  return (namespace, pod, port, output, err, input) => pf.portForward(namespace, pod, [port], output, err, input);
}

export interface ForwarderOptions {
  namespace: string;
  podPort: number;
  finder: PodFinder;
  portForward: PortForwardFn;
  clock?: Clock;
  /** How long an accepted connection waits for a ready dev pod before it is closed. */
  holdMs?: number;
  /**
   * Keep what the client sent until the first byte comes back, and try again on any failure
   * before it or after `answerTimeoutMs` of silence. Only for a protocol whose first bytes
   * nothing acts on (syncthing's TLS ClientHello on the sync port); never for app ports.
   */
  replayUntilAnswer?: boolean;
  /** With replayUntilAnswer: a stream that got data but sent nothing back for this long is retried (default 3 s). */
  answerTimeoutMs?: number;
  /** Pause between attempts of an unconfirmed stream (default 300 ms; app ports use less, a restarting server is back soon). */
  retryMs?: number;
  events?: ForwardEvents;
}

export class PodPortForwarder {
  private readonly options: ForwarderOptions;
  private readonly clock: Clock;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private cachedPod: string | undefined;
  private closed = false;
  private readonly host: ForwarderHost;
  lastError: string | undefined;
  /** Number of streams opened (for tests and status). */
  streams = 0;
  activeStreams = 0;
  currentPod: string | undefined;

  constructor(options: ForwarderOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.host = {
      options, clock: this.clock, isClosed: () => this.closed, podName: () => this.podName(),
      fail: (message) => this.fail(message), invalidate: () => this.invalidate(), noteError: (message) => (this.lastError = message),
      streamOpened: (pod, first) => {
        this.streams++;
        this.currentPod = pod;
        if (first) this.activeStreams++;
      },
      connectionEnded: (opened) => {
        if (opened) this.activeStreams--;
      },
    };
  }

  /** Starts listening on `host` (127.0.0.1 unless given; a free port unless one is given); resolves to the port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.on('error', (error) => this.fail(`listener: ${error.message}`));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  }

  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Forget the cached pod: the next connection looks it up again. */
  invalidate(): void {
    this.cachedPod = undefined;
  }

  private fail(message: string): void {
    this.lastError = message;
    this.options.events?.onError?.(message);
  }

  private async podName(): Promise<string | undefined> {
    if (this.cachedPod) return this.cachedPod;
    const deadline = this.clock.now() + (this.options.holdMs ?? 8_000);
    for (;;) {
      const pod = await this.options.finder.find();
      if (pod) {
        this.cachedPod = pod.name;
        return pod.name;
      }
      if (this.closed || this.clock.now() >= deadline) {
        this.fail(this.options.finder.lastProblem ?? 'no ready dev pod');
        return undefined;
      }
      await this.clock.sleep(500);
    }
  }

  /** One accepted connection (see ForwardedConnection for when it is tried again). */
  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    new ForwardedConnection(this.host, socket).start(() => this.sockets.delete(socket));
  }

  /** Closes every open connection (their clients reconnect, to the pod found then). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.invalidate();
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
