// Issue 17, point 2, on the test cluster's real node: `kubectl dev start --run … -p` as a user
// runs it (the bundled CLI as a child process), the app a node http server in the dev container
// (node:24), port-forward through API server → kubelet → containerd. A slow handler, a long poll,
// a streamed answer and a 400 MiB upload go through -p as through kubectl port-forward: each
// request reaches the app once, the answer arrives, and the CLI's memory stays bounded.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath } from '../support/cluster.ts';
import { tempDir, until } from '../unit/sync/support.ts';
import { bundleCli, httpGet, interrupt, spawnCli, type CliRun } from './cli-process.ts';

/** The app: counts the requests of each path it has seen (GET /calls tells). */
const SERVER = `
const http = require('node:http');
const calls = {};
http.createServer((req, res) => {
  const route = req.url.split('?')[0];
  calls[route] = (calls[route] || 0) + 1;
  if (route === '/slow') { req.resume(); req.on('end', () => setTimeout(() => res.end('slow answer\\n'), 5000)); return; }
  if (route === '/poll') { setTimeout(() => res.end('poll answer\\n'), 8000); return; }
  if (route === '/stream') { let i = 0; res.writeHead(200); const t = setInterval(() => { res.write('tick ' + i + '\\n'); if (++i === 4) { clearInterval(t); res.end(); } }, 1000); return; }
  if (route === '/upload') { let n = 0; req.on('data', (d) => (n += d.length)); req.on('end', () => res.end('got ' + n + '\\n')); return; }
  if (route === '/calls') return res.end(JSON.stringify(calls));
  res.end('ok\\n');
}).on('upgrade', (req, socket) => {
  // A WebSocket-style upgrade: 101, then an echo of every message, prefixed.
  calls['upgrade'] = (calls['upgrade'] || 0) + 1;
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
  socket.on('data', (d) => socket.write('echo:' + d));
}).listen(9080, '127.0.0.1', () => console.log('listening'));
`;
const FORWARD_LINE = /forwarding 127\.0\.0\.1:(\d+) → 9080/;
const MiB = 2 ** 20;

interface Reply {
  status: number;
  body: string;
  ms: number;
  /** ms from the request to each chunk of the answer */
  chunksAt: number[];
}

