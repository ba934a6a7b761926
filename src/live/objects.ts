// Object references and small helpers shared by start, end and status.

import { controllerOwnedAnnotation } from '../core/drift.ts';
import { isPodKind, workloadKindOf, type WorkloadKind, type WorkloadRef } from '../core/kinds.ts';
import { DevError } from '../core/errors.ts';
import { GENERATED_LABEL, CLAMPED_FOR_LABEL } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { templateHolderRefOf } from '../core/template-holder.ts';
import type { ClusterApi, ObjectRef } from '../kube/api.ts';

export function apiVersionOf(kind: WorkloadKind): string {
  return kind.group ? `${kind.group}/${kind.version}` : kind.version;
}

export function workloadObjectRef(ref: WorkloadRef & { namespace: string }): ObjectRef {
  return { apiVersion: apiVersionOf(ref.kind), kind: ref.kind.kind, name: ref.name, namespace: ref.namespace };
}

export function refOfObject(obj: KubeObject, namespace: string): ObjectRef {
  return { apiVersion: String(obj.apiVersion), kind: String(obj.kind), name: String(obj.metadata?.name), namespace: obj.metadata?.namespace ?? namespace };
}

/** `deployment/web` as kubectl prints it. */
export function displayRef(ref: { kind: WorkloadKind; name: string }): string {
  return `${ref.kind.kind.toLowerCase()}/${ref.name}`;
}

export const generatedSelector = (workloadLabel: string) => `${GENERATED_LABEL}=${workloadLabel}`;
export const clampedSelector = (workloadLabel: string) => `${CLAMPED_FOR_LABEL}=${workloadLabel}`;

/** Metadata the API server owns: never sent back on create. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** A copy fit for a create request: server-owned metadata and status removed, and a pod's node left to the scheduler. */
export function forCreate(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  if (copy.metadata) for (const key of SERVER_METADATA) delete copy.metadata[key];
  delete copy.status;
  const kind = workloadKindOf(copy);
  if (kind && isPodKind(kind) && copy.spec && typeof copy.spec === 'object') delete (copy.spec as Record<string, unknown>).nodeName;
  return copy;
}

export function ownerReferenceTo(obj: KubeObject): Record<string, unknown> {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name, uid: obj.metadata?.uid };
}

/**
 * Annotations others keep up to date; `end` leaves their current values alone (and does not
 * count a change to them as drift): see controllerOwnedAnnotation in core/drift.ts.
 */
export function keptOnRestore(key: string): boolean {
  return controllerOwnedAnnotation(key);
}

/**
 * The object that holds the workload's pod template (a Rollout's workloadRef), read from the
 * cluster; undefined when the workload has its own template. Missing: NOT_FOUND.
 */
export async function readTemplateHolder(workload: KubeObject, kind: WorkloadKind, namespace: string, api: Pick<ClusterApi, 'get'>): Promise<KubeObject | undefined> {
  const ref = templateHolderRefOf(workload, kind);
  if (!ref) return undefined;
  const holder = await api.get({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace });
  if (holder) return holder;
  throw new DevError('NOT_FOUND', `${kind.kind.toLowerCase()}/${String(workload.metadata?.name)} takes its pod template from ${ref.kind.toLowerCase()}/${ref.name}, which is not in namespace ${namespace}`,
    `create that ${ref.kind} (or fix the ${kind.kind}'s ${kind.templateRef?.path.join('.')}), then run the command again.`);
}
