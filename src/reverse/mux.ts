// The laptop's end of the reverse forwards on one agent session: every connection the agent
// accepted in the pod (OPEN) becomes a connection to the laptop's 127.0.0.1:LOCAL; bytes go
// both ways in DATA frames within each side's window, a shut write half as END (half-close),
// a failure as CLOSE. The exec stream is reached through `send`; sockets through `dial`.

import type { Socket } from 'node:net';
import { encodeFrame, FRAME, openPortOf, windowFrame, windowOf, type Frame } from './frames.ts';
import { SendWindow } from './window.ts';

export interface MuxIo {
  /** One frame to the agent (the exec session's stdin). */
  send(frame: Buffer): void;
  /** A connection to the laptop's LOCAL port, half-open allowed. */
  dial(port: number): Socket;
  /** A connection to a laptop port failed (nothing listens there, a reset). */
  onError?(message: string): void;
}

interface Forwarded {
  id: number;
  socket: Socket;
  window: SendWindow;
  /** The local side shut its write half; END goes once what is held has been sent. */
  localEnded: boolean;
  endSent: boolean;
  remoteEnded: boolean;
  /** Bytes written to the socket and not yet granted back. */
  toGrant: number;
}

export class ReverseMux {
  private readonly io: MuxIo;
  private readonly localFor: (remote: number) => number | undefined;
  private readonly connections = new Map<number, Forwarded>();
  private grantsDue = false;
  private closed = false;
  /** Connections opened so far (for status and tests). */
  opened = 0;

  constructor(io: MuxIo, localFor: (remote: number) => number | undefined) {
    this.io = io;
    this.localFor = localFor;
  }

  get active(): number {
    return this.connections.size;
  }

  receive(frame: Frame): void {
    if (this.closed) return;
    if (frame.type === FRAME.open) return this.open(frame);
    const c = this.connections.get(frame.id);
    if (!c) return; // gone already: a frame that crossed our CLOSE
    if (frame.type === FRAME.data) {
      const n = frame.payload.length;
      // Granted back once the socket has taken it: a slow laptop server holds back only its connection.
      c.socket.write(frame.payload, () => this.grantLater(c, n));
    } else if (frame.type === FRAME.window) {
      this.sendAll(c, c.window.grant(windowOf(frame) ?? 0));
      if (!c.window.blocked && !c.localEnded) c.socket.resume();
      this.endIfDue(c);
    } else if (frame.type === FRAME.end) {
      c.remoteEnded = true;
      c.socket.end();
    } else if (frame.type === FRAME.close) {
      this.drop(c, false);
    }
  }

  /** Drops every connection (the session is gone: their apps see a reset). */
  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.socket.destroy();
    this.connections.clear();
  }

  private open(frame: Frame): void {
    const remote = openPortOf(frame);
    const local = remote === undefined ? undefined : this.localFor(remote);
    if (local === undefined) {
      this.io.send(encodeFrame(FRAME.close, frame.id));
      return;
    }
    const socket = this.io.dial(local);
    const c: Forwarded = { id: frame.id, socket, window: new SendWindow(), localEnded: false, endSent: false, remoteEnded: false, toGrant: 0 };
    this.connections.set(c.id, c);
    this.opened++;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.sendAll(c, c.window.offer(chunk));
      if (c.window.blocked) socket.pause();
    });
    socket.on('end', () => {
      c.localEnded = true;
      this.endIfDue(c);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.closed) this.io.onError?.(`127.0.0.1:${local} (reverse forward from the pod's ${remote}): ${error.code === 'ECONNREFUSED' ? 'nothing listens there' : error.message}`);
      this.drop(c, true);
    });
    socket.on('close', () => {
      // Closed without both ENDs (a reset, an error): the pod's side is reset too.
      if (this.connections.get(c.id) === c) this.drop(c, !(c.endSent && c.remoteEnded));
    });
  }

  private sendAll(c: Forwarded, pieces: readonly Buffer[]): void {
    for (const piece of pieces) this.io.send(encodeFrame(FRAME.data, c.id, piece));
  }

  private endIfDue(c: Forwarded): void {
    if (!c.localEnded || c.endSent || c.window.waiting > 0 || this.connections.get(c.id) !== c) return;
    c.endSent = true;
    this.io.send(encodeFrame(FRAME.end, c.id));
    if (c.remoteEnded) this.connections.delete(c.id);
  }

  private grantLater(c: Forwarded, bytes: number): void {
    if (this.connections.get(c.id) !== c) return;
    c.toGrant += bytes;
    if (this.grantsDue) return;
    this.grantsDue = true;
    // One WINDOW per connection per turn of the event loop, not one per frame.
    setImmediate(() => {
      this.grantsDue = false;
      for (const open of this.connections.values()) {
        if (open.toGrant === 0) continue;
        this.io.send(windowFrame(open.id, open.toGrant));
        open.toGrant = 0;
      }
    });
  }

  private drop(c: Forwarded, tellAgent: boolean): void {
    if (this.connections.get(c.id) !== c) return;
    this.connections.delete(c.id);
    if (tellAgent && !this.closed) this.io.send(encodeFrame(FRAME.close, c.id));
    if (!c.socket.destroyed) c.socket.resetAndDestroy();
  }
}
