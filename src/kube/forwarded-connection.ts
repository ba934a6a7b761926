// One connection of the port-forward listener (src/kube/port-forward.ts): the port-forward
// streams it goes over, one at a time, and when it may be tried again on a new one.

import type * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
// Forwarded bytes count towards the process's young-garbage collections (one counter for the whole process).
import { noteTraffic } from '../sync/memory.ts';
import type { Clock } from './clock.ts';
import type { ForwarderOptions } from './port-forward.ts';
import { closeWebSocket, describeKubeError } from './websocket.ts';

/** The bits of a WebSocket the forwarder uses (ws 8). */
export interface WsLike {
  readonly bufferedAmount: number;
  readyState: number;
  close(): void;
  terminate?(): void;
  pause?(): void;
  resume?(): void;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
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

/** What a connection needs of its listener. */
export interface ForwarderHost {
  readonly options: ForwarderOptions;
  readonly clock: Clock;
  /** The listener is closing: no retry, and streams are dropped at once. */
  isClosed(): boolean;
  /** The dev pod to forward to (cached), or undefined after the hold time. */
  podName(): Promise<string | undefined>;
  /** Reports an error (lastError and onError). */
  fail(message: string): void;
  /** Forgets the cached pod. */
  invalidate(): void;
  /** Keeps a retried attempt's failure as the last error, without reporting it. */
  noteError(message: string): void;
  /** A stream opened to `pod`; `first`: the connection's first. */
  streamOpened(pod: string, first: boolean): void;
  /** The connection ended; `opened`: it had a stream. */
  connectionEnded(opened: boolean): void;
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

/**
 * One accepted connection of a PodPortForwarder, on one port-forward stream at a time.
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
export class ForwardedConnection {
  private readonly host: ForwarderHost;
  private readonly socket: net.Socket;
  private readonly deadline: number;
  private readonly replayUntilAnswer: boolean;
  private finished = false;
  /** A byte came back from the pod. */
  private answered = false;
  /** Nothing is kept for a retry any more: answered, or accepted by the app. */
  private committed = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The client sent its FIN. */
  private clientEnded = false;
  private ws: WsLike | undefined;
  private input: PassThrough | undefined;
  private attemptFailed: ((why: string, retryable: boolean) => void) | undefined;
  private opened = false;
  private drainWatch = false;

  constructor(host: ForwarderHost, socket: net.Socket) {
    this.host = host;
    this.socket = socket;
    this.deadline = host.clock.now() + (host.options.holdMs ?? 8_000);
    this.replayUntilAnswer = host.options.replayUntilAnswer === true;
  }

  /** Takes the client's data and end; the socket's close and errors end the connection (`onClose` first). */
  start(onClose: () => void): void {
    const socket = this.socket;
    socket.on('error', () => this.finish());
    socket.on('close', () => {
      onClose();
      this.finish();
    });
    socket.on('data', (chunk: Buffer) => {
      noteTraffic(chunk.length);
      if (!this.committed) {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
      }
      this.input?.write(chunk);
      this.flow();
    });
    socket.on('end', () => {
      this.clientEnded = true;
      this.input?.end();
    });
    socket.pause();
    this.attempt().catch((error: unknown) => this.finish(`port-forward: ${describeKubeError(error)}`));
  }

  /** Reads from the client only while there is a stream to write to, room for what is kept, and room in the WebSocket's buffer. */
  private flow(): void {
    if (this.finished) return;
    if (!this.input || (!this.committed && this.pendingBytes >= MAX_PENDING)) {
      this.socket.pause();
      return;
    }
    if (this.ws && this.ws.bufferedAmount > HIGH_WATER) {
      this.socket.pause();
      if (!this.drainWatch) {
        this.drainWatch = true;
        void (async () => {
          while (!this.finished && this.ws && this.ws.bufferedAmount > LOW_WATER) await this.host.clock.sleep(5);
          this.drainWatch = false;
          this.flow();
        })();
      }
      return;
    }
    this.socket.resume();
  }

  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.flow();
  }

  private finish(error?: string, destroy = true): void {
    if (this.finished) return;
    this.finished = true;
    if (error) this.host.fail(error);
    this.host.invalidate();
    if (destroy) this.socket.destroy();
    this.input?.destroy();
    closeWebSocket(this.ws, this.host.isClosed() ? 0 : undefined);
    this.host.connectionEnded(this.opened);
  }

  /** One stream for the connection; after a failure that nothing behind the port saw, the next one. */
  private async attempt(): Promise<void> {
    const pod = await this.host.podName();
    if (this.finished) return;
    if (!pod) return this.finish(this.host.options.finder.lastProblem ?? 'no ready dev pod');
    this.host.options.events?.onDebug?.(`port ${this.host.options.podPort}: stream to ${pod} (${this.pendingBytes} byte(s) to send again)`);
    const a = this.newAttempt(pod);
    const timers = await this.openStream(a);
    if (!timers) return;
    const why = a.failedWhy ?? await a.failed;
    for (const timer of timers) clearTimeout(timer);
    const dead = a.ws;
    if (this.finished) return;
    if (!a.canRetry) return this.endAfter(why);
    // Nothing behind the port saw this connection: a new stream, with what the client sent.
    this.socket.pause();
    this.input = undefined;
    this.ws = undefined;
    closeWebSocket(dead);
    this.host.invalidate();
    this.host.options.events?.onDebug?.(`port ${this.host.options.podPort}: attempt failed: ${why}`);
    if (this.host.clock.now() >= this.deadline || this.host.isClosed()) return this.finish(why);
    this.host.noteError(why);
    await this.host.clock.sleep(this.host.options.retryMs ?? 300);
    if (!this.finished) return this.attempt();
  }