function request(port: number, method: string, urlPath: string, body?: { bytes: number }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent: false, timeout: 120_000, headers: body ? { 'Content-Length': String(body.bytes) } : {} }, (res) => {
      let text = '';
      const chunksAt: number[] = [];
      res.on('data', (d) => {
        text += d.toString();
        chunksAt.push(Date.now() - started);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: Date.now() - started, chunksAt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (!body) return void req.end();
    const block = Buffer.alloc(MiB, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < body.bytes) {
        const n = Math.min(block.length, body.bytes - sent);
        sent += n;
        if (!req.write(n === block.length ? block : block.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

describe('-p forwards never replay, on a real node', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let env: NodeJS.ProcessEnv;
  let run: CliRun | undefined;
  let port: number;
  const calls = async (): Promise<Record<string, number>> => JSON.parse((await request(port, 'GET', '/calls')).body) as Record<string, number>;

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sec-fwd'));
    root = tempDir('e2e-sec-fwd');
    fs.chmodSync(root, 0o755);
    const cli = await bundleCli(path.join(root, 'kubectl-dev.cjs'));
    const localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);
    fs.writeFileSync(path.join(localDir, 'server.js'), SERVER);
    env = { ...process.env, KUBECONFIG: testKubeconfigPath(), XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app' },
        spec: {
          selector: { matchLabels: { app: 'app' } },
          template: { metadata: { labels: { app: 'app' } }, spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image: 'docker.io/library/busybox:1.36', command: ['sleep', '3600'] }] } },
        },
      },
    });
    run = spawnCli(cli, ['start', 'deploy/app', '-n', ns, '--image', 'node:24', '--local-dir', localDir, '--run', 'node server.js', '-p', ':9080', '--timeout', '150s'], { cwd: localDir, env });
    await until('the forward line', () => FORWARD_LINE.test(run!.err()), 150_000);
    port = Number(FORWARD_LINE.exec(run.err())![1]);
    await until('the app answers', async () => (await httpGet(port)) === 'ok\n' || undefined, 150_000, 100);
  }, 300_000);

  afterAll(async () => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    if (kc && ns) await stopLocalSync(syncTargetOf(kc, ns, 'Deployment', 'app'), env).catch(() => {});
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('a handler that answers after 5 s is called exactly once, and its answer arrives (the old forward sent it 4 times and cut the client off)', async () => {
    const reply = await request(port, 'POST', '/slow', { bytes: 100 });
    expect(reply).toMatchObject({ status: 200, body: 'slow answer\n' });
    expect(reply.ms).toBeGreaterThanOrEqual(5_000);
    expect((await calls())['/slow']).toBe(1);
  }, 60_000);

  it('a long poll (8 s) is asked once and answered; a streamed answer arrives chunk by chunk', async () => {
    const [poll, stream] = await Promise.all([request(port, 'GET', '/poll'), request(port, 'GET', '/stream')]);
    expect(poll).toMatchObject({ status: 200, body: 'poll answer\n' });
    expect(poll.ms).toBeGreaterThanOrEqual(8_000);
    expect(stream.body).toBe('tick 0\ntick 1\ntick 2\ntick 3\n');
    // Chunks came as the app wrote them (a second apart), not all at the end.
    expect(stream.chunksAt.length).toBeGreaterThanOrEqual(3);
    expect(stream.chunksAt.at(-1)! - stream.chunksAt[0]!).toBeGreaterThan(2_000);
    expect(await calls()).toMatchObject({ '/poll': 1, '/stream': 1 });
  }, 60_000);

  it('an upgraded connection (as a WebSocket) stays open both ways: messages seconds apart are echoed', async () => {
    const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/ws', agent: false, headers: { Connection: 'Upgrade', Upgrade: 'echo' } });
      req.on('upgrade', (_res, s) => resolve(s));
      req.on('error', reject);
      req.end();
    });
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    for (const [i, waitMs] of [[1, 0], [2, 4_000], [3, 1_000]] as const) {
      await new Promise((r) => setTimeout(r, waitMs));
      socket.write(`m${i};`);
      await until(`echo of m${i}`, () => received.includes(`echo:m${i};`), 10_000, 20);
    }
    socket.destroy();
    expect(received).toBe('echo:m1;echo:m2;echo:m3;');
    expect((await calls()).upgrade).toBe(1);
  }, 60_000);

  it('a 400 MiB upload arrives whole, once, with the CLI under 150 MiB resident (the old forward kept all of it: 484 MiB)', async () => {
    const pid = run!.child.pid!;
    const before = memoryOf(pid);
    let peak = before.rss;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, memoryOf(pid).rss);
      } catch {
        /* exited */
      }
    }, 50);
    const started = Date.now();
    const reply = await request(port, 'POST', '/upload', { bytes: 400 * MiB });
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    console.log(`400 MiB upload through -p: ${seconds.toFixed(1)} s (${(400 / seconds).toFixed(0)} MiB/s); CLI RSS before ${before.rss.toFixed(0)} MiB, peak during ${peak.toFixed(0)} MiB, VmHWM ${memoryOf(pid).peak.toFixed(0)} MiB`);
    expect(reply).toMatchObject({ status: 200, body: `got ${400 * MiB}\n` });
    expect((await calls())['/upload']).toBe(1);
    expect(peak).toBeLessThan(150);
  }, 180_000);

  it('Ctrl-C ends the CLI with nothing left open (no "stayed open" report)', async () => {
    expect(await interrupt(run!)).toBe(0);
    expect(run!.err()).not.toMatch(/stayed open/);
  }, 60_000);
});
