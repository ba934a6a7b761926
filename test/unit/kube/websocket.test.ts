// The exec/port-forward WebSocket helpers against the real ws library: unmasked
// frames go out as the very buffer given (no copy, no XOR), and a peer that never
// answers a close frame does not hold the connection for ws's 30 s.
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as ws from 'ws';
import { closeWebSocket, dropClosingWebSockets, zeroMask } from '../../../src/kube/websocket.ts';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A WebSocket server that completes the handshake and then ignores everything (no close frame back). */
async function silentServer(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.once('data', (request) => {
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(request.toString())![1]!;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', () => {});
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('WebSocket helpers', () => {
  it('with the zero mask, ws frames the payload as it is: same buffer, mask bytes 0', () => {
    const payload = Buffer.from('tar bytes \u00ff');
    const original = Buffer.from(payload);
    // ws's own framing (its ESM entry exports the Sender; its types do not declare it).
    const { Sender } = ws as unknown as { Sender: { frame: (data: Buffer, o: object) => Buffer[] } };
    const frame = Sender.frame(payload,
      { fin: true, opcode: 2, mask: true, readOnly: true, generateMask: zeroMask, maskBuffer: Buffer.alloc(4, 0xff) });
    expect(frame).toHaveLength(2);
    expect(frame[1]).toBe(payload);
    expect(payload).toEqual(original);
    const header = frame[0]!;
    expect(header[1]! & 0x80).toBe(0x80); // still a masked frame, as a server requires of a client
    expect([...header.subarray(header.length - 4)]).toEqual([0, 0, 0, 0]);
  });

  it('drops a connection whose peer never answers the close frame, after the grace', async () => {
    const port = await silentServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const t0 = Date.now();
    const closed = new Promise((resolve) => ws.once('close', resolve));
    closeWebSocket(ws, 200);
    await closed;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(ws.readyState).toBe(WebSocket.CLOSED);

    // No grace: dropped at once.
    const again = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => again.once('open', resolve).once('error', reject));
    closeWebSocket(again, 0);
    expect(again.readyState).not.toBe(WebSocket.OPEN);
    await new Promise((resolve) => again.once('close', resolve));
  });

  it('drops the ones still in their grace when a session ends', async () => {
    const port = await silentServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise((resolve) => ws.once('close', resolve));
    closeWebSocket(ws, 60_000);
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const t0 = Date.now();
    dropClosingWebSockets();
    await closed;
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
