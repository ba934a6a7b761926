// Smoke suite of the test cluster: real kube-apiserver, etcd, controller-manager and
// scheduler, and a real node (kubelet + containerd + runc) running real containers from
// images built here. Shows that e2e tests see real Kubernetes behaviour: controllers, the
// scheduler, volumes, exec and port-forward through the kubelet, no registry.
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
import { REAL_NODE_LABEL, REAL_NODE_NAME, POD_CIDR } from '../cluster/node.ts';

const run = promisify(execFile);

function kubectl(args: string[], opts: { allowFail?: boolean } = {}) {
  return run(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), ...args], { encoding: 'utf8' }).catch((e) => {
    if (opts.allowFail) return { stdout: e.stdout as string, stderr: e.stderr as string, code: e.code as number };
    throw e;
  });
}

/** A container that really runs on the real node, stops at once on SIGTERM, and never exits by itself. */
const container = (name = 'main') => ({ name, image: 'busybox:1.36', command: ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'] });
const template = (app: string) => ({ metadata: { labels: { app } }, spec: { terminationGracePeriodSeconds: 2, containers: [container()] } });

/** Connects to 127.0.0.1:port, sends `msg`, resolves with the first `want` bytes of reply. */
function roundTrip(port: number, msg: string, want: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(msg));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply on 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= want) {
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

  it('kubectl get nodes shows the real node Ready (kubelet v1.36.3, containerd 2.3.7), and /readyz is ok', async () => {
    const { stdout } = await kubectl(['get', 'nodes', '-o', 'json']);
    const nodes: k8s.V1Node[] = JSON.parse(stdout).items;
    const real = nodes.find((n) => n.metadata?.name === REAL_NODE_NAME);
    expect(real?.metadata?.labels?.[REAL_NODE_LABEL]).toBe('true');
    expect(real?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(real?.status?.nodeInfo).toMatchObject({ kubeletVersion: 'v1.36.3', containerRuntimeVersion: expect.stringMatching(/^containerd:\/\/2\.3\.7/) });
    expect(real?.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    // KWOK nodes, where present (cluster:up), are tainted so that ordinary pods land on the real node.
    for (const n of nodes.filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake')) {
      expect(n.spec?.taints).toContainEqual({ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' });
    }
    const table = await kubectl(['get', 'nodes']);
    expect(table.stdout).toMatch(/127\.0\.0\.1\s+Ready/);

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
      expect(p.spec?.nodeName).toBe(REAL_NODE_NAME); // placed by the real scheduler
      expect(p.status?.podIP).toMatch(new RegExp(`^${POD_CIDR.split('.').slice(0, 3).join('\\.')}\\.`));
      expect(p.status?.containerStatuses?.[0]?.state?.running).toBeTruthy();
    }
    await waitFor('Deployment Available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      return d.status?.availableReplicas === 3 && d.status.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
    });
  });

  it('a StatefulSet gets ordered, stable pod names and volumes from the default StorageClass that outlive its pods', async () => {
    const spec = template('db');
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } },
          template: { ...spec, spec: { ...spec.spec, containers: [{ ...container(), volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    });
    const pods = await waitFor('2 Running StatefulSet pods', async () => {
      const p = await podsOf('app=db');
      return allRunning(p, 2) && p;
    }, 60_000);
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['db-0', 'db-1']);
    await waitFor('StatefulSet readyReplicas 2', async () => (await apps.readNamespacedStatefulSet({ name: 'db', namespace: ns })).status?.readyReplicas === 2);
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
    expect(claims.map((c) => [c.metadata?.name, c.status?.phase, c.spec?.storageClassName]).sort()).toEqual([['data-db-0', 'Bound', 'standard'], ['data-db-1', 'Bound', 'standard']]);

    // What db-0 writes is there again for the db-0 that replaces it.
    await kubectl(['-n', ns, 'exec', 'db-0', '--', 'sh', '-c', 'echo kept > /data/marker']);
    const uid = pods.find((p) => p.metadata?.name === 'db-0')!.metadata!.uid;
    await core.deleteNamespacedPod({ name: 'db-0', namespace: ns });
    await waitFor('db-0 replaced and Running', async () => {
      const p = await core.readNamespacedPod({ name: 'db-0', namespace: ns });
      return p.metadata?.uid !== uid && p.status?.phase === 'Running';
    }, 60_000);
    expect((await kubectl(['-n', ns, 'exec', 'db-0', '--', 'cat', '/data/marker'])).stdout).toBe('kept\n');
  });

  it('a DaemonSet runs one pod per node it tolerates', async () => {
    const nodes = (await core.listNode()).items.filter((n) => !n.spec?.taints?.length).map((n) => n.metadata!.name!);
    expect(nodes).toContain(REAL_NODE_NAME);
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
        spec: { completions: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'echo done'] }] } } },
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
          jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }] } } } },
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

  describe('exec and port-forward through the kubelet into real containers', () => {
    const pod = 'tunnel';
    // An echo server on the pod's loopback only: a forward that reaches it went into the pod's network namespace.
    const echo = `require('net').createServer((s) => s.on('data', (d) => s.write('echo:' + d))).listen(8080, '127.0.0.1')`;

    beforeAll(async () => {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: pod, labels: { app: pod } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: 'node:24', command: ['node', '-e', echo] }, container('side')],
          },
        },
      });
      await waitFor('pod Running', async () => (await core.readNamespacedPod({ name: pod, namespace: ns })).status?.containerStatuses?.every((c) => c.ready), 60_000);
    });

    it('port-forward with @kubernetes/client-node PortForward reaches a server on the pod\'s 127.0.0.1', async () => {
      const pf = new k8s.PortForward(kc);
      const local = net.createServer((socket) => {
        void pf.portForward(ns, pod, [8080], socket, null, socket).catch(() => socket.destroy());
      });
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      try {
        const reply = await roundTrip((local.address() as net.AddressInfo).port, 'hello-client-node', 'echo:hello-client-node'.length);
        expect(reply).toBe('echo:hello-client-node');
      } finally {
        local.close();
      }
    });

    it('port-forward with the real kubectl reaches it too', async () => {
      const child = spawn(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), '-n', ns, 'port-forward', `pod/${pod}`, ':8080'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let out = '';
        child.stderr.on('data', (d) => (out += d.toString()));
        const localPort = await new Promise<number>((resolve, reject) => {
          child.stdout.on('data', (d) => {
            out += d.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.on('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
        });
        expect(await roundTrip(localPort, 'hello-kubectl', 'echo:hello-kubectl'.length)).toBe('echo:hello-kubectl');
        expect(await roundTrip(localPort, 'again', 'echo:again'.length)).toBe('echo:again');
      } finally {
        child.kill();
      }
    });

    it('exec runs in the container and returns its output and exit code; stdin reaches it', async () => {
      // client-node Exec (WebSocket)
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (d) => (out += d.toString()));
      stderr.on('data', (d) => (err += d.toString()));
      const status = await new Promise<k8s.V1Status>((resolve, reject) => {
        new k8s.Exec(kc)
          .exec(ns, pod, 'side', ['sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\\0" " "; echo to-stderr >&2; exit 3'], stdout, stderr, null, false, resolve)
          .catch(reject);
      });
      expect(out).toBe(`${pod}\nsh -c trap "exit 0" TERM; sleep 3600 & wait `);
      expect(err).toBe('to-stderr\n');
      expect(status.status).toBe('Failure');
      expect(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message).toBe('3');

      // real kubectl: its exit code is the command's; stdin goes through
      const piped = await new Promise<string>((resolve, reject) => {
        const child = spawn(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), '-n', ns, 'exec', '-i', pod, '-c', 'side', '--', 'wc', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let o = '';
        child.stdout.on('data', (d) => (o += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(o.trim()) : reject(new Error(`exit ${code}`))));
        child.stdin.end(Buffer.alloc(1 << 20, 'x'));
      });
      expect(piped).toBe(String(1 << 20));
      const failed = await kubectl(['-n', ns, 'exec', pod, '-c', 'side', '--', 'sh', '-c', 'echo bye; exit 7'], { allowFail: true });
      expect(failed.stdout).toBe('bye\n');
      expect((failed as { code?: number }).code).toBe(7);
    });
  });

  it('an image that is not on the node fails to pull at once: there is no registry', async () => {
    const started = Date.now();
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'nopull' }, spec: { containers: [{ name: 'main', image: 'registry.example/never-pulled:1' }] } } });
    const waiting = await waitFor('ErrImagePull or ImagePullBackOff', async () => {
      const p = await core.readNamespacedPod({ name: 'nopull', namespace: ns });
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return w && ['ErrImagePull', 'ImagePullBackOff'].includes(w.reason ?? '') && w;
    }, 30_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(waiting.message).toMatch(/registry\.example\/never-pulled:1/);
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
    const err = await startCluster({ dir: runDir(), realNode: false, build: { go: path.join(cache, 'no-go-here'), cache } }).catch((e: unknown) => e);
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
      const err = await startCluster({ dir, binaries, realNode: false, ports: { apiserver: port } }).catch((e: unknown) => e);
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
    const err = await startCluster({ dir, binaries, realNode: false, extraArgs: { 'kube-controller-manager': ['--no-such-flag'] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStartError);
    expect((err as ClusterStartError).component).toBe('kube-controller-manager');
    expect((err as Error).message).toMatch(/kube-controller-manager exited early \(exit code \d+\)/);
    expect((err as Error).message).toMatch(/unknown flag: --no-such-flag/);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('a second real node on one machine is refused, naming the cluster that has it; KWOK-only clusters still start', async () => {
    const binaries = await ensureBuilt();
    const err = await startCluster({ dir: runDir(), binaries, realNode: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStartError);
    expect((err as Error).message).toMatch(/a real node cannot run on this machine/);
    expect((err as Error).message).toMatch(/another test cluster's real node runs \(.+, pid \d+\); stop it with npm run cluster:down -- --dir=/);
    expect((err as Error).message).toMatch(/--no-real-node/);

    const dir = runDir();
    const kwokOnly = await startCluster({ dir, binaries, realNode: 'auto', nodes: 3 });
    try {
      expect(kwokOnly.realNode).toBeUndefined();
      expect(kwokOnly.nodes).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']);
    } finally {
      await kwokOnly.stop();
    }
    expect(processesMentioning(dir)).toEqual([]);
  });
});
