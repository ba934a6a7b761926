// Duplicate mode's pure parts: the per-user name, and the dev copy of each kind made from plain objects.
import { describe, expect, it } from 'vitest';
import { copyOf, duplicateOf, duplicateRef, duplicateWorkload, isDuplicate } from '../../../src/core/duplicate.ts';
import { DevError } from '../../../src/core/errors.ts';
import { duplicateKindOf, WORKLOAD_KINDS, type WorkloadKind } from '../../../src/core/kinds.ts';
import {
  DEV_MODE_LABEL, DUPLICATE_FOR_ANNOTATION, DUPLICATE_OF_ANNOTATION, DUPLICATE_OF_LABEL, ORIGINAL_ANNOTATION, SIDECAR_CONTAINER, WORKLOAD_LABEL,
} from '../../../src/core/marks.ts';
import { COPY_NAME_MAX, duplicateName, userSuffix, USER_SUFFIX_MAX, workloadLabelValue } from '../../../src/core/names.ts';
import type { KubeObject } from '../../../src/core/objects.ts';

const kindOf = (name: string): WorkloadKind => WORKLOAD_KINDS.find((k) => k.kind === name)!;
const apiVersion = (k: WorkloadKind) => (k.group ? `${k.group}/${k.version}` : k.version);
const LABELS = { app: 'web', tier: 'front' };

function podSpec() {
  return { containers: [{ name: 'app', image: 'node:24', ports: [{ containerPort: 8080, hostPort: 80 }], readinessProbe: { tcpSocket: { port: 8080 } } }] };
}

