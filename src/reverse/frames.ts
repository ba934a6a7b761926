// The frames of the reverse-forward agent's protocol (agent/frame.go has the same layout):
// a 9-byte header — type, connection id, payload length (big-endian) — and the payload. Pure.

export const FRAME = {
  hello: 1, error: 2, open: 3, data: 4, end: 5, close: 6, window: 7, ping: 8, pong: 9,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

export interface Frame {
  type: FrameType;
  id: number;
  payload: Buffer;
}

export const HEADER_SIZE = 9;
/** What one DATA frame carries at most. */
export const MAX_DATA = 32 * 1024;
/** A bigger frame is a broken stream. */
export const MAX_PAYLOAD = 64 * 1024;
/** What each side may send on a connection before the other grants more (WINDOW). */
export const INITIAL_WINDOW = 256 * 1024;
/** The agent's HELLO: its protocol; another one is not spoken here. */
export const HELLO_TEXT = 'kubectl-dev-agent 1';

const EMPTY = Buffer.alloc(0);

export function encodeFrame(type: FrameType, id = 0, payload: Buffer = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out[0] = type;
  out.writeUInt32BE(id, 1);
  out.writeUInt32BE(payload.length, 5);
  payload.copy(out, HEADER_SIZE);
  return out;
}

export function windowFrame(id: number, bytes: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(bytes, 0);
  return encodeFrame(FRAME.window, id, payload);
}

/** A WINDOW frame's grant; undefined when its payload is not 4 bytes. */
export function windowOf(frame: Frame): number | undefined {
  return frame.payload.length === 4 ? frame.payload.readUInt32BE(0) : undefined;
}

/** An OPEN frame's port (the REMOTE port the app connected to). */
export function openPortOf(frame: Frame): number | undefined {
  return frame.payload.length === 2 ? frame.payload.readUInt16BE(0) : undefined;
}

export class FrameError extends Error {}

/** Reads frames out of chunks as they come; a broken frame throws FrameError. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** The complete frames `chunk` finishes, in order. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= HEADER_SIZE) {
      const head = this.peek(HEADER_SIZE);
      const type = head[0]!;
      const length = head.readUInt32BE(5);
      if (type < FRAME.hello || type > FRAME.pong) throw new FrameError(`bad frame: type ${type}`);
      if (length > MAX_PAYLOAD) throw new FrameError(`bad frame: payload of ${length} bytes`);
      if (this.buffered < HEADER_SIZE + length) break;
      const whole = this.take(HEADER_SIZE + length);
      frames.push({ type: type as FrameType, id: whole.readUInt32BE(1), payload: whole.subarray(HEADER_SIZE) });
    }
    return frames;
  }

  /** Bytes of an unfinished frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
