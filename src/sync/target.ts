// Which workload a sync session is for, and its sync Secret: the target's key
// parts (cluster, canonical kind) and the Secret read, or created for a workload
// put in dev mode without one (the post-renderer case).

import type { KubeConfig } from '@kubernetes/client-node';
import { DevError } from '../core/errors.ts';
import { workloadKindByName } from '../core/kinds.ts';
import { DEV_MODE_LABEL } from '../core/marks.ts';
import { syncSecretName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { prepareSyncSecret, readSyncSecret, type SyncMaterial } from './secret.ts';
import type { SyncTarget } from './state.ts';

export function canonicalKind(kind: string): { kind: string; apiVersion: string } {
  const entry = workloadKindByName(kind);
  if (!entry) throw new DevError('UNSUPPORTED_KIND', `"${kind}" is not a workload kind kubectl-dev supports`, 'use deployment, statefulset, daemonset, job, cronjob or pod.');
  return { kind: entry.kind, apiVersion: entry.group === '' ? entry.version : `${entry.group}/${entry.version}` };
}

/** The cluster a KubeConfig points at (for the state dir key). */
export function clusterOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? 'unknown-cluster';
}

export function syncTargetOf(kc: KubeConfig, namespace: string, kind: string, name: string): SyncTarget {
  return { cluster: clusterOf(kc), namespace, kind: canonicalKind(kind).kind, name };
}

/** Reads the sync Secret; creates it for a workload in dev mode that has none (post-renderer case). */
export async function loadOrCreateSecret(cluster: Pick<ClusterApi, 'get' | 'create'>, target: SyncTarget, create: boolean): Promise<SyncMaterial> {
  const secretName = syncSecretName(target.kind, target.name);
  const secretRef = { apiVersion: 'v1', kind: 'Secret', name: secretName, namespace: target.namespace };
  const existing = await cluster.get(secretRef);
  if (existing) return readSyncSecret(existing);
  const workload = await readDevWorkload(cluster, target);
  if (!create) {
    throw new DevError('SYNC_NOT_IN_DEV_MODE', `${describe(target)} has no sync Secret ${secretName}`, `run kubectl dev sync ${target.kind.toLowerCase()}/${target.name} to create it.`);
  }
  const { apiVersion, kind } = canonicalKind(target.kind);
  const { secret } = prepareSyncSecret({ workload, kind, namespace: target.namespace });
  const uid = workload.metadata?.uid;
  const body = {
    ...secret,
    metadata: {
      ...secret.metadata,
      ...(typeof uid === 'string' ? { ownerReferences: [{ apiVersion, kind, name: target.name, uid }] } : {}),
    },
  };
  try {
    await cluster.create(body as KubeObject);
  } catch (error) {
    if (!(error instanceof DevError && error.code === 'CONFLICT')) throw error;
    // Someone else created it first: use theirs.
    const theirs = await cluster.get(secretRef);
    if (!theirs) throw error;
    return readSyncSecret(theirs);
  }
  return readSyncSecret(body as never);
}

function describe(target: SyncTarget): string {
  return `${target.kind}/${target.name} in namespace ${target.namespace}`;
}

/** The workload, which must be in dev mode for its Secret to be made here. */
async function readDevWorkload(cluster: Pick<ClusterApi, 'get'>, target: SyncTarget): Promise<KubeObject> {
  const { apiVersion, kind } = canonicalKind(target.kind);
  const what = describe(target);
  const workload = await cluster.get({ apiVersion, kind, name: target.name, namespace: target.namespace });
  if (!workload) throw new DevError('NOT_FOUND', `${what} was not found`, 'check the name and the namespace (-n).');
  if (workload.metadata?.labels?.[DEV_MODE_LABEL] !== 'true') {
    throw new DevError('SYNC_NOT_IN_DEV_MODE', `${what} is not in dev mode`, `start dev mode first: kubectl dev start ${target.kind.toLowerCase()}/${target.name}`);
  }
  return workload;
}
