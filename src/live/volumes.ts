// `kubectl dev volumes`: the persistent claims start made for persisted paths (found by dev
// mode's workload label), listed with their workload, size, status and age, and removed one
// workload at a time. A claim is kept across end and start; this is how it goes.

import { devModeNames, isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import { GENERATED_FOR_ANNOTATION, WORKLOAD_LABEL } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { displayRef, workloadObjectRef } from './objects.ts';

export interface VolumeRow {
  namespace: string;
  name: string;
  /** `Kind/name` of the workload it keeps paths for. */
  workload: string;
  size: string;
  /** Bound, Pending, Lost, or Terminating (being deleted: a pod still uses it). */
  status: string;
  age: string;
}

/** kubectl's age: `45s`, `12m`, `5h`, `3d`. */
export function age(createdMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - createdMs) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** One claim as a row (pure). */
export function volumeRow(claim: KubeObject, nowMs: number): VolumeRow {
  const spec = (claim.spec ?? {}) as { resources?: { requests?: { storage?: string } } };
  const status = (claim.status ?? {}) as { phase?: string; capacity?: { storage?: string } };
  const created = Date.parse(String(claim.metadata?.creationTimestamp ?? ''));
  return {
    namespace: String(claim.metadata?.namespace ?? ''),
    name: String(claim.metadata?.name ?? ''),
    workload: claim.metadata?.annotations?.[GENERATED_FOR_ANNOTATION] ?? `(${claim.metadata?.labels?.[WORKLOAD_LABEL] ?? '?'})`,
    size: status.capacity?.storage ?? spec.resources?.requests?.storage ?? '?',
    status: claim.metadata?.deletionTimestamp ? 'Terminating' : status.phase ?? 'Pending',
    age: Number.isNaN(created) ? '?' : age(created, nowMs),
  };
}

/** The claims of dev mode in a namespace (all with undefined), or of one workload; sorted by namespace and name. */
export async function listVolumes(api: ClusterApi, namespace: string | undefined, nowMs: number, only?: WorkloadRef): Promise<VolumeRow[]> {
  const claims = await api.list('v1', 'PersistentVolumeClaim', namespace, { label: only ? `${WORKLOAD_LABEL}=${devModeNames(only.kind, only.name).workloadLabel}` : WORKLOAD_LABEL });
  return claims
    .filter((c) => only === undefined || c.metadata?.name === devModeNames(only.kind, only.name).claimName)
    .map((c) => volumeRow(c, nowMs))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Deletes a workload's claim; refused while the workload is in dev mode (its dev pod uses the claim). */
export async function removeVolume(api: ClusterApi, ref: WorkloadRef & { namespace: string }): Promise<string> {
  const { claimName } = devModeNames(ref.kind, ref.name);
  const [workload, claim] = await Promise.all([
    api.get(workloadObjectRef(ref)),
    api.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claimName, namespace: ref.namespace }),
  ]);
  if (!claim) {
    throw new DevError('NOT_FOUND', `${displayRef(ref)} has no persistent volume in namespace ${ref.namespace} (no PersistentVolumeClaim ${claimName})`,
      `kubectl dev volumes ls -n ${ref.namespace} lists the ones there are.`);
  }
  if (workload && isInDevMode(workload)) {
    throw new DevError('ALREADY_IN_DEV_MODE', `${displayRef(ref)} is in dev mode: its dev pod uses PersistentVolumeClaim ${claimName}`,
      `end dev mode and delete it in one go: kubectl dev end ${displayRef(ref)} -n ${ref.namespace} --delete-volumes`);
  }
  await api.delete({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claimName, namespace: ref.namespace }, { uid: String(claim.metadata?.uid) });
  return claimName;
}
