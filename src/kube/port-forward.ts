// The port-forward edge: a TCP listener on 127.0.0.1 whose every connection becomes a
// port-forward stream (@kubernetes/client-node PortForward, through the API server) to one
// port of the dev pod. The pod comes from a PodFinder; when it is replaced (restart,
// reschedule), the next connection goes to the new one. Errors on a stream close its
// socket, so the client sees a dropped connection and redials — nothing hangs and no
// promise is left rejected.

import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
// Forwarded bytes count towards the process's young-garbage collections (one counter for the whole process).
import { noteTraffic } from '../sync/memory.ts';
import { realClock, type Clock } from './clock.ts';
import { closeWebSocket, describeKubeError, handlerWithOwnStreams, unmaskedOverTls } from './websocket.ts';

export { describeKubeError };

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

/** One accepted connection: the stream it is on and what is kept of what its client sent. */
interface Connection {
  readonly socket: net.Socket;
  readonly deadline: number;
  readonly replayUntilAnswer: boolean;
  finished: boolean;
  /** A byte came back from the pod. */
  answered: boolean;
  /** Nothing is kept for a retry any more: answered, or accepted by the app. */
  committed: boolean;
  pending: Buffer[];
  pendingBytes: number;
  /** The client sent its FIN. */
  clientEnded: boolean;
  ws: WsLike | undefined;
  input: PassThrough | undefined;
  attemptFailed: ((why: string, retryable: boolean) => void) | undefined;
  opened: boolean;
  drainWatch: boolean;
}

