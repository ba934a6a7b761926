// The plans of start and end, computed from plain objects: no cluster, no clock, no keys.
import { describe, expect, it } from 'vitest';
import { enterWorkload } from '../../../src/core/enter.ts';
import { DevError } from '../../../src/core/errors.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../../src/core/kinds.ts';
import { CLAMPED_FOR_LABEL, HPA_ORIGINAL_ANNOTATION, ORIGINAL_CONFIGMAP_ANNOTATION, ORIGINAL_CONFIGMAP_KEY, SINCE_ANNOTATION, SYNC_SECRET_ANNOTATION, WORKLOAD_LABEL } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { planEnd, type EndState } from '../../../src/live/end-plan.ts';
import { planStart, type StartRequest, type StartState } from '../../../src/live/start-plan.ts';
import type { CreateStep, PatchStep, PlanStep } from '../../../src/live/plan.ts';
import { formatChanges } from '../../../src/cli/dry-run.ts';

const NS = 'team';
const NOW = '2026-12-01T12:00:00.000Z';
const kindOf = (name: string): WorkloadKind => WORKLOAD_KINDS.find((k) => k.kind === name)!;
const apiVersion = (k: WorkloadKind) => (k.group ? `${k.group}/${k.version}` : k.version);

function podSpec() {
  return { containers: [{ name: 'app', image: 'node:24' }] };
}

/** A workload of the kind as the API server returns it. */
function workloadOf(kindName: string, extra: { annotations?: Record<string, string>; spec?: Record<string, unknown> } = {}): KubeObject {
  const kind = kindOf(kindName);
  const metadata = { name: 'web', namespace: NS, uid: 'uid-1', resourceVersion: '7', generation: 3, labels: { app: 'web' }, ...(extra.annotations ? { annotations: extra.annotations } : {}) };
  const template = { metadata: { labels: { app: 'web' } }, spec: podSpec() };
  const specs: Record<string, Record<string, unknown>> = {
    Deployment: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
    StatefulSet: { replicas: 2, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template },
    DaemonSet: { selector: { matchLabels: { app: 'web' } }, template },
    Job: { template: { ...template, spec: { ...podSpec(), restartPolicy: 'Never' } } },
    CronJob: { schedule: '* * * * *', jobTemplate: { spec: { template: { ...template, spec: { ...podSpec(), restartPolicy: 'Never' } } } } },
    Pod: podSpec(),
  };
  return { apiVersion: apiVersion(kind), kind: kindName, metadata, spec: { ...specs[kindName], ...extra.spec } };
}

const request = (kindName: string, more: Partial<StartRequest> = {}): StartRequest => ({ ref: { kind: kindOf(kindName), name: 'web', namespace: NS }, settings: {}, timeoutMs: 60_000, ...more });
const secretMade = (config = 'fresh'): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-dev-sync', namespace: NS }, data: { 'config.xml': config } });
const stateOf = (workload: KubeObject | undefined, more: Partial<StartState> = {}): StartState => ({ now: NOW, secret: { made: secretMade() }, hpas: [], generated: {}, ...(workload ? { workload } : {}), ...more });
const labels = (steps: readonly PlanStep[]) => steps.map((s) => s.label);

