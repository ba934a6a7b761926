import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME, FrameDecoder, FrameError, INITIAL_WINDOW, MAX_DATA, openPortOf, windowFrame, windowOf } from '../../../src/reverse/frames.ts';
import { SendWindow } from '../../../src/reverse/window.ts';

describe('frames', () => {
  it('round-trip through the decoder however the stream is cut', () => {
    const stream = Buffer.concat([
      encodeFrame(FRAME.hello, 0, Buffer.from('kubectl-dev-agent 1')),
      encodeFrame(FRAME.open, 7, Buffer.from([0x1b, 0x58])),
      encodeFrame(FRAME.data, 7, Buffer.from('GET / HTTP/1.1\r\n\r\n')),
      windowFrame(7, 65536),
      encodeFrame(FRAME.end, 7),
    ]);
    for (const cut of [1, 2, 9, 10, 13, stream.length]) {
      const decoder = new FrameDecoder();
      const frames = [];
      for (let i = 0; i < stream.length; i += cut) frames.push(...decoder.push(stream.subarray(i, i + cut)));
      expect(frames.map((f) => [f.type, f.id])).toEqual([[FRAME.hello, 0], [FRAME.open, 7], [FRAME.data, 7], [FRAME.window, 7], [FRAME.end, 7]]);
      expect(openPortOf(frames[1]!)).toBe(7000);
      expect(frames[2]!.payload.toString()).toBe('GET / HTTP/1.1\r\n\r\n');
      expect(windowOf(frames[3]!)).toBe(65536);
      expect(decoder.pending).toBe(0);
    }
  });

  it('has the Go agent\'s header layout: type, id, length, big-endian', () => {
    expect([...encodeFrame(FRAME.data, 0x01020304, Buffer.from('ab'))]).toEqual([4, 1, 2, 3, 4, 0, 0, 0, 2, 0x61, 0x62]);
  });

  it('refuses an unknown type or an oversized payload', () => {
    expect(() => new FrameDecoder().push(Buffer.from([42, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(FrameError);
    expect(() => new FrameDecoder().push(Buffer.from([4, 0, 0, 0, 1, 0, 1, 0, 1]))).toThrow(/payload of 65537 bytes/);
  });
});

describe('the send window', () => {
  it('lets the window go in pieces of at most MAX_DATA, holds the rest until a grant', () => {
    const w = new SendWindow();
    const sent = w.offer(Buffer.alloc(INITIAL_WINDOW + 1000));
    expect(sent.reduce((n, b) => n + b.length, 0)).toBe(INITIAL_WINDOW);
    expect(sent.every((b) => b.length <= MAX_DATA)).toBe(true);
    expect(w.blocked).toBe(true);
    expect(w.waiting).toBe(1000);
    expect(w.offer(Buffer.alloc(10))).toEqual([]);
    const after = w.grant(500);
    expect(after.reduce((n, b) => n + b.length, 0)).toBe(500);
    expect(w.waiting).toBe(510);
    expect(w.grant(10_000).reduce((n, b) => n + b.length, 0)).toBe(510);
    expect(w.blocked).toBe(false);
    expect(w.credit).toBe(10_000 - 510);
  });

  it('keeps the order of what was offered', () => {
    const w = new SendWindow(3);
    const out = [...w.offer(Buffer.from('abcd')), ...w.offer(Buffer.from('ef')), ...w.grant(2), ...w.grant(10)];
    expect(Buffer.concat(out).toString()).toBe('abcdef');
  });
});