  /** An attempt's state, with what the client sent so far (and its FIN) already in its input. */
  private newAttempt(pod: string): Attempt {
    let a!: Attempt;
    const failed = new Promise<string>((resolve) => (this.attemptFailed = (why, retryable) => {
      if (a.failedWhy === undefined) {
        a.failedWhy = why;
        a.canRetry = retryable;
      }
      resolve(a.failedWhy);
    }));
    const input = new PassThrough();
    for (const chunk of this.pending) input.write(chunk);
    if (this.clientEnded) input.end();
    a = { pod, where: `port-forward to ${pod}:${this.host.options.podPort}`, input, failed, failedWhy: undefined, canRetry: false, ws: undefined };
    return a;
  }

  /** The pod's side of an attempt: what comes back goes to the client; the error channel fails the attempt. */
  private streamSinks(a: Attempt): { output: Writable; errors: Writable } {
    const output = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        // The port-number header arrives as an empty chunk; only real data proves the stream works.
        if (a.ws !== this.ws || this.finished || chunk.length === 0) return callback();
        this.answered = true;
        this.commit();
        noteTraffic(chunk.length);
        if (!this.socket.write(chunk) && this.ws?.pause) {
          const paused = this.ws;
          paused.pause!();
          this.socket.once('drain', () => paused.resume?.());
        }
        callback();
      },
    });
    // The error channel: the runtime could not connect to the port (retryable while nothing
    // was answered or accepted), or the connection failed after the app had it (not).
    const errors = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        const text = chunk.toString('utf8').trim();
        if (text) this.attemptFailed?.(`${a.where}: ${text}`, !this.committed && (this.replayUntilAnswer || isRefusedBeforeAccept(text)));
        callback();
      },
    });
    return { output, errors };
  }

  /**
   * Opens the attempt's stream and makes it the connection's; resolves to the timers that
   * decide when nothing is kept any more, or undefined when the connection ended meanwhile.
   */
  private async openStream(a: Attempt): Promise<NodeJS.Timeout[] | undefined> {
    const { output, errors } = this.streamSinks(a);
    const openStarted = this.host.clock.now();
    try {
      a.ws = (await this.host.options.portForward(this.host.options.namespace, a.pod, this.host.options.podPort, output, errors, a.input)) as WsLike;
    } catch (error) {
      // No stream: nothing reached the pod.
      this.attemptFailed?.(`${a.where}: ${describeKubeError(error)}`, !this.committed);
    }
    const timers: NodeJS.Timeout[] = [];
    const ws = a.ws;
    if (!ws || typeof (ws as unknown) === 'function') return timers;
    if (this.finished) {
      // The client hung up (or the listener closed) while this stream was opening: finish()
      // has run and will not run again, so nothing else would ever close it, and an open
      // stream keeps the process alive.
      closeWebSocket(ws, 0);
      return undefined;
    }
    this.ws = ws;
    this.input = a.input;
    this.host.streamOpened(a.pod, !this.opened);
    this.opened = true;
    ws.on('close', () => this.attemptFailed?.(`${a.where}: stream closed`, !this.committed && this.replayUntilAnswer));
    ws.on('error', (error) => this.attemptFailed?.(`${a.where}: ${describeKubeError(error)}`, !this.committed && this.replayUntilAnswer));
    if (this.replayUntilAnswer) {
      const silent = setTimeout(() => {
        if (!this.answered && this.pendingBytes > 0) this.attemptFailed?.(`${a.where}: no answer`, true);
      }, this.host.options.answerTimeoutMs ?? 3_000);
      timers.push(silent);
    } else {
      // No refusal within about the stream's own set-up time: the app has the connection.
      const openMs = this.host.clock.now() - openStarted;
      timers.push(setTimeout(() => {
        if (a.failedWhy === undefined) this.commit();
      }, Math.min(3_000, Math.max(300, 2 * openMs))));
    }
    for (const timer of timers) timer.unref();
    this.flow();
    return timers;
  }

  /** A failure that may have reached the app: the client's connection ends as the app's did. */
  private endAfter(why: string): void {
    this.host.invalidate();
    const closedCleanly = /stream closed$/.test(why);
    if (!closedCleanly) this.host.fail(why);
    if (this.answered || closedCleanly) {
      // Let what the pod sent reach the client, then close (as the app did).
      this.socket.end(() => this.finish(undefined));
      setTimeout(() => this.finish(undefined), 1000).unref();
    } else {
      // The app had the connection and it failed (reset): so does the client's.
      this.finish(undefined);
    }
  }
}
