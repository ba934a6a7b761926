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

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** At most this much of what a client sent is kept for a retry; beyond it the client waits (back-pressure). */
export const MAX_PENDING = 1024 * 1024;

/**
 * True for what a runtime writes on the error channel when it could not connect to the pod's
 * port, so the app never had the connection: containerd and CRI-O "failed to connect to
 * localhost:PORT inside namespace …" (the dial refused), a sandbox or network namespace that is
 * gone. An error after the dial (a reset, a broken pipe) is not: the app may have read the data.
 */
export function isRefusedBeforeAccept(message: string): boolean {
  if (/reset by peer|broken pipe|use of closed network connection|i\/o timeout/i.test(message)) return false;
  return /failed to connect to localhost|connect: connection refused|network namespace for sandbox .* is closed|failed to find sandbox|unable to do port forwarding/i.test(message);
}

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
   * One accepted connection, on one port-forward stream at a time.
   *
   * A connection is tried again on a new stream only when it is known that nothing behind the
   * pod's port has seen it: the stream could not be opened (no pod, HTTP error), or the pod side
   * reported that it could not connect to the port ("failed to connect to localhost:PORT", the
   * runtime's dial refused: nothing listens yet, the app is restarting). The runtime dials the
   * port as soon as the stream opens, so that answer comes within about the time the stream took
   * to open; until then what the client sent is kept (at most MAX_PENDING bytes: then the client
   * is paused), and once that time has passed without it, or the first byte came back, nothing is
   * kept and the connection is never tried again. A slow app is never a reason: there is no
   * answer timeout, so a breakpoint, a long poll, a stream or an upload goes on as long as the
   * client wants, as through kubectl port-forward. A connection that the app accepted and then
   * closed or reset ends the same way for the client (ended, or destroyed after an error).
   *
   * `replayUntilAnswer` (syncthing's sync port only) keeps the old rule: until the first byte
   * comes back, any failure or `answerTimeoutMs` of silence tries again — safe there because the
   * first bytes are a TLS ClientHello, which nothing acts on.
   */
  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const deadline = this.clock.now() + (this.options.holdMs ?? 8_000);
    const replayUntilAnswer = this.options.replayUntilAnswer === true;
    let finished = false;
    /** A byte came back from the pod. */
    let answered = false;
    /** Nothing is kept for a retry any more: answered, or accepted by the app. */
    let committed = false;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** The client sent its FIN. */
    let clientEnded = false;
    let ws: WsLike | undefined;
    let input: PassThrough | undefined;
    let attemptFailed: ((why: string, retryable: boolean) => void) | undefined;
    let opened = false;
    let drainWatch = false;

    /** Reads from the client only while there is a stream to write to, room for what is kept, and room in the WebSocket's buffer. */
    const flow = () => {
      if (finished) return;
      if (!input || (!committed && pendingBytes >= MAX_PENDING)) {
        socket.pause();
        return;
      }
      if (ws && ws.bufferedAmount > HIGH_WATER) {
        socket.pause();
        if (!drainWatch) {
          drainWatch = true;
          void (async () => {
            while (!finished && ws && ws.bufferedAmount > LOW_WATER) await this.clock.sleep(5);
            drainWatch = false;
            flow();
          })();
        }
        return;
      }
      socket.resume();
    };
    const commit = () => {
      if (committed) return;
      committed = true;
      pending = [];
      pendingBytes = 0;
      flow();
    };
    const finish = (error?: string, destroy = true) => {
      if (finished) return;
      finished = true;
      if (error) this.fail(error);
      this.invalidate();
      if (destroy) socket.destroy();
      input?.destroy();
      closeWebSocket(ws, this.closed ? 0 : undefined);
      if (opened) this.activeStreams--;
    };
    socket.on('error', () => finish());
    socket.on('close', () => {
      this.sockets.delete(socket);
      finish();
    });
    socket.on('data', (chunk: Buffer) => {
      noteTraffic(chunk.length);
      if (!committed) {
        pending.push(chunk);
        pendingBytes += chunk.length;
      }
      input?.write(chunk);
      flow();
    });
    socket.on('end', () => {
      clientEnded = true;
      input?.end();
    });

    const attempt = async (): Promise<void> => {
      const pod = await this.podName();
      if (finished) return;
      if (!pod) return finish(this.options.finder.lastProblem ?? 'no ready dev pod');
      this.options.events?.onDebug?.(`port ${this.options.podPort}: stream to ${pod} (${pendingBytes} byte(s) to send again)`);
      let failedWhy: string | undefined;
      let canRetry = false;
      const failed = new Promise<string>((resolve) => (attemptFailed = (why, retryable) => {
        if (failedWhy === undefined) {
          failedWhy = why;
          canRetry = retryable;
        }
        resolve(failedWhy);
      }));
      const where = `port-forward to ${pod}:${this.options.podPort}`;
      const streamInput = new PassThrough();
      for (const chunk of pending) streamInput.write(chunk);
      if (clientEnded) streamInput.end();
      let streamWs: WsLike | undefined;
      const output = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          // The port-number header arrives as an empty chunk; only real data proves the stream works.
          if (streamWs !== ws || finished || chunk.length === 0) return callback();
          answered = true;
          commit();
          noteTraffic(chunk.length);
          if (!socket.write(chunk) && ws?.pause) {
            const paused = ws;
            paused.pause!();
            socket.once('drain', () => paused.resume?.());
          }
          callback();
        },
      });
      // The error channel: the runtime could not connect to the port (retryable while nothing
      // was answered or accepted), or the connection failed after the app had it (not).
      const errors = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          const text = chunk.toString('utf8').trim();
          if (text) attemptFailed?.(`${where}: ${text}`, !committed && (replayUntilAnswer || isRefusedBeforeAccept(text)));
          callback();
        },
      });
      const openStarted = this.clock.now();
      try {
        streamWs = (await this.options.portForward(this.options.namespace, pod, this.options.podPort, output, errors, streamInput)) as WsLike;
      } catch (error) {
        // No stream: nothing reached the pod.
        attemptFailed?.(`${where}: ${describeKubeError(error)}`, !committed);
      }
      const timers: NodeJS.Timeout[] = [];
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
        streamWs.on('close', () => attemptFailed?.(`${where}: stream closed`, !committed && replayUntilAnswer));
        streamWs.on('error', (error) => attemptFailed?.(`${where}: ${describeKubeError(error)}`, !committed && replayUntilAnswer));
        if (replayUntilAnswer) {
          const silent = setTimeout(() => {
            if (!answered && pendingBytes > 0) attemptFailed?.(`${where}: no answer`, true);
          }, this.options.answerTimeoutMs ?? 3_000);
          timers.push(silent);
        } else {
          // No refusal within about the stream's own set-up time: the app has the connection.
          const openMs = this.clock.now() - openStarted;
          timers.push(setTimeout(() => {
            if (failedWhy === undefined) commit();
          }, Math.min(3_000, Math.max(300, 2 * openMs))));
        }
        for (const timer of timers) timer.unref();
        flow();
      }
      const why = failedWhy ?? await failed;
      for (const timer of timers) clearTimeout(timer);
      const dead = streamWs;
      if (finished) return;
      if (!canRetry) {
        this.invalidate();
        const closedCleanly = /stream closed$/.test(why);
        if (!closedCleanly) this.fail(why);
        if (answered || closedCleanly) {
          // Let what the pod sent reach the client, then close (as the app did).
          socket.end(() => finish(undefined));
          setTimeout(() => finish(undefined), 1000).unref();
        } else {
          // The app had the connection and it failed (reset): so does the client's.
          finish(undefined);
        }
        return;
      }
      // Nothing behind the port saw this connection: a new stream, with what the client sent.
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