describe('planStart', () => {
  it.each([
    ['Deployment', ['create the sync Secret', 'patch the workload', 'wait for the dev pod to be ready']],
    ['StatefulSet', ['create the sync Secret', 'patch the workload', 'wait for the dev pod to be ready']],
    ['DaemonSet', ['create the sync Secret', 'patch the workload', 'create Deployment web-dev', 'wait for the dev pod to be ready']],
    ['Job', ['create the sync Secret', 'patch the workload', 'create Job web-dev', 'wait for the dev pod to be ready']],
    ['CronJob', ['create the sync Secret', 'patch the workload', 'create Job web-dev', 'wait for the dev pod to be ready']],
    ['Pod', ['create the sync Secret', 'save the original Pod in a ConfigMap', 'delete the original Pod', 'wait until the original Pod is gone', 'create the dev Pod', 'wait for the dev pod to be ready']],
  ])('%s: the steps in order', (kindName, expected) => {
    const workload = workloadOf(kindName);
    const before = structuredClone(workload);
    const plan = planStart(stateOf(workload), request(kindName));
    expect(labels(plan.steps)).toEqual(expected);
    expect(workload).toEqual(before);
    // Pure: the same state gives the same plan.
    expect(planStart(stateOf(workloadOf(kindName)), request(kindName))).toEqual(plan);
  });

  it('patches with a resourceVersion precondition, the generation it will have and the time read', () => {
    const plan = planStart(stateOf(workloadOf('Deployment')), request('Deployment'));
    const patch = plan.steps[1] as PatchStep;
    expect(patch.precondition?.resourceVersion).toBe('7');
    expect(patch.operations).toContainEqual({ op: 'replace', path: '/spec/replicas', value: 1 });
    const annotations = patch.operations.find((op) => op.path === '/metadata/annotations') as { value: Record<string, string> };
    expect(annotations.value['dev.kubectl-dev.io/generation']).toBe('4');
    expect(annotations.value[SINCE_ANNOTATION]).toBe(NOW);
    expect(plan.steps.at(-1)).toMatchObject({ type: 'wait-dev-pod', creator: { step: 1 }, request: { podCreator: 'web', since: new Date(Date.parse(NOW) - 60_000) } });
  });

  it('a generated object creates the dev pod: the wait follows it, or the one there already', () => {
    const plan = planStart(stateOf(workloadOf('DaemonSet')), request('DaemonSet'));
    expect(plan.steps.at(-1)).toMatchObject({ creator: { step: 2 }, request: { podCreator: 'web-dev' } });
    const existing: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-dev', namespace: NS } };
    const again = planStart(stateOf(workloadOf('DaemonSet'), { generated: { 'web-dev': existing } }), request('DaemonSet'));
    expect(labels(again.steps)).toEqual(['create the sync Secret', 'patch the workload', 'wait for the dev pod to be ready']);
    expect(again.steps.at(-1)).toMatchObject({ creator: { object: existing } });
  });

  it('clamps the HPAs that target the workload, before the workload changes', () => {
    const hpa = (name: string, target: string, labels: Record<string, string> = {}): KubeObject => ({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name, namespace: NS, resourceVersion: '11', labels },
      spec: { minReplicas: 2, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target } },
    });
    const hpas = [hpa('web', 'web'), hpa('other', 'other'), hpa('done', 'web', { [CLAMPED_FOR_LABEL]: 'deployment.web' })];
    const plan = planStart(stateOf(workloadOf('Deployment'), { hpas }), request('Deployment'));
    expect(labels(plan.steps)).toEqual(['create the sync Secret', 'clamp HorizontalPodAutoscaler web', 'patch the workload', 'wait for the dev pod to be ready']);
    const clamp = plan.steps[1] as PatchStep;
    expect(clamp.ref).toEqual({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'web', namespace: NS });
    expect(clamp.precondition?.resourceVersion).toBe('11');
    expect(clamp.operations).toEqual(expect.arrayContaining([{ op: 'replace', path: '/spec/maxReplicas', value: 1 }, { op: 'replace', path: '/spec/minReplicas', value: 1 }]));
    expect(JSON.stringify(clamp.operations)).toContain(HPA_ORIGINAL_ANNOTATION);
    expect(formatChanges(plan.steps)).toContain('2. clamp HorizontalPodAutoscaler web\n   patch HorizontalPodAutoscaler/web (namespace team)');
  });

  it('keeps an original too large for an annotation in a ConfigMap owned by the workload (unless it is there)', () => {
    const big = workloadOf('Deployment', { annotations: { note: 'x'.repeat(150_000) } });
    const plan = planStart(stateOf(big), request('Deployment'));
    expect(labels(plan.steps)).toEqual(['create the sync Secret', 'save the original in a ConfigMap', 'patch the workload', 'wait for the dev pod to be ready']);
    const configMap = (plan.steps[1] as CreateStep).object;
    expect(configMap.metadata).toMatchObject({ name: 'web-deployment-dev-original', namespace: NS, ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'uid-1' }] });
    expect(JSON.parse((configMap.data as Record<string, string>)[ORIGINAL_CONFIGMAP_KEY]!).annotations.note).toHaveLength(150_000);
    expect((plan.steps[2] as PatchStep).operations).toContainEqual({ op: 'add', path: `/metadata/annotations/${ORIGINAL_CONFIGMAP_ANNOTATION.replace('/', '~1')}`, value: 'web-deployment-dev-original' });
    const again = planStart(stateOf(big, { originalConfigMap: configMap }), request('Deployment'));
    expect(labels(again.steps)).not.toContain('save the original in a ConfigMap');
  });

  it.each(['Deployment', 'DaemonSet', 'CronJob', 'Pod'])('%s: the dev pod template names the sync Secret it is for, so a new Secret makes a new dev pod', (kindName) => {
    const template = (plan: ReturnType<typeof planStart>) => {
      const holder = plan.mode.generated[0] ?? plan.mode.devWorkload;
      const spec = holder.spec as any;
      return (holder.kind === 'Pod' ? holder.metadata : (spec.jobTemplate?.spec ?? spec).template.metadata).annotations[SYNC_SECRET_ANNOTATION];
    };
    const one = template(planStart(stateOf(workloadOf(kindName), { secret: { made: secretMade('keys one') } }), request(kindName)));
    const two = template(planStart(stateOf(workloadOf(kindName), { secret: { made: secretMade('keys two') } }), request(kindName)));
    expect(one).toMatch(/^[0-9a-f]{16}$/);
    expect(two).not.toBe(one);
    // A Secret left by an interrupted start and kept: the template names it, not the one made now.
    const found = { ...secretMade('keys one'), metadata: { name: 'web-dev-sync', namespace: NS, resourceVersion: '4' } };
    expect(template(planStart(stateOf(workloadOf(kindName), { secret: { made: secretMade('keys two'), found, fitting: found } }), request(kindName)))).toBe(one);
    // The keys themselves are not in the workload.
    expect(JSON.stringify(planStart(stateOf(workloadOf(kindName), { secret: { made: secretMade('keys one') } }), request(kindName)).mode)).not.toContain('keys one');
  });

  it('already in dev mode with a sync Secret made again: the dev pod template takes its mark (a new dev pod); with the Secret kept, nothing', () => {
    const started = planStart(stateOf(workloadOf('Deployment'), { secret: { made: secretMade('keys one') } }), request('Deployment'));
    const live = { ...started.mode.devWorkload, metadata: { ...started.mode.devWorkload.metadata, resourceVersion: '8', generation: 4 } };
    const again = planStart(stateOf(live, { original: workloadOf('Deployment'), secret: { made: secretMade('keys two') } }), request('Deployment'));
    expect(labels(again.steps)).toEqual(['create the sync Secret', 'give the dev pod the new sync Secret', 'wait for the dev pod to be ready']);
    const remark = again.steps[1] as PatchStep;
    expect(remark.operations.map((op) => op.path).sort()).toEqual(['/metadata/annotations/dev.kubectl-dev.io~1generation', '/spec/template/metadata/annotations/dev.kubectl-dev.io~1sync-secret']);
    expect(remark.precondition?.resourceVersion).toBe('8');
    // The dev pod waited for is the one the patched template makes.
    expect((again.steps[2] as any).creator).toEqual({ step: 1 });
    const found = { ...secretMade('keys one'), metadata: { name: 'web-dev-sync', namespace: NS, resourceVersion: '4' } };
    const kept = planStart(stateOf(live, { original: workloadOf('Deployment'), secret: { made: secretMade('keys two'), found, fitting: found } }), request('Deployment'));
    expect(labels(kept.steps)).toEqual(['create the sync Secret', 'wait for the dev pod to be ready']);
    // A Secret sync made again meanwhile, kept by this start: not the one the template names.
    const bySync = { ...secretMade('keys three'), metadata: { name: 'web-dev-sync', namespace: NS, resourceVersion: '5' } };
    const healed = planStart(stateOf(live, { original: workloadOf('Deployment'), secret: { made: secretMade('keys two'), found: bySync, fitting: bySync } }), request('Deployment'));
    expect(labels(healed.steps)).toEqual(['create the sync Secret', 'give the dev pod the new sync Secret', 'wait for the dev pod to be ready']);
  });

  it('a DaemonSet already in dev mode with a new sync Secret: its generated Deployment takes the mark', () => {
    const started = planStart(stateOf(workloadOf('DaemonSet'), { secret: { made: secretMade('keys one') } }), request('DaemonSet'));
    const generated = { ...started.mode.generated[0]!, metadata: { ...started.mode.generated[0]!.metadata, resourceVersion: '3' } };
    const again = planStart(stateOf(started.mode.devWorkload, { original: workloadOf('DaemonSet'), generated: { 'web-dev': generated }, secret: { made: secretMade('keys two') } }), request('DaemonSet'));
    const remark = again.steps.find((s) => s.label === 'give the dev pod the new sync Secret') as PatchStep;
    expect(remark.ref).toMatchObject({ kind: 'Deployment', name: 'web-dev' });
    expect(remark.operations.map((op) => op.path)).toEqual(['/spec/template/metadata/annotations/dev.kubectl-dev.io~1sync-secret']);
  });

  it('a Pod already in dev mode with a sync Secret made again: deleted by uid and created again with the mark (its state ConfigMap kept, or saved first)', () => {
    const started = planStart(stateOf(workloadOf('Pod'), { secret: { made: secretMade('keys one') } }), request('Pod'));
    const devPod = (started.steps.find((s) => s.label === 'create the dev Pod') as CreateStep).object;
    const live = { ...devPod, metadata: { ...devPod.metadata, uid: 'dev-uid', resourceVersion: '9' }, spec: { ...(devPod.spec as object), nodeName: 'node-1' } };
    const podState = (started.steps.find((s) => s.label === 'save the original Pod in a ConfigMap') as CreateStep).object;
    const again = planStart(stateOf(live, { original: workloadOf('Pod'), podState, secret: { made: secretMade('keys two') } }), request('Pod'));
    expect(labels(again.steps)).toEqual(['create the sync Secret', 'delete the dev Pod', 'wait until the dev Pod is gone', 'create the dev Pod with the new sync Secret', 'wait for the dev pod to be ready']);
    expect(again.steps[1]).toMatchObject({ type: 'delete', options: { uid: 'dev-uid' }, noteBefore: expect.stringContaining('the dev pod is replaced') });
    const remade = (again.steps[3] as CreateStep).object;
    expect(remade.metadata?.uid).toBeUndefined();
    expect(remade.metadata?.resourceVersion).toBeUndefined();
    expect(remade.metadata?.annotations?.[SYNC_SECRET_ANNOTATION]).not.toBe(devPod.metadata?.annotations?.[SYNC_SECRET_ANNOTATION]);
    expect({ ...remade.metadata?.annotations, [SYNC_SECRET_ANNOTATION]: 'x' }).toEqual({ ...devPod.metadata?.annotations, [SYNC_SECRET_ANNOTATION]: 'x' });
    expect((again.steps[4] as any).creator).toEqual({ step: 3 });
    // Without its state ConfigMap, the original is saved before the dev Pod is deleted.
    const unsaved = planStart(stateOf(live, { original: workloadOf('Pod'), secret: { made: secretMade('keys two') } }), request('Pod'));
    expect(labels(unsaved.steps).slice(0, 3)).toEqual(['create the sync Secret', 'save the original Pod in a ConfigMap', 'delete the dev Pod']);
    expect(JSON.parse(((unsaved.steps[1] as CreateStep).object.data as Record<string, string>)[ORIGINAL_CONFIGMAP_KEY]!).metadata.name).toBe('web');
    // The Secret kept: nothing.
    const found = { ...secretMade('keys one'), metadata: { name: 'web-dev-sync', namespace: NS, resourceVersion: '4' } };
    expect(labels(planStart(stateOf(live, { original: workloadOf('Pod'), podState, secret: { made: secretMade('keys two'), found, fitting: found } }), request('Pod')).steps))
      .toEqual(['create the sync Secret', 'wait for the dev pod to be ready']);
  });

  it('restarts pod 0 of an OnDelete StatefulSet (whether it must go is decided when the step runs)', () => {
    const sts = workloadOf('StatefulSet', { spec: { updateStrategy: { type: 'OnDelete' } } });
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: NS, uid: 'pod-uid', labels: { app: 'web' } } };
    const plan = planStart(stateOf(sts, { firstPod: pod }), request('StatefulSet'));
    expect(labels(plan.steps)).toEqual(['create the sync Secret', 'patch the workload', 'delete the StatefulSet pod so that it restarts', 'wait for the dev pod to be ready']);
    expect(plan.steps[2]).toMatchObject({ type: 'restart-pod', ref: { kind: 'StatefulSet', name: 'web' }, pod: 'web-0' });
    // No pod 0 (no replicas), or the rolling strategy: nothing to restart.
    expect(labels(planStart(stateOf(sts), request('StatefulSet')).steps)).not.toContain('delete the StatefulSet pod so that it restarts');
    expect(labels(planStart(stateOf(workloadOf('StatefulSet'), { firstPod: pod }), request('StatefulSet')).steps)).not.toContain('delete the StatefulSet pod so that it restarts');
  });

  it('a Pod: its original saved in a ConfigMap, deleted by uid, waited for, recreated as the dev pod', () => {
    const plan = planStart(stateOf(workloadOf('Pod')), request('Pod'));
    const saved = (plan.steps[1] as CreateStep).object;
    expect(saved.metadata?.name).toBe('web-pod-dev-original');
    expect(JSON.parse((saved.data as Record<string, string>)[ORIGINAL_CONFIGMAP_KEY]!).metadata.uid).toBeUndefined();
    expect(plan.steps[2]).toMatchObject({ type: 'delete', options: { uid: 'uid-1' } });
    expect(plan.steps[3]).toMatchObject({ type: 'wait-gone', uid: 'uid-1', timeoutMs: 60_000 });
    expect((plan.steps[4] as CreateStep).object.metadata?.resourceVersion).toBeUndefined();
    expect(plan.steps[5]).toMatchObject({ creator: { step: 4 } });
  });

  it('a Secret left by an interrupted start: kept when it fits (its time goes to the workload), else replaced', () => {
    const found: KubeObject = { ...secretMade('left'), metadata: { name: 'web-dev-sync', namespace: NS, resourceVersion: '3', annotations: { [SINCE_ANNOTATION]: '2026-11-30T00:00:00.000Z' } } };
    const kept = planStart(stateOf(workloadOf('Deployment'), { secret: { made: secretMade(), found, fitting: secretMade('left') } }), request('Deployment'));
    // Found where a first start would create it: the same checkpoint, no request.
    expect(kept.steps.map((s) => [s.type, s.label])).toEqual([['found', 'create the sync Secret'], ['patch', 'patch the workload'], ['wait-dev-pod', 'wait for the dev pod to be ready']]);
    expect(JSON.stringify((kept.steps[1] as PatchStep).operations)).toContain('2026-11-30T00:00:00.000Z');
    const replaced = planStart(stateOf(workloadOf('Deployment'), { secret: { made: secretMade(), found, fitting: secretMade('other') } }), request('Deployment'));
    expect(labels(replaced.steps)).toEqual(['create the sync Secret', 'replace the sync Secret', 'patch the workload', 'wait for the dev pod to be ready']);
    expect(replaced.steps[1]).toMatchObject({ precondition: { resourceVersion: '3' }, noteBefore: expect.stringContaining('another work dir') });
  });

  it('already in dev mode with these settings: nothing to write', () => {
    const original = workloadOf('Deployment');
    const [dev] = enterWorkload(original, kindOf('Deployment'), {}, { now: NOW });
    const state = stateOf(dev, { original, secret: { made: secretMade(), found: secretMade('same'), fitting: secretMade('same') } });
    const plan = planStart(state, request('Deployment'));
    expect(plan.mode.alreadyInDevMode).toBe(true);
    expect(labels(plan.steps)).toEqual(['create the sync Secret', 'wait for the dev pod to be ready']);
    expect(formatChanges(plan.steps)).toBe('no change: the workload is already in dev mode with these settings\n');
    expect(() => planStart(state, request('Deployment', { settings: { image: 'other:1' } }))).toThrow(/already in dev mode with other settings/);
  });

  it('a missing workload: not found, or a Pod an interrupted start is replacing', () => {
    expect(() => planStart(stateOf(undefined), request('Deployment'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    const podState: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-pod-dev-original' } };
    expect(() => planStart(stateOf(undefined, { podState }), request('Pod'))).toThrow(expect.objectContaining({ code: 'CORRUPT_DEV_STATE' }));
  });

  it('without --wait, no wait', () => {
    expect(labels(planStart(stateOf(workloadOf('Job')), request('Job', { wait: false })).steps)).toEqual(['create the sync Secret', 'patch the workload', 'create Job web-dev']);
  });
});

describe('planEnd', () => {
  const endRequest = (kindName: string, force = false) => ({ ref: { kind: kindOf(kindName), name: 'web', namespace: NS }, timeoutMs: 60_000, force });
  const inDevMode = (kindName: string, extra = {}) => {
    const original = workloadOf(kindName, extra);
    const [dev] = enterWorkload(original, kindOf(kindName), {}, { now: NOW });
    return { original, dev: { ...dev!, metadata: { ...dev!.metadata, resourceVersion: '9' } } };
  };
  const endState = (more: Partial<EndState>): EndState => ({ leftovers: [], devPods: [], clampedHpas: [], ...more });
  const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-dev-sync', namespace: NS } };

  it('restores the workload by patch, then removes leftovers, orphaned dev pods, and HPA clamps', () => {
    const { original, dev } = inDevMode('Deployment');
    const orphan: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-x', uid: 'u-x' } };
    const owned: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-y', ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1', controller: true }] } };
    const hpa: KubeObject = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', labels: { [CLAMPED_FOR_LABEL]: 'deployment.web' }, annotations: { [HPA_ORIGINAL_ANNOTATION]: '{"maxReplicas":5,"minReplicas":2}' } }, spec: { minReplicas: 1, maxReplicas: 1 } };
    const plan = planEnd(endState({ current: dev, original, leftovers: [secret], devPods: [orphan, owned], clampedHpas: [hpa] }), endRequest('Deployment'));
    expect(labels(plan.steps)).toEqual(['restore the workload', 'delete Secret web-dev-sync', 'delete the orphaned dev pod web-x', 'restore HorizontalPodAutoscaler web']);
    expect(plan.steps[0]).toMatchObject({ type: 'patch', precondition: { resourceVersion: '9' } });
    expect((plan.steps[0] as PatchStep).operations).toContainEqual({ op: 'replace', path: '/spec/replicas', value: 3 });
    expect((plan.steps[3] as PatchStep).operations).toEqual(expect.arrayContaining([{ op: 'replace', path: '/spec/maxReplicas', value: 5 }]));
    expect(plan).toMatchObject({ wasInDevMode: true, restoreStep: 0 });
  });

  it('refuses a workload changed while in dev mode unless forced', () => {
    const { original, dev } = inDevMode('Deployment');
    expect(() => planEnd(endState({ current: dev, original, drift: 'its labels changed (x)' }), endRequest('Deployment'))).toThrow(expect.objectContaining({ code: 'DRIFT' }));
    expect(labels(planEnd(endState({ current: dev, original, drift: 'its labels changed (x)' }), endRequest('Deployment', true)).steps)).toEqual(['restore the workload']);
  });

  it('an OnDelete StatefulSet: its dev pod 0 is deleted after the restore', () => {
    const { original, dev } = inDevMode('StatefulSet', { spec: { updateStrategy: { type: 'OnDelete' } } });
    const firstPod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', uid: 'p0', labels: { [WORKLOAD_LABEL]: 'statefulset.web' } } };
    expect(labels(planEnd(endState({ current: dev, original, firstPod }), endRequest('StatefulSet')).steps)).toEqual(['restore the workload', 'delete the StatefulSet pod so that it restarts']);
    // An end interrupted after the restore: the workload is the original, its pod 0 maybe still a dev pod.
    expect(labels(planEnd(endState({ current: original, firstPod }), endRequest('StatefulSet')).steps)).toEqual(['delete the StatefulSet pod so that it restarts']);
  });

  it('a Pod comes back by delete and create; after an interrupted start, from its ConfigMap', () => {
    const { dev } = inDevMode('Pod');
    const plan = planEnd(endState({ current: dev, leftovers: [secret] }), endRequest('Pod'));
    expect(labels(plan.steps)).toEqual(['delete the dev Pod', 'wait until the dev Pod is gone', 'create the original Pod', 'delete Secret web-dev-sync']);
    expect((plan.steps[2] as CreateStep).object.spec).toEqual(podSpec());
    const podState: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-pod-dev-original' }, data: { [ORIGINAL_CONFIGMAP_KEY]: JSON.stringify(workloadOf('Pod')) } };
    expect(labels(planEnd(endState({ podState }), endRequest('Pod')).steps)).toEqual(['create the original Pod']);
  });

  it('not in dev mode: only leftovers; a missing workload is not found when nothing was removed', () => {
    const plan = planEnd(endState({ current: workloadOf('Job'), leftovers: [secret] }), endRequest('Job'));
    expect(plan).toMatchObject({ wasInDevMode: false });
    expect(plan.missing).toBeUndefined();
    const missing = planEnd(endState({}), endRequest('Job'));
    expect(missing.steps).toEqual([]);
    expect(missing.missing).toBeInstanceOf(DevError);
    expect(missing.missing?.code).toBe('NOT_FOUND');
  });
});
