// Live mode under trouble, on the real control plane: racing starts, a view-only user, the
// API server going away mid-start, HPAs, edits during dev mode, dry runs, huge originals.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { BIN } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { LIVE_CASES, applyManifests, dev, kubectl, read, restorable } from './live-support.ts';

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
      runAsync(['start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '-q', '--image', 'busybox:1.37'], env),
      runAsync(['start', 'deploy/reviews-v1', '-n', ns.name, '--no-sync', '-q', '--image', 'alpine:3.20'], env),
    ]);
    const codes = [a.code, b.code].sort();
    expect(codes[0]).toBe(0);
    expect(codes[1]).toBe(5);
    const loser = a.code === 0 ? b : a;
    expect(loser.stderr).toMatch(/changed while kubectl-dev was putting it in dev mode|already in dev mode with other settings/);
    const now = await readReviews();
    const winnerImage = a.code === 0 ? 'busybox:1.37' : 'alpine:3.20';
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
      const result = dev(['start', 'deploy/reviews-v1', '-n', ns.name, `--dry-run=${mode}`, '-q', '--image', 'busybox:1.37']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('patch Deployment/reviews-v1');
      expect(result.stdout).toContain('"busybox:1.37"');
      expect(result.stdout).toContain('create Secret/');
    }
    expect(unchanged(await readReviews())).toEqual(before);
    expect(JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', 'dev.kubectl-dev.io/generated', '-o', 'json']).stdout).items).toEqual([]);
  });

  it('keeps an original too large for an annotation in a ConfigMap owned by the workload', async () => {
    applyManifests(ns.name, stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big', annotations: { note: 'x'.repeat(150_000) } },
      spec: { selector: { matchLabels: { app: 'big' } }, template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
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
