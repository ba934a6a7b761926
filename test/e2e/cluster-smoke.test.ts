// Smoke suite of the test control plane (issue 3): real kube-apiserver, etcd,
// controller-manager and scheduler, KWOK nodes. Shows that e2e tests see real
// Kubernetes behaviour, and that port-forward and exec reach local processes.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError, ensureBuilt } from '../cluster/build.lib.ts';
import { ClusterStartError, startCluster } from '../cluster/cluster.ts';
import { kubectlBinary } from '../support/binaries.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { execLocally, forwardPodPort } from '../support/kwok.ts';

const run = promisify(execFile);

function kubectl(args: string[], opts: { allowFail?: boolean } = {}) {
  return run(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), ...args], { encoding: 'utf8' }).catch((e) => {
    if (opts.allowFail) return { stdout: e.stdout as string, stderr: e.stderr as string, code: e.code as number };
    throw e;
  });
}

const container = (name = 'main') => ({ name, image: 'registry.example/never-pulled:1' });
const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [container()] } });

/** A TCP echo server on 127.0.0.1 that prefixes replies, so we know they went through it. */
async function echoServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d) => s.write(`echo:${d.toString()}`));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => count,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

/** Connects to host:port, sends `msg`, resolves with the first reply. */
function roundTrip(port: number, msg: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(msg));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply on 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= msg.length + 'echo:'.length) {
        clearTimeout(timer);
        s.end();
        resolve(got);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Processes whose command line mentions `needle` (to prove nothing was left running). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.includes(needle) && !/^\d+ \(.*\) Z/.test(stat)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('test control plane', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let batch: k8s.BatchV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;

  const podsOf = async (selector: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
  const allRunning = (pods: k8s.V1Pod[], n: number) => pods.length === n && pods.every((p) => p.status?.phase === 'Running');

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    batch = kc.makeApiClient(k8s.BatchV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'smoke'));
  });
  afterAll(async () => {
    await removeNs?.();
  });

  it('kubectl get nodes shows the KWOK nodes Ready, and /readyz is ok', async () => {
    const { stdout } = await kubectl(['get', 'nodes', '-o', 'json']);
    const nodes: k8s.V1Node[] = JSON.parse(stdout).items;
    expect(nodes.length).toBeGreaterThanOrEqual(1);
    for (const n of nodes) {
      expect(n.metadata?.annotations?.['kwok.x-k8s.io/node']).toBe('fake');
      expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    const table = await kubectl(['get', 'nodes']);
    expect(table.stdout).toMatch(/kwok-node-0\s+Ready/);

    expect((await kubectl(['get', '--raw', '/readyz'])).stdout.trim()).toBe('ok');
    const version = JSON.parse((await kubectl(['version', '-o', 'json'])).stdout);
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.36\./);
    expect(version.clientVersion.gitVersion).toMatch(/^v1\.35\./);
  });

  it('a Deployment gets its ReplicaSet and Pods Running', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template('web') },
      },
    });
    const rs = await waitFor('a ReplicaSet owned by the Deployment', async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' });
      return list.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'));
    });
    const pods = await waitFor('3 Running pods', async () => {
      const p = await podsOf('app=web');
      return allRunning(p, 3) && p;
    });
    for (const p of pods) {
      expect(p.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: rs.metadata?.name });
      expect(p.spec?.nodeName).toMatch(/^kwok-node-/); // placed by the real scheduler
      expect(p.status?.podIP).toBeTruthy();
    }
    await waitFor('Deployment Available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      return d.status?.availableReplicas === 3 && d.status.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
    });
  });

  it('a StatefulSet gets ordered, stable pod names', async () => {
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') },
      },
    });
    const pods = await waitFor('2 Running StatefulSet pods', async () => {
      const p = await podsOf('app=db');
      return allRunning(p, 2) && p;
    });
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['db-0', 'db-1']);
    await waitFor('StatefulSet readyReplicas 2', async () => (await apps.readNamespacedStatefulSet({ name: 'db', namespace: ns })).status?.readyReplicas === 2);
  });

  it('a DaemonSet runs one pod per node', async () => {
    const nodes = (await core.listNode()).items.map((n) => n.metadata!.name!);
    await apps.createNamespacedDaemonSet({
      namespace: ns,
      body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') } },
    });
    const pods = await waitFor(`${nodes.length} Running DaemonSet pods`, async () => {
      const p = await podsOf('app=agent');
      return allRunning(p, nodes.length) && p;
    });
    expect(pods.map((p) => p.spec?.nodeName).sort()).toEqual([...nodes].sort());
  });

  it('a Job completes', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'once' },
        spec: { completions: 2, template: { spec: { restartPolicy: 'Never', containers: [container()] } } },
      },
    });
    const job = await waitFor('Job Complete', async () => {
      const j = await batch.readNamespacedJob({ name: 'once', namespace: ns });
      return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && j;
    });
    expect(job.status?.succeeded).toBe(2);
  });

  it('a CronJob creates a Job', async () => {
    // "@every 2s" is accepted by the real validation and controller; a cron
    // expression like "*/1 * * * *" works too but waits for the next minute.
    await batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'tick' },
        spec: {
          schedule: '@every 2s',
          jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [container()] } } } },
        },
      },
    });
    const job = await waitFor(
      'a Job created by the CronJob',
      async () =>
        (await batch.listNamespacedJob({ namespace: ns })).items.find((j) =>
          j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === 'tick'),
        ),
      30_000,
    );
    expect(job.metadata?.name).toMatch(/^tick-\d+$/);
    await batch.patchNamespacedCronJob(
      { name: 'tick', namespace: ns, body: { spec: { suspend: true } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  });

  describe('through the API server to local processes via KWOK', () => {
    let echo: Awaited<ReturnType<typeof echoServer>>;
    const pod = 'tunnel';

    beforeAll(async () => {
      echo = await echoServer();
      await core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: pod, labels: { app: pod } }, spec: { containers: [container('main'), container('side')] } },
      });
      await waitFor('pod Running', async () => (await core.readNamespacedPod({ name: pod, namespace: ns })).status?.phase === 'Running');
    });
    afterAll(async () => {
      await echo?.close();
    });

    it('port-forward with @kubernetes/client-node PortForward reaches a local echo server', async () => {
      const undo = await forwardPodPort(kc, { namespace: ns, pod, ports: 8080, target: { port: echo.port } });
      const pf = new k8s.PortForward(kc);
      const local = net.createServer((socket) => {
        void pf.portForward(ns, pod, [8080], socket, null, socket).catch(() => socket.destroy());
      });
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      try {
        const before = echo.connections();
        const reply = await roundTrip((local.address() as net.AddressInfo).port, 'hello-client-node');
        expect(reply).toBe('echo:hello-client-node');
        expect(echo.connections()).toBe(before + 1);
      } finally {
        local.close();
        await undo();
      }
    });

    it('port-forward with the real kubectl reaches a local echo server', async () => {
      const undo = await forwardPodPort(kc, { namespace: ns, pod, ports: [9090], target: { port: echo.port } });
      const child = spawn(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), '-n', ns, 'port-forward', `pod/${pod}`, ':9090'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let out = '';
        child.stderr.on('data', (d) => (out += d.toString()));
        const localPort = await new Promise<number>((resolve, reject) => {
          child.stdout.on('data', (d) => {
            out += d.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 9090/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.on('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
        });
        expect(await roundTrip(localPort, 'hello-kubectl')).toBe('echo:hello-kubectl');
        expect(await roundTrip(localPort, 'again')).toBe('echo:again');
      } finally {
        child.kill();
        await undo();
      }
    });

    it('exec runs a local command and returns its output and exit code', async () => {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwok-exec-'));
      fs.writeFileSync(path.join(workDir, 'marker.txt'), 'from the local disk\n');
      const undo = await execLocally(kc, { namespace: ns, pod, workDir, env: { GREETING: 'hi' } });
      try {
        // client-node Exec (WebSocket)
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        let out = '';
        let err = '';
        stdout.on('data', (d) => (out += d.toString()));
        stderr.on('data', (d) => (err += d.toString()));
        const status = await new Promise<k8s.V1Status>((resolve, reject) => {
          new k8s.Exec(kc)
            .exec(ns, pod, 'main', ['sh', '-c', 'cat marker.txt; echo "$GREETING" >&2; exit 3'], stdout, stderr, null, false, resolve)
            .catch(reject);
        });
        expect(out).toBe('from the local disk\n');
        expect(err).toBe('hi\n');
        expect(status.status).toBe('Failure');
        expect(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message).toBe('3');

        // real kubectl: its exit code is the command's
        const ok = await kubectl(['-n', ns, 'exec', pod, '-c', 'side', '--', 'sh', '-c', 'pwd; echo $GREETING']);
        expect(ok.stdout).toBe(`${fs.realpathSync(workDir)}\nhi\n`);
        const failed = await kubectl(['-n', ns, 'exec', pod, '--', 'sh', '-c', 'echo bye; exit 7'], { allowFail: true });
        expect(failed.stdout).toBe('bye\n');
        expect((failed as { code?: number }).code).toBe(7);
      } finally {
        await undo();
        fs.rmSync(workDir, { recursive: true, force: true });
      }
    });
  });

  it('an update with a stale resourceVersion gets HTTP 409 Conflict', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cas' }, data: { v: '1' } } });
    const stale = structuredClone(cm);
    await core.replaceNamespacedConfigMap({ name: 'cas', namespace: ns, body: { ...cm, data: { v: '2' } } });
    const err = await core.replaceNamespacedConfigMap({ name: 'cas', namespace: ns, body: { ...stale, data: { v: '3' } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<string>).code).toBe(409);
    expect(String((err as k8s.ApiException<string>).body)).toMatch(/the object has been modified/);
    expect((await core.readNamespacedConfigMap({ name: 'cas', namespace: ns })).data).toEqual({ v: '2' });
  });
});

