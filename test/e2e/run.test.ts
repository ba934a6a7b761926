// `kubectl dev start … --run CMD -p :PORT` as a user runs it (the CLI bundled into a temp
// file, run as a child process) on the test control plane: the dev container is a real
// syncthing as sidecar (sync-sidecar.ts) plus KWOK exec running the command as a local
// process in the sidecar's folder, and a KWOK PortForward from the pod's app port to the
// port that process listens on. No mocks: every byte goes through the API server.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { DEV_MODE_LABEL, WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../../src/core/names.ts';
import { stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { execLocally, forwardPodPort } from '../support/kwok.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { freePort, tempDir, until } from '../unit/sync/support.ts';
import { bundleCli, httpGet, interrupt, spawnCli as spawnTheCli, type CliRun } from './cli-process.ts';
import { startFakeSidecar, type FakeSidecar } from './sync-sidecar.ts';


/** The app: answers with the message it read at startup and its pid; exits 3 when the message is "crash". */
const SERVER = `
const fs = require('node:fs');
const http = require('node:http');
const message = fs.readFileSync('message.txt', 'utf8').trim();
if (message === 'crash') { console.error('bad message'); process.exit(3); }
http.createServer((req, res) => res.end(message + ' pid=' + process.pid + '\\n'))
  .listen(Number(process.env.APP_PORT), '127.0.0.1', () => console.log('listening with ' + message));
`;

function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A namespace with a Deployment `name` (container app), a temp dir with the app's source, and the bundled CLI. */
async function appFixture(kc: k8s.KubeConfig, name: string): Promise<{ ns: string; removeNs: () => Promise<void>; root: string; cli: string; localDir: string; remoteDir: string; env: NodeJS.ProcessEnv }> {
  const { name: ns, remove: removeNs } = await createTestNamespace(kc, `run-${name}`);
  const root = tempDir(`e2e-run-${name}`);
  fs.chmodSync(root, 0o755);
  const cli = await bundleCli(path.join(root, 'kubectl-dev.cjs'));
  const localDir = path.join(root, 'local');
  fs.mkdirSync(localDir);
  fs.writeFileSync(path.join(localDir, 'server.js'), SERVER);
  fs.writeFileSync(path.join(localDir, 'message.txt'), 'v1\n');
  const env = { ...process.env, KUBECONFIG: testKubeconfigPath(), XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
  await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example/${name}:1`, ports: [{ containerPort: 9080 }] }] } } },
    },
  });
  return { ns, removeNs, root, cli, localDir, remoteDir: path.join(root, 'workspace'), env };
}

/** The app's answer through the forwarded port; a timeout shows what the last CLI process started printed. */
async function answerOn(port: () => number, pattern: RegExp, timeoutMs: number, runs: CliRun[]): Promise<string> {
  try {
    return await until(`an answer matching ${pattern}`, async () => {
      const body = await httpGet(port());
      return body !== undefined && pattern.test(body) ? body : undefined;
    }, timeoutMs, 50);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nstderr of the last kubectl-dev started:\n${runs.at(-1)?.err().slice(-3_000) ?? '(none)'}`);
  }
}

/** Keeps a started CLI process for the suite's teardown. */
function track(runs: CliRun[], run: CliRun): CliRun {
  runs.push(run);
  return run;
}

