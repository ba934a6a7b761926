// Live mode under trouble, on the real control plane and its real node: racing starts, a
// view-only user, the API server going away mid-start, HPAs, edits during dev mode, dry runs,
// huge originals; and what only a real node shows: an image that cannot be pulled, a dev image
// without a shell, restrictive securityContexts.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { BIN } from '../cli/run-cli.ts';
import { deviceIdFromPem } from '../../src/sync/deviceid.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { execIn } from '../support/pods.ts';
import { LIVE_CASES, STAND_IN_IMAGE, applyManifests, dev, devAsync, kubectl, logsOf, read, restorable, standInCommand } from './live-support.ts';

const kc = testKubeConfig();
const deploymentCase = LIVE_CASES.find((c) => c.kind === 'Deployment')!;

function runAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('live mode faults', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let before: unknown;
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'faults');
    applyManifests(ns.name, deploymentCase.manifests);
  });
  afterAll(async () => ns?.remove());

  const readReviews = () => read(kc, 'apps/v1', 'Deployment', 'reviews-v1', ns.name);

  it('two racing starts: one wins, the other fails clearly, the object is consistent', async () => {
    before = restorable(await readReviews());
    const env = { KUBECONFIG: testKubeconfigPath() };
    const [a, b] = await Promise.all([
      runAsync(['start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '-q', '--image', 'busybox:1.36'], env),
      runAsync(['start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '-q', '--image', 'node:24'], env),
    ]);
    const codes = [a.code, b.code].sort();
    expect(codes[0]).toBe(0);
    expect(codes[1]).toBe(5);
    const loser = a.code === 0 ? b : a;
    expect(loser.stderr).toMatch(/changed while kubectl-dev was putting it in dev mode|already in dev mode with other settings/);
    const now = await readReviews();
    const winnerImage = a.code === 0 ? 'busybox:1.36' : 'node:24';
    expect(now.spec.template.spec.containers[0].image).toBe(winnerImage);
    expect(now.spec.template.spec.containers.filter((c: { name: string }) => c.name === 'kubectl-dev-sync')).toHaveLength(1);
    expect(dev(['end', 'deploy/reviews-v1', '-n', ns.name, '-q']).code).toBe(0);
    expect(restorable(await readReviews())).toEqual(before);
  });

  it('a view-only user gets a clear "forbidden" naming verbs and resources, and nothing changes', async () => {
    const viewer = 'viewer';
    kubectl(['create', 'serviceaccount', viewer, '-n', ns.name]);
    kubectl(['create', 'role', 'view-only', '-n', ns.name, '--verb=get,list,watch', '--resource=deployments,pods,secrets']);
    kubectl(['create', 'rolebinding', 'viewer-view', '-n', ns.name, '--role=view-only', `--serviceaccount=${ns.name}:${viewer}`]);
    const token = kubectl(['create', 'token', viewer, '-n', ns.name]).stdout.trim();
    const admin = parse(readFileSync(testKubeconfigPath(), 'utf8'));
    const viewerConfig = {
      apiVersion: 'v1', kind: 'Config', 'current-context': 'viewer',
      clusters: admin.clusters,
      users: [{ name: viewer, user: { token } }],
      contexts: [{ name: 'viewer', context: { cluster: admin.clusters[0].name, user: viewer, namespace: ns.name } }],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'kubectl-dev-viewer-')), 'kubeconfig');
    writeFileSync(file, stringify(viewerConfig));
    const beforeForbidden = await readReviews();
    const result = dev(['start', 'deploy/reviews-v1', '--no-sync', '-q'], { KUBECONFIG: file });
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('forbidden');
    expect(result.stderr).toContain('patch deployments (API group apps)');
    expect(result.stderr).toContain('create secrets');
    expect(result.stderr).toContain('nothing was changed');
    // Not the resourceVersion: the deployment controller may still be updating the status.
    const after = await readReviews();
    expect({ generation: after.metadata.generation, ...(restorable(after) as object) })
      .toEqual({ generation: beforeForbidden.metadata.generation, ...(restorable(beforeForbidden) as object) });
    expect(JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', 'dev.kubectl-dev.io/generated', '-o', 'json']).stdout).items).toEqual([]);
  });

  it('the API server going away mid-start: a clear error, and end works once it is back', async () => {
    // A TCP relay between the CLI and the real API server, cut right before start's 2nd change.
    const admin = parse(readFileSync(testKubeconfigPath(), 'utf8'));
    const upstream = new URL(admin.clusters[0].cluster.server);
    const sockets = new Set<net.Socket>();
    let open = true;
    const relay = net.createServer((client) => {
      if (!open) return client.destroy();
      const server = net.connect(Number(upstream.port), upstream.hostname);
      sockets.add(client).add(server);
      client.pipe(server).pipe(client);
      const drop = () => { client.destroy(); server.destroy(); };
      client.on('error', drop);
      server.on('error', drop);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    admin.clusters[0].cluster.server = `https://127.0.0.1:${port}`;
    const file = join(mkdtempSync(join(tmpdir(), 'kubectl-dev-relay-')), 'kubeconfig');
    writeFileSync(file, stringify(admin));

    const child = spawn(process.execPath, [BIN, 'start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '--request-timeout', '5s'], { env: { ...process.env, KUBECONFIG: file, KUBECTL_DEV_TRACE_STEPS: '1', NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (open && stderr.includes('step 2:')) {
        open = false;
        for (const s of sockets) s.destroy();
      }
    });
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    expect(code).toBe(4);
    expect(stderr).toMatch(/cannot reach the API server|no answer within the request timeout/);
    expect(stderr).toContain('hint:');
    expect(stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);

    open = true;
    // Asynchronously: the relay runs in this process and must keep serving.
    const ended = await runAsync(['end', 'deploy/reviews-v1', '-n', ns.name, '-q'], { KUBECONFIG: file });
    expect(ended.code, ended.stderr).toBe(0);
    relay.close();
    expect(restorable(await readReviews())).toEqual(before);
  });

  it('clamps a HorizontalPodAutoscaler to one replica and gives its bounds back', async () => {
    applyManifests(ns.name, stringify({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'reviews' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'reviews-v1' }, minReplicas: 2, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
    }));
    const hpa = () => JSON.parse(kubectl(['get', 'hpa', 'reviews', '-n', ns.name, '-o', 'json']).stdout);
    const original = hpa();
    const started = dev(['start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '-q']);
    expect(started.code, started.stderr).toBe(0);
    expect(hpa().spec).toMatchObject({ minReplicas: 1, maxReplicas: 1 });
    expect(dev(['end', 'deploy/reviews-v1', '-n', ns.name, '-q']).code).toBe(0);
    const restored = hpa();
    expect(restored.spec).toEqual(original.spec);
    expect(restored.metadata.labels ?? {}).toEqual(original.metadata.labels ?? {});
    expect(restored.metadata.annotations ?? {}).toEqual(original.metadata.annotations ?? {});
    kubectl(['delete', 'hpa', 'reviews', '-n', ns.name]);
  });

  it('refuses to end when the workload was edited in dev mode, unless --force', async () => {
    const started = dev(['start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '-q']);
    expect(started.code, started.stderr).toBe(0);
    kubectl(['set', 'env', 'deploy/reviews-v1', '-n', ns.name, '-c', 'reviews', 'EDITED=yes']);
    const refused = dev(['end', 'deploy/reviews-v1', '-n', ns.name, '-q']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('was changed while in dev mode');
    expect(refused.stderr).toContain('--force');
    expect((await readReviews()).metadata.labels['dev.kubectl-dev.io/dev-mode']).toBe('true');
    const forced = dev(['end', 'deploy/reviews-v1', '-n', ns.name, '-q', '--force']);
    expect(forced.code).toBe(0);
    expect(restorable(await readReviews())).toEqual(before);
  });

  it('--dry-run=client and =server print the change and change nothing', async () => {
    // Not the resourceVersion: the deployment controller may still be updating the status.
    const unchanged = (d: any) => ({ generation: d.metadata.generation, ...(restorable(d) as object) });
    const before = unchanged(await readReviews());
    for (const mode of ['client', 'server']) {
      const result = dev(['start', 'deploy/reviews-v1', '-n', ns.name, `--dry-run=${mode}`, '-q', '--image', 'node:24']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('patch Deployment/reviews-v1');
      expect(result.stdout).toContain('"node:24"');
      expect(result.stdout).toContain('create Secret/');
    }
    expect(unchanged(await readReviews())).toEqual(before);
    expect(JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', 'dev.kubectl-dev.io/generated', '-o', 'json']).stdout).items).toEqual([]);
  });

  it('keeps an original too large for an annotation in a ConfigMap owned by the workload', async () => {
    applyManifests(ns.name, stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big', annotations: { note: 'x'.repeat(150_000) } },
      spec: { selector: { matchLabels: { app: 'big' } }, template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'app', image: STAND_IN_IMAGE, command: standInCommand() }] } } },
    }));
    const original = await read(kc, 'apps/v1', 'Deployment', 'big', ns.name);
    const started = dev(['start', 'deploy/big', '-n', ns.name, '--no-sync', '-q']);
    expect(started.code, started.stderr).toBe(0);
    const configMap = JSON.parse(kubectl(['get', 'configmap', 'big-deployment-dev-original', '-n', ns.name, '-o', 'json']).stdout);
    expect(configMap.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name: 'big', uid: original.metadata.uid });
    const ended = dev(['end', 'deploy/big', '-n', ns.name, '-q']);
    expect(ended.code, ended.stderr).toBe(0);
    await waitFor('big restored', async () => (await read(kc, 'apps/v1', 'Deployment', 'big', ns.name))?.metadata?.labels?.['dev.kubectl-dev.io/dev-mode'] === undefined);
    expect(restorable(await read(kc, 'apps/v1', 'Deployment', 'big', ns.name))).toEqual(restorable(original));
    expect(kubectl(['get', 'configmap', 'big-deployment-dev-original', '-n', ns.name]).code).not.toBe(0);
  });

  it('reports a missing workload and a workload that is not in dev mode', () => {
    const missing = dev(['start', 'deploy/nope', '-n', ns.name, '-q']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`deployment/nope not found in namespace ${ns.name}`);
    const notInDevMode = dev(['end', 'deploy/reviews-v2', '-n', ns.name]);
    expect(notInDevMode.code).toBe(0);
    expect(notInDevMode.stdout).toContain('is not in dev mode');
  });
});

// What a real node reveals, each as a user sees it: exit code 6, the container, the image, the
// kubelet's cause and the flag to change; and `end` restores the workload afterwards.
describe('live mode on a real node: images, shells, securityContexts', () => {
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'faults-node');
  });
  afterAll(async () => ns?.remove());

  /** A Deployment of the stand-in app (busybox:1.36, blocking) whose pod spec takes `podSpec`. */
  const deployment = (name: string, podSpec: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { ...podSpec, containers: [{ name: 'app', image: STAND_IN_IMAGE, command: standInCommand(), ...container }] } } },
  });
  const readDeployment = (name: string) => read(kc, 'apps/v1', 'Deployment', name, ns.name);
  /** The workload's one running pod that is not a dev pod. */
  const originalRuns = (name: string) => waitFor(`${name}'s original pod running`, () => {
    const pods = JSON.parse(kubectl(['get', 'pods', '-n', ns.name, '-l', `app=${name}`, '-o', 'json']).stdout).items;
    return pods.find((p: any) => !p.metadata.labels['dev.kubectl-dev.io/workload'] && !p.metadata.deletionTimestamp && p.status.containerStatuses?.every((c: { ready: boolean }) => c.ready));
  }, 120_000, 500);
  /** end, then the workload equals `before` and its original pod runs again. */
  async function endRestores(name: string, before: unknown): Promise<void> {
    const ended = dev(['end', `deploy/${name}`, '-n', ns.name, '-q']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(restorable(await readDeployment(name))).toEqual(before);
    await originalRuns(name);
    expect(JSON.parse(kubectl(['get', 'secrets,configmaps', '-n', ns.name, '-l', 'dev.kubectl-dev.io/generated', '-o', 'json']).stdout).items).toEqual([]);
  }
  const devPodOf = (name: string) => JSON.parse(kubectl(['get', 'pods', '-n', ns.name, '-l', `dev.kubectl-dev.io/workload=deployment.${name}`, '-o', 'json']).stdout).items
    .find((p: any) => !p.metadata.deletionTimestamp);

  it('an image the node cannot pull: start fails as soon as the kubelet says so, and end restores', async () => {
    applyManifests(ns.name, deployment('pull'));
    await originalRuns('pull');
    const before = restorable(await readDeployment('pull'));
    const began = Date.now();
    const result = await devAsync(['start', 'deploy/pull', '-n', ns.name, '--no-sync', '-q', '--timeout', '40s', '--image', 'registry.invalid/nope:1']);
    const tookMs = Date.now() - began;
    expect(result.code, result.stderr).toBe(6);
    expect(result.stderr).toMatch(/^error: dev pod pull-\S+ in namespace \S+: container app: the node cannot pull image "registry\.invalid\/nope:1" \((ErrImagePull|ImagePullBackOff): .*registry\.invalid/m);
    expect(result.stderr).toContain('hint: pass --image with an image the cluster\'s nodes can pull');
    expect(result.stderr).toContain(`kubectl dev end deployment/pull -n ${ns.name} restores it`);
    // From the kubelet's first report, not at the 40 s timeout.
    expect(tookMs).toBeLessThan(25_000);
    // The original kept running meanwhile (the rollout waits for the dev pod).
    await originalRuns('pull');
    await endRestores('pull', before);
  });

  it('a dev image without /bin/sh: the error says the default dev command needs a shell, and the ways out', async () => {
    applyManifests(ns.name, deployment('noshell'));
    await originalRuns('noshell');
    const before = restorable(await readDeployment('noshell'));
    const image = 'gcr.io/distroless/static-debian12:nonroot';
    const began = Date.now();
    const result = await devAsync(['start', 'deploy/noshell', '-n', ns.name, '--no-sync', '-q', '--timeout', '40s', '--image', image]);
    const tookMs = Date.now() - began;
    expect(result.code, result.stderr).toBe(6);
    expect(result.stderr).toContain(`container app cannot start: image "${image}" has no /bin/sh, which the default dev command (a /bin/sh script that blocks) needs`);
    expect(result.stderr).toMatch(/no such file or directory/);
    expect(result.stderr).toContain('hint: pass --image with an image that has /bin/sh');
    expect(result.stderr).toContain('command as a list');
    expect(result.stderr).toContain(`kubectl dev end deployment/noshell -n ${ns.name} restores it`);
    expect(tookMs).toBeLessThan(25_000);
    await endRestores('noshell', before);
  });

  it('a restrictive securityContext (runAsNonRoot, runAsUser, fsGroup, read-only root): dev mode works, the sidecar reads its Secret', async () => {
    applyManifests(ns.name, deployment('locked',
      { securityContext: { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, fsGroup: 2000 } },
      { securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }));
    await originalRuns('locked');
    const before = restorable(await readDeployment('locked'));
    const started = dev(['start', 'deploy/locked', '-n', ns.name, '--no-sync', '-q', '--timeout', '120s', '--image', 'busybox:1.36']);
    expect(started.code, started.stderr).toBe(0);
    const pod = devPodOf('locked');
    const podName = pod.metadata.name;
    expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, fsGroup: 2000 });
    // What admission checks stays on the dev container; the read-only root goes.
    expect(pod.spec.containers.find((c: any) => c.name === 'app').securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    // The sidecar: its own user (1000, group 0) plus the pod's fsGroup, reading the Secret's files.
    expect(execIn(ns.name, podName, 'kubectl-dev-sync', ['id']).stdout).toMatch(/^uid=1000\b.* gid=0\b.*groups=.*\b2000\b/);
    expect(execIn(ns.name, podName, 'kubectl-dev-sync', ['cat', '/proc/1/cmdline']).stdout.split('\0').slice(0, 2)).toEqual(['/bin/syncthing', 'serve']);
    const secret = JSON.parse(kubectl(['get', 'secret', 'locked-deployment-dev-sync', '-n', ns.name, '-o', 'json']).stdout);
    const deviceId = deviceIdFromPem(Buffer.from(secret.data['cert.pem'], 'base64').toString('utf8'));
    await waitFor('the sidecar syncthing to run with the Secret\'s identity', () => logsOf(ns.name, podName, 'kubectl-dev-sync').includes(`My ID: ${deviceId}`), 60_000, 500);
    // The dev container: the pod's user, and the work dir writable by it.
    const inDev = execIn(ns.name, podName, 'app', ['sh', '-c', 'id -u; touch /workspace/written && echo ok']);
    expect(inDev.stdout, inDev.stderr).toBe('1001\nok\n');
    await endRestores('locked', before);
  });

  it('runAsNonRoot with the user only in the container: the user stays, the read-only root goes, --keep-security-context keeps it', async () => {
    applyManifests(ns.name, deployment('guarded', { securityContext: { runAsNonRoot: true, fsGroup: 2000 } }, { securityContext: { runAsUser: 1001, readOnlyRootFilesystem: true } }));
    await originalRuns('guarded');
    const before = restorable(await readDeployment('guarded'));
    // node:24 runs as root by its USER: the kept runAsUser makes it start under runAsNonRoot.
    const started = dev(['start', 'deploy/guarded', '-n', ns.name, '--no-sync', '-q', '--timeout', '120s', '--image', 'node:24']);
    expect(started.code, started.stderr).toBe(0);
    let pod = devPodOf('guarded');
    expect(pod.spec.containers.find((c: any) => c.name === 'app').securityContext).toEqual({ runAsUser: 1001 });
    const writable = execIn(ns.name, pod.metadata.name, 'app', ['sh', '-c', 'id -u; touch /tmp/dev && echo written; node -e "console.log(process.version)"']);
    expect(writable.stdout, writable.stderr).toMatch(/^1001\nwritten\nv24\./);
    await endRestores('guarded', before);

    const kept = dev(['start', 'deploy/guarded', '-n', ns.name, '--no-sync', '-q', '--timeout', '120s', '--image', 'node:24', '--keep-security-context']);
    expect(kept.code, kept.stderr).toBe(0);
    pod = devPodOf('guarded');
    const readOnly = execIn(ns.name, pod.metadata.name, 'app', ['sh', '-c', 'id -u; touch /tmp/dev']);
    expect(readOnly.stdout).toBe('1001\n');
    expect(readOnly.stderr).toMatch(/Read-only file system/);
    await endRestores('guarded', before);
  });

  it('runAsNonRoot and no user anywhere: a dev image that runs as root is named, with the ways out', async () => {
    // The original's image runs as root too, so its pod never starts; start does not need it to.
    applyManifests(ns.name, deployment('rootimage', { securityContext: { runAsNonRoot: true } }));
    const before = restorable(await readDeployment('rootimage'));
    const began = Date.now();
    const result = await devAsync(['start', 'deploy/rootimage', '-n', ns.name, '--no-sync', '-q', '--timeout', '40s', '--image', 'node:24']);
    expect(result.code, result.stderr).toBe(6);
    expect(result.stderr).toContain('container app: the pod requires runAsNonRoot and image "node:24" runs as root');
    expect(result.stderr).toContain('hint: pass --image with an image whose USER is a numeric non-root uid, or give the container a runAsUser');
    expect(Date.now() - began).toBeLessThan(25_000);
    const ended = dev(['end', 'deploy/rootimage', '-n', ns.name, '-q']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(restorable(await readDeployment('rootimage'))).toEqual(before);
  });

  it('a namespace that enforces Pod Security "restricted": the dev pod, sidecar included, is admitted and runs', async () => {
    const strict = await createTestNamespace(kc, 'restricted');
    try {
      expect(kubectl(['label', 'namespace', strict.name, 'pod-security.kubernetes.io/enforce=restricted']).code).toBe(0);
      // Enforcement is on: a pod without the restricted fields is refused.
      const bare = kubectl(['run', 'bare', '-n', strict.name, '--image', STAND_IN_IMAGE, '--restart=Never', '--', 'sleep', '1']);
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toMatch(/violates PodSecurity "restricted/);
      const compliant = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };
      applyManifests(strict.name, deployment('strict', { securityContext: { runAsNonRoot: true, runAsUser: 1001 } }, { securityContext: compliant }));
      const started = dev(['start', 'deploy/strict', '-n', strict.name, '--no-sync', '-q', '--timeout', '120s']);
      expect(started.code, started.stderr).toBe(0);
      const pod = JSON.parse(kubectl(['get', 'pods', '-n', strict.name, '-l', 'dev.kubectl-dev.io/workload=deployment.strict', '-o', 'json']).stdout).items
        .find((p: any) => !p.metadata.deletionTimestamp);
      expect(pod.spec.containers.find((c: any) => c.name === 'app').securityContext).toEqual(compliant);
      expect(pod.spec.containers.find((c: any) => c.name === 'kubectl-dev-sync').securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      await waitFor('the sidecar\'s syncthing running', () => execIn(strict.name, pod.metadata.name, 'kubectl-dev-sync', ['cat', '/proc/1/cmdline']).stdout.startsWith('/bin/syncthing\0serve'), 60_000, 500);
      expect(execIn(strict.name, pod.metadata.name, 'app', ['sh', '-c', 'id -u; touch /workspace/written && echo ok']).stdout).toBe('1001\nok\n');
      const ended = dev(['end', 'deploy/strict', '-n', strict.name, '-q']);
      expect(ended.code, ended.stderr).toBe(0);
    } finally {
      await strict.remove();
    }
  });

  it('a DaemonSet in kube-system: refused before anything changes, taken over with --force, restored by end', async () => {
    const name = `node-agent-${Date.now().toString(36)}`;
    const ds = stringify({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: 'kube-system', labels: { app: name } },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agent', image: STAND_IN_IMAGE, command: standInCommand() }] } } },
    });
    expect(kubectl(['create', '-f', '-'], ds).code).toBe(0);
    try {
      const before = JSON.parse(kubectl(['get', 'ds', name, '-n', 'kube-system', '-o', 'json']).stdout);
      const refused = dev(['start', `ds/${name}`, '-n', 'kube-system', '--no-sync', '-q', '--timeout', '60s']);
      expect(refused.code).toBe(3);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain(`DaemonSet/${name} runs in kube-system: dev mode would stop its pod on every node`);
      expect(refused.stderr).toContain('pass --force if no node depends on it');
      // Unchanged (the DaemonSet controller still writes its status meanwhile).
      expect(restorable(await read(kc, 'apps/v1', 'DaemonSet', name, 'kube-system'))).toEqual(restorable(before));
      expect((await read(kc, 'apps/v1', 'DaemonSet', name, 'kube-system')).metadata.generation).toBe(before.metadata.generation);
      expect(kubectl(['get', 'secrets,deployments', '-n', 'kube-system', '-l', 'dev.kubectl-dev.io/generated', '-o', 'name']).stdout).toBe('');

      const forced = dev(['start', `ds/${name}`, '-n', 'kube-system', '--no-sync', '-q', '--timeout', '120s', '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      const ended = dev(['end', `ds/${name}`, '-n', 'kube-system', '-q']);
      expect(ended.code, ended.stderr).toBe(0);
      expect(restorable(await read(kc, 'apps/v1', 'DaemonSet', name, 'kube-system'))).toEqual(restorable(before));
    } finally {
      kubectl(['delete', 'ds', name, '-n', 'kube-system', '--wait=false']);
    }
  });
});
