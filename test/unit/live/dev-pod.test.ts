// Which pod with the workload label is the dev pod of dev mode as it is now, and what a lost exec says.

import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import { workloadKindByName } from '../../../src/core/kinds.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import type { ClusterApi, ObjectRef } from '../../../src/kube/api.ts';
import { devPodCreatorRef, devPodMatcher, isCurrentReplicaSet, isCurrentRevision } from '../../../src/live/dev-pod.ts';
import { lostExecError } from '../../../src/live/exec.ts';

const template = { metadata: { labels: { app: 'web', 'dev.kubectl-dev.io/workload': 'deployment.web' } }, spec: { containers: [{ name: 'web', image: 'busybox:1.36' }] } };
const owned = (uid: string, kind: string, name = 'x') => [{ apiVersion: 'apps/v1', kind, name, uid, controller: true }];

/** A ClusterApi that answers GETs from a table, and counts them. */
function fakeApi(objects: KubeObject[], fail?: DevError): ClusterApi & { gets: ObjectRef[] } {
  const gets: ObjectRef[] = [];
  const api = {
    gets,
    async get(ref: ObjectRef) {
      gets.push(ref);
      if (fail) throw fail;
      return objects.find((o) => o.kind === ref.kind && o.metadata?.name === ref.name);
    },
  };
  return api as unknown as ClusterApi & { gets: ObjectRef[] };
}

describe('devPodCreatorRef', () => {
  it('is the generated object for DaemonSet, Job and CronJob, the workload otherwise', () => {
    const ref = (kind: string) => devPodCreatorRef({ kind: workloadKindByName(kind)!, name: 'w', namespace: 'ns' });
    expect(ref('ds')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'w-dev', namespace: 'ns' });
    expect(ref('job')).toMatchObject({ kind: 'Job', name: 'w-dev' });
    expect(ref('cj')).toMatchObject({ kind: 'Job', name: 'w-dev' });
    expect(ref('deploy')).toMatchObject({ kind: 'Deployment', name: 'w' });
    expect(ref('sts')).toMatchObject({ kind: 'StatefulSet', name: 'w' });
    expect(ref('pod')).toMatchObject({ kind: 'Pod', name: 'w' });
  });
});

describe('isCurrentReplicaSet / isCurrentRevision', () => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', uid: 'd1' }, spec: { template } };
  it('a ReplicaSet of the Deployment with its template, pod-template-hash aside', () => {
    const rs = (uid: string, t: unknown) => ({ kind: 'ReplicaSet', metadata: { ownerReferences: owned(uid, 'Deployment') }, spec: { template: t } });
    const hashed = structuredClone(template) as typeof template & { metadata: { labels: Record<string, string> } };
    hashed.metadata.labels['pod-template-hash'] = 'abc';
    expect(isCurrentReplicaSet(rs('d1', hashed), deployment)).toBe(true);
    expect(isCurrentReplicaSet(rs('other', hashed), deployment)).toBe(false);
    const older = structuredClone(hashed);
    older.spec.containers[0]!.image = 'nginx';
    expect(isCurrentReplicaSet(rs('d1', older), deployment)).toBe(false);
  });

  it('a ControllerRevision of the StatefulSet with its template, in whatever key order, $patch aside', () => {
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', uid: 's1' }, spec: { template } };
    // As the controller writes it: another key order than the API server's for the StatefulSet.
    const reordered = { spec: { containers: [{ image: 'busybox:1.36', name: 'web' }] }, metadata: { labels: { 'dev.kubectl-dev.io/workload': 'deployment.web', app: 'web' } }, $patch: 'replace' };
    const cr = (uid: string, t: unknown) => ({ kind: 'ControllerRevision', metadata: { ownerReferences: owned(uid, 'StatefulSet') }, data: { spec: { template: t } } });
    expect(isCurrentRevision(cr('s1', reordered), sts)).toBe(true);
    expect(isCurrentRevision(cr('s2', reordered), sts)).toBe(false);
    expect(isCurrentRevision(cr('s1', { ...reordered, spec: { containers: [] } }), sts)).toBe(false);
  });
});

