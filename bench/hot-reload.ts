// The coding feedback loop: time from saving a file locally to the first HTTP response,
// through the forwarded port, that reflects the change — with `kubectl dev run`'s fast
// path, and in the same run with syncthing's own watcher (fsWatcherDelayS=1, the setting
// other tools use) instead. 30 saves each; p50 and p90.
//
// The whole path is real: kubectl-dev (the CLI bundled by esbuild, as a child process:
// `kubectl dev run deploy/web -p :9080 -- node server.js`) → local syncthing →
// port-forward through the API server → KWOK → a real syncthing as the sidecar
// (test/e2e/sync-sidecar.ts); the restart is an exec through the API server that KWOK
// runs as a local process in the sidecar's folder; the response comes back through a
// second port-forward. The app reads the synced file when it starts.
//
//   node bench/hot-reload.ts [--saves=30] [--gap-ms=400]
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { WORKLOAD_LABEL } from '../src/core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../src/core/names.ts';
import { bundleCli, httpGet, spawnCli } from '../test/e2e/cli-process.ts';
import { startFakeSidecar, type FakeSidecar } from '../test/e2e/sync-sidecar.ts';
import { execLocally, forwardPodPort } from '../test/support/kwok.ts';
import { freePort, tempDir } from '../test/unit/sync/support.ts';
import { benchCluster, median } from './cluster.ts';

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const SAVES = arg('saves', 30);
const GAP_MS = arg('gap-ms', 400);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

const SERVER = `
const fs = require('node:fs');
const message = fs.readFileSync('message.txt', 'utf8').trim();
require('node:http').createServer((req, res) => res.end(message + '\\n')).listen(Number(process.env.APP_PORT), '127.0.0.1');
`;

/** Polls the forwarded port (a new connection every 5 ms at most) until it answers `want`. */
async function answered(port: number, want: string, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const body = await httpGet(port);
    if (body?.trim() === want) return performance.now();
    if (performance.now() > deadline) throw new Error(`no answer "${want}" within ${timeoutMs} ms (last: ${JSON.stringify(body)})`);
    await sleep(5);
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Measured {
  latencies: number[];
  restarts: number;
}

async function measure(kc: k8s.KubeConfig, cli: string, env: NodeJS.ProcessEnv, root: string, mode: 'fast' | 'syncthing'): Promise<Measured> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = `bench-reload-${mode}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await until('the default service account', async () => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }).catch(() => undefined));
  const dir = path.join(root, mode);
  const localDir = path.join(dir, 'local');
  const remoteDir = path.join(dir, 'workspace');
  fs.mkdirSync(localDir, { recursive: true });
  fs.writeFileSync(path.join(localDir, 'server.js'), SERVER);
  fs.writeFileSync(path.join(localDir, 'message.txt'), 'v0\n');
  await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] } } },
    },
  });
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let sidecar: FakeSidecar | undefined;
  try {
    const start = spawnCli(cli, ['start', 'deploy/web', '-n', ns, '--no-sync', '--workdir', remoteDir, '--image', 'node:24', '-q'], { cwd: dir, env });
    const code = await start.exited;
    if (code !== 0) throw new Error(`start exited with ${code}: ${start.err()}`);
    const pod = await until('the dev pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'web')}` });
      return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)?.metadata?.name;
    });
    const appPort = await freePort();
    cleanups.push(await execLocally(kc, { namespace: ns, pod, containers: ['app'], workDir: remoteDir, env: { APP_PORT: String(appPort), NODE_BIN: process.execPath } }));
    cleanups.push(await forwardPodPort(kc, { namespace: ns, pod, ports: [9080], target: { port: appPort } }));
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'web'), namespace: ns });
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(dir, 'sidecar-home') });

    const run = spawnCli(cli, ['run', 'deploy/web', '-n', ns, '--local-dir', localDir, '-p', ':9080',
      ...(mode === 'syncthing' ? ['--watcher', 'syncthing', '--watcher-delay', '1'] : []), '--', '/bin/sh', '-c', '"$NODE_BIN" server.js'], { cwd: dir, env });
    children.push(run.child);
    const forwardLine = /forwarding 127\.0\.0\.1:(\d+) → 9080/;
    const port = Number((await until('the forward line', () => forwardLine.exec(run.err()) ?? undefined))[1]);
    await answered(port, 'v0', 60_000);
    const latencies: number[] = [];
    for (let i = 1; i <= SAVES; i++) {
      await sleep(GAP_MS);
      const t0 = performance.now();
      fs.writeFileSync(path.join(localDir, 'message.txt'), `v${i}\n`);
      latencies.push((await answered(port, `v${i}`)) - t0);
    }
    const restarts = (run.err().match(/landed in the container/g) ?? []).length;
    run.child.kill('SIGINT');
    await run.exited;
    return { latencies, restarts };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sidecar?.stop();
    for (const fn of cleanups) await fn().catch(() => {});
    await core.deleteNamespace({ name: ns }).catch(() => {});
  }
}

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const root = tempDir('bench-reload');
  fs.chmodSync(root, 0o755);
  try {
    const cli = path.join(root, 'kubectl-dev.cjs');
    await bundleCli(cli);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
    log(`fast path: ${SAVES} saves`);
    const fast = await measure(kc, cli, env, root, 'fast');
    log(`syncthing's watcher (fsWatcherDelayS=1): ${SAVES} saves`);
    const watcher = await measure(kc, cli, env, root, 'syncthing');
    const f50 = pct(fast.latencies, 50);
    const f90 = pct(fast.latencies, 90);
    const w50 = pct(watcher.latencies, 50);
    const w90 = pct(watcher.latencies, 90);
    const ms = (x: number) => `${Math.round(x)} ms`;
    console.log(`### kubectl-dev hot reload: save → HTTP response through the forward (${SAVES} saves each, ${new Date().toISOString().slice(0, 10)})\n`);
    console.log('| measure | kubectl-dev | baseline | ratio | goal |');
    console.log('|---|---|---|---|---|');
    console.log(`| save → response, p50 (\`run\`, restart after landing) | ${ms(f50)} | ${ms(w50)} (syncthing watcher, delay 1 s) | ${(f50 / w50).toFixed(2)}× | ≤ 1 s and ≤ 0.5× ${f50 <= 1_000 && f50 / w50 <= 0.5 ? 'met' : 'NOT met'} |`);
    console.log(`| save → response, p90 | ${ms(f90)} | ${ms(w90)} | ${(f90 / w90).toFixed(2)}× | |`);
    console.log('');
    console.log(`fast path, all saves (ms): ${fast.latencies.map((x) => Math.round(x)).join(' ')}`);
    console.log(`syncthing watcher, all saves (ms): ${watcher.latencies.map((x) => Math.round(x)).join(' ')}`);
    console.log(`restarts: fast path ${fast.restarts}, watcher ${watcher.restarts} (one per save expected: ${SAVES}); medians ${ms(median(fast.latencies))} / ${ms(median(watcher.latencies))}`);
  } finally {
    await cluster.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