describe('cluster start-up faults', () => {
  const tmpDirs: string[] = [];
  const runDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'testcluster-fault-'));
    tmpDirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a missing Go toolchain is reported as such', async () => {
    const cache = runDir();
    const err = await startCluster({ dir: runDir(), build: { go: path.join(cache, 'no-go-here'), cache } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(/Go toolchain not found/);
  });

  it('a port in use fails with the component name and its last log lines, leaving nothing running', async () => {
    const binaries = await ensureBuilt();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = runDir();
    try {
      const err = await startCluster({ dir, binaries, ports: { apiserver: port } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterStartError);
      expect((err as ClusterStartError).component).toBe('kube-apiserver');
      expect((err as Error).message).toMatch(/kube-apiserver exited early/);
      expect((err as Error).message).toMatch(/address already in use/);
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('a component exiting early fails with its name and last log lines, leaving nothing running', async () => {
    const binaries = await ensureBuilt();
    const dir = runDir();
    const err = await startCluster({ dir, binaries, extraArgs: { 'kube-controller-manager': ['--no-such-flag'] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStartError);
    expect((err as ClusterStartError).component).toBe('kube-controller-manager');
    expect((err as Error).message).toMatch(/kube-controller-manager exited early \(exit code \d+\)/);
    expect((err as Error).message).toMatch(/unknown flag: --no-such-flag/);
    expect(processesMentioning(dir)).toEqual([]);
  });
});