/** Everything a suite started: CLI processes, the local sync, KWOK rules, the sidecar, the namespace, the temp dir. */
async function tearDown(kc: k8s.KubeConfig | undefined, state: { runs: CliRun[]; ns?: string; name: string; env?: NodeJS.ProcessEnv; undo: Array<() => Promise<void>>; sidecar?: FakeSidecar | undefined; removeNs?: () => Promise<void>; root?: string }): Promise<void> {
  for (const r of state.runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  if (kc && state.ns && state.env) await stopLocalSync(syncTargetOf(kc, state.ns, 'Deployment', state.name), state.env).catch(() => {});
  for (const fn of state.undo) await fn().catch(() => {});
  await state.sidecar?.stop();
  await state.removeNs?.();
  if (state.root) fs.rmSync(state.root, { recursive: true, force: true });
}

describe('kubectl dev start --run with port forwards', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let remoteDir: string;
  let env: NodeJS.ProcessEnv;
  let sidecar: FakeSidecar | undefined;
  let appPort: number;
  let run: CliRun;
  let localPort: number;
  const runs: CliRun[] = [];
  const undo: Array<() => Promise<void>> = [];

  const spawnCli = (args: string[]) => track(runs, spawnTheCli(cli, args, { cwd: localDir, env }));
  const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, 'g')) ?? []).length;
  const answer = (pattern: RegExp, timeoutMs = 30_000) => answerOn(() => localPort, pattern, timeoutMs, runs);
  const pidOf = (body: string) => Number(/pid=(\d+)/.exec(body)![1]);

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ ns, removeNs, root, cli, localDir, remoteDir, env } = await appFixture(kc, 'web'));
    appPort = await freePort();
  });

  afterAll(() => tearDown(kc, { runs, ns, name: 'web', env, undo, sidecar, removeNs, root }));

  it('starts dev mode, syncs, runs the command, and forwards a free local port to it', async () => {
    run = spawnCli(['start', 'deploy/web', '-n', ns, '--image', 'node:24', '--workdir', remoteDir, '--local-dir', localDir,
      '--run', '"$NODE_BIN" server.js', '-p', ':9080', '--timeout', '60s']);
    // The test plays the kubelet's part once the dev pod exists: sidecar, exec, app port.
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const pod = await waitFor('a Running dev pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'web')}` });
      return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)?.metadata?.name;
    }, 60_000);
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'web'), namespace: ns });
    undo.push(await execLocally(kc, { namespace: ns, pod, containers: ['app'], workDir: remoteDir, env: { APP_PORT: String(appPort), NODE_BIN: process.execPath } }));
    undo.push(await forwardPodPort(kc, { namespace: ns, pod, ports: [9080], target: { port: appPort } }));
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });

    await until('the forward line', () => /forwarding 127\.0\.0\.1:(\d+) → 9080/.test(run.err()), 60_000);
    localPort = Number(/forwarding 127\.0\.0\.1:(\d+) → 9080/.exec(run.err())![1]);
    const body = await answer(/^v1 pid=\d+/, 60_000);
    expect(run.out()).toMatch(/deployment\/web is in dev mode: pod web-/);
    expect(run.out()).toMatch(/\[app\] listening with v1\n/);
    expect(run.err()).toMatch(/\[run\] started in web-\S+: "\$NODE_BIN" server\.js\n/);
    expect(running(pidOf(body))).toBe(true);
  }, 120_000);

  it('restarts the command once the change has landed; the old process is gone', async () => {
    const before = await answer(/^v1 /);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v2\n');
    const after = await answer(/^v2 pid=\d+/);
    expect(fs.readFileSync(path.join(remoteDir, 'message.txt'), 'utf8')).toBe('v2\n');
    expect(pidOf(after)).not.toBe(pidOf(before));
    expect(running(pidOf(before))).toBe(false);
    expect(run.err()).toMatch(/\[run\] 1 change\(s\) landed in the container \(message\.txt\): restarting/);
  });

  it('restarts once for a burst of 50 files', async () => {
    const restarts = () => count(run.err(), /landed in the container/);
    const before = restarts();
    fs.mkdirSync(path.join(localDir, 'data'));
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(localDir, 'data', `f${i}.txt`), `file ${i}\n`);
    await until('the burst in the container', () => fs.existsSync(path.join(remoteDir, 'data')) && fs.readdirSync(path.join(remoteDir, 'data')).length === 50);
    await until('a restart', () => restarts() > before);
    // Time for a second restart to show up, if there were one.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(restarts()).toBe(before + 1);
    await answer(/^v2 /);
  });

  it('reports a command that fails, and starts it again after the next change (not in a loop)', async () => {
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'crash\n');
    await until('the failure reported', () => /\[run\] the command failed with exit code 3; it starts again after the next change/.test(run.err()));
    expect(run.err()).toMatch(/\[app\] bad message\n/); // its stderr, prefixed, on stderr
    const starts = count(run.err(), /landed in the container/);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(count(run.err(), /landed in the container/)).toBe(starts);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v3\n');
    await answer(/^v3 pid=\d+/);
    expect(run.err()).toMatch(/landed in the container \(message\.txt\): starting/);
  });

  it('a busy local port is a clear error naming it, and nothing starts', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = spawnCli(['sync', 'deploy/web', '-n', ns, '--local-dir', localDir, '-p', `${port}:9080`]);
      expect(await r.exited).toBe(EXIT.usage);
      expect(r.err()).toMatch(new RegExp(`error: local port ${port} on 127\\.0\\.0\\.1 is already in use \\(forward ${port}:9080\\)\\n\\s+hint: .*-p :9080 for a free one`));
      expect(r.out()).toBe('');
    } finally {
      busy.close();
    }
  });

  it('Ctrl-C stops the command in the container and leaves dev mode in place', async () => {
    const body = await answer(/^v3 /);
    expect(await interrupt(run)).toBe(0);
    expect(running(pidOf(body))).toBe(false);
    const deployment = await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(deployment.metadata?.labels?.[DEV_MODE_LABEL]).toBe('true');
  });

  it('--no-restart: the command starts once; later changes land without restarting it', async () => {
    const once = spawnCli(['run', 'deploy/web', '-n', ns, '--local-dir', localDir, '--no-restart', '-p', ':9080', '--', '/bin/sh', '-c', '"$NODE_BIN" server.js']);
    await until('the forward line', () => /forwarding 127\.0\.0\.1:(\d+) → 9080/.test(once.err()), 60_000);
    localPort = Number(/forwarding 127\.0\.0\.1:(\d+) → 9080/.exec(once.err())![1]);
    const body = await answer(/^v3 pid=\d+/, 60_000);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v4\n');
    await until('v4 in the container', () => fs.readFileSync(path.join(remoteDir, 'message.txt'), 'utf8') === 'v4\n');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await answer(/^v3 /)).toBe(body);
    expect(once.err()).not.toMatch(/landed in the container/);
    expect(await interrupt(once)).toBe(0);
    expect(running(pidOf(body))).toBe(false);
  }, 90_000);
});