/** A workload of the kind as the API server returns it. */
function workloadOf(kindName: string): KubeObject {
  const kind = kindOf(kindName);
  const metadata = { name: 'web', namespace: 'team', uid: 'uid-1', resourceVersion: '7', labels: { ...LABELS, 'app.kubernetes.io/instance': 'shop' }, annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:team/web' } };
  const template = { metadata: { labels: { ...LABELS }, annotations: { 'prometheus.io/scrape': 'true' } }, spec: podSpec() };
  const jobTemplate = { metadata: { labels: { ...LABELS, 'controller-uid': 'u', 'job-name': 'web' }, annotations: { 'prometheus.io/scrape': 'true' } }, spec: { ...podSpec(), restartPolicy: 'Never' } };
  const specs: Record<string, Record<string, unknown>> = {
    Deployment: { replicas: 3, paused: true, selector: { matchLabels: LABELS }, template, progressDeadlineSeconds: 77 },
    StatefulSet: {
      replicas: 2, serviceName: 'web', selector: { matchLabels: LABELS }, template, ordinals: { start: 5 }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain' },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
    DaemonSet: { selector: { matchLabels: LABELS }, template },
    Job: { selector: { matchLabels: { 'controller-uid': 'u' } }, ttlSecondsAfterFinished: 60, activeDeadlineSeconds: 600, backoffLimit: 2, parallelism: 4, completions: 8, template: jobTemplate },
    CronJob: { schedule: '* * * * *', jobTemplate: { spec: { backoffLimit: 3, ttlSecondsAfterFinished: 30, template: { ...template, spec: { ...podSpec(), restartPolicy: 'Never' } } } } },
    Pod: { ...podSpec(), nodeName: 'node-1' },
    Rollout: { replicas: 3, selector: { matchLabels: LABELS }, template, strategy: { blueGreen: { activeService: 'web', autoPromotionEnabled: false } } },
  };
  if (kindName === 'Pod') {
    const annotations = { ...metadata.annotations, ...template.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    return { apiVersion: 'v1', kind: 'Pod', metadata: { ...metadata, annotations, labels: { ...LABELS, 'pod-template-hash': 'abc' } }, spec: specs.Pod, status: { phase: 'Running' } };
  }
  return { apiVersion: apiVersion(kind), kind: kindName, metadata, spec: specs[kindName] };
}

/** The copy's pod labels and spec, wherever its kind keeps them. */
function podOf(copy: KubeObject): { labels: Record<string, string>; annotations: Record<string, string>; spec: any } {
  const kind = duplicateKindOf(kindOf(String(copy.kind)));
  const pick = (path: readonly string[]) => path.reduce((o: any, k) => o?.[k], copy);
  return { labels: pick(kind.podMetadataPath).labels, annotations: pick(kind.podMetadataPath).annotations, spec: pick(kind.podSpecPath) };
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('userSuffix and duplicateName', () => {
  it('keeps a user name that is already DNS-safe and short', () => {
    expect(userSuffix('alice')).toBe('alice');
    expect(userSuffix('kubernetes-admin')).toBe('kubernetes-admin');
    expect(duplicateName('web', 'alice')).toBe('web-dev-alice');
  });

  it('makes any other name DNS-safe, bounded and readable, with a hash of the whole name', () => {
    for (const user of ['alice@example.com', 'system:serviceaccount:ci:deploy-bot', 'https://issuer.example.com#0123456789abcdefABCDEF', 'Bob', 'system:admin', '@@@', 'a'.repeat(300)]) {
      const suffix = userSuffix(user);
      expect(suffix, user).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
      expect(suffix.length, user).toBeLessThanOrEqual(USER_SUFFIX_MAX);
      expect(userSuffix(user)).toBe(suffix);
    }
    expect(userSuffix('alice@example.com')).toMatch(/^alice-[0-9a-z]{7}$/);
    expect(userSuffix('system:serviceaccount:ci:deploy-bot')).toMatch(/^deploy-bot-[0-9a-z]{7}$/);
  });

  it('never gives two users the same suffix when their names differ only in what a DNS label cannot hold', () => {
    const users = ['a.b@x.io', 'a-b@x.io', 'A.B@x.io', 'a_b@x.io', 'alice', 'Alice', 'alice@x', 'system:serviceaccount:one:alice', 'system:serviceaccount:two:alice'];
    expect(new Set(users.map(userSuffix)).size).toBe(users.length);
  });

  it('bounds the copy name so that every copy kind is valid, the same for the same input', () => {
    const long = 'x'.repeat(200);
    const name = duplicateName(long, 'alice@example.com');
    expect(name.length).toBeLessThanOrEqual(COPY_NAME_MAX);
    expect(name).toMatch(/^x+-[0-9a-z]{7}-dev-alice-[0-9a-z]{7}$/);
    expect(duplicateName(long, 'alice@example.com')).toBe(name);
    expect(duplicateName(long, 'bob')).not.toBe(name);
  });
});

describe('the dev copy of each kind', () => {
  it.each([
    ['Deployment', 'Deployment'], ['StatefulSet', 'StatefulSet'], ['DaemonSet', 'Deployment'], ['Job', 'Job'], ['CronJob', 'Job'], ['Pod', 'Pod'], ['Rollout', 'Deployment'],
  ])('%s → %s in dev mode, the original untouched, selected by neither its controller nor its Services', (kindName, copyKindName) => {
    const original = workloadOf(kindName);
    const before = structuredClone(original);
    const copy = duplicateWorkload(original, kindOf(kindName), { image: 'busybox:1.36' }, { user: 'alice', now: '2026-12-01T12:00:00.000Z' });
    expect(original).toEqual(before);
    expect(copy.kind).toBe(copyKindName);
    expect(copy.apiVersion).toBe(apiVersion(kindOf(copyKindName)));
    expect(copy.metadata?.name).toBe('web-dev-alice');
    expect(copy.metadata?.namespace).toBe('team');
    expect(duplicateRef(kindOf(kindName), 'web', 'alice')).toEqual({ kind: kindOf(copyKindName), name: 'web-dev-alice' });
    // In dev mode, as a copy: no saved original (end deletes it), the marks naming the original and the user.
    expect(isDuplicate(copy)).toBe(true);
    expect(duplicateOf(copy)).toBe(`${kindName}/web`);
    expect(copy.metadata?.labels?.[DEV_MODE_LABEL]).toBe('true');
    expect(copy.metadata?.labels?.[DUPLICATE_OF_LABEL]).toBe(workloadLabelValue(kindName, 'web'));
    expect(copy.metadata?.annotations?.[DUPLICATE_FOR_ANNOTATION]).toBe('alice');
    expect(copy.metadata?.annotations?.[ORIGINAL_ANNOTATION]).toBeUndefined();
    // None of the original's own identity: no uid, resourceVersion, owners, GitOps tracking marks.
    expect(copy.metadata).not.toHaveProperty('uid');
    expect(copy.metadata).not.toHaveProperty('resourceVersion');
    expect(JSON.stringify(copy.metadata)).not.toContain('argocd');
    expect(JSON.stringify(copy.metadata)).not.toContain('last-applied');
    expect(copy).not.toHaveProperty('status');
    // The dev rewrite of the original's template: dev image, sidecar, no probes, no host ports.
    const pod = podOf(copy);
    const app = pod.spec.containers.find((c: { name: string }) => c.name === 'app');
    expect(app.image).toBe('busybox:1.36');
    expect(app.readinessProbe).toBeUndefined();
    expect(app.ports).toEqual([{ containerPort: 8080 }]);
    expect(pod.spec.containers.map((c: { name: string }) => c.name)).toContain(SIDECAR_CONTAINER);
    expect(pod.annotations['prometheus.io/scrape']).toBe('true');
    expect(pod.annotations[DUPLICATE_OF_ANNOTATION]).toBe(`${kindName}/web`);
    // Only dev mode's labels on its pods: the original's selector and a Service selecting app=web do not match.
    expect(Object.keys(pod.labels).every((k) => k.startsWith('dev.kubectl-dev.io/'))).toBe(true);
    expect(pod.labels[WORKLOAD_LABEL]).toBe(workloadLabelValue(copyKindName, 'web-dev-alice'));
    expect(selects(LABELS, pod.labels)).toBe(false);
    expect(selects({ app: 'web' }, pod.labels)).toBe(false);
    // Its own selector, matching its own pods only.
    const copyKind = kindOf(copyKindName);
    if (copyKind.selectorPath) {
      const selector = copyKind.selectorPath.reduce((o: any, k) => o?.[k], copy);
      expect(selector).toEqual({ matchLabels: { [WORKLOAD_LABEL]: pod.labels[WORKLOAD_LABEL] } });
    }
    if (copyKind.hasReplicas) expect((copy.spec as any).replicas).toBe(1);
  });

  it('keeps the spec fields that shape the pod, and drops scale, selectors, schedules and deadlines', () => {
    const deployment = copyOf(workloadOf('Deployment'), kindOf('Deployment'), { user: 'alice' }).spec as any;
    expect(deployment.progressDeadlineSeconds).toBe(77);
    expect(deployment).not.toHaveProperty('paused');
    expect(deployment).not.toHaveProperty('replicas');
    const job = copyOf(workloadOf('Job'), kindOf('Job'), { user: 'alice' }).spec as any;
    expect(job).toMatchObject({ backoffLimit: 2, parallelism: 1, completions: 1 });
    for (const field of ['ttlSecondsAfterFinished', 'activeDeadlineSeconds']) expect(job).not.toHaveProperty(field);
    expect(job.selector).toBeUndefined();
    const fromCron = copyOf(workloadOf('CronJob'), kindOf('CronJob'), { user: 'alice' });
    expect(fromCron.spec).toMatchObject({ backoffLimit: 3, parallelism: 1, completions: 1 });
    expect(fromCron.spec).not.toHaveProperty('schedule');
    expect(fromCron.spec).not.toHaveProperty('ttlSecondsAfterFinished');
    const pod = copyOf(workloadOf('Pod'), kindOf('Pod'), { user: 'alice' });
    expect(pod.spec).not.toHaveProperty('nodeName');
    expect(pod.metadata?.labels).not.toHaveProperty('pod-template-hash');
  });

  it('gives a StatefulSet copy emptyDir volumes in place of its claims, and pod 0 under its own name', () => {
    const copy = duplicateWorkload(workloadOf('StatefulSet'), kindOf('StatefulSet'), {}, { user: 'alice' });
    const spec = copy.spec as any;
    expect(spec.volumeClaimTemplates).toBeUndefined();
    expect(spec.persistentVolumeClaimRetentionPolicy).toBeUndefined();
    expect(spec.ordinals).toBeUndefined();
    expect(spec.serviceName).toBe('web');
    expect(spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: { sizeLimit: '1Gi' } });
  });

  it.each(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Rollout'])('%s with takeTraffic: the pods keep the original\'s labels (less the Job controller\'s)', (kindName) => {
    const copy = duplicateWorkload(workloadOf(kindName), kindOf(kindName), {}, { user: 'alice', takeTraffic: true });
    const pod = podOf(copy);
    expect(selects(LABELS, pod.labels)).toBe(true);
    expect(pod.labels).not.toHaveProperty('controller-uid');
    expect(pod.labels).not.toHaveProperty('job-name');
    // Its own selector still selects only its own pods: the original's pods lack the workload label.
    const copyKind = duplicateKindOf(kindOf(kindName));
    if (copyKind.selectorPath) expect(copyKind.selectorPath.reduce((o: any, k) => o?.[k], copy)).toEqual({ matchLabels: { [WORKLOAD_LABEL]: pod.labels[WORKLOAD_LABEL] } });
  });

  it('makes a Rollout\'s copy from the template its workloadRef names, and says which object is missing without it', () => {
    const rollout: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: 'team', uid: 'uid-r' },
      spec: { replicas: 2, selector: { matchLabels: LABELS }, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-template', scaleDown: 'never' }, strategy: { canary: {} } },
    };
    const holder: KubeObject = { ...workloadOf('Deployment'), metadata: { name: 'web-template', namespace: 'team' } };
    (holder.spec as any).template.spec.containers[0].image = 'node:24-from-holder';
    (holder.spec as any).template.spec.containers[0].env = [{ name: 'FROM', value: 'holder' }];
    const holderBefore = structuredClone(holder);
    const copy = duplicateWorkload(rollout, kindOf('Rollout'), {}, { user: 'alice', templateHolder: holder });
    expect(holder).toEqual(holderBefore);
    expect(copy.kind).toBe('Deployment');
    expect(duplicateOf(copy)).toBe('Rollout/web');
    const app = podOf(copy).spec.containers.find((c: { name: string }) => c.name === 'app');
    expect(app.env).toContainEqual({ name: 'FROM', value: 'holder' });
    expect(podOf(copy).spec.containers.map((c: { name: string }) => c.name)).toContain(SIDECAR_CONTAINER);
    expect(copy.spec).not.toHaveProperty('workloadRef');
    expect(copy.spec).not.toHaveProperty('strategy');
    expect(() => duplicateWorkload(rollout, kindOf('Rollout'), {}, { user: 'alice' })).toThrow(/takes its pod template from Deployment\/web-template/);
    const other = { ...holder, metadata: { name: 'another', namespace: 'team' } };
    expect(() => duplicateWorkload(rollout, kindOf('Rollout'), {}, { user: 'alice', templateHolder: other })).toThrow(/web-template/);
  });

  it('refuses takeTraffic for a pod that a controller manages (it would adopt the copy), and allows the copy without it', () => {
    const owned = workloadOf('Pod');
    owned.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs', controller: true }];
    expect(() => duplicateWorkload(owned, kindOf('Pod'), {}, { user: 'alice', takeTraffic: true })).toThrow(/managed by replicaset\/web-abc/);
    const copy = duplicateWorkload(owned, kindOf('Pod'), {}, { user: 'alice' });
    expect(copy.metadata?.ownerReferences).toBeUndefined();
    const bare = duplicateWorkload(workloadOf('Pod'), kindOf('Pod'), {}, { user: 'alice', takeTraffic: true });
    expect(bare.metadata?.labels).toMatchObject(LABELS);
  });

  it('says what is wrong with the pod template as for replace mode, naming the original', () => {
    const original = workloadOf('Deployment');
    (original.spec as any).template.spec.containers.push({ name: 'other', image: 'x' });
    try {
      duplicateWorkload(original, kindOf('Deployment'), {}, { user: 'alice' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DevError);
      expect((error as DevError).code).toBe('CONTAINER_AMBIGUOUS');
      expect((error as DevError).where?.object).toBe('Deployment/web');
    }
    expect(() => duplicateWorkload(workloadOf('Deployment'), kindOf('Deployment'), {}, { user: '' })).toThrow(/did not say who you are/);
  });
});
