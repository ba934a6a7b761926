// A TCP listener on 127.0.0.1 whose every connection becomes a port-forward
// stream (@kubernetes/client-node PortForward, through the API server) to one port
// of the dev pod. The dev pod is found by its workload label; when it is replaced
// (restart, reschedule), the next connection goes to the new one. Errors on a
// stream close its socket, so syncthing sees a dropped connection and redials —
// nothing hangs and no promise is left rejected.

import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { realClock, type Clock } from './process.ts';

/** The bits of a WebSocket the forwarder uses (ws 8). */
interface WsLike {
  readonly bufferedAmount: number;
  readyState: number;
  close(): void;
  terminate?(): void;
  pause?(): void;
  resume?(): void;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

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
}

/** True when the pod runs and is Ready and is not being deleted. */
export function isUsablePod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The newest usable pod among `pods`. */
export function pickDevPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const usable = pods.filter(isUsablePod);
  usable.sort((a, b) => String(b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).toISOString() : '')
    .localeCompare(String(a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).toISOString() : '')));
  return usable[0];
}

/** Finds the dev pod by `labelSelector` in `namespace` with a list call (client-node CoreV1Api). */
export class LabelPodFinder implements PodFinder {
  lastProblem: string | undefined;
  private readonly kc: KubeConfig;
  private readonly namespace: string;
  private readonly labelSelector: string;

  constructor(kc: KubeConfig, namespace: string, labelSelector: string) {
    this.kc = kc;
    this.namespace = namespace;
    this.labelSelector = labelSelector;
  }

  async find(): Promise<{ name: string } | undefined> {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    try {
      const list = await this.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector });
      const pod = pickDevPod(list.items);
      if (!pod) {
        const states = list.items.map((p) => `${p.metadata?.name} (${p.metadata?.deletionTimestamp ? 'terminating' : p.status?.phase ?? 'unknown'})`);
        this.lastProblem = states.length === 0
          ? `no pod with label ${this.labelSelector} in namespace ${this.namespace}`
          : `no ready dev pod with label ${this.labelSelector}: ${states.join(', ')}`;
        return undefined;
      }
      this.lastProblem = undefined;
      return { name: pod.metadata!.name! };
    } catch (error) {
      this.lastProblem = `listing pods: ${describeKubeError(error)}`;
      return undefined;
    }
  }
}

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

/** client-node's PortForward, adapted to one port. */
export async function clientNodePortForward(kc: KubeConfig): Promise<PortForwardFn> {
  const { PortForward } = await import('@kubernetes/client-node');
  const pf = new PortForward(kc, true);
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
  events?: ForwardEvents;
}

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

export class PodPortForwarder {
  private readonly options: ForwarderOptions;
  private readonly clock: Clock;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private cachedPod: string | undefined;
  private closed = false;
  lastError: string | undefined;
  /** Number of streams opened (for tests and status). */
  streams = 0;
  activeStreams = 0;
  currentPod: string | undefined;

  constructor(options: ForwarderOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
  }

  /** Starts listening on 127.0.0.1 (a free port unless one is given); resolves to the port. */
  async listen(port = 0): Promise<number> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.on('error', (error) => this.fail(`listener: ${error.message}`));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
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

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.pause();
    let finished = false;
    let ws: WsLike | undefined;
    const input = new PassThrough();
    const finish = (error?: string) => {
      if (finished) return;
      finished = true;
      if (error) {
        this.fail(error);
        this.invalidate();
      }
      socket.destroy();
      input.destroy();
      try {
        ws?.close();
      } catch {
        /* already closed */
      }
    };
    socket.on('error', () => finish());
    socket.on('close', () => {
      this.sockets.delete(socket);
      finish();
    });

    void (async () => {
      const pod = await this.podName();
      if (!pod || finished) return finish();
      // Data from the pod: straight to the socket; when the socket's buffer is
      // full, stop reading from the WebSocket until it drains.
      const output = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          if (!socket.destroyed && !socket.write(chunk) && ws?.pause) {
            ws.pause();
            socket.once('drain', () => ws?.resume?.());
          }
          callback();
        },
      });
      // Anything on the error channel means the forward failed (e.g. nothing listens on the port).
      const errors = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          const text = chunk.toString('utf8').trim();
          if (text) finish(`port-forward to ${pod}:${this.options.podPort}: ${text}`);
          callback();
        },
      });
      try {
        ws = (await this.options.portForward(this.options.namespace, pod, this.options.podPort, output, errors, input)) as WsLike;
      } catch (error) {
        return finish(`port-forward to ${pod}:${this.options.podPort}: ${describeKubeError(error)}`);
      }
      if (typeof (ws as unknown) === 'function') {
        // Only returned with retries, which are not used.
        return finish('unexpected restartable port-forward');
      }
      this.streams++;
      this.activeStreams++;
      this.currentPod = pod;
      this.options.events?.onConnected?.(pod);
      ws.on('close', () => {
        this.activeStreams--;
        // Let what the pod sent reach syncthing, then close.
        if (!finished) socket.end(() => finish());
        setTimeout(() => finish(), 1000).unref();
      });
      ws.on('error', (error) => finish(`port-forward to ${pod}: ${describeKubeError(error)}`));
      if (finished) return finish();
      // Data to the pod: pause the socket while the WebSocket's send buffer is full.
      socket.on('data', (chunk: Buffer) => {
        input.write(chunk);
        if (ws && ws.bufferedAmount > HIGH_WATER) {
          socket.pause();
          const wait = async () => {
            while (!finished && ws && ws.bufferedAmount > LOW_WATER) await this.clock.sleep(5);
            if (!finished) socket.resume();
          };
          void wait();
        }
      });
      socket.on('end', () => input.end());
      socket.resume();
    })().catch((error: unknown) => finish(`port-forward: ${describeKubeError(error)}`));
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
