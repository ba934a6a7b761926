// restart-pod, driven by a scripted StatefulSet and pod 0 (the cluster API and clock are injected).
import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import type { LiveDeps } from '../../../src/live/deps.ts';
import type { RestartPodStep } from '../../../src/live/plan.ts';
import { restartStalePod } from '../../../src/live/pods.ts';
import type { ObjectRef } from '../../../src/kube/api.ts';

const step: RestartPodStep = { type: 'restart-pod', label: 'delete the StatefulSet pod so that it restarts', ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'team' }, pod: 'db-0', timeoutMs: 5_000 };
const sts = (generation: number, observed: number, updateRevision = 'db-new'): KubeObject => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', generation }, status: { observedGeneration: observed, updateRevision } });
const pod = (uid: string, revision: string, terminating = false): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', uid, labels: { 'controller-revision-hash': revision }, ...(terminating ? { deletionTimestamp: '2026-12-01T00:00:00Z' } : {}) } });

/** Each read answers the next of its script (the last one repeats). */
function scripted(sets: KubeObject[], pods: Array<KubeObject | undefined>, deleteFails?: DevError) {
  const log: string[] = [];
  let now = 0;
  const next = <T>(list: T[]) => (list.length > 1 ? list.shift()! : list[0]!);
  const deps = {
    api: {
      get: async (ref: ObjectRef) => (ref.kind === 'Pod' ? next(pods) : next(sets)),
      delete: async (ref: ObjectRef, options: { uid?: string }) => {
        log.push(`delete ${ref.name} ${options.uid}`);
        if (deleteFails) throw deleteFails;
        return true;
      },
    },
    clock: { now: () => now, sleep: async (ms: number) => void (now += ms) },
  } as unknown as LiveDeps;
  return { deps, log };
}

describe('restart-pod', () => {
  it('waits for the controller to see the spec, then deletes a pod 0 of another revision, after the checkpoint', async () => {
    const { deps, log } = scripted([sts(3, 2), sts(3, 3)], [pod('u1', 'db-old')]);
    await restartStalePod(step, deps, () => log.push('checkpoint'));
    expect(log).toEqual(['checkpoint', 'delete db-0 u1']);
  });

  it('leaves a pod 0 of the update revision, and one that is going (the controller makes it from the revision it has seen)', async () => {
    const current = scripted([sts(3, 3)], [pod('u1', 'db-new')]);
    await restartStalePod(step, current.deps, () => current.log.push('checkpoint'));
    expect(current.log).toEqual([]);
    const going = scripted([sts(3, 3)], [pod('u1', 'db-old', true), pod('u1', 'db-old', true), undefined]);
    await restartStalePod(step, going.deps, () => going.log.push('checkpoint'));
    expect(going.log).toEqual([]);
  });

  it('a pod 0 replaced between the read and the delete is looked at again', async () => {
    const conflict = new DevError('CONFLICT', 'the UID in the precondition does not match', 'run again');
    const { deps, log } = scripted([sts(3, 3)], [pod('u1', 'db-old'), pod('u2', 'db-new')], conflict);
    await restartStalePod(step, deps, () => log.push('checkpoint'));
    expect(log).toEqual(['checkpoint', 'delete db-0 u1']);
  });

  it('a controller that never sees the spec: a timeout naming the pod', async () => {
    const { deps } = scripted([sts(3, 2)], [pod('u1', 'db-old')]);
    await expect(restartStalePod(step, deps, () => {})).rejects.toThrow('pod db-0 of StatefulSet/db did not take its new template within 5 s');
  });
});
