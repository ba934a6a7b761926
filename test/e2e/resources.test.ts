// --cpu/--memory on the real node: the dev pod's container gets the resources asked, and `end`
// gives the workload its own resources back exactly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { STAND_IN_IMAGE, applyManifests, dev, kubectl } from './live-support.ts';

const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: res}
spec:
  replicas: 1
  selector: {matchLabels: {app: res}}
  template:
    metadata: {labels: {app: res}}
    spec:
      containers:
      - name: app
        image: ${STAND_IN_IMAGE}
        command: [sleep, "3600"]
        resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {memory: 64Mi}}
`;

interface Json { [key: string]: unknown }
const getJson = (args: string[]): Json => {
  const r = kubectl([...args, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Json;
};

describe('--cpu and --memory', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let before: Json;

  beforeAll(async () => {
    ns = await createTestNamespace(testKubeConfig(), 'resources');
    applyManifests(ns.name, MANIFESTS);
    const rollout = kubectl(['rollout', 'status', 'deploy/res', '-n', ns.name, '--timeout=120s']);
    expect(rollout.code, rollout.stderr).toBe(0);
    before = getJson(['get', 'deploy/res', '-n', ns.name]);
  });
  afterAll(async () => {
    if (ns) await ns.remove();
  });

  it('the dev pod\'s container runs with them; end restores the workload\'s own', () => {
    const start = dev(['start', 'deploy/res', '-n', ns.name, '--no-sync', '-q', '--cpu', '500m', '--memory', '128Mi:256Mi']);
    expect(start.code, start.stderr).toBe(0);
    const pods = getJson(['get', 'pods', '-n', ns.name]).items as Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { containers: Array<{ name: string; resources: unknown }> } }>;
    const devPods = pods.filter((p) => !p.metadata.deletionTimestamp && p.spec.containers.some((c) => c.name === 'kubectl-dev-sync'));
    expect(devPods).toHaveLength(1);
    const app = devPods[0]!.spec.containers.find((c) => c.name === 'app')!;
    expect(app.resources).toEqual({ requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });

    const end = dev(['end', 'deploy/res', '-n', ns.name, '-q']);
    expect(end.code, end.stderr).toBe(0);
    const after = getJson(['get', 'deploy/res', '-n', ns.name]);
    expect((after.spec as Json).template).toEqual((before.spec as Json).template);
    expect((after.metadata as Json).labels).toEqual((before.metadata as Json).labels);
  });
});
