// The exec edge against a local WebSocket server standing in for the API server: the request
// it makes (path, query, protocols on offer), the status that ends the command, and the
// runner's exec on top of it (exited with the code, or lost when the connection closes).
import { PassThrough, Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientNodeExec, exitCodeOf } from '../../../src/kube/exec.ts';
import { runnerExec } from '../../../src/run/exec.ts';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

interface Seen {
  url: string;
  offered: string[];
  stdin: Buffer[];
}

/** A server that answers every exec with `reply(socket)`; what it saw of each request is in `seen`. */
async function apiServer(reply: (socket: WebSocket) => void): Promise<{ kc: KubeConfig; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => (protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false) });
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  server.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const entry: Seen = { url: request.url ?? '', offered: String(request.headers['sec-websocket-protocol']).split(/,\s*/), stdin: [] };
    seen.push(entry);
    socket.on('message', (data: Buffer) => entry.stdin.push(data));
    reply(socket);
  });
  const { port } = server.address() as { port: number };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { kc, seen };
}

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
/** A v4 status frame (channel 3) that reports exit code `code`. */
const statusFrame = (code: number) => Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(code === 0
  ? { status: 'Success' }
  : { status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } }))]);

describe('the exec edge', () => {
  it('reads the exit code from the status', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(exitCodeOf({ status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: '7' }] } })).toBe(7);
    expect(exitCodeOf({ status: 'Failure', message: 'no exit code' })).toBe(1);
  });

  it('execs through the API server path, stdout and the status; the bulk socket offers no v5', async () => {
    const { kc, seen } = await apiServer((socket) => {
      socket.send(Buffer.concat([Buffer.from([1]), Buffer.from('hello\n')]));
      socket.send(statusFrame(3));
    });
    const exec = clientNodeExec(kc);
    for (const bulk of [false, true]) {
      let out = '';
      const stdout = new Writable({ write: (c: Buffer, _e, cb) => void ((out += c.toString()), cb()) });
      const status = await new Promise<number>((resolve, reject) => {
        exec({ namespace: 'ns', pod: 'p', container: 'c', command: ['sh', '-c', 'echo hello'], stdout, stderr: sink(), stdin: new PassThrough(), bulk, onStatus: (s) => resolve(exitCodeOf(s)) })
          .then((socket) => expect(socket.protocol).toBe('v4.channel.k8s.io'), reject);
      });
      expect(status).toBe(3);
      expect(out).toBe('hello\n');
    }
    expect(seen[0]!.url).toBe('/api/v1/namespaces/ns/pods/p/exec?stdout=true&stderr=true&stdin=true&tty=false&command=sh&command=-c&command=echo%20hello&container=c');
    expect(seen[0]!.offered).toContain('v5.channel.k8s.io');
    expect(seen[1]!.url).toBe(seen[0]!.url);
    expect(seen[1]!.offered).not.toContain('v5.channel.k8s.io');
    expect(seen[1]!.offered).toContain('v4.channel.k8s.io');
  });

  it('gives the runner the exit code, or "lost" when the connection closes without a status', async () => {
    let answer: 'status' | 'close' = 'status';
    const { kc, seen } = await apiServer((socket) => (answer === 'status' ? socket.send(statusFrame(0)) : socket.close()));
    const exec = runnerExec(clientNodeExec(kc), 'ns');
    const out = { stdout: sink(), stderr: sink() };
    const exited = await exec('p', 'c', ['true'], out);
    await expect(exited.exited).resolves.toEqual({ kind: 'exited', code: 0 });
    exited.close();
    answer = 'close';
    const lost = await exec('p', 'c', ['true'], out);
    await expect(lost.exited).resolves.toEqual({ kind: 'lost', why: 'the exec connection closed' });
    // No stdin given: the command gets none.
    expect(seen[1]!.url).toContain('stdin=false');
  });
});
