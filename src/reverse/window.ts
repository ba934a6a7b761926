// One direction of one forwarded connection, on the sending side: what the peer's window
// lets go now, and what waits for its next grant (WINDOW). Pure.

import { INITIAL_WINDOW, MAX_DATA } from './frames.ts';

export class SendWindow {
  /** Bytes the peer will still take. */
  credit: number;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(credit = INITIAL_WINDOW) {
    this.credit = credit;
  }

  /** The pieces (at most MAX_DATA each) of `chunk` that may be sent now; the rest is held. */
  offer(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    return this.release();
  }

  /** The peer wrote `bytes` out: what was held and now fits. */
  grant(bytes: number): Buffer[] {
    this.credit += bytes;
    return this.release();
  }

  /** Nothing more should be read from the source until a grant: something is held, or no credit is left. */
  get blocked(): boolean {
    return this.heldBytes > 0 || this.credit <= 0;
  }

  /** Bytes waiting for credit. */
  get waiting(): number {
    return this.heldBytes;
  }

  private release(): Buffer[] {
    const out: Buffer[] = [];
    while (this.heldBytes > 0 && this.credit > 0) {
      const first = this.held[0]!;
      const n = Math.min(first.length, this.credit, MAX_DATA);
      out.push(first.subarray(0, n));
      if (n === first.length) this.held.shift();
      else this.held[0] = first.subarray(n);
      this.heldBytes -= n;
      this.credit -= n;
    }
    return out;
  }
}