describe('kubectl dev run on its own: dev config, an already running sync, --restart-on, a replaced dev pod', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let remoteDir: string;
  let env: NodeJS.ProcessEnv;
  let sidecar: FakeSidecar | undefined;
  let run: CliRun;
  let localPort: number;
  const runs: CliRun[] = [];
  const undo: Array<() => Promise<void>> = [];
  const selector = `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'api')}`;

  const spawnCli = (args: string[]) => track(runs, spawnTheCli(cli, args, { cwd: localDir, env }));
  const answer = (pattern: RegExp, timeoutMs = 30_000) => answerOn(() => localPort, pattern, timeoutMs, runs);
  const devPod = (not?: string) => waitFor('a Running dev pod', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: selector });
    return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.name !== not)?.metadata?.name;
  }, 60_000);
  /** What the kubelet provides for a dev pod: exec, the app port, the sync sidecar. */
  const playKubelet = async (pod: string) => {
    const appPort = await freePort();
    undo.push(await execLocally(kc, { namespace: ns, pod, containers: ['app'], workDir: remoteDir, env: { APP_PORT: String(appPort), NODE_BIN: process.execPath } }));
    undo.push(await forwardPodPort(kc, { namespace: ns, pod, ports: [9080], target: { port: appPort } }));
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'api'), namespace: ns });
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, `sidecar-${pod}`) });
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ({ ns, removeNs, root, cli, localDir, remoteDir, env } = await appFixture(kc, 'api'));
    fs.writeFileSync(path.join(localDir, '.kubectl-dev.yaml'), 'workloads:\n  deploy/api:\n    run: \'"$NODE_BIN" server.js\'\n    forward: [":9080"]\n');
    const start = spawnCli(['start', 'deploy/api', '-n', ns, '--no-sync', '--workdir', remoteDir, '--image', 'node:24', '-q']);
    expect(await start.exited, start.err()).toBe(0);
    await playKubelet(await devPod());
  }, 120_000);

  afterAll(() => tearDown(kc, { runs, ns, name: 'api', env, undo, sidecar, removeNs, root }));

  it('joins the sync already running and takes the command and the forward from the dev config', async () => {
    const wait = spawnCli(['sync', 'deploy/api', '-n', ns, '--wait', '--timeout', '60s']);
    expect(await wait.exited, wait.err()).toBe(0);
    run = spawnCli(['run', 'deploy/api', '-n', ns, '--restart-on', '*.txt']);
    await until('the forward line', () => /forwarding 127\.0\.0\.1:(\d+) → 9080/.test(run.err()), 30_000);
    localPort = Number(/forwarding 127\.0\.0\.1:(\d+) → 9080/.exec(run.err())![1]);
    await answer(/^v1 pid=\d+/);
    expect(run.err()).toMatch(/\[run\] using the sync already running for deployment\/api \(pid \d+, /);
    expect(run.err()).toMatch(/\[run\] started in api-\S+: "\$NODE_BIN" server\.js/);
  }, 60_000);

  it('--restart-on: a change that does not match lands without a restart; one that matches restarts', async () => {
    fs.writeFileSync(path.join(localDir, 'notes.md'), 'not a reason to restart\n');
    await until('notes.md in the container', () => fs.existsSync(path.join(remoteDir, 'notes.md')));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(run.err()).not.toMatch(/landed in the container/);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v2\n');
    await answer(/^v2 pid=\d+/);
    expect(run.err()).toMatch(/1 change\(s\) landed in the container \(message\.txt\): restarting/);
  });

  it('follows a replaced dev pod: the command starts in the new one, the forward reaches it on the same local port', async () => {
    const before = await answer(/^v2 /);
    const oldPod = sidecar!.pod;
    await core.deleteNamespacedPod({ name: oldPod, namespace: ns, gracePeriodSeconds: 0 });
    // The kubelet would stop the old pod's processes with it.
    process.kill(Number(/pid=(\d+)/.exec(before)![1]), 'SIGKILL');
    await sidecar!.stop();
    await playKubelet(await devPod(oldPod));
    const after = await answer(/^v2 pid=\d+/, 60_000);
    expect(after).not.toBe(before);
    expect(run.err()).toMatch(new RegExp(`lost the command in ${oldPod} \\(pod ${oldPod} is gone\\); it starts again once the dev pod is back and in sync`));
    expect(run.err()).toMatch(new RegExp(`started in ${sidecar!.pod}: `));
  }, 90_000);

  it('stops, and stops the command, when the sync it joined ends (what kubectl dev end does)', async () => {
    const body = await answer(/^v2 /);
    expect(await stopLocalSync(syncTargetOf(kc, ns, 'Deployment', 'api'), env)).toBe(true);
    expect(await run.exited).toBe(0);
    expect(run.err()).toMatch(/\[run\] the sync session \(pid \d+\) has ended; stopping/);
    expect(running(Number(/pid=(\d+)/.exec(body)![1]))).toBe(false);
  });
});
