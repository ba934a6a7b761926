// `kubectl dev start … --run CMD -p :PORT` as a user runs it (the CLI bundled into a temp
// file, run as a child process) on the test cluster's real node: the dev pod runs there
// (kubelet, containerd, runc), its dev container is the node:24 image running the app — a
// small node http server in the synced tree — and its sidecar is the product's own
// syncthing image. Exec and port-forward go API server → kubelet → containerd, as on any
// cluster; what happens in the container is checked in the container (kubectl exec, /proc).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { DEV_MODE_LABEL, WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import { stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { kubectlBinary } from '../support/binaries.ts';
import { testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { until } from '../unit/sync/support.ts';
import { cliWorkspace, httpGet, type CliWorkspace, interrupt, spawnCli as spawnTheCli, type CliRun } from './cli-process.ts';

/** The app: answers with the message it read at startup and its pid; exits 3 when the message is "crash". */
const SERVER = `
const fs = require('node:fs');
const http = require('node:http');
const message = fs.readFileSync('message.txt', 'utf8').trim();
if (message === 'crash') { console.error('bad message'); process.exit(3); }
http.createServer((req, res) => res.end(message + ' pid=' + process.pid + '\\n'))
  .listen(9080, '127.0.0.1', () => console.log('listening with ' + message));
`;
const WORKDIR = '/workspace';
/** The container kubectl-dev develops in (the workload's own container, keeping its name). */
const CONTAINER = 'app';

/** `kubectl exec` in a container of the real node, without blocking the test's event loop. */
function execIn(namespace: string, pod: string, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), 'exec', '-n', namespace, pod, '-c', CONTAINER, '--', '/bin/sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether process `pid` runs in the dev container (its /proc entry, not a zombie). */
async function runningIn(namespace: string, pod: string, pid: number): Promise<boolean> {
  const r = await execIn(namespace, pod, `s=$(cat /proc/${pid}/stat 2>/dev/null) || { echo gone; exit 0; }; s=\${s##*) }; case "$s" in Z*|X*) echo gone ;; *) echo running ;; esac`);
  if (r.code !== 0) throw new Error(`exec in ${pod} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim() === 'running';
}

/** The command lines of every process in the dev container. */
async function processesIn(namespace: string, pod: string): Promise<string[]> {
  const r = await execIn(namespace, pod, 'for d in /proc/[0-9]*; do [ "$d" = /proc/$$ ] || { tr "\\0" " " < $d/cmdline 2>/dev/null; echo; }; done');
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** Nothing of `run` is left in the dev container: neither the app nor a start waiting for a restart. */
async function nothingOfRunIn(namespace: string, pod: string): Promise<void> {
  await waitFor('no app and no standby start in the container', async () => {
    const left = (await processesIn(namespace, pod)).filter((l) => /node server\.js|kubectl-dev-standby|kubectl-dev-run/.test(l));
    return left.length === 0 || undefined;
  }, 15_000, 250);
}

/** The content of a file under the work dir in the dev container, or undefined. */
async function fileIn(namespace: string, pod: string, rel: string): Promise<string | undefined> {
  const r = await execIn(namespace, pod, `cat '${WORKDIR}/${rel}'`);
  return r.code === 0 ? r.stdout : undefined;
}

/** Number of entries in a directory under the work dir in the dev container (-1 when missing). */
async function entriesIn(namespace: string, pod: string, rel: string): Promise<number> {
  const r = await execIn(namespace, pod, `[ -d '${WORKDIR}/${rel}' ] && ls -A '${WORKDIR}/${rel}' | wc -l || echo -1`);
  return Number(r.stdout.trim());
}

/** A namespace with a Deployment `name` (container app, busybox: an image the node has), a temp dir with the app's source, and the bundled CLI. */
async function appFixture(kc: k8s.KubeConfig, name: string): Promise<CliWorkspace> {
  const workspace = await cliWorkspace(kc, `run-${name}`, { 'server.js': SERVER, 'message.txt': 'v1\n' });
  const { ns } = workspace;
  await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [{ name: CONTAINER, image: 'docker.io/library/busybox:1.36', command: ['sleep', '3600'], ports: [{ containerPort: 9080 }] }],
          },
        },
      },
    },
  });
  return workspace;
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

/** Everything a suite started: CLI processes, the local sync, the namespace (with its pods), the temp dir. */
async function tearDown(kc: k8s.KubeConfig | undefined, state: { runs: CliRun[]; ns?: string; name: string; env?: NodeJS.ProcessEnv; removeNs?: () => Promise<void>; root?: string }): Promise<void> {
  for (const r of state.runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  if (kc && state.ns && state.env) await stopLocalSync(syncTargetOf(kc, state.ns, 'Deployment', state.name), state.env).catch(() => {});
  await state.removeNs?.();
  if (state.root) fs.rmSync(state.root, { recursive: true, force: true });
}

const pidOf = (body: string) => Number(/pid=(\d+)/.exec(body)![1]);
const podOf = (run: CliRun) => [...run.err().matchAll(/\[run\] started in (\S+): /g)].at(-1)![1]!;
const FORWARD_LINE = /forwarding 127\.0\.0\.1:(\d+) → 9080/;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kubectl dev start --run with port forwards, on a real node', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  let run: CliRun;
  let localPort: number;
  const runs: CliRun[] = [];

  const spawnCli = (args: string[]) => track(runs, spawnTheCli(cli, args, { cwd: localDir, env }));
  const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, 'g')) ?? []).length;
  const answer = (pattern: RegExp, timeoutMs = 60_000) => answerOn(() => localPort, pattern, timeoutMs, runs);

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ ns, removeNs, root, cli, localDir, env } = await appFixture(kc, 'web'));
  });

  afterAll(() => tearDown(kc, { runs, ns, name: 'web', env, removeNs, root }));

  it('starts dev mode, syncs, runs the command in the dev container, and forwards a free local port to it', async () => {
    run = spawnCli(['start', 'deploy/web', '-n', ns, '--image', 'node:24', '--local-dir', localDir,
      '--run', 'node server.js', '-p', ':9080', '--timeout', '150s']);
    await until('the forward line', () => FORWARD_LINE.test(run.err()), 150_000);
    localPort = Number(FORWARD_LINE.exec(run.err())![1]);
    const body = await answer(/^v1 pid=\d+/, 150_000);
    expect(run.out()).toMatch(/deployment\/web is in dev mode: pod web-/);
    expect(run.out()).toMatch(/\[app\] listening with v1\n/);
    expect(run.err()).toMatch(/\[run\] started in web-\S+: node server\.js\n/);
    const pod = podOf(run);
    // The node:24 image's node, in the dev pod on the real node, serving the synced file.
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const devPod = await core.readNamespacedPod({ name: pod, namespace: ns });
    expect(devPod.spec?.nodeName).toBe('127.0.0.1');
    expect(devPod.status?.containerStatuses?.find((c) => c.name === CONTAINER)?.image).toBe('docker.io/library/node:24');
    expect(await fileIn(ns, pod, 'message.txt')).toBe('v1\n');
    expect(await runningIn(ns, pod, pidOf(body))).toBe(true);
    expect((await execIn(ns, pod, `cat /proc/${pidOf(body)}/cmdline | tr '\\0' ' '`)).stdout).toBe('node server.js ');
  }, 240_000);

  it('restarts the command once the change has landed; the old process is gone from the container', async () => {
    const before = await answer(/^v1 /);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v2\n');
    const after = await answer(/^v2 pid=\d+/);
    const pod = podOf(run);
    expect(await fileIn(ns, pod, 'message.txt')).toBe('v2\n');
    expect(pidOf(after)).not.toBe(pidOf(before));
    expect(await runningIn(ns, pod, pidOf(before))).toBe(false);
    expect(await runningIn(ns, pod, pidOf(after))).toBe(true);
    expect(run.err()).toMatch(/\[run\] 1 change\(s\) landed in the container \(message\.txt\): restarting/);
    // The next restart's exec is opened ahead, waiting in the container.
    await waitFor('a standby start for the next restart', async () => (await processesIn(ns, pod)).some((l) => /kubectl-dev-standby/.test(l)), 15_000, 250);
  });

  it('restarts once for a burst of 50 files', async () => {
    const restarts = () => count(run.err(), /landed in the container/);
    const before = restarts();
    fs.mkdirSync(path.join(localDir, 'data'));
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(localDir, 'data', `f${i}.txt`), `file ${i}\n`);
    const pod = podOf(run);
    await waitFor('the burst in the container', async () => (await entriesIn(ns, pod, 'data')) === 50, 60_000, 200);
    await until('a restart', () => restarts() > before, 60_000);
    // Time for a second restart to show up, if there were one.
    await pause(2_000);
    expect(restarts()).toBe(before + 1);
    // The 50 files and their directory.
    expect(run.err()).toMatch(/\[run\] 5[01] change\(s\) landed in the container \(data[,/]/);
    await answer(/^v2 /);
  });

  it('reports a command that fails, and starts it again after the next change (not in a loop)', async () => {
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'crash\n');
    await until('the failure reported', () => /\[run\] the command failed with exit code 3; it starts again after the next change/.test(run.err()), 60_000);
    expect(run.err()).toMatch(/\[app\] bad message\n/); // its stderr, prefixed, on stderr
    const starts = count(run.err(), /landed in the container/);
    await pause(1_500);
    expect(count(run.err(), /landed in the container/)).toBe(starts);
    // Nothing of the app runs in the container meanwhile.
    expect((await processesIn(ns, podOf(run))).filter((l) => /^node server\.js/.test(l))).toEqual([]);
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
    const pod = podOf(run);
    expect(await interrupt(run)).toBe(0);
    expect(await runningIn(ns, pod, pidOf(body))).toBe(false);
    await nothingOfRunIn(ns, pod);
    const deployment = await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(deployment.metadata?.labels?.[DEV_MODE_LABEL]).toBe('true');
    // The dev pod stays, its PID 1 still blocking.
    expect((await execIn(ns, pod, 'tr "\\0" " " < /proc/1/cmdline')).stdout).toMatch(/^\/bin\/sh -c /);
  });

  it('--no-restart: the command starts once; later changes land without restarting it', async () => {
    const once = spawnCli(['run', 'deploy/web', '-n', ns, '--local-dir', localDir, '--no-restart', '-p', ':9080', '--', '/bin/sh', '-c', 'exec node server.js']);
    await until('the forward line', () => FORWARD_LINE.test(once.err()), 60_000);
    localPort = Number(FORWARD_LINE.exec(once.err())![1]);
    const body = await answer(/^v3 pid=\d+/, 90_000);
    const pod = podOf(once);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v4\n');
    await waitFor('v4 in the container', async () => (await fileIn(ns, pod, 'message.txt')) === 'v4\n', 60_000, 200);
    await pause(1_000);
    expect(await answer(/^v3 /)).toBe(body);
    expect(await runningIn(ns, pod, pidOf(body))).toBe(true);
    expect(once.err()).not.toMatch(/landed in the container/);
    expect(await interrupt(once)).toBe(0);
    expect(await runningIn(ns, pod, pidOf(body))).toBe(false);
    await nothingOfRunIn(ns, pod);
  }, 180_000);
});

describe('kubectl dev run on its own, on a real node: dev config, an already running sync, --restart-on, a replaced dev pod', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  let run: CliRun;
  let localPort: number;
  const runs: CliRun[] = [];
  const selector = `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'api')}`;

  const spawnCli = (args: string[]) => track(runs, spawnTheCli(cli, args, { cwd: localDir, env }));
  const answer = (pattern: RegExp, timeoutMs = 60_000) => answerOn(() => localPort, pattern, timeoutMs, runs);
  const devPod = (not?: string) => waitFor('a Running dev pod', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: selector });
    return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.name !== not)?.metadata?.name;
  }, 150_000, 250);

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ({ ns, removeNs, root, cli, localDir, env } = await appFixture(kc, 'api'));
    fs.writeFileSync(path.join(localDir, '.kubectl-dev.yaml'), 'workloads:\n  deploy/api:\n    run: node server.js\n    forward: [":9080"]\n');
    const start = spawnCli(['start', 'deploy/api', '-n', ns, '--no-sync', '--image', 'node:24', '-q', '--timeout', '150s']);
    expect(await start.exited, start.err()).toBe(0);
    await devPod();
  }, 240_000);

  afterAll(() => tearDown(kc, { runs, ns, name: 'api', env, removeNs, root }));

  it('joins the sync already running and takes the command and the forward from the dev config', async () => {
    const wait = spawnCli(['sync', 'deploy/api', '-n', ns, '--wait', '--timeout', '120s']);
    expect(await wait.exited, wait.err()).toBe(0);
    run = spawnCli(['run', 'deploy/api', '-n', ns, '--restart-on', '*.txt']);
    await until('the forward line', () => FORWARD_LINE.test(run.err()), 60_000);
    localPort = Number(FORWARD_LINE.exec(run.err())![1]);
    const body = await answer(/^v1 pid=\d+/);
    expect(run.err()).toMatch(/\[run\] using the sync already running for deployment\/api \(pid \d+, /);
    expect(run.err()).toMatch(/\[run\] started in api-\S+: node server\.js/);
    expect(await runningIn(ns, podOf(run), pidOf(body))).toBe(true);
  }, 180_000);

  it('--restart-on: a change that does not match lands without a restart; one that matches restarts', async () => {
    const pod = podOf(run);
    fs.writeFileSync(path.join(localDir, 'notes.md'), 'not a reason to restart\n');
    await waitFor('notes.md in the container', async () => (await fileIn(ns, pod, 'notes.md')) === 'not a reason to restart\n', 60_000, 200);
    await pause(1_000);
    expect(run.err()).not.toMatch(/landed in the container/);
    fs.writeFileSync(path.join(localDir, 'message.txt'), 'v2\n');
    await answer(/^v2 pid=\d+/);
    expect(run.err()).toMatch(/1 change\(s\) landed in the container \(message\.txt\): restarting/);
  });

  it('follows a replaced dev pod: the command starts in the new one, the forward reaches it on the same local port', async () => {
    const before = await answer(/^v2 /);
    const oldPod = podOf(run);
    // The kubelet stops the old pod's containers (the app with them); the ReplicaSet makes a new pod.
    await core.deleteNamespacedPod({ name: oldPod, namespace: ns, gracePeriodSeconds: 0 });
    const newPod = await devPod(oldPod);
    await until(`the command started in ${newPod}`, () => new RegExp(`started in ${newPod}: `).test(run.err()), 150_000);
    // The answer of the process that runs now: seen once on a loaded node, the command restarted
    // once more just after its first start there, and that answer's process was gone.
    const after = await until('an answer from the process running in the new pod', async () => {
      const body = await answer(/^v2 pid=\d+/);
      return (await runningIn(ns, newPod, pidOf(body))) ? body : undefined;
    }, 60_000, 200);
    expect(run.err()).toMatch(new RegExp(`lost the command in ${oldPod} \\(pod ${oldPod} is gone\\); it starts again once the dev pod is back and in sync`));
    expect(podOf(run)).toBe(newPod);
    expect([...run.err().matchAll(new RegExp(`started in ${newPod}: `, 'g'))].length).toBeLessThanOrEqual(2);
    expect(await fileIn(ns, newPod, 'message.txt')).toBe('v2\n');
    expect(before).toMatch(/^v2 pid=\d+/);
  }, 240_000);

  it('stops, and stops the command, when the sync it joined ends (what kubectl dev end does)', async () => {
    const body = await answer(/^v2 /);
    const pod = podOf(run);
    expect(await runningIn(ns, pod, pidOf(body))).toBe(true);
    expect(await stopLocalSync(syncTargetOf(kc, ns, 'Deployment', 'api'), env)).toBe(true);
    expect(await run.exited).toBe(0);
    expect(run.err()).toMatch(/\[run\] the sync session \(pid \d+\) has ended; stopping/);
    expect(await runningIn(ns, pod, pidOf(body))).toBe(false);
    await nothingOfRunIn(ns, pod);
  }, 120_000);
});
