// Which pod is the dev pod of dev mode as it is now. A pod with the workload label is not
// enough: a dev pod left over by an earlier dev mode (orphaned by a Job deleted without
// propagation, an older ReplicaSet's, a failed one) carries the same label. The dev pod is
// the one its creator made from the current template:
//   - a generated Job (Job, CronJob): the Job's pod, by controller owner UID;
//   - a Deployment (the workload, or a DaemonSet's generated one): a pod of a ReplicaSet that
//     the Deployment owns and whose template is the Deployment's (pod-template-hash aside);
//   - a StatefulSet: its pod whose controller-revision-hash names a ControllerRevision with
//     the StatefulSet's template;
//   - a Pod: that pod (its UID).

import { isDuplicate } from '../core/duplicate.ts';
import { devModeNames } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { generatedKindOf, workloadKindOf, type WorkloadRef } from '../core/kinds.ts';
import { WORKLOAD_LABEL } from '../core/marks.ts';
import { generatedName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi, ObjectRef } from '../kube/api.ts';
import { workloadObjectRef } from './objects.ts';

/** The object that creates the dev pod of a workload: a generated object, or the workload itself (always, for a dev copy). */
export function devPodCreatorRef(ref: WorkloadRef & { namespace: string }, workload?: KubeObject): ObjectRef {
  if (!ref.kind.generates || (workload && isDuplicate(workload))) return workloadObjectRef(ref);
  return { ...ref.kind.generates, name: generatedName(ref.name, generatedKindOf(ref.kind)), namespace: ref.namespace };
}

interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

/** The pod's controller (the owner reference with controller: true). */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  const owners = (obj.metadata?.ownerReferences ?? []) as OwnerReference[];
  return owners.find((o) => o.controller === true);
}

/** JSON with every object's keys sorted: a ControllerRevision's data keeps the key order its writer chose. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/** A pod template without the label its controller adds to tell revisions apart. */
function templateWithout(template: unknown, label: string): string {
  const copy = structuredClone((template ?? {}) as { metadata?: { labels?: Record<string, string> } });
  if (copy.metadata?.labels) delete copy.metadata.labels[label];
  return canonical(copy);
}

/** True when a ReplicaSet is the creator Deployment's for its current template. */
export function isCurrentReplicaSet(replicaSet: KubeObject, deployment: KubeObject): boolean {
  if (controllerOf(replicaSet)?.uid !== deployment.metadata?.uid) return false;
  const rsTemplate = (replicaSet.spec as { template?: unknown } | undefined)?.template;
  const template = (deployment.spec as { template?: unknown } | undefined)?.template;
  return templateWithout(rsTemplate, 'pod-template-hash') === templateWithout(template, 'pod-template-hash');
}

/** True when a ControllerRevision holds the StatefulSet's current template. */
export function isCurrentRevision(revision: KubeObject, statefulSet: KubeObject): boolean {
  if (controllerOf(revision)?.uid !== statefulSet.metadata?.uid) return false;
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const saved = { ...(data?.spec?.template ?? {}) };
  delete saved.$patch;
  return canonical(saved) === canonical((statefulSet.spec as { template?: unknown } | undefined)?.template);
}

export interface DevPodMatcher {
  /** True when the pod is the dev pod of the creator's current template. */
  accepts(pod: KubeObject): Promise<boolean>;
}

/**
 * Tells the creator's current dev pod from other pods with the workload label. The
 * ReplicaSets and ControllerRevisions it reads are cached (their templates do not change);
 * where the user may not read them, a pod owned by the creator's controller chain is accepted
 * on its owner alone.
 */
export function devPodMatcher(creator: KubeObject, namespace: string, api: ClusterApi): DevPodMatcher {
  const uid = creator.metadata?.uid;
  const verdicts = new Map<string, Promise<boolean>>();
  const cached = (key: string, decide: () => Promise<boolean>): Promise<boolean> => {
    let verdict = verdicts.get(key);
    if (!verdict) {
      verdict = decide();
      verdicts.set(key, verdict);
      // A failed read is asked again next time.
      verdict.catch(() => verdicts.delete(key));
    }
    return verdict;
  };
  const readable = async (ref: ObjectRef, check: (obj: KubeObject) => boolean): Promise<boolean> => {
    try {
      const obj = await api.get(ref);
      return obj !== undefined && check(obj);
    } catch (error) {
      if (error instanceof DevError && error.code === 'FORBIDDEN') return true;
      throw error;
    }
  };
  return {
    async accepts(pod) {
      const owner = controllerOf(pod);
      switch (workloadKindOf(creator)?.currentPod) {
        case 'self':
          return pod.metadata?.uid === uid;
        case 'controller':
          return owner?.uid === uid;
        case 'current-replicaset': {
          if (owner?.kind !== 'ReplicaSet' || !owner.name || !owner.uid) return false;
          return cached(owner.uid, () => readable({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.name!, namespace },
            (rs) => rs.metadata?.uid === owner.uid && isCurrentReplicaSet(rs, creator)));
        }
        case 'current-revision': {
          const revision = pod.metadata?.labels?.['controller-revision-hash'];
          if (owner?.uid !== uid || !revision) return false;
          return cached(revision, () => readable({ apiVersion: 'apps/v1', kind: 'ControllerRevision', name: revision, namespace },
            (cr) => isCurrentRevision(cr, creator)));
        }
        default:
          return true;
      }
    },
  };
}

/** The label selector of a workload's dev pods. */
export function devPodSelector(ref: WorkloadRef): string {
  return `${WORKLOAD_LABEL}=${devModeNames(ref.kind, ref.name).workloadLabel}`;
}