/** One stream of a connection, and why it failed (the first reason counts). */
interface Attempt {
  readonly pod: string;
  /** "port-forward to POD:PORT", the start of its messages. */
  readonly where: string;
  readonly input: PassThrough;
  readonly failed: Promise<string>;
  failedWhy: string | undefined;
  canRetry: boolean;
  ws: WsLike | undefined;
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
    const c: Connection = {
      socket, deadline: this.clock.now() + (this.options.holdMs ?? 8_000), replayUntilAnswer: this.options.replayUntilAnswer === true,
      finished: false, answered: false, committed: false, pending: [], pendingBytes: 0, clientEnded: false,
      ws: undefined, input: undefined, attemptFailed: undefined, opened: false, drainWatch: false,
    };
    socket.on('error', () => this.finish(c));
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.finish(c);
    });
    socket.on('data', (chunk: Buffer) => {
      noteTraffic(chunk.length);
      if (!c.committed) {
        c.pending.push(chunk);
        c.pendingBytes += chunk.length;
      }
      c.input?.write(chunk);
      this.flow(c);
    });
    socket.on('end', () => {
      c.clientEnded = true;
      c.input?.end();
    });
    socket.pause();
    this.attempt(c).catch((error: unknown) => this.finish(c, `port-forward: ${describeKubeError(error)}`));
  }

  /** Reads from the client only while there is a stream to write to, room for what is kept, and room in the WebSocket's buffer. */
  private flow(c: Connection): void {
    if (c.finished) return;
    if (!c.input || (!c.committed && c.pendingBytes >= MAX_PENDING)) {
      c.socket.pause();
      return;
    }
    if (c.ws && c.ws.bufferedAmount > HIGH_WATER) {
      c.socket.pause();
      if (!c.drainWatch) {
        c.drainWatch = true;
        void (async () => {
          while (!c.finished && c.ws && c.ws.bufferedAmount > LOW_WATER) await this.clock.sleep(5);
          c.drainWatch = false;
          this.flow(c);
        })();
      }
      return;
    }
    c.socket.resume();
  }

  private commit(c: Connection): void {
    if (c.committed) return;
    c.committed = true;
    c.pending = [];
    c.pendingBytes = 0;
    this.flow(c);
  }

  private finish(c: Connection, error?: string, destroy = true): void {
    if (c.finished) return;
    c.finished = true;
    if (error) this.fail(error);
    this.invalidate();
    if (destroy) c.socket.destroy();
    c.input?.destroy();
    closeWebSocket(c.ws, this.closed ? 0 : undefined);
    if (c.opened) this.activeStreams--;
  }

  /** One stream for the connection; after a failure that nothing behind the port saw, the next one. */
  private async attempt(c: Connection): Promise<void> {
    const pod = await this.podName();
    if (c.finished) return;
    if (!pod) return this.finish(c, this.options.finder.lastProblem ?? 'no ready dev pod');
    this.options.events?.onDebug?.(`port ${this.options.podPort}: stream to ${pod} (${c.pendingBytes} byte(s) to send again)`);
    const a = this.newAttempt(c, pod);
    const timers = await this.openStream(c, a);
    if (!timers) return;
    const why = a.failedWhy ?? await a.failed;
    for (const timer of timers) clearTimeout(timer);
    const dead = a.ws;
    if (c.finished) return;
    if (!a.canRetry) return this.endAfter(c, why);
    // Nothing behind the port saw this connection: a new stream, with what the client sent.
    c.socket.pause();
    c.input = undefined;
    c.ws = undefined;
    closeWebSocket(dead);
    this.invalidate();
    this.options.events?.onDebug?.(`port ${this.options.podPort}: attempt failed: ${why}`);
    if (this.clock.now() >= c.deadline || this.closed) return this.finish(c, why);
    this.lastError = why;
    await this.clock.sleep(this.options.retryMs ?? 300);
    if (!c.finished) return this.attempt(c);
  }

  /** An attempt's state, with what the client sent so far (and its FIN) already in its input. */
  private newAttempt(c: Connection, pod: string): Attempt {
    let a!: Attempt;
    const failed = new Promise<string>((resolve) => (c.attemptFailed = (why, retryable) => {
      if (a.failedWhy === undefined) {
        a.failedWhy = why;
        a.canRetry = retryable;
      }
      resolve(a.failedWhy);
    }));
    const input = new PassThrough();
    for (const chunk of c.pending) input.write(chunk);
    if (c.clientEnded) input.end();
    a = { pod, where: `port-forward to ${pod}:${this.options.podPort}`, input, failed, failedWhy: undefined, canRetry: false, ws: undefined };
    return a;
  }

  /** The pod's side of an attempt: what comes back goes to the client; the error channel fails the attempt. */
  private streamSinks(c: Connection, a: Attempt): { output: Writable; errors: Writable } {
    const output = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        // The port-number header arrives as an empty chunk; only real data proves the stream works.
        if (a.ws !== c.ws || c.finished || chunk.length === 0) return callback();
        c.answered = true;
        this.commit(c);
        noteTraffic(chunk.length);
        if (!c.socket.write(chunk) && c.ws?.pause) {
          const paused = c.ws;
          paused.pause!();
          c.socket.once('drain', () => paused.resume?.());
        }
        callback();
      },
    });
    // The error channel: the runtime could not connect to the port (retryable while nothing
    // was answered or accepted), or the connection failed after the app had it (not).
    const errors = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        const text = chunk.toString('utf8').trim();
        if (text) c.attemptFailed?.(`${a.where}: ${text}`, !c.committed && (c.replayUntilAnswer || isRefusedBeforeAccept(text)));
        callback();
      },
    });
    return { output, errors };
  }

  /**
   * Opens the attempt's stream and makes it the connection's; resolves to the timers that
   * decide when nothing is kept any more, or undefined when the connection ended meanwhile.
   */
  private async openStream(c: Connection, a: Attempt): Promise<NodeJS.Timeout[] | undefined> {
    const { output, errors } = this.streamSinks(c, a);
    const openStarted = this.clock.now();
    try {
      a.ws = (await this.options.portForward(this.options.namespace, a.pod, this.options.podPort, output, errors, a.input)) as WsLike;
    } catch (error) {
      // No stream: nothing reached the pod.
      c.attemptFailed?.(`${a.where}: ${describeKubeError(error)}`, !c.committed);
    }
    const timers: NodeJS.Timeout[] = [];
    const ws = a.ws;
    if (!ws || typeof (ws as unknown) === 'function') return timers;
    if (c.finished) {
      // The client hung up (or the listener closed) while this stream was opening: finish()
      // has run and will not run again, so nothing else would ever close it, and an open
      // stream keeps the process alive.
      closeWebSocket(ws, 0);
      return undefined;
    }
    c.ws = ws;
    c.input = a.input;
    this.streams++;
    this.currentPod = a.pod;
    if (!c.opened) {
      c.opened = true;
      this.activeStreams++;
    }
    ws.on('close', () => c.attemptFailed?.(`${a.where}: stream closed`, !c.committed && c.replayUntilAnswer));
    ws.on('error', (error) => c.attemptFailed?.(`${a.where}: ${describeKubeError(error)}`, !c.committed && c.replayUntilAnswer));
    if (c.replayUntilAnswer) {
      const silent = setTimeout(() => {
        if (!c.answered && c.pendingBytes > 0) c.attemptFailed?.(`${a.where}: no answer`, true);
      }, this.options.answerTimeoutMs ?? 3_000);
      timers.push(silent);
    } else {
      // No refusal within about the stream's own set-up time: the app has the connection.
      const openMs = this.clock.now() - openStarted;
      timers.push(setTimeout(() => {
        if (a.failedWhy === undefined) this.commit(c);
      }, Math.min(3_000, Math.max(300, 2 * openMs))));
    }
    for (const timer of timers) timer.unref();
    this.flow(c);
    return timers;
  }

  /** A failure that may have reached the app: the client's connection ends as the app's did. */
  private endAfter(c: Connection, why: string): void {
    this.invalidate();
    const closedCleanly = /stream closed$/.test(why);
    if (!closedCleanly) this.fail(why);
    if (c.answered || closedCleanly) {
      // Let what the pod sent reach the client, then close (as the app did).
      c.socket.end(() => this.finish(c, undefined));
      setTimeout(() => this.finish(c, undefined), 1000).unref();
    } else {
      // The app had the connection and it failed (reset): so does the client's.
      this.finish(c, undefined);
    }
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
