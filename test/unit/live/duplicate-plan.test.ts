// Duplicate mode's plans from plain objects: start makes a Secret and a copy and never a step on
// the original; end deletes the copy and its Secret and restores nothing.
import { describe, expect, it } from 'vitest';
import { duplicateWorkload } from '../../../src/core/duplicate.ts';
import { enterWorkload } from '../../../src/core/enter.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../../src/core/kinds.ts';
import { DUPLICATE_OF_ANNOTATION, GENERATED_LABEL, SINCE_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { planDuplicate, type DuplicateState } from '../../../src/live/duplicate-plan.ts';
import { planEnd } from '../../../src/live/end-plan.ts';
import type { CreateStep, DeleteStep, PlanStep } from '../../../src/live/plan.ts';
import type { StartRequest } from '../../../src/live/start-plan.ts';
import { formatChanges } from '../../../src/cli/dry-run.ts';

const NS = 'team';
const NOW = '2026-12-01T12:00:00.000Z';
const kindOf = (name: string): WorkloadKind => WORKLOAD_KINDS.find((k) => k.kind === name)!;

function workloadOf(kindName: string): KubeObject {
  const kind = kindOf(kindName);
  const podSpec = { containers: [{ name: 'app', image: 'node:24' }], restartPolicy: kindName === 'Job' || kindName === 'CronJob' ? 'Never' : 'Always' };
  const template = { metadata: { labels: { app: 'web' } }, spec: podSpec };
  const specs: Record<string, unknown> = {
    Deployment: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
    StatefulSet: { replicas: 2, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template },
    DaemonSet: { selector: { matchLabels: { app: 'web' } }, template },
    Job: { template },
    CronJob: { schedule: '* * * * *', jobTemplate: { spec: { template } } },
    Pod: podSpec,
  };
  return {
    apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version, kind: kindName,
    metadata: { name: 'web', namespace: NS, uid: 'uid-1', resourceVersion: '7', labels: { app: 'web' } }, spec: specs[kindName],
  };
}

const request = (kindName: string, more: Partial<StartRequest> = {}): StartRequest => ({ ref: { kind: kindOf(kindName), name: 'web', namespace: NS }, settings: {}, timeoutMs: 60_000, duplicate: {}, ...more });
const secretMade = (): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-dev-alice-deployment-dev-sync', namespace: NS }, data: { 'config.xml': 'fresh' } });
const stateOf = (original: KubeObject | undefined, more: Partial<DuplicateState> = {}): DuplicateState => ({ now: NOW, user: 'alice', secret: { made: secretMade() }, ...(original ? { original } : {}), ...more });
const refs = (steps: readonly PlanStep[]) => steps.map((s) => (s.type === 'create' || s.type === 'found' ? `${s.type} ${s.object.kind}/${s.object.metadata?.name}` : s.type === 'wait-dev-pod' ? 'wait' : `${s.type} ${s.ref.kind}/${s.ref.name}`));

describe('planDuplicate', () => {
  it.each([
    ['Deployment', 'Deployment', true], ['StatefulSet', 'StatefulSet', true], ['DaemonSet', 'Deployment', true], ['Job', 'Job', false], ['CronJob', 'Job', true], ['Pod', 'Pod', false],
  ])('%s: Secret, copy (%s), wait; no step touches the original', (kindName, copyKind, owned) => {
    const original = workloadOf(kindName);
    const before = structuredClone(original);
    const plan = planDuplicate(stateOf(original), request(kindName));
    expect(refs(plan.steps)).toEqual([`create Secret/web-dev-alice-deployment-dev-sync`, `create ${copyKind}/web-dev-alice`, 'wait']);
    expect(original).toEqual(before);
    expect(plan.steps.some((s) => s.type === 'patch' || s.type === 'delete')).toBe(false);
    const create = plan.steps[1] as CreateStep;
    expect(create.keepExisting).toBe(true);
    // Owned by the original where its lifetime is dev mode's: the copy goes with it.
    const owners = create.object.metadata?.ownerReferences as { uid: string }[] | undefined;
    expect(owners?.map((o) => o.uid)).toEqual(owned ? ['uid-1'] : undefined);
    const secret = (plan.steps[0] as CreateStep).object;
    expect(secret.metadata?.labels?.[GENERATED_LABEL]).toBe(`${copyKind.toLowerCase()}.web-dev-alice`);
    expect(secret.metadata?.annotations?.[DUPLICATE_OF_ANNOTATION]).toBe(`${kindName}/web`);
    expect(plan.copyStep).toBe(1);
    expect(plan.alreadyInDevMode).toBe(false);
    const wait = plan.steps[2]!;
    expect(wait.type === 'wait-dev-pod' && wait.request).toMatchObject({ workloadLabel: `${copyKind.toLowerCase()}.web-dev-alice`, podCreator: 'web-dev-alice', workload: `${copyKind.toLowerCase()}/web-dev-alice` });
    expect(formatChanges(plan.steps)).toContain(`create ${copyKind}/web-dev-alice (namespace ${NS})`);
    // Pure: the same state gives the same plan.
    expect(planDuplicate(stateOf(workloadOf(kindName)), request(kindName))).toEqual(plan);
  });

  it('takes a copy it finds with the same settings (a second start), and refuses one with other settings or another origin', () => {
    const original = workloadOf('Deployment');
    const found = duplicateWorkload(original, kindOf('Deployment'), {}, { user: 'alice', now: '2026-11-30T00:00:00.000Z' });
    const again = planDuplicate(stateOf(original, { copy: found }), request('Deployment'));
    expect(again.alreadyInDevMode).toBe(true);
    expect(refs(again.steps)).toEqual(['create Secret/web-dev-alice-deployment-dev-sync', 'wait']);
    expect(again.copy.metadata?.annotations?.[SINCE_ANNOTATION]).toBe('2026-11-30T00:00:00.000Z');
    expect(() => planDuplicate(stateOf(original, { copy: found }), request('Deployment', { settings: { image: 'other:1' } }))).toThrow(/other settings/);
    expect(() => planDuplicate(stateOf(original, { copy: found }), request('Deployment', { duplicate: { takeTraffic: true } }))).toThrow(/other settings/);
    const stranger: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-dev-alice', namespace: NS } };
    expect(() => planDuplicate(stateOf(original, { copy: stranger }), request('Deployment'))).toThrow(/is not a dev copy of deployment\/web/);
  });

  it('copies an original in replace mode from its saved original, and refuses to copy a copy', () => {
    const original = workloadOf('Deployment');
    const inDevMode = enterWorkload(original, kindOf('Deployment'), {})[0]!;
    const plan = planDuplicate(stateOf(inDevMode, { source: original }), request('Deployment'));
    expect((plan.steps[1] as CreateStep).object.spec).toMatchObject({ replicas: 1 });
    const copy = duplicateWorkload(original, kindOf('Deployment'), {}, { user: 'bob' });
    expect(() => planDuplicate(stateOf(copy), { ...request('Deployment'), ref: { kind: kindOf('Deployment'), name: 'web-dev-bob', namespace: NS } })).toThrow(/is itself a dev copy \(of Deployment\/web\)/);
    expect(() => planDuplicate(stateOf(undefined), request('Deployment'))).toThrow(/deployment\/web not found in namespace team/);
  });

  it('--persist: the copy\'s own claim before the copy (created, or found from an earlier copy and kept), owned by nobody', () => {
    const persist = request('Deployment', { settings: { persist: ['/root/.cache'] }, volume: { size: '2Gi' } });
    const plan = planDuplicate(stateOf(workloadOf('Deployment')), persist);
    const claimName = 'web-dev-alice-deployment-dev-persist';
    expect(refs(plan.steps)).toEqual(['create Secret/web-dev-alice-deployment-dev-sync', `create PersistentVolumeClaim/${claimName}`, 'create Deployment/web-dev-alice', 'wait']);
    const claim = (plan.steps[1] as CreateStep).object;
    expect(claim.metadata?.ownerReferences).toBeUndefined();
    expect(claim.spec).toMatchObject({ resources: { requests: { storage: '2Gi' } } });
    // The wait knows the claim: a pod waiting for it to bind is not unschedulable.
    expect(plan.steps[3]!.type === 'wait-dev-pod' && plan.steps[3]!.request.claimName).toBe(claimName);
    const volumes = ((plan.steps[2] as CreateStep).object.spec as any).template.spec.volumes as { persistentVolumeClaim?: { claimName: string } }[];
    expect(volumes.map((v) => v.persistentVolumeClaim?.claimName).filter(Boolean)).toEqual([claimName]);
    const kept = planDuplicate(stateOf(workloadOf('Deployment'), { claim: { ...claim, metadata: { ...claim.metadata, uid: 'pvc-1' }, spec: { resources: { requests: { storage: '5Gi' } } } } }), persist);
    expect(refs(kept.steps)[1]).toBe(`found PersistentVolumeClaim/${claimName}`);
    expect(formatChanges(kept.steps)).toContain('the size asked apply to a new claim only');
    const deleting = { ...claim, metadata: { ...claim.metadata, deletionTimestamp: NOW } };
    expect(() => planDuplicate(stateOf(workloadOf('Deployment'), { claim: deleting }), persist)).toThrow(new RegExp(`${claimName} of deployment/web-dev-alice is being deleted`));
  });

  it('gives each user a copy of their own', () => {
    const alice = planDuplicate(stateOf(workloadOf('Deployment')), request('Deployment'));
    const bob = planDuplicate(stateOf(workloadOf('Deployment'), { user: 'bob@example.com' }), request('Deployment'));
    expect(alice.copyRef.name).toBe('web-dev-alice');
    expect(bob.copyRef.name).toMatch(/^web-dev-bob-[0-9a-z]{7}$/);
  });
});

describe('planEnd of a dev copy', () => {
  it.each(['Deployment', 'StatefulSet', 'Job', 'Pod'])('%s copy: deleted (not restored), with its Secret; the original is no step', (kindName) => {
    const copy = { ...duplicateWorkload(workloadOf(kindName === 'Job' ? 'CronJob' : kindName), kindOf(kindName === 'Job' ? 'CronJob' : kindName), {}, { user: 'alice' }) };
    copy.metadata = { ...copy.metadata, uid: 'copy-uid', resourceVersion: '9' };
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: NS, labels: { [GENERATED_LABEL]: 'x' } } };
    const plan = planEnd({ current: copy, leftovers: [secret], devPods: [], clampedHpas: [] }, { ref: { kind: kindOf(kindName), name: 'web-dev-alice', namespace: NS }, timeoutMs: 1000 });
    expect(refs(plan.steps)).toEqual([`delete ${kindName}/web-dev-alice`, `wait-gone ${kindName}/web-dev-alice`, 'delete Secret/s']);
    expect((plan.steps[0] as DeleteStep).options).toEqual({ uid: 'copy-uid', propagationPolicy: 'Background' });
    expect(plan.wasInDevMode).toBe(true);
    expect(plan.restoreStep).toBeUndefined();
    expect(plan.duplicateOf).toBe(`${kindName === 'Job' ? 'CronJob' : kindName}/web`);
  });
});
