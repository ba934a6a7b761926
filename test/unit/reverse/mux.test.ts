// The laptop's multiplexer against real loopback servers, with the agent played by the test:
// OPEN dials the LOCAL port, DATA and END go both ways, a window the agent does not grant holds
// back only its own connection, and a refused local port is a CLOSE.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FRAME, FrameDecoder, INITIAL_WINDOW, type Frame } from '../../../src/reverse/frames.ts';
import { ReverseMux } from '../../../src/reverse/mux.ts';
import { freeTcpPort } from '../../../src/sync/session/local-syncthing.ts';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function server(onSocket: (s: net.Socket) => void): Promise<number> {
  const s = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined); // the tests reset connections on purpose
    onSocket(socket);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

function harness(local: number) {
  const sent: Frame[] = [];
  const decoder = new FrameDecoder();
  const errors: string[] = [];
  const mux = new ReverseMux({
    send: (b) => sent.push(...decoder.push(b)),
    dial: (port) => net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }),
    onError: (m) => errors.push(m),
  }, (remote) => (remote === 7000 ? local : undefined));
  const open = (id: number, port = 7000) => mux.receive({ type: FRAME.open, id, payload: Buffer.from([port >> 8, port & 255]) });
  const data = (id: number, text: string | Buffer) => mux.receive({ type: FRAME.data, id, payload: Buffer.from(text) });
  const until = async (test: () => boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; sent ${JSON.stringify(sent.map((f) => [f.type, f.id, f.payload.length]))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const bytesOf = (id: number) => sent.filter((f) => f.type === FRAME.data && f.id === id).reduce((n, f) => n + f.payload.length, 0);
  return { mux, sent, errors, open, data, until, bytesOf };
}

describe('the reverse multiplexer', () => {
  it('carries a half-closed request and its answer', async () => {
    const port = await server((s) => {
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('end', () => s.end(`read ${got}`));
    });
    const h = harness(port);
    h.open(1);
    h.data(1, 'question');
    h.mux.receive({ type: FRAME.end, id: 1, payload: Buffer.alloc(0) });
    await h.until(() => h.sent.some((f) => f.type === FRAME.end && f.id === 1), 'END from the local side');
    const answer = Buffer.concat(h.sent.filter((f) => f.type === FRAME.data).map((f) => f.payload)).toString();
    expect(answer).toBe('read question');
    // What the local server read was granted back.
    await h.until(() => h.sent.some((f) => f.type === FRAME.window && f.id === 1), 'WINDOW');
    expect(h.sent.filter((f) => f.type === FRAME.window).reduce((n, f) => n + f.payload.readUInt32BE(0), 0)).toBe('question'.length);
    expect(h.sent.some((f) => f.type === FRAME.close)).toBe(false);
    await h.until(() => h.mux.active === 0, 'the connection forgotten');
  });

  it('sends no more than the window of a connection the agent does not grant, and the others go on', async () => {
    const big = Buffer.alloc(4 * INITIAL_WINDOW, 120);
    const port = await server((s) => {
      s.once('data', (d) => (d.toString() === 'big' ? s.write(big) : s.end('small')));
    });
    const h = harness(port);
    h.open(1);
    h.data(1, 'big');
    await h.until(() => h.bytesOf(1) === INITIAL_WINDOW, 'the first window');
    await new Promise((r) => setTimeout(r, 200));
    expect(h.bytesOf(1)).toBe(INITIAL_WINDOW);
    h.open(2);
    h.data(2, 'small');
    await h.until(() => h.bytesOf(2) === 5, 'the second connection\'s answer');
    h.mux.receive({ type: FRAME.window, id: 1, payload: Buffer.from([0, 0, 0x10, 0]) });
    await h.until(() => h.bytesOf(1) === INITIAL_WINDOW + 4096, 'the granted bytes');
    h.mux.close();
  });

  it('answers an OPEN for a port nothing listens on with CLOSE, and says why', async () => {
    const h = harness(await freeTcpPort());
    h.open(3);
    await h.until(() => h.sent.some((f) => f.type === FRAME.close && f.id === 3), 'CLOSE');
    expect(h.errors[0]).toMatch(/nothing listens there/);
    // A port that is not forwarded at all: CLOSE at once, nothing dialled.
    h.open(4, 7001);
    expect(h.sent.some((f) => f.type === FRAME.close && f.id === 4)).toBe(true);
  });

  it('resets the local connection on CLOSE from the agent', async () => {
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    const port = await server((s) => {
      s.on('error', () => undefined);
      s.on('close', closed);
    });
    const h = harness(port);
    h.open(5);
    h.data(5, 'x');
    await new Promise((r) => setTimeout(r, 100));
    h.mux.receive({ type: FRAME.close, id: 5, payload: Buffer.alloc(0) });
    await gone;
    expect(h.mux.active).toBe(0);
  });
});

describe('frames cut across writes', () => {
  it('decode as one', () => {
    const d = new FrameDecoder();
    const f = encodeFrame(FRAME.data, 1, Buffer.from('hello'));
    expect(d.push(f.subarray(0, 3))).toEqual([]);
    expect(d.push(f.subarray(3))[0]!.payload.toString()).toBe('hello');
  });
});
