// The persistent claim in the plans of start and end, why a dev pod waits or fails on it, and
// the rows of `kubectl dev volumes`: plain objects, no cluster.
import { describe, expect, it } from 'vitest';
import { WORKLOAD_KINDS } from '../../../src/core/kinds.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { planEnd } from '../../../src/live/end-plan.ts';
import { podHealth } from '../../../src/live/pod-health.ts';
import { planStart, type StartRequest, type StartState } from '../../../src/live/start-plan.ts';
import { age, volumeRow } from '../../../src/live/volumes.ts';

const NS = 'team';
const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;
const workload: KubeObject = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS, uid: 'u', resourceVersion: '3', generation: 1 },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } } },
};
const state = (more: Partial<StartState> = {}): StartState => ({ now: '2026-12-01T12:00:00.000Z', secret: { made: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-deployment-dev-sync', namespace: NS }, data: {} } }, hpas: [], generated: {}, workload, ...more });
const request = (more: Partial<StartRequest> = {}): StartRequest => ({ ref: { kind: deployment, name: 'web', namespace: NS }, settings: { persist: ['/workspace'] }, timeoutMs: 60_000, ...more });
const claim = (more: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'web-deployment-dev-persist', namespace: NS, uid: 'c1', ...more } });

describe('the claim in the plans', () => {
  it('start creates it before the workload changes, with the size and class asked, and the wait reads it', () => {
    const plan = planStart(state(), request({ volume: { size: '1Gi', storageClass: 'fast' } }));
    expect(plan.steps.map((s) => s.label)).toEqual(['create the sync Secret', 'create PersistentVolumeClaim web-deployment-dev-persist', 'patch the workload', 'wait for the dev pod to be ready']);
    expect(plan.steps[1]).toMatchObject({ type: 'create', object: { spec: { resources: { requests: { storage: '1Gi' } }, storageClassName: 'fast' } } });
    expect((plan.steps[1] as { object: KubeObject }).object.metadata?.ownerReferences).toBeUndefined();
    expect(plan.steps.at(-1)).toMatchObject({ request: { claimName: 'web-deployment-dev-persist' } });
  });

  it('start takes a kept claim as it is, refuses one being deleted, and plans none without persist', () => {
    expect(planStart(state({ claim: claim() }), request()).steps[1]).toMatchObject({ type: 'found', noteBefore: expect.stringContaining('keeping') });
    const kept = { ...claim(), spec: { storageClassName: 'standard', resources: { requests: { storage: '5Gi' } } } };
    expect(planStart(state({ claim: kept }), request({ volume: { size: '5Gi' } })).steps[1]?.noteBefore).toBe('keeping PersistentVolumeClaim web-deployment-dev-persist from an earlier dev mode (5Gi, StorageClass standard)');
    expect(planStart(state({ claim: kept }), request({ volume: { size: '9Gi' } })).steps[1]?.noteBefore).toMatch(/the size asked apply to a new claim only/);
    expect(() => planStart(state({ claim: claim({ deletionTimestamp: '2026-12-01T11:00:00Z' }) }), request())).toThrow(/is being deleted/);
    expect(planStart(state(), request({ settings: {} })).steps.map((s) => s.label)).not.toContain('create PersistentVolumeClaim web-deployment-dev-persist');
  });

  it('end deletes it only with --delete-volumes, last', () => {
    const endState = { leftovers: [], devPods: [], clampedHpas: [], claim: claim() };
    const ref = { kind: deployment, name: 'web', namespace: NS };
    expect(planEnd(endState, { ref, timeoutMs: 1000 }).steps).toEqual([]);
    const steps = planEnd(endState, { ref, timeoutMs: 1000, deleteVolumes: true }).steps;
    expect(steps.at(-1)).toMatchObject({ type: 'delete', ref: { kind: 'PersistentVolumeClaim', name: 'web-deployment-dev-persist' }, options: { uid: 'c1' } });
  });
});

describe('a dev pod and its claim', () => {
  const containers = ['app', 'kubectl-dev-sync'];
  const pending = (conditions: unknown[] = [], initContainerStatuses: unknown[] = []): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Pending', conditions, initContainerStatuses } });
  const facts = { name: 'web-deployment-dev-persist', namespace: NS };
  const unbound = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.' }];

  it('fails when the provisioner said why the claim cannot bind, naming it', () => {
    const health = podHealth(pending(unbound), containers, { ...facts, phase: 'Pending', warning: { reason: 'ProvisioningFailed', message: 'storageclass.storage.k8s.io "nope" not found' } });
    expect(health).toMatchObject({ state: 'failed', reason: 'PersistentVolumeClaim web-deployment-dev-persist cannot bind: ProvisioningFailed: storageclass.storage.k8s.io "nope" not found', hint: expect.stringContaining('--persist-class') });
  });

  it('waits for a claim still being provisioned, but a pod unschedulable for other reasons fails as before', () => {
    expect(podHealth(pending(unbound), containers, { ...facts, phase: 'Pending' })).toEqual({ state: 'waiting', reason: 'PersistentVolumeClaim web-deployment-dev-persist is Pending: waiting for its volume' });
    const noNode = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }];
    expect(podHealth(pending(noNode), containers, { ...facts, phase: 'Pending' })).toMatchObject({ state: 'failed', reason: expect.stringContaining('Insufficient cpu') });
  });

  it('fails when the init container could not make the directories', () => {
    const init = [{ name: 'kubectl-dev-volume', ready: false, state: { terminated: { exitCode: 1, message: "mkdir: can't create directory '/var/kubectl-dev/volume/x': Permission denied" } } }];
    expect(podHealth(pending([], init), containers, { ...facts, phase: 'Bound' })).toMatchObject({ state: 'failed', reason: expect.stringMatching(/kubectl-dev-volume could not make .*Permission denied/) });
    expect(podHealth(pending([], [{ name: 'kubectl-dev-volume', state: { running: {} } }]), containers, { ...facts, phase: 'Bound' })).toMatchObject({ state: 'waiting' });
  });
});

describe('kubectl dev volumes rows', () => {
  it('name, workload, size (capacity once bound), status, age', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const bound = claim({ creationTimestamp: '2026-12-01T09:00:00Z', annotations: { 'dev.kubectl-dev.io/generated-for': 'Deployment/web' } });
    bound.spec = { resources: { requests: { storage: '5Gi' } } };
    bound.status = { phase: 'Bound', capacity: { storage: '5Gi' } };
    expect(volumeRow(bound, now)).toEqual({ namespace: NS, name: 'web-deployment-dev-persist', workload: 'Deployment/web', size: '5Gi', status: 'Bound', age: '3h' });
    expect(volumeRow(claim({ deletionTimestamp: 'x' }), now)).toMatchObject({ status: 'Terminating', age: '?' });
    expect([age(now - 5000, now), age(now - 600_000, now), age(now - 4 * 86_400_000, now)]).toEqual(['5s', '10m', '4d']);
  });
});

describe('--dry-run', () => {
  it('prints the claim start would create', async () => {
    const { formatChanges } = await import('../../../src/cli/dry-run.ts');
    const text = formatChanges(planStart(state(), request()).steps);
    expect(text).toContain('2. create PersistentVolumeClaim web-deployment-dev-persist');
    expect(text).toMatch(/storage: 5Gi/);
  });
});