describe('devPodMatcher', () => {
  const pod = (name: string, metadata: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, uid: `uid-${name}`, ...metadata } });

  it('a generated Job: its own pod, not an orphan with the label', async () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi-dev', uid: 'j2' } };
    const m = devPodMatcher(job, 'ns', fakeApi([]));
    expect(await m.accepts(pod('pi-dev-new', { ownerReferences: [{ kind: 'Job', name: 'pi-dev', uid: 'j2', controller: true }] }))).toBe(true);
    expect(await m.accepts(pod('pi-dev-old'))).toBe(false);
    expect(await m.accepts(pod('pi-dev-older', { ownerReferences: [{ kind: 'Job', name: 'pi-dev', uid: 'j1', controller: true }] }))).toBe(false);
  });

  it('a Deployment: a pod of its ReplicaSet for the current template, each ReplicaSet read once', async () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', uid: 'd1' }, spec: { template } };
    const old = structuredClone(template);
    old.spec.containers[0]!.image = 'node:24';
    const api = fakeApi([
      { kind: 'ReplicaSet', metadata: { name: 'web-new', uid: 'rs-new', ownerReferences: owned('d1', 'Deployment') }, spec: { template } },
      { kind: 'ReplicaSet', metadata: { name: 'web-old', uid: 'rs-old', ownerReferences: owned('d1', 'Deployment') }, spec: { template: old } },
    ]);
    const m = devPodMatcher(deployment, 'ns', api);
    const of = (rs: string, uid: string) => ({ ownerReferences: [{ kind: 'ReplicaSet', name: rs, uid, controller: true }] });
    expect(await m.accepts(pod('a', of('web-new', 'rs-new')))).toBe(true);
    expect(await m.accepts(pod('b', of('web-new', 'rs-new')))).toBe(true);
    expect(await m.accepts(pod('c', of('web-old', 'rs-old')))).toBe(false);
    // A ReplicaSet of that name that is not the one the pod names (deleted and made again).
    expect(await m.accepts(pod('d', of('web-new', 'rs-gone')))).toBe(false);
    expect(await m.accepts(pod('e'))).toBe(false);
    // Once per ReplicaSet UID: pods a and b share one read, d (another UID) has its own.
    expect(api.gets.filter((g) => g.name === 'web-new')).toHaveLength(2);
  });

  it('accepts on the owner alone where ReplicaSets may not be read', async () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', uid: 'd1' }, spec: { template } };
    const m = devPodMatcher(deployment, 'ns', fakeApi([], new DevError('FORBIDDEN', 'no', 'ask')));
    expect(await m.accepts(pod('a', { ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1', uid: 'r', controller: true }] }))).toBe(true);
    expect(await m.accepts(pod('b'))).toBe(false);
  });

  it('a StatefulSet: its pod of a current revision', async () => {
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', uid: 's1' }, spec: { template } };
    const api = fakeApi([{ kind: 'ControllerRevision', metadata: { name: 'db-2', ownerReferences: owned('s1', 'StatefulSet') }, data: { spec: { template: { ...template, $patch: 'replace' } } } }]);
    const m = devPodMatcher(sts, 'ns', api);
    const ours = { ownerReferences: owned('s1', 'StatefulSet', 'db') };
    expect(await m.accepts(pod('db-0', { ...ours, labels: { 'controller-revision-hash': 'db-2' } }))).toBe(true);
    expect(await m.accepts(pod('db-0', { ...ours, labels: { 'controller-revision-hash': 'db-1' } }))).toBe(false);
    expect(await m.accepts(pod('db-0', { labels: { 'controller-revision-hash': 'db-2' } }))).toBe(false);
  });

  it('a Pod: that very pod', async () => {
    const m = devPodMatcher(pod('p'), 'ns', fakeApi([]));
    expect(await m.accepts(pod('p'))).toBe(true);
    expect(await m.accepts(pod('stale'))).toBe(false);
  });
});

describe('lostExecError', () => {
  const before: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', uid: 'u1' }, status: { containerStatuses: [{ name: 'web', restartCount: 0 }] } };
  const answer = (pod: KubeObject | undefined | Error) => ({ get: async () => { if (pod instanceof Error) throw pod; return pod; } }) as unknown as ClusterApi;

  it('the pod deleted or replaced: POD_FAILED', async () => {
    expect(await lostExecError('ns', before, 'web', answer(undefined))).toMatchObject({ code: 'POD_FAILED', message: expect.stringContaining('was deleted') });
    expect((await lostExecError('ns', before, 'web', answer({ ...before, metadata: { name: 'web-1', uid: 'u2' } }))).code).toBe('POD_FAILED');
    expect((await lostExecError('ns', before, 'web', answer({ ...before, metadata: { ...before.metadata, deletionTimestamp: 'x' } }))).message).toContain('terminating');
  });

  it('the container restarted: POD_FAILED', async () => {
    const restarted = { ...before, status: { containerStatuses: [{ name: 'web', restartCount: 1 }] } };
    expect(await lostExecError('ns', before, 'web', answer(restarted))).toMatchObject({ code: 'POD_FAILED', message: expect.stringContaining('restarted') });
  });

  it('the pod as before, or the API server unreachable: UNREACHABLE, never a success', async () => {
    expect(await lostExecError('ns', before, 'web', answer(before), 'WebSocket closed with code 1006')).toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining('ended before its exit status came (WebSocket closed with code 1006)') });
    expect((await lostExecError('ns', before, 'web', answer(new DevError('UNREACHABLE', 'down', '')))).code).toBe('UNREACHABLE');
  });
});
