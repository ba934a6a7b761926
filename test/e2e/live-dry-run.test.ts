// `start --dry-run=client|server` prints the plan start would run, every step of it (the HPA
// clamp, the ConfigMap for an original too large for an annotation, a Pod's state ConfigMap
// and its delete), and changes nothing: every resourceVersion stays as it was.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GENERATED_LABEL } from '../../src/core/marks.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { STAND_IN_IMAGE, applyManifests, dev, kubectl, read, restorable, standInCommand } from './live-support.ts';

const kc = testKubeConfig();

/** The lines, each found after the one before. */
function expectInOrder(text: string, lines: string[]): void {
  let from = 0;
  for (const line of lines) {
    const at = text.indexOf(line, from);
    expect(at, `"${line}" after position ${from} in:\n${text.slice(0, 4000)}`).toBeGreaterThanOrEqual(0);
    from = at + line.length;
  }
}

describe('start --dry-run prints the plan and changes nothing', () => {
  let ns: { name: string; remove: () => Promise<void> };
  // What a write by start would change (labels, annotations, spec): the controllers' status updates (the HPA's every 15 s) move resourceVersions on their own.
  const versions = async () => ({
    deployment: restorable(await read(kc, 'apps/v1', 'Deployment', 'big', ns.name)),
    hpa: restorable(await read(kc, 'autoscaling/v2', 'HorizontalPodAutoscaler', 'big', ns.name)),
    pod: await read(kc, 'v1', 'Pod', 'solo', ns.name).then((pod) => ({ uid: pod.metadata.uid, state: restorable(pod) })),
  });
  const generated = () => JSON.parse(kubectl(['get', 'secrets,configmaps,deployments,jobs', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;

  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'dry-run');
    const container = { name: 'app', image: STAND_IN_IMAGE, command: standInCommand() };
    applyManifests(ns.name, [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big', annotations: { note: 'x'.repeat(150_000) } },
        spec: { replicas: 2, selector: { matchLabels: { app: 'big' } }, template: { metadata: { labels: { app: 'big' } }, spec: { containers: [container] } } } },
      { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'big' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'big' }, minReplicas: 2, maxReplicas: 4, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo', labels: { app: 'solo' } }, spec: { containers: [container] } },
    ].map((m) => stringify(m)).join('---\n'));
    // Settled first, so that a controller's status update does not move a resourceVersion during the test.
    await waitFor('deployment ready', async () => {
      const d = await read(kc, 'apps/v1', 'Deployment', 'big', ns.name);
      return d?.status?.readyReplicas === 2 && d.status.observedGeneration === d.metadata.generation;
    }, 120_000);
    await waitFor('HPA seen by its controller', async () => ((await read(kc, 'autoscaling/v2', 'HorizontalPodAutoscaler', 'big', ns.name))?.status?.conditions ?? []).length > 0, 120_000);
    await waitFor('pod ready', async () => ((await read(kc, 'v1', 'Pod', 'solo', ns.name))?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), 120_000);
  });
  afterAll(async () => ns?.remove());

  it.each(['client', 'server'])('--dry-run=%s on a Deployment with an HPA and a large original', async (mode) => {
    const before = await versions();
    const result = dev(['start', 'deploy/big', '-n', ns.name, `--dry-run=${mode}`, '-q', '--image', 'node:24']);
    expect(result.code, result.stderr).toBe(0);
    expectInOrder(result.stdout, [
      '1. create the sync Secret', `create Secret/big-deployment-dev-sync (namespace ${ns.name})`, 'config.xml: (hidden)',
      '2. clamp HorizontalPodAutoscaler big', `patch HorizontalPodAutoscaler/big (namespace ${ns.name})`, 'replace /spec/maxReplicas 1',
      '3. save the original in a ConfigMap', `create ConfigMap/big-deployment-dev-original (namespace ${ns.name})`, 'original.json',
      '4. patch the workload', `patch Deployment/big (namespace ${ns.name})`,
      '5. wait for the dev pod to be ready', 'wait for the pod labelled deployment.big',
    ]);
    expect(result.stdout).toContain('replace /spec/replicas 1');
    expect(result.stdout).toContain('replace /spec/template/spec/containers/0/image "node:24"');
    expect(result.stdout).not.toContain('PRIVATE KEY');
    expect(await versions()).toEqual(before);
    expect(generated()).toEqual([]);
  });

  it.each(['client', 'server'])('--dry-run=%s on a Pod: its state ConfigMap, the delete and the dev pod', async (mode) => {
    const before = await versions();
    const uid = (await read(kc, 'v1', 'Pod', 'solo', ns.name)).metadata.uid;
    const result = dev(['start', 'pod/solo', '-n', ns.name, `--dry-run=${mode}`, '-q']);
    expect(result.code, result.stderr).toBe(0);
    expectInOrder(result.stdout, [
      '1. create the sync Secret',
      '2. save the original Pod in a ConfigMap', 'create ConfigMap/solo-pod-dev-original',
      '3. delete the original Pod', `delete Pod/solo (namespace ${ns.name}) (uid ${uid})`,
      '4. wait until the original Pod is gone',
      '5. create the dev Pod', 'create Pod/solo', 'kubectl-dev-sync',
      '6. wait for the dev pod to be ready', 'wait for the pod labelled pod.solo',
    ]);
    expect(await versions()).toEqual(before);
    expect((await read(kc, 'v1', 'Pod', 'solo', ns.name)).metadata.uid).toBe(uid);
    expect(generated()).toEqual([]);
  });
});
