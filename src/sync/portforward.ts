// A TCP listener on 127.0.0.1 whose every connection becomes a port-forward
// stream (@kubernetes/client-node PortForward, through the API server) to one port
// of the dev pod. The dev pod is found by its workload label; when it is replaced
// (restart, reschedule), the next connection goes to the new one. Errors on a
// stream close its socket, so syncthing sees a dropped connection and redials —
// nothing hangs and no promise is left rejected.

import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { closeWebSocket, unmaskedOverTls } from '../kube/websocket.ts';
import { noteTraffic } from './memory.ts';
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
  /** Every attempt and its outcome (for --debug output). */
  onDebug?(message: string): void;
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
export function clientNodePortForward(kc: KubeConfig): PortForwardFn {
  // Its default handler ends process.stdout/stderr when the server closes a stream
  // (v5 protocol close frames); give it streams of its own.
  const sink = () => new PassThrough().resume();
  const handler = new WebSocketHandler(kc, unmaskedOverTls, { stdin: new PassThrough(), stdout: sink(), stderr: sink() });
  const pf = new PortForward(kc, true, handler);
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
  /** A new stream that got data but sent nothing back for this long is retried. */
  answerTimeoutMs?: number;
  /** Pause between attempts of an unconfirmed stream (default 300 ms; app ports use less, a restarting server is back soon). */
  retryMs?: number;
  events?: ForwardEvents;
}

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export class PodPortForwarder {
  private readonly options: ForwarderOptions;
  private readonly clock: Clock;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Streams that have not had an answer yet: retrying them is safe (nothing came back). */
  private readonly unconfirmed = new Set<(why: string) => void>();
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

  /**
   * One accepted connection. Until the pod has sent its first byte, the stream
   * is not known to work (a port-forward reports "nothing listens there" only
   * after it opened), so the bytes sent so far are kept and a failed attempt is
   * retried on a new stream, with the pod looked up again, until `holdMs` has
   * passed: syncthing's connection survives a sidecar that is still starting or
   * a dev pod that is being replaced.
   */
  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const deadline = this.clock.now() + (this.options.holdMs ?? 8_000);
    let finished = false;
    let confirmed = false;
    let sent: Buffer[] = [];
    let ws: WsLike | undefined;
    let input: PassThrough | undefined;
    let attemptFailed: ((why: string) => void) | undefined;
    let opened = false;

    const retryNow = (why: string) => {
      if (!confirmed && ws) attemptFailed?.(why);
    };
    this.unconfirmed.add(retryNow);
    const finish = (error?: string) => {
      if (finished) return;
      finished = true;
      this.unconfirmed.delete(retryNow);
      if (error) this.fail(error);
      this.invalidate();
      socket.destroy();
      input?.destroy();
      closeWebSocket(ws, this.closed ? 0 : undefined);
      if (opened) this.activeStreams--;
    };
    socket.on('error', () => finish());
    socket.on('close', () => {
      this.sockets.delete(socket);
      finish();
    });
    // Data to the pod: kept until the stream is confirmed; the socket pauses while the WebSocket's buffer is full.
    socket.on('data', (chunk: Buffer) => {
      noteTraffic(chunk.length);
      if (!confirmed) sent.push(chunk);
      input?.write(chunk);
      if (ws && ws.bufferedAmount > HIGH_WATER) {
        socket.pause();
        void (async () => {
          while (!finished && ws && ws.bufferedAmount > LOW_WATER) await this.clock.sleep(5);
          if (!finished) socket.resume();
        })();
      }
    });
    socket.on('end', () => input?.end());

    const attempt = async (): Promise<void> => {
      const pod = await this.podName();
      if (finished) return;
      if (!pod) return finish(this.options.finder.lastProblem ?? 'no ready dev pod');
      this.options.events?.onDebug?.(`port ${this.options.podPort}: stream to ${pod} (replaying ${sent.length} chunk(s))`);
      let failedWhy: string | undefined;
      const failed = new Promise<string>((resolve) => (attemptFailed = (why) => {
        failedWhy ??= why;
        resolve(why);
      }));
      const streamInput = new PassThrough();
      for (const chunk of sent) streamInput.write(chunk);
      let streamWs: WsLike | undefined;
      const output = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          // The port-number header arrives as an empty chunk; only real data proves the stream works.
          if (streamWs !== ws || finished || chunk.length === 0) return callback();
          if (!confirmed) {
            confirmed = true;
            sent = [];
            this.unconfirmed.delete(retryNow);
          }
          noteTraffic(chunk.length);
          if (!socket.write(chunk) && ws?.pause) {
            ws.pause();
            socket.once('drain', () => ws?.resume?.());
          }
          callback();
        },
      });
      // Anything on the error channel means this stream failed (e.g. nothing listens on the port yet).
      const errors = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          const text = chunk.toString('utf8').trim();
          if (text) attemptFailed?.(`port-forward to ${pod}:${this.options.podPort}: ${text}`);
          callback();
        },
      });
      try {
        streamWs = (await this.options.portForward(this.options.namespace, pod, this.options.podPort, output, errors, streamInput)) as WsLike;
      } catch (error) {
        attemptFailed?.(`port-forward to ${pod}:${this.options.podPort}: ${describeKubeError(error)}`);
      }
      if (streamWs && typeof (streamWs as unknown) !== 'function') {
        if (finished) {
          // The client hung up (or the listener closed) while this stream was opening: finish()
          // has run and will not run again, so nothing else would ever close it, and an open
          // stream keeps the process alive.
          closeWebSocket(streamWs, 0);
          return;
        }
        ws = streamWs;
        input = streamInput;
        this.streams++;
        this.currentPod = pod;
        if (!opened) {
          opened = true;
          this.activeStreams++;
        }
        streamWs.on('close', () => attemptFailed?.(`port-forward to ${pod}:${this.options.podPort}: stream closed`));
        // A stream to a pod that is going away can stay open without an answer: give it a few seconds.
        const silent = setTimeout(() => {
          if (!confirmed && sent.length > 0) attemptFailed?.(`port-forward to ${pod}:${this.options.podPort}: no answer`);
        }, this.options.answerTimeoutMs ?? 3_000);
        silent.unref();
        void failed.then(() => clearTimeout(silent));
        streamWs.on('error', (error) => attemptFailed?.(`port-forward to ${pod}:${this.options.podPort}: ${describeKubeError(error)}`));
        socket.resume();
      }
      const why = failedWhy ?? await failed;
      const dead = streamWs;
      if (finished) return;
      if (confirmed) {
        // A working stream ended: let what the pod sent reach syncthing, then close.
        this.invalidate();
        socket.end(() => finish());
        setTimeout(() => finish(), 1000).unref();
        if (!/stream closed$/.test(why)) this.fail(why);
        return;
      }
      // Not confirmed yet: retry on a new stream, replaying what syncthing sent.
      socket.pause();
      input = undefined;
      ws = undefined;
      closeWebSocket(dead);
      this.invalidate();
      this.options.events?.onDebug?.(`port ${this.options.podPort}: attempt failed: ${why}`);
      if (this.clock.now() >= deadline || this.closed) return finish(why);
      this.lastError = why;
      await this.clock.sleep(this.options.retryMs ?? 300);
      if (!finished) return attempt();
    };
    socket.pause();
    attempt().catch((error: unknown) => finish(`port-forward: ${describeKubeError(error)}`));
  }

  /**
   * Retries every stream that has had no answer yet, on a new stream (with what its
   * client sent): after the process behind the port was restarted, a stream that
   * reached the old one would otherwise wait for the answer timeout.
   */
  retryUnanswered(why: string): void {
    for (const retry of [...this.unconfirmed]) retry(why);
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
